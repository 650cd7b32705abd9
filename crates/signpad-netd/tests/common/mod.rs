//! Shared test rig: a PKI made with rcgen, netd started through its library
//! on a loopback port with a development key file, and a real rustls +
//! hyper client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SanType, SerialNumber,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use signpad_netd::backend::{BackendError, DeviceInfo, NewSession, PadBackend, SessionStatus};
use signpad_netd::daemon::{self, Running};
use signpad_netd::{ClientIdentity, NetdConfig};
use time::OffsetDateTime;

/// A client certificate and key on disk.
#[derive(Debug, Clone)]
pub struct Client {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub serial: u64,
}

/// CA, server and clients in a temporary directory.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: CertifiedIssuer<'static, KeyPair>,
    pub ca_pem: PathBuf,
    pub ca_key: PathBuf,
    pub crl: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub host: Client,
    pub host2: Client,
    pub admin: Client,
    pub auditor: Client,
    pub revoked: Client,
    pub expired: Client,
    pub unknown_ca: Client,
    pub no_role: Client,
    /// A host certificate whose extended key usage is serverAuth only.
    pub wrong_usage: Client,
}

fn days(n: i64) -> time::Duration {
    time::Duration::days(n)
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    ca_with_key(name).0
}

fn ca_with_key(name: &str) -> (CertifiedIssuer<'static, KeyPair>, String) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = OffsetDateTime::now_utc() - days(1);
    p.not_after = OffsetDateTime::now_utc() + days(30);
    let key = KeyPair::generate().unwrap();
    let pem = key.serialize_pem();
    (CertifiedIssuer::self_signed(p, key).unwrap(), pem)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn client(
    dir: &Path,
    name: &str,
    roles: &[&str],
    serial: u64,
    issuer: &CertifiedIssuer<'static, KeyPair>,
    expired: bool,
) -> Client {
    client_with_usage(
        dir,
        name,
        roles,
        serial,
        issuer,
        expired,
        ExtendedKeyUsagePurpose::ClientAuth,
    )
}

fn client_with_usage(
    dir: &Path,
    name: &str,
    roles: &[&str],
    serial: u64,
    issuer: &CertifiedIssuer<'static, KeyPair>,
    expired: bool,
    usage: ExtendedKeyUsagePurpose,
) -> Client {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.distinguished_name
        .push(DnType::OrganizationName, "Test Bank");
    for r in roles {
        p.subject_alt_names.push(SanType::URI(
            format!("urn:signpad:role:{r}").try_into().unwrap(),
        ));
    }
    p.extended_key_usages = vec![usage];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.serial_number = Some(SerialNumber::from(serial));
    let now = OffsetDateTime::now_utc();
    if expired {
        p.not_before = now - days(10);
        p.not_after = now - days(1);
    } else {
        p.not_before = now - days(1);
        p.not_after = now + days(30);
    }
    let cert = p.signed_by(&key, issuer).unwrap();
    Client {
        cert: write(dir, &format!("{name}.pem"), &cert.pem()),
        key: write(dir, &format!("{name}-key.pem"), &key.serialize_pem()),
        serial,
    }
}

impl Pki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (ca, ca_key) = ca_with_key("signpad test CA");
        let ca_key = write(d, "ca-key.pem", &ca_key);
        let other = ca_other();
        let ca_pem = write(d, "ca.pem", &ca.pem());

        let server_key = KeyPair::generate().unwrap();
        let mut p =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, "pad SP-TEST-0001");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.not_before = OffsetDateTime::now_utc() - days(1);
        p.not_after = OffsetDateTime::now_utc() + days(30);
        let server = p.signed_by(&server_key, &ca).unwrap();
        let server_cert = write(d, "server.pem", &server.pem());
        let server_key = write(d, "server-key.pem", &server_key.serialize_pem());

        let pki = Self {
            host: client(d, "host", &["host"], 101, &ca, false),
            host2: client(d, "host2", &["host"], 102, &ca, false),
            admin: client(d, "admin", &["admin"], 103, &ca, false),
            auditor: client(d, "auditor", &["auditor"], 104, &ca, false),
            revoked: client(d, "revoked", &["host"], 105, &ca, false),
            expired: client(d, "expired", &["host"], 106, &ca, true),
            unknown_ca: client(d, "stranger", &["host"], 107, &other, false),
            no_role: client(d, "norole", &[], 108, &ca, false),
            wrong_usage: client_with_usage(
                d,
                "serverusage",
                &["host"],
                109,
                &ca,
                false,
                ExtendedKeyUsagePurpose::ServerAuth,
            ),
            crl: d.join("ca.crl"),
            dir,
            ca,
            ca_pem,
            ca_key,
            server_cert,
            server_key,
        };
        pki.write_crl(&[105], 1);
        pki
    }

    /// A CRL revoking `serials`, written to `self.crl`, also returned as PEM.
    pub fn write_crl(&self, serials: &[u64], number: u64) -> String {
        let now = OffsetDateTime::now_utc();
        let crl = CertificateRevocationListParams {
            this_update: now - time::Duration::hours(1),
            next_update: now + days(1),
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from(*s),
                    revocation_time: now - time::Duration::minutes(5),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&self.ca)
        .unwrap();
        let pem = crl.pem().unwrap();
        std::fs::write(&self.crl, &pem).unwrap();
        pem
    }

    /// A netd.toml for this PKI; `extra` is appended (e.g. a `[limits]` table).
    pub fn config(&self, extra: &str) -> NetdConfig {
        let text = format!(
            r#"listen_address = "127.0.0.1:0"

[tls]
client_ca_file = "{ca}"
crl_files = ["{crl}"]
crl_push_file = "{push}"
cert_file = "{cert}"
dev_key_file = "{key}"
handshake_timeout_secs = 5
{extra}
"#,
            ca = self.ca_pem.display(),
            crl = self.crl.display(),
            push = self.dir.path().join("pushed.crl").display(),
            cert = self.server_cert.display(),
            key = self.server_key.display(),
        );
        NetdConfig::parse(&text, Path::new("test-netd.toml")).unwrap()
    }
}

