//! The session daemon behind the API: the [`PadBackend`] trait and its
//! production implementation [`DbusPad`], a client of signpadd's
//! `org.signpad.Pad1`.
//!
//! netd never runs ceremonies or builds packages itself: every session
//! operation is forwarded, and every package it returns came from signpadd.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde::Serialize;
use signpad_types::{DocumentDigest, SessionId};

use crate::identity::ClientIdentity;

/// A validated request for a new ceremony.
#[derive(Clone)]
pub struct NewSession {
    pub document: DocumentDigest,
    pub title: String,
    /// PNG images of the pages, in order.
    pub pages: Vec<Vec<u8>>,
    /// Document class (names a policy in signpadd's config).
    pub class: String,
    /// Factors asked for on top of the pad's and the class's minimum.
    pub factors: Vec<String>,
    pub signer_hint: Option<String>,
    /// SHA-256 of a one-time code sent to the signer out of band.
    pub one_time_code_hash: Option<[u8; 32]>,
    /// Who asked (from the client certificate).
    pub client: ClientIdentity,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the page images or the title (document content).
        f.debug_struct("NewSession")
            .field("document", &self.document)
            .field("pages", &self.pages.len())
            .field("class", &self.class)
            .field("factors", &self.factors)
            .field("client", &self.client.label())
            .finish_non_exhaustive()
    }
}

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SessionStatus {
    #[schema(value_type = String, format = Uuid)]
    pub id: String,
    /// `queued`, `reviewing`, `authenticating`, `signing`, `confirming`,
    /// `sealing`, `completed`, `cancelled`, `failed` or `expired`.
    pub state: String,
    /// Why a session was cancelled, failed or expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl SessionStatus {
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.state.as_str(),
            "completed" | "cancelled" | "failed" | "expired"
        )
    }
}

/// Facts about the pad for `/v1/device`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeviceInfo {
    /// Version of signpad-netd.
    pub netd_version: String,
    /// Whether packages are made as non-binding training packages.
    pub training_mode: bool,
    /// State of the active ceremony ("" when idle).
    pub pad_state: String,
    /// Id of the active session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_session: Option<String>,
}

/// Refusals and faults of the backend, mapped to HTTP statuses by the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("session daemon unavailable: {0}")]
    Unavailable(String),
    #[error("session {0} is not known")]
    UnknownSession(String),
    #[error("not available yet: {0}")]
    NotReady(String),
    #[error("refused by policy: {0}")]
    PolicyDenied(String),
    #[error("the pad is busy: {0}")]
    Busy(String),
    #[error("the pad is locked")]
    Locked,
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("not supported by the session daemon: {0}")]
    Unsupported(String),
}

/// Everything netd asks of the session daemon.
pub trait PadBackend: Send + Sync + fmt::Debug + 'static {
    fn create(&self, session: NewSession) -> BoxFuture<'_, Result<SessionId, BackendError>>;
    fn status(&self, id: SessionId) -> BoxFuture<'_, Result<SessionStatus, BackendError>>;
    /// State changes of `id` from now on, starting with the current state;
    /// ends after a terminal state.
    fn watch(
        &self,
        id: SessionId,
    ) -> BoxFuture<'_, Result<BoxStream<'static, SessionStatus>, BackendError>>;
    /// The DER signature package of a completed session.
    fn package(&self, id: SessionId) -> BoxFuture<'_, Result<Vec<u8>, BackendError>>;
    /// The PNG of the handwritten signature of a completed session.
    fn signature_image(&self, id: SessionId) -> BoxFuture<'_, Result<Vec<u8>, BackendError>>;
    fn cancel(
        &self,
        id: SessionId,
        reason: String,
        by: ClientIdentity,
    ) -> BoxFuture<'_, Result<(), BackendError>>;
    fn device(&self) -> BoxFuture<'_, Result<DeviceInfo, BackendError>>;
    fn set_training_mode(
        &self,
        on: bool,
        by: ClientIdentity,
    ) -> BoxFuture<'_, Result<(), BackendError>>;
    fn set_locked(
        &self,
        locked: bool,
        by: ClientIdentity,
    ) -> BoxFuture<'_, Result<(), BackendError>>;
}

/// signpadd's well-known name and object path.
pub const PAD_BUS_NAME: &str = "org.signpad.Pad1";
pub const PAD_OBJECT_PATH: &str = "/org/signpad/Pad1";

