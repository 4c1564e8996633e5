//! `GET /api/v1/jobs?state=&queue=&limit=&cursor=`: a page of jobs, newest first.

use axum::Json;
use axum::extract::State;
use hangar_queue::{JobFilter, JobId, JobState, JobView, Queue, QueueName};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::ApiQuery;
use crate::pagination::{decode_cursor, encode_cursor, page_limit};
use crate::problem::Problem;
use crate::problem::responses::{AdminErrors, BadRequest};

/// Query parameters of the list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListJobsParams {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs on this queue (a queue name: 1–64 of `a-z`, `0-9`, `_` and `-`).
    #[param(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub queue: Option<String>,
    /// Jobs per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// A page of jobs, and how many match the filters in all.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobList {
    /// The jobs of this page, newest first.
    pub items: Vec<JobView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many jobs match the state and queue filters, on every page together.
    pub total: i64,
}

/// Lists jobs, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    tag = "jobs",
    params(ListJobsParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of jobs", body = JobList),
        (status = 400, response = BadRequest),
        AdminErrors,
    )
)]
pub(super) async fn list_jobs(
    State(queue): State<Queue>,
    ApiQuery(params): ApiQuery<ListJobsParams>,
) -> Result<Json<JobList>, Problem> {
    let limit = page_limit(params.limit, 50, 500)?;
    let before: Option<JobId> = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let queue_name = params.queue.as_deref().map(QueueName::new).transpose()?;
    let filter = JobFilter {
        state: params.state,
        queue: queue_name.map(|q| q.as_str().to_owned()),
        before,
        limit,
    };
    let page = queue.list(&filter).await?;
    Ok(Json(JobList {
        items: page.jobs,
        next_cursor: page.next.as_ref().map(encode_cursor),
        total: page.total,
    }))
}
