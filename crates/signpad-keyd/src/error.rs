//! Errors of the key daemon, one variant per thing a caller can act on.

use std::path::PathBuf;

/// Everything that can go wrong in keyd. The D-Bus layer maps each variant
/// to a named `org.signpad.Error.*` error (see [`KeydError::dbus_name`]).
#[derive(Debug, thiserror::Error)]
pub enum KeydError {
    #[error("config {path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error(
        "TCTI \"{0}\" is not supported: use device:/dev/tpmrm0 on a pad or swtpm:host=…,port=… in development"
    )]
    BadTcti(String),
    #[error("no TPM reachable through \"{tcti}\" ({detail}); keyd does not run without a TPM")]
    NoTpm { tcti: String, detail: String },
    #[error("the TPM became unreachable during {operation} ({detail}); retry when it is back")]
    TpmUnavailable {
        operation: &'static str,
        detail: String,
    },
    #[error("TPM refused {operation}: {detail}")]
    Tpm {
        operation: &'static str,
        detail: String,
    },
    #[error("keys are not provisioned yet: {0} is missing (run provisioning)")]
    NotProvisioned(&'static str),
    #[error("unknown key role \"{0}\": use signing or tls")]
    UnknownRole(String),
    #[error("a {algorithm} digest has {expected} bytes, got {actual}")]
    WrongDigestLength {
        algorithm: &'static str,
        expected: usize,
        actual: usize,
    },
    #[error("unknown digest algorithm \"{0}\": use sha256, sha384 or sha512")]
    UnknownAlgorithm(String),
    #[error("wrong admin PIN ({remaining} tries left before the TPM locks out)")]
    WrongPin { remaining: u32 },
    #[error("the TPM is in dictionary-attack lockout; retry in about {retry_after_secs} s")]
    LockedOut { retry_after_secs: u32 },
    #[error("the admin PIN is not set")]
    NoAdminPin,
    #[error("an admin PIN is already set")]
    AdminPinAlreadySet,
    #[error(
        "the storage key cannot be unsealed: the PCR policy is not satisfied (boot state changed)"
    )]
    PolicyMismatch,
    #[error("subject \"{subject}\" is malformed: {detail} (use RFC 4514 form, e.g. CN=pad-0001,O=Example)")]
    BadSubject { subject: String, detail: String },
    #[error("certificate rejected: {0}")]
    BadCertificate(String),
    #[error("certificate is not for our {role} key (its public key differs)")]
    ForeignCertificate { role: &'static str },
    #[error("certificate chain does not verify: {0}")]
    UntrustedChain(String),
    #[error("attestation does not verify: {0}")]
    BadAttestation(String),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path} is corrupt: {detail}")]
    CorruptBlob { path: PathBuf, detail: String },
    #[error("encoding failed: {0}")]
    Encoding(String),
}

impl KeydError {
    /// The D-Bus error name of this error.
    pub fn dbus_name(&self) -> &'static str {
        match self {
            Self::Config { .. } | Self::BadTcti(_) => "org.signpad.Error.Config",
            Self::NoTpm { .. } | Self::TpmUnavailable { .. } => "org.signpad.Error.TpmUnavailable",
            Self::Tpm { .. } => "org.signpad.Error.Tpm",
            Self::NotProvisioned(_) => "org.signpad.Error.NotProvisioned",
            Self::UnknownRole(_) => "org.signpad.Error.UnknownRole",
            Self::WrongDigestLength { .. } | Self::UnknownAlgorithm(_) => {
                "org.signpad.Error.BadDigest"
            }
            Self::WrongPin { .. } => "org.signpad.Error.WrongPin",
            Self::LockedOut { .. } => "org.signpad.Error.LockedOut",
            Self::NoAdminPin => "org.signpad.Error.NoAdminPin",
            Self::AdminPinAlreadySet => "org.signpad.Error.AdminPinAlreadySet",
            Self::PolicyMismatch => "org.signpad.Error.PolicyMismatch",
            Self::BadSubject { .. } => "org.signpad.Error.BadSubject",
            Self::BadCertificate(_) => "org.signpad.Error.BadCertificate",
            Self::ForeignCertificate { .. } => "org.signpad.Error.ForeignCertificate",
            Self::UntrustedChain(_) => "org.signpad.Error.UntrustedChain",
            Self::BadAttestation(_) => "org.signpad.Error.BadAttestation",
            Self::Io { .. } | Self::CorruptBlob { .. } | Self::Encoding(_) => {
                "org.signpad.Error.Internal"
            }
        }
    }
}

pub(crate) fn io_err(
    what: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> KeydError {
    let path = path.into();
    move |source| KeydError::Io { what, path, source }
}
