#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Headless end-to-end ceremony: swtpm + a private dbus-daemon + keyd and
//! inputd (replaying `tests/data/signature-tilt.evemu`) + the `signpadd`
//! binary; this test plays the UI and the host over D-Bus.
//!
//! keyd and inputd run in this test process from their libraries (their
//! binaries belong to other packages, which `cargo test -p signpadd` does
//! not build); they serve on the same private bus as they would as daemons.
//! signpadd runs as its own process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signpad_keyd::{KeyRole, Keyd, KeydConfig};
use signpad_testkit::{DbusDaemon, DemoPki, Swtpm};
use zbus::Connection;

const PIN: &[u8] = b"482913";
const TOTP_SECRET: &[u8] = b"12345678901234567890";
/// A 1×1 PNG page.
const PAGE: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xff, 0xff, 0x3f,
    0x00, 0x05, 0xfe, 0x02, 0xfe, 0xa7, 0x35, 0x81, 0x84, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn uid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

struct Daemon(Child);
impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn pad_call<R>(
    conn: &Connection,
    method: &str,
    body: &(impl serde::Serialize + zbus::zvariant::DynamicType),
) -> zbus::Result<R>
where
    R: for<'d> zbus::zvariant::DynamicDeserialize<'d>,
{
    let reply = conn
        .call_method(
            Some("org.signpad.Pad1"),
            "/org/signpad/Pad1",
            Some("org.signpad.Pad1"),
            method,
            body,
        )
        .await?;
    reply.body().deserialize::<R>()
}