/// Client side of signpadd's `org.signpad.Pad1` (see `signpadd::dbus`).
#[zbus::proxy(
    interface = "org.signpad.Pad1",
    default_service = "org.signpad.Pad1",
    default_path = "/org/signpad/Pad1",
    gen_blocking = false
)]
pub trait Pad1 {
    /// Queues a ceremony; returns the session id.
    #[allow(clippy::too_many_arguments)]
    fn create_session(
        &self,
        digest_algorithm: &str,
        digest: &[u8],
        title: &str,
        pages: &[Vec<u8>],
        class: &str,
        factors: &[String],
        signer_hint: &str,
        one_time_code_hash: &[u8],
    ) -> zbus::Result<String>;
    /// Cancels a queued or active session.
    fn cancel(&self, session: &str) -> zbus::Result<()>;
    /// State name of a session.
    fn session_state(&self, session: &str) -> zbus::Result<String>;
    /// (package DER, signature PNG); signpadd deletes them once fetched.
    fn get_package(&self, session: &str) -> zbus::Result<(Vec<u8>, Vec<u8>)>;
    /// A session changed state.
    #[zbus(signal)]
    fn session_state_changed(&self, session: String, state: String) -> zbus::Result<()>;
    /// State of the active session ("" when idle).
    #[zbus(property, name = "State")]
    fn state(&self) -> zbus::Result<String>;
    /// Id of the active session ("" when idle).
    #[zbus(property)]
    fn active_session(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn training(&self) -> zbus::Result<bool>;
}

/// Package DER and signature PNG of a completed session.
type Finished = (Vec<u8>, Vec<u8>);
/// Recently fetched results, oldest first.
type FetchedResults = VecDeque<(SessionId, Arc<Finished>)>;

/// Fetched results kept for the host (signpadd hands them out once).
const RESULTS_KEPT: usize = 32;

/// The production backend: signpadd over D-Bus.
#[derive(Debug, Clone)]
pub struct DbusPad {
    proxy: Pad1Proxy<'static>,
    results: Arc<Mutex<FetchedResults>>,
}

impl DbusPad {
    /// Connects to signpadd on `bus` (`"system"` or a D-Bus address).
    pub async fn connect(bus: &str) -> Result<Self, BackendError> {
        let conn = crate::key::connect_bus(bus)
            .await
            .map_err(|e| BackendError::Unavailable(format!("bus {bus}: {e}")))?;
        // No property cache: signpadd may start after netd; calls then fail
        // with a named error (503) instead of netd failing to start.
        let proxy = Pad1Proxy::builder(&conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .map_err(|e| BackendError::Unavailable(format!("{PAD_BUS_NAME}: {e}")))?;
        Ok(Self {
            proxy,
            results: Arc::default(),
        })
    }

    /// Package and image of `id`, from signpadd once, then from memory.
    async fn result(&self, id: SessionId) -> Result<Arc<Finished>, BackendError> {
        if let Some(r) = self.cached(id) {
            return Ok(r);
        }
        let fetched = Arc::new(
            self.proxy
                .get_package(&id.to_string())
                .await
                .map_err(map_err)?,
        );
        if let Ok(mut m) = self.results.lock() {
            if m.len() >= RESULTS_KEPT {
                m.pop_front();
            }
            m.push_back((id, Arc::clone(&fetched)));
        }
        Ok(fetched)
    }

    fn cached(&self, id: SessionId) -> Option<Arc<Finished>> {
        self.results
            .lock()
            .ok()?
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| Arc::clone(r))
    }
}

fn map_err(e: zbus::Error) -> BackendError {
    if let zbus::Error::MethodError(name, detail, _) = &e {
        let detail = detail.clone().unwrap_or_default();
        return match name.as_str() {
            "org.signpad.Error.UnknownSession" => BackendError::UnknownSession(detail),
            "org.signpad.Error.NoPackage" => BackendError::NotReady(detail),
            "org.signpad.Error.PolicyDenied" | "org.signpad.Error.AccessDenied" => {
                BackendError::PolicyDenied(detail)
            }
            "org.signpad.Error.Busy" | "org.signpad.Error.TryLater" => BackendError::Busy(detail),
            "org.signpad.Error.LockedOut" => BackendError::Locked,
            "org.signpad.Error.BadRequest" | "org.signpad.Error.TooLarge" => {
                BackendError::Invalid(detail)
            }
            "org.signpad.Error.IllegalState" | "org.signpad.Error.NotActive" => {
                BackendError::Conflict(detail)
            }
            _ => BackendError::Unavailable(format!("{name}: {detail}")),
        };
    }
    BackendError::Unavailable(e.to_string())
}

impl PadBackend for DbusPad {
    fn create(&self, s: NewSession) -> BoxFuture<'_, Result<SessionId, BackendError>> {
        Box::pin(async move {
            tracing::debug!(session = ?s, "CreateSession");
            let id = self
                .proxy
                .create_session(
                    s.document.algorithm().name(),
                    s.document.as_bytes(),
                    &s.title,
                    &s.pages,
                    &s.class,
                    &s.factors,
                    s.signer_hint.as_deref().unwrap_or(""),
                    s.one_time_code_hash.as_ref().map_or(&[][..], |h| &h[..]),
                )
                .await
                .map_err(map_err)?;
            SessionId::parse(&id)
                .map_err(|e| BackendError::Unavailable(format!("bad session id {id:?}: {e}")))
        })
    }

