//! The rustls server configuration and its run-time reload.
//!
//! TLS 1.3 only unless `tls.allow_tls12` (then TLS 1.2 with the ring
//! provider's ECDHE + AEAD suites, nothing else). A client certificate is
//! required and verified against `tls.client_ca_file`, with the CRLs of
//! `tls.crl_files` (and `tls.crl_push_file`) checked for the end-entity
//! certificate. [`TlsState::reload`] re-reads the CA bundle and the CRLs and
//! swaps the configuration used for every new handshake; connections already
//! open keep the configuration they were accepted with.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::{CertifiedKey, SigningKey};
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};

use crate::config::TlsConfig;
use crate::error::{io_err, NetdError};

/// The crypto provider of netd: ring, with TLS 1.2 suites limited to
/// ECDHE key exchange and AEAD ciphers.
pub fn provider() -> CryptoProvider {
    let mut p = rustls::crypto::ring::default_provider();
    p.cipher_suites.retain(|s| match s {
        rustls::SupportedCipherSuite::Tls13(_) => true,
        rustls::SupportedCipherSuite::Tls12(s) => {
            // All ring TLS 1.2 suites are ECDHE + (AES-GCM | ChaCha20-Poly1305);
            // the check keeps it so if the provider ever grows.
            let name = format!("{:?}", s.common.suite);
            name.contains("ECDHE") && (name.contains("GCM") || name.contains("CHACHA20_POLY1305"))
        }
    });
    p
}

/// Reads every certificate of a PEM file.
pub fn read_certs(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, NetdError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| NetdError::Pem {
            what,
            path: path.to_path_buf(),
            message: e.to_string(),
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| NetdError::Pem {
            what,
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(NetdError::Pem {
            what,
            path: path.to_path_buf(),
            message: "no certificate found".into(),
        });
    }
    Ok(certs)
}

/// Reads a CRL file, PEM or DER.
pub fn read_crl(path: &Path) -> Result<CertificateRevocationListDer<'static>, NetdError> {
    let bytes = std::fs::read(path).map_err(io_err("CRL", path))?;
    parse_crl(&bytes).map_err(|message| NetdError::Pem {
        what: "CRL",
        path: path.to_path_buf(),
        message,
    })
}

/// Parses a CRL given as PEM or DER (checked to be well-formed).
pub fn parse_crl(bytes: &[u8]) -> Result<CertificateRevocationListDer<'static>, String> {
    let crl = if bytes.starts_with(b"-----") {
        CertificateRevocationListDer::from_pem_slice(bytes).map_err(|e| e.to_string())?
    } else {
        CertificateRevocationListDer::from(bytes.to_vec())
    };
    // Check it parses, so a bad CRL never replaces a good one.
    <x509_cert::crl::CertificateList as der::Decode>::from_der(crl.as_ref())
        .map_err(|e| format!("not a CRL: {e}"))?;
    Ok(crl)
}

/// Serves one certificate chain with one key for every client hello.
#[derive(Debug)]
struct OneCert(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

/// The live TLS configuration and what is needed to rebuild it.
#[derive(Debug)]
pub struct TlsState {
    settings: TlsConfig,
    server_key: Arc<CertifiedKey>,
    current: ArcSwap<ServerConfig>,
}

impl TlsState {
    /// Builds the first configuration from `settings` and the server key.
    pub fn new(
        settings: TlsConfig,
        chain: Vec<CertificateDer<'static>>,
        key: Arc<dyn SigningKey>,
    ) -> Result<Self, NetdError> {
        let server_key = Arc::new(CertifiedKey::new(chain, key));
        let config = build(&settings, &server_key)?;
        Ok(Self {
            settings,
            server_key,
            current: ArcSwap::from(config),
        })
    }

    /// The configuration for the next handshake.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.current.load_full()
    }

    pub fn settings(&self) -> &TlsConfig {
        &self.settings
    }

    /// Re-reads the CA bundle and CRLs; on any error the old configuration
    /// stays in force and the error is returned.
    pub fn reload(&self) -> Result<(), NetdError> {
        let config = build(&self.settings, &self.server_key)?;
        self.current.store(config);
        tracing::info!("TLS client CA bundle and CRLs reloaded");
        Ok(())
    }

    /// Stores a pushed CRL in `tls.crl_push_file` (atomically) and reloads.
    pub fn install_crl(&self, bytes: &[u8]) -> Result<(), NetdError> {
        let path = self.settings.crl_push_file.as_ref().ok_or_else(|| {
            NetdError::Tls("tls.crl_push_file is not set: CRL push is disabled".into())
        })?;
        parse_crl(bytes).map_err(|message| NetdError::Pem {
            what: "pushed CRL",
            path: path.clone(),
            message,
        })?;
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io_err("CRL", &tmp))?;
            f.write_all(bytes).map_err(io_err("CRL", &tmp))?;
            f.sync_all().map_err(io_err("CRL", &tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io_err("CRL", path))?;
        self.reload()
    }
}

fn build(
    settings: &TlsConfig,
    server_key: &Arc<CertifiedKey>,
) -> Result<Arc<ServerConfig>, NetdError> {
    let provider = Arc::new(provider());
    let mut roots = RootCertStore::empty();
    for ca in read_certs("client_ca_file", &settings.client_ca_file)? {
        roots.add(ca).map_err(|e| NetdError::Pem {
            what: "client_ca_file",
            path: settings.client_ca_file.clone(),
            message: e.to_string(),
        })?;
    }
    let mut crls = Vec::new();
    for path in &settings.crl_files {
        crls.push(read_crl(path)?);
    }
    if let Some(path) = &settings.crl_push_file {
        if path.exists() {
            crls.push(read_crl(path)?);
        }
    }
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .with_crls(crls)
            .only_check_end_entity_revocation()
            .build()
            .map_err(|e| NetdError::Tls(format!("client verifier: {e}")))?;
    let versions: &[&rustls::SupportedProtocolVersion] = if settings.allow_tls12 {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| NetdError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(OneCert(Arc::clone(server_key))));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // The server's suite order (all AEAD, strongest first) wins over the
    // client's in TLS 1.2 (TLS 1.3 suites are all strong).
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}
