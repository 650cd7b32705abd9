//! Audit log speed: append with fdatasync per record (beside a raw
//! write+fdatasync of the same size as the disk's floor), group commit of
//! 16 records per fdatasync, a signed checkpoint, and offline verification.
//!
//! `cargo bench -p signpad-audit --bench audit`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use signpad_audit::{
    verify_log, Actor, AuditEvent, AuditLog, CheckpointPolicy, EventKind, Outcome,
};
use signpad_package::dev::SoftwareSigner;
use signpad_testkit::DemoPki;
use signpad_types::{DigestAlgorithm, SessionId};
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::Certificate;

struct Setup {
    _dir: tempfile::TempDir,
    key_pem: String,
    cert_pem: Vec<u8>,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pki = DemoPki::create(dir.path()).unwrap();
        Self {
            key_pem: std::fs::read_to_string(&pki.pad_key).unwrap(),
            cert_pem: std::fs::read(&pki.pad).unwrap(),
            _dir: dir,
        }
    }
    fn signer(&self) -> SoftwareSigner {
        SoftwareSigner::from_pem(&self.key_pem, &self.cert_pem).unwrap()
    }
}

fn event(i: u64) -> AuditEvent {
    AuditEvent::new(
        EventKind::AuthAttempt,
        Actor::Client {
            subject: "CN=teller-7,OU=Branch 12,O=Bank".into(),
        },
        Outcome::Ok,
    )
    .with_session(SessionId::from_bytes([(i % 251) as u8; 16]))
    .with_digest("document", DigestAlgorithm::Sha256, &[(i % 256) as u8; 32])
    .with_detail("factor=pin attempt=1")
}

fn at(i: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_740_819_600_000 + i)
}

const NEVER: CheckpointPolicy = CheckpointPolicy {
    every_records: u64::MAX,
    every: Duration::from_secs(u64::MAX / 4),
};

fn bench_append(c: &mut Criterion) {
    let setup = Setup::new();
    // On the same disk as the crate (not tmpfs), like /var/lib/signpad.
    let base = option_env!("CARGO_TARGET_TMPDIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    println!("append benches write in {}", base.display());
    let dir = tempfile::tempdir_in(&base).unwrap();
    let mut g = c.benchmark_group("audit_append");
    g.sample_size(20).measurement_time(Duration::from_secs(10));

    let raw_path = dir.path().join("raw.log");
    let mut raw = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&raw_path)
        .unwrap();
    let line = vec![b'x'; 420];
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_write_fdatasync_420B", |b| {
        b.iter(|| {
            raw.write_all(&line).unwrap();
            raw.sync_data().unwrap();
        })
    });

    let mut log =
        AuditLog::open(&dir.path().join("one.log"), setup.signer(), NEVER, at(0)).unwrap();
    let mut i = 0u64;
    g.bench_function("append_fsync_per_record", |b| {
        b.iter(|| {
            i += 1;
            log.append(at(i), &event(i)).unwrap()
        })
    });

    let mut log =
        AuditLog::open(&dir.path().join("batch.log"), setup.signer(), NEVER, at(0)).unwrap();
    let batch: Vec<AuditEvent> = (0..16).map(event).collect();
    g.throughput(Throughput::Elements(16));
    g.bench_function("append_batch_16_per_fsync", |b| {
        b.iter(|| {
            i += 1;
            log.append_batch(at(i), &batch).unwrap()
        })
    });

    let mut log = AuditLog::open(&dir.path().join("ck.log"), setup.signer(), NEVER, at(0)).unwrap();
    g.throughput(Throughput::Elements(1));
    g.bench_function("append_then_signed_checkpoint_software_key", |b| {
        b.iter(|| {
            i += 1;
            log.append(at(i), &event(i)).unwrap();
            log.checkpoint(at(i)).unwrap()
        })
    });
    g.finish();
}

fn bench_verify(c: &mut Criterion) {
    let setup = Setup::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let policy = CheckpointPolicy {
        every_records: 100,
        every: Duration::from_secs(900),
    };
    let mut log = AuditLog::open(&path, setup.signer(), policy, at(0)).unwrap();
    let events: Vec<AuditEvent> = (0..10_000).map(event).collect();
    for chunk in events.chunks(100) {
        log.append_batch(at(1), chunk).unwrap();
    }
    drop(log);
    let bytes = std::fs::read(&path).unwrap();
    let certs = Certificate::load_pem_chain(&setup.cert_pem).unwrap();
    let report = verify_log(&bytes, &certs).unwrap();
    println!(
        "verify input: {} records ({} checkpoints), {} bytes",
        report.records,
        report.checkpoints,
        bytes.len()
    );
    let mut g = c.benchmark_group("audit_verify");
    g.sample_size(10);
    g.throughput(Throughput::Elements(report.records));
    g.bench_function("verify_10k_records_checkpoint_every_100", |b| {
        b.iter_batched(
            || (),
            |()| verify_log(&bytes, &certs).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_append, bench_verify);
criterion_main!(benches);
