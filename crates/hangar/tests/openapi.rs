//! The OpenAPI document this binary serves (the platform's API and its apps')
//! against its committed snapshot: an API change shows up as a reviewed diff of
//! `tests/snapshots/openapi.json`, and of the web UI's types generated from it
//! (`web/src/api-types.ts`). It lives with the binary because which apps are
//! served, and so what the document holds, is the binary's decision. Accept an
//! intended change with `UPDATE_SNAPSHOTS=1 cargo test -p hangar --test openapi`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hangar_testkit::{Backend, TestApp, skip};
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
    for path in [
        "/api/v1/movies",
        "/api/v1/auth/login",
        "/api/v1/events",
        "/api/v1/jobs",
        "/api/v1/jobs/{id}/retry",
        "/api/v1/pipelines",
        "/api/v1/pipelines/{name}/runs",
        "/api/v1/runs/{id}/logs",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is not documented"
        );
    }
    // Every problem answer refers to one of the reusable responses.
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation.get("responses").and_then(Value::as_object) else {
                continue;
            };
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let reference = response["$ref"].as_str().unwrap_or_default();
                    assert!(
                        reference.starts_with("#/components/responses/")
                            && document
                                .pointer(&format!("/components/responses/{}", &reference[23..]))
                                .is_some(),
                        "{method} {path} answers {status} without a reusable response: {response}"
                    );
                }
            }
        }
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

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

/// The web UI describes the API's bodies with the types openapi-typescript (the
/// version pinned in web/package-lock.json) generates from this document into
/// `web/src/api-types.ts`; an API change that was not regenerated fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_types_are_generated_from_the_document() {
    const TEST: &str = "the_web_ui_types_are_generated_from_the_document";
    if !have("node") || !have("npm") {
        skip(TEST, "Node.js and npm are needed to run openapi-typescript");
        return;
    }
    let web = web_dir();
    if !web.join("node_modules/openapi-typescript").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&web)
            .status()
            .unwrap();
        assert!(status.success(), "npm ci in web/ failed");
    }
    let app = TestApp::spawn(Backend::Sqlite, hangar::apps().unwrap())
        .await
        .unwrap();
    let document = app.get("/api/openapi.json").await.text().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("openapi.json");
    let output = dir.path().join("api-types.ts");
    std::fs::write(&input, document).unwrap();
    let generated = Command::new(web.join("node_modules/.bin/openapi-typescript"))
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .current_dir(&web)
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "openapi-typescript failed: {}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let text = std::fs::read_to_string(&output).unwrap();
    let committed = web.join("src/api-types.ts");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&committed, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        text == expected,
        "web/src/api-types.ts is not what openapi-typescript generates from the current \
         OpenAPI document; regenerate it with UPDATE_SNAPSHOTS=1 cargo test -p hangar --test \
         openapi, then fix what `npm run build` in web/ reports"
    );
}
