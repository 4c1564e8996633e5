//! Periodic duties of every worker process: re-queue jobs whose lease expired,
//! announce jobs that became due (RabbitMQ), refresh the depth gauges, and prune
//! finished jobs past their retention. Each statement is safe to run from several
//! processes at once.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use hangar_core::Shutdown;

use crate::job::{ms, now_ms};
use crate::metrics::{DepthLabels, QueueLabels};
use crate::queue::Queue;

/// How often finished jobs past retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Intervals of the maintenance loop.
#[derive(Debug, Clone, Copy)]
pub struct MaintenanceOptions {
    /// How often expired leases are reaped and depth gauges refreshed.
    pub reap_interval: Duration,
    /// How often due jobs are announced (RabbitMQ dispatch).
    pub sweep_interval: Duration,
    /// Succeeded and cancelled jobs are kept this long.
    pub retention: Duration,
}

impl Queue {
    /// Runs the maintenance loop until `shutdown`.
    pub async fn maintain(&self, options: MaintenanceOptions, shutdown: Shutdown) {
        let mut last_reap = Instant::now() - options.reap_interval;
        let mut last_prune = Instant::now();
        let mut seen_depth: HashSet<DepthLabels> = HashSet::new();
        loop {
            if last_reap.elapsed() >= options.reap_interval {
                last_reap = Instant::now();
                self.reap().await;
                self.refresh_depth(&mut seen_depth).await;
            }
            match self.dispatch.sweep(&self.jobs).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(jobs = n, "announced due jobs"),
                Err(e) => tracing::warn!(error = %e, "announcing due jobs failed; retrying"),
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = Instant::now();
                match self.jobs.prune(now_ms() - ms(options.retention)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(jobs = n, "pruned finished jobs past queue.retention"),
                    Err(e) => tracing::warn!(error = %e, "pruning finished jobs failed"),
                }
            }
            tokio::select! {
                () = tokio::time::sleep(options.sweep_interval.min(options.reap_interval)) => {}
                () = shutdown.wait() => return,
            }
        }
    }

    async fn reap(&self) {
        match self.jobs.reap(now_ms()).await {
            Ok(reaped) => {
                for job in reaped {
                    self.metrics
                        .lease_recoveries
                        .get_or_create(&QueueLabels {
                            queue: job.queue.clone(),
                        })
                        .inc();
                    tracing::warn!(
                        job_id = %job.id,
                        name = job.name,
                        queue = job.queue,
                        attempt = job.attempt,
                        worker = job.worker.as_deref().unwrap_or("?"),
                        state = job.state,
                        "lease expired; job re-queued"
                    );
                    if job.state == "dead" {
                        self.metrics
                            .dead
                            .get_or_create(&crate::metrics::QueueMetrics::job(
                                &job.queue, &job.name,
                            ))
                            .inc();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reaping expired leases failed"),
        }
    }

    async fn refresh_depth(&self, seen: &mut HashSet<DepthLabels>) {
        let Ok(rows) = self.jobs.depth().await else {
            return;
        };
        let mut now_seen = HashSet::new();
        for (queue, state, count) in rows {
            let labels = DepthLabels { queue, state };
            self.metrics.depth.get_or_create(&labels).set(count);
            now_seen.insert(labels);
        }
        for gone in seen.difference(&now_seen) {
            self.metrics.depth.get_or_create(gone).set(0);
        }
        *seen = now_seen;
    }
}
