//! The live terminal through its WebSocket on a running server: the movies and
//! pipelines commands against the store, and each session limit as configured.
//! The site description and the web UI's files are checked here too.

#![allow(clippy::unwrap_used)]

mod api_support;

use std::time::Duration;

use api_support::{get, kind, spawn_with_movies};
use futures_util::{SinkExt, StreamExt};
use hangar_core::config::HumanDuration;
use hangar_terminal::output::strip_styles;
use hangar_testkit::{Backend, TestApp, on_each_backend};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Term {
    socket: Socket,
}

impl Term {
    async fn open(app: &TestApp) -> Term {
        Self::open_with(app, None).await.unwrap()
    }

    async fn open_with(
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

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// The next protocol message; `None` once the server closed the socket.
    async fn next(&mut self) -> Option<Value> {
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
    async fn until_ready(&mut self) -> Vec<Value> {
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
    async fn run(&mut self, line: &str) -> (String, Option<String>, Vec<Value>) {
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

    /// Reads until the server's `closed` message; returns its reason.
    async fn closed_reason(&mut self) -> String {
        while let Some(message) = self.next().await {
            if message["type"] == "closed" {
                return message["reason"].as_str().unwrap().to_owned();
            }
        }
        panic!("the socket closed without a `closed` message");
    }
}

/// The data lines of the first table in `text`: between the `─` rule and the
/// `(N rows)` footer.
fn table_rows(text: &str) -> Vec<&str> {
    text.split("\r\n")
        .skip_while(|l| !l.starts_with('─'))
        .skip(1)
        .take_while(|l| !l.starts_with('('))
        .collect()
}

on_each_backend!(movies_commands_query_the_store);
on_each_backend!(pipelines_commands_show_the_runs);

async fn movies_commands_query_the_store(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let mut term = Term::open(&app).await;
    let greeting = term.until_ready().await;
    assert!(
        greeting.last().unwrap()["prompt"]
            .as_str()
            .unwrap()
            .contains("guest@hangar")
    );

    let (text, error, _) = term.run("movies top 5 --by imdb_rating").await;
    assert_eq!(error, None);
    let rows = table_rows(&text);
    assert_eq!(rows.len(), 5, "{text}");
    assert!(text.contains("(5 rows)"));
    let (_, best) = get(&app, "/api/v1/movies/top?by=imdb_rating&n=5", None).await;
    for (row, film) in rows.iter().zip(best.as_array().unwrap()) {
        let id = film["id"].as_i64().unwrap().to_string();
        assert!(
            row.trim_start().starts_with(&format!("{id} ")),
            "{row} is not film {id}"
        );
    }

    let (_, page) = get(&app, "/api/v1/movies?limit=1&sort=title", None).await;
    let film = &page["items"][0];
    let word: String = film["title"]
        .as_str()
        .unwrap()
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| w.len() > 2)
        .unwrap()
        .to_owned();
    let (text, error, _) = term.run(&format!("movies search {word} --limit 3")).await;
    assert_eq!(error, None, "{text}");
    assert!(!table_rows(&text).is_empty(), "{text}");

    let id = film["id"].as_i64().unwrap();
    let (text, error, _) = term.run(&format!("movies show {id}")).await;
    assert_eq!(error, None);
    assert!(text.starts_with(film["title"].as_str().unwrap()), "{text}");

    let (_, error, _) = term.run("movies show 999999999").await;
    assert_eq!(
        error.unwrap(),
        "no film with id 999999999; find ids with `movies search WORDS`"
    );
    let (text, _, _) = term.run("movies stats").await;
    let (_, stats) = get(&app, "/api/v1/movies/stats", None).await;
    assert!(text.contains(&stats["total"].to_string()), "{text}");

    // Tab completion and usage errors come from the same declarations.
    term.send(json!({"type": "complete", "line": "movies top 3 --by imdb_r"}))
        .await;
    let completion = term.next().await.unwrap();
    assert_eq!(completion["line"], "movies top 3 --by imdb_rating ");
    let (_, error, _) = term.run("movies top 5 --by popularity").await;
    assert!(
        error
            .unwrap()
            .starts_with("--by: expected one of imdb_rating")
    );
    let (_, error, _) = term.run("movies search star; rm -rf /").await;
    assert!(error.unwrap().contains("commands cannot be chained"));
}

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
    // The refused session did not count: closing one lets the next in.
    first.socket.close(None).await.unwrap();
    drop(first);
    let mut again = None;
    for _ in 0..100 {
        let mut term = Term::open(&app).await;
        if term.next().await.unwrap()["type"] == "output" {
            again = Some(term);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        again.is_some(),
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
    let app = spawn(|c| c.terminal.allowed_origins = "https://site.example".to_owned()).await;
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

#[tokio::test]
async fn oversized_and_binary_messages_are_refused() {
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
    // The server drops a connection whose message passes terminal.max_message.
    assert!(term.next().await.is_none(), "a 1 KB message was accepted");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped() {
    let app = spawn(|c| {
        c.terminal.commands_per_minute = 1_000_000;
        c.terminal.command_burst = 1_000_000;
        c.terminal.max_session_output = 1 << 40;
        c.terminal.write_buffer = 16 * 1024;
    })
    .await;
    let mut term = Term::open(&app).await;
    // Ask for far more output than the socket buffers hold (40,000 times the
    // help text), and read none of it for longer than the server waits for a
    // client to take a message.
    let line = json!({"type": "run", "line": "help"}).to_string();
    let mut sent = 0;
    for _ in 0..40_000 {
        let send = term.socket.send(Message::Text(line.clone().into()));
        match tokio::time::timeout(Duration::from_secs(1), send).await {
            Ok(Ok(())) => sent += 1,
            _ => break,
        }
    }
    tokio::time::sleep(Duration::from_secs(12)).await;
    // The server gave up on the session: reading now ends before the output of
    // every command arrived.
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
        "[owner]\nname = \"Ada Lovelace\"\nheadline = \"Analyst\"\n\n[[projects]]\nname = \"Engine\"\nlinks = [{ label = \"Open\", url = \"/movies\" }]\n",
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
    term.until_ready().await;
    let (text, _, _) = term.run("about").await;
    assert!(text.starts_with("Ada Lovelace\r\nAnalyst"), "{text}");

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
