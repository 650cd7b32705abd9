//! `/v1/sessions`: signing ceremonies for host applications.
//!
//! A host sees only the sessions it created (same certificate issuer and
//! serial); anything else is answered 404, as if it did not exist.
//! `Idempotency-Key` on create makes retries safe: the same key with the
//! same body returns the first session (200), the same key with another body
//! is refused (422), never a second ceremony.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use signpad_types::{DigestAlgorithm, DocumentDigest, SessionId};

use super::{ApiError, AppState, IdempotencyTable, IDEMPOTENCY_TTL};
use crate::backend::{NewSession, SessionStatus};
use crate::identity::ClientIdentity;

/// Most pages one session may carry.
pub const MAX_PAGES: usize = 200;
/// Longest title in characters.
pub const MAX_TITLE: usize = 200;
/// Longest `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Sessions whose owner netd remembers (oldest forgotten first); far more
/// than signpadd keeps finished sessions for.
pub const OWNERS_KEPT: usize = 4096;

/// Idempotency records kept (besides the 24 h limit), oldest dropped first.
pub const IDEMPOTENCY_KEPT: usize = 4096;

/// Owner of each session, with insertion order for pruning.
#[derive(Debug, Default)]
struct Owners {
    by_session: HashMap<SessionId, String>,
    order: std::collections::VecDeque<SessionId>,
}

/// Which sessions belong to whom, and the idempotency records.
#[derive(Debug, Default)]
pub struct SessionBook {
    owners: std::sync::Mutex<Owners>,
    idempotency: tokio::sync::Mutex<IdempotencyTable>,
}

fn owner_key(id: &ClientIdentity) -> String {
    format!("{}|{}", id.issuer, id.serial)
}

impl SessionBook {
    fn record(&self, session: SessionId, owner: &ClientIdentity) {
        if let Ok(mut m) = self.owners.lock() {
            while m.order.len() >= OWNERS_KEPT {
                if let Some(old) = m.order.pop_front() {
                    m.by_session.remove(&old);
                }
            }
            m.order.push_back(session);
            m.by_session.insert(session, owner_key(owner));
        }
    }

    /// The session if `who` owns it, else 404.
    fn check(&self, id: &str, who: &ClientIdentity) -> Result<SessionId, ApiError> {
        let not_found = || {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_session",
                format!("no session {id} created by this client"),
            )
        };
        let sid = SessionId::parse(id).map_err(|_| not_found())?;
        let owned = self
            .owners
            .lock()
            .map(|m| m.by_session.get(&sid) == Some(&owner_key(who)))
            .unwrap_or(false);
        if owned {
            Ok(sid)
        } else {
            Err(not_found())
        }
    }
}

/// Policy of a session: the document class and extra factors.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    /// Document class, naming a policy in the pad's config.
    #[serde(default = "default_class")]
    pub class: String,
    /// Factors asked for on top of the pad's and the class's minimum:
    /// `pin`, `one-time-code`, `totp`, `fingerprint`, `signature-dynamics`.
    #[serde(default)]
    pub factors: Vec<String>,
}

fn default_class() -> String {
    "default".into()
}

impl Default for PolicyRequest {
    fn default() -> Self {
        Self {
            class: default_class(),
            factors: Vec::new(),
        }
    }
}

/// Digest algorithm of the document digest.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DigestName {
    Sha256,
    Sha384,
    Sha512,
}

impl From<DigestName> for DigestAlgorithm {
    fn from(d: DigestName) -> Self {
        match d {
            DigestName::Sha256 => Self::Sha256,
            DigestName::Sha384 => Self::Sha384,
            DigestName::Sha512 => Self::Sha512,
        }
    }
}

