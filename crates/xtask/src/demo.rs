//! `cargo xtask demo`: a whole signing ceremony on a local pad stack.
//!
//! Today the stack is the package library driven by `signpadctl dev sign`
//! with a replayed pen trace; the demo PKI comes from `openssl`, and `openssl`
//! is the independent verifier of everything the pad produced.

use crate::{apt, run};
use anyhow::{bail, Context, Result};
use signpad_testkit::DemoPki;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const DOCUMENT: &str = "tests/data/sample.pdf";
const TRACE: &str = "tests/data/signature-tilt.evemu";

fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("path {} is not UTF-8", path.display()))
}

fn step(text: &str) {
    println!("\n== {text}");
}

pub fn run(root: &Path, out: &Path) -> Result<()> {
    let started = Instant::now();
    apt::ensure(apt::ALL_PACKAGES)?;
    step("building signpadctl");
    run::status(Command::new("cargo").args(["build", "--locked", "-p", "signpadctl"]))?;
    let ctl = root.join("target/debug/signpadctl");
    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;

    step("demo PKI with openssl: root CA, pad certificate (P-256), escrow certificate (RSA-3072), CRL");
    let pki = DemoPki::create(out)?;
    let pkg = out.join("package.p7s");
    let png = out.join("signature.png");
    let svg = out.join("signature.svg");
    let iso = out.join("record.iso");
    let envelope = out.join("biometric-envelope.der");
    let payload = out.join("biometric-payload.der");

    step(&format!(
        "signing {DOCUMENT} with the recorded pen trace {TRACE}"
    ));
    run::status(Command::new(&ctl).args([
        "dev",
        "sign",
        "--document",
        DOCUMENT,
        "--trace",
        TRACE,
        "--key",
        path_str(&pki.pad_key)?,
        "--cert",
        path_str(&pki.pad)?,
        "--escrow",
        path_str(&pki.escrow)?,
        "--title",
        "Sample contract",
        "--serial",
        DemoPki::PAD_SERIAL,
        "--auth",
        "pin,totp",
        "--out",
        path_str(&pkg)?,
        "--png",
        path_str(&png)?,
    ]))?;

    step("signpadctl verify");
    run::status(Command::new(&ctl).args([
        "verify",
        "--document",
        DOCUMENT,
        "--package",
        path_str(&pkg)?,
        "--ca",
        path_str(&pki.ca)?,
        "--crl",
        path_str(&pki.crl)?,
    ]))?;

    step("openssl cms -verify (independent verifier)");
    run::status(Command::new("openssl").args([
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        path_str(&pkg)?,
        "-content",
        DOCUMENT,
        "-CAfile",
        path_str(&pki.ca)?,
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ]))?;

    step("a changed document must fail both verifiers");
    let changed = out.join("changed.pdf");
    let mut bytes = fs::read(DOCUMENT)?;
    bytes.extend_from_slice(b"\n% one more line\n");
    fs::write(&changed, bytes)?;
    let ours = run::output(Command::new(&ctl).args([
        "verify",
        "--document",
        path_str(&changed)?,
        "--package",
        path_str(&pkg)?,
        "--ca",
        path_str(&pki.ca)?,
    ]))?;
    let theirs = run::output(Command::new("openssl").args([
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        path_str(&pkg)?,
        "-content",
        path_str(&changed)?,
        "-CAfile",
        path_str(&pki.ca)?,
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ]))?;
    if ours.status.code() != Some(1) || theirs.status.success() {
        bail!(
            "a changed document was not rejected (signpadctl {}, openssl {})",
            ours.status,
            theirs.status
        );
    }
    println!("{}", String::from_utf8_lossy(&ours.stdout).trim());
    fs::remove_file(&changed)?;

    step("the examiner decrypts the biometric record: signpadctl and openssl cms -decrypt");
    run::status(Command::new(&ctl).args([
        "decrypt-biometric",
        "--package",
        path_str(&pkg)?,
        "--key",
        path_str(&pki.escrow_key)?,
        "--document",
        DOCUMENT,
        "--out",
        path_str(&iso)?,
    ]))?;
    run::status(Command::new(&ctl).args([
        "inspect",
        "--package",
        path_str(&pkg)?,
        "--envelope-out",
        path_str(&envelope)?,
    ]))?;
    run::status(Command::new("openssl").args([
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        "DER",
        "-in",
        path_str(&envelope)?,
        "-recip",
        path_str(&pki.escrow)?,
        "-inkey",
        path_str(&pki.escrow_key)?,
        "-out",
        path_str(&payload)?,
    ]))?;
    let record = fs::read(&iso)?;
    let opened = fs::read(&payload)?;
    if !opened.windows(record.len()).any(|w| w == record.as_slice()) {
        bail!("the record openssl decrypted differs from the one signpadctl decrypted");
    }
    println!(
        "openssl decrypted the same {} byte ISO/IEC 19794-7 record",
        record.len()
    );

    step("rendering the decrypted record");
    run::status(Command::new(&ctl).args([
        "render",
        "--iso",
        path_str(&iso)?,
        "--png",
        path_str(&out.join("record.png"))?,
        "--svg",
        path_str(&svg)?,
    ]))?;

    step("openssl asn1parse reads the whole package");
    let parsed = run::checked(Command::new("openssl").args([
        "asn1parse",
        "-inform",
        "DER",
        "-in",
        path_str(&pkg)?,
    ]))?;

    let size = fs::metadata(&pkg)?.len();
    println!(
        "\ndemo complete in {:.0} s: package verified by signpadctl and openssl, biometric decrypted by both",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  {} ({size} bytes, {} ASN.1 elements)",
        pkg.display(),
        String::from_utf8_lossy(&parsed.stdout).lines().count()
    );
    for f in [&png, &svg, &iso, &pki.ca, &pki.pad, &pki.escrow] {
        println!("  {}", f.display());
    }
    Ok(())
}
