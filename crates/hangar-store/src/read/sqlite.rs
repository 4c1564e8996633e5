//! SQLite reads on a connection the calling thread keeps.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every
//! statement and row across threads: several wake-ups per request, more CPU than
//! the query itself. Here each thread that reads (a runtime worker, or a blocking
//! thread) opens its own read-only connection to the file once and keeps it, with
//! its prepared statements, in a thread-local; a read runs where it is called.
//!
//! A read must not hold a runtime worker for long, so on a worker it runs under a
//! budget ([`INLINE_BUDGET`]) that SQLite's progress handler enforces; a statement
//! that overruns it is interrupted and runs again on a blocking thread, and after
//! a few overruns in a row that statement text goes there directly (per thread,
//! until it runs fast there). A busy database
//! (rare in WAL mode: recovery, a checkpoint restart) also sends the read there,
//! where the configured busy timeout applies.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{FromRead, Query, ReadMetrics, ReadWhere, Row, RowOf};
use crate::StoreError;

/// Longest a read runs on the calling runtime thread before it moves to a
/// blocking thread. A point read takes tens of microseconds, a ranked full-text
/// page about a hundred; a read that needs more would stall every other request
/// on that thread.
pub const INLINE_BUDGET: Duration = Duration::from_millis(5);

/// Overruns in a row after which a statement goes straight to a blocking thread.
/// One is not enough: on a busy machine the thread may simply have been
/// descheduled while the statement ran.
const OVERRUNS: u8 = 3;

/// SQLite virtual-machine steps between two looks at the clock.
const PROGRESS_STEPS: i32 = 1000;

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

/// Statement texts remembered per thread as too slow to run inline.
const MAX_SLOW: usize = 256;

/// The reads of one SQLite store: what each thread needs to open its connection.
#[derive(Debug)]
pub(crate) struct SqliteReads {
    id: u64,
    path: PathBuf,
    busy_timeout: Duration,
    closed: Arc<AtomicBool>,
}

/// A thread's connection to one store.
struct Held {
    store: u64,
    closed: Arc<AtomicBool>,
    conn: Connection,
    /// When the running statement must stop (nanoseconds from [`epoch`]); 0: never.
    deadline: Arc<AtomicU64>,
    /// Statements that overran the budget here, with how many times in a row;
    /// at [`OVERRUNS`] they go to a blocking thread.
    slow: HashMap<String, u8>,
    /// The busy timeout set on `conn`: none inline (a busy read moves instead).
    busy: Duration,
}

