//! The OpenAPI document's operations as the router enforces them: what the
//! middleware does for every operation is written into the document here, once,
//! and what the document declares is held against each request.
//!
//! - Every POST accepts `Idempotency-Key` (the middleware in `idempotency.rs`), so
//!   every POST operation documents the header, its syntax and the answers it can
//!   cause (400 malformed, 409 still running, 422 reused for another request).
//! - A query parameter an operation does not declare is a 400 naming it, for
//!   every documented operation, whether or not its handler reads a query.
//! - Whether an operation needs credentials, so that a request that has none is
//!   told so (401) before anything else is held against it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr, Required};

use crate::idempotency::{IDEMPOTENCY_KEY_PATTERN, KEY_MAX_LEN};
use crate::problem::Problem;

/// What the document declares about one operation.
#[derive(Debug, Default)]
struct Rules {
    /// Names of its query parameters.
    query: Vec<String>,
    /// Whether it declares a security requirement.
    secured: bool,
}

/// The documented operations, by path template, then method: looked up with
/// the request's borrowed path and method, nothing allocated per request.
#[derive(Debug, Clone, Default)]
pub struct Operations(Arc<HashMap<String, Vec<(Method, Rules)>>>);

impl Operations {
    /// The rules of every operation in `api`.
    pub fn from_document(api: &OpenApi) -> Self {
        let mut rules: HashMap<String, Vec<(Method, Rules)>> = HashMap::new();
        for (path, item) in &api.paths.paths {
            let methods = [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ];
            for (method, operation) in methods {
                let Some(operation) = operation else { continue };
                let query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .chain(item.parameters.iter().flatten())
                    .filter_map(|p| match p {
                        RefOr::T(p) if p.parameter_in == ParameterIn::Query => Some(p.name.clone()),
                        _ => None,
                    })
                    .collect();
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                rules
                    .entry(path.clone())
                    .or_default()
                    .push((method, Rules { query, secured }));
            }
        }
        Self(Arc::new(rules))
    }

    fn rules(&self, method: &Method, path: &str) -> Option<&Rules> {
        self.0
            .get(path)?
            .iter()
            .find_map(|(m, rules)| (m == method).then_some(rules))
    }

    /// Whether the operation matched by `request` declares a security requirement.
    pub(crate) fn secured(&self, request: &Request) -> bool {
        request
            .extensions()
            .get::<MatchedPath>()
            .and_then(|p| self.rules(request.method(), p.as_str()))
            .is_some_and(|r| r.secured)
    }
}

/// Refuses a query parameter the matched operation does not declare. Requests
/// without a query string, and routes outside the document, pass untouched.
pub(crate) async fn declared_query(
    State(operations): State<Operations>,
    request: Request,
    next: Next,
) -> Response {
    let Some(query) = request.uri().query().filter(|q| !q.is_empty()) else {
        return next.run(request).await;
    };
    let rules = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| operations.rules(request.method(), p.as_str()));
    let Some(rules) = rules else {
        return next.run(request).await;
    };
    let unknown = url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, _)| name)
        .find(|name| !rules.query.iter().any(|q| q == name));
    match unknown {
        None => next.run(request).await,
        Some(name) => {
            let allowed = if rules.query.is_empty() {
                "this endpoint takes no query parameters".to_owned()
            } else {
                format!(
                    "expected one of {}",
                    rules
                        .query
                        .iter()
                        .map(|q| format!("`{q}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            Problem::bad_request(format!(
                "query string: unknown parameter `{name}`; {allowed}"
            ))
            .into_response()
        }
    }
}

/// Writes what the `Idempotency-Key` middleware does into every POST operation.
pub fn document_idempotency(api: &mut OpenApi) {
    for item in api.paths.paths.values_mut() {
        if let Some(operation) = item.post.as_mut() {
            document_key(operation);
        }
    }
}

fn document_key(operation: &mut Operation) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    parameters
        .retain(|p| !matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case("idempotency-key")));
    parameters.push(RefOr::T(
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Makes the POST safe to retry: a successful response is saved for a day and \
                 replayed (with `Idempotent-Replayed: true`) for a later request with the same \
                 key and the same body. 1 to 255 visible ASCII characters; a UUID is a good key.",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(KEY_MAX_LEN))
                    .pattern(Some(IDEMPOTENCY_KEY_PATTERN)),
            ))
            .build(),
    ));
    // Reusable responses: their descriptions name the Idempotency-Key cases.
    let answers = [
        (StatusCode::BAD_REQUEST, "BadRequest"),
        (StatusCode::CONFLICT, "Conflict"),
        (StatusCode::UNPROCESSABLE_ENTITY, "UnprocessableEntity"),
    ];
    for (status, response) in answers {
        operation
            .responses
            .responses
            .entry(status.as_u16().to_string())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(response)));
    }
}
