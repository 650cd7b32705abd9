//! ISO/IEC 19794-7:2007 signature/sign time-series record (full format).
//!
//! The edition is the first one, ISO/IEC 19794-7:2007, whose binary layout is
//! fixed by the ECN encoding of its ASN.1 module (Annex B). The exact layout,
//! byte by byte, with the assumptions where the text of the standard was not
//! available, is in `docs/package-format.md`. In short (all integers
//! big-endian):
//!
//! ```text
//! header   "SDI\0"  " 10\0"  channel-inclusion(2)  channel-descriptions  reserved(1)=0
//! body     optionality(1)  sample-count(3)  sample-points  [ext-length(2) ext-data]
//! ```
//!
//! [`SignatureRecord::from_samples`] turns pen samples in physical units into a
//! record whose channels carry scaling values derived from the digitizer's
//! resolution, so a reader gets true units (mm, seconds, degrees);
//! [`SignatureRecord::to_samples`] converts back. The decoder never panics,
//! bounds every size, and names the field and byte offset of any error.

use signpad_types::{AxisInfo, PenCapabilities, PenSample, SampleFlags};

/// Format identifier of the record: `"SDI"` and a NUL byte.
pub const FORMAT_IDENTIFIER: [u8; 4] = *b"SDI\0";
/// Version of ISO/IEC 19794-7:2007: `" 10"` and a NUL byte.
pub const VERSION_2007: [u8; 4] = *b" 10\0";
/// Largest record [`SignatureRecord::decode`] accepts, in bytes.
pub const MAX_RECORD_LEN: usize = 2 * 1024 * 1024;
/// Most sample points a record may hold (10 minutes at 200 Hz).
pub const MAX_SAMPLES: usize = 120_000;
/// Longest device name kept in the signpad extended data, in bytes.
pub const MAX_DEVICE_NAME_LEN: usize = 64;
/// Marker and version of signpad's extended data block.
pub const SIGNPAD_EXTENSION_MAGIC: [u8; 4] = *b"SPX\x01";

/// The sixteen channels of ISO/IEC 19794-7, in the order of the channel
/// inclusion field (first = most significant bit) and of the values in each
/// sample point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// Pen tip x coordinate (mm).
    X,
    /// Pen tip y coordinate (mm).
    Y,
    /// Pen tip z coordinate, height above the surface (mm).
    Z,
    /// Velocity along x (mm/s).
    Vx,
    /// Velocity along y (mm/s).
    Vy,
    /// Acceleration along x (mm/s²).
    Ax,
    /// Acceleration along y (mm/s²).
    Ay,
    /// Time since the first sample (s).
    T,
    /// Time since the previous sample (s).
    Dt,
    /// Pen tip force (uncalibrated unless a scaling value is given).
    F,
    /// Pen tip switch state: 0 pen up, 1 pen down.
    S,
    /// Tilt of the pen towards x (degrees).
    Tx,
    /// Tilt of the pen towards y (degrees).
    Ty,
    /// Azimuth (degrees).
    Az,
    /// Elevation (degrees).
    El,
    /// Rotation about the pen axis (degrees).
    R,
}

impl Channel {
    /// All channels in record order.
    pub const ALL: [Channel; 16] = [
        Channel::X,
        Channel::Y,
        Channel::Z,
        Channel::Vx,
        Channel::Vy,
        Channel::Ax,
        Channel::Ay,
        Channel::T,
        Channel::Dt,
        Channel::F,
        Channel::S,
        Channel::Tx,
        Channel::Ty,
        Channel::Az,
        Channel::El,
        Channel::R,
    ];

    /// Bit of this channel in the 16-bit channel inclusion field.
    pub const fn inclusion_bit(self) -> u16 {
        0x8000 >> (self as u16)
    }

    /// Whether values of this channel are two's-complement signed.
    pub const fn is_signed(self) -> bool {
        matches!(
            self,
            Channel::X
                | Channel::Y
                | Channel::Vx
                | Channel::Vy
                | Channel::Ax
                | Channel::Ay
                | Channel::Tx
                | Channel::Ty
        )
    }

    /// Size of one value of this channel in a sample point (S is 1 byte, all
    /// others 2).
    pub const fn value_len(self) -> usize {
        match self {
            Channel::S => 1,
            _ => 2,
        }
    }

    /// Range of a raw value of this channel.
    pub const fn value_range(self) -> (i32, i32) {
        match (self.is_signed(), self.value_len()) {
            (true, _) => (i16::MIN as i32, i16::MAX as i32),
            (false, 1) => (0, u8::MAX as i32),
            (false, _) => (0, u16::MAX as i32),
        }
    }

    /// Short name as used in the standard.
    pub const fn name(self) -> &'static str {
        match self {
            Channel::X => "X",
            Channel::Y => "Y",
            Channel::Z => "Z",
            Channel::Vx => "VX",
            Channel::Vy => "VY",
            Channel::Ax => "AX",
            Channel::Ay => "AY",
            Channel::T => "T",
            Channel::Dt => "DT",
            Channel::F => "F",
            Channel::S => "S",
            Channel::Tx => "TX",
            Channel::Ty => "TY",
            Channel::Az => "AZ",
            Channel::El => "EL",
            Channel::R => "R",
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A channel scaling value: `2^(E-16) · (1 + F/2048)` with a 5-bit exponent
/// code `E` and an 11-bit fraction `F`, stored as `EEEEEFFF FFFFFFFF`.
/// A raw channel value divided by the scaling value gives the physical value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScalingValue(u16);

impl ScalingValue {
    /// From the two stored bytes.
    pub const fn from_bits(bits: u16) -> Self {
        Self(bits)
    }

    /// The two stored bytes.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Exponent code `E` (0..=31, meaning 2^(E-16)).
    pub const fn exponent_code(self) -> u8 {
        (self.0 >> 11) as u8
    }

    /// Fraction `F` (0..=2047).
    pub const fn fraction(self) -> u16 {
        self.0 & 0x07ff
    }

    /// The value it stands for.
    pub fn value(self) -> f64 {
        let e = i32::from(self.exponent_code()) - 16;
        2f64.powi(e) * (1.0 + f64::from(self.fraction()) / 2048.0)
    }

    /// The largest representable scaling value not above `target`, or
    /// `None` when `target` is below the smallest one (2^-16) or not finite.
    pub fn at_most(target: f64) -> Option<Self> {
        if !target.is_finite() || target < 2f64.powi(-16) {
            return None;
        }
        let max = Self(0xffff);
        if target >= max.value() {
            return Some(max);
        }
        // 2^-16 <= target < 2^16: the exponent is floor(log2(target)).
        let mut e = -16i32;
        while e < 15 && 2f64.powi(e + 1) <= target {
            e += 1;
        }
        let mantissa = target / 2f64.powi(e) - 1.0; // in [0, 1)
        let fraction = (mantissa * 2048.0).floor().clamp(0.0, 2047.0);
        // Both are in range by construction.
        let code = u16::try_from(e + 16).ok()?;
        let fraction = fraction as u16;
        Some(Self((code << 11) | fraction))
    }
}

/// The description of one included channel (preamble and attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelDescription {
    pub channel: Channel,
    /// Units per physical unit; `None` when the channel is in arbitrary units.
    pub scaling: Option<ScalingValue>,
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub mean: Option<i32>,
    pub std: Option<i32>,
    /// The channel has the same value in every sample and takes no room in
    /// the sample points (its value is `mean`, else `min`, else 1 for DT).
    pub is_constant: bool,
    /// A linear component has been removed from the channel values.
    pub linear_component_removed: bool,
}

impl ChannelDescription {
    /// A description with nothing but the channel.
    pub const fn bare(channel: Channel) -> Self {
        Self {
            channel,
            scaling: None,
            min: None,
            max: None,
            mean: None,
            std: None,
            is_constant: false,
            linear_component_removed: false,
        }
    }

