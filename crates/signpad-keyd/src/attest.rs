//! Attestation: TPM2_Quote over PCRs with a caller's nonce, and
//! TPM2_Certify proving a key is resident in this TPM. Both are signed by
//! the restricted attestation key (AK); the verification functions here
//! are pure (no TPM), for `signpadctl attest verify` and tests.
//!
//! [`Evidence`] bundles everything a verifier needs offline: the AK, the EK
//! certificate, a quote over the verifier's nonce and a certification of
//! the device signing key with the same nonce. [`verify_evidence`] checks
//! it. What it does not prove: that the AK belongs to the TPM of the EK
//! certificate (that takes a credential activation round trip) nor that
//! the EK certificate chains to a manufacturer CA. The EK certificate is
//! reported, not trusted.

use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use p256::ecdsa::VerifyingKey;
use signpad_types::DigestAlgorithm;
use tss_esapi::structures::{Attest, AttestInfo, Public};
use tss_esapi::traits::{Marshall as _, UnMarshall as _};

use crate::keys::ATTEST_BLOB;
use crate::tpm;
use crate::{KeyRole, Keyd, KeydError};

/// A signed TPM attestation: the marshalled `TPMS_ATTEST` and the AK's
/// DER ECDSA signature over SHA-256 of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    pub attest: Vec<u8>,
    pub signature: Vec<u8>,
}

/// What a verified quote says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedQuote {
    /// Digest of the selected PCR values (SHA-256 bank).
    pub pcr_digest: Vec<u8>,
    /// The quoted SHA-256 PCR indices, ascending.
    pub pcrs: Vec<u8>,
}

fn bad(m: impl Into<String>) -> KeydError {
    KeydError::BadAttestation(m.into())
}

fn signed(
    attest: &Attest,
    signature: tss_esapi::structures::Signature,
) -> Result<Attestation, KeydError> {
    let (r, s) = tpm::ecdsa_parts(signature)?;
    Ok(Attestation {
        attest: attest
            .marshall()
            .map_err(|e| KeydError::Encoding(format!("TPMS_ATTEST: {e}")))?,
        signature: tpm::der_signature(&r, &s)?.as_bytes().to_vec(),
    })
}

impl Keyd {
    /// The attestation key's public key.
    pub fn attestation_key(&self) -> Result<VerifyingKey, KeydError> {
        self.require_blob(ATTEST_BLOB)?.verifying_key()
    }

    /// The marshalled `TPMT_PUBLIC` of `role`'s key (its TPM name is
    /// SHA-256 over it), to check a certification offline.
    pub fn key_public_area(&self, role: KeyRole) -> Result<Vec<u8>, KeydError> {
        let blob = self.require_blob(role.blob())?;
        blob.public
            .marshall()
            .map_err(|e| KeydError::Encoding(format!("public area: {e}")))
    }

    /// The TPM's endorsement key certificate (DER), when the manufacturer
    /// (or `swtpm_setup --create-ek-cert`) stored one.
    pub fn ek_certificate(&self) -> Result<Option<Vec<u8>>, KeydError> {
        self.with_tpm("reading the EK certificate", |tpm| Ok(tpm.ek_certificate()))
    }

    /// TPM2_Quote over SHA-256 PCRs `pcrs` with `nonce`.
    pub fn quote(&self, nonce: &[u8], pcrs: &[u8]) -> Result<Attestation, KeydError> {
        if nonce.is_empty() || nonce.len() > 64 {
            return Err(bad("nonce must have 1 to 64 bytes"));
        }
        if pcrs.is_empty() {
            return Err(bad("select at least one PCR"));
        }
        let selection = tpm::pcr_selection(pcrs)?;
        let ak = self.require_blob(ATTEST_BLOB)?;
        let (attest, signature) = self.with_tpm("quoting PCRs", |tpm| {
            tpm.with_loaded(&ak, |tpm, h| tpm.quote(h, nonce, &selection))
        })?;
        signed(&attest, signature)
    }

