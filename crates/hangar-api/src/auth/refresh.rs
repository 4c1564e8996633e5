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
use crate::problem::responses::{
    BadRequest, PayloadTooLarge, ServiceUnavailable, Unauthorized, UnprocessableEntity,
    UnsupportedMediaType,
};

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
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub async fn refresh(
    Extension(auth): Extension<Auth>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    let tokens = auth.tokens()?;
    match accounts::rotate(auth.store(), body.refresh_token.trim()).await? {
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
