//! `signpadctl verify`: is this package a valid signature of this document?

use super::{exit, read_limited, read_trust, EXIT_COULD_NOT_CHECK, EXIT_INVALID, EXIT_OK};
use anyhow::{Context, Result};
use serde::Serialize;
use signpad_package::{
    FailureKind, Limits, Package, PackageSummary, RevocationStatus, VerifiedPackage, Verifier,
};
use signpad_types::DocumentDigest;
use std::fs::File;
use std::path::Path;
use std::process::ExitCode;

#[derive(Serialize)]
struct Report<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<&'a PackageSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation: Option<RevocationStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chain: Option<Vec<String>>,
}

pub fn run(
    document: &Path,
    package: &Path,
    ca: &Path,
    crls: &[std::path::PathBuf],
    json: bool,
    limits: &Limits,
) -> Result<ExitCode> {
    let package_der = read_limited(package, "package", limits.max_package_bytes as u64)?;
    let trust = read_trust(ca, crls)?;
    // Parse first to learn the digest algorithm, then hash the document as a
    // stream: documents can be far larger than packages.
    let parsed = match Package::parse(&package_der, limits) {
        Ok(p) => p,
        Err(err) => {
            let kind = err.kind();
            return Ok(report_failure(package, &err.to_string(), kind, json));
        }
    };
    let alg = parsed.digest_algorithm();
    let file = File::open(document)
        .with_context(|| format!("cannot open document {}", document.display()))?;
    let digest = alg
        .hash_reader(file)
        .with_context(|| format!("cannot read document {}", document.display()))?;
    let digest = DocumentDigest::new(alg, digest)?;
    let verifier = Verifier::new(trust, *limits);
    match verifier.verify_package(parsed, (&digest).into()) {
        Ok(verified) => {
            print_valid(&verified, document, json)?;
            Ok(exit(EXIT_OK))
        }
        Err(err) => Ok(report_failure(package, &err.to_string(), err.kind(), json)),
    }
}

fn report_failure(package: &Path, error: &str, kind: FailureKind, json: bool) -> ExitCode {
    let (status, code) = match kind {
        FailureKind::Invalid => ("invalid", EXIT_INVALID),
        FailureKind::CouldNotCheck => ("could-not-check", EXIT_COULD_NOT_CHECK),
    };
    if json {
        let report = Report {
            status,
            error: Some(error.to_owned()),
            package: None,
            revocation: None,
            chain: None,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        match kind {
            FailureKind::Invalid => println!("INVALID: {}: {error}", package.display()),
            FailureKind::CouldNotCheck => {
                println!("COULD NOT CHECK: {}: {error}", package.display())
            }
        }
    }
    exit(code)
}

fn print_valid(verified: &VerifiedPackage, document: &Path, json: bool) -> Result<()> {
    let summary = verified.package.summary();
    let chain: Vec<String> = verified
        .chain
        .iter()
        .map(|c| c.tbs_certificate.subject.to_string())
        .collect();
    if json {
        let report = Report {
            status: "valid",
            error: None,
            package: Some(&summary),
            revocation: Some(verified.revocation),
            chain: Some(chain),
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let c = &summary.ceremony;
    println!("VALID signature package");
    println!("  pad:             {}", summary.pad_certificate.subject);
    println!("  pad serial:      {}", c.pad_serial);
    println!("  chain:           {}", chain.join("  <-  "));
    println!("  signing time:    {}", summary.signing_time);
    println!(
        "  document:        {} {}:{} matches",
        document.display(),
        summary.digest_algorithm,
        summary.document_digest
    );
    println!("  title:           {}", c.document_title);
    println!("  session:         {}", c.session_id);
    println!("  pages shown:     {}", c.pages_shown.len());
    for (i, page) in c.pages_shown.iter().enumerate() {
        println!("                   {}: {page}", i + 1);
    }
    let factors: Vec<String> = c
        .auth_factors
        .iter()
        .map(|f| match &f.detail {
            Some(d) => format!("{:?} ({d})", f.factor),
            None => format!("{:?}", f.factor),
        })
        .collect();
    println!(
        "  authentication:  {}",
        if factors.is_empty() {
            "none".to_owned()
        } else {
            factors.join(", ")
        }
    );
    println!(
        "  training:        {}",
        if c.training {
            "YES - not a binding signature"
        } else {
            "no"
        }
    );
    println!(
        "  capture:         {} samples, {} strokes, {} ms, {} gaps, device \"{}\"",
        c.capture.sample_count,
        c.capture.stroke_count,
        c.capture.duration_ms,
        c.capture.gap_count,
        c.capture.device_name
    );
    println!(
        "  biometric:       present, encrypted for the examiner ({} bytes)",
        summary.biometric_envelope.size_bytes
    );
    println!("  signature image: {}", summary.signature_image_digest.0);
    match &verified.timestamp {
        Some(ts) => println!(
            "  timestamp:       {} by {} (verified)",
            summary
                .timestamp
                .as_ref()
                .and_then(|t| t.gen_time.clone())
                .unwrap_or_default(),
            ts.tsa_certificate.tbs_certificate.subject
        ),
        None => println!("  timestamp:       none"),
    }
    match verified.revocation {
        RevocationStatus::NotChecked => {
            println!("  revocation:      NOT checked (no --crl given)")
        }
        RevocationStatus::Checked { certificates } => {
            println!("  revocation:      {certificates} certificate(s) checked, none revoked")
        }
    }
    println!("  software:        {}", c.software_version);
    Ok(())
}
