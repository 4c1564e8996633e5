//! A write transaction of either dialect, with work to do once it commits.

use std::future::Future;
use std::pin::Pin;

use crate::{Dialect, Pool, Store, StoreError};

/// Work a [`Tx`] runs after its commit succeeded (announcing jobs, publishing
/// events); dropped with the transaction when it rolls back.
type AfterCommit = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The open transaction of a [`Tx`], for [`on_tx!`](crate::on_tx).
#[derive(Debug)]
pub enum TxConn {
    /// On SQLite.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// On PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// A write transaction on the store's writer pool. Business changes and the
/// jobs they cause (`Queue::enqueue_tx`) go into one: both are committed, or,
/// when the transaction is dropped or rolled back, neither.
///
/// Components register what must happen only once the changes are visible with
/// [`Tx::after_commit`]; [`Tx::commit`] runs it after the commit succeeded.
///
/// ```ignore
/// let mut tx = store.begin().await?;
/// on_tx!(tx, conn => sqlx::query("INSERT INTO matches …").execute(conn).await)?;
/// queue.enqueue_tx(&mut tx, NewJob::of::<MatchEmail>(&first)?).await?;
/// queue.enqueue_tx(&mut tx, NewJob::of::<MatchEmail>(&second)?).await?;
/// tx.commit().await?;
/// ```
pub struct Tx {
    conn: TxConn,
    after: Vec<AfterCommit>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("dialect", &self.dialect())
            .field("after_commit", &self.after.len())
            .finish()
    }
}

impl Store {
    /// Begins a write transaction on the writer pool. On SQLite it takes the
    /// write lock at once (`BEGIN IMMEDIATE`), so a transaction that reads
    /// before it writes cannot fail to upgrade its lock.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let conn = match self.writer() {
            Pool::Sqlite(pool) => TxConn::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => TxConn::Postgres(pool.begin().await?),
        };
        Ok(Tx {
            conn,
            after: Vec::new(),
        })
    }
}

impl Tx {
    /// Which dialect the transaction speaks.
    pub fn dialect(&self) -> Dialect {
        match self.conn {
            TxConn::Sqlite(_) => Dialect::Sqlite,
            TxConn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The open transaction, to match on (or use [`on_tx!`](crate::on_tx)).
    pub fn conn(&mut self) -> &mut TxConn {
        &mut self.conn
    }

    /// Runs `work` once the transaction has committed, in the order registered;
    /// never if it rolls back.
    pub fn after_commit(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        self.after.push(Box::pin(work));
    }

    /// Commits, then runs the work registered with [`Tx::after_commit`]. On
    /// `Err` nothing was committed and that work is dropped.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.conn {
            TxConn::Sqlite(tx) => tx.commit().await?,
            TxConn::Postgres(tx) => tx.commit().await?,
        }
        for work in self.after {
            work.await;
        }
        Ok(())
    }

    /// Rolls back; the work registered with [`Tx::after_commit`] is dropped.
    /// Dropping a `Tx` rolls it back too.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.conn {
            TxConn::Sqlite(tx) => tx.rollback().await?,
            TxConn::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// Runs `$body` with `$conn` bound to the open connection of `$tx` (a [`Tx`] or
/// a `&mut Tx`):
/// `&mut SqliteConnection` or `&mut PgConnection`. Like [`on_pool!`](crate::on_pool),
/// the body is compiled once per dialect.
///
/// ```ignore
/// let id: i64 = on_tx!(tx, conn => {
///     sqlx::query_scalar("INSERT INTO matches (a, b) VALUES ($1, $2) RETURNING id")
///         .bind(a).bind(b).fetch_one(conn).await
/// })?;
/// ```
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match ($tx).conn() {
            $crate::TxConn::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::TxConn::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
