//! The pipeline box of the architecture: DAGs of tasks with typed parameters and
//! cron schedules, defined in TOML files (`pipeline.dir`) or by apps, validated at
//! load with errors naming file, line and task, and run on the job queue — each
//! ready task is a job, so tasks spread over every worker and a worker crash
//! mid-task is recovered through the queue's leases.
//!
//! - [`file`]: the definition format and its validation.
//! - [`operator`]: what tasks do (`extract`, `sql`, `load`, and apps' own).
//! - [`sources`]: which files and URLs an `extract` may read.
//! - [`Pipelines`]: triggering, executing, cancelling, inspecting runs.
//! - The scheduler role ([`Pipelines::schedule`]) fires cron triggers, once
//!   across processes.

mod engine;
mod error;
pub mod file;
pub mod operator;
pub mod params;
mod records;
mod registry;
mod scheduler;
pub mod schema;
pub mod sources;
pub mod spec;
mod state;

use hangar_store::{Migration, MigrationSet, migration};

pub use engine::{
    EngineOptions, Interruption, Pipelines, RunView, TaskJob, TaskPayload, TaskView, TriggeredBy,
};
pub use error::PipelineError;
pub use records::LogRow;
pub use registry::PipelineRegistry;
pub use sources::SourcePolicy;
pub use state::{RunState, TaskState, UnknownState};

static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_pipelines"),
    migration!(2, "0002_pipeline_interruptions"),
];

/// The pipeline tables, applied after the queue's.
pub const MIGRATION_SET: MigrationSet = MigrationSet {
    component: "pipeline",
    migrations: MIGRATIONS,
};
