//! The `signpad-inputd` binary: config errors name file and line, READY and
//! STOPPING go to systemd's notify socket, SIGTERM stops it cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{data, my_uid};
use signpad_testkit::DbusDaemon;

const BIN: &str = env!("CARGO_BIN_EXE_signpad-inputd");

#[test]
fn unknown_config_key_is_rejected_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inputd.toml");
    std::fs::write(&path, "[access]\nallowed_uids = [0]\nallowed_gids = [0]\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .arg("--check-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("config {} line 3:", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("allowed_gids"), "{stderr}");
}

#[test]
fn valid_config_passes_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inputd.toml");
    std::fs::write(&path, "[access]\nallowed_uids = [0]\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .arg("--check-config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn daemon_notifies_ready_and_stops_on_sigterm() {
    let bus = DbusDaemon::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("inputd.toml");
    std::fs::write(
        &config,
        format!(
            "[access]\nallowed_uids = [{}]\n\n[replay]\nfile = {:?}\npace = \"recorded\"\n",
            my_uid(),
            data("signature-basic.evemu")
        ),
    )
    .unwrap();
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus.address())
        .env("NOTIFY_SOCKET", &notify_path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("READY=1 within 20 s");
    assert_eq!(&buf[..n], b"READY=1\n");
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let n = notify.recv(&mut buf).expect("STOPPING=1");
    assert_eq!(&buf[..n], b"STOPPING=1\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "daemon did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "{status}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
