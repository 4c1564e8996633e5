//! The queue client: enqueue, and the operator's view and actions on jobs.

use std::sync::Arc;

use hangar_core::config::{Config, QueueUrl};
use hangar_core::health::{CheckFuture, ReadinessCheck};
use hangar_store::{EventLog, Store, Tx};
use tokio_util::sync::CancellationToken;

use crate::error::QueueError;
use crate::job::{JobId, JobState, NewJob, now_ms};
use crate::metrics::QueueMetrics;
use crate::records::{Announcement, JobFilter, JobStore};
use crate::transport::Dispatch;
use crate::transport::amqp::AmqpDispatch;
use crate::transport::database::DatabaseDispatch;
use crate::view::JobView;

/// The outcome of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The job's id (the existing job's, when its unique key was taken).
    pub id: JobId,
    /// Whether an active job with the same unique key was already there.
    pub existing: bool,
}

/// A page of jobs and the cursor of the next one.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobPage {
    /// The jobs, newest first.
    pub jobs: Vec<JobView>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next: Option<JobId>,
    /// How many jobs match the state and queue filters, on every page together.
    pub total: i64,
}

/// A cloneable handle to the queue.
#[derive(Clone)]
pub struct Queue {
    pub(crate) jobs: JobStore,
    pub(crate) dispatch: Arc<dyn Dispatch>,
    pub(crate) metrics: QueueMetrics,
    pub(crate) events: EventLog,
    url: String,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("dispatch", &self.dispatch.name())
            .field("store", &self.jobs.store().url())
            .finish()
    }
}

impl Queue {
    /// Opens the queue on `store` with the dispatch `config.queue_url` selects.
    /// Connections are made in the background (see [`Queue::wait_ready`]) and
    /// stop when `stop` fires.
    pub fn open(
        config: &Config,
        store: Store,
        metrics: QueueMetrics,
        stop: CancellationToken,
    ) -> Queue {
        let dispatch: Arc<dyn Dispatch> = match &config.queue_url {
            QueueUrl::Database => Arc::new(DatabaseDispatch::start(store.clone(), stop)),
            QueueUrl::Amqp(url) => Arc::new(AmqpDispatch::start(
                url.clone(),
                config.queue.broker_prefix.clone(),
                config.queue.prefetch,
                stop,
            )),
        };
        Queue {
            jobs: JobStore::new(store),
            dispatch,
            metrics,
            events: EventLog::disabled(),
            url: config.queue_url.redacted(),
        }
    }

    /// Publishes job state changes (topic `jobs`) to `events`.
    pub fn with_events(mut self, events: EventLog) -> Self {
        self.events = events;
        self
    }

    /// Where this queue (and the pipelines on it) publish state changes.
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// Publishes that job `id` (`name` on `queue`) is now in `state`.
    pub(crate) fn publish(
        &self,
        id: JobId,
        name: &str,
        queue: &str,
        state: JobState,
        attempt: i32,
    ) {
        let data = serde_json::json!({
            "id": id,
            "name": name,
            "queue": queue,
            "state": state,
            "attempt": attempt,
        });
        self.events.publish("jobs", "job.state", data.to_string());
    }

    /// Waits until the dispatch backend is connected, for at most `budget`
    /// (`queue.connect_timeout`). Immediate for in-database dispatch.
    pub async fn wait_ready(&self, budget: std::time::Duration) -> Result<(), QueueError> {
        self.dispatch.wait_ready(budget, &self.url).await
    }

