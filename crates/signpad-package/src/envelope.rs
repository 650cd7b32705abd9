//! The biometric envelope: the ISO/IEC 19794-7 record, bound to the document
//! digest and the session id, encrypted to the escrow (examiner) certificate.
//!
//! ```text
//! ContentInfo { id-envelopedData, EnvelopedData {
//!     version 0,
//!     recipientInfos { ktri { version 0, issuerAndSerialNumber of the escrow cert,
//!                             id-RSAES-OAEP (SHA-256, MGF1-SHA-256), encryptedKey } },
//!     encryptedContentInfo { contentType signpad-biometric-payload,
//!                            aes256-CBC (IV), encryptedContent } } }
//!
//! BiometricPayload ::= SEQUENCE {
//!     version         INTEGER (1),
//!     documentDigest  SEQUENCE { algorithm OBJECT IDENTIFIER, digest OCTET STRING },
//!     sessionId       OCTET STRING (SIZE (16)),
//!     isoRecord       OCTET STRING }  -- ISO/IEC 19794-7:2007 record
//! ```
//!
//! `openssl cms -decrypt -inform DER -recip escrow.pem -inkey escrow-key.pem
//! -binary` yields the DER `BiometricPayload`. The payload carries the
//! document digest and session id, so an envelope lifted into another
//! package fails [`BiometricPayload::check_binding`]. Plaintext buffers live in
//! [`Zeroizing`] and are wiped when dropped.

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo,
    RecipientInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, OctetStringRef, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use rand_core::CryptoRngCore;
use rsa::pkcs1::RsaOaepParams;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use signpad_types::{DigestAlgorithm, DocumentDigest, SessionId};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::iso19794::{IsoError, SignatureRecord};
use crate::oids;

/// Version of the `BiometricPayload` structure this code writes and reads.
pub const PAYLOAD_VERSION: u8 = 1;
/// Largest envelope [`open_biometric`] accepts, in bytes.
pub const MAX_ENVELOPE_LEN: usize = 4 * 1024 * 1024;
/// Smallest escrow RSA key accepted, in bits.
pub const MIN_ESCROW_KEY_BITS: usize = 2048;

/// `rsaEncryption` (RFC 8017).
pub const RSA_ENCRYPTION: ObjectIdentifier = const_oid::db::rfc5912::RSA_ENCRYPTION;
/// `id-RSAES-OAEP` (RFC 8017).
pub const ID_RSAES_OAEP: ObjectIdentifier = const_oid::db::rfc5912::ID_RSAES_OAEP;
/// `id-mgf1` (RFC 8017).
pub const ID_MGF_1: ObjectIdentifier = const_oid::db::rfc5912::ID_MGF_1;
/// `id-pSpecified` (RFC 8017).
pub const ID_P_SPECIFIED: ObjectIdentifier = const_oid::db::rfc5912::ID_P_SPECIFIED;
/// `aes256-CBC` (RFC 3565).
pub const ID_AES_256_CBC: ObjectIdentifier = const_oid::db::rfc5911::ID_AES_256_CBC;

