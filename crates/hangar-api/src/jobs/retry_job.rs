//! `POST /api/v1/jobs/{id}/retry`: run a dead, cancelled or retrying job again now.

use axum::Json;
use axum::extract::{Path, State};
use hangar_queue::{JobView, Queue};

use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, BadRequest, Conflict, NotFound, ServiceUnavailable};

/// Runs a dead, cancelled or retrying job again now.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/retry",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "The job's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The job, pending again", body = JobView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        AdminErrors,
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(super) async fn retry_job(
    State(queue): State<Queue>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, Problem> {
    let job = queue.retry(super::job_id(&id)?).await?;
    tracing::info!(job_id = %job.id, "job retried by an admin");
    Ok(Json(job))
}
