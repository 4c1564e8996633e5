//! `POST /api/v1/users/{id}/disable`, `…/enable` and `…/revoke-sessions`.

use axum::extract::Path;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::super::manage::Change;
use super::super::{Account, Admin, Auth};
use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, Conflict, NotFound};

/// How many sessions were ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsRevoked {
    /// Sessions revoked by this request.
    pub sessions_revoked: u64,
}

/// Disables an account: it cannot sign in, and its sessions are revoked.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/disable",
    tag = "users",
    params(("id" = String, Path, description = "The account's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The disabled account", body = Account),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        AdminErrors,
    )
)]
pub async fn disable_user(
    Extension(auth): Extension<Auth>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<Json<Account>, Problem> {
    super::change(&auth, &caller, &id, Change::Disable)
        .await
        .map(|c| Json(c.account))
}

/// Enables an account again.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/enable",
    tag = "users",
    params(("id" = String, Path, description = "The account's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The enabled account", body = Account),
        (status = 404, response = NotFound),
        AdminErrors,
    )
)]
pub async fn enable_user(
    Extension(auth): Extension<Auth>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<Json<Account>, Problem> {
    super::change(&auth, &caller, &id, Change::Enable)
        .await
        .map(|c| Json(c.account))
}

/// Signs an account out everywhere: its refresh and access tokens stop working.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/revoke-sessions",
    tag = "users",
    params(("id" = String, Path, description = "The account's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Sessions revoked", body = SessionsRevoked),
        (status = 404, response = NotFound),
        AdminErrors,
    )
)]
pub async fn revoke_user_sessions(
    Extension(auth): Extension<Auth>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<Json<SessionsRevoked>, Problem> {
    super::change(&auth, &caller, &id, Change::RevokeSessions)
        .await
        .map(|c| {
            Json(SessionsRevoked {
                sessions_revoked: c.sessions_revoked,
            })
        })
}
