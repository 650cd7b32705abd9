//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use signpad_ink::Trace;
use signpad_inputd::record::{self, Record, RECORD_LEN};
use signpad_inputd::replay::ReplaySource;
use signpad_types::PenSample;
use tokio::io::AsyncReadExt as _;

pub fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(file)
}

pub fn trace(file: &str) -> Arc<Trace> {
    Arc::new(ReplaySource::load(&data(file)).expect("trace loads"))
}

/// The samples the library's conversion gives for a trace.
pub fn expected(file: &str) -> Vec<PenSample> {
    signpad_ink::capture_trace(&trace(file))
        .expect("trace converts")
        .samples
}

/// A consumer's end of a sample stream.
pub struct Consumer(tokio::net::UnixStream);

impl Consumer {
    pub fn new(fd: std::os::fd::OwnedFd) -> Self {
        let s = std::os::unix::net::UnixStream::from(fd);
        s.set_nonblocking(true).unwrap();
        Self(tokio::net::UnixStream::from_std(s).unwrap())
    }

    /// Reads `n` records (sample, dropped-before count), failing after 20 s.
    pub async fn read(&mut self, n: usize) -> Vec<(PenSample, u32)> {
        let mut buf = vec![0u8; n * RECORD_LEN];
        tokio::time::timeout(Duration::from_secs(20), self.0.read_exact(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {n} records"))
            .expect("stream read");
        buf.chunks_exact(RECORD_LEN)
            .map(|c| {
                let r: Record = c.try_into().unwrap();
                record::decode(&r)
            })
            .collect()
    }

    /// Asserts nothing more arrives within `wait`.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        let mut b = [0u8; RECORD_LEN];
        if let Ok(r) = tokio::time::timeout(wait, self.0.read(&mut b)).await {
            let n = r.expect("stream read");
            assert_eq!(n, 0, "unexpected extra data on the stream");
        }
    }
}

pub fn samples(records: &[(PenSample, u32)]) -> Vec<PenSample> {
    records.iter().map(|(s, _)| *s).collect()
}

/// This process's UID, from the owner of /proc/self.
pub fn my_uid() -> u32 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").expect("/proc/self").uid()
}
