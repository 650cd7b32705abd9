//! `cargo xtask fuzz`: a short run of every fuzz target in `fuzz/`.
//!
//! cargo-fuzz needs nightly compiler flags; on a stable toolchain they are
//! enabled with `RUSTC_BOOTSTRAP=1`, so no second toolchain is needed.

use crate::run;
use anyhow::Result;
use std::path::Path;
use std::process::Command;

/// The fuzz targets, each a parser of outside input.
pub const TARGETS: &[&str] = &["package_parse", "iso_decode", "evemu_parse"];

fn cargo_fuzz_installed() -> bool {
    run::output(Command::new("cargo").args(["fuzz", "--version"]))
        .map(|o| o.status.success())
        .unwrap_or(false)
}

pub fn run(root: &Path, seconds: u32) -> Result<()> {
    if !cargo_fuzz_installed() {
        run::status(Command::new("cargo").args(["install", "--locked", "cargo-fuzz"]))?;
    }
    let fuzz_dir = root.join("fuzz");
    for target in TARGETS {
        run::status(
            Command::new("cargo")
                .current_dir(&fuzz_dir)
                .env("RUSTC_BOOTSTRAP", "1")
                .args(["fuzz", "run", "-O", target, "--"])
                .arg(format!("-max_total_time={seconds}"))
                .arg("-rss_limit_mb=2048"),
        )?;
    }
    println!(
        "fuzz: {} targets ran {seconds} s each without a crash",
        TARGETS.len()
    );
    Ok(())
}
