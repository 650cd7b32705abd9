//! Building a package: a detached CMS SignedData (RFC 5652) whose
//! `messageDigest` is the host's document digest.

use std::time::SystemTime;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use signpad_types::DocumentDigest;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;

use crate::algorithm::{self, SignatureCheck};
use crate::ceremony::{CeremonyRecord, DigestInfo};
use crate::error::BuildError;
use crate::oids;
use crate::package::{decode_signed_data, SignatureImageDigest};
use crate::signer::PackageSigner;

/// Everything a package signs.
#[derive(Debug, Clone)]
pub struct PackageContents {
    /// The host's digest of the document; becomes `messageDigest` as is and
    /// fixes the package's digest algorithm.
    pub document_digest: DocumentDigest,
    /// When the signer confirmed (read by the caller: this crate reads no
    /// clock).
    pub signing_time: SystemTime,
    pub ceremony: CeremonyRecord,
    /// DER `ContentInfo` holding the biometric `EnvelopedData`.
    pub biometric_envelope: Vec<u8>,
    /// Digest of the rendered signature PNG.
    pub signature_image: SignatureImageDigest,
}

fn attribute(oid: der::asn1::ObjectIdentifier, value: Any) -> Result<Attribute, der::Error> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// `signingTime` as RFC 5652 section 11.3 wants it: UTCTime for 1950-2049,
/// GeneralizedTime otherwise.
fn signing_time(t: SystemTime) -> Result<Any, BuildError> {
    let time = match der::asn1::UtcTime::from_system_time(t) {
        Ok(utc) => Time::UtcTime(utc),
        Err(_) => Time::try_from(t).map_err(|e| BuildError::SigningTime(e.to_string()))?,
    };
    Ok(Any::from_der(&time.to_der()?)?)
}

/// Builds and signs a package.
///
/// The signed attributes are `contentType` (id-data), `messageDigest` (the
/// host's digest, not recomputed), `signingTime`, the ceremony record, the
/// biometric envelope and the signature-image digest, DER-sorted. The
/// signer's signature is checked against the pad certificate before the
/// package is returned.
pub fn build_package(
    contents: &PackageContents,
    signer: &dyn PackageSigner,
) -> Result<Vec<u8>, BuildError> {
    let chain = signer.certificate_chain();
    let pad_cert = chain.first().ok_or(BuildError::NoCertificate)?;
    let pad_key = algorithm::p256_key(&pad_cert.tbs_certificate.subject_public_key_info)
        .map_err(BuildError::PadKey)?;
    let alg = contents.document_digest.algorithm();

    let envelope = Any::from_der(&contents.biometric_envelope)
        .map_err(|e| BuildError::MalformedEnvelope(e.to_string()))?;
    let envelope_ci: ContentInfo = envelope
        .decode_as()
        .map_err(|e| BuildError::MalformedEnvelope(e.to_string()))?;
    if envelope_ci.content_type != oids::ID_ENVELOPED_DATA {
        return Err(BuildError::MalformedEnvelope(format!(
            "content type {} is not id-envelopedData",
            envelope_ci.content_type
        )));
    }

    let image = contents.signature_image.0.clone();
    let attrs = vec![
        attribute(oids::ID_CONTENT_TYPE, Any::encode_from(&oids::ID_DATA)?)?,
        attribute(
            oids::ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(
                contents.document_digest.as_bytes().to_vec(),
            )?)?,
        )?,
        attribute(oids::ID_SIGNING_TIME, signing_time(contents.signing_time)?)?,
        attribute(
            oids::ATTR_CEREMONY_RECORD,
            Any::from_der(&contents.ceremony.to_der()?)?,
        )?,
        attribute(oids::ATTR_BIOMETRIC_ENVELOPE, envelope)?,
        attribute(
            oids::ATTR_SIGNATURE_IMAGE_DIGEST,
            Any::encode_from(&DigestInfo::new(image.algorithm(), image.as_bytes())?)?,
        )?,
    ];
    // SetOfVec sorts by DER encoding (X.690 11.6), which is what the
    // signature covers and what verifiers re-encode.
    let signed_attrs = SetOfVec::try_from(attrs)?;
    let to_sign = signed_attrs.to_der()?;
    let prehash = alg.hash(&to_sign);
    let signature = signer.sign_digest(alg, &prehash)?;
    algorithm::verify_p256_prehash(&pad_key, &prehash, &signature).map_err(|e| {
        BuildError::SignerKeyMismatch(match e {
            SignatureCheck::Bad => "signature does not verify".into(),
            SignatureCheck::Unsupported(s) => s,
        })
    })?;

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: pad_cert.tbs_certificate.issuer.clone(),
            serial_number: pad_cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: algorithm::digest_algorithm_identifier(alg),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: algorithm::ecdsa_algorithm_identifier(alg),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let certificates = CertificateSet::try_from(
        chain
            .iter()
            .cloned()
            .map(CertificateChoices::Certificate)
            .collect::<Vec<_>>(),
    )?;
    // RFC 5652 5.1: version 1 (no attribute or other certificates or
    // revocation formats, eContentType id-data, all SignerInfos version 1).
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![algorithm::digest_algorithm_identifier(alg)])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oids::ID_DATA,
            econtent: None,
        },
        certificates: Some(certificates),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info])?,
    };
    Ok(ContentInfo {
        content_type: oids::ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    }
    .to_der()?)
}

/// Adds (or replaces) the RFC 3161 timestamp token as the unsigned
/// attribute `id-aa-timeStampToken`. The token's `messageImprint` must be
/// the hash of the package's signature value
/// ([`crate::Package::signature_value`]). The signed part of the package is
/// unchanged.
pub fn add_timestamp_token(package: &[u8], token_der: &[u8]) -> Result<Vec<u8>, BuildError> {
    let mut sd = decode_signed_data(package).map_err(|e| BuildError::Package(Box::new(e)))?;
    let token =
        Any::from_der(token_der).map_err(|e| BuildError::MalformedTimestampToken(e.to_string()))?;
    let mut infos: Vec<SignerInfo> = sd.signer_infos.0.into_vec();
    let [si] = infos.as_mut_slice() else {
        return Err(BuildError::Package(Box::new(
            crate::error::PackageError::SignerCount(infos.len()),
        )));
    };
    crate::timestamp::check_imprint(token_der, si.signature.as_bytes())
        .map_err(|e| BuildError::TimestampMismatch(e.to_string()))?;
    let mut unsigned: Vec<Attribute> = si
        .unsigned_attrs
        .take()
        .map(|a| a.into_vec())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.oid != oids::ID_AA_TIME_STAMP_TOKEN)
        .collect();
    unsigned.push(attribute(oids::ID_AA_TIME_STAMP_TOKEN, token)?);
    si.unsigned_attrs = Some(SetOfVec::try_from(unsigned)?);
    sd.signer_infos = SignerInfos::try_from(infos)?;
    Ok(ContentInfo {
        content_type: oids::ID_SIGNED_DATA,
        content: Any::encode_from(&sd)?,
    }
    .to_der()?)
}
