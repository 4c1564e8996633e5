//! The api role over HTTP on both backends: platform endpoints, metrics, request ids,
//! problem responses, the start-up gate, panics, timeouts and the drain deadline.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use hangar_app::{App, AppContext, Apps};
use hangar_core::{Config, Shutdown};
use hangar_runtime::{MigrationPolicy, Roles, RunError, bind, start};
use hangar_store::StoreError;
use hangar_testkit::{Backend, TestApp, on_each_backend, skip};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;

async fn platform_endpoints_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Apps::default()).await else {
        return;
    };
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "alive");

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["store"], "ok");
    assert_eq!(body["checks"]["startup"], "ok");
}

async fn unknown_paths_get_a_problem_document(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Apps::default()).await else {
        return;
    };
    let response = app.get("/api/no/such/thing").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "urn:hangar:problem:not-found");
    assert_eq!(body["status"], 404);
    assert_eq!(body["detail"], "no resource at /api/no/such/thing");
    // Other paths belong to the web interface built into the binary: its
    // `index.html` for the interface's own routes, or, in a binary built
    // without npm, a problem saying so.
    let response = app.get("/no/such/thing").await;
    if hangar_api::WebUi::built_in() {
        assert_eq!(response.status(), 200);
        assert!(response.text().await.unwrap().contains("id=\"main\""));
    } else {
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], "urn:hangar:problem:web-ui-not-built");
    }
}

async fn request_ids_are_echoed_or_generated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Apps::default()).await else {
        return;
    };
    let echoed = app
        .client()
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
    let generated = app.get("/healthz").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
}

async fn metrics_use_route_templates_and_pass_promtool(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Apps::default()).await else {
        return;
    };
    // Paths no route takes (under /api/, so the web UI does not answer them).
    for path in [
        "/healthz",
        "/api/users/1234/secret",
        "/api/users/5678/secret",
    ] {
        app.get(path).await;
    }
    let response = app.get("/metrics").await;
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"hangar_http_requests_total{route="/healthz",method="GET",status="2xx"} "#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"hangar_http_requests_total{route="unmatched",method="GET",status="4xx"} 2"#
        ),
        "{text}"
    );
    assert!(
        !text.contains("/api/users/1234"),
        "raw paths must never become labels"
    );
    for family in [
        "hangar_http_request_duration_seconds_bucket{le=\"0.005\"",
        "hangar_build_info{version=",
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
    ] {
        assert!(text.contains(family), "missing {family}: {text}");
    }
    promtool_check(&text);

    let open = app
        .client()
        .get(app.url("/metrics"))
        .header("accept", "application/openmetrics-text;version=1.0.0")
        .send()
        .await
        .unwrap();
    assert!(
        open.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert!(open.text().await.unwrap().ends_with("# EOF\n"));
}

fn promtool_check(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        skip(
            "promtool check metrics",
            "promtool not installed (Debian package `prometheus`)",
        );
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Requests to `/api/v1/held/{name}` answer only when the test releases them
/// (`quick`) or never (any other name); the test learns when each arrives.
struct Held {
    arrived: tokio::sync::Semaphore,
    release: tokio::sync::Notify,
}

impl Default for Held {
    fn default() -> Self {
        Self {
            arrived: tokio::sync::Semaphore::new(0),
            release: tokio::sync::Notify::new(),
        }
    }
}

/// An app whose routes misbehave on purpose.
struct Misbehaving(Arc<Held>);

impl App for Misbehaving {
    fn name(&self) -> &'static str {
        "misbehaving"
    }

    fn routes(&self, _ctx: &AppContext) -> OpenApiRouter {
        let held = Arc::clone(&self.0);
        OpenApiRouter::from(
            Router::new()
                .route(
                    "/api/v1/panic",
                    get(|| async {
                        if true {
                            panic!("boom");
                        }
                        ""
                    }),
                )
                .route(
                    "/api/v1/slow/{ms}",
                    get(
                        |axum::extract::Path(ms): axum::extract::Path<u64>| async move {
                            tokio::time::sleep(Duration::from_millis(ms)).await;
                            "done"
                        },
                    ),
                )
                .route(
                    "/api/v1/held/{name}",
                    get(
                        move |axum::extract::Path(name): axum::extract::Path<String>| async move {
                            held.arrived.add_permits(1);
                            if name == "quick" {
                                held.release.notified().await;
                            } else {
                                std::future::pending::<()>().await;
                            }
                            "done"
                        },
                    ),
                ),
        )
    }
}

