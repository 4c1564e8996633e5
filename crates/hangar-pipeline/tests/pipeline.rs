//! Pipelines on both store backends: DAG shapes, failure propagation, every
//! trigger rule, retries, timeouts, cancellation, max_active_runs, trigger
//! validation through the API, and extract's sources. (The movies ETL's own
//! tests live with the app, in apps/movies/tests/etl.rs.)

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hangar_pipeline::TriggeredBy;
use hangar_testkit::pipelines::{self as pipeline_support, finished, state, states};
use hangar_testkit::{Backend, TestApp, on_each_backend};
use serde_json::{Value, json};

const DIAMOND: &str = r#"
name = "diamond"
[[tasks]]
id = "a"
operator = "test.emit"
value = 1
[[tasks]]
id = "b"
operator = "test.add"
depends_on = ["a"]
plus = 1
[[tasks]]
id = "c"
operator = "test.add"
depends_on = ["a"]
plus = 2
[[tasks]]
id = "d"
operator = "test.add"
depends_on = ["b", "c"]
"#;

const PROPAGATION: &str = r#"
name = "propagation"
[[tasks]]
id = "a"
operator = "test.fail"
[[tasks]]
id = "b"
operator = "test.emit"
depends_on = ["a"]
[[tasks]]
id = "c"
operator = "test.emit"
depends_on = ["b"]
[[tasks]]
id = "independent"
operator = "test.emit"
"#;

const RULES: &str = r#"
name = "rules"
[[tasks]]
id = "ok"
operator = "test.emit"
value = 1
[[tasks]]
id = "bad"
operator = "test.fail"
[[tasks]]
id = "all_success"
operator = "test.emit"
depends_on = ["ok", "bad"]
[[tasks]]
id = "all_done"
operator = "test.emit"
depends_on = ["ok", "bad"]
trigger_rule = "all_done"
[[tasks]]
id = "one_success"
operator = "test.emit"
depends_on = ["ok", "bad"]
trigger_rule = "one_success"
[[tasks]]
id = "one_failed"
operator = "test.emit"
depends_on = ["ok", "bad"]
trigger_rule = "one_failed"
[[tasks]]
id = "none_failed"
operator = "test.emit"
depends_on = ["ok", "bad"]
trigger_rule = "none_failed"
[[tasks]]
id = "only_on_failure"
operator = "test.emit"
depends_on = ["ok"]
trigger_rule = "one_failed"
[[tasks]]
id = "after_skip"
operator = "test.emit"
depends_on = ["only_on_failure"]
[[tasks]]
id = "none_failed_after_skip"
operator = "test.emit"
depends_on = ["ok", "only_on_failure"]
trigger_rule = "none_failed"
"#;

const RETRIES: &str = r#"
name = "retries"
[[tasks]]
id = "flaky"
operator = "test.flaky"
fail_tries = 2
retries = 2
retry_delay = "100ms"
[[tasks]]
id = "slow"
operator = "test.sleep"
ms = 5000
timeout = "200ms"
"#;

const CANCEL: &str = r#"
name = "cancellable"
[[tasks]]
id = "long"
operator = "test.sleep"
ms = 30000
[[tasks]]
id = "after"
operator = "test.emit"
depends_on = ["long"]
"#;

const SINGLE: &str = r#"
name = "single"
max_active_runs = 1
[[tasks]]
id = "nap"
operator = "test.sleep"
ms = 400
"#;

const TYPED: &str = r#"
name = "typed"
[params.count]
type = "integer"
[params.label]
type = "string"
default = "films"
[params.ratio]
type = "float"
default = 0.5
[params.verbose]
type = "boolean"
default = false
[[tasks]]
id = "echo"
operator = "test.emit"
value = "${params.count}"
[[tasks]]
id = "text"
operator = "test.emit"
value = "${params.count} ${params.label}"
"#;

const FETCH: &str = r#"
name = "fetch"
[params.url]
type = "string"
[[tasks]]
id = "get"
operator = "extract"
source = "${params.url}"
request_timeout = "300ms"
attempts = 3
"#;

const READ: &str = r#"
name = "read"
[params.path]
type = "string"
[[tasks]]
id = "get"
operator = "extract"
source = "${params.path}"
retries = 2
retry_delay = "10s"
"#;

