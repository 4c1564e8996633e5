//! What can go wrong while loading the configuration. Every variant names the
//! place to fix: the file and line, or the environment variable.

use std::path::PathBuf;

/// A configuration that cannot be used. The process exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The config file is not valid TOML, or a key in it is unknown or malformed.
    #[error("{}:{line}:{column}: {message}", path.display())]
    File {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A `HANGAR_*` variable holds a value its key cannot take.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable's name.
        var: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A `HANGAR_*` variable that no key reads.
    #[error(
        "environment variable {var} is not a Hangar setting{}; \
         `hangar config show` lists every variable",
        suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default()
    )]
    UnknownEnv {
        /// The variable's name.
        var: String,
        /// The closest known variable, when one is close.
        suggestion: Option<String>,
    },
    /// A `HANGAR_*` variable whose value is not UTF-8.
    #[error("environment variable {var} is not valid UTF-8")]
    NotUnicode {
        /// The variable's name, lossily decoded.
        var: String,
    },
    /// Values that are valid one by one but not together.
    #[error("inconsistent configuration: {message}")]
    Merged {
        /// What is wrong.
        message: String,
    },
}
