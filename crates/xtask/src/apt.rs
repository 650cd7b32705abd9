//! Installing the Debian packages the demo and the tests need.

use crate::run;
use anyhow::{Context, Result};
use std::process::Command;

/// Every Debian package the demo and the test suite use.
pub const ALL_PACKAGES: &[&str] = &[
    // independent verifier of our CMS output, and CA tooling in tests
    "openssl",
    // TPM 2.0 simulator and the TSS libraries tss-esapi links against
    "swtpm",
    "swtpm-tools",
    "tpm2-tools",
    "libtss2-dev",
    "pkg-config",
    // private bus for daemon tests
    "dbus",
    // fonts for rendered screens
    "fonts-dejavu-core",
    "libfontconfig1-dev",
];

fn installed(package: &str) -> bool {
    run::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    run::output(Command::new("id").arg("-u"))
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Installs those of `packages` that are missing, with `apt-get` (through
/// `sudo` when not root).
pub fn ensure(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing missing Debian packages: {}", missing.join(" "));
    let apt = |args: &[&str]| -> Command {
        let mut cmd = if is_root() {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        cmd
    };
    run::status(&mut apt(&["update", "-q"])).context("apt-get update failed")?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    install.args(&missing);
    run::status(&mut install).with_context(|| {
        format!(
            "could not install {}; install them by hand and re-run",
            missing.join(" ")
        )
    })
}
