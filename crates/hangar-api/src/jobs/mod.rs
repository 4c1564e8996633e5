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

use axum::middleware::from_fn;
use hangar_queue::{JobId, Queue};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::Problem;

pub use list_jobs::{JobList, ListJobsParams};

/// The job admin routes, for admins (an admin's access token or `api.admin_token`).
pub fn routes(queue: Queue) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_jobs::list_jobs))
        .routes(routes!(get_job::get_job))
        .routes(routes!(retry_job::retry_job))
        .routes(routes!(cancel_job::cancel_job))
        .with_state(queue)
        .route_layer(from_fn(crate::auth::require_admin))
}

/// Parses a job id from the path.
fn job_id(raw: &str) -> Result<JobId, Problem> {
    raw.parse()
        .map_err(|_| Problem::bad_request(format!("`{raw}` is not a job id (a UUID)")))
}
