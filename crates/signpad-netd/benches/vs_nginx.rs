//! netd vs nginx on loopback, driven by the same Rust load client:
//! full mutual-TLS handshakes per second (no session resumption, one
//! `GET /v1/health` each, `Connection: close`), keep-alive `GET /v1/health`
//! requests per second, and resident memory with 500 open mTLS connections.
//! nginx (Debian package) gets the same CA, server certificate and key,
//! `ssl_verify_client on` and the same CRL. netd runs as its release binary
//! with the file key (dev mode) and, separately, with the TPM key through
//! keyd on swtpm.
//!
//! `cargo bench -p signpad-netd --bench vs_nginx` (SIGNPAD_BENCH_SECS sets
//! the length of each phase, default 4).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{client_config, Pki};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_signpad-netd");
const HANDSHAKE_TASKS: usize = 8;
const KEEPALIVE_CONNS: usize = 16;
const HELD_CONNS: usize = 500;

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn secs() -> Duration {
    Duration::from_secs(
        std::env::var("SIGNPAD_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4),
    )
}

async fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "{addr} not listening");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn start_netd(pki: &Pki, port: u16, pad_bus: &str, keyd_bus: Option<&str>) -> Proc {
    let d = pki.dir.path();
    let key = match keyd_bus {
        None => format!(
            "cert_file = \"{}\"\ndev_key_file = \"{}\"\n",
            pki.server_cert.display(),
            pki.server_key.display()
        ),
        Some(bus) => format!("keyd_bus = \"{bus}\"\n"),
    };
    let config = d.join(format!("netd-{port}.toml"));
    std::fs::write(
        &config,
        format!(
            "listen_address = \"127.0.0.1:{port}\"\n[tls]\nclient_ca_file = \"{}\"\ncrl_files = [\"{}\"]\n{key}[limits]\nmax_connections = 2000\nrequests_per_second = 1000000\n[backend]\npad_bus = \"{pad_bus}\"\n",
            pki.ca_pem.display(),
            pki.crl.display(),
        ),
    )
    .unwrap();
    Proc(
        Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn start_nginx(pki: &Pki, port: u16) -> Proc {
    let d = pki.dir.path().join("nginx");
    std::fs::create_dir_all(d.join("logs")).unwrap();
    let conf = d.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            r#"daemon off;
user root;
worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/logs/error.log error;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_client_certificate {ca};
        ssl_crl {crl};
        ssl_verify_client on;
        ssl_protocols TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        location = /v1/health {{
            default_type application/json;
            return 200 '{{"status":"ok","uptime_seconds":0}}';
        }}
    }}
}}
"#,
            d = d.display(),
            cert = pki.server_cert.display(),
            key = pki.server_key.display(),
            ca = pki.ca_pem.display(),
            crl = pki.crl.display(),
        ),
    )
    .unwrap();
    Proc(
        Command::new("nginx")
            .arg("-p")
            .arg(&d)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(d.join("logs/error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (Debian package nginx-light or nginx)"),
    )
}

