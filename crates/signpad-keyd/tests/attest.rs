#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Attestation evidence against a real swtpm: collected by keyd, checked
//! offline by `verify_evidence`, and refused when anything is off.

mod common;

use std::sync::Arc;

use common::Rig;
use signpad_keyd::attest::{verify_evidence, Evidence, EVIDENCE_FORMAT};
use signpad_keyd::dbus::{BUS_NAME, OBJECT_PATH};
use signpad_keyd::{KeyRole, Keyd, KeydConfig, KeydError};

const NONCE: &[u8] = b"verifier nonce 0001";
const PCRS: &[u8] = &[0, 1, 7, 23];

fn bad_attestation(result: Result<impl std::fmt::Debug, KeydError>, needle: &str) {
    match result {
        Err(KeydError::BadAttestation(m)) => assert!(m.contains(needle), "{m}"),
        other => panic!("expected BadAttestation({needle}), got {other:?}"),
    }
}

#[test]
fn evidence_verifies_through_json_and_names_the_signing_key() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    // Unsorted, repeated PCRs are normalised.
    let evidence = keyd.collect_evidence(NONCE, &[23, 7, 0, 1, 7]).unwrap();
    assert_eq!(evidence.format, EVIDENCE_FORMAT);
    assert_eq!(evidence.quote.pcrs, PCRS);
    assert_eq!(evidence.ek_certificate, None, "plain swtpm has no EK cert");

    let json = evidence.to_json().unwrap();
    assert!(json.contains("\"attestation_key\": \""), "{json}");
    let parsed = Evidence::from_json(json.as_bytes()).unwrap();
    assert_eq!(parsed, evidence);

    let signing = keyd.public_key(KeyRole::Signing).unwrap();
    let report = verify_evidence(&parsed, NONCE, Some(&signing)).unwrap();
    assert_eq!(report.certified_key, signing);
    assert_eq!(report.certified_key_is_expected, Some(true));
    assert_eq!(report.pcrs, PCRS);
    assert_eq!(report.pcr_digest.len(), 64);
    assert_eq!(report.attestation_key_sha256.len(), 64);
    assert_eq!(report.ek_certificate_subject, None);

    let unchecked = verify_evidence(&parsed, NONCE, None).unwrap();
    assert_eq!(unchecked.certified_key_is_expected, None);
    assert_eq!(unchecked.certified_key_sha256, report.certified_key_sha256);

    // A PCR change shows in the digest of fresh evidence.
    keyd.extend_pcr(23, [9u8; 32]).unwrap();
    let later = keyd.collect_evidence(NONCE, PCRS).unwrap();
    let later = verify_evidence(&later, NONCE, Some(&signing)).unwrap();
    assert_ne!(later.pcr_digest, report.pcr_digest);
    assert_eq!(later.attestation_key_sha256, report.attestation_key_sha256);
}

#[test]
fn evidence_for_another_nonce_fails() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let evidence = keyd.collect_evidence(NONCE, PCRS).unwrap();
    bad_attestation(
        verify_evidence(&evidence, b"another nonce", None),
        "quote: nonce does not match",
    );
    // A quote for the right nonce with a certification for another one.
    let mut mixed = evidence.clone();
    let other = keyd.collect_evidence(b"old nonce", PCRS).unwrap();
    mixed.signing_key = other.signing_key;
    bad_attestation(
        verify_evidence(&mixed, NONCE, None),
        "signing key certification: nonce does not match",
    );
}

#[test]
fn a_certification_of_the_tls_key_does_not_pass_as_the_signing_key() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let signing = keyd.public_key(KeyRole::Signing).unwrap();
    let mut evidence = keyd.collect_evidence(NONCE, PCRS).unwrap();
    let tls = keyd.certify_key(KeyRole::Tls, NONCE).unwrap();
    evidence.signing_key.attest = tls.attest;
    evidence.signing_key.signature = tls.signature;
    evidence.signing_key.public_area = keyd.key_public_area(KeyRole::Tls).unwrap();
    // It is a genuine certification of a TPM key…
    let report = verify_evidence(&evidence, NONCE, None).unwrap();
    assert_eq!(report.certified_key, keyd.public_key(KeyRole::Tls).unwrap());
    // …but not of the key in the pad certificate.
    bad_attestation(
        verify_evidence(&evidence, NONCE, Some(&signing)),
        "not the public key of the pad certificate",
    );
    // Nor does the TLS certification match the signing key's public area.
    evidence.signing_key.public_area = keyd.key_public_area(KeyRole::Signing).unwrap();
    bad_attestation(
        verify_evidence(&evidence, NONCE, Some(&signing)),
        "certified name is not the name of this public area",
    );
}