async fn spawn(backend: Backend) -> Option<TestApp> {
    spawn_reading(backend, &datasets(), "http://127.0.0.1:").await
}

/// The fixtures' and the fetched datasets' directories.
fn datasets() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    format!("{root}/../../fixtures/datasets, {root}/../../data/datasets")
}

/// The test app with extract reading under `file_roots` and from `http_allow`.
async fn spawn_reading(backend: Backend, file_roots: &str, http_allow: &str) -> Option<TestApp> {
    let definitions = vec![
        DIAMOND,
        PROPAGATION,
        RULES,
        RETRIES,
        CANCEL,
        SINGLE,
        TYPED,
        FETCH,
        READ,
    ];
    TestApp::spawn_with(backend, pipeline_support::apps(definitions), |c| {
        c.api.admin_token = "test-admin-token-of-at-least-32-characters".to_owned();
        c.queue.poll_interval = "50ms".parse().unwrap();
        c.pipeline.max_input_bytes = 2_000_000;
        c.pipeline.file_roots = file_roots.to_owned();
        c.pipeline.http_allow = http_allow.to_owned();
    })
    .await
}

/// A real HTTP server for the extract tests: the sample movies, an endpoint that
/// fails twice before answering, one too large, and one too slow.
async fn http_source() -> String {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::routing::get;
    let movies = std::fs::read(fixture("movies.json")).unwrap();
    let failures = Arc::new(AtomicUsize::new(0));
    let router = axum::Router::new()
        .route("/movies.json", get(move || async move { movies.clone() }))
        .route(
            "/flaky.ndjson",
            get(move || async move {
                if failures.fetch_add(1, Ordering::SeqCst) < 2 {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, String::new())
                } else {
                    (
                        axum::http::StatusCode::OK,
                        "{\"a\":1}\n{\"a\":2}\n".to_owned(),
                    )
                }
            }),
        )
        .route("/huge.json", get(|| async { vec![b' '; 3_000_000] }))
        .route(
            "/slow.json",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "[]"
            }),
        )
        .route(
            "/missing.json",
            get(|| async { axum::http::StatusCode::NOT_FOUND }),
        )
        .route(
            "/elsewhere.json",
            get(|| async { axum::response::Redirect::temporary("http://127.0.0.1:1/metrics") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

async fn extract_over_http_retries_and_enforces_limits(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let base = http_source().await;
    let fetch = |path: &str| Some(json!({ "url": format!("{base}{path}") }));

    let movies = run(&app, "fetch", fetch("/movies.json")).await;
    assert_eq!(movies.state, "succeeded");
    let output = movies.tasks.as_ref().unwrap()[0].output.clone().unwrap();
    assert_eq!(output.as_array().unwrap().len(), 300);

    let flaky = run(&app, "fetch", fetch("/flaky.ndjson")).await;
    assert_eq!(flaky.state, "succeeded", "{flaky:#?}");
    assert_eq!(
        flaky.tasks.as_ref().unwrap()[0].output,
        Some(json!([{"a": 1}, {"a": 2}]))
    );
    let logs = app.pipelines.logs(flaky.id, None).await.unwrap();
    assert_eq!(
        logs.iter()
            .filter(|l| l.message.contains("answered 503"))
            .count(),
        2,
        "two retried attempts"
    );

    for (path, error) in [
        ("/huge.json", "over the limit of 2000000"),
        ("/slow.json", "no complete answer within 300ms"),
        ("/missing.json", "answered 404 Not Found"),
    ] {
        let failed = run(&app, "fetch", fetch(path)).await;
        assert_eq!(failed.state, "failed", "{path}");
        let message = failed.tasks.as_ref().unwrap()[0].error.clone().unwrap();
        assert!(message.contains(error), "{path}: {message}");
    }
}

async fn run(app: &TestApp, name: &str, params: Option<Value>) -> hangar_pipeline::RunView {
    let run = app
        .pipelines
        .trigger(name, params.as_ref(), TriggeredBy::Cli)
        .await
        .unwrap()
        .unwrap();
    finished(&app.pipelines, run.id).await
}

/// The error of a run's only task, which must have failed on its first try.
fn refusal(run: &hangar_pipeline::RunView) -> String {
    assert_eq!(run.state, "failed", "{run:#?}");
    let task = &run.tasks.as_ref().unwrap()[0];
    assert_eq!(task.try_number, 1, "a refusal is not retried: {task:#?}");
    task.error.clone().unwrap()
}

async fn extract_reads_only_under_its_roots(backend: Backend) {
    // The layout of an installation: the data directory holds the secret and
    // the database, its datasets directory the files to load.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let datasets = data.join("datasets");
    std::fs::create_dir_all(&datasets).unwrap();
    std::fs::write(data.join("jwt-secret"), "[\"not for the movies table\"]").unwrap();
    std::fs::copy(fixture("movies.json"), datasets.join("movies.json")).unwrap();
    std::os::unix::fs::symlink(data.join("jwt-secret"), datasets.join("escape.json")).unwrap();
    std::os::unix::fs::symlink(&data, datasets.join("up")).unwrap();
    let Some(app) = spawn_reading(backend, &datasets.display().to_string(), "").await else {
        return;
    };
    let read = |path: String| {
        let app = &app;
        async move { run(app, "read", Some(json!({ "path": path }))).await }
    };

    let allowed = read(datasets.join("movies.json").display().to_string()).await;
    assert_eq!(allowed.state, "succeeded", "{allowed:#?}");
    let records = allowed.tasks.as_ref().unwrap()[0].output.clone().unwrap();
    assert_eq!(records.as_array().unwrap().len(), 300);

    let d = datasets.display();
    for path in [
        "/etc/passwd".to_owned(),
        "/proc/self/environ".to_owned(),
        data.join("jwt-secret").display().to_string(),
        format!("{d}/../jwt-secret"),
        format!("{d}/escape.json"),
        format!("{d}/up/jwt-secret"),
    ] {
        let refused = read(path.clone()).await;
        let error = refusal(&refused);
        assert!(
            error.starts_with("parameter `path` refused: ")
                && error.contains("is outside the directories an extract may read")
                && error.contains(&d.to_string())
                && error.contains("pipeline.file_roots"),
            "{path}: {error}"
        );
        let logs = app.pipelines.logs(refused.id, None).await.unwrap();
        assert!(
            logs.iter().all(|l| !l.message.starts_with("read ")),
            "{path} was read: {logs:#?}"
        );
    }
}

async fn extract_fetches_only_allowed_public_or_listed_urls(backend: Backend) {
    let base = http_source().await;
    // Any public http server, and the test server's movies by name.
    let allow = format!("http://, {base}/movies.json, {base}/elsewhere.json");
    let Some(app) = spawn_reading(backend, "", &allow).await else {
        return;
    };
    let fetch = |url: String| {
        let app = &app;
        async move { run(app, "fetch", Some(json!({ "url": url }))).await }
    };

    let allowed = fetch(format!("{base}/movies.json")).await;
    assert_eq!(allowed.state, "succeeded", "{allowed:#?}");

    let metrics = app.url("/metrics");
    let port = metrics
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    for (url, expected) in [
        (metrics.clone(), "is 127.0.0.1, a loopback address"),
        (
            format!("http://localhost:{port}/metrics"),
            "a loopback address",
        ),
        (
            format!("http://[::1]:{port}/metrics"),
            "is ::1, a loopback address",
        ),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "a link-local address",
        ),
        (format!("{base}/elsewhere.json"), "redirected: "),
        (
            format!("https://127.0.0.1:{port}/metrics"),
            "does not start with an allowed prefix",
        ),
    ] {
        let error = refusal(&fetch(url.clone()).await);
        assert!(
            error.starts_with("parameter `url` refused: ")
                && error.contains(expected)
                && error.contains("pipeline.http_allow"),
            "{url}: {error}"
        );
    }

    let Some(closed) = spawn_reading(backend, "", "").await else {
        return;
    };
    let run = run(
        &closed,
        "fetch",
        Some(json!({ "url": format!("{base}/movies.json") })),
    )
    .await;
    assert!(
        refusal(&run).contains("pipeline.http_allow is empty, so no URL is fetched"),
        "{run:#?}"
    );
}

async fn a_diamond_passes_outputs_downstream(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let run = run(&app, "diamond", None).await;
    assert_eq!(run.state, "succeeded", "{run:#?}");
    let d = run
        .tasks
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.task_id == "d")
        .unwrap();
    assert_eq!(d.output, Some(json!(5.0)), "d = (1 + 1) + (1 + 2)");
    let order: Vec<&str> = run
        .tasks
        .as_ref()
        .unwrap()
        .iter()
        .map(|t| t.task_id.as_str())
        .collect();
    assert_eq!(order, vec!["a", "b", "c", "d"]);
}

async fn a_failure_propagates_to_downstream_tasks_only(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let run = run(&app, "propagation", None).await;
    assert_eq!(run.state, "failed");
    assert_eq!(
        run.error.as_deref(),
        Some("failed tasks: a; upstream failed: b, c")
    );
    assert_eq!(
        states(&run),
        vec![
            ("a".into(), "failed".into()),
            ("independent".into(), "succeeded".into()),
            ("b".into(), "upstream_failed".into()),
            ("c".into(), "upstream_failed".into()),
        ]
    );
    let logs = app.pipelines.logs(run.id, Some("a")).await.unwrap();
    let messages: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
    assert!(messages.contains(&"about to fail"), "{messages:?}");
    assert!(
        messages.contains(&"failed: failed on purpose"),
        "{messages:?}"
    );
}

async fn each_trigger_rule_decides_as_documented(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let run = run(&app, "rules", None).await;
    for (task, expected) in [
        ("ok", "succeeded"),
        ("bad", "failed"),
        ("all_success", "upstream_failed"),
        ("all_done", "succeeded"),
        ("one_success", "succeeded"),
        ("one_failed", "succeeded"),
        ("none_failed", "upstream_failed"),
        ("only_on_failure", "skipped"),
        ("after_skip", "skipped"),
        ("none_failed_after_skip", "succeeded"),
    ] {
        assert_eq!(state(&run, task), expected, "{task}: {:#?}", states(&run));
    }
}

async fn failed_tries_are_retried_and_slow_ones_time_out(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let run = run(&app, "retries", None).await;
    let flaky = run
        .tasks
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.task_id == "flaky")
        .unwrap();
    assert_eq!(
        (flaky.state.as_str(), flaky.try_number, flaky.max_tries),
        ("succeeded", 3, 3)
    );
    let tries: Vec<i32> = app
        .pipelines
        .logs(run.id, Some("flaky"))
        .await
        .unwrap()
        .iter()
        .map(|l| l.try_number)
        .collect();
    assert!(
        tries.contains(&1) && tries.contains(&2) && tries.contains(&3),
        "{tries:?}"
    );
    let slow = run
        .tasks
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.task_id == "slow")
        .unwrap();
    assert_eq!(slow.state, "failed");
    assert_eq!(slow.error.as_deref(), Some("timed out after 200ms"));
}

