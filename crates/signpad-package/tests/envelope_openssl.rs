#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The biometric envelope against the real `openssl` binary: what we seal,
//! stock OpenSSL opens with the escrow key, and what OpenSSL refuses we
//! refuse too, each with its own error.

use std::path::{Path, PathBuf};
use std::process::Command;

use cms::content_info::ContentInfo;
use cms::enveloped_data::EnvelopedData;
use der::{Any, Decode, Encode};
use signpad_package::envelope::{
    escrow_certificate_from_pem, escrow_key_from_pem, open_biometric, seal_biometric,
    BiometricPayload, EnvelopeError, MAX_ENVELOPE_LEN,
};
use signpad_package::iso19794::{CaptureDateTime, CaptureInfo, SignatureRecord};
use signpad_types::{
    AxisInfo, DigestAlgorithm, DocumentDigest, PenCapabilities, PenSample, SampleFlags, SessionId,
};

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl binary must be installed")
}

fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let out = openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Escrow {
    dir: tempfile::TempDir,
}

impl Escrow {
    /// An RSA-3072 escrow key and self-signed certificate made by openssl.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        openssl_ok(
            dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:3072",
                "-nodes",
                "-sha256",
                "-days",
                "2",
                "-subj",
                "/O=signpad test/CN=Escrow examiner",
                "-keyout",
                "escrow-key.pem",
                "-out",
                "escrow.pem",
            ],
        );
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }
}

fn capabilities() -> PenCapabilities {
    PenCapabilities {
        name: "Test tablet Pen".into(),
        vendor: 0x056a,
        product: 0x0357,
        x: AxisInfo {
            min: 0,
            max: 31_496,
            resolution: 200,
        },
        y: AxisInfo {
            min: 0,
            max: 19_685,
            resolution: 200,
        },
        pressure: Some(AxisInfo {
            min: 0,
            max: 8191,
            resolution: 0,
        }),
        tilt_x: Some(AxisInfo {
            min: -64,
            max: 63,
            resolution: 57,
        }),
        tilt_y: Some(AxisInfo {
            min: -64,
            max: 63,
            resolution: 57,
        }),
        distance: None,
    }
}

/// A 5 s signature at 200 Hz with x, y, pressure, time and tilt.
fn five_second_record() -> Vec<u8> {
    let samples: Vec<PenSample> = (0..1000u64)
        .map(|i| {
            let t = i as f64 / 200.0;
            PenSample {
                t_us: 400_000 + i * 5_000 + (i * 37) % 11,
                x: (1_800.0 + 1_700.0 * t + 500.0 * (9.0 * t).sin()) as i32,
                y: (2_900.0 + 650.0 * (6.0 * t).cos()) as i32,
                pressure: (24_000.0 + 18_000.0 * (2.5 * t).sin()) as u16,
                tilt_x: Some((2_800.0 + 200.0 * (t).sin()) as i16),
                tilt_y: Some((-1_500.0 + 150.0 * t) as i16),
                flags: SampleFlags(SampleFlags::IN_RANGE | SampleFlags::IN_CONTACT),
            }
        })
        .collect();
    let capture = CaptureInfo {
        captured_at: CaptureDateTime {
            year: 2025,
            month: 6,
            day: 2,
            hour: 10,
            minute: 4,
            second: 31,
            millisecond: 250,
        },
        device_vendor: 0x056a,
        device_product: 0x0357,
        device_name: "Test tablet Pen".into(),
    };
    SignatureRecord::from_samples(&capabilities(), &samples, capture)
        .unwrap()
        .encode()
        .unwrap()
}

fn document() -> DocumentDigest {
    DocumentDigest::of(
        DigestAlgorithm::Sha256,
        b"%PDF-1.7 loan agreement, page 1 of 3",
    )
}

fn session() -> SessionId {
    SessionId::from_bytes(*b"session-0000001\x01")
}

fn seal(escrow: &Escrow, record: &[u8]) -> Vec<u8> {
    let cert = escrow_certificate_from_pem(&escrow.read("escrow.pem")).unwrap();
    seal_biometric(
        record,
        &document(),
        session(),
        &cert,
        &mut rand::rngs::OsRng,
    )
    .unwrap()
}

fn reencode(envelope: &[u8], edit: impl FnOnce(&mut EnvelopedData)) -> Vec<u8> {
    let mut info = ContentInfo::from_der(envelope).unwrap();
    let mut env: EnvelopedData = info.content.decode_as().unwrap();
    edit(&mut env);
    info.content = Any::encode_from(&env).unwrap();
    info.to_der().unwrap()
}

