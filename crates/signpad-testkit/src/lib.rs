//! Test harness of signpad: real helper processes, one private instance per
//! test, each in its own temporary directory, stopped by PID when dropped.
//!
//! - [`Swtpm`]: a `swtpm socket --tpm2` on free loopback ports; its TCTI
//!   string is what daemons under test put in their config.
//! - [`DbusDaemon`]: a private `dbus-daemon` on a unix socket with EXTERNAL
//!   auth and a permissive policy; its address replaces the system bus.
//! - [`DemoPki`]: a CA, pad and escrow certificates and CRLs made with the
//!   real `openssl` command line.
//!
//! This crate never pretends to be a TPM or a bus: when `swtpm` or
//! `dbus-daemon` is missing, starting fails with an error that names the
//! Debian package to install. It is for tests only and must never be a
//! dependency of a daemon.

mod dbus;
mod pki;
mod ports;
mod swtpm;

pub use dbus::DbusDaemon;
pub use pki::DemoPki;
pub use swtpm::Swtpm;

use std::path::PathBuf;
use std::time::Duration;

/// How long a helper process may take to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Errors while starting or stopping a helper process.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    #[error("cannot run {program}: {source} (install the Debian package {package})")]
    Spawn {
        program: &'static str,
        package: &'static str,
        source: std::io::Error,
    },
    #[error("{program} exited before it was ready ({status}); log: {log}")]
    ExitedEarly {
        program: &'static str,
        status: String,
        log: String,
    },
    #[error("{program} was not ready after {timeout:?}; log: {log}")]
    NotReady {
        program: &'static str,
        timeout: Duration,
        log: String,
    },
    #[error("no free loopback port pair found after {0} attempts")]
    NoFreePorts(u32),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_err(
    what: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> TestkitError {
    let path = path.into();
    move |source| TestkitError::Io { what, path, source }
}

/// Sends SIGTERM, waits a little, then SIGKILL; reaps the child.
fn stop_child(child: &mut std::process::Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    // std only offers SIGKILL; SIGTERM first lets the helper flush state.
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
