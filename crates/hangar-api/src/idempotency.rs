//! `Idempotency-Key` on POSTs: the first request with a key runs and, if it
//! succeeds (2xx), its response is saved; a later request with the same key and
//! the same method, path and body gets the saved response again (with
//! `Idempotent-Replayed: true`) without running; the same key with a different
//! request is a 422; a request whose twin is still running is a 409. Keys are
//! scoped to the caller's credentials (or, without any, its address) and kept
//! for a day.
//!
//! A response that is not a success is not saved, so a client may fix its request
//! and retry with the same key.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hangar_core::clock::now_ms;
use hangar_store::{Store, on_pool};
use sha2::{Digest, Sha256};

use crate::auth::Auth;
use crate::extract::payload_too_large;
use crate::operations::Operations;
use crate::problem::Problem;

/// The header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Longest key.
pub const KEY_MAX_LEN: usize = 255;
/// A key's syntax, as the OpenAPI document states it: visible ASCII characters.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]+$";
/// How long a saved response is replayed.
pub const KEEP_MS: i64 = 24 * 3600 * 1000;
/// Age after which a key whose request never finished is free again.
const ABANDONED_MS: i64 = 120 * 1000;
/// Largest response saved; larger successful responses are not replayable.
const MAX_SAVED: usize = 1024 * 1024;

/// What the middleware needs.
#[derive(Clone, Debug)]
pub struct Idempotency {
    /// Where responses are saved.
    pub store: Store,
    /// Largest request body (`http.body_limit`).
    pub body_limit: usize,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) async fn idempotent(
    State(state): State<Arc<(Idempotency, Operations)>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (config, operations) = &*state;
    let Some(key) = request.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(k)
            if !k.is_empty()
                && k.len() <= KEY_MAX_LEN
                && k.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            k.to_owned()
        }
        _ => {
            // A caller without valid credentials is told that first, as it would
            // be without the header.
            let client = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            if operations.secured(&request)
                && let Some(auth) = request.extensions().get::<Auth>()
                && let Err(problem) = auth.caller_from(request.headers(), client).await
            {
                return problem.into_response();
            }
            return Problem::bad_request(
                "Idempotency-Key: 1 to 255 visible ASCII characters (a UUID is a good key)",
            )
            .into_response();
        }
    };
    // Keys belong to the caller's credentials, or, for a caller without any,
    // to its address, so that strangers' keys never meet.
    let scope = match request.headers().get(header::AUTHORIZATION) {
        Some(credentials) => hex(&Sha256::digest(credentials.as_bytes())),
        None => {
            let address = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_default();
            hex(&Sha256::digest(format!("anonymous {address}")))
        }
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, config.body_limit).await else {
        return payload_too_large().into_response();
    };
    let mut digest = Sha256::new();
    digest.update(parts.method.as_str());
    digest.update(b" ");
    digest.update(parts.uri.to_string());
    digest.update(b"\n");
    digest.update(&bytes);
    let request_hash = hex(&digest.finalize());

    match claim(&config.store, &scope, &key, &request_hash).await {
        Ok(Claim::New) => {}
        Ok(Claim::Saved(saved)) if saved.request_hash != request_hash => {
            return Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
            )
            .with_detail("this Idempotency-Key was used for a different request; use a new key")
            .into_response();
        }
        Ok(Claim::Saved(saved)) => return saved.replay(),
        Ok(Claim::Running) => {
            return Problem::new(
                StatusCode::CONFLICT,
                "idempotency-in-progress",
                "Request in progress",
            )
            .with_detail(
                "a request with this Idempotency-Key is still being handled; retry shortly",
            )
            .with_retry_after(1)
            .into_response();
        }
        Err(e) => return Problem::from(e).into_response(),
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !response.status().is_success() {
        release(&config.store, &scope, &key).await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, MAX_SAVED).await else {
        release(&config.store, &scope, &key).await;
        return Problem::internal().into_response();
    };
    let header_text = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let saved = Saved {
        request_hash,
        status: parts.status.as_u16(),
        content_type: header_text(header::CONTENT_TYPE),
        location: header_text(header::LOCATION),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    if let Err(e) = save(&config.store, &scope, &key, &saved).await {
        tracing::warn!(error = %e, "could not save the response for Idempotency-Key replay");
    }
    Response::from_parts(parts, Body::from(body))
}

