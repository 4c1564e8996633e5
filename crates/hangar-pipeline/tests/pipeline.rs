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

const HANGING: &str = r#"
name = "hanging"
[params.url]
type = "string"
[[tasks]]
id = "get"
operator = "extract"
source = "${params.url}"
request_timeout = "10m"
attempts = 1
timeout = "10m"
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
        HANGING,
    ];
    TestApp::spawn_with(backend, pipeline_support::apps(definitions), |c| {
        c.api.admin_token = "test-admin-token-of-at-least-32-characters".into();
        c.queue.poll_interval = "50ms".parse().unwrap();
        c.pipeline.max_input_bytes = 2_000_000;
        c.pipeline.file_roots = file_roots.parse().unwrap();
        c.pipeline.http_allow = http_allow.parse().unwrap();
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
    // The API pages the same lines, one a page, in the same order.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.map_or_else(String::new, |c| format!("&cursor={c}"));
        let page: Value = admin_get(
            &app,
            &format!("/api/v1/runs/{}/logs?limit=1{query}", flaky.id),
        )
        .await;
        paged.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["message"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<Value> = logs.iter().map(|l| json!(l.message)).collect();
    assert_eq!(paged, expected);

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
    hangar_testkit::pipelines::run(&app.pipelines, name, params).await
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
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["next_cursor"], Value::Null, "{listed}");
    // A second run: the newest comes first, and the cursor leads to the first.
    let again: Value = post(
        "/api/v1/pipelines/typed/runs",
        r#"{"params": {"count": 4}}"#,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let newest = admin_get(&app, "/api/v1/pipelines/typed/runs?limit=1").await;
    assert_eq!(newest["items"][0]["id"], again["id"], "{newest}");
    let cursor = newest["next_cursor"].as_str().unwrap();
    let older = admin_get(
        &app,
        &format!("/api/v1/pipelines/typed/runs?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(older["items"][0]["id"], run["id"], "{older}");
    assert_eq!(older["next_cursor"], Value::Null, "{older}");
    let pipelines = admin_get(&app, "/api/v1/pipelines?limit=1").await;
    assert_eq!(
        pipelines["items"].as_array().unwrap().len(),
        1,
        "{pipelines}"
    );
    let cursor = pipelines["next_cursor"].as_str().unwrap();
    let rest = admin_get(&app, &format!("/api/v1/pipelines?cursor={cursor}")).await;
    assert!(
        rest["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"].as_str() > pipelines["items"][0]["name"].as_str()),
        "{rest}"
    );
    let unauthenticated = app
        .client()
        .post(app.url("/api/v1/pipelines/typed/runs"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
}

/// GET with the admin token; the body of a 200.
async fn admin_get(app: &TestApp, path: &str) -> Value {
    let response = app
        .client()
        .get(app.url(path))
        .bearer_auth("test-admin-token-of-at-least-32-characters")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn fixture(name: &str) -> String {
    format!(
        "{}/../../fixtures/datasets/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A loopback server that accepts connections, reads the request and never
/// answers; it reports each connection, and each one the client closed.
async fn silent_server() -> (String, tokio::sync::mpsc::UnboundedReceiver<&'static str>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (events, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let events = events.clone();
            let _ = events.send("accepted");
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                // Reads until the client closes the connection (or resets it).
                while let Ok(n) = socket.read(&mut buffer).await {
                    if n == 0 {
                        break;
                    }
                }
                let _ = events.send("closed");
            });
        }
    });
    (format!("http://{addr}/never.json"), received)
}

async fn next_event(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<&'static str>,
) -> &'static str {
    tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("the server saw no event within 30 s")
        .unwrap()
}

async fn cancelling_a_run_aborts_its_fetch(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (url, mut events) = silent_server().await;
    let started = app
        .pipelines
        .trigger("hanging", Some(&json!({ "url": url })), TriggeredBy::Cli)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next_event(&mut events).await, "accepted");
    let cancelled = app.pipelines.cancel(started.id).await.unwrap();
    assert_eq!(cancelled.state, "cancelled");
    // The fetch is aborted: the connection closes, though the server never
    // answered and the request and task timeouts are 10 minutes away.
    assert_eq!(next_event(&mut events).await, "closed");
    let deadline = std::time::Instant::now();
    let run = loop {
        let run = app.pipelines.run(started.id).await.unwrap();
        if state(&run, "get") != "running" {
            break run;
        }
        assert!(
            deadline.elapsed() < Duration::from_secs(30),
            "the task stops with its fetch: {:#?}",
            states(&run)
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(run.state, hangar_pipeline::RunState::Cancelled);
    let task = &run.tasks.as_ref().unwrap()[0];
    assert_eq!(
        task.state,
        hangar_pipeline::TaskState::Cancelled,
        "{task:#?}"
    );
    assert_eq!(task.output, None);
    let logs = app.pipelines.logs(started.id, Some("get")).await.unwrap();
    assert_eq!(
        logs.last().unwrap().message,
        "stopped: the run was cancelled",
        "{logs:#?}"
    );
    // The task's job ends cancelled, not succeeded (the queue settles it just
    // after the task's outcome is written).
    let id = task.job_id.unwrap().into();
    let settled = std::time::Instant::now();
    loop {
        let job = app.queue.get(id).await.unwrap();
        if job.state != hangar_queue::JobState::Running {
            assert_eq!(job.state, hangar_queue::JobState::Cancelled, "{job:#?}");
            break;
        }
        assert!(
            settled.elapsed() < Duration::from_secs(30),
            "the job is still running: {job:#?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The value of the counter line `name{labels}` in a metrics exposition.
fn counter(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn failed_tasks_are_failed_jobs_in_the_queue_metrics(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let run = run(&app, "propagation", None).await;
    assert_eq!(run.state, "failed", "{run:#?}");
    let job = run
        .tasks
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.task_id == "a")
        .unwrap()
        .job_id
        .unwrap();
    let job = pipeline_support_wait_dead(&app, job).await;
    assert_eq!(job.attempts.unwrap()[0].outcome, "failed");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let series = |family: &str| format!(r#"{family}{{queue="default",name="pipeline.task"}}"#);
    assert_eq!(
        counter(&metrics, &series("hangar_jobs_failed_total")),
        1.0,
        "task `a` failed: {metrics}"
    );
    assert_eq!(
        counter(&metrics, &series("hangar_jobs_succeeded_total")),
        1.0,
        "only `independent` succeeded: {metrics}"
    );
}

/// Waits until job `id` is dead (the failed task's job, once its worker reports).
async fn pipeline_support_wait_dead(app: &TestApp, id: uuid::Uuid) -> hangar_queue::JobView {
    let started = std::time::Instant::now();
    loop {
        let job = app.queue.get(id.into()).await.unwrap();
        if job.state == hangar_queue::JobState::Dead {
            return job;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{job:#?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
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
    cancelling_a_run_aborts_its_fetch,
    failed_tasks_are_failed_jobs_in_the_queue_metrics,
);

/// Hourly, in the year 2100: the test app's own scheduler (on the wall clock)
/// never fires these, and the test replays their schedule on a clock of its own.
const CATCHUP_NONE: &str = r#"
name = "catchup_none"
schedule = "0 0 * * * * 2100"
catchup = "none"
[[tasks]]
id = "a"
operator = "test.emit"
"#;

const CATCHUP_LATEST: &str = r#"
name = "catchup_latest"
schedule = "0 0 * * * * 2100"
[[tasks]]
id = "a"
operator = "test.emit"
"#;

const CATCHUP_ALL: &str = r#"
name = "catchup_all"
schedule = "0 0 * * * * 2100"
catchup = "all"
[[tasks]]
id = "a"
operator = "test.emit"
"#;

const CATCHUP_BOUNDED: &str = r#"
name = "catchup_bounded"
schedule = "0 0 * * * * 2100"
catchup = "all"
catchup_limit = 3
[[tasks]]
id = "a"
operator = "test.emit"
"#;

/// A scheduler down from 00:30 to 05:30 missed five cron times (01:00 … 05:00):
/// `none` creates no run for them, `latest` one, `all` five, and `all` bounded by
/// `catchup_limit = 3` the three most recent. Back on time, every policy fires.
async fn missed_cron_times_fire_by_the_catchup_policy(backend: Backend) {
    let definitions = vec![CATCHUP_NONE, CATCHUP_LATEST, CATCHUP_ALL, CATCHUP_BOUNDED];
    let Some(app) = TestApp::spawn_with(backend, pipeline_support::apps(definitions), |_| {}).await
    else {
        return;
    };
    let at = |time: &str| {
        format!("2100-01-01T{time}Z")
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let fired = |name: &'static str| {
        let pipelines = app.pipelines.clone();
        async move {
            let mut hours: Vec<String> = pipelines
                .runs(Some(name), None, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|run| {
                    assert_eq!(run.triggered_by, "schedule", "{run:#?}");
                    run.logical_date.unwrap().format("%H:%M").to_string()
                })
                .collect();
            hours.sort();
            hours
        }
    };
    let policies = [
        "catchup_none",
        "catchup_latest",
        "catchup_all",
        "catchup_bounded",
    ];

    // First sight: each pipeline starts from now and fires nothing for the past.
    app.pipelines.fire_due_at(at("00:30:00")).await;
    for name in policies {
        assert!(fired(name).await.is_empty(), "{name}");
    }

    app.pipelines.fire_due_at(at("05:30:00")).await;
    assert_eq!(fired("catchup_none").await, Vec::<String>::new());
    assert_eq!(fired("catchup_latest").await, ["05:00"]);
    assert_eq!(
        fired("catchup_all").await,
        ["01:00", "02:00", "03:00", "04:00", "05:00"]
    );
    assert_eq!(fired("catchup_bounded").await, ["03:00", "04:00", "05:00"]);

    // Another pass within the hour: nothing new is due.
    app.pipelines.fire_due_at(at("05:59:59")).await;
    assert_eq!(fired("catchup_latest").await, ["05:00"]);
    assert_eq!(fired("catchup_all").await.len(), 5);

    // 06:00 seen ten seconds late is on time, for `none` too.
    app.pipelines.fire_due_at(at("06:00:10")).await;
    assert_eq!(fired("catchup_none").await, ["06:00"]);
    assert_eq!(fired("catchup_latest").await, ["05:00", "06:00"]);
    assert_eq!(fired("catchup_all").await.len(), 6);
    assert_eq!(
        fired("catchup_bounded").await,
        ["03:00", "04:00", "05:00", "06:00"]
    );
}

on_each_backend!(missed_cron_times_fire_by_the_catchup_policy);
