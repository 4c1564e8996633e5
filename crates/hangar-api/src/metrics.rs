//! HTTP metrics and the `/metrics` endpoint.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use axum::extract::{MatchedPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hangar_core::telemetry::{MetricsFormat, encode_metrics};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Upper bounds of the request duration buckets, in seconds.
const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Labels of a request: the route template (never the raw path), the method and
/// the status class, so cardinality stays bounded whatever clients send.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub route: RouteLabel,
    pub method: &'static str,
    pub status: &'static str,
}

/// Route label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

/// The route template a request matched, shared with the router rather than
/// copied for each request.
#[derive(Debug, Clone)]
pub(crate) struct RouteLabel(Option<MatchedPath>);

impl RouteLabel {
    pub(crate) fn new(matched: Option<MatchedPath>) -> Self {
        Self(matched)
    }

    pub(crate) fn as_str(&self) -> &str {
        self.0.as_ref().map_or(UNMATCHED, MatchedPath::as_str)
    }
}

impl PartialEq for RouteLabel {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RouteLabel {}

impl Hash for RouteLabel {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for RouteLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The api role's request metrics.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: Family<RequestLabels, Histogram>,
    in_flight: Gauge,
}

impl HttpMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let duration = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(DURATION_BUCKETS)
        });
        let in_flight = Gauge::default();
        registry.register(
            "hangar_http_requests",
            "HTTP requests answered, by route template, method and status class",
            requests.clone(),
        );
        registry.register_with_unit(
            "hangar_http_request_duration",
            "Time from receiving a request to producing its response head",
            Unit::Seconds,
            duration.clone(),
        );
        registry.register(
            "hangar_http_requests_in_flight",
            "HTTP requests being processed",
            in_flight.clone(),
        );
        Self {
            requests,
            duration,
            in_flight,
        }
    }

    /// Counts a request as in flight until the guard drops, which also happens when
    /// the client goes away and the handler is cancelled.
    pub(crate) fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    pub(crate) fn finished(
        &self,
        route: RouteLabel,
        method: &Method,
        status: StatusCode,
        seconds: f64,
    ) {
        let labels = RequestLabels {
            route,
            method: method_label(method),
            status: status_class(status),
        };
        self.requests.get_or_create(&labels).inc();
        self.duration.get_or_create(&labels).observe(seconds);
    }
}

/// Decrements the in-flight gauge when dropped.
pub(crate) struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// `GET /metrics`: OpenMetrics when the scraper asks for it, Prometheus text otherwise.
pub(crate) async fn metrics(State(registry): State<Arc<Registry>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = MetricsFormat::negotiate(accept);
    let body = encode_metrics(&registry, format);
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response
}
