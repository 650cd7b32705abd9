//! The server's TLS key behind rustls' `SigningKey` seam.
//!
//! - [`KeydKey`]: the production key. It lives in the TPM; every handshake
//!   signature is a `Sign("tls", "sha256", digest)` call on keyd's
//!   `org.signpad.Keys1`. rustls asks for signatures synchronously, so the
//!   D-Bus call runs on a dedicated thread with its own runtime and the
//!   handshake task leaves the async executor (`block_in_place`) while it
//!   waits.
//! - [`file_key`]: a PEM private key file, accepted only through the
//!   explicit `tls.dev_key_file` development setting.

use std::path::Path;
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::Duration;

use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::error::NetdError;

/// keyd's well-known name, object path and the key role netd uses.
pub const KEYD_BUS_NAME: &str = "org.signpad.Keys1";
pub const KEYD_OBJECT_PATH: &str = "/org/signpad/Keys1";
pub const TLS_KEY_ROLE: &str = "tls";

/// How long one TPM signature may take before the handshake is failed.
const SIGN_TIMEOUT: Duration = Duration::from_secs(10);

#[zbus::proxy(
    interface = "org.signpad.Keys1",
    default_service = "org.signpad.Keys1",
    default_path = "/org/signpad/Keys1",
    gen_blocking = false
)]
pub trait Keys1 {
    /// DER ECDSA-Sig-Value over `digest` with the key of `role`.
    fn sign(&self, role: &str, algorithm: &str, digest: &[u8]) -> zbus::Result<Vec<u8>>;
    /// Certificate chain of `role`, leaf first, DER.
    fn certificate_chain(&self, role: &str) -> zbus::Result<Vec<Vec<u8>>>;
    /// TPM2_Quote over SHA-256 `pcrs` with `nonce`: (TPMS_ATTEST, DER signature).
    fn quote(&self, nonce: &[u8], pcrs: &[u8]) -> zbus::Result<(Vec<u8>, Vec<u8>)>;
}

/// keyd for the management API (attestation), connected on first use so
/// that netd starts without it in development mode.
#[derive(Debug)]
pub struct KeydAccess {
    bus: String,
    proxy: tokio::sync::OnceCell<Keys1Proxy<'static>>,
}

impl KeydAccess {
    pub fn new(bus: &str) -> Self {
        Self {
            bus: bus.to_owned(),
            proxy: tokio::sync::OnceCell::new(),
        }
    }

    /// The proxy, connecting if needed; the error names the bus.
    pub async fn proxy(&self) -> Result<&Keys1Proxy<'static>, String> {
        self.proxy
            .get_or_try_init(|| async {
                connect(&self.bus)
                    .await
                    .map_err(|e| format!("keyd ({}): {e}", self.bus))
            })
            .await
    }
}

/// Connects to `bus`: `"system"` or a D-Bus address.
pub async fn connect_bus(bus: &str) -> zbus::Result<zbus::Connection> {
    if bus == "system" {
        zbus::Connection::system().await
    } else {
        zbus::connection::Builder::address(bus)?.build().await
    }
}

/// Loads a PEM private key file as a rustls signing key (development only).
pub fn file_key(path: &Path) -> Result<Arc<dyn SigningKey>, NetdError> {
    let der = PrivateKeyDer::from_pem_file(path).map_err(|e| NetdError::Pem {
        what: "dev_key_file",
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    rustls::crypto::ring::sign::any_supported_type(&der)
        .map_err(|e| NetdError::Key(format!("{}: {e}", path.display())))
}

struct SignRequest {
    digest: Vec<u8>,
    reply: std_mpsc::SyncSender<Result<Vec<u8>, String>>,
}

/// The TPM-resident TLS key, used through keyd.
#[derive(Debug, Clone)]
pub struct KeydKey {
    requests: mpsc::UnboundedSender<SignRequest>,
    bus: String,
}

impl std::fmt::Debug for SignRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignRequest")
    }
}

impl KeydKey {
    /// Starts the keyd worker thread on `bus` and fetches the TLS
    /// certificate chain held by keyd (leaf first).
    pub fn start(bus: &str) -> Result<(Self, Vec<CertificateDer<'static>>), NetdError> {
        let keyd_err = |message: String| NetdError::Keyd {
            bus: bus.to_owned(),
            message,
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<SignRequest>();
        let (ready_tx, ready_rx) = std_mpsc::sync_channel::<Result<Vec<Vec<u8>>, String>>(1);
        let bus_owned = bus.to_owned();
        std::thread::Builder::new()
            .name("keyd-signer".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let proxy = match connect(&bus_owned).await {
                        Ok(p) => p,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let chain = proxy
                        .certificate_chain(TLS_KEY_ROLE)
                        .await
                        .map_err(|e| format!("CertificateChain(\"tls\"): {e}"));
                    let _ = ready_tx.send(chain);
                    while let Some(req) = rx.recv().await {
                        let result = proxy
                            .sign(TLS_KEY_ROLE, "sha256", &req.digest)
                            .await
                            .map_err(|e| format!("Sign(\"tls\"): {e}"));
                        let _ = req.reply.send(result);
                    }
                });
            })
            .map_err(|e| keyd_err(format!("cannot start signer thread: {e}")))?;
        let chain = ready_rx
            .recv_timeout(SIGN_TIMEOUT)
            .map_err(|_| keyd_err("no answer".into()))?
            .map_err(keyd_err)?;
        if chain.is_empty() {
            return Err(keyd_err(
                "keyd holds no TLS certificate (enrol one with signpadctl cert rotate)".into(),
            ));
        }
        Ok((
            Self {
                requests: tx,
                bus: bus.to_owned(),
            },
            chain.into_iter().map(CertificateDer::from).collect(),
        ))
    }

    fn sign_digest(&self, digest: Vec<u8>) -> Result<Vec<u8>, String> {
        let (reply, answer) = std_mpsc::sync_channel(1);
        self.requests
            .send(SignRequest { digest, reply })
            .map_err(|_| "keyd signer thread stopped".to_owned())?;
        let wait = || {
            answer
                .recv_timeout(SIGN_TIMEOUT)
                .map_err(|_| "keyd did not answer in time".to_owned())?
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
    }
}

async fn connect(bus: &str) -> Result<Keys1Proxy<'static>, String> {
    let conn = connect_bus(bus)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    Keys1Proxy::new(&conn)
        .await
        .map_err(|e| format!("no {KEYD_BUS_NAME} at {KEYD_OBJECT_PATH}: {e}"))
}

impl SigningKey for KeydKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::ECDSA_NISTP256_SHA256)
            .then(|| Box::new(KeydSigner { key: self.clone() }) as Box<dyn Signer>)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ECDSA
    }
}

#[derive(Debug)]
struct KeydSigner {
    key: KeydKey,
}

impl Signer for KeydSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let digest = Sha256::digest(message).to_vec();
        self.key.sign_digest(digest).map_err(|e| {
            tracing::error!(bus = %self.key.bus, error = %e, "TLS handshake signature failed");
            rustls::Error::General(format!("keyd: {e}"))
        })
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ECDSA_NISTP256_SHA256
    }
}
