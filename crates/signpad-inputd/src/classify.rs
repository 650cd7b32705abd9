//! Which input devices are pen digitizers, decided from their capability
//! description alone (the same [`DeviceDescription`] a trace carries), so the
//! rules are tested on evemu descriptions.
//!
//! Rules, in order:
//! 1. no `ABS_X`+`ABS_Y` → keyboard (if it has letter keys) or other;
//! 2. `BTN_TOOL_PEN` → pen (pen halves of combined pen+touch panels);
//! 3. any `ABS_MT_*` axis → touchscreen / multi-touch pad (left alone);
//! 4. `BTN_TOOL_FINGER` (touchpads) → other;
//! 5. `ABS_PRESSURE` → pen;
//! 6. anything else with X/Y (single-touch screens, tablets of unknown kind)
//!    → touchscreen when it has `BTN_TOUCH`, other otherwise.
//!
//! A device named in the config ([`DeviceSelector`]) is taken whatever its
//! class, as long as it reports X and Y.

use std::path::{Path, PathBuf};

use signpad_ink::event::{abs, ev, key};
use signpad_ink::DeviceDescription;

/// What kind of input device a description is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceClass {
    /// A pen digitizer: the daemon grabs it.
    Pen,
    /// A touchscreen: left to the UI (libinput).
    Touchscreen,
    /// A keyboard: left alone.
    Keyboard,
    /// Mice, touchpads, buttons, sensors: left alone.
    Other,
}

/// First multi-touch axis code (`ABS_MT_SLOT`).
const ABS_MT_FIRST: u16 = 0x2f;
/// Last multi-touch axis code (`ABS_MT_TOOL_Y`).
const ABS_MT_LAST: u16 = 0x3d;
/// `BTN_TOOL_FINGER`.
const BTN_TOOL_FINGER: u16 = 0x145;
/// `KEY_Q` .. `KEY_P`: a keyboard has letter keys.
const KEY_Q: u16 = 16;
const KEY_P: u16 = 25;

/// Classifies a device by its capabilities.
pub fn classify(desc: &DeviceDescription) -> DeviceClass {
    if !(desc.has_abs(abs::X) && desc.has_abs(abs::Y)) {
        let letters = (KEY_Q..=KEY_P).filter(|&k| desc.has_key(k)).count();
        return if letters >= 8 {
            DeviceClass::Keyboard
        } else {
            DeviceClass::Other
        };
    }
    if desc.has_key(key::BTN_TOOL_PEN) {
        return DeviceClass::Pen;
    }
    let multitouch = desc
        .codes
        .get(&ev::ABS)
        .is_some_and(|c| c.range(ABS_MT_FIRST..=ABS_MT_LAST).next().is_some());
    if multitouch {
        return DeviceClass::Touchscreen;
    }
    if desc.has_key(BTN_TOOL_FINGER) {
        return DeviceClass::Other;
    }
    if desc.has_abs(abs::PRESSURE) {
        return DeviceClass::Pen;
    }
    if desc.has_key(key::BTN_TOUCH) {
        DeviceClass::Touchscreen
    } else {
        DeviceClass::Other
    }
}

/// A device named in the config: every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSelector {
    /// Exact device name (`N:` / `EVIOCGNAME`).
    pub name: Option<String>,
    /// USB/Bluetooth vendor id.
    pub vendor: Option<u16>,
    /// Product id.
    pub product: Option<u16>,
    /// Device node or a udev symlink to it
    /// (`/dev/input/by-path/…-event-stylus`).
    pub path: Option<PathBuf>,
}

impl DeviceSelector {
    /// No field given: discovery by class.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.vendor.is_none()
            && self.product.is_none()
            && self.path.is_none()
    }

    /// Whether the device at `path` with `desc` is the one named.
    pub fn matches(&self, path: &Path, desc: &DeviceDescription) -> bool {
        self.name.as_ref().is_none_or(|n| *n == desc.name)
            && self.vendor.is_none_or(|v| v == desc.vendor)
            && self.product.is_none_or(|p| p == desc.product)
            && self.path.as_ref().is_none_or(|p| same_node(p, path))
    }

    /// Whether a device is to be captured: the named one, or any pen when
    /// nothing is named. Devices without X/Y are never captured.
    pub fn selects(&self, path: &Path, desc: &DeviceDescription) -> bool {
        if !(desc.has_abs(abs::X) && desc.has_abs(abs::Y)) {
            return false;
        }
        if self.is_empty() {
            classify(desc) == DeviceClass::Pen
        } else {
            self.matches(path, desc)
        }
    }
}

/// The pen tools and buttons a device reports, by kernel name.
pub fn pen_buttons(desc: &DeviceDescription) -> Vec<String> {
    [
        key::BTN_TOOL_PEN,
        key::BTN_TOOL_RUBBER,
        key::BTN_TOUCH,
        key::BTN_STYLUS,
        key::BTN_STYLUS2,
    ]
    .into_iter()
    .filter(|&k| desc.has_key(k))
    .map(|k| signpad_ink::event::code_name(ev::KEY, k).to_owned())
    .collect()
}

fn same_node(configured: &Path, actual: &Path) -> bool {
    if configured == actual {
        return true;
    }
    match (
        std::fs::canonicalize(configured),
        std::fs::canonicalize(actual),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signpad_ink::AbsAxis;

    fn xy() -> DeviceDescription {
        let mut d = DeviceDescription {
            name: "dev".into(),
            vendor: 0x056a,
            product: 0x0357,
            ..Default::default()
        };
        d.add_abs(abs::X, AbsAxis::new(0, 1000, 10));
        d.add_abs(abs::Y, AbsAxis::new(0, 1000, 10));
        d
    }

    #[test]
    fn pressure_without_tool_pen_is_a_pen() {
        let mut d = xy();
        d.add_abs(abs::PRESSURE, AbsAxis::new(0, 1023, 0));
        assert_eq!(classify(&d), DeviceClass::Pen);
    }

    #[test]
    fn multitouch_with_pressure_is_a_touchscreen() {
        let mut d = xy();
        d.add_code(ev::KEY, key::BTN_TOUCH);
        d.add_abs(abs::PRESSURE, AbsAxis::new(0, 255, 0));
        d.add_abs(0x35, AbsAxis::new(0, 1000, 10));
        assert_eq!(classify(&d), DeviceClass::Touchscreen);
    }

    #[test]
    fn touchpad_and_keyboard_are_left_alone() {
        let mut pad = xy();
        pad.add_code(ev::KEY, BTN_TOOL_FINGER);
        pad.add_abs(abs::PRESSURE, AbsAxis::new(0, 255, 0));
        assert_eq!(classify(&pad), DeviceClass::Other);
        let mut kbd = DeviceDescription::default();
        for k in 1..=100 {
            kbd.add_code(ev::KEY, k);
        }
        assert_eq!(classify(&kbd), DeviceClass::Keyboard);
    }

    #[test]
    fn selector_overrides_class_but_needs_xy() {
        let d = xy();
        let sel = DeviceSelector {
            vendor: Some(0x056a),
            ..Default::default()
        };
        assert!(sel.selects(Path::new("/dev/input/event3"), &d));
        let other = DeviceSelector {
            vendor: Some(0x1234),
            ..Default::default()
        };
        assert!(!other.selects(Path::new("/dev/input/event3"), &d));
        assert!(!DeviceSelector::default().selects(Path::new("/dev/input/event3"), &d));
        assert!(!sel.selects(Path::new("/x"), &DeviceDescription::default()));
    }
}
