//! The live terminal over a WebSocket (`/api/v1/terminal/ws`): the api role's
//! side of [`hangar_terminal`]. This module checks who may open a session (the
//! `Origin`, the session counts), and the socket loop in [`ws`] applies the
//! limits a session cannot apply by itself: idle time, session length, message
//! size (closed with 1009), and a client that stops reading
//! (`terminal.send_timeout`).

mod pipelines;
mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use hangar_core::config::{List, Origin, TerminalConfig};
use hangar_terminal::{Sessions, Terminal};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use pipelines::PipelinesCommand;
pub use ws::TerminalParams;

use crate::problem::Problem;

/// What every terminal session of an api process shares.
#[derive(Clone)]
pub struct TerminalService {
    terminal: Arc<Terminal>,
    sessions: Sessions,
    allowed_origins: List<Origin>,
    idle_timeout: Duration,
    max_session: Duration,
    max_message: usize,
    write_buffer: usize,
    send_timeout: Duration,
}

impl TerminalService {
    /// The service for `terminal` under `config`'s limits.
    pub fn new(config: &TerminalConfig, terminal: Terminal) -> Self {
        Self {
            terminal: Arc::new(terminal),
            sessions: Sessions::new(config.max_sessions, config.max_sessions_per_ip),
            allowed_origins: config.allowed_origins.clone(),
            idle_timeout: config.idle_timeout.get(),
            max_session: config.max_session.get(),
            max_message: config.max_message as usize,
            write_buffer: config.write_buffer as usize,
            send_timeout: config.send_timeout.get(),
        }
    }

    /// Browsers send the page's origin with a WebSocket request; a page of
    /// another site must not open a session with the visitor's credentials.
    /// Clients that are not browsers send no `Origin` and are let through.
    fn check_origin(&self, headers: &HeaderMap) -> Result<(), Problem> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
        let allowed = if self.allowed_origins.is_empty() {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            same_authority(origin, host)
        } else {
            self.allowed_origins.allows(origin)
        };
        if allowed {
            Ok(())
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "origin-not-allowed",
                "Origin not allowed",
            )
            .with_detail(format!(
                "pages from `{}` may not open the terminal (terminal.allowed_origins)",
                origin.chars().take(100).collect::<String>()
            )))
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the `host[:port]` of `host`.
fn same_authority(origin: &str, host: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    let Some(origin_host) = url.host_str() else {
        return false;
    };
    let default = url.port_or_known_default();
    let origin_port = url.port().or(default);
    let (host_name, host_port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(']') || host.starts_with('[') => {
            match port.parse::<u16>() {
                Ok(port) => (name, Some(port)),
                Err(_) => (host, None),
            }
        }
        _ => (host, None),
    };
    origin_host.eq_ignore_ascii_case(host_name) && origin_port == host_port.or(default)
}

/// The terminal's route.
pub fn routes(service: TerminalService) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(ws::terminal_ws))
        .with_state(service)
}

#[cfg(test)]
mod tests {
    use super::same_authority;

    #[test]
    fn origins_against_host() {
        assert!(same_authority("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(same_authority("https://example.com", "example.com"));
        assert!(same_authority("https://example.com", "example.com:443"));
        assert!(same_authority("http://[::1]:8080", "[::1]:8080"));
        assert!(!same_authority("http://evil.example", "example.com"));
        assert!(!same_authority("http://127.0.0.1:9999", "127.0.0.1:8080"));
        assert!(!same_authority("https://example.com", "example.com:80"));
        assert!(!same_authority("null", "example.com"));
    }
}
