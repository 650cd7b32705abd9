//! The signpad signature package: an open format that any third party can verify
//! with stock OpenSSL.
//!
//! This crate builds, parses and verifies the detached CMS SignedData of a
//! signing ceremony, encodes and decodes the ISO/IEC 19794-7 signature
//! time-series record, and seals the biometric envelope to the escrow
//! certificate. It is pure: it never does I/O, never reads a clock on its own
//! (times are passed in) and never holds a private key of the pad (signing goes
//! through the [`signer::PackageSigner`] trait).

pub mod algorithm;
pub mod build;
pub mod ceremony;
pub mod dev;
pub mod envelope;
pub mod error;
pub mod iso19794;
pub mod limits;
pub mod oids;
pub mod package;
pub mod seal;
pub mod signer;
pub mod timestamp;
pub mod verify;

pub use build::{add_timestamp_token, build_package, PackageContents};
pub use ceremony::{AuthFactor, AuthFactorUse, CaptureStatistics, CeremonyError, CeremonyRecord};
pub use error::{BuildError, FailureKind, PackageError, TimestampError, VerifyError};
pub use limits::Limits;
pub use package::{Package, PackageSummary, SignatureImageDigest};
pub use seal::{seal_ceremony, SealError, SealRequest, Sealed};
pub use verify::{verify, DocumentRef, RevocationStatus, TrustAnchors, VerifiedPackage, Verifier};
