//! A real kernel pen device made through `/dev/uinput`: the daemon picks it
//! up by hot-plug, grabs it, converts its events to physical units, and ends
//! the stroke with a device-lost marker when it is destroyed mid-stroke.
//!
//! Needs `/dev/uinput` (the virtual pad); elsewhere the test is skipped with
//! a visible message. Built with `harness = false` so that the message is
//! not swallowed by the test runner's output capture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{my_uid, samples, Consumer};
use evdev::uinput::VirtualDevice;
use evdev::{
    AbsInfo, AbsoluteAxisCode, AttributeSet, InputEvent, KeyCode, PropType, UinputAbsSetup,
};
use signpad_inputd::config::InputdConfig;
use signpad_inputd::daemon::Daemon;
use signpad_inputd::dbus::{DeviceEntry, BUS_NAME, OBJECT_PATH};
use signpad_inputd::record::DEVICE_LOST;
use signpad_testkit::DbusDaemon;
use signpad_types::SampleFlags;
use zbus::zvariant::OwnedFd;

const EV_KEY: u16 = 0x01;
const EV_ABS: u16 = 0x03;

fn virtual_pen(name: &str) -> VirtualDevice {
    let axis = |code, max, res| UinputAbsSetup::new(code, AbsInfo::new(0, 0, max, 0, 0, res));
    let keys = AttributeSet::from_iter([
        KeyCode::BTN_TOOL_PEN,
        KeyCode::BTN_TOUCH,
        KeyCode::BTN_STYLUS,
    ]);
    VirtualDevice::builder()
        .unwrap()
        .name(name)
        .with_keys(&keys)
        .unwrap()
        .with_properties(&AttributeSet::from_iter([PropType::DIRECT]))
        .unwrap()
        .with_absolute_axis(&axis(AbsoluteAxisCode::ABS_X, 10_000, 40))
        .unwrap()
        .with_absolute_axis(&axis(AbsoluteAxisCode::ABS_Y, 6_000, 40))
        .unwrap()
        .with_absolute_axis(&axis(AbsoluteAxisCode::ABS_PRESSURE, 2047, 0))
        .unwrap()
        .build()
        .unwrap()
}

fn main() {
    const NAME: &str = "uinput_pen_is_hotplugged_grabbed_converted_and_lost";
    if !Path::new("/dev/uinput").exists() {
        println!(
            "test {NAME} ... SKIPPED: no /dev/uinput on this machine (it runs in the virtual pad)"
        );
        println!("uinput: 0 passed, 0 failed, 1 skipped");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(uinput_pen_is_hotplugged_grabbed_converted_and_lost());
    println!("test {NAME} ... ok");
    println!("uinput: 1 passed, 0 failed");
}

async fn uinput_pen_is_hotplugged_grabbed_converted_and_lost() {
    let name = format!("signpad uinput test pen {}", std::process::id());
    let bus = DbusDaemon::start().unwrap();
    let server = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let mut config = InputdConfig::default();
    config.access.allowed_uids = vec![my_uid()];
    config.device.name = Some(name.clone());
    let daemon = Daemon::start(&config, &server).await.unwrap();

    let client = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let input = zbus::Proxy::new(&client, BUS_NAME, OBJECT_PATH, "org.signpad.Input1")
        .await
        .unwrap();
    let fd: OwnedFd = input.call("OpenStream", &()).await.unwrap();
    let mut consumer = Consumer::new(fd.into());

    // Created after the daemon started: found by hot-plug.
    let mut pen = virtual_pen(&name);
    let node = pen
        .enumerate_dev_nodes_blocking()
        .unwrap()
        .flatten()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("event"))
        })
        .expect("uinput device has an event node");
    let mut active = false;
    for _ in 0..500 {
        let devices: Vec<DeviceEntry> = input.get_property("Devices").await.unwrap();
        if devices
            .iter()
            .any(|d| d.0 == node.display().to_string() && d.4)
        {
            active = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(active, "the daemon did not pick up {}", node.display());

    // Grabbed: nobody else can grab (and so read) the pen.
    let mut other = evdev::Device::open(&node).unwrap();
    assert!(
        other.grab().is_err(),
        "the pen is not grabbed by the daemon"
    );
    drop(other);

    let ev = |t, c, v| InputEvent::new(t, c, v);
    pen.emit(&[
        ev(EV_KEY, KeyCode::BTN_TOOL_PEN.0, 1),
        ev(EV_ABS, 0, 4000),
        ev(EV_ABS, 1, 2000),
    ])
    .unwrap();
    pen.emit(&[ev(EV_KEY, KeyCode::BTN_TOUCH.0, 1), ev(EV_ABS, 0x18, 1024)])
        .unwrap();
    pen.emit(&[ev(EV_ABS, 0, 4040), ev(EV_ABS, 0x18, 2047)])
        .unwrap();
    let got = samples(&consumer.read(3).await);
    // 4000 units at 40 units/mm = 100 mm = 10000 × 0.01 mm.
    assert_eq!((got[0].x, got[0].y), (10_000, 5_000));
    assert!(!got[0].in_contact() && got[0].flags.contains(SampleFlags::IN_RANGE));
    assert!(got[1].in_contact());
    assert_eq!(got[1].pressure, 32_784); // 1024 / 2047 of 65535, rounded
    assert_eq!((got[2].x, got[2].pressure), (10_100, 65_535));
    assert!(got[2].t_us >= got[1].t_us && got[1].t_us >= got[0].t_us);

    // Unplugged with the tip down.
    drop(pen);
    let (marker, _) = consumer.read(1).await[0];
    assert!(marker.flags.contains(DEVICE_LOST));
    assert_eq!(marker.x, 10_100);
    daemon.shutdown().await;
}
