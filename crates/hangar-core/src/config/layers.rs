//! The three layers (defaults, file, environment), merged key by key with the origin
//! of each value recorded.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use super::keys::{KEYS, ValueKind, env_var_name, spec_for_env};
use super::{Config, ConfigError, LoadedConfig};

/// Name of the config file read from the working directory when none is given.
pub const DEFAULT_FILE: &str = "hangar.toml";

/// Variable naming the config file (the `--config` flag wins over it).
pub const CONFIG_VAR: &str = "HANGAR_CONFIG";

/// Variables under this prefix belong to the test suite and are not settings.
const TEST_PREFIX: &str = "HANGAR_TEST_";

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Hangar's built-in default.
    Default,
    /// A line of the config file.
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line of the key.
        line: usize,
    },
    /// An environment variable.
    Env {
        /// The variable's name.
        var: String,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::Env { var } => write!(f, "env {var}"),
        }
    }
}

/// What to read the configuration from.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// A file named on the command line; it must exist.
    pub file: Option<PathBuf>,
    /// The environment to read `HANGAR_*` variables (and `HANGAR_CONFIG`) from.
    pub env: Vec<(OsString, OsString)>,
    /// Directory in which `hangar.toml` is looked for when no file is named (empty:
    /// the working directory).
    pub dir: PathBuf,
}

impl LoadOptions {
    /// Options for this process: its environment and working directory.
    pub fn from_process(file: Option<PathBuf>) -> Self {
        Self {
            file,
            env: std::env::vars_os().collect(),
            dir: PathBuf::new(),
        }
    }
}

type Flat = BTreeMap<String, toml::Value>;

pub(super) fn load(options: &LoadOptions) -> Result<LoadedConfig, ConfigError> {
    let mut values = flatten_config(&Config::default());
    let mut sources: BTreeMap<String, Source> = values
        .keys()
        .map(|k| (k.clone(), Source::Default))
        .collect();

    let file = config_file(options);
    if let Some((path, explicit)) = &file {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for (key, (value, line)) in read_file(path, &text)? {
                    sources.insert(
                        key.clone(),
                        Source::File {
                            path: path.clone(),
                            line,
                        },
                    );
                    values.insert(key, value);
                }
            }
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.clone(),
                    source,
                });
            }
        }
    }

    for (var, (key, value)) in read_env(&options.env)? {
        sources.insert(key.clone(), Source::Env { var });
        values.insert(key, value);
    }

    // Each layer was checked on its own; the merge can only fail on a value that is
    // fine alone but not beside another.
    let config = Config::deserialize_table(unflatten(values))
        .map_err(|message| ConfigError::Merged { message })?;
    let file = match file {
        Some((path, explicit)) if explicit || path.exists() => Some(path),
        _ => None,
    };
    Ok(LoadedConfig {
        config,
        file,
        sources,
    })
}

/// The file to read and whether it was asked for (an asked-for file must exist).
fn config_file(options: &LoadOptions) -> Option<(PathBuf, bool)> {
    if let Some(path) = &options.file {
        return Some((path.clone(), true));
    }
    let from_env = options
        .env
        .iter()
        .find(|(k, _)| k == CONFIG_VAR)
        .map(|(_, v)| PathBuf::from(v));
    match from_env {
        Some(path) => Some((path, true)),
        None => Some((options.dir.join(DEFAULT_FILE), false)),
    }
}

/// Validates the whole file against [`Config`], then returns each leaf with its line.
/// An error in a value names its key: `queue.queues: ...`.
fn read_file(
    path: &Path,
    text: &str,
) -> Result<BTreeMap<String, (toml::Value, usize)>, ConfigError> {
    let at = |span: Option<std::ops::Range<usize>>, message: &str| {
        let (line, column) = span.map_or((1, 1), |s| line_col(text, s.start));
        ConfigError::File {
            path: path.to_owned(),
            line,
            column,
            message: message.trim().to_owned(),
        }
    };
    let spanned = toml::de::DeTable::parse(text).map_err(|e| at(e.span(), e.message()))?;
    let mut leaves = BTreeMap::new();
    key_lines(text, "", spanned.get_ref(), &mut leaves);
    toml::from_str::<Config>(text).map_err(|e| {
        let key = e.span().and_then(|span| {
            leaves
                .iter()
                .find(|(_, (_, value))| value.contains(&span.start))
                .map(|(key, _)| key)
        });
        match key {
            Some(key) => at(e.span(), &format!("{key}: {}", e.message().trim())),
            None => at(e.span(), e.message()),
        }
    })?;
    let table: toml::Table = toml::from_str(text).map_err(|e| at(e.span(), e.message()))?;

    let mut flat = Flat::new();
    flatten("", &table, &mut flat);
    Ok(flat
        .into_iter()
        .map(|(key, value)| {
            let line = leaves.get(&key).map_or(1, |(line, _)| *line);
            (key, (value, line))
        })
        .collect())
}

