#![allow(dead_code)]
//! Shared helpers of keyd's integration tests: each test gets its own swtpm
//! and state directory.

use signpad_keyd::{Keyd, KeydConfig};
use signpad_testkit::Swtpm;

pub struct Rig {
    pub tpm: Swtpm,
    pub dir: tempfile::TempDir,
}

impl Rig {
    pub fn new() -> Self {
        // Quiet the C library's error log for the failures tests provoke.
        std::env::set_var("TSS2_LOG", "all+none");
        Self {
            tpm: Swtpm::start().expect("swtpm starts"),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn config(&self) -> KeydConfig {
        KeydConfig::new(self.tpm.tcti(), self.dir.path().join("keys"))
    }

    pub fn keyd(&self) -> Keyd {
        Keyd::open(self.config()).expect("keyd opens")
    }

    pub fn provisioned(&self) -> Keyd {
        let keyd = self.keyd();
        keyd.provision(Some(b"2468")).expect("provisioning");
        keyd
    }
}
