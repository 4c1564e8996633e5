//! One module per command; each loads what it needs and calls into the crates.

mod config;
mod jobs;
mod migrate;
mod pipeline;
mod secret;
mod serve;
mod user;

use hangar_core::config::{ConfigError, LoadOptions};
use hangar_core::{Config, LoadedConfig};

use crate::cli::{Cli, Command, ConfigCommand, MigrateAction};
use hangar_runtime::{MigrationPolicy, RunError};

/// A failed command, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad configuration: exit code 2.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// Bad usage that clap could not catch: exit code 2.
    #[error("{0}")]
    Usage(String),
    /// Something failed while running: exit code 1.
    #[error("{0}")]
    Run(#[from] RunError),
    /// Anything else that failed while running: exit code 1.
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

impl CommandError {
    /// 2 for bad usage or configuration, 1 for failures at run time.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Config(_) | CommandError::Usage(_) => 2,
            CommandError::Run(run) if run.is_configuration() => 2,
            CommandError::Run(_) | CommandError::Other(_) => 1,
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Version => {
            let version = format!("hangar {}\n", env!("CARGO_PKG_VERSION"));
            Ok(crate::output::emit(&version).map_err(anyhow::Error::from)?)
        }
        Command::Config(ConfigCommand::Show { json }) => config::show(&load(cli.config)?, json),
        Command::Up => serve::up(load(cli.config)?),
        Command::Serve(args) => {
            let policy = if args.migrate {
                MigrationPolicy::Apply
            } else {
                MigrationPolicy::RequireCurrent
            };
            serve::serve(load(cli.config)?, policy)
        }
        Command::Worker(args) => serve::worker(load(cli.config)?, args),
        Command::Scheduler => serve::scheduler(load(cli.config)?),
        Command::Pipeline(command) => pipeline::run(load(cli.config)?, command),
        Command::Jobs(command) => jobs::run(load(cli.config)?, command),
        Command::User(command) => user::run(load(cli.config)?, command),
        Command::Migrate(args) => match args.action.unwrap_or(MigrateAction::Run) {
            MigrateAction::Run => migrate::run(load(cli.config)?),
            MigrateAction::Status { json } => migrate::status(load(cli.config)?, json),
        },
    }
}

fn load(file: Option<std::path::PathBuf>) -> Result<LoadedConfig, CommandError> {
    Ok(Config::load(&LoadOptions::from_process(file))?)
}

/// A shutdown signal fired by SIGINT/SIGTERM, for commands that wait on services.
fn signals() -> Result<hangar_core::Shutdown, CommandError> {
    let shutdown = hangar_core::Shutdown::new();
    shutdown
        .trigger_on_signals()
        .map_err(|e| anyhow::anyhow!("cannot install signal handlers: {e}"))?;
    Ok(shutdown)
}

/// A multi-threaded runtime for the long-running commands.
fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CommandError::Other(anyhow::anyhow!("cannot start the async runtime: {e}")))
}
