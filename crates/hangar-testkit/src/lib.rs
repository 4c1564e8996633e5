//! The test harness: a full Hangar process (api, worker and scheduler roles) on
//! port 0 over a fresh database of either backend, started by the same code
//! `hangar up` runs (`hangar-runtime`), with the apps the test passes: an app's
//! tests run that app, a platform crate's tests none or a small app of their own.
//!
//! - SQLite: a new file in a temporary directory, removed afterwards.
//! - PostgreSQL: a new database on the server named by `HANGAR_TEST_POSTGRES_URL`
//!   (e.g. `postgres://postgres@127.0.0.1:5432/postgres`), created, migrated and
//!   dropped afterwards. When the variable is not set, PostgreSQL tests print why
//!   they are skipped and pass; when it is set but the server is unreachable, they
//!   fail. With `HANGAR_TEST_STRICT=1` (as in CI) every skip is a failure.
//! - RabbitMQ: the broker named by `HANGAR_TEST_AMQP_URL` (e.g.
//!   `amqp://guest:guest@127.0.0.1:5672/%2f`), with queue names under a prefix of
//!   the test's own, deleted afterwards. Skipped like PostgreSQL when unset.
//!
//! Write a test body once, taking a [`Backend`], and generate one test per backend
//! with [`on_each_backend!`]:
//!
//! ```ignore
//! async fn readyz_answers(backend: Backend) {
//!     let Some(app) = TestApp::spawn(backend, Apps::default()).await else { return };
//!     assert_eq!(app.get("/readyz").await.status(), 200);
//! }
//! on_each_backend!(readyz_answers);
//! ```
//!
//! Helpers shared by the tests of several crates: [`api`] (accounts, tokens,
//! JSON requests, an app with a pipeline's data loaded), [`pg_cluster`] (PostgreSQL
//! primaries and streaming replicas of a test's own), [`pipelines`] (test
//! operators and a pipeline app), [`processes`] (child processes for the
//! crash tests) and [`terminal`] (a client of the web terminal).

pub mod api;
mod app;
mod broker;
mod database;
pub mod pg_cluster;
pub mod pipelines;
pub mod processes;
pub mod terminal;

pub use app::{TEST_JWT_SECRET, TestApp};
pub use broker::{AMQP_VAR, TestBroker};
pub use database::{Backend, POSTGRES_VAR, QueueBackend, STRICT_VAR, TestDatabase, skip};

/// Generates `<name>::sqlite`, `<name>::postgres` and `<name>::rabbitmq` tests
/// that call `async fn <name>(backend: QueueBackend)` once per queue backend.
#[macro_export]
macro_rules! on_each_queue_backend {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::QueueBackend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::QueueBackend::Postgres).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn rabbitmq() {
                    super::$name($crate::QueueBackend::RabbitMq).await
                }
            }
        )+
    };
}

/// Generates `<name>::sqlite` and `<name>::postgres` tests that call
/// `async fn <name>(backend: Backend)` once per backend.
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::Backend::Postgres).await
                }
            }
        )+
    };
}
