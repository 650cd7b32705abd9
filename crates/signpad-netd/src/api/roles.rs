//! The per-route role check: a route layer that lets a request through only
//! when the client certificate carries one of the route's roles.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tower::{Layer, Service};

use super::ApiError;
use crate::identity::{ClientIdentity, Role};

/// Requires one of the listed roles.
#[derive(Debug, Clone, Copy)]
pub struct RequireRole(pub &'static [Role]);

impl<S> Layer<S> for RequireRole {
    type Service = RoleCheck<S>;
    fn layer(&self, inner: S) -> RoleCheck<S> {
        RoleCheck {
            inner,
            roles: self.0,
        }
    }
}

/// The service made by [`RequireRole`].
#[derive(Debug, Clone)]
pub struct RoleCheck<S> {
    inner: S,
    roles: &'static [Role],
}

fn names(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl<S> Service<Request> for RoleCheck<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let refusal = match req.extensions().get::<ClientIdentity>() {
            Some(id) if id.has_any(self.roles) => None,
            Some(id) => {
                let has = if id.roles.is_empty() {
                    "no role".to_owned()
                } else {
                    format!(
                        "role {}",
                        names(&id.roles.iter().copied().collect::<Vec<_>>())
                    )
                };
                tracing::warn!(
                    client = %id.label(),
                    path = %req.uri().path(),
                    "refused: wrong role"
                );
                Some(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "wrong_role",
                    format!(
                        "{} {} needs role {}; the client certificate has {has} (roles are subjectAltName URIs urn:signpad:role:<role>)",
                        req.method(),
                        req.uri().path(),
                        names(self.roles)
                    ),
                ))
            }
            None => Some(ApiError::new(
                StatusCode::FORBIDDEN,
                "no_client_certificate",
                "no verified client certificate on this connection",
            )),
        };
        match refusal {
            None => Box::pin(self.inner.call(req)),
            Some(e) => Box::pin(async move { Ok(e.into_response()) }),
        }
    }
}
