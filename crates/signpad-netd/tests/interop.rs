//! Interoperability with the real `openssl s_client` and `curl`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{start, NoPad, Pki};

fn s_client(addr: std::net::SocketAddr, pki: &Pki, version: &str) -> (bool, String) {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            version,
            "-servername",
            "localhost",
        ])
        .arg("-CAfile")
        .arg(&pki.ca_pem)
        .arg("-cert")
        .arg(&pki.host.cert)
        .arg("-key")
        .arg(&pki.host.key)
        .args(["-verify_return_error", "-brief"])
        .stdin(Stdio::null())
        .output()
        .expect("openssl is installed (Debian package openssl)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_s_client_gets_tls13_and_no_tls12() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let addr = netd.local_addr;
    let pki = Arc::new(pki);
    let p = Arc::clone(&pki);
    let (ok13, text13) = tokio::task::spawn_blocking(move || s_client(addr, &p, "-tls1_3"))
        .await
        .unwrap();
    assert!(ok13 && text13.contains("TLSv1.3"), "{text13}");
    let p = Arc::clone(&pki);
    let (ok12, text12) = tokio::task::spawn_blocking(move || s_client(addr, &p, "-tls1_2"))
        .await
        .unwrap();
    assert!(!ok12, "TLS 1.2 must be refused by default: {text12}");
    assert!(
        text12.contains("alert protocol version") || text12.contains("wrong version"),
        "{text12}"
    );
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_tls12_offers_only_ecdhe_aead_when_enabled() {
    let pki = Pki::new();
    let netd = start(&pki.config("allow_tls12 = true"), Arc::new(NoPad)).await;
    let addr = netd.local_addr;
    let pki = Arc::new(pki);
    let p = Arc::clone(&pki);
    let (ok, text) = tokio::task::spawn_blocking(move || s_client(addr, &p, "-tls1_2"))
        .await
        .unwrap();
    assert!(ok && text.contains("ECDHE"), "{text}");
    // A client limited to CBC or RSA key exchange finds no common suite.
    let p = Arc::clone(&pki);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &addr.to_string(),
                "-tls1_2",
                "-cipher",
                "AES128-SHA:ECDHE-ECDSA-AES128-SHA:AES256-GCM-SHA384",
            ])
            .arg("-cert")
            .arg(&p.host.cert)
            .arg("-key")
            .arg(&p.host.key)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_with_client_certificate_works() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let url = format!("https://localhost:{}/v1/health", netd.local_addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", netd.local_addr.port());
    let pki = Arc::new(pki);
    let p = Arc::clone(&pki);
    let (u, r) = (url.clone(), resolve.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args([
                "-sS",
                "--fail-with-body",
                "--resolve",
                &r,
                "--max-time",
                "10",
            ])
            .arg("--cert")
            .arg(&p.auditor.cert)
            .arg("--key")
            .arg(&p.auditor.key)
            .arg("--cacert")
            .arg(&p.ca_pem)
            .arg(&u)
            .output()
            .expect("curl is installed")
    })
    .await
    .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{body} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    // Without a certificate curl fails (TLS alert, no HTTP answer).
    let p = Arc::clone(&pki);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-sS", "--resolve", &resolve, "--max-time", "10"])
            .arg("--cacert")
            .arg(&p.ca_pem)
            .arg(&url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    netd.stop().await;
}
