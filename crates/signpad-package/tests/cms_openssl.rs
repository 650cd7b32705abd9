#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Interop: packages built here verify with the real `openssl cms` and
//! parse with `openssl asn1parse`; and our own verifier accepts them.

mod cms_support;

use cms_support::*;
use signpad_package::{verify, Limits, Package, RevocationStatus};
use signpad_types::{DigestAlgorithm, DocumentDigest};

fn openssl_verify(
    dir: &std::path::Path,
    pkg: &[u8],
    doc: &[u8],
    extra: &[&str],
) -> std::process::Output {
    write(dir, "pkg.der", pkg);
    write(dir, "doc.bin", doc);
    let mut args = vec![
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
    ];
    args.extend_from_slice(extra);
    openssl(dir, &args)
}

#[test]
fn openssl_cms_verifies_the_package_and_rejects_a_changed_document() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "root.pem", pem(&pki.root));
    for alg in [
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ] {
        let pkg = build(&pki, alg);
        // Default purpose (smimesign): the pad certificate has keyUsage
        // digitalSignature + nonRepudiation and no EKU, which OpenSSL accepts.
        let out = openssl_verify(dir.path(), &pkg, DOCUMENT, &[]);
        assert_ok(&out, &format!("openssl cms -verify ({alg})"));
        assert!(String::from_utf8_lossy(&out.stderr).contains("Verification successful"));
        let out = openssl_verify(dir.path(), &pkg, DOCUMENT, &["-purpose", "any"]);
        assert_ok(&out, "openssl cms -verify -purpose any");

        let mut changed = DOCUMENT.to_vec();
        changed[10] ^= 1;
        let out = openssl_verify(dir.path(), &pkg, &changed, &[]);
        assert!(!out.status.success(), "openssl accepted a changed document");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("content verify error"), "{err}");
    }
}

#[test]
fn openssl_rejects_a_package_from_another_ca() {
    let pki = Pki::new();
    let other = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "root.pem", pem(&other.root));
    let out = openssl_verify(
        dir.path(),
        &build(&pki, DigestAlgorithm::Sha256),
        DOCUMENT,
        &[],
    );
    assert!(!out.status.success());
}

#[test]
fn openssl_asn1parse_reads_the_whole_package() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pkg.der", &pkg);
    let out = openssl(
        dir.path(),
        &["asn1parse", "-inform", "DER", "-in", "pkg.der", "-i"],
    );
    assert_ok(&out, "openssl asn1parse");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        ":pkcs7-signedData",
        ":pkcs7-data",
        ":contentType",
        ":messageDigest",
        ":signingTime",
        ":ecdsa-with-SHA256",
        ":pkcs7-envelopedData",
        // the private attribute OIDs, printed numerically
        ":1.2.840.113556.1.8000.2554.28852.64969.16339.18697.38709.11869411.15931166.1.1",
        ":1.2.840.113556.1.8000.2554.28852.64969.16339.18697.38709.11869411.15931166.1.2",
        ":1.2.840.113556.1.8000.2554.28852.64969.16339.18697.38709.11869411.15931166.1.3",
        "SP-0001",
    ] {
        assert!(text.contains(needle), "asn1parse output lacks {needle}");
    }
    // `openssl cms -cmsout -print` decodes the CMS structures too.
    let out = openssl(
        dir.path(),
        &[
            "cms", "-cmsout", "-print", "-inform", "DER", "-in", "pkg.der", "-noout",
        ],
    );
    assert_ok(&out, "openssl cms -cmsout -print");
}

#[test]
fn our_verifier_accepts_the_package_and_reports_its_contents() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha384);
    let v = verify(&pkg, DOCUMENT, &pki.trust(), &Limits::default()).unwrap();
    assert_eq!(v.chain.len(), 3, "pad, intermediate, root");
    assert_eq!(v.revocation, RevocationStatus::NotChecked);
    assert!(v.timestamp.is_none());
    let p = &v.package;
    assert_eq!(p.digest_algorithm(), DigestAlgorithm::Sha384);
    assert_eq!(
        p.document_digest().unwrap(),
        DocumentDigest::of(DigestAlgorithm::Sha384, DOCUMENT)
    );
    assert_eq!(p.signing_time(), signing_time());
    assert_eq!(p.ceremony_record(), &ceremony());
    assert_eq!(p.pad_certificate(), &pki.pad);
    assert!(p.signature_image_digest().matches(b"\x89PNG fake image"));
    // by digest too
    let d = DocumentDigest::of(DigestAlgorithm::Sha384, DOCUMENT);
    verify(&pkg, &d, &pki.trust(), &Limits::default()).unwrap();

    let json = serde_json::to_value(p.summary()).unwrap();
    assert_eq!(json["digest_algorithm"], "sha384");
    assert_eq!(json["signing_time"], "2025-10-09T08:53:20Z");
    assert_eq!(json["ceremony"]["pad_serial"], "SP-0001");
    assert_eq!(
        json["ceremony"]["auth_factors"][1]["factor"],
        "signature-dynamics"
    );
    assert!(json["pad_certificate"]["subject"]
        .as_str()
        .unwrap()
        .contains("SP-0001"));
}