    /// TPM2_Certify of `role`'s key by the AK, with `nonce`.
    pub fn certify_key(&self, role: KeyRole, nonce: &[u8]) -> Result<Attestation, KeydError> {
        if nonce.len() > 64 {
            return Err(bad("nonce must have at most 64 bytes"));
        }
        let key = self.require_blob(role.blob())?;
        let ak = self.require_blob(ATTEST_BLOB)?;
        let (attest, signature) = self.with_tpm("certifying a key", |tpm| {
            // Three transient slots: SRK, the kept signing key, one more.
            // Certifying the TLS key therefore drops the signing key first.
            let k = match role {
                KeyRole::Signing => tpm.signing_key(&key)?,
                KeyRole::Tls => {
                    tpm.unload_signing_key();
                    tpm.load(&key)?
                }
            };
            let result = tpm.with_loaded(&ak, |tpm, a| tpm.certify(k, a, nonce));
            if role == KeyRole::Tls {
                tpm.flush(k);
            }
            result
        })?;
        signed(&attest, signature)
    }
}

fn verify_signed(ak: &VerifyingKey, att: &Attestation, nonce: &[u8]) -> Result<Attest, KeydError> {
    let sig = p256::ecdsa::Signature::from_der(&att.signature)
        .map_err(|e| bad(format!("signature: {e}")))?;
    ak.verify_prehash(&DigestAlgorithm::Sha256.hash(&att.attest), &sig)
        .map_err(|_| bad("signature does not verify with the attestation key"))?;
    let attest = Attest::unmarshall(&att.attest).map_err(|e| bad(format!("TPMS_ATTEST: {e}")))?;
    if attest.extra_data().value() != nonce {
        return Err(bad(
            "nonce does not match (replayed or for another request)",
        ));
    }
    Ok(attest)
}

/// The SHA-256 PCR indices a quote covers; other banks are refused.
fn quoted_pcrs(selection: &tss_esapi::structures::PcrSelectionList) -> Result<Vec<u8>, KeydError> {
    let mut pcrs = Vec::new();
    for bank in selection.get_selections() {
        if bank.hashing_algorithm()
            != tss_esapi::interface_types::algorithm::HashingAlgorithm::Sha256
        {
            return Err(bad("quote covers a PCR bank other than SHA-256"));
        }
        for slot in bank.selected() {
            let index = u32::from(slot).trailing_zeros();
            pcrs.push(u8::try_from(index).map_err(|_| bad("PCR index out of range"))?);
        }
    }
    pcrs.sort_unstable();
    pcrs.dedup();
    Ok(pcrs)
}

/// Verifies a quote: AK signature, nonce, and that it is a quote.
pub fn verify_quote(
    ak: &VerifyingKey,
    quote: &Attestation,
    nonce: &[u8],
) -> Result<VerifiedQuote, KeydError> {
    let attest = verify_signed(ak, quote, nonce)?;
    match attest.attested() {
        AttestInfo::Quote { info } => Ok(VerifiedQuote {
            pcr_digest: info.pcr_digest().value().to_vec(),
            pcrs: quoted_pcrs(info.pcr_selection())?,
        }),
        _ => Err(bad("not a quote")),
    }
}

/// Verifies a certification: AK signature, nonce, that the certified name
/// is the TPM name of `public_area`, and that the key is fixedTPM,
/// fixedParent and sensitiveDataOrigin (generated in and bound to this
/// TPM). Returns the certified P-256 key.
pub fn verify_certification(
    ak: &VerifyingKey,
    certification: &Attestation,
    nonce: &[u8],
    public_area: &[u8],
) -> Result<VerifyingKey, KeydError> {
    let attest = verify_signed(ak, certification, nonce)?;
    let AttestInfo::Certify { info } = attest.attested() else {
        return Err(bad("not a certification"));
    };
    let public = Public::unmarshall(public_area).map_err(|e| bad(format!("public area: {e}")))?;
    if info.name().value() != tpm::public_name(&public)?.as_slice() {
        return Err(bad("certified name is not the name of this public area"));
    }
    let attrs = public.object_attributes();
    if !(attrs.fixed_tpm() && attrs.fixed_parent() && attrs.sensitive_data_origin()) {
        return Err(bad("key is not fixedTPM|fixedParent|sensitiveDataOrigin"));
    }
    let blob_key = tpm::ecc_public_key(&public)?;
    Ok(blob_key)
}

/// The `format` of evidence this version writes and reads.
pub const EVIDENCE_FORMAT: &str = "signpad-evidence/1";

