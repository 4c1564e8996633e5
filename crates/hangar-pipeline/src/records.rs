//! Every statement on the pipeline tables, on SQLite and PostgreSQL.

use hangar_store::placeholders::for_dialect;
use hangar_store::{Dialect, EventLog, Store, Tx, on_pool, on_tx};
use serde::Serialize;
use uuid::Uuid;

use crate::error::PipelineError;
use crate::operator::LogLine;
use crate::state::{RunState, TaskState};

/// Key of the PostgreSQL advisory lock taken while a run is created.
const PG_TRIGGER_LOCK: i64 = 0x68_61_6e_67_70_69_70;

/// A run as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RunRow {
    pub id: Uuid,
    pub pipeline: String,
    #[sqlx(try_from = "String")]
    pub state: RunState,
    pub params: String,
    pub triggered_by: String,
    pub logical_date: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A task instance as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TaskRow {
    pub task_id: String,
    #[sqlx(try_from = "String")]
    pub state: TaskState,
    pub try_number: i32,
    pub max_tries: i32,
    pub job_id: Option<Uuid>,
    pub error: Option<String>,
    pub output: Option<String>,
    pub queued_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A stored log line.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LogRow {
    /// The task.
    pub task_id: String,
    /// Which try, from 1.
    pub try_number: i32,
    /// Order within the try.
    pub seq: i32,
    /// Milliseconds since the epoch.
    pub at: i64,
    /// `info` or `warn`.
    pub level: String,
    /// The text.
    pub message: String,
}

/// A try interrupted by a lost worker and run again, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct InterruptionRow {
    pub task_id: String,
    pub try_number: i32,
    pub reason: String,
    pub at: i64,
}

const RUN_COLUMNS: &str = "id, pipeline, state, params, triggered_by, logical_date, error, created_at, started_at, finished_at";
const TASK_COLUMNS: &str = "task_id, state, try_number, max_tries, job_id, error, output, queued_at, started_at, finished_at";

/// Appends a line to a try's log, numbered after the try's last.
const APPEND_LOG: &str = "INSERT INTO hangar_pipeline_logs \
     (run_id, task_id, try_number, seq, at, level, message) \
     SELECT $1, $2, $3, COALESCE(MAX(seq), 0) + 1, $4, $5, $6 FROM hangar_pipeline_logs \
     WHERE run_id = $1 AND task_id = $2 AND try_number = $3";

/// One try of one task of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TryRef<'a> {
    pub run: Uuid,
    pub task: &'a str,
    pub try_number: i32,
}

/// The pipeline tables of a store.
#[derive(Debug, Clone)]
pub(crate) struct RunStore {
    store: Store,
    events: EventLog,
}

/// A run to create.
pub(crate) struct NewRun<'a> {
    pub id: Uuid,
    pub pipeline: &'a str,
    pub params: &'a str,
    pub triggered_by: &'a str,
    pub logical_date: Option<i64>,
    pub max_active_runs: u32,
    /// `(task id, tries allowed)` of every task.
    pub tasks: Vec<(&'a str, i32)>,
    pub now: i64,
}

impl RunStore {
    pub fn new(store: Store, events: EventLog) -> Self {
        Self { store, events }
    }

    /// Publishes a run's new state (topic `pipelines`) once `tx` commits.
    fn run_event(&self, tx: &mut Tx, run: Uuid, pipeline: Option<&str>, state: RunState) {
        let data = serde_json::json!({"run": run, "pipeline": pipeline, "state": state});
        let events = self.events.clone();
        tx.after_commit(async move {
            events.publish("pipelines", "run.state", data.to_string());
        });
    }

