//! evemu-record text traces: parser and writer.
//!
//! The format (evemu 1.3) is line based:
//!
//! ```text
//! # EVEMU 1.3                      comment (also allowed after a value)
//! N: Wacom Intuos Pro M Pen         device name
//! I: 0003 056a 0357 0110            bus, vendor, product, version (hex)
//! P: 01 00 00 00 00 00 00 00        input properties bitmask bytes (hex)
//! B: 03 03 00 00 0f 00 00 00 00     event type, then that type's code bitmask bytes
//! A: 00 0 21600 4 0 100             abs code (hex), min, max, fuzz, flat[, resolution]
//! E: 0.005012 0003 0000 10800       sec.usec, type (hex), code (hex), value
//! ```
//!
//! `B:` and `P:` lines for the same index continue the bitmask where the
//! previous line stopped. `L:` (LED) and `S:` (switch) state lines are
//! accepted and ignored. Every error names the line and what is wrong; input
//! size, line length and event count are bounded by [`TraceLimits`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use signpad_types::{AxisInfo, PenCapabilities};

use crate::error::{InkError, TraceProblem};
use crate::event::{abs, ev, key, Event};

/// Bounds on what [`Trace::parse_with_limits`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceLimits {
    /// Whole trace size in bytes.
    pub max_bytes: usize,
    /// Length of one line in bytes.
    pub max_line_len: usize,
    /// Number of `E:` lines.
    pub max_events: usize,
}

impl Default for TraceLimits {
    /// 64 MiB, 4 KiB lines, two million events: about an hour of a 200 Hz pen.
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_line_len: 4096,
            max_events: 2_000_000,
        }
    }
}

/// Range of one absolute axis, as in the kernel's `struct input_absinfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AbsAxis {
    pub min: i32,
    pub max: i32,
    pub fuzz: i32,
    pub flat: i32,
    /// Units per mm (X/Y), units per radian (tilt); 0 when unknown.
    pub resolution: i32,
}

impl AbsAxis {
    pub const fn new(min: i32, max: i32, resolution: i32) -> Self {
        Self {
            min,
            max,
            fuzz: 0,
            flat: 0,
            resolution,
        }
    }

    pub const fn info(&self) -> AxisInfo {
        AxisInfo {
            min: self.min,
            max: self.max,
            resolution: self.resolution,
        }
    }
}

/// The device part of a trace: identity, supported event codes and absinfo.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceDescription {
    pub name: String,
    pub bus: u16,
    pub vendor: u16,
    pub product: u16,
    pub version: u16,
    /// Input properties (`INPUT_PROP_*`) that are set.
    pub properties: BTreeSet<u16>,
    /// Supported codes per `B:` index, as `EVIOCGBIT` reports them: index 0
    /// (`EV_SYN`) holds the supported event *types*, index `t > 0` the codes
    /// of type `t`.
    pub codes: BTreeMap<u16, BTreeSet<u16>>,
    /// Absinfo per absolute axis code (`A:` lines).
    pub abs: BTreeMap<u16, AbsAxis>,
}

impl DeviceDescription {
    /// Declares an absolute axis: its absinfo and its `EV_ABS` bit.
    pub fn add_abs(&mut self, code: u16, axis: AbsAxis) {
        self.abs.insert(code, axis);
        self.add_code(ev::ABS, code);
    }

    /// Declares that the device sends `code` of type `ev_type` (> 0), and so
    /// the types `ev_type` and `EV_SYN`.
    pub fn add_code(&mut self, ev_type: u16, code: u16) {
        let types = self.codes.entry(ev::SYN).or_default();
        types.insert(ev::SYN);
        types.insert(ev_type);
        if ev_type != ev::SYN {
            self.codes.entry(ev_type).or_default().insert(code);
        }
    }

    /// The device has this absolute axis (absinfo present).
    pub fn has_abs(&self, code: u16) -> bool {
        self.abs.contains_key(&code)
    }

    /// The device can send this key or button.
    pub fn has_key(&self, code: u16) -> bool {
        self.codes.get(&ev::KEY).is_some_and(|k| k.contains(&code))
    }

    /// The pen capabilities with the ranges needed for physical units.
    ///
    /// Fails when X or Y is missing; their ranges and resolutions are checked
    /// by [`crate::Capture::new`].
    pub fn capabilities(&self) -> Result<PenCapabilities, InkError> {
        let axis = |code| self.abs.get(&code).map(AbsAxis::info);
        Ok(PenCapabilities {
            name: self.name.clone(),
            vendor: self.vendor,
            product: self.product,
            x: axis(abs::X).ok_or(InkError::MissingAxis { axis: "ABS_X" })?,
            y: axis(abs::Y).ok_or(InkError::MissingAxis { axis: "ABS_Y" })?,
            pressure: axis(abs::PRESSURE),
            tilt_x: axis(abs::TILT_X),
            tilt_y: axis(abs::TILT_Y),
            distance: axis(abs::DISTANCE),
        })
    }
}

