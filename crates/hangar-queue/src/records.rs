//! Every statement on the job tables. The rows are the queue's system of record on
//! both dispatch backends; each statement here runs on SQLite and PostgreSQL.

use hangar_store::placeholders::{anonymous, for_dialect, numbered};
use hangar_store::{Dialect, Pool, Store, Tx, on_pool, on_tx};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use crate::error::QueueError;
use crate::job::{JobId, JobState, NewJob, QueueName, ms};

/// Rows per multi-row statement; keeps every statement far below both engines'
/// limits on bound parameters.
const CHUNK: usize = 400;

/// A job claimed by a worker: what it needs to run it and to report back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ClaimedRow {
    pub id: Uuid,
    pub queue: String,
    pub name: String,
    pub payload: String,
    pub priority: i16,
    pub attempt: i32,
    pub max_attempts: i32,
    pub timeout_ms: i64,
    pub fence: i64,
    pub run_at: i64,
}

/// A job to announce to workers: enough to route a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Announcement {
    pub id: JobId,
    pub queue: String,
    pub priority: u8,
}

/// A running job whose lease expired, as the reaper left it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ReapedRow {
    pub id: Uuid,
    pub queue: String,
    pub name: String,
    pub state: String,
    pub attempt: i32,
    pub worker: Option<String>,
    pub started_at: Option<i64>,
}

/// A job as the operator surface shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct JobRow {
    pub id: Uuid,
    pub queue: String,
    pub name: String,
    pub payload: String,
    pub priority: i16,
    pub state: String,
    pub run_at: i64,
    pub attempt: i32,
    pub max_attempts: i32,
    pub timeout_ms: i64,
    pub unique_key: Option<String>,
    pub worker: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub cancel_requested: bool,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// One failed, timed-out or lost attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct AttemptRow {
    pub attempt: i32,
    pub worker: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub outcome: String,
    pub error: String,
}

/// How an attempt that did not succeed ended.
#[derive(Debug, Clone)]
pub(crate) struct Failure<'a> {
    pub outcome: &'static str,
    pub error: &'a str,
    pub next: JobState,
    pub retry_at: i64,
    pub worker: &'a str,
    pub started_at: i64,
    pub now: i64,
}

/// Filters of a job listing.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs on this queue.
    pub queue: Option<String>,
    /// Only jobs older than this one (the cursor of the previous page).
    pub before: Option<JobId>,
    /// At most this many (1-500).
    pub limit: u32,
}

const COLUMNS: &str = "id, queue, name, payload, priority, state, run_at, attempt, \
     max_attempts, timeout_ms, unique_key, worker, lease_expires_at, cancel_requested, \
     last_error, created_at, started_at, finished_at";

const CLAIMED: &str =
    "id, queue, name, payload, priority, attempt, max_attempts, timeout_ms, fence, run_at";

fn uuids(ids: &[JobId]) -> Vec<Uuid> {
    ids.iter().map(|id| id.uuid()).collect()
}

/// The job tables of a store.
#[derive(Debug, Clone)]
pub(crate) struct JobStore {
    store: Store,
}

