//! Offline verification of a log: every hash link, sequence continuity,
//! checkpoint signatures against the pad certificate, and the first broken
//! record named by sequence number, line, byte offset and failed check.

use crate::record::{
    checkpoint_digest, split_hash, Hash32, ParsedRecord, FORMAT_NAME, FORMAT_VERSION,
    MAX_LINE_BYTES,
};
use crate::timestamp::Timestamp;
use der::Encode;
use serde::Serialize;
use x509_cert::Certificate;

/// What a verifier may rely on besides the log itself.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions<'a> {
    /// Pad certificates whose keys may sign checkpoints (more than one when
    /// the pad certificate was renewed during the log's life).
    pub trusted: &'a [Certificate],
    /// A sequence number the log is known to have reached (e.g. from an
    /// earlier export or report). Without it, removing whole records from
    /// the end of a log cannot be detected offline.
    pub expect_at_least_seq: Option<u64>,
}

/// Summary of a log that verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Records in the log, genesis included.
    pub records: u64,
    pub events: u64,
    pub genesis: GenesisInfo,
    pub head: HeadInfo,
    pub checkpoints: u64,
    pub last_checkpoint: Option<CheckpointInfo>,
    /// Records after the last checkpoint: their integrity rests on the hash
    /// chain alone (anyone able to write the file could rewrite them
    /// consistently) until the next checkpoint is signed.
    pub not_checkpointed: Option<SeqRange>,
    /// Crash recoveries recorded in the log.
    pub recoveries: Vec<RecoveryInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GenesisInfo {
    pub time: Timestamp,
    pub pad_subject: String,
    pub pad_cert_sha256: Hash32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeadInfo {
    pub seq: u64,
    pub hash: Hash32,
    pub time: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointInfo {
    pub seq: u64,
    pub line: u64,
    pub time: Timestamp,
    pub covers_seq: u64,
    /// Subject of the certificate whose key signed it.
    pub signer: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeqRange {
    pub first_seq: u64,
    pub last_seq: u64,
    pub records: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoveryInfo {
    pub seq: u64,
    pub line: u64,
    pub time: Timestamp,
    pub at_offset: u64,
    pub discarded_bytes: u64,
}

/// Where the first problem is. `seq` is the sequence number the record at
/// that position should have (its predecessor's plus one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenRecord {
    pub seq: u64,
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line's first byte in the file.
    pub offset: u64,
    pub check: BrokenCheck,
}

impl std::fmt::Display for BrokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "record {} (line {}, byte offset {}): {}",
            self.seq, self.line, self.offset, self.check
        )
    }
}

/// The check a record failed, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum BrokenCheck {
    #[error("line is {len} bytes, more than the {MAX_LINE_BYTES}-byte limit of a record")]
    TooLong { len: usize },
    #[error("field \"hash\": the line does not end in ,\"hash\":\"<64 lower-case hex>\"}}")]
    MissingHash,
    #[error("not a valid record: {detail}")]
    Malformed { detail: String },
    #[error("field \"seq\" is {found}, expected {expected}: record(s) {expected} to {} are missing (deleted), or this seq was changed", found.saturating_sub(1))]
    Missing { expected: u64, found: u64 },
    #[error("field \"seq\" is {found}, expected {expected}: records are out of order (record {expected} is on line {expected_at_line})")]
    Reordered {
        expected: u64,
        found: u64,
        expected_at_line: u64,
    },
    #[error("field \"seq\" is {found}, expected {expected}: a sequence number repeats (a record was duplicated or replayed), or this seq was changed")]
    Repeated { expected: u64, found: u64 },
    #[error("field \"prev\" is {found}, but the previous record's hash is {expected}: the chain is broken here")]
    PrevMismatch { expected: Hash32, found: Hash32 },
    #[error("field \"hash\" is {stored}, but the record's bytes hash to {computed}: the record was changed")]
    HashMismatch { stored: Hash32, computed: Hash32 },
    #[error("field \"v\" is {found}: this verifier knows format version {FORMAT_VERSION}; use a newer signpadctl")]
    UnsupportedVersion { found: u32 },
    #[error("the record has {count} bodies; exactly one of genesis, event, checkpoint, recovered is required")]
    BodyCount { count: usize },
    #[error("the first record is not a genesis record")]
    NotGenesis,
    #[error("field \"genesis.format\" is \"{found}\", expected \"{FORMAT_NAME}\"")]
    UnsupportedFormat { found: String },
    #[error("a genesis record after the first: logs were concatenated or spliced")]
    UnexpectedGenesis,
    #[error("field \"event\" must be an object with a string \"kind\"")]
    BadEvent,
    #[error("field \"checkpoint\" does not describe its predecessor: covers_seq {covers_seq} / head {head}, but the previous record is {prev_seq} with hash {prev_hash}")]
    CheckpointMismatch {
        covers_seq: u64,
        head: Hash32,
        prev_seq: u64,
        prev_hash: Hash32,
    },
    #[error("field \"checkpoint.cert_sha256\" is {cert_sha256}, which is none of the given certificates; give the pad certificate that signed it (after a renewal, the old and the new one)")]
    UnknownCheckpointSigner { cert_sha256: Hash32 },
    #[error("field \"checkpoint.signature\" does not verify with the key of {signer}: the checkpoint is forged or was changed")]
    BadCheckpointSignature { signer: String },
    #[error("the file ends in {bytes} bytes without a newline: a torn (partial) record, e.g. a crash during a write; opening the log with signpadd recovers it")]
    TornTail { bytes: u64 },
    #[error("the log ends at record {last_seq}, but it is known to have reached record {expected_at_least}: records were removed from the end")]
    Truncated {
        last_seq: u64,
        expected_at_least: u64,
    },
}

