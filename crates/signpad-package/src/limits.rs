//! Resource limits applied before and while parsing an untrusted package.

/// Bounds on what [`crate::Package::parse`] and [`crate::verify`] accept.
///
/// A package for a 5-second signature is well under 16 KiB; the defaults
/// leave ample room for long signatures, large certificate chains and a
/// timestamp token while refusing inputs that are clearly not packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest package accepted, in bytes (default 1 MiB).
    pub max_package_bytes: usize,
    /// Most certificates a package may carry (default 16).
    pub max_certificates: usize,
    /// Longest chain from the pad certificate to a root, counting both
    /// (default 8).
    pub max_chain_length: usize,
}

impl Limits {
    /// 1 MiB.
    pub const DEFAULT_MAX_PACKAGE_BYTES: usize = 1024 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_package_bytes: Self::DEFAULT_MAX_PACKAGE_BYTES,
            max_certificates: 16,
            max_chain_length: 8,
        }
    }
}
