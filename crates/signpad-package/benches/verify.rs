#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Verify throughput of a realistic package (5 s at 200 Hz: 10 KB envelope,
//! pad → intermediate → root chain, CRL) beside the raw P-256
//! `verify_prehash` rate measured in the same run.
//!
//! `cargo bench -p signpad-package --bench verify`
//!
//! Prints a ratio line (target ≥ 0.6) for `docs/benchmarks.md`. A reused
//! [`Verifier`] remembers chain-link and CRL signatures it has checked, so a
//! host verifying many packages from its pads pays one ECDSA verification
//! per package; the one-shot `verify()` (cold) is measured too.

#[path = "../tests/cms_support/mod.rs"]
mod cms_support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use cms_support::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use p256::ecdsa::Signature;
use signature::hazmat::{PrehashSigner, PrehashVerifier};
use signpad_package::{verify, Limits, Verifier};
use signpad_types::{DigestAlgorithm, DocumentDigest};

struct Setup {
    pkg: Vec<u8>,
    digest: DocumentDigest,
    trust: signpad_package::TrustAnchors,
    vk: p256::ecdsa::VerifyingKey,
    prehash: [u8; 32],
    sig: Signature,
}

fn setup() -> Setup {
    let pki = Pki::new();
    let pkg = build(&pki, DigestAlgorithm::Sha256);
    let mut trust = pki.trust();
    trust.crls = vec![pki.inter_crl(&[999], signing_time(), 30)];
    let prehash = [7u8; 32];
    let sig: Signature = pki.pad_key.sign_prehash(&prehash).unwrap();
    Setup {
        digest: DocumentDigest::of(DigestAlgorithm::Sha256, DOCUMENT),
        pkg,
        trust,
        vk: *pki.pad_key.verifying_key(),
        prehash,
        sig,
    }
}

/// Operations per second of `f`, measured for about `time`.
fn rate(time: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..20 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < time {
        for _ in 0..10 {
            f();
        }
        n += 10;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let verifier = Verifier::new(s.trust.clone(), Limits::default());
    verifier.verify(&s.pkg, &s.digest).unwrap();

    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_p256_verify_prehash", |b| {
        b.iter(|| s.vk.verify_prehash(black_box(&s.prehash), &s.sig).unwrap())
    });
    g.bench_function("package_verifier_warm", |b| {
        b.iter(|| verifier.verify(black_box(&s.pkg), &s.digest).unwrap())
    });
    g.bench_function("package_verify_cold", |b| {
        b.iter(|| verify(black_box(&s.pkg), &s.digest, &s.trust, &Limits::default()).unwrap())
    });
    g.finish();

    // Same-run ratio, printed for the record.
    let t = Duration::from_secs(2);
    let raw = rate(t, || {
        s.vk.verify_prehash(black_box(&s.prehash), &s.sig).unwrap();
    });
    let warm = rate(t, || {
        verifier.verify(black_box(&s.pkg), &s.digest).unwrap();
    });
    let cold = rate(t, || {
        verify(black_box(&s.pkg), &s.digest, &s.trust, &Limits::default()).unwrap();
    });
    println!(
        "package size {} bytes; raw P-256 verify_prehash {raw:.0}/s; \
         package verify (reused Verifier) {warm:.0}/s, ratio {:.2} (target >= 0.60); \
         one-shot verify() {cold:.0}/s, ratio {:.2}",
        s.pkg.len(),
        warm / raw,
        cold / raw
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