#[test]
fn openssl_decrypts_the_envelope_to_our_payload() {
    let escrow = Escrow::new();
    let record = five_second_record();
    let envelope = seal(&escrow, &record);
    std::fs::write(escrow.path("env.der"), &envelope).unwrap();

    openssl_ok(
        escrow.dir.path(),
        &[
            "cms",
            "-decrypt",
            "-inform",
            "DER",
            "-in",
            "env.der",
            "-recip",
            "escrow.pem",
            "-inkey",
            "escrow-key.pem",
            "-binary",
            "-out",
            "payload.der",
        ],
    );
    let from_openssl = std::fs::read(escrow.path("payload.der")).unwrap();
    let expected = BiometricPayload::new(&record, &document(), session())
        .to_der()
        .unwrap();
    assert_eq!(from_openssl, *expected);

    // asn1parse sees the payload fields, the ISO record starting with "SDI\0 10\0".
    let parsed = openssl_ok(
        escrow.dir.path(),
        &["asn1parse", "-inform", "DER", "-in", "payload.der"],
    );
    assert!(parsed.contains(":sha256"), "{parsed}");
    assert!(parsed.contains("[HEX DUMP]:5344490020313000"), "{parsed}");
    assert!(
        parsed.contains(&document().to_hex().to_uppercase()),
        "{parsed}"
    );

    // The envelope itself: RSAES-OAEP key transport and AES-256-CBC content.
    let env_dump = openssl_ok(
        escrow.dir.path(),
        &["asn1parse", "-inform", "DER", "-in", "env.der"],
    );
    assert!(env_dump.contains(":pkcs7-envelopedData"), "{env_dump}");
    assert!(env_dump.contains(":rsaesOaep"), "{env_dump}");
    assert!(env_dump.contains(":aes-256-cbc"), "{env_dump}");

    eprintln!(
        "5 s / 200 Hz signature: ISO record {} bytes, envelope {} bytes",
        record.len(),
        envelope.len()
    );
    assert!(record.len() <= 12_200);
    assert!(envelope.len() <= 12_900);
}

#[test]
fn our_decryption_matches_and_the_record_is_intact() {
    let escrow = Escrow::new();
    let record = five_second_record();
    let envelope = seal(&escrow, &record);
    let key = escrow_key_from_pem(&escrow.read("escrow-key.pem")).unwrap();

    let payload = open_biometric(&envelope, &key).unwrap();
    payload.check_binding(&document(), session()).unwrap();
    assert_eq!(payload.iso_record.as_slice(), record.as_slice());
    assert_eq!(payload.record().unwrap().sample_count(), 1000);
}

#[test]
fn an_envelope_moved_to_another_document_or_session_is_refused() {
    let escrow = Escrow::new();
    let envelope = seal(&escrow, &five_second_record());
    let key = escrow_key_from_pem(&escrow.read("escrow-key.pem")).unwrap();
    let payload = open_biometric(&envelope, &key).unwrap();

    let other = DocumentDigest::of(DigestAlgorithm::Sha256, b"%PDF-1.7 a different contract");
    assert!(matches!(
        payload.check_binding(&other, session()),
        Err(EnvelopeError::DocumentMismatch { .. })
    ));
    let same_bytes_other_algorithm = DocumentDigest::of(DigestAlgorithm::Sha512, b"x");
    assert!(matches!(
        payload.check_binding(&same_bytes_other_algorithm, session()),
        Err(EnvelopeError::DocumentMismatch { .. })
    ));
    assert!(matches!(
        payload.check_binding(&document(), SessionId::from_bytes([7; 16])),
        Err(EnvelopeError::SessionMismatch { .. })
    ));
}

#[test]
fn the_wrong_escrow_key_is_refused_by_us_and_by_openssl() {
    let escrow = Escrow::new();
    let envelope = seal(&escrow, &five_second_record());
    std::fs::write(escrow.path("env.der"), &envelope).unwrap();
    // A second key, in the traditional PKCS#1 PEM form.
    openssl_ok(
        escrow.dir.path(),
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "other.pem",
        ],
    );
    openssl_ok(
        escrow.dir.path(),
        &[
            "pkey",
            "-in",
            "other.pem",
            "-traditional",
            "-out",
            "other-pkcs1.pem",
        ],
    );
    let pkcs1 = escrow.read("other-pkcs1.pem");
    assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"));
    let other = escrow_key_from_pem(&pkcs1).unwrap();
    assert!(matches!(
        open_biometric(&envelope, &other),
        Err(EnvelopeError::WrongKey)
    ));

    let out = openssl(
        escrow.dir.path(),
        &[
            "cms",
            "-decrypt",
            "-inform",
            "DER",
            "-in",
            "env.der",
            "-inkey",
            "other.pem",
            "-binary",
            "-out",
            "wrong.der",
        ],
    );
    assert!(
        !out.status.success(),
        "openssl decrypted with the wrong key"
    );
}

