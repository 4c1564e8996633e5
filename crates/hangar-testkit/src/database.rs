//! Fresh databases for tests, one per test.

use std::io::Write as _;
use std::str::FromStr;

use hangar_core::config::DatabaseUrl;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// Variable naming a PostgreSQL server (any database on it) for the PostgreSQL half
/// of the tests.
pub const POSTGRES_VAR: &str = "HANGAR_TEST_POSTGRES_URL";

/// The store engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A temporary database on `HANGAR_TEST_POSTGRES_URL`.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Variable that turns every skip into a failure (CI sets it: there, each service
/// the suite can use is running, and a skip would hide a broken setup).
pub const STRICT_VAR: &str = "HANGAR_TEST_STRICT";

/// Where a queue test's jobs are dispatched from, and the store under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueBackend {
    /// In-database dispatch on SQLite.
    Sqlite,
    /// In-database dispatch on PostgreSQL.
    Postgres,
    /// RabbitMQ dispatch (`HANGAR_TEST_AMQP_URL`) over PostgreSQL.
    RabbitMq,
}

impl QueueBackend {
    /// The store backend under this queue backend.
    pub fn store(self) -> Backend {
        match self {
            QueueBackend::Sqlite => Backend::Sqlite,
            QueueBackend::Postgres | QueueBackend::RabbitMq => Backend::Postgres,
        }
    }

    /// `sqlite`, `postgres` or `rabbitmq`.
    pub fn name(self) -> &'static str {
        match self {
            QueueBackend::Sqlite => "sqlite",
            QueueBackend::Postgres => "postgres",
            QueueBackend::RabbitMq => "rabbitmq",
        }
    }
}

/// Says, on the test's stderr and outside libtest's capture, that a test is skipped
/// and why, so a skip is never silent. Panics instead when `HANGAR_TEST_STRICT=1`.
pub fn skip(test: &str, reason: &str) {
    if std::env::var(STRICT_VAR).is_ok_and(|v| v == "1") {
        panic!("{test}: {reason} ({STRICT_VAR}=1 forbids skipping)");
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "SKIPPED {test}: {reason}");
}

/// A database that exists for the life of this value.
#[derive(Debug)]
pub struct TestDatabase {
    url: DatabaseUrl,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin: String, name: String },
}

impl TestDatabase {
    /// Creates an empty database on `backend`; `None` (after saying so) when the
    /// backend is not configured. Panics when it is configured but unusable.
    pub async fn create(backend: Backend, test: &str) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("create a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("hangar.db").display());
                Some(TestDatabase {
                    url: url.parse().expect("a valid SQLite URL"),
                    cleanup: Cleanup::Sqlite(dir),
                })
            }
            Backend::Postgres => {
                let Ok(admin) = std::env::var(POSTGRES_VAR) else {
                    skip(
                        test,
                        &format!(
                            "PostgreSQL half not run: set {POSTGRES_VAR}=postgres://user@host:port/db"
                        ),
                    );
                    return None;
                };
                let name = format!("hangar_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = admin_connection(&admin).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
                let _ = conn.close().await;
                let mut url = url::Url::parse(&admin)
                    .unwrap_or_else(|e| panic!("{POSTGRES_VAR} is not a URL: {e}"));
                url.set_path(&name);
                Some(TestDatabase {
                    url: url.as_str().parse().expect("a valid PostgreSQL URL"),
                    cleanup: Cleanup::Postgres { admin, name },
                })
            }
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }
}

async fn admin_connection(admin: &str) -> sqlx::PgConnection {
    PgConnectOptions::from_str(admin)
        .unwrap_or_else(|e| panic!("{POSTGRES_VAR} is not a PostgreSQL URL: {e}"))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_VAR} is set but PostgreSQL is unreachable: {e}"))
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin, name } = &self.cleanup else {
            return;
        };
        let reason = format!("could not drop the PostgreSQL test database {name}");
        let (admin, name) = (admin.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: drop the
        // database from a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build a runtime");
            runtime.block_on(async {
                let mut conn = admin_connection(&admin).await;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(_))) {
            if std::thread::panicking() {
                // The test has already failed: a second panic here would abort the
                // whole test binary and hide the first one's message.
                let _ = writeln!(std::io::stderr().lock(), "cleanup: {reason}");
            } else {
                skip("cleanup", &reason);
            }
        }
    }
}
