//! Reading a package: structure, algorithms and attributes, no trust
//! decisions (those are in [`crate::verify`]).

use std::time::SystemTime;

use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode};
use serde::{Deserialize, Serialize};
use signpad_types::{DigestAlgorithm, DocumentDigest};
use x509_cert::attr::Attributes;
use x509_cert::time::Time;
use x509_cert::Certificate;

use crate::algorithm;
use crate::ceremony::{CeremonyRecord, DigestInfo};
use crate::error::PackageError;
use crate::limits::Limits;
use crate::oids;

/// Digest of the rendered signature image (the PNG returned beside the
/// package), carried as the `oids::ATTR_SIGNATURE_IMAGE_DIGEST` attribute
/// in a `DigestInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureImageDigest(pub DocumentDigest);

impl SignatureImageDigest {
    /// SHA-256 of the PNG bytes.
    pub fn of_png(png: &[u8]) -> Self {
        Self(DocumentDigest::of(DigestAlgorithm::Sha256, png))
    }

    /// Whether `png` is the image this digest names.
    pub fn matches(&self, png: &[u8]) -> bool {
        self.0.algorithm().hash(png) == self.0.as_bytes()
    }
}

/// A parsed signature package. Parsing checks the structure only; use
/// [`crate::verify`] to decide whether to trust it.
#[derive(Debug, Clone)]
pub struct Package {
    size: usize,
    certificates: Vec<Certificate>,
    pad_certificate: Certificate,
    signer_info: SignerInfo,
    signed_attrs_der: Vec<u8>,
    digest_algorithm: DigestAlgorithm,
    message_digest: Vec<u8>,
    signing_time: SystemTime,
    ceremony: CeremonyRecord,
    biometric_envelope: Vec<u8>,
    signature_image: SignatureImageDigest,
    timestamp_token: Option<Vec<u8>>,
}

pub(crate) fn der_error(e: der::Error) -> PackageError {
    match e.kind() {
        der::ErrorKind::Incomplete { .. } => PackageError::Truncated {
            detail: e.to_string(),
        },
        _ => PackageError::Garbage {
            detail: e.to_string(),
        },
    }
}

/// Decodes an `Any` as a type that may be a CHOICE (which `Any::decode_as`
/// does not support).
pub(crate) fn decode_any<T: for<'a> Decode<'a>>(any: &Any) -> der::Result<T> {
    T::from_der(&any.to_der()?)
}

/// Formats a time for messages and reports (RFC 3339, UTC).
pub(crate) fn fmt_time(t: SystemTime) -> String {
    der::DateTime::from_system_time(t)
        .map(|d| d.to_string())
        .unwrap_or_else(|_| format!("{t:?}"))
}

/// Decodes the outer `ContentInfo` and its `SignedData`.
pub(crate) fn decode_signed_data(der_bytes: &[u8]) -> Result<SignedData, PackageError> {
    let ci = ContentInfo::from_der(der_bytes).map_err(der_error)?;
    if ci.content_type != oids::ID_SIGNED_DATA {
        return Err(PackageError::WrongContentType {
            place: "ContentInfo",
            found: ci.content_type,
            expected: oids::ID_SIGNED_DATA,
        });
    }
    ci.content
        .decode_as::<SignedData>()
        .map_err(|e| PackageError::Garbage {
            detail: format!("SignedData: {e}"),
        })
}

/// Finds the single value of attribute `oid`, rejecting repeats.
fn single_value<'a>(
    attrs: &'a Attributes,
    oid: ObjectIdentifier,
    name: &'static str,
) -> Result<Option<&'a Any>, PackageError> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.oid == oid) {
        if found.is_some() || attr.values.len() != 1 {
            return Err(PackageError::DuplicateAttribute { name, oid });
        }
        found = attr.values.get(0);
    }
    Ok(found)
}

fn required<'a>(
    attrs: &'a Attributes,
    oid: ObjectIdentifier,
    name: &'static str,
) -> Result<&'a Any, PackageError> {
    single_value(attrs, oid, name)?.ok_or(PackageError::MissingAttribute { name, oid })
}

