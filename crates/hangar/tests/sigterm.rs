//! SIGTERM while a slow request is in flight: the request completes, then the role
//! stops cleanly. Alone in its test binary because a signal reaches the whole
//! process.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use hangar_app::{App, AppContext, Apps};
use hangar_testkit::{Backend, TestApp};
use utoipa_axum::router::OpenApiRouter;

struct Slow;

impl App for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }

    fn routes(&self, _ctx: &AppContext) -> OpenApiRouter {
        OpenApiRouter::from(Router::new().route(
            "/api/v1/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(800)).await;
                "finished"
            }),
        ))
    }
}

#[allow(unsafe_code)]
fn sigterm_self() {
    // SAFETY: kill(2) on our own pid; the handler installed below catches it.
    let rc = unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
    assert_eq!(rc, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_in_flight_request_finish_then_stops() {
    let apps = Apps::new(vec![Arc::new(Slow) as Arc<dyn App>]).unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, apps, |_| {})
        .await
        .unwrap();
    app.shutdown().trigger_on_signals().unwrap();

    let request = tokio::spawn(app.client().get(app.url("/api/v1/slow")).send());
    tokio::time::sleep(Duration::from_millis(200)).await;
    sigterm_self();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        app.shutdown().is_triggered(),
        "SIGTERM fired the shutdown signal"
    );

    let response = request
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "finished");
    app.stop()
        .await
        .expect("the role stops cleanly after draining");
}
