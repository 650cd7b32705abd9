#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A signature package signed inside the TPM through `TpmSigner`, with the
//! pad certificate issued by an openssl-made CA, verifies with
//! `openssl cms -verify` and fails for a changed document.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::Rig;
use der::Encode as _;
use signpad_keyd::{KeyRole, TpmSigner};
use signpad_package::{
    AuthFactor, AuthFactorUse, CaptureStatistics, CeremonyRecord, PackageContents,
    SignatureImageDigest,
};
use signpad_types::{DigestAlgorithm, DocumentDigest, PadSerial, SessionId};

const DOCUMENT: &[u8] = b"%PDF-1.7\nThe borrower agrees to repay the loan.\n%%EOF\n";

fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn contents(alg: DigestAlgorithm) -> PackageContents {
    PackageContents {
        document_digest: DocumentDigest::of(alg, DOCUMENT),
        signing_time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_760_000_000),
        ceremony: CeremonyRecord {
            pad_serial: PadSerial::new("SP-0001").unwrap(),
            session_id: SessionId::from_bytes([0x5a; 16]),
            document_title: "Loan agreement".into(),
            pages_shown: vec![DocumentDigest::of(DigestAlgorithm::Sha256, b"page 1")],
            auth_factors: vec![AuthFactorUse {
                factor: AuthFactor::Pin,
                detail: None,
            }],
            training: false,
            capture: CaptureStatistics {
                sample_count: 10,
                duration_ms: 50,
                stroke_count: 1,
                gap_count: 0,
                device_name: "test pen".into(),
            },
            software_version: "signpad 0.1.0".into(),
        },
        // The envelope's content is opaque to the signature check.
        biometric_envelope: cms::content_info::ContentInfo {
            content_type: const_oid::db::rfc5911::ID_ENVELOPED_DATA,
            content: der::Any::encode_from(&der::asn1::OctetString::new(vec![0u8; 64]).unwrap())
                .unwrap(),
        }
        .to_der()
        .unwrap(),
        signature_image: SignatureImageDigest::of_png(b"\x89PNG image"),
    }
}

#[test]
fn package_signed_in_the_tpm_verifies_with_openssl_cms() {
    let rig = Rig::new();
    let keyd = rig.provisioned();
    let dir = rig.dir.path();
    ok(
        &openssl(
            dir,
            &[
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-noout",
                "-out",
                "ca.key",
            ],
        ),
        "CA key",
    );
    ok(
        &openssl(
            dir,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-subj",
                "/CN=Example Bank Pad CA",
                "-days",
                "30",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-out",
                "ca.pem",
            ],
        ),
        "CA certificate",
    );
    std::fs::write(
        dir.join("csr.pem"),
        keyd.create_csr(KeyRole::Signing, "CN=SP-0001,O=Example Bank")
            .unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("ext.cnf"),
        "keyUsage=critical,digitalSignature,nonRepudiation\n",
    )
    .unwrap();
    ok(
        &openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "csr.pem",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "7",
                "-extfile",
                "ext.cnf",
                "-out",
                "pad.pem",
            ],
        ),
        "issuing the pad certificate",
    );
    let leaf = std::fs::read_to_string(dir.join("pad.pem")).unwrap();
    let root = std::fs::read_to_string(dir.join("ca.pem")).unwrap();
    keyd.install_certificate(KeyRole::Signing, &format!("{leaf}{root}"))
        .unwrap();
    let signer = TpmSigner::new(&keyd, KeyRole::Signing).unwrap();
    std::fs::write(dir.join("doc.bin"), DOCUMENT).unwrap();
    let mut changed = DOCUMENT.to_vec();
    changed[12] ^= 1;
    std::fs::write(dir.join("changed.bin"), &changed).unwrap();
    for alg in [
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ] {
        let pkg = signpad_package::build_package(&contents(alg), &signer).unwrap();
        std::fs::write(dir.join("pkg.der"), &pkg).unwrap();
        let verify = |content: &str| {
            openssl(
                dir,
                &[
                    "cms",
                    "-verify",
                    "-binary",
                    "-content",
                    content,
                    "-inform",
                    "DER",
                    "-in",
                    "pkg.der",
                    "-CAfile",
                    "ca.pem",
                    "-out",
                    "/dev/null",
                ],
            )
        };
        let out = verify("doc.bin");
        ok(&out, &format!("openssl cms -verify ({alg})"));
        assert!(String::from_utf8_lossy(&out.stderr).contains("Verification successful"));
        assert!(
            !verify("changed.bin").status.success(),
            "{alg}: changed document accepted"
        );
    }
}