/// `POST /v1/sessions` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    pub digest_algorithm: DigestName,
    /// Hex digest of the document to be signed (64, 96 or 128 hex digits,
    /// matching `digest_algorithm`).
    #[schema(pattern = "^([0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})$")]
    pub document_digest: String,
    /// Shown to the signer; 1 to 200 characters, not only blanks.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    /// The pages to show, each a base64 PNG image, in order (1 to 200).
    #[schema(min_items = 1, max_items = 200, inline)]
    pub pages: Vec<PageImage>,
    #[serde(default)]
    pub policy: PolicyRequest,
    /// Enrolled signer id the host expects.
    #[serde(default)]
    pub signer_hint: Option<String>,
    /// Hex SHA-256 of a one-time code sent to the signer out of band.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub one_time_code_hash: Option<String>,
}

/// A base64 (standard alphabet, padded) PNG image.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Byte, pattern = "^iVBORw0KGgo")]
pub struct PageImage(pub String);

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
        format!("{field}: {}", message.into()),
    )
}

impl CreateSession {
    fn validate(self, client: ClientIdentity) -> Result<NewSession, ApiError> {
        let algorithm = DigestAlgorithm::from(self.digest_algorithm);
        let document = DocumentDigest::from_hex(algorithm, &self.document_digest)
            .map_err(|e| invalid("document_digest", e.to_string()))?;
        if self.title.trim().is_empty() || self.title.chars().count() > MAX_TITLE {
            return Err(invalid("title", format!("1 to {MAX_TITLE} characters")));
        }
        if self.pages.is_empty() || self.pages.len() > MAX_PAGES {
            return Err(invalid("pages", format!("1 to {MAX_PAGES} pages")));
        }
        let mut pages = Vec::with_capacity(self.pages.len());
        for (i, p) in self.pages.iter().enumerate() {
            let png = base64::engine::general_purpose::STANDARD
                .decode(&p.0)
                .map_err(|e| invalid(&format!("pages[{i}]"), format!("not base64: {e}")))?;
            if !png.starts_with(PNG_MAGIC) {
                return Err(invalid(&format!("pages[{i}]"), "not a PNG image"));
            }
            pages.push(png);
        }
        let one_time_code_hash = match &self.one_time_code_hash {
            None => None,
            Some(h) => {
                let bytes =
                    hex::decode(h).map_err(|e| invalid("one_time_code_hash", e.to_string()))?;
                Some(
                    <[u8; 32]>::try_from(bytes.as_slice())
                        .map_err(|_| invalid("one_time_code_hash", "must be 32 bytes (SHA-256)"))?,
                )
            }
        };
        Ok(NewSession {
            document,
            title: self.title,
            pages,
            class: self.policy.class,
            factors: self.policy.factors,
            signer_hint: self.signer_hint,
            one_time_code_hash,
            client,
        })
    }
}

