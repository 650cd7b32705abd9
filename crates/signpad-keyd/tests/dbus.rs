#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `org.signpad.Keys1` on a private dbus-daemon: calls, named errors and
//! caller UID checks (including a real other-UID client via setpriv).

mod common;

use std::process::Command;
use std::sync::Arc;

use common::Rig;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use signpad_keyd::dbus::{BUS_NAME, OBJECT_PATH};
use signpad_keyd::{KeyRole, Keyd};
use signpad_testkit::DbusDaemon;
use signpad_types::DigestAlgorithm;

const NOBODY: u32 = 65534;

struct Served {
    bus: DbusDaemon,
    keyd: Arc<Keyd>,
    _server: zbus::Connection,
    client: zbus::Connection,
}

async fn serve(rig: &Rig, allowed: Vec<u32>, storage_uid: Option<u32>) -> Served {
    let bus = DbusDaemon::start().unwrap();
    let mut config = rig.config();
    config.bus = bus.address().to_owned();
    config.allowed_uids = allowed;
    config.storage_key_uid = storage_uid;
    let keyd = Keyd::open(config).unwrap();
    keyd.provision(Some(b"2468")).unwrap();
    let keyd = Arc::new(keyd);
    let server = signpad_keyd::dbus::serve(Arc::clone(&keyd)).await.unwrap();
    let client = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    Served {
        bus,
        keyd,
        _server: server,
        client,
    }
}

async fn call<B>(s: &Served, method: &str, body: &B) -> Result<zbus::message::Message, zbus::Error>
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
{
    s.client
        .call_method(Some(BUS_NAME), OBJECT_PATH, Some(BUS_NAME), method, body)
        .await
}

fn error_name(e: zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => panic!("not a method error: {other}"),
    }
}

