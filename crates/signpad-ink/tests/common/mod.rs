//! Helpers shared by the integration tests (included with `mod common`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use signpad_ink::{capture_trace, CapturedTrace, Trace};

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

pub fn load(name: &str) -> Trace {
    let path = data_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Trace::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn capture(name: &str) -> CapturedTrace {
    capture_trace(&load(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}
