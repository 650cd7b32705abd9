//! The OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{management, sessions, ErrorBody};

struct MutualTls;

impl Modify for MutualTls {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // OpenAPI 3.1 has a `mutualTLS` type; utoipa 5 lacks it, so the
        // requirement is stated in the description and as a named scheme.
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "client_certificate",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "Not a bearer token: every request needs a TLS client certificate; roles come from its subjectAltName URIs urn:signpad:role:{host,admin,auditor}",
                        ))
                        .build(),
                ),
            );
        }
    }
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "signpad-netd",
        description = "Network API of a signpad electronic signature pad. Mutual TLS only: the client certificate must chain to the pad's configured CA, must not be revoked, and carries the caller's roles as subjectAltName URIs urn:signpad:role:host|admin|auditor."
    ),
    paths(
        sessions::create, sessions::status, sessions::events, sessions::package,
        sessions::signature_image, sessions::cancel,
        management::health, management::whoami, management::metrics, management::device,
        management::quote, management::put_crl, management::reload_crl, management::training_mode,
        management::lock, management::unlock, document
    ),
    components(schemas(ErrorBody, sessions::CreateSession, sessions::PolicyRequest)),
    modifiers(&MutualTls),
    tags((name = "sessions", description = "Signing ceremonies (role host)"),
         (name = "management", description = "Status and administration (roles admin, auditor)"))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "management",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
