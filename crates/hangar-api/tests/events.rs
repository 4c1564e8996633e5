//! The realtime feed on both store backends: SSE with resume after reconnect,
//! heartbeats, auth and topic checks, a slow client cut off and resuming from the
//! log, a `reset` after pruning, and the same events over a WebSocket.

#![allow(clippy::unwrap_used)]

mod api_support;

use std::time::Duration;

use api_support::{get, kind, spawn_with_movies, user_token};
use futures_util::StreamExt;
use hangar_testkit::{Backend, TestApp, on_each_backend};
use serde_json::{Value, json};

const ADMIN: &str = "test-admin-token-of-at-least-32-characters";

/// One server-sent event (or a comment, with `comment` set).
#[derive(Debug, Clone, Default)]
struct Sse {
    id: Option<i64>,
    event: String,
    data: String,
    comment: bool,
}

/// A connected SSE stream and the bytes not yet parsed.
struct Client {
    stream:
        std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl Client {
    async fn connect(app: &TestApp, topics: &str, last_event_id: Option<i64>) -> Client {
        let mut request = app
            .client()
            .get(app.url(&format!("/api/v1/events?topics={topics}")))
            .bearer_auth(ADMIN);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Client {
            stream: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next event or comment; `None` when the server closed the stream.
    async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut sse = Sse::default();
                for line in frame.lines() {
                    if let Some(text) = line.strip_prefix(':') {
                        sse.comment = true;
                        sse.data = text.trim().to_owned();
                    } else if let Some((field, value)) = line.split_once(':') {
                        let value = value.strip_prefix(' ').unwrap_or(value);
                        match field {
                            "id" => sse.id = value.parse().ok(),
                            "event" => sse.event = value.to_owned(),
                            "data" => sse.data = value.to_owned(),
                            _ => {}
                        }
                    }
                }
                return Some(sse);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.stream.next())
                .await
                .expect("no event within 30s")?;
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    eprintln!("the event stream failed: {e:?}");
                    return None;
                }
            };
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Events (not comments) until one matches `done`, which is included.
    async fn until(&mut self, done: impl Fn(&Sse) -> bool) -> Vec<Sse> {
        let mut seen = Vec::new();
        while let Some(sse) = self.next().await {
            if sse.comment {
                continue;
            }
            let last = done(&sse);
            seen.push(sse);
            if last {
                return seen;
            }
        }
        panic!("the stream ended before the awaited event; saw {seen:?}");
    }
}

fn data(sse: &Sse) -> Value {
    serde_json::from_str(&sse.data).unwrap()
}

