//! The worker runtime: per-queue claim loops with bounded concurrency, one task per
//! attempt under a timeout, lease heartbeats, batched completions, and a graceful
//! shutdown that hands unfinished jobs back at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hangar_core::Shutdown;
use hangar_core::backoff::{Backoff, jitter};
use hangar_core::config::{QueueConfig, QueueList};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::error::QueueError;
use crate::handler::{JobContext, JobError, JobRegistry};
use crate::job::{JobId, JobState, QueueName, ms, now_ms};
use crate::metrics::QueueMetrics;
use crate::queue::Queue;
use crate::records::{ClaimedRow, Failure};
use crate::transport::{ClaimContext, Claimed};

/// Most jobs claimed in one statement.
const CLAIM_BATCH: usize = 256;

/// Most completions written in one statement.
const COMPLETION_BATCH: usize = 512;

/// When a busy worker has few free slots, it waits this long for more to free
/// up, so that one statement claims many jobs instead of many statements one.
const COALESCE: Duration = Duration::from_millis(2);

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Queues to work and how many jobs of each may run at once.
    pub queues: Vec<(QueueName, usize)>,
    /// Lease of a claimed job; renewed every quarter of it.
    pub lease: Duration,
    /// How often an idle worker looks for jobs when not woken.
    pub poll_interval: Duration,
    /// On shutdown, how long running jobs may take before they are released.
    pub shutdown_timeout: Duration,
    /// Delay before the first retry (doubling, with jitter, up to `retry_max`).
    pub retry_base: Duration,
    /// Longest delay between retries.
    pub retry_max: Duration,
}

impl WorkerOptions {
    /// Options from the `[queue]` configuration.
    pub fn from_config(config: &QueueConfig) -> Result<Self, QueueError> {
        Ok(Self {
            queues: queues_of(&config.queues, config.concurrency)?,
            lease: config.lease.get(),
            poll_interval: config.poll_interval.get(),
            shutdown_timeout: config.shutdown_timeout.get(),
            retry_base: config.retry_base.get(),
            retry_max: config.retry_max.get(),
        })
    }

    /// The delay before the attempt after `attempt` (1-based), with jitter.
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let backoff = Backoff::new(self.retry_base, self.retry_max);
        jitter(backoff.ceiling(attempt.saturating_sub(1)))
    }
}

/// Parses `default,mail=2`: queue names, each with an optional concurrency (else
/// `default_concurrency`). The same rules as `queue.queues` in the configuration.
pub fn parse_queues(
    spec: &str,
    default_concurrency: usize,
) -> Result<Vec<(QueueName, usize)>, QueueError> {
    let list: QueueList = spec
        .parse()
        .map_err(|message: String| QueueError::invalid("queues", message))?;
    queues_of(
        &list,
        u32::try_from(default_concurrency).unwrap_or(u32::MAX),
    )
}

/// The queues of a parsed `queue.queues`, each with its concurrency.
fn queues_of(
    list: &QueueList,
    default_concurrency: u32,
) -> Result<Vec<(QueueName, usize)>, QueueError> {
    list.items()
        .iter()
        .map(|spec| {
            let concurrency = spec
                .concurrency
                .map_or(default_concurrency.max(1), std::num::NonZeroU32::get);
            Ok((QueueName::new(&spec.name)?, concurrency as usize))
        })
        .collect()
}

/// A job being run by this worker.
struct Running {
    fence: i64,
    cancel: CancellationToken,
    abort: AbortHandle,
}

type RunningMap = Arc<Mutex<HashMap<JobId, Running>>>;

/// A success to record: the job, its fence, and where to say whether it held.
type Completion = (JobId, i64, oneshot::Sender<Result<bool, String>>);

/// A worker process's job runner. See the module documentation.
pub struct Worker {
    queue: Queue,
    registry: Arc<JobRegistry>,
    options: WorkerOptions,
    id: String,
}