fn uid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_over_dbus_verifies_and_bad_input_gets_named_errors() {
    let rig = Rig::new();
    let s = serve(&rig, vec![uid()], None).await;
    let digest = DigestAlgorithm::Sha384.hash(b"doc");
    let reply = call(&s, "Sign", &("signing", "sha384", digest.clone()))
        .await
        .unwrap();
    let der: Vec<u8> = reply.body().deserialize().unwrap();
    let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
    s.keyd
        .public_key(KeyRole::Signing)
        .unwrap()
        .verify_prehash(&digest, &sig)
        .unwrap();

    let e = call(&s, "Sign", &("root", "sha256", vec![0u8; 32]))
        .await
        .unwrap_err();
    assert_eq!(error_name(e), "org.signpad.Error.UnknownRole");
    let e = call(&s, "Sign", &("signing", "sha256", vec![0u8; 31]))
        .await
        .unwrap_err();
    assert_eq!(error_name(e), "org.signpad.Error.BadDigest");
    let e = call(&s, "Sign", &("signing", "md5", vec![0u8; 16]))
        .await
        .unwrap_err();
    assert_eq!(error_name(e), "org.signpad.Error.BadDigest");
    let e = call(&s, "CreateCsr", &("tls", "garbage"))
        .await
        .unwrap_err();
    assert_eq!(error_name(e), "org.signpad.Error.BadSubject");
    let e = call(&s, "InstallCertificate", &("signing", "not pem"))
        .await
        .unwrap_err();
    assert_eq!(error_name(e), "org.signpad.Error.BadCertificate");

    let reply = call(&s, "CertificateChain", &("signing",)).await.unwrap();
    let chain: Vec<Vec<u8>> = reply.body().deserialize().unwrap();
    assert_eq!(chain.len(), 1);
    let reply = call(&s, "CreateCsr", &("signing", "CN=pad-0001"))
        .await
        .unwrap();
    let pem: String = reply.body().deserialize().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));

    let reply = call(&s, "Quote", &(b"nonce".to_vec(), vec![0u8, 7]))
        .await
        .unwrap();
    let (attest, signature): (Vec<u8>, Vec<u8>) = reply.body().deserialize().unwrap();
    let q = signpad_keyd::attest::Attestation { attest, signature };
    let ak = s.keyd.attestation_key().unwrap();
    signpad_keyd::attest::verify_quote(&ak, &q, b"nonce").unwrap();

    call(&s, "VerifyAdminPin", &(b"2468".to_vec(),))
        .await
        .unwrap();
    let e = call(&s, "VerifyAdminPin", &(b"1111".to_vec(),))
        .await
        .unwrap_err();
    assert_eq!(error_name(e), "org.signpad.Error.WrongPin");

    let proxy = zbus::fdo::PropertiesProxy::builder(&s.client)
        .destination(BUS_NAME)
        .unwrap()
        .path(OBJECT_PATH)
        .unwrap()
        .build()
        .await
        .unwrap();
    let iface = zbus::names::InterfaceName::try_from(BUS_NAME).unwrap();
    let provisioned: bool = proxy
        .get(iface.clone(), "Provisioned")
        .await
        .unwrap()
        .try_into()
        .unwrap();
    assert!(provisioned);
    let expiry: u64 = proxy
        .get(iface, "SigningCertificateExpiry")
        .await
        .unwrap()
        .try_into()
        .unwrap();
    assert!(expiry > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_not_in_the_allow_list_is_refused() {
    let rig = Rig::new();
    let s = serve(&rig, vec![uid() + 4242], Some(uid() + 4242)).await;
    let e = call(&s, "Sign", &("signing", "sha256", vec![0u8; 32]))
        .await
        .unwrap_err();
    assert_eq!(error_name(e), "org.signpad.Error.AccessDenied");
    let e = call(&s, "UnsealStorageKey", &()).await.unwrap_err();
    assert_eq!(error_name(e), "org.signpad.Error.AccessDenied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_key_is_only_for_the_session_daemon_uid() {
    let rig = Rig::new();
    let me = uid();
    // Allowed to call keyd, but not the storage key's UID.
    let s = serve(&rig, vec![me, NOBODY], Some(NOBODY)).await;
    let e = call(&s, "UnsealStorageKey", &()).await.unwrap_err();
    assert_eq!(error_name(e), "org.signpad.Error.AccessDenied");
    drop(s);
    let rig = Rig::new();
    let s = serve(&rig, vec![me], Some(me)).await;
    let reply = call(&s, "UnsealStorageKey", &()).await.unwrap();
    let key: Vec<u8> = reply.body().deserialize().unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(key, *s.keyd.unseal_storage_key().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_of_another_uid_is_seen_with_its_real_uid() {
    if uid() != 0 {
        eprintln!("skipped: needs root to run a client as another UID");
        return;
    }
    let rig = Rig::new();
    let s = serve(&rig, vec![0], None).await;
    let address = s.bus.address().to_owned();
    let send = move |as_nobody: bool| {
        let mut cmd = Command::new("setpriv");
        if as_nobody {
            cmd.args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
            ]);
        }
        cmd.arg("dbus-send")
            .arg(format!("--bus={address}"))
            .args(["--print-reply", &format!("--dest={BUS_NAME}"), OBJECT_PATH])
            .arg(format!("{BUS_NAME}.CertificateChain"))
            .arg("string:signing")
            .output()
            .unwrap()
    };
    let send2 = send.clone();
    let root = tokio::task::spawn_blocking(move || send(false))
        .await
        .unwrap();
    assert!(
        root.status.success(),
        "{}",
        String::from_utf8_lossy(&root.stderr)
    );
    let out = tokio::task::spawn_blocking(move || send2(true))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("org.signpad.Error.AccessDenied"),
        "{stderr}"
    );
    assert!(stderr.contains("UID 65534"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certify_over_dbus_verifies_and_enrolment_emits_properties_changed() {
    use futures_util::StreamExt as _;
    let rig = Rig::new();
    let s = serve(&rig, vec![uid()], None).await;

    let reply = call(&s, "AttestationIdentity", &()).await.unwrap();
    let (ak_der, ek): (Vec<u8>, Vec<u8>) = reply.body().deserialize().unwrap();
    assert!(ek.is_empty(), "plain swtpm has no EK certificate");
    let ak =
        <p256::ecdsa::VerifyingKey as p256::pkcs8::DecodePublicKey>::from_public_key_der(&ak_der)
            .unwrap();
    let reply = call(&s, "CertifyKey", &("signing", b"n".to_vec()))
        .await
        .unwrap();
    let (attest, signature, area): (Vec<u8>, Vec<u8>, Vec<u8>) =
        reply.body().deserialize().unwrap();
    let c = signpad_keyd::attest::Attestation { attest, signature };
    let key = signpad_keyd::attest::verify_certification(&ak, &c, b"n", &area).unwrap();
    assert_eq!(key, s.keyd.public_key(KeyRole::Signing).unwrap());

    let proxy = zbus::fdo::PropertiesProxy::builder(&s.client)
        .destination(BUS_NAME)
        .unwrap()
        .path(OBJECT_PATH)
        .unwrap()
        .build()
        .await
        .unwrap();
    let mut changes = proxy.receive_properties_changed().await.unwrap();
    let dir = rig.dir.path().to_owned();
    let csr: String = call(&s, "CreateCsr", &("signing", "CN=pad-0001"))
        .await
        .unwrap()
        .body()
        .deserialize()
        .unwrap();
    let chain = tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .current_dir(&dir)
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        std::fs::write(dir.join("csr.pem"), csr).unwrap();
        run(&[
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-noout",
            "-out",
            "ca.key",
        ]);
        run(&[
            "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=ca", "-days", "3", "-out",
            "ca.pem",
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "csr.pem",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "pad.pem",
        ]);
        std::fs::read_to_string(dir.join("pad.pem")).unwrap()
            + &std::fs::read_to_string(dir.join("ca.pem")).unwrap()
    })
    .await
    .unwrap();
    call(&s, "InstallCertificate", &("signing", chain))
        .await
        .unwrap();
    let signal = tokio::time::timeout(std::time::Duration::from_secs(5), changes.next())
        .await
        .unwrap()
        .unwrap();
    let args = signal.args().unwrap();
    assert_eq!(args.interface_name().as_str(), BUS_NAME);
    assert!(
        args.changed_properties().contains_key("SigningEnrolled"),
        "{:?}",
        args.changed_properties().keys()
    );
}
