//! What the pad records: typed events with who did it, on which session,
//! the digests involved and the result. Never secrets (PINs, TOTP codes,
//! keys) and never biometric data; digests and identifiers only.

use serde::{Deserialize, Serialize};
use signpad_types::{DigestAlgorithm, DocumentDigest, SessionId};

/// Longest free-text `detail` of an event, in bytes.
pub const MAX_DETAIL_BYTES: usize = 1024;
/// Longest actor identifier or digest label, in bytes.
pub const MAX_LABEL_BYTES: usize = 512;
/// Most digests one event may carry.
pub const MAX_DIGESTS: usize = 64;

/// What happened. New kinds may be added; verifiers accept kinds they do not
/// know (the chain and checkpoints do not depend on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ServiceStarted,
    ServiceStopping,
    ConfigLoaded,
    SessionCreated,
    SessionRejected,
    PageShown,
    AuthAttempt,
    SignerLockedOut,
    SigningStarted,
    InkCleared,
    SignatureConfirmed,
    PackageSealed,
    PackageFetched,
    PackageDeleted,
    SessionCancelled,
    SessionExpired,
    SessionFailed,
    SignerEnrolled,
    SignerUpdated,
    SignerRemoved,
    SignerDataExported,
    SignerDataErased,
    TrainingModeChanged,
    PadLocked,
    PadUnlocked,
    PadWiped,
    CertificateRotated,
    CrlUpdated,
    AuditExported,
}

/// Who caused the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Actor {
    /// The pad itself (timeouts, start-up, retention clean-up).
    Pad,
    /// A network client, by the subject of its TLS client certificate.
    Client { subject: String },
    /// A local process, by its Unix UID (the D-Bus caller).
    Local { uid: u32 },
    /// An enrolled signer, by enrolment id (never a name typed on the pad).
    Signer { id: String },
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done as asked.
    Ok,
    /// Refused by policy or authentication.
    Denied,
    /// Tried and failed (device, key daemon, disk).
    Failed,
}

/// A digest with a label saying what was hashed (`document`, `page-3`,
/// `package`, `signature-image`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedDigest {
    pub of: String,
    pub alg: DigestAlgorithm,
    /// Lower-case hex.
    pub value: String,
}

impl NamedDigest {
    pub fn new(of: &str, alg: DigestAlgorithm, bytes: &[u8]) -> Self {
        Self {
            of: of.to_owned(),
            alg,
            value: hex::encode(bytes),
        }
    }
}

/// One auditable event. Build with [`AuditEvent::new`] and the `with_*`
/// methods, then hand it to [`crate::AuditLog::append`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionId>,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<NamedDigest>,
    pub result: Outcome,
    /// Short machine-readable reason or parameter (`factor=pin`,
    /// `attempt=3`, `policy=class-b`). Never a secret or document content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An event that cannot be logged as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("{what} is {len} bytes, more than the limit of {limit}; log an identifier or a digest instead")]
    TooLong {
        what: &'static str,
        len: usize,
        limit: usize,
    },
    #[error("{count} digests in one event, more than {MAX_DIGESTS}; split the event")]
    TooManyDigests { count: usize },
    #[error("digest \"{of}\": {reason}")]
    BadDigest { of: String, reason: String },
}

impl AuditEvent {
    pub fn new(kind: EventKind, actor: Actor, result: Outcome) -> Self {
        Self {
            kind,
            session: None,
            actor,
            digests: Vec::new(),
            result,
            detail: None,
        }
    }

    #[must_use]
    pub fn with_session(mut self, session: SessionId) -> Self {
        self.session = Some(session);
        self
    }

    #[must_use]
    pub fn with_digest(mut self, of: &str, alg: DigestAlgorithm, bytes: &[u8]) -> Self {
        self.digests.push(NamedDigest::new(of, alg, bytes));
        self
    }

    #[must_use]
    pub fn with_document(self, digest: &DocumentDigest) -> Self {
        self.with_digest("document", digest.algorithm(), digest.as_bytes())
    }

    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Checks the limits that keep every record small and well-formed.
    pub fn check(&self) -> Result<(), EventError> {
        let long = |what, text: &str, limit| {
            if text.len() > limit {
                Err(EventError::TooLong {
                    what,
                    len: text.len(),
                    limit,
                })
            } else {
                Ok(())
            }
        };
        match &self.actor {
            Actor::Client { subject } => long("actor subject", subject, MAX_LABEL_BYTES)?,
            Actor::Signer { id } => long("actor signer id", id, MAX_LABEL_BYTES)?,
            Actor::Pad | Actor::Local { .. } => {}
        }
        if let Some(detail) = &self.detail {
            long("detail", detail, MAX_DETAIL_BYTES)?;
        }
        if self.digests.len() > MAX_DIGESTS {
            return Err(EventError::TooManyDigests {
                count: self.digests.len(),
            });
        }
        for d in &self.digests {
            long("digest label", &d.of, MAX_LABEL_BYTES)?;
            let bad = |reason: String| EventError::BadDigest {
                of: d.of.clone(),
                reason,
            };
            let bytes = hex::decode(&d.value).map_err(|e| bad(format!("not hex: {e}")))?;
            if bytes.len() != d.alg.len() || d.value != hex::encode(&bytes) {
                return Err(bad(format!(
                    "a {} digest is {} lower-case hex characters",
                    d.alg,
                    d.alg.len() * 2
                )));
            }
        }
        Ok(())
    }
}
