//! The problem answers of the OpenAPI document, defined once: each is a reusable
//! response (`#/components/responses/<Name>`) whose body is a [`Problem`] sent
//! as `application/problem+json`. An operation lists the ones it may give:
//!
//! ```ignore
//! responses(
//!     (status = 200, description = "The job", body = JobView),
//!     (status = 401, response = Unauthorized),
//!     (status = 404, response = NotFound),
//! )
//! ```
//!
//! The `type` of the problem says which case of the status it is; the
//! descriptions here list the cases the API has.

use utoipa::ToResponse;

use super::Problem;

/// 400: the request cannot be understood.
#[derive(ToResponse)]
#[response(
    description = "The request is malformed: an unknown query parameter or a bad value, a bad \
                   cursor, malformed JSON, an id of the wrong form, or a malformed `Idempotency-Key` \
                   (`detail` names it)",
    content_type = "application/problem+json"
)]
pub struct BadRequest(pub Problem);

/// 401: credentials are missing or not valid.
#[derive(ToResponse)]
#[response(
    description = "Not signed in, or the credentials are wrong, expired or revoked (`type` says \
                   which; the answer carries `WWW-Authenticate: Bearer`)",
    content_type = "application/problem+json"
)]
pub struct Unauthorized(pub Problem);

/// 403: the caller may not do this.
#[derive(ToResponse)]
#[response(
    description = "Not allowed: not an admin (`forbidden`), a disabled account, closed \
                   registration or a missing invitation, an origin that may not open the \
                   terminal (`type` says which)",
    content_type = "application/problem+json"
)]
pub struct Forbidden(pub Problem);

/// 404: nothing has this id or name.
#[derive(ToResponse)]
#[response(
    description = "Nothing has this id or name, or the admin token has no account (`detail` \
                   says what was looked for)",
    content_type = "application/problem+json"
)]
pub struct NotFound(pub Problem);

/// 409: the request conflicts with the current state.
#[derive(ToResponse)]
#[response(
    description = "The request conflicts with what exists: a taken key or address, the last \
                   enabled admin, a job or run in a state the action does not apply to, or a request \
                   with the same `Idempotency-Key` still being handled \
                   (`idempotency-in-progress`, retry after `Retry-After`)",
    content_type = "application/problem+json"
)]
pub struct Conflict(pub Problem);

/// 413: the body is larger than the endpoint accepts.
#[derive(ToResponse)]
#[response(
    description = "The body is larger than this endpoint accepts (`http.body_limit` unless the \
                   endpoint says otherwise)",
    content_type = "application/problem+json"
)]
pub struct PayloadTooLarge(pub Problem);

/// 415: the body is not JSON.
#[derive(ToResponse)]
#[response(
    description = "The body is not sent as JSON (`Content-Type: application/json`)",
    content_type = "application/problem+json"
)]
pub struct UnsupportedMediaType(pub Problem);

/// 422: a well-formed body with invalid fields.
#[derive(ToResponse)]
#[response(
    description = "Well-formed JSON with invalid, unknown or missing fields, each named in \
                   `detail` (and listed in `errors` when there are several); or an `Idempotency-Key` \
                   used for a different request (`idempotency-key-reused`)",
    content_type = "application/problem+json"
)]
pub struct UnprocessableEntity(pub Problem);

/// 429: too many requests; `Retry-After` says when to try again.
#[derive(ToResponse)]
#[response(
    description = "Too many requests from this address (sign-ins, registrations, or bearer \
                   tokens that are not valid); `Retry-After` says when to try again",
    content_type = "application/problem+json"
)]
pub struct TooManyRequests(pub Problem);

/// 502: an upstream service failed.
#[derive(ToResponse)]
#[response(
    description = "A service this request depends on (the OpenID Connect provider) could not \
                   be reached or gave an answer that could not be used",
    content_type = "application/problem+json"
)]
pub struct BadGateway(pub Problem);

/// 503: a feature or a backend is not available.
#[derive(ToResponse)]
#[response(
    description = "Not available: a feature that is not configured (accounts without \
                   `auth.jwt_secret`), or a backend that is down (`Retry-After` when it is \
                   expected back)",
    content_type = "application/problem+json"
)]
pub struct ServiceUnavailable(pub Problem);

/// The answers every admin operation may give before it runs: not signed in,
/// not an admin, too many bearer tokens that are not valid.
#[derive(utoipa::IntoResponses)]
pub enum AdminErrors {
    /// 401.
    #[response(status = 401)]
    Unauthorized(#[ref_response] Unauthorized),
    /// 403.
    #[response(status = 403)]
    Forbidden(#[ref_response] Forbidden),
    /// 429.
    #[response(status = 429)]
    TooManyRequests(#[ref_response] TooManyRequests),
}
