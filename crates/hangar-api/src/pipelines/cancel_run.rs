//! `POST /api/v1/runs/{id}/cancel`: cancel a queued or running run.

use axum::Json;
use axum::extract::{Path, State};
use hangar_pipeline::{Pipelines, RunView};

use crate::problem::Problem;

pub(super) async fn cancel_run(
    State(pipelines): State<Pipelines>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, Problem> {
    Ok(Json(pipelines.cancel(super::run_id(&id)?).await?))
}
