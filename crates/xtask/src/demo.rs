//! `cargo xtask demo`: a whole signing ceremony on a local pad stack.
//!
//! Today the stack is the package library driven by `signpadctl dev sign`
//! with a replayed pen trace; the demo PKI comes from `openssl`, and `openssl`
//! is the independent verifier of everything the pad produced.

use crate::{apt, run};
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const DOCUMENT: &str = "tests/data/sample.pdf";
const TRACE: &str = "tests/data/signature-tilt.evemu";

/// Paths of the demo PKI inside the output directory.
struct Pki {
    ca: PathBuf,
    ca_key: PathBuf,
    crl: PathBuf,
    pad: PathBuf,
    pad_key: PathBuf,
    escrow: PathBuf,
    escrow_key: PathBuf,
}

fn openssl(args: &[&str]) -> Result<()> {
    run::checked(Command::new("openssl").args(args)).map(|_| ())
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("path {} is not UTF-8", path.display()))
}

/// Makes a root CA (P-256), a pad certificate (P-256) and an escrow
/// certificate (RSA-3072) issued by it, and an empty CRL.
fn make_pki(out: &Path) -> Result<Pki> {
    let p = |name: &str| out.join(name);
    let pki = Pki {
        ca: p("ca.pem"),
        ca_key: p("ca-key.pem"),
        crl: p("ca.crl"),
        pad: p("pad.pem"),
        pad_key: p("pad-key.pem"),
        escrow: p("escrow.pem"),
        escrow_key: p("escrow-key.pem"),
    };
    let (ca, ca_key) = (path_str(&pki.ca)?, path_str(&pki.ca_key)?);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        ca_key,
    ])?;
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        ca_key,
        "-sha256",
        "-days",
        "3650",
        "-subj",
        "/O=signpad demo/CN=signpad demo root CA",
        "-out",
        ca,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])?;
    let issue = |key: &Path, cert: &Path, subject: &str, ext: &str| -> Result<()> {
        let csr = cert.with_extension("csr");
        let extfile = cert.with_extension("ext");
        fs::write(&extfile, ext)?;
        openssl(&[
            "req",
            "-new",
            "-key",
            path_str(key)?,
            "-subj",
            subject,
            "-out",
            path_str(&csr)?,
        ])?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            path_str(&csr)?,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-days",
            "825",
            "-sha256",
            "-extfile",
            path_str(&extfile)?,
            "-out",
            path_str(cert)?,
        ])?;
        fs::remove_file(csr)?;
        fs::remove_file(extfile)?;
        Ok(())
    };
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        path_str(&pki.pad_key)?,
    ])?;
    issue(
        &pki.pad_key,
        &pki.pad,
        "/O=signpad demo/serialNumber=SP-DEMO-0001/CN=signpad pad SP-DEMO-0001",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
    )?;
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:3072",
        "-out",
        path_str(&pki.escrow_key)?,
    ])?;
    issue(
        &pki.escrow_key,
        &pki.escrow,
        "/O=signpad demo/CN=signpad demo biometric examiner",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\n",
    )?;
    make_empty_crl(out, &pki)?;
    Ok(pki)
}

/// An empty CRL signed by the demo CA (`openssl ca -gencrl` needs a tiny CA
/// database).
fn make_empty_crl(out: &Path, pki: &Pki) -> Result<()> {
    let db = out.join("ca-db");
    fs::create_dir_all(&db)?;
    fs::write(db.join("index.txt"), "")?;
    fs::write(db.join("crlnumber"), "01\n")?;
    let conf = db.join("ca.cnf");
    fs::write(
        &conf,
        format!(
            "[ca]\ndefault_ca = demo\n[demo]\ndatabase = {}\ncrlnumber = {}\n\
             default_md = sha256\ndefault_crl_days = 30\n",
            db.join("index.txt").display(),
            db.join("crlnumber").display()
        ),
    )?;
    openssl(&[
        "ca",
        "-gencrl",
        "-config",
        path_str(&conf)?,
        "-cert",
        path_str(&pki.ca)?,
        "-keyfile",
        path_str(&pki.ca_key)?,
        "-out",
        path_str(&pki.crl)?,
    ])?;
    fs::remove_dir_all(db)?;
    Ok(())
}

fn signpadctl(root: &Path) -> PathBuf {
    root.join("target/debug/signpadctl")
}

pub fn run(root: &Path, out: &Path) -> Result<()> {
    apt::ensure(&["openssl"])?;
    run::status(Command::new("cargo").args(["build", "--locked", "-p", "signpadctl"]))?;
    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    println!(
        "== demo PKI (openssl): root CA, pad certificate (P-256), escrow certificate (RSA-3072)"
    );
    let pki = make_pki(out)?;
    let ctl = signpadctl(root);
    let pkg = out.join("package.p7s");
    let png = out.join("signature.png");
    let svg = out.join("signature.svg");
    let iso = out.join("record.iso");
    println!("== signing {DOCUMENT} with the pen trace {TRACE}");
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
        "SP-DEMO-0001",
        "--out",
        path_str(&pkg)?,
        "--png",
        path_str(&png)?,
    ]))?;
    println!("== signpadctl verify");
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
    println!("== openssl cms -verify (independent verifier)");
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
    println!("== decrypting the biometric record with the escrow key");
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
        "render",
        "--iso",
        path_str(&iso)?,
        "--png",
        &out.join("record.png").display().to_string(),
        "--svg",
        path_str(&svg)?,
    ]))?;
    println!("== openssl asn1parse reads the whole package");
    let parsed = run::checked(Command::new("openssl").args([
        "asn1parse",
        "-inform",
        "DER",
        "-in",
        path_str(&pkg)?,
    ]))?;
    let size = fs::metadata(&pkg)?.len();
    println!();
    println!(
        "demo complete: {} ({size} bytes, {} ASN.1 elements)",
        pkg.display(),
        String::from_utf8_lossy(&parsed.stdout).lines().count()
    );
    for f in [&pkg, &png, &svg, &iso] {
        println!("  {}", f.display());
    }
    Ok(())
}
