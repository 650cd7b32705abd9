//! Shared by the audit integration tests: one openssl-made demo PKI, a
//! software signer over its pad key, and helpers to build and rewrite logs.
#![allow(dead_code)]

use signpad_audit::record::{
    encode_line, Body, Checkpoint, Genesis, Hash32, ParsedRecord, Recovered,
};
use signpad_audit::{Actor, AuditEvent, AuditLog, CheckpointPolicy, EventKind, Outcome, Timestamp};
use signpad_package::dev::SoftwareSigner;
use signpad_testkit::DemoPki;
use signpad_types::{DigestAlgorithm, SessionId};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::Certificate;

pub struct Pki {
    _dir: tempfile::TempDir,
    pub pki: DemoPki,
    pub key_pem: String,
    pub cert_pem: Vec<u8>,
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let pki = DemoPki::create(dir.path()).unwrap();
        Pki {
            key_pem: std::fs::read_to_string(&pki.pad_key).unwrap(),
            cert_pem: std::fs::read(&pki.pad).unwrap(),
            pki,
            _dir: dir,
        }
    })
}

pub fn signer() -> SoftwareSigner {
    let p = pki();
    SoftwareSigner::from_pem(&p.key_pem, &p.cert_pem).unwrap()
}

pub fn pad_cert() -> Vec<Certificate> {
    Certificate::load_pem_chain(&pki().cert_pem).unwrap()
}

pub fn ca_cert() -> Vec<Certificate> {
    Certificate::load_pem_chain(&std::fs::read(&pki().pki.ca).unwrap()).unwrap()
}

/// 2025-03-01T09:00:00Z plus `secs`.
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_740_819_600 + secs)
}

pub fn event(i: u64) -> AuditEvent {
    let session = SessionId::from_bytes([i as u8; 16]);
    match i % 3 {
        0 => AuditEvent::new(
            EventKind::SessionCreated,
            Actor::Client {
                subject: "CN=teller-7,O=Bank".into(),
            },
            Outcome::Ok,
        )
        .with_session(session)
        .with_digest("document", DigestAlgorithm::Sha256, &[i as u8; 32]),
        1 => AuditEvent::new(
            EventKind::AuthAttempt,
            Actor::Signer {
                id: format!("s-{i}"),
            },
            Outcome::Denied,
        )
        .with_session(session)
        .with_detail("factor=pin attempt=1"),
        _ => AuditEvent::new(EventKind::PackageSealed, Actor::Pad, Outcome::Ok)
            .with_session(session)
            .with_digest("package", DigestAlgorithm::Sha256, &[0xA5; 32]),
    }
}

/// A log of `events` events, one second apart, checkpointed every
/// `every` records; returns its bytes.
pub fn build_log(path: &Path, events: u64, every: u64) -> Vec<u8> {
    let policy = CheckpointPolicy {
        every_records: every,
        every: Duration::from_secs(3600),
    };
    let mut log = AuditLog::open(path, signer(), policy, at(0)).unwrap();
    for i in 0..events {
        log.append(at(i + 1), &event(i)).unwrap();
    }
    drop(log);
    std::fs::read(path).unwrap()
}

pub fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// A parsed record with owned body, to rewrite logs as a forger would.
#[derive(Clone, Debug)]
pub struct Rec {
    pub seq: u64,
    pub time: Timestamp,
    pub body: OwnedBody,
}

#[derive(Clone, Debug)]
pub enum OwnedBody {
    Genesis(Genesis),
    Event(AuditEvent),
    Checkpoint(Checkpoint),
    Recovered(Recovered),
}

pub fn parse(bytes: &[u8]) -> Vec<Rec> {
    lines(bytes)
        .iter()
        .map(|l| {
            let text = std::str::from_utf8(l).unwrap().trim_end();
            let cut = text.rfind(",\"hash\":").unwrap();
            let r: ParsedRecord = serde_json::from_str(&format!("{}}}", &text[..cut])).unwrap();
            let body = if let Some(g) = r.genesis.clone() {
                OwnedBody::Genesis(g)
            } else if let Some(c) = r.checkpoint.clone() {
                OwnedBody::Checkpoint(c)
            } else if let Some(rv) = r.recovered.clone() {
                OwnedBody::Recovered(rv)
            } else {
                OwnedBody::Event(r.typed_event().unwrap().unwrap())
            };
            Rec {
                seq: r.seq,
                time: r.time,
                body,
            }
        })
        .collect()
}

/// Re-encodes records with a consistent hash chain (the seq fields are
/// kept as given), as someone able to write the file could.
pub fn rechain(recs: &[Rec]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev = Hash32::ZERO;
    for r in recs {
        let body = match &r.body {
            OwnedBody::Genesis(g) => Body::Genesis(g),
            OwnedBody::Event(e) => Body::Event(e),
            OwnedBody::Checkpoint(c) => Body::Checkpoint(c),
            OwnedBody::Recovered(rv) => Body::Recovered(rv),
        };
        let (line, hash) = encode_line(r.seq, r.time, prev, body).unwrap();
        out.extend_from_slice(&line);
        prev = hash;
    }
    out
}