/// Creates a signing session.
#[utoipa::path(
    post, path = "/v1/sessions", tag = "sessions",
    request_body = CreateSession,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body return the same session")),
    responses(
        (status = 201, description = "Session created", body = SessionStatus),
        (status = 200, description = "Replay of an earlier create with the same Idempotency-Key", body = SessionStatus),
        (status = 403, description = "Not a host, or policy refused", body = super::ErrorBody),
        (status = 413, description = "Body larger than limits.max_body_bytes"),
        (status = 422, description = "Invalid field, or Idempotency-Key reused with another body", body = super::ErrorBody),
        (status = 503, description = "Session daemon unavailable or queue full", body = super::ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request: CreateSession =
        serde_json::from_slice(&body).map_err(|e| invalid("body", e.to_string()))?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY)
                .ok_or_else(|| {
                    invalid(
                        "Idempotency-Key",
                        format!("1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
                    )
                })?;
            Some(k.to_owned())
        }
    };
    let new = request.validate(client.clone())?;
    let body_digest: [u8; 32] = Sha256::digest(&body).into();

    // Held across the backend call: two concurrent retries of one key
    // cannot both create a session.
    let mut table = match &key {
        Some(_) => Some(state.sessions.idempotency.lock().await),
        None => None,
    };
    let table_key = key.map(|k| (owner_key(&client), k));
    if let (Some(t), Some(k)) = (table.as_mut(), table_key.as_ref()) {
        let now = Instant::now();
        t.retain(|_, (_, _, at)| now.duration_since(*at) < IDEMPOTENCY_TTL);
        if let Some((digest, id, _)) = t.get(k) {
            if *digest != body_digest {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request body",
                ));
            }
            let status = state.backend.status(*id).await?;
            return Ok((StatusCode::OK, Json(status)).into_response());
        }
    }
    tracing::info!(client = %client.label(), document = %new.document, pages = new.pages.len(), "create session");
    let id = state.backend.create(new).await?;
    state.sessions.record(id, &client);
    if let (Some(t), Some(k)) = (table.as_mut(), table_key) {
        while t.len() >= IDEMPOTENCY_KEPT {
            let oldest = t
                .iter()
                .min_by_key(|(_, (_, _, at))| *at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(o) => t.remove(&o),
                None => break,
            };
        }
        t.insert(k, (body_digest, id, Instant::now()));
    }
    drop(table);
    let status = state.backend.status(id).await?;
    let mut response = (StatusCode::CREATED, Json(status)).into_response();
    if let Ok(v) = format!("/v1/sessions/{id}").parse() {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// The state of a session.
#[utoipa::path(
    get, path = "/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, body = SessionStatus), (status = 404, body = super::ErrorBody))
)]
pub async fn status(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
    Path(id): Path<String>,
) -> Result<Json<SessionStatus>, ApiError> {
    let id = state.sessions.check(&id, &client)?;
    Ok(Json(state.backend.status(id).await?))
}

/// Server-Sent Events: one `state` event (JSON `SessionStatus`) per change,
/// the current state first; the stream ends after a terminal state.
#[utoipa::path(
    get, path = "/v1/sessions/{id}/events", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "text/event-stream of `state` events", content_type = "text/event-stream", body = SessionStatus),
        (status = 404, body = super::ErrorBody)
    )
)]
pub async fn events(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = state.sessions.check(&id, &client)?;
    let changes = state.backend.watch(id).await?;
    let events = changes.map(|s| {
        Ok(Event::default()
            .event("state")
            .json_data(&s)
            .unwrap_or_else(|_| Event::default().event("state")))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The DER signature package (CMS SignedData) of a completed session.
#[utoipa::path(
    get, path = "/v1/sessions/{id}/package", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, content_type = "application/pkcs7-signature", body = Vec<u8>),
        (status = 404, body = super::ErrorBody),
        (status = 409, description = "Not completed yet", body = super::ErrorBody)
    )
)]
pub async fn package(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = state.sessions.check(&id, &client)?;
    let der = state.backend.package(id).await?;
    Ok(([(header::CONTENT_TYPE, "application/pkcs7-signature")], der).into_response())
}

/// The PNG image of the handwritten signature of a completed session.
#[utoipa::path(
    get, path = "/v1/sessions/{id}/signature-image", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, content_type = "image/png", body = Vec<u8>),
        (status = 404, body = super::ErrorBody),
        (status = 409, description = "Not completed yet", body = super::ErrorBody)
    )
)]
pub async fn signature_image(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = state.sessions.check(&id, &client)?;
    let png = state.backend.signature_image(id).await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// Cancels a queued or active session.
#[utoipa::path(
    delete, path = "/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = SessionStatus),
        (status = 404, body = super::ErrorBody),
        (status = 409, description = "Already finished", body = super::ErrorBody)
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
    Path(id): Path<String>,
) -> Result<Json<SessionStatus>, ApiError> {
    let id = state.sessions.check(&id, &client)?;
    tracing::info!(client = %client.label(), session = %id, "cancel session");
    state
        .backend
        .cancel(id, "cancelled by the host application".into(), client)
        .await?;
    Ok(Json(state.backend.status(id).await?))
}
