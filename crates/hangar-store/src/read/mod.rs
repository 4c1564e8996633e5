//! Reads that answer requests: [`Store::read_all`], [`Store::read_optional`] and
//! [`Store::read_one`]. One statement text and one row mapping serve both dialects;
//! the store decides where the statement runs.
//!
//! - **SQLite**: on a connection the calling thread keeps (`rusqlite`, a
//!   prepared-statement cache per connection), with no hand-off to another thread.
//!   A statement may run there for [`INLINE_BUDGET`]; SQLite's progress handler
//!   interrupts one that takes longer, and it runs again, unbounded, on the
//!   runtime's blocking threads (and goes there directly after a few overruns).
//! - **PostgreSQL**: on the pool, or on a healthy read replica when the caller
//!   tolerates replica lag ([`ReadRoute`]): the API runs safe-method requests that
//!   way unless the session wrote recently.
//!
//! Writes, transactions and reads inside them stay on sqlx (`on_pool!`, [`Tx`](crate::Tx)).
//! See `docs/adr/0004-read-path.md`.
//!
//! ```ignore
//! struct Title { id: i64, title: String }
//! impl FromRead for Title {
//!     fn from_row(row: &Row<'_>) -> Result<Self, StoreError> {
//!         Ok(Title { id: row.get("id")?, title: row.get("title")? })
//!     }
//! }
//! let query = Query::new("SELECT id, title FROM movies WHERE id = ?").bind(42);
//! let film: Option<Title> = store.read_optional(&query).await?;
//! ```

mod replicas;
mod route;
mod sqlite;

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sqlx::postgres::PgRow;

use crate::{Store, StoreError};

pub(crate) use replicas::Replicas;
pub use replicas::{ReplicaState, ReplicaStatus};
pub use route::{ReadRoute, current as current_route, with_read_route};
pub use sqlite::INLINE_BUDGET;
pub(crate) use sqlite::SqliteReads;

/// A statement with `?` placeholders (numbered `$1, $2, …` for PostgreSQL when it
/// runs there) and the values bound to them, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    sql: String,
    binds: Vec<Value>,
}

impl Query {
    /// A statement; its `?` are the placeholders, so it must hold no other `?`.
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            binds: Vec::new(),
        }
    }

    /// Binds the next placeholder.
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.binds.push(value.into());
        self
    }

    /// Binds the next placeholder, in place.
    pub fn push(&mut self, value: impl Into<Value>) {
        self.binds.push(value.into());
    }

    /// The statement, with `?` placeholders.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The bound values.
    pub fn binds(&self) -> &[Value] {
        &self.binds
    }
}

/// A value bound to a [`Query`]. There is no null: a bound null has a type, which
/// PostgreSQL checks against the column; write `IS NULL` into the statement instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A whole number.
    Int(i64),
    /// A real number.
    Real(f64),
    /// Text.
    Text(String),
    /// True or false.
    Bool(bool),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Real(v) => ValueRef::Real(*v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Bool(v) => ValueRef::Integer(i64::from(*v)),
        }))
    }
}

/// A type both drivers read from a column: whole and real numbers, text, booleans,
/// bytes, and `Option`s of them for nullable columns.
pub trait Column:
    rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>
{
}

impl<T> Column for T where
    T: rusqlite::types::FromSql
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
{
}

/// A column named or numbered (from 0) in a [`Row`].
pub trait ColumnIndex:
    rusqlite::RowIndex + sqlx::ColumnIndex<PgRow> + std::fmt::Display + Copy
{
}

impl ColumnIndex for &str {}
impl ColumnIndex for usize {}

/// One row of a read's result, from either dialect.
pub struct Row<'r>(RowOf<'r>);

enum RowOf<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r PgRow),
}

impl Row<'_> {
    /// The value of a column, by name or position.
    pub fn get<T: Column, I: ColumnIndex>(&self, column: I) -> Result<T, StoreError> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Column {
            column: column.to_string(),
            source,
        };
        match &self.0 {
            RowOf::Sqlite(row) => row.get(column).map_err(|e| failed(e.into())),
            RowOf::Postgres(row) => sqlx::Row::try_get(*row, column).map_err(|e| failed(e.into())),
        }
    }
}

/// A value made from one row of a read: implement it for the structs a query
/// returns. Every [`Column`] type is one, read from the first column (a count, an id).
pub trait FromRead: Sized + Send + 'static {
    /// The value of `row`.
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError>;
}

