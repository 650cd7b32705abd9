//! `cargo xtask demo`: a whole signing ceremony on a local pad stack.

use anyhow::Result;
use std::path::Path;

pub fn run(_root: &Path, _out: &Path) -> Result<()> {
    anyhow::bail!("the demo is not wired yet")
}
