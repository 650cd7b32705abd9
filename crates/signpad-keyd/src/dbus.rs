//! `org.signpad.Keys1` at `/org/signpad/Keys1`: keyd's D-Bus face.
//!
//! Every method first checks the caller's UID (from the bus daemon's
//! connection credentials, not from anything the caller says) against
//! `allowed_uids`; `UnsealStorageKey` only answers `storage_key_uid`. TPM
//! work runs on tokio's blocking pool. Errors are `org.signpad.Error.*`.

use std::sync::Arc;

use signpad_types::DigestAlgorithm;
use zbus::message::Header;
use zbus::names::BusName;
use zbus::object_server::SignalEmitter;
use zbus::Connection;
use zeroize::Zeroizing;

use crate::{KeyRole, Keyd, KeydError};

/// Well-known bus name of keyd.
pub const BUS_NAME: &str = "org.signpad.Keys1";
/// Object path of the keys interface.
pub const OBJECT_PATH: &str = "/org/signpad/Keys1";

/// D-Bus errors of `org.signpad.Keys1` (name = prefix + variant).
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.signpad.Error")]
pub enum KeysError {
    #[zbus(error)]
    ZBus(zbus::Error),
    AccessDenied(String),
    Config(String),
    TpmUnavailable(String),
    Tpm(String),
    NotProvisioned(String),
    UnknownRole(String),
    BadDigest(String),
    WrongPin(String),
    LockedOut(String),
    NoAdminPin(String),
    AdminPinAlreadySet(String),
    PolicyMismatch(String),
    BadSubject(String),
    BadCertificate(String),
    ForeignCertificate(String),
    UntrustedChain(String),
    BadAttestation(String),
    Internal(String),
}

impl From<KeydError> for KeysError {
    fn from(e: KeydError) -> Self {
        let m = e.to_string();
        match e {
            KeydError::Config { .. } | KeydError::BadTcti(_) => Self::Config(m),
            KeydError::NoTpm { .. } | KeydError::TpmUnavailable { .. } => Self::TpmUnavailable(m),
            KeydError::Tpm { .. } => Self::Tpm(m),
            KeydError::NotProvisioned(_) => Self::NotProvisioned(m),
            KeydError::UnknownRole(_) => Self::UnknownRole(m),
            KeydError::WrongDigestLength { .. } | KeydError::UnknownAlgorithm(_) => {
                Self::BadDigest(m)
            }
            KeydError::WrongPin { .. } => Self::WrongPin(m),
            KeydError::LockedOut { .. } => Self::LockedOut(m),
            KeydError::NoAdminPin => Self::NoAdminPin(m),
            KeydError::AdminPinAlreadySet => Self::AdminPinAlreadySet(m),
            KeydError::PolicyMismatch => Self::PolicyMismatch(m),
            KeydError::BadSubject { .. } => Self::BadSubject(m),
            KeydError::BadCertificate(_) => Self::BadCertificate(m),
            KeydError::ForeignCertificate { .. } => Self::ForeignCertificate(m),
            KeydError::UntrustedChain(_) => Self::UntrustedChain(m),
            KeydError::BadAttestation(_) => Self::BadAttestation(m),
            KeydError::Io { .. } | KeydError::CorruptBlob { .. } | KeydError::Encoding(_) => {
                Self::Internal(m)
            }
        }
    }
}

/// The served object.
#[derive(Debug, Clone)]
pub struct KeysService {
    keyd: Arc<Keyd>,
}

impl KeysService {
    /// Serves `keyd` (its config holds the allow-lists).
    pub fn new(keyd: Arc<Keyd>) -> Self {
        Self { keyd }
    }

    async fn caller_uid(conn: &Connection, header: &Header<'_>) -> Result<u32, KeysError> {
        let sender = header
            .sender()
            .ok_or_else(|| KeysError::AccessDenied("message without sender".into()))?;
        let dbus = zbus::fdo::DBusProxy::new(conn).await?;
        let credentials = dbus
            .get_connection_credentials(BusName::Unique(sender.to_owned()))
            .await
            .map_err(|e| KeysError::AccessDenied(format!("cannot identify caller: {e}")))?;
        credentials
            .unix_user_id()
            .ok_or_else(|| KeysError::AccessDenied("caller UID unknown".into()))
    }

