//! Handwritten-signature dynamics: a new signature is compared with the
//! signer's enrolled references by dynamic time warping (DTW) over four
//! z-normalised features per point — x, y, pressure and pen speed — plus
//! the ratio of writing durations.
//!
//! Only samples with the pen in contact count. Each signature is resampled
//! to [`POINTS`] points in time order (digitizers sample at a fixed rate, so
//! this keeps the rhythm), each feature is z-normalised (position, size,
//! pressure range and overall speed do not matter; their *shape over time*
//! does), and DTW with a Sakoe–Chiba band gives a path-length-normalised
//! distance. The score is the smallest distance to a reference divided by
//! the mean distance between the references themselves (so a signer who
//! varies a lot is judged against his own variability), plus
//! [`DURATION_WEIGHT`] × |ln(duration / mean reference duration)|.
//! A score at or below the threshold (config `auth.dynamics_threshold`)
//! passes. Error rates on a generated test set are in
//! `docs/signature-dynamics.md`.

use serde::{Deserialize, Serialize};
use signpad_types::PenSample;

/// Points per resampled signature.
pub const POINTS: usize = 128;
/// Sakoe–Chiba band half-width, in points.
const BAND: usize = POINTS / 8;
/// Weight of the duration term of the score.
pub const DURATION_WEIGHT: f64 = 1.0;
/// Default acceptance threshold (see `docs/signature-dynamics.md`).
pub const DEFAULT_THRESHOLD: f64 = 1.6;
/// Fewest contact samples a signature must have.
pub const MIN_SAMPLES: usize = 32;

/// Errors of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DynamicsError {
    #[error("the signature has {0} samples in contact, at least {MIN_SAMPLES} are needed")]
    TooShort(usize),
    #[error("no signature references are enrolled")]
    NoReferences,
}

/// The features of one signature (a stored reference or a new signature).
/// Biometric data: kept only in the encrypted enrolment store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// [`POINTS`] × (x, y, pressure, speed), each z-normalised.
    pub points: Vec<[f32; 4]>,
    /// Time from first to last contact sample, milliseconds.
    pub duration_ms: f32,
}

impl Template {
    /// Extracts the features of `samples`.
    pub fn from_samples(samples: &[PenSample]) -> Result<Self, DynamicsError> {
        // Speed between consecutive samples, only while in contact.
        let mut raw: Vec<[f64; 4]> = Vec::with_capacity(samples.len());
        let mut times = Vec::with_capacity(samples.len());
        let mut prev: Option<&PenSample> = None;
        for s in samples {
            if !s.in_contact() {
                prev = None;
                continue;
            }
            let speed = match prev {
                Some(p) if s.t_us > p.t_us => {
                    let dx = f64::from(s.x - p.x);
                    let dy = f64::from(s.y - p.y);
                    (dx * dx + dy * dy).sqrt() / ((s.t_us - p.t_us) as f64)
                }
                _ => 0.0,
            };
            raw.push([f64::from(s.x), f64::from(s.y), f64::from(s.pressure), speed]);
            times.push(s.t_us);
            prev = Some(s);
        }
        if raw.len() < MIN_SAMPLES {
            return Err(DynamicsError::TooShort(raw.len()));
        }
        let duration_ms = match (times.first(), times.last()) {
            (Some(a), Some(b)) => (b.saturating_sub(*a) as f64 / 1000.0) as f32,
            _ => 0.0,
        };
        // Resample by index (fixed-rate sampling: index ~ time).
        let n = raw.len();
        let mut points = vec![[0.0f64; 4]; POINTS];
        for (i, out) in points.iter_mut().enumerate() {
            let pos = i as f64 * (n - 1) as f64 / (POINTS - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = pos - lo as f64;
            for k in 0..4 {
                out[k] = raw[lo][k] * (1.0 - frac) + raw[hi][k] * frac;
            }
        }
        for k in 0..4 {
            let mean = points.iter().map(|p| p[k]).sum::<f64>() / POINTS as f64;
            let var = points.iter().map(|p| (p[k] - mean).powi(2)).sum::<f64>() / POINTS as f64;
            let sd = var.sqrt();
            for p in &mut points {
                p[k] = if sd > 1e-9 { (p[k] - mean) / sd } else { 0.0 };
            }
        }
        Ok(Self {
            points: points
                .iter()
                .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32, p[3] as f32])
                .collect(),
            duration_ms,
        })
    }
}

