//! `POST /api/v1/auth/refresh`: a refresh token for a new access token and the
//! next refresh token. Each refresh token works once; presenting one again means
//! it leaked, and the whole session is revoked.

use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use super::accounts::{self, Rotation};
use super::{Auth, TokenResponse, unauthorized};
use crate::extract::ApiJson;
use crate::problem::Problem;

/// A refresh token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The `refresh_token` of the last sign-in or refresh.
    pub refresh_token: String,
}

/// Rotates a refresh token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field missing", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Accounts are not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refresh(
    Extension(auth): Extension<Auth>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    let tokens = auth.tokens()?;
    match accounts::rotate(auth.store(), body.refresh_token.trim())
        .await
        .map_err(accounts::store_problem)?
    {
        Rotation::Rotated {
            account,
            session,
            refresh_token,
        } => auth
            .token_response(tokens, &account, &session, refresh_token)
            .map(Json),
        Rotation::Invalid => Err(unauthorized(
            "invalid-refresh-token",
            "the refresh token is unknown, expired or revoked; sign in again",
        )),
        Rotation::Reused => Err(unauthorized(
            "refresh-token-reused",
            "this refresh token was already used, so it may have leaked: its session is revoked; sign in again",
        )),
    }
}