/// A recorded evemu trace: the device and its events in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    pub device: DeviceDescription,
    pub events: Vec<Event>,
}

/// Largest code of any event type (`KEY_MAX`); bitmasks are bounded by it.
const MAX_CODE: u16 = key::MAX;
/// Longest device name kept (the kernel's own limit is 80 bytes for uinput).
const MAX_NAME_LEN: usize = 256;

impl Trace {
    /// Parses an evemu trace with the default [`TraceLimits`].
    pub fn parse(text: &str) -> Result<Self, InkError> {
        Self::parse_with_limits(text, &TraceLimits::default())
    }

    /// Parses raw bytes, naming the line of the first invalid UTF-8 sequence.
    pub fn parse_bytes(bytes: &[u8], limits: &TraceLimits) -> Result<Self, InkError> {
        if bytes.len() > limits.max_bytes {
            return Err(InkError::TraceTooLarge {
                size: bytes.len(),
                limit: limits.max_bytes,
            });
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::parse_with_limits(text, limits),
            Err(e) => {
                let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
                let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
                Err(InkError::Trace {
                    line,
                    problem: TraceProblem::NotUtf8,
                })
            }
        }
    }

    /// Parses an evemu trace within `limits`.
    pub fn parse_with_limits(text: &str, limits: &TraceLimits) -> Result<Self, InkError> {
        if text.len() > limits.max_bytes {
            return Err(InkError::TraceTooLarge {
                size: text.len(),
                limit: limits.max_bytes,
            });
        }
        let mut parser = Parser::default();
        for (index, raw) in text.split('\n').enumerate() {
            let line = index + 1;
            parser
                .line(raw, limits)
                .map_err(|problem| InkError::Trace { line, problem })?;
        }
        Ok(parser.trace)
    }

    /// Writes the trace as evemu 1.3 text (what `evemu-record` produces),
    /// with readable comments after each event.
    pub fn to_evemu(&self) -> String {
        let d = &self.device;
        let name = sanitize_name(&d.name);
        let mut out = String::with_capacity(64 * self.events.len() + 1024);
        let _ = writeln!(out, "# EVEMU 1.3");
        let _ = writeln!(out, "# Input device name: \"{name}\"");
        let _ = writeln!(
            out,
            "# Input device ID: bus {:#x} vendor {:#x} product {:#x} version {:#x}",
            d.bus, d.vendor, d.product, d.version
        );
        for (code, a) in &d.abs {
            let _ = writeln!(
                out,
                "#   abs {code:#04x} ({}): min {} max {} fuzz {} flat {} resolution {}",
                crate::event::code_name(ev::ABS, *code),
                a.min,
                a.max,
                a.fuzz,
                a.flat,
                a.resolution
            );
        }
        let _ = writeln!(out, "N: {name}");
        let _ = writeln!(
            out,
            "I: {:04x} {:04x} {:04x} {:04x}",
            d.bus, d.vendor, d.product, d.version
        );
        for chunk in bitmask_bytes(&d.properties).chunks(8) {
            let _ = writeln!(out, "P: {}", hex_bytes(chunk));
        }
        for (ev_type, codes) in &d.codes {
            for chunk in bitmask_bytes(codes).chunks(8) {
                let _ = writeln!(out, "B: {ev_type:02x} {}", hex_bytes(chunk));
            }
        }
        for (code, a) in &d.abs {
            let _ = writeln!(
                out,
                "A: {code:02x} {} {} {} {} {}",
                a.min, a.max, a.fuzz, a.flat, a.resolution
            );
        }
        let mut last_report: Option<u64> = None;
        for e in &self.events {
            let _ = write!(
                out,
                "E: {}.{:06} {:04x} {:04x} {}\t# ",
                e.time_us / 1_000_000,
                e.time_us % 1_000_000,
                e.ev_type,
                e.code,
                e.value
            );
            if e.ev_type == ev::SYN {
                let since = last_report.map_or(0, |t| e.time_us.saturating_sub(t) / 1000);
                let _ = writeln!(
                    out,
                    "------------ {} ({}) ---------- +{since}ms",
                    crate::event::code_name(e.ev_type, e.code),
                    e.value
                );
                if e.code == crate::event::syn::REPORT {
                    last_report = Some(e.time_us);
                }
            } else {
                let _ = writeln!(
                    out,
                    "{} / {:<20} {}",
                    crate::event::type_name(e.ev_type),
                    crate::event::code_name(e.ev_type, e.code),
                    e.value
                );
            }
        }
        out
    }
}

fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn bitmask_bytes(bits: &BTreeSet<u16>) -> Vec<u8> {
    let len = bits.last().map_or(1, |&max| usize::from(max) / 8 + 1);
    // evemu writes whole lines of 8 bytes.
    let mut bytes = vec![0u8; len.div_ceil(8) * 8];
    for &bit in bits {
        if let Some(b) = bytes.get_mut(usize::from(bit) / 8) {
            *b |= 1 << (bit % 8);
        }
    }
    bytes
}

fn hex_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Shortens untrusted text quoted in an error message.
fn quote(s: &str) -> String {
    const MAX: usize = 40;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", s.get(..end).unwrap_or_default())
}

#[derive(Default)]
struct Parser {
    trace: Trace,
    seen_name: bool,
    seen_id: bool,
    /// Bytes of bitmask read so far per `B:` index, and for `P:`.
    bitmask_offset: BTreeMap<u16, usize>,
    prop_offset: usize,
}

type LineResult = Result<(), TraceProblem>;

impl Parser {
    fn line(&mut self, raw: &str, limits: &TraceLimits) -> LineResult {
        if raw.len() > limits.max_line_len {
            return Err(TraceProblem::LineTooLong {
                limit: limits.max_line_len,
            });
        }
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return Ok(());
        }
        let Some((kind, rest)) = trimmed.split_once(':') else {
            return Err(TraceProblem::UnknownLine {
                found: quote(trimmed),
            });
        };
        if matches!(kind, "N" | "I" | "P" | "B" | "A") && !self.trace.events.is_empty() {
            return Err(TraceProblem::DescriptionAfterEvents);
        }
        // The name is taken verbatim; other lines may end in a comment.
        if kind == "N" {
            return self.name(rest);
        }
        let body = rest.split_once('#').map_or(rest, |(b, _)| b);
        let mut fields = body.split_whitespace();
        match kind {
            "I" => self.id(&mut fields),
            "P" => self.props(&mut fields),
            "B" => self.bits(&mut fields),
            "A" => self.absinfo(&mut fields),
            "L" | "S" => Ok(()),
            "E" => self.event(&mut fields, limits),
            other => Err(TraceProblem::UnknownLine {
                found: quote(&format!("{other}:")),
            }),
        }
    }

    fn name(&mut self, rest: &str) -> LineResult {
        if self.seen_name {
            return Err(TraceProblem::Duplicate { what: "N:" });
        }
        let name = rest.trim();
        if name.len() > MAX_NAME_LEN {
            return Err(TraceProblem::BadField {
                what: "N: device name",
                expected: "at most 256 bytes",
                found: quote(name),
            });
        }
        self.seen_name = true;
        self.trace.device.name = name.to_owned();
        Ok(())
    }

    fn id<'a>(&mut self, fields: &mut impl Iterator<Item = &'a str>) -> LineResult {
        if self.seen_id {
            return Err(TraceProblem::Duplicate { what: "I:" });
        }
        let d = &mut self.trace.device;
        d.bus = hex_u16(fields.next(), "I: bus")?;
        d.vendor = hex_u16(fields.next(), "I: vendor")?;
        d.product = hex_u16(fields.next(), "I: product")?;
        d.version = hex_u16(fields.next(), "I: version")?;
        no_more(fields, "I:")?;
        self.seen_id = true;
        Ok(())
    }

    fn props<'a>(&mut self, fields: &mut impl Iterator<Item = &'a str>) -> LineResult {
        let mut offset = self.prop_offset;
        let set = &mut self.trace.device.properties;
        read_bitmask(fields, &mut offset, set, "P: property byte")?;
        self.prop_offset = offset;
        Ok(())
    }

    fn bits<'a>(&mut self, fields: &mut impl Iterator<Item = &'a str>) -> LineResult {
        let ev_type = hex_u16(fields.next(), "B: event type")?;
        if ev_type > ev::MAX {
            return Err(TraceProblem::OutOfRange {
                what: "B: event type",
                value: u32::from(ev_type),
                max: u32::from(ev::MAX),
            });
        }
        let offset = self.bitmask_offset.entry(ev_type).or_insert(0);
        let set = self.trace.device.codes.entry(ev_type).or_default();
        read_bitmask(fields, offset, set, "B: bitmask byte")?;
        if set.is_empty() {
            self.trace.device.codes.remove(&ev_type);
        }
        Ok(())
    }

    fn absinfo<'a>(&mut self, fields: &mut impl Iterator<Item = &'a str>) -> LineResult {
        let code = hex_u16(fields.next(), "A: axis code")?;
        if code > abs::MAX {
            return Err(TraceProblem::OutOfRange {
                what: "A: axis code",
                value: u32::from(code),
                max: u32::from(abs::MAX),
            });
        }
        if self.trace.device.abs.contains_key(&code) {
            return Err(TraceProblem::Duplicate { what: "A: axis" });
        }
        let min = dec_i32(fields.next(), "A: min")?;
        let max = dec_i32(fields.next(), "A: max")?;
        let fuzz = dec_i32(fields.next(), "A: fuzz")?;
        let flat = dec_i32(fields.next(), "A: flat")?;
        // Format 1.0-1.2 have no resolution column.
        let resolution = match fields.next() {
            None => 0,
            Some(f) => dec_i32(Some(f), "A: resolution")?,
        };
        no_more(fields, "A:")?;
        if min > max {
            return Err(TraceProblem::InvertedAxis { code, min, max });
        }
        self.trace.device.abs.insert(
            code,
            AbsAxis {
                min,
                max,
                fuzz,
                flat,
                resolution,
            },
        );
        Ok(())
    }

    fn event<'a>(
        &mut self,
        fields: &mut impl Iterator<Item = &'a str>,
        limits: &TraceLimits,
    ) -> LineResult {
        if self.trace.events.len() >= limits.max_events {
            return Err(TraceProblem::TooManyEvents {
                limit: limits.max_events,
            });
        }
        let time_us = timestamp(fields.next())?;
        let ev_type = hex_u16(fields.next(), "E: event type")?;
        if ev_type > ev::MAX {
            return Err(TraceProblem::OutOfRange {
                what: "E: event type",
                value: u32::from(ev_type),
                max: u32::from(ev::MAX),
            });
        }
        let code = hex_u16(fields.next(), "E: event code")?;
        if code > MAX_CODE {
            return Err(TraceProblem::OutOfRange {
                what: "E: event code",
                value: u32::from(code),
                max: u32::from(MAX_CODE),
            });
        }
        let value = dec_i32(fields.next(), "E: value")?;
        no_more(fields, "E:")?;
        self.trace.events.push(Event {
            time_us,
            ev_type,
            code,
            value,
        });
        Ok(())
    }
}

