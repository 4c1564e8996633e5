//! `hangar jobs list|show|retry|cancel|purge-dead`.

use std::fmt::Write as _;

use hangar_core::LoadedConfig;
use hangar_core::config::HumanDuration;
use hangar_core::telemetry::{LogStream, init_logs};
use hangar_queue::{JobFilter, JobView, Queue};

use super::{CommandError, runtime, signals};
use crate::cli::JobsCommand;
use crate::output::{Table, emit, to_json};
use hangar_runtime::Connections;

pub(super) fn run(loaded: LoadedConfig, command: JobsCommand) -> Result<(), CommandError> {
    let config = loaded.config;
    init_logs(&config.log, LogStream::Stderr).map_err(anyhow::Error::from)?;
    runtime()?.block_on(async {
        let connections = Connections::open(&config, &signals()?).await?;
        let result = act(&connections.queue, command).await;
        connections.close().await;
        let text = result?;
        Ok(emit(&text).map_err(anyhow::Error::from)?)
    })
}

async fn act(queue: &Queue, command: JobsCommand) -> Result<String, CommandError> {
    Ok(match command {
        JobsCommand::List {
            state,
            queue: on,
            limit,
            before,
            json: as_json,
        } => {
            let filter = JobFilter {
                state: state.map(|s| s.parse()).transpose().map_err(usage)?,
                queue: on,
                before: before.map(|s| s.parse()).transpose().map_err(usage)?,
                limit: limit.clamp(1, 500),
            };
            let page = queue.list(&filter).await?;
            if as_json {
                to_json(&page).map_err(anyhow::Error::from)?
            } else {
                list_table(&page.jobs, page.next.map(|id| id.to_string()))
            }
        }
        JobsCommand::Show { id, json: as_json } => {
            let job = queue.get(id.parse().map_err(usage)?).await?;
            if as_json {
                to_json(&job).map_err(anyhow::Error::from)?
            } else {
                describe(&job)
            }
        }
        JobsCommand::Retry { id } => {
            let job = queue.retry(id.parse().map_err(usage)?).await?;
            format!(
                "job {} is pending again (attempt {} of {})\n",
                job.id, job.attempt, job.max_attempts
            )
        }
        JobsCommand::Cancel { id } => {
            let job = queue.cancel(id.parse().map_err(usage)?).await?;
            match job.state {
                hangar_queue::JobState::Running => format!(
                    "job {} is running; its handler has been asked to stop (it sees this within a heartbeat)\n",
                    job.id
                ),
                state => format!("job {} is {state}\n", job.id),
            }
        }
        JobsCommand::PurgeDead => format!("deleted {} dead job(s)\n", queue.purge_dead().await?),
    })
}

fn usage(err: hangar_queue::QueueError) -> CommandError {
    CommandError::Usage(err.to_string())
}

fn list_table(jobs: &[JobView], next: Option<String>) -> String {
    let mut table = Table::new(vec![
        "ID",
        "QUEUE",
        "NAME",
        "STATE",
        "ATTEMPT",
        "CREATED",
        "LAST ERROR",
    ]);
    for job in jobs {
        table.row(vec![
            job.id.to_string(),
            job.queue.clone(),
            job.name.clone(),
            job.state.to_string(),
            format!("{}/{}", job.attempt, job.max_attempts),
            job.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            job.last_error
                .as_deref()
                .map(|e| shorten(e, 60))
                .unwrap_or_default(),
        ]);
    }
    let mut out = table.render();
    match next {
        Some(next) => {
            let _ = writeln!(out, "\nmore: hangar jobs list --before {next}");
        }
        None if jobs.is_empty() => out.push_str("(no jobs)\n"),
        None => {}
    }
    out
}

fn describe(job: &JobView) -> String {
    let mut out = String::new();
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".to_owned())
    };
    let fields = [
        ("id", job.id.to_string()),
        ("name", job.name.clone()),
        ("queue", job.queue.clone()),
        ("state", job.state.to_string()),
        ("priority", job.priority.to_string()),
        (
            "attempt",
            format!("{} of {}", job.attempt, job.max_attempts),
        ),
        (
            "timeout",
            u64::try_from(job.timeout_ms).map_or_else(
                |_| format!("{}ms", job.timeout_ms),
                |ms| HumanDuration::millis(ms).to_string(),
            ),
        ),
        (
            "unique key",
            job.unique_key.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("created", job.created_at.to_rfc3339()),
        ("run at", job.run_at.to_rfc3339()),
        ("started", time(job.started_at)),
        ("finished", time(job.finished_at)),
        (
            "worker",
            job.worker.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("lease until", time(job.lease_expires_at)),
        ("cancel requested", job.cancel_requested.to_string()),
        (
            "last error",
            job.last_error.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("payload", job.payload.to_string()),
    ];
    for (key, value) in fields {
        let _ = writeln!(out, "{key:<17}{value}");
    }
    if let Some(attempts) = job.attempts.as_ref().filter(|a| !a.is_empty()) {
        out.push_str("\nattempts that did not succeed:\n");
        let mut table = Table::new(vec!["#", "OUTCOME", "WORKER", "STARTED", "MS", "ERROR"]);
        for a in attempts {
            table.row(vec![
                a.attempt.to_string(),
                a.outcome.clone(),
                a.worker.clone(),
                a.started_at.to_rfc3339(),
                (a.finished_at - a.started_at)
                    .num_milliseconds()
                    .to_string(),
                a.error.clone(),
            ]);
        }
        out.push_str(&table.render());
    }
    out
}

fn shorten(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= max {
        line.to_owned()
    } else {
        format!("{}…", line.chars().take(max - 1).collect::<String>())
    }
}