/// Everything an attempt needs, shared by the attempts of a worker.
struct Shared {
    queue: Queue,
    registry: Arc<JobRegistry>,
    options: WorkerOptions,
    id: String,
    running: RunningMap,
    completions: mpsc::Sender<Completion>,
}

impl Worker {
    /// A worker running `registry`'s handlers for jobs of `queue`.
    pub fn new(queue: Queue, registry: JobRegistry, options: WorkerOptions) -> Self {
        Self {
            queue,
            registry: Arc::new(registry),
            options,
            id: worker_id(),
        }
    }

    /// This worker's id, as recorded on the jobs it runs.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `shutdown` fires, then stops fetching, lets running jobs finish
    /// for up to the shutdown timeout, and releases the rest so another worker
    /// takes them at once.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), QueueError> {
        let stop = shutdown.token().child_token();
        let (completions, completion_rx) = mpsc::channel(4 * COMPLETION_BATCH);
        let shared = Arc::new(Shared {
            queue: self.queue.clone(),
            registry: self.registry.clone(),
            options: self.options.clone(),
            id: self.id.clone(),
            running: RunningMap::default(),
            completions,
        });
        tracing::info!(
            worker = self.id,
            backend = self.queue.backend(),
            queues = %self.options.queues.iter().map(|(q, n)| format!("{q}={n}")).collect::<Vec<_>>().join(","),
            handlers = ?self.registry.names(),
            "worker started"
        );
        let batcher = tokio::spawn(complete_in_batches(self.queue.clone(), completion_rx));
        let heartbeat_stop = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat(shared.clone(), heartbeat_stop.clone()));
        let mut loops = JoinSet::new();
        for (queue, concurrency) in self.options.queues.clone() {
            loops.spawn(claim_loop(shared.clone(), queue, concurrency, stop.clone()));
        }
        while let Some(finished) = loops.join_next().await {
            if let Err(e) = finished {
                tracing::error!(error = %e, "a claim loop failed");
            }
        }
        heartbeat_stop.cancel();
        let _ = heartbeat.await;
        drop(shared);
        // Every attempt held a sender clone; the batcher ends once all are done.
        let _ = batcher.await;
        tracing::info!(worker = self.id, "worker stopped");
        Ok(())
    }
}

fn worker_id() -> String {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!("{}:{suffix}", hangar_core::host::process_name())
}

/// Claims jobs of one queue while permits are free, and starts an attempt per job.
/// On stop, waits for the running attempts (up to the shutdown timeout), then
/// aborts the rest, whose attempts release their jobs.
async fn claim_loop(
    shared: Arc<Shared>,
    queue: QueueName,
    concurrency: usize,
    stop: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut source = shared.queue.dispatch.source(
        queue.clone(),
        ClaimContext {
            jobs: shared.queue.jobs.clone(),
            worker: shared.id.clone(),
            lease: shared.options.lease,
            poll_interval: shared.options.poll_interval,
            stop: stop.clone(),
        },
    );
    let mut attempts = JoinSet::new();
    let mut errors = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        let first = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = stop.cancelled() => break,
        };
        let mut held = vec![first];
        let batch = concurrency.min(CLAIM_BATCH);
        while held.len() < batch {
            match permits.clone().try_acquire_owned() {
                Ok(p) => held.push(p),
                Err(_) => break,
            }
        }
        if held.len() < batch / 4 {
            let until = tokio::time::Instant::now() + COALESCE;
            while held.len() < batch / 4 {
                match tokio::time::timeout_at(until, permits.clone().acquire_owned()).await {
                    Ok(Ok(p)) => held.push(p),
                    _ => break,
                }
            }
        }
        while attempts.try_join_next().is_some() {}
        match source.next(held.len()).await {
            Ok(batch) => {
                errors = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
                for (claimed, permit) in batch.into_iter().zip(held) {
                    let shared = shared.clone();
                    attempts.spawn(async move {
                        attempt(shared, claimed).await;
                        drop(permit);
                    });
                }
            }
            Err(e) => {
                let delay = errors.next_delay();
                tracing::warn!(queue = %queue, error = %e, retry_in_ms = delay.as_millis() as u64, "claiming jobs failed");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stop.cancelled() => {}
                }
            }
        }
    }
    source.close().await;
    let deadline = shared.options.shutdown_timeout;
    if !attempts.is_empty() {
        tracing::info!(queue = %queue, running = attempts.len(), deadline_ms = deadline.as_millis() as u64, "waiting for running jobs");
    }
    let drained = tokio::time::timeout(deadline, async {
        while attempts.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        let ids: Vec<JobId> = {
            let running = shared.running.lock().unwrap_or_else(|e| e.into_inner());
            running
                .iter()
                .map(|(id, r)| {
                    r.abort.abort();
                    *id
                })
                .collect()
        };
        tracing::warn!(queue = %queue, jobs = ids.len(), "jobs still running at the shutdown deadline; releasing them");
        while attempts.join_next().await.is_some() {}
    }
}

