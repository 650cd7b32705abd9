//! Certificates of the TPM keys: PKCS#10 CSRs signed inside the TPM, the
//! self-signed bootstrap certificate used until enrolment, and installing
//! a CA-issued chain (only for our key, only when the chain verifies).

use std::str::FromStr as _;
use std::time::{Duration, SystemTime};

use der::{DecodePem as _, Encode as _, EncodePem as _};
use p256::ecdsa::{DerSignature, VerifyingKey};
use signature::hazmat::PrehashVerifier as _;
use signpad_types::DigestAlgorithm;
use spki::{DecodePublicKey as _, SubjectPublicKeyInfoOwned};
use x509_cert::builder::{Builder as _, CertificateBuilder, Profile, RequestBuilder};
use x509_cert::der::pem::LineEnding;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;
use x509_cert::Certificate;

use crate::signer::TpmKeypair;
use crate::{KeyRole, Keyd, KeydError};

/// Lifetime of the self-signed bootstrap certificate.
const BOOTSTRAP_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// File of the bootstrap certificate of `role`.
pub(crate) const fn bootstrap_file(role: KeyRole) -> &'static str {
    match role {
        KeyRole::Signing => "signing.bootstrap.pem",
        KeyRole::Tls => "tls.bootstrap.pem",
    }
}

/// File of the installed CA-issued chain of `role` (leaf first).
pub(crate) const fn chain_file(role: KeyRole) -> &'static str {
    match role {
        KeyRole::Signing => "signing.chain.pem",
        KeyRole::Tls => "tls.chain.pem",
    }
}

fn encoding(e: impl std::fmt::Display) -> KeydError {
    KeydError::Encoding(e.to_string())
}

fn spki_of(key: &VerifyingKey) -> Result<SubjectPublicKeyInfoOwned, KeydError> {
    SubjectPublicKeyInfoOwned::from_key(*key).map_err(encoding)
}

/// Parses an RFC 4514 subject (`CN=pad-0001,O=Example`).
pub fn parse_subject(subject: &str) -> Result<Name, KeydError> {
    let bad = |detail: String| KeydError::BadSubject {
        subject: subject.to_owned(),
        detail,
    };
    if subject.trim().is_empty() {
        return Err(bad("empty".into()));
    }
    let name = Name::from_str(subject).map_err(|e| bad(e.to_string()))?;
    if name.0.is_empty() {
        return Err(bad("no attributes".into()));
    }
    Ok(name)
}

fn to_pem_chain(chain: &[Certificate]) -> Result<String, KeydError> {
    let mut out = String::new();
    for cert in chain {
        out.push_str(&cert.to_pem(LineEnding::LF).map_err(encoding)?);
    }
    Ok(out)
}

impl Keyd {
    /// Creates the self-signed bootstrap certificate of `role` when there
    /// is none (or it is for another key); returns whether it was created.
    pub(crate) fn ensure_bootstrap_certificate(&self, role: KeyRole) -> Result<bool, KeydError> {
        let ours = spki_of(&self.public_key(role)?)?;
        if let Some(pem) = self.store.read(bootstrap_file(role))? {
            if let Ok(cert) = Certificate::from_pem(&pem) {
                if cert.tbs_certificate.subject_public_key_info == ours {
                    return Ok(false);
                }
            }
        }
        let keypair = TpmKeypair::new(self, role)?;
        let fingerprint =
            hex::encode(&DigestAlgorithm::Sha256.hash(&ours.to_der().map_err(encoding)?)[..8]);
        let subject = parse_subject(&format!(
            "CN=signpad-{}-{fingerprint},O=signpad bootstrap",
            role.name()
        ))?;
        let mut serial = self.random(16)?.to_vec();
        if let Some(first) = serial.first_mut() {
            *first &= 0x7f;
            *first |= 0x01;
        }
        let builder = CertificateBuilder::new(
            Profile::Leaf {
                issuer: subject.clone(),
                enable_key_agreement: false,
                enable_key_encipherment: false,
            },
            SerialNumber::new(&serial).map_err(encoding)?,
            Validity::from_now(BOOTSTRAP_VALIDITY).map_err(encoding)?,
            subject,
            ours,
            &keypair,
        )
        .map_err(encoding)?;
        let cert = builder.build::<DerSignature>().map_err(encoding)?;
        let pem = cert.to_pem(LineEnding::LF).map_err(encoding)?;
        self.store
            .write_atomic(bootstrap_file(role), pem.as_bytes())?;
        tracing::info!(role = role.name(), "created bootstrap certificate");
        Ok(true)
    }

