//! `org.signpad.Pad1` at `/org/signpad/Pad1`.
//!
//! Every method first checks the caller's UID (from the bus daemon) against
//! the config: `access.host_uids` create, cancel and fetch; `access.ui_uids`
//! drive the active session; `access.admin_uids` enrol and unlock. Engine
//! work runs on the blocking pool (it signs through keyd). Errors are
//! `org.signpad.Error.*`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use signpad_types::SessionId;
use zbus::message::Header;
use zbus::names::BusName;
use zbus::object_server::SignalEmitter;
use zbus::Connection;
use zeroize::Zeroizing;

use crate::pad::{CreateRequest, Enrolment, Pad, PadError};
use crate::session::{ClientIdentity, SessionError, StateName};

pub const BUS_NAME: &str = "org.signpad.Pad1";
pub const OBJECT_PATH: &str = "/org/signpad/Pad1";

/// Named D-Bus errors.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.signpad.Error")]
pub enum Pad1Error {
    #[zbus(error)]
    ZBus(zbus::Error),
    AccessDenied(String),
    PolicyDenied(String),
    LockedOut(String),
    TryLater(String),
    AuthFailed(String),
    Busy(String),
    IllegalState(String),
    PagesNotShown(String),
    FactorsOutstanding(String),
    UnknownSession(String),
    NotActive(String),
    TooLarge(String),
    BadRequest(String),
    NoPackage(String),
    KeysUnavailable(String),
    InputUnavailable(String),
    Storage(String),
    Internal(String),
}

