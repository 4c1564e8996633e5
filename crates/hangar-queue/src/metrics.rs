//! The queue's Prometheus metrics.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// Labels of per-job counters: queue and job name (both bounded: queues are
/// configured, names are registered handlers).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct JobLabels {
    pub queue: String,
    pub name: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct QueueLabels {
    pub queue: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DepthLabels {
    pub queue: String,
    pub state: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    // 1 ms to about 15 minutes.
    Histogram::new(exponential_buckets(0.001, 2.5, 16))
}

/// Counters, gauges and histograms of the queue and its workers.
#[derive(Debug, Clone)]
pub struct QueueMetrics {
    pub(crate) enqueued: Family<JobLabels, Counter>,
    pub(crate) started: Family<JobLabels, Counter>,
    pub(crate) succeeded: Family<JobLabels, Counter>,
    pub(crate) failed: Family<JobLabels, Counter>,
    pub(crate) retried: Family<JobLabels, Counter>,
    pub(crate) dead: Family<JobLabels, Counter>,
    pub(crate) stale: Family<JobLabels, Counter>,
    pub(crate) lease_recoveries: Family<QueueLabels, Counter>,
    pub(crate) depth: Family<DepthLabels, Gauge>,
    pub(crate) duration: HistogramFamily<JobLabels>,
    pub(crate) pickup: HistogramFamily<QueueLabels>,
}

impl Default for QueueMetrics {
    /// Metrics that are recorded but not registered anywhere (tools, tests).
    fn default() -> Self {
        Self {
            enqueued: Family::default(),
            started: Family::default(),
            succeeded: Family::default(),
            failed: Family::default(),
            retried: Family::default(),
            dead: Family::default(),
            stale: Family::default(),
            lease_recoveries: Family::default(),
            depth: Family::default(),
            duration: Family::new_with_constructor(seconds_histogram),
            pickup: Family::new_with_constructor(seconds_histogram),
        }
    }
}

impl QueueMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        let counters = [
            ("hangar_jobs_enqueued", "Jobs enqueued", &metrics.enqueued),
            (
                "hangar_jobs_started",
                "Job attempts started",
                &metrics.started,
            ),
            (
                "hangar_jobs_succeeded",
                "Job attempts that succeeded",
                &metrics.succeeded,
            ),
            (
                "hangar_jobs_failed",
                "Job attempts that failed, timed out or panicked",
                &metrics.failed,
            ),
            (
                "hangar_jobs_retried",
                "Failed attempts scheduled for another attempt",
                &metrics.retried,
            ),
            (
                "hangar_jobs_dead",
                "Jobs that failed their last allowed attempt",
                &metrics.dead,
            ),
            (
                "hangar_jobs_stale_completions",
                "Completions rejected because the job's lease had been taken over",
                &metrics.stale,
            ),
        ];
        for (name, help, family) in counters {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "hangar_jobs_lease_recoveries",
            "Running jobs re-queued after their worker stopped heartbeating",
            metrics.lease_recoveries.clone(),
        );
        registry.register(
            "hangar_jobs_queue_depth",
            "Jobs pending, retrying or running, per queue (refreshed by the reaper)",
            metrics.depth.clone(),
        );
        registry.register_with_unit(
            "hangar_job_duration",
            "Time an attempt's handler ran",
            Unit::Seconds,
            metrics.duration.clone(),
        );
        registry.register_with_unit(
            "hangar_job_pickup_latency",
            "Time from a job being due to an attempt starting",
            Unit::Seconds,
            metrics.pickup.clone(),
        );
        metrics
    }

    pub(crate) fn job(queue: &str, name: &str) -> JobLabels {
        JobLabels {
            queue: queue.to_owned(),
            name: name.to_owned(),
        }
    }
}
