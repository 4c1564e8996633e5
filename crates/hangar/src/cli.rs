//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Hangar runs a data-backed web service — HTTP API, store and migrations, with
/// jobs, pipelines and a gateway to come — as one binary.
///
/// Configuration comes from built-in defaults, then hangar.toml, then HANGAR_*
/// environment variables; `hangar config show` prints the result and where each
/// value came from.
#[derive(Debug, Parser)]
#[command(
    name = "hangar",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Config file to read [default: ./hangar.toml if it exists; env: HANGAR_CONFIG]
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Hangar's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything in one process on the embedded defaults: migrate the store,
    /// then serve the API (SQLite at data/hangar.db unless configured otherwise)
    Up,
    /// Run the api role only; the store must already be migrated (`hangar migrate`)
    Serve(ServeArgs),
    /// Apply pending database migrations, or show where each one stands
    Migrate(MigrateArgs),
    /// Inspect the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the version
    Version,
}

/// Options of `hangar serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Apply pending migrations before serving instead of refusing to start
    #[arg(long)]
    pub migrate: bool,
}

/// Options of `hangar migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// What to do; without one, pending migrations are applied
    #[command(subcommand)]
    pub action: Option<MigrateAction>,
}

/// `hangar migrate` subcommands.
#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration (the default)
    Run,
    /// List every migration and whether it is applied
    Status {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
}

/// `hangar config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets redacted) and where each value came from
    Show {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
}
