#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! CSRs signed in the TPM, the bootstrap certificate, and installing a
//! certificate issued by an openssl-made CA.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::Rig;
use der::{DecodePem as _, Encode as _};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use signpad_keyd::{KeyRole, KeydError, TpmSigner};
use signpad_package::signer::PackageSigner as _;
use signpad_types::DigestAlgorithm;
use x509_cert::Certificate;

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// A P-256 CA made with openssl in `dir` (`<name>.key`, `<name>.pem`).
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-noout",
            "-out",
            &format!("{name}.key"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN={name}"),
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

fn issue(dir: &Path, ca: &str, csr: &str, out: &str) -> String {
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "7",
            "-out",
            out,
        ],
    );
    std::fs::read_to_string(dir.join(out)).unwrap()
}

#[test]
fn csr_is_signed_in_the_tpm_and_openssl_verifies_it() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let pem = keyd
        .create_csr(KeyRole::Signing, "CN=pad-0001,O=Example Bank")
        .unwrap();
    let dir = rig.dir.path();
    std::fs::write(dir.join("csr.pem"), &pem).unwrap();
    let out = openssl(
        dir,
        &["req", "-verify", "-in", "csr.pem", "-noout", "-subject"],
    );
    assert!(
        out.contains("verify OK") || out.contains("Certificate request self-signature verify OK"),
        "{out}"
    );
    assert!(out.contains("pad-0001"), "{out}");
    // The CSR carries our public key.
    let pubkey = openssl(dir, &["req", "-in", "csr.pem", "-noout", "-pubkey"]);
    let ours = p256::pkcs8::EncodePublicKey::to_public_key_pem(
        &keyd.public_key(KeyRole::Signing).unwrap(),
        p256::pkcs8::LineEnding::LF,
    )
    .unwrap();
    assert_eq!(pubkey.trim(), ours.trim());
}

#[test]
fn malformed_subject_is_refused() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    for subject in ["", "not a name", "CN"] {
        let err = keyd.create_csr(KeyRole::Tls, subject).unwrap_err();
        assert!(
            matches!(err, KeydError::BadSubject { .. }),
            "{subject:?}: {err}"
        );
        assert_eq!(err.dbus_name(), "org.signpad.Error.BadSubject");
    }
}

#[test]
fn bootstrap_certificate_is_self_signed_by_the_tpm_key() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let chain = keyd.certificate_chain(KeyRole::Signing).unwrap();
    assert_eq!(chain.len(), 1);
    let cert = &chain[0];
    assert_eq!(cert.tbs_certificate.subject, cert.tbs_certificate.issuer);
    let key = keyd.public_key(KeyRole::Signing).unwrap();
    let tbs = cert.tbs_certificate.to_der().unwrap();
    let sig = p256::ecdsa::Signature::from_der(cert.signature.raw_bytes()).unwrap();
    key.verify_prehash(&DigestAlgorithm::Sha256.hash(&tbs), &sig)
        .unwrap();
    assert!(!keyd.is_enrolled(KeyRole::Signing).unwrap());
    let expiry = keyd.certificate_expiry(KeyRole::Signing).unwrap();
    assert!(expiry > SystemTime::now() + Duration::from_secs(365 * 24 * 3600));
    // openssl reads it.
    let dir = rig.dir.path();
    std::fs::write(dir.join("boot.pem"), x509_pem(cert)).unwrap();
    openssl(dir, &["x509", "-in", "boot.pem", "-noout", "-subject"]);
}

fn x509_pem(cert: &Certificate) -> String {
    der::EncodePem::to_pem(cert, der::pem::LineEnding::LF).unwrap()
}

#[test]
fn ca_issued_certificate_round_trips_and_replaces_the_bootstrap() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let dir = rig.dir.path();
    make_ca(dir, "ca");
    std::fs::write(
        dir.join("csr.pem"),
        keyd.create_csr(KeyRole::Signing, "CN=pad-0001").unwrap(),
    )
    .unwrap();
    let leaf = issue(dir, "ca", "csr.pem", "pad.pem");
    let root = std::fs::read_to_string(dir.join("ca.pem")).unwrap();
    keyd.install_certificate(KeyRole::Signing, &format!("{leaf}{root}"))
        .unwrap();
    assert!(keyd.is_enrolled(KeyRole::Signing).unwrap());
    let chain = keyd.certificate_chain(KeyRole::Signing).unwrap();
    assert_eq!(
        chain.len(),
        1,
        "the self-signed root is not kept in the chain"
    );
    assert_eq!(chain[0], Certificate::from_pem(leaf.as_bytes()).unwrap());
    let expiry = keyd.certificate_expiry(KeyRole::Signing).unwrap();
    let in_7_days = SystemTime::now() + Duration::from_secs(7 * 24 * 3600);
    assert!(
        expiry <= in_7_days + Duration::from_secs(60)
            && expiry > in_7_days - Duration::from_secs(3600)
    );
    // The package signer now presents the CA-issued certificate.
    let signer = TpmSigner::new(&keyd, KeyRole::Signing).unwrap();
    assert_eq!(signer.certificate_chain(), chain.as_slice());
    // And the chain survives a restart.
    drop(signer);
    drop(keyd);
    let keyd = rig.keyd();
    assert_eq!(keyd.certificate_chain(KeyRole::Signing).unwrap(), chain);
}

