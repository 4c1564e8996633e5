//! The scheduler role: fires cron triggers and repairs stranded runs. Every
//! scheduler process competes for one lease in the store; only its holder acts,
//! and a scheduled run is unique per pipeline and cron time, so a trigger fires
//! once however many schedulers run.

use std::time::{Duration, Instant};

use chrono::Utc;
use hangar_core::Shutdown;

use crate::engine::{Pipelines, TriggeredBy};

/// Name of the scheduler's lease.
const LEASE: &str = "pipeline-scheduler";

/// How long the leader holds the lease without renewing it.
const LEASE_TTL: Duration = Duration::from_secs(15);

/// How often the loop looks at the clock.
const TICK: Duration = Duration::from_secs(1);

/// How often stranded runs are looked for.
const RECONCILE_EVERY: Duration = Duration::from_secs(10);

impl Pipelines {
    /// Runs the scheduler until `shutdown`, as `holder` (a name unique to this
    /// process). A pipeline seen for the first time fires at its next cron time;
    /// after downtime, only the latest missed time fires.
    pub async fn schedule(&self, holder: &str, shutdown: Shutdown) {
        let store = self.store().clone();
        let mut leader = false;
        let mut last_reconcile = Instant::now() - RECONCILE_EVERY;
        loop {
            match store.acquire_lease(LEASE, holder, LEASE_TTL).await {
                Ok(now_leader) => {
                    if now_leader != leader {
                        tracing::info!(holder, leader = now_leader, "scheduler leadership changed");
                    }
                    leader = now_leader;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "scheduler lease failed");
                    leader = false;
                }
            }
            if leader {
                self.fire_due().await;
                if last_reconcile.elapsed() >= RECONCILE_EVERY {
                    last_reconcile = Instant::now();
                    if let Err(e) = self.reconcile().await {
                        tracing::warn!(error = %e, "repairing stranded runs failed");
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                () = shutdown.wait() => break,
            }
        }
        if leader {
            let _ = store.release_lease(LEASE, holder).await;
        }
    }

    async fn fire_due(&self) {
        let now = Utc::now();
        let scheduled: Vec<(String, i64)> = self
            .registry()
            .pipelines()
            .filter_map(|p| {
                let latest = p.schedule.as_ref()?.latest(now)?;
                Some((p.name.to_string(), latest.timestamp_millis()))
            })
            .collect();
        for (name, latest) in scheduled {
            let last = match self.runs_store().last_fired(&name).await {
                Ok(last) => last,
                Err(e) => {
                    tracing::warn!(pipeline = name, error = %e, "reading the schedule failed");
                    continue;
                }
            };
            match last {
                Some(last) if last >= latest => continue,
                None => {
                    // First sight: start from now, without firing for the past.
                    let _ = self.runs_store().set_last_fired(&name, latest).await;
                    continue;
                }
                Some(_) => {}
            }
            match self
                .trigger(&name, None, TriggeredBy::Schedule(latest))
                .await
            {
                Ok(Some(run)) => {
                    tracing::info!(pipeline = name, run_id = %run.id, "cron trigger fired")
                }
                Ok(None) => tracing::debug!(pipeline = name, "scheduled run already exists"),
                Err(e) => {
                    tracing::warn!(pipeline = name, error = %e, "cron trigger failed; will retry");
                    continue;
                }
            }
            if let Err(e) = self.runs_store().set_last_fired(&name, latest).await {
                tracing::warn!(pipeline = name, error = %e, "recording the cron trigger failed");
            }
        }
    }
}
