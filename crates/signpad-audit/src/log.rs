//! The writer: one append-only file, one record per line, `fdatasync` after
//! every record, crash recovery on open, checkpoints signed through
//! [`PackageSigner`].

use crate::event::{AuditEvent, EventError};
use crate::record::{
    checkpoint_digest, encode_line, Body, Checkpoint, Genesis, Hash32, Recovered, RecoveryReason,
    FORMAT_NAME, MAX_LINE_BYTES,
};
use crate::timestamp::{TimeError, Timestamp};
use crate::verify::{walk, VerifyError};
use der::Encode;
use signpad_package::signer::PackageSigner;
use signpad_types::DigestAlgorithm;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// When to sign a checkpoint: after `every_records` records, or when
/// `every` has passed since the last checkpoint and at least one record
/// was written since, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    pub every_records: u64,
    pub every: Duration,
}

impl Default for CheckpointPolicy {
    /// 100 records or 15 minutes.
    fn default() -> Self {
        Self {
            every_records: 100,
            every: Duration::from_secs(15 * 60),
        }
    }
}

/// Errors of the log writer, each naming the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: cannot {action}: {source}; check the disk (space, permissions, errors in the kernel log) and restart the daemon, which recovers the log on open")]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    #[error("audit log {path} is held by another process; only one writer may append")]
    Locked { path: PathBuf },
    #[error("audit log {path} fails verification, so it was not extended: {source}; keep the file for investigation (`signpadctl audit verify`), move it aside, and a new log will be started")]
    Corrupt { path: PathBuf, source: VerifyError },
    #[error("audit log {path}: an earlier write failed and could not be undone; reopen the log so that it is recovered before appending again")]
    Poisoned { path: PathBuf },
    #[error("audit event refused: {0}")]
    Event(#[from] EventError),
    #[error("audit record time: {0}")]
    Time(#[from] TimeError),
    #[error("audit record is {len} bytes, more than the {MAX_LINE_BYTES}-byte limit")]
    RecordTooLong { len: usize },
    #[error("audit record could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the signer has no pad certificate, so checkpoints cannot name their key; enrol the pad certificate first")]
    NoCertificate,
    #[error("the pad certificate cannot be encoded: {0}")]
    Certificate(String),
    #[error("signing the audit checkpoint failed: {0}; records are still written and chained, and the checkpoint is retried on the next append")]
    Signer(#[from] signpad_package::signer::SignerError),
}

/// What opening the log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    /// A new log was created with its genesis record.
    Created,
    /// An existing log verified and appending continues after `head_seq`.
    Resumed { head_seq: u64 },
    /// The file ended in a torn record; it was removed and a `recovered`
    /// record written at `recovered_seq`.
    Recovered {
        recovered_seq: u64,
        at_offset: u64,
        discarded_bytes: u64,
    },
}

/// Whether an append also wrote a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointStatus {
    NotDue,
    Written {
        seq: u64,
    },
    /// Due, but the signer failed (e.g. the key daemon is down). The record
    /// itself is durable; the checkpoint is tried again on the next append
    /// or [`AuditLog::tick`].
    Failed {
        error: String,
    },
}

/// Result of a durable append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    pub hash: Hash32,
    pub checkpoint: CheckpointStatus,
}

/// An open audit log. One writer per file (an exclusive `flock` is held).
pub struct AuditLog<S> {
    path: PathBuf,
    file: File,
    signer: S,
    policy: CheckpointPolicy,
    cert_sha256: Hash32,
    next_seq: u64,
    head: Hash32,
    len: u64,
    last_checkpoint_time: Timestamp,
    since_checkpoint: u64,
    opened: OpenOutcome,
    poisoned: bool,
}

impl<S> std::fmt::Debug for AuditLog<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("next_seq", &self.next_seq)
            .field("head", &self.head)
            .field("since_checkpoint", &self.since_checkpoint)
            .finish_non_exhaustive()
    }
}

