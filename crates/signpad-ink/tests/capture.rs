#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Event → sample conversion: physical units, frames, proximity and
//! SYN_DROPPED handling, independent of any trace file.

use signpad_ink::event::{abs, ev, key, msc, syn};
use signpad_ink::{Capture, CaptureWarning, Event, InkError};
use signpad_types::{AxisInfo, PenCapabilities, PenSample, SampleFlags};

fn caps() -> PenCapabilities {
    PenCapabilities {
        name: "test".into(),
        vendor: 0x56a,
        product: 1,
        // 200 units/mm with an offset origin.
        x: AxisInfo {
            min: -100,
            max: 44_800,
            resolution: 200,
        },
        y: AxisInfo {
            min: 0,
            max: 29_600,
            resolution: 200,
        },
        pressure: Some(AxisInfo {
            min: 0,
            max: 8191,
            resolution: 0,
        }),
        tilt_x: Some(AxisInfo {
            min: -64,
            max: 63,
            resolution: 57,
        }),
        tilt_y: Some(AxisInfo {
            min: -64,
            max: 63,
            resolution: 57,
        }),
        distance: Some(AxisInfo {
            min: 0,
            max: 63,
            resolution: 0,
        }),
    }
}

/// Feeds (time_ms, type, code, value) and collects samples.
fn run(c: &mut Capture, events: &[(u64, u16, u16, i32)]) -> Vec<PenSample> {
    events
        .iter()
        .filter_map(|&(t, ty, code, v)| c.push(Event::new(1_000_000_000 + t * 1000, ty, code, v)))
        .collect()
}

const REPORT: (u16, u16) = (ev::SYN, syn::REPORT);

#[test]
fn raw_values_become_physical_units() {
    let mut c = Capture::new(caps()).unwrap();
    let s = run(
        &mut c,
        &[
            (0, ev::KEY, key::BTN_TOOL_PEN, 1),
            (0, ev::ABS, abs::X, 12_245),
            (0, ev::ABS, abs::Y, 20_001),
            (0, ev::ABS, abs::PRESSURE, 4096),
            (0, ev::ABS, abs::TILT_X, 57),
            (0, ev::ABS, abs::TILT_Y, -20),
            (0, ev::KEY, key::BTN_TOUCH, 1),
            (0, REPORT.0, REPORT.1, 0),
        ],
    );
    assert_eq!(s.len(), 1);
    let s = s[0];
    // (12245 + 100) / 200 units/mm = 61.725 mm.
    assert_eq!(s.x, 6173);
    // 20001 / 200 = 100.005 mm.
    assert_eq!(s.y, 10001);
    // 4096 / 8191 of full scale.
    assert_eq!(s.pressure, 32772);
    // 57 units at 57 units/rad = 1 rad = 57.30°.
    assert_eq!(s.tilt_x, Some(5730));
    // -20/57 rad = -20.10°.
    assert_eq!(s.tilt_y, Some(-2010));
    assert_eq!(s.t_us, 0);
    assert!(s.in_contact() && s.flags.contains(SampleFlags::IN_RANGE));
}

#[test]
fn time_is_relative_to_the_first_event_and_monotonic() {
    let mut c = Capture::new(caps()).unwrap();
    let s = run(
        &mut c,
        &[
            (0, ev::MSC, msc::TIMESTAMP, 77),
            (3, ev::KEY, key::BTN_TOOL_PEN, 1),
            (3, ev::ABS, abs::X, 0),
            (3, ev::ABS, abs::Y, 0),
            (5, REPORT.0, REPORT.1, 0),
            (9, ev::ABS, abs::X, 10),
            (10, REPORT.0, REPORT.1, 0),
            (2, ev::ABS, abs::X, 20), // a replay going back in time
            (2, REPORT.0, REPORT.1, 0),
        ],
    );
    let t: Vec<u64> = s.iter().map(|s| s.t_us).collect();
    assert_eq!(t, [5_000, 10_000, 10_000]);
}

#[test]
fn frames_without_pen_changes_produce_no_sample() {
    let mut c = Capture::new(caps()).unwrap();
    let s = run(
        &mut c,
        &[
            (0, ev::KEY, key::BTN_TOOL_PEN, 1),
            (0, ev::ABS, abs::X, 100),
            (0, ev::ABS, abs::Y, 100),
            (0, REPORT.0, REPORT.1, 0),
            (5, ev::MSC, msc::TIMESTAMP, 5000),
            (5, REPORT.0, REPORT.1, 0),
            (10, ev::ABS, 0x28, 1), // ABS_MISC: not a pen axis
            (10, REPORT.0, REPORT.1, 0),
        ],
    );
    assert_eq!(s.len(), 1);
}

