//! `/api/v1/users…`: admins list and manage accounts. Every change is applied
//! by [`super::manage`], which revokes sessions where rights are taken away,
//! refuses to remove the last enabled admin, and writes an audit line.
//!
//! | endpoint | file |
//! |---|---|
//! | `GET /api/v1/users` | `list_users.rs` |
//! | `GET /api/v1/users/{id}` | `get_user.rs` |
//! | `PATCH /api/v1/users/{id}` | `update_user.rs` |
//! | `POST /api/v1/users/{id}/disable`, `…/enable`, `…/revoke-sessions` | `user_actions.rs` |
//! | `DELETE /api/v1/users/{id}` | `delete_user.rs` |

mod delete_user;
mod get_user;
mod list_users;
mod update_user;
mod user_actions;

use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use super::accounts::Account;
use super::manage::{self, Change, Changed, ManageError};
use crate::problem::Problem;

/// The account routes, for admins.
pub(super) fn routes() -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_users::list_users))
        .routes(routes!(
            get_user::get_user,
            update_user::update_user,
            delete_user::delete_user
        ))
        .routes(routes!(user_actions::disable_user))
        .routes(routes!(user_actions::enable_user))
        .routes(routes!(user_actions::revoke_user_sessions))
}

/// 404 for an id that names no account.
fn no_account(id: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
        .with_detail(format!("no account has the id `{id}`"))
}

/// Applies `change` to the account `id` as `caller`.
async fn change(
    auth: &super::Auth,
    caller: &Caller,
    id: &str,
    change: Change,
) -> Result<Changed, Problem> {
    // Only ids here: an address in the path would end up in access logs.
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(no_account(id));
    }
    manage::apply(auth.store(), &caller.user_id, id, &change)
        .await
        .map_err(|e| match e {
            ManageError::NotFound(_) => no_account(id),
            ManageError::LastAdmin(_) => {
                Problem::new(StatusCode::CONFLICT, "last-admin", "Last admin").with_detail(
                    "this is the last enabled admin; give another account the admin role first",
                )
            }
            ManageError::Store(e) => e.into(),
        })
}

/// The account `id`, or 404.
async fn find(auth: &super::Auth, id: &str) -> Result<Account, Problem> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(no_account(id));
    }
    manage::find(auth.store(), id)
        .await?
        .ok_or_else(|| no_account(id))
}
