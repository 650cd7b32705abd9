//! The HTTP API: routes, the role each route requires, errors, and the
//! request-wide layers (rate limit, metrics, body limit).
//!
//! | route | roles |
//! |---|---|
//! | `POST /v1/sessions`, `GET/DELETE /v1/sessions/{id}`, `GET /v1/sessions/{id}/events`, `…/package`, `…/signature-image` | host |
//! | `GET /v1/health`, `GET /v1/whoami`, `GET /v1/openapi.json` | host, admin, auditor |
//! | `GET /metrics`, `GET /v1/device`, `POST /v1/attestation/quote` | admin, auditor |
//! | `PUT /v1/crl`, `POST /v1/crl/reload`, `PUT /v1/training-mode`, `POST /v1/lock`, `POST /v1/unlock` | admin |

pub mod management;
pub mod openapi;
pub mod roles;
pub mod sessions;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Serialize;

use crate::backend::{BackendError, PadBackend};
use crate::identity::{ClientIdentity, Role};
use crate::limits::RateLimiter;
use crate::metrics::Metrics;
use crate::tls::TlsState;
use roles::RequireRole;

pub const HOST: &[Role] = &[Role::Host];
pub const ADMIN: &[Role] = &[Role::Admin];
pub const READERS: &[Role] = &[Role::Admin, Role::Auditor];
pub const ANY: &[Role] = &[Role::Host, Role::Admin, Role::Auditor];

/// Shared state of all handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    pub backend: Arc<dyn PadBackend>,
    pub tls: Arc<TlsState>,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<RateLimiter>,
    pub sessions: Arc<sessions::SessionBook>,
    pub keyd: Arc<crate::key::KeydAccess>,
    pub started: Instant,
}

impl AppState {
    pub fn new(
        backend: Arc<dyn PadBackend>,
        tls: Arc<TlsState>,
        metrics: Arc<Metrics>,
        requests_per_second: u32,
        keyd_bus: &str,
    ) -> Self {
        Self {
            backend,
            tls,
            metrics,
            limiter: Arc::new(RateLimiter::new(requests_per_second)),
            sessions: Arc::new(sessions::SessionBook::default()),
            keyd: Arc::new(crate::key::KeydAccess::new(keyd_bus)),
            started: Instant::now(),
        }
    }
}

/// The whole API. Every route declares its roles; anything else is 404.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route(
            "/v1/sessions",
            post(sessions::create).route_layer(RequireRole(HOST)),
        )
        .route(
            "/v1/sessions/{id}",
            get(sessions::status)
                .delete(sessions::cancel)
                .route_layer(RequireRole(HOST)),
        )
        .route(
            "/v1/sessions/{id}/events",
            get(sessions::events).route_layer(RequireRole(HOST)),
        )
        .route(
            "/v1/sessions/{id}/package",
            get(sessions::package).route_layer(RequireRole(HOST)),
        )
        .route(
            "/v1/sessions/{id}/signature-image",
            get(sessions::signature_image).route_layer(RequireRole(HOST)),
        )
        .route(
            "/v1/health",
            get(management::health).route_layer(RequireRole(ANY)),
        )
        .route(
            "/v1/whoami",
            get(management::whoami).route_layer(RequireRole(ANY)),
        )
        .route(
            "/v1/openapi.json",
            get(openapi::document).route_layer(RequireRole(ANY)),
        )
        .route(
            "/metrics",
            get(management::metrics).route_layer(RequireRole(READERS)),
        )
        .route(
            "/v1/device",
            get(management::device).route_layer(RequireRole(READERS)),
        )
        .route(
            "/v1/attestation/quote",
            post(management::quote).route_layer(RequireRole(READERS)),
        )
        .route(
            "/v1/crl",
            put(management::put_crl).route_layer(RequireRole(ADMIN)),
        )
        .route(
            "/v1/crl/reload",
            post(management::reload_crl).route_layer(RequireRole(ADMIN)),
        )
        .route(
            "/v1/training-mode",
            put(management::training_mode).route_layer(RequireRole(ADMIN)),
        )
        .route(
            "/v1/lock",
            post(management::lock).route_layer(RequireRole(ADMIN)),
        )
        .route(
            "/v1/unlock",
            post(management::unlock).route_layer(RequireRole(ADMIN)),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    state.metrics.request(&route, response.status().as_u16());
    response
}

async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(id) = req.extensions().get::<ClientIdentity>() {
        let key = format!("{}|{}", id.issuer, id.serial);
        if let Err(wait) = state.limiter.check(&key, Instant::now()) {
            tracing::warn!(client = %id.label(), "request rate limit reached");
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("more than the allowed requests per second; retry in {wait} s"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
    }
    next.run(req).await
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code (`wrong_role`, `unknown_session`, …).
    pub error: String,
    /// What went wrong and what to do, for people.
    pub message: String,
}

/// An HTTP error with a JSON body.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: code.to_owned(),
                message: message.into(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        let m = e.to_string();
        let (status, code) = match e {
            BackendError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "backend_unavailable")
            }
            BackendError::UnknownSession(_) => (StatusCode::NOT_FOUND, "unknown_session"),
            BackendError::NotReady(_) => (StatusCode::CONFLICT, "not_ready"),
            BackendError::PolicyDenied(_) => (StatusCode::FORBIDDEN, "policy_denied"),
            BackendError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            BackendError::Locked => (StatusCode::LOCKED, "locked"),
            BackendError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
            BackendError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            BackendError::Unsupported(_) => (StatusCode::NOT_IMPLEMENTED, "not_supported"),
        };
        Self::new(status, code, m)
    }
}

/// Idempotency records older than this are forgotten.
pub const IDEMPOTENCY_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Type of the idempotency table: (client, key) → (request digest, session, when).
pub type IdempotencyTable =
    HashMap<(String, String), ([u8; 32], signpad_types::SessionId, Instant)>;
