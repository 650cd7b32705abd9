//! Ink: pen traces in evemu format, conversion of evdev events into samples in
//! physical units, the stroke model, smoothing, and rendering of the
//! handwritten signature to PNG and SVG.
//!
//! Pure computation: it never opens a device or a file, never logs sample
//! values, and depends on no evdev binding, so the input daemon, the CLI and
//! the tests share the same conversion.
//!
//! Flow: [`Trace::parse`] (or live events) → [`Capture`] → [`PenSample`]s →
//! [`split_strokes`] → [`render_png`] / [`render_svg`].
//!
//! [`PenSample`]: signpad_types::PenSample

pub mod capture;
pub mod error;
pub mod evemu;
pub mod event;
pub mod render;
pub mod smooth;
pub mod stroke;

pub use capture::{capture_trace, Capture, CaptureWarning, CapturedTrace};
pub use error::{InkError, TraceProblem};
pub use evemu::{AbsAxis, DeviceDescription, Trace, TraceLimits};
pub use event::Event;
pub use render::{render_png, render_svg, Background, RenderOptions, Rgba8, MAX_IMAGE_SIDE};
pub use smooth::{smooth_stroke, InkPoint};
pub use stroke::{ink_stats, split_strokes, BoundingBox, InkStats, Stroke};
