//! A client of the web terminal's WebSocket protocol, for the tests of the
//! terminal service and of the apps' terminal commands.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hangar_terminal::output::strip_styles;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::TestApp;

/// The client end of a terminal WebSocket.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A terminal session over the WebSocket of a running process, 120 × 40.
pub struct Term {
    /// The socket, for tests that send or close on it directly.
    pub socket: Socket,
}

impl Term {
    /// Opens a session; panics when the server refuses it.
    pub async fn open(app: &TestApp) -> Term {
        Self::open_with(app, None).await.unwrap()
    }

    /// Opens a session with an `Origin` header when `origin` is given.
    pub async fn open_with(
        app: &TestApp,
        origin: Option<&str>,
    ) -> Result<Term, tokio_tungstenite::tungstenite::Error> {
        let url = format!(
            "{}/api/v1/terminal/ws",
            app.base_url.replace("http://", "ws://")
        );
        let mut request = url.into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        let mut term = Term { socket };
        term.send(json!({"type": "resize", "cols": 120, "rows": 40}))
            .await;
        Ok(term)
    }

    /// Sends one protocol message.
    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// The next protocol message; `None` once the server closed the socket.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .expect("no message from the server within 30 s");
            match message {
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Messages up to and including the next `ready` (or the close).
    pub async fn until_ready(&mut self) -> Vec<Value> {
        let mut seen = Vec::new();
        while let Some(message) = self.next().await {
            let ready = message["type"] == "ready";
            seen.push(message);
            if ready {
                break;
            }
        }
        seen
    }

    /// Runs `line`; returns its text output, its error, and every message.
    pub async fn run(&mut self, line: &str) -> (String, Option<String>, Vec<Value>) {
        self.send(json!({"type": "run", "line": line})).await;
        let messages = self.until_ready().await;
        let text = messages
            .iter()
            .filter(|m| m["type"] == "output")
            .map(|m| strip_styles(m["data"].as_str().unwrap()))
            .collect();
        let error = messages
            .iter()
            .find(|m| m["type"] == "error")
            .map(|m| m["message"].as_str().unwrap().to_owned());
        (text, error, messages)
    }

    /// Reads to the end of the connection: the reason of the server's `closed`
    /// message and the code of its close frame.
    pub async fn until_closed(&mut self) -> (Option<String>, Option<u16>) {
        until_closed(&mut self.socket).await
    }

    /// Reads until the server's `closed` message; returns its reason.
    pub async fn closed_reason(&mut self) -> String {
        while let Some(message) = self.next().await {
            if message["type"] == "closed" {
                return message["reason"].as_str().unwrap().to_owned();
            }
        }
        panic!("the socket closed without a `closed` message");
    }
}

/// Reads `stream` to the end of the connection: the reason of the server's
/// `closed` message and the code of its close frame.
pub async fn until_closed<S>(stream: &mut S) -> (Option<String>, Option<u16>)
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut reason = None;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("no message from the server within 30 s");
        match message {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                if message["type"] == "closed" {
                    reason = message["reason"].as_str().map(str::to_owned);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return (reason, frame.map(|f| u16::from(f.code)));
            }
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return (reason, None),
        }
    }
}

/// The data lines of the first table in `text`: between the `─` rule and the
/// `(N rows)` footer.
pub fn table_rows(text: &str) -> Vec<&str> {
    text.split("\r\n")
        .skip_while(|l| !l.starts_with('─'))
        .skip(1)
        .take_while(|l| !l.starts_with('('))
        .collect()
}
