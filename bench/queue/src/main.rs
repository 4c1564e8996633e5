//! Drives no-op jobs through Hangar's queue and prints one JSON line of results.
//!
//! - `burn`: enqueue `--jobs` jobs, then start the worker and time the drain.
//! - `steady`: a producer enqueues at `--rate` jobs/s while the worker runs, for
//!   `--seconds`; reports throughput and pickup latency (due → started).
//!
//! Run by `bench/queue/run`, which also runs Celery side by side.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use hangar_core::Shutdown;
use hangar_core::config::{Config, QueueUrl};
use hangar_queue::{
    Job, JobContext, JobError, JobRegistry, NewJob, Queue, QueueMetrics, Worker, WorkerOptions,
};
use hangar_store::{Store, on_pool};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
    Rabbitmq,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    Burn,
    Steady,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum)]
    backend: Backend,
    #[arg(long, value_enum)]
    mode: Mode,
    /// Jobs to enqueue (burn).
    #[arg(long, default_value_t = 100_000)]
    jobs: usize,
    /// Jobs per second the producer offers (steady).
    #[arg(long, default_value_t = 2_000)]
    rate: usize,
    /// How long the producer runs (steady).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Jobs run at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// A PostgreSQL server; the benchmark creates and drops its own database there.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// The RabbitMQ broker.
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp: String,
}

struct Noop;

impl Job for Noop {
    const NAME: &'static str = "bench.noop";
    type Payload = ();

    async fn run(&self, _ctx: JobContext, (): ()) -> Result<(), JobError> {
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("hangar-bench-queue-{}", std::process::id()));
    let mut config = Config::default();
    let database = format!("hangar_bench_{}", std::process::id());
    match args.backend {
        Backend::Sqlite => {
            std::fs::create_dir_all(&dir)?;
            config.database_url = format!("sqlite://{}", dir.join("bench.db").display()).parse()?;
        }
        Backend::Postgres | Backend::Rabbitmq => {
            admin(&args.postgres, &format!("CREATE DATABASE {database}")).await?;
            let mut url = url::Url::parse(&args.postgres)?;
            url.set_path(&database);
            config.database_url = url.as_str().parse()?;
        }
    }
    if let Backend::Rabbitmq = args.backend {
        config.queue_url = QueueUrl::Amqp(args.amqp.clone());
        config.queue.broker_prefix = format!("hangar-bench-{}", std::process::id());
        config.queue.prefetch = (args.concurrency * 2) as u32;
    }
    config.store.max_connections = std::env::var("BENCH_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    config.queue.poll_interval = "50ms".parse()?;
    let result = run(&args, &config).await;
    match args.backend {
        Backend::Sqlite => {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Backend::Postgres | Backend::Rabbitmq => {
            admin(
                &args.postgres,
                &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
            )
            .await?;
        }
    }
    let line = result?;
    println!("{line}");
    Ok(())
}

async fn admin(url: &str, sql: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .context("connect to PostgreSQL")?;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await?;
    Ok(())
}

async fn run(args: &Args, config: &Config) -> anyhow::Result<serde_json::Value> {
    let store = Store::open(&config.database_url, &config.store)?;
    store
        .wait_until_reachable(Duration::from_secs(10), &Shutdown::new())
        .await?;
    store.migrate(&[hangar_queue::MIGRATION_SET]).await?;
    let stop = CancellationToken::new();
    let queue = Queue::open(config, store.clone(), QueueMetrics::default(), stop.clone());
    queue.wait_ready(Duration::from_secs(10)).await?;
    let mut registry = JobRegistry::new();
    registry.register(Noop)?;
    let mut options = WorkerOptions::from_config(&config.queue)?;
    options.queues = hangar_queue::parse_queues("default", args.concurrency)?;

    let shutdown = Shutdown::new();
    let (wall, offered) = match args.mode {
        Mode::Burn => {
            let started = Instant::now();
            for chunk in (0..args.jobs).collect::<Vec<_>>().chunks(5_000) {
                let jobs = chunk
                    .iter()
                    .map(|_| NewJob::of::<Noop>(&()).expect("serializes"))
                    .collect();
                queue.enqueue_many(jobs).await?;
            }
            eprintln!("enqueued {} jobs in {:?}", args.jobs, started.elapsed());
            let started = Instant::now();
            let worker =
                tokio::spawn(Worker::new(queue.clone(), registry, options).run(shutdown.clone()));
            wait_done(&store, args.jobs).await?;
            let wall = started.elapsed();
            shutdown.trigger();
            worker.await??;
            (wall, args.jobs)
        }
        Mode::Steady => {
            let worker =
                tokio::spawn(Worker::new(queue.clone(), registry, options).run(shutdown.clone()));
            let started = Instant::now();
            let total = args.rate * args.seconds as usize;
            let tick = Duration::from_millis(10);
            let per_tick = (args.rate / 100).max(1);
            let mut sent = 0;
            let mut next = Instant::now();
            while sent < total {
                let n = per_tick.min(total - sent);
                let jobs = (0..n)
                    .map(|_| NewJob::of::<Noop>(&()).expect("serializes"))
                    .collect();
                queue.enqueue_many(jobs).await?;
                sent += n;
                next += tick;
                tokio::time::sleep_until(next.into()).await;
            }
            wait_done(&store, total).await?;
            let wall = started.elapsed();
            shutdown.trigger();
            worker.await??;
            (wall, total)
        }
    };
    let mut pickup = latencies(&store).await?;
    pickup.sort_unstable();
    queue.close().await;
    stop.cancel();
    store.close().await;
    let pct = |p: f64| {
        pickup
            .get(((pickup.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    Ok(serde_json::json!({
        "system": "hangar",
        "backend": format!("{:?}", args.backend).to_lowercase(),
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "jobs": offered,
        "concurrency": args.concurrency,
        "seconds": wall.as_secs_f64(),
        "jobs_per_second": offered as f64 / wall.as_secs_f64(),
        "pickup_p50_ms": pct(0.50),
        "pickup_p99_ms": pct(0.99),
    }))
}

/// Waits until no job is waiting or running. The two counts use the queue's
/// partial indexes, so polling stays cheap as finished rows pile up.
async fn wait_done(store: &Store, expected: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let waiting: i64 = on_pool!(store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM hangar_jobs WHERE state IN ('pending', 'retrying')")
                .fetch_one(pool)
                .await
        })?;
        let running: i64 = on_pool!(store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM hangar_jobs WHERE state = 'running'")
                .fetch_one(pool)
                .await
        })?;
        if waiting + running == 0 {
            let done: i64 = on_pool!(store, pool => {
                sqlx::query_scalar("SELECT COUNT(*) FROM hangar_jobs WHERE state = 'succeeded'")
                    .fetch_one(pool)
                    .await
            })?;
            if done as usize != expected {
                bail!("{done} of {expected} jobs succeeded");
            }
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!(
                "{} of {expected} jobs still waiting or running after 10 minutes",
                waiting + running
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn latencies(store: &Store) -> anyhow::Result<Vec<i64>> {
    Ok(on_pool!(store, pool => {
        sqlx::query_scalar("SELECT started_at - run_at FROM hangar_jobs WHERE state = 'succeeded'")
            .fetch_all(pool)
            .await
    })?)
}
