//! Runs: triggering, executing each task as a job on the queue, deciding what runs
//! next from the trigger rules, finishing runs, cancelling them, and repairing runs
//! whose jobs were lost.
//!
//! Every state change is a conditional update (`… WHERE state IN (…)`), so tasks
//! finishing at the same moment on different workers cannot queue a downstream
//! task twice or finish a run twice; a job that runs again after a worker crash
//! re-executes its try.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hangar_core::clock::{from_ms as time, now_ms};
use hangar_queue::{Job, JobContext, JobError, NewJob, Queue};
use hangar_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::PipelineError;
use crate::operator::{Limits, TaskContext, TaskError, TaskLog};
use crate::params::{interpolate, resolve};
use crate::records::{
    InterruptionRow, LogRow, NewRun, RunRow, RunStore, TaskRow, TryRef, shown_state,
};
use crate::registry::PipelineRegistry;
use crate::sources::SourcePolicy;
use crate::spec::{PipelineSpec, TaskSpec, TriggerRule};

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
    pub state: String,
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
    pub state: String,
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

const FINISHED: [&str; 5] = [
    "success",
    "failed",
    "upstream_failed",
    "skipped",
    "cancelled",
];

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
        self.0
            .execute(&ctx, &payload)
            .await
            .map_err(|e| JobError::retry(e.to_string()))
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

