#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Key hierarchy against a real swtpm: provisioning, persistence, signing,
//! the sealed storage key, the admin PIN and its lockout, TPM loss.

mod common;

use common::Rig;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use signpad_keyd::{KeyRole, Keyd, KeydConfig, KeydError, TpmSigner};
use signpad_package::signer::PackageSigner as _;
use signpad_types::DigestAlgorithm;

#[test]
fn provisioning_creates_every_object_once_and_rerun_changes_nothing() {
    let rig = Rig::new();
    let keyd = rig.keyd();
    assert!(!keyd.is_provisioned().unwrap());
    let first = keyd.provision(Some(b"2468")).unwrap();
    for f in [
        "signing.key",
        "tls.key",
        "attest.key",
        "storage.sealed",
        "admin.sealed",
    ] {
        assert!(first.created.contains(&f), "{f} missing in {first:?}");
        assert!(rig.dir.path().join("keys").join(f).exists());
    }
    let signing = keyd.public_key(KeyRole::Signing).unwrap();
    let tls = keyd.public_key(KeyRole::Tls).unwrap();
    assert_ne!(signing, tls, "signing and TLS keys are separate");
    let again = keyd.provision(Some(b"other")).unwrap();
    assert!(again.created.is_empty(), "{again:?}");
    assert_eq!(keyd.public_key(KeyRole::Signing).unwrap(), signing);
    keyd.check_admin_pin(b"2468").unwrap();
}

#[test]
fn interrupted_provisioning_is_completed_without_a_second_identity() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let signing = keyd.public_key(KeyRole::Signing).unwrap();
    drop(keyd);
    // A run killed after the signing key: later objects are missing, a
    // temporary file of the next one is left behind.
    let keys = rig.dir.path().join("keys");
    for f in [
        "tls.key",
        "attest.key",
        "storage.sealed",
        "tls.bootstrap.pem",
    ] {
        std::fs::remove_file(keys.join(f)).unwrap();
    }
    std::fs::write(keys.join(".tls.key.tmp"), b"half").unwrap();
    let keyd = rig.keyd();
    let report = keyd.provision(None).unwrap();
    assert!(report.created.contains(&"tls.key"));
    assert!(!report.created.contains(&"signing.key"));
    assert!(keyd.is_provisioned().unwrap());
    assert_eq!(keyd.public_key(KeyRole::Signing).unwrap(), signing);
}

#[test]
fn keys_survive_daemon_and_tpm_restart() {
    let mut rig = Rig::new();
    let keyd = rig.provisioned();
    let signing = keyd.public_key(KeyRole::Signing).unwrap();
    let secret = keyd.unseal_storage_key().unwrap();
    assert_eq!(secret.len(), 32);
    drop(keyd);
    rig.tpm.restart().unwrap();
    let keyd = rig.keyd();
    assert!(keyd.provision(None).unwrap().created.is_empty());
    assert_eq!(keyd.public_key(KeyRole::Signing).unwrap(), signing);
    assert_eq!(*keyd.unseal_storage_key().unwrap(), *secret);
    let digest = DigestAlgorithm::Sha256.hash(b"after restart");
    let der = keyd
        .sign_digest(KeyRole::Signing, DigestAlgorithm::Sha256, &digest)
        .unwrap();
    let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
    signing.verify_prehash(&digest, &sig).unwrap();
}

#[test]
fn tpm_signer_signs_sha256_384_512_digests_that_verify() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let signer = TpmSigner::new(&keyd, KeyRole::Signing).unwrap();
    assert_eq!(signer.certificate_chain().len(), 1, "bootstrap certificate");
    let key = keyd.public_key(KeyRole::Signing).unwrap();
    for alg in [
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ] {
        let digest = alg.hash(b"the document");
        let der = signer.sign_digest(alg, &digest).unwrap();
        let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
        key.verify_prehash(&digest, &sig)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        let other = alg.hash(b"another document");
        assert!(key.verify_prehash(&other, &sig).is_err());
    }
    // The TLS key signs too, and is a different key.
    let digest = DigestAlgorithm::Sha256.hash(b"tls");
    let der = keyd
        .sign_digest(KeyRole::Tls, DigestAlgorithm::Sha256, &digest)
        .unwrap();
    let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
    keyd.public_key(KeyRole::Tls)
        .unwrap()
        .verify_prehash(&digest, &sig)
        .unwrap();
    assert!(key.verify_prehash(&digest, &sig).is_err());
}

