//! `GET /api/v1/runs/{id}`: a run with its tasks.

use axum::Json;
use axum::extract::{Path, State};
use hangar_pipeline::{Pipelines, RunView};

use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, BadRequest, NotFound};

/// One run, with its tasks in dependency order and their outputs.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{id}",
    tag = "pipelines",
    params(("id" = uuid::Uuid, Path, description = "The run's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The run and its tasks", body = RunView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        AdminErrors,
    )
)]
pub(super) async fn get_run(
    State(pipelines): State<Pipelines>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, Problem> {
    Ok(Json(pipelines.run(super::run_id(&id)?).await?))
}
