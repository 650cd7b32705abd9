//! The stroke model: a signature is a sequence of strokes, each a run of
//! samples with the pen tip on the surface (pen down … pen up).
//!
//! A stroke never spans lost data: a sample flagged
//! [`SampleFlags::GAP_BEFORE`] starts a new stroke, so no ink is drawn across
//! events the kernel dropped. Contact with the eraser end is not ink.

use signpad_types::{PenSample, SampleFlags};

/// One pen-down … pen-up run of in-contact samples (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stroke {
    samples: Vec<PenSample>,
}

impl Stroke {
    /// A stroke from in-contact samples; `None` when `samples` is empty.
    pub fn new(samples: Vec<PenSample>) -> Option<Self> {
        (!samples.is_empty()).then_some(Self { samples })
    }

    pub fn samples(&self) -> &[PenSample] {
        &self.samples
    }

    /// Time of pen down, µs since capture start.
    pub fn start_us(&self) -> u64 {
        self.samples.first().map_or(0, |s| s.t_us)
    }

    /// Time of the last in-contact sample, µs since capture start.
    pub fn end_us(&self) -> u64 {
        self.samples.last().map_or(0, |s| s.t_us)
    }

    pub fn duration_us(&self) -> u64 {
        self.end_us().saturating_sub(self.start_us())
    }

    /// Path length in 0.01 mm.
    pub fn length(&self) -> f64 {
        self.samples
            .windows(2)
            .map(|w| match w {
                [a, b] => (f64::from(b.x) - f64::from(a.x)).hypot(f64::from(b.y) - f64::from(a.y)),
                _ => 0.0,
            })
            .sum()
    }

    pub fn bounding_box(&self) -> BoundingBox {
        BoundingBox::around(&self.samples).unwrap_or(BoundingBox {
            min_x: 0,
            min_y: 0,
            max_x: 0,
            max_y: 0,
        })
    }
}

fn is_ink(s: &PenSample) -> bool {
    s.in_contact() && !s.flags.contains(SampleFlags::ERASER)
}

/// Splits a capture into strokes.
pub fn split_strokes(samples: &[PenSample]) -> Vec<Stroke> {
    let mut strokes = Vec::new();
    let mut current: Vec<PenSample> = Vec::new();
    for s in samples {
        let gap = s.flags.contains(SampleFlags::GAP_BEFORE);
        if !is_ink(s) || gap {
            strokes.extend(Stroke::new(std::mem::take(&mut current)));
        }
        if is_ink(s) {
            current.push(*s);
        }
    }
    strokes.extend(Stroke::new(current));
    strokes
}

/// Axis-aligned box in 0.01 mm, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundingBox {
    pub min_x: i32,
    pub min_y: i32,
    pub max_x: i32,
    pub max_y: i32,
}

impl BoundingBox {
    /// The box around the samples' positions; `None` for no samples.
    pub fn around(samples: &[PenSample]) -> Option<Self> {
        let mut b = None;
        for s in samples {
            include(&mut b, s.x, s.y);
        }
        b
    }

    /// Width in 0.01 mm.
    pub fn width(&self) -> i64 {
        i64::from(self.max_x) - i64::from(self.min_x)
    }

    /// Height in 0.01 mm.
    pub fn height(&self) -> i64 {
        i64::from(self.max_y) - i64::from(self.min_y)
    }
}

fn include(b: &mut Option<BoundingBox>, x: i32, y: i32) {
    *b = Some(match *b {
        None => BoundingBox {
            min_x: x,
            min_y: y,
            max_x: x,
            max_y: y,
        },
        Some(b) => BoundingBox {
            min_x: b.min_x.min(x),
            min_y: b.min_y.min(y),
            max_x: b.max_x.max(x),
            max_y: b.max_y.max(y),
        },
    });
}

/// Capture statistics, as recorded in the ceremony record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InkStats {
    /// All samples, hovering included.
    pub samples: usize,
    /// Samples with the tip on the surface.
    pub contact_samples: usize,
    pub strokes: usize,
    /// Samples flagged [`SampleFlags::GAP_BEFORE`].
    pub gaps: usize,
    /// First to last sample, µs.
    pub duration_us: u64,
    /// Pen-down time summed over strokes, µs.
    pub writing_us: u64,
    /// Box around the ink (in-contact samples); `None` when nothing was written.
    pub bounding_box: Option<BoundingBox>,
}

/// Statistics of a capture.
pub fn ink_stats(samples: &[PenSample]) -> InkStats {
    let strokes = split_strokes(samples);
    let mut bbox = None;
    for s in samples.iter().filter(|s| is_ink(s)) {
        include(&mut bbox, s.x, s.y);
    }
    InkStats {
        samples: samples.len(),
        contact_samples: samples.iter().filter(|s| s.in_contact()).count(),
        strokes: strokes.len(),
        gaps: samples
            .iter()
            .filter(|s| s.flags.contains(SampleFlags::GAP_BEFORE))
            .count(),
        duration_us: match (samples.first(), samples.last()) {
            (Some(a), Some(b)) => b.t_us.saturating_sub(a.t_us),
            _ => 0,
        },
        writing_us: strokes.iter().map(Stroke::duration_us).sum(),
        bounding_box: bbox,
    }
}
