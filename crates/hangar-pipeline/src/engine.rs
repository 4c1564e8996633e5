//! Runs: triggering, executing each task as a job on the queue, deciding what runs
//! next from the trigger rules, finishing runs, cancelling them, and repairing runs
//! whose jobs were lost.
//!
//! Every state change is a conditional update (`… WHERE state IN (…)`), so tasks
//! finishing at the same moment on different workers cannot queue a downstream
//! task twice or finish a run twice; a job that runs again after a worker crash
//! re-executes its try.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hangar_core::backoff::{Backoff, jitter};
use hangar_core::clock::{from_ms as time, now_ms};
use hangar_queue::{Job, JobContext, JobError, NewJob, Queue};
use hangar_store::{Store, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::PipelineError;
use crate::operator::{Limits, TaskContext, TaskError, TaskLog};
use crate::params::{interpolate, resolve};
use crate::records::{InterruptionRow, LogRow, NewRun, RunRow, RunStore, TaskRow, TryRef};
use crate::registry::PipelineRegistry;
use crate::sources::SourcePolicy;
use crate::spec::{PipelineSpec, TaskSpec, TriggerRule};
use crate::state::{RunState, TaskState};

/// How a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggeredBy {
    /// `POST /api/v1/pipelines/{name}/runs`.
    Api,
    /// `hangar pipeline run`.
    Cli,
    /// Its cron schedule, for the time given (milliseconds since the epoch).
    Schedule(i64),
}

impl TriggeredBy {
    fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Cli => "cli",
            Self::Schedule(_) => "schedule",
        }
    }
}

/// Settings of the pipeline engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The queue task jobs go to.
    pub queue: String,
    /// Limits of every task.
    pub limits: Limits,
    /// Which files and URLs an `extract` may read.
    pub sources: SourcePolicy,
}

/// A run, as the CLI and the API show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunView {
    /// The run's id.
    pub id: Uuid,
    /// Its pipeline.
    pub pipeline: String,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    #[schema(schema_with = crate::schema::run_state)]
    pub state: RunState,
    /// Its parameters.
    pub params: Value,
    /// `api`, `cli` or `schedule`.
    #[schema(schema_with = crate::schema::triggered_by)]
    pub triggered_by: String,
    /// For scheduled runs, the cron time it stands for.
    pub logical_date: Option<DateTime<Utc>>,
    /// Why it failed: the tasks that failed, then those that could not run
    /// because of them.
    pub error: Option<String>,
    /// When it was triggered.
    pub created_at: DateTime<Utc>,
    /// When it started running.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Its tasks in dependency order (on a single run only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskView>>,
}

/// A task of a run.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    /// The task.
    pub task_id: String,
    /// `pending`, `queued`, `running`, `succeeded`, `failed`, `up_for_retry`,
    /// `upstream_failed`, `skipped` or `cancelled`.
    #[schema(schema_with = crate::schema::task_state)]
    pub state: TaskState,
    /// The current (or last) try, from 1.
    pub try_number: i32,
    /// Tries allowed.
    pub max_tries: i32,
    /// The queue job of the current try.
    pub job_id: Option<Uuid>,
    /// Why the last try failed.
    pub error: Option<String>,
    /// Its output, once it succeeded.
    pub output: Option<Value>,
    /// When it was last queued.
    pub queued_at: Option<DateTime<Utc>>,
    /// When its last try started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Tries that a lost worker interrupted and that ran again, oldest first.
    pub interruptions: Vec<Interruption>,
}

/// A try interrupted (its worker was lost) and run again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Interruption {
    /// The try, from 1.
    pub try_number: i32,
    /// What happened to it: `worker lost` (killed, or frozen past its lease),
    /// `timed out`, or how its job's attempt ended.
    pub reason: String,
    /// When it started again.
    pub at: DateTime<Utc>,
}

impl Interruption {
    /// The line the task's log and the CLI show for it.
    pub fn describe(&self) -> String {
        format!(
            "try {} interrupted ({}), retried",
            self.try_number, self.reason
        )
    }
}

/// The pipeline engine; cheap to clone.
#[derive(Clone)]
pub struct Pipelines {
    inner: Arc<Inner>,
}

