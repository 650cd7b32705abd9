//! A source that replays an evemu-record trace, at the recorded speed or as
//! fast as the pipeline takes it.

use std::path::Path;
use std::sync::Arc;

use signpad_ink::{DeviceDescription, Trace, TraceLimits};
use tokio::time::Instant;

use crate::error::InputError;
use crate::source::{EventSource, SourceItem};

/// How fast a trace is replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pace {
    /// Events are delivered at their recorded times, relative to the first.
    #[default]
    Recorded,
    /// Events are delivered as fast as they are taken (tests, benchmarks).
    Fast,
}

/// What the end of the trace means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceEnd {
    /// The recording simply ends.
    #[default]
    End,
    /// The device vanished where the recording stops (a pen unplugged
    /// mid-stroke).
    DeviceLost,
    /// The device stays attached and silent (the pen put down): the source
    /// waits until it is stopped, like an idle live device.
    Hold,
}

/// Events handed out in a row in [`Pace::Fast`] before letting other tasks
/// (the stream writers) run.
const FAST_BATCH: u32 = 64;

/// Replays a parsed trace.
#[derive(Debug, Clone)]
pub struct ReplaySource {
    trace: Arc<Trace>,
    next: usize,
    pace: Pace,
    end: TraceEnd,
    started: Option<(Instant, u64)>,
    since_yield: u32,
}

impl ReplaySource {
    pub fn new(trace: Arc<Trace>, pace: Pace) -> Self {
        Self {
            trace,
            next: 0,
            pace,
            end: TraceEnd::End,
            started: None,
            since_yield: 0,
        }
    }

    /// What the end of the trace means (default [`TraceEnd::End`]).
    pub fn ending_with(mut self, end: TraceEnd) -> Self {
        self.end = end;
        self
    }

    /// Reads and parses an evemu file; errors name the file and the line.
    pub fn load(path: &Path) -> Result<Trace, InputError> {
        let bytes = std::fs::read(path).map_err(|source| InputError::ReplayRead {
            path: path.to_owned(),
            source,
        })?;
        Trace::parse_bytes(&bytes, &TraceLimits::default()).map_err(|source| {
            InputError::ReplayTrace {
                path: path.to_owned(),
                source,
            }
        })
    }
}

impl EventSource for ReplaySource {
    fn description(&self) -> &DeviceDescription {
        &self.trace.device
    }

    async fn next_item(&mut self) -> SourceItem {
        let Some(&event) = self.trace.events.get(self.next) else {
            return match self.end {
                TraceEnd::End => SourceItem::End,
                TraceEnd::DeviceLost => SourceItem::Lost("replayed device removed".into()),
                TraceEnd::Hold => std::future::pending().await,
            };
        };
        match self.pace {
            Pace::Recorded => {
                let (t0, first) = *self
                    .started
                    .get_or_insert_with(|| (Instant::now(), event.time_us));
                let offset = std::time::Duration::from_micros(event.time_us.saturating_sub(first));
                let due = t0 + offset;
                if due > Instant::now() {
                    tokio::time::sleep_until(due).await;
                }
            }
            Pace::Fast => {
                self.since_yield += 1;
                if self.since_yield >= FAST_BATCH {
                    self.since_yield = 0;
                    tokio::task::yield_now().await;
                }
            }
        }
        // Advance only once the event is handed out, so a cancelled wait
        // loses nothing.
        self.next += 1;
        SourceItem::Event(event)
    }
}
