//! Errors of the ink crate: one variant per thing a caller can act on.

/// Everything that can go wrong when reading a trace, converting events or
/// rendering ink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InkError {
    /// A line of an evemu trace is malformed.
    #[error("evemu trace line {line}: {problem}")]
    Trace { line: usize, problem: TraceProblem },

    /// The trace text is larger than the configured limit.
    #[error(
        "evemu trace is {size} bytes, over the limit of {limit} bytes \
         (raise TraceLimits::max_bytes if the recording is genuine)"
    )]
    TraceTooLarge { size: usize, limit: usize },

    /// The device description lacks an axis every pen digitizer must have.
    #[error(
        "the device has no {axis} axis (no `A:` line / absinfo for it); \
         a pen digitizer must report ABS_X and ABS_Y"
    )]
    MissingAxis { axis: &'static str },

    /// An axis has an empty or inverted range.
    #[error("axis {axis} has the empty range {min}..={max}; the device's absinfo is broken")]
    EmptyAxisRange {
        axis: &'static str,
        min: i32,
        max: i32,
    },

    /// X or Y has no usable resolution, so positions cannot be given in mm.
    #[error(
        "axis {axis} reports resolution {resolution} units/mm, so positions cannot be \
         converted to millimetres; give the digitizer its resolution with a udev hwdb \
         entry (EVDEV_ABS_{code:02X}=::<units per mm>)"
    )]
    UnknownResolution {
        axis: &'static str,
        code: u16,
        resolution: i32,
    },

    /// The requested image size is zero or too large.
    #[error("image size {width}x{height} px is outside 1..={max} px per side")]
    ImageSize { width: u32, height: u32, max: u32 },

    /// A render option is out of its valid range.
    #[error("render option {option} = {value} is invalid: expected {expected}")]
    RenderOption {
        option: &'static str,
        value: String,
        expected: &'static str,
    },

    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    PngEncode(String),
}

/// What is wrong with one line of an evemu trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceProblem {
    #[error("not valid UTF-8 text")]
    NotUtf8,

    #[error("line is longer than {limit} bytes")]
    LineTooLong { limit: usize },

    #[error(
        "unknown line kind {found:?}; expected a `#` comment or one of \
         N:, I:, P:, B:, A:, L:, S:, E:"
    )]
    UnknownLine { found: String },

    #[error("{what}: expected {expected}, found {found:?}")]
    BadField {
        what: &'static str,
        expected: &'static str,
        found: String,
    },

    #[error("{what}: missing field, expected {expected}")]
    MissingField {
        what: &'static str,
        expected: &'static str,
    },

    #[error("{what}: unexpected extra field {found:?}")]
    ExtraField { what: &'static str, found: String },

    #[error("{what} {value:#x} is above the kernel maximum {max:#x}")]
    OutOfRange {
        what: &'static str,
        value: u32,
        max: u32,
    },

    #[error("absolute axis {code:#04x}: min {min} is greater than max {max}")]
    InvertedAxis { code: u16, min: i32, max: i32 },

    #[error("second {what} line; a trace describes one device")]
    Duplicate { what: &'static str },

    #[error(
        "device description line after the first event; \
         N:, I:, P:, B:, A: lines must come before the E: lines"
    )]
    DescriptionAfterEvents,

    #[error(
        "more than {limit} events (raise TraceLimits::max_events if the recording is genuine)"
    )]
    TooManyEvents { limit: usize },
}