/// How an attempt ended, before it is recorded.
enum Outcome {
    Succeeded,
    Failed {
        outcome: &'static str,
        error: JobError,
    },
    /// Aborted at shutdown: the job goes back to the queue, the attempt uncounted.
    Released,
}

/// Runs one attempt of a claimed job and records its outcome, in a span naming
/// the job.
async fn attempt(shared: Arc<Shared>, claimed: Claimed) {
    let span = tracing::info_span!(
        "job",
        job_id = %claimed.row.id,
        name = claimed.row.name,
        queue = claimed.row.queue,
        attempt = claimed.row.attempt
    );
    tracing::Instrument::instrument(attempt_in_span(shared, claimed), span).await;
}

async fn attempt_in_span(shared: Arc<Shared>, claimed: Claimed) {
    let Claimed { row, receipt } = claimed;
    let id = JobId::from(row.id);
    let labels = QueueMetrics::job(&row.queue, &row.name);
    let metrics = &shared.queue.metrics;
    let started_at = now_ms();
    metrics.started.get_or_create(&labels).inc();
    shared
        .queue
        .publish(id, &row.name, &row.queue, JobState::Running, row.attempt);
    metrics
        .pickup
        .get_or_create(&crate::metrics::QueueLabels {
            queue: row.queue.clone(),
        })
        .observe((started_at - row.run_at).max(0) as f64 / 1000.0);

    let started = Instant::now();
    let outcome = run_handler(&shared, &row, id).await;
    let elapsed = started.elapsed();
    shared
        .running
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    metrics
        .duration
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());

    match outcome {
        Outcome::Succeeded => {
            let (tx, rx) = oneshot::channel();
            let recorded = match shared.completions.send((id, row.fence, tx)).await {
                Ok(()) => rx
                    .await
                    .unwrap_or_else(|_| Err("the completion writer stopped".to_owned())),
                Err(_) => Err("the completion writer stopped".to_owned()),
            };
            match recorded {
                Ok(true) => {
                    metrics.succeeded.get_or_create(&labels).inc();
                    shared.queue.publish(
                        id,
                        &row.name,
                        &row.queue,
                        JobState::Succeeded,
                        row.attempt,
                    );
                    tracing::debug!(duration_ms = elapsed.as_millis() as u64, "job succeeded");
                }
                Ok(false) => {
                    metrics.stale.get_or_create(&labels).inc();
                    tracing::warn!(
                        fence = row.fence,
                        "completion rejected: the job's lease was taken over (stale worker)"
                    );
                }
                Err(e) => {
                    // The row stays running; its lease expires and it runs again.
                    tracing::error!(
                        error = e,
                        "could not record success; the job will run again after its lease"
                    );
                }
            }
        }
        Outcome::Failed { outcome, error } => {
            metrics.failed.get_or_create(&labels).inc();
            record_failure(&shared, &row, outcome, &error, started_at).await;
        }
        Outcome::Released => match shared.queue.jobs.release(&[(id, row.fence)]).await {
            Ok(released) => {
                tracing::info!("job released for another worker");
                shared.queue.announce_again(&released).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not release the job; it runs again after its lease")
            }
        },
    }
    receipt.settle().await;
}