    fn preamble(&self) -> u8 {
        let mut p = 0u8;
        if self.scaling.is_some() {
            p |= PRE_SCALING;
        }
        if self.min.is_some() {
            p |= PRE_MIN;
        }
        if self.max.is_some() {
            p |= PRE_MAX;
        }
        if self.mean.is_some() {
            p |= PRE_MEAN;
        }
        if self.std.is_some() {
            p |= PRE_STD;
        }
        if self.is_constant {
            p |= PRE_CONSTANT;
        }
        if self.linear_component_removed {
            p |= PRE_LINEAR_REMOVED;
        }
        p
    }

    /// Value of a constant channel.
    fn constant_value(&self) -> i32 {
        self.mean
            .or(self.min)
            .unwrap_or(if self.channel == Channel::Dt { 1 } else { 0 })
    }
}

const PRE_SCALING: u8 = 0x80;
const PRE_MIN: u8 = 0x40;
const PRE_MAX: u8 = 0x20;
const PRE_MEAN: u8 = 0x10;
const PRE_STD: u8 = 0x08;
const PRE_CONSTANT: u8 = 0x04;
const PRE_LINEAR_REMOVED: u8 = 0x02;
const BODY_EXTENDED_DATA_PRESENT: u8 = 0x80;

/// Capture date and time (UTC), as in the other parts of ISO/IEC 19794.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CaptureDateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub millisecond: u16,
}

impl CaptureDateTime {
    fn problem(&self) -> Option<&'static str> {
        if !(1..=12).contains(&self.month) {
            Some("month is not 1..=12")
        } else if !(1..=31).contains(&self.day) {
            Some("day is not 1..=31")
        } else if self.hour > 23 {
            Some("hour is not 0..=23")
        } else if self.minute > 59 {
            Some("minute is not 0..=59")
        } else if self.second > 60 {
            Some("second is not 0..=60")
        } else if self.millisecond > 999 {
            Some("millisecond is not 0..=999")
        } else {
            None
        }
    }
}

/// When and with what the signature was captured (kept in signpad's
/// extended data block, because the 2007 record has no such fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureInfo {
    pub captured_at: CaptureDateTime,
    /// USB/HID vendor id of the digitizer.
    pub device_vendor: u16,
    /// USB/HID product id of the digitizer.
    pub device_product: u16,
    /// Device name (at most [`MAX_DEVICE_NAME_LEN`] bytes of UTF-8).
    pub device_name: String,
}

/// The signpad extended data block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignpadExtension {
    pub capture: CaptureInfo,
    /// `t_us` of the first sample; the T channel counts from it.
    pub time_offset_us: u64,
    /// Indices of samples before which events were lost (`SYN_DROPPED`),
    /// strictly increasing.
    pub gaps_before: Vec<u32>,
}

/// The extended data of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtendedData {
    /// The record has no extended data.
    None,
    /// signpad's own block (see `docs/package-format.md`).
    Signpad(SignpadExtension),
    /// Extended data of another producer, kept as is.
    Other(Vec<u8>),
}

/// Why a record could not be built, encoded or decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IsoError {
    #[error("ISO/IEC 19794-7 record is {len} bytes, more than the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    #[error("ISO/IEC 19794-7 record truncated: {field} at offset {offset} needs {needed} bytes, only {available} left")]
    Truncated {
        field: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("ISO/IEC 19794-7 record: {field} at offset {offset}: {problem}")]
    InvalidField {
        field: &'static str,
        offset: usize,
        problem: String,
    },
    #[error("ISO/IEC 19794-7 record: sample count {count} at offset {offset} exceeds the limit of {limit}")]
    TooManySamples {
        count: usize,
        limit: usize,
        offset: usize,
    },
    #[error(
        "ISO/IEC 19794-7 record: {count} unexpected bytes after the record at offset {offset}"
    )]
    TrailingBytes { offset: usize, count: usize },
    #[error("no pen samples to encode")]
    NoSamples,
    #[error("{count} pen samples, more than the limit of {limit} per record")]
    TooManyPenSamples { count: usize, limit: usize },
    #[error("pen sample {index}: time {t_us} µs is before the previous sample")]
    TimeNotMonotonic { index: usize, t_us: u64 },
    #[error("pen sample {index}: no {channel} value although the digitizer reports that axis")]
    MissingValue { index: usize, channel: Channel },
    #[error("pen sample {index}: {channel} value {value} does not fit a record channel (range {min}..={max})")]
    ValueOutOfRange {
        index: usize,
        channel: Channel,
        value: i64,
        min: i32,
        max: i32,
    },
    #[error(
        "{channel} channel: no representable scaling value for {wanted} units per physical unit"
    )]
    NoScaling { channel: Channel, wanted: f64 },
    #[error("capture info: {0}")]
    InvalidCaptureInfo(String),
    #[error("record cannot be encoded: {0}")]
    Unencodable(String),
}

/// An ISO/IEC 19794-7:2007 full-format signature/sign time-series record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRecord {
    channels: Vec<ChannelDescription>,
    /// Values of the non-constant channels, sample after sample.
    values: Vec<i32>,
    sample_count: usize,
    extended: ExtendedData,
}

