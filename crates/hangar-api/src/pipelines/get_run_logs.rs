//! `GET /api/v1/runs/{id}/logs?task=`: the log lines of a run's tasks.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use hangar_pipeline::{LogRow, Pipelines};

use crate::problem::Problem;

pub(super) async fn get_run_logs(
    State(pipelines): State<Pipelines>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<LogRow>>, Problem> {
    if let Some(unknown) = params.keys().find(|k| *k != "task") {
        return Err(Problem::bad_request(format!(
            "unknown query parameter `{unknown}`; expected task"
        )));
    }
    let id = super::run_id(&id)?;
    Ok(Json(
        pipelines
            .logs(id, params.get("task").map(String::as_str))
            .await?,
    ))
}