async fn a_cancelled_run_stops_its_tasks(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let started = app
        .pipelines
        .trigger("cancellable", None, TriggeredBy::Cli)
        .await
        .unwrap()
        .unwrap();
    let started_at = std::time::Instant::now();
    loop {
        let run = app.pipelines.run(started.id).await.unwrap();
        if state(&run, "long") == "running" {
            break;
        }
        assert!(started_at.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let cancelled = app.pipelines.cancel(started.id).await.unwrap();
    assert_eq!(cancelled.state, "cancelled");
    assert_eq!(state(&cancelled, "after"), "cancelled");
    let deadline = std::time::Instant::now();
    loop {
        let run = app.pipelines.run(started.id).await.unwrap();
        if state(&run, "long") == "cancelled" {
            break;
        }
        assert!(
            deadline.elapsed() < Duration::from_secs(30),
            "the running task stops: {:#?}",
            states(&run)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = app.pipelines.cancel(started.id).await.unwrap_err();
    assert!(again.to_string().contains("is cancelled"), "{again}");
}

async fn runs_beyond_max_active_runs_wait_their_turn(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let first = app
        .pipelines
        .trigger("single", None, TriggeredBy::Cli)
        .await
        .unwrap()
        .unwrap();
    let second = app
        .pipelines
        .trigger("single", None, TriggeredBy::Cli)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.state.as_str(), second.state.as_str()),
        ("running", "queued")
    );
    let first = finished(&app.pipelines, first.id).await;
    let second = finished(&app.pipelines, second.id).await;
    assert_eq!(
        (first.state.as_str(), second.state.as_str()),
        ("succeeded", "succeeded")
    );
    assert!(
        second.started_at.unwrap() >= first.finished_at.unwrap(),
        "the second started after the first ended"
    );
}

async fn triggers_are_validated_before_anything_is_created(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let post = |path: &str, body: &str| {
        app.client()
            .post(app.url(path))
            .bearer_auth("test-admin-token-of-at-least-32-characters")
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "typed",
            r#"{"params": {"count": "three"}}"#.into(),
            422,
            "parameter `count` must be an integer",
        ),
        (
            "typed",
            r#"{"params": {"count": 3, "colour": "red"}}"#.into(),
            422,
            "unknown parameter `colour`",
        ),
        (
            "typed",
            r#"{"params": {}}"#.into(),
            422,
            "parameter `count` (integer) is required",
        ),
        (
            "typed",
            r#"{"params": {"count": 3, "ratio": "half"}}"#.into(),
            422,
            "parameter `ratio` must be a number",
        ),
        (
            "typed",
            r#"{"params": [1, 2]}"#.into(),
            422,
            "params must be a JSON object",
        ),
        (
            "typed",
            r#"{"params": {"count": 3}"#.into(),
            400,
            "not JSON",
        ),
        (
            "typed",
            r#"{"parameters": {"count": 3}}"#.into(),
            400,
            "unknown field `parameters`",
        ),
        (
            "typed",
            format!(r#"{{"params": {{"label": "{}"}}}}"#, "x".repeat(70_000)),
            413,
            "at most 65536 bytes",
        ),
        ("nope", r#"{}"#.into(), 404, "no pipeline `nope`"),
    ];
    for (pipeline, body, status, detail) in cases {
        let response = post(&format!("/api/v1/pipelines/{pipeline}/runs"), &body)
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{}", &body[..body.len().min(80)]);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(detail),
            "{problem}"
        );
    }
    assert!(
        app.pipelines
            .runs(None, None, 100)
            .await
            .unwrap()
            .is_empty(),
        "no run was created"
    );

    let created = post(
        "/api/v1/pipelines/typed/runs",
        r#"{"params": {"count": 3}}"#,
    )
    .await
    .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let run: Value = created.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/runs/{}", run["id"].as_str().unwrap())
    );
    assert_eq!(
        run["params"],
        json!({"count": 3, "label": "films", "ratio": 0.5, "verbose": false})
    );
    let id = run["id"].as_str().unwrap().parse().unwrap();
    let done = finished(&app.pipelines, id).await;
    let output = |task: &str| {
        done.tasks
            .as_ref()
            .unwrap()
            .iter()
            .find(|t| t.task_id == task)
            .unwrap()
            .output
            .clone()
    };
    assert_eq!(
        output("echo"),
        Some(json!(3)),
        "a whole-string reference keeps the type"
    );
    assert_eq!(output("text"), Some(json!("3 films")));

    let shown: Value = app
        .client()
        .get(app.url(&location))
        .bearer_auth("test-admin-token-of-at-least-32-characters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["state"], "succeeded");
    let listed: Value = app
        .client()
        .get(app.url("/api/v1/pipelines/typed/runs"))
        .bearer_auth("test-admin-token-of-at-least-32-characters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let unauthenticated = app
        .client()
        .post(app.url("/api/v1/pipelines/typed/runs"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
}

fn fixture(name: &str) -> String {
    format!(
        "{}/../../fixtures/datasets/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

on_each_backend!(
    extract_over_http_retries_and_enforces_limits,
    extract_reads_only_under_its_roots,
    extract_fetches_only_allowed_public_or_listed_urls,
    a_diamond_passes_outputs_downstream,
    a_failure_propagates_to_downstream_tasks_only,
    each_trigger_rule_decides_as_documented,
    failed_tries_are_retried_and_slow_ones_time_out,
    a_cancelled_run_stops_its_tasks,
    runs_beyond_max_active_runs_wait_their_turn,
    triggers_are_validated_before_anything_is_created,
);
