//! The OpenAPI 3.1 document, assembled from the `#[utoipa::path]` annotations of
//! every route, served at `/api/openapi.json` and browsable at `/api/docs`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi};
use utoipa::{Modify, OpenApi as _};

use crate::problem::Problem;
use crate::problem::responses::{
    BadGateway, BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable,
    TooManyRequests, Unauthorized, UnprocessableEntity, UnsupportedMediaType,
};

/// Path of the document.
pub const OPENAPI_PATH: &str = "/api/openapi.json";
/// Path of the docs UI.
pub const DOCS_PATH: &str = "/api/docs";

#[derive(utoipa::OpenApi)]
#[openapi(
    components(
        schemas(Problem),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            UnprocessableEntity,
            TooManyRequests,
            BadGateway,
            ServiceUnavailable
        )
    ),
    modifiers(&Bearer)
)]
struct Base;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi
            .components
            .get_or_insert_with(|| ComponentsBuilder::new().build());
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from POST /api/v1/auth/login, or the admin token (api.admin_token)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document's frame: title, version, the problem schema and its reusable
/// responses, the bearer scheme.
pub fn base() -> OpenApi {
    let mut api = Base::openapi();
    api.info = InfoBuilder::new()
        .title("Hangar API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Hangar's HTTP API. Errors are RFC 9457 problem details \
             (application/problem+json) whose `type` is a stable URN. Lists page with \
             `cursor`/`next_cursor`. POSTs accept an `Idempotency-Key` header.",
        ))
        .build();
    api
}
