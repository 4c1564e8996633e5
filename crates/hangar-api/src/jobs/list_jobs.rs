//! `GET /api/v1/jobs?state=&queue=&limit=&before=`: a page of jobs, newest first.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use hangar_queue::{JobFilter, JobPage, Queue};

use crate::problem::Problem;

const PARAMS: [&str; 4] = ["state", "queue", "limit", "before"];

pub(super) async fn list_jobs(
    State(queue): State<Queue>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<JobPage>, Problem> {
    let bad = |detail: String| Problem::bad_request(detail);
    if let Some(unknown) = params.keys().find(|k| !PARAMS.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown query parameter `{unknown}`; expected {}",
            PARAMS.join(", ")
        )));
    }
    let limit = match params.get("limit") {
        None => 50,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| bad(format!("limit: `{raw}` is not a number from 1 to 500")))?,
    };
    let filter = JobFilter {
        state: params.get("state").map(|s| s.parse()).transpose()?,
        queue: params.get("queue").cloned(),
        before: params.get("before").map(|s| s.parse()).transpose()?,
        limit,
    };
    Ok(Json(queue.list(&filter).await?))
}
