//! Verifying a package: document digest, pad signature, certificate chain
//! to a configured root, revocation, timestamp.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::SystemTime;

use der::Encode;
use signpad_types::{DigestAlgorithm, DocumentDigest};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::Certificate;

use crate::algorithm::{self, SignatureCheck};
use crate::error::{TimestampError, VerifyError};
use crate::limits::Limits;
use crate::package::{fmt_time, Package};
use crate::timestamp::{verify_timestamp_token, VerifiedTimestamp};

/// The document a package is checked against: its bytes, or its digest as
/// computed by the caller (which must use the package's algorithm).
#[derive(Debug, Clone, Copy)]
pub enum DocumentRef<'a> {
    Bytes(&'a [u8]),
    Digest(&'a DocumentDigest),
}

impl<'a> From<&'a [u8]> for DocumentRef<'a> {
    fn from(b: &'a [u8]) -> Self {
        Self::Bytes(b)
    }
}

impl<'a> From<&'a Vec<u8>> for DocumentRef<'a> {
    fn from(b: &'a Vec<u8>) -> Self {
        Self::Bytes(b)
    }
}

impl<'a> From<&'a DocumentDigest> for DocumentRef<'a> {
    fn from(d: &'a DocumentDigest) -> Self {
        Self::Digest(d)
    }
}

/// What the verifier trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    /// Root certificates (the enterprise CA that issues pad certificates).
    pub roots: Vec<Certificate>,
    /// CRLs. When the list is empty, revocation is not checked (and
    /// [`VerifiedPackage::revocation`] says so). When it is not empty, the
    /// CRL of the pad certificate's issuer is required; intermediate
    /// certificates are checked when their issuer's CRL is present.
    pub crls: Vec<CertificateList>,
    /// The current time as read by the caller, at which CRLs must be
    /// current (`thisUpdate <= now <= nextUpdate`). `None` checks CRL
    /// currency at the package's signing time instead.
    pub now: Option<SystemTime>,
}

/// Whether revocation was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationStatus {
    /// No CRLs were configured.
    NotChecked,
    /// These many certificates of the chain were found on no CRL.
    Checked { certificates: usize },
}

/// A package that verified.
#[derive(Debug, Clone)]
pub struct VerifiedPackage {
    pub package: Package,
    /// Pad certificate first, the configured root last.
    pub chain: Vec<Certificate>,
    pub revocation: RevocationStatus,
    pub timestamp: Option<VerifiedTimestamp>,
}

/// Verifies `package_der` against `document` once. For many packages, use a
/// [`Verifier`], which remembers certificate and CRL signatures it has
/// already checked.
pub fn verify<'a>(
    package_der: &[u8],
    document: impl Into<DocumentRef<'a>>,
    trust: &TrustAnchors,
    limits: &Limits,
) -> Result<VerifiedPackage, VerifyError> {
    Verifier::new(trust.clone(), *limits).verify(package_der, document)
}

/// A reusable verifier: trust anchors, limits, and a cache of verified
/// certificate-chain links and CRL signatures (keyed by the SHA-256 of the
/// signed object and the issuer key), so that checking many packages from
/// the same pads costs one ECDSA verification each.
#[derive(Debug)]
pub struct Verifier {
    trust: TrustAnchors,
    limits: Limits,
    tsa_roots: Vec<Certificate>,
    verified: Mutex<HashSet<[u8; 32]>>,
}

/// Caps the signature cache so that a long-running verifier fed with
/// arbitrary chains cannot grow without bound.
const CACHE_CAPACITY: usize = 4096;

fn cache_key(signed_der: &[u8], issuer: &SubjectPublicKeyInfoOwned) -> Option<[u8; 32]> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(signed_der);
    h.update(issuer.to_der().ok()?);
    Some(h.finalize().into())
}

fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate.subject.to_string()
}

fn key_usage(cert: &Certificate) -> Option<KeyUsage> {
    cert.tbs_certificate
        .get::<KeyUsage>()
        .ok()
        .flatten()
        .map(|(_, ku)| ku)
}

