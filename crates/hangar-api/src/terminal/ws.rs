//! `GET /api/v1/terminal/ws`: a terminal session over a WebSocket, one JSON
//! message per protocol message ([`hangar_terminal::protocol`]).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Extension;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use hangar_core::config::HumanDuration;
use hangar_terminal::{
    Outcome, Running, ServerMessage, Session, SessionInfo, SessionPermit, SessionRefused, Step,
};
use serde::Deserialize;
use tokio::time::Instant;
use utoipa::IntoParams;

use super::TerminalService;
use crate::auth::Auth;
use crate::extract::ApiQuery;
use crate::problem::Problem;

/// A client that has not taken a message within this long is not reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Query parameters of the terminal.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TerminalParams {
    /// An access token, for `whoami` to name the account (browsers cannot set
    /// headers on a WebSocket). The terminal is open to visitors without one.
    pub access_token: Option<String>,
}

/// A session of the live terminal.
#[utoipa::path(
    get,
    path = "/api/v1/terminal/ws",
    tag = "terminal",
    params(TerminalParams),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; then JSON messages both ways (see docs/terminal.md)"),
        (status = 400, description = "Not a WebSocket request, or an unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The page's origin may not open the terminal", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn terminal_ws(
    State(service): State<TerminalService>,
    Extension(auth): Extension<Auth>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<TerminalParams>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    service.check_origin(&headers)?;
    let user = match &params.access_token {
        Some(token) => Some(auth.authenticate(token).await?.email),
        None => None,
    };
    let upgrade = upgrade.map_err(|e| Problem::bad_request(e.body_text()))?;
    // Refused sessions are still upgraded, to tell the visitor why in the
    // terminal itself; they are closed straight after.
    let permit = service.sessions.open(client.ip());
    let info = SessionInfo {
        id: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
        client: client.ip(),
        user,
    };
    Ok(upgrade
        .max_message_size(service.max_message)
        .max_frame_size(service.max_message)
        .write_buffer_size(0)
        .max_write_buffer_size(service.write_buffer.max(1))
        .on_upgrade(move |socket| serve(socket, service, info, permit)))
}

async fn serve(
    socket: WebSocket,
    service: TerminalService,
    info: SessionInfo,
    permit: Result<SessionPermit, SessionRefused>,
) {
    let (mut tx, mut rx) = socket.split();
    let _permit = match permit {
        Ok(permit) => permit,
        Err(refused) => {
            tracing::info!(session = %info.id, client = %info.client, reason = %refused, "terminal session refused");
            let reason = refused.to_string();
            let _ = send(
                &mut tx,
                &ServerMessage::Closed {
                    reason: reason.clone(),
                },
            )
            .await;
            let _ = close(&mut tx, 1013, &reason).await;
            return;
        }
    };
    let started = Instant::now();
    tracing::info!(session = %info.id, client = %info.client, user = info.user.as_deref().unwrap_or(""), "terminal session opened");
    let mut session = Session::new(service.terminal.clone(), info, started);
    let mut running: Option<(Running, Instant)> = None;
    let mut heard = started;
    let ends_at = started + service.max_session;
    let command_timeout = session.limits().command_timeout;
    let mut replies = session.greeting();
    let reason = loop {
        let mut stalled = false;
        for reply in replies.drain(..) {
            if send(&mut tx, &reply).await.is_err() {
                stalled = true;
                break;
            }
        }
        if stalled {
            break "the client stopped taking output (terminal.write_buffer)".to_owned();
        }
        if let Some(reason) = session.closing() {
            break reason.to_owned();
        }
        let idle_at = heard + service.idle_timeout;
        tokio::select! {
            () = tokio::time::sleep_until(ends_at) => {
                break end(&mut session, &mut tx, format!(
                    "the session reached its maximum length of {} (terminal.max_session); reconnect to go on",
                    HumanDuration::new(service.max_session)
                )).await;
            }
            () = tokio::time::sleep_until(idle_at), if running.is_none() => {
                break end(&mut session, &mut tx, format!(
                    "closed after {} without input (terminal.idle_timeout)",
                    HumanDuration::new(service.idle_timeout)
                )).await;
            }
            outcome = run(&mut running), if running.is_some() => {
                if let Some((done, _)) = running.take() {
                    replies = session.finish(done, outcome, Instant::now());
                }
            }
            message = rx.next() => {
                let Some(Ok(message)) = message else { break "the client went away".to_owned() };
                match message {
                    Message::Text(text) => {
                        heard = Instant::now();
                        match session.receive(&text, heard) {
                            Step::Reply(r) => replies = r,
                            Step::Run(r) => running = Some((r, heard + command_timeout)),
                            Step::Cancel => {
                                if let Some((done, _)) = running.take() {
                                    replies = session.finish(done, Outcome::Cancelled, heard);
                                }
                            }
                        }
                    }
                    Message::Binary(_) => replies = session.binary(),
                    Message::Close(_) => break "the client closed the session".to_owned(),
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
        }
    };
    let _ = close(&mut tx, 1000, "").await;
    tracing::info!(
        session = %session.info().id,
        client = %session.info().client,
        reason = %reason,
        duration_s = started.elapsed().as_secs(),
        "terminal session ended"
    );
}

/// Runs the pending command to its end, its wall-time limit or forever when
/// there is none (the branch is disabled then).
async fn run(running: &mut Option<(Running, Instant)>) -> Outcome {
    match running {
        Some((r, deadline)) => match tokio::time::timeout_at(*deadline, &mut r.future).await {
            Ok(result) => Outcome::Done(result),
            Err(_) => Outcome::TimedOut,
        },
        None => std::future::pending().await,
    }
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

async fn end(session: &mut Session, tx: &mut Sink, reason: String) -> String {
    tracing::info!(session = %session.info().id, client = %session.info().client, reason = %reason, "terminal session closed by the server");
    let _ = send(
        tx,
        &ServerMessage::Closed {
            reason: reason.clone(),
        },
    )
    .await;
    reason
}

/// Sends one message; a client that does not take it within [`SEND_TIMEOUT`], or
/// whose unsent bytes pass `terminal.write_buffer`, is given up on.
async fn send(tx: &mut Sink, message: &ServerMessage) -> Result<(), ()> {
    send_frame(tx, Message::Text(message.to_json().into())).await
}

async fn close(tx: &mut Sink, code: u16, reason: &str) -> Result<(), ()> {
    // A close reason is at most 123 bytes.
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let frame = CloseFrame {
        code,
        reason: reason[..cut].into(),
    };
    send_frame(tx, Message::Close(Some(frame))).await
}

async fn send_frame(tx: &mut Sink, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, tx.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
