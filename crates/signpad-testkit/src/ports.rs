//! Free loopback port pairs (`port`, `port + 1`), as the swtpm TCTI expects
//! the control channel right after the command channel.

use std::net::TcpListener;
use std::time::{SystemTime, UNIX_EPOCH};

/// Candidate ports are drawn below the Linux ephemeral range (32768..) so
/// that outgoing connections do not take them between check and use.
const LOW: u16 = 10_000;
const HIGH: u16 = 32_000;

/// A cheap per-call pseudo-random start, different between processes and
/// threads that ask at the same moment.
fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tid = format!("{:?}", std::thread::current().id());
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in nanos
        .to_le_bytes()
        .iter()
        .chain(std::process::id().to_le_bytes().iter())
        .chain(tid.as_bytes())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Returns a port `p` such that `p` and `p + 1` were both free on 127.0.0.1
/// just now. The caller must still cope with losing a race (retry).
pub(crate) fn free_pair(attempt: u32) -> Option<u16> {
    let span = u64::from(HIGH - LOW);
    let mut x = seed() ^ u64::from(attempt).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for _ in 0..64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = LOW + u16::try_from(x % span).unwrap_or(0);
        let a = TcpListener::bind(("127.0.0.1", p));
        let b = TcpListener::bind(("127.0.0.1", p + 1));
        if a.is_ok() && b.is_ok() {
            return Some(p);
        }
    }
    None
}
