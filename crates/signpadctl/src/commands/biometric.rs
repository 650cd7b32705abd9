//! `signpadctl decrypt-biometric`: the examiner opens the biometric envelope
//! of a package with the escrow key.

use super::{exit, read_limited, write_atomic, EXIT_INVALID, EXIT_OK, MAX_SMALL_FILE};
use anyhow::{bail, Context, Result};
use signpad_package::envelope::{escrow_key_from_pem, open_biometric};
use signpad_package::{Limits, Package};
use std::fs::File;
use std::path::Path;
use std::process::ExitCode;
use zeroize::Zeroizing;

pub fn run(
    package: &Path,
    key: &Path,
    document: Option<&Path>,
    out: &Path,
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
    let key_pem = Zeroizing::new(read_limited(key, "escrow key", MAX_SMALL_FILE)?);
    let key_text = std::str::from_utf8(&key_pem)
        .with_context(|| format!("escrow key {} is not a PEM text file", key.display()))?;
    let escrow_key =
        escrow_key_from_pem(key_text).with_context(|| format!("escrow key {}", key.display()))?;
    let payload = match open_biometric(parsed.biometric_envelope(), &escrow_key) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("signpadctl: {}: {err}", package.display());
            return Ok(exit(EXIT_INVALID));
        }
    };
    let doc_digest = parsed.document_digest()?;
    if let Err(err) = payload.check_binding(&doc_digest, parsed.ceremony_record().session_id) {
        eprintln!("signpadctl: {}: {err}", package.display());
        return Ok(exit(EXIT_INVALID));
    }
    if let Some(document) = document {
        let file = File::open(document)
            .with_context(|| format!("cannot open document {}", document.display()))?;
        let actual = doc_digest
            .algorithm()
            .hash_reader(file)
            .with_context(|| format!("cannot read document {}", document.display()))?;
        if actual != doc_digest.as_bytes() {
            bail!(
                "document {} is not the one this package signs (package: {doc_digest})",
                document.display()
            );
        }
    }
    let record = payload
        .record()
        .with_context(|| "the decrypted biometric record does not decode")?;
    write_atomic(out, &payload.iso_record)?;
    println!(
        "biometric record bound to {} session {}: {} samples, {:.2} s, {} channels -> {}",
        doc_digest,
        payload.session,
        record.sample_count(),
        record.duration_s(),
        record.channels().len(),
        out.display()
    );
    Ok(exit(EXIT_OK))
}
