//! The pipeline on replayed traces: units equal the library's conversion,
//! SYN_DROPPED gaps are marked, recorded pace is kept, bad traces name the
//! line, and a slow consumer never blocks capture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{expected, samples, trace, Consumer};
use signpad_ink::Capture;
use signpad_inputd::pipeline::{self, PipelineEnd, StopReason};
use signpad_inputd::record::OVERFLOW_BEFORE;
use signpad_inputd::replay::{Pace, ReplaySource};
use signpad_inputd::Hub;
use signpad_types::{PenSample, SampleFlags};
use tokio::sync::oneshot;

async fn replay_to_stream(file: &str, pace: Pace) -> (Vec<PenSample>, pipeline::PipelineReport) {
    let hub = Hub::new(100_000, 4);
    let mut consumer = Consumer::new(hub.open_stream().unwrap());
    let t = trace(file);
    let capture = Capture::new(t.device.capabilities().unwrap()).unwrap();
    let mut source = ReplaySource::new(t, pace);
    let (_stop, stop_rx) = oneshot::channel::<StopReason>();
    let report = pipeline::run(&mut source, capture, &hub, stop_rx).await;
    let n = usize::try_from(report.samples).unwrap();
    let got = samples(&consumer.read(n).await);
    consumer.assert_quiet(Duration::from_millis(50)).await;
    (got, report)
}

#[tokio::test]
async fn replayed_traces_stream_the_library_conversion() {
    for file in [
        "signature-basic.evemu",
        "signature-tilt.evemu",
        "initials-short.evemu",
        "signature-syn-dropped.evemu",
    ] {
        let (got, report) = replay_to_stream(file, Pace::Fast).await;
        let want = expected(file);
        assert!(!want.is_empty(), "{file}: no samples");
        assert_eq!(
            got, want,
            "{file}: streamed samples differ from the conversion"
        );
        assert_eq!(report.end, PipelineEnd::TraceEnded);
        assert_eq!(report.events, trace(file).events.len() as u64);
    }
}

#[tokio::test]
async fn tilt_trace_carries_physical_units() {
    let (got, _) = replay_to_stream("signature-tilt.evemu", Pace::Fast).await;
    // X 0..21600 at 100 units/mm = 0..216 mm = 0..21600 in 0.01 mm.
    assert!(got.iter().all(|s| (0..=21_600).contains(&s.x)));
    assert!(got.iter().all(|s| (0..=13_500).contains(&s.y)));
    // Tilt resolution 57 units/rad ≈ 1 unit per degree: within ±70°.
    assert!(got
        .iter()
        .all(|s| s.tilt_x.is_some_and(|t| t.abs() <= 7_000)));
    assert!(got.iter().any(|s| s.in_contact() && s.pressure > 0));
}

#[tokio::test]
async fn syn_dropped_is_marked_as_a_gap() {
    let (got, report) = replay_to_stream("signature-syn-dropped.evemu", Pace::Fast).await;
    assert_eq!(report.gaps, 1);
    let gaps = got
        .iter()
        .filter(|s| s.flags.contains(SampleFlags::GAP_BEFORE))
        .count();
    assert_eq!(gaps, 1);
    let (clean, _) = replay_to_stream("signature-basic.evemu", Pace::Fast).await;
    assert!(clean
        .iter()
        .all(|s| !s.flags.contains(SampleFlags::GAP_BEFORE)));
}

#[tokio::test]
async fn recorded_pace_follows_the_trace_timestamps() {
    let t = trace("initials-short.evemu");
    let span = t.events.last().unwrap().time_us - t.events[0].time_us;
    let start = Instant::now();
    let (got, _) = replay_to_stream("initials-short.evemu", Pace::Recorded).await;
    let took = start.elapsed();
    assert_eq!(got, expected("initials-short.evemu"));
    assert!(
        took >= Duration::from_micros(span),
        "replayed {span} µs of events in {took:?}"
    );
}

#[test]
fn malformed_evemu_file_names_the_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.evemu");
    std::fs::write(
        &path,
        "# EVEMU 1.3\nN: pen\nA: 00 0 zz 0 0 100\nE: 0.000001 0003 0000 1\n",
    )
    .unwrap();
    let err = ReplaySource::load(&path).unwrap_err().to_string();
    assert!(err.contains("bad.evemu"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("zz"), "{err}");
}

fn sample(i: u64) -> PenSample {
    PenSample {
        t_us: i,
        x: i32::try_from(i).unwrap(),
        y: 0,
        pressure: 1,
        tilt_x: None,
        tilt_y: None,
        flags: SampleFlags(SampleFlags::IN_CONTACT | SampleFlags::IN_RANGE),
    }
}

#[tokio::test]
async fn slow_consumer_gets_an_overflow_marker_and_never_blocks_capture() {
    let hub = Hub::new(16, 4);
    let mut slow = Consumer::new(hub.open_stream().unwrap());
    // Nothing else runs on this single-threaded runtime while capture
    // publishes: the consumer's buffer fills and publishing goes on.
    for i in 0..1000 {
        hub.publish(&sample(i));
    }
    assert_eq!(hub.dropped(), 984);
    let first = slow.read(16).await;
    assert!(first
        .iter()
        .all(|(s, d)| *d == 0 && !s.flags.contains(OVERFLOW_BEFORE)));
    assert_eq!(first[15].0.t_us, 15);
    hub.publish(&sample(5000));
    let (marked, dropped) = slow.read(1).await[0];
    assert!(marked.flags.contains(OVERFLOW_BEFORE));
    assert_eq!(dropped, 984);
    assert_eq!(marked.t_us, 5000);
    // Once drained, later samples are unmarked.
    hub.publish(&sample(5001));
    let (next, d) = slow.read(1).await[0];
    assert_eq!((next.t_us, d), (5001, 0));
    assert!(!next.flags.contains(OVERFLOW_BEFORE));
}

#[tokio::test]
async fn closed_consumer_is_forgotten() {
    let hub = Hub::new(16, 1);
    let c = Consumer::new(hub.open_stream().unwrap());
    assert_eq!(hub.stream_count(), 1);
    assert!(hub.open_stream().is_err(), "max_streams = 1");
    drop(c);
    for _ in 0..100 {
        if hub.stream_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hub.stream_count(), 0);
    assert!(hub.open_stream().is_ok());
}
