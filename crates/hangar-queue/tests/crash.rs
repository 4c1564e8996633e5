//! Worker processes killed or frozen mid-job. Each test starts real worker
//! processes (this test binary, re-run with `HANGAR_TEST_CRASH_WORKER=1`, runs the
//! ignored `worker_process` test below as a worker), kills or stops them with
//! signals, and checks that every job's effect exists exactly once.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hangar_testkit::processes::{self, Process, kill, signal, wait_until};

use hangar_app::{App, AppContext, Apps};
use hangar_core::config::QueueUrl;
use hangar_core::{Config, Shutdown};
use hangar_queue::{
    Job, JobContext, JobError, JobFilter, JobId, JobRegistry, JobState, NewJob, Queue, QueueError,
    QueueMetrics,
};
use hangar_store::{Migration, Store, on_pool};
use hangar_testkit::{QueueBackend, TestBroker, TestDatabase, on_each_queue_backend};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

const WORKER_VAR: &str = "HANGAR_TEST_CRASH_WORKER";

static MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "0001_effects",
    sqlite: "CREATE TABLE crash_effects (job_id TEXT PRIMARY KEY, worker TEXT NOT NULL);",
    postgres: "CREATE TABLE crash_effects (job_id TEXT PRIMARY KEY, worker TEXT NOT NULL);",
}];

/// Sleeps, then writes one row keyed by the job's id: an idempotent effect.
struct Effect {
    store: Store,
    worker: String,
}

#[derive(Serialize, Deserialize)]
struct EffectPayload {
    sleep_ms: u64,
}

impl Job for Effect {
    const NAME: &'static str = "crash.effect";
    type Payload = EffectPayload;

    async fn run(&self, ctx: JobContext, p: EffectPayload) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_millis(p.sleep_ms)).await;
        on_pool!(self.store, pool => {
            sqlx::query(
                "INSERT INTO crash_effects (job_id, worker) VALUES ($1, $2) ON CONFLICT (job_id) DO NOTHING",
            )
            .bind(ctx.id.to_string())
            .bind(&self.worker)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }
}

struct CrashApp;

impl App for CrashApp {
    fn name(&self) -> &'static str {
        "crash"
    }

    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }

    fn jobs(&self, ctx: &AppContext, jobs: &mut JobRegistry) -> Result<(), QueueError> {
        let worker = format!("pid-{}", std::process::id());
        jobs.register(Effect {
            store: ctx.store.clone(),
            worker,
        })?;
        Ok(())
    }
}

fn apps() -> Apps {
    Apps::new(vec![Arc::new(CrashApp) as Arc<dyn App>]).unwrap()
}

/// The worker process: runs until killed. Started by the tests below.
#[test]
#[ignore = "a worker process for the crash tests, started by them"]
fn worker_process() {
    if std::env::var(WORKER_VAR).is_err() {
        return;
    }
    processes::run_process(apps(), |config| hangar_runtime::Roles {
        api: false,
        worker: Some(hangar_queue::WorkerOptions::from_config(&config.queue).unwrap()),
        scheduler: false,
        migrations: hangar_runtime::MigrationPolicy::RequireCurrent,
    });
}

/// The queue settings of the workers: a short lease so a crash is noticed fast.
fn worker_env(config: &Config) -> Vec<(&'static str, String)> {
    let queue_url = match &config.queue_url {
        QueueUrl::Database => "database".to_owned(),
        QueueUrl::Amqp(url) => url.clone(),
    };
    vec![
        (WORKER_VAR, "1".to_owned()),
        (
            "HANGAR_DATABASE_URL",
            config.database_url.expose().to_owned(),
        ),
        ("HANGAR_QUEUE_URL", queue_url),
        (
            "HANGAR_QUEUE_BROKER_PREFIX",
            config.queue.broker_prefix.clone(),
        ),
        ("HANGAR_QUEUE_LEASE", "2s".to_owned()),
        ("HANGAR_QUEUE_REAP_INTERVAL", "500ms".to_owned()),
        ("HANGAR_QUEUE_POLL_INTERVAL", "100ms".to_owned()),
        ("HANGAR_QUEUE_CONCURRENCY", "2".to_owned()),
        ("HANGAR_HTTP_LISTEN", "127.0.0.1:0".to_owned()),
        ("HANGAR_LOG_FORMAT", "json".to_owned()),
    ]
}

