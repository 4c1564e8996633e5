//! First-run guidance on both store backends: which steps apply follows what
//! the store holds (an admin account, a movies catalogue).

#![allow(clippy::unwrap_used)]

mod api_support;

use api_support::{account, movies, spawn_with_movies};
use hangar_api::auth::Role;
use hangar_app::{AppContext, StepCommand};
use hangar_testkit::{Backend, TestApp, on_each_backend};

/// The steps that apply to `app`, each as (what, its `hangar` commands).
async fn steps(app: &TestApp) -> Vec<(String, Vec<String>)> {
    let ctx = AppContext {
        config: app.config.clone(),
        store: app.store.clone(),
        queue: app.queue.clone(),
    };
    hangar_runtime::first_run::steps(&movies(), &ctx)
        .await
        .unwrap()
        .into_iter()
        .map(|step| {
            let commands = step
                .commands
                .into_iter()
                .filter_map(|c| match c {
                    StepCommand::Hangar(args) => Some(args),
                    StepCommand::Other(_) => None,
                })
                .collect();
            (step.what, commands)
        })
        .collect()
}

async fn steps_follow_what_the_store_holds(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, movies()).await else {
        return;
    };
    let fresh = steps(&app).await;
    assert_eq!(fresh.len(), 2, "{fresh:?}");
    assert!(fresh[0].0.contains("movies catalogue"), "{fresh:?}");
    assert_eq!(fresh[0].1, ["pipeline run movies_etl --wait"]);
    assert!(fresh[1].0.contains("first admin"), "{fresh:?}");
    assert_eq!(fresh[1].1, ["user create --admin EMAIL"]);

    account(&app, "reader@example.org", &[Role::User]).await;
    assert_eq!(steps(&app).await, fresh, "a user account is not an admin");
    account(&app, "owner@example.org", &[Role::User, Role::Admin]).await;
    assert_eq!(steps(&app).await, fresh[..1], "only the catalogue is left");
    app.stop().await.unwrap();

    let app = spawn_with_movies(backend, |_| {}).await.unwrap();
    let loaded = steps(&app).await;
    assert_eq!(loaded, fresh[1..], "only the admin is left");
    account(&app, "owner@example.org", &[Role::Admin]).await;
    assert_eq!(steps(&app).await, [], "nothing left to do");
    app.stop().await.unwrap();
}

on_each_backend!(steps_follow_what_the_store_holds);
