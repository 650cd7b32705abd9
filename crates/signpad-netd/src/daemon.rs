//! Wiring: server key, TLS state, backend, router and listener, so that the
//! binary and the tests start netd the same way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{self, AppState};
use crate::backend::PadBackend;
use crate::config::NetdConfig;
use crate::error::NetdError;
use crate::key::{self, KeydKey};
use crate::metrics::Metrics;
use crate::server::Server;
use crate::tls::{self, TlsState};

/// Builds the TLS state with the configured server key: the PEM file of
/// `tls.dev_key_file` (development) or the TPM key through keyd.
pub async fn tls_state(config: &NetdConfig) -> Result<TlsState, NetdError> {
    let t = &config.tls;
    let (signing_key, keyd_chain): (Arc<dyn rustls::sign::SigningKey>, _) = match &t.dev_key_file {
        Some(path) => {
            tracing::warn!(path = %path.display(), "DEVELOPMENT MODE: TLS key read from a file, not the TPM");
            (key::file_key(path)?, None)
        }
        None => {
            let bus = t.keyd_bus.clone();
            let (k, chain) = tokio::task::spawn_blocking(move || KeydKey::start(&bus))
                .await
                .map_err(|e| NetdError::Key(e.to_string()))??;
            (Arc::new(k), Some(chain))
        }
    };
    let chain = match (&t.cert_file, keyd_chain) {
        (Some(path), _) => tls::read_certs("cert_file", path)?,
        (None, Some(chain)) => chain,
        (None, None) => {
            return Err(NetdError::Tls(
                "tls.cert_file is required with dev_key_file".into(),
            ))
        }
    };
    TlsState::new(t.clone(), chain, signing_key)
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    pub local_addr: SocketAddr,
    pub tls: Arc<TlsState>,
    pub metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Stops accepting and waits for the accept loop to end.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Binds `config.listen_address` and serves until stopped.
pub async fn start(
    config: &NetdConfig,
    tls: TlsState,
    backend: Arc<dyn PadBackend>,
) -> Result<Running, NetdError> {
    let listener = TcpListener::bind(config.listen_address)
        .await
        .map_err(|source| NetdError::Listen {
            address: config.listen_address,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| NetdError::Listen {
        address: config.listen_address,
        source,
    })?;
    let tls = Arc::new(tls);
    let metrics = Arc::new(Metrics::default());
    let state = AppState::new(
        backend,
        Arc::clone(&tls),
        Arc::clone(&metrics),
        config.limits.requests_per_second,
        &config.tls.keyd_bus,
    );
    let server = Server {
        tls: Arc::clone(&tls),
        router: api::router(state, config.limits.max_body_bytes),
        metrics: Arc::clone(&metrics),
        limits: config.limits.clone(),
        handshake_timeout: Duration::from_secs(config.tls.handshake_timeout_secs.max(1)),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    tracing::info!(%local_addr, tls12 = config.tls.allow_tls12, "listening (mutual TLS only)");
    Ok(Running {
        local_addr,
        tls,
        metrics,
        stop: Some(stop),
        task,
    })
}