enum Claim {
    New,
    Running,
    Saved(Saved),
}

#[derive(sqlx::FromRow)]
struct SavedRow {
    request_hash: String,
    status: Option<i32>,
    content_type: Option<String>,
    location: Option<String>,
    body: Option<String>,
}

struct Saved {
    request_hash: String,
    status: u16,
    content_type: Option<String>,
    location: Option<String>,
    body: String,
}

impl Saved {
    fn replay(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let mut response = (status, self.body).into_response();
        let headers = response.headers_mut();
        if let Some(v) = self
            .content_type
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            headers.insert(header::CONTENT_TYPE, v);
        }
        if let Some(v) = self.location.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(header::LOCATION, v);
        }
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        response
    }
}

/// Claims the key for this request, or reports what holds it. Expired rows are
/// taken over.
async fn claim(
    store: &Store,
    scope: &str,
    key: &str,
    request_hash: &str,
) -> Result<Claim, sqlx::Error> {
    let now = now_ms();
    on_pool!(store.writer(), pool => {
        async {
            let mut tx = pool.begin().await?;
            // A row left without a response by a process that died is taken over
            // after ABANDONED_MS.
            sqlx::query(
                "DELETE FROM hangar_idempotency_keys WHERE scope = $1 AND key = $2 \
                 AND (created_at < $3 OR (status IS NULL AND created_at < $4))",
            )
                .bind(scope)
                .bind(key)
                .bind(now - KEEP_MS)
                .bind(now - ABANDONED_MS)
                .execute(&mut *tx)
                .await?;
            let inserted = sqlx::query(
                "INSERT INTO hangar_idempotency_keys (scope, key, request_hash, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (scope, key) DO NOTHING",
            )
            .bind(scope)
            .bind(key)
            .bind(request_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let claim = if inserted == 1 {
                Claim::New
            } else {
                let row: SavedRow = sqlx::query_as(
                    "SELECT request_hash, status, content_type, location, body \
                     FROM hangar_idempotency_keys WHERE scope = $1 AND key = $2",
                )
                .bind(scope)
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
                match row.status {
                    None if row.request_hash == request_hash => Claim::Running,
                    status => Claim::Saved(Saved {
                        request_hash: row.request_hash,
                        status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                        content_type: row.content_type,
                        location: row.location,
                        body: row.body.unwrap_or_default(),
                    }),
                }
            };
            tx.commit().await?;
            Ok(claim)
        }
        .await
    })
}

async fn save(store: &Store, scope: &str, key: &str, saved: &Saved) -> Result<(), sqlx::Error> {
    on_pool!(store.writer(), pool => {
        sqlx::query(
            "UPDATE hangar_idempotency_keys SET status = $3, content_type = $4, location = $5, body = $6 \
             WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .bind(i32::from(saved.status))
        .bind(&saved.content_type)
        .bind(&saved.location)
        .bind(&saved.body)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

async fn release(store: &Store, scope: &str, key: &str) {
    let result = on_pool!(store.writer(), pool => {
        sqlx::query("DELETE FROM hangar_idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL")
            .bind(scope)
            .bind(key)
            .execute(pool)
            .await
            .map(|_| ())
    });
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not release an Idempotency-Key");
    }
}

/// Deletes saved responses older than a day.
pub async fn prune(store: &Store) -> Result<u64, sqlx::Error> {
    on_pool!(store.writer(), pool => {
        sqlx::query("DELETE FROM hangar_idempotency_keys WHERE created_at < $1")
            .bind(now_ms() - KEEP_MS)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
}
