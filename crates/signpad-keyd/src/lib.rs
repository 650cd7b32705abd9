//! signpad-keyd owns the pad's keys. It is the only process that opens the
//! TPM: it provisions the storage primary and, under it, the device signing
//! key, the TLS key, the sealed storage secret, the PIN-protected admin
//! secret and the attestation key; it signs digests, builds CSRs, installs
//! certificates, quotes PCRs and serves all of that as `org.signpad.Keys1`.
//!
//! It must never export a private key, never run without a real TPM (no
//! software fallback), never log a PIN, a secret or a digest's document, and
//! never hand the storage secret to any caller but signpadd.

pub mod attest;
pub mod certs;
pub mod config;
pub mod dbus;
mod error;
pub mod keys;
pub mod signer;
mod store;
mod tpm;

pub use config::KeydConfig;
pub use error::KeydError;
pub use keys::{KeyRole, Keyd, ProvisionReport};
pub use signer::TpmSigner;
pub use tpm::LockoutStatus;
