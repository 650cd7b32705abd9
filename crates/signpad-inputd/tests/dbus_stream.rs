//! `org.signpad.Input1` on a private dbus-daemon: a consumer opens a stream
//! and reads the replayed trace; callers not in the allow-list are refused,
//! including a client really running under another UID.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{data, expected, my_uid, samples, Consumer};
use futures_util::StreamExt as _;
use signpad_inputd::config::{InputdConfig, ReplayConfig};
use signpad_inputd::daemon::Daemon;
use signpad_inputd::dbus::{DeviceEntry, BUS_NAME, OBJECT_PATH};
use signpad_inputd::replay::Pace;
use signpad_testkit::DbusDaemon;
use zbus::zvariant::OwnedFd;

const IFACE: &str = "org.signpad.Input1";

fn config(file: &str, allowed_uids: Vec<u32>) -> InputdConfig {
    let mut c = InputdConfig::default();
    c.access.allowed_uids = allowed_uids;
    c.replay = Some(ReplayConfig {
        file: data(file),
        pace: Pace::Fast,
        wait_for_stream: true,
    });
    c
}

async fn connect(bus: &DbusDaemon) -> zbus::Connection {
    zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .unwrap()
}

async fn proxy(conn: &zbus::Connection) -> zbus::Proxy<'static> {
    zbus::Proxy::new(conn, BUS_NAME, OBJECT_PATH, IFACE)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorised_client_reads_the_replayed_samples_over_the_fd() {
    let bus = DbusDaemon::start().unwrap();
    let server = connect(&bus).await;
    let daemon = Daemon::start(&config("signature-tilt.evemu", vec![my_uid()]), &server)
        .await
        .unwrap();

    let client = connect(&bus).await;
    let input = proxy(&client).await;
    let mut added = input.receive_signal("DeviceAdded").await.unwrap();
    let fd: OwnedFd = input.call("OpenStream", &()).await.unwrap();
    let mut consumer = Consumer::new(fd.into());

    let want = expected("signature-tilt.evemu");
    let got = samples(&consumer.read(want.len()).await);
    assert_eq!(got, want);
    consumer.assert_quiet(Duration::from_millis(100)).await;

    let signal = tokio::time::timeout(Duration::from_secs(5), added.next())
        .await
        .unwrap()
        .unwrap();
    let (path, name): (String, String) = signal.body().deserialize().unwrap();
    assert!(path.starts_with("replay:") && path.ends_with("signature-tilt.evemu"));
    assert_eq!(name, "signpad synthetic pen (Wacom-like)");

    let devices: Vec<DeviceEntry> = input.get_property("Devices").await.unwrap();
    assert_eq!(devices.len(), 1);
    let (_, _, vendor, _, _, buttons, axes) = &devices[0];
    assert_eq!(*vendor, 0x056a);
    assert!(buttons.contains(&"BTN_TOOL_PEN".to_owned()));
    let tilt = axes
        .iter()
        .find(|a| a.0 == "ABS_TILT_X")
        .expect("tilt axis listed");
    assert_eq!((tilt.1, tilt.2, tilt.3), (-64, 63, 57));
    let dropped: u64 = input.get_property("DroppedSamples").await.unwrap();
    assert_eq!(dropped, 0);

    daemon.shutdown().await;
}

#[tokio::test]
async fn caller_not_in_the_allow_list_is_refused() {
    let bus = DbusDaemon::start().unwrap();
    let server = connect(&bus).await;
    let other = my_uid().wrapping_add(4242);
    let daemon = Daemon::start(&config("signature-basic.evemu", vec![other]), &server)
        .await
        .unwrap();
    let client = connect(&bus).await;
    let err = proxy(&client)
        .await
        .call::<_, _, OwnedFd>("OpenStream", &())
        .await
        .unwrap_err();
    let zbus::Error::MethodError(name, message, _) = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(name.as_str(), "org.signpad.Error.AccessDenied");
    assert!(
        message
            .as_deref()
            .unwrap_or("")
            .contains(&my_uid().to_string()),
        "{message:?}"
    );
    assert_eq!(daemon.hub().stream_count(), 0);
    daemon.shutdown().await;
}

/// Runs `dbus-send` as UID/GID 65534 (nobody) against the bus.
fn open_stream_as_nobody(bus: &DbusDaemon) -> Option<std::process::Output> {
    if my_uid() != 0 || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("SKIPPED: a different-UID client needs root and setpriv");
        return None;
    }
    let Ok(out) = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "dbus-send",
        ])
        .arg(format!("--bus={}", bus.address()))
        .args([
            "--print-reply",
            "--reply-timeout=5000",
            &format!("--dest={BUS_NAME}"),
            OBJECT_PATH,
            &format!("{IFACE}.OpenStream"),
        ])
        .output()
    else {
        eprintln!("SKIPPED: dbus-send is not installed");
        return None;
    };
    Some(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_running_as_another_uid_is_identified_and_refused() {
    let bus = DbusDaemon::start().unwrap();
    let server = connect(&bus).await;
    let daemon = Daemon::start(&config("signature-basic.evemu", vec![0]), &server)
        .await
        .unwrap();
    let busaddr = &bus;
    let out = tokio::task::block_in_place(|| open_stream_as_nobody(busaddr));
    let Some(out) = out else {
        daemon.shutdown().await;
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("org.signpad.Error.AccessDenied"),
        "{stderr}"
    );
    assert!(stderr.contains("UID 65534"), "{stderr}");
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_running_as_an_allowed_uid_gets_a_stream() {
    let bus = DbusDaemon::start().unwrap();
    let server = connect(&bus).await;
    let daemon = Daemon::start(&config("signature-basic.evemu", vec![65534]), &server)
        .await
        .unwrap();
    let busaddr = &bus;
    let out = tokio::task::block_in_place(|| open_stream_as_nobody(busaddr));
    let Some(out) = out else {
        daemon.shutdown().await;
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("file descriptor"), "{stdout}");
    daemon.shutdown().await;
}
