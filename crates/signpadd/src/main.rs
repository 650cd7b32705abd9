//! `signpadd`: the session daemon.

fn main() {}
