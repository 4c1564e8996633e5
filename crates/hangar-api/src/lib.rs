//! The api role of the architecture: the axum router that every app's routes are
//! merged into, the platform endpoints (`/healthz`, `/readyz`, `/metrics`), the
//! middleware stack (request ids, request span and log line, HTTP metrics, timeout,
//! panic capture) and the HTTP server with its graceful shutdown.

mod admin;
mod health;
pub mod jobs;
mod metrics;
mod observe;
pub mod pipelines;
mod problem;
mod router;
mod server;

pub use admin::AdminToken;
pub use health::Readiness;
pub use metrics::HttpMetrics;
pub use problem::Problem;
pub use router::{RouterParts, build_router};
pub use server::{ServeError, serve};
