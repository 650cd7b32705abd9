//! `signpadctl inspect`: what a package contains, without checking trust.

use super::{exit, read_limited, write_atomic, EXIT_INVALID, EXIT_OK};
use anyhow::Result;
use signpad_package::{Limits, Package};
use std::path::Path;
use std::process::ExitCode;

pub fn run(
    package: &Path,
    json: bool,
    envelope_out: Option<&Path>,
    limits: &Limits,
) -> Result<ExitCode> {
    let der = read_limited(package, "package", limits.max_package_bytes as u64)?;
    let parsed = match Package::parse(&der, limits) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("signpadctl: {}: {err}", package.display());
            return Ok(exit(EXIT_INVALID));
        }
    };
    if let Some(path) = envelope_out {
        write_atomic(path, parsed.biometric_envelope())?;
    }
    let summary = parsed.summary();
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(exit(EXIT_OK));
    }
    let c = &summary.ceremony;
    println!(
        "signature package {} ({} bytes) - NOT verified, use `signpadctl verify`",
        package.display(),
        summary.size_bytes
    );
    println!(
        "  document digest: {}:{}",
        summary.digest_algorithm, summary.document_digest
    );
    println!("  signing time:    {}", summary.signing_time);
    println!("  certificates:");
    for cert in &summary.certificates {
        println!(
            "    {} (issuer {}, serial {}, valid {} .. {})",
            cert.subject, cert.issuer, cert.serial, cert.not_before, cert.not_after
        );
    }
    println!("  pad serial:      {}", c.pad_serial);
    println!("  session:         {}", c.session_id);
    println!("  title:           {}", c.document_title);
    println!("  pages shown:     {}", c.pages_shown.len());
    println!(
        "  auth factors:    {:?}",
        c.auth_factors.iter().map(|f| &f.factor).collect::<Vec<_>>()
    );
    println!("  training:        {}", c.training);
    println!("  capture:         {:?}", c.capture);
    println!("  software:        {}", c.software_version);
    println!(
        "  biometric:       {} bytes, sha256 {}",
        summary.biometric_envelope.size_bytes, summary.biometric_envelope.sha256
    );
    println!("  image digest:    {}", summary.signature_image_digest.0);
    match &summary.timestamp {
        Some(ts) => println!("  timestamp:       {:?} (not checked)", ts.gen_time),
        None => println!("  timestamp:       none"),
    }
    Ok(exit(EXIT_OK))
}
