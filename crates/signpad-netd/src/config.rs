//! `/etc/signpad/netd.toml`: strict TOML (unknown keys are refused with the
//! file and line), defaults for every limit, validated before use.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::NetdError;

/// Default path of the config file.
pub const DEFAULT_PATH: &str = "/etc/signpad/netd.toml";

/// The whole configuration of netd.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetdConfig {
    /// Address and port of the mTLS listener (there is no other listener).
    pub listen_address: SocketAddr,
    pub tls: TlsConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub backend: BackendConfig,
}

/// Certificates, CRLs and the server key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM bundle of the CAs whose client certificates are accepted.
    pub client_ca_file: PathBuf,
    /// PEM or DER CRL files, re-read on SIGHUP and on `PUT /v1/crl`.
    #[serde(default)]
    pub crl_files: Vec<PathBuf>,
    /// Where `PUT /v1/crl` stores a CRL pushed by an administrator.
    #[serde(default)]
    pub crl_push_file: Option<PathBuf>,
    /// PEM chain of the server certificate, leaf first. Unset with keyd:
    /// the chain then comes from keyd's `CertificateChain("tls")`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// Development only: a PEM private key file instead of the TPM key.
    #[serde(default)]
    pub dev_key_file: Option<PathBuf>,
    /// Also accept TLS 1.2 (ECDHE + AEAD suites only). Off by default.
    #[serde(default)]
    pub allow_tls12: bool,
    /// Bus of keyd: `"system"` or a D-Bus address (`unix:path=…`).
    #[serde(default = "default_bus")]
    pub keyd_bus: String,
    /// Time allowed for a TLS handshake, in seconds.
    #[serde(default = "default_handshake_timeout")]
    pub handshake_timeout_secs: u64,
}

/// Bounds that keep the pad responsive under abuse (each key optional).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body in bytes (larger → 413).
    pub max_body_bytes: usize,
    /// Time to send a complete request head, in seconds (slower → 408).
    pub header_read_timeout_secs: u64,
    /// Open connections served (more → 503, then refused at TCP level).
    pub max_connections: usize,
    /// Requests per second per client certificate (burst = this × 2; → 429).
    pub requests_per_second: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            header_read_timeout_secs: 10,
            max_connections: 64,
            requests_per_second: 20,
        }
    }
}

impl LimitsConfig {
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs.max(1))
    }
}

/// Where the session daemon is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// Bus of signpadd: `"system"` or a D-Bus address.
    #[serde(default = "default_bus")]
    pub pad_bus: String,
}

impl Default for BackendConfig {
    fn default() -> Self {
        Self {
            pad_bus: default_bus(),
        }
    }
}

fn default_bus() -> String {
    "system".into()
}
fn default_handshake_timeout() -> u64 {
    10
}

impl NetdConfig {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, NetdError> {
        let text = std::fs::read_to_string(path).map_err(crate::error::io_err("config", path))?;
        Self::parse(&text, path)
    }

    /// Parses `text` (named `path` in errors) and validates it.
    pub fn parse(text: &str, path: &Path) -> Result<Self, NetdError> {
        let config: Self = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text.get(..s.start).unwrap_or(text).matches('\n').count() + 1)
                .unwrap_or(0);
            NetdError::Config {
                path: path.to_path_buf(),
                line,
                message: e.message().to_owned(),
            }
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), NetdError> {
        let bad = |message: String| NetdError::ConfigValue {
            path: path.to_path_buf(),
            message,
        };
        let l = &self.limits;
        if l.max_body_bytes == 0 {
            return Err(bad("limits.max_body_bytes must be > 0".into()));
        }
        if l.max_connections == 0 {
            return Err(bad("limits.max_connections must be > 0".into()));
        }
        if l.requests_per_second == 0 {
            return Err(bad("limits.requests_per_second must be > 0".into()));
        }
        if self.tls.dev_key_file.is_some() && self.tls.cert_file.is_none() {
            return Err(bad(
                "tls.dev_key_file needs tls.cert_file (the chain of that key)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const GOOD: &str = r#"listen_address = "0.0.0.0:8443"

[tls]
client_ca_file = "/etc/signpad/clients-ca.pem"
crl_files = ["/etc/signpad/clients.crl"]
"#;

    #[test]
    fn minimal_config_gets_safe_defaults() {
        let c = NetdConfig::parse(GOOD, Path::new("/etc/signpad/netd.toml")).unwrap();
        assert!(!c.tls.allow_tls12);
        assert!(c.tls.dev_key_file.is_none());
        assert_eq!(c.tls.keyd_bus, "system");
        assert_eq!(c.limits.max_connections, 64);
        assert_eq!(c.backend.pad_bus, "system");
    }

    #[test]
    fn unknown_key_is_refused_with_file_and_line() {
        let text = GOOD.replace("crl_files", "crl_file");
        let e = NetdConfig::parse(&text, Path::new("/etc/signpad/netd.toml")).unwrap_err();
        let m = e.to_string();
        assert!(
            m.starts_with("config /etc/signpad/netd.toml line 5:"),
            "{m}"
        );
        assert!(m.contains("crl_file"), "{m}");
    }

    #[test]
    fn dev_key_without_certificate_is_refused() {
        let text = format!("{GOOD}dev_key_file = \"/tmp/k.pem\"\n");
        let e = NetdConfig::parse(&text, Path::new("netd.toml")).unwrap_err();
        assert!(e.to_string().contains("tls.cert_file"), "{e}");
    }

    #[test]
    fn zero_limits_are_refused() {
        let text = format!("{GOOD}[limits]\nmax_body_bytes = 0\nheader_read_timeout_secs = 1\nmax_connections = 1\nrequests_per_second = 1\n");
        let e = NetdConfig::parse(&text, Path::new("netd.toml")).unwrap_err();
        assert!(e.to_string().contains("max_body_bytes"), "{e}");
    }
}
