#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Bad packages and bad trust each produce their own error, with the right
//! invalid / could-not-check classification, and never a panic.

mod cms_support;

use cms_support::*;
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode};
use signpad_package::{
    verify, FailureKind, Limits, Package, PackageError, RevocationStatus, TrustAnchors, VerifyError,
};
use signpad_types::{DigestAlgorithm, DocumentDigest};
use spki::AlgorithmIdentifierOwned;

fn check(
    pkg: &[u8],
    trust: &TrustAnchors,
) -> Result<signpad_package::VerifiedPackage, VerifyError> {
    verify(pkg, DOCUMENT, trust, &Limits::default())
}

#[test]
fn truncated_package_is_reported_as_truncated() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    for cut in [1, 10, pkg.len() / 2, pkg.len() - 1] {
        let err = check(&pkg[..cut], &pki.trust()).unwrap_err();
        assert!(
            matches!(err, VerifyError::Package(PackageError::Truncated { .. })),
            "cut at {cut}: {err}"
        );
        assert!(err.is_invalid());
    }
}

#[test]
fn garbage_is_reported_as_not_cms() {
    let pki = Pki::new();
    for junk in [
        &b""[..],
        b"hello, this is not DER",
        &[0xff; 64],
        b"%PDF-1.7",
    ] {
        let err = check(junk, &pki.trust()).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Package(PackageError::Garbage { .. } | PackageError::Truncated { .. })
            ),
            "{junk:?}: {err}"
        );
    }
    let err = check(b"\x04\x03abc", &pki.trust()).unwrap_err();
    assert!(
        matches!(err, VerifyError::Package(PackageError::Garbage { .. })),
        "{err}"
    );
    // trailing bytes after a valid package
    let mut pkg = build(&pki, DigestAlgorithm::Sha256);
    pkg.extend_from_slice(b"junk");
    let err = check(&pkg, &pki.trust()).unwrap_err();
    assert!(
        matches!(err, VerifyError::Package(PackageError::Garbage { .. })),
        "{err}"
    );
}

#[test]
fn oversized_package_could_not_be_checked() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let limits = Limits {
        max_package_bytes: 1000,
        ..Limits::default()
    };
    let err = verify(&pkg, DOCUMENT, &pki.trust(), &limits).unwrap_err();
    assert!(matches!(
        err,
        VerifyError::Package(PackageError::Oversized { limit: 1000, .. })
    ));
    assert_eq!(err.kind(), FailureKind::CouldNotCheck);
    assert!(err.to_string().contains("raise the size limit"));
    // the default limit rejects 1 MiB + 1 before parsing anything
    let big = vec![0x30; Limits::DEFAULT_MAX_PACKAGE_BYTES + 1];
    let err = check(&big, &pki.trust()).unwrap_err();
    assert!(matches!(
        err,
        VerifyError::Package(PackageError::Oversized { .. })
    ));
}

#[test]
fn wrong_content_type_is_rejected() {
    let pki = Pki::new();
    // An EnvelopedData ContentInfo is not a package.
    let err = check(&sample_envelope(100), &pki.trust()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Package(PackageError::WrongContentType {
                place: "ContentInfo",
                ..
            })
        ),
        "{err}"
    );
    // SignedData over something other than id-data.
    let pkg = mutate(&build(&pki, DigestAlgorithm::Sha256), |sd| {
        sd.encap_content_info.econtent_type = signpad_package::oids::ID_ENVELOPED_DATA;
    });
    let err = check(&pkg, &pki.trust()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Package(PackageError::WrongContentType {
                place: "SignedData eContentType",
                ..
            })
        ),
        "{err}"
    );
    // Attached content is not a detached package.
    let pkg = mutate(&build(&pki, DigestAlgorithm::Sha256), |sd| {
        sd.encap_content_info.econtent =
            Some(Any::encode_from(&OctetString::new(DOCUMENT.to_vec()).unwrap()).unwrap());
    });
    let err = check(&pkg, &pki.trust()).unwrap_err();
    assert!(
        matches!(err, VerifyError::Package(PackageError::NotDetached)),
        "{err}"
    );
}