struct Inner {
    registry: PipelineRegistry,
    runs: RunStore,
    queue: Queue,
    http: reqwest::Client,
    sources: Arc<SourcePolicy>,
    options: EngineOptions,
    /// The cancellation tokens of the tries running in this process.
    running: Mutex<HashMap<(Uuid, String), CancellationToken>>,
}

/// Retry delays double from a task's `retry_delay` up to this, with jitter.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

/// The delay before try `try_number + 1` of a task whose tries wait `base`
/// first: the core backoff (doubling, capped at [`MAX_RETRY_DELAY`], drawn
/// from the upper half of the ceiling).
fn retry_delay(base: Duration, try_number: i32) -> Duration {
    let backoff = Backoff::new(base, MAX_RETRY_DELAY);
    jitter(backoff.ceiling(u32::try_from(try_number - 1).unwrap_or(0)))
}

/// How a try ended, for the queue: a failed or cancelled try is a failed job
/// attempt, so the queue's metrics count it.
#[derive(Debug)]
enum TryEnd {
    /// The task succeeded.
    Succeeded,
    /// The try failed (its next try, if any, is another job).
    Failed(String),
    /// The run was cancelled.
    Cancelled,
    /// Nothing to do: the try is no longer current, or the run is gone.
    Stale,
}

/// Removes a running try's cancellation token when the try ends.
struct Registration<'a> {
    engine: &'a Inner,
    key: (Uuid, String),
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.engine
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

impl std::fmt::Debug for Pipelines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipelines")
            .field(
                "pipelines",
                &self
                    .inner
                    .registry
                    .pipelines()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The job that runs one try of one task.
pub struct TaskJob(pub Pipelines);

/// What a task job names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskPayload {
    /// The run.
    pub run: Uuid,
    /// The task.
    pub task: String,
    /// The try.
    pub try_number: i32,
}

impl TaskPayload {
    fn at(&self) -> TryRef<'_> {
        TryRef {
            run: self.run,
            task: &self.task,
            try_number: self.try_number,
        }
    }
}

impl Job for TaskJob {
    const NAME: &'static str = "pipeline.task";
    type Payload = TaskPayload;

    async fn run(&self, ctx: JobContext, payload: TaskPayload) -> Result<(), JobError> {
        // The task's tries are the pipeline's own: a failed one is not retried
        // by the queue (the next try, if any, is already queued as a new job).
        match self.0.execute(&ctx, &payload).await {
            Ok(TryEnd::Succeeded | TryEnd::Stale) => Ok(()),
            Ok(TryEnd::Failed(error)) => Err(JobError::permanent(format!(
                "task `{}` try {} failed: {error}",
                payload.task, payload.try_number
            ))),
            Ok(TryEnd::Cancelled) => Err(JobError::permanent("the run was cancelled")),
            Err(e) => Err(JobError::retry(e.to_string())),
        }
    }
}

/// What a pending task should do, given its upstream tasks' states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Wait,
    Run,
    Skip,
    UpstreamFailed,
}

fn decide(rule: TriggerRule, upstream: &[TaskState]) -> Decision {
    let done = upstream.iter().all(|s| s.is_finished());
    let any_failed = upstream.iter().any(|s| s.is_failure());
    let any_success = upstream.contains(&TaskState::Succeeded);
    let any_skipped = upstream.contains(&TaskState::Skipped);
    match rule {
        TriggerRule::AllSuccess if any_failed => Decision::UpstreamFailed,
        TriggerRule::AllSuccess if !done => Decision::Wait,
        TriggerRule::AllSuccess if any_skipped => Decision::Skip,
        TriggerRule::AllSuccess => Decision::Run,
        TriggerRule::AllDone if done => Decision::Run,
        TriggerRule::OneSuccess if any_success => Decision::Run,
        TriggerRule::OneSuccess if done && any_failed => Decision::UpstreamFailed,
        TriggerRule::OneSuccess if done => Decision::Skip,
        TriggerRule::OneFailed if any_failed => Decision::Run,
        TriggerRule::OneFailed if done => Decision::Skip,
        TriggerRule::NoneFailed if any_failed => Decision::UpstreamFailed,
        TriggerRule::NoneFailed if done => Decision::Run,
        _ => Decision::Wait,
    }
}

