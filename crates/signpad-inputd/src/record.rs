//! The sample stream's wire record: [`PenSample::to_record`] (28 bytes,
//! little-endian) plus two stream markers this daemon adds in flag bits the
//! shared type leaves free, and a drop counter in the reserved bytes.
//!
//! | bytes  | field                                                     |
//! |--------|-----------------------------------------------------------|
//! | 0..8   | `t_us` u64, µs since the pen was activated (monotonic)    |
//! | 8..12  | `x` i32, 0.01 mm                                          |
//! | 12..16 | `y` i32, 0.01 mm                                          |
//! | 16..18 | `pressure` u16, 0..=65535 over the raw range              |
//! | 18..20 | `tilt_x` i16, 0.01°, `i16::MIN` = not reported            |
//! | 20..22 | `tilt_y` i16, 0.01°, `i16::MIN` = not reported            |
//! | 22..24 | `flags` u16 ([`SampleFlags`] + [`DEVICE_LOST`], [`OVERFLOW_BEFORE`]) |
//! | 24..28 | u32: samples dropped for this consumer just before this one |

use signpad_types::{PenSample, SampleFlags};

/// Length of one record on the stream.
pub const RECORD_LEN: usize = PenSample::RECORD_LEN;

/// One encoded record.
pub type Record = [u8; RECORD_LEN];

/// The pen device went away (unplugged, driver unbound, read error): the
/// stroke in progress, if any, ends here. Position is the last known one,
/// contact and range flags are clear.
pub const DEVICE_LOST: u16 = 1 << 14;

/// This consumer's buffer was full and samples were dropped just before this
/// record; bytes 24..28 say how many.
pub const OVERFLOW_BEFORE: u16 = 1 << 15;

/// Encodes a sample for the stream.
pub fn encode(sample: &PenSample) -> Record {
    sample.to_record()
}

/// Marks an encoded record as following `dropped` lost samples.
pub fn mark_overflow(record: &mut Record, dropped: u32) {
    let flags = u16::from_le_bytes([record[22], record[23]]) | OVERFLOW_BEFORE;
    record[22..24].copy_from_slice(&flags.to_le_bytes());
    record[24..28].copy_from_slice(&dropped.to_le_bytes());
}

/// Decodes a record: the sample and the number of samples dropped before it.
pub fn decode(record: &Record) -> (PenSample, u32) {
    let dropped = u32::from_le_bytes([record[24], record[25], record[26], record[27]]);
    (PenSample::from_record(record), dropped)
}

/// The marker that ends a stroke when the device vanishes: the last known
/// position and time, out of range, no contact.
pub fn device_lost(last: Option<&PenSample>) -> PenSample {
    let mut flags = SampleFlags(DEVICE_LOST);
    if let Some(s) = last {
        flags.set(SampleFlags::ERASER, s.flags.contains(SampleFlags::ERASER));
    }
    PenSample {
        t_us: last.map_or(0, |s| s.t_us),
        x: last.map_or(0, |s| s.x),
        y: last.map_or(0, |s| s.y),
        pressure: 0,
        tilt_x: last.and_then(|s| s.tilt_x),
        tilt_y: last.and_then(|s| s.tilt_y),
        flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_mark_round_trips_with_count() {
        let s = PenSample {
            t_us: 7,
            x: 1,
            y: 2,
            pressure: 3,
            tilt_x: None,
            tilt_y: Some(-5),
            flags: SampleFlags(SampleFlags::IN_CONTACT),
        };
        let mut r = encode(&s);
        mark_overflow(&mut r, 41);
        let (d, dropped) = decode(&r);
        assert_eq!(dropped, 41);
        assert!(d.flags.contains(OVERFLOW_BEFORE));
        assert!(d.flags.contains(SampleFlags::IN_CONTACT));
        assert_eq!(d.tilt_y, Some(-5));
    }

    #[test]
    fn device_lost_marker_ends_contact_at_last_position() {
        let s = PenSample {
            t_us: 900,
            x: 100,
            y: 200,
            pressure: 30_000,
            tilt_x: Some(10),
            tilt_y: Some(20),
            flags: SampleFlags(SampleFlags::IN_CONTACT | SampleFlags::IN_RANGE),
        };
        let m = device_lost(Some(&s));
        assert!(m.flags.contains(DEVICE_LOST));
        assert!(!m.in_contact());
        assert!(!m.flags.contains(SampleFlags::IN_RANGE));
        assert_eq!((m.t_us, m.x, m.y, m.pressure), (900, 100, 200, 0));
    }
}