fn is_ca(cert: &Certificate) -> bool {
    let bc = cert
        .tbs_certificate
        .get::<BasicConstraints>()
        .ok()
        .flatten()
        .map(|(_, bc)| bc.ca)
        .unwrap_or(false);
    let ku_ok = key_usage(cert).is_none_or(|ku| ku.0.contains(KeyUsages::KeyCertSign));
    bc && ku_ok
}

fn check_validity(cert: &Certificate, at: SystemTime) -> Result<(), VerifyError> {
    let v = &cert.tbs_certificate.validity;
    let nb = v.not_before.to_system_time();
    let na = v.not_after.to_system_time();
    if at < nb || at > na {
        return Err(VerifyError::Expired {
            subject: subject(cert),
            at: fmt_time(at),
            not_before: fmt_time(nb),
            not_after: fmt_time(na),
        });
    }
    Ok(())
}

impl Verifier {
    pub fn new(trust: TrustAnchors, limits: Limits) -> Self {
        Self {
            trust,
            limits,
            tsa_roots: Vec::new(),
            verified: Mutex::new(HashSet::new()),
        }
    }

    /// Requires timestamp tokens to be signed by one of these TSA
    /// certificates, or by a certificate one of them issued. Without it, a
    /// token's signature is checked with the certificate it carries and
    /// [`VerifiedTimestamp::tsa_trusted`] is false.
    pub fn with_tsa_roots(mut self, roots: Vec<Certificate>) -> Self {
        self.tsa_roots = roots;
        self
    }

    pub fn trust(&self) -> &TrustAnchors {
        &self.trust
    }

