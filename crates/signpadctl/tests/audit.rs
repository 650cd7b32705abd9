#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `signpadctl audit verify` end to end: a log written by the audit library
//! with a software signer over an openssl-made pad key, checked by the
//! binary; a changed byte gives exit 1 and names the record.

use signpad_audit::{Actor, AuditEvent, AuditLog, CheckpointPolicy, EventKind, Outcome};
use signpad_package::dev::SoftwareSigner;
use signpad_testkit::DemoPki;
use signpad_types::{DigestAlgorithm, SessionId};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CTL: &str = env!("CARGO_BIN_EXE_signpadctl");

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    pki: DemoPki,
    log: PathBuf,
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_740_819_600 + secs)
}

/// genesis 0, events 1-4, checkpoint 5, events 6-9, checkpoint 10, event 11.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let pki = DemoPki::create(&dir).unwrap();
        let signer = SoftwareSigner::from_pem(
            &std::fs::read_to_string(&pki.pad_key).unwrap(),
            &std::fs::read(&pki.pad).unwrap(),
        )
        .unwrap();
        let log_path = dir.join("audit.log");
        let policy = CheckpointPolicy {
            every_records: 4,
            every: Duration::from_secs(3600),
        };
        let mut log = AuditLog::open(&log_path, signer, policy, at(0)).unwrap();
        for i in 0..9u8 {
            let event = AuditEvent::new(
                EventKind::AuthAttempt,
                Actor::Signer {
                    id: format!("signer-{i}"),
                },
                if i % 2 == 0 {
                    Outcome::Ok
                } else {
                    Outcome::Denied
                },
            )
            .with_session(SessionId::from_bytes([i; 16]))
            .with_digest("document", DigestAlgorithm::Sha256, &[i; 32])
            .with_detail("factor=pin");
            log.append(at(u64::from(i) + 1), &event).unwrap();
        }
        drop(log);
        Fixture {
            _dir: tmp,
            dir,
            pki,
            log: log_path,
        }
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn verify(log: &Path, cert: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["audit", "verify", "--log", s(log), "--cert", s(cert)];
    args.extend_from_slice(extra);
    Command::new(CTL).args(&args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn an_intact_log_is_valid_and_its_unsigned_tail_is_reported() {
    let f = fixture();
    let out = verify(&f.log, &f.pki.pad, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("VALID audit log"), "{t}");
    assert!(t.contains("records:         12 (9 events)"), "{t}");
    assert!(
        t.contains("NOT YET CHECKPOINTED: records 11 to 11 (1)"),
        "{t}"
    );

    let out = verify(&f.log, &f.pki.pad, &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "valid");
    assert_eq!(v["log"]["checkpoints"], 2);
    assert_eq!(v["log"]["last_checkpoint"]["covers_seq"], 9);
    assert_eq!(v["log"]["not_checkpointed"]["first_seq"], 11);
}

#[test]
fn a_changed_byte_gives_exit_1_and_names_the_record() {
    let f = fixture();
    let bytes = std::fs::read(&f.log).unwrap();
    // Flip "denied" to "Denied" in record 4 (line 5).
    let line5_start = bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .nth(3)
        .unwrap()
        .0
        + 1;
    let pos = line5_start
        + bytes[line5_start..]
            .windows(8)
            .position(|w| w == b"\"denied\"")
            .unwrap()
        + 1;
    let mut bad = bytes.clone();
    bad[pos] = b'D';
    let path = f.dir.join("tampered.log");
    std::fs::write(&path, &bad).unwrap();

    let out = verify(&path, &f.pki.pad, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("INVALID"), "{t}");
    assert!(t.contains("first broken record: 4 (line 5"), "{t}");
    assert!(t.contains("field \"hash\""), "{t}");

    let out = verify(&path, &f.pki.pad, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "invalid");
    assert_eq!(v["broken"]["seq"], 4);
    assert_eq!(v["broken"]["line"], 5);
    assert_eq!(v["broken"]["check"]["check"], "hash_mismatch");
}

#[test]
fn records_cut_off_the_end_fail_against_a_known_head() {
    let f = fixture();
    let bytes = std::fs::read(&f.log).unwrap();
    let keep = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let path = f.dir.join("cut.log");
    std::fs::write(&path, &bytes[..keep]).unwrap();
    let out = verify(&path, &f.pki.pad, &["--expect-seq", "11"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("records were removed from the end"));
    let out = verify(&f.log, &f.pki.pad, &["--expect-seq", "11"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn the_wrong_certificate_or_a_missing_file_could_not_be_checked() {
    let f = fixture();
    let out = verify(&f.log, &f.pki.ca, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("none of the given certificates"));
    let out = verify(&f.dir.join("no-such.log"), &f.pki.pad, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("cannot open audit log"));
}