impl SignatureRecord {
    /// Builds a record from pen samples in physical units.
    ///
    /// Channels: X, Y and T always; F when the digitizer reports pressure;
    /// TX/TY when it reports tilt; S only when the contact state cannot be
    /// read from the pressure (some sample touches with zero pressure or
    /// hovers with pressure, or there is no pressure axis).
    pub fn from_samples(
        caps: &PenCapabilities,
        samples: &[PenSample],
        capture: CaptureInfo,
    ) -> Result<Self, IsoError> {
        let first = samples.first().ok_or(IsoError::NoSamples)?;
        if samples.len() > MAX_SAMPLES {
            return Err(IsoError::TooManyPenSamples {
                count: samples.len(),
                limit: MAX_SAMPLES,
            });
        }
        check_capture(&capture)?;
        for (index, pair) in samples.windows(2).enumerate() {
            if pair[1].t_us < pair[0].t_us {
                return Err(IsoError::TimeNotMonotonic {
                    index: index + 1,
                    t_us: pair[1].t_us,
                });
            }
        }
        let t0 = first.t_us;
        let duration_s = samples.last().map_or(0.0, |s| (s.t_us - t0) as f64 / 1e6);

        let has_pressure = caps.pressure.is_some();
        let needs_s = !has_pressure || samples.iter().any(|s| s.in_contact() != (s.pressure > 0));

        let max_abs = |f: fn(&PenSample) -> i64| samples.iter().map(|s| f(s).abs()).max();
        let x_scale = position_scale(Channel::X, &caps.x, max_abs(|s| i64::from(s.x)))?;
        let y_scale = position_scale(Channel::Y, &caps.y, max_abs(|s| i64::from(s.y)))?;
        let t_scale = time_scale(duration_s)?;
        let tx_scale = match caps.tilt_x {
            Some(axis) => Some(tilt_scale(Channel::Tx, &axis)?),
            None => None,
        };
        let ty_scale = match caps.tilt_y {
            Some(axis) => Some(tilt_scale(Channel::Ty, &axis)?),
            None => None,
        };

        let scaled = |c: Channel, s: ScalingValue| ChannelDescription {
            scaling: Some(s),
            ..ChannelDescription::bare(c)
        };
        let mut channels = vec![scaled(Channel::X, x_scale), scaled(Channel::Y, y_scale)];
        channels.push(scaled(Channel::T, t_scale));
        if has_pressure {
            channels.push(ChannelDescription {
                min: Some(0),
                max: Some(i32::from(u16::MAX)),
                ..ChannelDescription::bare(Channel::F)
            });
        }
        if needs_s {
            channels.push(ChannelDescription {
                min: Some(0),
                max: Some(1),
                ..ChannelDescription::bare(Channel::S)
            });
        }
        if let Some(s) = tx_scale {
            channels.push(scaled(Channel::Tx, s));
        }
        if let Some(s) = ty_scale {
            channels.push(scaled(Channel::Ty, s));
        }

        let mut values = Vec::with_capacity(samples.len() * channels.len());
        let mut gaps_before = Vec::new();
        for (index, s) in samples.iter().enumerate() {
            if s.flags.contains(SampleFlags::GAP_BEFORE) {
                gaps_before.push(u32::try_from(index).unwrap_or(u32::MAX));
            }
            for d in &channels {
                let v: i64 = match d.channel {
                    Channel::X => quantise(f64::from(s.x) / 100.0, x_scale),
                    Channel::Y => quantise(f64::from(s.y) / 100.0, y_scale),
                    Channel::T => quantise((s.t_us - t0) as f64 / 1e6, t_scale),
                    Channel::F => i64::from(s.pressure),
                    Channel::S => i64::from(s.in_contact()),
                    Channel::Tx | Channel::Ty => {
                        let (tilt, scale) = if d.channel == Channel::Tx {
                            (s.tilt_x, tx_scale)
                        } else {
                            (s.tilt_y, ty_scale)
                        };
                        let tilt = tilt.ok_or(IsoError::MissingValue {
                            index,
                            channel: d.channel,
                        })?;
                        let scale = scale.ok_or(IsoError::MissingValue {
                            index,
                            channel: d.channel,
                        })?;
                        quantise(f64::from(tilt) / 100.0, scale)
                    }
                    _ => 0,
                };
                let (min, max) = d.channel.value_range();
                let fits = i32::try_from(v).ok().filter(|v| (min..=max).contains(v));
                let v = fits.ok_or(IsoError::ValueOutOfRange {
                    index,
                    channel: d.channel,
                    value: v,
                    min,
                    max,
                })?;
                values.push(v);
            }
        }

        Ok(Self {
            channels,
            values,
            sample_count: samples.len(),
            extended: ExtendedData::Signpad(SignpadExtension {
                capture,
                time_offset_us: t0,
                gaps_before,
            }),
        })
    }

    /// Builds a record from its parts; the values are those of the
    /// non-constant channels, sample after sample.
    pub fn from_parts(
        channels: Vec<ChannelDescription>,
        values: Vec<i32>,
        extended: ExtendedData,
    ) -> Result<Self, IsoError> {
        let stride = channels.iter().filter(|c| !c.is_constant).count();
        let sample_count = match stride {
            0 => 0,
            n if values.len().is_multiple_of(n) => values.len() / n,
            n => {
                return Err(IsoError::Unencodable(format!(
                    "{} values are not a whole number of {n}-channel samples",
                    values.len()
                )))
            }
        };
        let record = Self {
            channels,
            values,
            sample_count,
            extended,
        };
        record.encode()?;
        Ok(record)
    }

