//! `POST /api/v1/auth/register`: creates a user account and signs it in.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::accounts::{self, CreateAccountError, Role};
use super::{Auth, TokenResponse, passwords};
use crate::extract::ApiJson;
use crate::problem::Problem;

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// E-mail address; it is the sign-in name.
    #[schema(format = "email", max_length = 254)]
    pub email: String,
    /// Password, 10 to 256 characters.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    /// Display name, up to 100 characters.
    #[schema(max_length = 100)]
    pub name: Option<String>,
}

/// Registers a user (role `user`) and returns tokens for it.
#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered and signed in", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The e-mail address has an account", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid e-mail, weak password, or a field missing", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Accounts are not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    Extension(auth): Extension<Auth>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<Response, Problem> {
    auth.tokens()?;
    auth.limits().attempt_from(&client.ip().to_string())?;
    let mut errors = Vec::new();
    let email = accounts::normalize_email(&body.email)
        .map_err(|e| errors.push(e))
        .ok();
    if let Some(weak) = passwords::weakness(&body.password) {
        errors.push(weak);
    }
    let name = body
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > 100) {
        errors.push("name: at most 100 characters".to_owned());
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            "Invalid body",
        )
        .with_detail(errors.join("; "))
        .with_errors(errors));
    };
    let hash = passwords::hash(body.password).await.map_err(|e| {
        tracing::error!(error = e, "password hashing failed");
        Problem::internal()
    })?;
    let account = accounts::create_account(auth.store(), &email, name, Some(&hash), &[Role::User])
        .await
        .map_err(|e| match e {
            CreateAccountError::EmailTaken => {
                Problem::new(StatusCode::CONFLICT, "email-taken", "E-mail address taken")
                    .with_detail(format!("an account with {email} exists; sign in instead"))
            }
            CreateAccountError::Store(e) => accounts::store_problem(e),
        })?;
    tracing::info!(user = account.id, "account registered");
    let tokens: TokenResponse = auth.sign_in(&account, "password").await?;
    Ok((StatusCode::CREATED, axum::Json(tokens)).into_response())
}
