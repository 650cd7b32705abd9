//! Generates the sample data in `tests/data/`: synthetic handwriting pen
//! traces in evemu-record format and a small two-page contract PDF.
//!
//! ```text
//! cargo run -p signpad-ink --example gen-traces -- tests/data
//! ```
//!
//! Output is deterministic (fixed seeds, a small xorshift generator, no
//! clock), so re-running it reproduces the committed files byte for byte.
//!
//! How the handwriting is made: each stroke is a path in millimetres — a
//! spline through hand-placed control points for capitals, the underline and
//! the i-dot, and a slanted prolate trochoid for the cursive letters (a point
//! on a circle rolling to the right; where the circle is larger than the roll
//! the path loops back, which gives the loops of "l" and "e", smaller ones
//! give the humps of "n" and "m"). The pen slows down in curves and at both
//! ends of a stroke, the pressure ramps up in the first ~40 ms after pen-down
//! and down before pen-up, and the pen hovers (in range, not touching, with
//! `ABS_DISTANCE`) between strokes. Frames come every 5 ms (200 Hz) with up to
//! ±150 µs jitter; like the kernel, a frame only carries the axes that
//! changed. The device is Wacom-like: X 0..21600 and Y 0..13500 at
//! 100 units/mm, pressure 0..8191, distance 0..63, tilt −64..63 at 57 units per
//! radian (≈ 1 unit per degree), and like the wacom driver the
//! proximity-out frame resets the axes to 0.
//!
//! Files written:
//! - `signature-basic.evemu`: no tilt, about 3 s;
//! - `signature-tilt.evemu`: tilt X/Y, about 5 s (the reference 5-second
//!   signature);
//! - `signature-syn-dropped.evemu`: like basic, with a `SYN_DROPPED` in the
//!   middle of the cursive stroke (35 ms of frames lost);
//! - `initials-short.evemu`: two initials and a dot, about 1.3 s, tilt axes
//!   with resolution 0 (as some drivers report);
//! - `sample.pdf`: a two-page service agreement with a signature line.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use signpad_ink::event::{abs, ev, key, msc, prop, syn};
use signpad_ink::{AbsAxis, DeviceDescription, Event, Trace};

fn main() -> Result<(), String> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: gen-traces <output directory, e.g. tests/data>")?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    for spec in specs() {
        let trace = generate(&spec);
        write(&dir.join(spec.file), trace.to_evemu().as_bytes())?;
    }
    write(&dir.join("sample.pdf"), &sample_pdf())?;
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wrote {} ({} bytes)", path.display(), bytes.len());
    Ok(())
}

// ---------------------------------------------------------------------------
// Randomness

/// xorshift64*: small, fast, good enough for jitter.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [-a, a].
    fn sym(&mut self, a: f64) -> f64 {
        (self.unit() * 2.0 - 1.0) * a
    }
}

// ---------------------------------------------------------------------------
// What to write

#[derive(Clone, Copy, PartialEq)]
enum TiltAxes {
    None,
    /// Kernel convention, units per radian.
    Radian,
    /// Resolution 0: raw values are degrees.
    Unspecified,
}

/// One pen-down path and how long drawing it takes.
struct StrokePlan {
    path: Vec<(f64, f64)>,
    duration_s: f64,
    /// Hover time before this stroke.
    hover_before_s: f64,
}

struct Spec {
    file: &'static str,
    seed: u64,
    tilt: TiltAxes,
    strokes: Vec<StrokePlan>,
    /// Frame index (within the whole trace) where events are dropped.
    drop_at_frame: Option<usize>,
    hover_after_s: f64,
}

/// The signature is placed at this tablet position, in mm.
const ORIGIN: (f64, f64) = (60.0, 80.0);
const SLANT: f64 = 0.27; // tan(15°)

