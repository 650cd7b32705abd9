#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Tamper evidence: every changed byte, deleted, reordered, repeated or
//! truncated record and every forged checkpoint is caught, and the error
//! names the first broken record.

mod common;

use common::*;
use p256::ecdsa::{DerSignature, SigningKey};
use signature::hazmat::PrehashSigner;
use signpad_audit::record::checkpoint_digest;
use signpad_audit::{
    verify_log, verify_log_with, BrokenCheck, FailureKind, VerifyError, VerifyOptions,
};
use std::collections::BTreeMap;

/// genesis 0, events 1-3, checkpoint 4, events 5-7, checkpoint 8, event 9.
fn small_log() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    build_log(&dir.path().join("audit.log"), 7, 3)
}

fn broken(result: Result<signpad_audit::VerifyReport, VerifyError>) -> signpad_audit::BrokenRecord {
    match result {
        Err(VerifyError::Broken(b)) => *b,
        other => panic!("expected a broken record, got {other:?}"),
    }
}

#[test]
fn an_untouched_log_verifies_and_reports_its_unsigned_tail() {
    let bytes = small_log();
    let report = verify_log(&bytes, &pad_cert()).unwrap();
    assert_eq!(report.records, 10);
    assert_eq!(report.events, 7);
    assert_eq!(report.checkpoints, 2);
    let last = report.last_checkpoint.as_ref().unwrap();
    assert_eq!((last.seq, last.covers_seq, last.line), (8, 7, 9));
    assert!(last.signer.contains("SP-DEMO-0001"), "{}", last.signer);
    let tail = report.not_checkpointed.unwrap();
    assert_eq!((tail.first_seq, tail.last_seq, tail.records), (9, 9, 1));
    assert_eq!(report.head.seq, 9);
    assert!(report.recoveries.is_empty());
}

#[test]
fn changing_any_byte_of_any_record_is_caught_and_names_that_record() {
    let bytes = small_log();
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    let line_of = |i: usize| line_starts.iter().rposition(|&s| s <= i).unwrap() + 1;
    let certs = pad_cert();
    let mut checks: BTreeMap<String, usize> = BTreeMap::new();
    let mut tried = 0;
    for i in 0..bytes.len() {
        for replace in [bytes[i] ^ 0x01, bytes[i] ^ 0x80, b'\n', b' '] {
            if replace == bytes[i] {
                continue;
            }
            let mut bad = bytes.clone();
            bad[i] = replace;
            let b = broken(verify_log(&bad, &certs));
            let line = line_of(i) as u64;
            assert_eq!(
                (b.line, b.seq),
                (line, line - 1),
                "byte {i} (line {line}) set to {replace:#04x}: {b}"
            );
            let name = serde_json::to_value(&b.check).unwrap()["check"]
                .as_str()
                .unwrap()
                .to_owned();
            *checks.entry(name).or_default() += 1;
            tried += 1;
        }
    }
    println!(
        "{tried} single-byte changes over {} bytes: {checks:?}",
        bytes.len()
    );
    assert!(tried > 3 * bytes.len());
}

#[test]
fn each_field_names_itself_when_changed_to_another_valid_value() {
    let bytes = small_log();
    let text = String::from_utf8(bytes).unwrap();
    let certs = pad_cert();
    let line5 = text.lines().nth(5).unwrap().to_owned(); // record 5
    let cases: Vec<(String, &str)> = vec![
        (line5.replacen("\"seq\":5", "\"seq\":6", 1), "missing"),
        (line5.replacen("\"seq\":5", "\"seq\":4", 1), "repeated"),
        (
            line5.replacen("\"prev\":\"", "\"prev\":\"0", 1),
            "malformed",
        ),
        (
            line5.replacen("\"result\":\"ok\"", "\"result\":\"denied\"", 1),
            "hash_mismatch",
        ),
        (line5.replacen("T09:00:0", "T09:00:1", 1), "hash_mismatch"),
        (line5.replacen("\"v\":1", "\"v\":2", 1), "hash_mismatch"),
    ];
    for (changed, expected) in cases {
        assert_ne!(changed, line5);
        let bad = text.replacen(&line5, &changed, 1);
        let b = broken(verify_log(bad.as_bytes(), &certs));
        assert_eq!((b.seq, b.line), (5, 6), "{b}");
        let name = serde_json::to_value(&b.check).unwrap()["check"].clone();
        assert_eq!(name, expected, "{b}");
    }
    // A different but well-formed prev names the prev field.
    let prev_at = line5.find("\"prev\":\"").unwrap() + 8;
    let mut changed = line5.clone().into_bytes();
    changed[prev_at] = if changed[prev_at] == b'0' { b'1' } else { b'0' };
    let bad = text.replacen(&line5, std::str::from_utf8(&changed).unwrap(), 1);
    let b = broken(verify_log(bad.as_bytes(), &certs));
    assert!(matches!(b.check, BrokenCheck::PrevMismatch { .. }), "{b}");
    assert!(b.to_string().contains("field \"prev\""), "{b}");
}