/// DTW distance between two templates, normalised by the path bound.
pub fn dtw(a: &Template, b: &Template) -> f64 {
    let (n, m) = (a.points.len(), b.points.len());
    if n == 0 || m == 0 {
        return f64::INFINITY;
    }
    let band = BAND.max(n.abs_diff(m));
    let mut prev = vec![f64::INFINITY; m + 1];
    let mut cur = vec![f64::INFINITY; m + 1];
    prev[0] = 0.0;
    for i in 1..=n {
        cur.fill(f64::INFINITY);
        let lo = i.saturating_sub(band).max(1);
        let hi = (i + band).min(m);
        for j in lo..=hi {
            let pa = a.points[i - 1];
            let pb = b.points[j - 1];
            let d = (0..4)
                .map(|k| f64::from(pa[k] - pb[k]).powi(2))
                .sum::<f64>()
                .sqrt();
            let best = prev[j - 1].min(prev[j]).min(cur[j - 1]);
            cur[j] = d + best;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m] / (n + m) as f64
}

/// The result of a comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// Lower is closer; compare with the threshold.
    pub score: f64,
    pub accepted: bool,
}

/// Compares `candidate` with `references` (see the module documentation).
pub fn compare(
    candidate: &Template,
    references: &[Template],
    threshold: f64,
) -> Result<Match, DynamicsError> {
    if references.is_empty() {
        return Err(DynamicsError::NoReferences);
    }
    let best = references
        .iter()
        .map(|r| dtw(candidate, r))
        .fold(f64::INFINITY, f64::min);
    let mut pair_sum = 0.0;
    let mut pairs = 0usize;
    for (i, a) in references.iter().enumerate() {
        for b in &references[i + 1..] {
            pair_sum += dtw(a, b);
            pairs += 1;
        }
    }
    // With one reference there is no spread to learn: assume a typical one.
    let spread = if pairs == 0 {
        0.35
    } else {
        (pair_sum / pairs as f64).max(0.05)
    };
    let mean_duration = references
        .iter()
        .map(|r| f64::from(r.duration_ms))
        .sum::<f64>()
        / references.len() as f64;
    let duration_term = if mean_duration > 0.0 && candidate.duration_ms > 0.0 {
        (f64::from(candidate.duration_ms) / mean_duration)
            .ln()
            .abs()
    } else {
        1.0
    };
    let score = best / spread + DURATION_WEIGHT * duration_term;
    Ok(Match {
        score,
        accepted: score <= threshold,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod tests {
    use super::*;
    use signpad_types::SampleFlags;

    /// A small deterministic generator (xorshift64*).
    pub(crate) struct Rng(u64);
    impl Rng {
        pub(crate) fn new(seed: u64) -> Self {
            Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        /// Uniform in [lo, hi).
        pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
        }
    }

    /// A synthetic writer: a few strokes, each a sum of sinusoids in x and
    /// y with a drift to the right, and a pressure profile of its own.
    #[derive(Clone)]
    pub(crate) struct Writer {
        strokes: Vec<StrokeShape>,
    }
    #[derive(Clone)]
    struct StrokeShape {
        duration: f64,
        x: Vec<(f64, f64, f64)>,
        y: Vec<(f64, f64, f64)>,
        drift: f64,
        pressure: (f64, f64, f64),
    }

    impl Writer {
        pub(crate) fn new(rng: &mut Rng) -> Self {
            let strokes = (0..(rng.range(2.0, 4.0) as usize))
                .map(|_| StrokeShape {
                    duration: rng.range(0.4, 1.1),
                    x: (0..3)
                        .map(|_| {
                            (
                                rng.range(200.0, 900.0),
                                rng.range(3.0, 14.0),
                                rng.range(0.0, 6.3),
                            )
                        })
                        .collect(),
                    y: (0..3)
                        .map(|_| {
                            (
                                rng.range(200.0, 900.0),
                                rng.range(3.0, 14.0),
                                rng.range(0.0, 6.3),
                            )
                        })
                        .collect(),
                    drift: rng.range(1500.0, 4000.0),
                    pressure: (
                        rng.range(0.35, 0.6),
                        rng.range(0.1, 0.3),
                        rng.range(2.0, 9.0),
                    ),
                })
                .collect();
            Self { strokes }
        }

        /// One signature. `speed` > 1 writes slower; `warp` bends the time
        /// axis; `shape` scales the geometric noise; `own_pressure` false
        /// replaces the writer's pressure profile with a flat one (a forger
        /// cannot see pressure).
        pub(crate) fn sign(
            &self,
            rng: &mut Rng,
            speed: f64,
            warp: f64,
            shape: f64,
            own_pressure: bool,
        ) -> Vec<PenSample> {
            let scale = 1.0 + rng.range(-0.05, 0.05) * shape;
            let rot = rng.range(-0.05, 0.05) * shape;
            let (sin, cos) = rot.sin_cos();
            let pressure_gain = rng.range(0.85, 1.15);
            let flat = rng.range(0.4, 0.6);
            let warp_phase = rng.range(0.0, 6.3);
            let mut out = Vec::new();
            let mut t_us = 0u64;
            let mut x_base = 0.0;
            for stroke in &self.strokes {
                let real = stroke.duration * speed;
                let n = (real * 200.0) as usize;
                for i in 0..n {
                    let u = i as f64 / n as f64;
                    // Time warp: the writer's progress along the stroke.
                    let p = (u + warp
                        * (std::f64::consts::PI * u).sin()
                        * (warp_phase + u * 3.0).sin()
                        * 0.5)
                        .clamp(0.0, 1.0);
                    let tt = p * stroke.duration;
                    let fx: f64 = stroke
                        .x
                        .iter()
                        .map(|(a, w, ph)| a * (w * tt + ph).sin())
                        .sum::<f64>()
                        + stroke.drift * tt;
                    let fy: f64 = stroke
                        .y
                        .iter()
                        .map(|(a, w, ph)| a * (w * tt + ph).sin())
                        .sum();
                    let nx = rng.range(-10.0, 10.0) * shape;
                    let ny = rng.range(-10.0, 10.0) * shape;
                    let x = scale * (cos * fx - sin * fy) + x_base + nx;
                    let y = scale * (sin * fx + cos * fy) + ny;
                    let (base, amp, w) = stroke.pressure;
                    let pr = if own_pressure {
                        pressure_gain * (base + amp * (w * tt).sin())
                    } else {
                        flat + rng.range(-0.03, 0.03)
                    };
                    let mut flags = SampleFlags::default();
                    flags.set(SampleFlags::IN_CONTACT, true);
                    flags.set(SampleFlags::IN_RANGE, true);
                    out.push(PenSample {
                        t_us,
                        x: (x + 20_000.0) as i32,
                        y: (y + 5_000.0) as i32,
                        pressure: (pr.clamp(0.0, 1.0) * 65535.0) as u16,
                        tilt_x: None,
                        tilt_y: None,
                        flags,
                    });
                    t_us += 5_000;
                }
                // Pen up between strokes.
                let mut up = SampleFlags::default();
                up.set(SampleFlags::IN_RANGE, true);
                t_us += (rng.range(0.1, 0.25) * speed * 1e6) as u64;
                out.push(PenSample {
                    t_us,
                    x: 0,
                    y: 0,
                    pressure: 0,
                    tilt_x: None,
                    tilt_y: None,
                    flags: up,
                });
                x_base += stroke.drift * stroke.duration * 0.8;
            }
            out
        }

        pub(crate) fn genuine(&self, rng: &mut Rng) -> Vec<PenSample> {
            let speed = rng.range(0.85, 1.2);
            let warp = rng.range(0.0, 0.1);
            self.sign(rng, speed, warp, 1.0, true)
        }

        pub(crate) fn skilled_forgery(&self, rng: &mut Rng) -> Vec<PenSample> {
            let speed = rng.range(1.0, 1.5);
            let warp = rng.range(0.06, 0.15);
            self.sign(rng, speed, warp, 1.5, false)
        }
    }

    pub(crate) fn template(samples: &[PenSample]) -> Template {
        Template::from_samples(samples).unwrap()
    }

    #[test]
    fn a_signature_matches_itself_best() {
        let mut rng = Rng::new(1);
        let w = Writer::new(&mut rng);
        let a = template(&w.genuine(&mut rng));
        assert!(dtw(&a, &a) < 1e-9);
        let b = template(&w.genuine(&mut rng));
        let other = template(&Writer::new(&mut rng).genuine(&mut rng));
        assert!(dtw(&a, &b) < dtw(&a, &other));
    }

    #[test]
    fn too_short_and_no_references_are_named() {
        assert_eq!(
            Template::from_samples(&[]).unwrap_err(),
            DynamicsError::TooShort(0)
        );
        let mut rng = Rng::new(2);
        let t = template(&Writer::new(&mut rng).genuine(&mut rng));
        assert_eq!(
            compare(&t, &[], DEFAULT_THRESHOLD).unwrap_err(),
            DynamicsError::NoReferences
        );
    }

    /// Error rates on a generated set; the figures in
    /// `docs/signature-dynamics.md` come from this test
    /// (`cargo test -p signpadd --release far_and_frr -- --nocapture`).
    #[test]
    fn far_and_frr_on_generated_signatures() {
        const WRITERS: usize = 30;
        const REFS: usize = 3;
        const TRIALS: usize = 10;
        let mut rng = Rng::new(6238);
        let writers: Vec<Writer> = (0..WRITERS).map(|_| Writer::new(&mut rng)).collect();
        let mut genuine = Vec::new();
        let mut skilled = Vec::new();
        let mut random = Vec::new();
        for (i, w) in writers.iter().enumerate() {
            let refs: Vec<Template> = (0..REFS).map(|_| template(&w.genuine(&mut rng))).collect();
            for _ in 0..TRIALS {
                let g = template(&w.genuine(&mut rng));
                genuine.push(compare(&g, &refs, 0.0).unwrap().score);
                let f = template(&w.skilled_forgery(&mut rng));
                skilled.push(compare(&f, &refs, 0.0).unwrap().score);
            }
            let other = &writers[(i + 1) % WRITERS];
            for _ in 0..TRIALS {
                let r = template(&other.genuine(&mut rng));
                random.push(compare(&r, &refs, 0.0).unwrap().score);
            }
        }
        let rate = |scores: &[f64], accept: bool, th: f64| {
            scores.iter().filter(|s| (**s <= th) == accept).count() as f64 / scores.len() as f64
        };
        println!("threshold  FRR     FAR(skilled)  FAR(random)");
        for th in [1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.5] {
            println!(
                "{th:>9.1}  {:>5.1}%  {:>11.1}%  {:>10.1}%",
                100.0 * rate(&genuine, false, th),
                100.0 * rate(&skilled, true, th),
                100.0 * rate(&random, true, th)
            );
        }
        let frr = rate(&genuine, false, DEFAULT_THRESHOLD);
        let far_skilled = rate(&skilled, true, DEFAULT_THRESHOLD);
        let far_random = rate(&random, true, DEFAULT_THRESHOLD);
        println!(
            "at {DEFAULT_THRESHOLD}: FRR {:.1}% ({} genuine), FAR skilled {:.1}% ({}), FAR random {:.1}% ({})",
            100.0 * frr,
            genuine.len(),
            100.0 * far_skilled,
            skilled.len(),
            100.0 * far_random,
            random.len()
        );
        assert!(frr <= 0.10, "FRR {frr}");
        assert!(far_skilled <= 0.10, "FAR skilled {far_skilled}");
        assert!(far_random <= 0.02, "FAR random {far_random}");
    }
}
