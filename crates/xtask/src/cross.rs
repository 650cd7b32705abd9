//! `cargo xtask cross`: builds the pad's binaries for aarch64 (the i.MX 8M
//! boards' architecture) with Debian's cross toolchain and the arm64 libtss2,
//! and reports their sizes.
//!
//! The linker and pkg-config settings live in `.cargo/config.toml`, so a plain
//! `cargo build --target aarch64-unknown-linux-gnu` works once this has
//! installed the toolchain.

use crate::{apt, run};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

pub const TARGET: &str = "aarch64-unknown-linux-gnu";

/// Every binary that runs on the pad, plus the admin CLI. Those whose crate
/// has no binary target yet are skipped and named.
pub const PAD_BINARIES: &[&str] = &[
    "signpad-keyd",
    "signpad-inputd",
    "signpadd",
    "signpad-ui",
    "signpad-netd",
    "signpadctl",
];

/// Debian packages of the cross toolchain and the arm64 TSS libraries.
const CROSS_PACKAGES: &[&str] = &[
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "binutils-aarch64-linux-gnu",
    "libtss2-dev:arm64",
];

/// Set to 1 to let `cargo xtask cross` succeed (with a message) on a machine
/// where the aarch64 Rust standard library cannot be installed.
const ALLOW_NO_CROSS: &str = "SIGNPAD_ALLOW_NO_CROSS";

/// Whether the workspace has a binary target for `package` today.
fn has_binary(root: &Path, package: &str) -> bool {
    let dir = root.join("crates").join(package);
    dir.join("src/main.rs").is_file() || dir.join("src/bin").is_dir()
}

fn ensure_rust_target() -> Result<bool> {
    let added = run::status(Command::new("rustup").args(["target", "add", TARGET]));
    match added {
        Ok(()) => Ok(true),
        Err(err) if std::env::var(ALLOW_NO_CROSS).as_deref() == Ok("1") => {
            eprintln!(
                "cross: SKIPPED, the {TARGET} standard library cannot be installed ({err:#}); \
                 {ALLOW_NO_CROSS}=1 allows this"
            );
            Ok(false)
        }
        Err(err) => Err(err.context(format!(
            "cannot install the {TARGET} standard library with rustup; set {ALLOW_NO_CROSS}=1 \
             to skip the cross build on this machine"
        ))),
    }
}

fn ensure_arm64_architecture() -> Result<()> {
    let foreign = run::checked(Command::new("dpkg").arg("--print-foreign-architectures"))?;
    if String::from_utf8_lossy(&foreign.stdout)
        .split_whitespace()
        .any(|a| a == "arm64")
    {
        return Ok(());
    }
    let mut cmd = if run::output(Command::new("id").arg("-u"))
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
    {
        Command::new("dpkg")
    } else {
        let mut c = Command::new("sudo");
        c.arg("dpkg");
        c
    };
    run::status(cmd.arg("--add-architecture").arg("arm64"))
        .context("cannot enable the arm64 architecture for libtss2-dev:arm64")
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        })
        .unwrap_or_else(|| root.join("target"))
}

/// Size in bytes of `binary` once stripped of symbols, as it ships in the
/// image (BitBake strips into a -dbg package).
fn stripped_size(binary: &Path) -> Result<u64> {
    let stripped = binary.with_extension("stripped");
    run::checked(
        Command::new("aarch64-linux-gnu-strip")
            .arg("-o")
            .arg(&stripped)
            .arg(binary),
    )?;
    let size = std::fs::metadata(&stripped)?.len();
    std::fs::remove_file(&stripped)?;
    Ok(size)
}

fn mib(bytes: u64) -> String {
    // Sizes are far below 2^52 bytes, so the conversion is exact enough.
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64 / (1024.0 * 1024.0);
    format!("{value:.1} MiB")
}

pub fn run(root: &Path) -> Result<()> {
    if !ensure_rust_target()? {
        return Ok(());
    }
    ensure_arm64_architecture()?;
    apt::ensure(CROSS_PACKAGES)?;

    let (present, missing): (Vec<&str>, Vec<&str>) =
        PAD_BINARIES.iter().partition(|b| has_binary(root, b));
    if present.is_empty() {
        bail!(
            "none of {} has a binary target yet",
            PAD_BINARIES.join(", ")
        );
    }
    if !missing.is_empty() {
        eprintln!("cross: not written yet, skipped: {}", missing.join(", "));
    }

    let started = Instant::now();
    let mut build = Command::new("cargo");
    build.args([
        "build",
        "--release",
        "--locked",
        "--target",
        TARGET,
        "--bins",
    ]);
    for package in &present {
        build.args(["-p", package]);
    }
    run::status(&mut build)?;
    let seconds = started.elapsed().as_secs_f64();

    let release = target_dir(root).join(TARGET).join("release");
    let mut report = format!(
        "aarch64 release build ({TARGET}) in {seconds:.0} s\n\n\
         | binary | size | stripped |\n|---|---|---|\n"
    );
    for binary in &present {
        let path = release.join(binary);
        let size = std::fs::metadata(&path)
            .with_context(|| format!("{} was not built", path.display()))?
            .len();
        let stripped = stripped_size(&path)?;
        report.push_str(&format!(
            "| {binary} | {} | {} |\n",
            mib(size),
            mib(stripped)
        ));
    }
    let report_path = release.join("binary-sizes.md");
    std::fs::write(&report_path, &report)
        .with_context(|| format!("cannot write {}", report_path.display()))?;
    print!("{report}");
    eprintln!("cross: sizes written to {}", report_path.display());
    Ok(())
}