fn read_bitmask<'a>(
    fields: &mut impl Iterator<Item = &'a str>,
    offset: &mut usize,
    set: &mut BTreeSet<u16>,
    what: &'static str,
) -> LineResult {
    for field in fields {
        let byte = u8::from_str_radix(field, 16).map_err(|_| TraceProblem::BadField {
            what,
            expected: "a hex byte such as 0b",
            found: quote(field),
        })?;
        let base = *offset * 8;
        for bit in 0..8 {
            if byte & (1 << bit) != 0 {
                let code = base + bit;
                let code = u16::try_from(code).ok().filter(|&c| c <= MAX_CODE).ok_or(
                    TraceProblem::OutOfRange {
                        what: "bitmask code",
                        value: u32::try_from(code).unwrap_or(u32::MAX),
                        max: u32::from(MAX_CODE),
                    },
                )?;
                set.insert(code);
            }
        }
        *offset += 1;
    }
    Ok(())
}

fn hex_u16(field: Option<&str>, what: &'static str) -> Result<u16, TraceProblem> {
    const EXPECTED: &str = "a hexadecimal number 0000..ffff";
    let f = field.ok_or(TraceProblem::MissingField {
        what,
        expected: EXPECTED,
    })?;
    u16::from_str_radix(f, 16).map_err(|_| TraceProblem::BadField {
        what,
        expected: EXPECTED,
        found: quote(f),
    })
}

fn dec_i32(field: Option<&str>, what: &'static str) -> Result<i32, TraceProblem> {
    const EXPECTED: &str = "a decimal 32-bit integer";
    let f = field.ok_or(TraceProblem::MissingField {
        what,
        expected: EXPECTED,
    })?;
    f.parse::<i32>().map_err(|_| TraceProblem::BadField {
        what,
        expected: EXPECTED,
        found: quote(f),
    })
}

fn timestamp(field: Option<&str>) -> Result<u64, TraceProblem> {
    const WHAT: &str = "E: timestamp";
    const EXPECTED: &str = "seconds.microseconds with 6 digits, such as 12.005000";
    let f = field.ok_or(TraceProblem::MissingField {
        what: WHAT,
        expected: EXPECTED,
    })?;
    let bad = || TraceProblem::BadField {
        what: WHAT,
        expected: EXPECTED,
        found: quote(f),
    };
    let (sec, usec) = f.split_once('.').ok_or_else(bad)?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(sec) || !all_digits(usec) || usec.len() != 6 {
        return Err(bad());
    }
    let sec: u64 = sec.parse().map_err(|_| bad())?;
    let usec: u64 = usec.parse().map_err(|_| bad())?;
    sec.checked_mul(1_000_000)
        .and_then(|s| s.checked_add(usec))
        .ok_or_else(bad)
}

fn no_more<'a>(fields: &mut impl Iterator<Item = &'a str>, what: &'static str) -> LineResult {
    match fields.next() {
        None => Ok(()),
        Some(extra) => Err(TraceProblem::ExtraField {
            what,
            found: quote(extra),
        }),
    }
}
