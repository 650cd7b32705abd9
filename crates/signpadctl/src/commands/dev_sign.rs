//! `signpadctl dev sign`: makes a package the way a pad does, but with a
//! software key read from a PEM file instead of the TPM, and a recorded pen
//! trace instead of a live digitizer. For development and demos only: a
//! package is only as trustworthy as the key file it was signed with.

use super::{exit, read_certificates, read_limited, write_atomic, EXIT_OK, MAX_SMALL_FILE};
use crate::commands::render::options_for;
use anyhow::{Context, Result};
use rand_core::OsRng;
use signpad_ink::{capture_trace, ink_stats, render_png, split_strokes, Trace, TraceLimits};
use signpad_package::ceremony::{AuthFactor, AuthFactorUse, CaptureStatistics, CeremonyRecord};
use signpad_package::dev::SoftwareSigner;
use signpad_package::iso19794::{CaptureDateTime, CaptureInfo};
use signpad_package::{seal_ceremony, SealRequest};
use signpad_types::{DigestAlgorithm, DocumentDigest, PadSerial, SessionId};
use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;
use zeroize::Zeroizing;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The document to sign.
    #[arg(long)]
    document: PathBuf,
    /// A recorded pen trace (evemu-record text format).
    #[arg(long)]
    trace: PathBuf,
    /// The pad's private key (PEM, PKCS#8 or SEC1, P-256). Development only.
    #[arg(long)]
    key: PathBuf,
    /// The pad certificate, followed by any intermediate certificates (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// The escrow (examiner) certificate the biometric is encrypted to.
    #[arg(long)]
    escrow: PathBuf,
    /// Where to write the package.
    #[arg(long)]
    out: PathBuf,
    /// Where to write the rendered signature (default: OUT with .png).
    #[arg(long)]
    png: Option<PathBuf>,
    /// Document title shown to the signer and recorded.
    #[arg(long, default_value = "Untitled document")]
    title: String,
    /// Pad serial recorded in the ceremony record.
    #[arg(long, default_value = "SP-DEV-0000")]
    serial: String,
    /// Digest algorithm for the document.
    #[arg(long, default_value = "sha256", value_parser = parse_alg)]
    digest: DigestAlgorithm,
    /// Authentication factors to record (comma separated: pin, one-time-code,
    /// totp, fingerprint, signature-dynamics). Nothing is checked in dev mode.
    #[arg(long, value_delimiter = ',', value_parser = parse_factor)]
    auth: Vec<AuthFactor>,
    /// Mark the package as made in training mode (not binding).
    #[arg(long)]
    training: bool,
}

fn parse_alg(s: &str) -> Result<DigestAlgorithm, String> {
    DigestAlgorithm::from_name(s).map_err(|e| e.to_string())
}

fn parse_factor(s: &str) -> Result<AuthFactor, String> {
    match s {
        "pin" => Ok(AuthFactor::Pin),
        "one-time-code" => Ok(AuthFactor::OneTimeCode),
        "totp" => Ok(AuthFactor::Totp),
        "fingerprint" => Ok(AuthFactor::Fingerprint),
        "signature-dynamics" => Ok(AuthFactor::SignatureDynamics),
        other => Err(format!(
            "unknown factor \"{other}\": use pin, one-time-code, totp, fingerprint or signature-dynamics"
        )),
    }
}