/// Verification failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Broken(Box<BrokenRecord>),
    #[error("the log is empty: it has no genesis record")]
    Empty,
    #[error("certificate \"{subject}\" cannot check checkpoints: {reason}")]
    UnusableCertificate { subject: String, reason: String },
}

/// Whether a failure means the log is invalid or could not be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The log was changed, truncated, reordered, or a checkpoint is forged.
    Invalid,
    /// The verifier lacks what it needs (the right certificate, a newer
    /// format version).
    CouldNotCheck,
}

impl VerifyError {
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Broken(b) => match b.check {
                BrokenCheck::UnsupportedVersion { .. }
                | BrokenCheck::UnknownCheckpointSigner { .. } => FailureKind::CouldNotCheck,
                _ => FailureKind::Invalid,
            },
            Self::Empty => FailureKind::Invalid,
            Self::UnusableCertificate { .. } => FailureKind::CouldNotCheck,
        }
    }

    /// The first broken record, if the failure is one.
    pub fn broken(&self) -> Option<&BrokenRecord> {
        match self {
            Self::Broken(b) => Some(b),
            _ => None,
        }
    }
}

/// Verifies a whole log held in memory; see [`VerifyOptions`].
pub fn verify_log(bytes: &[u8], trusted: &[Certificate]) -> Result<VerifyReport, VerifyError> {
    verify_log_with(
        bytes,
        &VerifyOptions {
            trusted,
            expect_at_least_seq: None,
        },
    )
}

/// Verifies a whole log with options.
pub fn verify_log_with(
    bytes: &[u8],
    opts: &VerifyOptions<'_>,
) -> Result<VerifyReport, VerifyError> {
    let keys = trusted_keys(opts.trusted)?;
    let walked = walk(bytes, Some(&keys))?;
    if let Some(torn) = walked.torn {
        return Err(broken(
            walked.state.next_seq,
            walked.lines + 1,
            torn.offset,
            BrokenCheck::TornTail { bytes: torn.bytes },
        ));
    }
    let report = walked.state.report;
    if let Some(expected) = opts.expect_at_least_seq {
        if report.head.seq < expected {
            return Err(broken(
                report.head.seq + 1,
                walked.lines + 1,
                bytes.len() as u64,
                BrokenCheck::Truncated {
                    last_seq: report.head.seq,
                    expected_at_least: expected,
                },
            ));
        }
    }
    Ok(report)
}

pub(crate) struct TrustedKey {
    fingerprint: Hash32,
    key: p256::ecdsa::VerifyingKey,
    subject: String,
}

pub(crate) fn trusted_keys(certs: &[Certificate]) -> Result<Vec<TrustedKey>, VerifyError> {
    certs
        .iter()
        .map(|cert| {
            let subject = cert.tbs_certificate.subject.to_string();
            let der = cert
                .to_der()
                .map_err(|e| VerifyError::UnusableCertificate {
                    subject: subject.clone(),
                    reason: e.to_string(),
                })?;
            let key =
                signpad_package::algorithm::p256_key(&cert.tbs_certificate.subject_public_key_info)
                    .map_err(|reason| VerifyError::UnusableCertificate {
                        subject: subject.clone(),
                        reason,
                    })?;
            Ok(TrustedKey {
                fingerprint: Hash32::of(&der),
                key,
                subject,
            })
        })
        .collect()
}

