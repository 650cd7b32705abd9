//! Management for administrators and auditors: health, metrics, device
//! facts, CRL update, training mode and lock.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
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

/// `POST /v1/attestation/quote` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    /// Verifier's fresh nonce, hex, 1 to 64 bytes.
    #[schema(pattern = "^([0-9a-fA-F]{2}){1,64}$")]
    pub nonce: String,
    /// SHA-256 PCR indices to quote (0 to 23), at least one.
    #[schema(min_items = 1, max_items = 24)]
    pub pcrs: Vec<u8>,
}

/// A TPM quote: verify `signature` over `attest` with the attestation key
/// (from keyd's `AttestationIdentity`) and check the nonce inside `attest`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Quote {
    /// Base64 TPMS_ATTEST.
    pub attest: String,
    /// Base64 DER ECDSA signature over `attest`.
    pub signature: String,
}

/// TPM2_Quote of the pad's PCRs through keyd (proves the pad's state to a
/// verifier holding its attestation key).
#[utoipa::path(post, path = "/v1/attestation/quote", tag = "management",
    request_body = QuoteRequest,
    responses((status = 200, body = Quote), (status = 422, body = super::ErrorBody), (status = 503, body = super::ErrorBody)))]
pub async fn quote(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIdentity>,
    Json(req): Json<QuoteRequest>,
) -> Result<Json<Quote>, ApiError> {
    let invalid = |field: &str, m: &str| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("{field}: {m}"),
        )
    };
    let nonce = hex::decode(&req.nonce).map_err(|_| invalid("nonce", "not hex"))?;
    if nonce.is_empty() || nonce.len() > 64 {
        return Err(invalid("nonce", "1 to 64 bytes"));
    }
    if req.pcrs.is_empty() || req.pcrs.iter().any(|p| *p > 23) {
        return Err(invalid("pcrs", "one or more PCR indices 0 to 23"));
    }
    let unavailable =
        |m: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "keyd_unavailable", m);
    let proxy = state.keyd.proxy().await.map_err(unavailable)?;
    let (attest, signature) = proxy
        .quote(&nonce, &req.pcrs)
        .await
        .map_err(|e| unavailable(format!("keyd Quote: {e}")))?;
    tracing::info!(client = %client.label(), pcrs = ?req.pcrs, "attestation quote");
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(Json(Quote {
        attest: b64.encode(attest),
        signature: b64.encode(signature),
    }))
}
