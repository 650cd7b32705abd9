//! `signpadctl render`: draws an ISO/IEC 19794-7 record as PNG and/or SVG.

use super::{exit, read_limited, write_atomic, EXIT_OK, MAX_SMALL_FILE};
use anyhow::{bail, Context, Result};
use signpad_ink::{ink_stats, render_png, render_svg, split_strokes, RenderOptions};
use signpad_package::iso19794::SignatureRecord;
use std::path::Path;
use std::process::ExitCode;

/// Render options for an image `width` pixels wide whose height follows the
/// aspect ratio of the ink (between 1/6 and 1/1 of the width).
pub fn options_for(samples: &[signpad_types::PenSample], width: u32) -> RenderOptions {
    let stats = ink_stats(samples);
    let aspect = stats
        .bounding_box
        .map(|b| b.height().max(1) as f64 / b.width().max(1) as f64)
        .unwrap_or(1.0 / 3.0)
        .clamp(1.0 / 6.0, 1.0);
    let height = ((f64::from(width) * aspect).round() as u32).max(1);
    RenderOptions::sized(width, height)
}

pub fn run(iso: &Path, png: Option<&Path>, svg: Option<&Path>, width: u32) -> Result<ExitCode> {
    if png.is_none() && svg.is_none() {
        bail!("nothing to do: give --png FILE and/or --svg FILE");
    }
    let bytes = read_limited(iso, "ISO/IEC 19794-7 record", MAX_SMALL_FILE)?;
    let record = SignatureRecord::decode(&bytes)
        .with_context(|| format!("{} is not a valid ISO/IEC 19794-7 record", iso.display()))?;
    let samples = record.to_samples();
    let strokes = split_strokes(&samples);
    let options = options_for(&samples, width);
    if let Some(path) = png {
        write_atomic(path, &render_png(&strokes, &options)?)?;
        println!("{} strokes -> {}", strokes.len(), path.display());
    }
    if let Some(path) = svg {
        write_atomic(path, render_svg(&strokes, &options)?.as_bytes())?;
        println!("{} strokes -> {}", strokes.len(), path.display());
    }
    Ok(exit(EXIT_OK))
}
