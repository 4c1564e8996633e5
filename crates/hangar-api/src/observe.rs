//! One span, one log line and the metrics of each request. The span carries the
//! request id, so every log line written while handling the request has it.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::metrics::{HttpMetrics, RouteLabel};
use crate::router::PLATFORM_PATHS;

pub(crate) async fn observe(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    // Nothing here is copied into a new string: the route is the router's shared
    // template, and the span's fields are only read when the span is enabled.
    let route = RouteLabel::new(request.extensions().get::<MatchedPath>().cloned());
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
        method = %method,
        route = %route.as_str(),
    );
    let uri = request.uri().clone();
    async move {
        let started = Instant::now();
        let _in_flight = metrics.in_flight();
        let response = next.run(request).await;
        let elapsed = started.elapsed();
        let status = response.status();
        let platform = PLATFORM_PATHS.contains(&route.as_str());
        metrics.finished(route, &method, status, elapsed.as_secs_f64());
        let status = status.as_u16();
        let latency_ms = elapsed.as_micros() as f64 / 1000.0;
        let path = uri.path();
        // Probes and scrapes come every few seconds: debug, not info.
        if platform {
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
