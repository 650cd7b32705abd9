//! Event sources: where evdev events come from. A live device and a recorded
//! trace implement the same trait, so the same pipeline runs on both.

use std::future::Future;

use signpad_ink::{DeviceDescription, Event};

/// Pen state re-read from the device after a `SYN_DROPPED`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResyncState {
    /// Current value of each absolute axis (`EVIOCGABS`).
    pub abs: Vec<(u16, i32)>,
    /// Current state of each key/button (`EVIOCGKEY`).
    pub keys: Vec<(u16, bool)>,
}

/// What a source yields next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceItem {
    /// One evdev event, with its kernel timestamp.
    Event(Event),
    /// After a `SYN_DROPPED` and the `SYN_REPORT` that ends the dropped
    /// frame: the device state as it is now.
    Resync(ResyncState),
    /// A recorded trace ended normally.
    End,
    /// The device went away or failed; the reason, for the log.
    Lost(String),
}

/// A source of evdev events for one device.
pub trait EventSource: Send {
    /// The device: identity, supported codes, absinfo.
    fn description(&self) -> &DeviceDescription;

    /// Waits for the next item. After [`SourceItem::End`] or
    /// [`SourceItem::Lost`] the source is finished.
    fn next_item(&mut self) -> impl Future<Output = SourceItem> + Send;
}
