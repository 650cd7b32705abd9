//! Hot-plug: device nodes appearing in and vanishing from `/dev/input`,
//! watched with inotify (no polling). The same [`HotplugEvent`]s can be fed
//! from a test or a replay, so the add/remove logic of the
//! [`crate::manager::DeviceManager`] is tested without device nodes.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use futures_util::StreamExt as _;
use inotify::{Inotify, WatchMask};
use tokio::sync::mpsc;

use crate::error::InputError;

/// A device node came or went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HotplugEvent {
    /// A node appeared or its permissions changed (udev sets them just after
    /// creating it): probe it if it is not known yet.
    Added(PathBuf),
    /// A node disappeared.
    Removed(PathBuf),
}

/// Whether a file name is an evdev node (`event<N>`).
pub fn is_event_node(name: &OsStr) -> bool {
    name.to_str()
        .and_then(|n| n.strip_prefix("event"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The evdev nodes in `dir`, in numeric order.
pub fn scan(dir: &Path) -> Vec<PathBuf> {
    let mut nodes: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| is_event_node(&e.file_name()))
        .filter_map(|e| {
            let n = e
                .file_name()
                .to_str()?
                .strip_prefix("event")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    nodes.sort();
    nodes.into_iter().map(|(_, p)| p).collect()
}

/// Watches `dir`: first reports every node present, then each change, on
/// `tx`, until `tx` closes. The watch is set up before the scan, so a node
/// created in between is not missed (it may be reported twice; the manager
/// ignores known nodes).
pub fn spawn_watch(
    dir: &Path,
    tx: mpsc::Sender<HotplugEvent>,
) -> Result<tokio::task::JoinHandle<()>, InputError> {
    let watch_err = |source| InputError::Watch {
        path: dir.to_owned(),
        source,
    };
    let inotify = Inotify::init().map_err(watch_err)?;
    inotify
        .watches()
        .add(
            dir,
            WatchMask::CREATE
                | WatchMask::DELETE
                | WatchMask::ATTRIB
                | WatchMask::MOVED_TO
                | WatchMask::MOVED_FROM,
        )
        .map_err(watch_err)?;
    let mut stream = inotify.into_event_stream([0u8; 4096]).map_err(watch_err)?;
    let dir = dir.to_owned();
    Ok(tokio::spawn(async move {
        for node in scan(&dir) {
            if tx.send(HotplugEvent::Added(node)).await.is_err() {
                return;
            }
        }
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(dir = %dir.display(), error = %e, "hot-plug watch failed");
                    return;
                }
            };
            let Some(name) = event.name.filter(|n| is_event_node(n)) else {
                continue;
            };
            let path = dir.join(name);
            let gone = event
                .mask
                .intersects(inotify::EventMask::DELETE | inotify::EventMask::MOVED_FROM);
            let change = if gone {
                HotplugEvent::Removed(path)
            } else {
                HotplugEvent::Added(path)
            };
            if tx.send(change).await.is_err() {
                return;
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_event_nodes_count() {
        assert!(is_event_node(OsStr::new("event0")));
        assert!(is_event_node(OsStr::new("event12")));
        assert!(!is_event_node(OsStr::new("event")));
        assert!(!is_event_node(OsStr::new("mouse0")));
        assert!(!is_event_node(OsStr::new("by-path")));
        assert!(!is_event_node(OsStr::new("event1x")));
    }
}