    /// `database` or `rabbitmq`.
    pub fn backend(&self) -> &'static str {
        self.dispatch.name()
    }

    /// The store the jobs live in.
    pub fn store(&self) -> &Store {
        self.jobs.store()
    }

    /// Enqueues a job. Once this returns `Ok`, the job is durable and will run at
    /// least once; on `Err`, it was not enqueued.
    pub async fn enqueue(&self, job: NewJob) -> Result<Enqueued, QueueError> {
        job.validate()?;
        let now = now_ms();
        let run_at = job.run_at.map_or(now, |at| at.timestamp_millis());
        let due = run_at <= now;
        let announced = (due && self.dispatch.announces_at_enqueue()).then_some(now);
        let id = JobId::new();
        let (id, existing) = match &job.unique_key {
            Some(key) => {
                self.jobs
                    .insert_unique(id, &job, key, (run_at, now, announced))
                    .await?
            }
            None => {
                self.jobs
                    .insert_many(&[(id, &job, run_at, announced)], now)
                    .await?;
                (id, false)
            }
        };
        if existing {
            return Ok(Enqueued { id, existing });
        }
        if due {
            let announcement = Announcement {
                id,
                queue: job.queue.clone(),
                priority: job.priority,
            };
            self.announce_new(&[announcement], &[id]).await?;
        }
        self.metrics
            .enqueued
            .get_or_create(&QueueMetrics::job(&job.queue, &job.name))
            .inc();
        Ok(Enqueued { id, existing })
    }

    /// Enqueues many jobs at once (in one transaction); none may have a unique key.
    /// All are enqueued, or, on `Err`, none.
    pub async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Result<Vec<JobId>, QueueError> {
        let now = now_ms();
        let rows = self.batch_rows(&jobs, now, "enqueue")?;
        self.jobs.insert_many(&rows, now).await?;
        let due = due_announcements(&rows, now);
        let ids: Vec<JobId> = rows.iter().map(|(id, ..)| *id).collect();
        self.announce_new(&due, &ids).await?;
        for (_, job, ..) in &rows {
            self.metrics
                .enqueued
                .get_or_create(&QueueMetrics::job(&job.queue, &job.name))
                .inc();
        }
        Ok(ids)
    }

    /// Enqueues a job in the caller's open transaction `tx` (River's `InsertTx`):
    /// the job exists if and only if `tx` commits, together with whatever else
    /// the caller wrote in it. Workers hear of it once [`Tx::commit`] returns:
    /// the commit runs the announcement (in-database dispatch: a wake-up and, on
    /// PostgreSQL, a `NOTIFY`; RabbitMQ: the publish). If that publish fails, the
    /// next sweep announces the job; if the process dies between the commit and
    /// the publish, the sweep announces it once it counts as unannounced (after
    /// the re-announce window, see `docs/adr/0002-queue.md`). A committed job
    /// always runs.
    ///
    /// `tx` must be a transaction on this queue's store ([`Queue::store`]).
    pub async fn enqueue_tx(&self, tx: &mut Tx, job: NewJob) -> Result<Enqueued, QueueError> {
        job.validate()?;
        let now = now_ms();
        let run_at = job.run_at.map_or(now, |at| at.timestamp_millis());
        let due = run_at <= now;
        let announced = (due && self.dispatch.announces_at_enqueue()).then_some(now);
        let id = JobId::new();
        let (id, existing) = match &job.unique_key {
            Some(key) => {
                self.jobs
                    .insert_unique_tx(tx, id, &job, key, (run_at, now, announced))
                    .await?
            }
            None => {
                self.jobs
                    .insert_many_tx(tx, &[(id, &job, run_at, announced)], now)
                    .await?;
                (id, false)
            }
        };
        if !existing {
            let due = due.then(|| Announcement {
                id,
                queue: job.queue.clone(),
                priority: job.priority,
            });
            self.announce_after_commit(
                tx,
                due.into_iter().collect(),
                vec![QueueMetrics::job(&job.queue, &job.name)],
            );
        }
        Ok(Enqueued { id, existing })
    }

    /// Enqueues many jobs in the caller's open transaction `tx`, announced
    /// together once it commits (see [`Queue::enqueue_tx`]); none may have a
    /// unique key.
    pub async fn enqueue_many_tx(
        &self,
        tx: &mut Tx,
        jobs: Vec<NewJob>,
    ) -> Result<Vec<JobId>, QueueError> {
        let now = now_ms();
        let rows = self.batch_rows(&jobs, now, "enqueue_tx")?;
        self.jobs.insert_many_tx(tx, &rows, now).await?;
        let due = due_announcements(&rows, now);
        let labels = rows
            .iter()
            .map(|(_, job, ..)| QueueMetrics::job(&job.queue, &job.name))
            .collect();
        self.announce_after_commit(tx, due, labels);
        Ok(rows.into_iter().map(|(id, ..)| id).collect())
    }

    /// Checks a batch and gives each job its id, due time and, when the publish
    /// is part of the enqueue and the job is due, its announcement time (delayed
    /// jobs are announced when due). `call` names the method, for the error.
    fn batch_rows<'a>(
        &self,
        jobs: &'a [NewJob],
        now: i64,
        call: &str,
    ) -> Result<Vec<BatchRow<'a>>, QueueError> {
        for job in jobs {
            job.validate()?;
            if job.unique_key.is_some() {
                return Err(QueueError::invalid(
                    "unique_key",
                    format!("jobs with unique keys are enqueued one by one ({call})"),
                ));
            }
        }
        let announces = self.dispatch.announces_at_enqueue();
        Ok(jobs
            .iter()
            .map(|job| {
                let run_at = job.run_at.map_or(now, |at| at.timestamp_millis());
                let announced = (announces && run_at <= now).then_some(now);
                (JobId::new(), job, run_at, announced)
            })
            .collect())
    }

    /// Registers, on `tx`, the announcement of jobs it inserted and their
    /// `enqueued` counts, for once it commits.
    fn announce_after_commit(
        &self,
        tx: &mut Tx,
        due: Vec<Announcement>,
        labels: Vec<crate::metrics::JobLabels>,
    ) {
        let queue = self.clone();
        tx.after_commit(async move {
            for label in &labels {
                queue.metrics.enqueued.get_or_create(label).inc();
            }
            if due.is_empty() {
                return;
            }
            let Err(e) = queue.dispatch.announce(&due).await else {
                return;
            };
            if !queue.dispatch.announces_at_enqueue() {
                tracing::debug!(error = %e, "announce failed; workers will find the jobs by polling");
                return;
            }
            // The rows are committed: they stay, and the sweep announces them.
            let ids: Vec<JobId> = due.iter().map(|a| a.id).collect();
            match queue.jobs.forget_announcements(&ids).await {
                Ok(()) => tracing::warn!(
                    error = %e,
                    jobs = ids.len(),
                    "publishing committed jobs failed; the next sweep announces them"
                ),
                Err(forget) => tracing::warn!(
                    error = %e,
                    forget_error = %forget,
                    jobs = ids.len(),
                    "publishing committed jobs failed; they are announced again after the re-announce window"
                ),
            }
        });
    }

    /// Announces freshly inserted jobs. If the broker does not confirm, deletes
    /// the rows of the whole enqueue (`inserted`) so that the caller's error means
    /// "not enqueued".
    async fn announce_new(
        &self,
        jobs: &[Announcement],
        inserted: &[JobId],
    ) -> Result<(), QueueError> {
        if jobs.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.dispatch.announce(jobs).await {
            if self.dispatch.announces_at_enqueue() {
                if let Err(cleanup) = self.jobs.delete(inserted).await {
                    // The rows stay; the sweep will announce and run them.
                    tracing::error!(error = %cleanup, "could not remove jobs whose publish failed");
                }
                return Err(e);
            }
            tracing::debug!(error = %e, "announce failed; workers will find the jobs by polling");
        }
        Ok(())
    }

    /// Announces jobs handed back to the queue (released at shutdown).
    pub(crate) async fn announce_again(&self, jobs: &[Announcement]) {
        if jobs.is_empty() {
            return;
        }
        match self.dispatch.announce(jobs).await {
            Ok(()) if self.dispatch.announces_at_enqueue() => {
                let ids: Vec<JobId> = jobs.iter().map(|a| a.id).collect();
                if let Err(e) = self.jobs.mark_announced(&ids, now_ms()).await {
                    tracing::debug!(error = %e, "could not mark released jobs announced");
                }
            }
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(error = %e, "released jobs will be announced by the next sweep")
            }
        }
    }

    /// A page of jobs, newest first.
    pub async fn list(&self, filter: &JobFilter) -> Result<JobPage, QueueError> {
        let limit = filter.limit.clamp(1, 500);
        let rows = self
            .jobs
            .list(&JobFilter {
                limit,
                ..filter.clone()
            })
            .await?;
        let jobs = rows
            .into_iter()
            .map(|row| JobView::from_row(row, None))
            .collect::<Result<Vec<_>, _>>()?;
        let next = (jobs.len() == limit as usize)
            .then(|| jobs.last().map(|j| j.id))
            .flatten();
        let total = self.jobs.count(filter).await?;
        Ok(JobPage { jobs, next, total })
    }

    /// One job with its failed attempts.
    pub async fn get(&self, id: JobId) -> Result<JobView, QueueError> {
        let (row, attempts) = self.jobs.get(id).await?.ok_or(QueueError::NotFound(id))?;
        JobView::from_row(row, Some(attempts))
    }

    /// Runs a dead, cancelled or retrying job again now.
    pub async fn retry(&self, id: JobId) -> Result<JobView, QueueError> {
        self.jobs
            .retry(id, now_ms())
            .await?
            .ok_or(QueueError::NotFound(id))?;
        let job = self.get(id).await?;
        self.announce_again(&[Announcement {
            id,
            queue: job.queue.clone(),
            priority: job.priority,
        }])
        .await;
        self.publish_view(&job);
        Ok(job)
    }

    /// Cancels a waiting job, or signals a running one to stop (its handler sees
    /// [`crate::JobContext::is_cancelled`] within a heartbeat).
    pub async fn cancel(&self, id: JobId) -> Result<JobView, QueueError> {
        self.jobs
            .cancel(id, now_ms())
            .await?
            .ok_or(QueueError::NotFound(id))?;
        let job = self.get(id).await?;
        self.publish_view(&job);
        Ok(job)
    }

    fn publish_view(&self, job: &JobView) {
        self.publish(job.id, &job.name, &job.queue, job.state, job.attempt as i32);
    }

    /// Deletes every dead job; returns how many.
    pub async fn purge_dead(&self) -> Result<u64, QueueError> {
        self.jobs.purge_dead().await
    }

    /// Closes the broker connection, if any.
    pub async fn close(&self) {
        self.dispatch.close().await;
    }
}

/// `/readyz`: the dispatch backend can take and hand out jobs.
impl ReadinessCheck for Queue {
    fn name(&self) -> &'static str {
        "queue"
    }

    fn check(&self) -> CheckFuture<'_> {
        self.dispatch.check()
    }
}

/// A job of a batch as inserted: its id, the job, when it is due, and when it
/// was announced (if at insert).
type BatchRow<'a> = (JobId, &'a NewJob, i64, Option<i64>);

/// The announcements of the jobs of a batch that are due `now`.
fn due_announcements(rows: &[BatchRow<'_>], now: i64) -> Vec<Announcement> {
    rows.iter()
        .filter(|(_, _, run_at, _)| *run_at <= now)
        .map(|(id, job, _, _)| Announcement {
            id: *id,
            queue: job.queue.clone(),
            priority: job.priority,
        })
        .collect()
}
