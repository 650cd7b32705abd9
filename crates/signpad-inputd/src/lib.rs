//! The input daemon: finds pen digitizers, grabs the chosen one so that no
//! other process sees raw biometric events, converts its evdev events into
//! [`PenSample`]s in physical units (through [`signpad_ink::Capture`]), and
//! streams fixed-size 28-byte records to authorised consumers over a Unix
//! socket handed out by the D-Bus interface `org.signpad.Input1`.
//!
//! It owns `/dev/input/event*` of the pen and nothing else: touchscreens,
//! keyboards and other devices are probed, classified and closed, never
//! grabbed. It must never log sample values, never pass samples through D-Bus
//! messages, and never let a slow consumer block capture.
//!
//! Flow: [`hotplug`] (inotify on `/dev/input`, or replayed add/remove events)
//! → [`manager::DeviceManager`] (probe with [`classify`], select, grab) → an
//! [`source::EventSource`] ([`live::EvdevSource`] or [`replay::ReplaySource`])
//! → [`pipeline`] (Capture, device-lost marker) → [`hub::Hub`] (bounded
//! per-subscriber buffers, overflow markers) → the socket of each stream.
//!
//! [`PenSample`]: signpad_types::PenSample

pub mod classify;
pub mod config;
pub mod daemon;
pub mod dbus;
pub mod error;
pub mod hotplug;
pub mod hub;
pub mod live;
pub mod manager;
pub mod pipeline;
pub mod record;
pub mod replay;
pub mod source;

mod clock;

pub use classify::{classify, DeviceClass, DeviceSelector};
pub use config::InputdConfig;
pub use error::InputError;
pub use hub::Hub;
pub use source::{EventSource, ResyncState, SourceItem};
