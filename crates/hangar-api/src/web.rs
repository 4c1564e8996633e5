//! The web UI at `/`: by default the front end built into the binary (the build
//! script builds `web/` and embeds its output), so `hangar up` serves the whole
//! site from any directory; with `http.web_dir` set, the files of that directory
//! instead, read from disk at each request so the UI can be rebuilt without
//! rebuilding the binary. Paths that are not files answer `index.html`, for the
//! UI's own routes (`/movies/12`); paths under `/api/` and missing files with an
//! extension answer 404 problems.

use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::problem::Problem;

/// The page's policy: its own scripts and styles, connections to its own
/// origin (the API, the terminal's WebSocket, the event stream), no frames.
const UI_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The UI built into the binary: what `npm run build` wrote for the build
/// script. Empty when the binary was built without npm.
#[derive(Embed)]
#[folder = "$OUT_DIR/web/"]
#[allow_missing = true]
struct Embedded;

/// Which UI is served, if any.
#[derive(Debug, Clone)]
pub struct WebUi {
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    /// No UI: a process without the api role.
    None,
    /// The UI built into the binary.
    Embedded,
    /// A built UI on disk (`http.web_dir`).
    Dir(PathBuf),
}

impl WebUi {
    /// The UI `http.web_dir` names: empty, the one built into the binary; a
    /// directory, its files. A missing UI (a binary built without npm, or a
    /// directory without an `index.html`) is logged.
    pub fn new(dir: &str) -> Self {
        if dir.is_empty() {
            if !Self::built_in() {
                tracing::warn!(
                    "no web UI: this binary was built without it (npm was not found); rebuild it with Node.js and npm installed, or set http.web_dir to a built web/dist"
                );
            }
            return Self {
                source: Source::Embedded,
            };
        }
        let dir = PathBuf::from(dir);
        if !dir.join("index.html").is_file() {
            tracing::warn!(
                web_dir = %dir.display(),
                "no web UI: http.web_dir has no index.html; build it with `npm ci && npm run build` in web/, or leave http.web_dir empty for the UI built into the binary"
            );
        }
        Self {
            source: Source::Dir(dir),
        }
    }

    /// Whether this binary carries the web UI (it was built with npm).
    pub fn built_in() -> bool {
        Embedded::get("index.html").is_some()
    }

    /// No UI: every path outside the routes answers a 404 problem.
    pub fn none() -> Self {
        Self {
            source: Source::None,
        }
    }
}

/// Serves the UI for every request no route took.
pub(crate) async fn fallback(State(ui): State<WebUi>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let readable = matches!(*request.method(), Method::GET | Method::HEAD);
    if !readable || path.starts_with("/api/") || path == "/api" {
        return Problem::not_found(&path).into_response();
    }
    let response = match ui.source {
        Source::None => return Problem::not_found(&path).into_response(),
        Source::Embedded => match embedded(&path, request.headers()) {
            Ok(response) => response,
            Err(problem) => return problem.into_response(),
        },
        Source::Dir(dir) => match from_dir(&dir, &path, request).await {
            Ok(response) => response,
            Err(problem) => return problem.into_response(),
        },
    };
    with_headers(response, &path)
}

/// Whether the last segment of `path` names a file (an asset), not a route.
fn names_a_file(path: &str) -> bool {
    path.rsplit('/').next().unwrap_or_default().contains('.')
}

/// A file of the UI built into the binary, with a strong ETag (its SHA-256)
/// and 304 for a request that already has it.
fn embedded(path: &str, headers: &HeaderMap) -> Result<Response, Problem> {
    let Some(index) = Embedded::get("index.html") else {
        return Err(not_built().with_detail(
            "this hangar binary was built without its web UI (npm was not found when it was built); \
             rebuild it with Node.js 20.19+ and npm installed, or set http.web_dir to a built web/dist",
        ));
    };
    let file = if names_a_file(path) {
        match Embedded::get(path.trim_start_matches('/')) {
            Some(file) => file,
            None => return Err(Problem::not_found(path)),
        }
    } else {
        index
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(Body::from(file.data));
        if let Ok(value) = HeaderValue::from_str(file.metadata.mimetype()) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// A file of the UI in `dir`.
async fn from_dir(
    dir: &std::path::Path,
    path: &str,
    request: Request,
) -> Result<Response, Problem> {
    let index = dir.join("index.html");
    if !index.is_file() {
        return Err(not_built().with_detail(format!(
            "http.web_dir `{}` has no index.html; build it with `npm ci && npm run build` in web/, \
             or leave http.web_dir empty for the UI built into the binary",
            dir.display()
        )));
    }
    Ok(if names_a_file(path) {
        // A file (an asset): served if it exists, 404 otherwise.
        match ServeDir::new(dir).oneshot(request).await {
            Ok(response) if response.status() == StatusCode::NOT_FOUND => {
                return Err(Problem::not_found(path));
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
    })
}

fn not_built() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "web-ui-not-built",
        "The web UI is not built",
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
