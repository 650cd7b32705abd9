//! `/etc/signpad/inputd.toml`: which device, who may read samples, unit
//! overrides, buffer sizes, and a replay file for development.
//!
//! Unknown keys are rejected with the file and the line; every key has a
//! default, so an empty file is valid (discover any pen, nobody may stream).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::classify::DeviceSelector;
use crate::error::InputError;
use crate::replay::Pace;

/// Default location of the config file.
pub const DEFAULT_PATH: &str = "/etc/signpad/inputd.toml";

/// The whole config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputdConfig {
    /// A specific device to capture; empty = any pen digitizer.
    pub device: DeviceSelector,
    pub access: AccessConfig,
    pub resolution: ResolutionOverrides,
    pub stream: StreamConfig,
    pub discovery: DiscoveryConfig,
    /// Replay a recorded trace instead of reading devices (development, demo).
    pub replay: Option<ReplayConfig>,
}

/// Who may open a sample stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessConfig {
    /// UIDs allowed to call `OpenStream` (typically signpadd's user).
    pub allowed_uids: Vec<u32>,
}

/// Resolutions for devices whose absinfo reports 0 (unknown). Used only for
/// axes that report no resolution of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResolutionOverrides {
    /// ABS_X units per millimetre.
    pub x_units_per_mm: Option<i32>,
    /// ABS_Y units per millimetre.
    pub y_units_per_mm: Option<i32>,
    /// ABS_TILT_X/Y units per radian (kernel convention).
    pub tilt_units_per_radian: Option<i32>,
}

/// Per-consumer buffering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// Samples buffered per consumer before samples are dropped (and the
    /// next one marked with the count).
    pub buffer_samples: usize,
    /// Streams open at once.
    pub max_streams: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            buffer_samples: 4096,
            max_streams: 8,
        }
    }
}

/// Where devices are found.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoveryConfig {
    /// Directory of the evdev nodes, watched for hot-plug.
    pub input_dir: PathBuf,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            input_dir: PathBuf::from("/dev/input"),
        }
    }
}

/// Replay of a recorded evemu trace in place of a device.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayConfig {
    pub file: PathBuf,
    #[serde(default)]
    pub pace: Pace,
    /// Start replaying only once the first stream is open (default true),
    /// so a consumer sees the trace from its start.
    #[serde(default = "yes")]
    pub wait_for_stream: bool,
}

fn yes() -> bool {
    true
}

impl InputdConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, InputError> {
        let text = std::fs::read_to_string(path).map_err(|source| InputError::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates config text; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, InputError> {
        let config: Self = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                1 + text.get(..s.start).unwrap_or("").matches('\n').count()
            });
            InputError::Config {
                path: path.to_owned(),
                line,
                message: e.message().trim_end().to_owned(),
            }
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), InputError> {
        let bad = |key, value: String, expected| InputError::ConfigValue {
            path: path.to_owned(),
            key,
            value,
            expected,
        };
        if !(16..=1_000_000).contains(&self.stream.buffer_samples) {
            return Err(bad(
                "stream.buffer_samples",
                self.stream.buffer_samples.to_string(),
                "expected 16..=1000000 samples",
            ));
        }
        if !(1..=64).contains(&self.stream.max_streams) {
            return Err(bad(
                "stream.max_streams",
                self.stream.max_streams.to_string(),
                "expected 1..=64",
            ));
        }
        for (key, v) in [
            ("resolution.x_units_per_mm", self.resolution.x_units_per_mm),
            ("resolution.y_units_per_mm", self.resolution.y_units_per_mm),
            (
                "resolution.tilt_units_per_radian",
                self.resolution.tilt_units_per_radian,
            ),
        ] {
            if let Some(v) = v.filter(|&v| v <= 0) {
                return Err(bad(key, v.to_string(), "expected a positive resolution"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = InputdConfig::parse("", Path::new("t.toml")).ok();
        assert_eq!(c, Some(InputdConfig::default()));
    }

    #[test]
    fn full_file_parses() {
        let text = r#"
[device]
name = "Wacom Pen"
vendor = 0x056a
product = 0x0357

[access]
allowed_uids = [0, 991]

[resolution]
x_units_per_mm = 40

[stream]
buffer_samples = 256

[replay]
file = "/usr/share/signpad/demo.evemu"
pace = "fast"
"#;
        let c = InputdConfig::parse(text, Path::new("t.toml"));
        let Ok(c) = c else {
            unreachable!("{c:?}");
        };
        assert_eq!(c.device.vendor, Some(0x056a));
        assert_eq!(c.access.allowed_uids, vec![0, 991]);
        assert_eq!(c.resolution.x_units_per_mm, Some(40));
        assert_eq!(c.stream.buffer_samples, 256);
        assert_eq!(c.stream.max_streams, 8);
        assert_eq!(
            c.replay.map(|r| (r.pace, r.wait_for_stream)),
            Some((Pace::Fast, true))
        );
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let text = "[access]\nallowed_uids = [1]\n\n[stream]\nbufer_samples = 10\n";
        let e = InputdConfig::parse(text, Path::new("/etc/signpad/inputd.toml"));
        let Err(InputError::Config { line, message, .. }) = &e else {
            unreachable!("{e:?}");
        };
        assert_eq!(*line, 5);
        assert!(message.contains("bufer_samples"), "{message}");
        let shown = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            shown.starts_with("config /etc/signpad/inputd.toml line 5:"),
            "{shown}"
        );
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let e = InputdConfig::parse("[stream]\nbuffer_samples = 1\n", Path::new("t"));
        assert!(matches!(
            e,
            Err(InputError::ConfigValue {
                key: "stream.buffer_samples",
                ..
            })
        ));
        let e = InputdConfig::parse("[resolution]\ny_units_per_mm = 0\n", Path::new("t"));
        assert!(matches!(
            e,
            Err(InputError::ConfigValue {
                key: "resolution.y_units_per_mm",
                ..
            })
        ));
    }
}
