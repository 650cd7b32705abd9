//! The ceremony record: what the pad showed, how the signer authenticated and
//! how the signature was captured, carried as a signed attribute
//! (`oids::ATTR_CEREMONY_RECORD`). It never holds secrets (PINs, codes,
//! templates): only which factors were used.
//!
//! ASN.1 (module in `docs/package-format.md`):
//!
//! ```text
//! CeremonyRecord ::= SEQUENCE {
//!     version          INTEGER { v1(1) },
//!     padSerial        UTF8String (SIZE (1..64)),
//!     sessionId        OCTET STRING (SIZE (16)),
//!     documentTitle    UTF8String,
//!     pagesShown       SEQUENCE OF DigestInfo,
//!     authFactors      SEQUENCE OF AuthFactorUse,
//!     training         BOOLEAN,
//!     capture          CaptureStatistics,
//!     softwareVersion  UTF8String }
//! ```

use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use serde::{Deserialize, Serialize};
use signpad_types::{DigestAlgorithm, DocumentDigest, PadSerial, SessionId};
use spki::AlgorithmIdentifierOwned;

use crate::algorithm;

/// Errors in a ceremony record read from a package or given to the builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CeremonyError {
    #[error("ceremony record is not valid DER: {0}")]
    Der(String),
    #[error("ceremony record version {0} is not supported (this software reads version 1); upgrade signpad")]
    UnsupportedVersion(u32),
    #[error("ceremony record pad serial is invalid: {0}")]
    PadSerial(String),
    #[error("ceremony record session id has {0} bytes, expected 16")]
    SessionIdLength(usize),
    #[error("ceremony record page {page}: {detail}")]
    PageDigest { page: usize, detail: String },
    #[error("ceremony record auth factor {index}: {oid} is not a known factor (expected an arc under {arc})")]
    UnknownAuthFactor {
        index: usize,
        oid: String,
        arc: ObjectIdentifier,
    },
    #[error("ceremony record auth factor {index} has an invalid OID \"{oid}\"")]
    BadAuthFactorOid { index: usize, oid: String },
}

/// An authentication factor the signer passed. Identified on the wire by an
/// OID under `oids::AUTH_FACTOR_ARC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthFactor {
    /// PIN or password (arc .1).
    Pin,
    /// One-time code sent out of band (arc .2).
    OneTimeCode,
    /// RFC 6238 TOTP (arc .3).
    Totp,
    /// Fingerprint match (arc .4).
    Fingerprint,
    /// Handwritten-signature dynamics matched against an enrolled reference
    /// (arc .5).
    SignatureDynamics,
}

impl AuthFactor {
    const ALL: [Self; 5] = [
        Self::Pin,
        Self::OneTimeCode,
        Self::Totp,
        Self::Fingerprint,
        Self::SignatureDynamics,
    ];

    /// Last arc of the factor's OID under `oids::AUTH_FACTOR_ARC`.
    pub const fn arc(&self) -> u32 {
        match self {
            Self::Pin => 1,
            Self::OneTimeCode => 2,
            Self::Totp => 3,
            Self::Fingerprint => 4,
            Self::SignatureDynamics => 5,
        }
    }

    /// The factor's OID.
    pub fn oid(&self) -> Result<ObjectIdentifier, der::Error> {
        crate::oids::AUTH_FACTOR_ARC
            .push_arc(self.arc())
            .map_err(|_| der::Error::from(der::ErrorKind::OidMalformed))
    }

    fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        if oid.parent() != Some(crate::oids::AUTH_FACTOR_ARC) {
            return None;
        }
        let last = oid.arcs().last()?;
        Self::ALL.into_iter().find(|f| f.arc() == last)
    }
}

/// One factor used, with an optional non-secret detail (e.g. "right index",
/// "score 0.93"). Never a PIN, code or template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthFactorUse {
    pub factor: AuthFactor,
    pub detail: Option<String>,
}

/// Statistics of the pen capture.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CaptureStatistics {
    pub sample_count: u32,
    pub duration_ms: u32,
    pub stroke_count: u32,
    /// Number of `SYN_DROPPED` gaps (events lost and re-synchronised).
    pub gap_count: u32,
    /// Digitizer name as reported by the kernel.
    pub device_name: String,
}

