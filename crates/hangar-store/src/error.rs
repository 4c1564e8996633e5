use std::path::PathBuf;
use std::time::Duration;

/// What the store could not do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL parsed as a database URL but the driver refused its options.
    #[error("invalid database URL {url}: {source}")]
    InvalidUrl {
        /// The URL, password redacted.
        url: String,
        /// The driver's complaint.
        source: sqlx::Error,
    },
    /// The directory for the SQLite file could not be created.
    #[error("cannot create the directory {} for the SQLite database: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The database did not answer within the configured connect timeout.
    #[error(
        "database {url} is unreachable: gave up after {attempts} attempts over {}s \
         (store.connect_timeout); last error: {source}",
        waited.as_secs()
    )]
    Unreachable {
        /// The URL, password redacted.
        url: String,
        /// How many connection attempts were made.
        attempts: u32,
        /// How long they took in all.
        waited: Duration,
        /// The last attempt's error.
        source: sqlx::Error,
    },
    /// Shutdown was requested while waiting for the database.
    #[error("shutdown requested while connecting to the database")]
    Interrupted,
    /// A query took longer than allowed.
    #[error("the database did not answer within {}ms", .0.as_millis())]
    Timeout(Duration),
    /// A migration failed; its transaction was rolled back.
    #[error("migration {component}/{version:04}_{name} failed: {source}")]
    Migration {
        /// The component (`core`, an app's name, …) owning the migration.
        component: &'static str,
        /// Its version.
        version: i64,
        /// Its name.
        name: &'static str,
        /// The database's error.
        source: sqlx::Error,
    },
    /// An applied migration's SQL differs from the binary's copy.
    #[error(
        "migration {component}/{version:04}_{name} was changed after it was applied \
         (checksum {applied} in the database, {expected} in this build); \
         migrations are append-only: add a new one instead"
    )]
    ChecksumMismatch {
        /// The component owning the migration.
        component: &'static str,
        /// Its version.
        version: i64,
        /// Its name.
        name: &'static str,
        /// Checksum recorded when it was applied.
        applied: String,
        /// Checksum of this build's SQL.
        expected: String,
    },
    /// A component's migrations are not in strictly increasing version order, or a
    /// component name is used twice.
    #[error("invalid migration list: {0}")]
    InvalidMigrations(String),
    /// A read on SQLite's read path failed.
    #[error("read failed: {0}")]
    Read(#[from] rusqlite::Error),
    /// A column of a read's row could not be made into the value asked for.
    #[error("column {column}: {source}")]
    Column {
        /// The column's name or position.
        column: String,
        /// What the driver said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A read that must return a row returned none.
    #[error("the query returned no row")]
    NoRow,
    /// The blocking thread running a read failed.
    #[error("read thread failed: {0}")]
    ReadThread(String),
    /// The store was closed.
    #[error("the store is closed")]
    Closed,
    /// A read replica's URL cannot be used.
    #[error("database_replica_urls: {url}: {reason}")]
    InvalidReplica {
        /// The URL, password redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// Any other database error.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}
