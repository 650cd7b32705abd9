//! Management for administrators and auditors: health, metrics, device
//! facts, CRL update, training mode and lock.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::backend::DeviceInfo;
use crate::identity::ClientIdentity;

/// `GET /v1/health` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`: netd is up and the caller passed mutual TLS.
    pub status: String,
    pub uptime_seconds: u64,
}

/// Liveness of netd (cheap: no call to the session daemon; `GET /v1/device`
/// tells whether signpadd answers).
#[utoipa::path(get, path = "/v1/health", tag = "management",
    responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    let uptime_seconds = state.started.elapsed().as_secs();
    Json(Health {
        status: "ok".into(),
        uptime_seconds,
    })
}

/// The identity and roles this connection's certificate gives.
#[utoipa::path(get, path = "/v1/whoami", tag = "management",
    responses((status = 200, body = ClientIdentity)))]
pub async fn whoami(Extension(client): Extension<ClientIdentity>) -> Json<ClientIdentity> {
    Json(client)
}

/// Prometheus text: requests by route and status, handshakes, connections.
#[utoipa::path(get, path = "/metrics", tag = "management",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Device facts from the session daemon.
#[utoipa::path(get, path = "/v1/device", tag = "management",
    responses((status = 200, body = DeviceInfo), (status = 503, body = super::ErrorBody)))]
pub async fn device(State(state): State<AppState>) -> Result<Json<DeviceInfo>, ApiError> {
    Ok(Json(state.backend.device().await?))
}

/// Installs a CRL (PEM or DER body) and applies it to new handshakes at once.
#[utoipa::path(put, path = "/v1/crl", tag = "management",
    request_body(content = Vec<u8>, content_type = "application/pkix-crl"),
    responses((status = 204), (status = 422, body = super::ErrorBody), (status = 409, description = "CRL push not configured", body = super::ErrorBody)))]
pub async fn put_crl(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    if state.tls.settings().crl_push_file.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "crl_push_disabled",
            "tls.crl_push_file is not set in netd.toml",
        ));
    }
    let tls = state.tls.clone();
    let result = tokio::task::spawn_blocking(move || tls.install_crl(&body))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    match result {
        Ok(()) => {
            tracing::info!(client = %client.label(), "CRL installed");
            Ok(StatusCode::NO_CONTENT)
        }
        Err(e) => {
            tracing::warn!(client = %client.label(), error = %e, "CRL refused");
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_crl",
                e.to_string(),
            ))
        }
    }
}

/// Re-reads the CA bundle and CRL files (as SIGHUP does).
#[utoipa::path(post, path = "/v1/crl/reload", tag = "management",
    responses((status = 204), (status = 422, body = super::ErrorBody)))]
pub async fn reload_crl(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
) -> Result<StatusCode, ApiError> {
    let tls = state.tls.clone();
    let result = tokio::task::spawn_blocking(move || tls.reload())
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    result.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reload_failed",
            e.to_string(),
        )
    })?;
    tracing::info!(client = %client.label(), "TLS trust reloaded");
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/training-mode` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingMode {
    pub enabled: bool,
}

/// Turns training mode (non-binding drill ceremonies) on or off.
#[utoipa::path(put, path = "/v1/training-mode", tag = "management",
    request_body = TrainingMode,
    responses((status = 204), (status = 501, description = "Not offered by the session daemon yet", body = super::ErrorBody), (status = 503, body = super::ErrorBody)))]
pub async fn training_mode(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
    Json(mode): Json<TrainingMode>,
) -> Result<StatusCode, ApiError> {
    tracing::info!(client = %client.label(), enabled = mode.enabled, "training mode");
    state
        .backend
        .set_training_mode(mode.enabled, client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Locks the pad: no new ceremonies until unlocked.
#[utoipa::path(post, path = "/v1/lock", tag = "management",
    responses((status = 204), (status = 501, description = "Not offered by the session daemon yet", body = super::ErrorBody), (status = 503, body = super::ErrorBody)))]
pub async fn lock(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
) -> Result<StatusCode, ApiError> {
    tracing::info!(client = %client.label(), "lock");
    state.backend.set_locked(true, client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unlocks the pad.
#[utoipa::path(post, path = "/v1/unlock", tag = "management",
    responses((status = 204), (status = 501, description = "Not offered by the session daemon yet", body = super::ErrorBody), (status = 503, body = super::ErrorBody)))]
pub async fn unlock(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
) -> Result<StatusCode, ApiError> {
    tracing::info!(client = %client.label(), "unlock");
    state.backend.set_locked(false, client).await?;
    Ok(StatusCode::NO_CONTENT)
}
