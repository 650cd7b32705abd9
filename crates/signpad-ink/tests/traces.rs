#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The committed pen traces in `tests/data/` parse, replay and have the
//! shape the generator promises.

mod common;

use common::{capture, data_dir, load};
use signpad_ink::{ink_stats, split_strokes, CaptureWarning};
use signpad_types::SampleFlags;

/// (file, strokes, duration range in ms, tilt present)
const EXPECTED: [(&str, usize, (u64, u64), bool); 4] = [
    ("signature-basic.evemu", 4, (2_900, 3_200), false),
    ("signature-tilt.evemu", 6, (4_900, 5_150), true),
    // Four strokes written; the SYN_DROPPED splits the cursive one.
    ("signature-syn-dropped.evemu", 5, (2_900, 3_200), false),
    ("initials-short.evemu", 3, (1_200, 1_500), true),
];

#[test]
fn every_trace_in_tests_data_parses() {
    // Other crates keep their own traces here too (e.g. devices that are not
    // pens): those must parse; the signatures listed in EXPECTED must also
    // replay into samples.
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "evemu") {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let trace = load(&name);
            assert!(!trace.events.is_empty(), "{name}: no events");
            seen.push(name);
        }
    }
    for (name, ..) in EXPECTED {
        assert!(seen.iter().any(|s| s == name), "{name} missing");
        assert!(!capture(name).samples.is_empty(), "{name}: no samples");
    }
}

#[test]
fn traces_have_expected_strokes_durations_and_axes() {
    for (name, strokes, (min_ms, max_ms), tilt) in EXPECTED {
        let c = capture(name);
        let stats = ink_stats(&c.samples);
        assert_eq!(stats.strokes, strokes, "{name}: strokes");
        let ms = stats.duration_us / 1000;
        assert!((min_ms..=max_ms).contains(&ms), "{name}: duration {ms} ms");
        assert_eq!(c.capabilities.tilt_x.is_some(), tilt, "{name}: tilt axis");
        assert!(
            c.samples.iter().all(|s| s.tilt_x.is_some() == tilt),
            "{name}: tilt in samples"
        );
        let bbox = stats.bounding_box.expect("ink");
        // A signature is a few centimetres wide and 1.5-4 cm tall.
        assert!((3_000..=12_000).contains(&bbox.width()), "{name}: {bbox:?}");
        assert!((1_500..=4_000).contains(&bbox.height()), "{name}: {bbox:?}");
    }
}

#[test]
fn traces_are_sampled_at_200_hz_with_jitter() {
    for (name, ..) in EXPECTED {
        let c = capture(name);
        let mut intervals: Vec<u64> = c
            .samples
            .windows(2)
            .filter(|w| !w[1].flags.contains(SampleFlags::GAP_BEFORE))
            .map(|w| w[1].t_us - w[0].t_us)
            .collect();
        intervals.sort_unstable();
        let median = intervals[intervals.len() / 2];
        assert!(
            (4_800..=5_200).contains(&median),
            "{name}: median {median} µs"
        );
        assert!(intervals.first() != intervals.last(), "{name}: no jitter");
        // A frame in which nothing changed yields no sample (as from the
        // kernel), so allow a few longer intervals.
        let p95 = intervals[intervals.len() * 95 / 100];
        assert!(p95 < 5_300, "{name}: p95 {p95} µs");
    }
}

#[test]
fn strokes_start_and_end_with_pressure_ramps() {
    for (name, ..) in EXPECTED {
        let all = capture(name).samples;
        let gap_after = |t_us: u64| {
            all.iter()
                .find(|s| s.t_us > t_us)
                .is_some_and(|s| s.flags.contains(SampleFlags::GAP_BEFORE))
        };
        for stroke in split_strokes(&all) {
            let s = stroke.samples();
            if s.len() < 20 {
                continue; // the dot
            }
            let peak = s.iter().map(|p| p.pressure).max().unwrap();
            // Strokes cut by a SYN_DROPPED gap start or end mid-writing.
            if !s[0].flags.contains(SampleFlags::GAP_BEFORE) {
                assert!(s[0].pressure < peak / 2, "{name}: no ramp at pen down");
            }
            if !gap_after(stroke.end_us()) {
                assert!(
                    s[s.len() - 1].pressure < peak / 2,
                    "{name}: no ramp at pen up"
                );
            }
        }
    }
}

