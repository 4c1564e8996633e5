//! `GET /api/v1/runs/{id}`: a run with its tasks.

use axum::Json;
use axum::extract::{Path, State};
use hangar_pipeline::{Pipelines, RunView};

use crate::problem::Problem;

pub(super) async fn get_run(
    State(pipelines): State<Pipelines>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, Problem> {
    Ok(Json(pipelines.run(super::run_id(&id)?).await?))
}