impl Pipelines {
    /// The engine over `registry` (loaded), running task jobs on `queue`.
    pub fn new(
        registry: PipelineRegistry,
        store: Store,
        queue: Queue,
        options: EngineOptions,
    ) -> Self {
        // reqwest is built without a default TLS provider; ring is the one linked.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sources = Arc::new(options.sources.clone());
        let http = sources.client();
        Self {
            inner: Arc::new(Inner {
                registry,
                runs: RunStore::new(store, queue.events().clone()),
                queue,
                http,
                sources,
                options,
                running: Mutex::default(),
            }),
        }
    }

    /// The pipelines and operators.
    pub fn registry(&self) -> &PipelineRegistry {
        &self.inner.registry
    }

    fn spec(&self, name: &str) -> Result<&PipelineSpec, PipelineError> {
        self.inner
            .registry
            .get(name)
            .ok_or_else(|| PipelineError::UnknownPipeline(name.to_owned()))
    }

    /// Starts a run of `name` with `params` (a JSON object; missing ones take their
    /// defaults). Invalid parameters create nothing. The run is queued when the
    /// pipeline already has `max_active_runs` runs going. `None` when a scheduled
    /// run for the same time exists.
    pub async fn trigger(
        &self,
        name: &str,
        params: Option<&Value>,
        by: TriggeredBy,
    ) -> Result<Option<RunView>, PipelineError> {
        let spec = self.spec(name)?;
        let params = resolve(spec, params).map_err(PipelineError::Params)?;
        let id = Uuid::now_v7();
        let params_text = Value::Object(params).to_string();
        let tasks = spec
            .tasks
            .iter()
            .map(|t| (t.id.as_str(), i32::try_from(t.retries).unwrap_or(100) + 1))
            .collect();
        let runs = &self.inner.runs;
        let mut tx = runs.store().begin().await?;
        let created = runs
            .create(
                &mut tx,
                &NewRun {
                    id,
                    pipeline: name,
                    params: &params_text,
                    triggered_by: by.as_str(),
                    logical_date: match by {
                        TriggeredBy::Schedule(at) => Some(at),
                        _ => None,
                    },
                    max_active_runs: spec.max_active_runs,
                    tasks,
                    now: now_ms(),
                },
            )
            .await?;
        let Some(state) = created else {
            return Ok(None);
        };
        if state == RunState::Running {
            self.advance(&mut tx, id, spec).await?;
        }
        tx.commit().await?;
        tracing::info!(run_id = %id, pipeline = name, state = %state, triggered_by = by.as_str(), "pipeline run triggered");
        self.run(id).await.map(Some)
    }

    /// A run with its tasks.
    pub async fn run(&self, id: Uuid) -> Result<RunView, PipelineError> {
        let row = self
            .inner
            .runs
            .run(id)
            .await?
            .ok_or(PipelineError::UnknownRun(id))?;
        let tasks = self.inner.runs.tasks(id).await?;
        let mut interruptions = self.inner.runs.interruptions(id).await?;
        let order: Vec<String> = self
            .inner
            .registry
            .get(&row.pipeline)
            .map(|s| s.tasks.iter().map(|t| t.id.to_string()).collect())
            .unwrap_or_default();
        let mut tasks: Vec<TaskView> = tasks
            .into_iter()
            .map(|t| {
                let mine = interruptions
                    .extract_if(.., |i| i.task_id == t.task_id)
                    .collect();
                task_view(t, mine)
            })
            .collect();
        tasks.sort_by_key(|t| {
            order
                .iter()
                .position(|o| *o == t.task_id)
                .unwrap_or(usize::MAX)
        });
        Ok(run_view(row, Some(tasks)))
    }