/// Chain state after the last good record; what an appender continues from.
#[derive(Debug, Clone)]
pub(crate) struct ChainState {
    pub report: VerifyReport,
    pub next_seq: u64,
    pub head: Hash32,
    pub last_checkpoint_time: Timestamp,
    /// Records appended since the last checkpoint (or genesis).
    pub since_checkpoint: u64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Torn {
    pub offset: u64,
    pub bytes: u64,
}

pub(crate) struct Walked {
    pub state: ChainState,
    /// Complete lines read.
    pub lines: u64,
    /// Bytes after the last newline, if any.
    pub torn: Option<Torn>,
}

fn broken(seq: u64, line: u64, offset: u64, check: BrokenCheck) -> VerifyError {
    VerifyError::Broken(Box::new(BrokenRecord {
        seq,
        line,
        offset,
        check,
    }))
}

/// Walks every complete line; `keys == None` skips signature checks (used
/// when the pad reopens its own log).
pub(crate) fn walk(bytes: &[u8], keys: Option<&[TrustedKey]>) -> Result<Walked, VerifyError> {
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let (body, tail) = bytes.split_at(complete);
    let torn = (!tail.is_empty()).then_some(Torn {
        offset: complete as u64,
        bytes: tail.len() as u64,
    });
    let lines: Vec<&[u8]> = if body.is_empty() {
        Vec::new()
    } else {
        body[..body.len() - 1].split(|&b| b == b'\n').collect()
    };
    let mut state: Option<ChainState> = None;
    let mut offset = 0u64;
    let mut last_ck_seq: Option<u64> = None;
    for (idx, line) in lines.iter().enumerate() {
        let line_no = idx as u64 + 1;
        let expected_seq = state.as_ref().map_or(0, |s| s.next_seq);
        let fail = |check| broken(expected_seq, line_no, offset, check);
        let rec = check_line(
            line,
            expected_seq,
            state.as_ref(),
            &lines[idx + 1..],
            line_no,
        )
        .map_err(fail)?;
        match state.as_mut() {
            None => {
                let genesis = rec
                    .genesis
                    .as_ref()
                    .ok_or_else(|| fail(BrokenCheck::NotGenesis))?;
                if genesis.format != FORMAT_NAME {
                    return Err(fail(BrokenCheck::UnsupportedFormat {
                        found: genesis.format.clone(),
                    }));
                }
                state = Some(ChainState {
                    report: VerifyReport {
                        records: 1,
                        events: 0,
                        genesis: GenesisInfo {
                            time: rec.time,
                            pad_subject: genesis.pad_subject.clone(),
                            pad_cert_sha256: genesis.pad_cert_sha256,
                        },
                        head: HeadInfo {
                            seq: 0,
                            hash: rec.hash,
                            time: rec.time,
                        },
                        checkpoints: 0,
                        last_checkpoint: None,
                        not_checkpointed: None,
                        recoveries: Vec::new(),
                    },
                    next_seq: 1,
                    head: rec.hash,
                    last_checkpoint_time: rec.time,
                    since_checkpoint: 0,
                });
            }
            Some(st) => {
                let r = &mut st.report;
                if rec.genesis.is_some() {
                    return Err(fail(BrokenCheck::UnexpectedGenesis));
                }
                if let Some(event) = &rec.event {
                    if !event.get("kind").is_some_and(serde_json::Value::is_string) {
                        return Err(fail(BrokenCheck::BadEvent));
                    }
                    r.events += 1;
                    st.since_checkpoint += 1;
                }
                if let Some(rv) = &rec.recovered {
                    r.recoveries.push(RecoveryInfo {
                        seq: rec.seq,
                        line: line_no,
                        time: rec.time,
                        at_offset: rv.at_offset,
                        discarded_bytes: rv.discarded_bytes,
                    });
                    st.since_checkpoint += 1;
                }
                if let Some(ck) = &rec.checkpoint {
                    if ck.covers_seq + 1 != rec.seq || ck.head != rec.prev {
                        return Err(fail(BrokenCheck::CheckpointMismatch {
                            covers_seq: ck.covers_seq,
                            head: ck.head,
                            prev_seq: rec.seq.saturating_sub(1),
                            prev_hash: rec.prev,
                        }));
                    }
                    let signer = match keys {
                        None => String::new(),
                        Some(keys) => check_signature(ck, rec.time, keys).map_err(fail)?,
                    };
                    r.checkpoints += 1;
                    r.last_checkpoint = Some(CheckpointInfo {
                        seq: rec.seq,
                        line: line_no,
                        time: rec.time,
                        covers_seq: ck.covers_seq,
                        signer,
                    });
                    last_ck_seq = Some(rec.seq);
                    st.last_checkpoint_time = rec.time;
                    st.since_checkpoint = 0;
                }
                r.records += 1;
                r.head = HeadInfo {
                    seq: rec.seq,
                    hash: rec.hash,
                    time: rec.time,
                };
                st.next_seq = rec.seq + 1;
                st.head = rec.hash;
            }
        }
        offset += line.len() as u64 + 1;
    }
    let mut state = state.ok_or(VerifyError::Empty)?;
    // Everything up to and including the last checkpoint record is signed
    // (the checkpoint's own fields are all determined by what it signs).
    let first_unsigned = last_ck_seq.map_or(0, |s| s + 1);
    let head_seq = state.report.head.seq;
    state.report.not_checkpointed = (first_unsigned <= head_seq).then(|| SeqRange {
        first_seq: first_unsigned,
        last_seq: head_seq,
        records: head_seq - first_unsigned + 1,
    });
    Ok(Walked {
        state,
        lines: lines.len() as u64,
        torn,
    })
}

struct CheckedRecord {
    seq: u64,
    time: Timestamp,
    prev: Hash32,
    hash: Hash32,
    genesis: Option<crate::record::Genesis>,
    event: Option<serde_json::Value>,
    checkpoint: Option<crate::record::Checkpoint>,
    recovered: Option<crate::record::Recovered>,
}

/// Envelope checks of one line, in the order that names the most specific
/// field: size, hash suffix, JSON, seq, prev, hash, version, body count.
fn check_line(
    line: &[u8],
    expected_seq: u64,
    state: Option<&ChainState>,
    later: &[&[u8]],
    line_no: u64,
) -> Result<CheckedRecord, BrokenCheck> {
    if line.len() + 1 > MAX_LINE_BYTES {
        return Err(BrokenCheck::TooLong {
            len: line.len() + 1,
        });
    }
    let (hashed, stored) = split_hash(line).ok_or(BrokenCheck::MissingHash)?;
    let rec: ParsedRecord =
        serde_json::from_slice(&hashed).map_err(|e| BrokenCheck::Malformed {
            detail: e.to_string(),
        })?;
    if rec.seq != expected_seq {
        let at = later
            .iter()
            .position(|l| peek_seq(l) == Some(expected_seq))
            .map(|i| line_no + 1 + i as u64);
        return Err(match at {
            Some(expected_at_line) if rec.seq > expected_seq => BrokenCheck::Reordered {
                expected: expected_seq,
                found: rec.seq,
                expected_at_line,
            },
            _ if rec.seq > expected_seq => BrokenCheck::Missing {
                expected: expected_seq,
                found: rec.seq,
            },
            _ => BrokenCheck::Repeated {
                expected: expected_seq,
                found: rec.seq,
            },
        });
    }
    let expected_prev = state.map_or(Hash32::ZERO, |s| s.head);
    if rec.prev != expected_prev {
        return Err(BrokenCheck::PrevMismatch {
            expected: expected_prev,
            found: rec.prev,
        });
    }
    let computed = Hash32::of(&hashed);
    if computed != stored {
        return Err(BrokenCheck::HashMismatch { stored, computed });
    }
    if rec.v != FORMAT_VERSION {
        return Err(BrokenCheck::UnsupportedVersion { found: rec.v });
    }
    let count = rec.body_count();
    if count != 1 {
        return Err(BrokenCheck::BodyCount { count });
    }
    Ok(CheckedRecord {
        seq: rec.seq,
        time: rec.time,
        prev: rec.prev,
        hash: computed,
        genesis: rec.genesis,
        event: rec.event,
        checkpoint: rec.checkpoint,
        recovered: rec.recovered,
    })
}

fn peek_seq(line: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: u64,
    }
    let (hashed, _) = split_hash(line)?;
    serde_json::from_slice::<Seq>(&hashed).ok().map(|s| s.seq)
}

fn check_signature(
    ck: &crate::record::Checkpoint,
    time: Timestamp,
    keys: &[TrustedKey],
) -> Result<String, BrokenCheck> {
    let key = keys
        .iter()
        .find(|k| k.fingerprint == ck.cert_sha256)
        .ok_or(BrokenCheck::UnknownCheckpointSigner {
            cert_sha256: ck.cert_sha256,
        })?;
    let bad = || BrokenCheck::BadCheckpointSignature {
        signer: key.subject.clone(),
    };
    let sig = hex::decode(&ck.signature).map_err(|_| bad())?;
    let digest = checkpoint_digest(ck.covers_seq, &ck.head, time);
    signpad_package::algorithm::verify_p256_prehash(&key.key, &digest, &sig).map_err(|_| bad())?;
    Ok(key.subject.clone())
}