fn spawn_worker(config: &Config, log: &Path) -> Process {
    let env: Vec<(&str, String)> = worker_env(config);
    processes::spawn_self("worker_process", &env, log)
}

/// A database (and broker prefix) migrated for the crash app, with a queue client.
struct Setup {
    config: Config,
    store: Store,
    queue: Queue,
    stop: CancellationToken,
    logs: tempfile::TempDir,
    _broker: Option<TestBroker>,
    _database: TestDatabase,
}

async fn setup(backend: QueueBackend, test: &str) -> Option<Setup> {
    let mut broker = match backend {
        QueueBackend::RabbitMq => Some(TestBroker::create(test)?),
        _ => None,
    };
    let database = TestDatabase::create(backend.store(), test).await?;
    let mut config = Config {
        database_url: database.url().clone(),
        ..Config::default()
    };
    if let Some(broker) = &mut broker {
        config.queue_url = QueueUrl::Amqp(broker.url.clone());
        config.queue.broker_prefix = broker.prefix.clone();
        broker.watch_queues(&config.queue.queues);
    }
    let store = Store::open(&config.database_url, &config.store).unwrap();
    store
        .wait_until_reachable(Duration::from_secs(10), &Shutdown::new())
        .await
        .unwrap();
    store
        .migrate(&hangar_runtime::migration_sets(&apps()))
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let queue = Queue::open(
        &config,
        store.clone(),
        QueueMetrics::default(),
        stop.clone(),
    );
    queue.wait_ready(Duration::from_secs(10)).await.unwrap();
    Some(Setup {
        config,
        store,
        queue,
        stop,
        logs: tempfile::tempdir().unwrap(),
        _broker: broker,
        _database: database,
    })
}

impl Setup {
    async fn close(self) {
        self.queue.close().await;
        self.stop.cancel();
        self.store.close().await;
    }

    async fn running(&self) -> Vec<JobId> {
        let filter = JobFilter {
            state: Some(JobState::Running),
            limit: 100,
            ..JobFilter::default()
        };
        self.queue
            .list(&filter)
            .await
            .unwrap()
            .jobs
            .iter()
            .map(|j| j.id)
            .collect()
    }

    async fn effects(&self) -> Vec<(String, String)> {
        on_pool!(self.store, pool => {
            sqlx::query_as("SELECT job_id, worker FROM crash_effects").fetch_all(pool).await
        })
        .unwrap()
    }
}

