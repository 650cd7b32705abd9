#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `signpadctl` end to end: a package made by `dev sign` from a recorded pen
//! trace and an openssl-made PKI, checked by every subcommand, with the exit
//! codes a host script relies on.

use signpad_testkit::DemoPki;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const CTL: &str = env!("CARGO_BIN_EXE_signpadctl");

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    pki: DemoPki,
    package: PathBuf,
    document: PathBuf,
}

/// One PKI and one package for all tests (RSA-3072 key generation is slow).
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let pki = DemoPki::create(&dir).unwrap();
        let package = dir.join("package.p7s");
        let document = data("sample.pdf");
        let out = ctl(&[
            "dev",
            "sign",
            "--document",
            s(&document),
            "--trace",
            s(&data("signature-tilt.evemu")),
            "--key",
            s(&pki.pad_key),
            "--cert",
            s(&pki.pad),
            "--escrow",
            s(&pki.escrow),
            "--title",
            "Loan agreement",
            "--serial",
            DemoPki::PAD_SERIAL,
            "--auth",
            "pin,totp",
            "--out",
            s(&package),
        ]);
        assert!(out.status.success(), "dev sign failed: {}", text(&out));
        Fixture {
            _dir: tmp,
            dir,
            pki,
            package,
            document,
        }
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ctl(args: &[&str]) -> Output {
    Command::new(CTL).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn verify(document: &Path, package: &Path, ca: &Path, crl: Option<&Path>) -> Output {
    let mut args = vec![
        "verify",
        "--document",
        s(document),
        "--package",
        s(package),
        "--ca",
        s(ca),
    ];
    if let Some(crl) = crl {
        args.extend(["--crl", s(crl)]);
    }
    ctl(&args)
}

#[test]
fn valid_package_verifies_with_exit_0_and_a_readable_report() {
    let f = fixture();
    let out = verify(&f.document, &f.package, &f.pki.ca, Some(&f.pki.crl));
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    for expected in [
        "VALID",
        DemoPki::PAD_SERIAL,
        "Loan agreement",
        "Pin",
        "Totp",
        "none revoked",
        "training:        no",
    ] {
        assert!(
            report.contains(expected),
            "report lacks {expected:?}:\n{report}"
        );
    }
}

#[test]
fn json_report_says_valid_and_carries_the_ceremony() {
    let f = fixture();
    let mut args = vec![
        "verify",
        "--json",
        "--document",
        s(&f.document),
        "--package",
        s(&f.package),
        "--ca",
        s(&f.pki.ca),
    ];
    args.extend(["--crl", s(&f.pki.crl)]);
    let out = ctl(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "valid");
    assert_eq!(
        json["package"]["ceremony"]["pad_serial"],
        DemoPki::PAD_SERIAL
    );
    assert_eq!(json["package"]["ceremony"]["capture"]["stroke_count"], 6);
}

#[test]
fn changed_document_is_invalid_with_exit_1() {
    let f = fixture();
    let changed = f.dir.join("changed.pdf");
    let mut bytes = std::fs::read(&f.document).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&changed, bytes).unwrap();
    let out = verify(&changed, &f.package, &f.pki.ca, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("INVALID"), "{}", text(&out));
}

#[test]
fn revoked_pad_certificate_is_invalid_with_exit_1() {
    let f = fixture();
    let crl = f.dir.join("revoked.crl");
    f.pki.make_crl(&crl, Some(&f.pki.pad)).unwrap();
    let out = verify(&f.document, &f.package, &f.pki.ca, Some(&crl));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).to_lowercase().contains("revoked"),
        "{}",
        text(&out)
    );
}

