//! `GET /api/v1/pipelines/{name}/runs?limit=&cursor=`: runs, newest first.

use axum::Json;
use axum::extract::{Path, State};
use hangar_pipeline::{Pipelines, RunView};
use uuid::Uuid;

use crate::extract::ApiQuery;
use crate::pagination::{Page, PageParams};
use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, BadRequest, NotFound};

/// Lists a pipeline's runs, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/pipelines/{name}/runs",
    tag = "pipelines",
    params(("name" = String, Path, description = "The pipeline"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of runs", body = Page<RunView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        AdminErrors,
    )
)]
pub(super) async fn list_runs(
    State(pipelines): State<Pipelines>,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<RunView>>, Problem> {
    let limit = params.limit()?;
    let before: Option<Uuid> = params.after()?;
    let runs = pipelines.runs(Some(&name), before, limit + 1).await?;
    Ok(Json(Page::from_extra_row(runs, limit, |run| run.id)))
}
