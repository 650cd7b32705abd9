#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Signing cost on one swtpm, in one run: a raw tss-esapi `TPM2_Sign`, the
//! same through `Keyd::sign_digest` / `TpmSigner`, and `Sign` over D-Bus on
//! a private bus. Prints per-call medians and the overheads.
//!
//! `cargo bench -p signpad-keyd --bench sign [-- ITERATIONS]`

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use signpad_keyd::{KeyRole, Keyd, KeydConfig, TpmSigner};
use signpad_package::signer::PackageSigner as _;
use signpad_testkit::{DbusDaemon, Swtpm};
use signpad_types::DigestAlgorithm;
use tss_esapi::attributes::ObjectAttributesBuilder;
use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{
    Digest, EccPoint, EccScheme, HashScheme, HashcheckTicket, PublicBuilder,
    PublicEccParametersBuilder, SignatureScheme, SymmetricDefinitionObject,
};
use tss_esapi::tcti_ldr::TctiNameConf;
use tss_esapi::tss2_esys::{TPM2B_DIGEST, TPMT_TK_HASHCHECK};

fn stats(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    let median = samples[samples.len() / 2];
    let p99 = samples[samples.len() * 99 / 100];
    let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len()).unwrap();
    println!(
        "{name:<34} median {:>8.3} ms  mean {:>8.3} ms  p99 {:>8.3} ms",
        median.as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    median
}

fn raw_tss_esapi(tcti: &str, digest: &[u8], n: usize) -> Vec<Duration> {
    let mut ctx = tss_esapi::Context::new(TctiNameConf::from_str(tcti).unwrap()).unwrap();
    ctx.set_sessions((Some(AuthSession::Password), None, None));
    let srk_attrs = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_no_da(true)
        .with_restricted(true)
        .with_decrypt(true)
        .build()
        .unwrap();
    let srk_public = PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(srk_attrs)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new_restricted_decryption_key(
                SymmetricDefinitionObject::AES_128_CFB,
                EccCurve::NistP256,
            )
            .build()
            .unwrap(),
        )
        .with_ecc_unique_identifier(EccPoint::default())
        .build()
        .unwrap();
    let srk = ctx
        .create_primary(Hierarchy::Owner, srk_public, None, None, None, None)
        .unwrap()
        .key_handle;
    let key_public = tss_esapi::utils::create_unrestricted_signing_ecc_public(
        EccScheme::EcDsa(HashScheme::new(HashingAlgorithm::Sha256)),
        EccCurve::NistP256,
    )
    .unwrap();
    let created = ctx.create(srk, key_public, None, None, None, None).unwrap();
    let key = ctx
        .load(srk, created.out_private, created.out_public)
        .unwrap();
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let ticket = HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
            tag: TPM2_ST_HASHCHECK,
            hierarchy: TPM2_RH_NULL,
            digest: TPM2B_DIGEST::default(),
        })
        .unwrap();
        ctx.sign(
            key,
            Digest::try_from(digest.to_vec()).unwrap(),
            SignatureScheme::EcDsa {
                hash_scheme: HashScheme::new(HashingAlgorithm::Sha256),
            },
            ticket,
        )
        .unwrap();
        samples.push(t.elapsed());
    }
    samples
}

fn main() {
    std::env::set_var("TSS2_LOG", "all+none");
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let tpm = Swtpm::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let digest = DigestAlgorithm::Sha256.hash(b"benchmark document");
    println!("{n} signatures of a SHA-256 digest, P-256 ECDSA, swtpm over TCP");

    // swtpm serves one connection at a time: measure raw first, then keyd.
    let raw = stats(
        "raw tss-esapi Context::sign",
        raw_tss_esapi(&tpm.tcti(), &digest, n),
    );

    let bus = DbusDaemon::start().unwrap();
    let mut config = KeydConfig::new(tpm.tcti(), dir.path().join("keys"));
    config.bus = bus.address().to_owned();
    config.allowed_uids = vec![nix_uid()];
    let keyd = Arc::new(Keyd::open(config).unwrap());
    keyd.provision(None).unwrap();
    let signer = TpmSigner::new(&keyd, KeyRole::Signing).unwrap();
    signer
        .sign_digest(DigestAlgorithm::Sha256, &digest)
        .unwrap();
    let ours = stats(
        "TpmSigner::sign_digest",
        (0..n)
            .map(|_| {
                let t = Instant::now();
                signer
                    .sign_digest(DigestAlgorithm::Sha256, &digest)
                    .unwrap();
                t.elapsed()
            })
            .collect(),
    );
    drop(signer);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dbus = runtime.block_on(async {
        let _server = signpad_keyd::dbus::serve(Arc::clone(&keyd)).await.unwrap();
        let client = zbus::connection::Builder::address(bus.address())
            .unwrap()
            .build()
            .await
            .unwrap();
        let mut samples = Vec::with_capacity(n);
        for i in 0..=n {
            let t = Instant::now();
            client
                .call_method(
                    Some(signpad_keyd::dbus::BUS_NAME),
                    signpad_keyd::dbus::OBJECT_PATH,
                    Some(signpad_keyd::dbus::BUS_NAME),
                    "Sign",
                    &("signing", "sha256", digest.clone()),
                )
                .await
                .unwrap();
            if i > 0 {
                samples.push(t.elapsed());
            }
        }
        samples
    });
    let dbus = stats("Sign over D-Bus (private bus)", dbus);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "TpmSigner / raw: {:.3}x (overhead {:+.3} ms per call)",
        ours.as_secs_f64() / raw.as_secs_f64(),
        ms(ours) - ms(raw)
    );
    println!(
        "D-Bus / raw:     {:.3}x (overhead {:+.3} ms per call)",
        dbus.as_secs_f64() / raw.as_secs_f64(),
        ms(dbus) - ms(raw)
    );
}

fn nix_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|u| u.parse().ok()))
        })
        .unwrap_or(0)
}