fn decide(rule: TriggerRule, upstream: &[&str]) -> Decision {
    let done = upstream.iter().all(|s| FINISHED.contains(s));
    let failed = |s: &&str| matches!(*s, "failed" | "upstream_failed");
    let any_failed = upstream.iter().any(failed);
    let any_success = upstream.contains(&"success");
    let any_skipped = upstream.contains(&"skipped");
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
        let created = self
            .inner
            .runs
            .create(&NewRun {
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
            })
            .await?;
        let Some(state) = created else {
            return Ok(None);
        };
        tracing::info!(run_id = %id, pipeline = name, state, triggered_by = by.as_str(), "pipeline run triggered");
        if state == "running" {
            self.advance(id).await?;
        }
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
        let Some(jobs) = self.inner.runs.cancel(id, now_ms()).await? else {
            return Err(PipelineError::WrongState {
                id,
                state: run.state,
                action: "only queued and running runs can be cancelled",
            });
        };
        for job in jobs {
            // A job that already finished has nothing to cancel.
            let _ = self.inner.queue.cancel(job.into()).await;
        }
        tracing::info!(run_id = %id, pipeline = run.pipeline, "pipeline run cancelled");
        self.start_next(&run.pipeline).await?;
        self.run(id).await
    }

    /// Queues the tasks whose upstream tasks allow it, settles the ones that can
    /// no longer run, and finishes the run when every task is finished.
    async fn advance(&self, run_id: Uuid) -> Result<(), PipelineError> {
        let Some(run) = self.inner.runs.run(run_id).await? else {
            return Ok(());
        };
        if run.state != "running" {
            return Ok(());
        }
        let spec = self.spec(&run.pipeline)?;
        loop {
            let states: HashMap<String, String> = self
                .inner
                .runs
                .tasks(run_id)
                .await?
                .into_iter()
                .map(|t| (t.task_id, t.state))
                .collect();
            let mut moved = false;
            for task in &spec.tasks {
                if states.get(task.id.as_str()).map(String::as_str) != Some("pending") {
                    continue;
                }
                let upstream: Vec<&str> = task
                    .depends_on
                    .iter()
                    .map(|d| states.get(d.as_str()).map_or("pending", String::as_str))
                    .collect();
                let now = now_ms();
                match decide(task.trigger_rule, &upstream) {
                    Decision::Wait => {}
                    Decision::Run => {
                        if self
                            .inner
                            .runs
                            .transition(run_id, task.id.as_str(), &["pending"], "queued", now)
                            .await?
                        {
                            self.enqueue(run_id, task, 1, None).await?;
                            moved = true;
                        }
                    }
                    Decision::Skip => {
                        moved |= self
                            .inner
                            .runs
                            .transition(run_id, task.id.as_str(), &["pending"], "skipped", now)
                            .await?;
                    }
                    Decision::UpstreamFailed => {
                        moved |= self
                            .inner
                            .runs
                            .transition(
                                run_id,
                                task.id.as_str(),
                                &["pending"],
                                "upstream_failed",
                                now,
                            )
                            .await?;
                    }
                }
            }
            if !moved {
                break;
            }
        }
        let tasks = self.inner.runs.tasks(run_id).await?;
        if tasks.iter().all(|t| FINISHED.contains(&t.state.as_str())) {
            let (state, error) = match failure(spec, &tasks) {
                None => ("success", None),
                Some(error) => ("failed", Some(error)),
            };
            if self
                .inner
                .runs
                .finish_run(run_id, state, error.as_deref(), now_ms())
                .await?
            {
                tracing::info!(run_id = %run_id, pipeline = run.pipeline, state, "pipeline run finished");
                self.start_next(&run.pipeline).await?;
            }
        }
        Ok(())
    }

    /// Starts the oldest queued run of `pipeline`, if one may start.
    async fn start_next(&self, pipeline: &str) -> Result<(), PipelineError> {
        let max = self.spec(pipeline)?.max_active_runs;
        if let Some(next) = self.inner.runs.start_next(pipeline, max, now_ms()).await? {
            tracing::info!(run_id = %next, pipeline, "queued pipeline run started");
            Box::pin(self.advance(next)).await?;
        }
        Ok(())
    }

    /// Enqueues the job of try `try_number` of `task`, after `delay`.
    async fn enqueue(
        &self,
        run: Uuid,
        task: &TaskSpec,
        try_number: i32,
        delay: Option<Duration>,
    ) -> Result<(), PipelineError> {
        let payload = TaskPayload {
            run,
            task: task.id.to_string(),
            try_number,
        };
        let mut job = NewJob::of::<TaskJob>(&payload)?
            .queue(&self.inner.options.queue)
            .unique_key(format!("pipeline:{run}:{}:{try_number}", task.id))
            .max_attempts(5)
            .timeout(task.timeout + Duration::from_secs(60));
        if let Some(delay) = delay {
            job = job.delay(delay);
        }
        let enqueued = self.inner.queue.enqueue(job).await?;
        self.inner
            .runs
            .set_job(run, task.id.as_str(), enqueued.id.uuid())
            .await?;
        Ok(())
    }

    /// Runs one try of one task (the body of [`TaskJob`]).
    async fn execute(&self, job: &JobContext, p: &TaskPayload) -> Result<(), PipelineError> {
        let runs = &self.inner.runs;
        let Some(run) = runs.run(p.run).await? else {
            return Ok(());
        };
        if run.state == "cancelled" {
            runs.transition(
                p.run,
                &p.task,
                &["queued", "running", "up_for_retry"],
                "cancelled",
                now_ms(),
            )
            .await?;
            return Ok(());
        }
        let spec = match self.spec(&run.pipeline) {
            Ok(spec) => spec,
            Err(_) => {
                runs.start(p.run, &p.task, p.try_number, now_ms()).await?;
                let error = format!(
                    "pipeline `{}` is no longer defined on this worker",
                    run.pipeline
                );
                runs.finish(p.at(), "failed", Some(&error), None, now_ms())
                    .await?;
                return Ok(());
            }
        };
        let Some(task) = spec.task(&p.task) else {
            return Ok(());
        };
        if !runs.start(p.run, &p.task, p.try_number, now_ms()).await? {
            // Another try is current, or the task is finished: this job is stale.
            return Ok(());
        }
        if job.attempt > 1 {
            self.record_interruptions(job, p).await?;
        }
        let rows = runs.tasks(p.run).await?;
        let upstream: BTreeMap<String, Value> = rows
            .iter()
            .filter(|r| {
                task.depends_on.iter().any(|d| d.as_str() == r.task_id) && r.state == "success"
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
        let log = TaskLog::default();
        log.info(format!(
            "try {} of {max_tries}: {} on job {}",
            p.try_number, task.operator, job.id
        ));
        let cancel = CancellationToken::new();
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
        let outcome = tracing::Instrument::instrument(
            async {
                tokio::select! {
                    r = tokio::time::timeout(task.timeout, operator.run(context)) => match r {
                        Ok(Ok(output)) => Ok(output),
                        Ok(Err(e)) => Err(e),
                        Err(_) => Err(TaskError::new(format!("timed out after {}", hangar_core::config::HumanDuration::new(task.timeout)))),
                    },
                    () = job.cancelled() => {
                        cancel.cancel();
                        Err(TaskError::permanent("cancelled"))
                    }
                }
            },
            span,
        )
        .await;
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
        match outcome {
            Ok(output) => {
                log.info("succeeded");
                runs.finish(p.at(), "success", None, Some(&output), now)
                    .await?;
            }
            Err(error) if error.message() == "cancelled" => {
                log.warn("stopped: the run was cancelled");
                runs.finish(p.at(), "cancelled", Some(error.message()), None, now)
                    .await?;
            }
            Err(error) if error.may_retry() && p.try_number < max_tries => {
                let error = error.message();
                let delay = task.retry_delay
                    * 2u32.saturating_pow(u32::try_from(p.try_number - 1).unwrap_or(0));
                log.warn(format!(
                    "failed: {error}; try {} in {}ms",
                    p.try_number + 1,
                    delay.as_millis()
                ));
                if runs
                    .up_for_retry(p.run, &p.task, p.try_number, error, now)
                    .await?
                {
                    runs.write_logs(p.run, &p.task, p.try_number, &log.take())
                        .await?;
                    self.enqueue(p.run, task, p.try_number + 1, Some(delay))
                        .await?;
                    return Ok(());
                }
            }
            Err(error) => {
                log.warn(format!("failed: {error}"));
                runs.finish(p.at(), "failed", Some(error.message()), None, now)
                    .await?;
            }
        }
        runs.write_logs(p.run, &p.task, p.try_number, &log.take())
            .await?;
        self.advance(p.run).await
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
                self.inner
                    .runs
                    .write_logs(
                        p.run,
                        &p.task,
                        p.try_number,
                        &[crate::operator::LogLine {
                            at: now,
                            level: "warn",
                            message: line,
                        }],
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Repairs what crashes can leave behind: tasks waiting for a job that was
    /// never enqueued or that died, and runs whose tasks all finished without the
    /// run being finished. Safe to run from several processes.
    pub async fn reconcile(&self) -> Result<(), PipelineError> {
        let runs = &self.inner.runs;
        for (run_id, task_id, state, try_number, job_error) in
            runs.stranded(now_ms() - 30_000).await?
        {
            let Some(run) = runs.run(run_id).await? else {
                continue;
            };
            let Ok(spec) = self.spec(&run.pipeline) else {
                continue;
            };
            let Some(task) = spec.task(&task_id) else {
                continue;
            };
            match job_error {
                Some(error) => {
                    let error = format!("its job failed: {error}");
                    tracing::warn!(run_id = %run_id, task = task_id, error, "task failed with its job");
                    runs.transition(
                        run_id,
                        &task_id,
                        &["queued", "up_for_retry", "running"],
                        "failed",
                        now_ms(),
                    )
                    .await?;
                    runs.write_logs(
                        run_id,
                        &task_id,
                        try_number,
                        &[crate::operator::LogLine {
                            at: now_ms(),
                            level: "warn",
                            message: error,
                        }],
                    )
                    .await?;
                    self.advance(run_id).await?;
                }
                None if state != "running" => {
                    tracing::warn!(run_id = %run_id, task = task_id, "task had no job; enqueueing it again");
                    self.enqueue(run_id, task, try_number, None).await?;
                }
                None => {}
            }
        }
        for run in runs.unfinished_runs().await? {
            self.advance(run).await?;
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

/// Why a run whose tasks are all finished failed, or `None` if it succeeded: the
/// tasks that failed, then those that did not run because an upstream one
/// failed, each in the pipeline's order.
fn failure(spec: &PipelineSpec, tasks: &[TaskRow]) -> Option<String> {
    let named = |state: &str| -> Vec<&str> {
        spec.tasks
            .iter()
            .map(|t| t.id.as_str())
            .filter(|id| tasks.iter().any(|t| t.task_id == *id && t.state == state))
            .collect()
    };
    let failed = named("failed");
    let upstream = named("upstream_failed");
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
        state: shown_state(&row.state).to_owned(),
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
        state: shown_state(&row.state).to_owned(),
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
        let cases: &[(TriggerRule, &[&str], Decision)] = &[
            (AllSuccess, &["success", "success"], Run),
            (AllSuccess, &["success", "running"], Wait),
            (AllSuccess, &["success", "failed"], UpstreamFailed),
            (AllSuccess, &["running", "upstream_failed"], UpstreamFailed),
            (AllSuccess, &["success", "skipped"], Skip),
            (AllDone, &["failed", "success"], Run),
            (AllDone, &["failed", "queued"], Wait),
            (OneSuccess, &["success", "running"], Run),
            (OneSuccess, &["failed", "failed"], UpstreamFailed),
            (OneSuccess, &["skipped", "skipped"], Skip),
            (OneFailed, &["failed", "running"], Run),
            (OneFailed, &["success", "success"], Skip),
            (NoneFailed, &["success", "skipped"], Run),
            (NoneFailed, &["success", "failed"], UpstreamFailed),
            (AllSuccess, &[], Run),
        ];
        for (rule, upstream, expected) in cases {
            assert_eq!(decide(*rule, upstream), *expected, "{rule:?} {upstream:?}");
        }
    }
}