    /// Serialises the record.
    pub fn encode(&self) -> Result<Vec<u8>, IsoError> {
        let mut inclusion = 0u16;
        let mut last: Option<Channel> = None;
        for d in &self.channels {
            if last.is_some_and(|l| l >= d.channel) {
                return Err(IsoError::Unencodable(format!(
                    "channel {} is out of order or repeated",
                    d.channel
                )));
            }
            last = Some(d.channel);
            inclusion |= d.channel.inclusion_bit();
        }
        let xy = Channel::X.inclusion_bit() | Channel::Y.inclusion_bit();
        if inclusion & xy != xy {
            return Err(IsoError::Unencodable(
                "the X and Y channels are mandatory".into(),
            ));
        }
        if self.sample_count > MAX_SAMPLES {
            return Err(IsoError::TooManyPenSamples {
                count: self.sample_count,
                limit: MAX_SAMPLES,
            });
        }
        let stride = self.stride();
        if self.values.len() != stride * self.sample_count {
            return Err(IsoError::Unencodable(
                "value count does not match channels × samples".into(),
            ));
        }

        let sample_len: usize = self
            .channels
            .iter()
            .filter(|c| !c.is_constant)
            .map(|c| c.channel.value_len())
            .sum();
        let mut out =
            Vec::with_capacity(32 + self.channels.len() * 11 + sample_len * self.sample_count);
        out.extend_from_slice(&FORMAT_IDENTIFIER);
        out.extend_from_slice(&VERSION_2007);
        out.extend_from_slice(&inclusion.to_be_bytes());
        for d in &self.channels {
            out.push(d.preamble());
            if let Some(s) = d.scaling {
                out.extend_from_slice(&s.bits().to_be_bytes());
            }
            for (name, v) in [("min", d.min), ("max", d.max), ("mean", d.mean)] {
                if let Some(v) = v {
                    put_value16(&mut out, d.channel, d.channel.is_signed(), v, name)?;
                }
            }
            if let Some(v) = d.std {
                put_value16(&mut out, d.channel, false, v, "std")?;
            }
        }
        out.push(0); // reserved

        let ext = self.encode_extended()?;
        out.push(if ext.is_some() {
            BODY_EXTENDED_DATA_PRESENT
        } else {
            0
        });
        let count = u32::try_from(self.sample_count).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_be_bytes()[1..]);
        let included: Vec<Channel> = self
            .channels
            .iter()
            .filter(|c| !c.is_constant)
            .map(|c| c.channel)
            .collect();
        for sample in self.values.chunks(stride.max(1)) {
            for (&channel, &v) in included.iter().zip(sample) {
                let (min, max) = channel.value_range();
                if !(min..=max).contains(&v) {
                    return Err(IsoError::Unencodable(format!(
                        "{channel} value {v} is outside {min}..={max}"
                    )));
                }
                if channel.value_len() == 1 {
                    out.push(v as u8);
                } else {
                    out.extend_from_slice(&(v as u16).to_be_bytes());
                }
            }
        }
        if let Some(ext) = ext {
            let len = u16::try_from(ext.len()).map_err(|_| {
                IsoError::Unencodable(format!(
                    "extended data is {} bytes, more than 65535",
                    ext.len()
                ))
            })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&ext);
        }
        Ok(out)
    }

    /// Parses a record, checking every field; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, IsoError> {
        if bytes.len() > MAX_RECORD_LEN {
            return Err(IsoError::TooLarge {
                len: bytes.len(),
                limit: MAX_RECORD_LEN,
            });
        }
        let mut r = Reader { bytes, pos: 0 };
        let at = r.pos;
        let id = r.take(4, "format identifier")?;
        if id != FORMAT_IDENTIFIER {
            return Err(invalid(
                "format identifier",
                at,
                format!("expected \"SDI\\0\", found {}", show_bytes(id)),
            ));
        }
        let at = r.pos;
        let version = r.take(4, "version number")?;
        if version != VERSION_2007 {
            return Err(invalid(
                "version number",
                at,
                format!(
                    "expected \" 10\\0\" (ISO/IEC 19794-7:2007), found {}",
                    show_bytes(version)
                ),
            ));
        }
        let at = r.pos;
        let inclusion = r.u16("channel inclusion field")?;
        let xy = Channel::X.inclusion_bit() | Channel::Y.inclusion_bit();
        if inclusion & xy != xy {
            return Err(invalid(
                "channel inclusion field",
                at,
                format!("{inclusion:#06x} lacks the mandatory X and Y channels"),
            ));
        }
        let mut channels = Vec::new();
        for channel in Channel::ALL {
            if inclusion & channel.inclusion_bit() == 0 {
                continue;
            }
            let preamble = r.u8(channel_field(channel, "preamble"))?;
            let mut d = ChannelDescription::bare(channel);
            if preamble & PRE_SCALING != 0 {
                d.scaling = Some(ScalingValue::from_bits(
                    r.u16(channel_field(channel, "scaling value"))?,
                ));
            }
            let signed = channel.is_signed();
            if preamble & PRE_MIN != 0 {
                d.min = Some(r.value16(channel_field(channel, "minimum"), signed)?);
            }
            if preamble & PRE_MAX != 0 {
                d.max = Some(r.value16(channel_field(channel, "maximum"), signed)?);
            }
            if preamble & PRE_MEAN != 0 {
                d.mean = Some(r.value16(channel_field(channel, "mean"), signed)?);
            }
            if preamble & PRE_STD != 0 {
                d.std = Some(r.value16(channel_field(channel, "standard deviation"), false)?);
            }
            d.is_constant = preamble & PRE_CONSTANT != 0;
            d.linear_component_removed = preamble & PRE_LINEAR_REMOVED != 0;
            channels.push(d);
        }
        let at = r.pos;
        let reserved = r.u8("header reserved byte")?;
        if reserved != 0 {
            return Err(invalid(
                "header reserved byte",
                at,
                format!("must be 0x00, found {reserved:#04x}"),
            ));
        }
        // Only the first bit of the body optionality byte is defined; the
        // others are ignored by decoders (Annex B).
        let body_flags = r.u8("body optionality byte")?;
        let at = r.pos;
        let count_bytes = r.take(3, "number of sample points")?;
        let count = (usize::from(count_bytes[0]) << 16)
            | (usize::from(count_bytes[1]) << 8)
            | usize::from(count_bytes[2]);
        if count > MAX_SAMPLES {
            return Err(IsoError::TooManySamples {
                count,
                limit: MAX_SAMPLES,
                offset: at,
            });
        }
        let included: Vec<Channel> = channels
            .iter()
            .filter(|c| !c.is_constant)
            .map(|c| c.channel)
            .collect();
        let sample_len: usize = included.iter().map(|c| c.value_len()).sum();
        let needed = sample_len * count;
        if r.remaining() < needed {
            return Err(IsoError::Truncated {
                field: "sample points",
                offset: r.pos,
                needed,
                available: r.remaining(),
            });
        }
        let mut values = Vec::with_capacity(included.len() * count);
        for _ in 0..count {
            for &channel in &included {
                let field = channel_field(channel, "sample value");
                let v = if channel.value_len() == 1 {
                    i32::from(r.u8(field)?)
                } else {
                    r.value16(field, channel.is_signed())?
                };
                values.push(v);
            }
        }
        let extended = if body_flags & BODY_EXTENDED_DATA_PRESENT != 0 {
            let len = usize::from(r.u16("extended data length")?);
            let at = r.pos;
            let data = r.take(len, "extended data")?;
            decode_extended(data, at, count)?
        } else {
            ExtendedData::None
        };
        if r.remaining() != 0 {
            return Err(IsoError::TrailingBytes {
                offset: r.pos,
                count: r.remaining(),
            });
        }
        Ok(Self {
            channels,
            values,
            sample_count: count,
            extended,
        })
    }

    /// Converts the record back to pen samples in physical units.
    ///
    /// X/Y/TX/TY use their scaling values (1 when absent); T gives times
    /// after the signpad time offset, DT is summed; F maps its min..max onto
    /// 0..=65535; the contact flag comes from S, else from F > 0. Every
    /// sample is marked in range; GAP_BEFORE comes from the signpad
    /// extended data. AZ/EL/R, Z and the velocity/acceleration channels
    /// have no [`PenSample`] field and are not converted.
    pub fn to_samples(&self) -> Vec<PenSample> {
        let (offset, gaps): (u64, &[u32]) = match &self.extended {
            ExtendedData::Signpad(ext) => (ext.time_offset_us, &ext.gaps_before),
            _ => (0, &[]),
        };
        let scale = |c: Channel| {
            self.channel(c)
                .and_then(|d| d.scaling)
                .map_or(1.0, ScalingValue::value)
        };
        let to_hundredths = |v: i32, c: Channel| -> f64 { f64::from(v) / scale(c) * 100.0 };
        let mut out = Vec::with_capacity(self.sample_count);
        let mut dt_sum_s = 0.0f64;
        let mut gap_iter = gaps.iter().peekable();
        for i in 0..self.sample_count {
            let t_s = if let Some(t) = self.value(i, Channel::T) {
                f64::from(t) / scale(Channel::T)
            } else if let Some(dt) = self.value(i, Channel::Dt) {
                dt_sum_s += f64::from(dt) / scale(Channel::Dt);
                dt_sum_s
            } else {
                0.0
            };
            let t_us = offset.saturating_add(round_to_u64(t_s * 1e6));
            let x = self
                .value(i, Channel::X)
                .map_or(0, |v| clamp_i32(to_hundredths(v, Channel::X)));
            let y = self
                .value(i, Channel::Y)
                .map_or(0, |v| clamp_i32(to_hundredths(v, Channel::Y)));
            let pressure = self.value(i, Channel::F).map_or(0, |v| {
                let d = self.channel(Channel::F);
                let min = d.and_then(|d| d.min).unwrap_or(0);
                let max = d.and_then(|d| d.max).unwrap_or(i32::from(u16::MAX));
                if max <= min {
                    return 0;
                }
                let norm = f64::from(v - min) / f64::from(max - min) * 65535.0;
                norm.round().clamp(0.0, 65535.0) as u16
            });
            let tilt = |c: Channel| {
                self.value(i, c)
                    .map(|v| to_hundredths(v, c).round().clamp(-32768.0, 32767.0) as i16)
            };
            let contact = match (self.value(i, Channel::S), self.value(i, Channel::F)) {
                (Some(s), _) => s != 0,
                (None, Some(f)) => f > self.channel(Channel::F).and_then(|d| d.min).unwrap_or(0),
                (None, None) => true,
            };
            let mut flags = SampleFlags(SampleFlags::IN_RANGE);
            flags.set(SampleFlags::IN_CONTACT, contact);
            if gap_iter.peek().is_some_and(|&&g| g as usize == i) {
                flags.set(SampleFlags::GAP_BEFORE, true);
                gap_iter.next();
            }
            out.push(PenSample {
                t_us,
                x,
                y,
                pressure,
                tilt_x: tilt(Channel::Tx),
                tilt_y: tilt(Channel::Ty),
                flags,
            });
        }
        out
    }

    /// The included channels, in record order.
    pub fn channels(&self) -> &[ChannelDescription] {
        &self.channels
    }

    /// The description of `channel`, if included.
    pub fn channel(&self, channel: Channel) -> Option<&ChannelDescription> {
        self.channels.iter().find(|d| d.channel == channel)
    }

    /// Number of sample points.
    pub fn sample_count(&self) -> usize {
        self.sample_count
    }

    /// Raw value of `channel` in sample `index` (the constant value for a
    /// constant channel), if both exist.
    pub fn value(&self, index: usize, channel: Channel) -> Option<i32> {
        if index >= self.sample_count {
            return None;
        }
        let mut col = 0;
        for d in &self.channels {
            if d.channel == channel {
                if d.is_constant {
                    return Some(d.constant_value());
                }
                return self.values.get(index * self.stride() + col).copied();
            }
            if !d.is_constant {
                col += 1;
            }
        }
        None
    }

    /// Raw values of the non-constant channels, sample after sample.
    pub fn raw_values(&self) -> &[i32] {
        &self.values
    }

    /// The extended data.
    pub fn extended_data(&self) -> &ExtendedData {
        &self.extended
    }

    /// Capture date/time and device, when the record carries signpad's block.
    pub fn capture_info(&self) -> Option<&CaptureInfo> {
        match &self.extended {
            ExtendedData::Signpad(ext) => Some(&ext.capture),
            _ => None,
        }
    }

    /// Capture duration in seconds according to the T (or DT) channel.
    pub fn duration_s(&self) -> f64 {
        let samples = self.to_samples();
        match (samples.first(), samples.last()) {
            (Some(a), Some(b)) => (b.t_us - a.t_us) as f64 / 1e6,
            _ => 0.0,
        }
    }

    fn stride(&self) -> usize {
        self.channels.iter().filter(|c| !c.is_constant).count()
    }

    fn encode_extended(&self) -> Result<Option<Vec<u8>>, IsoError> {
        match &self.extended {
            ExtendedData::None => Ok(None),
            ExtendedData::Other(data) => Ok(Some(data.clone())),
            ExtendedData::Signpad(ext) => {
                check_capture(&ext.capture)?;
                let c = &ext.capture;
                let mut out = Vec::with_capacity(40 + ext.gaps_before.len() * 4);
                out.extend_from_slice(&SIGNPAD_EXTENSION_MAGIC);
                let t = &c.captured_at;
                out.extend_from_slice(&t.year.to_be_bytes());
                out.extend_from_slice(&[t.month, t.day, t.hour, t.minute, t.second]);
                out.extend_from_slice(&t.millisecond.to_be_bytes());
                out.extend_from_slice(&c.device_vendor.to_be_bytes());
                out.extend_from_slice(&c.device_product.to_be_bytes());
                out.push(c.device_name.len() as u8); // checked <= 64
                out.extend_from_slice(c.device_name.as_bytes());
                out.extend_from_slice(&ext.time_offset_us.to_be_bytes());
                let gaps = u16::try_from(ext.gaps_before.len()).map_err(|_| {
                    IsoError::Unencodable(format!(
                        "{} gaps, more than 65535",
                        ext.gaps_before.len()
                    ))
                })?;
                out.extend_from_slice(&gaps.to_be_bytes());
                let mut prev: Option<u32> = None;
                for &g in &ext.gaps_before {
                    if prev.is_some_and(|p| p >= g) || g as usize >= self.sample_count {
                        return Err(IsoError::Unencodable(format!(
                            "gap index {g} is out of order or past the last sample"
                        )));
                    }
                    prev = Some(g);
                    out.extend_from_slice(&g.to_be_bytes());
                }
                Ok(Some(out))
            }
        }
    }
}