thread_local! {
    static HELD: RefCell<Vec<Held>> = const { RefCell::new(Vec::new()) };
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn nanos_since_epoch() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// How a read ended on this thread.
enum Outcome<T> {
    Rows(Vec<T>),
    /// Over budget, or the database was busy: run it on a blocking thread.
    Elsewhere,
}

impl SqliteReads {
    pub(crate) fn new(path: PathBuf, busy_timeout: Duration) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            path,
            busy_timeout,
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Closes the connections: each thread drops its own at its next read.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    pub(crate) async fn read<T: FromRead>(
        self: &Arc<Self>,
        query: &Query,
        max: usize,
        metrics: &ReadMetrics,
    ) -> Result<Vec<T>, StoreError> {
        if let Outcome::Rows(rows) = self.run(query, max, Some(INLINE_BUDGET))? {
            metrics.count(ReadWhere::SqliteInline);
            return Ok(rows);
        }
        metrics.count(ReadWhere::SqliteThread);
        let reads = Arc::clone(self);
        let moved = query.clone();
        let started = Instant::now();
        let rows = tokio::task::spawn_blocking(move || reads.run(&moved, max, None))
            .await
            .map_err(|e| StoreError::ReadThread(e.to_string()))??;
        if started.elapsed() < INLINE_BUDGET / 2 {
            // Fast after all: let it run inline again on this thread.
            self.forget_overruns(query.sql());
        }
        match rows {
            Outcome::Rows(rows) => Ok(rows),
            Outcome::Elsewhere => unreachable!("an unbounded read runs to its end"),
        }
    }

    /// Runs `query` on this thread's connection, within `budget` if one is given.
    fn run<T: FromRead>(
        &self,
        query: &Query,
        max: usize,
        budget: Option<Duration>,
    ) -> Result<Outcome<T>, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        HELD.with(|held| {
            let mut held = held.borrow_mut();
            held.retain(|h| !h.closed.load(Ordering::Acquire));
            let index = match held.iter().position(|h| h.store == self.id) {
                Some(index) => index,
                None => {
                    held.push(self.open()?);
                    held.len() - 1
                }
            };
            let held = &mut held[index];
            if budget.is_some() && held.slow.get(query.sql()).is_some_and(|n| *n >= OVERRUNS) {
                return Ok(Outcome::Elsewhere);
            }
            let deadline = budget.map_or(0, |b| {
                nanos_since_epoch().saturating_add(u64::try_from(b.as_nanos()).unwrap_or(u64::MAX))
            });
            let busy = if budget.is_some() {
                Duration::ZERO
            } else {
                self.busy_timeout
            };
            if held.busy != busy {
                held.conn.busy_timeout(busy)?;
                held.busy = busy;
            }
            held.deadline.store(deadline, Ordering::Relaxed);
            let result = fetch(&held.conn, query, max);
            held.deadline.store(0, Ordering::Relaxed);
            match result {
                Ok(rows) => {
                    if budget.is_some() && !held.slow.is_empty() {
                        held.slow.remove(query.sql());
                    }
                    Ok(Outcome::Rows(rows))
                }
                Err(Failure::Interrupted) if budget.is_some() => {
                    if held.slow.len() >= MAX_SLOW {
                        held.slow.clear();
                    }
                    let overruns = held.slow.entry(query.sql().to_owned()).or_default();
                    *overruns = overruns.saturating_add(1);
                    tracing::debug!(
                        sql = query.sql(),
                        overruns = *overruns,
                        "read over the inline budget; moved to a blocking thread"
                    );
                    Ok(Outcome::Elsewhere)
                }
                Err(Failure::Busy) if budget.is_some() => Ok(Outcome::Elsewhere),
                Err(Failure::Interrupted | Failure::Busy) => {
                    Err(StoreError::Read(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some("the database stayed busy for store.busy_timeout".to_owned()),
                    )))
                }
                Err(Failure::Store(e)) => Err(e),
            }
        })
    }

    /// Clears this thread's count of `sql`'s overruns.
    fn forget_overruns(&self, sql: &str) {
        HELD.with(|held| {
            if let Some(held) = held.borrow_mut().iter_mut().find(|h| h.store == self.id) {
                held.slow.remove(sql);
            }
        });
    }

    /// Opens this thread's connection: read-only queries, a statement cache, and
    /// the progress handler that enforces the deadline.
    fn open(&self) -> Result<Held, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.pragma_update(None, "query_only", true)?;
        conn.busy_timeout(self.busy_timeout)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let deadline = Arc::new(AtomicU64::new(0));
        let watched = Arc::clone(&deadline);
        conn.progress_handler(
            PROGRESS_STEPS,
            Some(move || {
                let deadline = watched.load(Ordering::Relaxed);
                deadline != 0 && nanos_since_epoch() > deadline
            }),
        )?;
        Ok(Held {
            store: self.id,
            closed: Arc::clone(&self.closed),
            conn,
            deadline,
            slow: HashMap::new(),
            busy: self.busy_timeout,
        })
    }
}

enum Failure {
    Interrupted,
    Busy,
    Store(StoreError),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::OperationInterrupted) => Failure::Interrupted,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Failure::Busy,
            _ => Failure::Store(StoreError::Read(e)),
        }
    }
}

/// At most `max` rows of `query`, made into `T`s.
fn fetch<T: FromRead>(conn: &Connection, query: &Query, max: usize) -> Result<Vec<T>, Failure> {
    let mut statement = conn.prepare_cached(query.sql())?;
    let mut rows = statement.query(rusqlite::params_from_iter(query.binds()))?;
    let mut out = Vec::new();
    while out.len() < max {
        let Some(row) = rows.next()? else { break };
        out.push(T::from_row(&Row(RowOf::Sqlite(row))).map_err(Failure::Store)?);
    }
    Ok(out)
}
