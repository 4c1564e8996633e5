//! The `hangar` binary as a user runs it: exit codes, config errors, `hangar up`
//! with SIGTERM, and a database that never comes up.

#![allow(clippy::unwrap_used)]

mod processes;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use processes::Process;
use serde_json::Value;

/// `hangar` run in `dir` with no `HANGAR_*` setting inherited from the test's
/// environment, logging JSON lines.
fn hangar(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hangar"));
    command.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("HANGAR_") {
            command.env_remove(key);
        }
    }
    command.env("HANGAR_LOG_FORMAT", "json");
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run hangar");
    (
        status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn version_and_help_exit_0_and_bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(hangar(dir.path()).arg("version"));
    assert_eq!(
        (code, out.trim()),
        (0, concat!("hangar ", env!("CARGO_PKG_VERSION")))
    );
    let (code, out, _) = run(hangar(dir.path()).arg("--help"));
    assert_eq!(code, 0);
    for command in ["up", "serve", "migrate", "config", "version"] {
        assert!(
            out.contains(&format!("  {command} ")),
            "--help lists {command}: {out}"
        );
    }
    let (code, _, err) = run(hangar(dir.path()).arg("frobnicate"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unrecognized subcommand 'frobnicate'"),
        "{err}"
    );
}

#[test]
fn config_show_prints_each_value_with_its_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hangar.toml"),
        "[http]\nlisten = \"0.0.0.0:9999\"\n",
    )
    .unwrap();
    let (code, out, err) = run(hangar(dir.path()).args(["config", "show"]).env(
        "HANGAR_DATABASE_URL",
        "postgres://app:s3cret@db.internal/hangar",
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("config file: hangar.toml"), "{out}");
    let line = |key: &str| {
        out.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line("http.listen ").contains("0.0.0.0:9999"), "{out}");
    assert!(line("http.listen ").contains("hangar.toml:2"), "{out}");
    assert!(
        line("database_url ").contains("postgres://app:***@db.internal/hangar"),
        "{out}"
    );
    assert!(
        line("database_url ").contains("env HANGAR_DATABASE_URL"),
        "{out}"
    );
    assert!(line("log.level ").contains("default"), "{out}");
    assert!(!out.contains("s3cret"), "secrets are redacted: {out}");

    let (code, out, _) = run(hangar(dir.path()).args(["config", "show", "--json"]));
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let listen = doc["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == "http.listen")
        .unwrap();
    assert_eq!(listen["source"], "hangar.toml:2");
}

#[test]
fn bad_configuration_exits_2_naming_the_key_and_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custom.toml");
    std::fs::write(&file, "# settings\n[store]\nmax_conections = 4\n").unwrap();
    let (code, _, err) = run(hangar(dir.path()).args(["--config", "custom.toml", "serve"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("custom.toml:3:1"), "{err}");
    assert!(err.contains("unknown field `max_conections`"), "{err}");

    let (code, _, err) = run(hangar(dir.path())
        .arg("up")
        .env("HANGAR_HTTP_LISTEN", "everywhere"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("HANGAR_HTTP_LISTEN"), "{err}");

    let (code, _, err) = run(hangar(dir.path())
        .arg("up")
        .env("HANGAR_CONFIG", "missing.toml"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot read config file missing.toml"),
        "{err}"
    );
}

#[test]
fn an_unreachable_database_fails_after_bounded_retries_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["migrate", "up"] {
        let started = Instant::now();
        let (code, out, err) = run(hangar(dir.path())
            .arg(command)
            .env("HANGAR_DATABASE_URL", "postgres://nowhere")
            .env("HANGAR_STORE_CONNECT_TIMEOUT", "2s")
            .env("HANGAR_HTTP_LISTEN", "127.0.0.1:0"));
        assert_eq!(code, 1, "{command}: {err}");
        assert!(
            err.contains("database postgres://nowhere is unreachable"),
            "{err}"
        );
        assert!(err.contains("store.connect_timeout"), "{err}");
        // Server roles log to stdout; commands log to stderr.
        let log = if command == "up" { &out } else { &err };
        let retries = log
            .lines()
            .filter(|l| l.contains("database not reachable yet"))
            .count();
        assert!(retries >= 2, "{command} logs each try: {log}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{command} is bounded"
        );
    }
}

/// Starts `hangar <args>` and returns it with the base URL from its "listening" log.
fn start(dir: &Path, args: &[&str]) -> (Process, String) {
    let mut child = Process::spawn(
        hangar(dir)
            .args(args)
            .env("HANGAR_HTTP_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let stdout = BufReader::new(child.take_stdout().unwrap());
    let mut lines = stdout.lines();
    let url = loop {
        let line = lines.next().expect("a log line").unwrap();
        let entry: Value = serde_json::from_str(&line).expect("JSON log lines");
        if entry["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("listening")
        {
            break entry["url"].as_str().unwrap().to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, url)
}

fn wait_ready(url: &str) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if status_of(url, "/readyz") == Some(200) {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{url} was not ready within 10s");
}

/// The status code of `GET path`, over a plain blocking socket.
fn status_of(url: &str, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let addr = url.strip_prefix("http://")?;
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

fn sigterm(child: &Process) {
    child.signal(libc::SIGTERM);
}

#[test]
fn up_migrates_serves_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = start(dir.path(), &["up"]);
    wait_ready(&url);
    assert!(
        dir.path().join("data/hangar.db").exists(),
        "the default SQLite file"
    );
    sigterm(&child);
    let status = child.wait();
    assert_eq!(status.code(), Some(0));

    let (code, out, _) = run(hangar(dir.path()).args(["migrate", "status"]));
    assert_eq!(code, 0);
    for component in ["store", "queue", "pipeline", "movies"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(component))
            .unwrap_or_default();
        assert!(line.contains("applied"), "{component}: {out}");
    }
}

#[test]
fn serve_refuses_a_database_with_pending_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(hangar(dir.path())
        .arg("serve")
        .env("HANGAR_HTTP_LISTEN", "127.0.0.1:0"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("schema is behind this build"), "{err}");
    assert!(err.contains("movies/0001_movies"), "{err}");
    assert!(err.contains("hangar migrate"), "{err}");

    let (code, out, _) = run(hangar(dir.path()).arg("migrate"));
    assert_eq!(code, 0);
    assert!(out.contains("applied 10 migration(s)"), "{out}");
    let (child, url) = start(dir.path(), &["serve"]);
    wait_ready(&url);
    sigterm(&child);
    assert_eq!(child.wait().code(), Some(0));
}

#[test]
fn jobs_and_worker_commands_check_their_input() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(hangar(dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = run(hangar(dir.path()).args(["jobs", "list"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(no jobs)"), "{out}");
    let (code, out, _) = run(hangar(dir.path()).args(["jobs", "list", "--json"]));
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["jobs"],
        serde_json::json!([])
    );

    let (code, _, err) = run(hangar(dir.path()).args(["jobs", "show", "not-an-id"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`not-an-id` is not a job id"), "{err}");
    let (code, _, err) = run(hangar(dir.path()).args(["jobs", "list", "--state", "finished"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected one of pending, retrying"), "{err}");
    let missing = "0190c2e4-0000-7000-8000-000000000000";
    let (code, _, err) = run(hangar(dir.path()).args(["jobs", "retry", missing]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("no job {missing}")), "{err}");

    let (code, _, err) = run(hangar(dir.path()).args(["worker", "--queues", "Mail"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`Mail` is not a queue name"), "{err}");
    let (code, _, err) = run(hangar(dir.path()).args(["worker", "--concurrency", "0"]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_worker_process_serves_probes_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(hangar(dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{err}");
    let (child, url) = start(dir.path(), &["worker", "--queues", "default,mail=2"]);
    wait_ready(&url);
    assert_eq!(status_of(&url, "/metrics"), Some(200));
    assert_eq!(
        status_of(&url, "/api/v1/jobs"),
        Some(404),
        "the worker serves no app routes"
    );
    sigterm(&child);
    assert_eq!(child.wait().code(), Some(0));
}