fn check_capture(c: &CaptureInfo) -> Result<(), IsoError> {
    if let Some(p) = c.captured_at.problem() {
        return Err(IsoError::InvalidCaptureInfo(format!(
            "capture date/time: {p}"
        )));
    }
    if c.device_name.len() > MAX_DEVICE_NAME_LEN {
        return Err(IsoError::InvalidCaptureInfo(format!(
            "device name is {} bytes, more than {MAX_DEVICE_NAME_LEN}",
            c.device_name.len()
        )));
    }
    Ok(())
}

fn decode_extended(
    data: &[u8],
    base: usize,
    sample_count: usize,
) -> Result<ExtendedData, IsoError> {
    if !data.starts_with(&SIGNPAD_EXTENSION_MAGIC) {
        return Ok(ExtendedData::Other(data.to_vec()));
    }
    let mut r = Reader {
        bytes: data,
        pos: 0,
    };
    let fix = |e: IsoError| shift_offset(e, base);
    r.take(4, "signpad extension marker").map_err(fix)?;
    let at = base + r.pos;
    let captured_at = CaptureDateTime {
        year: r.u16("capture year").map_err(fix)?,
        month: r.u8("capture month").map_err(fix)?,
        day: r.u8("capture day").map_err(fix)?,
        hour: r.u8("capture hour").map_err(fix)?,
        minute: r.u8("capture minute").map_err(fix)?,
        second: r.u8("capture second").map_err(fix)?,
        millisecond: r.u16("capture millisecond").map_err(fix)?,
    };
    if let Some(p) = captured_at.problem() {
        return Err(invalid("capture date/time", at, p.to_owned()));
    }
    let device_vendor = r.u16("device vendor id").map_err(fix)?;
    let device_product = r.u16("device product id").map_err(fix)?;
    let at = base + r.pos;
    let name_len = usize::from(r.u8("device name length").map_err(fix)?);
    if name_len > MAX_DEVICE_NAME_LEN {
        return Err(invalid(
            "device name length",
            at,
            format!("{name_len} is more than {MAX_DEVICE_NAME_LEN}"),
        ));
    }
    let at = base + r.pos;
    let name = r.take(name_len, "device name").map_err(fix)?;
    let device_name = std::str::from_utf8(name)
        .map_err(|e| invalid("device name", at, format!("not UTF-8: {e}")))?
        .to_owned();
    let time_offset_us = {
        let b = r.take(8, "time offset").map_err(fix)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        u64::from_be_bytes(a)
    };
    let at = base + r.pos;
    let gap_count = usize::from(r.u16("gap count").map_err(fix)?);
    if gap_count > sample_count {
        return Err(invalid(
            "gap count",
            at,
            format!("{gap_count} gaps for {sample_count} samples"),
        ));
    }
    let mut gaps_before = Vec::with_capacity(gap_count);
    for _ in 0..gap_count {
        let at = base + r.pos;
        let b = r.take(4, "gap index").map_err(fix)?;
        let g = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        if g as usize >= sample_count || gaps_before.last().is_some_and(|&p| p >= g) {
            return Err(invalid(
                "gap index",
                at,
                format!("{g} is out of order or past the last sample"),
            ));
        }
        gaps_before.push(g);
    }
    if r.remaining() != 0 {
        return Err(IsoError::TrailingBytes {
            offset: base + r.pos,
            count: r.remaining(),
        });
    }
    Ok(ExtendedData::Signpad(SignpadExtension {
        capture: CaptureInfo {
            captured_at,
            device_vendor,
            device_product,
            device_name,
        },
        time_offset_us,
        gaps_before,
    }))
}

