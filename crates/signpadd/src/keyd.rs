//! The client side of keyd's `org.signpad.Keys1`: a [`PackageSigner`] whose
//! signatures are made in the TPM by keyd, and the storage secret.
//!
//! [`PackageSigner::sign_digest`] is synchronous; [`KeydSigner`] blocks on
//! the D-Bus call through the runtime handle, so it must only be called from
//! a blocking thread (`tokio::task::spawn_blocking`), which is where the
//! daemon runs all ceremony work.

use std::sync::Arc;

use der::Decode as _;
use signpad_package::signer::{PackageSigner, SignerError};
use signpad_types::DigestAlgorithm;
use x509_cert::Certificate;
use zbus::Connection;
use zeroize::Zeroizing;

#[zbus::proxy(
    interface = "org.signpad.Keys1",
    default_service = "org.signpad.Keys1",
    default_path = "/org/signpad/Keys1"
)]
trait Keys {
    fn sign(&self, role: &str, algorithm: &str, digest: &[u8]) -> zbus::Result<Vec<u8>>;
    fn certificate_chain(&self, role: &str) -> zbus::Result<Vec<Vec<u8>>>;
    fn unseal_storage_key(&self) -> zbus::Result<Vec<u8>>;
}

/// Errors reaching keyd.
#[derive(Debug, thiserror::Error)]
pub enum KeydClientError {
    #[error("keyd (org.signpad.Keys1) is unavailable or refused: {0}")]
    Bus(#[from] zbus::Error),
    #[error("keyd returned a certificate that does not parse: {0}")]
    Certificate(String),
    #[error("keyd has no signing certificate")]
    NoCertificate,
}

/// Signs package digests with the pad's TPM-resident key through keyd.
#[derive(Debug)]
pub struct KeydSigner {
    proxy: KeysProxy<'static>,
    chain: Vec<Certificate>,
    handle: tokio::runtime::Handle,
}

impl KeydSigner {
    /// Connects and fetches the signing certificate chain.
    pub async fn connect(conn: &Connection) -> Result<Self, KeydClientError> {
        let proxy = KeysProxy::new(conn).await?;
        let chain = proxy
            .certificate_chain("signing")
            .await?
            .iter()
            .map(|der| Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| KeydClientError::Certificate(e.to_string()))?;
        if chain.is_empty() {
            return Err(KeydClientError::NoCertificate);
        }
        Ok(Self {
            proxy,
            chain,
            handle: tokio::runtime::Handle::current(),
        })
    }
}

impl PackageSigner for KeydSigner {
    fn sign_digest(
        &self,
        algorithm: DigestAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, SignerError> {
        self.handle
            .block_on(self.proxy.sign("signing", algorithm.name(), digest))
            .map_err(|e| SignerError::Failed(format!("keyd: {e}")))
    }

    fn certificate_chain(&self) -> &[Certificate] {
        &self.chain
    }
}

/// A shareable signer (the package builder and the audit log use one).
#[derive(Debug, Clone)]
pub struct SharedSigner(pub Arc<dyn PackageSignerDebug>);

/// [`PackageSigner`] + `Debug` + thread-safe.
pub trait PackageSignerDebug: PackageSigner + std::fmt::Debug + Send + Sync {}
impl<T: PackageSigner + std::fmt::Debug + Send + Sync> PackageSignerDebug for T {}

impl PackageSigner for SharedSigner {
    fn sign_digest(
        &self,
        algorithm: DigestAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, SignerError> {
        self.0.sign_digest(algorithm, digest)
    }
    fn certificate_chain(&self) -> &[Certificate] {
        self.0.certificate_chain()
    }
}

/// The storage secret keyd unseals from the TPM for signpadd only.
pub async fn unseal_storage_key(conn: &Connection) -> Result<Zeroizing<Vec<u8>>, KeydClientError> {
    let proxy = KeysProxy::new(conn).await?;
    Ok(Zeroizing::new(proxy.unseal_storage_key().await?))
}
