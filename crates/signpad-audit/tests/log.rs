#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The writer: creation, resumption, crash recovery of a torn last record,
//! refusal to extend a broken log, one writer at a time, checkpoint policy
//! and a signer that fails.

mod common;

use common::*;
use signpad_audit::record::{encode_line, Body, Hash32, Recovered, RecoveryReason};
use signpad_audit::{
    verify_log, Actor, AuditError, AuditEvent, AuditLog, CheckpointPolicy, CheckpointStatus,
    EventError, EventKind, OpenOutcome, Outcome, Timestamp,
};
use signpad_package::dev::SoftwareSigner;
use signpad_package::signer::{PackageSigner, SignerError};
use signpad_types::DigestAlgorithm;
use std::cell::Cell;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use x509_cert::Certificate;

fn policy(every_records: u64, every_secs: u64) -> CheckpointPolicy {
    CheckpointPolicy {
        every_records,
        every: Duration::from_secs(every_secs),
    }
}

#[test]
fn a_new_log_starts_with_genesis_and_resumes_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let mut log = AuditLog::open(&path, signer(), policy(100, 3600), at(0)).unwrap();
    assert_eq!(log.opened(), &OpenOutcome::Created);
    assert_eq!(log.head().0, 0);
    let a = log.append(at(1), &event(0)).unwrap();
    assert_eq!((a.seq, a.checkpoint), (1, CheckpointStatus::NotDue));
    drop(log);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o007, 0, "the log is not world-readable: {mode:o}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");

    let mut log = AuditLog::open(&path, signer(), policy(100, 3600), at(5)).unwrap();
    assert_eq!(log.opened(), &OpenOutcome::Resumed { head_seq: 1 });
    assert_eq!(log.append(at(6), &event(1)).unwrap().seq, 2);
    assert_eq!(log.checkpoint(at(7)).unwrap(), Some(3));
    assert_eq!(log.checkpoint(at(8)).unwrap(), None, "nothing new to sign");
    drop(log);
    let report = verify_log(&std::fs::read(&path).unwrap(), &pad_cert()).unwrap();
    assert_eq!(
        (report.records, report.events, report.checkpoints),
        (4, 2, 1)
    );
    assert!(report.not_checkpointed.is_none());
    assert!(report.genesis.pad_subject.contains("SP-DEMO-0001"));
}

#[test]
fn a_torn_last_record_cut_at_any_byte_is_removed_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let full = build_log(&path, 4, 100);
    let last_start = full[..full.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    for cut in last_start + 1..full.len() {
        std::fs::write(&path, &full[..cut]).unwrap();
        let mut log = AuditLog::open(&path, signer(), policy(100, 3600), at(100)).unwrap();
        assert_eq!(
            log.opened(),
            &OpenOutcome::Recovered {
                recovered_seq: 4,
                at_offset: last_start as u64,
                discarded_bytes: (cut - last_start) as u64
            },
            "cut at {cut}"
        );
        log.append(at(101), &event(9)).unwrap();
        drop(log);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..last_start], &full[..last_start]);
        let report = verify_log(&bytes, &pad_cert()).unwrap();
        assert_eq!(report.head.seq, 5);
        assert_eq!(report.recoveries.len(), 1);
        let r = &report.recoveries[0];
        assert_eq!(
            (r.seq, r.at_offset, r.discarded_bytes),
            (4, last_start as u64, (cut - last_start) as u64)
        );
        let recs = parse(&bytes);
        match &recs[4].body {
            OwnedBody::Recovered(rv) => {
                assert_eq!(rv.discarded_sha256, Hash32::of(&full[last_start..cut]));
                assert_eq!(rv.reason, RecoveryReason::TornTail);
            }
            other => panic!("record 4 is {other:?}"),
        }
    }
}

