//! Mapping between signpad's digest algorithms and their ASN.1 identifiers,
//! and the signature checks shared by the package, chain, CRL and timestamp
//! verifiers (ECDSA P-256 and RSA PKCS#1 v1.5).

use const_oid::db::rfc5912::{
    ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SHA_256_WITH_RSA_ENCRYPTION,
    SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use der::asn1::ObjectIdentifier;
use der::{Any, Encode};
use signpad_types::DigestAlgorithm;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::oids;

/// The hash OID of a digest algorithm (RFC 5754).
pub fn digest_oid(algorithm: DigestAlgorithm) -> ObjectIdentifier {
    match algorithm {
        DigestAlgorithm::Sha256 => oids::ID_SHA_256,
        DigestAlgorithm::Sha384 => oids::ID_SHA_384,
        DigestAlgorithm::Sha512 => oids::ID_SHA_512,
    }
}

/// The `ecdsa-with-SHA*` OID matching a digest algorithm (RFC 5758).
pub fn ecdsa_oid(algorithm: DigestAlgorithm) -> ObjectIdentifier {
    match algorithm {
        DigestAlgorithm::Sha256 => oids::ECDSA_WITH_SHA_256,
        DigestAlgorithm::Sha384 => oids::ECDSA_WITH_SHA_384,
        DigestAlgorithm::Sha512 => oids::ECDSA_WITH_SHA_512,
    }
}

/// The digest algorithm of a hash OID, if it is one signpad supports.
pub fn digest_from_oid(oid: &ObjectIdentifier) -> Option<DigestAlgorithm> {
    [
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ]
    .into_iter()
    .find(|a| digest_oid(*a) == *oid)
}

/// `AlgorithmIdentifier` of a digest algorithm, parameters absent (RFC 5754
/// section 2: implementations MUST accept absent and NULL parameters and
/// SHOULD generate absent ones).
pub fn digest_algorithm_identifier(algorithm: DigestAlgorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: digest_oid(algorithm),
        parameters: None,
    }
}

/// `AlgorithmIdentifier` of ECDSA with the given hash, parameters absent
/// (RFC 5758 section 3.2).
pub fn ecdsa_algorithm_identifier(algorithm: DigestAlgorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ecdsa_oid(algorithm),
        parameters: None,
    }
}

/// Reads a digest `AlgorithmIdentifier`: a supported hash with absent or NULL
/// parameters. Returns the OID on failure so that the caller can name it.
pub fn digest_from_identifier(
    id: &AlgorithmIdentifierOwned,
) -> Result<DigestAlgorithm, ObjectIdentifier> {
    let params_ok = match &id.parameters {
        None => true,
        Some(any) => any == &Any::null(),
    };
    match digest_from_oid(&id.oid) {
        Some(a) if params_ok => Ok(a),
        _ => Err(id.oid),
    }
}

/// How a signature value is to be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// ECDSA, DER `ECDSA-Sig-Value`.
    Ecdsa,
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1,
}

/// Why a signature could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The signature was checked and is wrong.
    Bad,
    /// The algorithm or key type is one this crate cannot check.
    Unsupported(String),
}

