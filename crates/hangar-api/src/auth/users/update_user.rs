//! `PATCH /api/v1/users/{id}`: sets an account's roles. A change of roles
//! revokes the account's sessions.

use axum::extract::Path;
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use super::super::manage::Change;
use super::super::{Account, Admin, Auth, Role};
use crate::extract::ApiJson;
use crate::problem::Problem;
use crate::problem::responses::{
    AdminErrors, BadRequest, Conflict, NotFound, UnprocessableEntity, UnsupportedMediaType,
};

/// The roles to give.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// The account's roles afterwards, e.g. `["admin", "user"]`.
    pub roles: Vec<Role>,
}

/// Sets an account's roles.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The account's id")),
    request_body = UpdateUser,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account; if its roles changed, its sessions are revoked", body = Account),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        AdminErrors,
    )
)]
pub async fn update_user(
    Extension(auth): Extension<Auth>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<Json<Account>, Problem> {
    let mut roles = Vec::new();
    for role in body.roles {
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    let change = Change::Update {
        roles,
        password_hash: None,
    };
    super::change(&auth, &caller, &id, change)
        .await
        .map(|c| Json(c.account))
}
