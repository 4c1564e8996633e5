//! `GET /api/v1/users`: a page of accounts in creation order.

use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::IntoParams;

use super::super::manage;
use super::super::{Account, Admin, Auth, accounts};
use crate::extract::ApiQuery;
use crate::pagination::{Page, decode_cursor, encode_cursor};
use crate::problem::Problem;

/// Query parameters of the list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListUsersParams {
    /// Accounts per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// Lists accounts, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(ListUsersParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of accounts", body = Page<Account>),
        (status = 400, description = "An unknown parameter, a bad limit or a bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many invalid bearer tokens from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_users(
    Extension(auth): Extension<Auth>,
    Admin(_): Admin,
    ApiQuery(params): ApiQuery<ListUsersParams>,
) -> Result<Json<Page<Account>>, Problem> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "limit: {limit} is not from 1 to 200"
        )));
    }
    // An empty cursor is refused like any other that this list did not hand
    // out: a client that sends back a missing `next_cursor` as `""` would
    // otherwise start again from the first page, for ever.
    let after: Option<String> = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut items = manage::list(auth.store(), after.as_deref(), limit + 1)
        .await
        .map_err(accounts::store_problem)?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|a| encode_cursor(&a.id))
    } else {
        None
    };
    Ok(Json(Page { items, next_cursor }))
}
