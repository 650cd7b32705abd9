//! The seam between the package builder and whatever holds the pad's key: a
//! TPM-resident key in `signpad-keyd`, a software key in tests and `dev sign`.

use signpad_types::DigestAlgorithm;
use x509_cert::Certificate;

/// Errors a signer reports.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("the signing key refused or failed to sign: {0}")]
    Failed(String),
    #[error("the signer has no certificate")]
    NoCertificate,
}

/// Something that signs digests with the pad's P-256 key.
pub trait PackageSigner {
    /// Signs a pre-computed digest (`digest.len() == algorithm.len()`) with
    /// ECDSA over P-256 and returns the DER-encoded `ECDSA-Sig-Value`.
    fn sign_digest(
        &self,
        algorithm: DigestAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, SignerError>;

    /// The pad certificate first, then any intermediates up to (not
    /// necessarily including) the root.
    fn certificate_chain(&self) -> &[Certificate];
}