#[test]
fn a_tampered_byte_fails() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let evidence = keyd.collect_evidence(NONCE, PCRS).unwrap();
    verify_evidence(&evidence, NONCE, None).unwrap();

    let mut e = evidence.clone();
    let last = e.quote.attest.len() - 1;
    e.quote.attest[last] ^= 1;
    bad_attestation(
        verify_evidence(&e, NONCE, None),
        "quote: signature does not verify",
    );

    let mut e = evidence.clone();
    e.signing_key.attest[10] ^= 0x80;
    bad_attestation(
        verify_evidence(&e, NONCE, None),
        "signing key certification: signature does not verify",
    );

    // Another AK (here the signing key's SPKI) does not verify the quote.
    let mut e = evidence.clone();
    e.attestation_key = p256::pkcs8::EncodePublicKey::to_public_key_der(
        &keyd.public_key(KeyRole::Signing).unwrap(),
    )
    .unwrap()
    .as_bytes()
    .to_vec();
    bad_attestation(verify_evidence(&e, NONCE, None), "quote: signature");

    // Declaring other PCRs than the quote covers.
    let mut e = evidence.clone();
    e.quote.pcrs = vec![0, 1, 7];
    bad_attestation(verify_evidence(&e, NONCE, None), "it covers PCRs");

    // A garbled EK certificate.
    let mut e = evidence;
    e.ek_certificate = Some(b"not DER".to_vec());
    bad_attestation(verify_evidence(&e, NONCE, None), "EK certificate");
}

#[test]
fn bad_requests_and_unreadable_json_are_refused() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    bad_attestation(keyd.collect_evidence(NONCE, &[40]), "PCR 40 does not exist");
    bad_attestation(keyd.collect_evidence(NONCE, &[]), "at least one PCR");
    bad_attestation(keyd.collect_evidence(&[], PCRS), "nonce");
    bad_attestation(keyd.collect_evidence(&[0u8; 65], PCRS), "nonce");

    assert!(matches!(
        Evidence::from_json(b"{ not json"),
        Err(KeydError::Encoding(_))
    ));
    let json = keyd
        .collect_evidence(NONCE, PCRS)
        .unwrap()
        .to_json()
        .unwrap();
    let other_format = json.replace(EVIDENCE_FORMAT, "signpad-evidence/9");
    let err = Evidence::from_json(other_format.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("not supported"), "{err}");
    let not_hex = json.replacen("\"attestation_key\": \"", "\"attestation_key\": \"zz", 1);
    assert!(matches!(
        Evidence::from_json(not_hex.as_bytes()),
        Err(KeydError::Encoding(_))
    ));
}

#[test]
fn evidence_reports_the_ek_certificate_of_a_manufactured_tpm() {
    std::env::set_var("TSS2_LOG", "all+none");
    let tpm = signpad_testkit::Swtpm::start_with_ek_certificate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keyd = Keyd::open(KeydConfig::new(tpm.tcti(), dir.path().join("keys"))).unwrap();
    keyd.provision(None).unwrap();
    let evidence = keyd.collect_evidence(NONCE, PCRS).unwrap();
    assert!(evidence.ek_certificate.is_some());
    let json = evidence.to_json().unwrap();
    let parsed = Evidence::from_json(json.as_bytes()).unwrap();
    let report = verify_evidence(&parsed, NONCE, None).unwrap();
    let issuer = report.ek_certificate_issuer.unwrap();
    assert!(issuer.contains("swtpm"), "{issuer}");
    assert!(report.ek_certificate_subject.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_over_dbus_is_json_that_verifies() {
    let rig = Rig::new();
    let bus = signpad_testkit::DbusDaemon::start().unwrap();
    let uid: u32 = {
        let out = std::process::Command::new("id").arg("-u").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let mut config = rig.config();
    config.bus = bus.address().to_owned();
    config.allowed_uids = vec![uid];
    let keyd = Keyd::open(config).unwrap();
    keyd.provision(None).unwrap();
    let keyd = Arc::new(keyd);
    let _server = signpad_keyd::dbus::serve(Arc::clone(&keyd)).await.unwrap();
    let client = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let call = |nonce: Vec<u8>, pcrs: Vec<u8>| {
        let client = client.clone();
        async move {
            client
                .call_method(
                    Some(BUS_NAME),
                    OBJECT_PATH,
                    Some(BUS_NAME),
                    "Evidence",
                    &(nonce, pcrs),
                )
                .await
        }
    };
    let reply = call(NONCE.to_vec(), PCRS.to_vec()).await.unwrap();
    let json: String = reply.body().deserialize().unwrap();
    let evidence = Evidence::from_json(json.as_bytes()).unwrap();
    let signing = keyd.public_key(KeyRole::Signing).unwrap();
    verify_evidence(&evidence, NONCE, Some(&signing)).unwrap();

    match call(NONCE.to_vec(), vec![99]).await.unwrap_err() {
        zbus::Error::MethodError(name, _, _) => {
            assert_eq!(name.as_str(), "org.signpad.Error.BadAttestation");
        }
        other => panic!("not a method error: {other}"),
    }
}
