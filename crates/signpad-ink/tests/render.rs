#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Rendering: PNG size and content, determinism, SVG well-formedness, options.

mod common;

use common::capture;
use signpad_ink::{
    render_png, render_svg, split_strokes, Background, InkError, RenderOptions, Rgba8, Stroke,
};
use signpad_types::{PenSample, SampleFlags};
use tiny_skia::Pixmap;

fn strokes(name: &str) -> Vec<Stroke> {
    split_strokes(&capture(name).samples)
}

/// Pixels that differ from white (opaque background) or have alpha.
fn ink_pixels(p: &Pixmap, bg_white: bool) -> Vec<(u32, u32)> {
    let w = p.width();
    p.pixels()
        .iter()
        .enumerate()
        .filter(|(_, px)| {
            if bg_white {
                px.red() < 200 || px.green() < 200
            } else {
                px.alpha() > 0
            }
        })
        .map(|(i, _)| (i as u32 % w, i as u32 / w))
        .collect()
}

#[test]
fn png_has_requested_size_and_ink_inside_the_margin() {
    let s = strokes("signature-tilt.evemu");
    for (w, h) in [(600, 200), (300, 300), (1200, 400), (64, 48)] {
        let opts = RenderOptions {
            margin_px: (w.min(h) / 10),
            ..RenderOptions::sized(w, h)
        };
        let png = render_png(&s, &opts).unwrap();
        let p = Pixmap::decode_png(&png).unwrap();
        assert_eq!((p.width(), p.height()), (w, h));
        let ink = ink_pixels(&p, true);
        assert!(
            ink.len() > (w * h / 200) as usize,
            "{w}x{h}: {} ink pixels",
            ink.len()
        );
        let m = opts.margin_px;
        let (x0, x1) = (
            ink.iter().map(|p| p.0).min().unwrap(),
            ink.iter().map(|p| p.0).max().unwrap(),
        );
        let (y0, y1) = (
            ink.iter().map(|p| p.1).min().unwrap(),
            ink.iter().map(|p| p.1).max().unwrap(),
        );
        // Inside the margin (1 px of anti-aliasing slack) …
        assert!(
            x0 + 1 >= m && x1 < w - m + 1 && y0 + 1 >= m && y1 < h - m + 1,
            "{w}x{h}: {x0}..{x1} {y0}..{y1}"
        );
        // … and filling the limiting dimension, centred in the other.
        let fills_w = x1 - x0 + 1 >= (w - 2 * m) * 9 / 10;
        let fills_h = y1 - y0 + 1 >= (h - 2 * m) * 9 / 10;
        assert!(fills_w || fills_h, "{w}x{h}: not fitted");
        let (cx, cy) = ((x0 + x1) as i64 / 2, (y0 + y1) as i64 / 2);
        assert!(
            (cx - w as i64 / 2).abs() <= 2 + w as i64 / 50,
            "{w}x{h}: cx {cx}"
        );
        assert!(
            (cy - h as i64 / 2).abs() <= 2 + h as i64 / 50,
            "{w}x{h}: cy {cy}"
        );
    }
}

#[test]
fn ink_follows_the_strokes() {
    // A single horizontal stroke from 10 mm to 60 mm at y = 20 mm renders as
    // a horizontal band through the middle.
    let samples: Vec<PenSample> = (0..=50)
        .map(|i| PenSample {
            t_us: i * 5000,
            x: 1000 + i as i32 * 100,
            y: 2000,
            pressure: 40_000,
            tilt_x: None,
            tilt_y: None,
            flags: SampleFlags(SampleFlags::IN_CONTACT | SampleFlags::IN_RANGE),
        })
        .collect();
    let s = split_strokes(&samples);
    let p = Pixmap::decode_png(&render_png(&s, &RenderOptions::sized(400, 100)).unwrap()).unwrap();
    let ink = ink_pixels(&p, true);
    assert!(
        ink.iter().all(|&(_, y)| (40..60).contains(&y)),
        "ink off the line"
    );
    assert!(ink.iter().any(|&(x, _)| x < 30) && ink.iter().any(|&(x, _)| x > 370));
    // The middle column is inked.
    assert!(ink.iter().any(|&(x, y)| x == 200 && y == 50));
}

#[test]
fn transparent_background_leaves_paper_clear_and_ink_colour_exact() {
    let s = strokes("signature-basic.evemu");
    let opts = RenderOptions {
        background: Background::Transparent,
        ink: Rgba8::opaque(200, 10, 20),
        ..RenderOptions::sized(500, 200)
    };
    let p = Pixmap::decode_png(&render_png(&s, &opts).unwrap()).unwrap();
    let px = p.pixels();
    assert_eq!(px[0].alpha(), 0, "corner is paper");
    let solid: Vec<_> = px.iter().filter(|c| c.alpha() == 255).collect();
    assert!(!solid.is_empty());
    assert!(solid
        .iter()
        .all(|c| (c.red(), c.green(), c.blue()) == (200, 10, 20)));
    assert!(ink_pixels(&p, false).len() > 1000);
}

