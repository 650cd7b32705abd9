//! Discovery and hot-plug, driven by replayed add/remove events and traces
//! standing in for device nodes; plus the inotify watch on a real directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{expected, samples, trace, Consumer};
use signpad_inputd::config::ResolutionOverrides;
use signpad_inputd::hotplug::{self, HotplugEvent};
use signpad_inputd::hub::DeviceChange;
use signpad_inputd::manager::{DeviceManager, ReplayOpener};
use signpad_inputd::record::DEVICE_LOST;
use signpad_inputd::replay::{Pace, TraceEnd};
use signpad_inputd::{classify, DeviceClass, DeviceSelector, Hub};
use signpad_types::SampleFlags;
use tokio::sync::mpsc;

fn node(n: u32) -> PathBuf {
    PathBuf::from(format!("/dev/input/event{n}"))
}

struct Rig {
    hub: std::sync::Arc<Hub>,
    tx: mpsc::Sender<HotplugEvent>,
    manager: tokio::task::JoinHandle<Vec<signpad_inputd::pipeline::PipelineReport>>,
}

fn rig(devices: &[(u32, &str, TraceEnd)], selector: DeviceSelector) -> Rig {
    let hub = Hub::new(100_000, 4);
    let mut opener = ReplayOpener::new(Pace::Fast);
    for &(n, file, end) in devices {
        opener.insert(node(n), trace(file), end);
    }
    let manager = DeviceManager::new(
        opener,
        hub.clone(),
        selector,
        ResolutionOverrides::default(),
    );
    let (tx, rx) = mpsc::channel(16);
    let manager = tokio::spawn(manager.run(rx));
    Rig { hub, tx, manager }
}

async fn until(mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached in 5 s");
}

#[test]
fn trace_descriptions_classify_as_expected() {
    for (file, class) in [
        ("signature-tilt.evemu", DeviceClass::Pen),
        ("signature-basic.evemu", DeviceClass::Pen),
        ("inputd-pen-unplugged.evemu", DeviceClass::Pen),
        ("inputd-touchscreen.evemu", DeviceClass::Touchscreen),
        ("inputd-keyboard.evemu", DeviceClass::Keyboard),
    ] {
        assert_eq!(classify(&trace(file).device), class, "{file}");
    }
}

#[tokio::test]
async fn touchscreen_and_keyboard_are_left_alone_and_the_pen_is_captured() {
    let r = rig(
        &[
            (0, "inputd-touchscreen.evemu", TraceEnd::Hold),
            (1, "inputd-keyboard.evemu", TraceEnd::Hold),
            (2, "signature-basic.evemu", TraceEnd::Hold),
        ],
        DeviceSelector::default(),
    );
    let mut consumer = Consumer::new(r.hub.open_stream().unwrap());
    for n in 0..3 {
        r.tx.send(HotplugEvent::Added(node(n))).await.unwrap();
    }
    let want = expected("signature-basic.evemu");
    let got = samples(&consumer.read(want.len()).await);
    assert_eq!(got, want, "only the pen's samples are streamed");
    let devices = r.hub.devices();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].path, "/dev/input/event2");
    assert!(devices[0].active);
    assert!(devices[0].buttons.contains(&"BTN_TOOL_PEN".to_owned()));
    consumer.assert_quiet(Duration::from_millis(50)).await;
    drop(r.tx);
    let reports = r.manager.await.unwrap();
    assert_eq!(reports.len(), 1, "one pipeline ran (stopped at shutdown)");
}

#[tokio::test]
async fn a_named_device_is_taken_and_other_pens_are_not() {
    let r = rig(
        &[
            (3, "signature-tilt.evemu", TraceEnd::Hold),
            (4, "inputd-pen-unplugged.evemu", TraceEnd::Hold),
        ],
        DeviceSelector {
            vendor: Some(0x256c),
            ..Default::default()
        },
    );
    r.tx.send(HotplugEvent::Added(node(3))).await.unwrap();
    r.tx.send(HotplugEvent::Added(node(4))).await.unwrap();
    until(|| r.hub.devices().len() == 1 && r.hub.devices()[0].active).await;
    assert_eq!(r.hub.devices()[0].path, "/dev/input/event4");
}