fn sha1() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: const_oid::db::rfc5912::ID_SHA_1,
        parameters: None,
    }
}

#[test]
fn wrong_digest_algorithm_is_rejected() {
    let pki = Pki::new();
    let pkg = mutate(&build(&pki, DigestAlgorithm::Sha256), |sd| {
        sd.digest_algorithms = SetOfVec::try_from(vec![sha1()]).unwrap();
        let mut infos = sd.signer_infos.0.clone().into_vec();
        infos[0].digest_alg = sha1();
        sd.signer_infos = cms::signed_data::SignerInfos::try_from(infos).unwrap();
    });
    let err = check(&pkg, &pki.trust()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Package(PackageError::UnsupportedDigestAlgorithm {
                place: "SignerInfo digestAlgorithm",
                oid
            }) if oid == const_oid::db::rfc5912::ID_SHA_1
        ),
        "{err}"
    );
    assert!(err.is_invalid());

    // digestAlgorithms disagreeing with the SignerInfo
    let pkg = mutate(&build(&pki, DigestAlgorithm::Sha256), |sd| {
        sd.digest_algorithms = SetOfVec::try_from(vec![AlgorithmIdentifierOwned {
            oid: signpad_package::oids::ID_SHA_512,
            parameters: None,
        }])
        .unwrap();
    });
    let err = check(&pkg, &pki.trust()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Package(PackageError::InconsistentDigestAlgorithm { .. })
        ),
        "{err}"
    );

    // signature algorithm not matching the digest algorithm
    let pkg = mutate(&build(&pki, DigestAlgorithm::Sha256), |sd| {
        let mut infos = sd.signer_infos.0.clone().into_vec();
        infos[0].signature_algorithm.oid = signpad_package::oids::ECDSA_WITH_SHA_384;
        sd.signer_infos = cms::signed_data::SignerInfos::try_from(infos).unwrap();
    });
    let err = check(&pkg, &pki.trust()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Package(PackageError::UnsupportedSignatureAlgorithm { .. })
        ),
        "{err}"
    );
}

#[test]
fn document_digest_in_another_algorithm_could_not_be_checked() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let d = DocumentDigest::of(DigestAlgorithm::Sha512, DOCUMENT);
    let err = verify(&pkg, &d, &pki.trust(), &Limits::default()).unwrap_err();
    assert!(
        matches!(err, VerifyError::DocumentDigestAlgorithm { .. }),
        "{err}"
    );
    assert_eq!(err.kind(), FailureKind::CouldNotCheck);
}

#[test]
fn changed_document_is_a_digest_mismatch() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let err = verify(
        &pkg,
        &b"another document"[..],
        &pki.trust(),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::DigestMismatch { .. }), "{err}");
    assert!(err.is_invalid());
}

/// Replaces the value of one signed attribute, keeping the signature.
fn tamper(pkg: &[u8], oid: ObjectIdentifier, value: Any) -> Vec<u8> {
    mutate(pkg, |sd| {
        let mut infos = sd.signer_infos.0.clone().into_vec();
        let attrs = infos[0].signed_attrs.take().unwrap();
        let attrs: Vec<_> = attrs
            .into_vec()
            .into_iter()
            .map(|mut a| {
                if a.oid == oid {
                    a.values = SetOfVec::try_from(vec![value.clone()]).unwrap();
                }
                a
            })
            .collect();
        infos[0].signed_attrs = Some(SetOfVec::try_from(attrs).unwrap());
        sd.signer_infos = cms::signed_data::SignerInfos::try_from(infos).unwrap();
    })
}

