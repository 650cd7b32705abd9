//! Smoothing: a dense curve through the recorded samples.
//!
//! We use **centripetal Catmull-Rom** interpolation (α = 0.5), not a filter
//! such as one-euro or Chaikin corner cutting:
//!
//! - the curve passes exactly through every recorded sample, so the image
//!   shows what the digitizer measured and nothing is moved — a signature
//!   image is evidence, and the biometric record holds the same points;
//! - at 200 Hz a fast stroke moves 1–2 mm between samples, which a polyline
//!   shows as visible corners; the spline removes them without lag (one-euro
//!   is made for live cursors and trails behind fast motion) and without
//!   shrinking loops (Chaikin cuts every corner inwards);
//! - the centripetal parametrisation never forms cusps or self-intersecting
//!   loops when sample spacing is uneven (slow pen-down next to fast
//!   strokes), unlike the uniform variant.
//!
//! Digitizer noise is ±1 raw unit (0.01 mm), far below the rendered line
//! width, so there is nothing a low-pass filter would need to remove.

use crate::stroke::Stroke;

/// A point of the smoothed curve, in mm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InkPoint {
    pub x_mm: f32,
    pub y_mm: f32,
    /// Pressure 0..=1.
    pub pressure: f32,
    /// Pen speed in mm/s, smoothed over neighbouring samples.
    pub speed_mm_s: f32,
}

/// Interpolates `stroke` with centripetal Catmull-Rom so that consecutive
/// points are at most `max_step_mm` apart (and at most 64 points per sample
/// interval). Samples at the same position are merged (the larger pressure
/// is kept). A one-sample stroke gives one point: a dot.
pub fn smooth_stroke(stroke: &Stroke, max_step_mm: f32) -> Vec<InkPoint> {
    let points = sample_points(stroke);
    let step = if max_step_mm.is_finite() && max_step_mm > 0.0 {
        max_step_mm
    } else {
        0.25
    };
    let n = points.len();
    if n < 2 {
        return points;
    }
    let mut out = Vec::with_capacity(n * 4);
    for i in 0..n - 1 {
        let p1 = points[i];
        let p2 = points[i + 1];
        // Reflect the end points to make up the missing neighbours.
        let p0 = if i > 0 {
            points[i - 1]
        } else {
            reflect(p1, p2)
        };
        let p3 = if i + 2 < n {
            points[i + 2]
        } else {
            reflect(p2, p1)
        };
        let len = dist(p1, p2);
        let parts = ((len / step).ceil() as usize).clamp(1, 64);
        out.push(p1);
        for k in 1..parts {
            let u = k as f32 / parts as f32;
            let (x_mm, y_mm) = centripetal(p0, p1, p2, p3, u);
            out.push(InkPoint {
                x_mm,
                y_mm,
                pressure: lerp(p1.pressure, p2.pressure, u),
                speed_mm_s: lerp(p1.speed_mm_s, p2.speed_mm_s, u),
            });
        }
    }
    out.extend(points.last().copied());
    out
}

/// Samples → points in mm with pressure 0..1 and a smoothed speed.
fn sample_points(stroke: &Stroke) -> Vec<InkPoint> {
    let samples = stroke.samples();
    let mut pts: Vec<(InkPoint, u64)> = Vec::with_capacity(samples.len());
    for s in samples {
        let p = InkPoint {
            x_mm: s.x as f32 / 100.0,
            y_mm: s.y as f32 / 100.0,
            pressure: f32::from(s.pressure) / 65535.0,
            speed_mm_s: 0.0,
        };
        match pts.last_mut() {
            Some((last, _)) if last.x_mm == p.x_mm && last.y_mm == p.y_mm => {
                last.pressure = last.pressure.max(p.pressure);
            }
            _ => pts.push((p, s.t_us)),
        }
    }
    // Central-difference speed, then an exponential moving average so the
    // width does not flicker from one sample to the next.
    let n = pts.len();
    let mut smoothed = 0.0f32;
    for i in 0..n {
        let a = pts[i.saturating_sub(1)];
        let b = pts[(i + 1).min(n - 1)];
        let dt_s = b.1.saturating_sub(a.1) as f32 / 1e6;
        let v = if dt_s > 0.0 {
            dist(a.0, b.0) / dt_s
        } else {
            smoothed
        };
        smoothed = if i == 0 { v } else { 0.7 * smoothed + 0.3 * v };
        pts[i].0.speed_mm_s = smoothed;
    }
    pts.into_iter().map(|(p, _)| p).collect()
}

fn reflect(p: InkPoint, about: InkPoint) -> InkPoint {
    InkPoint {
        x_mm: 2.0 * p.x_mm - about.x_mm,
        y_mm: 2.0 * p.y_mm - about.y_mm,
        ..p
    }
}

fn dist(a: InkPoint, b: InkPoint) -> f32 {
    (b.x_mm - a.x_mm).hypot(b.y_mm - a.y_mm)
}

fn lerp(a: f32, b: f32, u: f32) -> f32 {
    a + (b - a) * u
}

/// Barry–Goldman evaluation of the centripetal Catmull-Rom segment p1→p2.
fn centripetal(p0: InkPoint, p1: InkPoint, p2: InkPoint, p3: InkPoint, u: f32) -> (f32, f32) {
    let knot = |a: InkPoint, b: InkPoint| dist(a, b).sqrt().max(1e-4);
    let t0 = 0.0f32;
    let t1 = t0 + knot(p0, p1);
    let t2 = t1 + knot(p1, p2);
    let t3 = t2 + knot(p2, p3);
    let t = lerp(t1, t2, u);
    let mix = |a: (f32, f32), b: (f32, f32), ta: f32, tb: f32| {
        let w = (t - ta) / (tb - ta);
        (a.0 + (b.0 - a.0) * w, a.1 + (b.1 - a.1) * w)
    };
    let (q0, q1, q2, q3) = (
        (p0.x_mm, p0.y_mm),
        (p1.x_mm, p1.y_mm),
        (p2.x_mm, p2.y_mm),
        (p3.x_mm, p3.y_mm),
    );
    let a1 = mix(q0, q1, t0, t1);
    let a2 = mix(q1, q2, t1, t2);
    let a3 = mix(q2, q3, t2, t3);
    let b1 = mix(a1, a2, t0, t2);
    let b2 = mix(a2, a3, t1, t3);
    mix(b1, b2, t1, t2)
}