fn specs() -> Vec<Spec> {
    vec![
        Spec {
            file: "signature-basic.evemu",
            seed: 0x5197_a11e_0001,
            tilt: TiltAxes::None,
            strokes: signature(0x11, 5, 3.0 / 5.0),
            drop_at_frame: None,
            hover_after_s: 0.10,
        },
        Spec {
            file: "signature-tilt.evemu",
            seed: 0x5197_a11e_0002,
            tilt: TiltAxes::Radian,
            strokes: signature_long(0x22),
            drop_at_frame: None,
            hover_after_s: 0.10,
        },
        Spec {
            file: "signature-syn-dropped.evemu",
            seed: 0x5197_a11e_0003,
            tilt: TiltAxes::None,
            strokes: signature(0x33, 5, 3.0 / 5.0),
            // Well inside the cursive stroke (see `signature`).
            drop_at_frame: Some(230),
            hover_after_s: 0.10,
        },
        Spec {
            file: "initials-short.evemu",
            seed: 0x5197_a11e_0004,
            tilt: TiltAxes::Unspecified,
            strokes: initials(0x44),
            drop_at_frame: None,
            hover_after_s: 0.08,
        },
    ]
}

/// Capital, cursive word, i-dot, underline: four strokes. `time_scale`
/// stretches the timing (1.0 ≈ 5 s).
fn signature(seed: u64, letters: usize, time_scale: f64) -> Vec<StrokePlan> {
    let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
    let word = cursive(&mut rng, (15.0, 0.0), &LETTERS[..letters]);
    let word_end = word.last().copied().unwrap_or((40.0, 0.0));
    vec![
        StrokePlan {
            path: spline(&capital_l(&mut rng, (0.0, 0.0)), 12),
            duration_s: 0.95 * time_scale,
            hover_before_s: 0.15 * time_scale,
        },
        StrokePlan {
            path: word,
            duration_s: 2.1 * time_scale,
            hover_before_s: 0.30 * time_scale,
        },
        StrokePlan {
            path: dot(&mut rng, (30.5, -10.5)),
            duration_s: 0.06,
            hover_before_s: 0.35 * time_scale,
        },
        StrokePlan {
            path: spline(&underline(&mut rng, word_end.0 + 4.0), 16),
            duration_s: 0.7 * time_scale,
            hover_before_s: 0.30 * time_scale,
        },
    ]
}

/// The 5-second reference: capital + word, second capital + word, dot,
/// underline: six strokes.
fn signature_long(seed: u64) -> Vec<StrokePlan> {
    let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
    let first = cursive(&mut rng, (15.0, 0.0), &LETTERS[..4]);
    let second = cursive(&mut rng, (58.0, 0.0), &LETTERS[4..]);
    let end = second.last().copied().unwrap_or((90.0, 0.0));
    vec![
        StrokePlan {
            path: spline(&capital_l(&mut rng, (0.0, 0.0)), 12),
            duration_s: 0.7,
            hover_before_s: 0.12,
        },
        StrokePlan {
            path: first,
            duration_s: 0.95,
            hover_before_s: 0.18,
        },
        StrokePlan {
            path: spline(&capital_m(&mut rng, (44.0, 0.0)), 12),
            duration_s: 0.55,
            hover_before_s: 0.22,
        },
        StrokePlan {
            path: second,
            duration_s: 1.0,
            hover_before_s: 0.15,
        },
        StrokePlan {
            path: dot(&mut rng, (30.5, -10.5)),
            duration_s: 0.06,
            hover_before_s: 0.25,
        },
        StrokePlan {
            path: spline(&underline(&mut rng, end.0 + 3.0), 16),
            duration_s: 0.5,
            hover_before_s: 0.25,
        },
    ]
}

/// "M" and "L" with a full stop: three strokes.
fn initials(seed: u64) -> Vec<StrokePlan> {
    let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
    vec![
        StrokePlan {
            path: spline(&capital_m(&mut rng, (0.0, 0.0)), 12),
            duration_s: 0.42,
            hover_before_s: 0.08,
        },
        StrokePlan {
            path: spline(&capital_l(&mut rng, (18.0, 0.0)), 12),
            duration_s: 0.5,
            hover_before_s: 0.15,
        },
        StrokePlan {
            path: dot(&mut rng, (33.0, 1.0)),
            duration_s: 0.04,
            hover_before_s: 0.12,
        },
    ]
}

