//! From evdev events to pen samples in physical units.
//!
//! [`Capture`] is the state machine the input daemon runs on a live device and
//! the replay runs on a trace: it accumulates the values of one evdev frame
//! and emits a [`PenSample`] at each `SYN_REPORT` that changed the pen state,
//! converting with the device's absinfo:
//!
//! - X/Y: `(raw - min) / resolution` (units per mm) → 0.01 mm;
//! - pressure: `(raw - min) / (max - min)` → 0..=65535 (the raw range stays in
//!   the [`PenCapabilities`]); a device without a pressure axis reports 65535
//!   while touching;
//! - tilt: kernel resolution is units per radian → 0.01 degree; resolution 0
//!   is taken as degrees and reported as a [`CaptureWarning`];
//! - time: microseconds since the first event seen, never decreasing.
//!
//! On `SYN_DROPPED` the events up to and including the next `SYN_REPORT` are
//! discarded, the gap is counted, and the next sample carries
//! [`SampleFlags::GAP_BEFORE`]. A live reader re-reads the device state and
//! hands it to [`Capture::resync`]; a replay simply resumes with the events
//! that follow.
//!
//! Samples are emitted only once X and Y have been seen, and only while the
//! tool is in range (`BTN_TOOL_PEN`, `BTN_TOOL_RUBBER` or `BTN_TOUCH` held),
//! plus one sample for the frame in which it leaves. That last sample keeps
//! the previous position and tilt: drivers such as wacom reset the axes to 0
//! in the proximity-out frame, which is not a place the pen has been. `ABS_DISTANCE` and
//! `EV_MSC` are accepted and not represented in samples.

use std::f64::consts::PI;
use std::fmt;

use signpad_types::{AxisInfo, PenCapabilities, PenSample, SampleFlags};

use crate::error::InkError;
use crate::evemu::Trace;
use crate::event::{abs, ev, key, syn, Event};

/// Something in the device description that the conversion had to assume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureWarning {
    /// A tilt axis reports resolution 0 (or negative): values are taken as
    /// whole degrees.
    TiltResolutionUnknown { axis: &'static str },
}

impl fmt::Display for CaptureWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TiltResolutionUnknown { axis } => write!(
                f,
                "{axis} reports no resolution (units per radian); its values are taken as degrees"
            ),
        }
    }
}

/// Raw values of the current frame.
#[derive(Debug, Clone, Copy, Default)]
struct RawState {
    x: Option<i32>,
    y: Option<i32>,
    pressure: i32,
    tilt_x: i32,
    tilt_y: i32,
    touch: bool,
    tool_pen: bool,
    tool_rubber: bool,
    stylus: bool,
    stylus2: bool,
}

impl RawState {
    fn in_range(&self) -> bool {
        self.tool_pen || self.tool_rubber || self.touch
    }
}

/// Whether the events up to the next `SYN_REPORT` are being discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncState {
    InSync,
    /// After `SYN_DROPPED`, until the next `SYN_REPORT`.
    Dropping,
}

/// The evdev → [`PenSample`] state machine. Feed it every event in order.
#[derive(Debug, Clone)]
pub struct Capture {
    caps: PenCapabilities,
    raw: RawState,
    frame_changed: bool,
    sync: SyncState,
    gap_pending: bool,
    gaps: u32,
    first_time_us: Option<u64>,
    last_t_us: u64,
    last_sample: Option<PenSample>,
    warnings: Vec<CaptureWarning>,
}

