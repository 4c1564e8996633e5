//! Accounts and tokens on both store backends: registration, sign-in with the
//! same answer for an unknown address and a wrong password, access tokens refused
//! when expired, for another audience, tampered with or revoked, refresh-token
//! rotation with reuse detection, roles, rate limits; and the HTTP conventions
//! every route shares (problem documents, body limit, CORS, security headers).

#![allow(clippy::unwrap_used)]

mod api_support;

use api_support::{account, get, kind, post, send, spawn_with_movies};
use hangar_api::auth::{Claims, Role, Tokens};
use hangar_testkit::{Backend, TEST_JWT_SECRET, TestApp, on_each_backend};
use reqwest::Method;
use serde_json::{Value, json};

fn claims(app: &TestApp, login: &Value) -> Claims {
    let tokens = Tokens::new(
        TEST_JWT_SECRET,
        &app.config.auth.issuer,
        &app.config.auth.audience,
    );
    tokens
        .verify(login["access_token"].as_str().unwrap())
        .unwrap()
}

async fn registration_and_sign_in(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let (status, body) = post(
        &app,
        "/api/v1/auth/register",
        None,
        json!({"email": " Ada@Example.TEST ", "password": "correct horse battery", "name": "Ada"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["email"], "ada@example.test");
    assert_eq!(body["user"]["roles"], json!(["user"]));
    assert_eq!(body["token_type"], "Bearer");
    let c = claims(&app, &body);
    assert_eq!((c.iss.as_str(), c.aud.as_str()), ("hangar", "hangar-api"));
    assert_eq!(c.sub, body["user"]["id"].as_str().unwrap());
    assert_eq!(c.roles, vec![Role::User]);
    assert_eq!(c.exp - c.iat, 15 * 60);

    // A retried registration with its Idempotency-Key gets the first answer, and
    // creates nothing more.
    let register = |key: &'static str| {
        app.client()
            .post(app.url("/api/v1/auth/register"))
            .header("idempotency-key", key)
            .json(&json!({"email": "grace@example.test", "password": "correct horse battery"}))
            .send()
    };
    let first = register("signup-1").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = register("signup-1").await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["user"], first["user"]);
    let other_key = register("signup-2").await.unwrap();
    assert_eq!(other_key.status(), 409);
    let (status, body) = post(
        &app,
        "/api/v1/auth/register",
        None,
        json!({"email": "ada@example.test", "password": "another password"}),
    )
    .await;
    assert_eq!((status, kind(&body)), (409, "email-taken"));
    let (status, body) = post(
        &app,
        "/api/v1/auth/register",
        None,
        json!({"email": "not an address", "password": "short"}),
    )
    .await;
    assert_eq!((status, kind(&body)), (422, "invalid-body"));
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    let (status, body) = post(
        &app,
        "/api/v1/auth/register",
        None,
        json!({"email": "b@example.test"}),
    )
    .await;
    assert_eq!((status, kind(&body)), (422, "invalid-body"));
    assert!(
        body["detail"].as_str().unwrap().contains("password"),
        "{body}"
    );

    let (status, login) = post(
        &app,
        "/api/v1/auth/login",
        None,
        json!({"email": "ADA@example.test", "password": "correct horse battery"}),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let (status, me) = get(&app, "/api/v1/auth/me", login["access_token"].as_str()).await;
    assert_eq!(status, 200);
    assert_eq!(me["name"], "Ada");

    // An unknown address and a wrong password: the same answer, word for word.
    let (s1, wrong_password) = post(
        &app,
        "/api/v1/auth/login",
        None,
        json!({"email": "ada@example.test", "password": "not the password"}),
    )
    .await;
    let (s2, unknown) = post(
        &app,
        "/api/v1/auth/login",
        None,
        json!({"email": "nobody@example.test", "password": "not the password"}),
    )
    .await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong_password, unknown);
    assert_eq!(kind(&unknown), "invalid-credentials");
}