#[test]
fn tampered_attribute_breaks_the_signature() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let mut record = ceremony();
    record.training = true;
    record.document_title = "Something else".into();
    let pkg2 = tamper(
        &pkg,
        signpad_package::oids::ATTR_CEREMONY_RECORD,
        Any::from_der(&record.to_der().unwrap()).unwrap(),
    );
    // It still parses, showing the forged record...
    let p = Package::parse(&pkg2, &Limits::default()).unwrap();
    assert!(p.ceremony_record().training);
    // ...but does not verify.
    let err = check(&pkg2, &pki.trust()).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err}");
    assert!(err.is_invalid());

    // The signature-image digest too.
    let other = signpad_package::SignatureImageDigest::of_png(b"other image");
    let di = Any::encode_from(&OctetString::new(other.0.as_bytes().to_vec()).unwrap()).unwrap();
    let pkg3 = tamper(&pkg, signpad_package::oids::ATTR_SIGNATURE_IMAGE_DIGEST, di);
    // (an OCTET STRING is not a DigestInfo: malformed before the signature)
    let err = check(&pkg3, &pki.trust()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Package(PackageError::MalformedAttribute {
                name: "signatureImageDigest",
                ..
            })
        ),
        "{err}"
    );

    // A flipped bit in the signature itself.
    let pkg4 = mutate(&pkg, |sd| {
        let mut infos = sd.signer_infos.0.clone().into_vec();
        let mut sig = infos[0].signature.as_bytes().to_vec();
        let n = sig.len();
        sig[n - 3] ^= 0x01;
        infos[0].signature = OctetString::new(sig).unwrap();
        sd.signer_infos = cms::signed_data::SignerInfos::try_from(infos).unwrap();
    });
    let err = check(&pkg4, &pki.trust()).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err}");
}

