use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
}

/// The line and message of the error loading a file holding `text`, and the
/// error itself (for the assertion's message).
fn file_error(text: &str) -> (usize, String, ConfigError) {
    let (_dir, result) = with_file(text, &[]);
    let err = result.unwrap_err();
    let ConfigError::File { line, message, .. } = &err else {
        panic!("{err:?}")
    };
    (*line, message.clone(), err)
}

fn with_file(
    text: &str,
    pairs: &[(&str, &str)],
) -> (tempdir::Dir, Result<LoadedConfig, ConfigError>) {
    let dir = tempdir::Dir::new();
    let path = dir.path.join("hangar.toml");
    std::fs::write(&path, text).unwrap();
    let result = Config::load(&LoadOptions {
        file: Some(path),
        env: env(pairs),
        dir: dir.path.clone(),
    });
    (dir, result)
}

/// A directory removed when dropped; enough for these tests without a dependency.
mod tempdir {
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!(
                "hangar-config-test-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ));
            std::fs::create_dir_all(&path).unwrap();
            Self { path }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[test]
fn every_key_in_the_table_is_a_field_and_every_field_is_in_the_table() {
    let fields: Vec<String> = layers::flatten_config(&Config::default())
        .into_keys()
        .collect();
    let mut keys: Vec<String> = KEYS.iter().map(|s| s.key.to_owned()).collect();
    keys.sort();
    assert_eq!(fields, keys);
}

#[test]
fn defaults_apply_without_a_file() {
    let dir = tempdir::Dir::new();
    let loaded = Config::load(&LoadOptions {
        file: None,
        env: vec![],
        dir: dir.path.clone(),
    })
    .unwrap();
    assert_eq!(loaded.config, Config::default());
    assert_eq!(loaded.file, None);
    assert!(loaded.shown().iter().all(|v| v.source == "default"));
}

#[test]
fn file_then_environment_override_defaults_and_sources_are_recorded() {
    let (dir, loaded) = with_file(
        "database_url = \"sqlite://tmp/x.db\"\n\n[http]\nlisten = \"0.0.0.0:9000\"\nshutdown_timeout = \"5s\"\n",
        &[
            ("HANGAR_HTTP_LISTEN", "127.0.0.1:7000"),
            ("HANGAR_STORE_MAX_CONNECTIONS", "3"),
        ],
    );
    let loaded = loaded.unwrap();
    let file = dir.path.join("hangar.toml");
    assert_eq!(loaded.config.http.listen.to_string(), "127.0.0.1:7000");
    assert_eq!(
        loaded.config.http.shutdown_timeout.get(),
        Duration::from_secs(5)
    );
    assert_eq!(loaded.config.store.max_connections, 3);
    assert_eq!(
        loaded.sources["database_url"],
        Source::File {
            path: file.clone(),
            line: 1
        }
    );
    assert_eq!(
        loaded.sources["http.shutdown_timeout"],
        Source::File {
            path: file,
            line: 5
        }
    );
    assert_eq!(
        loaded.sources["http.listen"],
        Source::Env {
            var: "HANGAR_HTTP_LISTEN".into()
        }
    );
    assert_eq!(loaded.sources["log.level"], Source::Default);
}

#[test]
fn an_unknown_key_in_the_file_names_the_key_and_line() {
    let (_dir, result) = with_file(
        "[http]\nlisten = \"127.0.0.1:1\"\nlisten_port = 8080\n",
        &[],
    );
    let err = result.unwrap_err();
    let ConfigError::File { line, message, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*line, 3, "{err}");
    assert!(message.contains("unknown field `listen_port`"), "{err}");
    assert!(message.contains("expected one of"), "{err}");
}

#[test]
fn a_malformed_value_in_the_file_says_what_is_expected() {
    for (text, line, expected) in [
        (
            "[store]\nconnect_timeout = \"soon\"\n",
            2,
            "expected a duration",
        ),
        (
            "\n\ndatabase_url = \"mysql://x\"\n",
            3,
            "expected `sqlite://",
        ),
        ("[http]\nlisten = \"localhost\"\n", 2, "address"),
        ("[store]\nmax_connections = \"ten\"\n", 2, "invalid type"),
        ("[log]\nformat = \"xml\"\n", 2, "unknown variant `xml`"),
        ("[log]\nlevel = \"loud=?\"\n", 2, "expected a level"),
        ("[http\n", 1, ""),
    ] {
        let (got, message, err) = file_error(text);
        assert_eq!(got, line, "{text:?}: {err}");
        assert!(message.contains(expected), "{text:?}: {err}");
    }
}

#[test]
fn environment_errors_name_the_variable() {
    let dir = tempdir::Dir::new();
    for (var, value, expected) in [
        (
            "HANGAR_STORE_MAX_CONNECTIONS",
            "lots",
            "expected a whole number",
        ),
        ("HANGAR_HTTP_REQUEST_TIMEOUT", "10", "expected a duration"),
        ("HANGAR_DATABASE_URL", "redis://h", "expected `sqlite://"),
        ("HANGAR_HTTP_LISTN", "x", "did you mean HANGAR_HTTP_LISTEN?"),
        ("HANGAR_NOPE", "x", "is not a Hangar setting"),
    ] {
        let err = Config::load(&LoadOptions {
            file: None,
            env: env(&[(var, value)]),
            dir: dir.path.clone(),
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains(var), "{err}");
        assert!(err.contains(expected), "{var}: {err}");
    }
}

#[test]
fn test_suite_variables_and_the_config_variable_are_not_settings() {
    let dir = tempdir::Dir::new();
    let path = dir.path.join("other.toml");
    std::fs::write(&path, "[log]\nformat = \"json\"\n").unwrap();
    let loaded = Config::load(&LoadOptions {
        file: None,
        env: env(&[
            ("HANGAR_TEST_POSTGRES_URL", "postgres://x/y"),
            ("HANGAR_CONFIG", path.to_str().unwrap()),
        ]),
        dir: dir.path.clone(),
    })
    .unwrap();
    assert_eq!(loaded.config.log.format, LogFormat::Json);
    assert_eq!(loaded.file, Some(path));
}

#[test]
fn a_named_file_that_does_not_exist_is_an_error() {
    let err = Config::load(&LoadOptions {
        file: Some(PathBuf::from("/nonexistent/hangar.toml")),
        ..LoadOptions::default()
    })
    .unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/hangar.toml"));
}

#[test]
fn shown_values_redact_passwords() {
    let dir = tempdir::Dir::new();
    let loaded = Config::load(&LoadOptions {
        file: None,
        env: env(&[("HANGAR_DATABASE_URL", "postgres://app:hunter2@db/hangar")]),
        dir: dir.path.clone(),
    })
    .unwrap();
    let shown = loaded.shown();
    let url = shown.iter().find(|v| v.key == "database_url").unwrap();
    assert_eq!(url.value, "postgres://app:***@db/hangar");
    assert_eq!(url.source, "env HANGAR_DATABASE_URL");
    assert_eq!(url.env, "HANGAR_DATABASE_URL");
}

#[test]
fn replica_urls_are_a_list_shown_without_passwords() {
    let dir = tempdir::Dir::new();
    let loaded = Config::load(&LoadOptions {
        file: None,
        env: env(&[(
            "HANGAR_DATABASE_REPLICA_URLS",
            "postgres://app:hunter2@db-2/hangar, postgres://app:hunter3@db-3:5433/hangar",
        )]),
        dir: dir.path.clone(),
    })
    .unwrap();
    let urls: Vec<String> = loaded
        .config
        .database_replica_urls
        .iter()
        .map(|u| u.redacted())
        .collect();
    assert_eq!(
        urls,
        [
            "postgres://app:***@db-2/hangar",
            "postgres://app:***@db-3:5433/hangar"
        ]
    );
    let shown = loaded.shown();
    let shown = shown
        .iter()
        .find(|v| v.key == "database_replica_urls")
        .unwrap();
    assert_eq!(
        shown.value,
        "postgres://app:***@db-2/hangar,postgres://app:***@db-3:5433/hangar"
    );
}

/// The docs' table is the only other place a default is written: it must say
/// what the code does, for every key.
#[test]
fn every_default_in_the_docs_is_the_one_the_code_uses() {
    let docs = include_str!("../../../../docs/configuration.md");
    let dir = tempdir::Dir::new();
    let loaded = Config::load(&LoadOptions {
        file: None,
        env: vec![],
        dir: dir.path.clone(),
    })
    .unwrap();
    let shown = loaded.shown();
    let mut documented = Vec::new();
    for row in docs.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (Some(key), Some(default)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let key = key.trim_matches('`');
        let default = match *default {
            "empty" | "(empty)" => "",
            written => written.trim_matches('`'),
        };
        let value = shown.iter().find(|v| v.key == key);
        assert_eq!(
            value.map(|v| v.value.as_str()),
            Some(default),
            "`{key}` in docs/configuration.md"
        );
        documented.push(key.to_owned());
    }
    for spec in KEYS {
        assert!(
            documented.iter().any(|k| k == spec.key),
            "`{}` has no row in docs/configuration.md",
            spec.key
        );
    }
}

#[test]
fn a_bad_list_item_in_the_file_names_the_key_and_line() {
    for (text, line, expected) in [
        (
            "[queue]\nconcurrency = 2\nqueues = \"default,mail=0\"\n",
            3,
            "queue.queues: `mail=0`: the concurrency after `=` must be a whole number above 0",
        ),
        (
            "[queue]\nqueues = [\"default\", \"Mail\"]\n",
            2,
            "queue.queues: `Mail` is not a queue name",
        ),
        (
            "[queue]\nqueues = \"default, default\"\n",
            2,
            "queue.queues: `default` is listed twice",
        ),
        (
            "[http]\nlisten = \"127.0.0.1:1\"\ncors_origins = \"https://ok.example, app.example\"\n",
            3,
            "http.cors_origins: `app.example` is not an origin",
        ),
        (
            "\n[terminal]\nallowed_origins = [\"https://site.example/page\"]\n",
            3,
            "terminal.allowed_origins: `https://site.example/page` is not an origin",
        ),
        (
            "[pipeline]\nhttp_allow = \"https://ok.example/, ftp://files.example/\"\n",
            2,
            "pipeline.http_allow: `ftp://files.example/` is not an http:// or https:// prefix",
        ),
        (
            "\ndatabase_replica_urls = [\"postgres://db-2/hangar\", \"sqlite://replica.db\"]\n",
            2,
            "database_replica_urls: `sqlite://replica.db` is not a PostgreSQL URL",
        ),
        (
            "[queue]\nqueues = 3\n",
            2,
            "queue.queues: invalid type: integer `3`, expected an array of strings or a comma-separated string",
        ),
    ] {
        let (got, message, err) = file_error(text);
        assert_eq!(got, line, "{text:?}: {err}");
        assert!(message.starts_with(expected), "{text:?}: {err}");
    }
}

#[test]
fn a_bad_list_item_in_a_variable_names_the_variable() {
    let dir = tempdir::Dir::new();
    for (var, value, expected) in [
        (
            "HANGAR_QUEUE_QUEUES",
            "default,mail=x",
            "`mail=x`: the concurrency",
        ),
        (
            "HANGAR_HTTP_CORS_ORIGINS",
            "https://a.example,b",
            "`b` is not an origin",
        ),
        (
            "HANGAR_TERMINAL_ALLOWED_ORIGINS",
            "https://a.example/x",
            "is not an origin",
        ),
        ("HANGAR_PIPELINE_HTTP_ALLOW", "example.org", "has no scheme"),
    ] {
        let err = Config::load(&LoadOptions {
            file: None,
            env: env(&[(var, value)]),
            dir: dir.path.clone(),
        })
        .unwrap_err();
        assert!(
            matches!(&err, ConfigError::Env { var: v, .. } if v == var),
            "{err:?}"
        );
        let err = err.to_string();
        assert!(
            err.starts_with(&format!("environment variable {var}: ")),
            "{err}"
        );
        assert!(err.contains(expected), "{var}: {err}");
    }
}

#[test]
fn lists_load_into_typed_values_from_arrays_strings_and_variables() {
    let (dir, loaded) = with_file(
        "[http]\ncors_origins = [\"https://App.example:443\", \"http://localhost:5173/\"]\n\
         [queue]\nqueues = \"default, mail=2,\"\n[pipeline]\nfile_roots = [\"data/a\", \"/srv/b\"]\n",
        &[("HANGAR_TERMINAL_ALLOWED_ORIGINS", "*")],
    );
    let loaded = loaded.unwrap();
    let config = &loaded.config;
    let origins: Vec<&str> = config
        .http
        .cors_origins
        .iter()
        .map(Origin::as_str)
        .collect();
    assert_eq!(origins, ["https://app.example", "http://localhost:5173"]);
    assert!(config.http.cors_origins.allows("http://localhost:5173"));
    assert!(!config.http.cors_origins.allows("http://localhost:5174"));
    assert!(config.terminal.allowed_origins.any());
    let queues: Vec<(&str, Option<u32>)> = config
        .queue
        .queues
        .items()
        .iter()
        .map(|q| {
            (
                q.name.as_str(),
                q.concurrency.map(std::num::NonZeroU32::get),
            )
        })
        .collect();
    assert_eq!(queues, [("default", None), ("mail", Some(2))]);
    assert_eq!(
        config.pipeline.file_roots.items(),
        [PathBuf::from("data/a"), PathBuf::from("/srv/b")]
    );
    assert_eq!(
        loaded.sources["queue.queues"],
        Source::File {
            path: dir.path.join("hangar.toml"),
            line: 4
        }
    );
    let shown = loaded.shown();
    let row = |key: &str| shown.iter().find(|v| v.key == key).unwrap().value.clone();
    assert_eq!(
        row("http.cors_origins"),
        "https://app.example,http://localhost:5173"
    );
    assert_eq!(row("queue.queues"), "default,mail=2");
    assert_eq!(row("terminal.allowed_origins"), "*");
}

#[test]
fn debug_of_a_config_with_secrets_holds_none_of_them() {
    let secrets = [
        "jwt-0123456789-0123456789-0123456789",
        "admin-0123456789-0123456789-0123456789",
        "oidc-client-0123456789",
        "pg-pass-0123",
        "amqp-pass-0123",
    ];
    let (_dir, loaded) = with_file(
        &format!(
            "database_url = \"postgres://app:{}@db.internal/hangar\"\n\
             [api]\nadmin_token = \"{}\"\n[auth.oidc]\nclient_secret = \"{}\"\n",
            secrets[3], secrets[1], secrets[2]
        ),
        &[
            ("HANGAR_AUTH_JWT_SECRET", secrets[0]),
            (
                "HANGAR_QUEUE_URL",
                &format!("amqp://guest:{}@127.0.0.1:5672/%2f", secrets[4]),
            ),
        ],
    );
    let loaded = loaded.unwrap();
    assert_eq!(loaded.config.auth.jwt_secret.expose(), secrets[0]);
    assert_eq!(loaded.config.api.admin_token.expose(), secrets[1]);
    assert_eq!(loaded.config.auth.oidc.client_secret.expose(), secrets[2]);
    let debug = format!("{loaded:?} {:#?}", loaded.config);
    let shown = serde_json::to_string(&loaded.shown()).unwrap();
    for secret in secrets {
        assert!(!debug.contains(secret), "Debug holds {secret}: {debug}");
        assert!(!shown.contains(secret), "shown holds {secret}: {shown}");
    }
    assert!(debug.contains("Secret(***)"), "{debug}");
    // Where each secret came from is still shown.
    let shown = loaded.shown();
    let row = |key: &str| shown.iter().find(|v| v.key == key).unwrap().clone();
    assert_eq!(row("auth.jwt_secret").value, "***");
    assert_eq!(row("auth.jwt_secret").source, "env HANGAR_AUTH_JWT_SECRET");
    assert_eq!(row("api.admin_token").value, "***");
    assert!(row("api.admin_token").source.ends_with("hangar.toml:3"));
    assert!(
        row("auth.oidc.client_secret")
            .source
            .ends_with("hangar.toml:5")
    );
    assert_eq!(
        row("queue_url").value,
        "amqp://guest:***@127.0.0.1:5672/%2f"
    );
}
