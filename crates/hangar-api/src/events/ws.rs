//! `GET /api/v1/events/ws?topics=…`: the feed over a WebSocket, one JSON text
//! message per event ([`FeedEvent`]), pings as heartbeats.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::sse::Feed;
use super::{FeedEvent, FeedParams, Hub, subscription};
use crate::auth::Auth;
use crate::extract::ApiQuery;
use crate::problem::Problem;
use crate::problem::responses::{BadRequest, Forbidden, Unauthorized};

/// Largest message a client may send (the feed reads none but close and pong).
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;
/// Bytes that may wait unsent to one client before it is cut off.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;

/// The feed over a WebSocket. Browsers cannot set headers on a WebSocket, so the
/// token goes in `access_token`; resume with `last_event_id`.
#[utoipa::path(
    get,
    path = "/api/v1/events/ws",
    tag = "events",
    security(("bearer" = [])),
    params(
        ("topics" = String, Query, description = "Comma-separated topics: jobs, pipelines"),
        ("access_token" = Option<String>, Query, description = "An access token"),
        ("last_event_id" = Option<i64>, Query, description = "Resume after this event"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; then one JSON FeedEvent per message", body = FeedEvent),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn events_ws(
    State(hub): State<Hub>,
    Extension(auth): Extension<Auth>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<FeedParams>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    let sub = subscription(&auth, client.ip(), &headers, &query).await?;
    let upgrade = upgrade.map_err(|e| Problem::bad_request(e.body_text()))?;
    let (start, reset) = hub.subscribe(sub.after, &sub.topics).await?;
    let feed = Feed {
        backlog: start.backlog.into(),
        live: start.live,
        topics: sub.topics,
        last_sent: sub.after.unwrap_or(-1),
        reset,
    };
    let heartbeat = hub.heartbeat();
    Ok(upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .on_upgrade(move |socket| serve(socket, feed, heartbeat)))
}

async fn serve(mut socket: WebSocket, mut feed: Feed, heartbeat: std::time::Duration) {
    let mut ticker = tokio::time::interval(heartbeat);
    ticker.tick().await;
    loop {
        tokio::select! {
            next = feed.next() => {
                let Some(event) = next else {
                    let _ = socket.send(Message::Close(Some(CloseFrame {
                        code: 1013,
                        reason: "too far behind; reconnect with last_event_id".into(),
                    }))).await;
                    return;
                };
                let text = serde_json::to_string(&event).unwrap_or_default();
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            _ = ticker.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
