//! `POST /api/v1/pipelines/{name}/runs` with `{"params": {…}}` (or no body):
//! starts a run. Parameters are checked against the pipeline's declared types
//! before anything is created.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hangar_pipeline::{Pipelines, RunView, TriggeredBy};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::extract::plain_types;
use crate::problem::Problem;
use crate::problem::responses::{
    AdminErrors, BadRequest, NotFound, PayloadTooLarge, ServiceUnavailable, UnprocessableEntity,
};

/// What a trigger may carry. No body at all, or `null`, is the same as `{}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    /// The run's parameters, by name; those left out take their defaults.
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
}

/// Starts a run of the pipeline.
#[utoipa::path(
    post,
    path = "/api/v1/pipelines/{name}/runs",
    tag = "pipelines",
    params(("name" = String, Path, description = "The pipeline")),
    request_body(content = Option<TriggerBody>, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The run, queued (its address in `Location`)", body = RunView,
         headers(("Location" = String, description = "The run's address"))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = UnprocessableEntity),
        AdminErrors,
        (status = 503, response = ServiceUnavailable),
    )
)]
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
        match value {
            // `null`, like no body, takes every default.
            Value::Null => None,
            Value::Object(_) => {
                let body: TriggerBody = serde_json::from_value(value)
                    .map_err(|e| Problem::bad_request(plain_types(&e.to_string())))?;
                body.params
            }
            _ => {
                return Err(Problem::bad_request(
                    "the body must be a JSON object: {\"params\": {…}}",
                ));
            }
        }
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
