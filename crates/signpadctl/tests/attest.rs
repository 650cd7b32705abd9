#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `signpadctl attest verify` against evidence from a real swtpm: keyd runs
//! in-process, the command checks its JSON offline with the exit codes a
//! verifier's script relies on.

use signpad_keyd::{KeyRole, Keyd, KeydConfig};
use signpad_testkit::Swtpm;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use x509_cert::der::EncodePem as _;

const CTL: &str = env!("CARGO_BIN_EXE_signpadctl");
const NONCE: &[u8] = b"verifier nonce 42";

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    evidence: PathBuf,
    pad_cert: PathBuf,
    tls_cert: PathBuf,
}

/// One evidence file for all tests. The swtpm is stopped once the evidence
/// is collected: checking it is offline.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        std::env::set_var("TSS2_LOG", "all+none");
        let tpm = Swtpm::start().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let keyd = Keyd::open(KeydConfig::new(tpm.tcti(), dir.join("keys"))).unwrap();
        keyd.provision(None).unwrap();
        let evidence = dir.join("evidence.json");
        let json = keyd
            .collect_evidence(NONCE, &[0, 7, 16])
            .unwrap()
            .to_json()
            .unwrap();
        std::fs::write(&evidence, json).unwrap();
        let pem = |role, name: &str| {
            let chain = keyd.certificate_chain(role).unwrap();
            let pem = chain[0]
                .to_pem(x509_cert::der::pem::LineEnding::LF)
                .unwrap();
            let path = dir.join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let pad_cert = pem(KeyRole::Signing, "pad.pem");
        let tls_cert = pem(KeyRole::Tls, "tls.pem");
        drop(keyd);
        drop(tpm);
        Fixture {
            _tmp: tmp,
            dir,
            evidence,
            pad_cert,
            tls_cert,
        }
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn verify(evidence: &Path, nonce: &[u8], extra: &[&str]) -> Output {
    let nonce = hex(nonce);
    let mut args = vec![
        "attest",
        "verify",
        "--evidence",
        s(evidence),
        "--nonce",
        &nonce,
    ];
    args.extend_from_slice(extra);
    Command::new(CTL).args(&args).output().unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn text(out: &Output) -> String {
    format!("{}{}", stdout(out), String::from_utf8_lossy(&out.stderr))
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

#[test]
fn evidence_verifies_with_its_nonce_and_the_pad_certificate() {
    let f = fixture();
    let out = verify(&f.evidence, NONCE, &["--cert", s(&f.pad_cert)]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let t = stdout(&out);
    assert!(t.starts_with("VERIFIED"), "{t}");
    assert!(t.contains("attestation key:  sha256 "), "{t}");
    assert!(t.contains("PCRs (SHA-256):   0,7,16"), "{t}");
    assert!(t.contains("PCR digest:       "), "{t}");
    assert!(t.contains("= pad certificate key: yes"), "{t}");
    assert!(t.contains("EK certificate:   none"), "{t}");

    // Without --cert the key comparison is reported as not done.
    let out = verify(&f.evidence, NONCE, &[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(stdout(&out).contains("not checked"), "{}", text(&out));

    // JSON report.
    let out = verify(&f.evidence, NONCE, &["--cert", s(&f.pad_cert), "--json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "verified");
    assert_eq!(v["evidence"]["certified_key_is_expected"], true);
    assert_eq!(v["evidence"]["pcrs"], serde_json::json!([0, 7, 16]));
    assert_eq!(v["evidence"]["pcr_digest"].as_str().unwrap().len(), 64);
}

#[test]
fn another_nonce_is_invalid() {
    let f = fixture();
    let out = verify(&f.evidence, b"another nonce", &[]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let t = stdout(&out);
    assert!(t.starts_with("INVALID"), "{t}");
    assert!(t.contains("nonce does not match"), "{t}");
    let out = verify(&f.evidence, b"another nonce", &["--json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "invalid");
}

#[test]
fn the_tls_certificate_is_not_the_certified_key() {
    let f = fixture();
    let out = verify(&f.evidence, NONCE, &["--cert", s(&f.tls_cert)]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        stdout(&out).contains("not the public key of the pad certificate"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_tampered_file_is_invalid() {
    let f = fixture();
    let json = std::fs::read_to_string(&f.evidence).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Flip one bit of the quote's TPMS_ATTEST (the last hex digit).
    let attest = v["quote"]["attest"].as_str().unwrap().to_owned();
    let (head, last) = attest.split_at(attest.len() - 1);
    let flipped = u8::from_str_radix(last, 16).unwrap() ^ 1;
    v["quote"]["attest"] = format!("{head}{flipped:x}").into();
    let path = f.dir.join("tampered.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let out = verify(&path, NONCE, &["--cert", s(&f.pad_cert)]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        stdout(&out).contains("quote: signature does not verify"),
        "{}",
        text(&out)
    );
}

#[test]
fn garbage_missing_files_and_other_formats_could_not_be_checked() {
    let f = fixture();
    let garbage = f.dir.join("garbage.json");
    std::fs::write(&garbage, b"\x00\x01 not json").unwrap();
    let out = verify(&garbage, NONCE, &[]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        stdout(&out).starts_with("COULD NOT CHECK"),
        "{}",
        text(&out)
    );

    let out = verify(&f.dir.join("missing.json"), NONCE, &[]);
    assert_eq!(code(&out), 3, "{}", text(&out));

    let json = std::fs::read_to_string(&f.evidence).unwrap();
    let other = f.dir.join("other-format.json");
    std::fs::write(
        &other,
        json.replace("signpad-evidence/1", "signpad-evidence/2"),
    )
    .unwrap();
    let out = verify(&other, NONCE, &["--json"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "could-not-check");

    // A nonce that is not hex is a bad command line.
    let out = Command::new(CTL)
        .args(["attest", "verify", "--evidence", s(&f.evidence)])
        .args(["--nonce", "xyz"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out));
}
