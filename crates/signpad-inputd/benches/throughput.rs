//! Input daemon benchmarks (a bench binary, `harness = false`):
//!
//! ```text
//! cargo bench -p signpad-inputd --bench throughput
//! ```
//!
//! 1. Replay throughput: a long trace (the 5-second tilt signature repeated)
//!    replayed as fast as possible through the whole pipeline (replay source
//!    → Capture → hub → stream socket) on a single-threaded runtime, to a
//!    consumer thread reading the socket. Reports events/s and samples/s,
//!    and checks zero loss (no overflow, every sample received).
//! 2. Latency at 1 kHz: a synthetic 1 kHz pen replayed at recorded speed;
//!    for each frame, the time from the source handing out its SYN_REPORT
//!    (the moment a live device's read would return it) to the consumer
//!    having read the sample. Reports p50/p99/max.
//! 3. Idle: the real `signpad-inputd` binary on a private bus watching an
//!    empty input directory: RSS after start, and CPU time used over 3 s idle.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signpad_ink::event::{abs, ev, key, syn};
use signpad_ink::{AbsAxis, Capture, DeviceDescription, Event, Trace};
use signpad_inputd::pipeline::{self, StopReason};
use signpad_inputd::record::RECORD_LEN;
use signpad_inputd::replay::{Pace, ReplaySource};
use signpad_inputd::{EventSource, Hub, SourceItem};

fn data(file: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(file)
}