    async fn authorize(
        &self,
        conn: &Connection,
        header: &Header<'_>,
        method: &str,
    ) -> Result<u32, KeysError> {
        let uid = Self::caller_uid(conn, header).await?;
        if self.keyd.config().allowed_uids.contains(&uid) {
            Ok(uid)
        } else {
            tracing::warn!(uid, method, "refused D-Bus caller");
            Err(KeysError::AccessDenied(format!(
                "UID {uid} may not call {method}"
            )))
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Keyd) -> Result<T, KeydError> + Send + 'static,
    ) -> Result<T, KeysError> {
        let keyd = Arc::clone(&self.keyd);
        tokio::task::spawn_blocking(move || f(&keyd))
            .await
            .map_err(|e| KeysError::Internal(format!("TPM worker failed: {e}")))?
            .map_err(KeysError::from)
    }
}

#[zbus::interface(name = "org.signpad.Keys1")]
impl KeysService {
    /// Signs a digest (`sha256`/`sha384`/`sha512`) with the key of `role`
    /// (`signing`/`tls`); returns a DER ECDSA-Sig-Value.
    async fn sign(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        role: &str,
        algorithm: &str,
        digest: Vec<u8>,
    ) -> Result<Vec<u8>, KeysError> {
        self.authorize(conn, &header, "Sign").await?;
        let role = KeyRole::from_name(role)?;
        let algorithm = DigestAlgorithm::from_name(algorithm)
            .map_err(|_| KeydError::UnknownAlgorithm(algorithm.to_owned()))?;
        self.blocking(move |k| k.sign_digest(role, algorithm, &digest))
            .await
    }

    /// The certificate chain of `role`, leaf first, each DER.
    async fn certificate_chain(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        role: &str,
    ) -> Result<Vec<Vec<u8>>, KeysError> {
        self.authorize(conn, &header, "CertificateChain").await?;
        let role = KeyRole::from_name(role)?;
        self.blocking(move |k| {
            k.certificate_chain(role)?
                .iter()
                .map(|c| der::Encode::to_der(c).map_err(|e| KeydError::Encoding(e.to_string())))
                .collect()
        })
        .await
    }

    /// A PEM PKCS#10 request for `role` with an RFC 4514 `subject`.
    async fn create_csr(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        role: &str,
        subject: String,
    ) -> Result<String, KeysError> {
        self.authorize(conn, &header, "CreateCsr").await?;
        let role = KeyRole::from_name(role)?;
        self.blocking(move |k| k.create_csr(role, &subject)).await
    }

    /// Installs a CA-issued PEM chain (leaf first) for `role`; emits
    /// PropertiesChanged for the enrolment and expiry properties.
    async fn install_certificate(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        role: &str,
        pem: String,
    ) -> Result<(), KeysError> {
        self.authorize(conn, &header, "InstallCertificate").await?;
        let role = KeyRole::from_name(role)?;
        self.blocking(move |k| k.install_certificate(role, &pem))
            .await?;
        match role {
            KeyRole::Signing => {
                self.signing_enrolled_changed(&emitter).await?;
                self.signing_certificate_expiry_changed(&emitter).await?;
            }
            KeyRole::Tls => self.tls_certificate_expiry_changed(&emitter).await?,
        }
        Ok(())
    }

    /// TPM2_Quote over SHA-256 `pcrs` with `nonce`: (TPMS_ATTEST, DER signature).
    async fn quote(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        nonce: Vec<u8>,
        pcrs: Vec<u8>,
    ) -> Result<(Vec<u8>, Vec<u8>), KeysError> {
        self.authorize(conn, &header, "Quote").await?;
        let q = self.blocking(move |k| k.quote(&nonce, &pcrs)).await?;
        Ok((q.attest, q.signature))
    }

    /// TPM2_Certify of `role`'s key by the AK with `nonce`:
    /// (TPMS_ATTEST, DER signature, the key's marshalled TPMT_PUBLIC).
    async fn certify_key(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        role: &str,
        nonce: Vec<u8>,
    ) -> Result<(Vec<u8>, Vec<u8>, Vec<u8>), KeysError> {
        self.authorize(conn, &header, "CertifyKey").await?;
        let role = KeyRole::from_name(role)?;
        self.blocking(move |k| {
            let c = k.certify_key(role, &nonce)?;
            Ok((c.attest, c.signature, k.key_public_area(role)?))
        })
        .await
    }