async fn access_tokens_are_refused_when_they_should_be(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let login = account(&app, "eve@example.test", &[Role::User]).await;
    let good = claims(&app, &login);
    let ours = Tokens::new(TEST_JWT_SECRET, "hangar", "hangar-api");
    let now = good.iat;
    let token = login["access_token"].as_str().unwrap().to_owned();
    // Flip a character in the middle of the signature (the last one may only
    // carry padding bits).
    let mut tampered: Vec<char> = token.chars().collect();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let (head, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let forged_payload = {
        use base64::Engine;
        let mut c = good.clone();
        c.roles = vec![Role::Admin, Role::User];
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap())
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("valid", token.clone(), ""),
        (
            "expired",
            ours.sign(&Claims {
                iat: now - 3600,
                exp: now - 60,
                ..good.clone()
            })
            .unwrap(),
            "token-expired",
        ),
        (
            "wrong audience",
            ours.sign(&Claims {
                aud: "another-api".into(),
                ..good.clone()
            })
            .unwrap(),
            "invalid-token",
        ),
        (
            "wrong issuer",
            ours.sign(&Claims {
                iss: "someone-else".into(),
                ..good.clone()
            })
            .unwrap(),
            "invalid-token",
        ),
        (
            "signed with another key",
            Tokens::new(
                "another-secret-of-thirty-two-characters!",
                "hangar",
                "hangar-api",
            )
            .sign(&good)
            .unwrap(),
            "invalid-token",
        ),
        ("tampered signature", tampered, "invalid-token"),
        (
            "roles edited",
            format!("{head}.{forged_payload}.{signature}"),
            "invalid-token",
        ),
        ("not a token", "hello".to_owned(), "invalid-token"),
        (
            "session unknown",
            ours.sign(&Claims {
                sid: "no-such-session".into(),
                ..good.clone()
            })
            .unwrap(),
            "token-revoked",
        ),
    ];
    for (case, token, expected) in &cases {
        let response = app
            .client()
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if expected.is_empty() {
            assert_eq!(status, 200, "{case}");
            continue;
        }
        assert_eq!(status, 401, "{case}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{case}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!((status, kind(&body)), (401, *expected), "{case}: {body}");
    }
    let (status, body) = get(&app, "/api/v1/auth/me", None).await;
    assert_eq!((status, kind(&body)), (401, "unauthorized"));

    // Signing out revokes the session: its access token stops working at once.
    let (status, _) = send(
        &app,
        Method::POST,
        "/api/v1/auth/logout",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = get(&app, "/api/v1/auth/me", Some(&token)).await;
    assert_eq!((status, kind(&body)), (401, "token-revoked"));
    let (status, body) = post(
        &app,
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": login["refresh_token"]}),
    )
    .await;
    assert_eq!((status, kind(&body)), (401, "invalid-refresh-token"));
}

async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_session(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let first = account(&app, "rita@example.test", &[Role::User]).await;
    let refresh = |token: &Value| json!({"refresh_token": token["refresh_token"]});
    let (status, second) = post(&app, "/api/v1/auth/refresh", None, refresh(&first)).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(claims(&app, &second).sid, claims(&app, &first).sid);
    let (status, third) = post(&app, "/api/v1/auth/refresh", None, refresh(&second)).await;
    assert_eq!(status, 200);

    // The first token again: someone else has it. The whole family is revoked.
    let (status, body) = post(&app, "/api/v1/auth/refresh", None, refresh(&first)).await;
    assert_eq!((status, kind(&body)), (401, "refresh-token-reused"));
    let (status, body) = post(&app, "/api/v1/auth/refresh", None, refresh(&third)).await;
    assert_eq!((status, kind(&body)), (401, "invalid-refresh-token"));
    let (status, body) = get(&app, "/api/v1/auth/me", third["access_token"].as_str()).await;
    assert_eq!((status, kind(&body)), (401, "token-revoked"));
    // Another sign-in is another session, unaffected.
    let (status, _) = post(
        &app,
        "/api/v1/auth/login",
        None,
        json!({"email": "rita@example.test", "password": "a long enough password"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post(
        &app,
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": "made-up"}),
    )
    .await;
    assert_eq!((status, kind(&body)), (401, "invalid-refresh-token"));
}

async fn roles_guard_the_admin_endpoints(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let user = account(&app, "u@example.test", &[Role::User]).await;
    let admin = account(&app, "a@example.test", &[Role::Admin, Role::User]).await;
    for path in ["/api/v1/jobs", "/api/v1/pipelines"] {
        let (status, body) = get(&app, path, user["access_token"].as_str()).await;
        assert_eq!((status, kind(&body)), (403, "forbidden"), "{path}");
        let (status, _) = get(&app, path, admin["access_token"].as_str()).await;
        assert_eq!(status, 200, "{path}");
        let (status, _) = get(&app, path, Some("test-admin-token")).await;
        assert_eq!(status, 200, "{path}");
        let (status, _) = get(&app, path, None).await;
        assert_eq!(status, 401, "{path}");
        // The scheme name is case-insensitive.
        let response = app
            .client()
            .get(app.url(path))
            .header("authorization", "bearer test-admin-token")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

async fn sign_in_is_rate_limited_per_address_and_per_account(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| {
        c.auth.ip_attempts = 6;
        c.auth.account_attempts = 3;
    })
    .await
    else {
        return;
    };
    let attempt = |password: &'static str| {
        post(
            &app,
            "/api/v1/auth/login",
            None,
            json!({"email": "target@example.test", "password": password}),
        )
    };
    for _ in 0..3 {
        assert_eq!(attempt("wrong password 1").await.0, 401);
    }
    // The account is locked for the minute, even with the right password.
    let response = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "target@example.test", "password": "whatever it is"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=61).contains(&wait));
    assert_eq!(kind(&response.json().await.unwrap()), "rate-limited");
    // Other accounts go on until the address's own limit.
    for _ in 0..2 {
        let other = post(
            &app,
            "/api/v1/auth/login",
            None,
            json!({"email": "other@example.test", "password": "x"}),
        )
        .await;
        assert_eq!(other.0, 401, "{}", other.1);
    }
    let other = post(
        &app,
        "/api/v1/auth/login",
        None,
        json!({"email": "other@example.test", "password": "x"}),
    )
    .await;
    assert_eq!(
        other.0, 429,
        "the address had made its six attempts: {}",
        other.1
    );
    let register = post(
        &app,
        "/api/v1/auth/register",
        None,
        json!({"email": "new@example.test", "password": "long enough pw"}),
    )
    .await;
    assert_eq!(register.0, 429);
}

async fn every_answer_follows_the_http_conventions(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| {
        c.http.body_limit = 1024;
        c.http.cors_origins = "https://movies.example.test".to_owned();
    })
    .await
    else {
        return;
    };
    // Security headers on successes and errors alike.
    for path in ["/api/v1/movies", "/api/v1/nowhere", "/api/v1/movies/0"] {
        let response = app.client().get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        if !response.status().is_success() {
            assert_eq!(
                headers["content-type"], "application/problem+json",
                "{path}"
            );
            let body: Value = response.json().await.unwrap();
            assert!(
                body["type"]
                    .as_str()
                    .unwrap()
                    .starts_with("urn:hangar:problem:")
            );
            assert!(body["status"].is_u64() && body["title"].is_string());
        }
    }
    // Body limit.
    let big = json!({"email": "x@example.test", "password": "p".repeat(4096)});
    let (status, body) = post(&app, "/api/v1/auth/register", None, big).await;
    assert_eq!((status, kind(&body)), (413, "payload-too-large"));
    // Not JSON, malformed JSON.
    let response = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .body("email=x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let response = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // CORS: the configured origin is allowed, with a preflight; others are not.
    let preflight = app
        .client()
        .request(Method::OPTIONS, app.url("/api/v1/movies"))
        .header("origin", "https://movies.example.test")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://movies.example.test"
    );
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        allowed.contains("idempotency-key") && allowed.contains("authorization"),
        "{allowed}"
    );
    let foreign = app
        .client()
        .get(app.url("/api/v1/movies"))
        .header("origin", "https://elsewhere.example.test")
        .send()
        .await
        .unwrap();
    assert!(
        !foreign
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

on_each_backend!(
    registration_and_sign_in,
    access_tokens_are_refused_when_they_should_be,
    refresh_tokens_rotate_and_a_reused_one_revokes_its_session,
    roles_guard_the_admin_endpoints,
    sign_in_is_rate_limited_per_address_and_per_account,
    every_answer_follows_the_http_conventions,
);
