//! signpad-netd is the pad's only network face: an HTTPS API over mutual TLS
//! for host applications (signing sessions) and for administrators and
//! auditors (device status, metrics, CRL updates, training mode, lock).
//!
//! It owns the TLS listener, the client-certificate checks (chain, CRL,
//! role), request limits and the translation of HTTP requests into calls on
//! the session daemon (`org.signpad.Pad1`). It must never open a plaintext
//! listener, hold the pad's TLS key outside development mode (the key lives
//! in the TPM and is used through keyd's `org.signpad.Keys1`), build or
//! invent signature packages, or log document contents and page images.

pub mod api;
pub mod backend;
pub mod config;
pub mod daemon;
pub mod error;
pub mod identity;
pub mod key;
pub mod limits;
pub mod metrics;
pub mod server;
pub mod tls;

pub use config::NetdConfig;
pub use error::NetdError;
pub use identity::{ClientIdentity, Role};
