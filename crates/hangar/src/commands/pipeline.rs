//! `hangar pipeline validate|list|run|runs|show|logs|cancel`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hangar_app::AppContext;
use hangar_core::config::QueueUrl;
use hangar_core::telemetry::{LogStream, init_logs};
use hangar_core::{Config, LoadedConfig};
use hangar_pipeline::{PipelineError, PipelineRegistry, Pipelines, RunView, TriggeredBy};
use hangar_queue::{Queue, QueueMetrics};
use hangar_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{CommandError, runtime, signals};
use crate::cli::PipelineCommand;
use crate::output::{Table, emit, to_json};
use hangar_runtime::{Connections, RunError, pipeline_engine};

pub(super) fn run(loaded: LoadedConfig, command: PipelineCommand) -> Result<(), CommandError> {
    let config = loaded.config;
    init_logs(&config.log, LogStream::Stderr).map_err(anyhow::Error::from)?;
    let apps = crate::apps().map_err(|e| CommandError::Usage(e.to_string()))?;
    runtime()?.block_on(async move {
        if let PipelineCommand::Validate { files } = &command {
            return validate(&config, &apps, files);
        }
        let connections = Connections::open(&config, &signals()?).await?;
        let result = match pipeline_engine(&config, &apps, &connections.context(&config)) {
            Ok(pipelines) => act(&pipelines, command).await,
            Err(e) => Err(e.into()),
        };
        connections.close().await;
        result
    })
}

/// Checks definitions without a database: the operators come from the apps.
fn validate(
    config: &Config,
    apps: &hangar_app::Apps,
    files: &[std::path::PathBuf],
) -> Result<(), CommandError> {
    let offline = Config {
        queue_url: QueueUrl::Database,
        ..config.clone()
    };
    let store = Store::open(&offline.database_url, &offline.store)?;
    let stop = CancellationToken::new();
    let queue = Queue::open(
        &offline,
        store.clone(),
        QueueMetrics::default(),
        stop.clone(),
    );
    let ctx = AppContext {
        config: Arc::new(offline.clone()),
        store,
        queue,
    };
    let mut registry = PipelineRegistry::new();
    apps.pipelines(&ctx, &mut registry)
        .map_err(RunError::from)?;
    stop.cancel();
    if files.is_empty() {
        let engine = pipeline_engine(&offline, apps, &ctx)?;
        let names: Vec<String> = engine
            .registry()
            .pipelines()
            .map(|p| format!("{} ({})", p.name, p.source))
            .collect();
        let text = format!(
            "{} pipeline(s) valid:\n  {}\n",
            names.len(),
            names.join("\n  ")
        );
        return Ok(emit(&text).map_err(anyhow::Error::from)?);
    }
    let mut errors = Vec::new();
    let mut out = String::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|source| {
            RunError::Pipelines(PipelineError::Read {
                path: file.display().to_string(),
                source,
            })
        })?;
        match registry.check(&file.display().to_string(), &text) {
            Ok(spec) => {
                let _ = writeln!(
                    out,
                    "{}: pipeline `{}` is valid ({} tasks)",
                    file.display(),
                    spec.name,
                    spec.tasks.len()
                );
            }
            Err(found) => errors.extend(found.0),
        }
    }
    emit(&out).map_err(anyhow::Error::from)?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(RunError::Pipelines(PipelineError::Definition(
            hangar_pipeline::file::DefinitionErrors(errors),
        ))
        .into())
    }
}

/// Naming a pipeline that is not defined is bad usage (exit 2), like a bad flag.
fn unknown_pipeline(pipelines: &Pipelines, name: &str) -> CommandError {
    let known: Vec<&str> = pipelines
        .registry()
        .pipelines()
        .map(|p| p.name.as_str())
        .collect();
    CommandError::Usage(format!(
        "no pipeline `{name}`; the pipelines are: {} (`hangar pipeline list` shows them)",
        known.join(", ")
    ))
}

fn run_id(raw: &str) -> Result<Uuid, CommandError> {
    raw.parse()
        .map_err(|_| CommandError::Usage(format!("`{raw}` is not a run id (a UUID)")))
}

