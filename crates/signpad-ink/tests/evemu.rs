#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The evemu parser: accepted syntax and line-numbered errors.

use signpad_ink::event::{abs, ev, key};
use signpad_ink::{InkError, Trace, TraceLimits, TraceProblem};

const HEADER: &str = "\
# EVEMU 1.3
# Input device name: \"Test Pen\"
N: Test Pen
I: 0003 056a 0357 0110
P: 01 00 00 00 00 00 00 00
B: 00 0b 00 00 00 00 00 00 00
B: 01 00 00 00 00 00 00 00 00
B: 01 00 00 00 00 00 00 00 00
B: 01 00 00 00 00 00 00 00 00
B: 01 00 00 00 00 00 00 00 00
B: 01 00 00 00 00 00 00 00 00
B: 01 03 1c 00 00 00 00 00 00
B: 03 03 00 00 0f 00 00 00 00
A: 00 0 44800 4 0 200
A: 01 0 29600 4 0 200
A: 18 0 8191 0 0
A: 1a -64 63 0 0 57
A: 1b -64 63 0 0 57
A: 19 0 63 0 0 0
";

fn error_of(text: &str) -> (usize, TraceProblem) {
    match Trace::parse(text) {
        Err(InkError::Trace { line, problem }) => (line, problem),
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn header_and_events_are_parsed() {
    let text = format!(
        "{HEADER}E: 12.000100 0001 0140 1\t# EV_KEY / BTN_TOOL_PEN 1\n\
         E: 12.000100 0003 0000 -5\nE: 12.000100 0000 0000 0\nL: 00 1\n"
    );
    let t = Trace::parse(&text).unwrap();
    let d = &t.device;
    assert_eq!(d.name, "Test Pen");
    assert_eq!(
        (d.bus, d.vendor, d.product, d.version),
        (3, 0x56a, 0x357, 0x110)
    );
    assert!(d.properties.contains(&0));
    assert!(d.has_key(key::BTN_TOOL_PEN) && d.has_key(key::BTN_STYLUS2));
    assert!(!d.has_key(key::BTN_TOOL_RUBBER + 100));
    assert_eq!(d.abs[&abs::X].resolution, 200);
    // Format 1.2 and older: no resolution column.
    assert_eq!(d.abs[&abs::PRESSURE].resolution, 0);
    assert_eq!(d.codes[&ev::ABS].len(), 6);
    assert_eq!(t.events.len(), 3);
    assert_eq!(t.events[0].time_us, 12_000_100);
    assert_eq!(
        (t.events[1].ev_type, t.events[1].code, t.events[1].value),
        (3, 0, -5)
    );
    let caps = d.capabilities().unwrap();
    assert_eq!(caps.x.max, 44800);
    assert!(caps.tilt_x.is_some() && caps.distance.is_some());
}

#[test]
fn crlf_blank_lines_and_comments_are_accepted() {
    let text = format!("{HEADER}\r\n# a comment\r\n\r\nE: 0.000001 0000 0000 0 # c\r\n")
        .replace('\n', "\r\n")
        .replace("\r\r\n", "\r\n");
    assert_eq!(Trace::parse(&text).unwrap().events.len(), 1);
}

#[test]
fn bad_lines_name_their_line_number_and_problem() {
    let n = HEADER.lines().count();
    let cases: [(&str, &str); 9] = [
        ("E: 1.5 0003 0000 1", "E: timestamp"),
        ("E: 1.000000 0003 0000 x12", "E: value"),
        ("E: 1.000000 zz 0000 1", "E: event type"),
        ("E: 1.000000 0003 0000", "E: value"),
        ("E: 1.000000 0003 0000 1 9", "E:"),
        ("E: 1.000000 0020 0000 1", "E: event type"),
        ("Q: what", "Q:"),
        ("no colon here", "no colon here"),
        ("E: 99999999999999999999.000000 0003 0000 1", "E: timestamp"),
    ];
    for (bad, mentions) in cases {
        let text = format!("{HEADER}E: 0.000001 0000 0000 0\n{bad}\n");
        let (line, problem) = error_of(&text);
        assert_eq!(line, n + 2, "{bad}");
        let msg = InkError::Trace { line, problem }.to_string();
        assert!(
            msg.starts_with(&format!("evemu trace line {}: ", n + 2)),
            "{msg}"
        );
        assert!(msg.contains(mentions), "{bad}: {msg}");
    }
}

#[test]
fn description_errors_are_specific() {
    let (line, p) = error_of("N: a\nA: 00 10 5 0 0 0\n");
    assert_eq!(
        (line, p),
        (
            2,
            TraceProblem::InvertedAxis {
                code: 0,
                min: 10,
                max: 5
            }
        )
    );
    let (line, p) = error_of("A: 40 0 5 0 0 0\n");
    assert_eq!(line, 1);
    assert!(matches!(
        p,
        TraceProblem::OutOfRange {
            what: "A: axis code",
            ..
        }
    ));
    let (line, p) = error_of("N: a\nN: b\n");
    assert_eq!((line, p), (2, TraceProblem::Duplicate { what: "N:" }));
    let (line, p) = error_of("E: 0.000001 0000 0000 0\nA: 00 0 5 0 0 0\n");
    assert_eq!((line, p), (2, TraceProblem::DescriptionAfterEvents));
    let (line, p) = error_of("I: 0003 056a\n");
    assert_eq!(line, 1);
    assert!(matches!(
        p,
        TraceProblem::MissingField {
            what: "I: product",
            ..
        }
    ));
    let (_, p) = error_of("B: 01 0g\n");
    assert!(matches!(
        p,
        TraceProblem::BadField {
            what: "B: bitmask byte",
            ..
        }
    ));
    // Bits beyond KEY_MAX.
    let long = format!("B: 01{}\n", " ff".repeat(97));
    assert!(matches!(error_of(&long).1, TraceProblem::OutOfRange { .. }));
}

#[test]
fn missing_xy_axis_is_reported_by_capabilities() {
    let t = Trace::parse("N: keyboard\nA: 01 0 100 0 0 10\n").unwrap();
    assert_eq!(
        t.device.capabilities().unwrap_err(),
        InkError::MissingAxis { axis: "ABS_X" }
    );
}

#[test]
fn limits_bound_size_lines_and_events() {
    let limits = TraceLimits {
        max_bytes: 1000,
        max_line_len: 40,
        max_events: 2,
    };
    let big = "#".repeat(1001);
    assert_eq!(
        Trace::parse_with_limits(&big, &limits).unwrap_err(),
        InkError::TraceTooLarge {
            size: 1001,
            limit: 1000
        }
    );
    let long_line = format!("N: x\n# {}\n", "y".repeat(60));
    assert_eq!(
        Trace::parse_with_limits(&long_line, &limits).unwrap_err(),
        InkError::Trace {
            line: 2,
            problem: TraceProblem::LineTooLong { limit: 40 }
        }
    );
    let events = "E: 0.000001 0000 0000 0\n".repeat(3);
    assert_eq!(
        Trace::parse_with_limits(&events, &limits).unwrap_err(),
        InkError::Trace {
            line: 3,
            problem: TraceProblem::TooManyEvents { limit: 2 }
        }
    );
}

#[test]
fn invalid_utf8_names_its_line() {
    let mut bytes = b"N: pen\n# ok\n# bad \xff\n".to_vec();
    bytes.extend_from_slice(b"E: 0.000001 0000 0000 0\n");
    assert_eq!(
        Trace::parse_bytes(&bytes, &TraceLimits::default()).unwrap_err(),
        InkError::Trace {
            line: 3,
            problem: TraceProblem::NotUtf8
        }
    );
}

#[test]
fn long_garbage_is_shortened_in_messages() {
    let junk = format!("E: {} 0000 0000 0\n", "9".repeat(500));
    let msg = Trace::parse(&junk).unwrap_err().to_string();
    assert!(msg.len() < 250, "{msg}");
}
