//! `POST /api/v1/jobs/{id}/cancel`: cancel a waiting job, or ask a running one to stop.

use axum::Json;
use axum::extract::{Path, State};
use hangar_queue::{JobView, Queue};

use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, BadRequest, Conflict, NotFound, ServiceUnavailable};

/// Cancels a waiting job, or asks a running one to stop.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/cancel",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "The job's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The job, cancelled (or asked to stop while it runs)", body = JobView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        AdminErrors,
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(super) async fn cancel_job(
    State(queue): State<Queue>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, Problem> {
    let job = queue.cancel(super::job_id(&id)?).await?;
    tracing::info!(job_id = %job.id, state = %job.state, "job cancelled by an admin");
    Ok(Json(job))
}
