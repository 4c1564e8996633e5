//! The api role of the architecture: the axum router that every app's routes are
//! merged into, the platform endpoints (`/healthz`, `/readyz`, `/metrics`), the
//! middleware stack (request ids, request span and log line, HTTP metrics, timeout,
//! panic capture, body limit, CORS, security headers, `Idempotency-Key`),
//! accounts and authentication, the OpenAPI document and its docs UI, the realtime
//! event feed, the live terminal's WebSocket and the platform's `pipelines`
//! command, the admin API over jobs and pipelines, the site description and the
//! web UI's files, and the HTTP server with its graceful shutdown.

pub mod auth;
pub mod events;
mod extract;
mod health;
pub mod idempotency;
pub mod jobs;
mod metrics;
mod observe;
pub mod openapi;
mod operations;
mod pagination;
pub mod pipelines;
pub mod problem;
mod read_route;
mod router;
mod server;
pub mod site;
pub mod terminal;
mod web;

pub use auth::{Admin, Auth, Caller, User};
pub use events::Hub;
pub use extract::{ApiJson, ApiQuery, WholeNumber, json_problem, payload_too_large};
pub use health::Readiness;
pub use idempotency::Idempotency;
pub use metrics::HttpMetrics;
pub use pagination::{Page, PageParams, bad_cursor, decode_cursor, encode_cursor, page_limit};
pub use problem::Problem;
pub use router::{RouterParts, build_router};
pub use server::{ServeError, serve};
pub use site::{Site, SiteError};
pub use terminal::TerminalService;
pub use web::WebUi;

use hangar_store::{Migration, MigrationSet, migration};

static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_accounts"),
    migration!(2, "0002_account_admin"),
];

/// The api role's tables: accounts, sessions, identities, saved idempotent responses.
pub const MIGRATION_SET: MigrationSet = MigrationSet {
    component: "api",
    migrations: MIGRATIONS,
};
