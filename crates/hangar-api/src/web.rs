//! The web UI: the files of `http.web_dir` (the front end built into
//! `web/dist`) served at `/`, read from disk at each request so the UI can be
//! rebuilt or replaced without rebuilding the binary. Paths that are not files
//! answer `index.html`, for the UI's own routes (`/movies/12`); paths under
//! `/api/` and missing files with an extension answer 404 problems.

use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::problem::Problem;

/// The page's policy: its own scripts and styles, connections to its own
/// origin (the API, the terminal's WebSocket, the event stream), no frames.
const UI_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Where the built UI is, if anywhere.
#[derive(Debug, Clone)]
pub struct WebUi {
    dir: Option<PathBuf>,
}

impl WebUi {
    /// The UI in `dir` (`http.web_dir`); empty: none. A directory without an
    /// `index.html` is logged, since the UI was then not built.
    pub fn new(dir: &str) -> Self {
        if dir.is_empty() {
            return Self { dir: None };
        }
        let dir = PathBuf::from(dir);
        if !dir.join("index.html").is_file() {
            tracing::warn!(
                web_dir = %dir.display(),
                "no web UI: http.web_dir has no index.html; build it with `npm ci && npm run build` in web/ (scripts/up does)"
            );
        }
        Self { dir: Some(dir) }
    }
}

/// Serves the UI for every request no route took.
pub(crate) async fn fallback(State(ui): State<WebUi>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let readable = matches!(*request.method(), Method::GET | Method::HEAD);
    let Some(dir) = ui
        .dir
        .filter(|_| readable && !path.starts_with("/api/") && path != "/api")
    else {
        return Problem::not_found(&path).into_response();
    };
    let index = dir.join("index.html");
    if !index.is_file() {
        return Problem::new(StatusCode::NOT_FOUND, "web-ui-not-built", "The web UI is not built")
            .with_detail("build it with `npm ci && npm run build` in web/ (scripts/up does), or set http.web_dir")
            .into_response();
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    let response = if last.contains('.') {
        // A file (an asset): served if it exists, 404 otherwise.
        match ServeDir::new(&dir).oneshot(request).await {
            Ok(response) if response.status() == StatusCode::NOT_FOUND => {
                return Problem::not_found(&path).into_response();
            }
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        }
    } else {
        // A route of the UI.
        match ServeFile::new(&index).oneshot(request).await {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        }
    };
    with_headers(response, &path)
}

fn with_headers(mut response: Response, path: &str) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(UI_POLICY),
    );
    // Vite names assets by their content: they never change.
    let cache = if path.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