#[test]
fn deleting_a_middle_record_is_named_as_missing() {
    let bytes = small_log();
    let mut l = lines(&bytes);
    l.remove(5); // record 5
    let b = broken(verify_log(&l.concat(), &pad_cert()));
    assert_eq!((b.seq, b.line), (5, 6));
    assert_eq!(
        b.check,
        BrokenCheck::Missing {
            expected: 5,
            found: 6
        }
    );
}

#[test]
fn deleting_a_record_and_rewriting_the_chain_is_caught_by_the_next_checkpoint() {
    let bytes = small_log();
    let mut recs = parse(&bytes);
    recs.remove(5);
    for (i, r) in recs.iter_mut().enumerate() {
        r.seq = i as u64;
    }
    // Make the checkpoint (now record 7) describe the new chain, as a
    // forger without the pad key would have to.
    let forged = rechain(&recs);
    let line6 = forged.split(|&b| b == b'\n').nth(6).unwrap();
    let head6 = signpad_audit::Hash32::from_hex(&line6[line6.len() - 66..line6.len() - 2]).unwrap();
    if let OwnedBody::Checkpoint(c) = &mut recs[7].body {
        c.covers_seq = 6;
        c.head = head6;
    } else {
        panic!("record 7 should be the checkpoint");
    }
    let b = broken(verify_log(&rechain(&recs), &pad_cert()));
    assert_eq!((b.seq, b.line), (7, 8));
    assert!(
        matches!(b.check, BrokenCheck::BadCheckpointSignature { .. }),
        "{b}"
    );
}

#[test]
fn rewriting_a_checkpointed_record_and_its_hashes_is_caught_by_the_signature() {
    let bytes = small_log();
    let mut recs = parse(&bytes);
    if let OwnedBody::Event(e) = &mut recs[2].body {
        e.result = signpad_audit::Outcome::Ok;
    }
    let b = broken(verify_log(&rechain(&recs), &pad_cert()));
    // The first checkpoint (record 4) no longer matches its predecessor.
    assert_eq!((b.seq, b.line), (4, 5));
    assert!(
        matches!(b.check, BrokenCheck::CheckpointMismatch { .. }),
        "{b}"
    );
}

#[test]
fn rewriting_records_after_the_last_checkpoint_is_reported_as_unsigned() {
    // Without a later checkpoint nothing proves the tail: the report says so.
    let bytes = small_log();
    let mut recs = parse(&bytes);
    if let OwnedBody::Event(e) = &mut recs[9].body {
        e.detail = Some("rewritten".into());
    }
    let report = verify_log(&rechain(&recs), &pad_cert()).unwrap();
    let tail = report.not_checkpointed.unwrap();
    assert_eq!((tail.first_seq, tail.last_seq), (9, 9));
}

#[test]
fn swapping_two_records_is_named_as_reordered() {
    let bytes = small_log();
    let mut l = lines(&bytes);
    l.swap(5, 6);
    let b = broken(verify_log(&l.concat(), &pad_cert()));
    assert_eq!((b.seq, b.line), (5, 6));
    assert_eq!(
        b.check,
        BrokenCheck::Reordered {
            expected: 5,
            found: 6,
            expected_at_line: 7
        }
    );
}

