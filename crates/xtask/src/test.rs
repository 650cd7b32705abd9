//! `cargo xtask test`: everything CI checks, in one command.

use crate::{apt, run};
use anyhow::Result;
use std::process::Command;
use std::time::Instant;

pub fn run(no_lint: bool) -> Result<()> {
    let started = Instant::now();
    apt::ensure(apt::ALL_PACKAGES)?;
    if !no_lint {
        run::status(Command::new("cargo").args(["fmt", "--all", "--check"]))?;
        run::status(Command::new("cargo").args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    run::status(
        Command::new("cargo")
            .args(["test", "--workspace", "--locked"])
            .env("TSS2_LOG", "all+none"),
    )?;
    eprintln!(
        "xtask test: all checks passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
