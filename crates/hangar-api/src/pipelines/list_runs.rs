//! `GET /api/v1/pipelines/{name}/runs?limit=&before=`: runs, newest first.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use hangar_pipeline::{Pipelines, RunView};

use crate::problem::Problem;

pub(super) async fn list_runs(
    State(pipelines): State<Pipelines>,
    Path(name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<RunView>>, Problem> {
    if let Some(unknown) = params
        .keys()
        .find(|k| !["limit", "before"].contains(&k.as_str()))
    {
        return Err(Problem::bad_request(format!(
            "unknown query parameter `{unknown}`; expected limit, before"
        )));
    }
    let limit = match params.get("limit") {
        None => 50,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| {
                Problem::bad_request(format!("limit: `{raw}` is not a number from 1 to 500"))
            })?,
    };
    let before = params
        .get("before")
        .map(|raw| super::run_id(raw))
        .transpose()?;
    Ok(Json(pipelines.runs(Some(&name), before, limit).await?))
}