fn malformed(name: &'static str) -> impl Fn(der::Error) -> PackageError {
    move |e| PackageError::MalformedAttribute {
        name,
        detail: e.to_string(),
    }
}

impl Package {
    /// Parses a DER package, enforcing `limits`.
    pub fn parse(der_bytes: &[u8], limits: &Limits) -> Result<Self, PackageError> {
        if der_bytes.len() > limits.max_package_bytes {
            return Err(PackageError::Oversized {
                size: der_bytes.len(),
                limit: limits.max_package_bytes,
            });
        }
        let sd = decode_signed_data(der_bytes)?;
        if sd.version != CmsVersion::V1 {
            return Err(PackageError::UnsupportedVersion {
                place: "SignedData",
                found: sd.version as u8,
                expected: 1,
            });
        }
        if sd.encap_content_info.econtent_type != oids::ID_DATA {
            return Err(PackageError::WrongContentType {
                place: "SignedData eContentType",
                found: sd.encap_content_info.econtent_type,
                expected: oids::ID_DATA,
            });
        }
        if sd.encap_content_info.econtent.is_some() {
            return Err(PackageError::NotDetached);
        }
        if sd.signer_infos.0.len() != 1 {
            return Err(PackageError::SignerCount(sd.signer_infos.0.len()));
        }
        let Some(si) = sd.signer_infos.0.get(0).cloned() else {
            return Err(PackageError::SignerCount(0));
        };
        if si.version != CmsVersion::V1 {
            return Err(PackageError::UnsupportedVersion {
                place: "SignerInfo",
                found: si.version as u8,
                expected: 1,
            });
        }

        // Algorithms: the signer's digest, listed in digestAlgorithms, with
        // the matching ECDSA signature algorithm.
        let digest_algorithm =
            algorithm::digest_from_identifier(&si.digest_alg).map_err(|oid| {
                PackageError::UnsupportedDigestAlgorithm {
                    place: "SignerInfo digestAlgorithm",
                    oid,
                }
            })?;
        for listed in sd.digest_algorithms.iter() {
            match algorithm::digest_from_identifier(listed) {
                Ok(a) if a == digest_algorithm => {}
                Ok(a) => {
                    return Err(PackageError::InconsistentDigestAlgorithm {
                        place: "SignedData digestAlgorithms",
                        signer: digest_algorithm,
                        other: a.to_string(),
                    })
                }
                Err(oid) => {
                    return Err(PackageError::UnsupportedDigestAlgorithm {
                        place: "SignedData digestAlgorithms",
                        oid,
                    })
                }
            }
        }
        if sd.digest_algorithms.is_empty() {
            return Err(PackageError::InconsistentDigestAlgorithm {
                place: "SignedData digestAlgorithms",
                signer: digest_algorithm,
                other: "nothing".to_owned(),
            });
        }
        let sig_oid = si.signature_algorithm.oid;
        if sig_oid != algorithm::ecdsa_oid(digest_algorithm) {
            return Err(PackageError::UnsupportedSignatureAlgorithm {
                oid: sig_oid,
                digest: digest_algorithm,
            });
        }

        // Certificates and the pad certificate.
        let certificates: Vec<Certificate> = sd
            .certificates
            .as_ref()
            .map(|set| {
                set.0
                    .iter()
                    .filter_map(|c| match c {
                        CertificateChoices::Certificate(c) => Some(c.clone()),
                        CertificateChoices::Other(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        if certificates.len() > limits.max_certificates {
            return Err(PackageError::TooManyCertificates {
                count: certificates.len(),
                limit: limits.max_certificates,
            });
        }
        let SignerIdentifier::IssuerAndSerialNumber(ias) = &si.sid else {
            return Err(PackageError::UnsupportedSignerIdentifier);
        };
        let pad_certificate = certificates
            .iter()
            .find(|c| {
                c.tbs_certificate.issuer == ias.issuer
                    && c.tbs_certificate.serial_number == ias.serial_number
            })
            .cloned()
            .ok_or_else(|| PackageError::SignerCertificateMissing {
                issuer: ias.issuer.to_string(),
                serial: hex::encode(ias.serial_number.as_bytes()),
            })?;

        // Signed attributes.
        let attrs = si
            .signed_attrs
            .as_ref()
            .filter(|a| !a.is_empty())
            .ok_or(PackageError::NoSignedAttributes)?;
        let signed_attrs_der = attrs.to_der().map_err(der_error)?;

        let content_type: ObjectIdentifier = required(attrs, oids::ID_CONTENT_TYPE, "contentType")?
            .decode_as()
            .map_err(malformed("contentType"))?;
        if content_type != oids::ID_DATA {
            return Err(PackageError::WrongContentType {
                place: "contentType attribute",
                found: content_type,
                expected: oids::ID_DATA,
            });
        }

        let md: OctetString = required(attrs, oids::ID_MESSAGE_DIGEST, "messageDigest")?
            .decode_as()
            .map_err(malformed("messageDigest"))?;
        if md.as_bytes().len() != digest_algorithm.len() {
            return Err(PackageError::MalformedAttribute {
                name: "messageDigest",
                detail: format!(
                    "{} bytes, but a {digest_algorithm} digest has {}",
                    md.as_bytes().len(),
                    digest_algorithm.len()
                ),
            });
        }

        let signing_time: Time = decode_any(required(attrs, oids::ID_SIGNING_TIME, "signingTime")?)
            .map_err(malformed("signingTime"))?;

        let ceremony_der = required(attrs, oids::ATTR_CEREMONY_RECORD, "ceremonyRecord")?
            .to_der()
            .map_err(malformed("ceremonyRecord"))?;
        let ceremony = CeremonyRecord::from_der(&ceremony_der)?;

        let envelope_any = required(attrs, oids::ATTR_BIOMETRIC_ENVELOPE, "biometricEnvelope")?;
        let biometric_envelope = envelope_any
            .to_der()
            .map_err(malformed("biometricEnvelope"))?;
        let envelope_ci: ContentInfo = envelope_any
            .decode_as()
            .map_err(malformed("biometricEnvelope"))?;
        if envelope_ci.content_type != oids::ID_ENVELOPED_DATA {
            return Err(PackageError::MalformedAttribute {
                name: "biometricEnvelope",
                detail: format!(
                    "content type {} is not id-envelopedData ({})",
                    envelope_ci.content_type,
                    oids::ID_ENVELOPED_DATA
                ),
            });
        }

        let image: DigestInfo = required(
            attrs,
            oids::ATTR_SIGNATURE_IMAGE_DIGEST,
            "signatureImageDigest",
        )?
        .decode_as()
        .map_err(malformed("signatureImageDigest"))?;
        let signature_image =
            SignatureImageDigest(image.to_document_digest().map_err(|detail| {
                PackageError::MalformedAttribute {
                    name: "signatureImageDigest",
                    detail,
                }
            })?);

        // Unsigned attributes: only the timestamp token is interpreted.
        let timestamp_token = match &si.unsigned_attrs {
            Some(attrs) => single_value(attrs, oids::ID_AA_TIME_STAMP_TOKEN, "timeStampToken")?
                .map(|any| any.to_der().map_err(malformed("timeStampToken")))
                .transpose()?,
            None => None,
        };

        Ok(Self {
            size: der_bytes.len(),
            certificates,
            pad_certificate,
            signed_attrs_der,
            digest_algorithm,
            message_digest: md.as_bytes().to_vec(),
            signing_time: signing_time.to_system_time(),
            ceremony,
            biometric_envelope,
            signature_image,
            timestamp_token,
            signer_info: si,
        })
    }

    /// Size of the DER package in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// All certificates the package carries (pad certificate and
    /// intermediates, in the package's DER order).
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// The certificate of the pad that signed.
    pub fn pad_certificate(&self) -> &Certificate {
        &self.pad_certificate
    }

    /// The signing time the pad asserted (signed attribute).
    pub fn signing_time(&self) -> SystemTime {
        self.signing_time
    }

    /// Digest algorithm of the document digest and of the signature.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest_algorithm
    }

    /// The signed document digest (`messageDigest`).
    pub fn document_digest(&self) -> Result<DocumentDigest, PackageError> {
        DocumentDigest::new(self.digest_algorithm, self.message_digest.clone()).map_err(|e| {
            PackageError::MalformedAttribute {
                name: "messageDigest",
                detail: e.to_string(),
            }
        })
    }

    /// The signed `messageDigest` bytes.
    pub fn message_digest(&self) -> &[u8] {
        &self.message_digest
    }

    pub fn ceremony_record(&self) -> &CeremonyRecord {
        &self.ceremony
    }

    /// DER `ContentInfo` holding the biometric `EnvelopedData`.
    pub fn biometric_envelope(&self) -> &[u8] {
        &self.biometric_envelope
    }

    pub fn signature_image_digest(&self) -> &SignatureImageDigest {
        &self.signature_image
    }

    /// DER RFC 3161 `TimeStampToken` (a `ContentInfo`), if one was added.
    pub fn timestamp_token(&self) -> Option<&[u8]> {
        self.timestamp_token.as_deref()
    }

    /// The SignerInfo signature value (DER `ECDSA-Sig-Value`): what a
    /// timestamp request must cover.
    pub fn signature_value(&self) -> &[u8] {
        self.signer_info.signature.as_bytes()
    }

    /// DER of the signed attributes as signed (`SET OF Attribute`).
    pub fn signed_attributes_der(&self) -> &[u8] {
        &self.signed_attrs_der
    }

    /// A serialisable summary for reports (`signpadctl inspect --json`).
    pub fn summary(&self) -> PackageSummary {
        PackageSummary {
            size_bytes: self.size,
            digest_algorithm: self.digest_algorithm,
            document_digest: hex::encode(&self.message_digest),
            signing_time: fmt_time(self.signing_time),
            pad_certificate: CertificateSummary::of(&self.pad_certificate),
            certificates: self
                .certificates
                .iter()
                .map(CertificateSummary::of)
                .collect(),
            ceremony: self.ceremony.clone(),
            biometric_envelope: EnvelopeSummary {
                size_bytes: self.biometric_envelope.len(),
                sha256: hex::encode(DigestAlgorithm::Sha256.hash(&self.biometric_envelope)),
            },
            signature_image_digest: self.signature_image.clone(),
            timestamp: self.timestamp_token.as_deref().map(|t| {
                let info = crate::timestamp::TstInfoSummary::read(t);
                TimestampSummary {
                    size_bytes: t.len(),
                    gen_time: info.as_ref().map(|i| i.gen_time.clone()),
                    policy: info.as_ref().map(|i| i.policy.clone()),
                    serial: info.map(|i| i.serial),
                    verified: false,
                }
            }),
        }
    }
}

/// A certificate as shown in reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateSummary {
    pub subject: String,
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
}

impl CertificateSummary {
    pub fn of(cert: &Certificate) -> Self {
        let tbs = &cert.tbs_certificate;
        Self {
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            serial: hex::encode(tbs.serial_number.as_bytes()),
            not_before: fmt_time(tbs.validity.not_before.to_system_time()),
            not_after: fmt_time(tbs.validity.not_after.to_system_time()),
        }
    }
}

/// The biometric envelope as shown in reports (it is encrypted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvelopeSummary {
    pub size_bytes: usize,
    pub sha256: String,
}

/// The timestamp token as shown in reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimestampSummary {
    pub size_bytes: usize,
    pub gen_time: Option<String>,
    pub policy: Option<String>,
    pub serial: Option<String>,
    /// Whether the token was checked (false in `inspect`, which checks
    /// nothing).
    pub verified: bool,
}

/// Everything in a package, for `signpadctl inspect --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageSummary {
    pub size_bytes: usize,
    pub digest_algorithm: DigestAlgorithm,
    /// `messageDigest`, hex.
    pub document_digest: String,
    pub signing_time: String,
    pub pad_certificate: CertificateSummary,
    pub certificates: Vec<CertificateSummary>,
    pub ceremony: CeremonyRecord,
    pub biometric_envelope: EnvelopeSummary,
    pub signature_image_digest: SignatureImageDigest,
    pub timestamp: Option<TimestampSummary>,
}
