//! `GET /api/v1/auth/sessions`, `DELETE /api/v1/auth/sessions/{id}` and
//! `POST /api/v1/auth/sessions/revoke-others`: a signed-in user's own sign-in
//! sessions, and signing them out one by one or all but the current one.
//!
//! Only the caller's sessions are ever read or changed: another account's session
//! id answers 404, the same as one that does not exist.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::{Extension, Json};
use hangar_core::clock::{from_ms, now_ms};
use hangar_store::{Store, StoreError, on_pool};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Auth, Caller, User};
use crate::problem::Problem;
use crate::problem::responses::{BadRequest, NotFound, Unauthorized};

/// One sign-in session of the caller.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionView {
    /// The session's id.
    pub id: String,
    /// How it was started: `password`, or `oidc:<provider>`.
    pub method: String,
    /// When it was started (RFC 3339).
    pub created_at: String,
    /// When it last received tokens, at sign-in or refresh (RFC 3339).
    pub last_used_at: String,
    /// When it ends unless refreshed tokens stop being used before (RFC 3339).
    pub expires_at: String,
    /// Whether the request was made with this session's token.
    pub current: bool,
}

/// The caller's active sessions, most recently used first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionList {
    /// The sessions that are neither revoked nor expired.
    pub sessions: Vec<SessionView>,
}

/// What `revoke-others` did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revoked {
    /// How many sessions were signed out.
    pub revoked: u64,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    method: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
}

/// Lists the caller's active sessions.
#[utoipa::path(
    get,
    path = "/api/v1/auth/sessions",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's active sessions; `current` marks the one making this request", body = SessionList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn list_sessions(
    Extension(auth): Extension<Auth>,
    User(caller): User,
) -> Result<Json<SessionList>, Problem> {
    let current = account_session(&caller)?;
    let rows = active_sessions(auth.store(), &caller.user_id).await?;
    let sessions = rows
        .into_iter()
        .map(|row| SessionView {
            current: row.id == current,
            last_used_at: from_ms(row.last_used_at.unwrap_or(row.created_at)).to_rfc3339(),
            created_at: from_ms(row.created_at).to_rfc3339(),
            expires_at: from_ms(row.expires_at).to_rfc3339(),
            method: row.method,
            id: row.id,
        })
        .collect();
    Ok(Json(SessionList { sessions }))
}

/// Signs out one of the caller's sessions (the current one included).
#[utoipa::path(
    delete,
    path = "/api/v1/auth/sessions/{id}",
    tag = "auth",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The session's id, from `GET /api/v1/auth/sessions`")),
    responses(
        (status = 204, description = "Signed out: the session's access and refresh tokens stop working"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn revoke_session(
    Extension(auth): Extension<Auth>,
    User(caller): User,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    account_session(&caller)?;
    let revoked = revoke_own(auth.store(), &caller.user_id, &id).await?;
    if revoked == 0 {
        return Err(
            Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found").with_detail(format!(
                "you have no active session `{id}`; GET /api/v1/auth/sessions lists them"
            )),
        );
    }
    tracing::info!(
        user = caller.user_id,
        session = id,
        "session signed out by its user"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Signs out every session of the caller except the one making the request.
#[utoipa::path(
    post,
    path = "/api/v1/auth/sessions/revoke-others",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The other sessions are signed out", body = Revoked),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn revoke_other_sessions(
    Extension(auth): Extension<Auth>,
    User(caller): User,
) -> Result<Json<Revoked>, Problem> {
    let current = account_session(&caller)?;
    let revoked = revoke_all_but(auth.store(), &caller.user_id, current).await?;
    tracing::info!(
        user = caller.user_id,
        revoked,
        "other sessions signed out by their user"
    );
    Ok(Json(Revoked { revoked }))
}

/// The caller's session id; 404 for the admin token, which has neither account nor session.
fn account_session(caller: &Caller) -> Result<&str, Problem> {
    caller.session.as_deref().ok_or_else(|| {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
            .with_detail("the caller has no account (the admin token is not a user)")
    })
}

async fn active_sessions(store: &Store, user: &str) -> Result<Vec<SessionRow>, StoreError> {
    let rows = on_pool!(store, pool => {
        sqlx::query_as::<_, SessionRow>(
            "SELECT s.id, s.method, s.created_at, s.expires_at, \
             (SELECT MAX(t.created_at) FROM hangar_refresh_tokens t WHERE t.session_id = s.id) AS last_used_at \
             FROM hangar_sessions s \
             WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
             ORDER BY last_used_at DESC, s.created_at DESC, s.id",
        )
        .bind(user)
        .bind(now_ms())
        .fetch_all(pool)
        .await
    })?;
    Ok(rows)
}

async fn revoke_own(store: &Store, user: &str, session: &str) -> Result<u64, StoreError> {
    let n = on_pool!(store.writer(), pool => {
        sqlx::query(
            "UPDATE hangar_sessions SET revoked_at = $3, revoked_reason = 'signed out by its user' \
             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3",
        )
        .bind(session)
        .bind(user)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(n)
}

async fn revoke_all_but(store: &Store, user: &str, keep: &str) -> Result<u64, StoreError> {
    let n = on_pool!(store.writer(), pool => {
        sqlx::query(
            "UPDATE hangar_sessions SET revoked_at = $3, revoked_reason = 'signed out from another session' \
             WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL AND expires_at > $3",
        )
        .bind(user)
        .bind(keep)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(n)
}
