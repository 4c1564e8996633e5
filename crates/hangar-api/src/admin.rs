//! The admin bearer token (`api.admin_token`) guarding operator endpoints.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;

/// The configured admin token; empty disables the admin endpoints.
#[derive(Clone)]
pub struct AdminToken(Arc<str>);

impl AdminToken {
    /// Wraps the configured token.
    pub fn new(token: &str) -> Self {
        Self(token.into())
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(***)")
    }
}

/// Compares in time independent of where the inputs first differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) async fn require_admin(
    State(token): State<AdminToken>,
    request: Request,
    next: Next,
) -> Response {
    if token.0.is_empty() {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "admin-disabled",
            "Admin API disabled",
        )
        .with_detail("set api.admin_token (HANGAR_API_ADMIN_TOKEN) to enable the admin endpoints")
        .into_response();
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(presented) if same(presented.as_bytes(), token.0.as_bytes()) => {
            next.run(request).await
        }
        _ => {
            let mut response =
                Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
                    .with_detail("send `Authorization: Bearer <api.admin_token>`")
                    .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}
