//! Assembly of the api role's router: platform endpoints, the apps' routes and the
//! middleware stack around all of them.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Router};
use hangar_core::config::{List, Origin};
use prometheus_client::registry::Registry;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::Auth;
use crate::health::{Readiness, healthz, readyz};
use crate::idempotency::{Idempotency, idempotent};
use crate::metrics::{HttpMetrics, metrics};
use crate::observe::observe;
use crate::openapi::{DOCS_PATH, OPENAPI_PATH};
use crate::operations::{Operations, declared_query, document_idempotency};
use crate::problem::Problem;
use crate::web::{self, WebUi};

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
    /// The routes, every one in the OpenAPI document: the apps', accounts, the
    /// event feed, the admin API.
    pub api_routes: OpenApiRouter,
    /// Authentication, available to every handler.
    pub auth: Auth,
    /// Saved responses for `Idempotency-Key`.
    pub idempotency: Idempotency,
    /// Origins allowed cross-origin (`http.cors_origins`).
    pub cors_origins: List<Origin>,
    /// With read replicas: how long a session reads from the primary after it
    /// wrote ([`hangar_store::Store::read_your_writes_window`]); `None` without.
    pub read_your_writes: Option<Duration>,
    /// The web UI, served for every path no route takes.
    pub web: WebUi,
}

const X_REQUEST_ID: &str = "x-request-id";

/// Builds the api role's router.
pub fn build_router(parts: RouterParts) -> Router {
    let (api_routes, mut api) = OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(parts.api_routes)
        .split_for_parts();
    document_idempotency(&mut api);
    let operations = Operations::from_document(&api);
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let docs = Router::from(SwaggerUi::new(DOCS_PATH).url(OPENAPI_PATH, api)).layer(
        SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                 script-src 'self'; frame-ancestors 'none'",
            ),
        ),
    );
    let body_limit = parts.idempotency.body_limit;
    let router = Router::new()
        .route(HEALTHZ, get(healthz))
        .route(READYZ, get(readyz).with_state(parts.readiness.clone()))
        .route(METRICS, get(metrics).with_state(parts.registry))
        .merge(api_routes)
        .merge(docs)
        .fallback_service(any(web::fallback).with_state(parts.web));
    // One layer, outermost first, rather than one `Router::layer` per middleware:
    // axum boxes every layered route again and clones each box on every request.
    // The body limit applies to extractors; replays of Idempotency-Key requests
    // need the migrated store, so the gate (holding back app routes during
    // start-up) is outside them; the timeout bounds the handler; a panic becomes a
    // 500 inside the request's span, which carries the id set by the outer layers;
    // security headers and CORS apply to every answer, errors included.
    let stack = ServiceBuilder::new()
        .layer(from_fn(drop_unfit_request_id))
        .layer(SetRequestIdLayer::x_request_id(MakeRandomId))
        .layer(PropagateRequestIdLayer::x_request_id())
        .option_layer(cors(&parts.cors_origins))
        .map_response(security_headers as fn(Response) -> Response)
        .option_layer(
            parts
                .read_your_writes
                .map(|window| from_fn_with_state(window, crate::read_route::read_route)),
        )
        .layer(from_fn_with_state(Arc::new(parts.http_metrics), observe))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn_with_state(parts.request_timeout, timeout))
        .layer(from_fn_with_state(Arc::new(parts.readiness), startup_gate))
        .layer(Extension(parts.auth))
        .layer(from_fn_with_state(operations.clone(), declared_query))
        .layer(from_fn_with_state(
            Arc::new((parts.idempotency, operations)),
            idempotent,
        ))
        .layer(DefaultBodyLimit::max(body_limit));
    // Turning every handler into its layered service here, once: a handler left
    // waiting for its state is wrapped in all the layers again on each request.
    router.layer(stack).with_state(())
}

/// Makes the id of a request that came without a usable one: a random (version 4)
/// UUID drawn from the thread's generator rather than from a system call each time.
#[derive(Clone, Copy, Debug)]
struct MakeRandomId;

impl MakeRequestId for MakeRandomId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut text = uuid::Uuid::encode_buffer();
        let text = id.hyphenated().encode_lower(&mut text);
        Some(RequestId::new(
            HeaderValue::from_str(text).expect("a UUID is visible ASCII"),
        ))
    }
}

/// Longest `x-request-id` a caller may choose.
pub const REQUEST_ID_MAX_LEN: usize = 128;

/// Drops a caller's `x-request-id` that is longer than [`REQUEST_ID_MAX_LEN`] or
/// holds anything but visible ASCII, so that a fresh one is made: the id is echoed
/// and written into every log line of the request.
async fn drop_unfit_request_id(mut request: Request, next: Next) -> Response {
    let fit = |v: &HeaderValue| {
        !v.is_empty()
            && v.len() <= REQUEST_ID_MAX_LEN
            && v.as_bytes().iter().all(u8::is_ascii_graphic)
    };
    if let Some(id) = request.headers().get(X_REQUEST_ID)
        && !fit(id)
    {
        tracing::debug!(length = id.len(), "caller's x-request-id replaced");
        request.headers_mut().remove(X_REQUEST_ID);
    }
    next.run(request).await
}

/// Headers every response carries unless its handler set its own.
static SECURITY_HEADERS: [(HeaderName, HeaderValue); 5] = [
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    ),
];

fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in &SECURITY_HEADERS {
        if let header::Entry::Vacant(entry) = headers.entry(name) {
            entry.insert(value.clone());
        }
    }
    response
}

/// The CORS policy of `http.cors_origins`: none when empty. The origins were
/// checked when the configuration loaded.
fn cors(origins: &List<Origin>) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.any() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().map(|o| {
            HeaderValue::from_str(o.as_str())
                .expect("an origin parsed at load is ASCII without control characters")
        }))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("last-event-id"),
            ])
            .expose_headers([
                header::LOCATION,
                header::RETRY_AFTER,
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("idempotent-replayed"),
            ])
            .max_age(Duration::from_secs(3600)),
    )
}

/// Paths of the platform's own endpoints, which answer from the first instant.
pub(crate) const HEALTHZ: &str = "/healthz";
pub(crate) const READYZ: &str = "/readyz";
pub(crate) const METRICS: &str = "/metrics";
pub(crate) const PLATFORM_PATHS: [&str; 3] = [HEALTHZ, READYZ, METRICS];

/// App routes need the store migrated; until start-up is done they answer 503.
async fn startup_gate(
    State(readiness): State<Arc<Readiness>>,
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
