//! The live terminal through its WebSocket on a running server: the platform's
//! `pipelines` commands, and each session limit as configured, with the movies
//! app's commands as the output to limit. The site description and the web UI's
//! files are checked here too. (The movies commands' own tests live with the app,
//! in apps/movies/tests/terminal.rs.)

#![allow(clippy::unwrap_used)]

mod api_support;

use std::time::Duration;

use api_support::{get, kind, spawn_with_movies};
use futures_util::{SinkExt, StreamExt};
use hangar_core::config::HumanDuration;
use hangar_testkit::terminal::{Term, table_rows, until_closed};
use hangar_testkit::{Backend, TestApp, on_each_backend};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

on_each_backend!(pipelines_commands_show_the_runs);

async fn pipelines_commands_show_the_runs(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let mut term = Term::open(&app).await;
    term.until_ready().await;
    let (text, error, _) = term.run("pipelines list").await;
    assert_eq!(error, None);
    assert!(text.contains("movies_etl"), "{text}");
    let (text, error, _) = term.run("pipelines runs movies_etl").await;
    assert_eq!(error, None);
    let rows = table_rows(&text);
    assert_eq!(rows.len(), 1, "{text}");
    assert!(
        rows[0].contains("succeeded") && rows[0].contains("cli"),
        "{text}"
    );
    let (_, error, _) = term.run("pipelines runs nope").await;
    assert!(
        error
            .unwrap()
            .starts_with("no pipeline `nope`; there are: ")
    );
}

async fn spawn(configure: impl FnOnce(&mut hangar_core::Config)) -> TestApp {
    spawn_with_movies(Backend::Sqlite, configure).await.unwrap()
}

#[tokio::test]
async fn sessions_are_limited_per_address_and_in_all() {
    let app = spawn(|c| {
        c.terminal.max_sessions = 3;
        c.terminal.max_sessions_per_ip = 2;
    })
    .await;
    let mut first = Term::open(&app).await;
    first.until_ready().await;
    let mut second = Term::open(&app).await;
    second.until_ready().await;
    let mut third = Term::open(&app).await;
    assert_eq!(
        third.closed_reason().await,
        "2 terminal sessions are already open from your address; close one and try again"
    );
    // The refused session did not count: closing one lets the next in. The
    // server gives the place back before it answers the close.
    first.socket.close(None).await.unwrap();
    while first.next().await.is_some() {}
    let mut again = Term::open(&app).await;
    assert_eq!(
        again.next().await.unwrap()["type"],
        "output",
        "a closed session's place was not given back"
    );

    let app = spawn(|c| {
        c.terminal.max_sessions = 1;
    })
    .await;
    let mut only = Term::open(&app).await;
    only.until_ready().await;
    let mut refused = Term::open(&app).await;
    assert_eq!(
        refused.closed_reason().await,
        "the terminal is full (1 sessions are open); try again in a minute"
    );
}