async fn trigger_etl(app: &TestApp) -> String {
    let response = app
        .client()
        .post(app.url("/api/v1/pipelines/movies_etl/runs"))
        .bearer_auth(ADMIN)
        .json(&json!({"params": {"source": api_support::sample()}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn a_client_resumes_after_the_last_event_it_saw(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let mut live = Client::connect(&app, "pipelines", None).await;
    let run = trigger_etl(&app).await;
    let finished = |sse: &Sse| {
        sse.event == "run.state"
            && data(sse)["run"] == run.as_str()
            && data(sse)["state"] == "succeeded"
    };
    let first = live.until(finished).await;
    let ids: Vec<i64> = first.iter().map(|e| e.id.unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids must grow: {ids:?}"
    );
    assert_eq!(first[0].event, "run.state");
    assert_eq!(data(&first[0])["state"], "running");
    let tasks: Vec<(String, String)> = first
        .iter()
        .filter(|e| e.event == "task.state")
        .map(|e| {
            (
                data(e)["task"].as_str().unwrap().to_owned(),
                data(e)["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for task in ["extract", "clean", "load", "stats"] {
        assert!(
            tasks.contains(&(task.to_owned(), "succeeded".to_owned())),
            "{task}: {tasks:?}"
        );
    }

    // Reconnect as if the connection dropped after the third event: the rest
    // comes again, in order, nothing before it.
    let mut resumed = Client::connect(&app, "pipelines", Some(ids[2])).await;
    let again = resumed.until(finished).await;
    let again_ids: Vec<i64> = again.iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(again_ids, ids[3..]);
    assert_eq!(again.last().unwrap().data, first.last().unwrap().data);

    // The jobs topic of the same log: the tasks' jobs, started and succeeded.
    let mut jobs = Client::connect(&app, "jobs", Some(0)).await;
    let job_events = jobs.until(|e| data(e)["state"] == "succeeded").await;
    assert!(job_events.iter().all(|e| e.event == "job.state"));
    assert_eq!(data(&job_events[0])["name"], "pipeline.task");
}

async fn the_feed_checks_callers_topics_and_positions(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| {
        c.events.heartbeat = hangar_core::config::HumanDuration::millis(200);
    })
    .await
    else {
        return;
    };
    let (status, body) = get(&app, "/api/v1/events?topics=jobs", None).await;
    assert_eq!((status, kind(&body)), (401, "unauthorized"));
    let user = user_token(&app).await;
    let (status, body) = get(&app, "/api/v1/events?topics=jobs", Some(&user)).await;
    assert_eq!((status, kind(&body)), (403, "forbidden"));
    for (path, named) in [
        ("/api/v1/events", "topics"),
        ("/api/v1/events?topics=jobs,weather", "weather"),
        ("/api/v1/events?topics=jobs&since=3", "since"),
        (
            "/api/v1/events?topics=jobs&last_event_id=yesterday",
            "yesterday",
        ),
    ] {
        let (status, body) = get(&app, path, Some(ADMIN)).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(named),
            "{path}: {body}"
        );
    }
    // An idle stream carries heartbeats. The sample's run has succeeded, but its
    // last task's job may still be settling in the queue: its events can come
    // first, then only heartbeats.
    let mut idle = Client::connect(&app, "jobs", None).await;
    let beat = loop {
        let next = idle.next().await.unwrap();
        if next.comment {
            break next;
        }
        assert_eq!(next.event, "job.state", "{next:?}");
        assert_eq!(data(&next)["name"], "pipeline.task", "{next:?}");
    };
    assert!(beat.comment, "{beat:?}");
    // A token in the query works for clients that cannot set headers.
    let response = app
        .client()
        .get(app.url(&format!("/api/v1/events?topics=jobs&access_token={ADMIN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn a_slow_client_is_cut_off_and_resumes_from_the_log(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| c.events.client_buffer = 8).await else {
        return;
    };
    let mut slow = Client::connect(&app, "jobs", None).await;
    let events = app.queue.events();
    for n in 0..300 {
        events.publish("jobs", "job.state", json!({"n": n}).to_string());
    }
    // More than 8 behind at once: the server ends this client's stream.
    let mut got = Vec::new();
    while let Some(sse) = slow.next().await {
        if !sse.comment {
            got.push(sse);
        }
    }
    assert!(
        got.len() < 300,
        "the slow client got everything: {}",
        got.len()
    );
    // It reconnects from where it was and gets the rest, in order, from the log.
    let last = got.last().map(|e| e.id.unwrap());
    let first_n = got.len();
    let mut resumed = Client::connect(&app, "jobs", last.or(Some(0))).await;
    let rest = resumed.until(|e| data(e)["n"] == 299).await;
    // (The jobs topic also carries the loading ETL's job events, without `n`.)
    let ns: Vec<i64> = got
        .iter()
        .chain(&rest)
        .filter_map(|e| data(e)["n"].as_i64())
        .collect();
    let expected: Vec<i64> = (0..300).collect();
    assert_eq!(
        ns[ns.len() - 300..],
        expected,
        "after {first_n} before the cut"
    );
}

async fn a_client_behind_pruned_events_is_told_to_reset(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let mut client = Client::connect(&app, "jobs", None).await;
    app.queue
        .events()
        .publish("jobs", "job.state", json!({"n": 1}).to_string());

    let seen = client.until(|e| data(e)["n"] == 1).await;
    let last = seen.last().unwrap().id.unwrap();
    hangar_store::events::prune_events(&app.store, i64::MAX)
        .await
        .unwrap();
    let mut late = Client::connect(&app, "jobs", Some(last - 1)).await;
    let first = late.until(|_| true).await;
    assert_eq!(first[0].event, "reset");
}

async fn the_websocket_carries_the_same_events(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| {
        c.events.heartbeat = hangar_core::config::HumanDuration::millis(200);
    })
    .await
    else {
        return;
    };
    let url = format!(
        "{}/api/v1/events/ws?topics=jobs&access_token={ADMIN}",
        app.base_url.replace("http://", "ws://")
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(response.status(), 101);
    for n in 0..3 {
        app.queue
            .events()
            .publish("jobs", "job.state", json!({"n": n}).to_string());
    }
    let mut received = Vec::new();
    let mut pinged = false;
    while received.len() < 3 || !pinged {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match message {
            tokio_tungstenite::tungstenite::Message::Text(text) => {
                let event = serde_json::from_str::<Value>(&text).unwrap();
                // (The loading ETL's last job events may still come in.)
                if event["data"]["n"].is_i64() {
                    received.push(event);
                }
            }
            tokio_tungstenite::tungstenite::Message::Ping(_) => pinged = true,
            other => panic!("unexpected message {other:?}"),
        }
    }
    let ns: Vec<i64> = received
        .iter()
        .map(|e| e["data"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [0, 1, 2]);
    assert!(
        received
            .iter()
            .all(|e| e["topic"] == "jobs" && e["kind"] == "job.state")
    );
    assert!(
        received
            .windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64())
    );
    // Resume over a WebSocket too.
    let after = received[0]["id"].as_i64().unwrap();
    socket.close(None).await.unwrap();
    let url = format!(
        "{}/api/v1/events/ws?topics=jobs&access_token={ADMIN}&last_event_id={after}",
        app.base_url.replace("http://", "ws://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut again = Vec::new();
    while again.len() < 2 {
        if let tokio_tungstenite::tungstenite::Message::Text(text) =
            socket.next().await.unwrap().unwrap()
            && let Some(n) = serde_json::from_str::<Value>(&text).unwrap()["data"]["n"].as_i64()
        {
            again.push(n);
        }
    }
    assert_eq!(again, [1, 2]);
    // Without a token, the upgrade is refused with a problem.
    let url = format!(
        "{}/api/v1/events/ws?topics=jobs",
        app.base_url.replace("http://", "ws://")
    );
    let refused = tokio_tungstenite::connect_async(url).await.unwrap_err();
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 401),
        other => panic!("expected a 401, got {other:?}"),
    }
}

on_each_backend!(
    a_client_resumes_after_the_last_event_it_saw,
    the_feed_checks_callers_topics_and_positions,
    a_slow_client_is_cut_off_and_resumes_from_the_log,
    a_client_behind_pruned_events_is_told_to_reset,
    the_websocket_carries_the_same_events,
);
