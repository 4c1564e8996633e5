//! The pipeline API.
//!
//! | endpoint | file |
//! |---|---|
//! | `GET /api/v1/pipelines` | `list_pipelines.rs` |
//! | `POST /api/v1/pipelines/{name}/runs` | `trigger_run.rs` |
//! | `GET /api/v1/pipelines/{name}/runs` | `list_runs.rs` |
//! | `GET /api/v1/runs/{id}` | `get_run.rs` |
//! | `GET /api/v1/runs/{id}/logs?task=` | `get_run_logs.rs` |
//! | `POST /api/v1/runs/{id}/cancel` | `cancel_run.rs` |

mod cancel_run;
mod get_run;
mod get_run_logs;
mod list_pipelines;
mod list_runs;
mod trigger_run;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn;
use axum::routing::{get, post};
use hangar_pipeline::{PipelineError, Pipelines};
use uuid::Uuid;

use crate::problem::Problem;

/// Largest trigger body (its parameters).
pub const MAX_TRIGGER_BYTES: usize = 64 * 1024;

/// The pipeline routes, for admins (an admin's access token or `api.admin_token`).
pub fn routes(pipelines: Pipelines) -> Router {
    Router::new()
        .route("/api/v1/pipelines", get(list_pipelines::list_pipelines))
        .route(
            "/api/v1/pipelines/{name}/runs",
            post(trigger_run::trigger_run)
                .layer(DefaultBodyLimit::max(MAX_TRIGGER_BYTES))
                .get(list_runs::list_runs),
        )
        .route("/api/v1/runs/{id}", get(get_run::get_run))
        .route("/api/v1/runs/{id}/logs", get(get_run_logs::get_run_logs))
        .route("/api/v1/runs/{id}/cancel", post(cancel_run::cancel_run))
        .with_state(pipelines)
        .route_layer(from_fn(crate::auth::require_admin))
}

fn run_id(raw: &str) -> Result<Uuid, Problem> {
    raw.parse()
        .map_err(|_| Problem::bad_request(format!("`{raw}` is not a run id (a UUID)")))
}

impl From<PipelineError> for Problem {
    fn from(err: PipelineError) -> Self {
        match err {
            PipelineError::UnknownPipeline(name) => {
                Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                    .with_detail(format!("no pipeline `{name}`"))
            }
            PipelineError::UnknownRun(id) => {
                Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                    .with_detail(format!("no run {id}"))
            }
            PipelineError::Params(errors) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-params",
                "Invalid parameters",
            )
            .with_detail(errors.join("; "))
            .with_errors(errors),
            err @ PipelineError::WrongState { .. } => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict")
                    .with_detail(err.to_string())
            }
            PipelineError::Queue(err) => err.into(),
            err => {
                tracing::error!(error = %err, "pipeline store failed");
                Problem::internal()
            }
        }
    }
}