/// Cursive letters as (height mm, loop radius mm): the roll per letter is
/// fixed, a radius above it makes a loop.
const LETTERS: [(f64, f64); 9] = [
    (5.0, 1.9),  // e
    (12.0, 2.3), // l
    (5.5, 0.6),  // n (hump)
    (5.0, 1.6),  // e
    (5.5, 0.5),  // m (hump)
    (5.0, 0.6),  // n
    (13.0, 2.4), // l
    (5.0, 1.8),  // e
    (5.0, 0.7),  // r
];

/// Slanted prolate trochoid through the letters, entry and exit strokes.
fn cursive(rng: &mut Rng, at: (f64, f64), letters: &[(f64, f64)]) -> Vec<(f64, f64)> {
    const ROLL: f64 = 0.85; // mm of x per radian
    const STEPS: usize = 48;
    let mut out = vec![(at.0 - 3.0, at.1 + 1.0)];
    let n = letters.len();
    for (i, &(h, d)) in letters.iter().enumerate() {
        let h = h * (1.0 + rng.sym(0.08));
        let d = d * (1.0 + rng.sym(0.1));
        let (h_next, d_next) = letters.get(i + 1).copied().unwrap_or((h, d));
        for k in 0..STEPS {
            let u = k as f64 / STEPS as f64;
            // Blend into the next letter during the down stroke.
            let blend = smoothstep(((u - 0.6) / 0.4).clamp(0.0, 1.0));
            let hh = h + (h_next - h) * blend * 0.3;
            let dd = d + (d_next - d) * blend * 0.3;
            let theta = 2.0 * PI * (i as f64 + u);
            let x = at.0 + ROLL * theta + dd * theta.sin();
            let y_up = hh * (1.0 - theta.cos()) / 2.0;
            out.push((x + SLANT * y_up, at.1 - y_up));
        }
    }
    let end_x = at.0 + ROLL * 2.0 * PI * n as f64;
    out.push((end_x, at.1));
    out.push((end_x + 2.5, at.1 - 1.5));
    out
}

fn capital_l(rng: &mut Rng, at: (f64, f64)) -> Vec<(f64, f64)> {
    let pts = [
        (4.0, -3.0),
        (7.5, -13.0),
        (9.0, -19.0),
        (7.0, -21.0),
        (4.5, -16.0),
        (3.0, -7.0),
        (1.5, -1.0),
        (-1.0, 1.0),
        (-2.0, -0.5),
        (1.0, -0.8),
        (7.0, 0.8),
        (12.0, 0.0),
    ];
    jittered(rng, at, &pts, 0.35)
}

fn capital_m(rng: &mut Rng, at: (f64, f64)) -> Vec<(f64, f64)> {
    let pts = [
        (0.0, 0.5),
        (2.0, -8.0),
        (4.5, -16.0),
        (5.5, -15.0),
        (6.0, -3.0),
        (7.0, -1.0),
        (9.5, -15.0),
        (10.5, -16.0),
        (11.5, -8.0),
        (12.0, -0.5),
        (14.0, 0.0),
    ];
    jittered(rng, at, &pts, 0.35)
}

fn underline(rng: &mut Rng, end_x: f64) -> Vec<(f64, f64)> {
    let pts = [
        (-3.0, 6.5),
        (10.0, 7.5),
        (end_x * 0.5, 6.5),
        (end_x * 0.85, 4.5),
        (end_x, 2.5),
    ];
    jittered(rng, (0.0, 0.0), &pts, 0.3)
}

/// A tiny tap: the pen barely moves.
fn dot(rng: &mut Rng, at: (f64, f64)) -> Vec<(f64, f64)> {
    let a = (at.0 + rng.sym(0.2), at.1 + rng.sym(0.2));
    vec![a, (a.0 + 0.15, a.1 + 0.1), (a.0 + 0.3, a.1 + 0.15)]
}

