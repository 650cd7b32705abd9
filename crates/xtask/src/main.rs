//! Developer tasks of the signpad workspace, run as `cargo xtask <task>`.
//!
//! `demo` runs a whole signing ceremony on a local pad stack and leaves the
//! results in `demo-out/`; `test` installs what the tests need and runs every
//! check CI runs. Both install missing Debian packages with `apt-get`.

mod apt;
mod cross;
mod demo;
mod fuzz;
mod pytool;
mod run;
mod test;
mod units;
mod yocto;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "cargo xtask", about = "signpad developer tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand, Debug)]
enum Task {
    /// Run a whole signing ceremony locally and write the results to demo-out/.
    Demo {
        /// Output directory.
        #[arg(long, default_value = "demo-out")]
        out: std::path::PathBuf,
    },
    /// Install test dependencies, then run fmt check, clippy and all tests.
    Test {
        /// Skip `cargo fmt --check` and clippy.
        #[arg(long)]
        no_lint: bool,
        /// Skip the aarch64 release build of the pad binaries.
        #[arg(long)]
        no_cross: bool,
    },
    /// Install the Debian packages the demo and the tests need, and nothing else.
    Deps,
    /// Yocto layer: regenerate signpad-crates.inc, or check the layer.
    Yocto {
        #[command(subcommand)]
        task: yocto::YoctoTask,
    },
    /// Build the pad binaries for aarch64 and report their sizes.
    Cross,
    /// Check systemd/: verify units, exposure scores, users, bus policy, udev rules.
    Units,
    /// Run every fuzz target for a while (installs cargo-fuzz if missing).
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = run::workspace_root()?;
    std::env::set_current_dir(&root)?;
    match cli.task {
        Task::Demo { out } => demo::run(&root, &out),
        Task::Test { no_lint, no_cross } => test::run(
            &root,
            test::Options {
                lint: !no_lint,
                cross: !no_cross,
            },
        ),
        Task::Deps => apt::ensure(apt::ALL_PACKAGES),
        Task::Yocto { task } => yocto::run(&root, &task),
        Task::Cross => cross::run(&root),
        Task::Units => units::run(&root),
        Task::Fuzz { seconds } => fuzz::run(&root, seconds),
    }
}
