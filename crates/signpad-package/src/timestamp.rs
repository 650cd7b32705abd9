//! RFC 3161 timestamp tokens carried as the unsigned attribute
//! `id-aa-timeStampToken`: reading and checking them.
//!
//! A token proves that the pad's signature value existed at the TSA's
//! `genTime`. It is a CMS `SignedData` whose encapsulated content is a
//! `TSTInfo`; its `messageImprint` must be the hash of the package's
//! SignerInfo signature value (RFC 3161 appendix A).

use std::time::SystemTime;

use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{GeneralizedTime, Int, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::Extensions;
use x509_cert::Certificate;

use crate::algorithm::{self, SignatureCheck};
use crate::error::TimestampError;
use crate::oids;
use crate::package::{decode_signed_data, fmt_time};

/// `id-ct-TSTInfo` (RFC 3161).
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }`
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub(crate) struct MessageImprint {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

/// `Accuracy` (RFC 3161 section 2.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub(crate) struct Accuracy {
    #[asn1(optional = "true")]
    pub seconds: Option<u64>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

fn default_false() -> bool {
    false
}

/// `TSTInfo` (RFC 3161 section 2.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub(crate) struct TstInfo {
    pub version: u8,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: GeneralizedTime,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "default_false")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// A checked timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// When the TSA saw the signature.
    pub gen_time: SystemTime,
    pub policy: ObjectIdentifier,
    /// Token serial number, hex.
    pub serial: String,
    /// The TSA certificate that signed the token. Whether this TSA is one
    /// you trust is for the caller to decide (compare subject/fingerprint).
    pub tsa_certificate: Certificate,
    /// Whether the TSA certificate is (or was issued by) one of the TSA
    /// roots given to [`crate::Verifier::with_tsa_roots`].
    pub tsa_trusted: bool,
}

/// Unverified facts of a token for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TstInfoSummary {
    pub gen_time: String,
    pub policy: String,
    pub serial: String,
}

impl TstInfoSummary {
    pub fn read(token: &[u8]) -> Option<Self> {
        let sd = decode_signed_data(token).ok()?;
        let (_, info) = tst_info(&sd).ok()?;
        Some(Self {
            gen_time: fmt_time(info.gen_time.to_system_time()),
            policy: info.policy.to_string(),
            serial: hex::encode(info.serial_number.as_bytes()),
        })
    }
}

fn malformed(what: &str) -> impl Fn(der::Error) -> TimestampError + '_ {
    move |e| TimestampError::Malformed(format!("{what}: {e}"))
}

/// The encapsulated TSTInfo: its DER bytes and its decoded value.
fn tst_info(sd: &SignedData) -> Result<(Vec<u8>, TstInfo), TimestampError> {
    let eci = &sd.encap_content_info;
    if eci.econtent_type != ID_CT_TST_INFO {
        return Err(TimestampError::Malformed(format!(
            "content type {} is not id-ct-TSTInfo",
            eci.econtent_type
        )));
    }
    let content = eci
        .econtent
        .as_ref()
        .ok_or_else(|| TimestampError::Malformed("no TSTInfo content".into()))?;
    let octets: OctetString = content.decode_as().map_err(malformed("eContent"))?;
    let bytes = octets.as_bytes().to_vec();
    let info = TstInfo::from_der(&bytes).map_err(malformed("TSTInfo"))?;
    if info.version != 1 {
        return Err(TimestampError::Malformed(format!(
            "TSTInfo version {} (expected 1)",
            info.version
        )));
    }
    Ok((bytes, info))
}

/// Checks a `TimeStampToken` against the signature value it should cover.
///
/// Checks: structure; `messageImprint` equals the hash of `signature_value`;
/// the token's own SignedData signature (RSA PKCS #1 v1.5 or ECDSA P-256) with
/// the TSA certificate the token carries; its `messageDigest` attribute
/// against the TSTInfo; `genTime` inside the TSA certificate's validity.
pub fn verify_timestamp_token(
    token: &[u8],
    signature_value: &[u8],
) -> Result<VerifiedTimestamp, TimestampError> {
    let sd = decode_signed_data(token).map_err(|e| TimestampError::Malformed(e.to_string()))?;
    let (tst_der, info) = tst_info(&sd)?;

    imprint_matches(&info, signature_value)?;

    if sd.signer_infos.0.len() != 1 {
        return Err(TimestampError::Malformed(format!(
            "{} signers (expected 1)",
            sd.signer_infos.0.len()
        )));
    }
    let Some(si) = sd.signer_infos.0.get(0) else {
        return Err(TimestampError::Malformed("no signer".into()));
    };
    let SignerIdentifier::IssuerAndSerialNumber(ias) = &si.sid else {
        return Err(TimestampError::Unsupported(
            "a signer identified by subject key identifier".into(),
        ));
    };
    let cert = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .find_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c)
                if c.tbs_certificate.issuer == ias.issuer
                    && c.tbs_certificate.serial_number == ias.serial_number =>
            {
                Some(c.clone())
            }
            _ => None,
        })
        .ok_or(TimestampError::TsaCertificateMissing)?;

    let digest = algorithm::digest_from_identifier(&si.digest_alg)
        .map_err(|oid| TimestampError::Unsupported(format!("digest algorithm {oid}")))?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| TimestampError::Malformed("no signed attributes".into()))?;
    let attr = |oid: ObjectIdentifier| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.get(0))
            .ok_or_else(|| TimestampError::Malformed(format!("signed attribute {oid} missing")))
    };
    let ct: ObjectIdentifier = attr(oids::ID_CONTENT_TYPE)?
        .decode_as()
        .map_err(malformed("contentType"))?;
    if ct != ID_CT_TST_INFO {
        return Err(TimestampError::Malformed(format!(
            "contentType attribute {ct} is not id-ct-TSTInfo"
        )));
    }
    let md: OctetString = attr(oids::ID_MESSAGE_DIGEST)?
        .decode_as()
        .map_err(malformed("messageDigest"))?;
    if md.as_bytes() != digest.hash(&tst_der).as_slice() {
        return Err(TimestampError::ContentDigestMismatch);
    }

    let signed = attrs.to_der().map_err(malformed("signed attributes"))?;
    let (scheme, sig_digest) =
        algorithm::signature_scheme(&si.signature_algorithm.oid, Some(digest)).map_err(
            |e| match e {
                SignatureCheck::Unsupported(s) => TimestampError::Unsupported(s),
                SignatureCheck::Bad => TimestampError::BadSignature,
            },
        )?;
    algorithm::verify_signature(
        &cert.tbs_certificate.subject_public_key_info,
        scheme,
        sig_digest,
        &signed,
        si.signature.as_bytes(),
    )
    .map_err(|e| match e {
        SignatureCheck::Unsupported(s) => TimestampError::Unsupported(s),
        SignatureCheck::Bad => TimestampError::BadSignature,
    })?;

    let gen_time = info.gen_time.to_system_time();
    let validity = &cert.tbs_certificate.validity;
    let nb = validity.not_before.to_system_time();
    let na = validity.not_after.to_system_time();
    if gen_time < nb || gen_time > na {
        return Err(TimestampError::TsaCertificateExpired {
            gen_time: fmt_time(gen_time),
            not_before: fmt_time(nb),
            not_after: fmt_time(na),
        });
    }

    Ok(VerifiedTimestamp {
        gen_time,
        policy: info.policy,
        serial: hex::encode(info.serial_number.as_bytes()),
        tsa_certificate: cert,
        tsa_trusted: false,
    })
}

/// Checks only that a token is a TSTInfo token whose imprint covers
/// `signature_value` (used when attaching a token).
pub(crate) fn check_imprint(token: &[u8], signature_value: &[u8]) -> Result<(), TimestampError> {
    let sd = decode_signed_data(token).map_err(|e| TimestampError::Malformed(e.to_string()))?;
    let (_, info) = tst_info(&sd)?;
    imprint_matches(&info, signature_value)
}

fn imprint_matches(info: &TstInfo, signature_value: &[u8]) -> Result<(), TimestampError> {
    let imprint_alg = algorithm::digest_from_identifier(&info.message_imprint.hash_algorithm)
        .map_err(|oid| TimestampError::Unsupported(format!("imprint hash {oid}")))?;
    let expected = imprint_alg.hash(signature_value);
    let found = info.message_imprint.hashed_message.as_bytes();
    if expected != found {
        return Err(TimestampError::ImprintMismatch {
            expected: hex::encode(expected),
            found: hex::encode(found),
        });
    }
    Ok(())
}
