//! `DELETE /api/v1/users/{id}`: removes an account with its sessions.

use axum::Extension;
use axum::extract::Path;
use axum::http::StatusCode;

use super::super::manage::Change;
use super::super::{Admin, Auth};
use crate::problem::Problem;

/// Deletes an account, its sessions and its linked identities.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The account's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account is the last enabled admin", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many invalid bearer tokens from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_user(
    Extension(auth): Extension<Auth>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    super::change(&auth, &caller, &id, Change::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}