#[test]
fn no_sample_before_position_is_known_or_out_of_range() {
    let mut c = Capture::new(caps()).unwrap();
    let s = run(
        &mut c,
        &[
            (0, ev::KEY, key::BTN_TOOL_PEN, 1),
            (0, REPORT.0, REPORT.1, 0),
            (5, ev::KEY, key::BTN_TOOL_PEN, 0),
            (5, ev::ABS, abs::X, 10),
            (5, ev::ABS, abs::Y, 10),
            (5, REPORT.0, REPORT.1, 0),
            (10, ev::ABS, abs::X, 20),
            (10, REPORT.0, REPORT.1, 0),
        ],
    );
    assert!(s.is_empty(), "{s:?}");
}

#[test]
fn proximity_out_keeps_the_last_position() {
    let mut c = Capture::new(caps()).unwrap();
    let s = run(
        &mut c,
        &[
            (0, ev::KEY, key::BTN_TOOL_PEN, 1),
            (0, ev::ABS, abs::X, 2000),
            (0, ev::ABS, abs::Y, 3000),
            (0, ev::ABS, abs::TILT_X, 30),
            (0, REPORT.0, REPORT.1, 0),
            // wacom zeroes the axes when the pen leaves.
            (5, ev::ABS, abs::X, 0),
            (5, ev::ABS, abs::Y, 0),
            (5, ev::ABS, abs::TILT_X, 0),
            (5, ev::KEY, key::BTN_TOOL_PEN, 0),
            (5, REPORT.0, REPORT.1, 0),
        ],
    );
    assert_eq!(s.len(), 2);
    assert!(!s[1].flags.contains(SampleFlags::IN_RANGE));
    assert_eq!((s[1].x, s[1].y, s[1].tilt_x), (s[0].x, s[0].y, s[0].tilt_x));
}

#[test]
fn buttons_and_eraser_set_flags() {
    let mut c = Capture::new(caps()).unwrap();
    let s = run(
        &mut c,
        &[
            (0, ev::KEY, key::BTN_TOOL_RUBBER, 1),
            (0, ev::KEY, key::BTN_STYLUS, 1),
            (0, ev::KEY, key::BTN_STYLUS2, 1),
            (0, ev::ABS, abs::X, 1),
            (0, ev::ABS, abs::Y, 1),
            (0, REPORT.0, REPORT.1, 0),
        ],
    );
    let f = s[0].flags;
    assert!(f.contains(SampleFlags::ERASER | SampleFlags::BUTTON1 | SampleFlags::BUTTON2));
    assert!(!s[0].in_contact());
}

#[test]
fn syn_dropped_discards_until_report_and_flags_the_next_sample() {
    let mut c = Capture::new(caps()).unwrap();
    let s = run(
        &mut c,
        &[
            (0, ev::KEY, key::BTN_TOOL_PEN, 1),
            (0, ev::KEY, key::BTN_TOUCH, 1),
            (0, ev::ABS, abs::X, 1000),
            (0, ev::ABS, abs::Y, 1000),
            (0, REPORT.0, REPORT.1, 0),
            (5, ev::SYN, syn::DROPPED, 0),
            (5, ev::ABS, abs::X, 9999),      // discarded
            (5, ev::KEY, key::BTN_TOUCH, 0), // discarded
            (5, REPORT.0, REPORT.1, 0),      // ends the discard, no sample
            (40, ev::ABS, abs::Y, 1400),
            (40, REPORT.0, REPORT.1, 0),
            (45, ev::ABS, abs::Y, 1500),
            (45, REPORT.0, REPORT.1, 0),
        ],
    );
    assert_eq!(c.gaps(), 1);
    assert_eq!(s.len(), 3);
    assert!(!s[0].flags.contains(SampleFlags::GAP_BEFORE));
    assert!(s[1].flags.contains(SampleFlags::GAP_BEFORE));
    assert!(!s[2].flags.contains(SampleFlags::GAP_BEFORE));
    // The discarded X and BTN_TOUCH never took effect.
    assert_eq!(s[1].x, (1000 + 100) / 2);
    assert!(s[1].in_contact());
    assert_eq!(s[1].t_us, 40_000);
}

