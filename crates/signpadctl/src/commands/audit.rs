//! `signpadctl audit verify`: is this exported audit log intact, and how
//! much of it is covered by signed checkpoints?

use super::{exit, read_certificates, read_limited, EXIT_COULD_NOT_CHECK, EXIT_INVALID, EXIT_OK};
use anyhow::Result;
use serde::Serialize;
use signpad_audit::{
    verify_log_with, BrokenRecord, FailureKind, VerifyError, VerifyOptions, VerifyReport,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Largest log read (a pad writing a few thousand records a day stays far
/// below this for years).
pub const MAX_LOG_BYTES: u64 = 2 * 1024 * 1024 * 1024;

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The audit log file (JSON Lines) exported from the pad.
    #[arg(long)]
    pub log: PathBuf,
    /// The pad certificate(s) whose keys sign checkpoints, PEM or DER. Give
    /// the old and the new certificate if the pad's was renewed.
    #[arg(long, required = true)]
    pub cert: Vec<PathBuf>,
    /// The log is known to have reached this sequence number (e.g. from an
    /// earlier report): fail if records were cut off the end.
    #[arg(long)]
    pub expect_seq: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    broken: Option<&'a BrokenRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<&'a VerifyReport>,
}

pub fn verify(args: &VerifyArgs) -> Result<ExitCode> {
    let bytes = read_limited(&args.log, "audit log", MAX_LOG_BYTES)?;
    let mut trusted = Vec::new();
    for path in &args.cert {
        trusted.extend(read_certificates(path, "pad certificate")?);
    }
    let opts = VerifyOptions {
        trusted: &trusted,
        expect_at_least_seq: args.expect_seq,
    };
    match verify_log_with(&bytes, &opts) {
        Ok(report) => {
            print_valid(&args.log, &report, args.json)?;
            Ok(exit(EXIT_OK))
        }
        Err(err) => print_failure(&args.log, &err, args.json),
    }
}

fn print_failure(log: &Path, err: &VerifyError, json: bool) -> Result<ExitCode> {
    let (status, code, label) = match err.kind() {
        FailureKind::Invalid => ("invalid", EXIT_INVALID, "INVALID"),
        FailureKind::CouldNotCheck => ("could-not-check", EXIT_COULD_NOT_CHECK, "COULD NOT CHECK"),
    };
    if json {
        let report = Report {
            status,
            error: Some(err.to_string()),
            broken: err.broken(),
            log: None,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{label}: audit log {}", log.display());
        match err.broken() {
            Some(b) => {
                println!(
                    "  first broken record: {} (line {}, byte offset {})",
                    b.seq, b.line, b.offset
                );
                println!("  check failed:        {}", b.check);
                println!("  records before it verified; nothing from it on can be trusted");
            }
            None => println!("  {err}"),
        }
    }
    Ok(exit(code))
}

fn print_valid(log: &Path, r: &VerifyReport, json: bool) -> Result<()> {
    if json {
        let report = Report {
            status: "valid",
            error: None,
            broken: None,
            log: Some(r),
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("VALID audit log {}", log.display());
    println!("  pad:             {}", r.genesis.pad_subject);
    println!("  created:         {}", r.genesis.time);
    println!(
        "  records:         {} ({} events), 0 to {}",
        r.records, r.events, r.head.seq
    );
    println!("  head:            {} at {}", r.head.hash, r.head.time);
    match &r.last_checkpoint {
        Some(c) => println!(
            "  checkpoints:     {}, the last is record {} at {}, signed by {}",
            r.checkpoints, c.seq, c.time, c.signer
        ),
        None => println!("  checkpoints:     none"),
    }
    match &r.not_checkpointed {
        Some(t) => println!(
            "  NOT YET CHECKPOINTED: records {} to {} ({}): chained, but no signature covers them yet",
            t.first_seq, t.last_seq, t.records
        ),
        None => println!("  every record is covered by a signed checkpoint"),
    }
    for rec in &r.recoveries {
        println!(
            "  crash recovery:  record {} at {}: {} torn bytes at offset {} were removed",
            rec.seq, rec.time, rec.discarded_bytes, rec.at_offset
        );
    }
    Ok(())
}
