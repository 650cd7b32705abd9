//! Test PKI (root → intermediate → pad, P-256), sample package contents,
//! CRLs and an `openssl` runner, shared by the CMS integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo,
    RecipientInfos,
};
use cms::signed_data::SignedData;
use der::asn1::{BitString, OctetString, SetOfVec};
use der::{Any, Decode, Encode, EncodePem};
use p256::ecdsa::{DerSignature, SigningKey};
use signature::Signer;
use signpad_package::dev::SoftwareSigner;
use signpad_package::{
    AuthFactor, AuthFactorUse, CaptureStatistics, CeremonyRecord, PackageContents,
    SignatureImageDigest,
};
use signpad_types::{DigestAlgorithm, DocumentDigest, PadSerial, SessionId};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

pub const YEAR: u64 = 365 * 24 * 3600;

/// 2025-10-09, the signing time used by the tests.
pub fn signing_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_760_000_000)
}

pub fn at_year(year: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs((year - 1970) * YEAR + (year - 1970) / 4 * 24 * 3600)
}

pub fn validity(from: SystemTime, to: SystemTime) -> Validity {
    Validity {
        not_before: Time::try_from(from).unwrap(),
        not_after: Time::try_from(to).unwrap(),
    }
}

/// Valid 2020 to 2045, covering the signing time and the real clock that
/// `openssl cms -verify` uses.
pub fn normal_validity() -> Validity {
    validity(at_year(2020), at_year(2045))
}

pub struct Pki {
    pub root_key: SigningKey,
    pub root: Certificate,
    pub inter_key: SigningKey,
    pub inter: Certificate,
    pub pad_key: SigningKey,
    pub pad: Certificate,
}

pub fn new_key() -> SigningKey {
    SigningKey::random(&mut rand_core::OsRng)
}

fn spki(key: &SigningKey) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap()
}

pub fn root_cert(key: &SigningKey, cn: &str) -> Certificate {
    let b = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        normal_validity(),
        Name::from_str(&format!("CN={cn},O=Example Bank")).unwrap(),
        spki(key),
        key,
    )
    .unwrap();
    b.build::<DerSignature>().unwrap()
}

pub fn intermediate_cert(
    key: &SigningKey,
    issuer: &Certificate,
    issuer_key: &SigningKey,
) -> Certificate {
    let b = CertificateBuilder::new(
        Profile::SubCA {
            issuer: issuer.tbs_certificate.subject.clone(),
            path_len_constraint: Some(0),
        },
        SerialNumber::from(2u32),
        normal_validity(),
        Name::from_str("CN=Example Pad CA,O=Example Bank").unwrap(),
        spki(key),
        issuer_key,
    )
    .unwrap();
    b.build::<DerSignature>().unwrap()
}

pub fn pad_cert(
    key: &SigningKey,
    issuer: &Certificate,
    issuer_key: &SigningKey,
    serial: u32,
    validity: Validity,
) -> Certificate {
    let b = CertificateBuilder::new(
        Profile::Leaf {
            issuer: issuer.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(serial),
        validity,
        Name::from_str("CN=SP-0001,OU=Signature Pads,O=Example Bank").unwrap(),
        spki(key),
        issuer_key,
    )
    .unwrap();
    b.build::<DerSignature>().unwrap()
}

impl Pki {
    pub fn new() -> Self {
        Self::with_pad_validity(normal_validity())
    }

    pub fn with_pad_validity(v: Validity) -> Self {
        let root_key = new_key();
        let root = root_cert(&root_key, "Example Root CA");
        let inter_key = new_key();
        let inter = intermediate_cert(&inter_key, &root, &root_key);
        let pad_key = new_key();
        let pad = pad_cert(&pad_key, &inter, &inter_key, 1001, v);
        Self {
            root_key,
            root,
            inter_key,
            inter,
            pad_key,
            pad,
        }
    }

    pub fn signer(&self) -> SoftwareSigner {
        SoftwareSigner::new(
            self.pad_key.clone(),
            vec![self.pad.clone(), self.inter.clone()],
        )
    }

    pub fn trust(&self) -> signpad_package::TrustAnchors {
        signpad_package::TrustAnchors {
            roots: vec![self.root.clone()],
            crls: vec![],
            now: None,
        }
    }

    /// A CRL of the intermediate CA listing `revoked` serials, current from
    /// `this_update` for `days`.
    pub fn inter_crl(
        &self,
        revoked: &[u32],
        this_update: SystemTime,
        days: u64,
    ) -> CertificateList {
        make_crl(&self.inter, &self.inter_key, revoked, this_update, days)
    }
}

pub fn make_crl(
    issuer: &Certificate,
    issuer_key: &SigningKey,
    revoked: &[u32],
    this_update: SystemTime,
    days: u64,
) -> CertificateList {
    let alg = AlgorithmIdentifierOwned {
        oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
        parameters: None,
    };
    let utc = |t: SystemTime| Time::UtcTime(der::asn1::UtcTime::from_system_time(t).unwrap());
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: alg.clone(),
        issuer: issuer.tbs_certificate.subject.clone(),
        this_update: utc(this_update),
        next_update: Some(utc(this_update + Duration::from_secs(days * 24 * 3600))),
        revoked_certificates: if revoked.is_empty() {
            None
        } else {
            Some(
                revoked
                    .iter()
                    .map(|s| RevokedCert {
                        serial_number: SerialNumber::from(*s),
                        revocation_date: utc(this_update),
                        crl_entry_extensions: None,
                    })
                    .collect(),
            )
        },
        crl_extensions: None,
    };
    let sig: DerSignature = issuer_key.sign(&tbs.to_der().unwrap());
    CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: alg,
        signature: BitString::from_bytes(sig.as_bytes()).unwrap(),
    }
}

