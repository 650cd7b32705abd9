//! signpadd runs the pad's signing ceremonies: it holds the session state
//! machine and the queue, decides which authentication factors a session
//! needs and checks them, keeps signer enrolments and lockout counters
//! encrypted at rest, builds the signature package (signed by keyd through
//! `org.signpad.Keys1`, never with a key of its own) and serves all of it as
//! `org.signpad.Pad1`.
//!
//! It must never log or store a PIN, code, TOTP secret, biometric sample or
//! document content in plaintext, never hold the pad's signing key, and never
//! let a ceremony be signed before every page was shown and every required
//! factor passed.

pub mod auth;
pub mod capture;
pub mod config;
pub mod dbus;
pub mod enrol;
pub mod keyd;
pub mod pad;
pub mod policy;
pub mod session;
pub mod store;
