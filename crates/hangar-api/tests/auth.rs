//! Accounts and tokens on both store backends: registration, sign-in with the
//! same answer for an unknown address and a wrong password, access tokens refused
//! when expired, for another audience, tampered with or revoked, refresh-token
//! rotation with reuse detection, roles, rate limits; and the HTTP conventions
//! every route shares (problem documents, body limit, CORS, security headers).

#![allow(clippy::unwrap_used)]

mod api_support;

use api_support::{ADMIN_TOKEN, account, get, kind, post, send, spawn_with_movies, user_token};
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
    // The answer does not repeat the address, in any spelling.
    assert!(!body.to_string().to_lowercase().contains("ada@"), "{body}");
    let (status, body) = post(
        &app,
        "/api/v1/auth/register",
        None,
        json!({"email": "not an address", "password": "short"}),
    )
    .await;
    assert_eq!((status, kind(&body)), (422, "invalid-body"));
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    // The document bounds `invite` in every registration mode, open included.
    let (status, body) = post(
        &app,
        "/api/v1/auth/register",
        None,
        json!({"email": "c@example.test", "password": "correct horse battery", "invite": "x".repeat(257)}),
    )
    .await;
    assert_eq!((status, kind(&body)), (422, "invalid-body"), "{body}");
    assert_eq!(body["detail"], "invite: at most 256 characters", "{body}");
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
        let (status, _) = get(
            &app,
            path,
            Some("test-admin-token-of-at-least-32-characters"),
        )
        .await;
        assert_eq!(status, 200, "{path}");
        let (status, _) = get(&app, path, None).await;
        assert_eq!(status, 401, "{path}");
        // The scheme name is case-insensitive.
        let response = app
            .client()
            .get(app.url(path))
            .header(
                "authorization",
                "bearer test-admin-token-of-at-least-32-characters",
            )
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
    // This address must now wait before its next try for the account.
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
    assert!((1..=900).contains(&wait));
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

async fn admin_rights_follow_the_account_not_the_token(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let admin = account(&app, "a@example.test", &[Role::Admin, Role::User]).await;
    let user = account(&app, "u@example.test", &[Role::User]).await;
    let set_roles = |email: &'static str, roles: &'static str| {
        let store = app.store.clone();
        async move {
            hangar_store::on_pool!(store.writer(), pool => {
                sqlx::query("UPDATE hangar_users SET roles = $1 WHERE email = $2")
                    .bind(roles)
                    .bind(email)
                    .execute(pool)
                    .await
                    .unwrap()
                    .rows_affected()
            });
        }
    };
    // Roles changed in the store behind the tokens' backs: the tokens still say
    // otherwise, and the store wins.
    set_roles("a@example.test", "user").await;
    set_roles("u@example.test", "admin,user").await;
    let (status, _) = get(&app, "/api/v1/jobs", admin["access_token"].as_str()).await;
    assert_eq!(status, 403);
    let (status, _) = get(&app, "/api/v1/jobs", user["access_token"].as_str()).await;
    assert_eq!(status, 200);
}