#[test]
fn wrong_digest_length_is_rejected() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let err = keyd
        .sign_digest(KeyRole::Signing, DigestAlgorithm::Sha384, &[0u8; 32])
        .unwrap_err();
    assert!(
        matches!(
            err,
            KeydError::WrongDigestLength {
                expected: 48,
                actual: 32,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.dbus_name(), "org.signpad.Error.BadDigest");
}

#[test]
fn without_a_tpm_keyd_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let err = Keyd::open(KeydConfig::new("device:/dev/tpmrm-none", dir.path())).unwrap_err();
    assert!(matches!(err, KeydError::NoTpm { .. }), "{err}");
    assert!(
        err.to_string().contains("does not run without a TPM"),
        "{err}"
    );
    // A swtpm TCTI where nothing listens.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::env::set_var("TSS2_LOG", "all+none");
    let err = Keyd::open(KeydConfig::new(
        format!("swtpm:host=127.0.0.1,port={port}"),
        dir.path(),
    ))
    .unwrap_err();
    assert!(matches!(err, KeydError::NoTpm { .. }), "{err}");
    let err = Keyd::open(KeydConfig::new(
        "mssim:host=127.0.0.1,port=2321",
        dir.path(),
    ))
    .unwrap_err();
    assert!(matches!(err, KeydError::BadTcti(_)), "{err}");
}

#[test]
fn wrong_admin_pins_hit_auth_fail_then_lockout_and_signing_keeps_working() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let before = keyd.lockout_status().unwrap();
    assert_eq!(before.failures, 0);
    assert!(before.max_failures > 0);
    keyd.check_admin_pin(b"2468").unwrap();
    let mut saw_auth_fail = false;
    let mut saw_lockout = false;
    for _ in 0..=before.max_failures {
        match keyd.check_admin_pin(b"0000") {
            Err(KeydError::WrongPin { .. }) => saw_auth_fail = true,
            Err(KeydError::LockedOut { retry_after_secs }) => {
                assert!(retry_after_secs > 0);
                saw_lockout = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(saw_auth_fail && saw_lockout);
    // Even the right PIN is refused while locked out…
    assert!(matches!(
        keyd.check_admin_pin(b"2468"),
        Err(KeydError::LockedOut { .. })
    ));
    // …but keys without DA protection keep working: no denial of signing.
    let digest = DigestAlgorithm::Sha256.hash(b"during lockout");
    keyd.sign_digest(KeyRole::Signing, DigestAlgorithm::Sha256, &digest)
        .unwrap();
    assert_eq!(keyd.unseal_storage_key().unwrap().len(), 32);
    // The lockout hierarchy owner can reset it.
    let out = std::process::Command::new("tpm2_dictionarylockout")
        .args(["--clear-lockout"])
        .env("TPM2TOOLS_TCTI", rig.tpm.tcti())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    keyd.check_admin_pin(b"2468").unwrap();
}

#[test]
fn admin_pin_is_set_once() {
    let rig = Rig::new();
    let keyd = rig.keyd();
    keyd.provision(None).unwrap();
    assert!(!keyd.has_admin_pin().unwrap());
    assert!(matches!(
        keyd.check_admin_pin(b"1"),
        Err(KeydError::NoAdminPin)
    ));
    keyd.set_admin_pin(b"135790").unwrap();
    keyd.check_admin_pin(b"135790").unwrap();
    assert!(matches!(
        keyd.set_admin_pin(b"1"),
        Err(KeydError::AdminPinAlreadySet)
    ));
}

#[test]
fn storage_key_sealed_to_pcrs_is_refused_after_a_pcr_changes() {
    let rig = Rig::new();
    let mut config = rig.config();
    config.storage_key_pcrs = vec![16, 23];
    let keyd = Keyd::open(config.clone()).unwrap();
    keyd.provision(None).unwrap();
    let secret = keyd.unseal_storage_key().unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(*keyd.unseal_storage_key().unwrap(), *secret);
    keyd.extend_pcr(23, [7u8; 32]).unwrap();
    let err = keyd.unseal_storage_key().unwrap_err();
    assert!(matches!(err, KeydError::PolicyMismatch), "{err}");
}

#[test]
fn tpm_killed_mid_operation_fails_clearly_then_reconnects_with_same_keys() {
    let mut rig = Rig::new();
    let keyd = rig.provisioned();
    let key = keyd.public_key(KeyRole::Signing).unwrap();
    let digest = DigestAlgorithm::Sha256.hash(b"x");
    keyd.sign_digest(KeyRole::Signing, DigestAlgorithm::Sha256, &digest)
        .unwrap();
    rig.tpm.kill();
    let err = keyd
        .sign_digest(KeyRole::Signing, DigestAlgorithm::Sha256, &digest)
        .unwrap_err();
    assert!(matches!(err, KeydError::TpmUnavailable { .. }), "{err}");
    assert_eq!(err.dbus_name(), "org.signpad.Error.TpmUnavailable");
    rig.tpm.restart().unwrap();
    let der = keyd
        .sign_digest(KeyRole::Signing, DigestAlgorithm::Sha256, &digest)
        .unwrap();
    let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
    key.verify_prehash(&digest, &sig).unwrap();
    assert_eq!(keyd.public_key(KeyRole::Signing).unwrap(), key);
}

#[test]
fn unknown_role_is_named() {
    let err = KeyRole::from_name("root").unwrap_err();
    assert_eq!(err.dbus_name(), "org.signpad.Error.UnknownRole");
}

#[test]
fn quote_verifies_with_its_nonce_and_fails_with_another() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let ak = keyd.attestation_key().unwrap();
    let nonce = b"fresh nonce from the verifier";
    let quote = keyd.quote(nonce, &[0, 1, 7, 23]).unwrap();
    let verified = signpad_keyd::attest::verify_quote(&ak, &quote, nonce).unwrap();
    assert_eq!(verified.pcr_digest.len(), 32);
    let err = signpad_keyd::attest::verify_quote(&ak, &quote, b"another nonce").unwrap_err();
    assert!(matches!(err, KeydError::BadAttestation(_)), "{err}");
    let mut tampered = quote.clone();
    let last = tampered.attest.len() - 1;
    tampered.attest[last] ^= 1;
    assert!(signpad_keyd::attest::verify_quote(&ak, &tampered, nonce).is_err());
    // A PCR change changes the quoted digest.
    keyd.extend_pcr(23, [1u8; 32]).unwrap();
    let again = keyd.quote(nonce, &[0, 1, 7, 23]).unwrap();
    let v2 = signpad_keyd::attest::verify_quote(&ak, &again, nonce).unwrap();
    assert_ne!(v2.pcr_digest, verified.pcr_digest);
}

#[test]
fn certify_proves_the_signing_key_is_tpm_resident() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let ak = keyd.attestation_key().unwrap();
    let nonce = b"n0nce";
    let cert = keyd.certify_key(KeyRole::Signing, nonce).unwrap();
    let area = keyd.key_public_area(KeyRole::Signing).unwrap();
    let key = signpad_keyd::attest::verify_certification(&ak, &cert, nonce, &area).unwrap();
    assert_eq!(key, keyd.public_key(KeyRole::Signing).unwrap());
    // The TLS key's public area does not match the signing key's certification.
    let tls_area = keyd.key_public_area(KeyRole::Tls).unwrap();
    assert!(signpad_keyd::attest::verify_certification(&ak, &cert, nonce, &tls_area).is_err());
    assert!(signpad_keyd::attest::verify_certification(&ak, &cert, b"other", &area).is_err());
}