/// Each leaf key's line and the byte range of its value.
fn key_lines(
    text: &str,
    prefix: &str,
    table: &toml::de::DeTable<'_>,
    out: &mut BTreeMap<String, (usize, std::ops::Range<usize>)>,
) {
    for (key, value) in table {
        let path = join(prefix, key.get_ref());
        match value.get_ref() {
            toml::de::DeValue::Table(inner) => key_lines(text, &path, inner, out),
            _ => {
                out.insert(path, (line_col(text, key.span().start).0, value.span()));
            }
        }
    }
}

/// Reads every `HANGAR_*` variable into `(variable, (key, value))`, each checked alone.
fn read_env(
    env: &[(OsString, OsString)],
) -> Result<BTreeMap<String, (String, toml::Value)>, ConfigError> {
    let mut out = BTreeMap::new();
    for (var, value) in env {
        let Some(var) = var.to_str() else { continue };
        if !var.starts_with("HANGAR_") || var == CONFIG_VAR || var.starts_with(TEST_PREFIX) {
            continue;
        }
        let Some(spec) = spec_for_env(var) else {
            return Err(ConfigError::UnknownEnv {
                var: var.to_owned(),
                suggestion: closest_var(var),
            });
        };
        let text = value.to_str().ok_or_else(|| ConfigError::NotUnicode {
            var: var.to_owned(),
        })?;
        let env_error = |message: String| ConfigError::Env {
            var: var.to_owned(),
            message,
        };
        let value = match spec.kind {
            ValueKind::Text => toml::Value::String(text.to_owned()),
            ValueKind::Integer => text
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|_| env_error(format!("expected a whole number, found `{text}`")))?,
            ValueKind::Boolean => match text.trim() {
                "true" | "1" => toml::Value::Boolean(true),
                "false" | "0" => toml::Value::Boolean(false),
                _ => {
                    return Err(env_error(format!(
                        "expected `true` or `false`, found `{text}`"
                    )));
                }
            },
        };
        let mut single = Flat::new();
        single.insert(spec.key.to_owned(), value.clone());
        Config::deserialize_table(unflatten(single)).map_err(env_error)?;
        out.insert(var.to_owned(), (spec.key.to_owned(), value));
    }
    Ok(out)
}

/// The known variable nearest to `var` by edit distance, if it is plausibly a typo.
fn closest_var(var: &str) -> Option<String> {
    let known: Vec<String> = KEYS.iter().map(|spec| env_var_name(spec.key)).collect();
    crate::spelling::closest(var, known.iter().map(String::as_str), 3).map(str::to_owned)
}

impl Config {
    fn deserialize_table(table: toml::Table) -> Result<Config, String> {
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| e.message().trim().to_owned())
    }
}

/// Every leaf of the configuration as `dotted.key → value`.
pub(super) fn flatten_config(config: &Config) -> Flat {
    let mut flat = Flat::new();
    // Serializing a struct of strings, numbers and tables cannot fail.
    if let Ok(toml::Value::Table(table)) = toml::Value::try_from(config) {
        flatten("", &table, &mut flat);
    }
    flat
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Flat) {
    for (key, value) in table {
        let path = join(prefix, key);
        match value {
            toml::Value::Table(inner) => flatten(&path, inner, out),
            leaf => {
                out.insert(path, leaf.clone());
            }
        }
    }
}

fn unflatten(flat: Flat) -> toml::Table {
    let mut root = toml::Table::new();
    for (path, value) in flat {
        let mut parts: Vec<&str> = path.split('.').collect();
        let leaf = parts.pop().unwrap_or_default();
        let mut table = &mut root;
        for part in parts {
            let entry = table
                .entry(part)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            let toml::Value::Table(inner) = entry else {
                unreachable!("made a table above")
            };
            table = inner;
        }
        table.insert(leaf.to_owned(), value);
    }
    root
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The 1-based line and column of byte `offset` in `text`, for error messages that
/// point into a file.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}