fn error_name(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => format!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_ceremony_with_pin_and_totp_gives_a_package_openssl_verifies() {
    std::env::set_var("TSS2_LOG", "all+none");
    let uid = uid();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tpm = Swtpm::start().unwrap();
    let bus = DbusDaemon::start().unwrap();
    let pki = DemoPki::create(d).unwrap();

    // keyd: provision, enrol the signing key with the demo CA, serve.
    let mut kc = KeydConfig::new(tpm.tcti(), d.join("keys"));
    kc.bus = bus.address().to_owned();
    kc.allowed_uids = vec![uid];
    kc.storage_key_uid = Some(uid);
    let keyd = tokio::task::spawn_blocking(move || {
        let keyd = Keyd::open(kc).unwrap();
        keyd.provision(None).unwrap();
        keyd
    })
    .await
    .unwrap();
    std::fs::write(
        d.join("csr.pem"),
        keyd.create_csr(KeyRole::Signing, "CN=SP-E2E-0001,O=Example Bank")
            .unwrap(),
    )
    .unwrap();
    std::fs::write(
        d.join("ext.cnf"),
        "keyUsage=critical,digitalSignature,nonRepudiation\n",
    )
    .unwrap();
    let out = openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "csr.pem",
            "-CA",
            s(&pki.ca),
            "-CAkey",
            s(&pki.ca_key),
            "-CAcreateserial",
            "-days",
            "7",
            "-extfile",
            "ext.cnf",
            "-out",
            "padtpm.pem",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leaf = std::fs::read_to_string(d.join("padtpm.pem")).unwrap();
    let root = std::fs::read_to_string(&pki.ca).unwrap();
    keyd.install_certificate(KeyRole::Signing, &format!("{leaf}{root}"))
        .unwrap();
    let _keyd_conn = signpad_keyd::dbus::serve(Arc::new(keyd)).await.unwrap();

    // inputd: replay the tilt trace once a stream opens.
    let trace = repo().join("tests/data/signature-tilt.evemu");
    let inputd_config = signpad_inputd::InputdConfig::parse(
        &format!(
            "[access]\nallowed_uids = [{uid}]\n[discovery]\ninput_dir = \"{}\"\n[replay]\nfile = \"{}\"\npace = \"fast\"\n",
            s(d),
            s(&trace)
        ),
        Path::new("inputd.toml"),
    )
    .unwrap();
    let inputd_conn = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let _inputd = signpad_inputd::daemon::Daemon::start(&inputd_config, &inputd_conn)
        .await
        .unwrap();

    // signpadd, as a process.
    let state_dir = d.join("signpadd");
    let config = d.join("signpadd.toml");
    std::fs::write(
        &config,
        format!(
            r#"pad_serial = "SP-E2E-0001"
state_dir = "{}"
bus = "{}"
escrow_certificate = "{}"
training = true
[access]
host_uids = [{uid}]
ui_uids = [{uid}]
admin_uids = [{uid}]
[auth]
minimum = ["pin"]
backoff_base_ms = 10
[policy.default]
factors = ["totp"]
"#,
            s(&state_dir),
            bus.address(),
            s(&pki.escrow)
        ),
    )
    .unwrap();
    let _signpadd = Daemon(
        Command::new(env!("CARGO_BIN_EXE_signpadd"))
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );

    let conn = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let dbus = zbus::fdo::DBusProxy::new(&conn).await.unwrap();
    while !dbus
        .name_has_owner("org.signpad.Pad1".try_into().unwrap())
        .await
        .unwrap()
    {
        assert!(Instant::now() < deadline, "signpadd did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Admin enrols alice.
    pad_call::<()>(
        &conn,
        "EnrolSigner",
        &("alice", "Alice Example", PIN, TOTP_SECRET, ""),
    )
    .await
    .unwrap();

    // Host creates a session for the sample PDF.
    let pdf = repo().join("tests/data/sample.pdf");
    let digest = signpad_types::DigestAlgorithm::Sha256.hash(&std::fs::read(&pdf).unwrap());
    // A factor the pad cannot check is refused by name.
    let err = pad_call::<String>(
        &conn,
        "CreateSession",
        &(
            "sha256",
            &digest,
            "Loan agreement",
            vec![PAGE],
            "default",
            vec!["fingerprint"],
            "alice",
            Vec::<u8>::new(),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(error_name(&err), "org.signpad.Error.PolicyDenied");
    let id: String = pad_call(
        &conn,
        "CreateSession",
        &(
            "sha256",
            &digest,
            "Loan agreement",
            vec![PAGE],
            "default",
            Vec::<String>::new(),
            "alice",
            Vec::<u8>::new(),
        ),
    )
    .await
    .unwrap();

    // UI: signing before review is refused; show the page.
    let err = pad_call::<()>(&conn, "StartSigning", &(&id,))
        .await
        .unwrap_err();
    assert_eq!(error_name(&err), "org.signpad.Error.PagesNotShown");
    let page: Vec<u8> = pad_call(&conn, "GetPage", &(&id, 0u32)).await.unwrap();
    let page_digest = signpad_types::DigestAlgorithm::Sha256.hash(&page);
    pad_call::<()>(&conn, "PageShown", &(&id, 0u32, &page_digest))
        .await
        .unwrap();

    // PIN: wrong, then right (after the back-off).
    let err = pad_call::<()>(&conn, "SubmitPin", &(&id, b"000000".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(error_name(&err), "org.signpad.Error.AuthFailed");
    tokio::time::sleep(Duration::from_millis(50)).await;
    pad_call::<()>(&conn, "SubmitPin", &(&id, PIN.to_vec()))
        .await
        .unwrap();
    let err = pad_call::<()>(&conn, "StartSigning", &(&id,))
        .await
        .unwrap_err();
    assert_eq!(error_name(&err), "org.signpad.Error.FactorsOutstanding");

    // TOTP.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = signpadd::auth::totp::TotpCheck::new(TOTP_SECRET)
        .unwrap()
        .code_at(now);
    pad_call::<()>(&conn, "SubmitTotp", &(&id, &code))
        .await
        .unwrap();

    // Sign: the replayed trace streams in.
    pad_call::<()>(&conn, "StartSigning", &(&id,))
        .await
        .unwrap();
    let pad = zbus::Proxy::new(
        &conn,
        "org.signpad.Pad1",
        "/org/signpad/Pad1",
        "org.signpad.Pad1",
    )
    .await
    .unwrap();
    let mut last = 0u32;
    let mut stable = 0;
    while stable < 5 {
        assert!(
            Instant::now() < deadline + Duration::from_secs(30),
            "no ink"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n: u32 = pad.get_property("InkSamples").await.unwrap();
        if n > 0 && n == last {
            stable += 1;
        } else {
            stable = 0;
        }
        last = n;
    }
    pad_call::<()>(&conn, "StopSigning", &(&id,)).await.unwrap();
    let t0 = Instant::now();
    pad_call::<()>(&conn, "Confirm", &(&id,)).await.unwrap();
    eprintln!(
        "confirm -> package ready: {:?} ({last} samples)",
        t0.elapsed()
    );
    let state: String = pad_call(&conn, "SessionState", &(&id,)).await.unwrap();
    assert_eq!(state, "completed");

    // Host fetches the package; it is gone from the pad afterwards.
    let (package, png): (Vec<u8>, Vec<u8>) = pad_call(&conn, "GetPackage", &(&id,)).await.unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let err = pad_call::<(Vec<u8>, Vec<u8>)>(&conn, "GetPackage", &(&id,))
        .await
        .unwrap_err();
    assert_eq!(error_name(&err), "org.signpad.Error.NoPackage");
    std::fs::write(d.join("pkg.der"), &package).unwrap();
    let out = openssl(
        d,
        &[
            "cms",
            "-verify",
            "-binary",
            "-content",
            s(&pdf),
            "-inform",
            "DER",
            "-in",
            "pkg.der",
            "-CAfile",
            s(&pki.ca),
            "-out",
            "/dev/null",
        ],
    );
    assert!(
        out.status.success(),
        "openssl cms -verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The ceremony record says what happened; the biometric opens with the
    // escrow key and is bound to this document.
    let parsed =
        signpad_package::Package::parse(&package, &signpad_package::Limits::default()).unwrap();
    let record = parsed.ceremony_record();
    assert!(record.training);
    assert_eq!(record.pages_shown.len(), 1);
    assert_eq!(record.pages_shown[0].as_bytes(), page_digest.as_slice());
    let factors: Vec<_> = record
        .auth_factors
        .iter()
        .map(|f| f.factor.clone())
        .collect();
    assert_eq!(
        factors,
        vec![
            signpad_package::AuthFactor::Pin,
            signpad_package::AuthFactor::Totp
        ]
    );
    let key = signpad_package::envelope::escrow_key_from_pem(
        &std::fs::read_to_string(&pki.escrow_key).unwrap(),
    )
    .unwrap();
    let payload =
        signpad_package::envelope::open_biometric(parsed.biometric_envelope(), &key).unwrap();
    let _ = payload;

    // The state directory holds no plaintext of the enrolment.
    let signers = std::fs::read(state_dir.join("signers")).unwrap();
    assert!(!signers.windows(5).any(|w| w == b"Alice"));
    // The audit log recorded the ceremony.
    let audit = std::fs::read_to_string(state_dir.join("audit.log")).unwrap();
    for kind in [
        "session_created",
        "auth_attempt",
        "package_sealed",
        "package_fetched",
    ] {
        assert!(audit.contains(kind), "audit log lacks {kind}");
    }
}
