//! Shared by the API tests: an app with a pipeline's data loaded, accounts,
//! tokens, JSON requests.

#![allow(dead_code, clippy::unwrap_used)]

use hangar_api::auth::accounts::create_account;
use hangar_api::auth::{Role, passwords};
use hangar_app::Apps;
use hangar_pipeline::TriggeredBy;
use serde_json::{Value, json};

use crate::{Backend, TestApp};

/// The `api.admin_token` of the apps these helpers start.
pub const ADMIN_TOKEN: &str = "test-admin-token-of-at-least-32-characters";

/// The directory of the test fixtures' datasets.
pub fn datasets() -> String {
    format!("{}/../../fixtures/datasets", env!("CARGO_MANIFEST_DIR"))
}

/// The movies sample of the test fixtures.
pub fn sample() -> String {
    format!("{}/movies.json", datasets())
}

/// `apps` with the admin token, the fixtures' datasets readable and `configure`
/// applied, once a run of `pipeline` with `params` succeeded (an app's ETL
/// loading the data the test reads).
pub async fn spawn_loaded(
    backend: Backend,
    apps: Apps,
    pipeline: &str,
    params: Value,
    configure: impl FnOnce(&mut hangar_core::Config),
) -> Option<TestApp> {
    let app = TestApp::spawn_with(backend, apps, |c| {
        c.api.admin_token = ADMIN_TOKEN.into();
        c.pipeline.file_roots = datasets().parse().unwrap();
        configure(c);
    })
    .await?;
    let run = app
        .pipelines
        .trigger(pipeline, Some(&params), TriggeredBy::Cli)
        .await
        .unwrap()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let view = app.pipelines.run(run.id).await.unwrap();
        if view.state == "succeeded" {
            break;
        }
        assert!(
            !["failed", "cancelled"].contains(&view.state.as_str()),
            "{pipeline} did not load: {view:#?}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "{pipeline} took too long"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Some(app)
}

/// Creates an account directly in the store and signs it in; returns its tokens.
pub async fn account(app: &TestApp, email: &str, roles: &[Role]) -> Value {
    let password = "a long enough password";
    let hash = passwords::hash(password.to_owned()).await.unwrap();
    create_account(&app.store, email, None, Some(&hash), roles)
        .await
        .unwrap();
    let response = post(
        app,
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await;
    assert_eq!(response.0, 200, "{}", response.1);
    response.1
}

/// An admin's access token.
pub async fn admin_token(app: &TestApp) -> String {
    account(app, "admin@example.test", &[Role::Admin, Role::User]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A plain user's access token.
pub async fn user_token(app: &TestApp) -> String {
    account(app, "user@example.test", &[Role::User]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// GET with an optional bearer token: status and JSON body.
pub async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = app.client().get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// POST JSON with an optional bearer token: status and JSON body.
pub async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::POST, path, token, Some(body)).await
}

/// Any method, with an optional bearer token and JSON body.
pub async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client().request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The `type` of a problem body, without the `urn:hangar:problem:` prefix.
pub fn kind(body: &Value) -> &str {
    body["type"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("urn:hangar:problem:")
}
