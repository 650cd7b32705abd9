//! `signpadd`: loads the config, unseals the state key through keyd, opens
//! the encrypted state and the audit log, serves `org.signpad.Pad1` and
//! tells systemd when it is ready.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use clap::Parser;
use der::DecodePem as _;
use signpadd::config::{Config, DEFAULT_PATH};
use signpadd::keyd::{unseal_storage_key, KeydSigner, SharedSigner};
use signpadd::pad::Pad;
use signpadd::store::StateStore;

/// The signpad session daemon: signing ceremonies, signer authentication,
/// policy and encrypted state.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Configuration file.
    #[arg(long, default_value = DEFAULT_PATH)]
    config: PathBuf,
    /// Check the configuration and exit.
    #[arg(long)]
    check_config: bool,
}

fn main() -> std::process::ExitCode {
    signpad_service::init_tracing();
    let args = Args::parse();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("signpadd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    if args.check_config {
        println!("config {} is valid", args.config.display());
        return Ok(());
    }
    let escrow_pem = std::fs::read_to_string(&config.escrow_certificate).with_context(|| {
        format!(
            "reading the escrow certificate {}",
            config.escrow_certificate.display()
        )
    })?;
    let escrow = x509_cert::Certificate::from_pem(escrow_pem.as_bytes()).with_context(|| {
        format!(
            "escrow certificate {} is not a PEM certificate",
            config.escrow_certificate.display()
        )
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config, escrow))
}

async fn serve(config: Config, escrow: x509_cert::Certificate) -> anyhow::Result<()> {
    let stop =
        signpad_service::StopSignal::install().context("installing the stop signal handlers")?;
    let builder = if config.bus == "system" {
        zbus::connection::Builder::system()?
    } else {
        zbus::connection::Builder::address(config.bus.as_str())?
    };
    let conn = builder.build().await.context("connecting to D-Bus")?;
    let secret = unseal_storage_key(&conn)
        .await
        .context("unsealing the storage key through keyd")?;
    let store = StateStore::open(&config.state_dir, &secret)?;
    drop(secret);
    let signer = SharedSigner(Arc::new(
        KeydSigner::connect(&conn)
            .await
            .context("reading the signing certificate from keyd")?,
    ));
    let pad = tokio::task::spawn_blocking(move || Pad::open(config, store, signer, escrow))
        .await
        .context("opening state")??;
    let pad = Arc::new(Mutex::new(pad));
    let timer = signpadd::dbus::serve(&conn, pad)
        .await
        .context("serving org.signpad.Pad1")?;
    tracing::info!("serving org.signpad.Pad1");
    signpad_service::notify_ready();
    let _watchdog = signpad_service::spawn_watchdog();
    stop.wait().await;
    signpad_service::notify_stopping();
    timer.abort();
    tracing::info!("stopping");
    Ok(())
}
