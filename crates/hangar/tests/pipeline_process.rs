//! Pipelines across processes: a worker killed with SIGKILL mid-task (the run
//! still completes), and two scheduler processes (a cron trigger fires once per
//! time, and the survivor takes over when the leader is killed). This test binary,
//! re-run with `HANGAR_TEST_PIPELINE_ROLES`, is the processes.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use hangar_core::{Config, Shutdown};
use hangar_pipeline::{Pipelines, TriggeredBy};
use hangar_runtime::Connections;
use hangar_testkit::pipelines as pipeline_support;
use hangar_testkit::processes::{self, Process, kill, wait_until};
use hangar_testkit::{Backend, TestDatabase, on_each_backend};
use serde_json::json;

const ROLES_VAR: &str = "HANGAR_TEST_PIPELINE_ROLES";

const CRASHY: &str = r#"
name = "crashy"
[params.gate]
type = "string"
[[tasks]]
id = "nap"
operator = "test.gate"
path = "${params.gate}"
[[tasks]]
id = "after"
operator = "test.emit"
value = "done"
depends_on = ["nap"]
"#;

const TICKING: &str = r#"
name = "ticking"
schedule = "*/2 * * * * *"
[[tasks]]
id = "tick"
operator = "test.emit"
value = 1
"#;

fn apps() -> hangar_app::Apps {
    pipeline_support::apps(vec![CRASHY, TICKING])
}

/// A worker and/or scheduler process, as `HANGAR_TEST_PIPELINE_ROLES` says.
#[test]
#[ignore = "a worker or scheduler process for the tests below, started by them"]
fn pipeline_process() {
    let Ok(roles) = std::env::var(ROLES_VAR) else {
        return;
    };
    processes::run_process(apps(), |config| hangar_runtime::Roles {
        api: false,
        worker: roles
            .contains("worker")
            .then(|| hangar_queue::WorkerOptions::from_config(&config.queue).unwrap()),
        scheduler: roles.contains("scheduler"),
        migrations: hangar_runtime::MigrationPolicy::RequireCurrent,
    });
}

fn spawn(database: &TestDatabase, roles: &str, log: &Path) -> Process {
    let env = [
        (ROLES_VAR, roles.to_owned()),
        ("HANGAR_DATABASE_URL", database.url().expose().to_owned()),
        ("HANGAR_QUEUE_LEASE", "2s".to_owned()),
        ("HANGAR_QUEUE_REAP_INTERVAL", "500ms".to_owned()),
        ("HANGAR_QUEUE_POLL_INTERVAL", "100ms".to_owned()),
        ("HANGAR_HTTP_LISTEN", "127.0.0.1:0".to_owned()),
        ("HANGAR_LOG_FORMAT", "json".to_owned()),
    ];
    processes::spawn_self("pipeline_process", &env, log)
}

/// A migrated database, and an engine over it to trigger and watch runs.
async fn engine(database: &TestDatabase) -> (Pipelines, Connections) {
    let config = Config {
        database_url: database.url().clone(),
        ..Config::default()
    };
    let connections = Connections::open(&config, &Shutdown::new()).await.unwrap();
    connections
        .store
        .migrate(&hangar_runtime::migration_sets(&apps()))
        .await
        .unwrap();
    let pipelines =
        hangar_runtime::pipeline_engine(&config, &apps(), &connections.context(&config)).unwrap();
    (pipelines, connections)
}

