//! One pen's pipeline: events from a source → [`Capture`] (physical units,
//! `SYN_DROPPED` gaps) → the hub. When the device vanishes, the stroke in
//! progress is ended with an explicit device-lost marker.

use signpad_ink::{Capture, DeviceDescription, InkError};
use signpad_types::{PenCapabilities, PenSample};
use tokio::sync::oneshot;

use crate::config::ResolutionOverrides;
use crate::hub::Hub;
use crate::record;
use crate::source::{EventSource, SourceItem};

/// Why a pipeline is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The device node disappeared (hot-unplug): emit the device-lost marker.
    DeviceRemoved,
    /// The daemon stops: no marker.
    Shutdown,
}

/// How a pipeline ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineEnd {
    /// A replayed trace ran out.
    TraceEnded,
    /// The device vanished or failed (marker sent).
    DeviceLost(String),
    /// Stopped on request.
    Stopped(StopReason),
}

/// What a pipeline did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineReport {
    pub events: u64,
    pub samples: u64,
    pub gaps: u32,
    pub end: PipelineEnd,
}

/// The device's capabilities with configured resolutions filled in for
/// axes that report none.
pub fn capabilities_with_overrides(
    desc: &DeviceDescription,
    overrides: &ResolutionOverrides,
) -> Result<PenCapabilities, InkError> {
    let mut caps = desc.capabilities()?;
    let fill = |axis: &mut signpad_types::AxisInfo, value: Option<i32>| {
        if axis.resolution <= 0 {
            if let Some(v) = value {
                axis.resolution = v;
            }
        }
    };
    fill(&mut caps.x, overrides.x_units_per_mm);
    fill(&mut caps.y, overrides.y_units_per_mm);
    for t in [&mut caps.tilt_x, &mut caps.tilt_y].into_iter().flatten() {
        fill(t, overrides.tilt_units_per_radian);
    }
    Ok(caps)
}

/// Runs `source` until it ends, fails, or `stop` fires, publishing samples
/// to `hub`.
pub async fn run<S: EventSource>(
    source: &mut S,
    mut capture: Capture,
    hub: &Hub,
    mut stop: oneshot::Receiver<StopReason>,
) -> PipelineReport {
    let mut events = 0u64;
    let mut samples = 0u64;
    let mut last: Option<PenSample> = None;
    let publish = |s: PenSample, samples: &mut u64, last: &mut Option<PenSample>| {
        hub.publish(&s);
        *samples += 1;
        *last = Some(s);
    };
    let end = loop {
        let item = tokio::select! {
            biased;
            reason = &mut stop => {
                break PipelineEnd::Stopped(reason.unwrap_or(StopReason::Shutdown));
            }
            item = source.next_item() => item,
        };
        match item {
            SourceItem::Event(e) => {
                events += 1;
                if let Some(s) = capture.push(e) {
                    publish(s, &mut samples, &mut last);
                }
            }
            SourceItem::Resync(state) => capture.resync(&state.abs, &state.keys),
            SourceItem::End => break PipelineEnd::TraceEnded,
            SourceItem::Lost(reason) => break PipelineEnd::DeviceLost(reason),
        }
    };
    if matches!(
        end,
        PipelineEnd::DeviceLost(_) | PipelineEnd::Stopped(StopReason::DeviceRemoved)
    ) {
        let marker = record::device_lost(last.as_ref());
        publish(marker, &mut samples, &mut last);
    }
    PipelineReport {
        events,
        samples,
        gaps: capture.gaps(),
        end,
    }
}