    /// Parses and verifies a package. See [`Verifier::verify_package`].
    pub fn verify<'a>(
        &self,
        package_der: &[u8],
        document: impl Into<DocumentRef<'a>>,
    ) -> Result<VerifiedPackage, VerifyError> {
        let package = Package::parse(package_der, &self.limits)?;
        self.verify_package(package, document.into())
    }

    /// Verifies a parsed package, in this order: document digest, pad
    /// signature over the signed attributes, chain to a configured root with
    /// validity at signing time, revocation, timestamp token.
    pub fn verify_package(
        &self,
        package: Package,
        document: DocumentRef<'_>,
    ) -> Result<VerifiedPackage, VerifyError> {
        let alg = package.digest_algorithm();
        let actual = match document {
            DocumentRef::Bytes(b) => alg.hash(b),
            DocumentRef::Digest(d) if d.algorithm() == alg => d.as_bytes().to_vec(),
            DocumentRef::Digest(d) => {
                return Err(VerifyError::DocumentDigestAlgorithm {
                    package: alg,
                    given: d.algorithm(),
                })
            }
        };
        if actual != package.message_digest() {
            return Err(VerifyError::DigestMismatch {
                algorithm: alg,
                expected: hex::encode(package.message_digest()),
                actual: hex::encode(actual),
            });
        }

        self.check_pad_signature(&package, alg)?;
        let chain = self.build_chain(&package)?;
        let revocation = self.check_revocation(&chain, package.signing_time())?;
        let timestamp = package
            .timestamp_token()
            .map(|t| self.check_timestamp(t, package.signature_value()))
            .transpose()?;
        Ok(VerifiedPackage {
            package,
            chain,
            revocation,
            timestamp,
        })
    }

    fn check_timestamp(
        &self,
        token: &[u8],
        signature_value: &[u8],
    ) -> Result<VerifiedTimestamp, VerifyError> {
        let mut ts = verify_timestamp_token(token, signature_value)?;
        if self.tsa_roots.is_empty() {
            return Ok(ts);
        }
        let tsa = &ts.tsa_certificate;
        let trusted = self.tsa_roots.iter().any(|root| {
            root == tsa
                || (root.tbs_certificate.subject == tsa.tbs_certificate.issuer
                    && self.check_cert_issued(tsa, root).is_ok())
        });
        if !trusted {
            return Err(TimestampError::UntrustedTsa {
                subject: subject(tsa),
            }
            .into());
        }
        ts.tsa_trusted = true;
        Ok(ts)
    }

    fn check_pad_signature(
        &self,
        package: &Package,
        alg: DigestAlgorithm,
    ) -> Result<(), VerifyError> {
        let pad = package.pad_certificate();
        let key = algorithm::p256_key(&pad.tbs_certificate.subject_public_key_info).map_err(
            |detail| VerifyError::PadKey {
                subject: subject(pad),
                detail,
            },
        )?;
        if let Some(ku) = key_usage(pad) {
            if !ku.digital_signature() && !ku.non_repudiation() {
                return Err(VerifyError::PadKeyUsage {
                    subject: subject(pad),
                });
            }
        }
        let prehash = alg.hash(package.signed_attributes_der());
        algorithm::verify_p256_prehash(&key, &prehash, package.signature_value()).map_err(|_| {
            VerifyError::BadSignature {
                subject: subject(pad),
            }
        })
    }

    /// Checks that `issuer`'s key signed `signed_der` (a TBSCertificate or
    /// TBSCertList), using the cache.
    fn check_issued(
        &self,
        tbs_der: &[u8],
        signature_algorithm: &spki::AlgorithmIdentifierOwned,
        signature: &[u8],
        issuer: &Certificate,
    ) -> Result<(), SignatureCheck> {
        let spki = &issuer.tbs_certificate.subject_public_key_info;
        let key = {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            h.update(tbs_der);
            h.update(signature);
            cache_key(&h.finalize(), spki)
        };
        if let Some(k) = key {
            let cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if cache.contains(&k) {
                return Ok(());
            }
        }
        let (scheme, digest) = algorithm::signature_scheme(&signature_algorithm.oid, None)?;
        algorithm::verify_signature(spki, scheme, digest, tbs_der, signature)?;
        if let Some(k) = key {
            let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(k);
        }
        Ok(())
    }

    fn check_cert_issued(
        &self,
        child: &Certificate,
        issuer: &Certificate,
    ) -> Result<(), SignatureCheck> {
        let tbs = child
            .tbs_certificate
            .to_der()
            .map_err(|e| SignatureCheck::Unsupported(format!("re-encoding certificate: {e}")))?;
        let sig = child.signature.as_bytes().ok_or(SignatureCheck::Bad)?;
        if child.signature_algorithm != child.tbs_certificate.signature {
            return Err(SignatureCheck::Bad);
        }
        self.check_issued(&tbs, &child.signature_algorithm, sig, issuer)
    }

    /// Pad certificate → included intermediates → configured root.
    fn build_chain(&self, package: &Package) -> Result<Vec<Certificate>, VerifyError> {
        let at = package.signing_time();
        let mut current = package.pad_certificate().clone();
        check_validity(&current, at)?;
        let mut chain = vec![current.clone()];
        loop {
            if chain.len() > self.limits.max_chain_length {
                return Err(VerifyError::ChainTooLong {
                    limit: self.limits.max_chain_length,
                });
            }
            let issuer_name = &current.tbs_certificate.issuer;
            let mut unsupported = None;
            let mut forged = false;

            // A configured root?
            for root in self
                .trust
                .roots
                .iter()
                .filter(|r| &r.tbs_certificate.subject == issuer_name)
            {
                match self.check_cert_issued(&current, root) {
                    Ok(()) => {
                        check_validity(root, at)?;
                        chain.push(root.clone());
                        return Ok(chain);
                    }
                    Err(SignatureCheck::Bad) => forged = true,
                    Err(SignatureCheck::Unsupported(s)) => unsupported = Some(s),
                }
            }

            // An intermediate in the package?
            let mut next = None;
            for cand in package.certificates().iter().filter(|c| {
                &c.tbs_certificate.subject == issuer_name
                    && c.tbs_certificate.subject != c.tbs_certificate.issuer
                    && !chain.contains(c)
            }) {
                match self.check_cert_issued(&current, cand) {
                    Ok(()) => {
                        next = Some(cand.clone());
                        break;
                    }
                    Err(SignatureCheck::Bad) => forged = true,
                    Err(SignatureCheck::Unsupported(s)) => unsupported = Some(s),
                }
            }
            match next {
                Some(issuer) => {
                    if !is_ca(&issuer) {
                        return Err(VerifyError::NotACa {
                            subject: subject(&issuer),
                            child: subject(&current),
                        });
                    }
                    check_validity(&issuer, at)?;
                    chain.push(issuer.clone());
                    current = issuer;
                }
                None => {
                    return Err(if let Some(detail) = unsupported {
                        VerifyError::UnsupportedAlgorithm {
                            what: format!("certificate {}", subject(&current)),
                            detail,
                        }
                    } else if forged {
                        VerifyError::ChainSignature {
                            subject: subject(&current),
                            issuer: issuer_name.to_string(),
                        }
                    } else {
                        VerifyError::UntrustedChain {
                            subject: subject(&current),
                            issuer: issuer_name.to_string(),
                        }
                    })
                }
            }
        }
    }

    fn check_revocation(
        &self,
        chain: &[Certificate],
        signing_time: SystemTime,
    ) -> Result<RevocationStatus, VerifyError> {
        if self.trust.crls.is_empty() {
            return Ok(RevocationStatus::NotChecked);
        }
        let at = self.trust.now.unwrap_or(signing_time);
        let mut checked = 0;
        for (i, pair) in chain.windows(2).enumerate() {
            let [cert, issuer] = pair else { continue };
            let crls: Vec<&CertificateList> = self
                .trust
                .crls
                .iter()
                .filter(|c| c.tbs_cert_list.issuer == issuer.tbs_certificate.subject)
                .collect();
            if crls.is_empty() {
                if i == 0 {
                    return Err(VerifyError::CrlMissing {
                        issuer: subject(issuer),
                    });
                }
                continue;
            }
            for crl in crls {
                self.check_crl(crl, issuer, at)?;
                let serial = &cert.tbs_certificate.serial_number;
                if let Some(entry) = crl
                    .tbs_cert_list
                    .revoked_certificates
                    .iter()
                    .flatten()
                    .find(|r| &r.serial_number == serial)
                {
                    return Err(VerifyError::Revoked {
                        subject: subject(cert),
                        serial: hex::encode(serial.as_bytes()),
                        issuer: subject(issuer),
                        revoked_at: fmt_time(entry.revocation_date.to_system_time()),
                    });
                }
            }
            checked += 1;
        }
        Ok(RevocationStatus::Checked {
            certificates: checked,
        })
    }

    fn check_crl(
        &self,
        crl: &CertificateList,
        issuer: &Certificate,
        at: SystemTime,
    ) -> Result<(), VerifyError> {
        let tbs = crl
            .tbs_cert_list
            .to_der()
            .map_err(|e| VerifyError::UnsupportedAlgorithm {
                what: format!("the CRL of {}", subject(issuer)),
                detail: e.to_string(),
            })?;
        let sig = crl.signature.as_bytes().ok_or(VerifyError::CrlSignature {
            issuer: subject(issuer),
        })?;
        match self.check_issued(&tbs, &crl.signature_algorithm, sig, issuer) {
            Ok(()) => {}
            Err(SignatureCheck::Bad) => {
                return Err(VerifyError::CrlSignature {
                    issuer: subject(issuer),
                })
            }
            Err(SignatureCheck::Unsupported(detail)) => {
                return Err(VerifyError::UnsupportedAlgorithm {
                    what: format!("the CRL of {}", subject(issuer)),
                    detail,
                })
            }
        }
        let this_update = crl.tbs_cert_list.this_update.to_system_time();
        let next_update = crl.tbs_cert_list.next_update.map(|t| t.to_system_time());
        let current = this_update <= at && next_update.is_some_and(|n| at <= n);
        if !current {
            return Err(VerifyError::CrlStale {
                issuer: subject(issuer),
                at: fmt_time(at),
                this_update: fmt_time(this_update),
                next_update: next_update.map_or_else(|| "absent".to_owned(), fmt_time),
            });
        }
        Ok(())
    }
}