fn ca_other() -> CertifiedIssuer<'static, KeyPair> {
    ca("some other CA")
}

/// Starts netd with `config` and `backend`.
pub async fn start(config: &NetdConfig, backend: Arc<dyn PadBackend>) -> Running {
    let tls = daemon::tls_state(config).await.unwrap();
    daemon::start(config, tls, backend).await.unwrap()
}

/// A backend for tests that do not reach sessions: the session daemon is
/// simply not there (every call answers "unavailable").
#[derive(Debug)]
pub struct NoPad;

impl PadBackend for NoPad {
    fn create(
        &self,
        _: NewSession,
    ) -> futures_util::future::BoxFuture<'_, Result<signpad_types::SessionId, BackendError>> {
        Box::pin(async {
            Err(BackendError::Unavailable(
                "no session daemon in this test".into(),
            ))
        })
    }
    fn status(
        &self,
        _: signpad_types::SessionId,
    ) -> futures_util::future::BoxFuture<'_, Result<SessionStatus, BackendError>> {
        Box::pin(async {
            Err(BackendError::Unavailable(
                "no session daemon in this test".into(),
            ))
        })
    }
    fn watch(
        &self,
        _: signpad_types::SessionId,
    ) -> futures_util::future::BoxFuture<
        '_,
        Result<futures_util::stream::BoxStream<'static, SessionStatus>, BackendError>,
    > {
        Box::pin(async {
            Err(BackendError::Unavailable(
                "no session daemon in this test".into(),
            ))
        })
    }
    fn package(
        &self,
        _: signpad_types::SessionId,
    ) -> futures_util::future::BoxFuture<'_, Result<Vec<u8>, BackendError>> {
        Box::pin(async {
            Err(BackendError::Unavailable(
                "no session daemon in this test".into(),
            ))
        })
    }
    fn signature_image(
        &self,
        _: signpad_types::SessionId,
    ) -> futures_util::future::BoxFuture<'_, Result<Vec<u8>, BackendError>> {
        Box::pin(async {
            Err(BackendError::Unavailable(
                "no session daemon in this test".into(),
            ))
        })
    }
    fn cancel(
        &self,
        _: signpad_types::SessionId,
        _: String,
        _: ClientIdentity,
    ) -> futures_util::future::BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async {
            Err(BackendError::Unavailable(
                "no session daemon in this test".into(),
            ))
        })
    }
    fn device(&self) -> futures_util::future::BoxFuture<'_, Result<DeviceInfo, BackendError>> {
        Box::pin(async {
            Err(BackendError::Unavailable(
                "no session daemon in this test".into(),
            ))
        })
    }
    fn set_training_mode(
        &self,
        _: bool,
        _: ClientIdentity,
    ) -> futures_util::future::BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async {
            Err(BackendError::Unavailable(
                "no session daemon in this test".into(),
            ))
        })
    }
    fn set_locked(
        &self,
        _: bool,
        _: ClientIdentity,
    ) -> futures_util::future::BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async {
            Err(BackendError::Unavailable(
                "no session daemon in this test".into(),
            ))
        })
    }
}

/// A rustls client config trusting the test CA, with `client`'s certificate
/// (or none).
pub fn client_config(
    pki: &Pki,
    client: Option<&Client>,
    tls12_only: bool,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&pki.ca_pem).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some(c) => {
            let chain: Vec<_> = CertificateDer::pem_file_iter(&c.cert)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            b.with_client_auth_cert(chain, PrivateKeyDer::from_pem_file(&c.key).unwrap())
                .unwrap()
        }
        None => b.with_no_client_auth(),
    };
    Arc::new(config)
}

/// One HTTP/1.1 connection over mutual TLS.
pub struct Conn {
    pub sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    task: Option<tokio::task::JoinHandle<Result<(), hyper::Error>>>,
}

/// Opens a TLS connection (handshake errors are returned as text).
pub async fn connect(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> Result<Conn, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    let task = tokio::spawn(conn);
    Ok(Conn {
        sender,
        task: Some(task),
    })
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl Conn {
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Reply, String> {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(Bytes::from(body))).unwrap();
        let sent = match self.sender.ready().await {
            Ok(()) => self.sender.send_request(req).await,
            Err(e) => Err(e),
        };
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return Err(self.why(e).await),
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// The connection's own error (a TLS alert) rather than "channel closed".
    async fn why(&mut self, e: hyper::Error) -> String {
        if let Some(task) = self.task.take() {
            if let Ok(Ok(Err(conn_err))) = tokio::time::timeout(Duration::from_secs(5), task).await
            {
                return format!("{conn_err:?}");
            }
        }
        format!("{e:?}")
    }

    pub async fn get(&mut self, path: &str) -> Result<Reply, String> {
        self.send(Method::GET, path, &[], Vec::new()).await
    }
}

/// Connects with `client` and GETs `path` (any failure as text).
pub async fn get(
    addr: SocketAddr,
    pki: &Pki,
    client: Option<&Client>,
    path: &str,
) -> Result<Reply, String> {
    let mut c = connect(addr, client_config(pki, client, false)).await?;
    tokio::time::timeout(Duration::from_secs(10), c.get(path))
        .await
        .map_err(|_| "timeout".to_owned())?
}
