#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Verify throughput (filled in below).

fn main() {}