/// The ceremony record of one signing session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeremonyRecord {
    pub pad_serial: PadSerial,
    pub session_id: SessionId,
    pub document_title: String,
    /// Digests of the exact page images (or PDF) shown, in display order.
    pub pages_shown: Vec<DocumentDigest>,
    pub auth_factors: Vec<AuthFactorUse>,
    /// Training mode: the package is not a binding signature.
    pub training: bool,
    pub capture: CaptureStatistics,
    /// Version of the pad software that ran the ceremony.
    pub software_version: String,
}

impl CeremonyRecord {
    /// The record version this crate writes and reads.
    pub const VERSION: u32 = 1;

    /// DER encoding of the record.
    pub fn to_der(&self) -> Result<Vec<u8>, der::Error> {
        let pages = self
            .pages_shown
            .iter()
            .map(|p| DigestInfo::new(p.algorithm(), p.as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        let factors = self
            .auth_factors
            .iter()
            .map(|f| {
                Ok(AuthFactorUseAsn1 {
                    factor: f.factor.oid()?,
                    detail: f.detail.clone(),
                })
            })
            .collect::<Result<Vec<_>, der::Error>>()?;
        CeremonyRecordAsn1 {
            version: Self::VERSION,
            pad_serial: self.pad_serial.as_str().to_owned(),
            session_id: OctetString::new(self.session_id.as_bytes().to_vec())?,
            document_title: self.document_title.clone(),
            pages_shown: pages,
            auth_factors: factors,
            training: self.training,
            capture: CaptureStatisticsAsn1 {
                sample_count: self.capture.sample_count,
                duration_ms: self.capture.duration_ms,
                stroke_count: self.capture.stroke_count,
                gap_count: self.capture.gap_count,
                device_name: self.capture.device_name.clone(),
            },
            software_version: self.software_version.clone(),
        }
        .to_der()
    }

    /// Decodes and validates a DER record.
    pub fn from_der(bytes: &[u8]) -> Result<Self, CeremonyError> {
        let asn1 =
            CeremonyRecordAsn1::from_der(bytes).map_err(|e| CeremonyError::Der(e.to_string()))?;
        if asn1.version != Self::VERSION {
            return Err(CeremonyError::UnsupportedVersion(asn1.version));
        }
        let pad_serial = PadSerial::new(&asn1.pad_serial)
            .map_err(|e| CeremonyError::PadSerial(e.to_string()))?;
        let id = asn1.session_id.as_bytes();
        let id: [u8; 16] = id
            .try_into()
            .map_err(|_| CeremonyError::SessionIdLength(id.len()))?;
        let pages_shown = asn1
            .pages_shown
            .iter()
            .enumerate()
            .map(|(i, p)| {
                p.to_document_digest()
                    .map_err(|detail| CeremonyError::PageDigest {
                        page: i + 1,
                        detail,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let auth_factors = asn1
            .auth_factors
            .into_iter()
            .enumerate()
            .map(|(index, f)| {
                let factor =
                    AuthFactor::from_oid(&f.factor).ok_or(CeremonyError::UnknownAuthFactor {
                        index,
                        oid: f.factor.to_string(),
                        arc: crate::oids::AUTH_FACTOR_ARC,
                    })?;
                Ok(AuthFactorUse {
                    factor,
                    detail: f.detail,
                })
            })
            .collect::<Result<Vec<_>, CeremonyError>>()?;
        Ok(Self {
            pad_serial,
            session_id: SessionId::from_bytes(id),
            document_title: asn1.document_title,
            pages_shown,
            auth_factors,
            training: asn1.training,
            capture: CaptureStatistics {
                sample_count: asn1.capture.sample_count,
                duration_ms: asn1.capture.duration_ms,
                stroke_count: asn1.capture.stroke_count,
                gap_count: asn1.capture.gap_count,
                device_name: asn1.capture.device_name,
            },
            software_version: asn1.software_version,
        })
    }
}

/// `DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }`
/// (the PKCS #1 structure), used for page digests and the signature-image
/// digest.
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub(crate) struct DigestInfo {
    pub digest_algorithm: AlgorithmIdentifierOwned,
    pub digest: OctetString,
}

impl DigestInfo {
    pub fn new(algorithm: DigestAlgorithm, digest: &[u8]) -> Result<Self, der::Error> {
        Ok(Self {
            digest_algorithm: algorithm::digest_algorithm_identifier(algorithm),
            digest: OctetString::new(digest.to_vec())?,
        })
    }

    pub fn to_document_digest(&self) -> Result<DocumentDigest, String> {
        let alg = algorithm::digest_from_identifier(&self.digest_algorithm)
            .map_err(|oid| format!("unsupported digest algorithm {oid}"))?;
        DocumentDigest::new(alg, self.digest.as_bytes().to_vec()).map_err(|e| e.to_string())
    }
}

#[derive(Sequence)]
struct AuthFactorUseAsn1 {
    factor: ObjectIdentifier,
    #[asn1(optional = "true")]
    detail: Option<String>,
}

#[derive(Sequence)]
struct CaptureStatisticsAsn1 {
    sample_count: u32,
    duration_ms: u32,
    stroke_count: u32,
    gap_count: u32,
    device_name: String,
}

#[derive(Sequence)]
struct CeremonyRecordAsn1 {
    version: u32,
    pad_serial: String,
    session_id: OctetString,
    document_title: String,
    pages_shown: Vec<DigestInfo>,
    auth_factors: Vec<AuthFactorUseAsn1>,
    training: bool,
    capture: CaptureStatisticsAsn1,
    software_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> CeremonyRecord {
        CeremonyRecord {
            pad_serial: PadSerial::new("SP-0001").unwrap(),
            session_id: SessionId::from_bytes([7; 16]),
            document_title: "Loan agreement №42".into(),
            pages_shown: vec![DocumentDigest::of(DigestAlgorithm::Sha256, b"page 1")],
            auth_factors: vec![AuthFactorUse {
                factor: AuthFactor::Pin,
                detail: None,
            }],
            training: false,
            capture: CaptureStatistics {
                sample_count: 1000,
                duration_ms: 5000,
                stroke_count: 4,
                gap_count: 0,
                device_name: "Wacom Pen".into(),
            },
            software_version: "0.1.0".into(),
        }
    }

    #[test]
    fn record_round_trips_through_der() {
        let r = sample();
        assert_eq!(CeremonyRecord::from_der(&r.to_der().unwrap()).unwrap(), r);
    }

    #[test]
    fn wrong_version_is_rejected() {
        let mut der = sample().to_der().unwrap();
        // SEQUENCE header is 2 or 3 bytes; version INTEGER follows: 02 01 01.
        let pos = der.windows(3).position(|w| w == [2, 1, 1]).unwrap();
        der[pos + 2] = 2;
        assert_eq!(
            CeremonyRecord::from_der(&der),
            Err(CeremonyError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn auth_factor_oids_are_under_the_signpad_arc() {
        for f in AuthFactor::ALL {
            let oid = f.oid().unwrap();
            assert_eq!(oid.parent(), Some(crate::oids::AUTH_FACTOR_ARC));
            assert_eq!(AuthFactor::from_oid(&oid), Some(f));
        }
    }

    fn factor() -> impl Strategy<Value = AuthFactor> {
        prop::sample::select(AuthFactor::ALL.to_vec())
    }

    fn digest() -> impl Strategy<Value = DocumentDigest> {
        (
            prop::sample::select(vec![
                DigestAlgorithm::Sha256,
                DigestAlgorithm::Sha384,
                DigestAlgorithm::Sha512,
            ]),
            any::<Vec<u8>>(),
        )
            .prop_map(|(a, data)| DocumentDigest::of(a, &data))
    }

    prop_compose! {
        fn record()(
            serial in "[A-Za-z0-9_-]{1,64}",
            id in any::<[u8; 16]>(),
            title in any::<String>(),
            pages in prop::collection::vec(digest(), 0..5),
            factors in prop::collection::vec((factor(), proptest::option::of(any::<String>())), 0..5),
            training in any::<bool>(),
            stats in any::<(u32, u32, u32, u32)>(),
            device in any::<String>(),
            version in any::<String>(),
        ) -> CeremonyRecord {
            CeremonyRecord {
                pad_serial: PadSerial::new(&serial).unwrap(),
                session_id: SessionId::from_bytes(id),
                document_title: title,
                pages_shown: pages,
                auth_factors: factors
                    .into_iter()
                    .map(|(factor, detail)| AuthFactorUse { factor, detail })
                    .collect(),
                training,
                capture: CaptureStatistics {
                    sample_count: stats.0,
                    duration_ms: stats.1,
                    stroke_count: stats.2,
                    gap_count: stats.3,
                    device_name: device,
                },
                software_version: version,
            }
        }
    }

    proptest! {
        #[test]
        fn any_record_round_trips(r in record()) {
            let der = r.to_der().unwrap();
            prop_assert_eq!(CeremonyRecord::from_der(&der).unwrap(), r);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in any::<Vec<u8>>()) {
            let _ = CeremonyRecord::from_der(&bytes);
        }
    }
}
