//! Invitations to register while `auth.registration = invite`: an admin makes a
//! code (`POST /api/v1/invites`, `hangar user invite`) and hands it over; the
//! code admits one registration until it expires (`auth.invite_ttl`). Codes are
//! stored only as SHA-256 hashes.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hangar_core::clock::{from_ms, ms, now_ms};
use hangar_store::{Store, StoreError, on_pool};
use serde::Serialize;
use utoipa::ToSchema;

use super::accounts::new_refresh_token;
use super::{Admin, Auth};
use crate::problem::Problem;
use crate::problem::responses::AdminErrors;

/// A new invitation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invite {
    /// The code, shown once: pass it as `invite` to `POST /api/v1/auth/register`.
    pub code: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

/// Makes an invitation valid for `ttl`, as `actor`, and writes its audit line.
pub async fn create_invite(
    store: &Store,
    actor: &str,
    ttl: Duration,
) -> Result<Invite, StoreError> {
    let now = now_ms();
    let expires = now + ms(ttl);
    let (code, hash) = new_refresh_token();
    on_pool!(store.writer(), pool => {
        sqlx::query(
            "INSERT INTO hangar_invites (code_hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&hash)
        .bind(actor)
        .bind(now)
        .bind(expires)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    let expires_at = from_ms(expires).to_rfc3339();
    tracing::info!(
        target: "audit",
        audit = true,
        actor,
        action = "invite.create",
        expires_at,
        "invitation created"
    );
    Ok(Invite { code, expires_at })
}

/// Makes an invitation to register (one use, valid for `auth.invite_ttl`).
#[utoipa::path(
    post,
    path = "/api/v1/invites",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The invitation; its code is not shown again", body = Invite),
        AdminErrors,
    )
)]
pub async fn create(
    Extension(auth): Extension<Auth>,
    Admin(caller): Admin,
) -> Result<Response, Problem> {
    let invite = create_invite(auth.store(), &caller.user_id, auth.invite_ttl()).await?;
    Ok((StatusCode::CREATED, Json(invite)).into_response())
}
