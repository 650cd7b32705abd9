//! Ink: pen traces in evemu format, conversion of evdev events into samples in
//! physical units, the stroke model, smoothing, and rendering of the
//! handwritten signature to PNG and SVG.
//!
//! Pure computation: it never opens a device or a file.
