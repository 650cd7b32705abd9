//! **Development only.** A software [`PackageSigner`] holding a P-256 key in
//! memory, for tests, benchmarks and `signpadctl dev sign`.
//!
//! A real pad never uses this: its key lives in the TPM and signs through
//! `signpad-keyd`. A package made with this signer is only as trustworthy as
//! the file the key came from.

use p256::ecdsa::{DerSignature, SigningKey};
use signature::hazmat::PrehashSigner;
use signpad_types::DigestAlgorithm;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::signer::{PackageSigner, SignerError};

/// Errors loading a development key and chain.
#[derive(Debug, thiserror::Error)]
pub enum DevKeyError {
    #[error("private key is neither a PKCS #8 nor a SEC1 P-256 PEM key: {0}")]
    Key(String),
    #[error("certificate chain PEM: {0}")]
    Chain(String),
    #[error("the certificate chain is empty; give the pad certificate first")]
    EmptyChain,
}

/// A P-256 key in memory plus its certificate chain (pad certificate
/// first). Development only; see the module documentation.
pub struct SoftwareSigner {
    key: SigningKey,
    chain: Vec<Certificate>,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("key", &"<P-256 private key>")
            .field("chain_len", &self.chain.len())
            .finish()
    }
}

impl SoftwareSigner {
    pub fn new(key: SigningKey, chain: Vec<Certificate>) -> Self {
        Self { key, chain }
    }

    /// Loads a PEM private key (`PRIVATE KEY` or `EC PRIVATE KEY`) and a PEM
    /// certificate chain (pad certificate first).
    pub fn from_pem(key_pem: &str, chain_pem: &[u8]) -> Result<Self, DevKeyError> {
        use p256::pkcs8::DecodePrivateKey;
        let key_pem = Zeroizing::new(key_pem.to_owned());
        let secret = p256::SecretKey::from_pkcs8_pem(&key_pem)
            .or_else(|_| p256::SecretKey::from_sec1_pem(&key_pem))
            .map_err(|e| DevKeyError::Key(e.to_string()))?;
        let chain = Certificate::load_pem_chain(chain_pem)
            .map_err(|e| DevKeyError::Chain(e.to_string()))?;
        if chain.is_empty() {
            return Err(DevKeyError::EmptyChain);
        }
        Ok(Self::new(SigningKey::from(secret), chain))
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl PackageSigner for SoftwareSigner {
    fn sign_digest(
        &self,
        algorithm: DigestAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, SignerError> {
        if digest.len() != algorithm.len() {
            return Err(SignerError::Failed(format!(
                "{algorithm} digest of {} bytes",
                digest.len()
            )));
        }
        let sig: p256::ecdsa::Signature = self
            .key
            .sign_prehash(digest)
            .map_err(|e| SignerError::Failed(e.to_string()))?;
        let der: DerSignature = sig.to_der();
        Ok(der.as_bytes().to_vec())
    }

    fn certificate_chain(&self) -> &[Certificate] {
        &self.chain
    }
}