/// What went wrong sealing or opening a biometric envelope.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("biometric envelope is {len} bytes, more than the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    #[error("biometric envelope: {structure} is not valid DER: {detail}")]
    Malformed {
        structure: &'static str,
        detail: String,
    },
    #[error("biometric envelope: content type is {found}, expected id-envelopedData (1.2.840.113549.1.7.3)")]
    NotEnvelopedData { found: ObjectIdentifier },
    #[error("biometric envelope: encrypted content type is {found}, expected the signpad biometric payload ({})", oids::CT_BIOMETRIC_PAYLOAD)]
    WrongPayloadType { found: ObjectIdentifier },
    #[error("biometric envelope: no key-transport (RSA) recipient")]
    NoKeyTransportRecipient,
    #[error("biometric envelope: key transport {found} is not supported (only RSAES-OAEP)")]
    UnsupportedKeyTransport { found: ObjectIdentifier },
    #[error("biometric envelope: RSAES-OAEP parameters not supported: {0} (only SHA-256 with MGF1-SHA-256 and no label)")]
    UnsupportedOaepParameters(String),
    #[error("the escrow key does not open this biometric envelope (it was sealed to another certificate)")]
    WrongKey,
    #[error("biometric envelope: content encryption {found} is not supported (only aes256-CBC)")]
    UnsupportedContentEncryption { found: ObjectIdentifier },
    #[error("biometric envelope: {0}")]
    BadEncryptionParameters(String),
    #[error("biometric envelope: the encrypted content does not decrypt (bad padding: corrupted or tampered)")]
    DecryptionFailed,
    #[error("biometric payload: version {found} is not supported (expected {PAYLOAD_VERSION})")]
    UnsupportedPayloadVersion { found: u8 },
    #[error(
        "biometric payload: document digest algorithm {found} is not SHA-256, SHA-384 or SHA-512"
    )]
    UnknownDigestAlgorithm { found: ObjectIdentifier },
    #[error("biometric payload: {field}: {problem}")]
    BadPayloadField {
        field: &'static str,
        problem: String,
    },
    #[error("the biometric belongs to another document: it is bound to {found_algorithm} digest {found}, the package is for {expected_algorithm} digest {expected}")]
    DocumentMismatch {
        expected_algorithm: DigestAlgorithm,
        expected: String,
        found_algorithm: DigestAlgorithm,
        found: String,
    },
    #[error("the biometric belongs to another session: it is bound to session {found}, the package is for session {expected}")]
    SessionMismatch { expected: String, found: String },
    #[error("escrow certificate: public key algorithm {found} is not RSA")]
    EscrowKeyNotRsa { found: ObjectIdentifier },
    #[error("escrow key is {bits} bits, fewer than the minimum of {MIN_ESCROW_KEY_BITS}")]
    EscrowKeyTooSmall { bits: usize },
    #[error("escrow key: {0}")]
    InvalidEscrowKey(String),
    #[error("biometric record: {0}")]
    Record(#[from] IsoError),
    #[error("could not build the biometric envelope: {0}")]
    Build(String),
}

/// The decrypted content of the envelope.
#[derive(Clone, PartialEq, Eq)]
pub struct BiometricPayload {
    pub version: u8,
    pub document: DocumentDigest,
    pub session: SessionId,
    /// The ISO/IEC 19794-7 record (plaintext biometric, wiped on drop).
    pub iso_record: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for BiometricPayload {
    // Never print the biometric itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BiometricPayload")
            .field("version", &self.version)
            .field("document", &self.document)
            .field("session", &self.session)
            .field("iso_record_len", &self.iso_record.len())
            .finish()
    }
}

#[derive(Sequence)]
struct DigestRef<'a> {
    algorithm: ObjectIdentifier,
    digest: OctetStringRef<'a>,
}

#[derive(Sequence)]
struct PayloadRef<'a> {
    version: u8,
    document_digest: DigestRef<'a>,
    session_id: OctetStringRef<'a>,
    iso_record: OctetStringRef<'a>,
}

impl BiometricPayload {
    /// A version-1 payload.
    pub fn new(iso_record: &[u8], document: &DocumentDigest, session: SessionId) -> Self {
        Self {
            version: PAYLOAD_VERSION,
            document: document.clone(),
            session,
            iso_record: Zeroizing::new(iso_record.to_vec()),
        }
    }

    /// DER encoding, in a buffer that is wiped on drop.
    pub fn to_der(&self) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let build = |e: der::Error| EnvelopeError::Build(format!("payload DER: {e}"));
        let value = PayloadRef {
            version: self.version,
            document_digest: DigestRef {
                algorithm: digest_oid(self.document.algorithm()),
                digest: OctetStringRef::new(self.document.as_bytes()).map_err(build)?,
            },
            session_id: OctetStringRef::new(self.session.as_bytes()).map_err(build)?,
            iso_record: OctetStringRef::new(&self.iso_record).map_err(build)?,
        };
        let len = usize::try_from(value.encoded_len().map_err(build)?).map_err(build)?;
        let mut out = Zeroizing::new(vec![0u8; len]);
        value.encode_to_slice(&mut out).map_err(build)?;
        Ok(out)
    }

    /// Parses and checks a DER `BiometricPayload`.
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let value = PayloadRef::from_der(der_bytes).map_err(|e| EnvelopeError::Malformed {
            structure: "BiometricPayload",
            detail: e.to_string(),
        })?;
        if value.version != PAYLOAD_VERSION {
            return Err(EnvelopeError::UnsupportedPayloadVersion {
                found: value.version,
            });
        }
        let algorithm = digest_algorithm(value.document_digest.algorithm)?;
        let document =
            DocumentDigest::new(algorithm, value.document_digest.digest.as_bytes().to_vec())
                .map_err(|e| EnvelopeError::BadPayloadField {
                    field: "documentDigest",
                    problem: e.to_string(),
                })?;
        let session_bytes: [u8; 16] =
            value
                .session_id
                .as_bytes()
                .try_into()
                .map_err(|_| EnvelopeError::BadPayloadField {
                    field: "sessionId",
                    problem: format!("{} bytes, expected 16", value.session_id.as_bytes().len()),
                })?;
        if value.iso_record.is_empty() {
            return Err(EnvelopeError::BadPayloadField {
                field: "isoRecord",
                problem: "empty".into(),
            });
        }
        Ok(Self {
            version: value.version,
            document,
            session: SessionId::from_bytes(session_bytes),
            iso_record: Zeroizing::new(value.iso_record.as_bytes().to_vec()),
        })
    }

    /// Fails unless the payload is bound to `document` and `session`.
    pub fn check_binding(
        &self,
        document: &DocumentDigest,
        session: SessionId,
    ) -> Result<(), EnvelopeError> {
        if self.document != *document {
            return Err(EnvelopeError::DocumentMismatch {
                expected_algorithm: document.algorithm(),
                expected: document.to_hex(),
                found_algorithm: self.document.algorithm(),
                found: self.document.to_hex(),
            });
        }
        if self.session != session {
            return Err(EnvelopeError::SessionMismatch {
                expected: hex::encode(session.as_bytes()),
                found: hex::encode(self.session.as_bytes()),
            });
        }
        Ok(())
    }

    /// Decodes the ISO/IEC 19794-7 record.
    pub fn record(&self) -> Result<SignatureRecord, EnvelopeError> {
        Ok(SignatureRecord::decode(&self.iso_record)?)
    }
}

