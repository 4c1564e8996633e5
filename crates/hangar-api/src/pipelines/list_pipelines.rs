//! `GET /api/v1/pipelines`: every pipeline with its parameters, schedule and tasks.

use axum::Json;
use axum::extract::State;
use hangar_pipeline::Pipelines;
use hangar_pipeline::spec::PipelineSpec;

pub(super) async fn list_pipelines(State(pipelines): State<Pipelines>) -> Json<Vec<PipelineSpec>> {
    Json(pipelines.registry().pipelines().cloned().collect())
}
