//! `/healthz` (the process is alive) and `/readyz` (it can serve traffic: start-up
//! finished and every dependency answers).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hangar_core::health::{ReadinessCheck, StartupGate};
use serde_json::{Map, Value, json};

/// What `/readyz` looks at.
#[derive(Clone, Default)]
pub struct Readiness {
    gate: StartupGate,
    checks: Vec<Arc<dyn ReadinessCheck>>,
}

impl Readiness {
    /// Readiness that waits for `gate` and then runs `checks` on each probe.
    pub fn new(gate: StartupGate, checks: Vec<Arc<dyn ReadinessCheck>>) -> Self {
        Self { gate, checks }
    }

    /// Whether start-up has finished (routes of apps answer 503 until then).
    pub fn started(&self) -> bool {
        self.gate.is_open()
    }
}

pub(crate) async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "alive" }))
}

pub(crate) async fn readyz(State(readiness): State<Readiness>) -> impl IntoResponse {
    let mut ready = readiness.started();
    let mut checks = Map::new();
    checks.insert(
        "startup".to_owned(),
        Value::from(if ready { "ok" } else { "in progress" }),
    );
    // A handful of checks, each bounded by its own short timeout.
    for check in &readiness.checks {
        let value = match check.check().await {
            Ok(()) => "ok".to_owned(),
            Err(reason) => {
                ready = false;
                reason
            }
        };
        checks.insert(check.name().to_owned(), Value::from(value));
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut details = Map::new();
    for check in &readiness.checks {
        let facts: Map<String, Value> = check
            .details()
            .into_iter()
            .map(|(name, text)| (name, Value::from(text)))
            .collect();
        if !facts.is_empty() {
            details.insert(check.name().to_owned(), Value::Object(facts));
        }
    }
    let mut body = json!({ "status": if ready { "ready" } else { "not ready" }, "checks": checks });
    if !details.is_empty() {
        body["details"] = Value::Object(details);
    }
    (status, Json(body))
}
