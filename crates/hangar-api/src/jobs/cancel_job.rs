//! `POST /api/v1/jobs/{id}/cancel`: cancel a waiting job, or ask a running one to stop.

use axum::Json;
use axum::extract::{Path, State};
use hangar_queue::{JobView, Queue};

use crate::problem::Problem;

pub(super) async fn cancel_job(
    State(queue): State<Queue>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, Problem> {
    let job = queue.cancel(super::job_id(&id)?).await?;
    tracing::info!(job_id = %job.id, state = %job.state, "job cancelled by an admin");
    Ok(Json(job))
}
