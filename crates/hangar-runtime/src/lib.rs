//! The composition root of a Hangar process, shared by the `hangar` binary and
//! the test harness (`hangar-testkit`), so a test starts exactly the process
//! `hangar up` starts.
//!
//! It owns:
//! - the roles a process plays (api, worker, scheduler) and their wiring: the
//!   store, the queue, the event log, the pipeline engine, the apps' routes, jobs,
//!   pipelines and terminal commands, the platform's own routes (auth, events,
//!   site, terminal, jobs and pipelines admin) ([`start`], [`Roles`]);
//! - start-up (wait for the store, migrate or check, wait for the broker) while
//!   the probes already answer, and the shutdown order (HTTP drains, roles finish,
//!   the queue closes, events flush, the broker connection and the store close);
//! - the platform's migrations ([`PLATFORM_MIGRATIONS`]), applied before the
//!   apps';
//! - the connections of short-lived commands ([`Connections`]);
//! - first-run guidance ([`first_run`]).
//!
//! Which apps run is the caller's decision: the binary passes its own list, a
//! test passes the apps it exercises. No business logic lives here.

pub mod first_run;
mod runtime;

use hangar_app::Apps;
use hangar_store::MigrationSet;

pub use runtime::{
    Connections, MigrationPolicy, Process, Roles, RunError, bind, pipeline_engine, start,
};

/// Migrations of the platform's own components, applied before the apps'.
pub const PLATFORM_MIGRATIONS: &[MigrationSet] = &[
    hangar_store::MIGRATION_SET,
    hangar_queue::MIGRATION_SET,
    hangar_pipeline::MIGRATION_SET,
    hangar_api::MIGRATION_SET,
];

/// Every migration set of a process running `apps`: the platform's, then the
/// apps'.
pub fn migration_sets(apps: &Apps) -> Vec<MigrationSet> {
    apps.migration_sets(PLATFORM_MIGRATIONS)
}
