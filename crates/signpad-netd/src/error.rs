//! Errors of the network daemon's setup (the HTTP errors live in `api`).

use std::path::PathBuf;

/// What can go wrong while loading configuration, certificates and keys.
#[derive(Debug, thiserror::Error)]
pub enum NetdError {
    #[error("config {path} line {line}: {message}")]
    Config {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("config {path}: {message}")]
    ConfigValue { path: PathBuf, message: String },
    #[error("cannot read {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {path}: {message}")]
    Pem {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("server key: {0}")]
    Key(String),
    #[error("keyd ({bus}): {message}")]
    Keyd { bus: String, message: String },
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
}

pub(crate) fn io_err(
    what: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> NetdError {
    let path = path.into();
    move |source| NetdError::Io { what, path, source }
}
