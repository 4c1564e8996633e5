//! `DELETE /api/v1/users/{id}`: removes an account with its sessions.

use axum::Extension;
use axum::extract::Path;
use axum::http::StatusCode;

use super::super::manage::Change;
use super::super::{Admin, Auth};
use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, Conflict, NotFound};

/// Deletes an account, its sessions and its linked identities.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The account's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        AdminErrors,
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
