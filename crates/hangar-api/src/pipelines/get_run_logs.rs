//! `GET /api/v1/runs/{id}/logs?task=&limit=&cursor=`: the log lines of a run's
//! tasks, in the order they were written.

use axum::Json;
use axum::extract::{Path, State};
use hangar_pipeline::{LogRow, Pipelines};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::extract::ApiQuery;
use crate::pagination::{Page, bad_cursor, decode_cursor, page_limit};
use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, BadRequest, NotFound, UnprocessableEntity};

/// Query parameters of the log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunLogsParams {
    /// Only the lines of this task (a task the run's pipeline has; 422 otherwise).
    pub task: Option<String>,
    /// Lines per page, 1–1000 (default 500).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// A line's place in the log: the key a cursor holds.
type LineKey = (String, i32, i32);

fn key(line: &LogRow) -> LineKey {
    (line.task_id.clone(), line.try_number, line.seq)
}

/// The log lines of a run, of one task or all.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{id}/logs",
    tag = "pipelines",
    params(("id" = uuid::Uuid, Path, description = "The run's id"), RunLogsParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of log lines", body = Page<LogRow>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        AdminErrors,
    )
)]
pub(super) async fn get_run_logs(
    State(pipelines): State<Pipelines>,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<RunLogsParams>,
) -> Result<Json<Page<LogRow>>, Problem> {
    let limit = page_limit(params.limit, 500, 1000)?;
    let after: Option<LineKey> = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let id = super::run_id(&id)?;
    let lines = pipelines.logs(id, params.task.as_deref()).await?;
    // The page starts after the line the cursor names; a cursor naming no line
    // of this log was not handed out by it.
    let start = match &after {
        None => 0,
        Some(after) => {
            lines
                .iter()
                .position(|line| key(line) == *after)
                .ok_or_else(bad_cursor)?
                + 1
        }
    };
    let lines: Vec<LogRow> = lines
        .into_iter()
        .skip(start)
        .take(limit as usize + 1)
        .collect();
    Ok(Json(Page::from_extra_row(lines, limit, key)))
}
