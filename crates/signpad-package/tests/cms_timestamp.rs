#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! RFC 3161 timestamp tokens made by the real `openssl ts -reply` (RSA and
//! ECDSA TSAs) are attached, verified, and rejected when they cover another
//! signature or were altered.

mod cms_support;

use std::path::Path;

use cms_support::*;
use der::asn1::SetOfVec;
use der::{Any, Decode};
use signpad_package::{
    add_timestamp_token, verify, BuildError, Limits, Package, TimestampError, VerifyError,
};
use signpad_types::DigestAlgorithm;

const TS_CONF: &str = "\
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
serial = ./tsaserial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
";

/// A TSA key and certificate (`rsa` or `ec`), made by `openssl req`.
fn make_tsa(dir: &Path, kind: &str) {
    let mut args = vec![
        "req",
        "-x509",
        "-nodes",
        "-subj",
        "/CN=Test TSA/O=Example Time",
        "-days",
        "3650",
        "-keyout",
        "tsa.key",
        "-out",
        "tsa.pem",
        "-addext",
        "extendedKeyUsage=critical,timeStamping",
        "-addext",
        "keyUsage=critical,digitalSignature",
    ];
    if kind == "rsa" {
        args.extend(["-newkey", "rsa:2048"]);
    } else {
        args.extend(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    }
    assert_ok(&openssl(dir, &args), "openssl req (TSA)");
    write(dir, "ts.cnf", TS_CONF);
    write(dir, "tsaserial", "01\n");
}

/// Asks the TSA for a token over `data` (hashed with `hash`).
fn token_for(dir: &Path, data: &[u8], hash: &str) -> Vec<u8> {
    write(dir, "imprint.bin", data);
    let q = openssl(
        dir,
        &[
            "ts",
            "-query",
            "-data",
            "imprint.bin",
            &format!("-{hash}"),
            "-cert",
            "-out",
            "req.tsq",
        ],
    );
    assert_ok(&q, "openssl ts -query");
    let r = openssl(
        dir,
        &[
            "ts",
            "-reply",
            "-queryfile",
            "req.tsq",
            "-config",
            "ts.cnf",
            "-section",
            "tsa_config1",
            "-signer",
            "tsa.pem",
            "-inkey",
            "tsa.key",
            "-token_out",
            "-out",
            "token.der",
        ],
    );
    assert_ok(&r, "openssl ts -reply");
    // openssl agrees the token covers the data
    let v = openssl(
        dir,
        &[
            "ts",
            "-verify",
            "-data",
            "imprint.bin",
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "tsa.pem",
        ],
    );
    assert_ok(&v, "openssl ts -verify");
    std::fs::read(dir.join("token.der")).unwrap()
}

fn timestamped_package_verifies(kind: &str, hash: &str) {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    make_tsa(dir.path(), kind);
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let sig = Package::parse(&pkg, &Limits::default())
        .unwrap()
        .signature_value()
        .to_vec();
    let token = token_for(dir.path(), &sig, hash);
    let stamped = add_timestamp_token(&pkg, &token).unwrap();

    let v = verify(&stamped, DOCUMENT, &pki.trust(), &Limits::default()).unwrap();
    let ts = v.timestamp.expect("timestamp verified");
    assert!(ts.gen_time > signing_time());
    assert_eq!(ts.policy.to_string(), "1.2.3.4.1");
    assert!(ts
        .tsa_certificate
        .tbs_certificate
        .subject
        .to_string()
        .contains("Test TSA"));
    assert_eq!(v.package.timestamp_token(), Some(&token[..]));
    let summary = serde_json::to_value(v.package.summary()).unwrap();
    assert!(summary["timestamp"]["gen_time"].is_string());

    // The timestamp is an unsigned attribute: openssl still verifies.
    write(dir.path(), "root.pem", pem(&pki.root));
    write(dir.path(), "pkg.der", &stamped);
    write(dir.path(), "doc.bin", DOCUMENT);
    let out = openssl(
        dir.path(),
        &[
            "cms",
            "-verify",
            "-binary",
            "-content",
            "doc.bin",
            "-inform",
            "DER",
            "-in",
            "pkg.der",
            "-CAfile",
            "root.pem",
            "-out",
            "/dev/null",
        ],
    );
    assert_ok(&out, "openssl cms -verify of a timestamped package");
}

#[test]
fn token_from_an_rsa_tsa_verifies() {
    timestamped_package_verifies("rsa", "sha256");
}

#[test]
fn token_from_an_ecdsa_tsa_verifies() {
    timestamped_package_verifies("ec", "sha384");
}

#[test]
fn token_for_another_signature_is_refused() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    make_tsa(dir.path(), "ec");
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let token = token_for(dir.path(), b"some other signature value", "sha256");

    let err = add_timestamp_token(&pkg, &token).unwrap_err();
    assert!(matches!(err, BuildError::TimestampMismatch(_)), "{err}");

    // Smuggled in without add_timestamp_token: verify catches it.
    let smuggled = mutate(&pkg, |sd| {
        let mut infos = sd.signer_infos.0.clone().into_vec();
        infos[0].unsigned_attrs = Some(
            SetOfVec::try_from(vec![x509_cert::attr::Attribute {
                oid: signpad_package::oids::ID_AA_TIME_STAMP_TOKEN,
                values: SetOfVec::try_from(vec![Any::from_der(&token).unwrap()]).unwrap(),
            }])
            .unwrap(),
        );
        sd.signer_infos = cms::signed_data::SignerInfos::try_from(infos).unwrap();
    });
    let err = verify(&smuggled, DOCUMENT, &pki.trust(), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Timestamp(TimestampError::ImprintMismatch { .. })
        ),
        "{err}"
    );
    assert!(err.is_invalid());
}

