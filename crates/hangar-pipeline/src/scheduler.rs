//! The scheduler role: fires cron triggers and repairs stranded runs. Every
//! scheduler process competes for one lease in the store; only its holder acts,
//! and a scheduled run is unique per pipeline and cron time, so a trigger fires
//! once however many schedulers run.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hangar_core::Shutdown;

use crate::engine::{Pipelines, TriggeredBy};
use crate::spec::{CatchUp, PipelineSpec};

/// Name of the scheduler's lease.
const LEASE: &str = "pipeline-scheduler";

/// How long the leader holds the lease without renewing it.
const LEASE_TTL: Duration = Duration::from_secs(15);

/// How often the loop looks at the clock.
const TICK: Duration = Duration::from_secs(1);

/// How often stranded runs are looked for.
const RECONCILE_EVERY: Duration = Duration::from_secs(10);

/// With `catchup = "none"`, how late a cron time may be seen and still fire:
/// well above a tick and a leader's failover (`LEASE_TTL`), well below a
/// downtime worth the name.
const ON_TIME: Duration = Duration::from_secs(60);

impl Pipelines {
    /// Runs the scheduler until `shutdown`, as `holder` (a name unique to this
    /// process). A pipeline seen for the first time fires at its next cron time;
    /// after downtime, the missed times fire by the pipeline's `catchup` policy.
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
        self.fire_due_at(Utc::now()).await;
    }

    /// One pass of the scheduler as of `now`: what its leader does every tick.
    /// For each scheduled pipeline, the cron times since the one it last fired
    /// are fired or skipped by the pipeline's [`CatchUp`] policy. A pipeline
    /// seen for the first time starts from `now`, firing nothing for the past.
    /// Public so that a schedule can be replayed over a chosen clock (tests,
    /// tools); the scheduler role calls it with the wall clock.
    pub async fn fire_due_at(&self, now: DateTime<Utc>) {
        for spec in self.registry().pipelines() {
            self.fire_pipeline(spec, now).await;
        }
    }

    async fn fire_pipeline(&self, spec: &PipelineSpec, now: DateTime<Utc>) {
        let Some(latest) = spec.schedule.as_ref().and_then(|s| s.latest(now)) else {
            return;
        };
        let name = spec.name.as_str();
        let last = match self.runs_store().last_fired(name).await {
            Ok(Some(last)) if last >= latest.timestamp_millis() => return,
            Ok(Some(last)) => last,
            Ok(None) => {
                // First sight: start from now, without firing for the past.
                let _ = self
                    .runs_store()
                    .set_last_fired(name, latest.timestamp_millis())
                    .await;
                return;
            }
            Err(e) => {
                tracing::warn!(pipeline = name, error = %e, "reading the schedule failed");
                return;
            }
        };
        let due = due_times(spec, last, latest, now);
        for at in &due {
            let at = at.timestamp_millis();
            match self.trigger(name, None, TriggeredBy::Schedule(at)).await {
                Ok(Some(run)) => {
                    tracing::info!(pipeline = name, run_id = %run.id, scheduled_for = at, "cron trigger fired");
                }
                Ok(None) => tracing::debug!(pipeline = name, "scheduled run already exists"),
                Err(e) => {
                    tracing::warn!(pipeline = name, error = %e, "cron trigger failed; will retry");
                    return;
                }
            }
            // Recorded one by one: a catch-up cut short resumes after the last
            // time that fired.
            if let Err(e) = self.runs_store().set_last_fired(name, at).await {
                tracing::warn!(pipeline = name, error = %e, "recording the cron trigger failed");
                return;
            }
        }
        // The times the policy skipped are passed for good.
        if due.last() != Some(&latest)
            && let Err(e) = self
                .runs_store()
                .set_last_fired(name, latest.timestamp_millis())
                .await
        {
            tracing::warn!(pipeline = name, error = %e, "recording the cron trigger failed");
        }
    }
}

/// The cron times of `spec` to fire, oldest first, when it last fired at `last`
/// (milliseconds) and its most recent time is `latest`, by its catch-up policy.
fn due_times(
    spec: &PipelineSpec,
    last: i64,
    latest: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let Some(schedule) = &spec.schedule else {
        return Vec::new();
    };
    let missed_before_latest = schedule
        .previous_before(latest)
        .is_some_and(|t| t.timestamp_millis() > last);
    let due = match spec.catchup {
        CatchUp::None => {
            let late = (now - latest).to_std().unwrap_or_default();
            if late <= ON_TIME {
                vec![latest]
            } else {
                Vec::new()
            }
        }
        CatchUp::Latest => vec![latest],
        CatchUp::All => {
            let mut times = vec![latest];
            while times.len() < spec.catchup_limit as usize {
                match times.last().and_then(|t| schedule.previous_before(*t)) {
                    Some(t) if t.timestamp_millis() > last => times.push(t),
                    _ => break,
                }
            }
            let more = times
                .last()
                .and_then(|t| schedule.previous_before(*t))
                .is_some_and(|t| t.timestamp_millis() > last);
            if more {
                tracing::warn!(
                    pipeline = %spec.name,
                    limit = spec.catchup_limit,
                    "more cron times were missed than catchup_limit; the older ones are skipped"
                );
            }
            times.reverse();
            times
        }
    };
    if missed_before_latest || due.is_empty() {
        tracing::info!(
            pipeline = %spec.name,
            catchup = ?spec.catchup,
            runs = due.len(),
            "cron times were missed while no scheduler ran"
        );
    }
    due
}
