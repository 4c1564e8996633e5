//! With read replicas (`database_replica_urls`): which requests may read from one.
//!
//! A `GET` or `HEAD` reads from a healthy replica; any other method reads from the
//! primary (it writes, and may read back what it wrote). After such a request the
//! response sets the cookie [`COOKIE`] for the store's read-your-writes window
//! (the replicas' lag bound plus one check), and requests that carry it read from
//! the primary too: a session sees its own writes, whichever replica serves it
//! next. Clients without cookies (scripts) that need this send it back themselves.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use hangar_store::{ReadRoute, with_read_route};

/// The cookie that sends a session's reads to the primary after it wrote.
pub const COOKIE: &str = "hangar_read_primary";

pub(crate) async fn read_route(
    State(window): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    if safe && !wrote_recently(&request) {
        return with_read_route(ReadRoute::Replica, next.run(request)).await;
    }
    let mut response = with_read_route(ReadRoute::Primary, next.run(request)).await;
    if !safe {
        // Whole seconds, rounded up: the window must not end early.
        let seconds = window.as_secs() + u64::from(window.subsec_nanos() > 0);
        let cookie = format!("{COOKIE}=1; Max-Age={seconds}; Path=/; HttpOnly; SameSite=Lax");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Whether the request carries [`COOKIE`].
fn wrote_recently(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| {
            pair.trim()
                .split_once('=')
                .is_some_and(|(name, _)| name == COOKIE)
        })
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use axum::routing::get;
    use hangar_store::read::current_route;
    use tower::ServiceExt;

    use super::*;

    async fn route() -> &'static str {
        match current_route() {
            ReadRoute::Primary => "primary",
            ReadRoute::Replica => "replica",
        }
    }

    /// (route the handler saw, Set-Cookie of the answer).
    async fn send(method: Method, cookie: Option<&str>) -> (String, Option<String>) {
        let app = Router::new()
            .route("/", get(route).post(route))
            .layer(from_fn_with_state(Duration::from_millis(2500), read_route));
        let mut request = Request::builder().method(method).uri("/");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = app
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let set = response
            .headers()
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 64)
            .await
            .unwrap();
        (String::from_utf8(body.to_vec()).unwrap(), set)
    }

    #[tokio::test]
    async fn safe_reads_go_to_replicas_until_the_session_writes() {
        assert_eq!(send(Method::GET, None).await, ("replica".to_owned(), None));
        let (route, cookie) = send(Method::POST, None).await;
        assert_eq!(route, "primary");
        assert_eq!(
            cookie.as_deref(),
            Some("hangar_read_primary=1; Max-Age=3; Path=/; HttpOnly; SameSite=Lax")
        );
        let after = send(Method::GET, Some("theme=dark; hangar_read_primary=1")).await;
        assert_eq!(after, ("primary".to_owned(), None));
        let other = send(Method::GET, Some("hangar_read_primary_x=1")).await;
        assert_eq!(other.0, "replica");
    }
}