fn jittered(rng: &mut Rng, at: (f64, f64), pts: &[(f64, f64)], amount: f64) -> Vec<(f64, f64)> {
    pts.iter()
        .map(|&(x, y)| {
            let y_up = -y;
            (
                at.0 + x + SLANT * y_up * 0.5 + rng.sym(amount),
                at.1 + y + rng.sym(amount),
            )
        })
        .collect()
}

/// Uniform Catmull-Rom through control points, `per` points per segment.
fn spline(ctrl: &[(f64, f64)], per: usize) -> Vec<(f64, f64)> {
    let n = ctrl.len();
    if n < 2 {
        return ctrl.to_vec();
    }
    let at = |i: isize| ctrl[i.clamp(0, n as isize - 1) as usize];
    let mut out = Vec::new();
    for i in 0..n - 1 {
        let i = i as isize;
        let (p0, p1, p2, p3) = (at(i - 1), at(i), at(i + 1), at(i + 2));
        for k in 0..per {
            let t = k as f64 / per as f64;
            let (t2, t3) = (t * t, t * t * t);
            let f = |a: f64, b: f64, c: f64, d: f64| {
                0.5 * (2.0 * b
                    + (-a + c) * t
                    + (2.0 * a - 5.0 * b + 4.0 * c - d) * t2
                    + (-a + 3.0 * b - 3.0 * c + d) * t3)
            };
            out.push((f(p0.0, p1.0, p2.0, p3.0), f(p0.1, p1.1, p2.1, p3.1)));
        }
    }
    out.push(ctrl[n - 1]);
    out
}

fn smoothstep(u: f64) -> f64 {
    u * u * (3.0 - 2.0 * u)
}

/// Minimum-jerk position profile 0..1.
fn min_jerk(u: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    u * u * u * (10.0 - 15.0 * u + 6.0 * u * u)
}

// ---------------------------------------------------------------------------
// Kinematics: path → timed positions

/// Time-parametrises a path: slower in curves and at both ends. Returns
/// cumulative time (0..1) per path point.
fn timing(path: &[(f64, f64)]) -> Vec<f64> {
    let n = path.len();
    let mut t = vec![0.0; n];
    for i in 1..n {
        let (a, b) = (path[i - 1], path[i]);
        let ds = (b.0 - a.0).hypot(b.1 - a.1);
        // Turning angle at a as a curvature proxy.
        let turn = if i >= 2 {
            let p = path[i - 2];
            let (u, v) = ((a.0 - p.0, a.1 - p.1), (b.0 - a.0, b.1 - a.1));
            let cross = u.0 * v.1 - u.1 * v.0;
            let dot = u.0 * v.0 + u.1 * v.1;
            cross.atan2(dot).abs()
        } else {
            0.0
        };
        let speed = 1.0 / (1.0 + 6.0 * turn);
        t[i] = t[i - 1] + ds / speed.max(0.05);
    }
    let total = t[n - 1].max(1e-9);
    t.iter().map(|v| v / total).collect()
}

/// Position at normalised time `u` (0..1), with slow start and end.
fn position_at(path: &[(f64, f64)], times: &[f64], u: f64) -> (f64, f64) {
    // Blend linear time with minimum jerk: the pen starts and stops gently
    // but does not crawl through the middle of a long stroke.
    let s = 0.55 * u + 0.45 * min_jerk(u);
    let i = times
        .partition_point(|&t| t < s)
        .clamp(1, path.len().max(2) - 1);
    let (t0, t1) = (times[i - 1], times[i]);
    let w = if t1 > t0 { (s - t0) / (t1 - t0) } else { 0.0 };
    let (a, b) = (path[i - 1], path[i]);
    (a.0 + (b.0 - a.0) * w, a.1 + (b.1 - a.1) * w)
}

// ---------------------------------------------------------------------------
// Events

const FRAME_US: u64 = 5_000;
const X_RES: i32 = 100;
const X_MAX: i32 = 21_600;
const Y_MAX: i32 = 13_500;
const P_MAX: i32 = 8_191;
const TILT_RES: i32 = 57;

