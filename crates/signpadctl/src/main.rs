//! `signpadctl`: the command line of hosts, administrators and examiners.
//!
//! Thin: it parses arguments, reads files and calls the signpad libraries.
//! Exit codes: 0 success (for `verify`: the package is valid), 1 the package
//! is invalid, 2 bad command line, 3 could not check (unreadable input,
//! missing file, unsupported data).

mod commands;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "signpadctl",
    version,
    about = "signpad host, admin and examiner tool"
)]
struct Cli {
    /// Largest signature package read, in bytes (a 5-second signature is
    /// about 14 KiB).
    #[arg(long, global = true, default_value_t = signpad_package::Limits::DEFAULT_MAX_PACKAGE_BYTES)]
    max_package_bytes: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify a signature package against the document it signs.
    Verify {
        /// The signed document (the exact bytes the host hashed).
        #[arg(long)]
        document: PathBuf,
        /// The signature package (DER CMS SignedData).
        #[arg(long)]
        package: PathBuf,
        /// Trusted root certificate(s), PEM or DER.
        #[arg(long)]
        ca: PathBuf,
        /// Certificate revocation list(s) of the issuing CA(s), PEM or DER.
        #[arg(long)]
        crl: Vec<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what a package contains, without checking trust.
    Inspect {
        #[arg(long)]
        package: PathBuf,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// Also write the biometric envelope (DER CMS EnvelopedData) to this
        /// file, e.g. for `openssl cms -decrypt`.
        #[arg(long)]
        envelope_out: Option<PathBuf>,
    },
    /// Decrypt the biometric record of a package with the escrow key.
    DecryptBiometric {
        #[arg(long)]
        package: PathBuf,
        /// The escrow private key (PEM, PKCS#8 or PKCS#1).
        #[arg(long)]
        key: PathBuf,
        /// Check that the record is bound to this document.
        #[arg(long)]
        document: Option<PathBuf>,
        /// Where to write the ISO/IEC 19794-7 record.
        #[arg(long)]
        out: PathBuf,
    },
    /// Render an ISO/IEC 19794-7 record as an image.
    Render {
        #[arg(long)]
        iso: PathBuf,
        #[arg(long)]
        png: Option<PathBuf>,
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Width of the PNG in pixels.
        #[arg(long, default_value_t = 800)]
        width: u32,
    },
    /// Check an exported audit log: hash chain, sequence and checkpoint
    /// signatures; names the first broken record.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check a pad's TPM attestation evidence offline.
    #[command(subcommand)]
    Attest(AttestCommand),
    /// Development tools (not for production pads).
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Verify an audit log offline against the pad certificate. Exit 0
    /// valid, 1 invalid (names the first broken record), 3 could not check.
    Verify(commands::audit::VerifyArgs),
}

#[derive(Subcommand, Debug)]
enum AttestCommand {
    /// Verify evidence from keyd (quote over a nonce and PCRs, certification
    /// of the signing key) against the nonce and the pad certificate. Exit 0
    /// verified, 1 invalid (names the failed check), 3 could not check.
    Verify(commands::attest::VerifyArgs),
}

#[derive(Subcommand, Debug)]
enum DevCommand {
    /// Make a package with a software key from a PEM file and a recorded pen
    /// trace, as a pad would with its TPM key. For development and demos only.
    Sign(commands::dev_sign::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let limits = signpad_package::Limits {
        max_package_bytes: cli.max_package_bytes,
        ..signpad_package::Limits::default()
    };
    let result = match cli.command {
        Command::Verify {
            document,
            package,
            ca,
            crl,
            json,
        } => commands::verify::run(&document, &package, &ca, &crl, json, &limits),
        Command::Inspect {
            package,
            json,
            envelope_out,
        } => commands::inspect::run(&package, json, envelope_out.as_deref(), &limits),
        Command::DecryptBiometric {
            package,
            key,
            document,
            out,
        } => commands::biometric::run(&package, &key, document.as_deref(), &out, &limits),
        Command::Render {
            iso,
            png,
            svg,
            width,
        } => commands::render::run(&iso, png.as_deref(), svg.as_deref(), width),
        Command::Audit(AuditCommand::Verify(args)) => commands::audit::verify(&args),
        Command::Attest(AttestCommand::Verify(args)) => commands::attest::verify(&args),
        Command::Dev(DevCommand::Sign(args)) => commands::dev_sign::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("signpadctl: {err:#}");
            commands::exit(commands::EXIT_COULD_NOT_CHECK)
        }
    }
}
