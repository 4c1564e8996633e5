//! `GET /api/v1/users/{id}`: one account and its open sessions.

use axum::extract::Path;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::super::manage;
use super::super::{Account, Admin, Auth};
use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, NotFound};

/// An account as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDetail {
    /// The account.
    #[serde(flatten)]
    pub account: Account,
    /// Sessions that are neither revoked nor expired.
    pub active_sessions: i64,
}

/// Shows an account.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The account's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = UserDetail),
        (status = 404, response = NotFound),
        AdminErrors,
    )
)]
pub async fn get_user(
    Extension(auth): Extension<Auth>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> Result<Json<UserDetail>, Problem> {
    let account = super::find(&auth, &id).await?;
    let active_sessions = manage::active_sessions(auth.store(), &account.id).await?;
    Ok(Json(UserDetail {
        account,
        active_sessions,
    }))
}
