//! Pressure-and-velocity width ink, rendered to PNG (tiny-skia) and SVG.
//!
//! Both outputs draw the same geometry: each stroke is the union of discs at
//! the smoothed curve points (radius from the width model) and the
//! trapezoids joining consecutive discs, all wound the same way and filled
//! once with the non-zero rule. Filling the union once means overlapping
//! pieces never darken, even with a translucent ink colour.
//!
//! Width model: `nib_mm × (thin + (1 − thin) × pressure^0.6) × (1 − 0.4 ×
//! v / (v + v_half))` — firmer pressure gives a broader line, fast movement a
//! thinner one (as a real pen deposits less ink), bounded to 0.6..1 of the
//! pressure width so it never breaks up.
//!
//! The drawing is scaled to fit the image minus a margin, aspect kept and
//! centred. Output is deterministic for the same input and options.

use std::fmt::Write as _;

use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Transform};

use crate::error::InkError;
use crate::smooth::{smooth_stroke, InkPoint};
use crate::stroke::Stroke;

/// Largest image side accepted, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 8192;

/// An sRGB colour with straight (not premultiplied) alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgba8 {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

impl Rgba8 {
    pub const WHITE: Self = Self::opaque(0xff, 0xff, 0xff);
    pub const BLACK: Self = Self::opaque(0, 0, 0);
    /// Ballpoint blue, the default ink.
    pub const BLUE_INK: Self = Self::opaque(0x1a, 0x2b, 0x6d);

    pub const fn opaque(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b, a: 0xff }
    }

    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

/// What lies behind the ink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    Transparent,
    Solid(Rgba8),
}

/// How to render a signature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    pub width_px: u32,
    pub height_px: u32,
    /// Free border on every side, in pixels.
    pub margin_px: u32,
    pub ink: Rgba8,
    pub background: Background,
    /// Line width in mm at full pressure and low speed.
    pub nib_mm: f32,
    /// Width at zero pressure as a fraction of the full width, 0..=1.
    pub thin_ratio: f32,
    /// Speed in mm/s at which the line is 80 % of its slow width.
    pub speed_half_mm_s: f32,
    /// No line is drawn thinner than this, in pixels.
    pub min_width_px: f32,
}

impl Default for RenderOptions {
    /// 600×200 px, 16 px margin, blue ink on white, 0.8 mm nib.
    fn default() -> Self {
        Self {
            width_px: 600,
            height_px: 200,
            margin_px: 16,
            ink: Rgba8::BLUE_INK,
            background: Background::Solid(Rgba8::WHITE),
            nib_mm: 0.8,
            thin_ratio: 0.35,
            speed_half_mm_s: 250.0,
            min_width_px: 1.0,
        }
    }
}

