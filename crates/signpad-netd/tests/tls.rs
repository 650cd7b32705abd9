//! Transport security of netd: who gets through the TLS handshake, CRL
//! reload without restart, and the request limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{client_config, connect, get, start, NoPad, Pki};
use hyper::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn refused(pki: &Pki, addr: std::net::SocketAddr, client: Option<&common::Client>) -> String {
    match get(addr, pki, client, "/v1/health").await {
        Ok(r) => panic!("expected refusal, got {}", r.status),
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_client_is_served() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let r = get(netd.local_addr, &pki, Some(&pki.host), "/v1/health")
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "ok");
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_without_certificate_is_refused() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let e = refused(&pki, netd.local_addr, None).await;
    assert!(
        e.contains("CertificateRequired") || e.contains("certificate"),
        "{e}"
    );
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_of_unknown_ca_is_refused() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let e = refused(&pki, netd.local_addr, Some(&pki.unknown_ca)).await;
    assert!(
        e.contains("UnknownCA") || e.contains("BadCertificate"),
        "{e}"
    );
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_client_cert_is_rejected() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let e = refused(&pki, netd.local_addr, Some(&pki.revoked)).await;
    assert!(e.contains("CertificateRevoked"), "{e}");
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_client_cert_is_rejected() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let e = refused(&pki, netd.local_addr, Some(&pki.expired)).await;
    assert!(e.contains("CertificateExpired"), "{e}");
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_cert_without_client_auth_usage_is_rejected() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let e = refused(&pki, netd.local_addr, Some(&pki.wrong_usage)).await;
    assert!(e.contains("UnsupportedCertificate"), "{e}");
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_is_refused_by_default_and_offered_when_enabled() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let e = match connect(netd.local_addr, client_config(&pki, Some(&pki.host), true)).await {
        Ok(mut c) => c.get("/v1/health").await.err().unwrap_or_default(),
        Err(e) => e,
    };
    assert!(
        e.contains("ProtocolVersion") || e.contains("version"),
        "{e}"
    );
    netd.stop().await;

    let config = pki.config("allow_tls12 = true");
    let netd = start(&config, Arc::new(NoPad)).await;
    let mut c = connect(netd.local_addr, client_config(&pki, Some(&pki.host), true))
        .await
        .unwrap();
    assert_eq!(c.get("/v1/health").await.unwrap().status, StatusCode::OK);
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crl_reload_revokes_a_client_without_restart() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let addr = netd.local_addr;
    assert_eq!(
        get(addr, &pki, Some(&pki.host), "/v1/health")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );

    // The admin reloads the CRL files after the CA revoked the host.
    pki.write_crl(&[105, pki.host.serial], 2);
    let mut admin = connect(addr, client_config(&pki, Some(&pki.admin), false))
        .await
        .unwrap();
    let r = admin
        .send(Method::POST, "/v1/crl/reload", &[], Vec::new())
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let e = get(addr, &pki, Some(&pki.host), "/v1/health")
        .await
        .unwrap_err();
    assert!(e.contains("CertificateRevoked"), "{e}");

    // A CRL pushed over the API takes effect at once as well.
    let pem = pki.write_crl(&[105, pki.host.serial, pki.host2.serial], 3);
    assert_eq!(
        get(addr, &pki, Some(&pki.host2), "/v1/health")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    let r = admin
        .send(
            Method::PUT,
            "/v1/crl",
            &[("content-type", "application/pkix-crl")],
            pem.into_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let e = get(addr, &pki, Some(&pki.host2), "/v1/health")
        .await
        .unwrap_err();
    assert!(e.contains("CertificateRevoked"), "{e}");

    // A broken CRL is refused and the old trust stays.
    let r = admin
        .send(Method::PUT, "/v1/crl", &[], b"not a crl".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"], "bad_crl");
    assert_eq!(
        get(addr, &pki, Some(&pki.admin), "/v1/health")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_is_413() {
    let pki = Pki::new();
    let netd = start(&pki.config("[limits]\nmax_body_bytes = 1024\nheader_read_timeout_secs = 10\nmax_connections = 8\nrequests_per_second = 50"), Arc::new(NoPad)).await;
    let mut c = connect(netd.local_addr, client_config(&pki, Some(&pki.host), false))
        .await
        .unwrap();
    let r = c
        .send(
            Method::POST,
            "/v1/sessions",
            &[("content-type", "application/json")],
            vec![b' '; 4096],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_head_gets_408() {
    let pki = Pki::new();
    let netd = start(&pki.config("[limits]\nmax_body_bytes = 1024\nheader_read_timeout_secs = 1\nmax_connections = 8\nrequests_per_second = 50"), Arc::new(NoPad)).await;
    let tcp = tokio::net::TcpStream::connect(netd.local_addr)
        .await
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(client_config(&pki, Some(&pki.host), false));
    let mut tls = connector
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    tls.write_all(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let started = std::time::Instant::now();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_per_client_is_429() {
    let pki = Pki::new();
    let netd = start(&pki.config("[limits]\nmax_body_bytes = 1024\nheader_read_timeout_secs = 10\nmax_connections = 8\nrequests_per_second = 2"), Arc::new(NoPad)).await;
    let mut c = connect(netd.local_addr, client_config(&pki, Some(&pki.host), false))
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(c.get("/v1/health").await.unwrap());
    }
    assert!(statuses[..4].iter().all(|r| r.status == StatusCode::OK));
    let last = statuses.last().unwrap();
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(last.headers.contains_key("retry-after"));
    // Another client has its own budget.
    assert_eq!(
        get(netd.local_addr, &pki, Some(&pki.admin), "/v1/health")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_get_503() {
    let pki = Pki::new();
    let netd = start(&pki.config("[limits]\nmax_body_bytes = 1024\nheader_read_timeout_secs = 10\nmax_connections = 2\nrequests_per_second = 50"), Arc::new(NoPad)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = connect(netd.local_addr, client_config(&pki, Some(&pki.host), false))
            .await
            .unwrap();
        assert_eq!(c.get("/v1/health").await.unwrap().status, StatusCode::OK);
        held.push(c);
    }
    let r = get(netd.local_addr, &pki, Some(&pki.admin), "/v1/health")
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["error"], "too_many_connections");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        get(netd.local_addr, &pki, Some(&pki.admin), "/v1/health")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_client_cannot_resume_an_earlier_session() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let addr = netd.local_addr;
    // One client config = one resumption cache: the second connection would
    // resume the first session if the server still accepted it.
    let config = client_config(&pki, Some(&pki.host), false);
    let mut c = connect(addr, config.clone()).await.unwrap();
    assert_eq!(c.get("/v1/health").await.unwrap().status, StatusCode::OK);
    drop(c);
    pki.write_crl(&[105, pki.host.serial], 2);
    netd.tls.reload().unwrap();
    let e = match connect(addr, config).await {
        Ok(mut c) => c.get("/v1/health").await.unwrap_err(),
        Err(e) => e,
    };
    assert!(e.contains("CertificateRevoked"), "{e}");
    netd.stop().await;
}
