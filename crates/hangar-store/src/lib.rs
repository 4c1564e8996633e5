//! The store box of the architecture: connection pools for SQLite and PostgreSQL,
//! start-up connection with bounded retries, the migration runner, the event log
//! behind the realtime feed ([`events`]), named leases that elect one leader
//! among processes, and statements with many bound values written once for
//! both dialects ([`placeholders`]).
//!
//! One code base serves both dialects through [`Store`], an enum of the two sqlx
//! pools, and the [`on_pool!`] macro, which writes a query once and type-checks it
//! against each driver. SQL that is the same on both (most of it: `$1` placeholders
//! work on SQLite too) is written once; the rest branches on [`Store::dialect`].
//! See `docs/adr/0001-store-dialects.md` for why.

mod connect;
mod error;
pub mod events;
mod lease;
mod migrate;
pub mod placeholders;
pub mod read;
mod tx;

use std::time::Duration;

use hangar_core::Shutdown;
use hangar_core::config::{DatabaseEngine, DatabaseUrl};
use hangar_core::health::{CheckFuture, ReadinessCheck};

pub use error::StoreError;
pub use events::{Event, EventLog};
pub use migrate::{Migration, MigrationSet, MigrationState, MigrationStatus};
pub use read::{
    Column, FromRead, Query, ReadRoute, ReplicaState, ReplicaStatus, Row, Value, with_read_route,
};
/// The sqlx crate this store is built on, for apps that write queries.
pub use sqlx;
pub use tx::{Tx, TxConn};

static MIGRATIONS: &[Migration] = &[migration!(1, "0001_leases"), migration!(2, "0002_events")];

/// The store's own tables (named leases), applied before every other component's.
pub const MIGRATION_SET: MigrationSet = MigrationSet {
    component: "store",
    migrations: MIGRATIONS,
};

/// The SQL dialect behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3 (bundled), in WAL mode.
    Sqlite,
    /// PostgreSQL 13 or newer.
    Postgres,
}

impl From<DatabaseEngine> for Dialect {
    fn from(engine: DatabaseEngine) -> Self {
        match engine {
            DatabaseEngine::Sqlite => Dialect::Sqlite,
            DatabaseEngine::Postgres => Dialect::Postgres,
        }
    }
}

/// A pool of connections of either dialect. Match on it (or use [`on_pool!`]) to run
/// a query with the concrete driver.
#[derive(Debug, Clone)]
pub enum Pool {
    /// SQLite connections.
    Sqlite(sqlx::SqlitePool),
    /// PostgreSQL connections.
    Postgres(sqlx::PgPool),
}

/// Something that is, or has, a [`Pool`]: a [`Store`] (its main pool) or a pool
/// itself (such as [`Store::writer`]).
pub trait AsPool {
    /// The pool.
    fn as_pool(&self) -> &Pool;
}

impl AsPool for Pool {
    fn as_pool(&self) -> &Pool {
        self
    }
}

impl AsPool for Store {
    fn as_pool(&self) -> &Pool {
        &self.pool
    }
}

impl<T: AsPool + ?Sized> AsPool for &T {
    fn as_pool(&self) -> &Pool {
        (**self).as_pool()
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool of `$store` (a [`Store`]
/// or a [`Pool`]). The body is compiled once per dialect, so one query text
/// serves both when it is portable; both arms must produce the same type.
///
/// ```ignore
/// let count: i64 = on_pool!(store, pool => {
///     sqlx::query_scalar("SELECT COUNT(*) FROM movies").fetch_one(pool).await
/// })?;
/// on_pool!(store.writer(), pool => sqlx::query("DELETE …").execute(pool).await.map(|_| ()))?;
/// ```
#[macro_export]
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $crate::AsPool::as_pool(&$store) {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}

/// The application's database: a cloneable handle to its connection pools.
///
/// On SQLite there are two: the main pool, for reads (WAL lets them run beside a
/// writer), and a single-connection writer pool. SQLite admits one writer at a
/// time; writers queued in one pool wait their turn in order, where writers on
/// several connections would collide on the file lock and back off in sleeps.
/// On PostgreSQL both are the same pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    writer: Pool,
    // Behind `Arc`s, so that a clone (one per request that takes the store as
    // its state) allocates nothing.
    url: std::sync::Arc<DatabaseUrl>,
    reads: read::ReadPath,
    metrics: std::sync::Arc<read::ReadMetrics>,
}

impl Store {
    /// The main pool, to match on for dialect-specific work.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The pool for statements that write, in write-heavy paths (see [`Store`]).
    pub fn writer(&self) -> &Pool {
        &self.writer
    }

    /// Which dialect this store speaks.
    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The connection URL with its password redacted.
    pub fn url(&self) -> String {
        self.url.redacted()
    }

    /// Runs `SELECT 1` within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        let probe = async {
            on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
        };
        match tokio::time::timeout(timeout, probe).await {
            Ok(result) => result.map_err(StoreError::from),
            Err(_) => Err(StoreError::Timeout(timeout)),
        }
    }

    /// Closes every connection; later queries fail.
    pub async fn close(&self) {
        match &self.reads {
            read::ReadPath::Sqlite(reads) => reads.close(),
            read::ReadPath::Postgres(replicas) => replicas.close().await,
        }
        on_pool!(self, pool => pool.close().await);
        on_pool!(self.writer(), pool => pool.close().await);
    }

    /// The read replicas and what their last check found (none on SQLite).
    pub fn replicas(&self) -> Vec<ReplicaState> {
        match &self.reads {
            read::ReadPath::Postgres(replicas) => replicas.states(),
            read::ReadPath::Sqlite(_) => Vec::new(),
        }
    }

    /// How long a session reads from the primary after it wrote, so that it sees
    /// its writes: the replicas' lag bound plus one check interval. `None` without
    /// replicas.
    pub fn read_your_writes_window(&self) -> Option<Duration> {
        match &self.reads {
            read::ReadPath::Postgres(replicas) if !replicas.is_empty() => {
                Some(replicas.read_your_writes_window())
            }
            _ => None,
        }
    }

    /// Checks the read replicas every `store.replica_check_interval` until
    /// `shutdown`; nothing to do (and `None`) without replicas. Replicas are used
    /// only once checked, so a process that serves replica reads runs this.
    pub fn watch_replicas(&self, shutdown: Shutdown) -> Option<tokio::task::JoinHandle<()>> {
        let read::ReadPath::Postgres(replicas) = &self.reads else {
            return None;
        };
        if replicas.is_empty() {
            return None;
        }
        let replicas = std::sync::Arc::clone(replicas);
        let metrics = (*self.metrics).clone();
        Some(tokio::spawn(async move {
            replicas.watch(metrics, shutdown).await;
        }))
    }
}

/// `/readyz` check: the store answers a query within a second. The replicas are
/// shown in its details; one that is skipped does not make the process unready,
/// as reads go to the primary meanwhile.
impl ReadinessCheck for Store {
    fn details(&self) -> Vec<(String, String)> {
        self.replicas()
            .into_iter()
            .map(|r| (format!("replica {}", r.name), r.status.to_string()))
            .collect()
    }

    fn name(&self) -> &'static str {
        "store"
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            self.ping(Duration::from_secs(1))
                .await
                .map_err(|e| e.to_string())
        })
    }
}
