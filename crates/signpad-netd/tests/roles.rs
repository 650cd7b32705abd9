//! Role boundaries: every route requires its roles, taken from the client
//! certificate's `urn:signpad:role:` subjectAltName URIs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{client_config, connect, get, start, NoPad, Pki};
use hyper::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_route_admits_only_its_roles() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let addr = netd.local_addr;
    // (method, path, body, allowed roles)
    let routes: &[(Method, &str, &[u8], &[&str])] = &[
        (Method::POST, "/v1/sessions", b"{}", &["host"]),
        (
            Method::GET,
            "/v1/sessions/00000000-0000-4000-8000-000000000000",
            b"",
            &["host"],
        ),
        (
            Method::DELETE,
            "/v1/sessions/00000000-0000-4000-8000-000000000000",
            b"",
            &["host"],
        ),
        (
            Method::GET,
            "/v1/sessions/00000000-0000-4000-8000-000000000000/events",
            b"",
            &["host"],
        ),
        (
            Method::GET,
            "/v1/sessions/00000000-0000-4000-8000-000000000000/package",
            b"",
            &["host"],
        ),
        (
            Method::GET,
            "/v1/sessions/00000000-0000-4000-8000-000000000000/signature-image",
            b"",
            &["host"],
        ),
        (
            Method::GET,
            "/v1/health",
            b"",
            &["host", "admin", "auditor"],
        ),
        (
            Method::GET,
            "/v1/whoami",
            b"",
            &["host", "admin", "auditor"],
        ),
        (
            Method::GET,
            "/v1/openapi.json",
            b"",
            &["host", "admin", "auditor"],
        ),
        (Method::GET, "/metrics", b"", &["admin", "auditor"]),
        (Method::GET, "/v1/device", b"", &["admin", "auditor"]),
        (
            Method::POST,
            "/v1/attestation/quote",
            b"{\"nonce\":\"00\",\"pcrs\":[0]}",
            &["admin", "auditor"],
        ),
        (Method::PUT, "/v1/crl", b"x", &["admin"]),
        (Method::POST, "/v1/crl/reload", b"", &["admin"]),
        (
            Method::PUT,
            "/v1/training-mode",
            b"{\"enabled\":true}",
            &["admin"],
        ),
        (Method::POST, "/v1/lock", b"", &["admin"]),
        (Method::POST, "/v1/unlock", b"", &["admin"]),
    ];
    let clients = [
        ("host", &pki.host),
        ("admin", &pki.admin),
        ("auditor", &pki.auditor),
        ("none", &pki.no_role),
    ];
    for (role, client) in clients {
        let mut c = connect(addr, client_config(&pki, Some(client), false))
            .await
            .unwrap();
        for (method, path, body, allowed) in routes {
            let r = c
                .send(
                    method.clone(),
                    path,
                    &[("content-type", "application/json")],
                    body.to_vec(),
                )
                .await
                .unwrap();
            if allowed.contains(&role) {
                assert_ne!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{role} {method} {path}: {:?}",
                    r.body
                );
            } else {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{role} {method} {path}");
                let j = r.json();
                assert_eq!(j["error"], "wrong_role");
                let msg = j["message"].as_str().unwrap();
                assert!(msg.contains("needs role"), "{msg}");
            }
        }
    }
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_identity_comes_from_the_certificate() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let r = get(netd.local_addr, &pki, Some(&pki.auditor), "/v1/whoami")
        .await
        .unwrap();
    let j = r.json();
    assert_eq!(j["roles"], serde_json::json!(["auditor"]));
    assert!(j["subject"].as_str().unwrap().contains("CN=auditor"), "{j}");
    assert_eq!(j["serial"], format!("{:02x}", pki.auditor.serial));
    let r = get(netd.local_addr, &pki, Some(&pki.no_role), "/v1/health")
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("has no role"));
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_daemon_down_is_503_with_reason() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let r = get(netd.local_addr, &pki, Some(&pki.admin), "/v1/device")
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["error"], "backend_unavailable");
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_handshakes_and_connections() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let addr = netd.local_addr;
    let _ = get(addr, &pki, Some(&pki.host), "/v1/health")
        .await
        .unwrap();
    let _ = get(addr, &pki, Some(&pki.revoked), "/v1/health")
        .await
        .unwrap_err();
    let r = get(addr, &pki, Some(&pki.auditor), "/metrics")
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(
        text.contains("signpad_netd_requests_total{route=\"/v1/health\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("signpad_netd_tls_handshakes_total{result=\"ok\"}"),
        "{text}"
    );
    assert!(text.contains("signpad_netd_connections_active 1"), "{text}");
    netd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_every_route() {
    let pki = Pki::new();
    let netd = start(&pki.config(""), Arc::new(NoPad)).await;
    let r = get(netd.local_addr, &pki, Some(&pki.host), "/v1/openapi.json")
        .await
        .unwrap();
    let j = r.json();
    assert!(j["openapi"].as_str().unwrap().starts_with("3."));
    let paths = j["paths"].as_object().unwrap();
    for p in [
        "/v1/sessions",
        "/v1/sessions/{id}",
        "/v1/sessions/{id}/events",
        "/v1/sessions/{id}/package",
        "/v1/sessions/{id}/signature-image",
        "/v1/health",
        "/v1/whoami",
        "/metrics",
        "/v1/device",
        "/v1/crl",
        "/v1/crl/reload",
        "/v1/training-mode",
        "/v1/lock",
        "/v1/unlock",
        "/v1/openapi.json",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    netd.stop().await;
}

#[test]
#[ignore = "prints the OpenAPI document"]
fn print_openapi() {
    use utoipa::OpenApi;
    println!(
        "{}",
        signpad_netd::api::openapi::ApiDoc::openapi()
            .to_pretty_json()
            .unwrap()
    );
}
