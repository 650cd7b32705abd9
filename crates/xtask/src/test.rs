//! `cargo xtask test`: everything CI checks, in one command.

use crate::pytool::{self, PyTool};
use crate::{apt, cross, run, units, yocto};
use anyhow::Result;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// schemathesis, run by netd's tests against the live API.
const SCHEMATHESIS: PyTool = PyTool {
    venv: "schemathesis",
    exe: "schemathesis",
    package: "schemathesis",
    version: "4.32.5",
    companions: &[],
};

/// What `cargo xtask test` runs besides the tests themselves.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// fmt check and clippy.
    pub lint: bool,
    /// The aarch64 release build of the pad binaries.
    pub cross: bool,
}

pub fn run(root: &Path, options: Options) -> Result<()> {
    let started = Instant::now();
    let mut timings: Vec<(&str, f64)> = Vec::new();
    let mut timed = |name: &'static str, step: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let t = Instant::now();
        step()?;
        timings.push((name, t.elapsed().as_secs_f64()));
        Ok(())
    };
    timed("apt packages", &mut || apt::ensure(apt::ALL_PACKAGES))?;
    if options.lint {
        timed("cargo fmt --check", &mut || {
            run::status(Command::new("cargo").args(["fmt", "--all", "--check"]))
        })?;
        timed("cargo clippy", &mut || {
            run::status(Command::new("cargo").args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
    }
    let mut schemathesis = None;
    timed("schemathesis", &mut || {
        schemathesis = Some(pytool::ensure(root, &SCHEMATHESIS)?);
        Ok(())
    })?;
    timed("cargo test", &mut || {
        let mut cmd = Command::new("cargo");
        cmd.args(["test", "--workspace", "--locked"])
            .env("TSS2_LOG", "all+none");
        if let Some(st) = &schemathesis {
            cmd.env("SIGNPAD_SCHEMATHESIS", st);
        }
        run::status(&mut cmd)
    })?;
    timed("systemd units", &mut || units::run(root))?;
    timed("yocto layer", &mut || {
        yocto::run(root, &yocto::YoctoTask::Check)
    })?;
    if options.cross {
        timed("aarch64 build", &mut || cross::run(root))?;
    }
    eprintln!("\nxtask test: all checks passed");
    for (name, secs) in &timings {
        eprintln!("  {name:<20} {secs:>6.0} s");
    }
    eprintln!(
        "  {:<20} {:>6.0} s",
        "total",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