/// Seals `iso_record`, bound to `document` and `session`, to the escrow
/// certificate: RSAES-OAEP (SHA-256) key transport, AES-256-CBC content.
/// Returns a DER `ContentInfo` holding the `EnvelopedData`.
pub fn seal_biometric(
    iso_record: &[u8],
    document: &DocumentDigest,
    session: SessionId,
    escrow_cert: &Certificate,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, EnvelopeError> {
    let public_key = escrow_public_key(escrow_cert)?;
    let payload = BiometricPayload::new(iso_record, document, session).to_der()?;
    let build = |what: &str| {
        let what = what.to_owned();
        move |e: der::Error| EnvelopeError::Build(format!("{what}: {e}"))
    };

    let mut cek = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(cek.as_mut());
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let ciphertext = cbc::Encryptor::<aes::Aes256>::new(cek.as_ref().into(), &iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(&payload);

    let encrypted_key = public_key
        .encrypt(rng, Oaep::new::<sha2::Sha256>(), cek.as_ref())
        .map_err(|e| EnvelopeError::Build(format!("RSA-OAEP: {e}")))?;
    let oaep_params = RsaOaepParams::new::<sha2::Sha256>()
        .to_der()
        .map_err(build("OAEP parameters"))?;
    let ktri = KeyTransRecipientInfo {
        version: CmsVersion::V0,
        rid: RecipientIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: escrow_cert.tbs_certificate.issuer.clone(),
            serial_number: escrow_cert.tbs_certificate.serial_number.clone(),
        }),
        key_enc_alg: AlgorithmIdentifierOwned {
            oid: ID_RSAES_OAEP,
            parameters: Some(Any::from_der(&oaep_params).map_err(build("OAEP parameters"))?),
        },
        enc_key: OctetString::new(encrypted_key).map_err(build("encrypted key"))?,
    };
    let recip_infos =
        SetOfVec::try_from(vec![RecipientInfo::Ktri(ktri)]).map_err(build("recipient infos"))?;
    let enveloped = EnvelopedData {
        version: CmsVersion::V0,
        originator_info: None,
        recip_infos: RecipientInfos(recip_infos),
        encrypted_content: EncryptedContentInfo {
            content_type: oids::CT_BIOMETRIC_PAYLOAD,
            content_enc_alg: AlgorithmIdentifierOwned {
                oid: ID_AES_256_CBC,
                parameters: Some(
                    Any::new(der::Tag::OctetString, iv.to_vec()).map_err(build("IV"))?,
                ),
            },
            encrypted_content: Some(OctetString::new(ciphertext).map_err(build("content"))?),
        },
        unprotected_attrs: None,
    };
    let info = ContentInfo {
        content_type: oids::ID_ENVELOPED_DATA,
        content: Any::encode_from(&enveloped).map_err(build("EnvelopedData"))?,
    };
    info.to_der().map_err(build("ContentInfo"))
}

