//! Attestation: TPM2_Quote over PCRs with a caller's nonce, and
//! TPM2_Certify proving a key is resident in this TPM. Both are signed by
//! the restricted attestation key (AK); the verification functions here
//! are pure (no TPM), for `signpadctl attest verify` and tests.

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
