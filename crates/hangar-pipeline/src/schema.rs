//! OpenAPI schemas of the string fields whose values are a closed set: the run
//! and task states, as the API documents them (string enums).

use utoipa::openapi::Object;
use utoipa::openapi::schema::{ObjectBuilder, Type};

/// The states a run can be in.
pub const RUN_STATES: [&str; 5] = ["queued", "running", "succeeded", "failed", "cancelled"];

/// The states a task can be in.
pub const TASK_STATES: [&str; 9] = [
    "pending",
    "queued",
    "running",
    "succeeded",
    "failed",
    "up_for_retry",
    "upstream_failed",
    "skipped",
    "cancelled",
];

/// What triggers a run.
pub const TRIGGERS: [&str; 3] = ["api", "cli", "schedule"];

fn string_enum(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

pub(crate) fn run_state() -> Object {
    string_enum(&RUN_STATES)
}

pub(crate) fn task_state() -> Object {
    string_enum(&TASK_STATES)
}

pub(crate) fn triggered_by() -> Object {
    string_enum(&TRIGGERS)
}
