//! The admin API over the job queue: `/api/v1/jobs`.
//!
//! | endpoint | file |
//! |---|---|
//! | `GET /api/v1/jobs` | `list_jobs.rs` |
//! | `GET /api/v1/jobs/{id}` | `get_job.rs` |
//! | `POST /api/v1/jobs/{id}/retry` | `retry_job.rs` |
//! | `POST /api/v1/jobs/{id}/cancel` | `cancel_job.rs` |

mod cancel_job;
mod get_job;
mod list_jobs;
mod retry_job;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn;
use axum::routing::{get, post};
use hangar_queue::{JobId, Queue, QueueError};

use crate::problem::Problem;

/// The job admin routes, for admins (an admin's access token or `api.admin_token`).
pub fn routes(queue: Queue) -> Router {
    Router::new()
        .route("/api/v1/jobs", get(list_jobs::list_jobs))
        .route("/api/v1/jobs/{id}", get(get_job::get_job))
        .route("/api/v1/jobs/{id}/retry", post(retry_job::retry_job))
        .route("/api/v1/jobs/{id}/cancel", post(cancel_job::cancel_job))
        .with_state(queue)
        .route_layer(from_fn(crate::auth::require_admin))
}

/// Parses a job id from the path.
fn job_id(raw: &str) -> Result<JobId, Problem> {
    raw.parse().map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
        )
        .with_detail(format!("`{raw}` is not a job id (a UUID)"))
    })
}

impl From<QueueError> for Problem {
    fn from(err: QueueError) -> Self {
        match err {
            QueueError::Invalid { field, reason } => Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "Invalid request",
            )
            .with_detail(format!("{field}: {reason}")),
            QueueError::NotFound(id) => {
                Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                    .with_detail(format!("no job {id}"))
            }
            err @ QueueError::WrongState { .. } => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict")
                    .with_detail(err.to_string())
            }
            err @ (QueueError::Broker(_) | QueueError::Unconfirmed { .. }) => {
                tracing::warn!(error = %err, "queue backend unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                )
                .with_detail("the job queue's broker is unavailable; retry shortly")
                .with_retry_after(5)
            }
            err => {
                tracing::error!(error = %err, "job store failed");
                Problem::internal()
            }
        }
    }
}