/// Runs the handler in its own task, bounded by the job's timeout.
async fn run_handler(shared: &Shared, row: &ClaimedRow, id: JobId) -> Outcome {
    let Some(handler) = shared.registry.get(&row.name) else {
        return Outcome::Failed {
            outcome: "no_handler",
            error: JobError::retry(format!(
                "no handler for job `{}` on worker {} (it has: {})",
                row.name,
                shared.id,
                shared.registry.names().join(", ")
            )),
        };
    };
    let cancel = CancellationToken::new();
    let ctx = JobContext {
        id,
        name: row.name.clone(),
        queue: QueueName::new(&row.queue)
            .unwrap_or_else(|_| QueueName::new("default").expect("valid")),
        attempt: u32::try_from(row.attempt).unwrap_or(0),
        max_attempts: u32::try_from(row.max_attempts).unwrap_or(0),
        cancel: cancel.clone(),
    };
    let task = tokio::spawn(tracing::Instrument::in_current_span(
        handler.run(ctx, &row.payload),
    ));
    let abort = task.abort_handle();
    shared
        .running
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id,
            Running {
                fence: row.fence,
                cancel,
                abort: abort.clone(),
            },
        );
    let timeout = Duration::from_millis(u64::try_from(row.timeout_ms).unwrap_or(u64::MAX));
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(Ok(()))) => Outcome::Succeeded,
        Ok(Ok(Err(error))) => Outcome::Failed {
            outcome: "failed",
            error,
        },
        Ok(Err(join)) if join.is_panic() => {
            let panic = join.into_panic();
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            Outcome::Failed {
                outcome: "panicked",
                error: JobError::retry(format!("handler panicked: {message}")),
            }
        }
        Ok(Err(_cancelled)) => Outcome::Released,
        Err(_elapsed) => {
            abort.abort();
            Outcome::Failed {
                outcome: "timeout",
                error: JobError::retry(format!(
                    "timed out after {}",
                    hangar_core::config::HumanDuration::new(timeout)
                )),
            }
        }
    }
}

async fn record_failure(
    shared: &Shared,
    row: &ClaimedRow,
    outcome: &'static str,
    error: &JobError,
    started_at: i64,
) {
    let labels = QueueMetrics::job(&row.queue, &row.name);
    let metrics = &shared.queue.metrics;
    let attempt = u32::try_from(row.attempt).unwrap_or(0);
    let last = error.is_permanent() || row.attempt >= row.max_attempts;
    let now = now_ms();
    let (next, retry_at) = if last {
        (JobState::Dead, now)
    } else {
        (
            JobState::Retrying,
            now + ms(shared.options.retry_delay(attempt)),
        )
    };
    let failure = Failure {
        outcome,
        error: error.message(),
        next,
        retry_at,
        worker: &shared.id,
        started_at,
        now,
    };
    let recorded = shared.queue.jobs.fail(row, &failure).await;
    if let Ok(Some(state)) = &recorded {
        shared.queue.publish(
            JobId::from(row.id),
            &row.name,
            &row.queue,
            *state,
            row.attempt,
        );
    }
    match recorded {
        Ok(Some(JobState::Dead)) => {
            metrics.dead.get_or_create(&labels).inc();
            tracing::warn!(
                outcome,
                error = error.message(),
                "job failed its last attempt; it is dead"
            );
        }
        Ok(Some(JobState::Cancelled)) => {
            tracing::info!(
                outcome,
                error = error.message(),
                "job stopped after cancellation"
            );
        }
        Ok(Some(_)) => {
            metrics.retried.get_or_create(&labels).inc();
            tracing::warn!(
                outcome,
                error = error.message(),
                retry_in_ms = retry_at - now,
                "job attempt failed; it will be retried"
            );
        }
        Ok(None) => {
            metrics.stale.get_or_create(&labels).inc();
            tracing::warn!(
                fence = row.fence,
                "failure rejected: the job's lease was taken over (stale worker)"
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "could not record the failure; the job runs again after its lease")
        }
    }
}