    /// The attestation key (DER SubjectPublicKeyInfo) and the EK
    /// certificate (DER, empty when the TPM has none).
    async fn attestation_identity(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(Vec<u8>, Vec<u8>), KeysError> {
        self.authorize(conn, &header, "AttestationIdentity").await?;
        self.blocking(|k| {
            let ak = p256::pkcs8::EncodePublicKey::to_public_key_der(&k.attestation_key()?)
                .map_err(|e| KeydError::Encoding(e.to_string()))?;
            Ok((
                ak.as_bytes().to_vec(),
                k.ek_certificate()?.unwrap_or_default(),
            ))
        })
        .await
    }

    /// Attestation evidence for `nonce` over SHA-256 `pcrs`, as JSON (see
    /// `attest::Evidence`): the AK, the EK certificate, a quote and the
    /// signing key's certification, for `signpadctl attest verify`.
    async fn evidence(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        nonce: Vec<u8>,
        pcrs: Vec<u8>,
    ) -> Result<String, KeysError> {
        self.authorize(conn, &header, "Evidence").await?;
        self.blocking(move |k| k.collect_evidence(&nonce, &pcrs)?.to_json())
            .await
    }

    /// The storage secret; only for the session daemon's UID.
    async fn unseal_storage_key(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<Vec<u8>, KeysError> {
        let uid = self.authorize(conn, &header, "UnsealStorageKey").await?;
        if self.keyd.config().storage_key_uid != Some(uid) {
            tracing::warn!(uid, "refused storage key to a caller that is not signpadd");
            return Err(KeysError::AccessDenied(format!(
                "UID {uid} may not unseal the storage key"
            )));
        }
        let secret = self.blocking(|k| k.unseal_storage_key()).await?;
        // The copy handed to zbus is its to drop; ours is zeroized here.
        Ok(secret.to_vec())
    }

    /// Checks the admin PIN in the TPM (wrong PINs count toward lockout).
    async fn verify_admin_pin(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        pin: Vec<u8>,
    ) -> Result<(), KeysError> {
        let pin = Zeroizing::new(pin);
        self.authorize(conn, &header, "VerifyAdminPin").await?;
        self.blocking(move |k| k.check_admin_pin(&pin)).await
    }

    /// Changes the admin PIN; the old one is checked by the TPM.
    async fn change_admin_pin(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        old_pin: Vec<u8>,
        new_pin: Vec<u8>,
    ) -> Result<(), KeysError> {
        let (old_pin, new_pin) = (Zeroizing::new(old_pin), Zeroizing::new(new_pin));
        self.authorize(conn, &header, "ChangeAdminPin").await?;
        self.blocking(move |k| k.change_admin_pin(&old_pin, &new_pin))
            .await
    }

    /// Sets the admin PIN when none is set yet.
    async fn set_admin_pin(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        pin: Vec<u8>,
    ) -> Result<(), KeysError> {
        let pin = Zeroizing::new(pin);
        self.authorize(conn, &header, "SetAdminPin").await?;
        self.blocking(move |k| k.set_admin_pin(&pin)).await
    }

    /// Whether the key hierarchy is complete.
    #[zbus(property)]
    async fn provisioned(&self) -> bool {
        self.keyd.is_provisioned().unwrap_or(false)
    }

    /// Whether the signing key has a CA-issued certificate.
    #[zbus(property)]
    async fn signing_enrolled(&self) -> bool {
        self.keyd.is_enrolled(KeyRole::Signing).unwrap_or(false)
    }

    /// Expiry of the signing certificate, seconds since the Unix epoch (0: none).
    #[zbus(property)]
    async fn signing_certificate_expiry(&self) -> u64 {
        expiry_secs(&self.keyd, KeyRole::Signing)
    }

    /// Expiry of the TLS certificate, seconds since the Unix epoch (0: none).
    #[zbus(property)]
    async fn tls_certificate_expiry(&self) -> u64 {
        expiry_secs(&self.keyd, KeyRole::Tls)
    }
}

fn expiry_secs(keyd: &Keyd, role: KeyRole) -> u64 {
    keyd.certificate_expiry(role)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// Connects to the bus named in the config (`system` or an address),
/// serves `org.signpad.Keys1` and takes the well-known name.
pub async fn serve(keyd: Arc<Keyd>) -> Result<Connection, KeysError> {
    let bus = keyd.config().bus.clone();
    let builder = if bus == "system" {
        zbus::connection::Builder::system()?
    } else {
        zbus::connection::Builder::address(bus.as_str())?
    };
    Ok(builder
        .serve_at(OBJECT_PATH, KeysService::new(keyd))?
        .name(BUS_NAME)?
        .build()
        .await?)
}
