//! The `hangar` binary as a user runs it: exit codes, config errors, `hangar up`
//! with SIGTERM, a database that never comes up, and account changes made with
//! `hangar user` ending a running process's sessions.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hangar_api::auth::Role;
use hangar_testkit::api::{account, get, kind, post};
use hangar_testkit::processes::{Process, run_with_input};
use hangar_testkit::{Backend, TestApp, on_each_backend};
use serde_json::{Value, json};

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

/// `GET path` over a plain blocking socket: the status, the headers (names in
/// lower case) and the body.
fn fetch(url: &str, path: &str) -> (u16, Vec<(String, String)>, String) {
    fetch_with(url, path, "")
}

/// [`fetch`] with extra header lines (`Name: value\r\n` each).
fn fetch_with(url: &str, path: &str, extra: &str) -> (u16, Vec<(String, String)>, String) {
    use std::io::{Read, Write};
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{extra}\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status.parse().unwrap(), headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

#[test]
fn up_in_an_empty_directory_serves_the_web_ui_built_into_the_binary() {
    if !hangar_api::WebUi::built_in() {
        hangar_testkit::skip(
            "up_in_an_empty_directory_serves_the_web_ui_built_into_the_binary",
            "this build has no web UI built in (npm was not found when hangar-api was built)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = start(dir.path(), &["up"]);
    wait_ready(&url);

    for path in ["/", "/movies", "/terminal", "/admin/runs/abc"] {
        let (status, headers, page) = fetch(&url, path);
        assert_eq!(status, 200, "{path}: {page}");
        assert_eq!(header(&headers, "content-type"), "text/html", "{path}");
        assert_eq!(header(&headers, "cache-control"), "no-cache", "{path}");
        assert!(
            header(&headers, "content-security-policy").contains("script-src 'self'"),
            "{path}"
        );
        assert!(page.contains("id=\"main\""), "{path}: {page}");
    }
    // The page's own script and style, as Vite named them.
    let (_, _, page) = fetch(&url, "/");
    let assets: Vec<&str> = page
        .split('"')
        .filter(|s| s.starts_with("/assets/"))
        .collect();
    let script = assets
        .iter()
        .find(|a| a.ends_with(".js"))
        .expect("a script");
    let style = assets
        .iter()
        .find(|a| a.ends_with(".css"))
        .expect("a style");
    for (asset, content_type) in [(script, "text/javascript"), (style, "text/css")] {
        let (status, headers, body) = fetch(&url, asset);
        assert_eq!(status, 200, "{asset}");
        assert_eq!(header(&headers, "content-type"), content_type, "{asset}");
        assert_eq!(
            header(&headers, "cache-control"),
            "public, max-age=31536000, immutable",
            "{asset}"
        );
        assert!(!body.contains("web-ui-not-built"), "{asset}");
        assert!(!body.is_empty(), "{asset}");
        // Its ETag: asked again with it, the answer is 304 without a body.
        let etag = header(&headers, "etag");
        assert!(etag.starts_with('"') && etag.len() > 2, "{asset}: {etag}");
        let (status, again, body) = fetch_with(&url, asset, &format!("If-None-Match: {etag}\r\n"));
        assert_eq!(status, 304, "{asset}");
        assert_eq!(header(&again, "etag"), etag);
        assert!(body.is_empty(), "{asset}");
    }
    let (status, headers, _) = fetch(&url, "/assets/no-such-file.js");
    assert_eq!(status, 404);
    assert_eq!(header(&headers, "content-type"), "application/problem+json");
    sigterm(&child);
    assert_eq!(child.wait().code(), Some(0));
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
    assert!(out.contains("applied 11 migration(s)"), "{out}");
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

#[test]
fn a_short_admin_token_is_refused_at_start_naming_where_it_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(hangar(dir.path())
        .arg("serve")
        .env("HANGAR_API_ADMIN_TOKEN", "letmein"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("api.admin_token"), "{err}");
    assert!(err.contains("HANGAR_API_ADMIN_TOKEN"), "{err}");
    assert!(err.contains("at least 32"), "{err}");

    std::fs::write(
        dir.path().join("hangar.toml"),
        "[api]\nadmin_token = \"0123456789\"\n",
    )
    .unwrap();
    let (code, _, err) = run(hangar(dir.path()).arg("up"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("hangar.toml:2"), "{err}");
}

/// The audit lines of a command's JSON log.
fn audit_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "audit")
        .collect()
}

#[test]
fn user_commands_manage_accounts_and_write_audit_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(hangar(dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{err}");
    let user = |args: &[&str]| run(hangar(dir.path()).arg("user").args(args));
    let password = "a long enough password\n";
    for args in [
        &["create", "--admin", "root@example.test"][..],
        &["create", "ann@example.test"][..],
    ] {
        let (code, _, err) = run_with_input(hangar(dir.path()).arg("user").args(args), password);
        assert_eq!(code, 0, "{err}");
        let audit = audit_lines(&err);
        assert_eq!(audit.len(), 1, "{err}");
        assert_eq!(audit[0]["action"], "user.create");
    }

    let (code, out, err) = user(&["list"]);
    assert_eq!(code, 0, "{err}");
    let root = out
        .lines()
        .find(|l| l.contains("root@example.test"))
        .unwrap();
    assert!(
        root.contains("admin, user") && root.contains("enabled"),
        "{out}"
    );
    let (code, out, _) = user(&["list", "--json"]);
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["users"].as_array().unwrap().len(), 2, "{out}");
    let ann_id = listed["users"][1]["id"].as_str().unwrap().to_owned();

    let (code, out, err) = user(&["disable", "ann@example.test"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("disabled ann@example.test"), "{out}");
    let audit = audit_lines(&err);
    assert_eq!(audit.len(), 1, "{err}");
    assert_eq!(audit[0]["action"], "user.disable");
    assert_eq!(audit[0]["account"], ann_id.as_str());
    assert!(audit[0]["actor"].as_str().unwrap().starts_with("cli:"));
    let (code, out, _) = user(&["show", &ann_id]);
    assert_eq!(code, 0);
    assert!(out.contains("disabled"), "{out}");
    assert!(out.contains("active sessions: 0"), "{out}");
    let (code, _, err) = user(&["enable", "ann@example.test"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = user(&["show", "ann@example.test", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["disabled"],
        false
    );
    let (code, out, err) = user(&["revoke-sessions", "ann@example.test"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("revoked 0 session(s)"), "{out}");

    let (code, out, err) = user(&["invite", "--json"]);
    assert_eq!(code, 0, "{err}");
    let invite: Value = serde_json::from_str(&out).unwrap();
    assert!(invite["code"].as_str().unwrap().len() >= 32, "{out}");
    assert_eq!(audit_lines(&err)[0]["action"], "invite.create");

    // The last admin stays.
    let (code, _, err) = user(&["disable", "root@example.test"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("last enabled admin"), "{err}");
    let (code, _, err) = user(&["delete", "root@example.test", "--yes"]);
    assert_eq!(code, 1, "{err}");

    // Deleting asks for --yes when nobody can be asked.
    let (code, _, err) = user(&["delete", "ann@example.test"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--yes"), "{err}");
    let (code, _, err) = user(&["delete", "ann@example.test", "--yes"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(audit_lines(&err)[0]["action"], "user.delete");
    let (code, _, err) = user(&["show", "ann@example.test"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no account ann@example.test"), "{err}");
}

#[test]
fn help_describes_the_commands_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(hangar(dir.path()).arg("--help"));
    assert_eq!(code, 0);
    assert!(!out.contains("to come"), "nothing listed is missing: {out}");
    for what in ["job queue", "pipelines", "live terminal", "hangar up"] {
        assert!(out.contains(what), "--help mentions {what}: {out}");
    }
    for command in ["worker", "scheduler", "pipeline", "jobs", "user"] {
        assert!(
            out.contains(&format!("  {command} ")),
            "--help lists {command}: {out}"
        );
    }
    assert!(out.contains("Exit codes"), "{out}");
}

/// The `auth.jwt_secret` line of `hangar config show` in `dir`: (value, source).
fn shown_jwt_secret(dir: &Path) -> (String, String) {
    let (code, out, err) = run(hangar(dir).args(["config", "show", "--json"]));
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let line = doc["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == "auth.jwt_secret")
        .unwrap()
        .clone();
    (
        line["value"].as_str().unwrap().to_owned(),
        line["source"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn config_show_names_a_generated_secret_and_prints_durations_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let (value, source) = shown_jwt_secret(dir.path());
    assert_eq!(value, "(unset)");
    assert!(
        source.contains("`hangar up` generates one into data/jwt-secret"),
        "{source}"
    );

    let (child, url) = start(dir.path(), &["up"]);
    wait_ready(&url);
    sigterm(&child);
    assert_eq!(child.wait().code(), Some(0));
    let secret = std::fs::read_to_string(dir.path().join("data/jwt-secret")).unwrap();
    let (value, source) = shown_jwt_secret(dir.path());
    assert_eq!(value, "***");
    assert_eq!(source, "generated, kept in data/jwt-secret");

    let (code, out, _) = run(hangar(dir.path()).args(["config", "show"]));
    assert_eq!(code, 0);
    assert!(
        !out.contains(secret.trim()),
        "the secret is redacted: {out}"
    );
    let line = |key: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or_default()
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    for (key, written) in [
        ("auth.refresh_ttl", "30d"),
        ("auth.access_ttl", "15m"),
        ("queue.poll_interval", "1s"),
        ("http.request_timeout", "30s"),
    ] {
        assert_eq!(line(key), written, "{key}: {out}");
    }
}

#[test]
fn naming_a_pipeline_that_does_not_exist_is_bad_usage() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(hangar(dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(hangar(dir.path()).args(["pipeline", "run", "nope", "--wait"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no pipeline `nope`"), "{err}");
    assert!(
        err.contains("movies_etl"),
        "the known ones are named: {err}"
    );
    let (code, out, _) = run(hangar(dir.path()).args(["pipeline", "runs", "--json"]));
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "[]", "nothing was created");

    // A well-formed id the store does not hold is a failure while running.
    let missing = "0190c2e4-0000-7000-8000-000000000000";
    for args in [["jobs", "show", missing], ["pipeline", "show", missing]] {
        let (code, _, err) = run(hangar(dir.path()).args(args));
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(missing), "{err}");
    }
    let (code, _, err) = run(hangar(dir.path()).args(["pipeline", "show", "nope"]));
    assert_eq!(code, 2, "a malformed id is bad usage: {err}");
}

#[test]
fn the_movies_etl_says_how_to_get_its_default_file_when_it_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = start(dir.path(), &["up"]);
    wait_ready(&url);
    let (code, out, err) =
        run(hangar(dir.path()).args(["pipeline", "run", "movies_etl", "--wait"]));
    assert_eq!(code, 1, "the run fails: {out}{err}");
    let said = format!("{out}{err}");
    assert!(
        said.contains("data/datasets/movies.json does not exist; fetch it: "),
        "{said}"
    );
    for how in [
        hangar_movies::first_run::FETCH_IN_CHECKOUT,
        hangar_movies::first_run::FETCH_WITH_NPM,
    ] {
        assert!(said.contains(how), "{how}: {said}");
    }
    sigterm(&child);
    assert_eq!(child.wait().code(), Some(0));
}

#[test]
fn fetch_datasets_takes_one_dataset_and_refuses_unknown_ones() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fetch-datasets");
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(Command::new(&script).arg("--help").current_dir(dir.path()));
    assert_eq!(code, 0);
    assert!(out.contains("fetch-datasets movies"), "{out}");
    assert!(out.contains("fetch-datasets flights"), "{out}");
    let (code, _, err) = run(Command::new(&script).arg("nope").current_dir(dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("usage: fetch-datasets"), "{err}");
    assert!(err.contains("unknown dataset nope"), "{err}");
    assert!(err.contains("flights, movies"), "{err}");
}

/// The JSON log lines of a running child, read on a thread.
struct Log(std::sync::mpsc::Receiver<Value>);

impl Log {
    fn of(child: &mut Process) -> Self {
        let stdout = BufReader::new(child.take_stdout().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let entry = serde_json::from_str(&line).expect("JSON log lines");
                if tx.send(entry).is_err() {
                    break;
                }
            }
        });
        Self(rx)
    }

    /// Lines up to and including the first one whose message starts with
    /// `prefix`; fails if the process stops logging first.
    fn until(&self, prefix: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let entry = self
                .0
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("no line `{prefix}…` ({e}); saw {seen:#?}"));
            let done = entry["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(prefix));
            seen.push(entry);
            if done {
                return seen;
            }
        }
    }
}

fn message(entries: &[Value], prefix: &str) -> Option<Value> {
    entries
        .iter()
        .find(|e| e["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
        .cloned()
}

fn up(dir: &Path, args: &[&str]) -> (Process, Log) {
    let mut child = Process::spawn(
        hangar(dir)
            .args(args)
            .arg("up")
            .env("HANGAR_HTTP_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let log = Log::of(&mut child);
    (child, log)
}

#[test]
fn up_on_a_new_installation_logs_the_site_and_the_steps_that_apply() {
    let bin = env!("CARGO_BIN_EXE_hangar");
    let dir = tempfile::tempdir().unwrap();
    let (child, log) = up(dir.path(), &[]);
    let lines = log.until("next step 2 of 2");
    let listening = message(&lines, "listening").unwrap();
    let port = listening["url"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap();
    let first = message(&lines, "first start").unwrap();
    assert_eq!(first["url"], format!("http://127.0.0.1:{port}/"));
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains(&format!("http://127.0.0.1:{port}/")),
        "{first}"
    );
    let step1 = message(&lines, "next step 1 of 2").unwrap();
    assert!(
        step1["message"]
            .as_str()
            .unwrap()
            .contains("movies catalogue (it is empty"),
        "{step1}"
    );
    assert_eq!(
        step1["command"],
        format!(
            "{} && {bin} pipeline run movies_etl --wait",
            hangar_movies::first_run::FETCH_WITH_NPM
        ),
        "no movies.json yet, and no checkout: fetch it with npm first"
    );
    let step2 = message(&lines, "next step 2 of 2").unwrap();
    assert!(
        step2["message"]
            .as_str()
            .unwrap()
            .contains("first admin account"),
        "{step2}"
    );
    assert_eq!(step2["command"], format!("{bin} user create --admin EMAIL"));
    sigterm(&child);
    assert_eq!(child.wait().code(), Some(0));

    // The admin step, taken as written.
    let mut create = hangar(dir.path())
        .args(["user", "create", "--admin", "owner@example.org"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = create.stdin.take().unwrap();
        writeln!(stdin, "a long enough password").unwrap();
    }
    let output = create.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // With the dataset in place and a config file named on the command line, the
    // one step left is the pipeline run, written with that file.
    std::fs::create_dir_all(dir.path().join("data/datasets")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/datasets/movies.json"),
        dir.path().join("data/datasets/movies.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("custom.toml"), "[log]\nlevel = \"info\"\n").unwrap();
    let (child, log) = up(dir.path(), &["--config", "custom.toml"]);
    let lines = log.until("next step 1 of 1");
    let step = message(&lines, "next step 1 of 1").unwrap();
    let command = format!("{bin} -c custom.toml pipeline run movies_etl --wait");
    assert_eq!(step["command"], command, "{step}");

    // Run it as written, against the running `hangar up`: it loads the catalogue.
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    let (code, _, err) = run(hangar(dir.path()).args(&args));
    assert_eq!(code, 0, "{command}: {err}");
    sigterm(&child);
    assert_eq!(child.wait().code(), Some(0));
}

/// Runs `hangar <args>` on the test app's database with `stdin` as input: the
/// exit code and standard error.
fn hangar_cli(app: &TestApp, args: &[&str], stdin: &str) -> (i32, String) {
    let url = serde_json::to_value(&app.config.database_url).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hangar"));
    for (key, _) in std::env::vars() {
        if key.starts_with("HANGAR_") {
            command.env_remove(key);
        }
    }
    command
        .args(args)
        .env("HANGAR_DATABASE_URL", url.as_str().unwrap())
        .env("HANGAR_LOG_FORMAT", "json");
    let (code, _, stderr) = run_with_input(&mut command, stdin);
    (code, stderr)
}

async fn a_password_or_role_change_ends_the_accounts_sessions(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, hangar::apps().unwrap()).await else {
        return;
    };
    account(&app, "boss@example.test", &[Role::Admin, Role::User]).await;
    let old = account(&app, "ops@example.test", &[Role::Admin, Role::User]).await;
    let access = old["access_token"].as_str().unwrap();
    let (status, _) = get(&app, "/api/v1/users", Some(access)).await;
    assert_eq!(status, 200);

    // The operator resets the password and drops the admin role.
    let (code, err) = hangar_cli(
        &app,
        &["user", "create", "--update", "ops@example.test"],
        "a brand new password\n",
    );
    assert_eq!(code, 0, "{err}");
    let audit = err
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["target"] == "audit")
        .unwrap_or_else(|| panic!("an audit line: {err}"));
    assert_eq!(audit["action"], "user.update");
    assert_eq!(audit["email"], "ops@example.test");
    assert!(
        audit["actor"].as_str().unwrap().starts_with("cli:"),
        "{audit}"
    );

    // The old refresh token and the old access token stop working at once.
    let (status, body) = post(
        &app,
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": old["refresh_token"]}),
    )
    .await;
    assert_eq!((status, kind(&body)), (401, "invalid-refresh-token"));
    let (status, body) = get(&app, "/api/v1/users", Some(access)).await;
    assert_eq!((status, kind(&body)), (401, "token-revoked"));
    // The new password signs in, as a user only.
    let (status, new) = post(
        &app,
        "/api/v1/auth/login",
        None,
        json!({"email": "ops@example.test", "password": "a brand new password"}),
    )
    .await;
    assert_eq!(status, 200, "{new}");
    assert_eq!(new["user"]["roles"], json!(["user"]));
}

on_each_backend!(a_password_or_role_change_ends_the_accounts_sessions);
