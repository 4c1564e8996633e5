//! The queue and worker boxes of the architecture: durable jobs with at-least-once
//! delivery, leases renewed by heartbeats, fenced completions, retries with
//! backoff, dead jobs with their history, cancellation and per-queue concurrency.
//!
//! The store's `hangar_jobs` table is the system of record on every backend; the
//! dispatch backend (`queue_url`) decides how workers hear of ready jobs: they
//! claim rows from the table (`database`, the default), or receive RabbitMQ
//! messages naming them (`amqp://…`). See `docs/adr/0002-queue.md`.
//!
//! Apps register [`Job`] handlers through the `App` trait and enqueue with
//! [`Queue::enqueue`], or with [`Queue::enqueue_tx`] inside a transaction of
//! their own (`Store::begin`), so that a change and the jobs it causes commit
//! together; the worker role (`hangar worker`, `hangar up`, wired by
//! `hangar-runtime`) runs [`Worker`]s and the maintenance loop (reaper, due-job
//! announcements, retention, [`MaintenanceOptions`]). The queue's metrics
//! ([`QueueMetrics`]) and job events go to the process's registry and event log.

mod error;
mod handler;
mod job;
mod maintenance;
mod metrics;
mod queue;
mod records;
mod transport;
mod view;
mod worker;

use hangar_store::{Migration, MigrationSet, migration};

pub use error::QueueError;
pub use handler::{Job, JobContext, JobError, JobRegistry};
pub use job::{DEFAULT_QUEUE, JobId, JobState, MAX_PRIORITY, NewJob, QueueName};
pub use maintenance::MaintenanceOptions;
pub use metrics::QueueMetrics;
pub use queue::{Enqueued, JobPage, Queue};
pub use records::JobFilter;
pub use view::{AttemptView, JobView};
pub use worker::{Worker, WorkerOptions, parse_queues};

static MIGRATIONS: &[Migration] = &[migration!(1, "0001_jobs")];

/// The queue's tables, applied before any app's migrations.
pub const MIGRATION_SET: MigrationSet = MigrationSet {
    component: "queue",
    migrations: MIGRATIONS,
};
