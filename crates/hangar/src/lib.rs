//! The `hangar` binary's library half: the command line (`hangar up`, `serve`,
//! `worker`, `migrate`, `pipeline`, `jobs`, `user`, `config`, `secret`) and the
//! list of apps this binary serves. The process itself is wired by
//! `hangar-runtime`; no business logic lives here.

pub mod cli;
pub mod commands;
mod output;

use std::sync::Arc;

use hangar_app::{App, AppError, Apps};

/// The apps compiled into this binary. Adding an app is adding a line here.
pub fn apps() -> Result<Apps, AppError> {
    Apps::new(vec![Arc::new(hangar_movies::Movies) as Arc<dyn App>])
}
