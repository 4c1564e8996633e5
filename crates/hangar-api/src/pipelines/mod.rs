//! The pipeline API.
//!
//! | endpoint | file |
//! |---|---|
//! | `GET /api/v1/pipelines` | `list_pipelines.rs` |
//! | `POST /api/v1/pipelines/{name}/runs` | `trigger_run.rs` |
//! | `GET /api/v1/pipelines/{name}/runs` | `list_runs.rs` |
//! | `GET /api/v1/runs/{id}` | `get_run.rs` |
//! | `GET /api/v1/runs/{id}/logs` | `get_run_logs.rs` |
//! | `POST /api/v1/runs/{id}/cancel` | `cancel_run.rs` |

mod cancel_run;
mod get_run;
mod get_run_logs;
mod list_pipelines;
mod list_runs;
mod trigger_run;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn;
use hangar_pipeline::Pipelines;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::problem::Problem;

pub use get_run_logs::RunLogsParams;
pub use trigger_run::TriggerBody;

/// Largest trigger body (its parameters).
pub const MAX_TRIGGER_BYTES: usize = 64 * 1024;

/// The pipeline routes, for admins (an admin's access token or `api.admin_token`).
pub fn routes(pipelines: Pipelines) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_pipelines::list_pipelines))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(trigger_run::trigger_run, list_runs::list_runs))
                .layer(DefaultBodyLimit::max(MAX_TRIGGER_BYTES)),
        )
        .routes(routes!(get_run::get_run))
        .routes(routes!(get_run_logs::get_run_logs))
        .routes(routes!(cancel_run::cancel_run))
        .with_state(pipelines)
        .route_layer(from_fn(crate::auth::require_admin))
}

fn run_id(raw: &str) -> Result<Uuid, Problem> {
    raw.parse()
        .map_err(|_| Problem::bad_request(format!("`{raw}` is not a run id (a UUID)")))
}