#[test]
fn the_pen_hovers_between_strokes() {
    for (name, strokes, ..) in EXPECTED {
        let c = capture(name);
        let hover = c
            .samples
            .iter()
            .filter(|s| s.flags.contains(SampleFlags::IN_RANGE) && !s.in_contact())
            .count();
        // At least ~50 ms of hover per stroke.
        assert!(hover >= 10 * strokes, "{name}: {hover} hover samples");
        let last = c.samples.last().unwrap();
        assert!(
            !last.flags.contains(SampleFlags::IN_RANGE),
            "{name}: ends in range"
        );
        // The proximity-out frame resets axes to 0; the sample keeps the position.
        let before = c.samples[c.samples.len() - 2];
        assert_eq!((last.x, last.y), (before.x, before.y), "{name}");
    }
}

#[test]
fn syn_dropped_trace_flags_one_gap() {
    let c = capture("signature-syn-dropped.evemu");
    assert_eq!(c.gaps, 1);
    let flagged: Vec<_> = c
        .samples
        .iter()
        .filter(|s| s.flags.contains(SampleFlags::GAP_BEFORE))
        .collect();
    assert_eq!(flagged.len(), 1);
    // Mid-stroke: the gap sample is in contact and follows ~40 ms of silence.
    let i = c
        .samples
        .iter()
        .position(|s| s.flags.contains(SampleFlags::GAP_BEFORE))
        .unwrap();
    assert!(c.samples[i].in_contact() && c.samples[i - 1].in_contact());
    let silence = c.samples[i].t_us - c.samples[i - 1].t_us;
    assert!((30_000..=50_000).contains(&silence), "{silence} µs");
    assert_eq!(ink_stats(&c.samples).gaps, 1);
}

#[test]
fn tilt_resolution_zero_is_reported_and_taken_as_degrees() {
    let c = capture("initials-short.evemu");
    assert_eq!(
        c.warnings,
        vec![
            CaptureWarning::TiltResolutionUnknown { axis: "ABS_TILT_X" },
            CaptureWarning::TiltResolutionUnknown { axis: "ABS_TILT_Y" },
        ]
    );
    // The generator writes whole degrees around 32° / 18°.
    let tx = c.samples[10].tilt_x.unwrap();
    assert!((2_000..=4_500).contains(&tx) && tx % 100 == 0, "{tx}");
}

#[test]
fn kernel_tilt_resolution_converts_radians_to_degrees() {
    let c = capture("signature-tilt.evemu");
    assert!(c.warnings.is_empty());
    for s in &c.samples {
        let (tx, ty) = (s.tilt_x.unwrap(), s.tilt_y.unwrap());
        // 57 units/rad is ~1 unit/degree; the writer leans 25-40° right.
        assert!((2_000..=4_500).contains(&tx), "{tx}");
        assert!((1_000..=2_800).contains(&ty), "{ty}");
    }
}

#[test]
fn written_trace_parses_back_identically() {
    for (name, ..) in EXPECTED {
        let trace = load(name);
        let again = signpad_ink::Trace::parse(&trace.to_evemu()).unwrap();
        assert_eq!(again, trace, "{name}");
    }
}

#[test]
fn sample_pdf_is_a_pdf_with_a_consistent_xref() {
    let pdf = std::fs::read(data_dir().join("sample.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-1."));
    assert!(pdf.ends_with(b"%%EOF\n"));
    let text: String = pdf.iter().map(|&b| char::from(b)).collect(); // Latin-1
    let at = |off: usize, what: &str| pdf[off..].starts_with(what.as_bytes());
    let start: usize = text
        .rsplit("startxref\n")
        .next()
        .and_then(|t| t.lines().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(at(start, "xref\n"));
    // Every in-use xref entry points at "N 0 obj".
    let xref = String::from_utf8(pdf[start..].to_vec()).unwrap();
    let entries: Vec<&str> = xref
        .lines()
        .skip(3)
        .take_while(|l| l.ends_with(" n "))
        .collect();
    assert_eq!(entries.len(), 8);
    for (n, line) in entries.iter().enumerate() {
        let off: usize = line[..10].parse().unwrap();
        assert!(at(off, &format!("{} 0 obj", n + 1)), "object {}", n + 1);
    }
    assert!(text.contains("/Count 2"));
}