#[test]
fn resync_replaces_state_without_emitting() {
    let mut c = Capture::new(caps()).unwrap();
    run(
        &mut c,
        &[(0, ev::SYN, syn::DROPPED, 0), (1, REPORT.0, REPORT.1, 0)],
    );
    c.resync(
        &[(abs::X, 300), (abs::Y, 500)],
        &[(key::BTN_TOOL_PEN, true)],
    );
    let s = run(
        &mut c,
        &[(5, ev::ABS, abs::PRESSURE, 10), (5, REPORT.0, REPORT.1, 0)],
    );
    assert_eq!(s.len(), 1);
    // (300 + 100) / 200 = 2 mm, 500 / 200 = 2.5 mm.
    assert_eq!((s[0].x, s[0].y), (200, 250));
    assert!(s[0]
        .flags
        .contains(SampleFlags::GAP_BEFORE | SampleFlags::IN_RANGE));
}

#[test]
fn device_without_pressure_axis_reports_full_pressure_in_contact() {
    let mut caps = caps();
    caps.pressure = None;
    caps.tilt_x = None;
    let mut c = Capture::new(caps).unwrap();
    let s = run(
        &mut c,
        &[
            (0, ev::KEY, key::BTN_TOUCH, 1),
            (0, ev::ABS, abs::X, 1),
            (0, ev::ABS, abs::Y, 1),
            (0, REPORT.0, REPORT.1, 0),
            (5, ev::KEY, key::BTN_TOUCH, 0),
            (5, REPORT.0, REPORT.1, 0),
        ],
    );
    assert_eq!((s[0].pressure, s[0].tilt_x), (65535, None));
    assert_eq!(s[1].pressure, 0);
}

#[test]
fn broken_absinfo_is_rejected_with_a_fix() {
    let mut c = caps();
    c.x.resolution = 0;
    let err = Capture::new(c).unwrap_err();
    assert_eq!(
        err,
        InkError::UnknownResolution {
            axis: "ABS_X",
            code: 0,
            resolution: 0
        }
    );
    assert!(err.to_string().contains("EVDEV_ABS_00"));
    let mut c = caps();
    c.y.max = c.y.min;
    assert!(matches!(
        Capture::new(c),
        Err(InkError::EmptyAxisRange { axis: "ABS_Y", .. })
    ));
    let mut c = caps();
    c.pressure = Some(AxisInfo {
        min: 5,
        max: 5,
        resolution: 0,
    });
    assert!(matches!(
        Capture::new(c),
        Err(InkError::EmptyAxisRange {
            axis: "ABS_PRESSURE",
            ..
        })
    ));
}

#[test]
fn tilt_without_resolution_warns_and_uses_degrees() {
    let mut c = caps();
    c.tilt_y = Some(AxisInfo {
        min: -64,
        max: 63,
        resolution: 0,
    });
    let mut cap = Capture::new(c).unwrap();
    assert_eq!(
        cap.warnings(),
        [CaptureWarning::TiltResolutionUnknown { axis: "ABS_TILT_Y" }]
    );
    let s = run(
        &mut cap,
        &[
            (0, ev::KEY, key::BTN_TOOL_PEN, 1),
            (0, ev::ABS, abs::X, 1),
            (0, ev::ABS, abs::Y, 1),
            (0, ev::ABS, abs::TILT_Y, -40),
            (0, REPORT.0, REPORT.1, 0),
        ],
    );
    assert_eq!(s[0].tilt_y, Some(-4000));
}

#[test]
fn extreme_values_are_clamped_not_wrapped() {
    let mut c = caps();
    c.tilt_x = Some(AxisInfo {
        min: i32::MIN,
        max: i32::MAX,
        resolution: 1,
    });
    let mut cap = Capture::new(c).unwrap();
    let s = run(
        &mut cap,
        &[
            (0, ev::KEY, key::BTN_TOOL_PEN, 1),
            (0, ev::ABS, abs::X, i32::MAX),
            (0, ev::ABS, abs::Y, i32::MIN),
            (0, ev::ABS, abs::PRESSURE, 1_000_000),
            (0, ev::ABS, abs::TILT_X, i32::MIN),
            (0, REPORT.0, REPORT.1, 0),
        ],
    );
    let s = s[0];
    assert_eq!(s.pressure, 65535);
    assert_eq!(s.tilt_x, Some(-32767)); // i16::MIN means "no tilt" on the wire
    assert!(s.x > 0 && s.y < 0);
}
