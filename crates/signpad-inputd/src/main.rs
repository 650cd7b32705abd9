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
    signpad_service::init_tracing();
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
    let termination =
        signpad_service::StopSignal::install().context("installing the stop signal handlers")?;
    let conn = zbus::connection::Builder::system()
        .context("system bus address")?
        .build()
        .await
        .context("connecting to the system bus")?;
    let daemon = Daemon::start(&config, &conn).await?;
    signpad_service::notify_ready();
    let _watchdog = signpad_service::spawn_watchdog();
    tracing::info!("signpad-inputd ready");
    termination.wait().await;
    signpad_service::notify_stopping();
    let reports = daemon.shutdown().await;
    tracing::info!(pipelines = reports.len(), "signpad-inputd stopped");
    Ok(())
}
