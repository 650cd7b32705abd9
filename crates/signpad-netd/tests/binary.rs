//! The `signpad-netd` binary: strict config errors, sd_notify READY,
//! SIGHUP reload of the CRLs, SIGTERM stop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{get, Pki};
use hyper::StatusCode;
use signpad_testkit::DbusDaemon;

const BIN: &str = env!("CARGO_BIN_EXE_signpad-netd");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(sock: &UnixDatagram, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 512];
    loop {
        assert!(Instant::now() < deadline, "no {what} from netd");
        if let Ok(n) = sock.recv(&mut buf) {
            if String::from_utf8_lossy(&buf[..n]).contains(what) {
                return;
            }
        }
    }
}

#[test]
fn unknown_config_key_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("netd.toml");
    std::fs::write(
        &path,
        "listen_address = \"127.0.0.1:0\"\n[tls]\nclient_ca_file = \"/x\"\nlisten_adress = 1\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("config {} line 4:", path.display()))
            && err.contains("listen_adress"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_notifies_ready_reloads_on_sighup_and_stops_on_sigterm() {
    let pki = Pki::new();
    let bus = DbusDaemon::start().unwrap();
    let port = free_port();
    let d = pki.dir.path();
    let config = d.join("netd.toml");
    std::fs::write(
        &config,
        format!(
            "listen_address = \"127.0.0.1:{port}\"\n[tls]\nclient_ca_file = \"{}\"\ncrl_files = [\"{}\"]\ncert_file = \"{}\"\ndev_key_file = \"{}\"\n[backend]\npad_bus = \"{}\"\n",
            pki.ca_pem.display(),
            pki.crl.display(),
            pki.server_cert.display(),
            pki.server_key.display(),
            bus.address()
        ),
    )
    .unwrap();
    let notify_path = d.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let notify = tokio::task::spawn_blocking(move || {
        wait_for(&notify, "READY=1");
        notify
    })
    .await
    .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let r = get(addr, &pki, Some(&pki.host), "/v1/health")
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);

    pki.write_crl(&[105, pki.host.serial], 2);
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let notify = tokio::task::spawn_blocking(move || {
        wait_for(&notify, "RELOADING=1");
        wait_for(&notify, "READY=1");
        notify
    })
    .await
    .unwrap();
    let e = get(addr, &pki, Some(&pki.host), "/v1/health")
        .await
        .unwrap_err();
    assert!(e.contains("CertificateRevoked"), "{e}");

    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    tokio::task::spawn_blocking(move || wait_for(&notify, "STOPPING=1"))
        .await
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}
