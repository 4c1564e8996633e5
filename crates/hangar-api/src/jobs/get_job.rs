//! `GET /api/v1/jobs/{id}`: one job with its failed attempts.

use axum::Json;
use axum::extract::{Path, State};
use hangar_queue::{JobView, Queue};

use crate::problem::Problem;

pub(super) async fn get_job(
    State(queue): State<Queue>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, Problem> {
    Ok(Json(queue.get(super::job_id(&id)?).await?))
}
