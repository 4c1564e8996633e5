//! One span, one log line and the metrics of each request. The span carries the
//! request id, so every log line written while handling the request has it.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::metrics::HttpMetrics;
use crate::router::PLATFORM_PATHS;

/// Route label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

pub(crate) async fn observe(
    State(metrics): State<HttpMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
    );
    let path = request.uri().path().to_owned();
    async move {
        let started = Instant::now();
        let _in_flight = metrics.in_flight();
        let response = next.run(request).await;
        let elapsed = started.elapsed();
        metrics.finished(&route, &method, response.status(), elapsed.as_secs_f64());
        let status = response.status().as_u16();
        let latency_ms = elapsed.as_micros() as f64 / 1000.0;
        // Probes and scrapes come every few seconds: debug, not info.
        if PLATFORM_PATHS.contains(&route.as_str()) {
            tracing::debug!(status, latency_ms, path = %path, "request finished");
        } else if status >= 500 {
            tracing::warn!(status, latency_ms, path = %path, "request failed");
        } else {
            tracing::info!(status, latency_ms, path = %path, "request finished");
        }
        response
    }
    .instrument(span)
    .await
}
