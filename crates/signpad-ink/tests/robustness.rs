#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property tests: no input makes the parser, the capture or the renderer
//! panic, and the writer's output always parses back.

use proptest::prelude::*;
use signpad_ink::event::{abs, ev, key, syn};
use signpad_ink::{
    capture_trace, ink_stats, render_png, render_svg, split_strokes, AbsAxis, Capture,
    DeviceDescription, Event, RenderOptions, Trace,
};
use signpad_types::{AxisInfo, PenCapabilities};

fn any_event() -> impl Strategy<Value = Event> {
    let ty = prop_oneof![
        Just(ev::SYN),
        Just(ev::KEY),
        Just(ev::ABS),
        Just(ev::MSC),
        0u16..=ev::MAX
    ];
    let code = prop_oneof![
        Just(syn::REPORT),
        Just(syn::DROPPED),
        Just(abs::X),
        Just(abs::Y),
        Just(abs::PRESSURE),
        Just(abs::TILT_X),
        Just(abs::TILT_Y),
        Just(abs::DISTANCE),
        Just(key::BTN_TOUCH),
        Just(key::BTN_TOOL_PEN),
        Just(key::BTN_TOOL_RUBBER),
        Just(key::BTN_STYLUS),
        0u16..=key::MAX
    ];
    let value = prop_oneof![any::<i32>(), -100i32..10_000];
    (any::<u64>(), ty, code, value).prop_map(|(t, ty, c, v)| Event::new(t % (1 << 40), ty, c, v))
}

fn any_axis() -> impl Strategy<Value = AxisInfo> {
    (any::<i32>(), any::<i32>(), -5i32..1000).prop_map(|(a, b, resolution)| AxisInfo {
        min: a.min(b),
        max: a.max(b),
        resolution,
    })
}

fn any_caps() -> impl Strategy<Value = PenCapabilities> {
    (
        any_axis(),
        any_axis(),
        proptest::option::of(any_axis()),
        proptest::option::of(any_axis()),
        proptest::option::of(any_axis()),
    )
        .prop_map(|(x, y, pressure, tilt_x, tilt_y)| PenCapabilities {
            name: String::new(),
            vendor: 0,
            product: 0,
            x,
            y,
            pressure,
            tilt_x,
            tilt_y,
            distance: None,
        })
}

/// Text made of plausible evemu line starts and garbage.
fn evemu_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[NIPBASLE#]: [0-9a-fA-F .:-]{0,40}",
        "E: [0-9]{1,12}\\.[0-9]{0,8} [0-9a-f]{1,6} [0-9a-f]{1,6} -?[0-9]{1,12}",
        "A: [0-9a-f]{1,3}( -?[0-9]{1,11}){0,7}",
        "B: [0-9a-f]{1,3}( [0-9a-f]{1,3}){0,20}",
        "\\PC{0,30}",
    ];
    proptest::collection::vec(line, 0..40).prop_map(|l| l.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn capture_never_panics(caps in any_caps(), events in proptest::collection::vec(any_event(), 0..300)) {
        if let Ok(mut c) = Capture::new(caps) {
            let mut last = 0;
            for e in events {
                if let Some(s) = c.push(e) {
                    prop_assert!(s.t_us >= last);
                    prop_assert!(s.tilt_x != Some(i16::MIN) && s.tilt_y != Some(i16::MIN));
                    last = s.t_us;
                }
            }
        }
    }

    #[test]
    fn parser_never_panics(text in evemu_like()) {
        if let Ok(trace) = Trace::parse(&text) {
            // Whatever parses, replays and renders without panicking.
            if let Ok(c) = capture_trace(&trace) {
                let strokes = split_strokes(&c.samples);
                let _ = ink_stats(&c.samples);
                let _ = render_svg(&strokes, &RenderOptions::sized(64, 32));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Trace::parse_bytes(&bytes, &Default::default());
    }

    #[test]
    fn random_streams_replay_and_render(caps in any_caps(), events in proptest::collection::vec(any_event(), 0..200)) {
        if let Ok(mut c) = Capture::new(caps) {
            let samples: Vec<_> = events.into_iter().filter_map(|e| c.push(e)).collect();
            let strokes = split_strokes(&samples);
            prop_assert!(strokes.iter().all(|s| !s.samples().is_empty()));
            let _ = render_png(&strokes, &RenderOptions::sized(32, 16));
        }
    }

    #[test]
    fn written_traces_parse_back(
        name in "[ -~]{0,30}",
        ids in any::<[u16; 4]>(),
        props in proptest::collection::btree_set(0u16..32, 0..4),
        axes in proptest::collection::btree_map(0u16..=abs::MAX, (any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()), 0..6),
        keys in proptest::collection::btree_set(0u16..=key::MAX, 0..6),
        events in proptest::collection::vec(any_event(), 0..50),
    ) {
        let mut device = DeviceDescription {
            name: name.trim().to_owned(),
            bus: ids[0], vendor: ids[1], product: ids[2], version: ids[3],
            properties: props,
            ..DeviceDescription::default()
        };
        for (code, (a, b, fuzz, flat, resolution)) in axes {
            device.add_abs(code, AbsAxis { min: a.min(b), max: a.max(b), fuzz, flat, resolution });
        }
        for k in keys {
            device.add_code(ev::KEY, k);
        }
        let trace = Trace { device, events };
        prop_assert_eq!(Trace::parse(&trace.to_evemu()).unwrap(), trace);
    }
}