/// Pen state of one frame.
#[derive(Clone, Copy, Default, PartialEq)]
struct PenFrame {
    x: i32,
    y: i32,
    pressure: i32,
    distance: i32,
    tilt_x: i32,
    tilt_y: i32,
    touch: bool,
    in_range: bool,
}

fn device(tilt: TiltAxes) -> DeviceDescription {
    let mut d = DeviceDescription {
        name: "signpad synthetic pen (Wacom-like)".to_owned(),
        bus: 0x0003,
        vendor: 0x056a,
        product: 0x0000,
        version: 0x0110,
        ..DeviceDescription::default()
    };
    d.properties.insert(prop::DIRECT);
    for code in [
        key::BTN_TOOL_PEN,
        key::BTN_TOOL_RUBBER,
        key::BTN_TOUCH,
        key::BTN_STYLUS,
        key::BTN_STYLUS2,
    ] {
        d.add_code(ev::KEY, code);
    }
    d.add_code(ev::MSC, msc::TIMESTAMP);
    let fuzzy = |min, max, res| AbsAxis {
        fuzz: 4,
        ..AbsAxis::new(min, max, res)
    };
    d.add_abs(abs::X, fuzzy(0, X_MAX, X_RES));
    d.add_abs(abs::Y, fuzzy(0, Y_MAX, X_RES));
    d.add_abs(abs::PRESSURE, AbsAxis::new(0, P_MAX, 0));
    d.add_abs(abs::DISTANCE, AbsAxis::new(0, 63, 0));
    let tilt_res = match tilt {
        TiltAxes::None => None,
        TiltAxes::Radian => Some(TILT_RES),
        TiltAxes::Unspecified => Some(0),
    };
    if let Some(res) = tilt_res {
        d.add_abs(abs::TILT_X, AbsAxis::new(-64, 63, res));
        d.add_abs(abs::TILT_Y, AbsAxis::new(-64, 63, res));
    }
    d
}