/// Opens an envelope made by [`seal_biometric`] with the escrow private key.
/// The caller must still [`BiometricPayload::check_binding`] against the
/// package's document and session.
pub fn open_biometric(
    envelope_der: &[u8],
    escrow_key: &RsaPrivateKey,
) -> Result<BiometricPayload, EnvelopeError> {
    if envelope_der.len() > MAX_ENVELOPE_LEN {
        return Err(EnvelopeError::TooLarge {
            len: envelope_der.len(),
            limit: MAX_ENVELOPE_LEN,
        });
    }
    let malformed = |structure: &'static str| {
        move |e: der::Error| EnvelopeError::Malformed {
            structure,
            detail: e.to_string(),
        }
    };
    let info = ContentInfo::from_der(envelope_der).map_err(malformed("ContentInfo"))?;
    if info.content_type != oids::ID_ENVELOPED_DATA {
        return Err(EnvelopeError::NotEnvelopedData {
            found: info.content_type,
        });
    }
    let enveloped: EnvelopedData = info
        .content
        .decode_as()
        .map_err(malformed("EnvelopedData"))?;
    let eci = &enveloped.encrypted_content;
    if eci.content_type != oids::CT_BIOMETRIC_PAYLOAD {
        return Err(EnvelopeError::WrongPayloadType {
            found: eci.content_type,
        });
    }
    if eci.content_enc_alg.oid != ID_AES_256_CBC {
        return Err(EnvelopeError::UnsupportedContentEncryption {
            found: eci.content_enc_alg.oid,
        });
    }
    let iv: [u8; 16] = eci
        .content_enc_alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<OctetString>().ok())
        .and_then(|p| p.as_bytes().try_into().ok())
        .ok_or_else(|| {
            EnvelopeError::BadEncryptionParameters(
                "aes256-CBC parameters are not a 16-byte IV".into(),
            )
        })?;
    let ciphertext = eci.encrypted_content.as_ref().ok_or_else(|| {
        EnvelopeError::BadEncryptionParameters("the encrypted content is absent".into())
    })?;

    let mut saw_ktri = false;
    let mut unsupported: Option<EnvelopeError> = None;
    let mut cek: Option<Zeroizing<Vec<u8>>> = None;
    for ri in enveloped.recip_infos.0.iter() {
        let RecipientInfo::Ktri(ktri) = ri else {
            continue;
        };
        saw_ktri = true;
        if let Err(e) = check_oaep(&ktri.key_enc_alg) {
            unsupported = Some(e);
            continue;
        }
        let mut rng = rand_core::OsRng;
        if let Ok(key) = escrow_key.decrypt_blinded(
            &mut rng,
            Oaep::new::<sha2::Sha256>(),
            ktri.enc_key.as_bytes(),
        ) {
            cek = Some(Zeroizing::new(key));
            break;
        }
    }
    let cek = match (cek, unsupported, saw_ktri) {
        (Some(cek), _, _) => cek,
        (None, _, false) => return Err(EnvelopeError::NoKeyTransportRecipient),
        (None, Some(e), _) => return Err(e),
        (None, None, true) => return Err(EnvelopeError::WrongKey),
    };
    let key: [u8; 32] = cek.as_slice().try_into().map_err(|_| {
        EnvelopeError::BadEncryptionParameters(format!(
            "the content-encryption key is {} bytes, aes256-CBC needs 32",
            cek.len()
        ))
    })?;
    let key = Zeroizing::new(key);
    let plaintext = Zeroizing::new(
        cbc::Decryptor::<aes::Aes256>::new(key.as_ref().into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(ciphertext.as_bytes())
            .map_err(|_| EnvelopeError::DecryptionFailed)?,
    );
    BiometricPayload::from_der(&plaintext)
}

/// Reads an escrow private key from PEM: PKCS#8 (`PRIVATE KEY`) or PKCS#1
/// (`RSA PRIVATE KEY`). Encrypted PKCS#8 is refused with a hint.
pub fn escrow_key_from_pem(pem: &str) -> Result<RsaPrivateKey, EnvelopeError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let key = if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs1_pem(pem)
            .map_err(|e| EnvelopeError::InvalidEscrowKey(format!("PKCS#1 PEM: {e}")))?
    } else if pem.contains("-----BEGIN PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| {
            EnvelopeError::InvalidEscrowKey(format!("PKCS#8 PEM (is it an RSA key?): {e}"))
        })?
    } else if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(EnvelopeError::InvalidEscrowKey(
            "the key is password-protected; decrypt it first (openssl pkey -in KEY -out PLAIN)"
                .into(),
        ));
    } else {
        return Err(EnvelopeError::InvalidEscrowKey(
            "no \"PRIVATE KEY\" or \"RSA PRIVATE KEY\" PEM block found".into(),
        ));
    };
    key.validate()
        .map_err(|e| EnvelopeError::InvalidEscrowKey(format!("inconsistent RSA key: {e}")))?;
    if key.size() * 8 < MIN_ESCROW_KEY_BITS {
        return Err(EnvelopeError::EscrowKeyTooSmall {
            bits: key.size() * 8,
        });
    }
    Ok(key)
}