/// A structurally real CMS EnvelopedData (key transport to an escrow
/// certificate, AES-256-CBC content) with random bytes standing in for the
/// encrypted ISO record: the CMS core treats the envelope as opaque.
pub fn sample_envelope(encrypted_len: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut rng = rand::thread_rng();
    let mut enc_key = vec![0u8; 256];
    rng.fill_bytes(&mut enc_key);
    let mut content = vec![0u8; encrypted_len];
    rng.fill_bytes(&mut content);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let escrow_name = Name::from_str("CN=Escrow Examiner,O=Example Bank").unwrap();
    let ed = EnvelopedData {
        version: CmsVersion::V0,
        originator_info: None,
        recip_infos: RecipientInfos(
            SetOfVec::try_from(vec![RecipientInfo::Ktri(KeyTransRecipientInfo {
                version: CmsVersion::V0,
                rid: RecipientIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                    issuer: escrow_name,
                    serial_number: SerialNumber::from(77u32),
                }),
                key_enc_alg: AlgorithmIdentifierOwned {
                    oid: const_oid::db::rfc5912::RSA_ENCRYPTION,
                    parameters: Some(Any::null()),
                },
                enc_key: OctetString::new(enc_key).unwrap(),
            })])
            .unwrap(),
        ),
        encrypted_content: EncryptedContentInfo {
            content_type: signpad_package::oids::CT_BIOMETRIC_PAYLOAD,
            content_enc_alg: AlgorithmIdentifierOwned {
                oid: const_oid::db::rfc5911::ID_AES_256_CBC,
                parameters: Some(
                    Any::encode_from(&OctetString::new(iv.to_vec()).unwrap()).unwrap(),
                ),
            },
            encrypted_content: Some(OctetString::new(content).unwrap()),
        },
        unprotected_attrs: None,
    };
    ContentInfo {
        content_type: const_oid::db::rfc5911::ID_ENVELOPED_DATA,
        content: Any::encode_from(&ed).unwrap(),
    }
    .to_der()
    .unwrap()
}

pub fn ceremony() -> CeremonyRecord {
    CeremonyRecord {
        pad_serial: PadSerial::new("SP-0001").unwrap(),
        session_id: SessionId::from_bytes([0x5a; 16]),
        document_title: "Mortgage agreement 2025-0042".into(),
        pages_shown: vec![
            DocumentDigest::of(DigestAlgorithm::Sha256, b"page 1 png"),
            DocumentDigest::of(DigestAlgorithm::Sha256, b"page 2 png"),
        ],
        auth_factors: vec![
            AuthFactorUse {
                factor: AuthFactor::Pin,
                detail: None,
            },
            AuthFactorUse {
                factor: AuthFactor::SignatureDynamics,
                detail: Some("score 0.93".into()),
            },
        ],
        training: false,
        capture: CaptureStatistics {
            sample_count: 1000,
            duration_ms: 5000,
            stroke_count: 6,
            gap_count: 1,
            device_name: "Wacom Co.,Ltd. Pen and multitouch sensor Pen".into(),
        },
        software_version: "signpad 0.1.0".into(),
    }
}

pub const DOCUMENT: &[u8] = b"%PDF-1.7\nThe borrower agrees to repay the loan.\n%%EOF\n";

/// Contents of a realistic package: 5 s at 200 Hz gives an ISO record of
/// about 10 KB; the envelope here is that size.
pub fn contents(document: &[u8], alg: DigestAlgorithm) -> PackageContents {
    PackageContents {
        document_digest: DocumentDigest::of(alg, document),
        signing_time: signing_time(),
        ceremony: ceremony(),
        biometric_envelope: sample_envelope(10_000),
        signature_image: SignatureImageDigest::of_png(b"\x89PNG fake image"),
    }
}

pub fn build(pki: &Pki, alg: DigestAlgorithm) -> Vec<u8> {
    signpad_package::build_package(&contents(DOCUMENT, alg), &pki.signer()).unwrap()
}

/// Decodes a package, lets `f` change its SignedData, re-encodes it
/// without re-signing.
pub fn mutate(package: &[u8], f: impl FnOnce(&mut SignedData)) -> Vec<u8> {
    let ci = ContentInfo::from_der(package).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    f(&mut sd);
    ContentInfo {
        content_type: ci.content_type,
        content: Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap()
}

pub fn pem(cert: &Certificate) -> String {
    cert.to_pem(der::pem::LineEnding::LF).unwrap()
}

pub fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

pub fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl binary (apt install openssl)")
}

pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
