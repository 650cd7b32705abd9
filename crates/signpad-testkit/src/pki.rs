//! A demo PKI made with the real `openssl` command line: a root CA (P-256),
//! a pad certificate (P-256, as a TPM-resident pad key would have), an
//! escrow certificate for the biometric examiner (RSA-3072), and CRLs.
//!
//! Using openssl rather than our own code to make the certificates is
//! deliberate: it proves that what a customer's CA issues works with signpad.

use crate::{io_err, TestkitError};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Paths of the files of a demo PKI.
#[derive(Debug, Clone)]
pub struct DemoPki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub ca_key: PathBuf,
    /// An empty CRL of the CA.
    pub crl: PathBuf,
    pub pad: PathBuf,
    pub pad_key: PathBuf,
    pub escrow: PathBuf,
    pub escrow_key: PathBuf,
}

fn openssl(args: &[&str]) -> Result<(), TestkitError> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .map_err(|source| TestkitError::Spawn {
            program: "openssl",
            package: "openssl",
            source,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TestkitError::ExitedEarly {
            program: "openssl",
            status: format!("{} (openssl {})", out.status, args.join(" ")),
            log: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

fn s(path: &Path) -> &str {
    // Test directories are made by us under the temp dir: always UTF-8.
    path.to_str().unwrap_or_default()
}

impl DemoPki {
    /// Subject serial number of the pad certificate.
    pub const PAD_SERIAL: &'static str = "SP-DEMO-0001";

    /// Creates the PKI in `dir` (which must exist).
    pub fn create(dir: &Path) -> Result<Self, TestkitError> {
        let p = |name: &str| dir.join(name);
        let pki = Self {
            dir: dir.to_path_buf(),
            ca: p("ca.pem"),
            ca_key: p("ca-key.pem"),
            crl: p("ca.crl"),
            pad: p("pad.pem"),
            pad_key: p("pad-key.pem"),
            escrow: p("escrow.pem"),
            escrow_key: p("escrow-key.pem"),
        };
        let ec_key = |out: &Path| {
            openssl(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                s(out),
            ])
        };
        ec_key(&pki.ca_key)?;
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            s(&pki.ca_key),
            "-sha256",
            "-days",
            "3650",
            "-subj",
            "/O=signpad demo/CN=signpad demo root CA",
            "-out",
            s(&pki.ca),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ])?;
        ec_key(&pki.pad_key)?;
        pki.issue(
            &pki.pad_key,
            &pki.pad,
            &format!(
                "/O=signpad demo/serialNumber={0}/CN=signpad pad {0}",
                Self::PAD_SERIAL
            ),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
        )?;
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:3072",
            "-out",
            s(&pki.escrow_key),
        ])?;
        pki.issue(
            &pki.escrow_key,
            &pki.escrow,
            "/O=signpad demo/CN=signpad demo biometric examiner",
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\n",
        )?;
        pki.make_crl(&pki.crl, None)?;
        Ok(pki)
    }

    fn issue(&self, key: &Path, cert: &Path, subject: &str, ext: &str) -> Result<(), TestkitError> {
        let csr = cert.with_extension("csr");
        let extfile = cert.with_extension("ext");
        fs::write(&extfile, ext).map_err(io_err("write", &extfile))?;
        openssl(&[
            "req",
            "-new",
            "-key",
            s(key),
            "-subj",
            subject,
            "-out",
            s(&csr),
        ])?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            s(&csr),
            "-CA",
            s(&self.ca),
            "-CAkey",
            s(&self.ca_key),
            "-CAcreateserial",
            "-days",
            "825",
            "-sha256",
            "-extfile",
            s(&extfile),
            "-out",
            s(cert),
        ])?;
        fs::remove_file(&csr).map_err(io_err("remove", &csr))?;
        fs::remove_file(&extfile).map_err(io_err("remove", &extfile))?;
        Ok(())
    }

    /// Writes a CRL of the CA to `out` that revokes `revoked` (a certificate
    /// PEM file) or nothing.
    pub fn make_crl(&self, out: &Path, revoked: Option<&Path>) -> Result<(), TestkitError> {
        let db = tempfile::tempdir_in(&self.dir).map_err(io_err("tempdir", &self.dir))?;
        let index = db.path().join("index.txt");
        let number = db.path().join("crlnumber");
        let conf = db.path().join("ca.cnf");
        fs::write(&index, "").map_err(io_err("write", &index))?;
        fs::write(&number, "01\n").map_err(io_err("write", &number))?;
        let conf_text = format!(
            "[ca]\ndefault_ca = demo\n[demo]\ndatabase = {}\ncrlnumber = {}\n\
             default_md = sha256\ndefault_crl_days = 30\n",
            index.display(),
            number.display()
        );
        fs::write(&conf, conf_text).map_err(io_err("write", &conf))?;
        let ca_args = [
            "-config",
            s(&conf),
            "-cert",
            s(&self.ca),
            "-keyfile",
            s(&self.ca_key),
        ];
        if let Some(cert) = revoked {
            let mut args = vec!["ca", "-revoke", s(cert)];
            args.extend(ca_args);
            openssl(&args)?;
        }
        let mut args = vec!["ca", "-gencrl", "-out", s(out)];
        args.extend(ca_args);
        openssl(&args)
    }
}
