//! `/etc/signpad/keyd.toml`: validated, unknown keys rejected.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::KeydError;

/// Default directory of the key blobs.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/signpad/keys";
/// Default TPM on a pad: the kernel resource manager.
pub const DEFAULT_TCTI: &str = "device:/dev/tpmrm0";

/// Configuration of keyd.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeydConfig {
    /// `device:/dev/tpmrm0` or `swtpm:host=…,port=…`.
    #[serde(default = "default_tcti")]
    pub tcti: String,
    /// Where key blobs and certificates live.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// SHA-256 PCR indices the storage key is sealed to; empty: no PCR policy.
    #[serde(default)]
    pub storage_key_pcrs: Vec<u8>,
    /// D-Bus callers allowed to use keyd (UIDs of signpadd and netd).
    #[serde(default)]
    pub allowed_uids: Vec<u32>,
    /// The only UID that may unseal the storage key (signpadd).
    #[serde(default)]
    pub storage_key_uid: Option<u32>,
    /// PEM file of CA certificates a CA-issued certificate must chain to.
    /// Without it, the chain must end in a self-signed root that verifies.
    #[serde(default)]
    pub trust_anchors: Option<PathBuf>,
    /// Bus to serve on: `system` or a D-Bus address (tests).
    #[serde(default = "default_bus")]
    pub bus: String,
}

fn default_tcti() -> String {
    DEFAULT_TCTI.to_owned()
}
fn default_state_dir() -> PathBuf {
    PathBuf::from(DEFAULT_STATE_DIR)
}
fn default_bus() -> String {
    "system".to_owned()
}

impl KeydConfig {
    /// A configuration for `tcti` with keys in `state_dir`, otherwise defaults.
    pub fn new(tcti: impl Into<String>, state_dir: impl Into<PathBuf>) -> Self {
        Self {
            tcti: tcti.into(),
            state_dir: state_dir.into(),
            storage_key_pcrs: Vec::new(),
            allowed_uids: Vec::new(),
            storage_key_uid: None,
            trust_anchors: None,
            bus: default_bus(),
        }
    }

    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<Self, KeydError> {
        let text = std::fs::read_to_string(path).map_err(|e| KeydError::Config {
            path: path.to_owned(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates TOML text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, KeydError> {
        let config: Self = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| {
                text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1
            });
            KeydError::Config {
                path: path.to_owned(),
                message: match line {
                    Some(l) => format!("line {l}: {}", e.message()),
                    None => e.message().to_owned(),
                },
            }
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), KeydError> {
        let bad = |message: String| KeydError::Config {
            path: path.to_owned(),
            message,
        };
        crate::tpm::parse_tcti(&self.tcti).map_err(|e| bad(e.to_string()))?;
        if !self.state_dir.is_absolute() {
            return Err(bad(format!(
                "state_dir \"{}\" must be an absolute path",
                self.state_dir.display()
            )));
        }
        if let Some(p) = self.storage_key_pcrs.iter().find(|p| **p > 23) {
            return Err(bad(format!(
                "storage_key_pcrs: PCR {p} does not exist (0..=23)"
            )));
        }
        if let Some(uid) = self.storage_key_uid {
            if !self.allowed_uids.contains(&uid) {
                return Err(bad(format!(
                    "storage_key_uid {uid} must also be in allowed_uids"
                )));
            }
        }
        Ok(())
    }
}
