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
use tokio::sync::Notify;
use utoipa_axum::router::OpenApiRouter;

/// A route that answers only when the test releases it, telling the test when
/// the request has arrived.
#[derive(Default)]
struct Held {
    arrived: Notify,
    release: Notify,
}

struct Slow(Arc<Held>);

impl App for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }

    fn routes(&self, _ctx: &AppContext) -> OpenApiRouter {
        let held = Arc::clone(&self.0);
        OpenApiRouter::from(Router::new().route(
            "/api/v1/slow",
            get(move || async move {
                held.arrived.notify_one();
                held.release.notified().await;
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
    let held = Arc::new(Held::default());
    let apps = Apps::new(vec![Arc::new(Slow(Arc::clone(&held))) as Arc<dyn App>]).unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, apps, |_| {})
        .await
        .unwrap();
    app.shutdown().trigger_on_signals().unwrap();

    let request = tokio::spawn(app.client().get(app.url("/api/v1/slow")).send());
    held.arrived.notified().await;
    sigterm_self();
    tokio::time::timeout(Duration::from_secs(30), app.shutdown().wait())
        .await
        .expect("SIGTERM fired the shutdown signal");
    // The request is still in flight after the signal; now let it answer.
    held.release.notify_one();

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
