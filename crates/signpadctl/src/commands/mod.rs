//! The subcommands of `signpadctl`, one module each, and what they share:
//! exit codes and reading inputs with size limits and clear errors.

pub mod attest;
pub mod audit;
pub mod biometric;
pub mod dev_sign;
pub mod inspect;
pub mod render;
pub mod verify;

use anyhow::{bail, Context, Result};
use signpad_package::TrustAnchors;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use x509_cert::crl::CertificateList;
use x509_cert::der::Decode;
use x509_cert::Certificate;

/// The package verified (or the command succeeded).
pub const EXIT_OK: u8 = 0;
/// The package is invalid.
pub const EXIT_INVALID: u8 = 1;
/// The package could not be checked (unreadable input, missing file,
/// unsupported data).
pub const EXIT_COULD_NOT_CHECK: u8 = 3;

pub fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}

/// Largest certificate, CRL, key or record file read (documents and
/// packages have their own limits).
pub const MAX_SMALL_FILE: u64 = 16 * 1024 * 1024;

/// Reads a whole file of at most `limit` bytes.
pub fn read_limited(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>> {
    let file =
        File::open(path).with_context(|| format!("cannot open {what} {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot stat {what} {}", path.display()))?
        .len();
    if len > limit {
        bail!(
            "{what} {} is {len} bytes, more than the limit of {limit} bytes",
            path.display()
        );
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!(
            "{what} {} grew beyond {limit} bytes while being read",
            path.display()
        );
    }
    Ok(bytes)
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|i| bytes[i..].starts_with(b"-----BEGIN"))
}

/// Reads one or more certificates from a PEM bundle or a DER file.
pub fn read_certificates(path: &Path, what: &str) -> Result<Vec<Certificate>> {
    let bytes = read_limited(path, what, MAX_SMALL_FILE)?;
    let certs = if is_pem(&bytes) {
        Certificate::load_pem_chain(&bytes).with_context(|| {
            format!(
                "{what} {} is not a valid PEM certificate bundle",
                path.display()
            )
        })?
    } else {
        vec![Certificate::from_der(&bytes).with_context(|| {
            format!(
                "{what} {} is neither PEM nor a DER certificate",
                path.display()
            )
        })?]
    };
    if certs.is_empty() {
        bail!("{what} {} holds no certificate", path.display());
    }
    Ok(certs)
}

/// Reads a CRL, PEM (`X509 CRL`) or DER.
pub fn read_crl(path: &Path) -> Result<CertificateList> {
    let bytes = read_limited(path, "CRL", MAX_SMALL_FILE)?;
    if is_pem(&bytes) {
        let (label, der) = x509_cert::der::pem::decode_vec(&bytes)
            .map_err(|e| anyhow::anyhow!("CRL {} is not valid PEM: {e}", path.display()))?;
        if label != "X509 CRL" {
            bail!(
                "CRL {} is a PEM \"{label}\", expected \"X509 CRL\"",
                path.display()
            );
        }
        CertificateList::from_der(&der)
            .with_context(|| format!("CRL {} does not hold a valid CRL", path.display()))
    } else {
        CertificateList::from_der(&bytes)
            .with_context(|| format!("CRL {} is neither PEM nor a DER CRL", path.display()))
    }
}

/// Trust anchors from `--ca` and `--crl` files, with the current time for
/// CRL freshness.
pub fn read_trust(ca: &Path, crls: &[impl AsRef<Path>]) -> Result<TrustAnchors> {
    Ok(TrustAnchors {
        roots: read_certificates(ca, "CA file")?,
        crls: crls
            .iter()
            .map(|p| read_crl(p.as_ref()))
            .collect::<Result<_>>()?,
        now: Some(std::time::SystemTime::now()),
    })
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// so that a crash never leaves a half-written output.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