async fn a_worker_killed_mid_task_does_not_strand_the_run(backend: Backend) {
    let Some(database) =
        TestDatabase::create(backend, "a_worker_killed_mid_task_does_not_strand_the_run").await
    else {
        return;
    };
    let logs = tempfile::tempdir().unwrap();
    let gate = logs.path().join("gate");
    let (pipelines, connections) = engine(&database).await;
    let victim = spawn(&database, "worker", &logs.path().join("victim.log"));
    let params = json!({ "gate": gate.display().to_string() });
    let run = pipelines
        .trigger("crashy", Some(&params), TriggeredBy::Cli)
        .await
        .unwrap()
        .unwrap();
    // Task log lines are stored as they are written: the running try's line
    // is there before the try ends.
    wait_until(
        "the task running and logging",
        Duration::from_secs(30),
        async || {
            pipeline_support::state(&pipelines.run(run.id).await.unwrap(), "nap") == "running"
                && pipelines
                    .logs(run.id, Some("nap"))
                    .await
                    .unwrap()
                    .iter()
                    .any(|l| l.message == "waiting for the gate to open")
        },
    )
    .await;
    // The task waits for the gate, so the kill lands mid-task however slow the
    // machine; the gate opens for the worker that takes over.
    kill(victim);
    std::fs::write(&gate, b"open").unwrap();
    let rescuer = spawn(&database, "worker", &logs.path().join("rescuer.log"));
    let done = pipeline_support::finished(&pipelines, run.id).await;
    assert_eq!(done.state, "succeeded", "{done:#?}");
    let nap = done
        .tasks
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.task_id == "nap")
        .unwrap();
    assert_eq!(
        nap.try_number, 1,
        "the same try ran again; a crash is not a task failure"
    );
    assert_eq!(
        nap.interruptions.len(),
        1,
        "the run shows the try was interrupted: {nap:#?}"
    );
    let job = connections
        .queue
        .get(nap.job_id.unwrap().into())
        .await
        .unwrap();
    assert_eq!(
        job.attempts.unwrap()[0].outcome,
        "lost",
        "the queue recovered the job from the dead worker"
    );
    let lines = pipelines.logs(run.id, Some("nap")).await.unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.message == "try 1 interrupted (worker lost), retried"),
        "{lines:#?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.message == "waiting for the gate to open")
            .count(),
        2,
        "the killed attempt of try 1 keeps what it logged, beside the rescuer's: {lines:#?}"
    );
    let shown = hangar_show(&database, &run.id.to_string());
    assert!(
        shown.contains("try 1 interrupted (worker lost), retried"),
        "{shown}"
    );
    kill(rescuer);
    connections.close().await;
}

/// What `hangar pipeline show RUN` prints for the run in `database`.
fn hangar_show(database: &TestDatabase, run: &str) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hangar"));
    for (key, _) in std::env::vars() {
        if key.starts_with("HANGAR_") {
            command.env_remove(key);
        }
    }
    let output = command
        .args(["pipeline", "show", run])
        .env("HANGAR_DATABASE_URL", database.url().expose())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

on_each_backend!(a_worker_killed_mid_task_does_not_strand_the_run);

fn leader_lines(log: &Path) -> Vec<bool> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("scheduler leadership changed"))
        .map(|l| l.contains("\"leader\":true"))
        .collect()
}

fn fired(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("cron trigger fired"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_fire_each_cron_time_once_and_fail_over() {
    let database = TestDatabase::create(Backend::Sqlite, "two_schedulers")
        .await
        .unwrap();
    let logs = tempfile::tempdir().unwrap();
    let (first_log, second_log) = (
        logs.path().join("first.log"),
        logs.path().join("second.log"),
    );
    let (pipelines, connections) = engine(&database).await;
    let first = spawn(&database, "worker,scheduler", &first_log);
    wait_until("a leader", Duration::from_secs(30), async || {
        leader_lines(&first_log) == vec![true]
    })
    .await;
    let second = spawn(&database, "worker,scheduler", &second_log);
    let runs = async || pipelines.runs(Some("ticking"), None, 500).await.unwrap();
    wait_until(
        "three scheduled runs",
        Duration::from_secs(30),
        async || runs().await.len() >= 3,
    )
    .await;
    assert!(
        leader_lines(&second_log).is_empty(),
        "the second scheduler waits while the first leads"
    );
    assert_eq!(fired(&second_log), 0);

    kill(first);
    // Counted once the first is gone: it may fire a run just before it dies.
    let before = runs().await.len();
    wait_until(
        "the second scheduler to take over",
        Duration::from_secs(40),
        async || leader_lines(&second_log) == vec![true],
    )
    .await;
    wait_until(
        "runs fired by the new leader",
        Duration::from_secs(30),
        async || runs().await.len() >= before + 2,
    )
    .await;
    // A run is committed before its scheduler logs it: wait for the lines.
    wait_until(
        "the new leader's log lines for its runs",
        Duration::from_secs(30),
        async || fired(&second_log) >= 2,
    )
    .await;
    let all = runs().await;
    let mut times: Vec<_> = all.iter().map(|r| r.logical_date.unwrap()).collect();
    times.sort();
    times.dedup();
    assert_eq!(times.len(), all.len(), "one run per cron time");
    assert!(all.iter().all(|r| r.triggered_by == "schedule"));
    kill(second);
    connections.close().await;
}
