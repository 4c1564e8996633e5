use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// The global subscriber could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up logging: {0}")]
pub struct LogInitError(String);

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// Standard output: the server roles, whose output is their log.
    Stdout,
    /// Standard error: commands whose standard output is their result.
    Stderr,
}

/// Installs the process-wide log subscriber: JSON lines (with the fields of every
/// enclosing span, so a request's id is on each of its lines) unless the format is
/// `pretty`, or `auto` on a terminal. A second call in the same process is a no-op.
pub fn init_logs(config: &LogConfig, stream: LogStream) -> Result<(), LogInitError> {
    let filter = EnvFilter::builder()
        .parse(config.level.as_str())
        .map_err(|e| LogInitError(e.to_string()))?;
    let terminal = match stream {
        LogStream::Stdout => std::io::stdout().is_terminal(),
        LogStream::Stderr => std::io::stderr().is_terminal(),
    };
    let json = match config.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !terminal,
    };
    let writer = move || -> Box<dyn std::io::Write> {
        match stream {
            LogStream::Stdout => Box::new(std::io::stdout()),
            LogStream::Stderr => Box::new(std::io::stderr()),
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .try_init()
    } else {
        builder.compact().try_init()
    };
    // Already installed (tests, or a second role in the same process): keep the first.
    let _ = result;
    Ok(())
}
