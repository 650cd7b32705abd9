//! Pen samples from inputd: `org.signpad.Input1.OpenStream` hands out a
//! socket of 28-byte records; the `Devices` property gives the ranges the
//! ISO/IEC 19794-7 record needs.

use signpad_types::{AxisInfo, PenCapabilities, PenSample};
use tokio::io::AsyncReadExt as _;
use zbus::Connection;

/// Device entry of the `Devices` property (see inputd's `dbus.rs`).
type AxisEntry = (String, i32, i32, i32, String);
type DeviceEntry = (String, String, u16, u16, bool, Vec<String>, Vec<AxisEntry>);

#[zbus::proxy(
    interface = "org.signpad.Input1",
    default_service = "org.signpad.Input1",
    default_path = "/org/signpad/Input1"
)]
trait Input {
    fn open_stream(&self) -> zbus::Result<zbus::zvariant::OwnedFd>;
    #[zbus(property)]
    fn devices(&self) -> zbus::Result<Vec<DeviceEntry>>;
}

/// Flag inputd sets on the record after which the pen went away.
pub const DEVICE_LOST: u16 = 1 << 14;

/// Errors reaching the pen.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("inputd (org.signpad.Input1) is unavailable or refused: {0}")]
    Bus(#[from] zbus::Error),
    #[error("no pen digitizer is being captured")]
    NoPen,
    #[error("sample stream: {0}")]
    Io(#[from] std::io::Error),
}

/// An open sample stream.
#[derive(Debug)]
pub struct SampleStream {
    pub capabilities: PenCapabilities,
    socket: tokio::net::UnixStream,
}

/// Opens a stream and reads the active pen's capabilities.
pub async fn open(conn: &Connection) -> Result<SampleStream, CaptureError> {
    let proxy = InputProxy::new(conn).await?;
    let fd = proxy.open_stream().await?;
    let devices = proxy.devices().await?;
    let device = devices
        .iter()
        .find(|d| d.4)
        .or_else(|| devices.first())
        .ok_or(CaptureError::NoPen)?;
    let axis = |name: &str| {
        device.6.iter().find(|a| a.0 == name).map(|a| AxisInfo {
            min: a.1,
            max: a.2,
            resolution: a.3,
        })
    };
    let capabilities = PenCapabilities {
        name: device.1.clone(),
        vendor: device.2,
        product: device.3,
        x: axis("ABS_X").ok_or(CaptureError::NoPen)?,
        y: axis("ABS_Y").ok_or(CaptureError::NoPen)?,
        pressure: axis("ABS_PRESSURE"),
        tilt_x: axis("ABS_TILT_X"),
        tilt_y: axis("ABS_TILT_Y"),
        distance: axis("ABS_DISTANCE"),
    };
    let std_socket = std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(fd));
    std_socket.set_nonblocking(true)?;
    Ok(SampleStream {
        capabilities,
        socket: tokio::net::UnixStream::from_std(std_socket)?,
    })
}

impl SampleStream {
    /// Reads the next batch of samples (at least one); `Ok(None)` at end of
    /// stream. A record flagged [`DEVICE_LOST`] is returned with the flag.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<(PenSample, u16)>>, CaptureError> {
        let mut buf = vec![0u8; PenSample::RECORD_LEN * 256];
        let mut filled = 0;
        loop {
            let n = self.socket.read(&mut buf[filled..]).await?;
            if n == 0 {
                return Ok(None);
            }
            filled += n;
            if filled % PenSample::RECORD_LEN == 0 {
                break;
            }
        }
        let mut out = Vec::with_capacity(filled / PenSample::RECORD_LEN);
        for chunk in buf[..filled].chunks_exact(PenSample::RECORD_LEN) {
            let mut rec = [0u8; PenSample::RECORD_LEN];
            rec.copy_from_slice(chunk);
            let raw_flags = u16::from_le_bytes([rec[22], rec[23]]);
            let mut sample = PenSample::from_record(&rec);
            sample.flags.0 &= !(DEVICE_LOST | (1 << 15));
            out.push((sample, raw_flags));
        }
        Ok(Some(out))
    }
}