impl<S: PackageSigner> AuditLog<S> {
    /// Opens the log at `path`, creating it (with a genesis record, the file
    /// and its directory fsynced) if it does not exist. An existing log is
    /// checked link by link (signatures are not re-checked: that is the
    /// offline verifier's job); a torn last line is removed and a
    /// `recovered` record appended in its place. `now` is the time written
    /// into a genesis or recovered record.
    pub fn open(
        path: &Path,
        signer: S,
        policy: CheckpointPolicy,
        now: SystemTime,
    ) -> Result<Self, AuditError> {
        let now = Timestamp::from_system_time(now)?;
        let io = |action: &'static str| {
            let path = path.to_path_buf();
            move |source| AuditError::Io {
                path,
                action,
                source,
            }
        };
        let (cert_sha256, pad_subject) = {
            let cert = signer
                .certificate_chain()
                .first()
                .ok_or(AuditError::NoCertificate)?;
            let der = cert
                .to_der()
                .map_err(|e| AuditError::Certificate(e.to_string()))?;
            (Hash32::of(&der), cert.tbs_certificate.subject.to_string())
        };
        let mut created = false;
        if !path.exists() {
            let genesis = Genesis {
                format: FORMAT_NAME.to_owned(),
                pad_subject,
                pad_cert_sha256: cert_sha256,
                checkpoint_every_records: policy.every_records,
                checkpoint_every_secs: policy.every.as_secs(),
            };
            let (line, _) = encode_line(0, now, Hash32::ZERO, Body::Genesis(&genesis))?;
            create_with_genesis(path, &line)?;
            created = true;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io("open"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(AuditError::Locked {
                    path: path.to_path_buf(),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock")(e)),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io("read"))?;
        let walked = walk(&bytes, None).map_err(|source| AuditError::Corrupt {
            path: path.to_path_buf(),
            source,
        })?;
        let st = walked.state;
        let mut log = Self {
            path: path.to_path_buf(),
            file,
            signer,
            policy,
            cert_sha256,
            next_seq: st.next_seq,
            head: st.head,
            len: bytes.len() as u64,
            last_checkpoint_time: st.last_checkpoint_time,
            since_checkpoint: st.since_checkpoint,
            opened: if created {
                OpenOutcome::Created
            } else {
                OpenOutcome::Resumed {
                    head_seq: st.report.head.seq,
                }
            },
            poisoned: false,
        };
        if let Some(torn) = walked.torn {
            let discarded = bytes.get(torn.offset as usize..).unwrap_or_default();
            let rec = Recovered {
                reason: RecoveryReason::TornTail,
                at_offset: torn.offset,
                discarded_bytes: torn.bytes,
                discarded_sha256: Hash32::of(discarded),
            };
            let seq = log.next_seq;
            let (line, hash) = encode_line(seq, now, log.head, Body::Recovered(&rec))?;
            // Write the recovered record over the torn bytes, then cut what
            // is left of them. A crash in between leaves a torn tail again,
            // recovered (and recorded) again on the next open: never lost
            // without a record. A second handle without O_APPEND, because
            // Linux ignores the offset of pwrite on an O_APPEND file.
            let fixer = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io("open for recovery"))?;
            fixer
                .write_all_at(&line, torn.offset)
                .map_err(io("write the recovered record"))?;
            fixer.sync_data().map_err(io("fsync"))?;
            let end = torn.offset + line.len() as u64;
            if end < log.len {
                fixer.set_len(end).map_err(io("truncate the torn record"))?;
                fixer.sync_all().map_err(io("fsync"))?;
            }
            log.len = end;
            log.next_seq = seq + 1;
            log.head = hash;
            log.since_checkpoint += 1;
            log.opened = OpenOutcome::Recovered {
                recovered_seq: seq,
                at_offset: torn.offset,
                discarded_bytes: torn.bytes,
            };
        }
        Ok(log)
    }

    /// What [`AuditLog::open`] found.
    pub fn opened(&self) -> &OpenOutcome {
        &self.opened
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sequence number and hash of the last record written.
    pub fn head(&self) -> (u64, Hash32) {
        (self.next_seq.saturating_sub(1), self.head)
    }

    /// Records written since the last checkpoint.
    pub fn since_checkpoint(&self) -> u64 {
        self.since_checkpoint
    }

    pub fn signer(&self) -> &S {
        &self.signer
    }

    /// Appends one event and makes it durable (`fdatasync`) before
    /// returning; then writes a checkpoint if one is due.
    pub fn append(&mut self, now: SystemTime, event: &AuditEvent) -> Result<Appended, AuditError> {
        let (seq, hash) = self.append_events(now, std::slice::from_ref(event))?;
        let checkpoint = self.checkpoint_if_due(Timestamp::from_system_time(now)?);
        Ok(Appended {
            seq,
            hash,
            checkpoint,
        })
    }

    /// Appends several events with one `fdatasync` (group commit). All or
    /// none are acknowledged; after a crash, a prefix of them may be in the
    /// log (each complete record is valid). Returns the last record's
    /// sequence number and hash.
    pub fn append_batch(
        &mut self,
        now: SystemTime,
        events: &[AuditEvent],
    ) -> Result<Appended, AuditError> {
        let (seq, hash) = self.append_events(now, events)?;
        let checkpoint = self.checkpoint_if_due(Timestamp::from_system_time(now)?);
        Ok(Appended {
            seq,
            hash,
            checkpoint,
        })
    }

    /// Writes a checkpoint if the time limit has passed and records were
    /// written since the last one; call it from a timer so an idle pad's
    /// last records get signed too.
    pub fn tick(&mut self, now: SystemTime) -> Result<CheckpointStatus, AuditError> {
        Ok(self.checkpoint_if_due(Timestamp::from_system_time(now)?))
    }

    /// Writes a checkpoint now (e.g. before shutdown or an export), unless
    /// nothing was written since the last one. Returns its sequence number.
    pub fn checkpoint(&mut self, now: SystemTime) -> Result<Option<u64>, AuditError> {
        if self.since_checkpoint == 0 {
            return Ok(None);
        }
        self.write_checkpoint(Timestamp::from_system_time(now)?)
            .map(Some)
    }

    fn checkpoint_if_due(&mut self, now: Timestamp) -> CheckpointStatus {
        let due = self.since_checkpoint > 0
            && (self.since_checkpoint >= self.policy.every_records
                || now.since(self.last_checkpoint_time) >= self.policy.every);
        if !due {
            return CheckpointStatus::NotDue;
        }
        match self.write_checkpoint(now) {
            Ok(seq) => CheckpointStatus::Written { seq },
            Err(e) => CheckpointStatus::Failed {
                error: e.to_string(),
            },
        }
    }

    fn write_checkpoint(&mut self, now: Timestamp) -> Result<u64, AuditError> {
        let covers_seq = self.next_seq.saturating_sub(1);
        let digest = checkpoint_digest(covers_seq, &self.head, now);
        let signature = self.signer.sign_digest(DigestAlgorithm::Sha256, &digest)?;
        let ck = Checkpoint {
            covers_seq,
            head: self.head,
            cert_sha256: self.cert_sha256,
            signature: hex::encode(signature),
        };
        let (line, hash) = encode_line(self.next_seq, now, self.head, Body::Checkpoint(&ck))?;
        let seq = self.next_seq;
        self.write_durably(&line)?;
        self.next_seq = seq + 1;
        self.head = hash;
        self.since_checkpoint = 0;
        self.last_checkpoint_time = now;
        Ok(seq)
    }

    fn append_events(
        &mut self,
        now: SystemTime,
        events: &[AuditEvent],
    ) -> Result<(u64, Hash32), AuditError> {
        let now = Timestamp::from_system_time(now)?;
        let mut buf = Vec::new();
        let (mut seq, mut head) = (self.next_seq, self.head);
        for event in events {
            event.check()?;
            let (line, hash) = encode_line(seq, now, head, Body::Event(event))?;
            if line.len() > MAX_LINE_BYTES {
                return Err(AuditError::RecordTooLong { len: line.len() });
            }
            buf.extend_from_slice(&line);
            seq += 1;
            head = hash;
        }
        if events.is_empty() {
            return Ok(self.head());
        }
        self.write_durably(&buf)?;
        self.since_checkpoint += seq - self.next_seq;
        self.next_seq = seq;
        self.head = head;
        Ok((seq - 1, head))
    }

    /// Appends `bytes` and fdatasyncs. On failure the file is cut back to
    /// its previous length so that no partial record stays in the middle of
    /// the log; if even that fails, the log refuses further appends until
    /// reopened (which recovers it).
    fn write_durably(&mut self, bytes: &[u8]) -> Result<(), AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned {
                path: self.path.clone(),
            });
        }
        let result = self
            .file
            .write_all(bytes)
            .map_err(|e| (e, "append"))
            .and_then(|()| self.file.sync_data().map_err(|e| (e, "fsync")));
        match result {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err((source, action)) => {
                // After a failed fsync the page cache state is unknown, so
                // only a reopen (which rereads the file) may continue.
                let undone = action == "append"
                    && self.file.set_len(self.len).is_ok()
                    && self.file.sync_all().is_ok();
                self.poisoned = !undone;
                Err(AuditError::Io {
                    path: self.path.clone(),
                    action,
                    source,
                })
            }
        }
    }
}

/// Creates the log atomically: the genesis record is written and fsynced
/// in a temporary file, which is then hard-linked to `path` (failing if
/// `path` appeared meanwhile) and the directory is fsynced. The log thus
/// never exists without its genesis record.
fn create_with_genesis(path: &Path, line: &[u8]) -> Result<(), AuditError> {
    let io = |action: &'static str| {
        let path = path.to_path_buf();
        move |source| AuditError::Io {
            path,
            action,
            source,
        }
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.new-{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(&tmp)
            .map_err(io("create a temporary file beside"))?;
        f.write_all(line)
            .map_err(io("write the genesis record of"))?;
        f.sync_all().map_err(io("fsync"))?;
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => {}
            // Another opener created it first; use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io("create")(e)),
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&tmp);
    result?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync the directory of"))
}
