//! Counters exported as Prometheus text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// All counters of netd.
#[derive(Debug, Default)]
pub struct Metrics {
    pub handshakes_ok: AtomicU64,
    pub handshakes_failed: AtomicU64,
    pub connections_active: AtomicU64,
    pub connections_refused: AtomicU64,
    requests: Mutex<BTreeMap<(String, u16), u64>>,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn request(&self, route: &str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_owned(), status)).or_default() += 1;
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP signpad_netd_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE signpad_netd_requests_total counter");
        if let Ok(m) = self.requests.lock() {
            for ((route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "signpad_netd_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    route.replace('\\', "\\\\").replace('"', "\\\"")
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP signpad_netd_tls_handshakes_total Completed TLS handshakes by result."
        );
        let _ = writeln!(out, "# TYPE signpad_netd_tls_handshakes_total counter");
        let _ = writeln!(
            out,
            "signpad_netd_tls_handshakes_total{{result=\"ok\"}} {}",
            g(&self.handshakes_ok)
        );
        let _ = writeln!(
            out,
            "signpad_netd_tls_handshakes_total{{result=\"failed\"}} {}",
            g(&self.handshakes_failed)
        );
        let _ = writeln!(
            out,
            "# HELP signpad_netd_connections_active Open client connections."
        );
        let _ = writeln!(out, "# TYPE signpad_netd_connections_active gauge");
        let _ = writeln!(
            out,
            "signpad_netd_connections_active {}",
            g(&self.connections_active)
        );
        let _ = writeln!(out, "# HELP signpad_netd_connections_refused_total Connections dropped over the connection limit.");
        let _ = writeln!(out, "# TYPE signpad_netd_connections_refused_total counter");
        let _ = writeln!(
            out,
            "signpad_netd_connections_refused_total {}",
            g(&self.connections_refused)
        );
        out
    }
}
