//! The `hangar` binary's library half: the command line, and the wiring of roles
//! (api, and later worker, scheduler, gateway) and apps. No business logic lives
//! here; it calls into the platform crates and the apps.
//!
//! It is a library so that the test harness starts exactly the process `hangar up`
//! starts.

pub mod cli;
pub mod commands;
pub mod first_run;
mod output;
pub mod runtime;

use std::sync::Arc;

use hangar_app::{App, AppError, Apps};
use hangar_store::MigrationSet;

/// Migrations of the platform's own components, applied before the apps'.
pub const PLATFORM_MIGRATIONS: &[MigrationSet] = &[
    hangar_store::MIGRATION_SET,
    hangar_queue::MIGRATION_SET,
    hangar_pipeline::MIGRATION_SET,
    hangar_api::MIGRATION_SET,
];

/// The apps compiled into this binary. Adding an app is adding a line here.
pub fn apps() -> Result<Apps, AppError> {
    Apps::new(vec![Arc::new(hangar_movies::Movies) as Arc<dyn App>])
}
