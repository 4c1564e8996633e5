//! `GET /api/v1/users`: a page of accounts in creation order.

use axum::{Extension, Json};

use super::super::manage;
use super::super::{Account, Admin, Auth};
use crate::extract::ApiQuery;
use crate::pagination::{Page, PageParams};
use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, BadRequest};

/// Lists accounts, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of accounts", body = Page<Account>),
        (status = 400, response = BadRequest),
        AdminErrors,
    )
)]
pub async fn list_users(
    Extension(auth): Extension<Auth>,
    Admin(_): Admin,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<Account>>, Problem> {
    let limit = params.limit()?;
    // An empty cursor is refused like any other that this list did not hand
    // out: a client that sends back a missing `next_cursor` as `""` would
    // otherwise start again from the first page, for ever.
    let after: Option<String> = params.after()?;
    let accounts = manage::list(auth.store(), after.as_deref(), limit + 1).await?;
    Ok(Json(Page::from_extra_row(accounts, limit, |a| {
        a.id.clone()
    })))
}
