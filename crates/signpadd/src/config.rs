//! `/etc/signpad/signpadd.toml`: validated, unknown keys rejected with the
//! file, the line and the closest known key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::auth::lockout::LockoutPolicy;
use crate::policy::{ClassPolicy, Factor, Policy};
use crate::session::Timeouts;

/// Default location.
pub const DEFAULT_PATH: &str = "/etc/signpad/signpadd.toml";

/// A config error naming file, line and fix.
#[derive(Debug, thiserror::Error)]
#[error("config {path}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Serial recorded in ceremony records.
    pub pad_serial: String,
    /// Encrypted state and the audit log live here.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// `system` or a D-Bus address (tests).
    #[serde(default = "default_bus")]
    pub bus: String,
    /// PEM certificate the biometric envelope is encrypted to.
    pub escrow_certificate: PathBuf,
    /// Training mode: packages are marked non-binding.
    #[serde(default)]
    pub training: bool,
    #[serde(default)]
    pub access: AccessConfig,
    #[serde(default)]
    pub queue: QueueConfig,
    #[serde(default)]
    pub timeouts: TimeoutConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub auth: AuthConfig,
    /// Document classes: `[policy.<class>] factors = [...]`.
    #[serde(default = "default_policy")]
    pub policy: BTreeMap<String, ClassPolicy>,
    #[serde(default)]
    pub retention: RetentionConfig,
    #[serde(default)]
    pub audit: AuditConfig,
}

/// Who may call what on `org.signpad.Pad1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessConfig {
    /// Hosts' side (netd): create, cancel, fetch packages.
    pub host_uids: Vec<u32>,
    /// The pad UI: drive the active session.
    pub ui_uids: Vec<u32>,
    /// Administration: enrolment, unlock.
    pub admin_uids: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    pub max_queued: usize,
}
impl Default for QueueConfig {
    fn default() -> Self {
        Self { max_queued: 4 }
    }
}

/// Seconds allowed in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutConfig {
    pub queued: u64,
    pub reviewing: u64,
    pub authenticating: u64,
    pub signing: u64,
    pub confirming: u64,
    pub sealing: u64,
}
impl Default for TimeoutConfig {
    fn default() -> Self {
        let t = Timeouts::default();
        Self {
            queued: t.queued.as_secs(),
            reviewing: t.reviewing.as_secs(),
            authenticating: t.authenticating.as_secs(),
            signing: t.signing.as_secs(),
            confirming: t.confirming.as_secs(),
            sealing: t.sealing.as_secs(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_pages: usize,
    pub max_page_bytes: usize,
    pub max_total_bytes: usize,
    pub max_title_chars: usize,
}
impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_pages: 64,
            max_page_bytes: 4 * 1024 * 1024,
            max_total_bytes: 32 * 1024 * 1024,
            max_title_chars: 200,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Factors every session requires, whatever the class or request.
    pub minimum: Vec<Factor>,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    pub signer_lockout_after: u32,
    pub pad_lockout_after: u32,
    pub pad_lockout_secs: u64,
    pub dynamics_threshold: f64,
    pub fingerprint_reader: bool,
    pub fingerprint_timeout_secs: u64,
}
impl Eq for AuthConfig {}
impl Default for AuthConfig {
    fn default() -> Self {
        let l = LockoutPolicy::default();
        Self {
            minimum: Vec::new(),
            backoff_base_ms: u64::try_from(l.backoff_base.as_millis()).unwrap_or(1000),
            backoff_max_ms: u64::try_from(l.backoff_max.as_millis()).unwrap_or(300_000),
            signer_lockout_after: l.signer_lockout_after,
            pad_lockout_after: l.pad_lockout_after,
            pad_lockout_secs: l.pad_lockout.as_secs(),
            dynamics_threshold: crate::auth::dynamics::DEFAULT_THRESHOLD,
            fingerprint_reader: false,
            fingerprint_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Completed packages not fetched are deleted after this many seconds.
    pub package_secs: u64,
}
impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            package_secs: 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    pub checkpoint_every_records: u64,
    pub checkpoint_every_secs: u64,
}
impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_every_records: 100,
            checkpoint_every_secs: 900,
        }
    }
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/signpad/signpadd")
}
fn default_bus() -> String {
    "system".to_owned()
}
fn default_policy() -> BTreeMap<String, ClassPolicy> {
    [("default".to_owned(), ClassPolicy::default())].into()
}