/// Resolves a `signatureAlgorithm` into a scheme and a hash.
///
/// `fallback_digest` is used for the bare key-type OIDs (`rsaEncryption`,
/// `id-ecPublicKey`) that OpenSSL writes into CMS `SignerInfo`s, where the
/// hash comes from the separate `digestAlgorithm` field.
pub fn signature_scheme(
    signature_algorithm: &ObjectIdentifier,
    fallback_digest: Option<DigestAlgorithm>,
) -> Result<(SignatureScheme, DigestAlgorithm), SignatureCheck> {
    let oid = *signature_algorithm;
    let found = if oid == oids::ECDSA_WITH_SHA_256 {
        Some((SignatureScheme::Ecdsa, DigestAlgorithm::Sha256))
    } else if oid == oids::ECDSA_WITH_SHA_384 {
        Some((SignatureScheme::Ecdsa, DigestAlgorithm::Sha384))
    } else if oid == oids::ECDSA_WITH_SHA_512 {
        Some((SignatureScheme::Ecdsa, DigestAlgorithm::Sha512))
    } else if oid == SHA_256_WITH_RSA_ENCRYPTION {
        Some((SignatureScheme::RsaPkcs1, DigestAlgorithm::Sha256))
    } else if oid == SHA_384_WITH_RSA_ENCRYPTION {
        Some((SignatureScheme::RsaPkcs1, DigestAlgorithm::Sha384))
    } else if oid == SHA_512_WITH_RSA_ENCRYPTION {
        Some((SignatureScheme::RsaPkcs1, DigestAlgorithm::Sha512))
    } else if oid == RSA_ENCRYPTION {
        fallback_digest.map(|d| (SignatureScheme::RsaPkcs1, d))
    } else if oid == ID_EC_PUBLIC_KEY {
        fallback_digest.map(|d| (SignatureScheme::Ecdsa, d))
    } else {
        None
    };
    found.ok_or_else(|| SignatureCheck::Unsupported(format!("signature algorithm {oid}")))
}

/// The P-256 verifying key of a `SubjectPublicKeyInfo`, if it is one.
pub fn p256_key(spki: &SubjectPublicKeyInfoOwned) -> Result<p256::ecdsa::VerifyingKey, String> {
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
        return Err(format!(
            "key algorithm {} is not id-ecPublicKey",
            spki.algorithm.oid
        ));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if curve != Some(SECP_256_R_1) {
        return Err(match curve {
            Some(c) => format!("EC curve {c} is not P-256 (1.2.840.10045.3.1.7)"),
            None => "EC key without a named curve".to_owned(),
        });
    }
    let bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| "EC public key has unused bits".to_owned())?;
    p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
        .map_err(|_| "EC public key is not a valid P-256 point".to_owned())
}

/// Verifies `signature` over `message` with the key in `spki`.
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    scheme: SignatureScheme,
    digest: DigestAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureCheck> {
    match scheme {
        SignatureScheme::Ecdsa => {
            let key = p256_key(spki).map_err(SignatureCheck::Unsupported)?;
            verify_p256_prehash(&key, &digest.hash(message), signature)
        }
        SignatureScheme::RsaPkcs1 => verify_rsa(spki, digest, message, signature),
    }
}

/// Verifies a DER `ECDSA-Sig-Value` over a pre-computed hash.
pub fn verify_p256_prehash(
    key: &p256::ecdsa::VerifyingKey,
    prehash: &[u8],
    signature: &[u8],
) -> Result<(), SignatureCheck> {
    use signature::hazmat::PrehashVerifier;
    let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| SignatureCheck::Bad)?;
    key.verify_prehash(prehash, &sig)
        .map_err(|_| SignatureCheck::Bad)
}

fn verify_rsa(
    spki: &SubjectPublicKeyInfoOwned,
    digest: DigestAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureCheck> {
    use rsa::pkcs8::DecodePublicKey;
    use signature::Verifier;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(SignatureCheck::Unsupported(format!(
            "key algorithm {} for an RSA signature",
            spki.algorithm.oid
        )));
    }
    let spki_der = spki
        .to_der()
        .map_err(|e| SignatureCheck::Unsupported(format!("RSA key: {e}")))?;
    let key = rsa::RsaPublicKey::from_public_key_der(&spki_der)
        .map_err(|e| SignatureCheck::Unsupported(format!("RSA key: {e}")))?;
    let sig = rsa::pkcs1v15::Signature::try_from(signature).map_err(|_| SignatureCheck::Bad)?;
    let ok = match digest {
        DigestAlgorithm::Sha256 => {
            rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key).verify(message, &sig)
        }
        DigestAlgorithm::Sha384 => {
            rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(key).verify(message, &sig)
        }
        DigestAlgorithm::Sha512 => {
            rsa::pkcs1v15::VerifyingKey::<sha2::Sha512>::new(key).verify(message, &sig)
        }
    };
    ok.map_err(|_| SignatureCheck::Bad)
}
