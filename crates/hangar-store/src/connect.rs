//! Opening the pools, and waiting (bounded, with backoff) for a database that is not
//! up yet — the usual state of things when a cluster starts.

use std::str::FromStr;
use std::time::{Duration, Instant};

use hangar_core::Shutdown;
use hangar_core::backoff::Backoff;
use hangar_core::config::{DatabaseUrl, StoreConfig};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use std::sync::Arc;

use crate::read::{ReadMetrics, ReadPath, Replicas, SqliteReads};
use crate::{Dialect, Pool, Store, StoreError};

/// Longest a single connection attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest a write waits for SQLite's single writer connection: writes queue
/// there instead of on the file lock.
const WRITER_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

impl Store {
    /// Creates the pool without connecting: connections are opened on first use.
    /// For SQLite, the file's directory is created and the file on first connect.
    ///
    /// Reads on SQLite run on connections of their own (see [`crate::read`]), so
    /// the file must be a file: an in-memory database is refused.
    pub fn open(url: &DatabaseUrl, config: &StoreConfig) -> Result<Store, StoreError> {
        let invalid = |source| StoreError::InvalidUrl {
            url: url.redacted(),
            source,
        };
        let (pool, writer, reads) = match Dialect::from(url.engine()) {
            Dialect::Sqlite => {
                let options = SqliteConnectOptions::from_str(url.expose())
                    .map_err(invalid)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(config.busy_timeout.get());
                let file = options.get_filename().to_owned();
                if file.as_os_str().is_empty()
                    || url.expose().contains(":memory:")
                    || url.expose().contains("mode=memory")
                {
                    return Err(StoreError::InvalidUrl {
                        url: url.redacted(),
                        source: sqlx::Error::Configuration(
                            "an in-memory SQLite database is not supported: each connection \
                             would see a database of its own; give a file, sqlite://data/hangar.db"
                                .into(),
                        ),
                    });
                }
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                        path: dir.to_owned(),
                        source,
                    })?;
                }
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(WRITER_ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options.clone());
                let readers = SqlitePoolOptions::new()
                    .max_connections(config.max_connections.max(1))
                    .acquire_timeout(ATTEMPT_TIMEOUT)
                    .connect_lazy_with(options);
                let reads =
                    ReadPath::Sqlite(Arc::new(SqliteReads::new(file, config.busy_timeout.get())));
                (Pool::Sqlite(readers), Pool::Sqlite(writer), reads)
            }
            Dialect::Postgres => {
                let options = PgConnectOptions::from_str(url.expose())
                    .map_err(invalid)?
                    .application_name("hangar");
                let pg = PgPoolOptions::new()
                    .max_connections(config.max_connections.max(1))
                    .acquire_timeout(ATTEMPT_TIMEOUT)
                    .connect_lazy_with(options);
                let reads = ReadPath::Postgres(Arc::new(Replicas::new(pg.clone(), config)));
                (Pool::Postgres(pg.clone()), Pool::Postgres(pg), reads)
            }
        };
        Ok(Store {
            pool,
            writer,
            url: Arc::new(url.clone()),
            reads,
            metrics: Arc::new(ReadMetrics::default()),
        })
    }

    /// Adds read replicas (`database_replica_urls`): PostgreSQL servers streaming
    /// from this store's primary. Connections open on first use; a replica is
    /// used once [`Store::watch_replicas`] has found it healthy.
    pub fn with_replicas(
        mut self,
        urls: &[DatabaseUrl],
        config: &StoreConfig,
    ) -> Result<Store, StoreError> {
        if urls.is_empty() {
            return Ok(self);
        }
        let ReadPath::Postgres(replicas) = &mut self.reads else {
            return Err(StoreError::InvalidReplica {
                url: urls[0].redacted(),
                reason: "read replicas need a PostgreSQL primary (database_url is SQLite)"
                    .to_owned(),
            });
        };
        let Pool::Postgres(primary) = &self.pool else {
            unreachable!("a PostgreSQL read path has a PostgreSQL pool")
        };
        let mut all = Replicas::new(primary.clone(), config);
        for url in urls {
            let invalid = |reason: String| StoreError::InvalidReplica {
                url: url.redacted(),
                reason,
            };
            if Dialect::from(url.engine()) != Dialect::Postgres {
                return Err(invalid(
                    "a read replica must be a postgres:// URL".to_owned(),
                ));
            }
            if url == &*self.url {
                return Err(invalid("this is database_url itself".to_owned()));
            }
            let options = PgConnectOptions::from_str(url.expose())
                .map_err(|e| invalid(e.to_string()))?
                .application_name("hangar-replica-reads");
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections.max(1))
                .acquire_timeout(ATTEMPT_TIMEOUT)
                .connect_lazy_with(options);
            all.add(url.redacted(), pool);
        }
        *replicas = Arc::new(all);
        Ok(self)
    }

    /// Opens and closes one connection outside the pool. The pool would retry
    /// internally and report only a timeout; this shows the actual cause
    /// (refused, unknown host, bad password, …).
    async fn connect_once(&self, limit: Duration) -> Result<(), sqlx::Error> {
        let attempt = async {
            match self.pool() {
                Pool::Sqlite(pool) => pool.connect_options().connect().await?.close().await,
                Pool::Postgres(pool) => pool.connect_options().connect().await?.close().await,
            }
        };
        tokio::time::timeout(limit, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {}ms", limit.as_millis()),
                )))
            })
    }

    /// Waits until the database answers, retrying with backoff for at most
    /// `store.connect_timeout`, logging each failed attempt. Returns early with
    /// [`StoreError::Interrupted`] if `shutdown` fires.
    pub async fn wait_until_reachable(
        &self,
        budget: Duration,
        shutdown: &Shutdown,
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
        loop {
            let remaining = budget.saturating_sub(started.elapsed());
            let attempt = backoff.attempts() + 1;
            let limit = ATTEMPT_TIMEOUT.min(remaining.max(Duration::from_millis(100)));
            let result = tokio::select! {
                r = self.connect_once(limit) => r,
                () = shutdown.wait() => return Err(StoreError::Interrupted),
            };
            let Err(error) = result else {
                if attempt > 1 {
                    tracing::info!(url = %self.url(), attempt, "database reachable");
                }
                return Ok(());
            };
            let delay = backoff.next_delay();
            if started.elapsed() + delay >= budget {
                return Err(StoreError::Unreachable {
                    url: self.url(),
                    attempts: attempt,
                    waited: started.elapsed(),
                    source: error,
                });
            }
            tracing::warn!(
                url = %self.url(),
                attempt,
                error = %error,
                retry_in_ms = delay.as_millis() as u64,
                "database not reachable yet"
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = shutdown.wait() => return Err(StoreError::Interrupted),
            }
        }
    }
}
