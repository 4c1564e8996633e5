//! Child processes for the crash tests: this test binary re-run as a worker (or
//! scheduler) process, signals, and waiting on conditions. Every child is held in
//! a [`Process`], which kills it when dropped, so a failing test (a panic
//! included) leaves no process behind.

#![allow(dead_code, clippy::unwrap_used)]

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A child process, killed with SIGKILL and reaped when dropped unless it was
/// already waited for.
pub struct Process(Option<Child>);

impl Process {
    /// Takes charge of `child`.
    pub fn new(child: Child) -> Self {
        Self(Some(child))
    }

    /// Spawns `command` with its death tied to this test process too (Linux:
    /// the child gets SIGKILL when the thread that spawned it ends).
    pub fn spawn(command: &mut Command) -> Self {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl(2) is async-signal-safe; nothing else runs between
            // fork and exec.
            #[allow(unsafe_code)]
            unsafe {
                command.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        Self::new(command.spawn().unwrap())
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("the process is held until dropped")
    }

    /// The child's pid.
    pub fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    /// The child's standard output, if piped and not taken yet.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child().stdout.take()
    }

    /// Sends `signal` to the child.
    #[allow(unsafe_code)]
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on a child we spawned and have not reaped (a reaped
        // child is no longer held).
        assert_eq!(unsafe { libc::kill(self.id() as libc::pid_t, signal) }, 0);
    }

    /// Waits for the child to exit.
    pub fn wait(mut self) -> ExitStatus {
        let mut child = self.0.take().expect("held");
        child.wait().unwrap()
    }

    /// Kills the child with SIGKILL and reaps it.
    pub fn kill(self) {
        drop(self);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            // It may have exited already; reaping it is what matters.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts this test binary running only the ignored test `entry`, with the
/// `HANGAR_*` variables of the test's environment replaced by `env`, its stdout
/// (the JSON log) written to `log`.
pub fn spawn_self(entry: &str, env: &[(&str, String)], log: &Path) -> Process {
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
        .stderr(Stdio::null());
    Process::spawn(&mut command)
}

/// Sends `signal` to a child.
pub fn signal(child: &Process, signal: libc::c_int) {
    child.signal(signal);
}

/// Kills a child with SIGKILL and reaps it.
pub fn kill(child: Process) {
    child.kill();
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
    roles: impl FnOnce(&hangar_core::Config) -> hangar_runtime::Roles,
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
        let listener = hangar_runtime::bind(config.http.listen).await.unwrap();
        let process = hangar_runtime::start(
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

/// Runs `command` with `input` on its standard input (not a terminal).
pub fn run_with_input(command: &mut Command, input: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
