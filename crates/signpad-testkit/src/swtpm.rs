//! A private software TPM 2.0 (`swtpm socket --tpm2`) per test.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{io_err, ports, stop_child, TestkitError, READY_TIMEOUT};

const PROGRAM: &str = "swtpm";
const PACKAGE: &str = "swtpm";
const START_ATTEMPTS: u32 = 8;

/// A running `swtpm` with its own state directory and loopback ports.
///
/// Dropping it stops the process (SIGTERM, then SIGKILL) and removes the
/// state directory. [`Swtpm::restart`] keeps the state (the TPM's seeds and
/// NV memory), as a power cycle of a real chip does.
#[derive(Debug)]
pub struct Swtpm {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Swtpm {
    /// Starts a fresh TPM (new seeds) on a free port pair.
    pub fn start() -> Result<Self, TestkitError> {
        Self::start_with(false)
    }

    /// Starts a fresh TPM manufactured by `swtpm_setup` with endorsement
    /// key certificates in NV (issued by swtpm's local CA), like a chip
    /// from a vendor that ships EK certificates.
    pub fn start_with_ek_certificate() -> Result<Self, TestkitError> {
        Self::start_with(true)
    }

    fn start_with(ek_certificate: bool) -> Result<Self, TestkitError> {
        let dir = tempfile::Builder::new()
            .prefix("signpad-swtpm-")
            .tempdir()
            .map_err(io_err("creating temporary directory", std::env::temp_dir()))?;
        let state = dir.path().join("state");
        std::fs::create_dir(&state).map_err(io_err("creating", state.clone()))?;
        if ek_certificate {
            manufacture(&state)?;
        }
        let mut last = None;
        for attempt in 0..START_ATTEMPTS {
            let port = ports::free_pair(attempt).ok_or(TestkitError::NoFreePorts(64))?;
            match spawn(dir.path(), port) {
                Ok(child) => {
                    return Ok(Self {
                        dir,
                        port,
                        child: Some(child),
                    })
                }
                // Lost the race for the port to someone else: try another.
                Err(e @ TestkitError::ExitedEarly { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(TestkitError::NoFreePorts(START_ATTEMPTS)))
    }

    /// The TCTI string for tss-esapi / tpm2-tools, e.g.
    /// `swtpm:host=127.0.0.1,port=23001`.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// The command port; the control port is the next one.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Absolute path of the TPM's state directory.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// PID of the running swtpm, if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the swtpm process is alive.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Stops the TPM gracefully (SIGTERM); state is kept for [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
    }

    /// Kills the TPM at once (SIGKILL), like pulling the power.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the TPM again on the same port with the same state.
    pub fn restart(&mut self) -> Result<(), TestkitError> {
        self.stop();
        // The port was ours a moment ago; give the kernel a moment if needed.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match spawn(self.dir.path(), self.port) {
                Ok(child) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(e @ TestkitError::ExitedEarly { .. }) if Instant::now() >= deadline => {
                    return Err(e)
                }
                Err(TestkitError::ExitedEarly { .. }) => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `swtpm_setup`: creates EKs and their certificates in `state`.
fn manufacture(state: &Path) -> Result<(), TestkitError> {
    let out = Command::new("swtpm_setup")
        .arg("--tpm2")
        .arg("--tpmstate")
        .arg(state)
        .args([
            "--create-ek-cert",
            "--create-platform-cert",
            "--ecc",
            "--overwrite",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| TestkitError::Spawn {
            program: "swtpm_setup",
            package: "swtpm-tools",
            source,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TestkitError::ExitedEarly {
            program: "swtpm_setup",
            status: out.status.to_string(),
            log: String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout),
        })
    }
}

fn spawn(dir: &Path, port: u16) -> Result<Child, TestkitError> {
    let state = dir.join("state");
    let pid_file = dir.join("swtpm.pid");
    let log = dir.join("swtpm.log");
    let _ = std::fs::remove_file(&pid_file);
    let mut child = Command::new(PROGRAM)
        .arg("socket")
        .arg("--tpm2")
        .arg("--server")
        .arg(format!("type=tcp,bindaddr=127.0.0.1,port={port}"))
        .arg("--ctrl")
        .arg(format!("type=tcp,bindaddr=127.0.0.1,port={}", port + 1))
        .arg("--tpmstate")
        .arg(format!("dir={}", state.display()))
        .arg("--flags")
        .arg("not-need-init,startup-clear")
        .arg("--pid")
        .arg(format!("file={}", pid_file.display()))
        .arg("--log")
        .arg(format!("file={},level=1", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| TestkitError::Spawn {
            program: PROGRAM,
            package: PACKAGE,
            source,
        })?;
    let deadline = Instant::now() + READY_TIMEOUT;
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(TestkitError::ExitedEarly {
                program: PROGRAM,
                status: status.to_string(),
                log: read_log(),
            });
        }
        // swtpm writes its pid file only after both sockets are bound and
        // the TPM is initialised; a failed bind exits without one.
        let pid_ok = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            == Some(child.id());
        if pid_ok && TcpStream::connect(("127.0.0.1", port + 1)).is_ok() {
            return Ok(child);
        }
        if Instant::now() >= deadline {
            stop_child(&mut child);
            return Err(TestkitError::NotReady {
                program: PROGRAM,
                timeout: READY_TIMEOUT,
                log: read_log(),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
