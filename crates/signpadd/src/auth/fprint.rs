//! Fingerprint verification through fprintd (`net.reactivated.Fprint` on
//! the system bus): claim the default device for the enrolled user name,
//! `VerifyStart("any")`, wait for the final `VerifyStatus`, stop, release.
//! fprintd holds the templates; signpadd only learns match or no match.

use std::time::Duration;

use futures_util::StreamExt as _;
use zbus::zvariant::OwnedObjectPath;
use zbus::Connection;

#[zbus::proxy(
    interface = "net.reactivated.Fprint.Manager",
    default_service = "net.reactivated.Fprint",
    default_path = "/net/reactivated/Fprint/Manager"
)]
trait Manager {
    fn get_default_device(&self) -> zbus::Result<OwnedObjectPath>;
}

#[zbus::proxy(
    interface = "net.reactivated.Fprint.Device",
    default_service = "net.reactivated.Fprint"
)]
trait Device {
    fn claim(&self, username: &str) -> zbus::Result<()>;
    fn release(&self) -> zbus::Result<()>;
    fn verify_start(&self, finger_name: &str) -> zbus::Result<()>;
    fn verify_stop(&self) -> zbus::Result<()>;
    #[zbus(signal)]
    fn verify_status(&self, result: String, done: bool) -> zbus::Result<()>;
}

/// Outcome of a fingerprint check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FingerResult {
    Match,
    NoMatch,
}

/// Errors talking to fprintd.
#[derive(Debug, thiserror::Error)]
pub enum FprintError {
    #[error("fprintd is not reachable: {0}")]
    Unavailable(zbus::Error),
    #[error("fprintd: {0}")]
    Device(zbus::Error),
    #[error("no finger presented within {0:?}")]
    Timeout(Duration),
    #[error("fprintd reported {0}")]
    Failed(String),
}

/// Verifies the finger of `username` (the signer's fprintd user name).
pub async fn verify(
    conn: &Connection,
    username: &str,
    timeout: Duration,
) -> Result<FingerResult, FprintError> {
    let manager = ManagerProxy::new(conn)
        .await
        .map_err(FprintError::Unavailable)?;
    let path = manager
        .get_default_device()
        .await
        .map_err(FprintError::Unavailable)?;
    let device = DeviceProxy::builder(conn)
        .path(path)
        .map_err(FprintError::Device)?
        .build()
        .await
        .map_err(FprintError::Device)?;
    device.claim(username).await.map_err(FprintError::Device)?;
    let outcome = run_verify(&device, timeout).await;
    let _ = device.verify_stop().await;
    let _ = device.release().await;
    outcome
}

async fn run_verify(
    device: &DeviceProxy<'_>,
    timeout: Duration,
) -> Result<FingerResult, FprintError> {
    let mut status = device
        .receive_verify_status()
        .await
        .map_err(FprintError::Device)?;
    device
        .verify_start("any")
        .await
        .map_err(FprintError::Device)?;
    let wait = async {
        while let Some(signal) = status.next().await {
            let args = signal.args().map_err(FprintError::Device)?;
            if !args.done {
                continue;
            }
            return match args.result.as_str() {
                "verify-match" => Ok(FingerResult::Match),
                "verify-no-match" => Ok(FingerResult::NoMatch),
                other => Err(FprintError::Failed(other.to_owned())),
            };
        }
        Err(FprintError::Failed("fprintd went away".into()))
    };
    tokio::time::timeout(timeout, wait)
        .await
        .map_err(|_| FprintError::Timeout(timeout))?
}
