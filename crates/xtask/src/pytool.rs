//! Python tools from PyPI (oelint-adv, schemathesis), each pinned and
//! installed in its own venv under `target/`, so nothing is installed
//! system-wide and a fresh machine gets the same versions.

use crate::{apt, run};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A pinned PyPI tool.
#[derive(Debug, Clone, Copy)]
pub struct PyTool {
    /// The venv directory name under `target/`.
    pub venv: &'static str,
    /// The executable in the venv's `bin/`.
    pub exe: &'static str,
    /// The package and its pinned version.
    pub package: &'static str,
    pub version: &'static str,
    /// Further `name==version` requirements installed with it.
    pub companions: &'static [&'static str],
}

/// Returns the tool's executable, creating the venv and installing the
/// pinned version when it is missing or different.
pub fn ensure(root: &Path, tool: &PyTool) -> Result<PathBuf> {
    let venv = root.join("target").join(tool.venv);
    let exe = venv.join("bin").join(tool.exe);
    let pip = venv.join("bin").join("pip");
    let installed = run::output(Command::new(&exe).arg("--version"))
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .unwrap_or_default();
    // `oelint-adv 9.11.2`, `schemathesis, version 4.32.5`, ...
    if installed
        .split(|c: char| c.is_whitespace() || c == ',')
        .any(|word| word == tool.version)
    {
        return Ok(exe);
    }
    if !pip.exists() {
        // Debian's own python3 needs python3-venv for `-m venv` to work.
        let has_venv = run::output(Command::new("python3").args(["-m", "ensurepip", "--version"]))
            .map(|out| out.status.success())
            .unwrap_or(false);
        if !has_venv {
            apt::ensure(&["python3-venv"])?;
        }
        run::status(Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .with_context(|| format!("cannot create the {} venv", tool.package))?;
    }
    run::status(
        Command::new(&pip)
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("{}=={}", tool.package, tool.version))
            .args(tool.companions),
    )
    .with_context(|| format!("cannot install {} from PyPI", tool.package))?;
    Ok(exe)
}