#[tokio::test]
async fn the_origin_is_checked() {
    let app = spawn(|_| {}).await;
    let own = app.base_url.clone();
    assert!(Term::open_with(&app, Some(&own)).await.is_ok());
    match Term::open_with(&app, Some("http://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("a foreign origin was let in: {:?}", other.is_ok()),
    }
    let app = spawn(|c| c.terminal.allowed_origins = "https://site.example".parse().unwrap()).await;
    assert!(
        Term::open_with(&app, Some("https://site.example"))
            .await
            .is_ok()
    );
    assert!(
        Term::open_with(&app, Some(&app.base_url.clone()))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn line_length_rate_and_output_limits() {
    let app = spawn(|c| {
        c.terminal.max_line = 64;
        c.terminal.commands_per_minute = 1;
        c.terminal.command_burst = 3;
        c.terminal.max_rows = 4;
    })
    .await;
    let mut term = Term::open(&app).await;
    term.until_ready().await;
    let (_, error, _) = term
        .run(&format!("movies search {}", "a".repeat(100)))
        .await;
    assert_eq!(
        error.unwrap(),
        "the line is 114 bytes long; the limit is 64 (terminal.max_line)"
    );
    let (text, error, _) = term.run("movies top 100").await;
    assert_eq!(error, None);
    assert_eq!(table_rows(&text).len(), 4, "max_rows: {text}");
    for _ in 0..2 {
        let (_, error, _) = term.run("help").await;
        assert_eq!(error, None);
    }
    let (_, error, _) = term.run("help").await;
    assert!(
        error
            .unwrap()
            .starts_with("slow down: at most 1 commands a minute"),
        "the burst of 3 is spent"
    );

    let app = spawn(|c| c.terminal.max_command_output = 600).await;
    let mut term = Term::open(&app).await;
    term.until_ready().await;
    let (text, _, _) = term.run("movies top 100").await;
    assert!(text.contains("output cut at 600 of"), "{text}");
    assert!(text.len() < 800, "{} bytes", text.len());

    let app = spawn(|c| c.terminal.max_session_output = 4000).await;
    let mut term = Term::open(&app).await;
    term.until_ready().await;
    let mut reason = None;
    for _ in 0..20 {
        let (_, _, messages) = term.run("help").await;
        if let Some(closed) = messages.iter().find(|m| m["type"] == "closed") {
            reason = closed["reason"].as_str().map(str::to_owned);
            break;
        }
    }
    assert!(
        reason.unwrap().contains("terminal.max_session_output"),
        "the session outlived its output budget"
    );
    assert!(term.next().await.is_none(), "the socket stayed open");
}

#[tokio::test]
async fn time_limits_idle_session_and_command() {
    let app = spawn(|c| c.terminal.idle_timeout = HumanDuration::millis(300)).await;
    let mut term = Term::open(&app).await;
    assert_eq!(
        term.closed_reason().await,
        "closed after 300ms without input (terminal.idle_timeout)"
    );

    let app = spawn(|c| c.terminal.max_session = HumanDuration::millis(600)).await;
    let mut term = Term::open(&app).await;
    term.until_ready().await;
    // Activity does not extend a session past its maximum length.
    let reason = loop {
        term.send(json!({"type": "resize", "cols": 100, "rows": 30}))
            .await;
        let next = tokio::time::timeout(Duration::from_millis(100), term.next()).await;
        if let Ok(Some(message)) = next
            && message["type"] == "closed"
        {
            break message["reason"].as_str().unwrap().to_owned();
        }
    };
    assert!(reason.contains("terminal.max_session"), "{reason}");

    // A limit of zero stops any command that has to wait for the store.
    let app = spawn(|c| c.terminal.command_timeout = HumanDuration::millis(0)).await;
    let mut term = Term::open(&app).await;
    term.until_ready().await;
    let (_, error, _) = term.run("movies stats").await;
    assert_eq!(
        error.unwrap(),
        "the command ran longer than 0ms (terminal.command_timeout) and was stopped"
    );
    // Built-ins do not wait and are not cut off.
    let (text, error, _) = term.run("whoami").await;
    assert_eq!(error, None);
    assert!(text.contains("127.0.0.1"));
}

/// The JSON log lines written on this thread while the guard lives (the test
/// runtime runs the server's tasks on the test's own thread).
struct Logs {
    lines: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Logs {
    fn capture() -> Logs {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || LogWriter(sink.clone()))
            .finish();
        Logs {
            lines,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// The `reason` of every `message` logged.
    fn reasons(&self, message: &str) -> Vec<String> {
        let text = String::from_utf8(self.lines.lock().unwrap().clone()).unwrap();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["fields"]["message"] == message)
            .map(|l| {
                l["fields"]["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const TOO_BIG: &str = "a message was larger than 256 bytes (terminal.max_message)";

#[tokio::test]
async fn oversized_and_binary_messages_are_refused() {
    let logs = Logs::capture();
    let app = spawn(|c| c.terminal.max_message = 256).await;
    let mut term = Term::open(&app).await;
    term.until_ready().await;
    term.socket
        .send(Message::Binary(vec![0xff, 0xfe, 0x00].into()))
        .await
        .unwrap();
    let messages = term.until_ready().await;
    assert_eq!(
        messages[0]["message"],
        "binary messages are not accepted; send JSON text"
    );
    term.send(json!({"type": "run", "line": "x".repeat(1000)}))
        .await;
    // The server says why and closes with 1009 (message too big).
    let (reason, code) = term.until_closed().await;
    assert_eq!(reason.as_deref(), Some(TOO_BIG));
    assert_eq!(code, Some(1009));
    assert_eq!(logs.reasons("terminal session ended"), [TOO_BIG]);
}

#[tokio::test]
async fn a_message_too_large_in_fragments_gets_a_close_frame() {
    let logs = Logs::capture();
    let app = spawn(|c| c.terminal.max_message = 256).await;
    let term = Term::open(&app).await;
    let (mut sink, mut stream) = term.socket.split();
    // One text message in 64-byte fragments that never ends, sent while the
    // server's answer is read.
    let sender = tokio::spawn(async move {
        let first = Frame::message(
            &br#"{"type":"run","line":""#[..],
            OpCode::Data(Data::Text),
            false,
        );
        if sink.send(Message::Frame(first)).await.is_err() {
            return;
        }
        loop {
            let more = Frame::message(vec![b'x'; 64], OpCode::Data(Data::Continue), false);
            if sink.send(Message::Frame(more)).await.is_err() {
                return;
            }
        }
    });
    let (reason, code) = until_closed(&mut stream).await;
    sender.abort();
    assert_eq!(reason.as_deref(), Some(TOO_BIG));
    assert_eq!(code, Some(1009));
    assert_eq!(logs.reasons("terminal session ended"), [TOO_BIG]);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped() {
    let logs = Logs::capture();
    let app = spawn(|c| {
        c.terminal.commands_per_minute = 1_000_000;
        c.terminal.command_burst = 1_000_000;
        c.terminal.max_session_output = 1 << 40;
        c.terminal.write_buffer = 16 * 1024;
        c.terminal.send_timeout = HumanDuration::millis(200);
    })
    .await;
    let mut term = Term::open(&app).await;
    // Ask for far more output than the socket buffers hold, and read none of
    // it: the server stops waiting for the client after send_timeout and drops
    // the connection, which ends the sending here.
    let line = json!({"type": "run", "line": "help"}).to_string();
    let mut sent = 0;
    while term
        .socket
        .send(Message::Text(line.clone().into()))
        .await
        .is_ok()
    {
        sent += 1;
    }
    let mut readies = 0;
    while let Some(message) = term.next().await {
        if message["type"] == "ready" {
            readies += 1;
        }
    }
    assert!(
        readies < sent,
        "all {sent} outputs were buffered for a client that did not read"
    );
    assert_eq!(
        logs.reasons("terminal session ended"),
        ["the client stopped taking output (terminal.write_buffer, terminal.send_timeout 200ms)"]
    );
}

#[tokio::test]
async fn whoami_names_a_signed_in_account_and_bad_tokens_are_refused() {
    let app = spawn(|_| {}).await;
    let token = api_support::user_token(&app).await;
    let url = format!(
        "{}/api/v1/terminal/ws?access_token={token}",
        app.base_url.replace("http://", "ws://")
    );
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut term = Term { socket };
    term.until_ready().await;
    let (text, _, _) = term.run("whoami").await;
    assert!(text.contains("@"), "{text}");
    assert!(!text.contains("guest"), "{text}");
    let url = format!(
        "{}/api/v1/terminal/ws?access_token=forged",
        app.base_url.replace("http://", "ws://")
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        _ => panic!("a forged token was accepted"),
    }
}

#[tokio::test]
async fn site_description_and_web_ui_files() {
    let dir = tempfile_dir();
    std::fs::write(
        dir.join("site.toml"),
        r#"[owner]
name = "Ada Lovelace"
headline = "Analyst"
summary = """
Notes on the analytical engine, translated from the Italian and \
extended with notes of her own, longer than the text they annotate.

A second paragraph."""
links = [{ label = "API reference", url = "/api/docs" }]

[[projects]]
name = "Engine"
summary = "Computes Bernoulli numbers."
links = [{ label = "Open", url = "/movies" }]
"#,
    )
    .unwrap();
    let web = dir.join("dist");
    std::fs::create_dir_all(web.join("assets")).unwrap();
    std::fs::write(web.join("index.html"), "<!doctype html><title>UI</title>").unwrap();
    std::fs::write(web.join("assets/app-1a2b.js"), "console.log(1)").unwrap();
    let (site_file, web_dir) = (
        dir.join("site.toml").display().to_string(),
        web.display().to_string(),
    );
    let app = spawn(move |c| {
        c.site.file = site_file;
        c.http.web_dir = web_dir;
    })
    .await;
    let (status, site) = get(&app, "/api/v1/site", None).await;
    assert_eq!(status, 200);
    assert_eq!(site["owner"]["name"], "Ada Lovelace");
    assert_eq!(site["projects"][0]["links"][0]["url"], "/movies");
    let mut term = Term::open(&app).await;
    term.send(json!({"type": "resize", "cols": 40, "rows": 30}))
        .await;
    term.until_ready().await;
    let (text, _, _) = term.run("about").await;
    assert!(
        text.starts_with("Ada Lovelace\r\nAnalyst\r\n\r\n"),
        "{text}"
    );
    // Paragraphs kept, links as `label <url>`, lines wrapped at spaces to the
    // width: every word of the summary whole on one line.
    assert!(!text.contains('\u{fffd}'), "{text}");
    assert!(text.contains("\r\n\r\nA second paragraph.\r\n"), "{text}");
    assert!(text.contains("\r\nAPI reference </api/docs>\r\n"), "{text}");
    assert!(text.contains("\r\n    Open </movies>\r\n"), "{text}");
    let lines: Vec<&str> = text.split("\r\n").collect();
    for line in &lines {
        assert!(line.chars().count() <= 40, "{line:?} is wider than 40");
    }
    for word in site["owner"]["summary"]
        .as_str()
        .unwrap()
        .split_whitespace()
    {
        assert!(
            lines
                .iter()
                .any(|l| l.split_whitespace().any(|w| w == word)),
            "`{word}` was broken: {text}"
        );
    }

    for path in ["/", "/movies/12", "/admin/runs/abc"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"));
        assert_eq!(response.headers()["cache-control"], "no-cache");
        assert!(
            response.text().await.unwrap().contains("<title>UI</title>"),
            "{path}"
        );
    }
    let asset = app.get("/assets/app-1a2b.js").await;
    assert_eq!(asset.status(), 200);
    assert!(
        asset.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let missing = app.get("/assets/gone-9z.js").await;
    assert_eq!(missing.status(), 404);
    let (status, body) = get(&app, "/api/v1/nothing-here", None).await;
    assert_eq!((status, kind(&body)), (404, "not-found"));
    let traversal = app.get("/assets/..%2f..%2fsite.toml").await;
    assert_eq!(traversal.status(), 404);

    // Without a site file the endpoint says how to add one.
    let app = spawn(|c| c.site.file = String::new()).await;
    let (status, body) = get(&app, "/api/v1/site", None).await;
    assert_eq!((status, kind(&body)), (404, "no-site"));
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hangar-terminal-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