#[test]
fn a_repeated_record_is_named() {
    let bytes = small_log();
    let mut l = lines(&bytes);
    let dup = l[5].clone();
    l.insert(6, dup);
    let b = broken(verify_log(&l.concat(), &pad_cert()));
    assert_eq!((b.seq, b.line), (6, 7));
    assert_eq!(
        b.check,
        BrokenCheck::Repeated {
            expected: 6,
            found: 5
        }
    );
}

#[test]
fn truncating_the_tail_after_a_checkpoint_is_caught_against_a_known_head() {
    let bytes = small_log();
    let mut l = lines(&bytes);
    l.pop(); // record 9, after the checkpoint at 8
    let cut = l.concat();
    // Alone, a log that ends at a checkpoint is consistent...
    let report = verify_log(&cut, &pad_cert()).unwrap();
    assert_eq!(report.head.seq, 8);
    assert!(report.not_checkpointed.is_none());
    // ...but not with the head known from an earlier report or export.
    let certs = pad_cert();
    let opts = VerifyOptions {
        trusted: &certs,
        expect_at_least_seq: Some(9),
    };
    let b = broken(verify_log_with(&cut, &opts));
    assert_eq!(
        b.check,
        BrokenCheck::Truncated {
            last_seq: 8,
            expected_at_least: 9
        }
    );
    assert_eq!((b.seq, b.line), (9, 10));
    // The untruncated log passes the same check.
    assert!(verify_log_with(&bytes, &opts).is_ok());
}

#[test]
fn a_partial_last_line_is_named_as_torn() {
    let bytes = small_log();
    let cut = &bytes[..bytes.len() - 20];
    let b = broken(verify_log(cut, &pad_cert()));
    assert_eq!((b.seq, b.line), (9, 10));
    assert!(matches!(b.check, BrokenCheck::TornTail { .. }), "{b}");
}

#[test]
fn a_checkpoint_signed_by_another_key_is_named_as_forged() {
    let bytes = small_log();
    let mut recs = parse(&bytes);
    let forger = SigningKey::from_slice(&[7u8; 32]).unwrap();
    let time = recs[4].time;
    if let OwnedBody::Checkpoint(c) = &mut recs[4].body {
        let digest = checkpoint_digest(c.covers_seq, &c.head, time);
        let sig: p256::ecdsa::Signature = forger.sign_prehash(&digest).unwrap();
        let der: DerSignature = sig.to_der();
        c.signature = hex::encode(der.as_bytes());
    } else {
        panic!("record 4 should be a checkpoint");
    }
    let err = verify_log(&rechain(&recs), &pad_cert()).unwrap_err();
    assert_eq!(err.kind(), FailureKind::Invalid);
    let b = broken(Err(err));
    assert_eq!((b.seq, b.line), (4, 5));
    assert!(
        matches!(b.check, BrokenCheck::BadCheckpointSignature { .. }),
        "{b}"
    );
}

#[test]
fn checkpoints_checked_against_the_wrong_certificate_could_not_be_checked() {
    let bytes = small_log();
    let err = verify_log(&bytes, &ca_cert()).unwrap_err();
    assert_eq!(err.kind(), FailureKind::CouldNotCheck);
    let b = broken(Err(err));
    assert_eq!((b.seq, b.line), (4, 5));
    assert!(
        matches!(b.check, BrokenCheck::UnknownCheckpointSigner { .. }),
        "{b}"
    );
}

#[test]
fn two_logs_glued_together_are_caught_where_the_second_begins() {
    let a = small_log();
    let b_log = small_log();
    let glued = [a.clone(), b_log].concat();
    let b = broken(verify_log(&glued, &pad_cert()));
    assert_eq!((b.seq, b.line), (10, 11));
}

#[test]
fn an_empty_log_is_invalid() {
    assert_eq!(verify_log(b"", &pad_cert()), Err(VerifyError::Empty));
}

#[test]
fn a_log_not_starting_with_genesis_is_invalid() {
    let bytes = small_log();
    let mut recs = parse(&bytes);
    recs.remove(0);
    for (i, r) in recs.iter_mut().enumerate() {
        r.seq = i as u64;
    }
    let b = broken(verify_log(&rechain(&recs), &pad_cert()));
    assert_eq!((b.seq, b.line, b.check), (0, 1, BrokenCheck::NotGenesis));
}