    /// The current chain of `role`, leaf first: the installed CA-issued
    /// chain, else the bootstrap certificate.
    pub fn certificate_chain(&self, role: KeyRole) -> Result<Vec<Certificate>, KeydError> {
        if let Some(pem) = self.store.read(chain_file(role))? {
            return Certificate::load_pem_chain(&pem).map_err(|e| KeydError::CorruptBlob {
                path: self.store.path(chain_file(role)),
                detail: e.to_string(),
            });
        }
        let pem = self
            .store
            .read(bootstrap_file(role))?
            .ok_or(KeydError::NotProvisioned(bootstrap_file(role)))?;
        Ok(vec![Certificate::from_pem(&pem).map_err(|e| {
            KeydError::CorruptBlob {
                path: self.store.path(bootstrap_file(role)),
                detail: e.to_string(),
            }
        })?])
    }

    /// Whether `role` has a CA-issued certificate installed.
    pub fn is_enrolled(&self, role: KeyRole) -> Result<bool, KeydError> {
        Ok(self.store.read(chain_file(role))?.is_some())
    }

    /// When the current certificate of `role` expires.
    pub fn certificate_expiry(&self, role: KeyRole) -> Result<SystemTime, KeydError> {
        let chain = self.certificate_chain(role)?;
        let leaf = chain
            .first()
            .ok_or(KeydError::NotProvisioned(chain_file(role)))?;
        Ok(leaf.tbs_certificate.validity.not_after.to_system_time())
    }

    /// A PEM PKCS#10 request for the key of `role`, signed in the TPM.
    pub fn create_csr(&self, role: KeyRole, subject: &str) -> Result<String, KeydError> {
        let subject = parse_subject(subject)?;
        let keypair = TpmKeypair::new(self, role)?;
        let request = RequestBuilder::new(subject, &keypair)
            .map_err(encoding)?
            .build::<DerSignature>()
            .map_err(|e| match e {
                x509_cert::builder::Error::Signature(s) => KeydError::Tpm {
                    operation: "signing the CSR",
                    detail: s.to_string(),
                },
                other => encoding(other),
            })?;
        request.to_pem(LineEnding::LF).map_err(encoding)
    }

    /// Installs a CA-issued chain (PEM, leaf first) for `role`. Refuses a
    /// leaf whose public key is not ours, an expired certificate, and a
    /// chain that does not verify to a trust anchor (the configured
    /// `trust_anchors`, else a self-signed root at the end of the chain).
    pub fn install_certificate(&self, role: KeyRole, pem: &str) -> Result<(), KeydError> {
        let chain = Certificate::load_pem_chain(pem.as_bytes())
            .map_err(|e| KeydError::BadCertificate(format!("not a PEM certificate chain: {e}")))?;
        let leaf = chain
            .first()
            .ok_or_else(|| KeydError::BadCertificate("no certificate in the PEM".into()))?;
        if leaf.tbs_certificate.subject_public_key_info != spki_of(&self.public_key(role)?)? {
            return Err(KeydError::ForeignCertificate { role: role.name() });
        }
        let anchors = match &self.config().trust_anchors {
            Some(path) => {
                let bytes = std::fs::read(path)
                    .map_err(crate::error::io_err("reading trust anchors", path.clone()))?;
                Certificate::load_pem_chain(&bytes).map_err(|e| KeydError::Config {
                    path: path.clone(),
                    message: format!("trust anchors: {e}"),
                })?
            }
            None => Vec::new(),
        };
        verify_chain(&chain, &anchors, SystemTime::now())?;
        // Keep leaf and intermediates; a self-signed root is not sent along.
        let keep: Vec<Certificate> = chain
            .iter()
            .filter(|c| {
                c.tbs_certificate.subject != c.tbs_certificate.issuer || std::ptr::eq(*c, leaf)
            })
            .cloned()
            .collect();
        self.store
            .write_atomic(chain_file(role), to_pem_chain(&keep)?.as_bytes())?;
        tracing::info!(role = role.name(), "installed CA-issued certificate");
        Ok(())
    }
}