impl From<PadError> for Pad1Error {
    fn from(e: PadError) -> Self {
        use crate::auth::lockout::Refusal;
        let m = e.to_string();
        match e {
            PadError::Session(s) => match s {
                SessionError::IllegalTransition { .. } => Self::IllegalState(m),
                SessionError::PagesNotShown { .. } => Self::PagesNotShown(m),
                SessionError::FactorsOutstanding { .. } => Self::FactorsOutstanding(m),
                SessionError::FactorNotRequired(_) => Self::PolicyDenied(m),
                SessionError::QueueFull(_) => Self::Busy(m),
                SessionError::UnknownSession(_) => Self::UnknownSession(m),
                SessionError::NotActive(_) => Self::NotActive(m),
                SessionError::NoSuchPage { .. } | SessionError::PageMismatch { .. } => {
                    Self::BadRequest(m)
                }
            },
            PadError::Policy(_) => Self::PolicyDenied(m),
            PadError::Refused(Refusal::LockedOut { .. }) => Self::LockedOut(m),
            PadError::Refused(Refusal::BackOff { .. }) => Self::TryLater(m),
            PadError::AuthFailed(_) => Self::AuthFailed(m),
            PadError::BadRequest(_) | PadError::Enrol(_) => Self::BadRequest(m),
            PadError::TooLarge(_) => Self::TooLarge(m),
            PadError::NoPackage(_) => Self::NoPackage(m),
            PadError::Sealing(_) => Self::KeysUnavailable(m),
            PadError::Store(_) => Self::Storage(m),
            PadError::Audit(_) => Self::Storage(m),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Role {
    Host,
    Ui,
    Admin,
}

/// The served object.
#[derive(Debug, Clone)]
pub struct Pad1 {
    pad: Arc<Mutex<Pad>>,
    conn: Arc<tokio::sync::OnceCell<Connection>>,
    capture: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

fn parse_id(id: &str) -> Result<SessionId, Pad1Error> {
    SessionId::parse(id).map_err(|e| Pad1Error::BadRequest(format!("session id: {e}")))
}

impl Pad1 {
    pub fn new(pad: Arc<Mutex<Pad>>) -> Self {
        Self {
            pad,
            conn: Arc::new(tokio::sync::OnceCell::new()),
            capture: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    async fn authorize(
        &self,
        conn: &Connection,
        header: &Header<'_>,
        role: Role,
    ) -> Result<ClientIdentity, Pad1Error> {
        let _ = self.conn.set(conn.clone());
        let sender = header
            .sender()
            .ok_or_else(|| Pad1Error::AccessDenied("message without sender".into()))?;
        let dbus = zbus::fdo::DBusProxy::new(conn).await?;
        let uid = dbus
            .get_connection_credentials(BusName::Unique(sender.to_owned()))
            .await
            .map_err(|e| Pad1Error::AccessDenied(format!("cannot identify caller: {e}")))?
            .unix_user_id()
            .ok_or_else(|| Pad1Error::AccessDenied("caller UID unknown".into()))?;
        let allowed = {
            let pad = self.lock()?;
            let a = &pad.config().access;
            match role {
                Role::Host => a.host_uids.contains(&uid),
                Role::Ui => a.ui_uids.contains(&uid),
                Role::Admin => a.admin_uids.contains(&uid),
            }
        };
        if !allowed {
            tracing::warn!(uid, ?role, "refused D-Bus caller");
            return Err(Pad1Error::AccessDenied(format!(
                "UID {uid} may not do this (access.{}_uids)",
                match role {
                    Role::Host => "host",
                    Role::Ui => "ui",
                    Role::Admin => "admin",
                }
            )));
        }
        Ok(ClientIdentity {
            uid,
            bus_name: sender.to_string(),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Pad>, Pad1Error> {
        self.pad
            .lock()
            .map_err(|_| Pad1Error::Internal("engine lock poisoned".into()))
    }

    /// Runs `f` on the engine in a blocking thread, then emits changes.
    async fn run<T: Send + 'static>(
        &self,
        emitter: &SignalEmitter<'_>,
        f: impl FnOnce(&mut Pad) -> Result<T, PadError> + Send + 'static,
    ) -> Result<T, Pad1Error> {
        let pad = Arc::clone(&self.pad);
        let (before, out) = tokio::task::spawn_blocking(move || {
            let mut guard = pad
                .lock()
                .map_err(|_| Pad1Error::Internal("engine lock poisoned".into()))?;
            let before = guard.snapshot();
            let out = f(&mut guard).map_err(Pad1Error::from);
            Ok::<_, Pad1Error>((before, out))
        })
        .await
        .map_err(|e| Pad1Error::Internal(format!("worker failed: {e}")))??;
        self.emit_changes(emitter, before).await;
        out
    }

    async fn emit_changes(
        &self,
        emitter: &SignalEmitter<'_>,
        before: (Option<SessionId>, StateName),
    ) {
        let after = match self.lock() {
            Ok(p) => p.snapshot(),
            Err(_) => return,
        };
        if after != before {
            let id = after.0.map(|i| i.to_string()).unwrap_or_default();
            let _ = Self::session_state_changed(emitter, &id, after.1.as_str()).await;
            let _ = self.state_changed(emitter).await;
            let _ = self.active_session_changed(emitter).await;
        }
    }

    async fn stop_capture(&self) {
        if let Some(task) = self.capture.lock().await.take() {
            task.abort();
        }
    }

    async fn start_capture(
        &self,
        id: SessionId,
        emitter: SignalEmitter<'static>,
    ) -> Result<(), Pad1Error> {
        self.stop_capture().await;
        let conn = self
            .conn
            .get()
            .cloned()
            .ok_or_else(|| Pad1Error::Internal("no connection".into()))?;
        let mut stream = crate::capture::open(&conn)
            .await
            .map_err(|e| Pad1Error::InputUnavailable(e.to_string()))?;
        let this = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let batch = match stream.next_batch().await {
                    Ok(Some(b)) => b,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "sample stream failed");
                        break;
                    }
                };
                let pad = Arc::clone(&this.pad);
                let caps = stream.capabilities.clone();
                let before = this.lock().map(|p| p.snapshot()).ok();
                let kept = tokio::task::spawn_blocking(move || {
                    pad.lock().ok().map(|mut p| p.ink(id, &caps, &batch))
                })
                .await;
                if let Some(before) = before {
                    this.emit_changes(&emitter, before).await;
                }
                let _ = this.ink_samples_changed(&emitter).await;
                if !matches!(kept, Ok(Some(Ok(true)))) {
                    break;
                }
            }
        });
        *self.capture.lock().await = Some(task);
        Ok(())
    }
}

#[zbus::interface(name = "org.signpad.Pad1")]
impl Pad1 {
    /// Queues a session: document digest (`sha256`/`sha384`/`sha512`),
    /// title, page PNGs, document class, extra factors, signer hint (enrolled
    /// id or ""), SHA-256 of a one-time code (or empty). Returns the id.
    #[allow(clippy::too_many_arguments)]
    async fn create_session(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        digest_algorithm: String,
        digest: Vec<u8>,
        title: String,
        pages: Vec<Vec<u8>>,
        class: String,
        factors: Vec<String>,
        signer_hint: String,
        one_time_code_hash: Vec<u8>,
    ) -> Result<String, Pad1Error> {
        let client = self.authorize(conn, &header, Role::Host).await?;
        let req = CreateRequest {
            digest_algorithm,
            digest,
            title,
            pages,
            class,
            factors,
            signer_hint,
            one_time_code_hash,
        };
        self.run(&emitter, move |p| p.create_session(req, client))
            .await
            .map(|id| id.to_string())
    }

    async fn cancel(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
    ) -> Result<(), Pad1Error> {
        let client = self.authorize(conn, &header, Role::Host).await?;
        let id = parse_id(&session)?;
        self.stop_capture().await;
        self.run(&emitter, move |p| p.cancel(id, client.uid)).await
    }

    /// State of a session (`queued`, …, `completed`, `failed`, …).
    async fn session_state(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        session: String,
    ) -> Result<String, Pad1Error> {
        self.authorize(conn, &header, Role::Host).await?;
        let id = parse_id(&session)?;
        let state = self.lock()?.state_of(id);
        state
            .map(|s| s.name().as_str().to_owned())
            .ok_or_else(|| Pad1Error::UnknownSession(format!("session {id} is not known")))
    }

    async fn get_page(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
        index: u32,
    ) -> Result<Vec<u8>, Pad1Error> {
        self.authorize(conn, &header, Role::Ui).await?;
        let id = parse_id(&session)?;
        self.run(&emitter, move |p| p.page(id, index as usize))
            .await
    }

    /// The UI displayed page `index`; `digest` is the SHA-256 of the image
    /// it displayed.
    async fn page_shown(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
        index: u32,
        digest: Vec<u8>,
    ) -> Result<(), Pad1Error> {
        self.authorize(conn, &header, Role::Ui).await?;
        let id = parse_id(&session)?;
        self.run(&emitter, move |p| p.page_shown(id, index as usize, &digest))
            .await
    }

    async fn submit_pin(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
        pin: Vec<u8>,
    ) -> Result<(), Pad1Error> {
        let pin = Zeroizing::new(pin);
        self.authorize(conn, &header, Role::Ui).await?;
        let id = parse_id(&session)?;
        self.run(&emitter, move |p| p.submit_pin(id, &pin)).await
    }

    async fn submit_one_time_code(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
        code: Vec<u8>,
    ) -> Result<(), Pad1Error> {
        let code = Zeroizing::new(code);
        self.authorize(conn, &header, Role::Ui).await?;
        let id = parse_id(&session)?;
        self.run(&emitter, move |p| p.submit_one_time_code(id, &code))
            .await
    }

    async fn submit_totp(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
        code: String,
    ) -> Result<(), Pad1Error> {
        let code = Zeroizing::new(code);
        self.authorize(conn, &header, Role::Ui).await?;
        let id = parse_id(&session)?;
        self.run(&emitter, move |p| p.submit_totp(id, &code)).await
    }

    /// Asks fprintd to verify the signer's finger.
    async fn verify_fingerprint(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
    ) -> Result<(), Pad1Error> {
        self.authorize(conn, &header, Role::Ui).await?;
        let id = parse_id(&session)?;
        let (user, timeout) = {
            let mut pad = self.lock()?;
            let t = pad.config().auth.fingerprint_timeout_secs;
            (pad.fprint_user(id).map_err(Pad1Error::from)?, t)
        };
        let matched =
            match crate::auth::fprint::verify(conn, &user, Duration::from_secs(timeout)).await {
                Ok(r) => Ok(r == crate::auth::fprint::FingerResult::Match),
                Err(e) => Err(e.to_string()),
            };
        self.run(&emitter, move |p| p.fingerprint_result(id, matched))
            .await
    }

    /// authenticating → signing; opens the pen stream.
    async fn start_signing(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
    ) -> Result<(), Pad1Error> {
        self.authorize(conn, &header, Role::Ui).await?;
        let id = parse_id(&session)?;
        self.run(&emitter, move |p| p.start_signing(id)).await?;
        self.start_capture(id, emitter.to_owned()).await
    }

    /// signing → confirming; the pen stream is closed.
    async fn stop_signing(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
    ) -> Result<(), Pad1Error> {
        self.authorize(conn, &header, Role::Ui).await?;
        let id = parse_id(&session)?;
        self.run(&emitter, move |p| p.stop_signing(id)).await?;
        self.stop_capture().await;
        Ok(())
    }

    /// Discards the ink; the signer writes again.
    async fn clear(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
    ) -> Result<(), Pad1Error> {
        self.authorize(conn, &header, Role::Ui).await?;
        let id = parse_id(&session)?;
        self.stop_capture().await;
        self.run(&emitter, move |p| p.clear(id)).await?;
        self.start_capture(id, emitter.to_owned()).await
    }

    /// confirming → sealing → completed (or failed).
    async fn confirm(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
    ) -> Result<(), Pad1Error> {
        self.authorize(conn, &header, Role::Ui).await?;
        let id = parse_id(&session)?;
        self.stop_capture().await;
        self.run(&emitter, move |p| p.confirm(id)).await
    }

    /// (package DER, signature PNG) of a completed session; deleted from the
    /// pad once fetched.
    async fn get_package(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        session: String,
    ) -> Result<(Vec<u8>, Vec<u8>), Pad1Error> {
        let client = self.authorize(conn, &header, Role::Host).await?;
        let id = parse_id(&session)?;
        self.run(&emitter, move |p| p.take_package(id, client.uid))
            .await
    }

    /// Enrols a signer (PIN and TOTP secret may be empty: not enrolled).
    #[allow(clippy::too_many_arguments)]
    async fn enrol_signer(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        id: String,
        display_name: String,
        pin: Vec<u8>,
        totp_secret: Vec<u8>,
        fprint_user: String,
    ) -> Result<(), Pad1Error> {
        let pin = Zeroizing::new(pin);
        let totp_secret = Zeroizing::new(totp_secret);
        let client = self.authorize(conn, &header, Role::Admin).await?;
        let e = Enrolment {
            id,
            display_name,
            pin: (!pin.is_empty()).then(|| pin.clone()),
            totp_secret: (!totp_secret.is_empty()).then(|| totp_secret.clone()),
            fprint_user: (!fprint_user.is_empty()).then_some(fprint_user),
        };
        self.run(&emitter, move |p| p.enrol(e, client.uid)).await
    }

    /// Signers as JSON (no credentials).
    async fn list_signers(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String, Pad1Error> {
        self.authorize(conn, &header, Role::Admin).await?;
        let list = self.lock()?.list_signers();
        serde_json::to_string(&list).map_err(|e| Pad1Error::Internal(e.to_string()))
    }

    /// One signer's own data as JSON (privacy request).
    async fn export_signer(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        id: String,
    ) -> Result<String, Pad1Error> {
        let client = self.authorize(conn, &header, Role::Admin).await?;
        self.run(&emitter, move |p| p.export_signer(&id, client.uid))
            .await
    }

    /// Removes everything stored about a signer.
    async fn erase_signer(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        id: String,
    ) -> Result<(), Pad1Error> {
        let client = self.authorize(conn, &header, Role::Admin).await?;
        self.run(&emitter, move |p| p.erase_signer(&id, client.uid))
            .await
    }

    /// Unlocks a signer ("" = the pad).
    async fn unlock(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        signer: String,
    ) -> Result<(), Pad1Error> {
        let client = self.authorize(conn, &header, Role::Admin).await?;
        self.run(&emitter, move |p| {
            p.unlock((!signer.is_empty()).then_some(signer.as_str()), client.uid)
        })
        .await
    }

    /// State of the active session ("" when idle).
    #[zbus(property, name = "State")]
    async fn state_prop(&self) -> String {
        match self.lock() {
            Ok(p) => match p.snapshot() {
                (Some(_), s) => s.as_str().to_owned(),
                (None, _) => String::new(),
            },
            Err(_) => String::new(),
        }
    }

    /// Id of the active session ("" when idle).
    #[zbus(property)]
    async fn active_session(&self) -> String {
        self.lock()
            .ok()
            .and_then(|p| p.snapshot().0)
            .map(|i| i.to_string())
            .unwrap_or_default()
    }

    /// Whether packages are made in training mode.
    #[zbus(property)]
    async fn training(&self) -> bool {
        self.lock().map(|p| p.training()).unwrap_or(false)
    }

    /// Samples captured for the active signature so far.
    #[zbus(property)]
    async fn ink_samples(&self) -> u32 {
        self.lock()
            .map(|p| u32::try_from(p.ink_samples()).unwrap_or(u32::MAX))
            .unwrap_or(0)
    }

    /// A session changed state.
    #[zbus(signal)]
    async fn session_state_changed(
        emitter: &SignalEmitter<'_>,
        session: &str,
        state: &str,
    ) -> zbus::Result<()>;
}

/// Serves `Pad1` on `conn` and runs the timer (expiry, retention, audit
/// checkpoints) until the connection closes.
pub async fn serve(
    conn: &Connection,
    pad: Arc<Mutex<Pad>>,
) -> zbus::Result<tokio::task::JoinHandle<()>> {
    let service = Pad1::new(Arc::clone(&pad));
    let _ = service.conn.set(conn.clone());
    conn.object_server().at(OBJECT_PATH, service).await?;
    conn.request_name(BUS_NAME).await?;
    let iface = conn
        .object_server()
        .interface::<_, Pad1>(OBJECT_PATH)
        .await?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let emitter = iface.signal_emitter().clone();
            let svc = iface.get().await.clone();
            let _ = svc
                .run(&emitter, |p| {
                    p.tick()?;
                    p.audit_tick()
                })
                .await
                .map_err(|e| tracing::warn!(error = %e, "timer"));
        }
    }))
}
