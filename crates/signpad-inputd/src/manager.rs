//! The device manager: decides, from hot-plug events, which device is the
//! pen being captured, and runs its pipeline.
//!
//! Every evdev node is probed (opened, described, closed); only devices the
//! [`DeviceSelector`] selects are listed, and one of them at a time, the
//! first that appeared, is grabbed and captured. When it goes away (node
//! removed, read error), its pipeline ends the stroke with a device-lost
//! marker and the next listed pen, if any, takes over.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use signpad_ink::{Capture, DeviceDescription, Trace};
use signpad_types::PenCapabilities;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::classify::{classify, pen_buttons, DeviceSelector};
use crate::config::ResolutionOverrides;
use crate::error::InputError;
use crate::hotplug::HotplugEvent;
use crate::hub::{DeviceInfo, Hub};
use crate::live::{self, EvdevSource};
use crate::pipeline::{self, PipelineEnd, PipelineReport, StopReason};
use crate::replay::{Pace, ReplaySource, TraceEnd};
use crate::source::EventSource;

/// Opens devices for the manager: live nodes, or traces standing in for them.
pub trait DeviceOpener: Send + Sync + 'static {
    type Source: EventSource + 'static;
    /// Reads the description without grabbing.
    fn probe(&self, path: &Path) -> Result<DeviceDescription, InputError>;
    /// Opens (and grabs) the device for capture.
    fn open(&self, path: &Path) -> Result<Self::Source, InputError>;
}

/// Real `/dev/input/event*` nodes.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveOpener;

impl DeviceOpener for LiveOpener {
    type Source = EvdevSource;
    fn probe(&self, path: &Path) -> Result<DeviceDescription, InputError> {
        live::probe(path)
    }
    fn open(&self, path: &Path) -> Result<EvdevSource, InputError> {
        EvdevSource::open(path)
    }
}

/// Recorded traces standing in for device nodes: each path maps to a trace
/// and what its end means.
#[derive(Debug, Clone, Default)]
pub struct ReplayOpener {
    traces: BTreeMap<PathBuf, (Arc<Trace>, TraceEnd)>,
    pace: Pace,
}

impl ReplayOpener {
    pub fn new(pace: Pace) -> Self {
        Self {
            traces: BTreeMap::new(),
            pace,
        }
    }

    /// Makes `trace` appear at `path` (once a [`HotplugEvent::Added`] says so).
    pub fn insert(&mut self, path: impl Into<PathBuf>, trace: Arc<Trace>, end: TraceEnd) {
        self.traces.insert(path.into(), (trace, end));
    }
}

impl DeviceOpener for ReplayOpener {
    type Source = ReplaySource;
    fn probe(&self, path: &Path) -> Result<DeviceDescription, InputError> {
        self.traces
            .get(path)
            .map(|(t, _)| t.device.clone())
            .ok_or_else(|| InputError::Device {
                path: path.to_owned(),
                source: std::io::ErrorKind::NotFound.into(),
            })
    }
    fn open(&self, path: &Path) -> Result<ReplaySource, InputError> {
        let (trace, end) = self.traces.get(path).ok_or_else(|| InputError::Device {
            path: path.to_owned(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        Ok(ReplaySource::new(Arc::clone(trace), self.pace).ending_with(*end))
    }
}

#[derive(Debug)]
struct Active {
    path: PathBuf,
    stop: oneshot::Sender<StopReason>,
    task: JoinHandle<()>,
}

/// Tracks devices and runs the active pen's pipeline.
#[derive(Debug)]
pub struct DeviceManager<O: DeviceOpener> {
    opener: Arc<O>,
    hub: Arc<Hub>,
    selector: DeviceSelector,
    overrides: ResolutionOverrides,
    /// Selected pens, in the order they appeared.
    pens: Vec<(PathBuf, PenCapabilities)>,
    active: Option<Active>,
    done_tx: mpsc::UnboundedSender<(PathBuf, PipelineReport)>,
    done_rx: mpsc::UnboundedReceiver<(PathBuf, PipelineReport)>,
}

impl<O: DeviceOpener> DeviceManager<O> {
    pub fn new(
        opener: O,
        hub: Arc<Hub>,
        selector: DeviceSelector,
        overrides: ResolutionOverrides,
    ) -> Self {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Self {
            opener: Arc::new(opener),
            hub,
            selector,
            overrides,
            pens: Vec::new(),
            active: None,
            done_tx,
            done_rx,
        }
    }

    /// Handles hot-plug events until the sender closes, then stops capture.
    /// Returns the reports of the pipelines that ran.
    pub async fn run(mut self, mut events: mpsc::Receiver<HotplugEvent>) -> Vec<PipelineReport> {
        let mut reports = Vec::new();
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(HotplugEvent::Added(path)) => self.added(path),
                    Some(HotplugEvent::Removed(path)) => {
                        if let Some(r) = self.removed(&path).await {
                            reports.push(r);
                        }
                    }
                    None => break,
                },
                Some((path, report)) = self.done_rx.recv() => {
                    self.pipeline_done(&path, &report);
                    reports.push(report);
                }
            }
        }
        if let Some(active) = self.active.take() {
            let _ = active.stop.send(StopReason::Shutdown);
            let _ = active.task.await;
            while let Ok((path, report)) = self.done_rx.try_recv() {
                self.pipeline_done(&path, &report);
                reports.push(report);
            }
        }
        reports
    }

