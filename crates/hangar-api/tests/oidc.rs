//! OpenID Connect sign-in end to end against a real provider: the
//! `oidc-provider` package (see docs/adr/0003-oidc-test-provider.md), started
//! from tests/oidc-provider with Node. Skipped, with the reason printed, where
//! Node or npm is missing (HANGAR_TEST_STRICT=1 makes that a failure).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use hangar_app::Apps;
use hangar_testkit::api::kind;
use hangar_testkit::{Backend, TestApp, skip};
use reqwest::redirect::Policy;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CLIENT_ID: &str = "hangar";
const CLIENT_SECRET: &str = "hangar-test-client-secret";
/// Where the provider sends the browser back; the test reads the code from the
/// redirect and calls the app itself, so nothing needs to listen there.
const REDIRECT: &str = "http://127.0.0.1:9/api/v1/auth/oidc/test/callback";

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-provider")
}

fn have(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs the provider's packages if needed and starts it; its issuer URL.
async fn start_provider() -> Option<(Child, String)> {
    if !have("node") || !have("npm") {
        skip(
            "oidc",
            "Node.js and npm are needed to run the OpenID Connect test provider",
        );
        return None;
    }
    let dir = provider_dir();
    if !dir.join("node_modules/oidc-provider").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .await
            .unwrap();
        assert!(status.success(), "npm ci in tests/oidc-provider failed");
    }
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .env("OIDC_PORT", "0")
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .env("OIDC_REDIRECT_URI", REDIRECT)
        // The provider exits when its stdin closes, so it dies with this test.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the provider did not start within 60s")
        .unwrap()
        .expect("the provider exited before it was ready");
    let issuer = line.strip_prefix("ready ").unwrap().to_owned();
    Some((child, issuer))
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> url::Url {
    let raw = response.headers()["location"].to_str().unwrap();
    response.url().join(raw).unwrap()
}

/// Signs in at the provider as `login`, from Hangar's login redirect to the
/// provider's redirect back; returns the query Hangar's callback receives.
async fn sign_in_at_provider(app: &TestApp, browser: &reqwest::Client, login: &str) -> String {
    let start = browser
        .get(app.url("/api/v1/auth/oidc/test/login"))
        .send()
        .await
        .unwrap();
    assert!(start.status().is_redirection(), "{}", start.status());
    let authorize = location(&start);
    let query: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param("client_id").as_deref(), Some(CLIENT_ID));
    assert!(param("state").is_some() && param("nonce").is_some());

    let interaction = browser.get(authorize).send().await.unwrap();
    assert_eq!(interaction.status(), 303);
    let form_url = location(&interaction);
    let submitted = browser
        .post(format!("{form_url}/login"))
        .form(&[("login", login), ("password", "secret")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        submitted.status(),
        303,
        "{}",
        submitted.text().await.unwrap_or_default()
    );
    let resume = browser.get(location(&submitted)).send().await.unwrap();
    assert_eq!(resume.status(), 303);
    let back = location(&resume);
    assert_eq!(back.path(), "/api/v1/auth/oidc/test/callback");
    back.query().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_a_real_openid_connect_provider() {
    let Some((_provider, issuer)) = start_provider().await else {
        return;
    };
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, Apps::default(), |c| {
        c.auth.oidc.name = "test".to_owned();
        c.auth.oidc.issuer = issuer.clone();
        c.auth.oidc.client_id = CLIENT_ID.to_owned();
        c.auth.oidc.client_secret = CLIENT_SECRET.into();
        c.auth.oidc.redirect_url = REDIRECT.to_owned();
    })
    .await
    else {
        return;
    };

    let alice = browser();
    let query = sign_in_at_provider(&app, &alice, "alice").await;
    let callback = alice
        .get(app.url(&format!("/api/v1/auth/oidc/test/callback?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 200);
    let tokens: Value = callback.json().await.unwrap();
    assert_eq!(tokens["user"]["email"], "alice@example.test");
    assert_eq!(tokens["user"]["roles"], serde_json::json!(["user"]));
    let me = alice
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap()["id"],
        tokens["user"]["id"]
    );

    // The same code again: the provider refuses it, nothing is signed in.
    let replay = alice
        .get(app.url(&format!("/api/v1/auth/oidc/test/callback?{query}")))
        .send()
        .await
        .unwrap();
    assert!(
        replay.status() == 400 || replay.status() == 502,
        "{}",
        replay.status()
    );

    // Signing in again finds the linked account.
    let again = browser();
    let query = sign_in_at_provider(&app, &again, "alice").await;
    let second: Value = again
        .get(app.url(&format!("/api/v1/auth/oidc/test/callback?{query}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["user"]["id"], tokens["user"]["id"]);

    // A callback whose state is not the one this browser started with, or from a
    // browser that started nothing, is refused.
    let mallory = browser();
    let query = sign_in_at_provider(&app, &mallory, "mallory").await;
    let forged = query.replace("state=", "state=x");
    let response = mallory
        .get(app.url(&format!("/api/v1/auth/oidc/test/callback?{forged}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(kind(&response.json().await.unwrap()), "oidc-failed");
    let stranger = browser();
    let response = stranger
        .get(app.url(&format!("/api/v1/auth/oidc/test/callback?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // The provider refusing is reported as such.
    let response = alice
        .get(app.url("/api/v1/auth/oidc/test/callback?error=access_denied&error_description=no"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // An unknown provider name.
    let response = alice
        .get(app.url("/api/v1/auth/oidc/other/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