#[tokio::test]
async fn pen_removed_mid_stroke_ends_the_stroke_with_a_device_lost_marker() {
    let r = rig(
        &[(5, "inputd-pen-unplugged.evemu", TraceEnd::Hold)],
        DeviceSelector::default(),
    );
    let mut changes = r.hub.changes();
    let mut consumer = Consumer::new(r.hub.open_stream().unwrap());
    r.tx.send(HotplugEvent::Added(node(5))).await.unwrap();
    let want = expected("inputd-pen-unplugged.evemu");
    let got = samples(&consumer.read(want.len()).await);
    assert_eq!(got, want);
    let last = *want.last().unwrap();
    assert!(last.in_contact(), "the trace stops with the tip down");

    r.tx.send(HotplugEvent::Removed(node(5))).await.unwrap();
    let (marker, _) = consumer.read(1).await[0];
    assert!(marker.flags.contains(DEVICE_LOST));
    assert!(!marker.in_contact());
    assert!(!marker.flags.contains(SampleFlags::IN_RANGE));
    assert_eq!(
        (marker.x, marker.y, marker.t_us),
        (last.x, last.y, last.t_us)
    );
    until(|| r.hub.devices().is_empty()).await;

    let mut seen = Vec::new();
    while let Ok(c) = changes.try_recv() {
        seen.push(c);
    }
    assert!(matches!(seen.first(), Some(DeviceChange::Added(d)) if d.path == "/dev/input/event5"));
    assert!(seen
        .iter()
        .any(|c| matches!(c, DeviceChange::Removed(d) if d.path == "/dev/input/event5")));
}

#[tokio::test]
async fn device_lost_on_read_hands_over_to_the_next_pen() {
    let r = rig(
        &[
            (6, "inputd-pen-unplugged.evemu", TraceEnd::DeviceLost),
            (7, "initials-short.evemu", TraceEnd::Hold),
        ],
        DeviceSelector::default(),
    );
    let mut consumer = Consumer::new(r.hub.open_stream().unwrap());
    r.tx.send(HotplugEvent::Added(node(6))).await.unwrap();
    let first = expected("inputd-pen-unplugged.evemu");
    assert_eq!(samples(&consumer.read(first.len()).await), first);
    let (marker, _) = consumer.read(1).await[0];
    assert!(marker.flags.contains(DEVICE_LOST));
    // The second pen appears after the first is gone, and is captured.
    r.tx.send(HotplugEvent::Added(node(7))).await.unwrap();
    let second = expected("initials-short.evemu");
    assert_eq!(samples(&consumer.read(second.len()).await), second);
    until(|| {
        let d = r.hub.devices();
        d.len() == 1 && d[0].path == "/dev/input/event7" && d[0].active
    })
    .await;
    // A late inotify removal of the lost node changes nothing.
    r.tx.send(HotplugEvent::Removed(node(6))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(r.hub.devices().len(), 1);
}

#[tokio::test]
async fn a_standby_pen_takes_over_when_the_active_one_is_unplugged() {
    let r = rig(
        &[
            (8, "signature-basic.evemu", TraceEnd::Hold),
            (9, "initials-short.evemu", TraceEnd::Hold),
        ],
        DeviceSelector::default(),
    );
    let mut consumer = Consumer::new(r.hub.open_stream().unwrap());
    r.tx.send(HotplugEvent::Added(node(8))).await.unwrap();
    r.tx.send(HotplugEvent::Added(node(9))).await.unwrap();
    let first = expected("signature-basic.evemu");
    assert_eq!(samples(&consumer.read(first.len()).await), first);
    until(|| r.hub.devices().len() == 2).await;
    assert!(!r.hub.devices()[1].active, "one pen captured at a time");
    r.tx.send(HotplugEvent::Removed(node(8))).await.unwrap();
    let (marker, _) = consumer.read(1).await[0];
    assert!(marker.flags.contains(DEVICE_LOST));
    let second = expected("initials-short.evemu");
    assert_eq!(samples(&consumer.read(second.len()).await), second);
}

async fn next(rx: &mut mpsc::Receiver<HotplugEvent>) -> HotplugEvent {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("hot-plug event in time")
        .expect("watch running")
}

#[tokio::test]
async fn inotify_reports_event_nodes_coming_and_going() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("event0"), b"").unwrap();
    std::fs::write(dir.path().join("mouse0"), b"").unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let watch = hotplug::spawn_watch(dir.path(), tx).unwrap();
    assert_eq!(
        next(&mut rx).await,
        HotplugEvent::Added(dir.path().join("event0"))
    );
    std::fs::write(dir.path().join("js0"), b"").unwrap();
    std::fs::write(dir.path().join("event7"), b"").unwrap();
    assert_eq!(
        next(&mut rx).await,
        HotplugEvent::Added(dir.path().join("event7"))
    );
    std::fs::remove_file(dir.path().join("event0")).unwrap();
    assert_eq!(
        next(&mut rx).await,
        HotplugEvent::Removed(dir.path().join("event0"))
    );
    watch.abort();
}
