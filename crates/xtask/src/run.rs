//! Running commands with their command line shown and failures explained.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::{Command, Output};

/// The workspace root: the parent of `crates/xtask`.
pub fn workspace_root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .context("cannot find the workspace root above crates/xtask")
}

fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs `cmd` with inherited stdio; fails with the command line when it fails.
pub fn status(cmd: &mut Command) -> Result<()> {
    let line = describe(cmd);
    eprintln!("+ {line}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{line}`: is it installed?"))?;
    if !status.success() {
        bail!("`{line}` failed with {status}");
    }
    Ok(())
}

/// Runs `cmd` capturing its output; returns the output whatever the exit status.
pub fn output(cmd: &mut Command) -> Result<Output> {
    let line = describe(cmd);
    cmd.output()
        .with_context(|| format!("cannot start `{line}`: is it installed?"))
}

/// Runs `cmd` capturing its output; fails with its stderr when it fails.
pub fn checked(cmd: &mut Command) -> Result<Output> {
    let line = describe(cmd);
    eprintln!("+ {line}");
    let out = output(cmd)?;
    if !out.status.success() {
        bail!(
            "`{line}` failed with {}:\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}