#[test]
fn certificate_for_another_key_is_refused() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let dir = rig.dir.path();
    make_ca(dir, "ca");
    openssl(
        dir,
        &[
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-noout",
            "-out",
            "other.key",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "other.key",
            "-subj",
            "/CN=impostor",
            "-out",
            "other.csr",
        ],
    );
    let foreign = issue(dir, "ca", "other.csr", "other.pem");
    let root = std::fs::read_to_string(dir.join("ca.pem")).unwrap();
    let err = keyd
        .install_certificate(KeyRole::Signing, &format!("{foreign}{root}"))
        .unwrap_err();
    assert!(matches!(err, KeydError::ForeignCertificate { .. }), "{err}");
    assert_eq!(err.dbus_name(), "org.signpad.Error.ForeignCertificate");
    // Our TLS key's certificate is foreign to the signing role too.
    std::fs::write(
        dir.join("tls.csr"),
        keyd.create_csr(KeyRole::Tls, "CN=pad-tls").unwrap(),
    )
    .unwrap();
    let tls = issue(dir, "ca", "tls.csr", "tls.pem");
    let err = keyd
        .install_certificate(KeyRole::Signing, &format!("{tls}{root}"))
        .unwrap_err();
    assert!(matches!(err, KeydError::ForeignCertificate { .. }), "{err}");
    assert!(!keyd.is_enrolled(KeyRole::Signing).unwrap());
}

#[test]
fn chain_that_does_not_verify_is_refused() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let dir = rig.dir.path();
    make_ca(dir, "ca");
    make_ca(dir, "evil");
    std::fs::write(
        dir.join("csr.pem"),
        keyd.create_csr(KeyRole::Signing, "CN=pad-0001").unwrap(),
    )
    .unwrap();
    let leaf = issue(dir, "ca", "csr.pem", "pad.pem");
    // No root and no trust anchors configured.
    let err = keyd
        .install_certificate(KeyRole::Signing, &leaf)
        .unwrap_err();
    assert!(matches!(err, KeydError::UntrustedChain(_)), "{err}");
    // A root that did not issue it.
    let evil = std::fs::read_to_string(dir.join("evil.pem")).unwrap();
    let err = keyd
        .install_certificate(KeyRole::Signing, &format!("{leaf}{evil}"))
        .unwrap_err();
    assert!(matches!(err, KeydError::UntrustedChain(_)), "{err}");
    // A forged root with the right name but another key.
    openssl(
        dir,
        &[
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-noout",
            "-out",
            "forged.key",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "forged.key",
            "-subj",
            "/CN=ca",
            "-days",
            "30",
            "-out",
            "forged.pem",
        ],
    );
    let forged = std::fs::read_to_string(dir.join("forged.pem")).unwrap();
    let err = keyd
        .install_certificate(KeyRole::Signing, &format!("{leaf}{forged}"))
        .unwrap_err();
    assert!(matches!(err, KeydError::UntrustedChain(_)), "{err}");
    // Not PEM at all.
    let err = keyd
        .install_certificate(KeyRole::Signing, "hello")
        .unwrap_err();
    assert!(matches!(err, KeydError::BadCertificate(_)), "{err}");
    assert!(!keyd.is_enrolled(KeyRole::Signing).unwrap());
}

#[test]
fn configured_trust_anchor_is_required_when_set() {
    let rig = Rig::new();
    let dir = rig.dir.path();
    make_ca(dir, "ca");
    make_ca(dir, "other");
    let mut config = rig.config();
    config.trust_anchors = Some(dir.join("ca.pem"));
    let keyd = signpad_keyd::Keyd::open(config.clone()).unwrap();
    keyd.provision(None).unwrap();
    std::fs::write(
        dir.join("csr.pem"),
        keyd.create_csr(KeyRole::Tls, "CN=pad-tls").unwrap(),
    )
    .unwrap();
    // Issued by an unconfigured (though self-consistent) CA: refused.
    let by_other = issue(dir, "other", "csr.pem", "o.pem");
    let other_root = std::fs::read_to_string(dir.join("other.pem")).unwrap();
    let err = keyd
        .install_certificate(KeyRole::Tls, &format!("{by_other}{other_root}"))
        .unwrap_err();
    assert!(matches!(err, KeydError::UntrustedChain(_)), "{err}");
    // Issued by the anchor: the leaf alone is enough.
    let leaf = issue(dir, "ca", "csr.pem", "pad.pem");
    keyd.install_certificate(KeyRole::Tls, &leaf).unwrap();
    assert!(keyd.is_enrolled(KeyRole::Tls).unwrap());
}
