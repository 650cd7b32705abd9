//! Signers backed by the TPM: [`TpmSigner`] for signature packages and
//! [`TpmKeypair`] for the x509-cert builders (CSR, bootstrap certificate).

use p256::ecdsa::{DerSignature, VerifyingKey};
use signpad_package::signer::{PackageSigner, SignerError};
use signpad_types::DigestAlgorithm;
use spki::{AlgorithmIdentifier, SignatureAlgorithmIdentifier};
use x509_cert::Certificate;

use crate::{KeyRole, Keyd, KeydError};

/// A [`PackageSigner`] whose key never leaves the TPM.
#[derive(Debug)]
pub struct TpmSigner<'k> {
    keyd: &'k Keyd,
    role: KeyRole,
    chain: Vec<Certificate>,
}

impl<'k> TpmSigner<'k> {
    /// A signer with the key of `role` and its current certificate chain
    /// (the CA-issued one when installed, else the bootstrap certificate).
    pub fn new(keyd: &'k Keyd, role: KeyRole) -> Result<Self, KeydError> {
        let chain = keyd.certificate_chain(role)?;
        Ok(Self { keyd, role, chain })
    }
}

impl PackageSigner for TpmSigner<'_> {
    fn sign_digest(
        &self,
        algorithm: DigestAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, SignerError> {
        self.keyd
            .sign_digest(self.role, algorithm, digest)
            .map_err(|e| SignerError::Failed(e.to_string()))
    }

    fn certificate_chain(&self) -> &[Certificate] {
        &self.chain
    }
}

/// `signature::Keypair + Signer<DerSignature>` over a TPM key, hashing the
/// message with SHA-256 (ecdsa-with-SHA256), for the x509-cert builders.
#[derive(Debug)]
pub struct TpmKeypair<'k> {
    keyd: &'k Keyd,
    role: KeyRole,
    verifying_key: VerifyingKey,
}

impl<'k> TpmKeypair<'k> {
    /// The key of `role`.
    pub fn new(keyd: &'k Keyd, role: KeyRole) -> Result<Self, KeydError> {
        Ok(Self {
            keyd,
            role,
            verifying_key: keyd.public_key(role)?,
        })
    }
}

impl signature::Keypair for TpmKeypair<'_> {
    type VerifyingKey = VerifyingKey;

    fn verifying_key(&self) -> VerifyingKey {
        self.verifying_key
    }
}

impl signature::Signer<DerSignature> for TpmKeypair<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<DerSignature, signature::Error> {
        let digest = DigestAlgorithm::Sha256.hash(msg);
        let der = self
            .keyd
            .sign_digest(self.role, DigestAlgorithm::Sha256, &digest)
            .map_err(signature::Error::from_source)?;
        DerSignature::from_bytes(&der)
    }
}

impl SignatureAlgorithmIdentifier for TpmKeypair<'_> {
    type Params = der::AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> = AlgorithmIdentifier {
        oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
        parameters: None,
    };
}