#[test]
fn rendering_is_deterministic() {
    let s = strokes("signature-syn-dropped.evemu");
    let o = RenderOptions::sized(640, 240);
    assert_eq!(render_png(&s, &o).unwrap(), render_png(&s, &o).unwrap());
    assert_eq!(render_svg(&s, &o).unwrap(), render_svg(&s, &o).unwrap());
}

#[test]
fn no_strokes_renders_blank_paper() {
    let p = Pixmap::decode_png(&render_png(&[], &RenderOptions::sized(50, 20)).unwrap()).unwrap();
    assert!(p
        .pixels()
        .iter()
        .all(|c| c.red() == 255 && c.alpha() == 255));
    assert!(render_svg(&[], &RenderOptions::sized(50, 20))
        .unwrap()
        .contains("</svg>"));
}

#[test]
fn a_single_sample_is_a_dot() {
    let dot = PenSample {
        t_us: 0,
        x: 500,
        y: 500,
        pressure: 30_000,
        tilt_x: None,
        tilt_y: None,
        flags: SampleFlags(SampleFlags::IN_CONTACT),
    };
    let s = split_strokes(&[dot]);
    let p = Pixmap::decode_png(&render_png(&s, &RenderOptions::sized(40, 40)).unwrap()).unwrap();
    assert!(!ink_pixels(&p, true).is_empty());
}

#[test]
fn bad_options_are_rejected_by_name() {
    let s = strokes("initials-short.evemu");
    let err = render_png(&s, &RenderOptions::sized(0, 10)).unwrap_err();
    assert_eq!(
        err,
        InkError::ImageSize {
            width: 0,
            height: 10,
            max: 8192
        }
    );
    assert!(matches!(
        render_png(&s, &RenderOptions::sized(9000, 10)),
        Err(InkError::ImageSize { .. })
    ));
    let cases = [
        (
            RenderOptions {
                margin_px: 100,
                ..RenderOptions::sized(200, 200)
            },
            "margin_px",
        ),
        (
            RenderOptions {
                nib_mm: f32::NAN,
                ..RenderOptions::default()
            },
            "nib_mm",
        ),
        (
            RenderOptions {
                thin_ratio: 1.5,
                ..RenderOptions::default()
            },
            "thin_ratio",
        ),
        (
            RenderOptions {
                speed_half_mm_s: 0.0,
                ..RenderOptions::default()
            },
            "speed_half_mm_s",
        ),
        (
            RenderOptions {
                min_width_px: -1.0,
                ..RenderOptions::default()
            },
            "min_width_px",
        ),
    ];
    for (o, name) in cases {
        match render_svg(&s, &o) {
            Err(InkError::RenderOption { option, .. }) => assert_eq!(option, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn svg_is_well_formed_with_one_path_per_stroke() {
    let s = strokes("signature-tilt.evemu");
    let svg = render_svg(&s, &RenderOptions::sized(600, 200)).unwrap();
    check_well_formed(&svg);
    assert!(svg.contains(r#"width="600" height="200" viewBox="0 0 600 200""#));
    assert_eq!(svg.matches("<path ").count(), s.len());
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
    // Coordinates stay on the canvas.
    let d_numbers = svg
        .split("d=\"")
        .skip(1)
        .flat_map(|p| {
            p.split('"')
                .next()
                .unwrap()
                .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
        })
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<f32>().unwrap());
    assert!(d_numbers.into_iter().all(|v| (-1.0..=601.0).contains(&v)));
}

/// A small XML well-formedness check: one root, balanced and properly nested
/// tags, quoted attributes, no stray `<` or `&`.
fn check_well_formed(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        assert!(
            rest[..open].trim().is_empty() || !stack.is_empty(),
            "text outside root"
        );
        assert!(!rest[..open].contains('&'), "stray &");
        let close = rest[open..].find('>').expect("unclosed tag") + open;
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "< inside tag: {tag}");
        assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
        } else {
            let name = tag
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric()),
                "tag name {name}"
            );
            if stack.is_empty() {
                roots += 1;
            }
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        rest = &rest[close + 1..];
    }
    assert!(rest.trim().is_empty());
    assert!(stack.is_empty(), "unclosed {stack:?}");
    assert_eq!(roots, 1);
}