/// Full handshakes (no resumption) with one request each, for `secs()`.
async fn handshakes(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> (f64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..HANDSHAKE_TASKS {
        let (ok, failed, stop, config) = (ok.clone(), failed.clone(), stop.clone(), config.clone());
        tasks.push(tokio::spawn(async move {
            let connector = tokio_rustls::TlsConnector::from(config);
            while !stop.load(Ordering::Relaxed) {
                let r: Result<bool, std::io::Error> = async {
                    let tcp = tokio::net::TcpStream::connect(addr).await?;
                    tcp.set_nodelay(true)?;
                    let mut tls = connector
                        .connect(ServerName::try_from("localhost").unwrap(), tcp)
                        .await?;
                    tls.write_all(
                        b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    )
                    .await?;
                    let mut buf = Vec::new();
                    let _ = tls.read_to_end(&mut buf).await;
                    Ok(buf.starts_with(b"HTTP/1.1 200"))
                }
                .await;
                match r {
                    Ok(true) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(secs()).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let n = ok.load(Ordering::Relaxed);
    (
        n as f64 / started.elapsed().as_secs_f64(),
        failed.load(Ordering::Relaxed),
    )
}

/// Reads one HTTP/1.1 response with a Content-Length body; true if 200.
async fn read_response<S: tokio::io::AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(head.starts_with("http/1.1 200"));
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn open(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    tokio_rustls::TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

/// Keep-alive GET /v1/health on `KEEPALIVE_CONNS` connections.
async fn keepalive(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> (f64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..KEEPALIVE_CONNS {
        let (ok, failed, stop, config) = (ok.clone(), failed.clone(), stop.clone(), config.clone());
        tasks.push(tokio::spawn(async move {
            let mut tls = open(addr, config).await;
            let mut buf = Vec::with_capacity(8192);
            while !stop.load(Ordering::Relaxed) {
                if tls
                    .write_all(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .await
                    .is_err()
                {
                    failed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                match read_response(&mut tls, &mut buf).await {
                    Ok(true) => ok.fetch_add(1, Ordering::Relaxed),
                    Ok(false) => failed.fetch_add(1, Ordering::Relaxed),
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                };
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(secs()).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    (
        ok.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(),
        failed.load(Ordering::Relaxed),
    )
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// RSS of `pid` and its direct children (nginx workers).
fn tree_rss_kib(pid: u32) -> u64 {
    let mut total = rss_kib(pid);
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(pid) {
                total += rss_kib(child);
            }
        }
    }
    total
}

/// RSS (KiB) idle and with `HELD_CONNS` open connections that each made one request.
async fn rss_with_connections(
    addr: SocketAddr,
    pid: u32,
    config: Arc<rustls::ClientConfig>,
) -> (u64, u64) {
    let idle = tree_rss_kib(pid);
    let mut held = Vec::new();
    let mut buf = Vec::new();
    for _ in 0..HELD_CONNS {
        let mut tls = open(addr, config.clone()).await;
        tls.write_all(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        assert!(read_response(&mut tls, &mut buf).await.unwrap());
        held.push(tls);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let loaded = tree_rss_kib(pid);
    drop(held);
    (idle, loaded)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    std::env::set_var("TSS2_LOG", "all+none");
    let pki = Pki::new();
    let bus = signpad_testkit::DbusDaemon::start().unwrap();
    let mut config = (*client_config(&pki, Some(&pki.host), false)).clone();
    config.resumption = rustls::client::Resumption::disabled();
    let config = Arc::new(config);

    let netd_port = free_port();
    let netd = start_netd(&pki, netd_port, bus.address(), None);
    let netd_addr: SocketAddr = format!("127.0.0.1:{netd_port}").parse().unwrap();
    let nginx_port = free_port();
    let nginx = start_nginx(&pki, nginx_port);
    let nginx_addr: SocketAddr = format!("127.0.0.1:{nginx_port}").parse().unwrap();
    wait_listening(netd_addr).await;
    wait_listening(nginx_addr).await;
    // Warm-up.
    let _ = handshakes(netd_addr, config.clone()).await;
    let _ = handshakes(nginx_addr, config.clone()).await;

    let (hs_netd, hs_netd_err) = handshakes(netd_addr, config.clone()).await;
    let (hs_nginx, hs_nginx_err) = handshakes(nginx_addr, config.clone()).await;
    let (ka_netd, ka_netd_err) = keepalive(netd_addr, config.clone()).await;
    let (ka_nginx, ka_nginx_err) = keepalive(nginx_addr, config.clone()).await;
    let (netd_idle, netd_500) = rss_with_connections(netd_addr, netd.0.id(), config.clone()).await;
    let (nginx_idle, nginx_500) =
        rss_with_connections(nginx_addr, nginx.0.id(), config.clone()).await;
    drop(netd);
    drop(nginx);

    // TPM-key mode: the TLS key in swtpm, used through keyd on the bus.
    let tpm_hs = tpm_mode(&pki, &bus, config.clone()).await;

    println!(
        "netd vs nginx, {} s per phase, loopback, same load client",
        secs().as_secs()
    );
    println!("| measurement | netd | nginx | netd/nginx |");
    println!("|---|---|---|---|");
    println!(
        "| full mTLS handshakes/s (file key, {HANDSHAKE_TASKS} clients, 1 request each) | {hs_netd:.0} | {hs_nginx:.0} | **{:.2}** |",
        hs_netd / hs_nginx
    );
    println!(
        "| keep-alive GET /v1/health req/s ({KEEPALIVE_CONNS} connections) | {ka_netd:.0} | {ka_nginx:.0} | **{:.2}** |",
        ka_netd / ka_nginx
    );
    println!("| RSS idle (KiB) | {netd_idle} | {nginx_idle} (master + workers) | |");
    println!(
        "| RSS with {HELD_CONNS} open mTLS connections (KiB) | {netd_500} | {nginx_500} (master + workers) | |"
    );
    if let Some((hs, err)) = tpm_hs {
        println!("| full mTLS handshakes/s, TPM key via keyd (swtpm) | {hs:.0} | — | {:.2} of file-key netd (errors {err}) |", hs / hs_netd);
    }
    println!(
        "errors: handshakes netd {hs_netd_err} nginx {hs_nginx_err}; keep-alive netd {ka_netd_err} nginx {ka_nginx_err}"
    );
}

async fn tpm_mode(
    pki: &Pki,
    bus: &signpad_testkit::DbusDaemon,
    config: Arc<rustls::ClientConfig>,
) -> Option<(f64, u64)> {
    use signpad_keyd::{KeyRole, Keyd, KeydConfig};
    let tpm = match signpad_testkit::Swtpm::start() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("TPM mode skipped: {e}");
            return None;
        }
    };
    let d = pki.dir.path().to_path_buf();
    let uid: u32 = String::from_utf8_lossy(&Command::new("id").arg("-u").output().unwrap().stdout)
        .trim()
        .parse()
        .unwrap();
    let mut kc = KeydConfig::new(tpm.tcti(), d.join("keys"));
    kc.bus = bus.address().to_owned();
    kc.allowed_uids = vec![uid];
    let keyd = tokio::task::spawn_blocking(move || {
        let keyd = Keyd::open(kc).unwrap();
        keyd.provision(None).unwrap();
        keyd
    })
    .await
    .unwrap();
    std::fs::write(
        d.join("tls.csr"),
        keyd.create_csr(KeyRole::Tls, "CN=SP-BENCH-0001").unwrap(),
    )
    .unwrap();
    std::fs::write(
        d.join("tls.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
    )
    .unwrap();
    let out = Command::new("openssl")
        .current_dir(&d)
        .args([
            "x509",
            "-req",
            "-in",
            "tls.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
        ])
        .args([
            "-CAcreateserial",
            "-days",
            "7",
            "-extfile",
            "tls.ext",
            "-out",
            "tls.pem",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let leaf = std::fs::read_to_string(d.join("tls.pem")).unwrap();
    let root = std::fs::read_to_string(&pki.ca_pem).unwrap();
    keyd.install_certificate(KeyRole::Tls, &format!("{leaf}{root}"))
        .unwrap();
    // keyd runs on its own runtime thread so the load client does not starve it.
    let bus_ready = Arc::new(std::sync::Barrier::new(2));
    let br = bus_ready.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let _conn = signpad_keyd::dbus::serve(Arc::new(keyd)).await.unwrap();
            br.wait();
            std::future::pending::<()>().await;
        });
    });
    tokio::task::spawn_blocking(move || bus_ready.wait())
        .await
        .unwrap();
    let port = free_port();
    let netd = start_netd(pki, port, bus.address(), Some(bus.address()));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_listening(addr).await;
    let r = handshakes(addr, config).await;
    drop(netd);
    drop(tpm);
    Some(r)
}