fn generate(spec: &Spec) -> Trace {
    let mut rng = Rng(spec.seed);
    let mut frames: Vec<PenFrame> = Vec::new();
    let to_raw = |(x, y): (f64, f64), rng: &mut Rng| {
        let x = (ORIGIN.0 + x) * f64::from(X_RES) + rng.sym(1.5);
        let y = (ORIGIN.1 + y) * f64::from(X_RES) + rng.sym(1.5);
        (
            (x.round() as i32).clamp(0, X_MAX),
            (y.round() as i32).clamp(0, Y_MAX),
        )
    };
    let frames_for = |s: f64| ((s * 1e6) / FRAME_US as f64).round().max(1.0) as usize;

    // Approach: the pen comes into range 6 mm before the first stroke.
    let mut last = spec
        .strokes
        .first()
        .and_then(|s| s.path.first().copied())
        .map_or((0.0, 0.0), |(x, y)| (x - 6.0, y + 4.0));
    let pressure_base = 0.5 + rng.sym(0.08);
    for stroke in &spec.strokes {
        let start = stroke.path.first().copied().unwrap_or(last);
        let n = frames_for(stroke.hover_before_s);
        for k in 0..n {
            let u = min_jerk((k + 1) as f64 / (n + 1) as f64);
            let p = (
                last.0 + (start.0 - last.0) * u,
                last.1 + (start.1 - last.1) * u,
            );
            let lift = (PI * u).sin();
            let (x, y) = to_raw(p, &mut rng);
            frames.push(PenFrame {
                x,
                y,
                distance: (4.0 + 18.0 * lift + rng.sym(1.0)).round() as i32,
                in_range: true,
                ..PenFrame::default()
            });
        }
        let times = timing(&stroke.path);
        let n = frames_for(stroke.duration_s).max(2);
        let phase = rng.unit() * 2.0 * PI;
        for k in 0..n {
            let u = k as f64 / (n - 1) as f64;
            let t_s = u * stroke.duration_s;
            let p = position_at(&stroke.path, &times, u);
            // Pressure ramps over ~40 ms at both ends, wanders in between.
            let ramp_in = smoothstep((t_s / 0.04).clamp(0.0, 1.0));
            let ramp_out = smoothstep(((stroke.duration_s - t_s) / 0.04).clamp(0.0, 1.0));
            let wander = 0.12 * (2.0 * PI * 1.7 * t_s + phase).sin() + rng.sym(0.02);
            let pressure = (0.06 + (pressure_base + wander) * ramp_in * ramp_out).clamp(0.02, 1.0);
            let (x, y) = to_raw(p, &mut rng);
            frames.push(PenFrame {
                x,
                y,
                pressure: (pressure * f64::from(P_MAX)).round() as i32,
                touch: true,
                in_range: true,
                ..PenFrame::default()
            });
        }
        last = stroke.path.last().copied().unwrap_or(start);
    }
    // Lift away and leave proximity.
    let n = frames_for(spec.hover_after_s);
    for k in 0..n {
        let u = (k + 1) as f64 / n as f64;
        let (x, y) = to_raw((last.0 + 3.0 * u, last.1 - 2.0 * u), &mut rng);
        frames.push(PenFrame {
            x,
            y,
            distance: (4.0 + 30.0 * u).round() as i32,
            in_range: true,
            ..PenFrame::default()
        });
    }
    frames.push(PenFrame::default());

    // Tilt: a right-handed writer, the pen leaning right and towards the
    // writer, drifting slowly.
    if spec.tilt != TiltAxes::None {
        let per_degree = match spec.tilt {
            TiltAxes::Radian => f64::from(TILT_RES) * PI / 180.0,
            _ => 1.0,
        };
        let phase = rng.unit() * 2.0 * PI;
        let len = frames.len();
        for (i, f) in frames.iter_mut().enumerate().take(len.saturating_sub(1)) {
            let t = i as f64 * FRAME_US as f64 / 1e6;
            let tx = 32.0 + 5.0 * (0.9 * t + phase).sin() + rng.sym(0.6);
            let ty = 18.0 + 4.0 * (0.6 * t + phase * 0.5).cos() + rng.sym(0.6);
            f.tilt_x = (tx * per_degree).round().clamp(-64.0, 63.0) as i32;
            f.tilt_y = (ty * per_degree).round().clamp(-64.0, 63.0) as i32;
        }
    }

    let mut events = Vec::new();
    let mut prev = PenFrame::default();
    let start_us = 1_873_254_112u64; // a boot-relative CLOCK_MONOTONIC time
    let mut last_time = 0u64;
    let mut dropping = 0usize;
    for (i, f) in frames.iter().enumerate() {
        let jitter = rng.sym(150.0).round() as i64;
        let time = (start_us + i as u64 * FRAME_US)
            .saturating_add_signed(jitter)
            .max(last_time + 1);
        last_time = time;
        if dropping > 0 {
            // Lost in the kernel buffer overrun: never reaches the reader.
            dropping -= 1;
            prev = *f;
            continue;
        }
        let mut frame = frame_events(&prev, f, spec.tilt != TiltAxes::None);
        if spec.drop_at_frame == Some(i) {
            // The buffer overflowed in the middle of this frame: the reader
            // sees its start, SYN_DROPPED, the tail, then a gap of 7 frames.
            let cut = frame.len().min(1);
            let tail = frame.split_off(cut);
            frame.push((ev::SYN, syn::DROPPED, 0));
            frame.extend(tail);
            dropping = 7;
        }
        for (ev_type, code, value) in frame {
            events.push(Event::new(time, ev_type, code, value));
        }
        events.push(Event::new(
            time,
            ev::MSC,
            msc::TIMESTAMP,
            (i as i32).wrapping_mul(5_000),
        ));
        events.push(Event::new(time, ev::SYN, syn::REPORT, 0));
        prev = *f;
    }
    Trace {
        device: device(spec.tilt),
        events,
    }
}