#[test]
fn garbage_truncated_and_tampered_envelopes_give_specific_errors() {
    let escrow = Escrow::new();
    let envelope = seal(&escrow, &five_second_record());
    let key = escrow_key_from_pem(&escrow.read("escrow-key.pem")).unwrap();

    assert!(matches!(
        open_biometric(b"definitely not DER", &key),
        Err(EnvelopeError::Malformed {
            structure: "ContentInfo",
            ..
        })
    ));
    assert!(matches!(
        open_biometric(&envelope[..envelope.len() - 40], &key),
        Err(EnvelopeError::Malformed {
            structure: "ContentInfo",
            ..
        })
    ));
    assert!(matches!(
        open_biometric(&vec![0x30; MAX_ENVELOPE_LEN + 1], &key),
        Err(EnvelopeError::TooLarge { .. })
    ));

    // Not EnvelopedData at all.
    let mut info = ContentInfo::from_der(&envelope).unwrap();
    info.content_type = signpad_package::oids::ID_SIGNED_DATA;
    assert!(matches!(
        open_biometric(&info.to_der().unwrap(), &key),
        Err(EnvelopeError::NotEnvelopedData { .. })
    ));

    // Another payload type inside.
    let relabelled = reencode(&envelope, |env| {
        env.encrypted_content.content_type = signpad_package::oids::ID_DATA;
    });
    assert!(matches!(
        open_biometric(&relabelled, &key),
        Err(EnvelopeError::WrongPayloadType { .. })
    ));

    // A changed IV turns the plaintext's first block (the SEQUENCE header) to noise.
    let new_iv = reencode(&envelope, |env| {
        let alg = &mut env.encrypted_content.content_enc_alg;
        let mut iv = alg.parameters.as_ref().unwrap().value().to_vec();
        iv[0] ^= 0x01;
        alg.parameters = Some(Any::new(der::Tag::OctetString, iv).unwrap());
    });
    assert!(matches!(
        open_biometric(&new_iv, &key),
        Err(EnvelopeError::Malformed {
            structure: "BiometricPayload",
            ..
        })
    ));

    // Ciphertext cut to a partial block cannot be decrypted.
    let cut = reencode(&envelope, |env| {
        let ct = env
            .encrypted_content
            .encrypted_content
            .as_ref()
            .unwrap()
            .as_bytes();
        let shorter = ct[..ct.len() - 5].to_vec();
        env.encrypted_content.encrypted_content =
            Some(der::asn1::OctetString::new(shorter).unwrap());
    });
    assert!(matches!(
        open_biometric(&cut, &key),
        Err(EnvelopeError::DecryptionFailed)
    ));

    // PKCS#1 v1.5 key transport is not accepted.
    let v15 = reencode(&envelope, |env| {
        let ri = env.recip_infos.0.iter().next().unwrap().clone();
        let cms::enveloped_data::RecipientInfo::Ktri(mut ktri) = ri else {
            panic!()
        };
        ktri.key_enc_alg.oid = signpad_package::envelope::RSA_ENCRYPTION;
        ktri.key_enc_alg.parameters = None;
        env.recip_infos = cms::enveloped_data::RecipientInfos(
            der::asn1::SetOfVec::try_from(vec![cms::enveloped_data::RecipientInfo::Ktri(ktri)])
                .unwrap(),
        );
    });
    assert!(matches!(
        open_biometric(&v15, &key),
        Err(EnvelopeError::UnsupportedKeyTransport { .. })
    ));
}

#[test]
fn escrow_keys_and_certificates_are_checked_when_read() {
    let escrow = Escrow::new();
    let pkcs8 = escrow.read("escrow-key.pem");
    assert!(pkcs8.contains("BEGIN PRIVATE KEY"));
    escrow_key_from_pem(&pkcs8).unwrap();

    openssl_ok(
        escrow.dir.path(),
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "escrow-key.pem",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:secret",
            "-out",
            "encrypted.pem",
        ],
    );
    assert!(matches!(
        escrow_key_from_pem(&escrow.read("encrypted.pem")),
        Err(EnvelopeError::InvalidEscrowKey(_))
    ));
    assert!(matches!(
        escrow_key_from_pem("hello"),
        Err(EnvelopeError::InvalidEscrowKey(_))
    ));

    // An EC certificate cannot be an escrow certificate for RSA-OAEP.
    openssl_ok(
        escrow.dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=not rsa",
            "-keyout",
            "ec-key.pem",
            "-out",
            "ec.pem",
        ],
    );
    assert!(matches!(
        escrow_certificate_from_pem(&escrow.read("ec.pem")),
        Err(EnvelopeError::EscrowKeyNotRsa { .. })
    ));
}