/// Everything an offline verifier needs, as JSON with hex byte strings:
/// the AK, the EK certificate, a quote over the verifier's nonce and a
/// certification of the device signing key with the same nonce.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Always [`EVIDENCE_FORMAT`].
    pub format: String,
    /// The attestation key, DER SubjectPublicKeyInfo.
    #[serde(with = "hex_bytes")]
    pub attestation_key: Vec<u8>,
    /// The TPM's EK certificate (DER), when it has one.
    #[serde(default, with = "opt_hex_bytes")]
    pub ek_certificate: Option<Vec<u8>>,
    /// TPM2_Quote over the nonce and `pcrs`.
    pub quote: QuoteEvidence,
    /// TPM2_Certify of the device signing key over the nonce.
    pub signing_key: CertifiedKeyEvidence,
}

/// A quote and the SHA-256 PCRs it was asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteEvidence {
    /// SHA-256 PCR indices, ascending.
    pub pcrs: Vec<u8>,
    /// Marshalled `TPMS_ATTEST`.
    #[serde(with = "hex_bytes")]
    pub attest: Vec<u8>,
    /// The AK's DER ECDSA signature over SHA-256 of `attest`.
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
}

/// A certification and the certified key's public area.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertifiedKeyEvidence {
    /// Marshalled `TPMS_ATTEST`.
    #[serde(with = "hex_bytes")]
    pub attest: Vec<u8>,
    /// The AK's DER ECDSA signature over SHA-256 of `attest`.
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
    /// The certified key's marshalled `TPMT_PUBLIC`.
    #[serde(with = "hex_bytes")]
    pub public_area: Vec<u8>,
}

impl Evidence {
    /// Pretty JSON.
    pub fn to_json(&self) -> Result<String, KeydError> {
        serde_json::to_string_pretty(self).map_err(|e| KeydError::Encoding(format!("JSON: {e}")))
    }

    /// Parses evidence JSON and checks its format; a failure means the
    /// evidence could not be read, not that it is false.
    pub fn from_json(bytes: &[u8]) -> Result<Self, KeydError> {
        let evidence: Self = serde_json::from_slice(bytes)
            .map_err(|e| KeydError::Encoding(format!("evidence JSON: {e}")))?;
        if evidence.format != EVIDENCE_FORMAT {
            return Err(KeydError::Encoding(format!(
                "evidence format \"{}\" is not supported (expected \"{EVIDENCE_FORMAT}\")",
                evidence.format
            )));
        }
        Ok(evidence)
    }
}

/// What verified evidence says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EvidenceReport {
    /// SHA-256 of the AK's DER SubjectPublicKeyInfo, hex.
    pub attestation_key_sha256: String,
    /// The quoted SHA-256 PCR indices.
    pub pcrs: Vec<u8>,
    /// Digest of the quoted PCR values, hex.
    pub pcr_digest: String,
    /// SHA-256 of the certified key's DER SubjectPublicKeyInfo, hex.
    pub certified_key_sha256: String,
    /// The certified (TPM-resident) signing key.
    #[serde(skip)]
    pub certified_key: VerifyingKey,
    /// `Some(true)` when it was compared with the expected key (a mismatch
    /// fails verification); `None` when no expected key was given.
    pub certified_key_is_expected: Option<bool>,
    /// Subject and issuer of the EK certificate (reported, not verified).
    pub ek_certificate_subject: Option<String>,
    pub ek_certificate_issuer: Option<String>,
}

fn check_pcrs(pcrs: &[u8]) -> Result<Vec<u8>, KeydError> {
    if let Some(p) = pcrs.iter().find(|p| **p > 23) {
        return Err(bad(format!("PCR {p} does not exist (0 to 23)")));
    }
    let mut sorted = pcrs.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.is_empty() {
        return Err(bad("select at least one PCR"));
    }
    Ok(sorted)
}

fn spki_der(key: &VerifyingKey) -> Result<Vec<u8>, KeydError> {
    p256::pkcs8::EncodePublicKey::to_public_key_der(key)
        .map(|d| d.as_bytes().to_vec())
        .map_err(|e| KeydError::Encoding(format!("public key: {e}")))
}

fn fingerprint(der: &[u8]) -> String {
    hex::encode(DigestAlgorithm::Sha256.hash(der))
}

