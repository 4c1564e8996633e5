//! An app of test job handlers, shared by the queue test files.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hangar_app::{App, AppContext, Apps};
use hangar_core::Config;
use hangar_queue::{
    Job, JobContext, JobError, JobId, JobRegistry, JobState, JobView, Queue, QueueError,
};
use serde::{Deserialize, Serialize};

/// What the handlers saw: the order jobs ran in and how many ran at once.
#[derive(Default)]
pub struct Probe {
    pub log: Mutex<Vec<String>>,
    active: AtomicUsize,
    pub max_active: AtomicUsize,
}

impl Probe {
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// Records its tag, then sleeps.
pub struct Record(pub Arc<Probe>);

#[derive(Serialize, Deserialize)]
pub struct RecordPayload {
    pub tag: String,
    pub sleep_ms: u64,
}

impl Job for Record {
    const NAME: &'static str = "test.record";
    type Payload = RecordPayload;

    async fn run(&self, _ctx: JobContext, p: RecordPayload) -> Result<(), JobError> {
        self.0.log.lock().unwrap().push(p.tag);
        let now = self.0.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.max_active.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(p.sleep_ms)).await;
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Fails its first `fail_times` attempts.
pub struct Flaky;

#[derive(Serialize, Deserialize)]
pub struct FlakyPayload {
    pub fail_times: u32,
}

impl Job for Flaky {
    const NAME: &'static str = "test.flaky";
    type Payload = FlakyPayload;

    async fn run(&self, ctx: JobContext, p: FlakyPayload) -> Result<(), JobError> {
        if ctx.attempt <= p.fail_times {
            return Err(JobError::retry(format!(
                "flaky failure on attempt {}",
                ctx.attempt
            )));
        }
        Ok(())
    }
}

/// Fails permanently, or panics on its first attempt, as its payload says.
pub struct Misbehave;

#[derive(Serialize, Deserialize)]
pub enum MisbehavePayload {
    Permanent,
    PanicOnce,
}

impl Job for Misbehave {
    const NAME: &'static str = "test.misbehave";
    type Payload = MisbehavePayload;

    async fn run(&self, ctx: JobContext, p: MisbehavePayload) -> Result<(), JobError> {
        match p {
            MisbehavePayload::Permanent => Err(JobError::permanent("this can never work")),
            MisbehavePayload::PanicOnce if ctx.attempt == 1 => panic!("boom on attempt 1"),
            MisbehavePayload::PanicOnce => Ok(()),
        }
    }
}

/// Runs until it is cancelled.
pub struct UntilCancelled;

impl Job for UntilCancelled {
    const NAME: &'static str = "test.until_cancelled";
    type Payload = ();

    async fn run(&self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        ctx.cancelled().await;
        Err(JobError::retry("stopped on cancel"))
    }
}

/// The test handlers as an app.
pub struct QueueTestApp(pub Arc<Probe>);

impl App for QueueTestApp {
    fn name(&self) -> &'static str {
        "queue_test"
    }

    fn jobs(&self, _ctx: &AppContext, jobs: &mut JobRegistry) -> Result<(), QueueError> {
        jobs.register(Record(self.0.clone()))?
            .register(Flaky)?
            .register(Misbehave)?
            .register(UntilCancelled)?;
        Ok(())
    }
}

pub fn apps(probe: &Arc<Probe>) -> Apps {
    Apps::new(vec![Arc::new(QueueTestApp(probe.clone())) as Arc<dyn App>]).unwrap()
}

/// Fast timings for tests: short backoff, quick polling, a short lease.
pub fn fast(config: &mut Config) {
    config.queue.queues = "default,limited=2,ordered=1".parse().unwrap();
    config.queue.retry_base = "50ms".parse().unwrap();
    config.queue.retry_max = "200ms".parse().unwrap();
    config.queue.poll_interval = "100ms".parse().unwrap();
    config.queue.lease = "2s".parse().unwrap();
    config.queue.reap_interval = "500ms".parse().unwrap();
    config.queue.shutdown_timeout = "2s".parse().unwrap();
    config.api.admin_token = "test-admin-token-of-at-least-32-characters".into();
}

/// Waits until the job is in `state`, for at most 30 s.
pub async fn wait_for(queue: &Queue, id: JobId, state: JobState) -> JobView {
    let started = Instant::now();
    loop {
        let job = queue.get(id).await.unwrap();
        if job.state == state {
            return job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "job {id} is {} after 30s, expected {state}: {job:?}",
            job.state
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
