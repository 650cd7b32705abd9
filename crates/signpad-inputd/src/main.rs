//! `signpad-inputd`: parses arguments, loads the config, connects to the
//! system bus and runs the daemon library until SIGTERM/SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use signpad_inputd::config::{InputdConfig, DEFAULT_PATH};
use signpad_inputd::daemon::Daemon;

/// The signpad input daemon: captures the pen digitizer and streams samples
/// in physical units to authorised consumers.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Config file.
    #[arg(long, default_value = DEFAULT_PATH)]
    config: PathBuf,
    /// Check the config file and exit.
    #[arg(long)]
    check_config: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let config = InputdConfig::load(&args.config)?;
    if args.check_config {
        println!("config {} is valid", args.config.display());
        return Ok(());
    }
    // One pen, a few consumers: one thread is plenty and keeps RSS small.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: InputdConfig) -> anyhow::Result<()> {
    // Handlers first: a SIGTERM right after READY must stop us cleanly.
    let termination = termination_signals()?;
    let conn = zbus::connection::Builder::system()
        .context("system bus address")?
        .build()
        .await
        .context("connecting to the system bus")?;
    let daemon = Daemon::start(&config, &conn).await?;
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    tracing::info!("signpad-inputd ready");
    termination.wait().await;
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    let reports = daemon.shutdown().await;
    tracing::info!(pipelines = reports.len(), "signpad-inputd stopped");
    Ok(())
}

struct Termination {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

fn termination_signals() -> anyhow::Result<Termination> {
    use tokio::signal::unix::{signal, SignalKind};
    Ok(Termination {
        term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
    })
}

impl Termination {
    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
