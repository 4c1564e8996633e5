//! The realtime feed: `GET /api/v1/events` (Server-Sent Events) and
//! `GET /api/v1/events/ws` (WebSocket), the same events on both.
//!
//! Events come from the store's event log (`hangar_events`), which every process
//! publishes to; the [`Hub`] of each api process tails it and fans new events out
//! to its clients through a bounded broadcast ring. A client resumes with the id
//! of the last event it saw (`Last-Event-ID`, or `last_event_id` for WebSocket):
//! the events after it are read back from the log, then live ones follow. A
//! client whose events were pruned meanwhile gets a `reset` event and should
//! reload the state it shows. A client that falls more than `events.client_buffer`
//! events behind is disconnected; it reconnects and resumes from the log, so a slow
//! reader costs the server a bounded amount of memory.
//!
//! | endpoint | file |
//! |---|---|
//! | `GET /api/v1/events` | `sse.rs` |
//! | `GET /api/v1/events/ws` | `ws.rs` |
//!
//! Topics: `jobs` (job state changes) and `pipelines` (run and task state
//! changes); both need the admin role.

mod hub;
mod sse;
mod ws;

use std::net::IpAddr;

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use hub::Hub;

use crate::auth::{Auth, forbidden};
use crate::problem::Problem;

/// The topics a client may subscribe to.
pub const TOPICS: [&str; 2] = ["jobs", "pipelines"];

/// One event as clients receive it (the WebSocket message; SSE sends `data`
/// under `id` and `event: kind`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedEvent {
    /// Position in the log: resume after it.
    pub id: i64,
    /// `jobs` or `pipelines`.
    pub topic: String,
    /// `job.state`, `run.state`, `task.state`, or `reset`.
    pub kind: String,
    /// What changed.
    pub data: serde_json::Value,
}

/// The routes of the feed.
pub fn routes(hub: Hub) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(sse::events))
        .routes(routes!(ws::events_ws))
        .with_state(hub)
}

/// A subscription request, checked: the caller may read every topic asked for.
pub(crate) struct Subscription {
    topics: Vec<String>,
    after: Option<i64>,
}

/// The query of both feed endpoints; any other parameter is a 400 naming it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedParams {
    topics: Option<String>,
    access_token: Option<String>,
    last_event_id: Option<String>,
}

/// Checks the query and the caller.
pub(crate) async fn subscription(
    auth: &Auth,
    client: IpAddr,
    headers: &HeaderMap,
    query: &FeedParams,
) -> Result<Subscription, Problem> {
    let topics: Vec<String> = query
        .topics
        .as_ref()
        .map(|t| {
            t.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if topics.is_empty() {
        return Err(Problem::bad_request(format!(
            "topics: name at least one of {}",
            TOPICS.join(", ")
        )));
    }
    if let Some(unknown) = topics.iter().find(|t| !TOPICS.contains(&t.as_str())) {
        return Err(Problem::bad_request(format!(
            "topics: `{unknown}` is not a topic; use {}",
            TOPICS.join(", ")
        )));
    }
    let caller = match &query.access_token {
        Some(token) => auth.authenticate_from(token, Some(client)).await?,
        None => auth.caller_from(headers, Some(client)).await?,
    };
    if !caller.is_admin() {
        return Err(forbidden());
    }
    let raw_after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query.last_event_id.clone());
    let after = raw_after
        .map(|raw| {
            raw.trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    Problem::bad_request(format!(
                        "Last-Event-ID: `{raw}` is not an event id (a whole number)"
                    ))
                })
        })
        .transpose()?;
    Ok(Subscription { topics, after })
}
