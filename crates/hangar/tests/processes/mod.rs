//! Child processes for the crash tests: this test binary re-run as a worker (or
//! scheduler) process, signals, and waiting on conditions.

#![allow(dead_code, clippy::unwrap_used)]

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts this test binary running only the ignored test `entry`, with the
/// `HANGAR_*` variables of the test's environment replaced by `env`, its stdout
/// (the JSON log) written to `log`.
pub fn spawn_self(entry: &str, env: &[(&str, String)], log: &Path) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([
        entry,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (key, _) in std::env::vars() {
        if key.starts_with("HANGAR_") {
            command.env_remove(key);
        }
    }
    command
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::from(File::create(log).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Sends `signal` to a child.
#[allow(unsafe_code)]
pub fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: kill(2) on a child we spawned and have not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
}

/// Kills a child with SIGKILL and reaps it.
pub fn kill(mut child: Child) {
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
}

/// Polls `done` every 50 ms; fails the test after `limit`.
pub async fn wait_until<F: AsyncFnMut() -> bool>(what: &str, limit: Duration, mut done: F) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The body of a child process: loads the configuration from the environment the
/// parent set, and runs `apps` in the roles `roles` picks until SIGTERM (or
/// SIGKILL). What `hangar worker` does, with the test's own apps.
pub fn run_process(
    apps: hangar_app::Apps,
    roles: impl FnOnce(&hangar_core::Config) -> hangar::runtime::Roles,
) {
    use hangar_core::config::LoadOptions;
    use hangar_core::telemetry::{LogStream, init_logs};

    let config = hangar_core::Config::load(&LoadOptions::from_process(None))
        .unwrap()
        .config;
    init_logs(&config.log, LogStream::Stdout).unwrap();
    let roles = roles(&config);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let shutdown = hangar_core::Shutdown::new();
        shutdown.trigger_on_signals().unwrap();
        let listener = hangar::runtime::bind(config.http.listen).await.unwrap();
        let process = hangar::runtime::start(
            std::sync::Arc::new(config),
            &apps,
            listener,
            shutdown,
            roles,
        )
        .unwrap();
        process.wait().await.unwrap();
    });
}