/// 20 cycles of: a worker takes jobs, is killed with SIGKILL mid-job, another
/// worker starts; every job completes, its effect exists exactly once, and the
/// killed jobs were picked up again within 30 s.
async fn sigkill_mid_job_loses_nothing(backend: QueueBackend) {
    let Some(setup) = setup(backend, "sigkill_mid_job_loses_nothing").await else {
        return;
    };
    let mut all = Vec::new();
    let mut slowest_recovery = Duration::ZERO;
    for cycle in 0..20 {
        let victim = spawn_worker(
            &setup.config,
            &setup.logs.path().join(format!("victim-{cycle}.log")),
        );
        let jobs: Vec<NewJob> = (0..3)
            .map(|_| NewJob::of::<Effect>(&EffectPayload { sleep_ms: 700 }).unwrap())
            .collect();
        let ids = setup.queue.enqueue_many(jobs).await.unwrap();
        all.extend(ids.iter().copied());
        wait_until("a job running", Duration::from_secs(30), async || {
            !setup.running().await.is_empty()
        })
        .await;
        // Kill at a different point of the jobs in each cycle (not a wait:
        // the assertions below hold wherever the kill lands).
        tokio::time::sleep(Duration::from_millis(50 * (cycle % 7))).await;
        let interrupted = setup.running().await;
        let killed_at = Instant::now();
        kill(victim);

        let rescuer = spawn_worker(
            &setup.config,
            &setup.logs.path().join(format!("rescuer-{cycle}.log")),
        );
        for id in &ids {
            let queue = &setup.queue;
            wait_until("the job to succeed", Duration::from_secs(30), async || {
                queue.get(*id).await.unwrap().state == JobState::Succeeded
            })
            .await;
        }
        slowest_recovery = slowest_recovery.max(killed_at.elapsed());
        for id in interrupted {
            let job = setup.queue.get(id).await.unwrap();
            if let Some(attempts) = &job.attempts {
                assert!(attempts.iter().all(|a| a.outcome == "lost"), "{attempts:?}");
            }
        }
        signal(&rescuer, libc::SIGTERM);
        assert_eq!(rescuer.wait().code(), Some(0), "the rescuer stops cleanly");
    }
    let effects = setup.effects().await;
    assert_eq!(effects.len(), all.len(), "one effect per job");
    for id in &all {
        assert_eq!(
            effects
                .iter()
                .filter(|(job, _)| *job == id.to_string())
                .count(),
            1,
            "{id}"
        );
    }
    let lost = {
        let filter = JobFilter {
            state: Some(JobState::Succeeded),
            limit: 500,
            ..JobFilter::default()
        };
        let page = setup.queue.list(&filter).await.unwrap();
        page.jobs.iter().filter(|j| j.attempt > 1).count()
    };
    assert!(lost > 0, "some kills landed mid-job");
    println!(
        "{}: 20 SIGKILL cycles, {} jobs, {lost} re-run after a kill, slowest recovery {:?}",
        backend.name(),
        all.len(),
        slowest_recovery
    );
    setup.close().await;
}

/// A worker frozen with SIGSTOP loses its lease; another worker runs the job;
/// when the frozen one resumes, its late completion is rejected by the fence.
async fn a_stale_worker_cannot_complete_a_job_it_lost(backend: QueueBackend) {
    let Some(setup) = setup(backend, "a_stale_worker_cannot_complete_a_job_it_lost").await else {
        return;
    };
    let stale_log = setup.logs.path().join("stale.log");
    let stale = spawn_worker(&setup.config, &stale_log);
    let id = setup
        .queue
        .enqueue(NewJob::of::<Effect>(&EffectPayload { sleep_ms: 3000 }).unwrap())
        .await
        .unwrap()
        .id;
    wait_until("the job running", Duration::from_secs(30), async || {
        setup.running().await == vec![id]
    })
    .await;
    let first = setup.queue.get(id).await.unwrap();
    signal(&stale, libc::SIGSTOP);

    let rescuer = spawn_worker(&setup.config, &setup.logs.path().join("rescuer.log"));
    let queue = &setup.queue;
    // With RabbitMQ the re-announced job can be delivered to the frozen worker,
    // which still has a free slot; the broker hands it on once the frozen
    // connection misses its heartbeats (10 s).
    wait_until("the job to succeed", Duration::from_secs(60), async || {
        queue.get(id).await.unwrap().state == JobState::Succeeded
    })
    .await;
    let done = setup.queue.get(id).await.unwrap();
    assert_ne!(done.worker, first.worker, "another worker finished it");
    assert_eq!(done.attempts.as_ref().unwrap()[0].outcome, "lost");

    signal(&stale, libc::SIGCONT);
    wait_until(
        "the stale completion to be rejected",
        Duration::from_secs(30),
        async || {
            std::fs::read_to_string(&stale_log)
                .unwrap_or_default()
                .contains("completion rejected: the job's lease was taken over")
        },
    )
    .await;
    let after = setup.queue.get(id).await.unwrap();
    assert_eq!(
        (after.state, after.worker),
        (JobState::Succeeded, done.worker),
        "the row is unchanged"
    );
    assert_eq!(setup.effects().await.len(), 1);
    kill(stale);
    kill(rescuer);
    setup.close().await;
}

on_each_queue_backend!(
    sigkill_mid_job_loses_nothing,
    a_stale_worker_cannot_complete_a_job_it_lost
);
