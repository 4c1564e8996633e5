//! `GET /api/v1/pipelines?limit=&cursor=`: pipelines with their parameters,
//! schedule and tasks, by name.

use axum::Json;
use axum::extract::State;
use hangar_pipeline::Pipelines;
use hangar_pipeline::spec::PipelineSpec;

use crate::extract::ApiQuery;
use crate::pagination::{Page, PageParams};
use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, BadRequest};

/// Lists the pipelines, by name.
#[utoipa::path(
    get,
    path = "/api/v1/pipelines",
    tag = "pipelines",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of pipelines", body = Page<PipelineSpec>),
        (status = 400, response = BadRequest),
        AdminErrors,
    )
)]
pub(super) async fn list_pipelines(
    State(pipelines): State<Pipelines>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<PipelineSpec>>, Problem> {
    let limit = params.limit()?;
    let after: Option<String> = params.after()?;
    let mut specs: Vec<PipelineSpec> = pipelines
        .registry()
        .pipelines()
        .filter(|p| after.as_deref().is_none_or(|a| p.name.as_str() > a))
        .cloned()
        .collect();
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    specs.truncate(limit as usize + 1);
    Ok(Json(Page::from_extra_row(specs, limit, |p| {
        p.name.to_string()
    })))
}