async fn admins_manage_accounts_over_the_api(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let admin = account(&app, "root@example.test", &[Role::Admin, Role::User]).await;
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    let admin_id = admin["user"]["id"].as_str().unwrap().to_owned();
    let token = Some(admin_token.as_str());
    let ann = account(&app, "ann@example.test", &[Role::User]).await;
    let ann_id = ann["user"]["id"].as_str().unwrap().to_owned();
    account(&app, "bob@example.test", &[Role::User]).await;

    // Pages in creation order.
    let (status, first) = get(&app, "/api/v1/users?limit=2", token).await;
    assert_eq!(status, 200, "{first}");
    let emails = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["email"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(emails(&first), ["root@example.test", "ann@example.test"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (status, second) = get(
        &app,
        &format!("/api/v1/users?limit=2&cursor={cursor}"),
        token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(emails(&second), ["bob@example.test"]);
    assert!(second["next_cursor"].is_null());
    let (status, body) = get(&app, "/api/v1/users?sort=email", token).await;
    assert_eq!((status, kind(&body)), (400, "invalid-request"), "{body}");
    let (status, _) = get(&app, "/api/v1/users", ann["access_token"].as_str()).await;
    assert_eq!(status, 403);

    let (status, shown) = get(&app, &format!("/api/v1/users/{ann_id}"), token).await;
    assert_eq!(status, 200);
    assert_eq!(shown["active_sessions"], 1);
    assert_eq!(shown["disabled"], false);
    let (status, body) = get(
        &app,
        "/api/v1/users/0190c2e4-0000-7000-8000-000000000000",
        token,
    )
    .await;
    assert_eq!((status, kind(&body)), (404, "not-found"));

    // Disabled: the sessions end and sign-in is refused; enabled: it works again.
    let action = |id: &str, what: &str| format!("/api/v1/users/{id}/{what}");
    let (status, body) = post(&app, &action(&ann_id, "disable"), token, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], true);
    let (status, body) = get(&app, "/api/v1/auth/me", ann["access_token"].as_str()).await;
    assert_eq!((status, kind(&body)), (401, "token-revoked"));
    let login = json!({"email": "ann@example.test", "password": "a long enough password"});
    let (status, body) = post(&app, "/api/v1/auth/login", None, login.clone()).await;
    assert_eq!((status, kind(&body)), (403, "account-disabled"));
    let (status, _) = post(&app, &action(&ann_id, "enable"), token, json!({})).await;
    assert_eq!(status, 200);
    let (status, again) = post(&app, "/api/v1/auth/login", None, login.clone()).await;
    assert_eq!(status, 200);

    // Sessions revoked on request.
    let (status, body) = post(&app, &action(&ann_id, "revoke-sessions"), token, json!({})).await;
    assert_eq!((status, body["sessions_revoked"].as_u64()), (200, Some(1)));
    let (status, _) = get(&app, "/api/v1/auth/me", again["access_token"].as_str()).await;
    assert_eq!(status, 401);

    // A role change: the account becomes an admin, its old sessions end.
    let (status, again) = post(&app, "/api/v1/auth/login", None, login.clone()).await;
    assert_eq!(status, 200);
    let path = format!("/api/v1/users/{ann_id}");
    let (status, body) = send(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(json!({"roles": ["admin", "user"]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["roles"], json!(["admin", "user"]));
    let (status, _) = get(&app, "/api/v1/auth/me", again["access_token"].as_str()).await;
    assert_eq!(status, 401);
    let (status, body) = send(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(json!({"roles": ["owner"]})),
    )
    .await;
    assert_eq!((status, kind(&body)), (422, "invalid-body"), "{body}");

    // The last admin cannot be removed: demote ann again, then root is alone.
    let (status, _) = send(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(json!({"roles": ["user"]})),
    )
    .await;
    assert_eq!(status, 200);
    let root = format!("/api/v1/users/{admin_id}");
    for (method, target) in [
        (Method::POST, action(&admin_id, "disable")),
        (Method::DELETE, root.clone()),
    ] {
        let (status, body) = send(&app, method, &target, token, None).await;
        assert_eq!((status, kind(&body)), (409, "last-admin"), "{target}");
    }
    let (status, body) = send(
        &app,
        Method::PATCH,
        &root,
        token,
        Some(json!({"roles": ["user"]})),
    )
    .await;
    assert_eq!((status, kind(&body)), (409, "last-admin"));
    let (status, _) = get(&app, "/api/v1/users", token).await;
    assert_eq!(status, 200, "the refused changes changed nothing");

    // Deleted: gone, and so are its sessions.
    let (status, _) = send(&app, Method::DELETE, &path, token, None).await;
    assert_eq!(status, 204);
    let (status, _) = get(&app, &path, token).await;
    assert_eq!(status, 404);
    let (status, body) = post(&app, "/api/v1/auth/login", None, login).await;
    assert_eq!((status, kind(&body)), (401, "invalid-credentials"));
}

async fn invitations_admit_one_registration_each(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| {
        c.auth.registration = hangar_core::config::Registration::Invite;
    })
    .await
    else {
        return;
    };
    let admin = Some("test-admin-token-of-at-least-32-characters");
    let (status, _) = post(&app, "/api/v1/invites", None, json!({})).await;
    assert_eq!(status, 401);
    let (status, invite) = post(&app, "/api/v1/invites", admin, json!({})).await;
    assert_eq!(status, 201, "{invite}");
    let code = invite["code"].as_str().unwrap().to_owned();
    assert!(invite["expires_at"].is_string());
    account(&app, "taken@example.test", &[Role::User]).await;
    let register = |email: &'static str, invite: Option<&str>| {
        let mut body = json!({"email": email, "password": "correct horse battery"});
        if let Some(code) = invite {
            body["invite"] = code.into();
        }
        post(&app, "/api/v1/auth/register", None, body)
    };
    let (status, body) = register("new@example.test", None).await;
    assert_eq!((status, kind(&body)), (403, "invite-required"), "{body}");
    // Without a valid code, a taken address gets the same answer as any other.
    let (status, body) = register("taken@example.test", Some("made-up")).await;
    assert_eq!((status, kind(&body)), (403, "invalid-invite"), "{body}");
    // A refused registration leaves the code unused.
    let (status, body) = register("taken@example.test", Some(&code)).await;
    assert_eq!((status, kind(&body)), (409, "email-taken"), "{body}");
    let (status, body) = register("new@example.test", Some(&code)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["roles"], json!(["user"]));
    let (status, body) = register("other@example.test", Some(&code)).await;
    assert_eq!(
        (status, kind(&body)),
        (403, "invalid-invite"),
        "used once: {body}"
    );
    // An expired code.
    let expired =
        hangar_api::auth::invites::create_invite(&app.store, "test", std::time::Duration::ZERO)
            .await
            .unwrap();
    let (status, body) = register("late@example.test", Some(&expired.code)).await;
    assert_eq!((status, kind(&body)), (403, "invalid-invite"), "{body}");
}

/// A client whose connections come from `ip` (a loopback address).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

async fn login_from(app: &TestApp, ip: [u8; 4], email: &str, password: &str) -> reqwest::Response {
    client_from(ip)
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn a_stranger_cannot_lock_the_owner_out(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| c.auth.ip_attempts = 100).await else {
        return;
    };
    let email = "owner@example.test";
    account(&app, email, &[Role::Admin, Role::User]).await;
    let stranger = [127, 0, 0, 2];
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let response = login_from(&app, stranger, email, "not the password").await;
        let status = response.status().as_u16();
        if status == 429 {
            let wait: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=900).contains(&wait), "{wait}");
        }
        statuses.push(status);
    }
    assert_eq!(statuses[..5], [401; 5], "{statuses:?}");
    assert!(
        statuses.contains(&429),
        "the stranger is slowed down: {statuses:?}"
    );
    // The stranger's address waits, even with the right password...
    let response = login_from(&app, stranger, email, "a long enough password").await;
    assert_eq!(response.status(), 429);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("from this address"),
        "{body}"
    );
    // ...while the owner, from another address, signs in.
    let response = login_from(&app, [127, 0, 0, 1], email, "a long enough password").await;
    assert_eq!(response.status(), 200);
}