impl<T: Column + Send + 'static> FromRead for T {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError> {
        row.get(0)
    }
}

/// Where a read ran, as `hangar_store_reads_total{path}` counts it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ReadWhere {
    SqliteInline,
    SqliteThread,
    Primary,
    Replica,
}

impl ReadWhere {
    const ALL: [ReadWhere; 4] = [
        ReadWhere::SqliteInline,
        ReadWhere::SqliteThread,
        ReadWhere::Primary,
        ReadWhere::Replica,
    ];

    fn label(self) -> &'static str {
        match self {
            ReadWhere::SqliteInline => "sqlite_inline",
            ReadWhere::SqliteThread => "sqlite_thread",
            ReadWhere::Primary => "primary",
            ReadWhere::Replica => "replica",
        }
    }
}

/// Where the store's reads went, for `/metrics`.
#[derive(Debug, Clone)]
pub(crate) struct ReadMetrics {
    reads: Family<PathLabel, Counter>,
    /// The counters of `reads`, made once: a read increments one without a
    /// lookup in the family's map.
    counters: [Counter; 4],
    replica_up: Family<ReplicaLabel, Gauge>,
    replica_lag: Family<ReplicaLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PathLabel {
    path: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaLabel {
    replica: String,
}

impl Default for ReadMetrics {
    fn default() -> Self {
        let reads = Family::<PathLabel, Counter>::default();
        let counters =
            ReadWhere::ALL.map(|at| reads.get_or_create(&PathLabel { path: at.label() }).clone());
        Self {
            reads,
            counters,
            replica_up: Family::default(),
            replica_lag: Family::default(),
        }
    }
}

impl ReadMetrics {
    fn count(&self, at: ReadWhere) {
        self.counters[at as usize].inc();
    }

    fn replica(&self, name: &str, up: bool, lag_seconds: Option<f64>) {
        let label = ReplicaLabel {
            replica: name.to_owned(),
        };
        self.replica_up.get_or_create(&label).set(i64::from(up));
        if let Some(lag) = lag_seconds {
            self.replica_lag.get_or_create(&label).set(lag);
        }
    }
}

/// Where reads of each dialect run.
#[derive(Debug, Clone)]
pub(crate) enum ReadPath {
    /// SQLite file: a connection held by each calling thread.
    Sqlite(Arc<SqliteReads>),
    /// PostgreSQL: the pool and the read replicas.
    Postgres(Arc<Replicas>),
}

impl Store {
    /// Every row `query` returns. See [the module](self) for where it runs.
    pub async fn read_all<T: FromRead>(&self, query: &Query) -> Result<Vec<T>, StoreError> {
        self.read_rows(query, usize::MAX).await
    }

    /// The first row `query` returns, if any.
    pub async fn read_optional<T: FromRead>(&self, query: &Query) -> Result<Option<T>, StoreError> {
        Ok(self.read_rows(query, 1).await?.pop())
    }

    /// The first row `query` returns; none is [`StoreError::NoRow`].
    pub async fn read_one<T: FromRead>(&self, query: &Query) -> Result<T, StoreError> {
        self.read_optional(query).await?.ok_or(StoreError::NoRow)
    }

    /// Registers the read path's metrics (`hangar_store_reads`, and per replica
    /// `hangar_store_replica_up` and `hangar_store_replica_lag_seconds`).
    pub fn register_metrics(&self, registry: &mut Registry) {
        let metrics = &self.metrics;
        registry.register(
            "hangar_store_reads",
            "Reads by where they ran: sqlite_inline (the calling thread), sqlite_thread \
             (a blocking thread, after the inline budget), primary, replica",
            metrics.reads.clone(),
        );
        registry.register(
            "hangar_store_replica_up",
            "1 when the read replica is reachable and within store.replica_max_lag",
            metrics.replica_up.clone(),
        );
        registry.register(
            "hangar_store_replica_lag_seconds",
            "How far the read replica's replay is behind the primary",
            metrics.replica_lag.clone(),
        );
    }

    async fn read_rows<T: FromRead>(
        &self,
        query: &Query,
        max: usize,
    ) -> Result<Vec<T>, StoreError> {
        match &self.reads {
            ReadPath::Sqlite(reads) => reads.read(query, max, &self.metrics).await,
            ReadPath::Postgres(replicas) => replicas.read(query, max, &self.metrics).await,
        }
    }
}
