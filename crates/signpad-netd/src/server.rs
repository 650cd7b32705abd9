//! The listener: TCP accept, TLS handshake with a client certificate, then
//! HTTP/1.1 with the API router. There is no plaintext listener.
//!
//! Limits: a handshake must finish within `tls.handshake_timeout_secs`; a
//! request head must arrive within `limits.header_read_timeout_secs` (else
//! `408` and close); beyond `limits.max_connections` open connections a new
//! one is answered `503` and closed, beyond twice that it is dropped before
//! the handshake.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::api::ApiError;
use crate::config::LimitsConfig;
use crate::identity::ClientIdentity;
use crate::metrics::Metrics;
use crate::tls::TlsState;

/// Remote address of the connection, as a request extension.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Everything the accept loop needs.
#[derive(Debug, Clone)]
pub struct Server {
    pub tls: Arc<TlsState>,
    pub router: Router,
    pub metrics: Arc<Metrics>,
    pub limits: LimitsConfig,
    pub handshake_timeout: Duration,
}

struct ActiveGuard(Arc<Metrics>);
impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0
            .connections_active
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Server {
    /// Accepts connections until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let this = Arc::new(self);
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                a = listener.accept() => a,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let active = this
                .metrics
                .connections_active
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            let guard = ActiveGuard(Arc::clone(&this.metrics));
            let max = this.limits.max_connections as u64;
            if active > max.saturating_mul(2) {
                Metrics::inc(&this.metrics.connections_refused);
                tracing::warn!(%peer, active, "connection dropped: far over max_connections");
                drop(tcp);
                drop(guard);
                continue;
            }
            let this = Arc::clone(&this);
            tokio::spawn(async move {
                this.connection(tcp, peer, active > max).await;
                drop(guard);
            });
        }
    }

    async fn connection(&self, tcp: TcpStream, peer: SocketAddr, over_limit: bool) {
        let _ = tcp.set_nodelay(true);
        let acceptor = TlsAcceptor::from(self.tls.current());
        let tls = match tokio::time::timeout(self.handshake_timeout, acceptor.accept(tcp)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                Metrics::inc(&self.metrics.handshakes_failed);
                tracing::warn!(%peer, reason = %e, "TLS handshake refused");
                return;
            }
            Err(_) => {
                Metrics::inc(&self.metrics.handshakes_failed);
                tracing::warn!(%peer, "TLS handshake timed out");
                return;
            }
        };
        Metrics::inc(&self.metrics.handshakes_ok);
        let identity = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| ClientIdentity::from_der(c.as_ref()));
        let identity = match identity {
            Some(Ok(id)) => id,
            Some(Err(e)) => {
                tracing::warn!(%peer, error = %e, "client certificate unreadable");
                return;
            }
            None => {
                // The verifier requires a certificate; this cannot happen
                // unless that setting is changed.
                tracing::error!(%peer, "TLS session without client certificate");
                return;
            }
        };
        tracing::debug!(%peer, client = %identity.label(), "client connected");

        let router = self.router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            let router = router.clone();
            let identity = identity.clone();
            async move {
                if over_limit {
                    let mut r = ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "too_many_connections",
                        "the pad serves its maximum number of connections; retry later",
                    )
                    .into_response();
                    r.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                    return Ok::<_, std::convert::Infallible>(r);
                }
                req.extensions_mut().insert(identity);
                req.extensions_mut().insert(PeerAddr(peer));
                router.oneshot(req.map(Body::new)).await
            }
        });

        let io = Shared(Arc::new(Mutex::new(tls)));
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read_timeout())
            .keep_alive(!over_limit)
            .serve_connection(TokioIo::new(io.clone()), service);
        if let Err(e) = conn.await {
            if e.is_timeout() {
                tracing::info!(%peer, "request head not received in time: 408");
                let mut w = io;
                let _ = w
                    .write_all(
                        b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
                    )
                    .await;
                let _ = w.shutdown().await;
            } else {
                tracing::debug!(%peer, error = %e, "connection ended with error");
            }
        }
    }
}

/// A stream shared by hyper and the accept loop, so that the loop can still
/// answer `408` after hyper gave up on a slow request head.
#[derive(Debug)]
struct Shared<T>(Arc<Mutex<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

fn poisoned() -> std::io::Error {
    std::io::Error::other("connection state poisoned")
}

impl<T: AsyncRead + Unpin> AsyncRead for Shared<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.0.lock() {
            Ok(mut s) => Pin::new(&mut *s).poll_read(cx, buf),
            Err(_) => Poll::Ready(Err(poisoned())),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Shared<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.0.lock() {
            Ok(mut s) => Pin::new(&mut *s).poll_write(cx, buf),
            Err(_) => Poll::Ready(Err(poisoned())),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.0.lock() {
            Ok(mut s) => Pin::new(&mut *s).poll_flush(cx),
            Err(_) => Poll::Ready(Err(poisoned())),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.0.lock() {
            Ok(mut s) => Pin::new(&mut *s).poll_shutdown(cx),
            Err(_) => Poll::Ready(Err(poisoned())),
        }
    }
}
