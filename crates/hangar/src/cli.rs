//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Hangar runs a data-backed web service as one binary: an HTTP API with accounts,
/// a web interface and a live terminal, over a SQL store (SQLite or PostgreSQL)
/// with migrations, a durable job queue with workers, and DAG pipelines run on
/// demand or on a cron schedule.
///
/// Start with `hangar up`: one process migrates the store, serves the site and
/// runs jobs and pipelines. On a new installation its log names the next steps
/// (load the demo data, create the first admin). `hangar serve`, `worker` and
/// `scheduler` run one role each, to scale out.
///
/// Configuration comes from built-in defaults, then hangar.toml, then HANGAR_*
/// environment variables; `hangar config show` prints the result and where each
/// value came from.
///
/// Exit codes: 0 success; 1 a failure while running (a database still
/// unreachable, a failed pipeline run, no job or run with the id given); 2 bad
/// usage or configuration (an unknown command, flag, pipeline or setting, a
/// malformed id).
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
    /// serve the API and run jobs (SQLite at data/hangar.db unless configured otherwise)
    Up,
    /// Run the api role only; the store must already be migrated (`hangar migrate`)
    Serve(ServeArgs),
    /// Run jobs: the worker role (it also serves /healthz, /readyz and /metrics)
    Worker(WorkerArgs),
    /// Fire cron triggers of pipelines: the scheduler role (one leader among many)
    Scheduler,
    /// Validate, run and inspect pipelines
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// Inspect and act on jobs: list, show, retry, cancel, purge dead ones
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Manage user accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Apply pending database migrations, or show where each one stands
    Migrate(MigrateArgs),
    /// Inspect the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the version
    Version,
}

/// `hangar user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is asked for at a terminal, or read as the
    /// first line of standard input
    Create {
        /// The account's e-mail address (its sign-in name)
        email: String,
        /// Give the account the admin role
        #[arg(long)]
        admin: bool,
        /// Display name
        #[arg(long)]
        name: Option<String>,
        /// If the account exists, set its password and roles instead of failing
        /// (its sessions are revoked)
        #[arg(long)]
        update: bool,
    },
    /// List the accounts
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show an account and its open sessions
    Show {
        /// The account's e-mail address or id
        account: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Disable an account: it cannot sign in, and its sessions are revoked
    Disable {
        /// The account's e-mail address or id
        account: String,
    },
    /// Enable a disabled account
    Enable {
        /// The account's e-mail address or id
        account: String,
    },
    /// Delete an account and its sessions
    Delete {
        /// The account's e-mail address or id
        account: String,
        /// Do not ask for confirmation (needed when standard input is not a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Sign an account out everywhere: its tokens stop working at once
    RevokeSessions {
        /// The account's e-mail address or id
        account: String,
    },
    /// Make a one-use invitation code to register with while
    /// `auth.registration = invite` (valid for `auth.invite_ttl`)
    Invite {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

/// Options of `hangar serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Apply pending migrations before serving instead of refusing to start
    #[arg(long)]
    pub migrate: bool,
}

/// Options of `hangar worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Queues to work, each with an optional concurrency: `default,mail=2`
    /// [default: queue.queues]
    #[arg(long, value_name = "QUEUES")]
    pub queues: Option<hangar_core::config::QueueList>,
    /// Jobs at once per queue, where --queues gives no number [default: queue.concurrency]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
}

/// `hangar jobs` subcommands.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first
    List {
        /// Only jobs in this state: pending, retrying, running, succeeded, dead, cancelled
        #[arg(long)]
        state: Option<String>,
        /// Only jobs on this queue
        #[arg(long)]
        queue: Option<String>,
        /// At most this many (1-500)
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only jobs older than this job id (the `next` of the previous page)
        #[arg(long, value_name = "ID")]
        before: Option<String>,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show one job with its failed attempts
    Show {
        /// The job's id
        id: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Run a dead, cancelled or retrying job again now
    Retry {
        /// The job's id
        id: String,
    },
    /// Cancel a waiting job, or ask a running one to stop
    Cancel {
        /// The job's id
        id: String,
    },
    /// Delete every dead job and its attempts
    PurgeDead,
}

/// `hangar pipeline` subcommands.
#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Check pipeline definitions: the given files, or every pipeline (pipeline.dir and the apps')
    Validate {
        /// Definition files to check
        files: Vec<PathBuf>,
    },
    /// List the pipelines
    List,
    /// Trigger a run
    Run {
        /// The pipeline
        name: String,
        /// A parameter, as name=value (repeatable)
        #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Wait for the run to finish, showing progress; exit 1 if it fails
        #[arg(long)]
        wait: bool,
    },
    /// List runs, newest first
    Runs {
        /// Only runs of this pipeline
        name: Option<String>,
        /// At most this many (1-500)
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show a run and its tasks
    Show {
        /// The run's id
        run: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Print the log lines of a run, or of one of its tasks
    Logs {
        /// The run's id
        run: String,
        /// Only this task
        task: Option<String>,
    },
    /// Cancel a queued or running run
    Cancel {
        /// The run's id
        run: String,
    },
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