impl Capture {
    /// Checks the capabilities and prepares the conversion.
    ///
    /// X and Y need a non-empty range and a resolution in units per mm;
    /// pressure, when present, a non-empty range.
    pub fn new(caps: PenCapabilities) -> Result<Self, InkError> {
        check_range("ABS_X", &caps.x)?;
        check_range("ABS_Y", &caps.y)?;
        for (axis, code, info) in [("ABS_X", abs::X, &caps.x), ("ABS_Y", abs::Y, &caps.y)] {
            if info.resolution <= 0 {
                return Err(InkError::UnknownResolution {
                    axis,
                    code,
                    resolution: info.resolution,
                });
            }
        }
        if let Some(p) = &caps.pressure {
            check_range("ABS_PRESSURE", p)?;
        }
        let mut warnings = Vec::new();
        for (axis, info) in [("ABS_TILT_X", &caps.tilt_x), ("ABS_TILT_Y", &caps.tilt_y)] {
            if info.is_some_and(|i| i.resolution <= 0) {
                warnings.push(CaptureWarning::TiltResolutionUnknown { axis });
            }
        }
        Ok(Self {
            caps,
            raw: RawState::default(),
            frame_changed: false,
            sync: SyncState::InSync,
            gap_pending: false,
            gaps: 0,
            first_time_us: None,
            last_t_us: 0,
            last_sample: None,
            warnings,
        })
    }

    pub fn capabilities(&self) -> &PenCapabilities {
        &self.caps
    }

    /// Number of `SYN_DROPPED` gaps seen so far.
    pub fn gaps(&self) -> u32 {
        self.gaps
    }

    /// Assumptions made about the device (each reported once).
    pub fn warnings(&self) -> &[CaptureWarning] {
        &self.warnings
    }

    /// Processes one event; returns a sample when it completes a frame that
    /// changed the pen state.
    pub fn push(&mut self, event: Event) -> Option<PenSample> {
        let first = *self.first_time_us.get_or_insert(event.time_us);
        if self.sync == SyncState::Dropping {
            if event.ev_type == ev::SYN && event.code == syn::REPORT {
                self.sync = SyncState::InSync;
                self.gap_pending = true;
                self.frame_changed = false;
            }
            return None;
        }
        match (event.ev_type, event.code) {
            (ev::SYN, syn::REPORT) => {
                // Kernel clocks are monotonic; keep replayed time monotonic too.
                let t = event.time_us.saturating_sub(first).max(self.last_t_us);
                self.last_t_us = t;
                return self.finish_frame(t);
            }
            (ev::SYN, syn::DROPPED) => {
                self.sync = SyncState::Dropping;
                self.gaps = self.gaps.saturating_add(1);
                self.frame_changed = false;
                return None;
            }
            (ev::ABS, code) => self.abs(code, event.value),
            (ev::KEY, code) => self.key(code, event.value != 0),
            _ => {}
        }
        None
    }

    /// Replaces the pen state with values re-read from the device (after a
    /// `SYN_DROPPED`: `EVIOCGABS` per axis, `EVIOCGKEY`). Emits nothing; the
    /// next frame produces the next sample.
    pub fn resync(&mut self, abs_values: &[(u16, i32)], keys: &[(u16, bool)]) {
        for &(code, value) in abs_values {
            self.abs(code, value);
        }
        for &(code, down) in keys {
            self.key(code, down);
        }
        self.frame_changed = false;
    }

    fn abs(&mut self, code: u16, value: i32) {
        let r = &mut self.raw;
        match code {
            abs::X => r.x = Some(value),
            abs::Y => r.y = Some(value),
            abs::PRESSURE => r.pressure = value,
            abs::TILT_X => r.tilt_x = value,
            abs::TILT_Y => r.tilt_y = value,
            // Hover height: not part of a sample, but the frame is a hover report.
            abs::DISTANCE => {}
            _ => return,
        }
        self.frame_changed = true;
    }

    fn key(&mut self, code: u16, down: bool) {
        let r = &mut self.raw;
        match code {
            key::BTN_TOUCH => r.touch = down,
            key::BTN_TOOL_PEN => r.tool_pen = down,
            key::BTN_TOOL_RUBBER => r.tool_rubber = down,
            key::BTN_STYLUS => r.stylus = down,
            key::BTN_STYLUS2 => r.stylus2 = down,
            _ => return,
        }
        self.frame_changed = true;
    }