/// Writes successes in batches: one statement for whatever accumulated while the
/// previous one ran.
async fn complete_in_batches(queue: Queue, mut rx: mpsc::Receiver<Completion>) {
    let mut batch = Vec::with_capacity(COMPLETION_BATCH);
    while rx.recv_many(&mut batch, COMPLETION_BATCH).await > 0 {
        let done: Vec<(JobId, i64)> = batch.iter().map(|(id, fence, _)| (*id, *fence)).collect();
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        let result = loop {
            match queue.jobs.succeed(&done, now_ms()).await {
                Ok(applied) => break Ok(applied),
                Err(e) if backoff.attempts() < 5 => {
                    tracing::warn!(error = %e, "recording completions failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                Err(e) => break Err(e.to_string()),
            }
        };
        for (id, _, tx) in batch.drain(..) {
            let _ = tx.send(
                result
                    .as_ref()
                    .map(|applied| applied.contains(&id))
                    .map_err(Clone::clone),
            );
        }
    }
}

/// Renews the leases of running jobs every quarter lease; signals cancellation to
/// jobs whose cancellation was requested and to jobs whose lease was lost.
async fn heartbeat(shared: Arc<Shared>, stop: CancellationToken) {
    let every = shared.options.lease / 4;
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stop.cancelled() => return,
        }
        let held: Vec<(JobId, i64)> = shared
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, r)| (*id, r.fence))
            .collect();
        if held.is_empty() {
            continue;
        }
        let renewed = match shared
            .queue
            .jobs
            .heartbeat(&held, now_ms() + ms(shared.options.lease))
            .await
        {
            Ok(renewed) => renewed,
            Err(e) => {
                tracing::warn!(error = %e, jobs = held.len(), "lease renewal failed");
                continue;
            }
        };
        let renewed: HashMap<JobId, bool> = renewed.into_iter().collect();
        let running = shared.running.lock().unwrap_or_else(|e| e.into_inner());
        for (id, fence) in held {
            let Some(job) = running.get(&id).filter(|r| r.fence == fence) else {
                continue;
            };
            match renewed.get(&id) {
                Some(true) if !job.cancel.is_cancelled() => {
                    tracing::info!(job_id = %id, "cancellation requested; signalling the handler");
                    job.cancel.cancel();
                }
                Some(_) => {}
                None if !job.cancel.is_cancelled() => {
                    tracing::warn!(job_id = %id, "lease lost (the job was re-queued); signalling the handler to stop");
                    job.cancel.cancel();
                }
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_lists_take_optional_concurrency() {
        let parsed = parse_queues("default, mail=2", 8).unwrap();
        let parsed: Vec<(&str, usize)> = parsed.iter().map(|(q, n)| (q.as_str(), *n)).collect();
        assert_eq!(parsed, vec![("default", 8), ("mail", 2)]);
        for bad in ["", "mail=0", "mail=x", "a,a", "Bad"] {
            assert!(parse_queues(bad, 8).is_err(), "{bad}");
        }
    }

    #[test]
    fn retry_delays_double_within_jitter_and_cap() {
        let options = WorkerOptions {
            queues: vec![],
            lease: Duration::from_secs(20),
            poll_interval: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(1),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(10),
        };
        for (attempt, ceiling) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)] {
            let d = options.retry_delay(attempt);
            let ceiling = Duration::from_secs(ceiling);
            assert!(d <= ceiling && d >= ceiling / 2, "attempt {attempt}: {d:?}");
        }
    }
}
