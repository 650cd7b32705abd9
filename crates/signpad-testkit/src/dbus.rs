//! A private `dbus-daemon` per test, standing in for the system bus.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use crate::{io_err, stop_child, TestkitError, READY_TIMEOUT};

const PROGRAM: &str = "dbus-daemon";
const PACKAGE: &str = "dbus";

/// A running private bus. Anyone may connect (any UID, EXTERNAL auth), own
/// any name and send anything: the daemons' own UID checks are what tests
/// exercise. Dropping it stops the process and removes its directory.
#[derive(Debug)]
pub struct DbusDaemon {
    dir: tempfile::TempDir,
    address: String,
    child: Option<Child>,
}

impl DbusDaemon {
    /// Starts a bus listening on a unix socket in a fresh directory.
    pub fn start() -> Result<Self, TestkitError> {
        let dir = tempfile::Builder::new()
            .prefix("signpad-dbus-")
            .tempdir()
            .map_err(io_err("creating temporary directory", std::env::temp_dir()))?;
        // Other UIDs (tests that drop privileges) must reach the socket.
        set_mode(dir.path(), 0o755)?;
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(&config, config_xml(&socket)).map_err(io_err("writing", config.clone()))?;
        let mut child = Command::new(PROGRAM)
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .arg("--nopidfile")
            .arg("--print-address=1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| TestkitError::Spawn {
                program: PROGRAM,
                package: PACKAGE,
                source,
            })?;
        let Some(stdout) = child.stdout.take() else {
            stop_child(&mut child);
            return Err(TestkitError::NotReady {
                program: PROGRAM,
                timeout: READY_TIMEOUT,
                log: "no stdout".into(),
            });
        };
        // dbus-daemon prints its address once it listens.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(READY_TIMEOUT) {
            Ok(line) if !line.trim().is_empty() => Ok(Self {
                dir,
                address: line.trim().to_owned(),
                child: Some(child),
            }),
            Ok(_) => {
                let status = child
                    .wait()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|e| e.to_string());
                Err(TestkitError::ExitedEarly {
                    program: PROGRAM,
                    status,
                    log: String::new(),
                })
            }
            Err(_) => {
                stop_child(&mut child);
                Err(TestkitError::NotReady {
                    program: PROGRAM,
                    timeout: READY_TIMEOUT,
                    log: String::new(),
                })
            }
        }
    }

    /// The bus address, e.g. `unix:path=/tmp/signpad-dbus-XXXX/bus,guid=…`;
    /// pass it to zbus (`connection::Builder::address`) or set
    /// `DBUS_SYSTEM_BUS_ADDRESS` in a child process.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Path of the bus socket.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("bus")
    }

    /// PID of the running dbus-daemon, if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for DbusDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
    }
}

fn config_xml(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>signpad-test</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

fn set_mode(path: &Path, mode: u32) -> Result<(), TestkitError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io_err("setting permissions of", path))
}
