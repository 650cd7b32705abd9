//! Pen samples in physical units, as the input daemon delivers them and as the
//! ISO/IEC 19794-7 record and the ink renderer consume them.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// Range and resolution of one absolute axis of a digitizer, as reported by
/// the kernel (`struct input_absinfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxisInfo {
    pub min: i32,
    pub max: i32,
    /// Units per millimetre for X/Y, units per radian for tilt (kernel
    /// convention); 0 when the device does not say.
    pub resolution: i32,
}

/// What a pen digitizer can report, with the ranges needed to convert raw
/// values into physical units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenCapabilities {
    pub name: String,
    pub vendor: u16,
    pub product: u16,
    pub x: AxisInfo,
    pub y: AxisInfo,
    pub pressure: Option<AxisInfo>,
    pub tilt_x: Option<AxisInfo>,
    pub tilt_y: Option<AxisInfo>,
    pub distance: Option<AxisInfo>,
}

/// Bit flags of a [`PenSample`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, Zeroize)]
pub struct SampleFlags(pub u16);

impl SampleFlags {
    /// The pen tip touches the surface.
    pub const IN_CONTACT: u16 = 1 << 0;
    /// The pen is in proximity (hovering or touching).
    pub const IN_RANGE: u16 = 1 << 1;
    /// First barrel button pressed.
    pub const BUTTON1: u16 = 1 << 2;
    /// Second barrel button pressed.
    pub const BUTTON2: u16 = 1 << 3;
    /// The eraser end is in use.
    pub const ERASER: u16 = 1 << 4;
    /// Events were lost (kernel `SYN_DROPPED`) before this sample; the state
    /// was re-read from the device.
    pub const GAP_BEFORE: u16 = 1 << 5;

    pub const fn contains(self, bit: u16) -> bool {
        self.0 & bit == bit
    }

    pub fn set(&mut self, bit: u16, on: bool) {
        if on {
            self.0 |= bit;
        } else {
            self.0 &= !bit;
        }
    }
}

/// One pen sample in physical units. Biometric data: buffers of samples are
/// zeroized when dropped (e.g. `zeroize::Zeroizing<Vec<PenSample>>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
pub struct PenSample {
    /// Microseconds since the start of the capture (kernel CLOCK_MONOTONIC).
    pub t_us: u64,
    /// X position in 0.01 mm from the digitizer's origin.
    pub x: i32,
    /// Y position in 0.01 mm from the digitizer's origin (downwards).
    pub y: i32,
    /// Pressure normalised to 0..=65535 over the device's raw range.
    pub pressure: u16,
    /// Tilt towards +X in 0.01 degree, when the device reports it.
    pub tilt_x: Option<i16>,
    /// Tilt towards +Y in 0.01 degree, when the device reports it.
    pub tilt_y: Option<i16>,
    pub flags: SampleFlags,
}

impl PenSample {
    /// Size of the fixed-size wire record of [`PenSample::to_record`].
    pub const RECORD_LEN: usize = 28;
    const NO_TILT: i16 = i16::MIN;

    pub fn in_contact(&self) -> bool {
        self.flags.contains(SampleFlags::IN_CONTACT)
    }

    /// Encodes the sample as a fixed-size little-endian record (the format of
    /// the input daemon's sample stream).
    pub fn to_record(&self) -> [u8; Self::RECORD_LEN] {
        let mut out = [0u8; Self::RECORD_LEN];
        out[0..8].copy_from_slice(&self.t_us.to_le_bytes());
        out[8..12].copy_from_slice(&self.x.to_le_bytes());
        out[12..16].copy_from_slice(&self.y.to_le_bytes());
        out[16..18].copy_from_slice(&self.pressure.to_le_bytes());
        out[18..20].copy_from_slice(&self.tilt_x.unwrap_or(Self::NO_TILT).to_le_bytes());
        out[20..22].copy_from_slice(&self.tilt_y.unwrap_or(Self::NO_TILT).to_le_bytes());
        out[22..24].copy_from_slice(&self.flags.0.to_le_bytes());
        // 24..28 reserved, zero.
        out
    }

    /// Decodes a record written by [`PenSample::to_record`].
    pub fn from_record(rec: &[u8; Self::RECORD_LEN]) -> Self {
        let i16_at = |i: usize| i16::from_le_bytes([rec[i], rec[i + 1]]);
        let i32_at = |i: usize| i32::from_le_bytes([rec[i], rec[i + 1], rec[i + 2], rec[i + 3]]);
        let tilt = |v: i16| (v != Self::NO_TILT).then_some(v);
        let mut t = [0u8; 8];
        t.copy_from_slice(&rec[0..8]);
        Self {
            t_us: u64::from_le_bytes(t),
            x: i32_at(8),
            y: i32_at(12),
            pressure: u16::from_le_bytes([rec[16], rec[17]]),
            tilt_x: tilt(i16_at(18)),
            tilt_y: tilt(i16_at(20)),
            flags: SampleFlags(u16::from_le_bytes([rec[22], rec[23]])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroized_sample_holds_no_pen_data() {
        let mut s = PenSample {
            t_us: 7,
            x: 12_345,
            y: 678,
            pressure: 40_000,
            tilt_x: Some(-1_250),
            tilt_y: Some(300),
            flags: SampleFlags(SampleFlags::IN_CONTACT),
        };
        zeroize::Zeroize::zeroize(&mut s);
        assert_eq!((s.t_us, s.x, s.y, s.pressure), (0, 0, 0, 0));
        assert_eq!((s.tilt_x, s.tilt_y, s.flags), (None, None, SampleFlags(0)));
    }

    #[test]
    fn sample_record_round_trips() {
        let s = PenSample {
            t_us: 5_000_123,
            x: 12_345,
            y: -7,
            pressure: 40_000,
            tilt_x: Some(-1_250),
            tilt_y: None,
            flags: SampleFlags(SampleFlags::IN_CONTACT | SampleFlags::GAP_BEFORE),
        };
        assert_eq!(PenSample::from_record(&s.to_record()), s);
    }
}
