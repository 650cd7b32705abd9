//! The pad's tamper-evident audit log and its offline verifier.
//!
//! This crate owns the record format (JSON Lines, one hash-chained record
//! per line, see [`record`]), the writer [`AuditLog`] (append-only,
//! `fdatasync` per record, crash recovery on open, checkpoints of the chain
//! head signed by the pad key through
//! [`signpad_package::signer::PackageSigner`]) and [`verify_log`], which
//! checks a log offline and names the first broken record.
//!
//! It never reads a clock (callers pass the time of each record), never
//! holds a private key (signing goes through the signer trait), and never
//! records secrets or biometric data: events carry identifiers, digests and
//! results only. The only I/O is the one log file the caller names and its
//! directory.

pub mod event;
pub mod log;
pub mod record;
pub mod timestamp;
pub mod verify;

pub use event::{Actor, AuditEvent, EventError, EventKind, NamedDigest, Outcome};
pub use log::{Appended, AuditError, AuditLog, CheckpointPolicy, CheckpointStatus, OpenOutcome};
pub use record::{Hash32, ParsedRecord};
pub use timestamp::Timestamp;
pub use verify::{
    verify_log, verify_log_with, BrokenCheck, BrokenRecord, FailureKind, VerifyError,
    VerifyOptions, VerifyReport,
};
