//! Dispatch: how workers learn that jobs are ready. The job table decides who runs
//! what (claims are fenced updates of its rows); a dispatch backend only carries
//! the news.
//!
//! - [`database`]: workers claim ready rows directly (`FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL, a single write statement on SQLite), woken by `LISTEN/NOTIFY` on
//!   PostgreSQL or in-process signals, with polling as the fallback.
//! - [`amqp`]: each ready job is announced by a persistent, confirmed RabbitMQ
//!   message naming it; a worker that receives one claims that row. Lost, duplicate
//!   or stale messages cannot run a job twice or lose it: the row decides.

pub(crate) mod amqp;
pub(crate) mod database;

use std::time::Duration;

use futures_util::future::BoxFuture;
use hangar_core::health::CheckFuture;
use tokio_util::sync::CancellationToken;

use crate::error::QueueError;
use crate::job::QueueName;
use crate::records::{Announcement, ClaimedRow, JobStore};

/// A claimed job and what must be done with its message once the row is updated.
#[derive(Debug)]
pub(crate) struct Claimed {
    pub row: ClaimedRow,
    pub receipt: Receipt,
}

/// The message a claim came from, if any: acknowledged once the outcome is stored.
#[derive(Debug)]
pub(crate) enum Receipt {
    /// Claimed from the table; nothing to acknowledge.
    Table,
    /// Claimed from a RabbitMQ delivery.
    Amqp(lapin::Acker),
}

impl Receipt {
    /// Acknowledges the message. A failed ack only means the broker will deliver
    /// the message again, and the claim it then attempts finds the row settled.
    pub async fn settle(self) {
        if let Receipt::Amqp(acker) = self
            && let Err(e) = acker.ack(lapin::options::BasicAckOptions::default()).await
        {
            tracing::debug!(error = %e, "ack failed; the message will be delivered again and dropped");
        }
    }
}

/// What a job source needs to claim jobs for one queue.
#[derive(Debug, Clone)]
pub(crate) struct ClaimContext {
    pub jobs: JobStore,
    pub worker: String,
    pub lease: Duration,
    pub poll_interval: Duration,
    pub stop: CancellationToken,
}

/// A dispatch backend. See the module documentation.
pub(crate) trait Dispatch: Send + Sync + 'static {
    /// `database` or `rabbitmq`.
    fn name(&self) -> &'static str;

    /// Whether a job counts as enqueued only once it is announced (RabbitMQ: the
    /// publish must be confirmed), rather than once its row is committed.
    fn announces_at_enqueue(&self) -> bool;

    /// Tells workers the jobs are ready. Called after their rows are committed.
    fn announce<'a>(&'a self, jobs: &'a [Announcement]) -> BoxFuture<'a, Result<(), QueueError>>;

    /// A source of claimed jobs of `queue`.
    fn source(&self, queue: QueueName, ctx: ClaimContext) -> Box<dyn JobSource>;

    /// Periodic work: announce jobs that became due, or were never announced.
    fn sweep<'a>(&'a self, jobs: &'a JobStore) -> BoxFuture<'a, Result<usize, QueueError>>;

    /// Waits, for at most `budget`, until the backend can dispatch.
    fn wait_ready<'a>(
        &'a self,
        budget: Duration,
        url: &'a str,
    ) -> BoxFuture<'a, Result<(), QueueError>>;

    /// `/readyz`: whether the backend can dispatch now.
    fn check(&self) -> CheckFuture<'_>;

    /// Closes connections at the end of the process.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// Claimed jobs of one queue, as a worker pulls them.
pub(crate) trait JobSource: Send {
    /// Waits for ready jobs and claims up to `max` of them. Returns an empty batch
    /// once the context's stop token fires.
    fn next(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<Claimed>, QueueError>>;

    /// Stops receiving (RabbitMQ: cancels the consumer so the broker sends no more).
    fn close(&mut self) -> BoxFuture<'_, ()>;
}