    /// Runs newest first, of one pipeline or all; `before` is the previous page's last id.
    pub async fn runs(
        &self,
        pipeline: Option<&str>,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<RunView>, PipelineError> {
        if let Some(name) = pipeline {
            self.spec(name)?;
        }
        let rows = self.inner.runs.runs(pipeline, before, limit).await?;
        Ok(rows.into_iter().map(|r| run_view(r, None)).collect())
    }

    /// Log lines of a run, of one task or all.
    pub async fn logs(&self, id: Uuid, task: Option<&str>) -> Result<Vec<LogRow>, PipelineError> {
        let run = self
            .inner
            .runs
            .run(id)
            .await?
            .ok_or(PipelineError::UnknownRun(id))?;
        if let Some(task) = task {
            let spec = self.spec(&run.pipeline)?;
            if spec.task(task).is_none() {
                return Err(PipelineError::Params(vec![format!(
                    "pipeline `{}` has no task `{task}`",
                    run.pipeline
                )]));
            }
        }
        self.inner.runs.logs(id, task).await
    }

    /// Cancels a queued or running run: tasks not started are cancelled, running
    /// ones are asked to stop.
    pub async fn cancel(&self, id: Uuid) -> Result<RunView, PipelineError> {
        let run = self
            .inner
            .runs
            .run(id)
            .await?
            .ok_or(PipelineError::UnknownRun(id))?;
        let mut tx = self.inner.runs.store().begin().await?;
        let Some(jobs) = self.inner.runs.cancel(&mut tx, id, now_ms()).await? else {
            return Err(PipelineError::WrongState {
                id,
                state: run.state.to_string(),
                action: "only queued and running runs can be cancelled",
            });
        };
        self.start_next(&mut tx, &run.pipeline).await?;
        tx.commit().await?;
        for job in jobs {
            // A job that already finished has nothing to cancel. Workers in
            // other processes see the request within a heartbeat.
            let _ = self.inner.queue.cancel(job.into()).await;
        }
        // Tries running here stop now.
        for ((run, _), token) in self
            .inner
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            if *run == id {
                token.cancel();
            }
        }
        tracing::info!(run_id = %id, pipeline = run.pipeline, "pipeline run cancelled");
        self.run(id).await
    }

    /// In `tx`, which holds the run's lock: queues the tasks whose upstream tasks
    /// allow it (their jobs inserted in `tx`), settles the ones that can no
    /// longer run, and finishes the run when every task is finished.
    async fn advance(
        &self,
        tx: &mut Tx,
        run_id: Uuid,
        spec: &PipelineSpec,
    ) -> Result<(), PipelineError> {
        let runs = &self.inner.runs;
        let mut states: HashMap<String, TaskState> = runs
            .tasks_in(tx, run_id)
            .await?
            .into_iter()
            .map(|t| (t.task_id, t.state))
            .collect();
        let now = now_ms();
        let mut to_queue: Vec<&TaskSpec> = Vec::new();
        loop {
            let mut moved = false;
            for task in &spec.tasks {
                if states.get(task.id.as_str()) != Some(&TaskState::Pending) {
                    continue;
                }
                let upstream: Vec<TaskState> = task
                    .depends_on
                    .iter()
                    .map(|d| {
                        states
                            .get(d.as_str())
                            .copied()
                            .unwrap_or(TaskState::Pending)
                    })
                    .collect();
                let to = match decide(task.trigger_rule, &upstream) {
                    Decision::Wait => continue,
                    Decision::Run => {
                        to_queue.push(task);
                        TaskState::Queued
                    }
                    Decision::Skip => TaskState::Skipped,
                    Decision::UpstreamFailed => TaskState::UpstreamFailed,
                };
                if to != TaskState::Queued {
                    runs.transition(
                        tx,
                        (run_id, task.id.as_str()),
                        &[TaskState::Pending],
                        to,
                        None,
                        now,
                    )
                    .await?;
                }
                states.insert(task.id.to_string(), to);
                moved = true;
            }
            if !moved {
                break;
            }
        }
        if !to_queue.is_empty() {
            let jobs = to_queue
                .iter()
                .map(|task| self.task_job(run_id, task, 1, None))
                .collect::<Result<Vec<_>, _>>()?;
            let ids = self.inner.queue.enqueue_many_tx(tx, jobs).await?;
            for (task, job) in to_queue.iter().zip(ids) {
                runs.transition(
                    tx,
                    (run_id, task.id.as_str()),
                    &[TaskState::Pending],
                    TaskState::Queued,
                    Some(job.uuid()),
                    now,
                )
                .await?;
            }
        }
        if states.values().all(|s| s.is_finished()) {
            let (state, error) = match failure(spec, &states) {
                None => (RunState::Succeeded, None),
                Some(error) => (RunState::Failed, Some(error)),
            };
            if runs
                .finish_run(tx, run_id, state, error.as_deref(), now_ms())
                .await?
            {
                tracing::info!(run_id = %run_id, pipeline = spec.name.as_str(), state = %state, "pipeline run finished");
                self.start_next(tx, spec.name.as_str()).await?;
            }
        }
        Ok(())
    }

