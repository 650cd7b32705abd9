//! signpad-netd: the pad's mutual-TLS API. Parses arguments, loads the
//! config, wires the library and runs until SIGTERM; SIGHUP reloads the
//! client CA bundle and CRLs.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use signpad_netd::backend::DbusPad;
use signpad_netd::{config, daemon, NetdConfig};
use tokio::signal::unix::{signal, SignalKind};

#[derive(Debug, Parser)]
#[command(version, about = "signpad network daemon: HTTPS API over mutual TLS")]
struct Args {
    /// Config file.
    #[arg(long, default_value = config::DEFAULT_PATH)]
    config: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = NetdConfig::load(&args.config)?;
    if nix_is_root() {
        tracing::warn!(
            "running as root; the unit runs netd as its own user with CAP_NET_BIND_SERVICE"
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("tokio runtime")?
        .block_on(run(config))
}

fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

async fn run(config: NetdConfig) -> anyhow::Result<()> {
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let tls = daemon::tls_state(&config).await?;
    let backend = DbusPad::connect(&config.backend.pad_bus)
        .await
        .context("session daemon bus")?;
    let running = daemon::start(&config, tls, Arc::new(backend)).await?;
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    loop {
        tokio::select! {
            _ = hup.recv() => {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading]);
                let tls = Arc::clone(&running.tls);
                match tokio::task::spawn_blocking(move || tls.reload()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "reload failed; old trust kept"),
                    Err(e) => tracing::error!(error = %e, "reload task failed"),
                }
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    running.stop().await;
    tracing::info!("stopped");
    Ok(())
}