/// Reads an escrow certificate from PEM.
pub fn escrow_certificate_from_pem(pem: &str) -> Result<Certificate, EnvelopeError> {
    use der::DecodePem;
    let cert = Certificate::from_pem(pem.as_bytes())
        .map_err(|e| EnvelopeError::InvalidEscrowKey(format!("certificate PEM: {e}")))?;
    escrow_public_key(&cert)?;
    Ok(cert)
}

/// The RSA public key of the escrow certificate, checked for size.
pub fn escrow_public_key(cert: &Certificate) -> Result<RsaPublicKey, EnvelopeError> {
    use rsa::pkcs8::DecodePublicKey;
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(EnvelopeError::EscrowKeyNotRsa {
            found: spki.algorithm.oid,
        });
    }
    let der_spki = spki
        .to_der()
        .map_err(|e| EnvelopeError::InvalidEscrowKey(format!("subject public key: {e}")))?;
    let key = RsaPublicKey::from_public_key_der(&der_spki)
        .map_err(|e| EnvelopeError::InvalidEscrowKey(format!("subject public key: {e}")))?;
    if key.size() * 8 < MIN_ESCROW_KEY_BITS {
        return Err(EnvelopeError::EscrowKeyTooSmall {
            bits: key.size() * 8,
        });
    }
    Ok(key)
}

fn check_oaep(alg: &AlgorithmIdentifierOwned) -> Result<(), EnvelopeError> {
    if alg.oid != ID_RSAES_OAEP {
        return Err(EnvelopeError::UnsupportedKeyTransport { found: alg.oid });
    }
    let params = alg
        .parameters
        .as_ref()
        .ok_or_else(|| EnvelopeError::UnsupportedOaepParameters("absent (SHA-1 default)".into()))?
        .to_der()
        .map_err(|e| EnvelopeError::UnsupportedOaepParameters(e.to_string()))?;
    let params = RsaOaepParams::from_der(&params)
        .map_err(|e| EnvelopeError::UnsupportedOaepParameters(e.to_string()))?;
    if params.hash.oid != oids::ID_SHA_256 {
        return Err(EnvelopeError::UnsupportedOaepParameters(format!(
            "hash {}",
            params.hash.oid
        )));
    }
    let mgf_hash = params.mask_gen.parameters.map(|p| p.oid);
    if params.mask_gen.oid != ID_MGF_1 || mgf_hash != Some(oids::ID_SHA_256) {
        return Err(EnvelopeError::UnsupportedOaepParameters(format!(
            "mask generation {} with {:?}",
            params.mask_gen.oid, mgf_hash
        )));
    }
    let empty_label = params.p_source.oid == ID_P_SPECIFIED
        && params
            .p_source
            .parameters
            .and_then(|p| p.decode_as::<OctetStringRef<'_>>().ok())
            .is_some_and(|l| l.is_empty());
    if !empty_label {
        return Err(EnvelopeError::UnsupportedOaepParameters(
            "a non-empty label".into(),
        ));
    }
    Ok(())
}

fn digest_oid(algorithm: DigestAlgorithm) -> ObjectIdentifier {
    match algorithm {
        DigestAlgorithm::Sha256 => oids::ID_SHA_256,
        DigestAlgorithm::Sha384 => oids::ID_SHA_384,
        DigestAlgorithm::Sha512 => oids::ID_SHA_512,
    }
}

fn digest_algorithm(oid: ObjectIdentifier) -> Result<DigestAlgorithm, EnvelopeError> {
    match oid {
        o if o == oids::ID_SHA_256 => Ok(DigestAlgorithm::Sha256),
        o if o == oids::ID_SHA_384 => Ok(DigestAlgorithm::Sha384),
        o if o == oids::ID_SHA_512 => Ok(DigestAlgorithm::Sha512),
        found => Err(EnvelopeError::UnknownDigestAlgorithm { found }),
    }
}
