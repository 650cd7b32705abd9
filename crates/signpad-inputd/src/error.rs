//! Errors of the input daemon: one variant per thing an operator can act on.

use std::path::PathBuf;

use signpad_ink::InkError;

/// Everything that can go wrong while configuring, opening devices or serving.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The config file cannot be read.
    #[error("config {path}: {source}")]
    ConfigRead {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The config file is malformed or has an unknown key.
    #[error("config {path} line {line}: {message}")]
    Config {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// A config value is out of its valid range.
    #[error("config {path}: {key} = {value}: {expected}")]
    ConfigValue {
        path: PathBuf,
        key: &'static str,
        value: String,
        expected: &'static str,
    },

    /// The daemon may not open a device node.
    #[error(
        "cannot open {path}: permission denied; the node belongs to group {group:?} \
         (mode {mode:o}): run signpad-inputd with that group (SupplementaryGroups={group} \
         in its unit) or install the udev rule that gives the pen to it"
    )]
    Permission {
        path: PathBuf,
        group: String,
        mode: u32,
    },

    /// A device node cannot be opened or queried.
    #[error("device {path}: {source}")]
    Device {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A device's description cannot be turned into samples in real units.
    #[error("device {path}: {source}")]
    Units { path: PathBuf, source: InkError },

    /// A replay file cannot be read.
    #[error("replay file {path}: {source}")]
    ReplayRead {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A replay file is not a valid evemu trace.
    #[error("replay file {path}: {source}")]
    ReplayTrace { path: PathBuf, source: InkError },

    /// Watching `/dev/input` for hot-plug failed.
    #[error("watching {path} for hot-plug: {source}")]
    Watch {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Creating a stream socket failed.
    #[error("creating a sample stream socket: {0}")]
    Socket(std::io::Error),

    /// The D-Bus connection failed.
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
}