#[test]
fn zeros_after_a_power_loss_are_recovered_like_a_torn_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let mut bytes = build_log(&path, 2, 100);
    let clean = bytes.len() as u64;
    bytes.extend_from_slice(&[0u8; 4096]);
    std::fs::write(&path, &bytes).unwrap();
    let log = AuditLog::open(&path, signer(), policy(100, 3600), at(50)).unwrap();
    assert!(matches!(
        log.opened(),
        OpenOutcome::Recovered { at_offset, discarded_bytes: 4096, .. } if *at_offset == clean
    ));
    drop(log);
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.len() < clean as usize + 1024,
        "the zeros were cut off"
    );
    verify_log(&bytes, &pad_cert()).unwrap();
}

#[test]
fn a_crash_during_recovery_is_recovered_again_and_both_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let full = build_log(&path, 2, 100);
    let recs = parse(&full);
    let head_line = lines(&full).pop().unwrap();
    let head = Hash32::from_hex(&head_line[head_line.len() - 67..head_line.len() - 3]).unwrap();
    // The recovery wrote its record over 600 torn bytes, then crashed
    // before cutting the rest of them off.
    let torn = vec![b'x'; 600];
    let rec = Recovered {
        reason: RecoveryReason::TornTail,
        at_offset: full.len() as u64,
        discarded_bytes: 600,
        discarded_sha256: Hash32::of(&torn),
    };
    let (line, _) = encode_line(
        recs.len() as u64,
        Timestamp::from_system_time(at(40)).unwrap(),
        head,
        Body::Recovered(&rec),
    )
    .unwrap();
    assert!(line.len() < torn.len());
    let mut bytes = full.clone();
    bytes.extend_from_slice(&line);
    bytes.extend_from_slice(&torn[line.len()..]);
    std::fs::write(&path, &bytes).unwrap();

    let log = AuditLog::open(&path, signer(), policy(100, 3600), at(60)).unwrap();
    assert!(matches!(
        log.opened(),
        OpenOutcome::Recovered {
            recovered_seq: 4,
            ..
        }
    ));
    drop(log);
    let report = verify_log(&std::fs::read(&path).unwrap(), &pad_cert()).unwrap();
    let seqs: Vec<u64> = report.recoveries.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![3, 4]);
}

#[test]
fn a_log_broken_in_the_middle_is_not_extended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let mut bytes = build_log(&path, 3, 100);
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let err = AuditLog::open(&path, signer(), policy(100, 3600), at(50)).unwrap_err();
    assert!(matches!(err, AuditError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("move it aside"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the file is left as it was"
    );
}

#[test]
fn only_one_writer_may_hold_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let _first = AuditLog::open(&path, signer(), policy(100, 3600), at(0)).unwrap();
    let err = AuditLog::open(&path, signer(), policy(100, 3600), at(0)).unwrap_err();
    assert!(matches!(err, AuditError::Locked { .. }), "{err}");
}

#[test]
fn checkpoints_follow_the_record_count_and_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let mut log = AuditLog::open(&path, signer(), policy(3, 60), at(0)).unwrap();
    let statuses: Vec<CheckpointStatus> = (0..3)
        .map(|i| log.append(at(i + 1), &event(i)).unwrap().checkpoint)
        .collect();
    assert_eq!(
        statuses,
        vec![
            CheckpointStatus::NotDue,
            CheckpointStatus::NotDue,
            CheckpointStatus::Written { seq: 4 }
        ]
    );
    // One record, then time passes: the next append or a tick signs it.
    log.append(at(10), &event(3)).unwrap();
    assert_eq!(log.tick(at(30)).unwrap(), CheckpointStatus::NotDue);
    assert_eq!(
        log.tick(at(64)).unwrap(),
        CheckpointStatus::Written { seq: 6 }
    );
    assert_eq!(
        log.tick(at(500)).unwrap(),
        CheckpointStatus::NotDue,
        "idle: nothing to sign"
    );
    let a = log.append(at(600), &event(4)).unwrap();
    assert_eq!(a.checkpoint, CheckpointStatus::Written { seq: 8 });
    drop(log);
    let report = verify_log(&std::fs::read(&path).unwrap(), &pad_cert()).unwrap();
    assert_eq!(report.checkpoints, 3);
    assert!(report.not_checkpointed.is_none());
}

