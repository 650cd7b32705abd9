//! The live source: one `/dev/input/event*` node read through the evdev
//! crate's raw stream on tokio (no polling: the fd wakes the task).
//!
//! The pen is grabbed (`EVIOCGRAB`) so that no other process sees its
//! events, and its timestamps are switched to CLOCK_MONOTONIC. On
//! `SYN_DROPPED` the events of the dropped frame are discarded by the
//! capture; at the `SYN_REPORT` that ends it, the axis and key state are
//! re-read from the device (`EVIOCGABS`, `EVIOCGKEY`) and handed on as a
//! [`SourceItem::Resync`], and the next sample carries `GAP_BEFORE`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use evdev::raw_stream::{EventStream, RawDevice};
use evdev::KeyCode;
use signpad_ink::event::{ev, syn};
use signpad_ink::{AbsAxis, DeviceDescription, Event};

use crate::error::InputError;
use crate::source::{EventSource, ResyncState, SourceItem};

/// Reads a device's description without grabbing it.
pub fn probe(path: &Path) -> Result<DeviceDescription, InputError> {
    let dev = open_raw(path)?;
    describe(&dev).map_err(|source| InputError::Device {
        path: path.to_owned(),
        source,
    })
}

fn open_raw(path: &Path) -> Result<RawDevice, InputError> {
    RawDevice::open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            permission_error(path)
        } else {
            InputError::Device {
                path: path.to_owned(),
                source,
            }
        }
    })
}

/// Names the group that owns the node, so the operator knows what to grant.
fn permission_error(path: &Path) -> InputError {
    use std::os::unix::fs::MetadataExt as _;
    let (gid, mode) =
        std::fs::metadata(path).map_or((u32::MAX, 0), |m| (m.gid(), m.mode() & 0o777));
    InputError::Permission {
        path: path.to_owned(),
        group: group_name(gid).unwrap_or_else(|| format!("gid {gid}")),
        mode,
    }
}

fn group_name(gid: u32) -> Option<String> {
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        (f.next()?.parse::<u32>().ok()? == gid).then(|| name.to_owned())
    })
}

/// The device's identity, codes and absinfo as a [`DeviceDescription`].
pub fn describe(dev: &RawDevice) -> std::io::Result<DeviceDescription> {
    let id = dev.input_id();
    let mut d = DeviceDescription {
        name: dev.name().unwrap_or("").to_owned(),
        bus: id.bus_type().0,
        vendor: id.vendor(),
        product: id.product(),
        version: id.version(),
        ..Default::default()
    };
    d.properties = dev.properties().iter().map(|p| p.0).collect();
    for t in dev.supported_events().iter() {
        d.add_code(ev::SYN, t.0);
    }
    if let Some(keys) = dev.supported_keys() {
        for k in keys.iter() {
            d.add_code(ev::KEY, k.0);
        }
    }
    if let Some(rel) = dev.supported_relative_axes() {
        for r in rel.iter() {
            d.add_code(ev::REL, r.0);
        }
    }
    if let Some(msc) = dev.misc_properties() {
        for m in msc.iter() {
            d.add_code(ev::MSC, m.0);
        }
    }
    for (code, info) in dev.get_absinfo()? {
        d.add_abs(
            code.0,
            AbsAxis {
                min: info.minimum(),
                max: info.maximum(),
                fuzz: info.fuzz(),
                flat: info.flat(),
                resolution: info.resolution(),
            },
        );
    }
    Ok(d)
}

/// A grabbed pen device.
pub struct EvdevSource {
    path: PathBuf,
    desc: DeviceDescription,
    stream: EventStream,
    pending: VecDeque<SourceItem>,
    dropping: bool,
}

impl std::fmt::Debug for EvdevSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvdevSource")
            .field("path", &self.path)
            .field("name", &self.desc.name)
            .field("dropping", &self.dropping)
            .finish_non_exhaustive()
    }
}

impl EvdevSource {
    /// Opens and grabs the device, and switches its timestamps to
    /// CLOCK_MONOTONIC.
    pub fn open(path: &Path) -> Result<Self, InputError> {
        let dev_err = |source| InputError::Device {
            path: path.to_owned(),
            source,
        };
        let mut dev = open_raw(path)?;
        if let Err(e) = crate::clock::use_monotonic_clock(&dev) {
            tracing::warn!(device = %path.display(), error = %e,
                "cannot switch event timestamps to CLOCK_MONOTONIC; using the kernel default");
        }
        dev.grab().map_err(dev_err)?;
        let desc = describe(&dev).map_err(dev_err)?;
        let stream = dev.into_event_stream().map_err(dev_err)?;
        Ok(Self {
            path: path.to_owned(),
            desc,
            stream,
            pending: VecDeque::new(),
            dropping: false,
        })
    }

    fn read_state(&self) -> std::io::Result<ResyncState> {
        let dev = self.stream.device();
        let abs_state = dev.get_abs_state()?;
        let keys = dev.get_key_state()?;
        Ok(ResyncState {
            abs: self
                .desc
                .abs
                .keys()
                .filter_map(|&c| abs_state.get(usize::from(c)).map(|a| (c, a.value)))
                .collect(),
            keys: self
                .desc
                .codes
                .get(&ev::KEY)
                .into_iter()
                .flatten()
                .map(|&k| (k, keys.contains(KeyCode(k))))
                .collect(),
        })
    }
}

impl EventSource for EvdevSource {
    fn description(&self) -> &DeviceDescription {
        &self.desc
    }

    async fn next_item(&mut self) -> SourceItem {
        if let Some(item) = self.pending.pop_front() {
            return item;
        }
        let ev = match self.stream.next_event().await {
            Ok(ev) => ev,
            Err(e) => return SourceItem::Lost(format!("{}: {e}", self.path.display())),
        };
        let time_us = ev
            .timestamp()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        let event = Event::new(time_us, ev.event_type().0, ev.code(), ev.value());
        if event.ev_type == ev::SYN {
            if event.code == syn::DROPPED {
                self.dropping = true;
            } else if event.code == syn::REPORT && self.dropping {
                self.dropping = false;
                self.pending.push_back(match self.read_state() {
                    Ok(state) => SourceItem::Resync(state),
                    Err(e) => SourceItem::Lost(format!("{}: resync: {e}", self.path.display())),
                });
            }
        }
        SourceItem::Event(event)
    }
}
