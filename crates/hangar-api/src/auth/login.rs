//! `POST /api/v1/auth/login`: e-mail and password for tokens.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{Auth, TokenResponse, account_disabled, accounts, passwords, unauthorized};
use crate::extract::ApiJson;
use crate::problem::Problem;
use crate::problem::responses::{
    BadRequest, Forbidden, PayloadTooLarge, ServiceUnavailable, TooManyRequests, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Signs in. An unknown address and a wrong password get the same answer.
/// Failed sign-ins are counted per account and client address: a stranger's
/// failures slow down the stranger's address, not the owner's.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub async fn login(
    Extension(auth): Extension<Auth>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    auth.tokens()?;
    let ip = client.ip().to_string();
    auth.limits().attempt_from(&ip)?;
    let email = body.email.trim().to_lowercase();
    auth.limits().check_sign_in(&email, &ip)?;
    let found = accounts::find_by_email(auth.store(), &email).await?;
    let (account, hash) = match found {
        Some((account, hash)) => (Some(account), hash),
        None => (None, None),
    };
    let valid = passwords::verify(body.password, hash).await;
    match account {
        Some(account) if valid => {
            auth.limits().signed_in(&email, &ip);
            if account.disabled {
                tracing::info!(
                    user = account.id,
                    client = ip,
                    "sign-in to a disabled account refused"
                );
                return Err(account_disabled());
            }
            tracing::info!(user = account.id, "signed in");
            auth.sign_in(&account, "password").await.map(Json)
        }
        _ => {
            auth.limits().failed_sign_in(&email, &ip);
            tracing::info!(client = ip, "sign-in refused");
            Err(unauthorized(
                "invalid-credentials",
                "the e-mail address or the password is wrong",
            ))
        }
    }
}