async fn an_account_has_a_ceiling_of_failures_from_all_addresses(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| c.auth.account_ceiling = 3).await else {
        return;
    };
    let email = "target@example.test";
    account(&app, email, &[Role::User]).await;
    for last in 2..5 {
        let response = login_from(&app, [127, 0, 0, last], email, "wrong").await;
        assert_eq!(response.status(), 401);
    }
    let response = login_from(&app, [127, 0, 0, 9], email, "a long enough password").await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("for this account"),
        "{body}"
    );
}

async fn wrong_bearer_tokens_are_rate_limited_per_address(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| c.auth.ip_attempts = 5).await else {
        return;
    };
    let guesser = client_from([127, 0, 0, 2]);
    let guess = |token: &'static str| {
        guesser
            .get(app.url("/api/v1/jobs"))
            .bearer_auth(token)
            .send()
    };
    for _ in 0..5 {
        assert_eq!(guess("test-admin-token-guess").await.unwrap().status(), 401);
    }
    let refused = guess("test-admin-token-guess").await.unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    // The admin token is not even compared from that address now, but an
    // access token signed with our key cannot be guessed: a user sharing the
    // address is still let in.
    assert_eq!(
        guess(ADMIN_TOKEN).await.unwrap().status(),
        429,
        "the guessed secret stays behind the limit"
    );
    let user = user_token(&app).await;
    let shared = guesser
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(shared.status(), 200);
    // Another address is not affected.
    let (status, _) = get(&app, "/api/v1/jobs", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200);
}

async fn registration_can_be_closed(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| {
        c.auth.registration = hangar_core::config::Registration::Closed;
    })
    .await
    else {
        return;
    };
    let (status, body) = post(
        &app,
        "/api/v1/auth/register",
        None,
        json!({"email": "new@example.test", "password": "correct horse battery"}),
    )
    .await;
    assert_eq!(
        (status, kind(&body)),
        (403, "registration-closed"),
        "{body}"
    );
    // Accounts made by an operator still sign in.
    account(&app, "made@example.test", &[Role::User]).await;
}

async fn registering_taken_addresses_slows_the_address_down(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| {
        c.auth.ip_attempts = 100;
        c.auth.account_attempts = 2;
    })
    .await
    else {
        return;
    };
    for n in 0..3 {
        account(&app, &format!("taken{n}@example.test"), &[Role::User]).await;
    }
    let register = |email: String| {
        post(
            &app,
            "/api/v1/auth/register",
            None,
            json!({"email": email, "password": "correct horse battery"}),
        )
    };
    for n in 0..2 {
        let (status, body) = register(format!("taken{n}@example.test")).await;
        assert_eq!((status, kind(&body)), (409, "email-taken"), "{body}");
    }
    let (status, body) = register("taken2@example.test".to_owned()).await;
    assert_eq!((status, kind(&body)), (429, "rate-limited"), "{body}");
}

async fn every_answer_follows_the_http_conventions(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |c| {
        c.http.body_limit = 1024;
        c.http.cors_origins = "https://movies.example.test".parse().unwrap();
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
    admin_rights_follow_the_account_not_the_token,
    admins_manage_accounts_over_the_api,
    sign_in_is_rate_limited_per_address_and_per_account,
    a_stranger_cannot_lock_the_owner_out,
    an_account_has_a_ceiling_of_failures_from_all_addresses,
    wrong_bearer_tokens_are_rate_limited_per_address,
    registration_can_be_closed,
    invitations_admit_one_registration_each,
    registering_taken_addresses_slows_the_address_down,
    every_answer_follows_the_http_conventions,
);
