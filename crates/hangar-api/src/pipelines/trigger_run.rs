//! `POST /api/v1/pipelines/{name}/runs` with `{"params": {…}}` (or no body):
//! starts a run. Parameters are checked against the pipeline's declared types
//! before anything is created.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hangar_pipeline::{Pipelines, TriggeredBy};
use serde_json::Value;

use crate::problem::Problem;

pub(super) async fn trigger_run(
    State(pipelines): State<Pipelines>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            )
            .with_detail(format!(
                "a trigger body may be at most {} bytes",
                super::MAX_TRIGGER_BYTES
            ))
        } else {
            Problem::bad_request(rejection.body_text())
        }
    })?;
    let params = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| Problem::bad_request(format!("the body is not JSON: {e}")))?;
        let Value::Object(mut object) = value else {
            return Err(Problem::bad_request(
                "the body must be a JSON object: {\"params\": {…}}",
            ));
        };
        if let Some(unknown) = object.keys().find(|k| *k != "params") {
            return Err(Problem::bad_request(format!(
                "unknown field `{unknown}`; the body takes `params`"
            )));
        }
        object.remove("params")
    };
    let run = pipelines
        .trigger(&name, params.as_ref(), TriggeredBy::Api)
        .await?
        .ok_or_else(Problem::internal)?;
    let location = format!("/api/v1/runs/{}", run.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(run),
    )
        .into_response())
}
