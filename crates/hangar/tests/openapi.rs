//! The OpenAPI document this binary serves (the platform's API and its apps')
//! against its committed snapshot: an API change shows up as a reviewed diff of
//! `tests/snapshots/openapi.json`. It lives with the binary because which apps
//! are served, and so what the document holds, is the binary's decision. Accept an intended change
//! with `UPDATE_SNAPSHOTS=1 cargo test -p hangar --test openapi`.

#![allow(clippy::unwrap_used)]

use hangar_testkit::{Backend, TestApp};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_its_snapshot() {
    let app = TestApp::spawn(Backend::Sqlite, hangar::apps().unwrap())
        .await
        .unwrap();
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    for path in ["/api/v1/movies", "/api/v1/auth/login", "/api/v1/events"] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is not documented"
        );
    }
    let text = serde_json::to_string_pretty(&document).unwrap() + "\n";
    let snapshot = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(snapshot, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(snapshot).unwrap_or_default();
    assert!(
        text == expected,
        "the OpenAPI document differs from tests/snapshots/openapi.json; review the \
         change and accept it with UPDATE_SNAPSHOTS=1 cargo test -p hangar --test openapi"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_ui_is_served_without_the_network() {
    let app = TestApp::spawn(Backend::Sqlite, hangar::apps().unwrap())
        .await
        .unwrap();
    let page = app.get("/api/docs/").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let script = app.get("/api/docs/swagger-ui-bundle.js").await;
    assert_eq!(script.status(), 200);
    let init = app.get("/api/docs/swagger-initializer.js").await;
    assert!(init.text().await.unwrap().contains("/api/openapi.json"));
}
