//! `POST /api/v1/jobs/{id}/retry`: run a dead, cancelled or retrying job again now.

use axum::Json;
use axum::extract::{Path, State};
use hangar_queue::{JobView, Queue};

use crate::problem::Problem;

pub(super) async fn retry_job(
    State(queue): State<Queue>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, Problem> {
    let job = queue.retry(super::job_id(&id)?).await?;
    tracing::info!(job_id = %job.id, "job retried by an admin");
    Ok(Json(job))
}
