use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
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
        let (_dir, result) = with_file(text, &[]);
        let err = result.unwrap_err();
        let ConfigError::File {
            line: got, message, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(*got, line, "{text:?}: {err}");
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
fn default_durations_are_shown_as_the_docs_write_them() {
    let docs = include_str!("../../../../docs/configuration.md");
    let dir = tempdir::Dir::new();
    let loaded = Config::load(&LoadOptions {
        file: None,
        env: vec![],
        dir: dir.path.clone(),
    })
    .unwrap();
    let shown = loaded.shown();
    let mut checked = 0;
    for row in docs.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (Some(key), Some(default)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let default = default.trim_matches('`');
        if default.parse::<HumanDuration>().is_err() {
            continue;
        }
        let key = key.trim_matches('`');
        let value = shown.iter().find(|v| v.key == key);
        assert_eq!(
            value.map(|v| v.value.as_str()),
            Some(default),
            "`{key}` in docs/configuration.md"
        );
        checked += 1;
    }
    assert!(checked >= 10, "the docs' durations were found ({checked})");
}
