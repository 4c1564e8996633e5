//! Runs a chain of N tasks and a fan-out of W tasks, each sleeping a few
//! milliseconds, through Hangar's pipeline engine with an in-process worker, and
//! prints one JSON line per shape: the median wall time from trigger to the run's
//! end, and the overhead per task beyond its sleep.
//!
//! Run by `bench/pipeline/run`, which runs Apache Airflow side by side.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use futures_util::future::BoxFuture;
use hangar_core::Shutdown;
use hangar_core::config::Config;
use hangar_pipeline::operator::{Limits, Operator, TaskContext, TaskError};
use hangar_pipeline::{
    EngineOptions, PipelineRegistry, Pipelines, RunState, SourcePolicy, TaskJob, TriggeredBy,
};
use hangar_queue::{JobRegistry, Queue, QueueMetrics, Worker, WorkerOptions};
use hangar_store::Store;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    /// Tasks in the chain.
    #[arg(long, default_value_t = 40)]
    chain: usize,
    /// Tasks in the fan-out.
    #[arg(long, default_value_t = 10)]
    width: usize,
    /// What each task does: sleep this long.
    #[arg(long, default_value_t = 10)]
    sleep_ms: u64,
    /// Runs of each shape; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// A PostgreSQL server; a database of the benchmark's own is created there.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
}

/// `bench.sleep`: sleeps `ms` milliseconds.
struct Sleep;

impl Operator for Sleep {
    fn check(&self, _config: &Map<String, Value>) -> Result<(), String> {
        Ok(())
    }

    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>> {
        Box::pin(async move {
            let ms = task.config.get("ms").and_then(Value::as_u64).unwrap_or(10);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(Value::Null)
        })
    }
}

fn chain(n: usize, ms: u64) -> String {
    let mut text = String::from("name = \"chain\"\n");
    for i in 0..n {
        text.push_str(&format!(
            "[[tasks]]\nid = \"t{i}\"\noperator = \"bench.sleep\"\nms = {ms}\n"
        ));
        if i > 0 {
            text.push_str(&format!("depends_on = [\"t{}\"]\n", i - 1));
        }
    }
    text
}

fn fanout(width: usize, ms: u64) -> String {
    let mut text = String::from("name = \"fanout\"\n");
    for i in 0..width {
        text.push_str(&format!(
            "[[tasks]]\nid = \"t{i}\"\noperator = \"bench.sleep\"\nms = {ms}\n"
        ));
    }
    text
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("hangar-bench-pipeline-{}", std::process::id()));
    let database = format!("hangar_bench_pipeline_{}", std::process::id());
    let mut config = Config::default();
    match args.backend {
        Backend::Sqlite => {
            std::fs::create_dir_all(&dir)?;
            config.database_url = format!("sqlite://{}", dir.join("bench.db").display()).parse()?;
        }
        Backend::Postgres => {
            admin(&args.postgres, &format!("CREATE DATABASE {database}")).await?;
            let mut url = url::Url::parse(&args.postgres)?;
            url.set_path(&database);
            config.database_url = url.as_str().parse()?;
        }
    }
    let result = run(&args, &config).await;
    match args.backend {
        Backend::Sqlite => {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Backend::Postgres => {
            admin(
                &args.postgres,
                &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
            )
            .await?
        }
    }
    for line in result? {
        println!("{line}");
    }
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

async fn run(args: &Args, config: &Config) -> anyhow::Result<Vec<Value>> {
    let store = Store::open(&config.database_url, &config.store)?;
    store
        .wait_until_reachable(Duration::from_secs(10), &Shutdown::new())
        .await?;
    store
        .migrate(&[
            hangar_store::MIGRATION_SET,
            hangar_queue::MIGRATION_SET,
            hangar_pipeline::MIGRATION_SET,
        ])
        .await?;
    let stop = CancellationToken::new();
    let queue = Queue::open(config, store.clone(), QueueMetrics::default(), stop.clone());
    let mut registry = PipelineRegistry::new();
    registry
        .operator("bench.sleep", Sleep)?
        .pipeline_toml("chain", &chain(args.chain, args.sleep_ms))
        .pipeline_toml("fanout", &fanout(args.width, args.sleep_ms))
        .load()?;
    let limits = Limits {
        max_output_bytes: 1 << 20,
        max_input_bytes: 1 << 20,
    };
    let options = EngineOptions {
        queue: "default".to_owned(),
        limits,
        sources: SourcePolicy::new(&config.pipeline.file_roots, &config.pipeline.http_allow),
    };
    let pipelines = Pipelines::new(registry, store.clone(), queue.clone(), options);
    let mut jobs = JobRegistry::new();
    jobs.register(TaskJob(pipelines.clone()))?;
    let mut worker_options = WorkerOptions::from_config(&config.queue)?;
    worker_options.queues = hangar_queue::parse_queues("default", 16)?;
    let shutdown = Shutdown::new();
    let worker =
        tokio::spawn(Worker::new(queue.clone(), jobs, worker_options).run(shutdown.clone()));

    let mut lines = Vec::new();
    // (shape, tasks, sleeps one after another on the critical path)
    for (shape, tasks, serial) in [("chain", args.chain, args.chain), ("fanout", args.width, 1)] {
        let mut walls = Vec::new();
        for _ in 0..args.runs {
            let started = Instant::now();
            let run = pipelines
                .trigger(shape, None, TriggeredBy::Cli)
                .await?
                .context("run created")?;
            loop {
                let state = pipelines.run(run.id).await?.state;
                match state {
                    RunState::Succeeded => break,
                    RunState::Failed | RunState::Cancelled => {
                        bail!("{shape} run {} {state}", run.id)
                    }
                    RunState::Queued | RunState::Running => {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                if started.elapsed() > Duration::from_secs(300) {
                    bail!("{shape} run {} did not finish in 5 minutes", run.id);
                }
            }
            walls.push(started.elapsed().as_secs_f64());
        }
        walls.sort_by(f64::total_cmp);
        let median = walls[walls.len() / 2];
        let work = serial as f64 * args.sleep_ms as f64 / 1000.0;
        lines.push(json!({
            "system": "hangar",
            "backend": format!("{:?}", args.backend).to_lowercase(),
            "shape": shape,
            "tasks": tasks,
            "sleep_ms": args.sleep_ms,
            "runs": args.runs,
            "wall_seconds": median,
            "overhead_ms_per_task": (median - work) * 1000.0 / tasks as f64,
            "all_wall_seconds": walls,
        }));
    }
    shutdown.trigger();
    worker.await??;
    queue.close().await;
    stop.cancel();
    store.close().await;
    Ok(lines)
}
