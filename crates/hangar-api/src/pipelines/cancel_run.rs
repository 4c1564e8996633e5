//! `POST /api/v1/runs/{id}/cancel`: cancel a queued or running run.

use axum::Json;
use axum::extract::{Path, State};
use hangar_pipeline::{Pipelines, RunView};

use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, BadRequest, Conflict, NotFound, ServiceUnavailable};

/// Cancels a queued or running run: tasks not started are cancelled, running
/// ones are asked to stop.
#[utoipa::path(
    post,
    path = "/api/v1/runs/{id}/cancel",
    tag = "pipelines",
    params(("id" = uuid::Uuid, Path, description = "The run's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The run, cancelled", body = RunView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        AdminErrors,
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(super) async fn cancel_run(
    State(pipelines): State<Pipelines>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, Problem> {
    Ok(Json(pipelines.cancel(super::run_id(&id)?).await?))
}