/// Verifies that each certificate is signed by the next, and that the last
/// one is signed by an anchor (or, with no anchors, is a self-signed root).
pub fn verify_chain(
    chain: &[Certificate],
    anchors: &[Certificate],
    now: SystemTime,
) -> Result<(), KeydError> {
    let untrusted = |m: String| KeydError::UntrustedChain(m);
    for cert in chain {
        let v = &cert.tbs_certificate.validity;
        if now < v.not_before.to_system_time() || now > v.not_after.to_system_time() {
            return Err(untrusted(format!(
                "certificate \"{}\" is not valid now",
                cert.tbs_certificate.subject
            )));
        }
    }
    for pair in chain.windows(2) {
        if let [child, issuer] = pair {
            verify_signed_by(child, issuer)?;
        }
    }
    let last = chain
        .last()
        .ok_or_else(|| untrusted("empty chain".into()))?;
    if anchors.is_empty() {
        if last.tbs_certificate.subject != last.tbs_certificate.issuer || chain.len() < 2 {
            return Err(untrusted(format!(
                "chain ends at \"{}\" without a self-signed root and no trust anchors are configured",
                last.tbs_certificate.subject
            )));
        }
        return verify_signed_by(last, last);
    }
    for anchor in anchors {
        if anchor == last {
            return Ok(());
        }
        if anchor.tbs_certificate.subject == last.tbs_certificate.issuer
            && verify_signed_by(last, anchor).is_ok()
        {
            return Ok(());
        }
    }
    Err(untrusted(format!(
        "issuer \"{}\" is not a configured trust anchor",
        last.tbs_certificate.issuer
    )))
}

/// Verifies `cert`'s signature with `issuer`'s P-256 key.
fn verify_signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), KeydError> {
    let untrusted = |m: String| KeydError::UntrustedChain(m);
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(untrusted(format!(
            "\"{}\" is issued by \"{}\", not by \"{}\"",
            cert.tbs_certificate.subject,
            cert.tbs_certificate.issuer,
            issuer.tbs_certificate.subject
        )));
    }
    let spki_der = issuer
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(encoding)?;
    let key = VerifyingKey::from_public_key_der(&spki_der).map_err(|e| {
        untrusted(format!(
            "issuer \"{}\" key is not P-256 ECDSA ({e})",
            issuer.tbs_certificate.subject
        ))
    })?;
    let tbs = cert.tbs_certificate.to_der().map_err(encoding)?;
    let oid = cert.signature_algorithm.oid;
    let prehash = if oid == const_oid::db::rfc5912::ECDSA_WITH_SHA_256 {
        DigestAlgorithm::Sha256.hash(&tbs)
    } else if oid == const_oid::db::rfc5912::ECDSA_WITH_SHA_384 {
        DigestAlgorithm::Sha384.hash(&tbs)
    } else if oid == const_oid::db::rfc5912::ECDSA_WITH_SHA_512 {
        DigestAlgorithm::Sha512.hash(&tbs)
    } else {
        return Err(untrusted(format!("unsupported signature algorithm {oid}")));
    };
    let sig_bytes = cert
        .signature
        .as_bytes()
        .ok_or_else(|| untrusted("signature has unused bits".into()))?;
    let sig = p256::ecdsa::Signature::from_der(sig_bytes)
        .map_err(|e| untrusted(format!("malformed signature: {e}")))?;
    key.verify_prehash(&prehash, &sig).map_err(|_| {
        untrusted(format!(
            "signature of \"{}\" does not verify with the key of \"{}\"",
            cert.tbs_certificate.subject, issuer.tbs_certificate.subject
        ))
    })
}