/// A signer that can be made to fail, as when keyd is down.
struct Flaky {
    inner: SoftwareSigner,
    fail: Cell<bool>,
}

impl PackageSigner for Flaky {
    fn sign_digest(&self, a: DigestAlgorithm, d: &[u8]) -> Result<Vec<u8>, SignerError> {
        if self.fail.get() {
            return Err(SignerError::Failed("keyd is not running".into()));
        }
        self.inner.sign_digest(a, d)
    }
    fn certificate_chain(&self) -> &[Certificate] {
        self.inner.certificate_chain()
    }
}

#[test]
fn a_failing_signer_delays_the_checkpoint_but_loses_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let flaky = Flaky {
        inner: signer(),
        fail: Cell::new(true),
    };
    let mut log = AuditLog::open(&path, flaky, policy(2, 3600), at(0)).unwrap();
    log.append(at(1), &event(0)).unwrap();
    let a = log.append(at(2), &event(1)).unwrap();
    assert!(
        matches!(&a.checkpoint, CheckpointStatus::Failed { error } if error.contains("keyd is not running")),
        "{a:?}"
    );
    assert_eq!(a.seq, 2);
    assert!(log.checkpoint(at(3)).is_err());
    log.signer().fail.set(false);
    let a = log.append(at(4), &event(2)).unwrap();
    assert_eq!(
        (a.seq, a.checkpoint),
        (3, CheckpointStatus::Written { seq: 4 })
    );
    drop(log);
    let report = verify_log(&std::fs::read(&path).unwrap(), &pad_cert()).unwrap();
    assert_eq!((report.events, report.checkpoints), (3, 1));
}

#[test]
fn a_batch_is_chained_like_single_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let mut log = AuditLog::open(&path, signer(), policy(100, 3600), at(0)).unwrap();
    let batch: Vec<AuditEvent> = (0..10).map(event).collect();
    let a = log.append_batch(at(1), &batch).unwrap();
    assert_eq!(a.seq, 10);
    assert_eq!(log.since_checkpoint(), 10);
    drop(log);
    let report = verify_log(&std::fs::read(&path).unwrap(), &pad_cert()).unwrap();
    assert_eq!(report.events, 10);
}

#[test]
fn an_oversized_or_malformed_event_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let mut log = AuditLog::open(&path, signer(), policy(100, 3600), at(0)).unwrap();
    let before = std::fs::read(&path).unwrap();
    let long = AuditEvent::new(EventKind::ConfigLoaded, Actor::Pad, Outcome::Ok)
        .with_detail("x".repeat(5000));
    assert!(matches!(
        log.append(at(1), &long),
        Err(AuditError::Event(EventError::TooLong {
            what: "detail",
            ..
        }))
    ));
    let mut bad_digest = AuditEvent::new(EventKind::PackageSealed, Actor::Pad, Outcome::Ok)
        .with_digest("package", DigestAlgorithm::Sha256, &[1; 32]);
    bad_digest.digests[0].value.truncate(10);
    assert!(matches!(
        log.append(at(1), &bad_digest),
        Err(AuditError::Event(EventError::BadDigest { .. }))
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(log.append(at(2), &event(0)).unwrap().seq, 1);
}

#[test]
fn records_hold_identifiers_and_digests_in_readable_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let bytes = build_log(&path, 3, 100);
    let text = String::from_utf8(bytes).unwrap();
    let line = text.lines().nth(1).unwrap();
    assert!(
        line.starts_with("{\"v\":1,\"seq\":1,\"time\":\"2025-03-01T09:00:01.000Z\",\"prev\":\""),
        "{line}"
    );
    assert!(
        line.contains("\"event\":{\"kind\":\"session_created\""),
        "{line}"
    );
    assert!(
        line.contains("\"actor\":{\"type\":\"client\",\"subject\":\"CN=teller-7,O=Bank\"}"),
        "{line}"
    );
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["event"]["digests"][0]["alg"], "sha256");
}
