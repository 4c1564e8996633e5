//! `GET /api/v1/auth/me`: the signed-in user.

use axum::{Extension, Json};

use super::{Account, Auth, User, accounts};
use crate::problem::Problem;
use crate::problem::responses::{NotFound, Unauthorized};

/// The caller's account.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = Account),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn me(
    Extension(auth): Extension<Auth>,
    User(caller): User,
) -> Result<Json<Account>, Problem> {
    accounts::find_by_id(auth.store(), &caller.user_id)
        .await?
        .map(Json)
        .ok_or_else(|| {
            Problem::new(axum::http::StatusCode::NOT_FOUND, "not-found", "Not found")
                .with_detail("the caller has no account (the admin token is not a user)")
        })
}
