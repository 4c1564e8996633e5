//! `POST /api/v1/auth/logout`: ends the caller's session.

use axum::Extension;
use axum::http::StatusCode;

use super::{Auth, User, accounts};
use crate::problem::Problem;
use crate::problem::responses::Unauthorized;

/// Signs out: the session's access and refresh tokens stop working.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, response = Unauthorized),
    )
)]
pub async fn logout(
    Extension(auth): Extension<Auth>,
    User(caller): User,
) -> Result<StatusCode, Problem> {
    if let Some(session) = &caller.session {
        accounts::revoke_session(auth.store(), session, "signed out").await?;
        tracing::info!(user = caller.user_id, "signed out");
    }
    Ok(StatusCode::NO_CONTENT)
}
