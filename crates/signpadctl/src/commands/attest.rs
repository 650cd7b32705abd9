//! `signpadctl attest verify`: checks a pad's attestation evidence offline
//! (the JSON of keyd's `Evidence` D-Bus method): the quote over the
//! verifier's nonce and the selected SHA-256 PCRs, the certification that
//! the device signing key lives in the TPM and, with `--cert`, that this key
//! is the one in the pad certificate.
//!
//! The checks are those of `signpad_keyd::attest`. That crate links the TPM
//! software stack (libtss2-esys and friends, through tss-esapi) for the TPM
//! structure encodings, so signpadctl needs those shared libraries at run
//! time even though this command never opens a TPM.
//!
//! What passes here proves that one attestation key signed both statements
//! for this nonce. It does not prove that the attestation key belongs to the
//! TPM of the EK certificate, nor that the EK certificate chains to a TPM
//! manufacturer: the EK certificate is reported, not verified.

use super::{exit, read_certificates, read_limited, EXIT_COULD_NOT_CHECK, EXIT_INVALID, EXIT_OK};
use anyhow::{anyhow, Context, Result};
use p256::pkcs8::DecodePublicKey as _;
use serde::Serialize;
use signpad_keyd::attest::{verify_evidence, Evidence, EvidenceReport};
use signpad_keyd::KeydError;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use x509_cert::der::Encode as _;

/// Largest evidence file read (a few kB with an EK certificate).
pub const MAX_EVIDENCE_BYTES: u64 = 1024 * 1024;

/// The verifier's nonce, 1 to 64 bytes given as hex.
#[derive(Debug, Clone)]
pub struct Nonce(pub Vec<u8>);

fn parse_nonce(text: &str) -> Result<Nonce, String> {
    let bytes = hex::decode(text.trim()).map_err(|e| format!("not hex: {e}"))?;
    if bytes.is_empty() || bytes.len() > 64 {
        return Err(format!(
            "a nonce has 1 to 64 bytes, this one has {}",
            bytes.len()
        ));
    }
    Ok(Nonce(bytes))
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The evidence file (JSON, from keyd's `Evidence` method).
    #[arg(long)]
    pub evidence: PathBuf,
    /// The nonce the evidence was requested with, hex (1 to 64 bytes).
    #[arg(long, value_parser = parse_nonce)]
    pub nonce: Nonce,
    /// The pad certificate (PEM or DER): the certified signing key must be
    /// its public key.
    #[arg(long)]
    pub cert: Option<PathBuf>,
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
    pad_certificate_subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a EvidenceReport>,
}

/// The pad certificate's subject and P-256 public key.
fn pad_key(path: &Path) -> Result<(String, p256::ecdsa::VerifyingKey)> {
    let certs = read_certificates(path, "pad certificate")?;
    let cert = certs
        .first()
        .ok_or_else(|| anyhow!("pad certificate {} is empty", path.display()))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .context("pad certificate public key")?;
    let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki).map_err(|e| {
        anyhow!(
            "pad certificate {} does not hold a P-256 key: {e}",
            path.display()
        )
    })?;
    Ok((cert.tbs_certificate.subject.to_string(), key))
}

pub fn verify(args: &VerifyArgs) -> Result<ExitCode> {
    let bytes = read_limited(&args.evidence, "evidence", MAX_EVIDENCE_BYTES)?;
    let evidence = match Evidence::from_json(&bytes) {
        Ok(e) => e,
        Err(err) => {
            let msg = format!("{}: {err}", args.evidence.display());
            return fail(
                &args.evidence,
                "could-not-check",
                EXIT_COULD_NOT_CHECK,
                &msg,
                args.json,
            );
        }
    };
    let pad = args.cert.as_deref().map(pad_key).transpose()?;
    match verify_evidence(&evidence, &args.nonce.0, pad.as_ref().map(|(_, k)| k)) {
        Ok(report) => {
            let subject = pad.as_ref().map(|(s, _)| s.as_str());
            print_verified(&args.evidence, &report, subject, args.json)?;
            Ok(exit(EXIT_OK))
        }
        Err(KeydError::BadAttestation(msg)) => {
            fail(&args.evidence, "invalid", EXIT_INVALID, &msg, args.json)
        }
        Err(other) => fail(
            &args.evidence,
            "could-not-check",
            EXIT_COULD_NOT_CHECK,
            &other.to_string(),
            args.json,
        ),
    }
}

fn fail(file: &Path, status: &'static str, code: u8, msg: &str, json: bool) -> Result<ExitCode> {
    if json {
        let report = Report {
            status,
            error: Some(msg.to_owned()),
            pad_certificate_subject: None,
            evidence: None,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let label = if code == EXIT_INVALID {
            "INVALID"
        } else {
            "COULD NOT CHECK"
        };
        println!("{label}: attestation evidence {}", file.display());
        println!("  {msg}");
    }
    Ok(exit(code))
}

fn print_verified(
    file: &Path,
    r: &EvidenceReport,
    pad_subject: Option<&str>,
    json: bool,
) -> Result<()> {
    if json {
        let report = Report {
            status: "verified",
            error: None,
            pad_certificate_subject: pad_subject,
            evidence: Some(r),
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let pcrs = r
        .pcrs
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(",");
    println!("VERIFIED attestation evidence {}", file.display());
    println!("  attestation key:  sha256 {}", r.attestation_key_sha256);
    println!("  PCRs (SHA-256):   {pcrs}");
    println!("  PCR digest:       {}", r.pcr_digest);
    println!(
        "  signing key:      TPM-resident (fixedTPM, fixedParent, sensitiveDataOrigin), sha256 {}",
        r.certified_key_sha256
    );
    match (r.certified_key_is_expected, pad_subject) {
        (Some(true), Some(subject)) => {
            println!("  = pad certificate key: yes ({subject})");
        }
        _ => println!("  = pad certificate key: not checked (give --cert)"),
    }
    match (&r.ek_certificate_subject, &r.ek_certificate_issuer) {
        (Some(subject), Some(issuer)) => println!(
            "  EK certificate:   subject \"{subject}\", issuer \"{issuer}\" (reported, not verified)"
        ),
        _ => println!("  EK certificate:   none in the TPM"),
    }
    println!("  the attestation key's binding to the EK is not checked offline");
    Ok(())
}
