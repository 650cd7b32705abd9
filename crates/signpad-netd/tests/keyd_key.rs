//! The production server key: TLS handshakes signed by the TPM-resident key
//! through keyd's `org.signpad.Keys1` (swtpm + a private dbus-daemon, keyd
//! served from its library).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::sync::Arc;

use common::{get, start, NoPad, Pki};
use hyper::StatusCode;
use signpad_keyd::{KeyRole, Keyd, KeydConfig};
use signpad_netd::NetdConfig;
use signpad_testkit::{DbusDaemon, Swtpm};

fn uid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_is_signed_by_the_tpm_key_through_keyd() {
    std::env::set_var("TSS2_LOG", "all+none");
    let pki = Pki::new();
    let d = pki.dir.path().to_path_buf();
    let tpm = Swtpm::start().unwrap();
    let bus = DbusDaemon::start().unwrap();

    let mut kc = KeydConfig::new(tpm.tcti(), d.join("keys"));
    kc.bus = bus.address().to_owned();
    kc.allowed_uids = vec![uid()];
    let keyd = tokio::task::spawn_blocking(move || {
        let keyd = Keyd::open(kc).unwrap();
        keyd.provision(None).unwrap();
        keyd
    })
    .await
    .unwrap();
    std::fs::write(
        d.join("tls.csr"),
        keyd.create_csr(KeyRole::Tls, "CN=SP-TPM-0001,O=Example Bank")
            .unwrap(),
    )
    .unwrap();
    std::fs::write(
        d.join("tls.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
    )
    .unwrap();
    let out = Command::new("openssl")
        .current_dir(&d)
        .args([
            "x509",
            "-req",
            "-in",
            "tls.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
        ])
        .args([
            "-CAcreateserial",
            "-days",
            "7",
            "-extfile",
            "tls.ext",
            "-out",
            "tls.pem",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leaf = std::fs::read_to_string(d.join("tls.pem")).unwrap();
    let root = std::fs::read_to_string(&pki.ca_pem).unwrap();
    keyd.install_certificate(KeyRole::Tls, &format!("{leaf}{root}"))
        .unwrap();
    let _keyd_conn = signpad_keyd::dbus::serve(Arc::new(keyd)).await.unwrap();

    // No dev_key_file and no cert_file: key and chain come from keyd.
    let config = NetdConfig::parse(
        &format!(
            "listen_address = \"127.0.0.1:0\"\n[tls]\nclient_ca_file = \"{}\"\ncrl_files = [\"{}\"]\nkeyd_bus = \"{}\"\n",
            pki.ca_pem.display(),
            pki.crl.display(),
            bus.address()
        ),
        std::path::Path::new("netd.toml"),
    )
    .unwrap();
    let netd = start(&config, Arc::new(NoPad)).await;
    for _ in 0..3 {
        let r = get(netd.local_addr, &pki, Some(&pki.host), "/v1/health")
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
    }
    // The auditor asks keyd for a TPM quote over PCRs 0 and 7.
    let mut auditor = common::connect(
        netd.local_addr,
        common::client_config(&pki, Some(&pki.auditor), false),
    )
    .await
    .unwrap();
    let r = auditor
        .send(
            hyper::Method::POST,
            "/v1/attestation/quote",
            &[("content-type", "application/json")],
            br#"{"nonce":"0011223344556677","pcrs":[0,7]}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    use base64::Engine;
    let attest = base64::engine::general_purpose::STANDARD
        .decode(r.json()["attest"].as_str().unwrap())
        .unwrap();
    assert_eq!(&attest[..4], b"\xffTCG", "TPM_GENERATED_VALUE");
    assert!(attest
        .windows(8)
        .any(|w| w == [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]));
    let e = get(netd.local_addr, &pki, Some(&pki.revoked), "/v1/health")
        .await
        .unwrap_err();
    assert!(e.contains("CertificateRevoked"), "{e}");
    netd.stop().await;
    drop(tpm);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyd_unreachable_fails_startup_with_the_bus_named() {
    let pki = Pki::new();
    let bus = DbusDaemon::start().unwrap();
    let config = NetdConfig::parse(
        &format!(
            "listen_address = \"127.0.0.1:0\"\n[tls]\nclient_ca_file = \"{}\"\nkeyd_bus = \"{}\"\n",
            pki.ca_pem.display(),
            bus.address()
        ),
        std::path::Path::new("netd.toml"),
    )
    .unwrap();
    let e = signpad_netd::daemon::tls_state(&config).await.unwrap_err();
    let m = e.to_string();
    assert!(m.starts_with("keyd (") && m.contains(bus.address()), "{m}");
}
