//! The API answers as its OpenAPI document says: undeclared query parameters are
//! refused on every documented operation, integers written as `291.0` are
//! integers, messages name JSON types rather than Rust ones, `Idempotency-Key`
//! is documented on every POST and checked after credentials, and a caller's
//! request id is echoed only when it is short and visible.

#![allow(clippy::unwrap_used)]

mod api_support;

use api_support::{admin_token, get, kind, send, spawn_with_movies, user_token};
use hangar_app::Apps;
use hangar_testkit::{Backend, TestApp, on_each_backend};
use reqwest::Method;
use serde_json::{Value, json};

/// Every documented GET without path parameters, and one with, refuses a
/// parameter it does not declare, naming it.
async fn undeclared_query_parameters_are_refused(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let user = user_token(&app).await;
    let id = get(&app, "/api/v1/movies?limit=1", None).await.1["items"][0]["id"]
        .as_i64()
        .unwrap();
    let paths = [
        "/api/v1/movies/stats?x=1".to_owned(),
        "/api/v1/site?x=1".to_owned(),
        format!("/api/v1/movies/{id}?x=1"),
        "/api/v1/auth/me?x=1".to_owned(),
        "/api/v1/movies?q=star&x=1".to_owned(),
        "/api/v1/movies/top?x=1".to_owned(),
    ];
    for path in paths {
        let (status, body) = get(&app, &path, Some(&user)).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(kind(&body), "invalid-request", "{path}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("`x`"), "{path}: {detail}");
    }
    // Declared parameters still work, and an operation without any says so.
    let (status, body) = get(&app, "/api/v1/movies/stats?x=1", None).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("takes no query parameters"),
        "{body}"
    );
    assert_eq!(
        get(&app, "/api/v1/movies?q=star&limit=2", None).await.0,
        200
    );
    assert_eq!(
        get(&app, &format!("/api/v1/movies/{id}"), None).await.0,
        200
    );
    assert_eq!(get(&app, "/api/v1/movies/stats", None).await.0, 200);
    // An empty cursor is not the first page: the documents say `minLength: 1`.
    let admin = admin_token(&app).await;
    for path in ["/api/v1/movies?cursor=", "/api/v1/users?cursor="] {
        let (status, body) = get(&app, path, Some(&admin)).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
}
on_each_backend!(undeclared_query_parameters_are_refused);

/// JSON Schema counts 291.0 as an integer; 291.5 is not one, and the message
/// says so in JSON's words.
async fn whole_numbers_in_bodies_are_integers(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let admin = admin_token(&app).await;
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/movies",
        Some(&admin),
        Some(json!({"title": "A Whole Number", "running_time_min": 291.0, "us_gross": 1e3})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["running_time_min"], 291);
    assert_eq!(body["us_gross"], 1000);

    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/movies",
        Some(&admin),
        Some(json!({"title": "A Fraction", "running_time_min": 291.5})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("expected an integer"), "{detail}");
    assert!(!detail.contains("i64"), "{detail}");

    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/movies",
        Some(&admin),
        Some(json!("a film")),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("expected a JSON object"), "{detail}");
    assert!(!detail.contains("MovieInput"), "{detail}");
}
on_each_backend!(whole_numbers_in_bodies_are_integers);

/// A malformed key on a route that needs credentials is a 401 without them,
/// and a 400 with them; on a public route it is a 400.
async fn idempotency_key_is_checked_after_credentials(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let admin = admin_token(&app).await;
    let post = |token: Option<String>, key: &'static str, path: &'static str| {
        let mut request = app
            .client()
            .post(app.url(path))
            .header("idempotency-key", key)
            .json(&json!({"title": "Keyed"}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let odd = "key with spaces";
    let (status, body) = post(None, odd, "/api/v1/movies").await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = post(Some("not-a-token".to_owned()), odd, "/api/v1/movies").await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = post(Some(admin.clone()), odd, "/api/v1/movies").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("Idempotency-Key"));
    let (status, body) = post(None, odd, "/api/v1/auth/login").await;
    assert_eq!(status, 400, "{body}");
    // A good key still replays.
    let (first, body) = post(Some(admin.clone()), "key-1", "/api/v1/movies").await;
    assert_eq!(first, 201, "{body}");
    let (again, replayed) = post(Some(admin), "key-1", "/api/v1/movies").await;
    assert_eq!(again, 201);
    assert_eq!(replayed["id"], body["id"]);
}
on_each_backend!(idempotency_key_is_checked_after_credentials);

/// The document states what the middleware does, on every POST.
#[tokio::test]
async fn every_post_documents_the_idempotency_key() {
    let Some(app) = TestApp::spawn(Backend::Sqlite, api_support::movies()).await else {
        return;
    };
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let mut posts = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(post) = item.get("post") else {
            continue;
        };
        posts += 1;
        let key = post["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "Idempotency-Key"))
            .unwrap_or_else(|| panic!("POST {path} does not document Idempotency-Key"));
        assert_eq!(key["in"], "header", "{path}");
        assert_eq!(key["schema"]["maxLength"], 255, "{path}");
        assert_eq!(key["schema"]["minLength"], 1, "{path}");
        for status in ["400", "409", "422"] {
            assert!(
                post["responses"].get(status).is_some(),
                "POST {path} does not document {status}"
            );
        }
    }
    assert!(posts >= 5, "only {posts} POST operations");
    // `title` is required when creating a film, not when changing one.
    let create = &doc["paths"]["/api/v1/movies"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    let name = create["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
    let schema = &doc["components"]["schemas"][name];
    assert!(
        schema["allOf"]
            .as_array()
            .unwrap()
            .iter()
            .any(|part| part["required"] == json!(["title"])),
        "{schema}"
    );
    app.stop().await.unwrap();
}

/// A request id the caller chose is kept when it is at most 128 visible
/// characters, and replaced otherwise.
#[tokio::test]
async fn long_or_odd_request_ids_are_replaced() {
    let Some(app) = TestApp::spawn(Backend::Sqlite, Apps::default()).await else {
        return;
    };
    let echo = |id: String| {
        let request = app
            .client()
            .get(app.url("/healthz"))
            .header("x-request-id", id);
        async move {
            let response = request.send().await.unwrap();
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let kept = "a".repeat(128);
    assert_eq!(echo(kept.clone()).await, kept);
    for unfit in ["b".repeat(129), "b".repeat(60_000), "two words".to_owned()] {
        let answer = echo(unfit.clone()).await;
        assert_ne!(answer, unfit);
        assert!(
            uuid::Uuid::parse_str(&answer).is_ok(),
            "a fresh id, not {answer}"
        );
    }
    app.stop().await.unwrap();
}