#[test]
fn certify_of_the_tls_key_fits_the_tpm_object_slots() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let ak = keyd.attestation_key().unwrap();
    let cert = keyd.certify_key(KeyRole::Tls, b"n").unwrap();
    let area = keyd.key_public_area(KeyRole::Tls).unwrap();
    let key = signpad_keyd::attest::verify_certification(&ak, &cert, b"n", &area).unwrap();
    assert_eq!(key, keyd.public_key(KeyRole::Tls).unwrap());
    // Signing still works afterwards (the signing key is reloaded).
    let d = DigestAlgorithm::Sha256.hash(b"x");
    keyd.sign_digest(KeyRole::Signing, DigestAlgorithm::Sha256, &d)
        .unwrap();
}

#[test]
fn ek_certificate_is_read_when_the_tpm_has_one() {
    let rig = Rig::new();
    assert_eq!(rig.keyd().ek_certificate().unwrap(), None);

    let tpm = signpad_testkit::Swtpm::start_with_ek_certificate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keyd = Keyd::open(KeydConfig::new(tpm.tcti(), dir.path().join("keys"))).unwrap();
    let der = keyd
        .ek_certificate()
        .unwrap()
        .expect("EK certificate in NV");
    let cert = <x509_cert::Certificate as der::Decode>::from_der(&der).unwrap();
    assert!(
        cert.tbs_certificate.issuer.to_string().contains("swtpm"),
        "{}",
        cert.tbs_certificate.issuer
    );
    // Keys work on a manufactured TPM too.
    keyd.provision(None).unwrap();
}

#[test]
fn admin_pin_change_needs_the_old_pin_and_replaces_it() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let err = keyd.change_admin_pin(b"0000", b"9999").unwrap_err();
    assert!(matches!(err, KeydError::WrongPin { .. }), "{err}");
    keyd.change_admin_pin(b"2468", b"97531").unwrap();
    keyd.check_admin_pin(b"97531").unwrap();
    assert!(matches!(
        keyd.check_admin_pin(b"2468"),
        Err(KeydError::WrongPin { .. })
    ));
    // The new PIN survives a restart.
    drop(keyd);
    rig.keyd().check_admin_pin(b"97531").unwrap();
}
