//! Fuzz target: the evemu trace parser and the evdev-to-sample capture must
//! never panic on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signpad_ink::{capture_trace, Trace, TraceLimits};

fuzz_target!(|data: &[u8]| {
    let limits = TraceLimits {
        max_bytes: 1 << 20,
        max_line_len: 4096,
        max_events: 100_000,
    };
    if let Ok(trace) = Trace::parse_bytes(data, &limits) {
        let _ = capture_trace(&trace);
    }
});