async fn act(pipelines: &Pipelines, command: PipelineCommand) -> Result<(), CommandError> {
    let text = match command {
        PipelineCommand::Validate { .. } => unreachable!("handled before connecting"),
        PipelineCommand::List => {
            let mut table = Table::new(vec![
                "NAME",
                "TASKS",
                "PARAMETERS",
                "SCHEDULE",
                "DEFINED IN",
            ]);
            for p in pipelines.registry().pipelines() {
                let params: Vec<String> = p
                    .params
                    .iter()
                    .map(|x| format!("{}:{}", x.name, x.kind.as_str()))
                    .collect();
                table.row(vec![
                    p.name.to_string(),
                    p.tasks.len().to_string(),
                    params.join(", "),
                    p.schedule
                        .as_ref()
                        .map_or("-".to_owned(), |s| s.as_str().to_owned()),
                    p.source.clone(),
                ]);
            }
            table.render()
        }
        PipelineCommand::Run { name, params, wait } => {
            let spec = pipelines
                .registry()
                .get(&name)
                .ok_or_else(|| unknown_pipeline(pipelines, &name))?;
            let given = hangar_pipeline::params::from_pairs(spec, &params)
                .map_err(|e| CommandError::Usage(e.join("; ")))?;
            let run = pipelines
                .trigger(&name, Some(&given), TriggeredBy::Cli)
                .await
                .map_err(|e| match e {
                    PipelineError::Params(errors) => {
                        CommandError::Usage(format!("invalid parameters: {}", errors.join("; ")))
                    }
                    other => RunError::from(other).into(),
                })?
                .ok_or_else(|| anyhow::anyhow!("the run was not created"))?;
            if !wait {
                format!("run {} of {name} is {}\n", run.id, run.state)
            } else {
                return follow(pipelines, run.id).await;
            }
        }
        PipelineCommand::Runs { name, limit, json } => {
            let runs = pipelines
                .runs(name.as_deref(), None, limit)
                .await
                .map_err(RunError::from)?;
            if json {
                to_json(&runs).map_err(anyhow::Error::from)?
            } else {
                let mut table = Table::new(vec![
                    "RUN", "PIPELINE", "STATE", "TRIGGER", "CREATED", "DURATION",
                ]);
                for run in &runs {
                    table.row(vec![
                        run.id.to_string(),
                        run.pipeline.clone(),
                        run.state.to_string(),
                        run.triggered_by.clone(),
                        run.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        duration(run),
                    ]);
                }
                if runs.is_empty() {
                    "(no runs)\n".to_owned()
                } else {
                    table.render()
                }
            }
        }
        PipelineCommand::Show { run, json } => {
            let run = pipelines.run(run_id(&run)?).await.map_err(RunError::from)?;
            if json {
                to_json(&run).map_err(anyhow::Error::from)?
            } else {
                describe(&run)
            }
        }
        PipelineCommand::Logs { run, task } => {
            let lines = pipelines
                .logs(run_id(&run)?, task.as_deref())
                .await
                .map_err(RunError::from)?;
            let mut out = String::new();
            for line in lines {
                let at = chrono::DateTime::from_timestamp_millis(line.at).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{} {}#{} {:<4} {}",
                    at.format("%H:%M:%S%.3f"),
                    line.task_id,
                    line.try_number,
                    line.level,
                    line.message
                );
            }
            if out.is_empty() {
                "(no log lines)\n".to_owned()
            } else {
                out
            }
        }
        PipelineCommand::Cancel { run } => {
            let run = pipelines
                .cancel(run_id(&run)?)
                .await
                .map_err(RunError::from)?;
            format!("run {} is {}\n", run.id, run.state)
        }
    };
    Ok(emit(&text).map_err(anyhow::Error::from)?)
}