impl Keyd {
    /// Collects [`Evidence`] for a verifier's `nonce` (1 to 64 bytes) over
    /// SHA-256 PCRs `pcrs`.
    pub fn collect_evidence(&self, nonce: &[u8], pcrs: &[u8]) -> Result<Evidence, KeydError> {
        let pcrs = check_pcrs(pcrs)?;
        let attestation_key = spki_der(&self.attestation_key()?)?;
        let ek_certificate = self.ek_certificate()?;
        let quote = self.quote(nonce, &pcrs)?;
        let certification = self.certify_key(KeyRole::Signing, nonce)?;
        Ok(Evidence {
            format: EVIDENCE_FORMAT.to_owned(),
            attestation_key,
            ek_certificate,
            quote: QuoteEvidence {
                pcrs,
                attest: quote.attest,
                signature: quote.signature,
            },
            signing_key: CertifiedKeyEvidence {
                attest: certification.attest,
                signature: certification.signature,
                public_area: self.key_public_area(KeyRole::Signing)?,
            },
        })
    }
}

/// Verifies [`Evidence`] offline against the verifier's `nonce`: the quote
/// and the certification are signed by the evidence's AK over `nonce`, the
/// quote covers exactly the declared SHA-256 PCRs, the certified key is
/// TPM-resident, and, when `expected_signing_key` is given (the pad
/// certificate's key), the certified key is that key.
pub fn verify_evidence(
    evidence: &Evidence,
    nonce: &[u8],
    expected_signing_key: Option<&VerifyingKey>,
) -> Result<EvidenceReport, KeydError> {
    use p256::pkcs8::DecodePublicKey as _;
    if evidence.format != EVIDENCE_FORMAT {
        return Err(bad(format!(
            "evidence format \"{}\" is not \"{EVIDENCE_FORMAT}\"",
            evidence.format
        )));
    }
    let ak = VerifyingKey::from_public_key_der(&evidence.attestation_key)
        .map_err(|e| bad(format!("attestation key is not a P-256 key: {e}")))?;
    let quote = Attestation {
        attest: evidence.quote.attest.clone(),
        signature: evidence.quote.signature.clone(),
    };
    let verified = verify_quote(&ak, &quote, nonce).map_err(|e| context("quote", e))?;
    let declared = check_pcrs(&evidence.quote.pcrs).map_err(|e| context("quote", e))?;
    if verified.pcrs != declared {
        return Err(bad(format!(
            "quote: it covers PCRs {:?}, the evidence declares {:?}",
            verified.pcrs, declared
        )));
    }
    let certification = Attestation {
        attest: evidence.signing_key.attest.clone(),
        signature: evidence.signing_key.signature.clone(),
    };
    let certified = verify_certification(
        &ak,
        &certification,
        nonce,
        &evidence.signing_key.public_area,
    )
    .map_err(|e| context("signing key certification", e))?;
    let certified_key_is_expected = match expected_signing_key {
        Some(expected) if *expected == certified => Some(true),
        Some(_) => {
            return Err(bad(
                "the certified key is not the public key of the pad certificate",
            ))
        }
        None => None,
    };
    let (ek_certificate_subject, ek_certificate_issuer) = match &evidence.ek_certificate {
        Some(der) => {
            let cert = <x509_cert::Certificate as der::Decode>::from_der(der)
                .map_err(|e| bad(format!("EK certificate: {e}")))?;
            (
                Some(cert.tbs_certificate.subject.to_string()),
                Some(cert.tbs_certificate.issuer.to_string()),
            )
        }
        None => (None, None),
    };
    Ok(EvidenceReport {
        attestation_key_sha256: fingerprint(&evidence.attestation_key),
        pcrs: verified.pcrs,
        pcr_digest: hex::encode(&verified.pcr_digest),
        certified_key_sha256: fingerprint(&spki_der(&certified)?),
        certified_key: certified,
        certified_key_is_expected,
        ek_certificate_subject,
        ek_certificate_issuer,
    })
}

/// Prefixes what was being checked to a verification failure.
fn context(what: &str, e: KeydError) -> KeydError {
    match e {
        KeydError::BadAttestation(m) => bad(format!("{what}: {m}")),
        other => bad(format!("{what}: {other}")),
    }
}

/// Byte strings as lowercase hex in JSON.
mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

/// Optional byte strings as hex or `null`.
mod opt_hex_bytes {
    #[allow(clippy::ref_option)] // serde's `with` passes `&Option<T>`
    pub fn serialize<S: serde::Serializer>(
        bytes: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        <Option<String> as serde::Deserialize>::deserialize(d)?
            .map(|text| hex::decode(text).map_err(serde::de::Error::custom))
            .transpose()
    }
}
