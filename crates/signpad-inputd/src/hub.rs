//! The hub between capture and consumers: the list of known devices, and the
//! open sample streams, each with its own bounded buffer.
//!
//! [`Hub::publish`] never waits: a sample that does not fit in a consumer's
//! buffer is dropped for that consumer only, counted, and the next sample
//! that fits carries [`crate::record::OVERFLOW_BEFORE`] with the number
//! dropped. Each stream has a writer task that drains its buffer into the
//! socket in batches.

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use signpad_types::{PenCapabilities, PenSample};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::{broadcast, mpsc, watch};

use crate::error::InputError;
use crate::record::{self, Record, RECORD_LEN};

/// A device the daemon knows about, as the D-Bus `Devices` property shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Device node (or `replay:<file>` for a replayed trace).
    pub path: String,
    /// Capabilities, ranges and resolutions (after config overrides).
    pub capabilities: PenCapabilities,
    /// Buttons and tools the device reports (`BTN_TOOL_PEN`, `BTN_STYLUS`…).
    pub buttons: Vec<String>,
    /// Whether this is the pen being captured (one at a time).
    pub active: bool,
}

/// A change of the device list, turned into D-Bus signals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChange {
    Added(DeviceInfo),
    Removed(DeviceInfo),
    /// The active pen changed (or none is active any more).
    Activated(Option<String>),
}

/// Why a stream could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("{0} streams are open already (stream.max_streams)")]
    TooMany(usize),
    #[error(transparent)]
    Socket(#[from] InputError),
}

#[derive(Debug)]
struct Subscriber {
    id: u64,
    tx: mpsc::Sender<Record>,
    /// Dropped since the last delivered record.
    pending_dropped: u32,
}

#[derive(Debug, Default)]
struct Inner {
    subscribers: Vec<Subscriber>,
    devices: Vec<DeviceInfo>,
    next_id: u64,
}

/// Shared state of the daemon; cheap to share as `Arc<Hub>`.
#[derive(Debug)]
pub struct Hub {
    inner: Mutex<Inner>,
    changes: broadcast::Sender<DeviceChange>,
    streams: watch::Sender<usize>,
    published: AtomicU64,
    dropped: AtomicU64,
    buffer: usize,
    max_streams: usize,
}

/// Records written to a socket in one batch at most.
const WRITE_BATCH: usize = 512;

impl Hub {
    /// `buffer` samples per stream, at most `max_streams` streams.
    pub fn new(buffer: usize, max_streams: usize) -> Arc<Self> {
        let (changes, _) = broadcast::channel(64);
        let (streams, _) = watch::channel(0);
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            changes,
            streams,
            published: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            buffer: buffer.max(1),
            max_streams,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the lists inconsistent
        // (every update is a single push/retain), so poisoning is ignored.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands a sample to every open stream without waiting.
    pub fn publish(&self, sample: &PenSample) {
        let rec = record::encode(sample);
        let mut inner = self.lock();
        self.published.fetch_add(1, Ordering::Relaxed);
        let mut closed = false;
        for sub in &mut inner.subscribers {
            let mut r = rec;
            if sub.pending_dropped > 0 {
                record::mark_overflow(&mut r, sub.pending_dropped);
            }
            match sub.tx.try_send(r) {
                Ok(()) => sub.pending_dropped = 0,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    sub.pending_dropped = sub.pending_dropped.saturating_add(1);
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => closed = true,
            }
        }
        if closed {
            inner.subscribers.retain(|s| !s.tx.is_closed());
            self.streams.send_replace(inner.subscribers.len());
        }
    }

    /// Opens a stream: returns the consumer's end of a Unix stream socket
    /// pair and starts the writer of the daemon's end. Needs a tokio runtime.
    pub fn open_stream(self: &Arc<Self>) -> Result<OwnedFd, StreamError> {
        let mut inner = self.lock();
        if inner.subscribers.len() >= self.max_streams {
            return Err(StreamError::TooMany(self.max_streams));
        }
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(InputError::Socket)?;
        ours.set_nonblocking(true).map_err(InputError::Socket)?;
        let ours = tokio::net::UnixStream::from_std(ours).map_err(InputError::Socket)?;
        let (tx, rx) = mpsc::channel(self.buffer);
        let id = inner.next_id;
        inner.next_id += 1;
        inner.subscribers.push(Subscriber {
            id,
            tx,
            pending_dropped: 0,
        });
        self.streams.send_replace(inner.subscribers.len());
        drop(inner);
        tokio::spawn(write_stream(rx, ours, Arc::downgrade(self), id));
        tracing::info!(stream = id, "sample stream opened");
        Ok(theirs.into())
    }

    fn close_stream(&self, id: u64) {
        let mut inner = self.lock();
        inner.subscribers.retain(|s| s.id != id);
        self.streams.send_replace(inner.subscribers.len());
        tracing::info!(stream = id, "sample stream closed");
    }

    /// Number of open streams.
    pub fn stream_count(&self) -> usize {
        *self.streams.borrow()
    }

    /// Waits until at least one stream is open.
    pub async fn wait_for_stream(&self) {
        let mut rx = self.streams.subscribe();
        let _ = rx.wait_for(|&n| n > 0).await;
    }

    /// Samples published since start.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Samples dropped for slow consumers since start (all streams).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The known devices.
    pub fn devices(&self) -> Vec<DeviceInfo> {
        self.lock().devices.clone()
    }

    /// Device list changes, for the D-Bus signals.
    pub fn changes(&self) -> broadcast::Receiver<DeviceChange> {
        self.changes.subscribe()
    }

    /// Records a new device.
    pub fn add_device(&self, info: DeviceInfo) {
        let mut inner = self.lock();
        inner.devices.retain(|d| d.path != info.path);
        inner.devices.push(info.clone());
        drop(inner);
        let _ = self.changes.send(DeviceChange::Added(info));
    }

    /// Forgets a device.
    pub fn remove_device(&self, path: &str) {
        let mut inner = self.lock();
        let Some(pos) = inner.devices.iter().position(|d| d.path == path) else {
            return;
        };
        let info = inner.devices.remove(pos);
        drop(inner);
        let _ = self.changes.send(DeviceChange::Removed(info));
    }

    /// Marks which device is captured.
    pub fn set_active(&self, path: Option<&str>) {
        let mut inner = self.lock();
        for d in &mut inner.devices {
            d.active = Some(d.path.as_str()) == path;
        }
        drop(inner);
        let _ = self
            .changes
            .send(DeviceChange::Activated(path.map(str::to_owned)));
    }
}

/// Drains one stream's buffer into its socket until the consumer goes away.
async fn write_stream(
    mut rx: mpsc::Receiver<Record>,
    mut sock: tokio::net::UnixStream,
    hub: Weak<Hub>,
    id: u64,
) {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let mut bytes = Vec::with_capacity(WRITE_BATCH * RECORD_LEN);
    let mut scratch = [0u8; 64];
    loop {
        tokio::select! {
            n = rx.recv_many(&mut batch, WRITE_BATCH) => {
                if n == 0 {
                    break;
                }
                bytes.clear();
                for r in batch.drain(..) {
                    bytes.extend_from_slice(&r);
                }
                if let Err(e) = sock.write_all(&bytes).await {
                    tracing::info!(stream = id, error = %e, "consumer went away");
                    break;
                }
            }
            // The consumer never writes; readable means it closed its end.
            r = sock.readable() => {
                if r.is_err() {
                    break;
                }
                match sock.try_read(&mut scratch) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => break,
                }
            }
        }
    }
    if let Some(hub) = hub.upgrade() {
        hub.close_stream(id);
    }
}