    /// Publishes a task's new state (topic `pipelines`) once `tx` commits.
    fn task_event(
        &self,
        tx: &mut Tx,
        run: Uuid,
        task: &str,
        state: TaskState,
        try_number: Option<i32>,
    ) {
        let data = serde_json::json!({"run": run, "task": task, "state": state, "try": try_number});
        let events = self.events.clone();
        tx.after_commit(async move {
            events.publish("pipelines", "task.state", data.to_string());
        });
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates a run and its tasks in `tx`: `running` if fewer than
    /// `max_active_runs` runs of the pipeline are active, else `queued`. Returns
    /// the state, or `None` when a scheduled run for the same time exists.
    pub async fn create(
        &self,
        tx: &mut Tx,
        run: &NewRun<'_>,
    ) -> Result<Option<RunState>, PipelineError> {
        let dialect = tx.dialect();
        let state = on_tx!(tx, conn => {
            if dialect == Dialect::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PG_TRIGGER_LOCK).execute(&mut *conn).await?;
            }
            if let Some(date) = run.logical_date {
                let taken: Option<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM hangar_pipeline_runs WHERE pipeline = $1 AND logical_date = $2",
                )
                .bind(run.pipeline)
                .bind(date)
                .fetch_optional(&mut *conn)
                .await?;
                if taken.is_some() {
                    return Ok(None);
                }
            }
            let active: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM hangar_pipeline_runs WHERE pipeline = $1 AND state IN ('queued', 'running')",
            )
            .bind(run.pipeline)
            .fetch_one(&mut *conn)
            .await?;
            let state = if active < i64::from(run.max_active_runs) {
                RunState::Running
            } else {
                RunState::Queued
            };
            sqlx::query(
                "INSERT INTO hangar_pipeline_runs (id, pipeline, state, params, triggered_by, logical_date, \
                 created_at, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(run.id)
            .bind(run.pipeline)
            .bind(state.stored())
            .bind(run.params)
            .bind(run.triggered_by)
            .bind(run.logical_date)
            .bind(run.now)
            .bind((state == RunState::Running).then_some(run.now))
            .execute(&mut *conn)
            .await?;
            let sql = for_dialect(dialect, format!(
                "INSERT INTO hangar_pipeline_tasks (run_id, task_id, state, max_tries) VALUES {}",
                vec!["(?, ?, 'pending', ?)"; run.tasks.len()].join(", ")
            ));
            let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (task, tries) in &run.tasks {
                insert = insert.bind(run.id).bind(*task).bind(*tries);
            }
            insert.execute(&mut *conn).await?;
            Ok::<_, PipelineError>(Some(state))
        })?;
        if let Some(state) = state {
            self.run_event(tx, run.id, Some(run.pipeline), state);
        }
        Ok(state)
    }

    pub async fn run(&self, id: Uuid) -> Result<Option<RunRow>, PipelineError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM hangar_pipeline_runs WHERE id = $1");
        Ok(on_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await
        })?)
    }

    /// The run, locked until `tx` ends: the changes of one run (tasks finishing
    /// on several workers, a cancel) are made one transaction after another, so
    /// each sees the others' outcomes when it decides what runs next.
    pub async fn lock_run(&self, tx: &mut Tx, id: Uuid) -> Result<Option<RunRow>, PipelineError> {
        // SQLite: `BEGIN IMMEDIATE` already holds the database's write lock.
        let lock = match tx.dialect() {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        };
        let sql = format!("SELECT {RUN_COLUMNS} FROM hangar_pipeline_runs WHERE id = $1{lock}");
        Ok(on_tx!(tx, conn => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await
        })?)
    }

    pub async fn runs(
        &self,
        pipeline: Option<&str>,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<RunRow>, PipelineError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM hangar_pipeline_runs WHERE ($1 IS NULL OR pipeline = $1) \
             AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        );
        Ok(on_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(pipeline)
                .bind(before)
                .bind(i64::from(limit.clamp(1, 500)))
                .fetch_all(pool)
                .await
        })?)
    }

    pub async fn tasks(&self, run: Uuid) -> Result<Vec<TaskRow>, PipelineError> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM hangar_pipeline_tasks WHERE run_id = $1");
        Ok(on_pool!(self.store.writer(), pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(run).fetch_all(pool).await
        })?)
    }

    /// The tasks of a run, read in `tx`.
    pub async fn tasks_in(&self, tx: &mut Tx, run: Uuid) -> Result<Vec<TaskRow>, PipelineError> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM hangar_pipeline_tasks WHERE run_id = $1");
        Ok(on_tx!(tx, conn => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(run).fetch_all(conn).await
        })?)
    }

    /// Moves a task from one of `from` to `to`; returns whether it moved. A
    /// move to `queued` records `job` as the job of its try.
    pub async fn transition(
        &self,
        tx: &mut Tx,
        at: (Uuid, &str),
        from: &[TaskState],
        to: TaskState,
        job: Option<Uuid>,
        now: i64,
    ) -> Result<bool, PipelineError> {
        let (run, task) = at;
        let states = from
            .iter()
            .map(|s| format!("'{}'", s.stored()))
            .collect::<Vec<_>>()
            .join(", ");
        let finished = to.is_finished();
        let sql = format!(
            "UPDATE hangar_pipeline_tasks SET state = $3, \
             queued_at = CASE WHEN $3 = 'queued' THEN $4 ELSE queued_at END, \
             finished_at = CASE WHEN $5 THEN $4 ELSE finished_at END, \
             job_id = COALESCE($6, job_id) \
             WHERE run_id = $1 AND task_id = $2 AND state IN ({states})"
        );
        let moved = on_tx!(tx, conn => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(run)
                .bind(task)
                .bind(to.stored())
                .bind(now)
                .bind(finished)
                .bind(job)
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        if moved == 1 {
            self.task_event(tx, run, task, to, None);
        }
        Ok(moved == 1)
    }

    /// Marks try `try_number` running (again, after a worker crash); returns
    /// whether the task is at that try and not finished. One statement, not
    /// part of a larger transaction.
    pub async fn start(&self, at: TryRef<'_>, now: i64) -> Result<bool, PipelineError> {
        let moved = on_pool!(self.store.writer(), pool => {
            sqlx::query(
                "UPDATE hangar_pipeline_tasks SET state = 'running', started_at = $4, error = NULL \
                 WHERE run_id = $1 AND task_id = $2 AND try_number = $3 \
                 AND state IN ('queued', 'up_for_retry', 'running')",
            )
            .bind(at.run)
            .bind(at.task)
            .bind(at.try_number)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if moved == 1 {
            let data = serde_json::json!({"run": at.run, "task": at.task, "state": TaskState::Running, "try": at.try_number});
            self.events
                .publish("pipelines", "task.state", data.to_string());
        }
        Ok(moved == 1)
    }

    /// Ends a running try: `success` (with output), `failed` or `cancelled`.
    pub async fn finish(
        &self,
        tx: &mut Tx,
        at: TryRef<'_>,
        state: TaskState,
        error: Option<&str>,
        output: Option<&str>,
        now: i64,
    ) -> Result<bool, PipelineError> {
        let TryRef {
            run,
            task,
            try_number,
        } = at;
        let moved = on_tx!(tx, conn => {
            sqlx::query(
                "UPDATE hangar_pipeline_tasks SET state = $4, error = $5, output = $6, finished_at = $7 \
                 WHERE run_id = $1 AND task_id = $2 AND try_number = $3 AND state = 'running'",
            )
            .bind(run)
            .bind(task)
            .bind(try_number)
            .bind(state.stored())
            .bind(error)
            .bind(output)
            .bind(now)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        if moved == 1 {
            self.task_event(tx, run, task, state, Some(try_number));
        }
        Ok(moved == 1)
    }

    /// Schedules the next try of a failed running try, run by `job`.
    pub async fn up_for_retry(
        &self,
        tx: &mut Tx,
        at: TryRef<'_>,
        error: &str,
        job: Uuid,
        now: i64,
    ) -> Result<bool, PipelineError> {
        let moved = on_tx!(tx, conn => {
            sqlx::query(
                "UPDATE hangar_pipeline_tasks SET state = 'up_for_retry', try_number = try_number + 1, \
                 error = $4, job_id = $5, queued_at = $6 \
                 WHERE run_id = $1 AND task_id = $2 AND try_number = $3 AND state = 'running'",
            )
            .bind(at.run)
            .bind(at.task)
            .bind(at.try_number)
            .bind(error)
            .bind(job)
            .bind(now)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        if moved == 1 {
            self.task_event(
                tx,
                at.run,
                at.task,
                TaskState::UpForRetry,
                Some(at.try_number + 1),
            );
        }
        Ok(moved == 1)
    }

    /// Ends a run that is running; returns whether it did.
    pub async fn finish_run(
        &self,
        tx: &mut Tx,
        run: Uuid,
        state: RunState,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, PipelineError> {
        let moved = on_tx!(tx, conn => {
            sqlx::query(
                "UPDATE hangar_pipeline_runs SET state = $2, error = $3, finished_at = $4 \
                 WHERE id = $1 AND state = 'running'",
            )
            .bind(run)
            .bind(state.stored())
            .bind(error)
            .bind(now)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        if moved == 1 {
            self.run_event(tx, run, None, state);
        }
        Ok(moved == 1)
    }

    /// Starts the oldest queued run of `pipeline` if fewer than `max` are running.
    pub async fn start_next(
        &self,
        tx: &mut Tx,
        pipeline: &str,
        max: u32,
        now: i64,
    ) -> Result<Option<RunRow>, PipelineError> {
        let returning = RUN_COLUMNS;
        let next: Option<RunRow> = on_tx!(tx, conn => {
            let running: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM hangar_pipeline_runs WHERE pipeline = $1 AND state = 'running'",
            )
            .bind(pipeline)
            .fetch_one(&mut *conn)
            .await?;
            if running >= i64::from(max) {
                return Ok(None);
            }
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE hangar_pipeline_runs SET state = 'running', started_at = $2 WHERE id = ( \
                 SELECT id FROM hangar_pipeline_runs WHERE pipeline = $1 AND state = 'queued' \
                 ORDER BY created_at, id LIMIT 1) AND state = 'queued' RETURNING {returning}"
            )))
            .bind(pipeline)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await
        })?;
        if let Some(run) = &next {
            self.run_event(tx, run.id, Some(pipeline), RunState::Running);
        }
        Ok(next)
    }

    /// Cancels a queued or running run and its unfinished tasks; returns the ids
    /// of the jobs of tasks that were queued or running, to cancel them.
    pub async fn cancel(
        &self,
        tx: &mut Tx,
        run: Uuid,
        now: i64,
    ) -> Result<Option<Vec<Uuid>>, PipelineError> {
        let jobs = on_tx!(tx, conn => {
            let moved = sqlx::query(
                "UPDATE hangar_pipeline_runs SET state = 'cancelled', finished_at = $2, error = 'cancelled' \
                 WHERE id = $1 AND state IN ('queued', 'running')",
            )
            .bind(run)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if moved == 0 {
                return Ok(None);
            }
            let jobs: Vec<Option<Uuid>> = sqlx::query_scalar(
                "SELECT job_id FROM hangar_pipeline_tasks WHERE run_id = $1 \
                 AND state IN ('queued', 'running', 'up_for_retry')",
            )
            .bind(run)
            .fetch_all(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE hangar_pipeline_tasks SET state = 'cancelled', finished_at = $2 \
                 WHERE run_id = $1 AND state IN ('pending', 'queued', 'up_for_retry')",
            )
            .bind(run)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok::<_, sqlx::Error>(Some(jobs.into_iter().flatten().collect()))
        })?;
        if jobs.is_some() {
            self.run_event(tx, run, None, RunState::Cancelled);
        }
        Ok(jobs)
    }

    /// Appends log lines to a try's log in `tx`, each numbered after the try's last.
    pub async fn write_logs(
        &self,
        tx: &mut Tx,
        at: TryRef<'_>,
        lines: &[LogLine],
    ) -> Result<(), PipelineError> {
        for line in lines {
            on_tx!(tx, conn => {
                sqlx::query(APPEND_LOG)
                    .bind(at.run)
                    .bind(at.task)
                    .bind(at.try_number)
                    .bind(line.at)
                    .bind(line.level)
                    .bind(&line.message)
                    .execute(conn)
                    .await
                    .map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Appends one line to a try's log as it is written (its own statement).
    pub async fn append_log(&self, at: TryRef<'_>, line: &LogLine) -> Result<(), PipelineError> {
        on_pool!(self.store.writer(), pool => {
            sqlx::query(APPEND_LOG)
                .bind(at.run)
                .bind(at.task)
                .bind(at.try_number)
                .bind(line.at)
                .bind(line.level)
                .bind(&line.message)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn logs(&self, run: Uuid, task: Option<&str>) -> Result<Vec<LogRow>, PipelineError> {
        Ok(on_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT task_id, try_number, seq, at, level, message FROM hangar_pipeline_logs \
                 WHERE run_id = $1 AND ($2 IS NULL OR task_id = $2) ORDER BY at, task_id, try_number, seq",
            )
            .bind(run)
            .bind(task)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Records that attempt `job_attempt` of the job running a try was
    /// interrupted; returns whether it was not recorded already.
    pub async fn interrupted(
        &self,
        at: TryRef<'_>,
        job_attempt: i32,
        reason: &str,
        now: i64,
    ) -> Result<bool, PipelineError> {
        let added = on_pool!(self.store.writer(), pool => {
            sqlx::query(
                "INSERT INTO hangar_pipeline_interruptions (run_id, task_id, try_number, job_attempt, reason, at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (run_id, task_id, try_number, job_attempt) DO NOTHING",
            )
            .bind(at.run)
            .bind(at.task)
            .bind(at.try_number)
            .bind(job_attempt)
            .bind(reason)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(added == 1)
    }

    /// The interrupted tries of a run, oldest first.
    pub async fn interruptions(&self, run: Uuid) -> Result<Vec<InterruptionRow>, PipelineError> {
        Ok(on_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT task_id, try_number, reason, at FROM hangar_pipeline_interruptions \
                 WHERE run_id = $1 ORDER BY at, task_id, try_number, job_attempt",
            )
            .bind(run)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The last cron time `pipeline` fired for.
    pub async fn last_fired(&self, pipeline: &str) -> Result<Option<i64>, PipelineError> {
        Ok(on_pool!(self.store, pool => {
            sqlx::query_scalar("SELECT last_fired_at FROM hangar_pipeline_schedules WHERE pipeline = $1")
                .bind(pipeline)
                .fetch_optional(pool)
                .await
        })?)
    }

    pub async fn set_last_fired(&self, pipeline: &str, at: i64) -> Result<(), PipelineError> {
        on_pool!(self.store.writer(), pool => {
            sqlx::query(
                "INSERT INTO hangar_pipeline_schedules (pipeline, last_fired_at) VALUES ($1, $2) \
                 ON CONFLICT (pipeline) DO UPDATE SET last_fired_at = excluded.last_fired_at",
            )
            .bind(pipeline)
            .bind(at)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Unfinished tasks whose job will not run them: dead (its worker was lost
    /// on every attempt, or it failed outside the task), cancelled, or deleted.
    /// Returns `(run, task, try, the job's last error)`.
    pub async fn stranded(
        &self,
    ) -> Result<Vec<(Uuid, String, i32, Option<String>)>, PipelineError> {
        Ok(on_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT t.run_id, t.task_id, t.try_number, j.last_error \
                 FROM hangar_pipeline_tasks t \
                 LEFT JOIN hangar_jobs j ON j.id = t.job_id \
                 WHERE t.state IN ('queued', 'up_for_retry', 'running') AND t.job_id IS NOT NULL \
                 AND (j.id IS NULL OR j.state IN ('dead', 'cancelled'))",
            )
            .fetch_all(pool)
            .await
        })?)
    }
}
