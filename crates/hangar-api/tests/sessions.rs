//! A user's own sign-in sessions on both store backends: the list marks the
//! current one, one session can be signed out, or all but the current one, and
//! another account's sessions can be neither seen nor signed out.

#![allow(clippy::unwrap_used)]

use hangar_api::auth::Role;
use hangar_app::Apps;
use hangar_testkit::api::{ADMIN_TOKEN, account, get, kind, post, send};
use hangar_testkit::{Backend, TestApp, on_each_backend};
use reqwest::Method;
use serde_json::{Value, json};

async fn spawn(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, Apps::default(), |c| {
        c.api.admin_token = ADMIN_TOKEN.into();
    })
    .await
}

async fn sign_in(app: &TestApp, email: &str) -> Value {
    let (status, body) = post(
        app,
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": "a long enough password"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn token(login: &Value) -> Option<&str> {
    login["access_token"].as_str()
}

/// The ids of the sessions `login` lists, and the one marked current.
async fn sessions(app: &TestApp, login: &Value) -> (Vec<String>, Vec<String>) {
    let (status, body) = get(app, "/api/v1/auth/sessions", token(login)).await;
    assert_eq!(status, 200, "{body}");
    let list = body["sessions"].as_array().unwrap();
    for s in list {
        for field in ["created_at", "last_used_at", "expires_at"] {
            let at = s[field].as_str().unwrap();
            assert!(
                chrono::DateTime::parse_from_rfc3339(at).is_ok(),
                "{field}: {at}"
            );
        }
        assert_eq!(s["method"], "password");
    }
    let ids = list
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let current = list
        .iter()
        .filter(|s| s["current"] == true)
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, current)
}

async fn users_list_and_sign_out_their_own_sessions(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let laptop = account(&app, "ada@example.test", &[Role::User]).await;
    let phone = sign_in(&app, "ada@example.test").await;
    let tablet = sign_in(&app, "ada@example.test").await;
    let other = account(&app, "bob@example.test", &[Role::User]).await;

    let (ids, current) = sessions(&app, &phone).await;
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(current.len(), 1);
    let phone_id = current[0].clone();
    let (_, laptop_current) = sessions(&app, &laptop).await;
    let laptop_id = laptop_current[0].clone();
    assert_ne!(laptop_id, phone_id);
    // A refresh is a use of the session: it comes first in the list.
    let (status, laptop) = post(
        &app,
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": laptop["refresh_token"]}),
    )
    .await;
    assert_eq!(status, 200, "{laptop}");
    let (ids, _) = sessions(&app, &phone).await;
    assert_eq!(ids[0], laptop_id);

    // Another account's sessions are not listed, and cannot be signed out: 404,
    // as for a session that does not exist.
    let (other_ids, _) = sessions(&app, &other).await;
    assert_eq!(other_ids.len(), 1);
    assert!(!ids.contains(&other_ids[0]));
    let path = format!("/api/v1/auth/sessions/{}", other_ids[0]);
    let (status, body) = send(&app, Method::DELETE, &path, token(&phone), None).await;
    assert_eq!((status, kind(&body)), (404, "not-found"), "{body}");
    let (status, _) = get(&app, "/api/v1/auth/me", token(&other)).await;
    assert_eq!(status, 200);
    let (status, body) = send(
        &app,
        Method::DELETE,
        "/api/v1/auth/sessions/no-such-session",
        token(&phone),
        None,
    )
    .await;
    assert_eq!((status, kind(&body)), (404, "not-found"), "{body}");

    // Signing out the laptop from the phone: the laptop's tokens stop working.
    let path = format!("/api/v1/auth/sessions/{laptop_id}");
    let (status, _) = send(&app, Method::DELETE, &path, token(&phone), None).await;
    assert_eq!(status, 204);
    let (status, body) = get(&app, "/api/v1/auth/me", token(&laptop)).await;
    assert_eq!((status, kind(&body)), (401, "token-revoked"));
    let (status, _) = post(
        &app,
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": laptop["refresh_token"]}),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = send(&app, Method::DELETE, &path, token(&phone), None).await;
    assert_eq!(status, 404, "a session is signed out once");
    let (ids, _) = sessions(&app, &phone).await;
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&laptop_id));

    // Everywhere else: the tablet goes, the phone stays, the other account too.
    let laptop_again = sign_in(&app, "ada@example.test").await;
    let (status, body) = post(
        &app,
        "/api/v1/auth/sessions/revoke-others",
        token(&phone),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked"], 2);
    for gone in [&tablet, &laptop_again] {
        let (status, body) = get(&app, "/api/v1/auth/me", token(gone)).await;
        assert_eq!((status, kind(&body)), (401, "token-revoked"));
    }
    let (ids, current) = sessions(&app, &phone).await;
    assert_eq!(
        (ids.clone(), current),
        (vec![phone_id.clone()], vec![phone_id])
    );
    let (status, _) = get(&app, "/api/v1/auth/me", token(&other)).await;
    assert_eq!(status, 200);
    let (status, body) = post(
        &app,
        "/api/v1/auth/sessions/revoke-others",
        token(&phone),
        json!({}),
    )
    .await;
    assert_eq!((status, body["revoked"].as_u64()), (200, Some(0)));
}

async fn the_session_endpoints_need_an_account(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (status, body) = get(&app, "/api/v1/auth/sessions", None).await;
    assert_eq!((status, kind(&body)), (401, "unauthorized"));
    let (status, _) = post(&app, "/api/v1/auth/sessions/revoke-others", None, json!({})).await;
    assert_eq!(status, 401);
    let (status, _) = send(&app, Method::DELETE, "/api/v1/auth/sessions/x", None, None).await;
    assert_eq!(status, 401);
    // The admin token is a credential for machines, not an account with sessions.
    let (status, body) = get(&app, "/api/v1/auth/sessions", Some(ADMIN_TOKEN)).await;
    assert_eq!((status, kind(&body)), (404, "not-found"));
    let user = account(&app, "cy@example.test", &[Role::User]).await;
    let (status, body) = get(&app, "/api/v1/auth/sessions?all=1", token(&user)).await;
    assert_eq!((status, kind(&body)), (400, "invalid-request"), "{body}");
}

on_each_backend!(
    users_list_and_sign_out_their_own_sessions,
    the_session_endpoints_need_an_account,
);