#[test]
fn missing_and_malformed_ceremony_record_are_named() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let pkg2 = tamper(
        &pkg,
        signpad_package::oids::ATTR_CEREMONY_RECORD,
        Any::encode_from(&OctetString::new(vec![1, 2, 3]).unwrap()).unwrap(),
    );
    let err = check(&pkg2, &pki.trust()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Package(PackageError::MalformedCeremonyRecord(_))
        ),
        "{err}"
    );

    let pkg3 = mutate(&pkg, |sd| {
        let mut infos = sd.signer_infos.0.clone().into_vec();
        let attrs: Vec<_> = infos[0]
            .signed_attrs
            .take()
            .unwrap()
            .into_vec()
            .into_iter()
            .filter(|a| a.oid != signpad_package::oids::ATTR_BIOMETRIC_ENVELOPE)
            .collect();
        infos[0].signed_attrs = Some(SetOfVec::try_from(attrs).unwrap());
        sd.signer_infos = cms::signed_data::SignerInfos::try_from(infos).unwrap();
    });
    let err = check(&pkg3, &pki.trust()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Package(PackageError::MissingAttribute {
                name: "biometricEnvelope",
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn untrusted_ca_is_rejected() {
    let pki = Pki::new();
    let other = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let err = check(&pkg, &other.trust()).unwrap_err();
    // other's root has the same name but a different key: a forged link
    assert!(matches!(err, VerifyError::ChainSignature { .. }), "{err}");
    assert!(err.is_invalid());

    let stranger_key = new_key();
    let stranger = root_cert(&stranger_key, "Unrelated Root");
    let trust = TrustAnchors {
        roots: vec![stranger],
        ..TrustAnchors::default()
    };
    let err = check(&pkg, &trust).unwrap_err();
    assert!(matches!(err, VerifyError::UntrustedChain { .. }), "{err}");
    assert!(err.to_string().contains("configure the enterprise CA"));

    let err = check(&pkg, &TrustAnchors::default()).unwrap_err();
    assert!(matches!(err, VerifyError::UntrustedChain { .. }), "{err}");
}

#[test]
fn intermediate_that_is_not_a_ca_is_rejected() {
    let pki = Pki::new();
    // a leaf certificate used as an issuer
    let fake_inter_key = new_key();
    let fake_inter = pad_cert(
        &fake_inter_key,
        &pki.root,
        &pki.root_key,
        5,
        normal_validity(),
    );
    let pad_key = new_key();
    let pad = pad_cert(&pad_key, &fake_inter, &fake_inter_key, 6, normal_validity());
    let signer = signpad_package::dev::SoftwareSigner::new(pad_key, vec![pad, fake_inter]);
    let pkg = signpad_package::build_package(&contents(DOCUMENT, DigestAlgorithm::Sha256), &signer)
        .unwrap();
    let err = check(&pkg, &pki.trust()).unwrap_err();
    assert!(matches!(err, VerifyError::NotACa { .. }), "{err}");
}

#[test]
fn expired_pad_certificate_is_rejected() {
    let pki = Pki::with_pad_validity(validity(at_year(2020), at_year(2022)));
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let err = check(&pkg, &pki.trust()).unwrap_err();
    assert!(matches!(err, VerifyError::Expired { .. }), "{err}");
    assert!(err.is_invalid());
    assert!(err.to_string().contains("SP-0001"));
}

#[test]
fn revoked_pad_certificate_is_rejected() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let mut trust = pki.trust();
    trust.crls = vec![pki.inter_crl(&[999, 1001], signing_time(), 30)];
    let err = check(&pkg, &trust).unwrap_err();
    assert!(matches!(err, VerifyError::Revoked { .. }), "{err}");
    assert!(err.is_invalid());

    // the same CRL without the pad's serial: checked and fine
    trust.crls = vec![pki.inter_crl(&[999], signing_time(), 30)];
    let v = check(&pkg, &trust).unwrap();
    assert_eq!(v.revocation, RevocationStatus::Checked { certificates: 1 });
}

#[test]
fn crl_problems_mean_could_not_check() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let mut trust = pki.trust();

    // stale: expired before the time of checking
    trust.crls = vec![pki.inter_crl(&[], at_year(2024), 7)];
    trust.now = Some(at_year(2026));
    let err = check(&pkg, &trust).unwrap_err();
    assert!(matches!(err, VerifyError::CrlStale { .. }), "{err}");
    assert_eq!(err.kind(), FailureKind::CouldNotCheck);

    // signed by another key
    let other = Pki::new();
    trust.now = None;
    let mut crl = pki.inter_crl(&[], signing_time(), 30);
    crl.signature = make_crl(&pki.inter, &other.inter_key, &[], signing_time(), 30).signature;
    trust.crls = vec![crl];
    let err = check(&pkg, &trust).unwrap_err();
    assert!(matches!(err, VerifyError::CrlSignature { .. }), "{err}");
    assert_eq!(err.kind(), FailureKind::CouldNotCheck);

    // CRLs configured, but none of the pad's issuer
    trust.crls = vec![make_crl(&pki.root, &pki.root_key, &[], signing_time(), 30)];
    let err = check(&pkg, &trust).unwrap_err();
    assert!(matches!(err, VerifyError::CrlMissing { .. }), "{err}");
}

#[test]
fn root_crl_revoking_the_intermediate_is_honoured() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let mut trust = pki.trust();
    trust.crls = vec![
        pki.inter_crl(&[], signing_time(), 30),
        make_crl(&pki.root, &pki.root_key, &[2], signing_time(), 30),
    ];
    let err = check(&pkg, &trust).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Revoked { subject, .. } if subject.contains("Pad CA")),
        "{err}"
    );
}

#[test]
fn every_single_byte_corruption_is_an_error_not_a_panic() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let trust = pki.trust();
    let verifier = signpad_package::Verifier::new(trust, Limits::default());
    // Skip the interior of the 10 KB of random ciphertext in the envelope
    // to keep it fast; every byte of structure around it is flipped.
    let env = Package::parse(&pkg, &Limits::default())
        .unwrap()
        .biometric_envelope()
        .to_vec();
    let start = pkg.windows(env.len()).position(|w| w == env).unwrap();
    let skip = (start + 400)..(start + env.len() - 16);
    for i in (0..pkg.len()).filter(|i| !skip.contains(i)) {
        let mut bad = pkg.clone();
        bad[i] ^= 0x55;
        assert!(
            verifier.verify(&bad, DOCUMENT).is_err(),
            "flip at {i} accepted"
        );
    }
}