#[test]
fn package_from_an_untrusted_ca_is_invalid() {
    let f = fixture();
    // The escrow certificate is not a CA: nothing chains to it.
    let out = verify(&f.document, &f.package, &f.pki.escrow, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn tampered_package_byte_is_invalid() {
    let f = fixture();
    let mut bytes = std::fs::read(&f.package).unwrap();
    // A byte inside the signed ceremony record (the title).
    let pos = bytes
        .windows(14)
        .position(|w| w == b"Loan agreement")
        .unwrap();
    bytes[pos] = b'M';
    let tampered = f.dir.join("tampered.p7s");
    std::fs::write(&tampered, bytes).unwrap();
    let out = verify(&f.document, &tampered, &f.pki.ca, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn garbage_and_truncated_packages_are_rejected_without_panic() {
    let f = fixture();
    let garbage = f.dir.join("garbage.p7s");
    std::fs::write(&garbage, b"this is not DER at all").unwrap();
    let out = verify(&f.document, &garbage, &f.pki.ca, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let bytes = std::fs::read(&f.package).unwrap();
    let truncated = f.dir.join("truncated.p7s");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = verify(&f.document, &truncated, &f.pki.ca, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains("panicked"));
}

#[test]
fn missing_document_could_not_be_checked_exit_3() {
    let f = fixture();
    let out = verify(&f.dir.join("no-such.pdf"), &f.package, &f.pki.ca, None);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("no-such.pdf"), "{}", text(&out));
}

#[test]
fn examiner_decrypts_and_renders_the_biometric_record() {
    let f = fixture();
    let iso = f.dir.join("record-test.iso");
    let out = ctl(&[
        "decrypt-biometric",
        "--package",
        s(&f.package),
        "--key",
        s(&f.pki.escrow_key),
        "--document",
        s(&f.document),
        "--out",
        s(&iso),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let record = std::fs::read(&iso).unwrap();
    assert!(
        record.starts_with(b"SDI\0"),
        "not an ISO/IEC 19794-7 record"
    );
    let png = f.dir.join("record-test.png");
    let svg = f.dir.join("record-test.svg");
    let out = ctl(&[
        "render",
        "--iso",
        s(&iso),
        "--png",
        s(&png),
        "--svg",
        s(&svg),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(std::fs::read(&png)
        .unwrap()
        .starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
}

#[test]
fn the_pad_key_cannot_open_the_biometric_envelope() {
    let f = fixture();
    let out = ctl(&[
        "decrypt-biometric",
        "--package",
        s(&f.package),
        "--key",
        s(&f.pki.pad_key),
        "--out",
        s(&f.dir.join("never.iso")),
    ]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!f.dir.join("never.iso").exists());
}

#[test]
fn inspect_json_shows_the_package_without_trust() {
    let f = fixture();
    let out = ctl(&["inspect", "--json", "--package", s(&f.package)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["digest_algorithm"], "sha256");
    assert_eq!(json["ceremony"]["document_title"], "Loan agreement");
}

#[test]
fn openssl_verifies_what_dev_sign_made() {
    let f = fixture();
    let out = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            s(&f.package),
            "-content",
            s(&f.document),
            "-CAfile",
            s(&f.pki.ca),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn package_over_the_configured_size_limit_could_not_be_checked() {
    let f = fixture();
    let out = ctl(&[
        "verify",
        "--max-package-bytes",
        "1000",
        "--document",
        s(&f.document),
        "--package",
        s(&f.package),
        "--ca",
        s(&f.pki.ca),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("limit"), "{}", text(&out));
    // The default limit accepts the same package.
    let out = verify(&f.document, &f.package, &f.pki.ca, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn training_package_is_reported_as_not_binding() {
    let f = fixture();
    let package = f.dir.join("training.p7s");
    let out = ctl(&[
        "dev",
        "sign",
        "--training",
        "--document",
        s(&f.document),
        "--trace",
        s(&data("initials-short.evemu")),
        "--key",
        s(&f.pki.pad_key),
        "--cert",
        s(&f.pki.pad),
        "--escrow",
        s(&f.pki.escrow),
        "--out",
        s(&package),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = verify(&f.document, &package, &f.pki.ca, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("YES - not a binding signature"),
        "{}",
        text(&out)
    );
}
