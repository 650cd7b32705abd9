//! Who is calling: the client certificate's subject, serial and roles.
//!
//! Roles are carried as subjectAltName URIs `urn:signpad:role:<role>` with
//! `<role>` one of `host`, `admin`, `auditor`; a certificate may carry
//! several. A certificate without any role URI is authenticated but may call
//! nothing (every route declares its roles). Unknown `urn:signpad:role:`
//! values are ignored and logged.

use std::collections::BTreeSet;
use std::fmt;

use der::Decode;
use serde::Serialize;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

/// Prefix of a role URI in the client certificate's subjectAltName.
pub const ROLE_URI_PREFIX: &str = "urn:signpad:role:";

/// What a client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Branch application: creates and watches signing sessions.
    Host,
    /// Administrator: manages the pad.
    Admin,
    /// Auditor: read-only status, metrics and audit.
    Auditor,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Admin => "admin",
            Self::Auditor => "auditor",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "host" => Some(Self::Host),
            "admin" => Some(Self::Admin),
            "auditor" => Some(Self::Auditor),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated client of one connection (for checks and the audit log).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct ClientIdentity {
    /// RFC 4514 subject of the client certificate.
    pub subject: String,
    /// Serial number of the client certificate, lower-case hex.
    pub serial: String,
    /// RFC 4514 issuer (with `serial`, names the certificate uniquely).
    pub issuer: String,
    #[schema(value_type = Vec<Role>)]
    pub roles: BTreeSet<Role>,
}

impl ClientIdentity {
    /// Reads identity and roles from a DER client certificate (already
    /// verified by the TLS layer).
    pub fn from_der(der: &[u8]) -> Result<Self, der::Error> {
        let cert = Certificate::from_der(der)?;
        let tbs = &cert.tbs_certificate;
        let mut roles = BTreeSet::new();
        if let Some(exts) = &tbs.extensions {
            for ext in exts {
                if ext.extn_id != SUBJECT_ALT_NAME {
                    continue;
                }
                let san = SubjectAltName::from_der(ext.extn_value.as_bytes())?;
                for name in san.0 {
                    if let GeneralName::UniformResourceIdentifier(uri) = name {
                        if let Some(role) = uri.as_str().strip_prefix(ROLE_URI_PREFIX) {
                            match Role::from_name(role) {
                                Some(r) => {
                                    roles.insert(r);
                                }
                                None => tracing::warn!(role, "unknown role URI ignored"),
                            }
                        }
                    }
                }
            }
        }
        Ok(Self {
            subject: tbs.subject.to_string(),
            serial: hex::encode(tbs.serial_number.as_bytes()),
            issuer: tbs.issuer.to_string(),
            roles,
        })
    }

    pub fn has_any(&self, allowed: &[Role]) -> bool {
        allowed.iter().any(|r| self.roles.contains(r))
    }

    /// Short form for logs: `subject (serial)`.
    pub fn label(&self) -> String {
        format!("{} (serial {})", self.subject, self.serial)
    }
}

/// id-ce-subjectAltName.
const SUBJECT_ALT_NAME: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.17");