/// The events of one frame: only what changed, as the kernel sends it.
fn frame_events(prev: &PenFrame, f: &PenFrame, tilt: bool) -> Vec<(u16, u16, i32)> {
    let mut out = Vec::new();
    if f.in_range != prev.in_range {
        out.push((ev::KEY, key::BTN_TOOL_PEN, i32::from(f.in_range)));
    }
    let mut axes = vec![
        (abs::X, prev.x, f.x),
        (abs::Y, prev.y, f.y),
        (abs::PRESSURE, prev.pressure, f.pressure),
        (abs::DISTANCE, prev.distance, f.distance),
    ];
    if tilt {
        axes.push((abs::TILT_X, prev.tilt_x, f.tilt_x));
        axes.push((abs::TILT_Y, prev.tilt_y, f.tilt_y));
    }
    for (code, before, now) in axes {
        if before != now {
            out.push((ev::ABS, code, now));
        }
    }
    if f.touch != prev.touch {
        out.push((ev::KEY, key::BTN_TOUCH, i32::from(f.touch)));
    }
    out
}

// ---------------------------------------------------------------------------
// Sample PDF

const CONTRACT: [&[&str]; 2] = [
    &[
        "SERVICE AGREEMENT",
        "",
        "Agreement no. SA-2024-0117",
        "",
        "Between: Example Savings Bank, 1 Market Square, Exampletown (the Bank)",
        "and: the customer named on page 2 (the Customer).",
        "",
        "1. Subject. The Bank opens and keeps a current account for the",
        "   Customer and provides online banking and a debit card.",
        "2. Fees. The monthly account fee is EUR 4.90. Card replacement",
        "   costs EUR 10.00. The current price list forms part of this",
        "   agreement.",
        "3. Statements. The Bank provides monthly statements in online",
        "   banking. The Customer checks them and reports errors within",
        "   six weeks.",
        "4. Duty of care. The Customer keeps the card, PIN and online",
        "   banking credentials secret and reports loss without delay.",
        "5. Term. The agreement runs for an indefinite period. Either party",
        "   may terminate it with one month's notice in writing.",
    ],
    &[
        "6. Data protection. The Bank processes personal data as described",
        "   in its privacy notice, which the Customer has received.",
        "7. Electronic signature. The parties agree that the Customer signs",
        "   this agreement on an electronic signature pad. The signature is",
        "   bound to this document by a cryptographic digest.",
        "8. Governing law. The law of the Bank's seat applies.",
        "",
        "Customer: Lena Example",
        "Place and date: Exampletown, 12 March 2024",
        "",
        "",
        "",
        "Signature of the Customer",
    ],
];

/// A minimal PDF 1.4: catalog, page tree, Helvetica, one content stream per
/// page, info dictionary, and an exact cross-reference table.
fn sample_pdf() -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    let pages = CONTRACT.len();
    // Object numbers: 1 catalog, 2 pages, 3 font, 4 info, then page/content pairs.
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".to_owned());
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {pages} >>",
        kids.join(" ")
    ));
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    );
    objects.push(
        "<< /Title (Sample service agreement) /Producer (signpad gen-traces) \
         /CreationDate (D:20240312090000Z) >>"
            .to_owned(),
    );
    for (i, lines) in CONTRACT.iter().enumerate() {
        let mut content = String::from("BT\n/F1 11 Tf\n14 TL\n72 770 Td\n");
        for (k, line) in lines.iter().enumerate() {
            let size = if i == 0 && k == 0 { 16 } else { 11 };
            let escaped = line
                .replace('\\', "\\\\")
                .replace('(', "\\(")
                .replace(')', "\\)");
            content.push_str(&format!("/F1 {size} Tf\n({escaped}) Tj\nT*\n"));
        }
        content.push_str(&format!(
            "ET\nBT\n/F1 9 Tf\n500 40 Td\n(Page {} of {pages}) Tj\nET\n",
            i + 1
        ));
        if i + 1 == pages {
            // The signature line.
            content.push_str("0.5 w\n72 560 m\n320 560 l\nS\n");
        }
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
             /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            6 + 2 * i
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }

    let mut pdf: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        tail.push_str(&format!("{off:010} 00000 n \n"));
    }
    tail.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R /Info 4 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}