/// Follows a run until it ends, with a progress bar of finished tasks and the
/// ones running. Exits 1 with the failed tasks' last log lines if it fails.
async fn follow(pipelines: &Pipelines, id: Uuid) -> Result<(), CommandError> {
    let started = Instant::now();
    let mut warned = false;
    let first = pipelines.run(id).await.map_err(RunError::from)?;
    let total = first.tasks.as_ref().map_or(0, Vec::len) as u64;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} tasks {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{} {}", first.pipeline, &id.to_string()[..8]));
    let run = loop {
        let run = pipelines.run(id).await.map_err(RunError::from)?;
        let tasks = run.tasks.clone().unwrap_or_default();
        let done = tasks
            .iter()
            .filter(|t| {
                matches!(
                    t.state.as_str(),
                    "succeeded" | "failed" | "upstream_failed" | "skipped" | "cancelled"
                )
            })
            .count();
        let running: Vec<String> = tasks
            .iter()
            .filter(|t| matches!(t.state.as_str(), "running" | "up_for_retry"))
            .map(|t| {
                if t.state == "up_for_retry" {
                    format!("{} (retry {})", t.task_id, t.try_number)
                } else {
                    t.task_id.clone()
                }
            })
            .collect();
        bar.set_position(done as u64);
        bar.set_message(if running.is_empty() {
            run.state.to_string()
        } else {
            format!("running: {}", running.join(", "))
        });
        bar.tick();
        if matches!(run.state.as_str(), "succeeded" | "failed" | "cancelled") {
            break run;
        }
        let idle = tasks.iter().all(|t| t.started_at.is_none());
        if idle && !warned && started.elapsed() > Duration::from_secs(10) {
            warned = true;
            bar.println(
                "no task has started after 10s: is a worker running for this database (`hangar up` or `hangar worker`)?",
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    bar.finish_and_clear();
    let summary = format!(
        "run {} of {} {} in {}\n",
        run.id,
        run.pipeline,
        run.state,
        duration(&run)
    );
    if run.state == "succeeded" {
        return Ok(emit(&summary).map_err(anyhow::Error::from)?);
    }
    let mut out = summary;
    for task in run.tasks.iter().flatten().filter(|t| t.state == "failed") {
        let _ = writeln!(
            out,
            "\ntask {} failed: {}",
            task.task_id,
            task.error.as_deref().unwrap_or("(no error)")
        );
        let lines = pipelines
            .logs(run.id, Some(&task.task_id))
            .await
            .map_err(RunError::from)?;
        for line in lines.iter().rev().take(10).rev() {
            let _ = writeln!(
                out,
                "  {}#{} {} {}",
                line.task_id, line.try_number, line.level, line.message
            );
        }
    }
    eprint!("{out}");
    Err(anyhow::anyhow!("run {} {}", run.id, run.state).into())
}

fn duration(run: &RunView) -> String {
    match (run.started_at, run.finished_at) {
        (Some(start), Some(end)) => {
            format!("{:.2}s", (end - start).num_milliseconds() as f64 / 1000.0)
        }
        (Some(_), None) => "running".to_owned(),
        _ => "-".to_owned(),
    }
}

fn describe(run: &RunView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "run       {}", run.id);
    let _ = writeln!(out, "pipeline  {}", run.pipeline);
    let _ = writeln!(out, "state     {}", run.state);
    let _ = writeln!(out, "trigger   {}", run.triggered_by);
    let _ = writeln!(out, "params    {}", run.params);
    let _ = writeln!(out, "created   {}", run.created_at.to_rfc3339());
    let _ = writeln!(out, "duration  {}", duration(run));
    if let Some(error) = &run.error {
        let _ = writeln!(out, "error     {error}");
    }
    out.push('\n');
    let mut table = Table::new(vec!["TASK", "STATE", "TRY", "DURATION", "ERROR"]);
    for task in run.tasks.iter().flatten() {
        let took = match (task.started_at, task.finished_at) {
            (Some(s), Some(e)) => format!("{}ms", (e - s).num_milliseconds()),
            _ => "-".to_owned(),
        };
        table.row(vec![
            task.task_id.clone(),
            task.state.to_string(),
            format!("{}/{}", task.try_number, task.max_tries),
            took,
            task.error.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&table.render());
    for task in run.tasks.iter().flatten() {
        for interruption in &task.interruptions {
            let _ = writeln!(out, "{}: {}", task.task_id, interruption.describe());
        }
    }
    out
}