    /// In `tx`: starts the oldest queued run of `pipeline`, if one may start.
    async fn start_next(&self, tx: &mut Tx, pipeline: &str) -> Result<(), PipelineError> {
        let spec = self.spec(pipeline)?;
        let next = self
            .inner
            .runs
            .start_next(tx, pipeline, spec.max_active_runs, now_ms())
            .await?;
        if let Some(next) = next {
            tracing::info!(run_id = %next.id, pipeline, "queued pipeline run started");
            Box::pin(self.advance(tx, next.id, spec)).await?;
        }
        Ok(())
    }

    /// The job of try `try_number` of `task`, after `delay`.
    fn task_job(
        &self,
        run: Uuid,
        task: &TaskSpec,
        try_number: i32,
        delay: Option<Duration>,
    ) -> Result<NewJob, PipelineError> {
        let payload = TaskPayload {
            run,
            task: task.id.to_string(),
            try_number,
        };
        let mut job = NewJob::of::<TaskJob>(&payload)?
            .queue(&self.inner.options.queue)
            .max_attempts(5)
            .timeout(task.timeout + Duration::from_secs(60));
        if let Some(delay) = delay {
            job = job.delay(delay);
        }
        Ok(job)
    }

    /// Runs one try of one task (the body of [`TaskJob`]).
    async fn execute(&self, job: &JobContext, p: &TaskPayload) -> Result<TryEnd, PipelineError> {
        let runs = &self.inner.runs;
        let Some(run) = runs.run(p.run).await? else {
            return Ok(TryEnd::Stale);
        };
        if run.state == RunState::Cancelled {
            let mut tx = runs.store().begin().await?;
            runs.transition(
                &mut tx,
                (p.run, &p.task),
                &[TaskState::Queued, TaskState::Running, TaskState::UpForRetry],
                TaskState::Cancelled,
                None,
                now_ms(),
            )
            .await?;
            tx.commit().await?;
            return Ok(TryEnd::Cancelled);
        }
        let Ok(spec) = self.spec(&run.pipeline) else {
            let error = format!(
                "pipeline `{}` is no longer defined on this worker",
                run.pipeline
            );
            if !runs.start(p.at(), now_ms()).await? {
                return Ok(TryEnd::Stale);
            }
            let mut tx = runs.store().begin().await?;
            runs.finish(
                &mut tx,
                p.at(),
                TaskState::Failed,
                Some(&error),
                None,
                now_ms(),
            )
            .await?;
            tx.commit().await?;
            return Ok(TryEnd::Failed(error));
        };
        let Some(task) = spec.task(&p.task) else {
            return Ok(TryEnd::Stale);
        };
        if !runs.start(p.at(), now_ms()).await? {
            // Another try is current, or the task is finished: this job is stale.
            return Ok(TryEnd::Stale);
        }
        let cancel = CancellationToken::new();
        let _registration = self.register(p, &cancel);
        if job.attempt > 1 {
            self.record_interruptions(job, p).await?;
        }
        let rows = runs.tasks(p.run).await?;
        let upstream: BTreeMap<String, Value> = rows
            .iter()
            .filter(|r| {
                task.depends_on.iter().any(|d| d.as_str() == r.task_id)
                    && r.state == TaskState::Succeeded
            })
            .filter_map(|r| {
                Some((
                    r.task_id.clone(),
                    serde_json::from_str(r.output.as_deref()?).ok()?,
                ))
            })
            .collect();
        let max_tries = rows
            .iter()
            .find(|r| r.task_id == p.task)
            .map_or(1, |r| r.max_tries);
        let params = match serde_json::from_str::<Value>(&run.params) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let config = interpolate(&task.config, &params);
        // Lines are stored as they are written, in order, by one writer: a try
        // that is killed keeps what it logged.
        let (sink, lines) = tokio::sync::mpsc::unbounded_channel();
        let log = TaskLog::streaming(sink);
        let writer = tokio::spawn(store_lines(
            runs.clone(),
            (p.run, p.task.clone(), p.try_number),
            lines,
        ));
        log.info(format!(
            "try {} of {max_tries}: {} on job {}",
            p.try_number, task.operator, job.id
        ));
        let operator = self
            .inner
            .registry
            .operators()
            .get(&task.operator)
            .ok_or_else(|| {
                PipelineError::Params(vec![format!("no operator `{}`", task.operator)])
            })?;
        let context = TaskContext {
            run_id: p.run,
            task_id: &p.task,
            try_number: u32::try_from(p.try_number).unwrap_or(1),
            config: &config,
            params: &params,
            upstream: &upstream,
            store: runs.store(),
            http: &self.inner.http,
            sources: &self.inner.sources,
            limits: self.inner.options.limits,
            log: &log,
            cancel: &cancel,
        };
        let span =
            tracing::info_span!("task", run_id = %p.run, task = p.task, try_number = p.try_number);
        // Cancellation reaches a try two ways: the run cancelled in this process
        // fires `cancel` at once; from another process, the queue's cancel of
        // the job is seen within a heartbeat. Either drops the operator's future,
        // aborting what it was waiting for (an HTTP fetch, a query).
        let outcome = tracing::Instrument::instrument(
            async {
                tokio::select! {
                    r = tokio::time::timeout(task.timeout, operator.run(context)) => match r {
                        Ok(Ok(output)) => Ok(output),
                        Ok(Err(e)) => Err(e),
                        Err(_) => Err(TaskError::new(format!("timed out after {}", hangar_core::config::HumanDuration::new(task.timeout)))),
                    },
                    () = job.cancelled() => Err(TaskError::cancelled()),
                    () = cancel.cancelled() => Err(TaskError::cancelled()),
                }
            },
            span,
        )
        .await;
        cancel.cancel();
        let now = now_ms();
        let outcome = outcome.and_then(|output| {
            let text = output.to_string();
            let limit = self.inner.options.limits.max_output_bytes;
            if text.len() > limit {
                Err(TaskError::new(format!(
                    "output of {} bytes is over the limit of {limit} (pipeline.max_output_bytes)",
                    text.len()
                )))
            } else {
                Ok(text)
            }
        });
        // The rest of the log goes into the transaction below.
        log.detach();
        if let Err(e) = writer.await {
            tracing::warn!(error = %e, "the task log writer stopped");
        }
        // The try's outcome, the next tasks' jobs and the run's end: one transaction.
        let mut tx = runs.store().begin().await?;
        let Some(run) = runs.lock_run(&mut tx, p.run).await? else {
            return Ok(TryEnd::Stale);
        };
        let (state, error, output) = match outcome {
            Ok(output) => {
                log.info("succeeded");
                (TaskState::Succeeded, None, Some(output))
            }
            Err(error) if error.is_cancelled() || run.state == RunState::Cancelled => {
                log.warn("stopped: the run was cancelled");
                (TaskState::Cancelled, Some("cancelled".to_owned()), None)
            }
            Err(error) if error.may_retry() && p.try_number < max_tries => {
                let error = error.message();
                let delay = retry_delay(task.retry_delay, p.try_number);
                log.warn(format!(
                    "failed: {error}; try {} in {}ms",
                    p.try_number + 1,
                    delay.as_millis()
                ));
                let next = self.task_job(p.run, task, p.try_number + 1, Some(delay))?;
                let next = self.inner.queue.enqueue_tx(&mut tx, next).await?;
                if !runs
                    .up_for_retry(&mut tx, p.at(), error, next.id.uuid(), now)
                    .await?
                {
                    // The try is no longer current: the rollback drops the job.
                    return Ok(TryEnd::Stale);
                }
                runs.write_logs(&mut tx, p.at(), &log.take()).await?;
                tx.commit().await?;
                return Ok(TryEnd::Failed(error.to_owned()));
            }
            Err(error) => {
                log.warn(format!("failed: {error}"));
                (TaskState::Failed, Some(error.message().to_owned()), None)
            }
        };
        let moved = runs
            .finish(
                &mut tx,
                p.at(),
                state,
                error.as_deref(),
                output.as_deref(),
                now,
            )
            .await?;
        if !moved {
            return Ok(TryEnd::Stale);
        }
        runs.write_logs(&mut tx, p.at(), &log.take()).await?;
        if run.state == RunState::Running {
            self.advance(&mut tx, p.run, spec).await?;
        }
        tx.commit().await?;
        Ok(match state {
            TaskState::Succeeded => TryEnd::Succeeded,
            TaskState::Cancelled => TryEnd::Cancelled,
            _ => TryEnd::Failed(error.unwrap_or_default()),
        })
    }

