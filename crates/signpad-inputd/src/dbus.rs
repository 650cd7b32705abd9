//! `org.signpad.Input1` at `/org/signpad/Input1`: the device list, stream
//! opening for authorised UIDs, and hot-plug signals. Samples never travel
//! in D-Bus messages: `OpenStream` hands out a socket.

use std::sync::Arc;

use signpad_types::AxisInfo;
use tokio::sync::broadcast;
use zbus::object_server::SignalEmitter;
use zbus::{interface, Connection};

use crate::hub::{DeviceChange, DeviceInfo, Hub, StreamError};

/// Well-known bus name of the daemon.
pub const BUS_NAME: &str = "org.signpad.Input1";
/// Object path of the interface.
pub const OBJECT_PATH: &str = "/org/signpad/Input1";

/// Errors returned to D-Bus callers, as `org.signpad.Error.<Variant>`.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.signpad.Error")]
pub enum Input1Error {
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The caller's UID is not in `access.allowed_uids`.
    AccessDenied(String),
    /// Too many streams are open.
    Busy(String),
    /// The stream socket could not be created.
    Failed(String),
}

/// One axis in the `Devices` property: name, min, max, resolution, unit of
/// the resolution.
pub type AxisEntry = (String, i32, i32, i32, String);

/// One device in the `Devices` property (D-Bus `(ssqqbasa(siiis))`): node
/// path, name, vendor, product, whether it is being captured, its pen
/// buttons/tools, its axes.
pub type DeviceEntry = (String, String, u16, u16, bool, Vec<String>, Vec<AxisEntry>);

fn entry(d: &DeviceInfo) -> DeviceEntry {
    let c = &d.capabilities;
    let axis = |name: &str, a: &AxisInfo, unit: &str| {
        (name.to_owned(), a.min, a.max, a.resolution, unit.to_owned())
    };
    let mut axes = vec![
        axis("ABS_X", &c.x, "units/mm"),
        axis("ABS_Y", &c.y, "units/mm"),
    ];
    for (name, a, unit) in [
        ("ABS_PRESSURE", &c.pressure, ""),
        ("ABS_TILT_X", &c.tilt_x, "units/rad"),
        ("ABS_TILT_Y", &c.tilt_y, "units/rad"),
        ("ABS_DISTANCE", &c.distance, ""),
    ] {
        if let Some(a) = a {
            axes.push(axis(name, a, unit));
        }
    }
    (
        d.path.clone(),
        c.name.clone(),
        c.vendor,
        c.product,
        d.active,
        d.buttons.clone(),
        axes,
    )
}

/// The interface object.
#[derive(Debug)]
pub struct Input1 {
    hub: Arc<Hub>,
    allowed_uids: Vec<u32>,
}

impl Input1 {
    pub fn new(hub: Arc<Hub>, allowed_uids: Vec<u32>) -> Self {
        Self { hub, allowed_uids }
    }
}

#[interface(name = "org.signpad.Input1")]
impl Input1 {
    /// The pen digitizers found, with capabilities and ranges.
    #[zbus(property)]
    async fn devices(&self) -> Vec<DeviceEntry> {
        self.hub.devices().iter().map(entry).collect()
    }

    /// Samples dropped for slow consumers since the daemon started.
    #[zbus(property)]
    async fn dropped_samples(&self) -> u64 {
        self.hub.dropped()
    }

    /// Returns a Unix stream socket on which the daemon writes 28-byte
    /// sample records. Only UIDs in `access.allowed_uids` may call it.
    async fn open_stream(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<zbus::zvariant::OwnedFd, Input1Error> {
        let sender = header
            .sender()
            .ok_or_else(|| Input1Error::AccessDenied("the call has no sender".into()))?
            .to_owned();
        let dbus = zbus::fdo::DBusProxy::new(conn).await?;
        let creds = dbus
            .get_connection_credentials(sender.clone().into())
            .await
            .map_err(zbus::Error::from)?;
        let uid = creds.unix_user_id().ok_or_else(|| {
            Input1Error::AccessDenied("the bus did not tell the caller's UID".into())
        })?;
        if !self.allowed_uids.contains(&uid) {
            tracing::warn!(uid, sender = %sender, "sample stream refused: UID not allowed");
            return Err(Input1Error::AccessDenied(format!(
                "UID {uid} may not read pen samples (access.allowed_uids in the inputd config)"
            )));
        }
        match self.hub.open_stream() {
            Ok(fd) => {
                tracing::info!(uid, sender = %sender, "sample stream granted");
                Ok(fd.into())
            }
            Err(e @ StreamError::TooMany(_)) => Err(Input1Error::Busy(e.to_string())),
            Err(e @ StreamError::Socket(_)) => Err(Input1Error::Failed(e.to_string())),
        }
    }

    /// A pen digitizer appeared: node path and name.
    #[zbus(signal)]
    async fn device_added(emitter: &SignalEmitter<'_>, path: &str, name: &str) -> zbus::Result<()>;

    /// A pen digitizer went away: node path and name.
    #[zbus(signal)]
    async fn device_removed(
        emitter: &SignalEmitter<'_>,
        path: &str,
        name: &str,
    ) -> zbus::Result<()>;
}

/// Serves `Input1` on `conn` (object and well-known name) and forwards the
/// hub's device changes as signals until the connection closes.
pub async fn serve(
    conn: &Connection,
    hub: Arc<Hub>,
    allowed_uids: Vec<u32>,
) -> zbus::Result<tokio::task::JoinHandle<()>> {
    let mut changes = hub.changes();
    conn.object_server()
        .at(OBJECT_PATH, Input1::new(hub, allowed_uids))
        .await?;
    conn.request_name(BUS_NAME).await?;
    let iface = conn
        .object_server()
        .interface::<_, Input1>(OBJECT_PATH)
        .await?;
    Ok(tokio::spawn(async move {
        loop {
            let change = match changes.recv().await {
                Ok(c) => c,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "device change signals lagged");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let emitter = iface.signal_emitter();
            let sent = match &change {
                DeviceChange::Added(d) => {
                    Input1::device_added(emitter, &d.path, &d.capabilities.name).await
                }
                DeviceChange::Removed(d) => {
                    Input1::device_removed(emitter, &d.path, &d.capabilities.name).await
                }
                DeviceChange::Activated(_) => Ok(()),
            };
            let changed = iface.get().await.devices_changed(emitter).await;
            if let Err(e) = sent.and(changed) {
                tracing::warn!(error = %e, "cannot emit device signal");
            }
        }
    }))
}