#[test]
fn altered_token_is_rejected() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    make_tsa(dir.path(), "rsa");
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let sig = Package::parse(&pkg, &Limits::default())
        .unwrap()
        .signature_value()
        .to_vec();
    let token = token_for(dir.path(), &sig, "sha256");

    // Change the policy OID 1.2.3.4.1 to 1.2.3.4.2 inside the TSTInfo.
    let mut bad = token.clone();
    let pos = bad
        .windows(6)
        .position(|w| w == [0x06, 0x04, 0x2a, 0x03, 0x04, 0x01])
        .unwrap();
    bad[pos + 5] = 0x02;
    let stamped = add_timestamp_token(&pkg, &bad).unwrap();
    let err = verify(&stamped, DOCUMENT, &pki.trust(), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Timestamp(TimestampError::ContentDigestMismatch)
        ),
        "{err}"
    );

    // Flip a bit of the TSA's RSA signature (the token's last bytes).
    let mut bad = token.clone();
    let n = bad.len();
    bad[n - 5] ^= 0x01;
    let stamped = add_timestamp_token(&pkg, &bad).unwrap();
    let err = verify(&stamped, DOCUMENT, &pki.trust(), &Limits::default()).unwrap_err();
    assert!(
        matches!(err, VerifyError::Timestamp(TimestampError::BadSignature)),
        "{err}"
    );
}

#[test]
fn configured_tsa_roots_decide_whether_the_tsa_is_trusted() {
    use der::DecodePem;
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    make_tsa(dir.path(), "ec");
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let sig = Package::parse(&pkg, &Limits::default())
        .unwrap()
        .signature_value()
        .to_vec();
    let stamped = add_timestamp_token(&pkg, &token_for(dir.path(), &sig, "sha256")).unwrap();
    let tsa = x509_cert::Certificate::from_pem(std::fs::read(dir.path().join("tsa.pem")).unwrap())
        .unwrap();

    let v = signpad_package::Verifier::new(pki.trust(), Limits::default())
        .verify(&stamped, DOCUMENT)
        .unwrap();
    assert!(!v.timestamp.unwrap().tsa_trusted, "no TSA roots configured");

    let v = signpad_package::Verifier::new(pki.trust(), Limits::default())
        .with_tsa_roots(vec![tsa])
        .verify(&stamped, DOCUMENT)
        .unwrap();
    assert!(v.timestamp.unwrap().tsa_trusted);

    let err = signpad_package::Verifier::new(pki.trust(), Limits::default())
        .with_tsa_roots(vec![pki.root.clone()])
        .verify(&stamped, DOCUMENT)
        .unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Timestamp(TimestampError::UntrustedTsa { .. })
        ),
        "{err}"
    );
}