/// Scaling for X/Y: the digitizer resolution (units per mm), at most 100
/// (the 0.01 mm of [`PenSample`]), lowered so the largest coordinate fits.
fn position_scale(
    channel: Channel,
    axis: &AxisInfo,
    max_abs_hundredths: Option<i64>,
) -> Result<ScalingValue, IsoError> {
    let wanted = if axis.resolution > 0 {
        f64::from(axis.resolution).min(100.0)
    } else {
        100.0
    };
    let mut extent_mm = max_abs_hundredths.unwrap_or(0) as f64 / 100.0;
    if axis.resolution > 0 {
        let span = i64::from(axis.min).abs().max(i64::from(axis.max).abs()) as f64;
        extent_mm = extent_mm.max(span / f64::from(axis.resolution));
    }
    let fit = if extent_mm > 0.0 {
        (f64::from(i16::MAX) - 0.5) / extent_mm
    } else {
        wanted
    };
    let target = wanted.min(fit);
    ScalingValue::at_most(target).ok_or(IsoError::NoScaling {
        channel,
        wanted: target,
    })
}

/// Scaling for T: 10 000 units per second (0.1 ms), lowered so the whole
/// capture fits 16 bits.
fn time_scale(duration_s: f64) -> Result<ScalingValue, IsoError> {
    let wanted: f64 = 10_000.0;
    let target = if duration_s > 0.0 {
        wanted.min((f64::from(u16::MAX) - 0.5) / duration_s)
    } else {
        wanted
    };
    ScalingValue::at_most(target).ok_or(IsoError::NoScaling {
        channel: Channel::T,
        wanted: target,
    })
}

/// Scaling for TX/TY: the digitizer resolution converted from units per
/// radian (kernel convention) to units per degree, at most 100 (the 0.01°
/// of [`PenSample`]).
fn tilt_scale(channel: Channel, axis: &AxisInfo) -> Result<ScalingValue, IsoError> {
    let wanted = if axis.resolution > 0 {
        (f64::from(axis.resolution) * std::f64::consts::PI / 180.0).min(100.0)
    } else {
        100.0
    };
    ScalingValue::at_most(wanted).ok_or(IsoError::NoScaling { channel, wanted })
}

fn quantise(physical: f64, scale: ScalingValue) -> i64 {
    let v = (physical * scale.value()).round();
    if v.is_finite() {
        v.clamp(i64::MIN as f64, i64::MAX as f64) as i64
    } else {
        i64::MAX
    }
}

fn clamp_i32(v: f64) -> i32 {
    v.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

fn round_to_u64(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v.round().min(u64::MAX as f64) as u64
    } else {
        0
    }
}

fn put_value16(
    out: &mut Vec<u8>,
    channel: Channel,
    signed: bool,
    v: i32,
    what: &str,
) -> Result<(), IsoError> {
    let (min, max) = if signed {
        (i32::from(i16::MIN), i32::from(i16::MAX))
    } else {
        (0, i32::from(u16::MAX))
    };
    if !(min..=max).contains(&v) {
        return Err(IsoError::Unencodable(format!(
            "{channel} {what} {v} is outside {min}..={max}"
        )));
    }
    out.extend_from_slice(&(v as u16).to_be_bytes());
    Ok(())
}

