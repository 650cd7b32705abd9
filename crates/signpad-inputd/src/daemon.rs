//! Wiring of the daemon: hub, D-Bus interface, device manager, and the
//! source of hot-plug events (inotify on the input directory, or one
//! replayed trace for development).

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zbus::Connection;

use crate::config::InputdConfig;
use crate::error::InputError;
use crate::hotplug::{self, HotplugEvent};
use crate::hub::Hub;
use crate::manager::{DeviceManager, LiveOpener, ReplayOpener};
use crate::pipeline::PipelineReport;
use crate::replay::{ReplaySource, TraceEnd};

/// A running daemon.
#[derive(Debug)]
pub struct Daemon {
    hub: Arc<Hub>,
    hotplug: mpsc::Sender<HotplugEvent>,
    feeder: Option<JoinHandle<()>>,
    manager: JoinHandle<Vec<PipelineReport>>,
    signals: JoinHandle<()>,
}

impl Daemon {
    /// Starts serving on `conn` with `config`. Returns once the interface
    /// is on the bus and discovery has started (the moment to report READY).
    pub async fn start(config: &InputdConfig, conn: &Connection) -> Result<Self, InputError> {
        let hub = Hub::new(config.stream.buffer_samples, config.stream.max_streams);
        if config.access.allowed_uids.is_empty() {
            tracing::warn!("access.allowed_uids is empty: no consumer can open a sample stream");
        }
        let signals =
            crate::dbus::serve(conn, Arc::clone(&hub), config.access.allowed_uids.clone()).await?;
        let (tx, rx) = mpsc::channel(64);
        let (manager, feeder) = match &config.replay {
            Some(replay) => {
                let trace = Arc::new(ReplaySource::load(&replay.file)?);
                let path = PathBuf::from(format!("replay:{}", replay.file.display()));
                let mut opener = ReplayOpener::new(replay.pace);
                opener.insert(path.clone(), trace, TraceEnd::End);
                let manager = DeviceManager::new(
                    opener,
                    Arc::clone(&hub),
                    config.device.clone(),
                    config.resolution,
                );
                let manager = tokio::spawn(manager.run(rx));
                let feeder_hub = Arc::clone(&hub);
                let feeder_tx = tx.clone();
                let wait = replay.wait_for_stream;
                tracing::info!(file = %replay.file.display(), pace = ?replay.pace,
                    "replaying a recorded trace instead of reading devices");
                let feeder = tokio::spawn(async move {
                    if wait {
                        feeder_hub.wait_for_stream().await;
                    }
                    let _ = feeder_tx.send(HotplugEvent::Added(path)).await;
                });
                (manager, feeder)
            }
            None => {
                let manager = DeviceManager::new(
                    LiveOpener,
                    Arc::clone(&hub),
                    config.device.clone(),
                    config.resolution,
                );
                let manager = tokio::spawn(manager.run(rx));
                let feeder = hotplug::spawn_watch(&config.discovery.input_dir, tx.clone())?;
                (manager, feeder)
            }
        };
        Ok(Self {
            hub,
            hotplug: tx,
            feeder: Some(feeder),
            manager,
            signals,
        })
    }

    /// The hub (device list, streams, counters).
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Injects a hot-plug event, as inotify would.
    pub async fn hotplug(&self, event: HotplugEvent) {
        let _ = self.hotplug.send(event).await;
    }

    /// Stops discovery and capture (releasing the grab) and returns the
    /// reports of the pipelines that ran.
    pub async fn shutdown(mut self) -> Vec<PipelineReport> {
        if let Some(feeder) = self.feeder.take() {
            feeder.abort();
            let _ = feeder.await;
        }
        drop(self.hotplug);
        let reports = self.manager.await.unwrap_or_default();
        self.signals.abort();
        reports
    }
}
