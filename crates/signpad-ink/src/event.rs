//! The evdev event vocabulary: one kernel `struct input_event` as plain data,
//! and the few event types and codes a pen digitizer uses.
//!
//! The constants are copied from `linux/input-event-codes.h` so that this crate
//! works on any event source (an evemu trace, a live `/dev/input/event*` read by
//! the input daemon, a test) without depending on an evdev binding.

/// One input event: time in microseconds (kernel timestamp, any epoch), type,
/// code and value as in `struct input_event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    pub time_us: u64,
    pub ev_type: u16,
    pub code: u16,
    pub value: i32,
}

impl Event {
    pub const fn new(time_us: u64, ev_type: u16, code: u16, value: i32) -> Self {
        Self {
            time_us,
            ev_type,
            code,
            value,
        }
    }
}

/// Event types (`EV_*`).
pub mod ev {
    pub const SYN: u16 = 0x00;
    pub const KEY: u16 = 0x01;
    pub const REL: u16 = 0x02;
    pub const ABS: u16 = 0x03;
    pub const MSC: u16 = 0x04;
    /// Highest event type the kernel defines (`EV_MAX`).
    pub const MAX: u16 = 0x1f;
}

/// `EV_SYN` codes.
pub mod syn {
    pub const REPORT: u16 = 0;
    pub const CONFIG: u16 = 1;
    pub const MT_REPORT: u16 = 2;
    pub const DROPPED: u16 = 3;
}

/// `EV_KEY` codes a pen uses.
pub mod key {
    pub const BTN_TOOL_PEN: u16 = 0x140;
    pub const BTN_TOOL_RUBBER: u16 = 0x141;
    pub const BTN_TOUCH: u16 = 0x14a;
    pub const BTN_STYLUS: u16 = 0x14b;
    pub const BTN_STYLUS2: u16 = 0x14c;
    /// Highest key code the kernel defines (`KEY_MAX`).
    pub const MAX: u16 = 0x2ff;
}

/// `EV_ABS` codes a pen uses.
pub mod abs {
    pub const X: u16 = 0x00;
    pub const Y: u16 = 0x01;
    pub const PRESSURE: u16 = 0x18;
    pub const DISTANCE: u16 = 0x19;
    pub const TILT_X: u16 = 0x1a;
    pub const TILT_Y: u16 = 0x1b;
    /// Highest absolute axis code the kernel defines (`ABS_MAX`).
    pub const MAX: u16 = 0x3f;
}

/// `EV_MSC` codes.
pub mod msc {
    pub const SERIAL: u16 = 0x00;
    pub const SCAN: u16 = 0x04;
    pub const TIMESTAMP: u16 = 0x05;
}

/// Input device properties (`INPUT_PROP_*`).
pub mod prop {
    pub const POINTER: u16 = 0x00;
    pub const DIRECT: u16 = 0x01;
}

/// A readable name for an event type, for comments and messages.
pub fn type_name(ev_type: u16) -> &'static str {
    match ev_type {
        ev::SYN => "EV_SYN",
        ev::KEY => "EV_KEY",
        ev::REL => "EV_REL",
        ev::ABS => "EV_ABS",
        ev::MSC => "EV_MSC",
        _ => "?",
    }
}

/// A readable name for an event code, for comments and messages.
pub fn code_name(ev_type: u16, code: u16) -> &'static str {
    match (ev_type, code) {
        (ev::SYN, syn::REPORT) => "SYN_REPORT",
        (ev::SYN, syn::CONFIG) => "SYN_CONFIG",
        (ev::SYN, syn::MT_REPORT) => "SYN_MT_REPORT",
        (ev::SYN, syn::DROPPED) => "SYN_DROPPED",
        (ev::KEY, key::BTN_TOOL_PEN) => "BTN_TOOL_PEN",
        (ev::KEY, key::BTN_TOOL_RUBBER) => "BTN_TOOL_RUBBER",
        (ev::KEY, key::BTN_TOUCH) => "BTN_TOUCH",
        (ev::KEY, key::BTN_STYLUS) => "BTN_STYLUS",
        (ev::KEY, key::BTN_STYLUS2) => "BTN_STYLUS2",
        (ev::ABS, abs::X) => "ABS_X",
        (ev::ABS, abs::Y) => "ABS_Y",
        (ev::ABS, abs::PRESSURE) => "ABS_PRESSURE",
        (ev::ABS, abs::DISTANCE) => "ABS_DISTANCE",
        (ev::ABS, abs::TILT_X) => "ABS_TILT_X",
        (ev::ABS, abs::TILT_Y) => "ABS_TILT_Y",
        (ev::MSC, msc::SERIAL) => "MSC_SERIAL",
        (ev::MSC, msc::SCAN) => "MSC_SCAN",
        (ev::MSC, msc::TIMESTAMP) => "MSC_TIMESTAMP",
        _ => "?",
    }
}
