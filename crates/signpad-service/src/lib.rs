//! Service lifecycle shared by the pad daemons: logging set-up, the
//! `sd_notify` states systemd waits for, the systemd watchdog, and waiting for
//! a stop signal.
//!
//! It owns nothing of a daemon's job and holds no state: each function is a
//! no-op where it does not apply (no `NOTIFY_SOCKET`, no `WATCHDOG_USEC`), so
//! daemons behave the same under systemd, in tests and from a shell.

use std::time::Duration;

/// Sets up `tracing` with the `RUST_LOG` filter (default `info`). Under
/// systemd (`JOURNAL_STREAM` set) lines go to journald without colours or
/// timestamps, which the journal adds itself.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.with_ansi(false).without_time().init();
    } else {
        builder.init();
    }
}

fn notify(state: &[sd_notify::NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        if let Err(e) = sd_notify::notify(state) {
            tracing::warn!(error = %e, "sd_notify failed");
        }
    }
}

/// Tells systemd the daemon is ready (`Type=notify` units wait for this).
pub fn notify_ready() {
    notify(&[sd_notify::NotifyState::Ready]);
}

/// Tells systemd the daemon is reloading its configuration.
pub fn notify_reloading() {
    notify(&[sd_notify::NotifyState::Reloading]);
}

/// Tells systemd the daemon is stopping.
pub fn notify_stopping() {
    notify(&[sd_notify::NotifyState::Stopping]);
}

/// The interval at which to ping the watchdog: half of `WatchdogSec=`.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|timeout| timeout / 2)
}

/// When the unit has `WatchdogSec=`, spawns a task on the current tokio
/// runtime that pings the watchdog at half the timeout for as long as the
/// runtime's event loop runs, so a hung daemon is restarted by systemd.
pub fn spawn_watchdog() -> Option<tokio::task::JoinHandle<()>> {
    let interval = watchdog_interval()?;
    tracing::info!(?interval, "systemd watchdog enabled");
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            notify(&[sd_notify::NotifyState::Watchdog]);
        }
    }))
}

/// The signals that stop a daemon: SIGTERM (systemd stop) and SIGINT
/// (Ctrl-C). Install the handlers before telling systemd the daemon is
/// ready, so that a stop right after READY ends it cleanly instead of killing
/// it with the default action.
#[derive(Debug)]
pub struct StopSignal {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignal {
    /// Installs the handlers (needs a tokio runtime).
    pub fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for either signal.
    pub async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn watchdog_pings_reach_the_notify_socket() {
        use std::os::unix::net::UnixDatagram;
        let dir = std::env::temp_dir().join(format!("signpad-service-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // This test is the only one in this binary that sets these variables.
        std::env::set_var("NOTIFY_SOCKET", &path);
        std::env::set_var("WATCHDOG_USEC", "200000");
        std::env::set_var("WATCHDOG_PID", std::process::id().to_string());
        let task = spawn_watchdog().expect("watchdog enabled by WATCHDOG_USEC");
        let mut buf = [0u8; 64];
        let n = socket.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1\n");
        task.abort();
        std::env::remove_var("NOTIFY_SOCKET");
        std::env::remove_var("WATCHDOG_USEC");
        std::env::remove_var("WATCHDOG_PID");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