fn invalid(field: &'static str, offset: usize, problem: String) -> IsoError {
    IsoError::InvalidField {
        field,
        offset,
        problem,
    }
}

fn shift_offset(e: IsoError, base: usize) -> IsoError {
    match e {
        IsoError::Truncated {
            field,
            offset,
            needed,
            available,
        } => IsoError::Truncated {
            field,
            offset: offset + base,
            needed,
            available,
        },
        other => other,
    }
}

fn show_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Field names per channel, so that errors say which channel is wrong.
fn channel_field(channel: Channel, what: &'static str) -> &'static str {
    macro_rules! names {
        ($($c:ident => $n:literal),*) => {
            match (channel, what) {
                $(
                    (Channel::$c, "preamble") => concat!($n, " channel preamble"),
                    (Channel::$c, "scaling value") => concat!($n, " channel scaling value"),
                    (Channel::$c, "minimum") => concat!($n, " channel minimum"),
                    (Channel::$c, "maximum") => concat!($n, " channel maximum"),
                    (Channel::$c, "mean") => concat!($n, " channel mean"),
                    (Channel::$c, "standard deviation") => concat!($n, " channel standard deviation"),
                    (Channel::$c, "sample value") => concat!($n, " sample value"),
                )*
                _ => what,
            }
        };
    }
    names!(X => "X", Y => "Y", Z => "Z", Vx => "VX", Vy => "VY", Ax => "AX", Ay => "AY",
        T => "T", Dt => "DT", F => "F", S => "S", Tx => "TX", Ty => "TY", Az => "AZ",
        El => "EL", R => "R")
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], IsoError> {
        let available = self.remaining();
        if available < n {
            return Err(IsoError::Truncated {
                field,
                offset: self.pos,
                needed: n,
                available,
            });
        }
        let out = self.bytes.get(self.pos..self.pos + n).unwrap_or_default();
        self.pos += n;
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, IsoError> {
        Ok(self.take(1, field)?.first().copied().unwrap_or_default())
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, IsoError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn value16(&mut self, field: &'static str, signed: bool) -> Result<i32, IsoError> {
        let v = self.u16(field)?;
        Ok(if signed {
            i32::from(v as i16)
        } else {
            i32::from(v)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn caps(tilt: bool) -> PenCapabilities {
        let axis = |max, res| AxisInfo {
            min: 0,
            max,
            resolution: res,
        };
        PenCapabilities {
            name: "Test pen".into(),
            vendor: 0x056a,
            product: 0x0357,
            x: axis(31_496, 200),
            y: axis(19_685, 200),
            pressure: Some(axis(2047, 0)),
            tilt_x: tilt.then_some(AxisInfo {
                min: -64,
                max: 63,
                resolution: 57,
            }),
            tilt_y: tilt.then_some(AxisInfo {
                min: -64,
                max: 63,
                resolution: 57,
            }),
            distance: None,
        }
    }

    fn capture() -> CaptureInfo {
        CaptureInfo {
            captured_at: CaptureDateTime {
                year: 2025,
                month: 3,
                day: 14,
                hour: 9,
                minute: 26,
                second: 53,
                millisecond: 589,
            },
            device_vendor: 0x056a,
            device_product: 0x0357,
            device_name: "Test pen".into(),
        }
    }

    /// A plausible 5 s, 200 Hz signature: loops, pressure ramps, tilt.
    fn five_second_signature() -> Vec<PenSample> {
        (0..1000u64)
            .map(|i| {
                let t = i as f64 / 200.0;
                let mut flags = SampleFlags(SampleFlags::IN_RANGE | SampleFlags::IN_CONTACT);
                if i == 500 {
                    flags.set(SampleFlags::GAP_BEFORE, true);
                }
                PenSample {
                    t_us: 1_250_000 + i * 5_000 + (i % 3) * 17,
                    x: (2_000.0 + 1_500.0 * t + 600.0 * (7.0 * t).sin()) as i32,
                    y: (3_000.0 + 700.0 * (5.0 * t).cos()) as i32,
                    pressure: (20_000.0 + 15_000.0 * (3.0 * t).sin()) as u16,
                    tilt_x: Some((2_500.0 + 300.0 * t) as i16),
                    tilt_y: Some((-1_200.0 - 100.0 * t) as i16),
                    flags,
                }
            })
            .collect()
    }

    #[test]
    fn scaling_value_formula_matches_the_standard() {
        // E = 16 + 9, F = 1952: 2^9 * (1 + 1952/2048) = 1000
        let s = ScalingValue::at_most(1000.0).unwrap();
        assert_eq!(s.exponent_code(), 25);
        assert_eq!(s.fraction(), 1952);
        assert_eq!(s.value(), 1000.0);
        assert_eq!(ScalingValue::at_most(200.0).unwrap().value(), 200.0);
        assert_eq!(ScalingValue::at_most(1.0).unwrap().bits(), 16 << 11);
        assert!(ScalingValue::at_most(0.0).is_none());
        let odd = ScalingValue::at_most(0.994_837_7).unwrap().value();
        assert!(odd <= 0.994_837_7 && odd > 0.994_837_7 * (1.0 - 1.0 / 1024.0));
    }

    #[test]
    fn record_starts_with_the_2007_header() {
        let rec = SignatureRecord::from_samples(&caps(true), &five_second_signature(), capture())
            .unwrap();
        let bytes = rec.encode().unwrap();
        assert_eq!(&bytes[..8], b"SDI\0 10\0");
        // X, Y, T, F, TX, TY
        assert_eq!(u16::from_be_bytes([bytes[8], bytes[9]]), 0xC158);
        // X preamble: scaling only; 100 units per mm (resolution 200 capped at 0.01 mm)
        assert_eq!(bytes[10], 0x80);
        assert_eq!(
            ScalingValue::from_bits(u16::from_be_bytes([bytes[11], bytes[12]])).value(),
            100.0
        );
    }

    #[test]
    fn five_second_signature_is_small_and_round_trips() {
        let samples = five_second_signature();
        let rec = SignatureRecord::from_samples(&caps(true), &samples, capture()).unwrap();
        let bytes = rec.encode().unwrap();
        // 1000 samples × (X, Y, T, F, TX, TY) × 2 bytes + header + extension
        assert!(bytes.len() < 12_200, "record is {} bytes", bytes.len());
        let back = SignatureRecord::decode(&bytes).unwrap();
        assert_eq!(back, rec);
        let out = back.to_samples();
        assert_eq!(out.len(), samples.len());
        for (a, b) in samples.iter().zip(&out) {
            assert!((a.x - b.x).abs() <= 1 && (a.y - b.y).abs() <= 1);
            assert!(a.t_us.abs_diff(b.t_us) <= 50);
            assert_eq!(a.pressure, b.pressure);
            assert!((a.tilt_x.unwrap() - b.tilt_x.unwrap()).abs() <= 60);
            assert_eq!(a.flags.0 & 0x21, b.flags.0 & 0x21);
        }
        assert_eq!(back.capture_info(), Some(&capture()));
    }

    #[test]
    fn every_truncation_names_a_field_and_offset() {
        let rec =
            SignatureRecord::from_samples(&caps(false), &five_second_signature()[..20], capture())
                .unwrap();
        let bytes = rec.encode().unwrap();
        for n in 0..bytes.len() {
            match SignatureRecord::decode(&bytes[..n]) {
                Err(IsoError::Truncated { offset, .. }) => assert!(offset <= n),
                other => panic!("cut at {n}: {other:?}"),
            }
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            SignatureRecord::decode(&long),
            Err(IsoError::TrailingBytes { .. })
        ));
    }

    #[test]
    fn wrong_header_fields_are_named() {
        let rec =
            SignatureRecord::from_samples(&caps(false), &five_second_signature()[..5], capture())
                .unwrap();
        let good = rec.encode().unwrap();
        let mut b = good.clone();
        b[0] = b'X';
        assert!(matches!(
            SignatureRecord::decode(&b),
            Err(IsoError::InvalidField {
                field: "format identifier",
                offset: 0,
                ..
            })
        ));
        let mut b = good.clone();
        b[5] = b'2';
        assert!(matches!(
            SignatureRecord::decode(&b),
            Err(IsoError::InvalidField {
                field: "version number",
                offset: 4,
                ..
            })
        ));
        let mut b = good.clone();
        b[8] = 0x40; // drop X
        assert!(matches!(
            SignatureRecord::decode(&b),
            Err(IsoError::InvalidField {
                field: "channel inclusion field",
                offset: 8,
                ..
            })
        ));
        assert!(matches!(
            SignatureRecord::decode(&vec![0u8; MAX_RECORD_LEN + 1]),
            Err(IsoError::TooLarge { .. })
        ));
    }

    #[test]
    fn pen_up_samples_with_pressure_bring_the_s_channel() {
        let mut samples = five_second_signature()[..10].to_vec();
        samples[3].flags.set(SampleFlags::IN_CONTACT, false);
        let rec = SignatureRecord::from_samples(&caps(false), &samples, capture()).unwrap();
        assert!(rec.channel(Channel::S).is_some());
        let out = rec.to_samples();
        assert!(!out[3].in_contact() && out[4].in_contact());
    }

    #[test]
    fn bad_pen_input_is_rejected() {
        assert_eq!(
            SignatureRecord::from_samples(&caps(false), &[], capture()),
            Err(IsoError::NoSamples)
        );
        let mut s = five_second_signature()[..3].to_vec();
        s[2].t_us = 0;
        assert!(matches!(
            SignatureRecord::from_samples(&caps(false), &s, capture()),
            Err(IsoError::TimeNotMonotonic { index: 2, .. })
        ));
        let mut s = five_second_signature()[..3].to_vec();
        s[1].tilt_y = None;
        assert!(matches!(
            SignatureRecord::from_samples(&caps(true), &s, capture()),
            Err(IsoError::MissingValue {
                index: 1,
                channel: Channel::Ty
            })
        ));
    }

    fn arb_samples() -> impl Strategy<Value = (bool, Vec<PenSample>)> {
        (
            any::<bool>(),
            prop::collection::vec(
                (
                    0u64..20_000,
                    0i32..15_748,
                    0i32..9_842,
                    any::<u16>(),
                    -6_000i16..6_000,
                    -6_000i16..6_000,
                    any::<bool>(),
                    any::<bool>(),
                ),
                1..300,
            ),
        )
            .prop_map(|(tilt, v)| {
                let mut t = 0u64;
                let samples = v
                    .into_iter()
                    .map(|(dt, x, y, p, tx, ty, contact, gap)| {
                        t += dt;
                        let mut flags = SampleFlags(SampleFlags::IN_RANGE);
                        flags.set(SampleFlags::IN_CONTACT, contact);
                        flags.set(SampleFlags::GAP_BEFORE, gap);
                        PenSample {
                            t_us: t,
                            x,
                            y,
                            pressure: p,
                            tilt_x: tilt.then_some(tx),
                            tilt_y: tilt.then_some(ty),
                            flags,
                        }
                    })
                    .collect();
                (tilt, samples)
            })
    }

    proptest! {
        #[test]
        fn encode_decode_is_identity((tilt, samples) in arb_samples()) {
            let rec = SignatureRecord::from_samples(&caps(tilt), &samples, capture()).unwrap();
            let bytes = rec.encode().unwrap();
            let back = SignatureRecord::decode(&bytes).unwrap();
            prop_assert_eq!(&back, &rec);
            prop_assert_eq!(back.encode().unwrap(), bytes);
        }

        #[test]
        fn samples_survive_within_quantisation((tilt, samples) in arb_samples()) {
            let rec = SignatureRecord::from_samples(&caps(tilt), &samples, capture()).unwrap();
            let out = SignatureRecord::decode(&rec.encode().unwrap()).unwrap().to_samples();
            prop_assert_eq!(out.len(), samples.len());
            let t_step = 1e6 / rec.channel(Channel::T).unwrap().scaling.unwrap().value();
            let tilt_step = 100.0 / rec.channel(Channel::Tx).and_then(|d| d.scaling).map_or(100.0, |s| s.value());
            for (a, b) in samples.iter().zip(&out) {
                prop_assert!((a.x - b.x).abs() <= 1, "x {} vs {}", a.x, b.x);
                prop_assert!((a.y - b.y).abs() <= 1);
                prop_assert!((a.t_us.abs_diff(b.t_us) as f64) <= t_step / 2.0 + 1.0);
                prop_assert_eq!(a.pressure, b.pressure);
                prop_assert_eq!(a.in_contact(), b.in_contact());
                prop_assert_eq!(a.flags.contains(SampleFlags::GAP_BEFORE), b.flags.contains(SampleFlags::GAP_BEFORE));
                if tilt {
                    let d = f64::from((a.tilt_x.unwrap() - b.tilt_x.unwrap()).abs());
                    prop_assert!(d <= tilt_step / 2.0 + 1.0, "tilt {:?} vs {:?}", a.tilt_x, b.tilt_x);
                }
            }
        }

        #[test]
        fn decoder_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = SignatureRecord::decode(&bytes);
            let mut framed = b"SDI\0 10\0".to_vec();
            framed.extend_from_slice(&bytes);
            if let Ok(rec) = SignatureRecord::decode(&framed) {
                let again = SignatureRecord::decode(&rec.encode().unwrap()).unwrap();
                prop_assert_eq!(again, rec);
            }
        }
    }
}
