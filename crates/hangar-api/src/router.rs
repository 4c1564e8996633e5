//! Assembly of the api role's router: platform endpoints, the apps' routes and the
//! middleware stack around all of them.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::health::{Readiness, healthz, readyz};
use crate::metrics::{HttpMetrics, metrics};
use crate::observe::observe;
use crate::problem::Problem;

/// Everything the router is built from.
pub struct RouterParts {
    /// What `/readyz` checks; app routes answer 503 until start-up finishes.
    pub readiness: Readiness,
    /// The frozen metrics registry served at `/metrics`.
    pub registry: Arc<Registry>,
    /// Request metrics recorded by the middleware.
    pub http_metrics: HttpMetrics,
    /// Longest time a handler may take to produce a response.
    pub request_timeout: Duration,
    /// The merged routes of every app.
    pub app_routes: Router,
}

/// Builds the api role's router.
pub fn build_router(parts: RouterParts) -> Router {
    Router::new()
        .route(HEALTHZ, get(healthz))
        .route(READYZ, get(readyz).with_state(parts.readiness.clone()))
        .route(METRICS, get(metrics).with_state(parts.registry))
        .merge(parts.app_routes)
        .fallback(not_found)
        // Innermost first: the gate holds back app routes during start-up, the
        // timeout bounds the handler, a panic becomes a 500 inside the request's
        // span, which carries the id set by the outer layers.
        .layer(from_fn_with_state(parts.readiness, startup_gate))
        .layer(from_fn_with_state(parts.request_timeout, timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn_with_state(parts.http_metrics, observe))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn not_found(uri: Uri) -> Problem {
    Problem::not_found(uri.path())
}

/// Paths of the platform's own endpoints, which answer from the first instant.
pub(crate) const HEALTHZ: &str = "/healthz";
pub(crate) const READYZ: &str = "/readyz";
pub(crate) const METRICS: &str = "/metrics";
pub(crate) const PLATFORM_PATHS: [&str; 3] = [HEALTHZ, READYZ, METRICS];

/// App routes need the store migrated; until start-up is done they answer 503.
async fn startup_gate(
    State(readiness): State<Readiness>,
    request: Request,
    next: Next,
) -> Response {
    let platform = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| PLATFORM_PATHS.contains(&p.as_str()));
    if platform || readiness.started() {
        next.run(request).await
    } else {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "starting", "Starting up")
            .with_detail("the server is connecting to its store; retry shortly")
            .with_retry_after(1)
            .into_response()
    }
}

async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_ms = limit.as_millis() as u64, "request timed out");
            Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "Request timed out",
            )
            .with_detail(format!(
                "the request took longer than {}ms (http.request_timeout)",
                limit.as_millis()
            ))
            .into_response()
        }
    }
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "handler panicked");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Internal server error",
    )
    .with_detail("the server failed to handle this request; it has been logged")
    .into_response()
}