#[test]
fn a_realistic_package_is_under_16_kib() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    assert!(pkg.len() <= 16 * 1024, "package is {} bytes", pkg.len());
    Package::parse(&pkg, &Limits::default()).unwrap();
}

#[test]
fn signed_attributes_are_in_der_set_order() {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let p = Package::parse(&pkg, &Limits::default()).unwrap();
    // Re-read the SET OF and check the encodings ascend (X.690 11.6).
    let attrs = x509_cert::attr::Attributes::from_der_unsorted(p.signed_attributes_der());
    let enc: Vec<Vec<u8>> = attrs
        .iter()
        .map(|a| der::Encode::to_der(a).unwrap())
        .collect();
    assert_eq!(enc.len(), 6);
    assert!(
        enc.windows(2).all(|w| w[0] < w[1]),
        "signed attributes not DER-sorted"
    );
}

/// Reads a SET OF without sorting it, to check the order as encoded.
trait FromDerUnsorted {
    fn from_der_unsorted(bytes: &[u8]) -> Vec<x509_cert::attr::Attribute>;
}

impl FromDerUnsorted for x509_cert::attr::Attributes {
    fn from_der_unsorted(bytes: &[u8]) -> Vec<x509_cert::attr::Attribute> {
        use der::{Decode, Reader};
        let mut r = der::SliceReader::new(bytes).unwrap();
        let header = der::Header::decode(&mut r).unwrap();
        assert_eq!(header.tag, der::Tag::Set);
        let mut out = Vec::new();
        while !r.is_finished() {
            out.push(x509_cert::attr::Attribute::decode(&mut r).unwrap());
        }
        out
    }
}

#[test]
fn dev_signer_loads_openssl_made_keys_and_certificates() {
    use signpad_package::dev::SoftwareSigner;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // root CA and a pad key/cert made entirely by openssl; SEC1 and PKCS #8 keys
    let ok = |args: &[&str]| assert_ok(&openssl(d, args), &args.join(" "));
    ok(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "ca.key",
    ]);
    ok(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/CN=Dev Root",
        "-days",
        "30",
        "-out",
        "root.pem",
    ]);
    write(
        d,
        "pad.ext",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
    );
    for (keycmd, name) in [
        (
            vec![
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ],
            "sec1.key",
        ),
        (
            vec![
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ],
            "pkcs8.key",
        ),
    ] {
        let mut args = keycmd.clone();
        args.push(name);
        ok(&args);
        ok(&[
            "req",
            "-new",
            "-key",
            name,
            "-subj",
            "/CN=SP-DEV",
            "-out",
            "pad.csr",
        ]);
        ok(&[
            "x509",
            "-req",
            "-in",
            "pad.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "pad.ext",
            "-out",
            "pad.pem",
        ]);
        let key = std::fs::read_to_string(d.join(name)).unwrap();
        let chain = std::fs::read(d.join("pad.pem")).unwrap();
        let signer = SoftwareSigner::from_pem(&key, &chain).unwrap();
        let mut c = contents(DOCUMENT, DigestAlgorithm::Sha256);
        c.signing_time = std::time::SystemTime::now();
        let pkg = signpad_package::build_package(&c, &signer).unwrap();
        let out = openssl_verify(d, &pkg, DOCUMENT, &[]);
        assert_ok(&out, &format!("openssl cms -verify with {name}"));
        let root = std::fs::read(d.join("root.pem")).unwrap();
        let trust = signpad_package::TrustAnchors {
            roots: x509_cert::Certificate::load_pem_chain(&root).unwrap(),
            ..Default::default()
        };
        verify(&pkg, DOCUMENT, &trust, &Limits::default()).unwrap();
    }
    // a key that does not match the certificate is caught when building
    let other = std::fs::read_to_string(d.join("sec1.key")).unwrap();
    let chain = std::fs::read(d.join("pad.pem")).unwrap();
    let signer = SoftwareSigner::from_pem(&other, &chain).unwrap();
    let err = signpad_package::build_package(&contents(DOCUMENT, DigestAlgorithm::Sha256), &signer)
        .unwrap_err();
    assert!(
        matches!(err, signpad_package::BuildError::SignerKeyMismatch(_)),
        "{err}"
    );
}
