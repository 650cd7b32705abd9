//! `signpad-keyd`: loads the config, opens the TPM, completes provisioning,
//! serves `org.signpad.Keys1` and tells systemd when it is ready.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use signpad_keyd::{Keyd, KeydConfig};

/// The signpad key daemon: the only process that opens the TPM.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Configuration file.
    #[arg(long, default_value = "/etc/signpad/keyd.toml")]
    config: PathBuf,
    /// Check the configuration and exit.
    #[arg(long)]
    check_config: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    signpad_service::init_tracing();
    let config = KeydConfig::load(&args.config)?;
    if args.check_config {
        println!("{}: ok", args.config.display());
        return Ok(());
    }
    if std::env::var_os("TSS2_LOG").is_none() {
        // The TSS C library logs to stderr on every refused auth; our own
        // errors say what happened.
        std::env::set_var("TSS2_LOG", "all+none");
    }
    let keyd = Keyd::open(config).context("opening the TPM")?;
    let report = keyd.provision(None).context("provisioning keys")?;
    if !report.created.is_empty() {
        tracing::info!(created = ?report.created, "provisioning completed");
    }
    let keyd = Arc::new(keyd);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let stop = signpad_service::StopSignal::install()
            .context("installing the stop signal handlers")?;
        let _conn = signpad_keyd::dbus::serve(keyd)
            .await
            .context("serving org.signpad.Keys1 on D-Bus")?;
        tracing::info!("serving org.signpad.Keys1");
        signpad_service::notify_ready();
        let _watchdog = signpad_service::spawn_watchdog();
        stop.wait().await;
        signpad_service::notify_stopping();
        tracing::info!("stopping");
        anyhow::Ok(())
    })
}
