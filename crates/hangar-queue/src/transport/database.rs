//! In-database dispatch: workers claim ready rows themselves.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use hangar_core::backoff::Backoff;
use hangar_core::health::{CheckFuture, ReadinessCheck};
use hangar_store::{Pool, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{ClaimContext, Claimed, Dispatch, JobSource, Receipt};
use crate::error::QueueError;
use crate::job::{QueueName, ms, now_ms};
use crate::records::{Announcement, JobStore};

/// PostgreSQL channel on which enqueues name their queue.
const CHANNEL: &str = "hangar_jobs";

/// One wake-up signal per queue, shared by the producers and workers of a process.
#[derive(Debug, Default)]
struct Wakers(Mutex<HashMap<String, Arc<Notify>>>);

impl Wakers {
    fn get(&self, queue: &str) -> Arc<Notify> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(queue.to_owned()).or_default().clone()
    }

    fn wake(&self, queue: &str) {
        // `notify_one` keeps a permit when no worker is waiting, so a wake-up that
        // arrives between a worker's empty claim and its wait is not lost.
        self.get(queue).notify_one();
    }

    fn wake_all(&self) {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for notify in map.values() {
            notify.notify_one();
        }
    }
}

/// See the module documentation.
pub(crate) struct DatabaseDispatch {
    store: Store,
    wakers: Arc<Wakers>,
}

impl DatabaseDispatch {
    /// On PostgreSQL, also listens for enqueues from other processes until `stop`.
    pub fn start(store: Store, stop: CancellationToken) -> Self {
        let wakers = Arc::new(Wakers::default());
        if let Pool::Postgres(pool) = store.pool() {
            tokio::spawn(listen(pool.clone(), wakers.clone(), stop));
        }
        Self { store, wakers }
    }
}

/// Wakes local workers on `NOTIFY hangar_jobs`. If the listening connection drops,
/// it reconnects with backoff and wakes every queue, since notifications sent
/// meanwhile are gone; polling keeps workers going in the gap.
async fn listen(pool: sqlx::PgPool, wakers: Arc<Wakers>, stop: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        let connected = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            r = connected => r,
            () = stop.cancelled() => return,
        };
        match &mut listener {
            Ok(listener) => {
                backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
                wakers.wake_all();
                loop {
                    let received = tokio::select! {
                        r = listener.try_recv() => r,
                        () = stop.cancelled() => return,
                    };
                    match received {
                        Ok(Some(notification)) => wakers.wake(notification.payload()),
                        Ok(None) => {
                            tracing::warn!(
                                "LISTEN connection lost; reconnecting, polling meanwhile"
                            );
                            wakers.wake_all();
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "LISTEN failed; reconnecting, polling meanwhile");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN for new jobs; polling meanwhile");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff.next_delay()) => {}
            () = stop.cancelled() => return,
        }
    }
}

impl Dispatch for DatabaseDispatch {
    fn name(&self) -> &'static str {
        "database"
    }

    fn announces_at_enqueue(&self) -> bool {
        false
    }

    fn announce<'a>(&'a self, jobs: &'a [Announcement]) -> BoxFuture<'a, Result<(), QueueError>> {
        Box::pin(async move {
            let queues: HashSet<&str> = jobs.iter().map(|a| a.queue.as_str()).collect();
            for queue in queues {
                self.wakers.wake(queue);
                if let Pool::Postgres(pool) = self.store.pool() {
                    // The row is committed; a lost notification only costs a poll.
                    let notified = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(CHANNEL)
                        .bind(queue)
                        .execute(pool)
                        .await;
                    if let Err(e) = notified {
                        tracing::debug!(error = %e, queue, "NOTIFY failed; workers will poll");
                    }
                }
            }
            Ok(())
        })
    }

    fn source(&self, queue: QueueName, ctx: ClaimContext) -> Box<dyn JobSource> {
        Box::new(TableSource {
            wake: self.wakers.get(queue.as_str()),
            queue,
            ctx,
        })
    }

    fn sweep<'a>(&'a self, _jobs: &'a JobStore) -> BoxFuture<'a, Result<usize, QueueError>> {
        // Workers find due jobs themselves when they claim.
        Box::pin(async { Ok(0) })
    }

    fn wait_ready<'a>(
        &'a self,
        _budget: Duration,
        _url: &'a str,
    ) -> BoxFuture<'a, Result<(), QueueError>> {
        // The store's own start-up wait covers it.
        Box::pin(async { Ok(()) })
    }

    fn check(&self) -> CheckFuture<'_> {
        self.store.check()
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

struct TableSource {
    queue: QueueName,
    ctx: ClaimContext,
    wake: Arc<Notify>,
}

impl JobSource for TableSource {
    fn next(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<Claimed>, QueueError>> {
        Box::pin(async move {
            loop {
                if self.ctx.stop.is_cancelled() {
                    return Ok(Vec::new());
                }
                let now = now_ms();
                let rows = self
                    .ctx
                    .jobs
                    .claim_ready(
                        &self.queue,
                        &self.ctx.worker,
                        max,
                        now + ms(self.ctx.lease),
                        now,
                    )
                    .await?;
                if !rows.is_empty() {
                    return Ok(rows
                        .into_iter()
                        .map(|row| Claimed {
                            row,
                            receipt: Receipt::Table,
                        })
                        .collect());
                }
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(self.ctx.poll_interval) => {}
                    () = self.ctx.stop.cancelled() => {}
                }
            }
        })
    }

    fn close(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