/// Reads `expected` records on another thread; returns the count and the
/// receive instant of each.
fn consumer(fd: std::os::fd::OwnedFd, expected: usize) -> std::thread::JoinHandle<Vec<Instant>> {
    std::thread::spawn(move || {
        let mut sock = std::os::unix::net::UnixStream::from(fd);
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = vec![0u8; 512 * RECORD_LEN];
        let mut pending = 0usize;
        let mut stamps = Vec::with_capacity(expected);
        while stamps.len() < expected {
            let n = match sock.read(&mut buf[pending..]) {
                Ok(0) | Err(_) => {
                    eprintln!(
                        "stream stalled after {} of {expected} records",
                        stamps.len()
                    );
                    break;
                }
                Ok(n) => n,
            };
            let now = Instant::now();
            pending += n;
            let whole = pending / RECORD_LEN;
            stamps.extend(std::iter::repeat_n(now, whole));
            buf.copy_within(whole * RECORD_LEN..pending, 0);
            pending %= RECORD_LEN;
        }
        stamps
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The 5-second tilt signature repeated 100 times (574,600 events).
fn long_trace() -> Trace {
    let base = ReplaySource::load(&data("signature-tilt.evemu")).unwrap();
    let span = base.events.last().unwrap().time_us - base.events[0].time_us + 5_000;
    let mut events = Vec::with_capacity(base.events.len() * 100);
    for r in 0..100u64 {
        events.extend(base.events.iter().map(|e| Event {
            time_us: e.time_us + r * span,
            ..*e
        }));
    }
    Trace {
        device: base.device,
        events,
    }
}

/// Compresses the trace's timeline so that it plays at `events_per_s`.
fn at_rate(trace: &Trace, events_per_s: f64) -> Trace {
    let first = trace.events[0].time_us;
    let span = (trace.events.last().unwrap().time_us - first) as f64;
    let target_span = trace.events.len() as f64 / events_per_s * 1e6;
    let k = target_span / span;
    Trace {
        device: trace.device.clone(),
        events: trace
            .events
            .iter()
            .map(|e| Event {
                time_us: first + ((e.time_us - first) as f64 * k) as u64,
                ..*e
            })
            .collect(),
    }
}

/// Replays `trace` through the pipeline to a socket consumer; prints
/// events/s and loss.
fn replay_run(label: &str, trace: Trace, pace: Pace, buffer: usize) {
    let trace = Arc::new(trace);
    let expected = signpad_ink::capture_trace(&trace).unwrap().samples.len();
    let rt = runtime();
    let hub = Hub::new(buffer, 4);
    let fd = rt.block_on(async { hub.open_stream() }).unwrap();
    let reader = consumer(fd, expected);
    let capture = Capture::new(trace.device.capabilities().unwrap()).unwrap();
    let mut source = ReplaySource::new(Arc::clone(&trace), pace);
    let start = Instant::now();
    let cpu0 = process_cpu();
    let (report, pipeline_done) = rt.block_on(async {
        let (_stop, rx) = tokio::sync::oneshot::channel::<StopReason>();
        let report = pipeline::run(&mut source, capture, &hub, rx).await;
        let done = start.elapsed();
        // Let the writer drain the buffer into the socket.
        while !reader.is_finished() {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        (report, done)
    });
    let stamps = reader.join().unwrap();
    let cpu = process_cpu().saturating_sub(cpu0);
    let wall = start.elapsed();
    let took = stamps.last().map_or(start.elapsed(), |t| *t - start);
    let secs = took.as_secs_f64();
    println!("{label}:");
    println!(
        "  {} events ({} samples) delivered in {:.3} s = {:.0} events/s end to end \
         (capture loop done after {:.3} s); process CPU {:.2} s ({:.0}% of one core)",
        report.events,
        report.samples,
        secs,
        report.events as f64 / secs,
        pipeline_done.as_secs_f64(),
        cpu.as_secs_f64(),
        cpu.as_secs_f64() / wall.as_secs_f64() * 100.0,
    );
    println!(
        "  received {} of {} samples, dropped {}: {}",
        stamps.len(),
        expected,
        hub.dropped(),
        if stamps.len() == expected && hub.dropped() == 0 {
            "zero loss"
        } else {
            "LOSS (overflow markers sent)"
        }
    );
}

/// CPU time (user + system) of this process.
fn process_cpu() -> Duration {
    let ticks = cpu_ticks(std::process::id()).unwrap_or(0);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

fn throughput(full: bool) {
    let trace = long_trace();
    replay_run(
        "replay as fast as possible, single-threaded runtime, consumer thread, \
         buffer large enough for the whole trace",
        trace.clone(),
        Pace::Fast,
        200_000,
    );
    if !full {
        return;
    }
    replay_run(
        "replay as fast as possible, default buffer (4096 samples): the consumer \
         cannot keep up with an unpaced source, overflow is expected",
        trace.clone(),
        Pace::Fast,
        4096,
    );
    for rate in [50_000.0, 200_000.0] {
        replay_run(
            &format!("replay paced at {rate:.0} events/s, default buffer (4096 samples)"),
            at_rate(&trace, rate),
            Pace::Recorded,
            4096,
        );
    }
}

/// Records when each SYN_REPORT is handed to the pipeline.
struct Stamped {
    inner: ReplaySource,
    stamps: Arc<Mutex<Vec<Instant>>>,
}

impl EventSource for Stamped {
    fn description(&self) -> &DeviceDescription {
        self.inner.description()
    }
    async fn next_item(&mut self) -> SourceItem {
        let item = self.inner.next_item().await;
        if let SourceItem::Event(e) = &item {
            if e.ev_type == ev::SYN && e.code == syn::REPORT {
                self.stamps.lock().unwrap().push(Instant::now());
            }
        }
        item
    }
}

fn latency() {
    let mut d = DeviceDescription {
        name: "1 kHz pen".into(),
        ..Default::default()
    };
    d.add_code(ev::KEY, key::BTN_TOOL_PEN);
    d.add_code(ev::KEY, key::BTN_TOUCH);
    d.add_abs(abs::X, AbsAxis::new(0, 100_000, 100));
    d.add_abs(abs::Y, AbsAxis::new(0, 100_000, 100));
    d.add_abs(abs::PRESSURE, AbsAxis::new(0, 4095, 0));
    let frames = 3000u64;
    let mut events = Vec::new();
    for i in 0..frames {
        let t = 1_000_000 + i * 1000;
        let v = i32::try_from(i).unwrap();
        if i == 0 {
            events.push(Event::new(t, ev::KEY, key::BTN_TOOL_PEN, 1));
            events.push(Event::new(t, ev::KEY, key::BTN_TOUCH, 1));
        }
        events.push(Event::new(t, ev::ABS, abs::X, 1000 + v));
        events.push(Event::new(t, ev::ABS, abs::Y, 2000 + v));
        events.push(Event::new(t, ev::ABS, abs::PRESSURE, 1000 + v % 100));
        events.push(Event::new(t, ev::SYN, syn::REPORT, 0));
    }
    let trace = Arc::new(Trace { device: d, events });
    let rt = runtime();
    let hub = Hub::new(4096, 4);
    let fd = rt.block_on(async { hub.open_stream() }).unwrap();
    let reader = consumer(fd, usize::try_from(frames).unwrap());
    let stamps = Arc::new(Mutex::new(Vec::new()));
    let mut source = Stamped {
        inner: ReplaySource::new(Arc::clone(&trace), Pace::Recorded),
        stamps: Arc::clone(&stamps),
    };
    let capture = Capture::new(trace.device.capabilities().unwrap()).unwrap();
    rt.block_on(async {
        let (_stop, rx) = tokio::sync::oneshot::channel::<StopReason>();
        pipeline::run(&mut source, capture, &hub, rx).await;
        while !reader.is_finished() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let received = reader.join().unwrap();
    let sent = stamps.lock().unwrap().clone();
    let mut lat: Vec<Duration> = sent
        .iter()
        .zip(&received)
        .map(|(s, r)| r.saturating_duration_since(*s))
        .collect();
    lat.sort();
    let pct = |p: usize| lat[(lat.len() * p / 100).min(lat.len() - 1)];
    println!("latency at 1 kHz (recorded pace), SYN_REPORT handed out → sample read by consumer:");
    println!(
        "  {} samples: p50 {:?}, p99 {:?}, max {:?}",
        lat.len(),
        pct(50),
        pct(99),
        lat.last().unwrap()
    );
}

fn proc_field(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn idle() {
    let bus = signpad_testkit::DbusDaemon::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::create_dir(&input).unwrap();
    let config = dir.path().join("inputd.toml");
    std::fs::write(
        &config,
        format!(
            "[access]\nallowed_uids = [0]\n\n[discovery]\ninput_dir = {:?}\n",
            input
        ),
    )
    .unwrap();
    let notify_path = dir.path().join("notify");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_signpad-inputd"))
        .arg("--config")
        .arg(&config)
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus.address())
        .env("NOTIFY_SOCKET", &notify_path)
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let mut buf = [0u8; 64];
    notify.recv(&mut buf).expect("READY");
    std::thread::sleep(Duration::from_millis(500));
    let pid = child.id();
    let ticks0 = cpu_ticks(pid).unwrap_or(0);
    std::thread::sleep(Duration::from_secs(3));
    let ticks1 = cpu_ticks(pid).unwrap_or(0);
    let rss = proc_field(pid, "VmRSS:").unwrap_or(0);
    let hwm = proc_field(pid, "VmHWM:").unwrap_or(0);
    println!("idle daemon (release binary, private bus, empty input directory):");
    println!(
        "  RSS {rss} kB (peak {hwm} kB), CPU over 3 s idle: {} clock ticks",
        ticks1 - ticks0
    );
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = child.wait();
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing
    // useful: run the quick parts only then.
    let full = std::env::args().any(|a| a == "--bench");
    throughput(full);
    if full {
        latency();
        idle();
    }
}
