#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The harness starts real processes, reports them ready, and stops them.

use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::Command;

use signpad_testkit::{DbusDaemon, Swtpm};

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn swtpm_answers_tpm2_tools_and_is_stopped_on_drop() {
    let tpm = Swtpm::start().unwrap();
    let pid = tpm.pid().unwrap();
    let out = Command::new("tpm2_getrandom")
        .args(["--hex", "8"])
        .env("TPM2TOOLS_TCTI", tpm.tcti())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 16);
    let port = tpm.port();
    drop(tpm);
    assert!(!alive(pid));
    assert!(TcpStream::connect(("127.0.0.1", port + 1)).is_err());
}

#[test]
fn parallel_swtpms_get_distinct_ports() {
    let tpms: Vec<Swtpm> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| Swtpm::start().unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ports: Vec<u16> = tpms.iter().map(Swtpm::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 6);
}

#[test]
fn swtpm_restart_keeps_state_and_port() {
    let mut tpm = Swtpm::start().unwrap();
    let tcti = tpm.tcti();
    let nv = |args: &[&str]| {
        Command::new(args[0])
            .args(&args[1..])
            .env("TPM2TOOLS_TCTI", &tcti)
            .output()
            .unwrap()
    };
    assert!(nv(&[
        "tpm2_nvdefine",
        "0x1500016",
        "-C",
        "o",
        "-s",
        "8",
        "-a",
        "ownerread|ownerwrite|authread|authwrite"
    ])
    .status
    .success());
    tpm.restart().unwrap();
    assert_eq!(tpm.tcti(), tcti);
    let out = nv(&["tpm2_nvreadpublic", "0x1500016"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dbus_daemon_listens_and_is_stopped_on_drop() {
    let bus = DbusDaemon::start().unwrap();
    assert!(bus.address().starts_with("unix:path="));
    let pid = bus.pid().unwrap();
    UnixStream::connect(bus.socket_path()).unwrap();
    let out = Command::new("dbus-send")
        .arg(format!("--bus={}", bus.address()))
        .args([
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.ListNames",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(bus);
    assert!(!alive(pid));
}