    fn status(&self, id: SessionId) -> BoxFuture<'_, Result<SessionStatus, BackendError>> {
        Box::pin(async move {
            let state = self
                .proxy
                .session_state(&id.to_string())
                .await
                .map_err(map_err)?;
            Ok(SessionStatus {
                id: id.to_string(),
                state,
                reason: None,
            })
        })
    }

    fn watch(
        &self,
        id: SessionId,
    ) -> BoxFuture<'_, Result<BoxStream<'static, SessionStatus>, BackendError>> {
        Box::pin(async move {
            // Subscribe first, then read the state, so no change is lost.
            let signals = self
                .proxy
                .receive_session_state_changed()
                .await
                .map_err(map_err)?;
            let first = self.status(id).await?;
            let wanted = id.to_string();
            let this = self.clone();
            // signpadd signals the active session's changes; a queued session
            // that is cancelled or expires is polled for.
            let changes = signals.filter_map(move |sig| {
                let wanted = wanted.clone();
                async move {
                    let args = sig.args().ok()?;
                    (args.session == wanted).then(|| SessionStatus {
                        id: args.session.clone(),
                        state: args.state.clone(),
                        reason: None,
                    })
                }
            });
            let polled = futures_util::stream::unfold(this, move |this| async move {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                let st = this.status(id).await.ok()?;
                Some((st, this))
            });
            let merged = futures_util::stream::select(changes, polled);
            let deduped = futures_util::stream::iter([first])
                .chain(merged)
                .scan(None::<String>, |last, st| {
                    let same = last.as_deref() == Some(st.state.as_str());
                    *last = Some(st.state.clone());
                    futures_util::future::ready(Some((!same).then_some(st)))
                })
                .filter_map(futures_util::future::ready);
            Ok(until_terminal(deduped))
        })
    }

    fn package(&self, id: SessionId) -> BoxFuture<'_, Result<Vec<u8>, BackendError>> {
        Box::pin(async move { Ok(self.result(id).await?.0.clone()) })
    }

    fn signature_image(&self, id: SessionId) -> BoxFuture<'_, Result<Vec<u8>, BackendError>> {
        Box::pin(async move { Ok(self.result(id).await?.1.clone()) })
    }

    fn cancel(
        &self,
        id: SessionId,
        _reason: String,
        _by: ClientIdentity,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move { self.proxy.cancel(&id.to_string()).await.map_err(map_err) })
    }

    fn device(&self) -> BoxFuture<'_, Result<DeviceInfo, BackendError>> {
        Box::pin(async move {
            let active = self.proxy.active_session().await.map_err(map_err)?;
            Ok(DeviceInfo {
                netd_version: env!("CARGO_PKG_VERSION").to_owned(),
                training_mode: self.proxy.training().await.map_err(map_err)?,
                pad_state: self.proxy.state().await.map_err(map_err)?,
                active_session: (!active.is_empty()).then_some(active),
            })
        })
    }

    fn set_training_mode(
        &self,
        _on: bool,
        _by: ClientIdentity,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async {
            Err(BackendError::Unsupported(
                "org.signpad.Pad1 has no method to switch training mode yet (it is set in signpadd.toml)".into(),
            ))
        })
    }

    fn set_locked(
        &self,
        _locked: bool,
        _by: ClientIdentity,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async {
            Err(BackendError::Unsupported(
                "org.signpad.Pad1 has no pad lock method yet".into(),
            ))
        })
    }
}

/// Passes items up to and including the first terminal state.
pub fn until_terminal(
    s: impl futures_util::Stream<Item = SessionStatus> + Send + 'static,
) -> BoxStream<'static, SessionStatus> {
    futures_util::stream::unfold((s.boxed(), false), |(mut s, done)| async move {
        if done {
            return None;
        }
        let st = s.next().await?;
        let terminal = st.is_terminal();
        Some((st, (s, terminal)))
    })
    .boxed()
}
