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
use crate::problem::responses::{BadRequest, Forbidden, Unauthorized};

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
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
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
        Some(token) => Some(
            auth.authenticate_from(token, Some(client.ip()))
                .await?
                .email,
        ),
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
    let (tx, mut rx) = socket.split();
    let mut tx = Sender {
        sink: tx,
        timeout: service.send_timeout,
    };
    let permit = match permit {
        Ok(permit) => permit,
        Err(refused) => {
            tracing::info!(session = %info.id, client = %info.client, reason = %refused, "terminal session refused");
            let reason = refused.to_string();
            let _ = tx
                .send(&ServerMessage::Closed {
                    reason: reason.clone(),
                })
                .await;
            let _ = tx.close(1013, &reason).await;
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
    // Why the session ended, and the close code when it is not a normal end.
    let (reason, failure) = loop {
        let mut stalled = false;
        for reply in replies.drain(..) {
            if tx.send(&reply).await.is_err() {
                stalled = true;
                break;
            }
        }
        if stalled {
            break (
                format!(
                    "the client stopped taking output (terminal.write_buffer, terminal.send_timeout {})",
                    HumanDuration::new(service.send_timeout)
                ),
                None,
            );
        }
        if let Some(reason) = session.closing() {
            break (reason.to_owned(), None);
        }
        let idle_at = heard + service.idle_timeout;
        tokio::select! {
            () = tokio::time::sleep_until(ends_at) => {
                break (end(&mut session, &mut tx, format!(
                    "the session reached its maximum length of {} (terminal.max_session); reconnect to go on",
                    HumanDuration::new(service.max_session)
                )).await, None);
            }
            () = tokio::time::sleep_until(idle_at), if running.is_none() => {
                break (end(&mut session, &mut tx, format!(
                    "closed after {} without input (terminal.idle_timeout)",
                    HumanDuration::new(service.idle_timeout)
                )).await, None);
            }
            outcome = run(&mut running), if running.is_some() => {
                if let Some((done, _)) = running.take() {
                    replies = session.finish(done, outcome, Instant::now());
                }
            }
            message = rx.next() => {
                let message = match message {
                    Some(Ok(message)) => message,
                    None => break ("the client went away".to_owned(), None),
                    Some(Err(e)) => match refused(e, service.max_message) {
                        Ok((code, reason)) => break (end(&mut session, &mut tx, reason).await, Some(code)),
                        Err(gone) => break (format!("the client went away ({gone})"), None),
                    },
                };
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
                    Message::Close(_) => break ("the client closed the session".to_owned(), None),
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
        }
    };
    tracing::info!(
        session = %session.info().id,
        client = %session.info().client,
        reason = %reason,
        duration_s = started.elapsed().as_secs(),
        "terminal session ended"
    );
    match failure {
        None => {
            // The session's place is free before the client sees the close.
            drop(permit);
            let _ = tx.close(1000, "").await;
        }
        Some(code) => {
            // The client may still be sending the rest of what was refused:
            // dropping the connection with that input unread would reset it and
            // could destroy the close frame before the client reads it. The
            // session keeps its place meanwhile.
            if tx.close(code, &reason).await.is_ok() {
                tokio::time::sleep(service.send_timeout).await;
            }
            drop(permit);
        }
    }
}

/// The close code and reason for a message the socket refused to read (too
/// large, not UTF-8, not WebSocket), or the error when the client is gone.
fn refused(error: axum::Error, max_message: usize) -> Result<(u16, String), String> {
    use tungstenite::Error as WsError;
    let error = error.into_inner();
    match error.downcast_ref::<WsError>() {
        Some(WsError::Capacity(_)) => Ok((
            1009,
            format!("a message was larger than {max_message} bytes (terminal.max_message)"),
        )),
        Some(WsError::Utf8(_)) => Ok((1007, "a text message was not UTF-8".to_owned())),
        Some(WsError::Protocol(e)) => Ok((1002, format!("WebSocket protocol error: {e}"))),
        _ => Err(error.to_string()),
    }
}

/// Runs the pending command to its end, its wall-time limit or forever when
/// there is none (the branch is disabled then).
async fn run(running: &mut Option<(Running, Instant)>) -> Outcome {
    match running {
        // The timer fires on its next tick, which the command could beat: a
        // command whose time is up (a limit of zero, say) is stopped now.
        Some((_, deadline)) if Instant::now() >= *deadline => Outcome::TimedOut,
        Some((r, deadline)) => match tokio::time::timeout_at(*deadline, &mut r.future).await {
            Ok(result) => Outcome::Done(result),
            Err(_) => Outcome::TimedOut,
        },
        None => std::future::pending().await,
    }
}

async fn end(session: &mut Session, tx: &mut Sender, reason: String) -> String {
    tracing::info!(session = %session.info().id, client = %session.info().client, reason = %reason, "terminal session closed by the server");
    let _ = tx
        .send(&ServerMessage::Closed {
            reason: reason.clone(),
        })
        .await;
    reason
}

/// The sending half of a session's socket.
struct Sender {
    sink: futures_util::stream::SplitSink<WebSocket, Message>,
    /// `terminal.send_timeout`.
    timeout: Duration,
}

impl Sender {
    /// Sends one message; a client that does not take it within
    /// `terminal.send_timeout`, or whose unsent bytes pass
    /// `terminal.write_buffer`, is given up on.
    async fn send(&mut self, message: &ServerMessage) -> Result<(), ()> {
        self.frame(Message::Text(message.to_json().into())).await
    }

    async fn close(&mut self, code: u16, reason: &str) -> Result<(), ()> {
        // A close reason is at most 123 bytes.
        let mut cut = reason.len().min(123);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        let frame = CloseFrame {
            code,
            reason: reason[..cut].into(),
        };
        self.frame(Message::Close(Some(frame))).await
    }

    async fn frame(&mut self, message: Message) -> Result<(), ()> {
        match tokio::time::timeout(self.timeout, self.sink.send(message)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }
}