/// Capture date and time (UTC) of `t` for the ISO record.
fn capture_date_time(t: SystemTime) -> Result<CaptureDateTime> {
    let dt = x509_cert::der::DateTime::from_system_time(t).context("clock out of range")?;
    let millis = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_millis())
        .unwrap_or(0);
    Ok(CaptureDateTime {
        year: dt.year(),
        month: dt.month(),
        day: dt.day(),
        hour: dt.hour(),
        minute: dt.minutes(),
        second: dt.seconds(),
        millisecond: u16::try_from(millis).unwrap_or(0),
    })
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let key_pem = Zeroizing::new(read_limited(&args.key, "pad key", MAX_SMALL_FILE)?);
    let chain_pem = read_limited(&args.cert, "pad certificate", MAX_SMALL_FILE)?;
    let signer = SoftwareSigner::from_pem(
        std::str::from_utf8(&key_pem).context("pad key is not a PEM text file")?,
        &chain_pem,
    )
    .with_context(|| {
        format!(
            "pad key {} / certificate {}",
            args.key.display(),
            args.cert.display()
        )
    })?;
    let escrow = read_certificates(&args.escrow, "escrow certificate")?
        .into_iter()
        .next()
        .context("escrow certificate file is empty")?;
    let serial = PadSerial::new(&args.serial)?;

    let limits = TraceLimits::default();
    let trace_bytes = read_limited(&args.trace, "pen trace", limits.max_bytes as u64)?;
    let trace = Trace::parse_bytes(&trace_bytes, &limits)
        .with_context(|| format!("pen trace {}", args.trace.display()))?;
    let captured =
        capture_trace(&trace).with_context(|| format!("pen trace {}", args.trace.display()))?;
    for warning in &captured.warnings {
        eprintln!("warning: {}: {warning}", args.trace.display());
    }
    let stats = ink_stats(&captured.samples);
    let strokes = split_strokes(&captured.samples);
    let png = render_png(&strokes, &options_for(&captured.samples, 800))?;

    let document = File::open(&args.document)
        .with_context(|| format!("cannot open document {}", args.document.display()))?;
    let digest = DocumentDigest::new(
        args.digest,
        args.digest
            .hash_reader(document)
            .with_context(|| format!("cannot read document {}", args.document.display()))?,
    )?;

    let now = SystemTime::now();
    let caps = &captured.capabilities;
    let session = SessionId::random();
    let ceremony = CeremonyRecord {
        pad_serial: serial,
        session_id: session,
        document_title: args.title.clone(),
        pages_shown: vec![digest.clone()],
        auth_factors: args
            .auth
            .iter()
            .map(|factor| AuthFactorUse {
                factor: factor.clone(),
                detail: Some("development signing".into()),
            })
            .collect(),
        training: args.training,
        capture: CaptureStatistics {
            sample_count: u32::try_from(stats.samples).unwrap_or(u32::MAX),
            duration_ms: u32::try_from(stats.duration_us / 1000).unwrap_or(u32::MAX),
            stroke_count: u32::try_from(stats.strokes).unwrap_or(u32::MAX),
            gap_count: captured.gaps,
            device_name: caps.name.clone(),
        },
        software_version: format!("signpadctl {} (dev sign)", env!("CARGO_PKG_VERSION")),
    };
    let sealed = seal_ceremony(
        SealRequest {
            document_digest: digest.clone(),
            ceremony,
            capabilities: caps,
            samples: &captured.samples,
            capture: CaptureInfo {
                captured_at: capture_date_time(now)?,
                device_vendor: caps.vendor,
                device_product: caps.product,
                device_name: caps.name.clone(),
            },
            signature_png: &png,
            escrow_certificate: &escrow,
            signing_time: now,
        },
        &signer,
        &mut OsRng,
    )?;
    let package = sealed.package;
    write_atomic(&args.out, &package)?;
    let png_path = args
        .png
        .clone()
        .unwrap_or_else(|| args.out.with_extension("png"));
    write_atomic(&png_path, &png)?;
    println!(
        "signed {} ({digest}) with session {session}: {} samples, {} strokes, ISO record {} bytes -> {} ({} bytes), {}",
        args.document.display(),
        stats.samples,
        stats.strokes,
        sealed.record_len,
        args.out.display(),
        package.len(),
        png_path.display()
    );
    Ok(exit(EXIT_OK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_auth_factor_is_named() {
        let err = parse_factor("retina").unwrap_err();
        assert!(err.contains("\"retina\""));
    }

    #[test]
    fn capture_time_is_utc_calendar_time() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        let dt = capture_date_time(t).unwrap();
        assert_eq!(
            (
                dt.year,
                dt.month,
                dt.day,
                dt.hour,
                dt.minute,
                dt.second,
                dt.millisecond
            ),
            (2023, 11, 14, 22, 13, 20, 123)
        );
    }
}