impl RenderOptions {
    /// Options for an image of the given size: margin 1/12 of the smaller
    /// side (at most 16 px), other fields default.
    pub fn sized(width_px: u32, height_px: u32) -> Self {
        Self {
            width_px,
            height_px,
            margin_px: (width_px.min(height_px) / 12).min(16),
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<(), InkError> {
        let side_ok = |s: u32| (1..=MAX_IMAGE_SIDE).contains(&s);
        if !side_ok(self.width_px) || !side_ok(self.height_px) {
            return Err(InkError::ImageSize {
                width: self.width_px,
                height: self.height_px,
                max: MAX_IMAGE_SIDE,
            });
        }
        let bad = |option, value: String, expected| {
            Err(InkError::RenderOption {
                option,
                value,
                expected,
            })
        };
        if u64::from(self.margin_px) * 2 >= u64::from(self.width_px.min(self.height_px)) {
            return bad(
                "margin_px",
                self.margin_px.to_string(),
                "less than half of the smaller image side",
            );
        }
        if !(self.nib_mm.is_finite() && self.nib_mm > 0.0 && self.nib_mm <= 50.0) {
            return bad(
                "nib_mm",
                self.nib_mm.to_string(),
                "a width in mm, 0 < nib_mm <= 50",
            );
        }
        if !(0.0..=1.0).contains(&self.thin_ratio) {
            return bad(
                "thin_ratio",
                self.thin_ratio.to_string(),
                "a fraction 0..=1",
            );
        }
        if !(self.speed_half_mm_s.is_finite() && self.speed_half_mm_s > 0.0) {
            return bad(
                "speed_half_mm_s",
                self.speed_half_mm_s.to_string(),
                "a positive speed in mm/s",
            );
        }
        if !(self.min_width_px.is_finite() && (0.0..=100.0).contains(&self.min_width_px)) {
            return bad(
                "min_width_px",
                self.min_width_px.to_string(),
                "0..=100 pixels",
            );
        }
        Ok(())
    }

    /// Line width in mm for a point.
    fn width_mm(&self, p: &InkPoint) -> f32 {
        let pressure = p.pressure.clamp(0.0, 1.0).powf(0.6);
        let v = p.speed_mm_s.max(0.0);
        let speed = 1.0 - 0.4 * v / (v + self.speed_half_mm_s);
        self.nib_mm * (self.thin_ratio + (1.0 - self.thin_ratio) * pressure) * speed
    }
}

/// A disc of the outline, in pixels.
#[derive(Debug, Clone, Copy)]
struct Disc {
    x: f32,
    y: f32,
    r: f32,
}

/// One filled piece of a stroke outline.
enum Piece {
    Disc(Disc),
    /// Convex quadrilateral, positive orientation (clockwise on screen).
    Quad([(f32, f32); 4]),
}

/// Stroke outlines in pixel coordinates, ready to fill.
struct Outline {
    strokes: Vec<Vec<Piece>>,
}

/// Subdivision of the smoothed curve, in output pixels.
const STEP_PX: f32 = 1.5;

fn layout(strokes: &[Stroke], o: &RenderOptions) -> Outline {
    let Some((min_x, min_y, max_x, max_y)) = extent(strokes) else {
        return Outline {
            strokes: Vec::new(),
        };
    };
    // Leave room for half a nib around the sample positions.
    let pad = o.nib_mm / 2.0;
    let (w_mm, h_mm) = (max_x - min_x + 2.0 * pad, max_y - min_y + 2.0 * pad);
    let avail_w = (o.width_px - 2 * o.margin_px) as f32;
    let avail_h = (o.height_px - 2 * o.margin_px) as f32;
    let scale = (avail_w / w_mm).min(avail_h / h_mm);
    let off_x = (o.width_px as f32 - w_mm * scale) / 2.0 - (min_x - pad) * scale;
    let off_y = (o.height_px as f32 - h_mm * scale) / 2.0 - (min_y - pad) * scale;
    let radius = |p: &InkPoint| (o.width_mm(p) * scale).max(o.min_width_px) / 2.0;

    let strokes = strokes
        .iter()
        .map(|stroke| {
            let discs: Vec<Disc> = smooth_stroke(stroke, STEP_PX / scale)
                .iter()
                .map(|p| Disc {
                    x: p.x_mm * scale + off_x,
                    y: p.y_mm * scale + off_y,
                    r: radius(p),
                })
                .collect();
            let mut pieces: Vec<Piece> = discs.iter().map(|&d| Piece::Disc(d)).collect();
            pieces.extend(discs.windows(2).filter_map(|w| match w {
                [a, b] => bridge(*a, *b),
                _ => None,
            }));
            pieces
        })
        .collect();
    Outline { strokes }
}

/// Sample-position extent of all strokes in mm.
fn extent(strokes: &[Stroke]) -> Option<(f32, f32, f32, f32)> {
    let mut it = strokes.iter().flat_map(Stroke::samples);
    let first = it.next()?;
    let mm = |v: i32| v as f32 / 100.0;
    let init = (mm(first.x), mm(first.y), mm(first.x), mm(first.y));
    Some(it.fold(init, |(x0, y0, x1, y1), s| {
        (
            x0.min(mm(s.x)),
            y0.min(mm(s.y)),
            x1.max(mm(s.x)),
            y1.max(mm(s.y)),
        )
    }))
}

/// The trapezoid joining two discs, or `None` when they coincide.
fn bridge(a: Disc, b: Disc) -> Option<Piece> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len = dx.hypot(dy);
    if len < 1e-3 {
        return None;
    }
    let (nx, ny) = (-dy / len, dx / len);
    let mut q = [
        (a.x + nx * a.r, a.y + ny * a.r),
        (b.x + nx * b.r, b.y + ny * b.r),
        (b.x - nx * b.r, b.y - ny * b.r),
        (a.x - nx * a.r, a.y - ny * a.r),
    ];
    if signed_area(&q) < 0.0 {
        q.reverse();
    }
    Some(Piece::Quad(q))
}

fn signed_area(q: &[(f32, f32); 4]) -> f32 {
    let mut s = 0.0;
    for i in 0..4 {
        let (x0, y0) = q[i];
        let (x1, y1) = q[(i + 1) % 4];
        s += x0 * y1 - x1 * y0;
    }
    s / 2.0
}

/// Bézier handle length for a quarter circle.
const KAPPA: f32 = 0.552_284_8;

fn push_disc(pb: &mut PathBuilder, d: Disc) {
    // Right → bottom → left → top: clockwise on screen, like the quads.
    let k = d.r * KAPPA;
    let (x, y, r) = (d.x, d.y, d.r);
    pb.move_to(x + r, y);
    pb.cubic_to(x + r, y + k, x + k, y + r, x, y + r);
    pb.cubic_to(x - k, y + r, x - r, y + k, x - r, y);
    pb.cubic_to(x - r, y - k, x - k, y - r, x, y - r);
    pb.cubic_to(x + k, y - r, x + r, y - k, x + r, y);
    pb.close();
}

/// Renders strokes to a PNG image.
pub fn render_png(strokes: &[Stroke], options: &RenderOptions) -> Result<Vec<u8>, InkError> {
    options.validate()?;
    let o = options;
    let mut pixmap = Pixmap::new(o.width_px, o.height_px).ok_or(InkError::ImageSize {
        width: o.width_px,
        height: o.height_px,
        max: MAX_IMAGE_SIDE,
    })?;
    if let Background::Solid(c) = o.background {
        pixmap.fill(Color::from_rgba8(c.r, c.g, c.b, c.a));
    }
    let mut paint = Paint::default();
    paint.set_color_rgba8(o.ink.r, o.ink.g, o.ink.b, o.ink.a);
    paint.anti_alias = true;
    for pieces in layout(strokes, o).strokes {
        let mut pb = PathBuilder::new();
        for piece in pieces {
            match piece {
                Piece::Disc(d) => push_disc(&mut pb, d),
                Piece::Quad(q) => {
                    let [(x0, y0), rest @ ..] = q;
                    pb.move_to(x0, y0);
                    for (x, y) in rest {
                        pb.line_to(x, y);
                    }
                    pb.close();
                }
            }
        }
        if let Some(path) = pb.finish() {
            pixmap.fill_path(
                &path,
                &paint,
                FillRule::Winding,
                Transform::identity(),
                None,
            );
        }
    }
    pixmap
        .encode_png()
        .map_err(|e| InkError::PngEncode(e.to_string()))
}

/// Renders strokes to an SVG document (one filled `<path>` per stroke).
pub fn render_svg(strokes: &[Stroke], options: &RenderOptions) -> Result<String, InkError> {
    options.validate()?;
    let o = options;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#,
        w = o.width_px,
        h = o.height_px
    );
    if let Background::Solid(c) = o.background {
        let _ = writeln!(
            out,
            r#"<rect width="100%" height="100%" fill="{}" fill-opacity="{}"/>"#,
            c.hex(),
            opacity(c.a)
        );
    }
    let _ = writeln!(
        out,
        r#"<g fill="{}" fill-opacity="{}" fill-rule="nonzero" stroke="none">"#,
        o.ink.hex(),
        opacity(o.ink.a)
    );
    for pieces in layout(strokes, o).strokes {
        out.push_str("<path d=\"");
        for piece in pieces {
            match piece {
                Piece::Disc(d) => {
                    // Two clockwise half circles (sweep flag 1).
                    let _ = write!(
                        out,
                        "M{} {}A{r} {r} 0 1 1 {} {}A{r} {r} 0 1 1 {} {}Z",
                        n(d.x + d.r),
                        n(d.y),
                        n(d.x - d.r),
                        n(d.y),
                        n(d.x + d.r),
                        n(d.y),
                        r = n(d.r)
                    );
                }
                Piece::Quad(q) => {
                    let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = q;
                    let _ = write!(
                        out,
                        "M{} {}L{} {}L{} {}L{} {}Z",
                        n(x0),
                        n(y0),
                        n(x1),
                        n(y1),
                        n(x2),
                        n(y2),
                        n(x3),
                        n(y3)
                    );
                }
            }
        }
        out.push_str("\"/>\n");
    }
    out.push_str("</g>\n</svg>\n");
    Ok(out)
}

/// A coordinate with two decimals, trailing zeros dropped.
fn n(v: f32) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

fn opacity(a: u8) -> String {
    n(f32::from(a) / 255.0)
}
