//! `GET /api/v1/auth/me`: the signed-in user.

use axum::{Extension, Json};

use super::{Account, Auth, User, accounts};
use crate::problem::Problem;

/// The caller's account.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = Account),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Signed in with the admin token, which has no account", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(
    Extension(auth): Extension<Auth>,
    User(caller): User,
) -> Result<Json<Account>, Problem> {
    accounts::find_by_id(auth.store(), &caller.user_id)
        .await
        .map_err(accounts::store_problem)?
        .map(Json)
        .ok_or_else(|| {
            Problem::new(axum::http::StatusCode::NOT_FOUND, "not-found", "Not found")
                .with_detail("the caller has no account (the admin token is not a user)")
        })
}
