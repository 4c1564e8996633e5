//! `POST /api/v1/auth/register`: creates a user account and signs it in, while
//! `auth.registration` is `open`, or with an invitation code while it is
//! `invite`.
//!
//! An address that has an account gets a 409 that does not repeat the address.
//! That the address is taken still shows (registration signs in at once, so the
//! answers must differ); such refusals slow the registering address down like
//! failed sign-ins. Hiding it fully needs e-mail verification.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::accounts::{self, CreateAccountError, Role};
use super::{Auth, TokenResponse, manage, passwords};
use crate::extract::ApiJson;
use crate::problem::Problem;
use crate::problem::responses::{
    BadRequest, Conflict, Forbidden, PayloadTooLarge, ServiceUnavailable, TooManyRequests,
    UnprocessableEntity, UnsupportedMediaType,
};
use hangar_core::config::Registration;

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
    /// An invitation code from an admin; needed while `auth.registration` is
    /// `invite`, ignored otherwise.
    #[schema(max_length = 256)]
    pub invite: Option<String>,
}

/// Registers a user (role `user`) and returns tokens for it.
#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered and signed in", body = TokenResponse),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub async fn register(
    Extension(auth): Extension<Auth>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<Response, Problem> {
    auth.tokens()?;
    let invite = match auth.registration() {
        Registration::Open => None,
        Registration::Closed => {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "registration-closed",
                "Registration closed",
            )
            .with_detail("accounts are created by an operator here (auth.registration = closed)"));
        }
        Registration::Invite => Some(
            body.invite
                .as_deref()
                .map(str::trim)
                .filter(|code| !code.is_empty())
                .ok_or_else(|| {
                    Problem::new(StatusCode::FORBIDDEN, "invite-required", "Invitation required")
                        .with_detail("registering here needs an invitation code from an admin: send it as `invite`")
                })?
                .to_owned(),
        ),
    };
    let ip = client.ip().to_string();
    auth.limits().attempt_from(&ip)?;
    auth.limits().check_registration(&ip)?;
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
    // Checked in every registration mode: the document bounds it in all of them.
    if body
        .invite
        .as_ref()
        .is_some_and(|c| c.chars().count() > 256)
    {
        errors.push("invite: at most 256 characters".to_owned());
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
    let created = match &invite {
        Some(code) => {
            accounts::create_invited_account(auth.store(), &email, name, &hash, code).await
        }
        None => {
            accounts::create_account(auth.store(), &email, name, Some(&hash), &[Role::User]).await
        }
    };
    let account = created.map_err(|e| match e {
        CreateAccountError::EmailTaken => {
            auth.limits().refused_registration(&ip);
            tracing::info!(
                client = ip,
                "registration refused: the address has an account"
            );
            Problem::new(StatusCode::CONFLICT, "email-taken", "E-mail address taken")
                .with_detail("this address cannot be registered; if it is yours, sign in")
        }
        CreateAccountError::InvalidInvite => {
            auth.limits().refused_registration(&ip);
            tracing::info!(client = ip, "registration refused: invalid invitation code");
            Problem::new(
                StatusCode::FORBIDDEN,
                "invalid-invite",
                "Invalid invitation",
            )
            .with_detail(
                "the invitation code is unknown, used or expired; ask an admin for a new one",
            )
        }
        CreateAccountError::Store(e) => e.into(),
    })?;
    manage::audit(&account.id, "user.register", &account);
    let tokens: TokenResponse = auth.sign_in(&account, "password").await?;
    Ok((StatusCode::CREATED, axum::Json(tokens)).into_response())
}
