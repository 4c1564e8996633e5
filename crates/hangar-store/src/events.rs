//! The event log behind the realtime feed (`hangar_events`).
//!
//! Any process publishes state changes (a job started, a pipeline task failed) with
//! [`EventLog::publish`], which never blocks: events go through a bounded channel
//! to one writer task per process that inserts them in batches. Every api process
//! tails the table in id order ([`read_events`]) and fans the events out to its
//! clients, which resume after the last id they saw.
//!
//! Events are a notification, not the record: the job and run tables are. An event
//! is lost when the channel is full (counted, and logged) or the process dies
//! before the batch is written; a client that missed events re-reads the state.
//!
//! On PostgreSQL, identity values are handed out before commit, so two
//! transactions can commit ids out of order and a reader could pass over an id
//! that commits later. Inserts therefore take a transaction-scoped advisory lock:
//! commit order is id order. (SQLite has one writer at a time anyway.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hangar_core::clock::now_ms;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::placeholders::{anonymous, for_dialect};
use crate::{Dialect, Store, StoreError, on_pool};

/// Key of the PostgreSQL advisory lock that orders event inserts ("events").
const EVENTS_LOCK: i64 = 0x6576_656e_7473;
/// Events waiting for the writer before new ones are dropped.
const CHANNEL: usize = 16_384;
/// Most events in one insert.
const BATCH: usize = 500;

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Event {
    /// Position in the log; only grows.
    pub id: i64,
    /// What it is about, e.g. `jobs`, `pipelines`.
    pub topic: String,
    /// What happened, e.g. `job.succeeded`, `run.state`.
    pub kind: String,
    /// JSON document describing it.
    pub data: String,
    /// When it was published, Unix epoch milliseconds.
    pub created_at: i64,
}

struct NewEvent {
    topic: &'static str,
    kind: &'static str,
    data: String,
    created_at: i64,
}

enum Message {
    Event(NewEvent),
    /// Answered once every event sent before it is written.
    Flush(oneshot::Sender<()>),
}

/// The publishing side of the event log. Cheap to clone.
#[derive(Clone)]
pub struct EventLog {
    tx: Option<mpsc::Sender<Message>>,
    dropped: Arc<AtomicU64>,
    written: Arc<Notify>,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("enabled", &self.tx.is_some())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl EventLog {
    /// Starts the writer task of this process. Must be called in a tokio runtime.
    pub fn start(store: Store) -> Self {
        let (tx, rx) = mpsc::channel(CHANNEL);
        let written = Arc::new(Notify::new());
        tokio::spawn(write_batches(store, rx, written.clone()));
        Self {
            tx: Some(tx),
            dropped: Arc::default(),
            written,
        }
    }

    /// A log that publishes nothing (for tools that change no state anyone watches).
    pub fn disabled() -> Self {
        Self {
            tx: None,
            dropped: Arc::default(),
            written: Arc::new(Notify::new()),
        }
    }

    /// Queues an event for writing; drops it, counting, if the writer is behind.
    pub fn publish(&self, topic: &'static str, kind: &'static str, data: String) {
        let Some(tx) = &self.tx else { return };
        let event = NewEvent {
            topic,
            kind,
            data,
            created_at: now_ms(),
        };
        if tx.try_send(Message::Event(event)).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "event log writer is behind; events dropped");
            }
        }
    }

    /// Waits (at most `budget`) until the events published so far are written;
    /// a process calls it before it exits.
    pub async fn flush(&self, budget: std::time::Duration) {
        let Some(tx) = &self.tx else { return };
        let (done, wait) = oneshot::channel();
        let flushed = async {
            if tx.send(Message::Flush(done)).await.is_ok() {
                let _ = wait.await;
            }
        };
        if tokio::time::timeout(budget, flushed).await.is_err() {
            tracing::warn!("events not written within {budget:?} of shutdown; they are lost");
        }
    }

    /// Events dropped because the writer was behind, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Woken after each batch this process writes, so local readers need not poll.
    pub fn written(&self) -> Arc<Notify> {
        self.written.clone()
    }
}

async fn write_batches(store: Store, mut rx: mpsc::Receiver<Message>, written: Arc<Notify>) {
    let mut messages = Vec::with_capacity(BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    let mut flushes = Vec::new();
    while rx.recv_many(&mut messages, BATCH).await > 0 {
        for message in messages.drain(..) {
            match message {
                Message::Event(event) => batch.push(event),
                Message::Flush(done) => flushes.push(done),
            }
        }
        if !batch.is_empty() {
            if let Err(e) = insert(&store, &batch).await {
                tracing::warn!(error = %e, events = batch.len(), "could not write events; they are lost");
            }
            batch.clear();
            written.notify_waiters();
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn insert(store: &Store, batch: &[NewEvent]) -> Result<(), StoreError> {
    let sql = for_dialect(
        store.dialect(),
        format!(
            "INSERT INTO hangar_events (topic, kind, data, created_at) VALUES {}",
            anonymous(batch.len(), 4)
        ),
    );
    let postgres = store.dialect() == Dialect::Postgres;
    on_pool!(store.writer(), pool => {
        async {
            let mut tx = pool.begin().await?;
            if postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(EVENTS_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for e in batch {
                query = query
                    .bind(e.topic)
                    .bind(e.kind)
                    .bind(&e.data)
                    .bind(e.created_at);
            }
            query.execute(&mut *tx).await?;
            tx.commit().await
        }
        .await
    })?;
    Ok(())
}

/// Up to `limit` events with ids above `after`, in id order.
pub async fn read_events(store: &Store, after: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
    let sql = format!(
        "SELECT id, topic, kind, data, created_at FROM hangar_events \
         WHERE id > $1 ORDER BY id LIMIT {limit}"
    );
    Ok(on_pool!(store, pool => {
        sqlx::query_as::<_, Event>(sqlx::AssertSqlSafe(sql)).bind(after).fetch_all(pool).await
    })?)
}

/// The lowest and highest ids in the log (`None` when it is empty).
pub async fn event_bounds(store: &Store) -> Result<Option<(i64, i64)>, StoreError> {
    let sql = "SELECT MIN(id), MAX(id) FROM hangar_events";
    let (low, high): (Option<i64>, Option<i64>) = on_pool!(store, pool => {
        sqlx::query_as(sql).fetch_one(pool).await
    })?;
    Ok(low.zip(high))
}

/// The highest id of the events published before `before_ms` (0 when none).
pub async fn last_event_before(store: &Store, before_ms: i64) -> Result<i64, StoreError> {
    let sql = "SELECT MAX(id) FROM hangar_events WHERE created_at < $1";
    let last: Option<i64> = on_pool!(store, pool => {
        sqlx::query_scalar(sql).bind(before_ms).fetch_one(pool).await
    })?;
    Ok(last.unwrap_or(0))
}

/// Deletes events published before `before_ms`; returns how many.
pub async fn prune_events(store: &Store, before_ms: i64) -> Result<u64, StoreError> {
    let sql = "DELETE FROM hangar_events WHERE created_at < $1";
    Ok(on_pool!(store.writer(), pool => {
        sqlx::query(sql).bind(before_ms).execute(pool).await.map(|r| r.rows_affected())
    })?)
}