    /// Keeps `cancel` where [`Pipelines::cancel`] finds it while the try runs.
    fn register(&self, p: &TaskPayload, cancel: &CancellationToken) -> Registration<'_> {
        let key = (p.run, p.task.clone());
        self.inner
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), cancel.clone());
        Registration {
            engine: &self.inner,
            key,
        }
    }

    /// Records the earlier attempts of this try's job that did not finish (the
    /// queue ran the job again: its worker was lost, or the attempt failed
    /// outside the task), with a line in the task's log for each.
    async fn record_interruptions(
        &self,
        job: &JobContext,
        p: &TaskPayload,
    ) -> Result<(), PipelineError> {
        let view = self.inner.queue.get(job.id).await?;
        for attempt in view.attempts.iter().flatten() {
            let reason = match attempt.outcome.as_str() {
                "lost" => "worker lost".to_owned(),
                "timeout" => "timed out".to_owned(),
                other => format!("{other}: {}", attempt.error),
            };
            let number = i32::try_from(attempt.attempt).unwrap_or(i32::MAX);
            let now = now_ms();
            if self
                .inner
                .runs
                .interrupted(p.at(), number, &reason, now)
                .await?
            {
                let line = Interruption {
                    try_number: p.try_number,
                    reason,
                    at: time(now),
                }
                .describe();
                tracing::warn!(run_id = %p.run, task = p.task, try_number = p.try_number, "{line}");
                let mut tx = self.inner.runs.store().begin().await?;
                self.inner
                    .runs
                    .write_logs(
                        &mut tx,
                        p.at(),
                        &[crate::operator::LogLine {
                            at: now,
                            level: "warn",
                            message: line,
                        }],
                    )
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Repairs what lost workers leave behind: unfinished tasks whose job died
    /// (every attempt's worker was lost) or was cancelled or deleted fail, and
    /// the run moves on. Safe to run from several processes.
    pub async fn reconcile(&self) -> Result<(), PipelineError> {
        let runs = &self.inner.runs;
        for (run_id, task_id, try_number, job_error) in runs.stranded().await? {
            let mut tx = runs.store().begin().await?;
            let Some(run) = runs.lock_run(&mut tx, run_id).await? else {
                continue;
            };
            let Ok(spec) = self.spec(&run.pipeline) else {
                continue;
            };
            let error = format!(
                "its job failed: {}",
                job_error.as_deref().unwrap_or("the job was deleted")
            );
            let now = now_ms();
            let moved = runs
                .transition(
                    &mut tx,
                    (run_id, &task_id),
                    &[TaskState::Queued, TaskState::UpForRetry, TaskState::Running],
                    TaskState::Failed,
                    None,
                    now,
                )
                .await?;
            if !moved {
                continue;
            }
            tracing::warn!(run_id = %run_id, task = task_id, error, "task failed with its job");
            let at = TryRef {
                run: run_id,
                task: &task_id,
                try_number,
            };
            let line = crate::operator::LogLine {
                at: now,
                level: "warn",
                message: error,
            };
            runs.write_logs(&mut tx, at, &[line]).await?;
            if run.state == RunState::Running {
                self.advance(&mut tx, run_id, spec).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// The store the runs live in.
    pub fn store(&self) -> &Store {
        self.inner.runs.store()
    }

    pub(crate) fn runs_store(&self) -> &RunStore {
        &self.inner.runs
    }
}

/// Stores the lines of try `at` as they arrive, until the log stops streaming.
async fn store_lines(
    runs: RunStore,
    at: (Uuid, String, i32),
    mut lines: tokio::sync::mpsc::UnboundedReceiver<crate::operator::LogLine>,
) {
    let (run, task, try_number) = at;
    let at = TryRef {
        run,
        task: &task,
        try_number,
    };
    while let Some(line) = lines.recv().await {
        if let Err(e) = runs.append_log(at, &line).await {
            tracing::warn!(run_id = %run, task, error = %e, "storing a task log line failed");
        }
    }
}

/// Why a run whose tasks are all finished failed, or `None` if it succeeded: the
/// tasks that failed, then those that did not run because an upstream one
/// failed, each in the pipeline's order.
fn failure(spec: &PipelineSpec, states: &HashMap<String, TaskState>) -> Option<String> {
    let named = |state: TaskState| -> Vec<&str> {
        spec.tasks
            .iter()
            .map(|t| t.id.as_str())
            .filter(|id| states.get(*id) == Some(&state))
            .collect()
    };
    let failed = named(TaskState::Failed);
    let upstream = named(TaskState::UpstreamFailed);
    match (failed.is_empty(), upstream.is_empty()) {
        (true, true) => None,
        (false, true) => Some(format!("failed tasks: {}", failed.join(", "))),
        (true, false) => Some(format!("upstream failed: {}", upstream.join(", "))),
        (false, false) => Some(format!(
            "failed tasks: {}; upstream failed: {}",
            failed.join(", "),
            upstream.join(", ")
        )),
    }
}

fn run_view(row: RunRow, tasks: Option<Vec<TaskView>>) -> RunView {
    RunView {
        id: row.id,
        pipeline: row.pipeline,
        state: row.state,
        params: serde_json::from_str(&row.params).unwrap_or(Value::Null),
        triggered_by: row.triggered_by,
        logical_date: row.logical_date.map(time),
        error: row.error,
        created_at: time(row.created_at),
        started_at: row.started_at.map(time),
        finished_at: row.finished_at.map(time),
        tasks,
    }
}

fn task_view(row: TaskRow, interruptions: Vec<InterruptionRow>) -> TaskView {
    TaskView {
        task_id: row.task_id,
        state: row.state,
        try_number: row.try_number,
        max_tries: row.max_tries,
        job_id: row.job_id,
        error: row.error,
        output: row.output.and_then(|o| serde_json::from_str(&o).ok()),
        queued_at: row.queued_at.map(time),
        started_at: row.started_at.map(time),
        finished_at: row.finished_at.map(time),
        interruptions: interruptions
            .into_iter()
            .map(|i| Interruption {
                try_number: i.try_number,
                reason: i.reason,
                at: time(i.at),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_rules_decide_from_upstream_states() {
        use Decision::*;
        use TriggerRule::*;
        let cases: &[(TriggerRule, &[TaskState], Decision)] = &[
            (
                AllSuccess,
                &[TaskState::Succeeded, TaskState::Succeeded],
                Run,
            ),
            (
                AllSuccess,
                &[TaskState::Succeeded, TaskState::Running],
                Wait,
            ),
            (
                AllSuccess,
                &[TaskState::Succeeded, TaskState::Failed],
                UpstreamFailed,
            ),
            (
                AllSuccess,
                &[TaskState::Running, TaskState::UpstreamFailed],
                UpstreamFailed,
            ),
            (
                AllSuccess,
                &[TaskState::Succeeded, TaskState::Skipped],
                Skip,
            ),
            (AllDone, &[TaskState::Failed, TaskState::Succeeded], Run),
            (AllDone, &[TaskState::Failed, TaskState::Queued], Wait),
            (OneSuccess, &[TaskState::Succeeded, TaskState::Running], Run),
            (
                OneSuccess,
                &[TaskState::Failed, TaskState::Failed],
                UpstreamFailed,
            ),
            (OneSuccess, &[TaskState::Skipped, TaskState::Skipped], Skip),
            (OneFailed, &[TaskState::Failed, TaskState::Running], Run),
            (
                OneFailed,
                &[TaskState::Succeeded, TaskState::Succeeded],
                Skip,
            ),
            (NoneFailed, &[TaskState::Succeeded, TaskState::Skipped], Run),
            (
                NoneFailed,
                &[TaskState::Succeeded, TaskState::Failed],
                UpstreamFailed,
            ),
            (AllSuccess, &[], Run),
        ];
        for (rule, upstream, expected) in cases {
            assert_eq!(decide(*rule, upstream), *expected, "{rule:?} {upstream:?}");
        }
    }
}