impl JobStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Inserts jobs without unique keys in one transaction. Each row is
    /// `(id, job, run_at, announced_at)`.
    pub async fn insert_many(
        &self,
        jobs: &[(JobId, &NewJob, i64, Option<i64>)],
        now: i64,
    ) -> Result<(), QueueError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        self.insert_many_tx(&mut tx, jobs, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Inserts jobs without unique keys in the caller's transaction.
    pub async fn insert_many_tx(
        &self,
        tx: &mut Tx,
        jobs: &[(JobId, &NewJob, i64, Option<i64>)],
        now: i64,
    ) -> Result<(), QueueError> {
        let dialect = tx.dialect();
        for chunk in jobs.chunks(CHUNK) {
            let sql = for_dialect(
                dialect,
                format!(
                    "INSERT INTO hangar_jobs (id, queue, name, payload, priority, state, run_at, \
                 max_attempts, timeout_ms, created_at, announced_at) VALUES {}",
                    vec!["(?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
                ),
            );
            on_tx!(tx, conn => {
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for (id, job, run_at, announced) in chunk {
                    query = query
                        .bind(id.uuid())
                        .bind(&job.queue)
                        .bind(&job.name)
                        .bind(&job.payload)
                        .bind(i16::from(job.priority))
                        .bind(*run_at)
                        .bind(job.max_attempts as i32)
                        .bind(ms(job.timeout))
                        .bind(now)
                        .bind(*announced);
                }
                query.execute(conn).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Inserts a job with a unique key unless an active job holds the key; returns
    /// the id of the job that holds it afterwards and whether it was already there.
    pub async fn insert_unique(
        &self,
        id: JobId,
        job: &NewJob,
        key: &str,
        at: (i64, i64, Option<i64>),
    ) -> Result<(JobId, bool), QueueError> {
        let mut tx = self.store.begin().await?;
        let outcome = self.insert_unique_tx(&mut tx, id, job, key, at).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// [`JobStore::insert_unique`] in the caller's transaction. `at` is
    /// `(run_at, now, announced_at)`.
    pub async fn insert_unique_tx(
        &self,
        tx: &mut Tx,
        id: JobId,
        job: &NewJob,
        key: &str,
        (run_at, now, announced): (i64, i64, Option<i64>),
    ) -> Result<(JobId, bool), QueueError> {
        let insert = "INSERT INTO hangar_jobs (id, queue, name, payload, priority, state, run_at, \
             max_attempts, timeout_ms, created_at, announced_at, unique_key) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL \
             AND state IN ('pending', 'retrying', 'running') DO NOTHING RETURNING id";
        let existing = "SELECT id FROM hangar_jobs WHERE unique_key = $1 \
             AND state IN ('pending', 'retrying', 'running')";
        // The holder of the key can finish between the two statements; then the
        // insert is tried again.
        for _ in 0..3 {
            let inserted: Option<Uuid> = on_tx!(tx, conn => {
                sqlx::query_scalar(insert)
                    .bind(id.uuid())
                    .bind(&job.queue)
                    .bind(&job.name)
                    .bind(&job.payload)
                    .bind(i16::from(job.priority))
                    .bind(run_at)
                    .bind(job.max_attempts as i32)
                    .bind(ms(job.timeout))
                    .bind(now)
                    .bind(announced)
                    .bind(key)
                    .fetch_optional(conn)
                    .await
            })?;
            if let Some(id) = inserted {
                return Ok((id.into(), false));
            }
            let holder: Option<Uuid> = on_tx!(tx, conn => {
                sqlx::query_scalar(existing).bind(key).fetch_optional(conn).await
            })?;
            if let Some(holder) = holder {
                return Ok((holder.into(), true));
            }
        }
        Err(QueueError::invalid(
            "unique_key",
            format!("`{key}` is contended by jobs finishing and starting; try again"),
        ))
    }

    /// Deletes jobs that were inserted but could not be announced.
    pub async fn delete(&self, ids: &[JobId]) -> Result<(), QueueError> {
        const SQL: &str = "DELETE FROM hangar_jobs WHERE state = 'pending' AND id";
        match self.store.writer() {
            Pool::Postgres(pool) => {
                sqlx::query(AssertSqlSafe(format!("{SQL} = ANY($1)")))
                    .bind(uuids(ids))
                    .execute(pool)
                    .await?;
            }
            Pool::Sqlite(pool) => {
                for chunk in ids.chunks(CHUNK) {
                    let sql = format!("{SQL} IN ({})", anonymous(chunk.len(), 1));
                    let mut query = sqlx::query(AssertSqlSafe(sql));
                    for id in chunk {
                        query = query.bind(id.uuid());
                    }
                    query.execute(pool).await?;
                }
            }
        }
        Ok(())
    }

    /// Claims up to `limit` ready jobs of `queue`, highest priority and oldest first.
    pub async fn claim_ready(
        &self,
        queue: &QueueName,
        worker: &str,
        limit: usize,
        lease_until: i64,
        now: i64,
    ) -> Result<Vec<ClaimedRow>, QueueError> {
        let sql = match self.store.dialect() {
            // `= ANY(ARRAY(…))` makes the planner look the locked ids up by
            // primary key instead of joining against the whole table.
            Dialect::Postgres => {
                "UPDATE hangar_jobs SET state = 'running', attempt = attempt + 1, \
                 fence = fence + 1, worker = $3, lease_expires_at = $4, started_at = $5 \
                 WHERE id = ANY(ARRAY(SELECT id FROM hangar_jobs WHERE queue = $1 \
                 AND state IN ('pending', 'retrying') AND run_at <= $5 \
                 ORDER BY priority DESC, run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)) \
                 RETURNING id, queue, name, payload, priority, attempt, max_attempts, \
                 timeout_ms, fence, run_at"
            }
            Dialect::Sqlite => {
                "UPDATE hangar_jobs SET state = 'running', attempt = attempt + 1, \
                 fence = fence + 1, worker = $3, lease_expires_at = $4, started_at = $5 \
                 WHERE id IN (SELECT id FROM hangar_jobs WHERE queue = $1 \
                 AND state IN ('pending', 'retrying') AND run_at <= $5 \
                 ORDER BY priority DESC, run_at, id LIMIT $2) \
                 RETURNING id, queue, name, payload, priority, attempt, max_attempts, \
                 timeout_ms, fence, run_at"
            }
        };
        let mut rows: Vec<ClaimedRow> = on_pool!(self.store.writer(), pool => {
            sqlx::query_as(sql)
                .bind(queue.as_str())
                .bind(limit as i64)
                .bind(worker)
                .bind(lease_until)
                .bind(now)
                .fetch_all(pool)
                .await
        })?;
        rows.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.run_at.cmp(&b.run_at)));
        Ok(rows)
    }

    /// Claims the named jobs that are ready (the rest are running elsewhere, done,
    /// cancelled or not due).
    pub async fn claim_ids(
        &self,
        ids: &[JobId],
        worker: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<Vec<ClaimedRow>, QueueError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let claim = "UPDATE hangar_jobs SET state = 'running', attempt = attempt + 1, \
             fence = fence + 1, worker = ?, lease_expires_at = ?, started_at = ? \
             WHERE state IN ('pending', 'retrying') AND run_at <= ? AND id";
        let rows = match self.store.writer() {
            Pool::Postgres(pool) => {
                let sql = numbered(&format!("{claim} = ANY(?) RETURNING {CLAIMED}"));
                sqlx::query_as::<_, ClaimedRow>(AssertSqlSafe(sql))
                    .bind(worker)
                    .bind(lease_until)
                    .bind(now)
                    .bind(now)
                    .bind(uuids(ids))
                    .fetch_all(pool)
                    .await?
            }
            Pool::Sqlite(pool) => {
                let sql = format!(
                    "{claim} IN ({}) RETURNING {CLAIMED}",
                    anonymous(ids.len(), 1)
                );
                let mut query = sqlx::query_as::<_, ClaimedRow>(AssertSqlSafe(sql))
                    .bind(worker)
                    .bind(lease_until)
                    .bind(now)
                    .bind(now);
                for id in ids {
                    query = query.bind(id.uuid());
                }
                query.fetch_all(pool).await?
            }
        };
        Ok(rows)
    }

    /// Extends the leases of running jobs still held under their fences; returns,
    /// for each one still held, whether cancellation was requested. Jobs missing
    /// from the answer were taken away (their lease expired and was reaped).
    pub async fn heartbeat(
        &self,
        held: &[(JobId, i64)],
        lease_until: i64,
    ) -> Result<Vec<(JobId, bool)>, QueueError> {
        let sql =
            "UPDATE hangar_jobs SET lease_expires_at = ? WHERE state = 'running' AND (id, fence)";
        let rows: Vec<(Uuid, bool)> = self
            .by_fence(sql, "RETURNING id, cancel_requested", lease_until, held)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, cancel)| (id.into(), cancel))
            .collect())
    }

    /// Marks jobs succeeded where their fence still holds; returns those updated.
    pub async fn succeed(&self, done: &[(JobId, i64)], now: i64) -> Result<Vec<JobId>, QueueError> {
        let sql = "UPDATE hangar_jobs SET state = 'succeeded', finished_at = ?, \
             lease_expires_at = NULL WHERE state = 'running' AND (id, fence)";
        let rows: Vec<(Uuid,)> = self.by_fence(sql, "RETURNING id", now, done).await?;
        Ok(rows.into_iter().map(|(id,)| JobId::from(id)).collect())
    }

    /// Runs `{head} IN <pairs> {tail}`, where `head` starts with one `?` bound to
    /// `first` and the pairs are `(id, fence)`: one statement with two array
    /// parameters on PostgreSQL, `VALUES` lists in chunks on SQLite.
    async fn by_fence<T>(
        &self,
        head: &str,
        tail: &str,
        first: i64,
        pairs: &[(JobId, i64)],
    ) -> Result<Vec<T>, QueueError>
    where
        T: Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
    {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        match self.store.writer() {
            Pool::Postgres(pool) => {
                let sql = numbered(&format!(
                    "{head} IN (SELECT * FROM UNNEST(?::uuid[], ?::bigint[])) {tail}"
                ));
                let ids: Vec<Uuid> = pairs.iter().map(|(id, _)| id.uuid()).collect();
                let fences: Vec<i64> = pairs.iter().map(|(_, fence)| *fence).collect();
                Ok(sqlx::query_as(AssertSqlSafe(sql))
                    .bind(first)
                    .bind(ids)
                    .bind(fences)
                    .fetch_all(pool)
                    .await?)
            }
            Pool::Sqlite(pool) => {
                let mut out = Vec::with_capacity(pairs.len());
                for chunk in pairs.chunks(CHUNK) {
                    let sql = format!("{head} IN (VALUES {}) {tail}", anonymous(chunk.len(), 2));
                    let mut query = sqlx::query_as(AssertSqlSafe(sql)).bind(first);
                    for (id, fence) in chunk {
                        query = query.bind(id.uuid()).bind(*fence);
                    }
                    out.extend(query.fetch_all(pool).await?);
                }
                Ok(out)
            }
        }
    }

    /// Records a failed attempt and moves the job on (retrying, dead, or cancelled
    /// if that was requested). Returns the new state, or `None` when the fence no
    /// longer holds (a stale worker reporting late).
    pub async fn fail(
        &self,
        job: &ClaimedRow,
        failure: &Failure<'_>,
    ) -> Result<Option<JobState>, QueueError> {
        let update = "UPDATE hangar_jobs SET \
             state = CASE WHEN cancel_requested THEN 'cancelled' ELSE $3 END, \
             run_at = $4, last_error = $5, lease_expires_at = NULL, announced_at = NULL, \
             finished_at = CASE WHEN cancel_requested OR $3 = 'dead' THEN $6 ELSE NULL END \
             WHERE id = $1 AND fence = $2 AND state = 'running' RETURNING state";
        let record = "INSERT INTO hangar_job_attempts \
             (job_id, attempt, worker, started_at, finished_at, outcome, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let state: Option<String> = on_pool!(self.store.writer(), pool => {
            let mut tx = pool.begin().await?;
            let state: Option<String> = sqlx::query_scalar(update)
                .bind(job.id)
                .bind(job.fence)
                .bind(failure.next.as_str())
                .bind(failure.retry_at)
                .bind(failure.error)
                .bind(failure.now)
                .fetch_optional(&mut *tx)
                .await?;
            if state.is_some() {
                sqlx::query(record)
                    .bind(job.id)
                    .bind(job.attempt)
                    .bind(failure.worker)
                    .bind(failure.started_at)
                    .bind(failure.now)
                    .bind(failure.outcome)
                    .bind(failure.error)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(state)
        })?;
        state.map(|s| s.parse()).transpose()
    }

    /// Hands running jobs back (worker shutdown): pending again, the attempt not
    /// counted. Returns those released.
    pub async fn release(&self, held: &[(JobId, i64)]) -> Result<Vec<Announcement>, QueueError> {
        // `attempt - ?` with 1: the head binds one value, like every `by_fence` statement.
        let sql = "UPDATE hangar_jobs SET state = 'pending', attempt = attempt - ?, \
             lease_expires_at = NULL, announced_at = NULL WHERE state = 'running' AND (id, fence)";
        let rows: Vec<(Uuid, String, i16)> = self
            .by_fence(sql, "RETURNING id, queue, priority", 1, held)
            .await?;
        Ok(rows.into_iter().map(announcement).collect())
    }

    /// Re-queues running jobs whose lease expired before `now` (their worker died
    /// or hung), recording each as a lost attempt. Dead if it was the last attempt.
    pub async fn reap(&self, now: i64) -> Result<Vec<ReapedRow>, QueueError> {
        let update = "UPDATE hangar_jobs SET \
             state = CASE WHEN cancel_requested THEN 'cancelled' \
             WHEN attempt >= max_attempts THEN 'dead' ELSE 'retrying' END, \
             run_at = $1, lease_expires_at = NULL, announced_at = NULL, \
             last_error = 'lease expired: worker ' || COALESCE(worker, '?') || ' stopped heartbeating', \
             finished_at = CASE WHEN cancel_requested OR attempt >= max_attempts THEN $1 ELSE NULL END \
             WHERE state = 'running' AND lease_expires_at < $1 \
             RETURNING id, queue, name, state, attempt, worker, started_at";
        let dialect = self.store.dialect();
        let reaped = on_pool!(self.store.writer(), pool => {
            let mut tx = pool.begin().await?;
            let reaped: Vec<ReapedRow> = sqlx::query_as(update).bind(now).fetch_all(&mut *tx).await?;
            for chunk in reaped.chunks(CHUNK) {
                let sql = for_dialect(dialect, format!(
                    "INSERT INTO hangar_job_attempts \
                     (job_id, attempt, worker, started_at, finished_at, outcome, error) VALUES {} \
                     ON CONFLICT (job_id, attempt) DO NOTHING",
                    anonymous(chunk.len(), 7)
                ));
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for row in chunk {
                    let worker = row.worker.clone().unwrap_or_else(|| "?".to_owned());
                    let error = format!("lease expired: worker {worker} stopped heartbeating");
                    query = query
                        .bind(row.id)
                        .bind(row.attempt)
                        .bind(worker)
                        .bind(row.started_at.unwrap_or(now))
                        .bind(now)
                        .bind("lost")
                        .bind(error);
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(reaped)
        })?;
        Ok(reaped)
    }

    /// Takes the duty of announcing ready jobs not announced since `stale_before`
    /// (RabbitMQ dispatch): marks them announced now and returns them. Concurrent
    /// sweepers take disjoint sets.
    pub async fn take_announcements(
        &self,
        now: i64,
        stale_before: i64,
        limit: usize,
    ) -> Result<Vec<Announcement>, QueueError> {
        let lock = match self.store.dialect() {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE hangar_jobs SET announced_at = $1 WHERE id IN (SELECT id FROM hangar_jobs \
             WHERE state IN ('pending', 'retrying') AND run_at <= $1 \
             AND (announced_at IS NULL OR announced_at < $2) \
             ORDER BY priority DESC, run_at LIMIT $3{lock}) RETURNING id, queue, priority"
        );
        let rows: Vec<(Uuid, String, i16)> = on_pool!(self.store.writer(), pool => {
            sqlx::query_as(AssertSqlSafe(sql.clone()))
                .bind(now)
                .bind(stale_before)
                .bind(limit as i64)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(announcement).collect())
    }

    /// Undoes [`JobStore::take_announcements`] for jobs whose publish failed.
    pub async fn forget_announcements(&self, ids: &[JobId]) -> Result<(), QueueError> {
        self.set_announced(ids, None).await
    }

    /// Records that messages were published for these jobs.
    pub async fn mark_announced(&self, ids: &[JobId], now: i64) -> Result<(), QueueError> {
        self.set_announced(ids, Some(now)).await
    }

    async fn set_announced(&self, ids: &[JobId], at: Option<i64>) -> Result<(), QueueError> {
        const SQL: &str = "UPDATE hangar_jobs SET announced_at = ? WHERE id";
        match self.store.writer() {
            Pool::Postgres(pool) => {
                sqlx::query(AssertSqlSafe(numbered(&format!("{SQL} = ANY(?)"))))
                    .bind(at)
                    .bind(uuids(ids))
                    .execute(pool)
                    .await?;
            }
            Pool::Sqlite(pool) => {
                for chunk in ids.chunks(CHUNK) {
                    let sql = format!("{SQL} IN ({})", anonymous(chunk.len(), 1));
                    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(at);
                    for id in chunk {
                        query = query.bind(id.uuid());
                    }
                    query.execute(pool).await?;
                }
            }
        }
        Ok(())
    }

    /// Jobs waiting or running, per queue and state.
    pub async fn depth(&self) -> Result<Vec<(String, String, i64)>, QueueError> {
        let sql = "SELECT queue, state, COUNT(*) FROM hangar_jobs \
             WHERE state IN ('pending', 'retrying', 'running') GROUP BY queue, state";
        Ok(on_pool!(self.store, pool => sqlx::query_as(sql).fetch_all(pool).await)?)
    }

    /// Deletes succeeded and cancelled jobs that finished before `before`.
    pub async fn prune(&self, before: i64) -> Result<u64, QueueError> {
        let sql = "DELETE FROM hangar_jobs WHERE state IN ('succeeded', 'cancelled') \
             AND finished_at < $1";
        Ok(on_pool!(self.store.writer(), pool => {
            sqlx::query(sql).bind(before).execute(pool).await.map(|r| r.rows_affected())
        })?)
    }

    /// A page of jobs, newest first.
    pub async fn list(&self, filter: &JobFilter) -> Result<Vec<JobRow>, QueueError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM hangar_jobs WHERE ($1 IS NULL OR state = $1) \
             AND ($2 IS NULL OR queue = $2) AND ($3 IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4"
        );
        let rows = on_pool!(self.store, pool => {
            sqlx::query_as::<_, JobRow>(AssertSqlSafe(sql.clone()))
                .bind(filter.state.map(JobState::as_str))
                .bind(filter.queue.as_deref())
                .bind(filter.before.map(JobId::uuid))
                .bind(i64::from(filter.limit.clamp(1, 500)))
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }

    /// How many jobs match `filter`'s state and queue, on every page together.
    pub async fn count(&self, filter: &JobFilter) -> Result<i64, QueueError> {
        let sql = "SELECT COUNT(*) FROM hangar_jobs WHERE ($1 IS NULL OR state = $1) \
             AND ($2 IS NULL OR queue = $2)";
        let n = on_pool!(self.store, pool => {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(filter.state.map(JobState::as_str))
                .bind(filter.queue.as_deref())
                .fetch_one(pool)
                .await
        })?;
        Ok(n)
    }

    /// One job and its failed attempts, oldest first.
    pub async fn get(&self, id: JobId) -> Result<Option<(JobRow, Vec<AttemptRow>)>, QueueError> {
        let job_sql = format!("SELECT {COLUMNS} FROM hangar_jobs WHERE id = $1");
        let attempts_sql = "SELECT attempt, worker, started_at, finished_at, outcome, error \
             FROM hangar_job_attempts WHERE job_id = $1 ORDER BY attempt";
        let job: Option<JobRow> = on_pool!(self.store, pool => {
            sqlx::query_as(AssertSqlSafe(job_sql.clone())).bind(id.uuid()).fetch_optional(pool).await
        })?;
        let Some(job) = job else { return Ok(None) };
        let attempts: Vec<AttemptRow> = on_pool!(self.store, pool => {
            sqlx::query_as(attempts_sql).bind(id.uuid()).fetch_all(pool).await
        })?;
        Ok(Some((job, attempts)))
    }

    /// Makes a dead, cancelled or retrying job run again now, allowing it at least
    /// one more attempt. Returns the job's state before, or `None` if there is none.
    pub async fn retry(&self, id: JobId, now: i64) -> Result<Option<JobState>, QueueError> {
        let Some(state) = self.state_of(id).await? else {
            return Ok(None);
        };
        if !matches!(
            state,
            JobState::Dead | JobState::Cancelled | JobState::Retrying
        ) {
            return Err(QueueError::WrongState {
                id,
                state,
                action: "retry",
                allowed: "dead, cancelled and retrying jobs",
            });
        }
        let sql = "UPDATE hangar_jobs SET state = 'pending', run_at = $2, \
             max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END, \
             cancel_requested = FALSE, finished_at = NULL, announced_at = NULL \
             WHERE id = $1 AND state IN ('dead', 'cancelled', 'retrying')";
        let result = on_pool!(self.store.writer(), pool => {
            sqlx::query(sql).bind(id.uuid()).bind(now).execute(pool).await.map(|r| r.rows_affected())
        });
        match result {
            Ok(_) => Ok(Some(state)),
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                Err(QueueError::invalid(
                    "unique_key",
                    format!(
                        "job {id} cannot run again while another job with its unique key is active"
                    ),
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Cancels a waiting job, or asks a running one to stop. Returns the state
    /// after, or `None` if there is no such job.
    pub async fn cancel(&self, id: JobId, now: i64) -> Result<Option<JobState>, QueueError> {
        let sql = "UPDATE hangar_jobs SET \
             state = CASE WHEN state = 'running' THEN 'running' ELSE 'cancelled' END, \
             cancel_requested = TRUE, \
             finished_at = CASE WHEN state = 'running' THEN finished_at ELSE $2 END \
             WHERE id = $1 AND state IN ('pending', 'retrying', 'running') RETURNING state";
        let after: Option<String> = on_pool!(self.store.writer(), pool => {
            sqlx::query_scalar(sql).bind(id.uuid()).bind(now).fetch_optional(pool).await
        })?;
        if let Some(after) = after {
            return Ok(Some(after.parse()?));
        }
        match self.state_of(id).await? {
            None => Ok(None),
            Some(state) => Err(QueueError::WrongState {
                id,
                state,
                action: "cancel",
                allowed: "pending, retrying and running jobs",
            }),
        }
    }

    /// Deletes every dead job and its attempts; returns how many.
    pub async fn purge_dead(&self) -> Result<u64, QueueError> {
        Ok(on_pool!(self.store.writer(), pool => {
            sqlx::query("DELETE FROM hangar_jobs WHERE state = 'dead'")
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?)
    }

    async fn state_of(&self, id: JobId) -> Result<Option<JobState>, QueueError> {
        let state: Option<String> = on_pool!(self.store, pool => {
            sqlx::query("SELECT state FROM hangar_jobs WHERE id = $1")
                .bind(id.uuid())
                .fetch_optional(pool)
                .await
                .and_then(|row| row.map(|r| r.try_get::<String, _>(0)).transpose())
        })?;
        state.map(|s| s.parse()).transpose()
    }
}

fn announcement((id, queue, priority): (Uuid, String, i16)) -> Announcement {
    Announcement {
        id: id.into(),
        queue,
        priority: u8::try_from(priority).unwrap_or(0),
    }
}