fn misbehaving_with(held: &Arc<Held>) -> Apps {
    Apps::new(vec![Arc::new(Misbehaving(Arc::clone(held))) as Arc<dyn App>]).unwrap()
}

fn misbehaving() -> Apps {
    misbehaving_with(&Arc::default())
}

async fn a_panicking_handler_answers_500_and_the_server_lives_on(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, misbehaving(), |_| {}).await else {
        return;
    };
    let response = app.get("/api/v1/panic").await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "urn:hangar:problem:internal");
    assert!(
        !body.to_string().contains("boom"),
        "panic text stays in the logs"
    );
    assert_eq!(app.get("/healthz").await.status(), 200);
}

async fn a_slow_handler_is_cut_at_the_request_timeout(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, misbehaving(), |c| {
        c.http.request_timeout = "200ms".parse().unwrap();
    })
    .await
    else {
        return;
    };
    assert_eq!(app.get("/api/v1/slow/0").await.status(), 200);
    let response = app.get("/api/v1/slow/5000").await;
    assert_eq!(response.status(), 408);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "urn:hangar:problem:request-timeout");
}

async fn shutdown_drains_in_flight_requests_up_to_the_deadline(backend: Backend) {
    let held = Arc::new(Held::default());
    let Some(app) = TestApp::spawn_with(backend, misbehaving_with(&held), |c| {
        c.http.shutdown_timeout = "1s".parse().unwrap();
    })
    .await
    else {
        return;
    };
    let client = app.client().clone();
    let quick = tokio::spawn(client.get(app.url("/api/v1/held/quick")).send());
    let stuck = tokio::spawn(client.get(app.url("/api/v1/held/stuck")).send());
    held.arrived.acquire_many(2).await.unwrap().forget();
    let shutdown = app.shutdown().clone();
    let url = app.url("/healthz");
    let started = Instant::now();
    let stopping = tokio::spawn(app.stop());
    shutdown.wait().await;
    // Released once the server is draining: it still answers.
    held.release.notify_one();
    assert_eq!(
        quick.await.unwrap().unwrap().status(),
        200,
        "in-flight request finished"
    );
    // The stuck request never answers: the stop returns because the deadline
    // cut it, not before.
    tokio::time::timeout(Duration::from_secs(60), stopping)
        .await
        .expect("the stop ends at the drain deadline")
        .unwrap()
        .expect("a clean stop");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for the deadline: {:?}",
        started.elapsed()
    );
    assert!(
        stuck.await.unwrap().is_err(),
        "the request past the deadline was cut"
    );
    assert!(reqwest::get(url).await.is_err(), "no longer accepting");
}

on_each_backend!(
    platform_endpoints_answer,
    unknown_paths_get_a_problem_document,
    request_ids_are_echoed_or_generated,
    metrics_use_route_templates_and_pass_promtool,
    a_panicking_handler_answers_500_and_the_server_lives_on,
    a_slow_handler_is_cut_at_the_request_timeout,
    shutdown_drains_in_flight_requests_up_to_the_deadline,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_the_store_is_unreachable_then_the_role_fails() {
    let mut config = Config {
        database_url: "postgres://hangar@127.0.0.1:1/nothing".parse().unwrap(),
        ..Config::default()
    };
    config.store.connect_timeout = "5s".parse().unwrap();
    let config = Arc::new(config);
    let listener = bind(([127, 0, 0, 1], 0).into()).await.unwrap();
    let apps = misbehaving();
    let roles = Roles {
        api: true,
        worker: None,
        scheduler: false,
        migrations: MigrationPolicy::Apply,
    };
    let role = start(config, &apps, listener, Shutdown::new(), roles).unwrap();
    let base = format!("http://{}", role.local_addr);

    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["checks"]["startup"], "in progress");
    let gated = reqwest::get(format!("{base}/api/v1/slow/1")).await.unwrap();
    assert_eq!(gated.status(), 503);
    assert_eq!(gated.headers()["retry-after"], "1");

    let started = Instant::now();
    let err = role.wait().await.unwrap_err();
    assert!(
        matches!(err, RunError::Store(StoreError::Unreachable { .. })),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}
