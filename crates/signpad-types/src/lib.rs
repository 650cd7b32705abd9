//! Shared vocabulary of signpad: identifiers, document digests and the pen-sample
//! model that every other crate speaks.
//!
//! This crate owns plain data types and their validation only. It must never do
//! I/O, hold keys or depend on another signpad crate.

pub mod digest;
pub mod ids;
pub mod pen;

pub use digest::{DigestAlgorithm, DigestError, DocumentDigest};
pub use ids::{IdError, PadSerial, SessionId};
pub use pen::{AxisInfo, PenCapabilities, PenSample, SampleFlags};
