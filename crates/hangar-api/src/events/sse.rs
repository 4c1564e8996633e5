//! `GET /api/v1/events?topics=…`: the feed as Server-Sent Events.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::hub::{Start, feed_event};
use super::{FeedEvent, FeedParams, Hub, subscription};
use crate::auth::Auth;
use crate::extract::ApiQuery;
use crate::problem::Problem;
use crate::problem::responses::{BadRequest, Forbidden, Unauthorized};

/// Streams events of the topics asked for. Sends `Last-Event-ID` (or
/// `last_event_id`) to resume; `access_token` may stand in for the
/// `Authorization` header, which browsers' `EventSource` cannot set.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    security(("bearer" = [])),
    params(
        ("topics" = String, Query, description = "Comma-separated topics: jobs, pipelines"),
        ("access_token" = Option<String>, Query, description = "An access token, for clients that cannot send headers"),
        ("last_event_id" = Option<i64>, Query, description = "Resume after this event (or the Last-Event-ID header)"),
    ),
    responses(
        (status = 200, description = "An endless text/event-stream; each event has `id`, `event` (its kind) and JSON `data`", body = FeedEvent, content_type = "text/event-stream"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn events(
    State(hub): State<Hub>,
    Extension(auth): Extension<Auth>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<FeedParams>,
) -> Result<Response, Problem> {
    let sub = subscription(&auth, client.ip(), &headers, &query).await?;
    let (start, reset) = hub.subscribe(sub.after, &sub.topics).await?;
    let heartbeat = hub.heartbeat();
    let stream = stream(start, reset, sub.topics, sub.after.unwrap_or(-1));
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat"))
        .into_response())
}

fn sse_event(event: &FeedEvent) -> Event {
    Event::default()
        .id(event.id.to_string())
        .event(event.kind.as_str())
        .data(event.data.to_string())
}

fn stream(
    start: Start,
    reset: bool,
    topics: Vec<String>,
    last_sent: i64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = Feed {
        backlog: start.backlog.into(),
        live: start.live,
        topics,
        last_sent,
        reset,
    };
    futures_util::stream::unfold(state, |mut feed| async move {
        feed.next().await.map(|event| (Ok(sse_event(&event)), feed))
    })
}

/// A client's position in the feed: first a `reset` if it missed pruned events,
/// then the backlog read from the log, then live events it has not had yet.
pub(crate) struct Feed {
    pub backlog: VecDeque<FeedEvent>,
    pub live: broadcast::Receiver<Arc<hangar_store::Event>>,
    pub topics: Vec<String>,
    pub last_sent: i64,
    pub reset: bool,
}

impl Feed {
    /// The next event to send, or `None` when the client must be disconnected
    /// (it fell too far behind) or the server is stopping.
    pub async fn next(&mut self) -> Option<FeedEvent> {
        if std::mem::take(&mut self.reset) {
            return Some(FeedEvent {
                id: self.last_sent.max(0),
                topic: String::new(),
                kind: "reset".to_owned(),
                data: serde_json::json!({}),
            });
        }
        if let Some(event) = self.backlog.pop_front() {
            self.last_sent = event.id;
            return Some(event);
        }
        loop {
            match self.live.recv().await {
                Ok(event) => {
                    if event.id <= self.last_sent || !self.topics.contains(&event.topic) {
                        continue;
                    }
                    self.last_sent = event.id;
                    return Some(feed_event(&event));
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(
                        missed,
                        "feed client too slow; disconnected (it resumes from the log)"
                    );
                    return None;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
