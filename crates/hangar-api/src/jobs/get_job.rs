//! `GET /api/v1/jobs/{id}`: one job with its failed attempts.

use axum::Json;
use axum::extract::{Path, State};
use hangar_queue::{JobView, Queue};

use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, BadRequest, NotFound};

/// One job, with the attempts that did not succeed.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "The job's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        AdminErrors,
    )
)]
pub(super) async fn get_job(
    State(queue): State<Queue>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, Problem> {
    Ok(Json(queue.get(super::job_id(&id)?).await?))
}
