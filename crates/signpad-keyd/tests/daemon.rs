#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `signpad-keyd` binary: strict config, refusal without a TPM, and a
//! full start on swtpm + private bus answering `Sign`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Rig;
use signpad_keyd::{KeydConfig, KeydError};
use signpad_testkit::DbusDaemon;

const BIN: &str = env!("CARGO_BIN_EXE_signpad-keyd");

#[test]
fn config_with_an_unknown_key_is_rejected_with_file_and_line() {
    let text = "tcti = \"swtpm:host=127.0.0.1,port=2321\"\nstate_dir = \"/var/lib/signpad/keys\"\nallowed_uid = [1]\n";
    let err = KeydConfig::parse(text, Path::new("/etc/signpad/keyd.toml")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, KeydError::Config { .. }));
    assert!(
        msg.contains("/etc/signpad/keyd.toml")
            && msg.contains("line 3")
            && msg.contains("allowed_uid"),
        "{msg}"
    );
}

#[test]
fn config_values_are_validated() {
    let p = Path::new("keyd.toml");
    for (text, needle) in [
        ("tcti = \"mssim:port=1\"", "not supported"),
        ("state_dir = \"relative/keys\"", "absolute"),
        ("storage_key_pcrs = [24]", "PCR 24"),
        ("allowed_uids = [1]\nstorage_key_uid = 2", "storage_key_uid"),
    ] {
        let err = KeydConfig::parse(text, p).unwrap_err().to_string();
        assert!(err.contains(needle), "{text}: {err}");
    }
    let ok = KeydConfig::parse(
        "allowed_uids = [991, 992]\nstorage_key_uid = 991\nstorage_key_pcrs = [7]\n",
        p,
    )
    .unwrap();
    assert_eq!(ok.tcti, "device:/dev/tpmrm0");
    assert_eq!(ok.state_dir, Path::new("/var/lib/signpad/keys"));
}

#[test]
fn daemon_without_a_tpm_exits_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keyd.toml");
    std::fs::write(
        &config,
        format!(
            "tcti = \"device:/dev/tpmrm-absent\"\nstate_dir = \"{}\"\n",
            dir.path().join("k").display()
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not run without a TPM"), "{stderr}");
}

#[test]
fn daemon_provisions_serves_sign_and_stops_on_sigterm() {
    let rig = Rig::new();
    let bus = DbusDaemon::start().unwrap();
    let config = rig.dir.path().join("keyd.toml");
    std::fs::write(
        &config,
        format!(
            "tcti = \"{}\"\nstate_dir = \"{}\"\nbus = \"{}\"\nallowed_uids = [{}]\n",
            rig.tpm.tcti(),
            rig.dir.path().join("keys").display(),
            bus.address(),
            current_uid()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .env("TSS2_LOG", "all+none")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let digest = signpad_types::DigestAlgorithm::Sha256.hash(b"doc");
    let arg = format!(
        "array:byte:{}",
        digest
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let reply = loop {
        let out = Command::new("dbus-send")
            .arg(format!("--bus={}", bus.address()))
            .args([
                "--print-reply",
                "--dest=org.signpad.Keys1",
                "/org/signpad/Keys1",
                "org.signpad.Keys1.Sign",
                "string:signing",
                "string:sha256",
            ])
            .arg(&arg)
            .output()
            .unwrap();
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(reply.contains("array of bytes"), "{reply}");
    assert!(rig.dir.path().join("keys/signing.key").exists());
    let rss_kb: u64 = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap();
    eprintln!("signpad-keyd RSS after serving: {rss_kb} kB");
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "no exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn current_uid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn daemon_killed_during_provisioning_never_ends_with_two_identities() {
    let rig = Rig::new();
    let bus = DbusDaemon::start().unwrap();
    let config = rig.dir.path().join("keyd.toml");
    let keys = rig.dir.path().join("keys");
    std::fs::write(
        &config,
        format!(
            "tcti = \"{}\"\nstate_dir = \"{}\"\nbus = \"{}\"\n",
            rig.tpm.tcti(),
            keys.display(),
            bus.address()
        ),
    )
    .unwrap();
    let mut first_key: Option<Vec<u8>> = None;
    // SIGKILL at increasing points of a fresh start: during TPM2_Create of
    // each object, between create and rename, during the bootstrap
    // certificates, while serving.
    for delay_ms in [0u64, 2, 5, 10, 20, 30, 45, 60, 80, 110, 150, 200, 300] {
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .env("TSS2_LOG", "all+none")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        if let Ok(bytes) = std::fs::read(keys.join("signing.key")) {
            match &first_key {
                None => first_key = Some(bytes),
                Some(k) => assert_eq!(
                    k, &bytes,
                    "signing key replaced after a kill at {delay_ms} ms"
                ),
            }
        }
    }
    // The next start completes provisioning with the same identity, even
    // though the killed runs left objects loaded in the TPM.
    let keyd = rig.keyd();
    keyd.provision(None).unwrap();
    assert!(keyd.is_provisioned().unwrap());
    if let Some(k) = first_key {
        assert_eq!(std::fs::read(keys.join("signing.key")).unwrap(), k);
    }
    let chain = keyd
        .certificate_chain(signpad_keyd::KeyRole::Signing)
        .unwrap();
    let spki = &chain[0].tbs_certificate.subject_public_key_info;
    let ours = spki::SubjectPublicKeyInfoOwned::from_key(
        keyd.public_key(signpad_keyd::KeyRole::Signing).unwrap(),
    )
    .unwrap();
    assert_eq!(
        spki, &ours,
        "bootstrap certificate is for the surviving key"
    );
    let d = signpad_types::DigestAlgorithm::Sha256.hash(b"x");
    keyd.sign_digest(
        signpad_keyd::KeyRole::Signing,
        signpad_types::DigestAlgorithm::Sha256,
        &d,
    )
    .unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&keys)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(leftovers.len(), 6, "{leftovers:?}");
}