    fn added(&mut self, path: PathBuf) {
        if self.pens.iter().any(|(p, _)| *p == path) {
            return;
        }
        let desc = match self.opener.probe(&path) {
            Ok(d) => d,
            Err(e @ InputError::Permission { .. }) => {
                tracing::warn!("{e}");
                return;
            }
            Err(e) => {
                tracing::debug!("{e}");
                return;
            }
        };
        if !self.selector.selects(&path, &desc) {
            tracing::debug!(device = %path.display(), name = %desc.name,
                class = ?classify(&desc), "not a selected pen; left alone");
            return;
        }
        let caps = match pipeline::capabilities_with_overrides(&desc, &self.overrides)
            .and_then(|caps| Capture::new(caps.clone()).map(|c| (caps, c)))
        {
            Ok((caps, capture)) => {
                for w in capture.warnings() {
                    tracing::warn!(device = %path.display(), "{w}");
                }
                caps
            }
            Err(e) => {
                tracing::error!(device = %path.display(), name = %desc.name,
                    "pen cannot be used: {e} (or set resolution.x_units_per_mm / \
                     y_units_per_mm in the inputd config)");
                return;
            }
        };
        tracing::info!(device = %path.display(), name = %desc.name,
            vendor = format_args!("{:04x}", desc.vendor),
            product = format_args!("{:04x}", desc.product), "pen digitizer found");
        self.hub.add_device(DeviceInfo {
            path: path.display().to_string(),
            capabilities: caps.clone(),
            buttons: pen_buttons(&desc),
            active: false,
        });
        self.pens.push((path, caps));
        if self.active.is_none() {
            self.activate_next();
        }
    }

    async fn removed(&mut self, path: &Path) -> Option<PipelineReport> {
        let mut report = None;
        if self.active.as_ref().is_some_and(|a| a.path == path) {
            if let Some(active) = self.active.take() {
                let _ = active.stop.send(StopReason::DeviceRemoved);
                let _ = active.task.await;
                // The task sent its report before finishing.
                while let Ok((p, r)) = self.done_rx.try_recv() {
                    if p == path {
                        report = Some(r);
                    }
                }
            }
        }
        self.forget(path);
        report
    }

    fn pipeline_done(&mut self, path: &Path, report: &PipelineReport) {
        tracing::info!(device = %path.display(), events = report.events,
            samples = report.samples, gaps = report.gaps, end = ?report.end, "capture ended");
        if self.active.as_ref().is_some_and(|a| a.path == path) {
            self.active = None;
            self.hub.set_active(None);
        }
        match report.end {
            PipelineEnd::DeviceLost(_) => self.forget(path),
            PipelineEnd::TraceEnded | PipelineEnd::Stopped(_) => {}
        }
    }

    fn forget(&mut self, path: &Path) {
        if !self.pens.iter().any(|(p, _)| p == path) {
            return;
        }
        self.pens.retain(|(p, _)| p != path);
        self.hub.remove_device(&path.display().to_string());
        tracing::info!(device = %path.display(), "pen digitizer removed");
        if self.active.is_none() {
            self.hub.set_active(None);
            self.activate_next();
        }
    }

    fn activate_next(&mut self) {
        let candidates: Vec<_> = self.pens.clone();
        for (path, caps) in candidates {
            match self.start(&path, caps) {
                Ok(active) => {
                    self.hub.set_active(Some(&path.display().to_string()));
                    self.active = Some(active);
                    return;
                }
                Err(e) => tracing::error!("cannot capture from the pen: {e}"),
            }
        }
    }

    fn start(&self, path: &Path, caps: PenCapabilities) -> Result<Active, InputError> {
        let mut source = self.opener.open(path)?;
        let capture = Capture::new(caps).map_err(|source| InputError::Units {
            path: path.to_owned(),
            source,
        })?;
        let (stop, stop_rx) = oneshot::channel();
        let hub = Arc::clone(&self.hub);
        let done = self.done_tx.clone();
        let owned = path.to_owned();
        tracing::info!(device = %path.display(), "capturing (device grabbed)");
        let task = tokio::spawn(async move {
            let report = pipeline::run(&mut source, capture, &hub, stop_rx).await;
            drop(source);
            let _ = done.send((owned, report));
        });
        Ok(Active {
            path: path.to_owned(),
            stop,
            task,
        })
    }
}