    fn finish_frame(&mut self, t_us: u64) -> Option<PenSample> {
        if !std::mem::take(&mut self.frame_changed) {
            return None;
        }
        let in_range = self.raw.in_range();
        // Only a pen we reported in range can be reported leaving.
        let leaving = self
            .last_sample
            .is_some_and(|s| s.flags.contains(SampleFlags::IN_RANGE));
        let (Some(x), Some(y)) = (self.raw.x, self.raw.y) else {
            return None;
        };
        if !in_range && !leaving {
            return None;
        }
        let r = self.raw;
        let mut flags = SampleFlags::default();
        flags.set(SampleFlags::IN_CONTACT, r.touch);
        flags.set(SampleFlags::IN_RANGE, in_range);
        flags.set(SampleFlags::BUTTON1, r.stylus);
        flags.set(SampleFlags::BUTTON2, r.stylus2);
        flags.set(SampleFlags::ERASER, r.tool_rubber);
        flags.set(
            SampleFlags::GAP_BEFORE,
            std::mem::take(&mut self.gap_pending),
        );
        let mut sample = PenSample {
            t_us,
            x: position(x, &self.caps.x),
            y: position(y, &self.caps.y),
            pressure: match &self.caps.pressure {
                Some(p) => normalise(r.pressure, p),
                None if r.touch => u16::MAX,
                None => 0,
            },
            tilt_x: self.caps.tilt_x.map(|a| tilt(r.tilt_x, &a)),
            tilt_y: self.caps.tilt_y.map(|a| tilt(r.tilt_y, &a)),
            flags,
        };
        if let (false, Some(last)) = (in_range, self.last_sample) {
            sample.x = last.x;
            sample.y = last.y;
            sample.tilt_x = last.tilt_x;
            sample.tilt_y = last.tilt_y;
            sample.pressure = 0;
        }
        self.last_sample = Some(sample);
        Some(sample)
    }
}

fn check_range(axis: &'static str, info: &AxisInfo) -> Result<(), InkError> {
    if info.max <= info.min {
        return Err(InkError::EmptyAxisRange {
            axis,
            min: info.min,
            max: info.max,
        });
    }
    Ok(())
}

/// Raw X/Y → 0.01 mm from the axis minimum. `resolution > 0` is checked in
/// [`Capture::new`].
fn position(raw: i32, axis: &AxisInfo) -> i32 {
    let res = f64::from(axis.resolution.max(1));
    let v = (f64::from(raw) - f64::from(axis.min)) * 100.0 / res;
    clamp_round(v, f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

/// Raw pressure → 0..=65535 over the axis range, clamped.
fn normalise(raw: i32, axis: &AxisInfo) -> u16 {
    let span = (f64::from(axis.max) - f64::from(axis.min)).max(1.0);
    let v = (f64::from(raw) - f64::from(axis.min)) * 65535.0 / span;
    clamp_round(v, 0.0, 65535.0) as u16
}

/// Raw tilt → 0.01 degree. `i16::MIN` is the wire record's "no tilt", so the
/// range stops one short of it.
fn tilt(raw: i32, axis: &AxisInfo) -> i16 {
    let degrees = if axis.resolution > 0 {
        f64::from(raw) * 180.0 / PI / f64::from(axis.resolution)
    } else {
        f64::from(raw)
    };
    clamp_round(degrees * 100.0, -32767.0, 32767.0) as i16
}

fn clamp_round(v: f64, lo: f64, hi: f64) -> f64 {
    if v.is_nan() {
        return 0.0;
    }
    v.round().clamp(lo, hi)
}

/// The result of replaying a whole trace.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedTrace {
    pub capabilities: PenCapabilities,
    pub samples: Vec<PenSample>,
    /// `SYN_DROPPED` gaps in the trace.
    pub gaps: u32,
    pub warnings: Vec<CaptureWarning>,
}

/// Replays a trace through [`Capture`].
pub fn capture_trace(trace: &Trace) -> Result<CapturedTrace, InkError> {
    let mut capture = Capture::new(trace.device.capabilities()?)?;
    let samples: Vec<PenSample> = trace
        .events
        .iter()
        .filter_map(|&e| capture.push(e))
        .collect();
    Ok(CapturedTrace {
        gaps: capture.gaps(),
        warnings: capture.warnings().to_vec(),
        capabilities: capture.caps,
        samples,
    })
}