/// Every key the file may hold (for "did you mean").
const KNOWN_KEYS: &[&str] = &[
    "pad_serial",
    "state_dir",
    "bus",
    "escrow_certificate",
    "training",
    "access",
    "queue",
    "timeouts",
    "limits",
    "auth",
    "policy",
    "retention",
    "audit",
    "host_uids",
    "ui_uids",
    "admin_uids",
    "max_queued",
    "queued",
    "reviewing",
    "authenticating",
    "signing",
    "confirming",
    "sealing",
    "max_pages",
    "max_page_bytes",
    "max_total_bytes",
    "max_title_chars",
    "minimum",
    "backoff_base_ms",
    "backoff_max_ms",
    "signer_lockout_after",
    "pad_lockout_after",
    "pad_lockout_secs",
    "dynamics_threshold",
    "fingerprint_reader",
    "fingerprint_timeout_secs",
    "factors",
    "package_secs",
    "checkpoint_every_records",
    "checkpoint_every_secs",
];

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn hint(message: &str) -> String {
    // toml/serde say: unknown field `x`, expected one of ...
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_owned();
    };
    let Some(name) = rest.split('`').next() else {
        return message.to_owned();
    };
    let best = KNOWN_KEYS
        .iter()
        .map(|k| (distance(name, k), *k))
        .min()
        .filter(|(d, _)| *d <= 3);
    match best {
        Some((_, k)) => format!("unknown key \"{name}\" (did you mean \"{k}\"?)"),
        None => format!("unknown key \"{name}\""),
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_owned(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError {
            path: path.to_owned(),
            line: e
                .span()
                .map(|s| 1 + text.get(..s.start).unwrap_or("").matches('\n').count()),
            message: hint(e.message().trim_end()),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |message: String| ConfigError {
            path: path.to_owned(),
            line: None,
            message,
        };
        signpad_types::PadSerial::new(&self.pad_serial)
            .map_err(|e| bad(format!("pad_serial: {e}")))?;
        if !self.state_dir.is_absolute() {
            return Err(bad(format!(
                "state_dir \"{}\" must be an absolute path",
                self.state_dir.display()
            )));
        }
        if !self.policy.contains_key("default") {
            return Err(bad("policy: a [policy.default] class is required".into()));
        }
        if self.queue.max_queued > 64 {
            return Err(bad("queue.max_queued: at most 64".into()));
        }
        let t = &self.timeouts;
        for (key, v) in [
            ("queued", t.queued),
            ("reviewing", t.reviewing),
            ("authenticating", t.authenticating),
            ("signing", t.signing),
            ("confirming", t.confirming),
            ("sealing", t.sealing),
        ] {
            if v == 0 {
                return Err(bad(format!("timeouts.{key}: must be at least 1 second")));
            }
        }
        if self.auth.signer_lockout_after == 0 || self.auth.pad_lockout_after == 0 {
            return Err(bad("auth: lockout thresholds must be at least 1".into()));
        }
        if !self.auth.dynamics_threshold.is_finite() || self.auth.dynamics_threshold <= 0.0 {
            return Err(bad("auth.dynamics_threshold: must be positive".into()));
        }
        if self.auth.minimum.contains(&Factor::Fingerprint) && !self.auth.fingerprint_reader {
            return Err(bad(
                "auth.minimum requires fingerprint but auth.fingerprint_reader is false".into(),
            ));
        }
        Ok(())
    }

    pub fn timeouts(&self) -> Timeouts {
        let s = Duration::from_secs;
        let t = &self.timeouts;
        Timeouts {
            queued: s(t.queued),
            reviewing: s(t.reviewing),
            authenticating: s(t.authenticating),
            signing: s(t.signing),
            confirming: s(t.confirming),
            sealing: s(t.sealing),
        }
    }

    pub fn lockout(&self) -> LockoutPolicy {
        LockoutPolicy {
            backoff_base: Duration::from_millis(self.auth.backoff_base_ms),
            backoff_max: Duration::from_millis(self.auth.backoff_max_ms),
            signer_lockout_after: self.auth.signer_lockout_after,
            pad_lockout_after: self.auth.pad_lockout_after,
            pad_lockout: Duration::from_secs(self.auth.pad_lockout_secs),
        }
    }

    pub fn policy(&self) -> Policy {
        Policy {
            minimum: self.auth.minimum.iter().copied().collect(),
            classes: self.policy.clone(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
pad_serial = "SP-0001"
state_dir = "/var/lib/signpad/signpadd"
escrow_certificate = "/etc/signpad/escrow.pem"

[access]
host_uids = [981]
ui_uids = [982]

[auth]
minimum = ["pin"]

[policy.default]
[policy.loan]
factors = ["totp"]
"#;

    #[test]
    fn a_good_file_parses() {
        let c = Config::parse(GOOD, Path::new("signpadd.toml")).unwrap();
        assert_eq!(c.policy().minimum, [Factor::Pin].into());
        assert_eq!(c.policy["loan"].factors, vec![Factor::Totp]);
        assert_eq!(c.timeouts(), Timeouts::default());
    }

    #[test]
    fn an_unknown_key_names_file_line_and_fix() {
        let text = GOOD.replace("ui_uids", "ui_uid");
        let e = Config::parse(&text, Path::new("/etc/signpad/signpadd.toml")).unwrap_err();
        let msg = e.to_string();
        assert_eq!(e.line, Some(8), "{msg}");
        assert!(msg.starts_with("config /etc/signpad/signpadd.toml line 8: unknown key \"ui_uid\" (did you mean \"ui_uids\"?)"), "{msg}");
    }

    #[test]
    fn an_unknown_factor_is_refused() {
        let text = GOOD.replace("[\"pin\"]", "[\"retina\"]");
        let e = Config::parse(&text, Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("retina"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let text = GOOD.replace("[auth]", "[timeouts]\nsigning = 0\n[auth]");
        let e = Config::parse(&text, Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("timeouts.signing"), "{e}");
        let text = GOOD.replace("[policy.default]\n", "");
        assert!(Config::parse(&text, Path::new("c.toml")).is_err());
    }
}
