//! `POST /api/v1/movies` (admins): adds a film.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hangar_api::{Admin, ApiJson, Problem};
use hangar_store::placeholders::for_dialect;
use hangar_store::{Dialect, Store, on_pool};

use super::input::{MovieInput, NewMovie, key};
use crate::bind_all;
use crate::model::{Bind, Movie};
use crate::query::film;
use hangar_api::problem::responses::{
    BadRequest, Conflict, Forbidden, PayloadTooLarge, Unauthorized, UnprocessableEntity,
    UnsupportedMediaType,
};

/// Adds a film. Its key (title and year) must be new.
#[utoipa::path(
    post,
    path = "/api/v1/movies",
    tag = "movies",
    security(("bearer" = [])),
    request_body = NewMovie,
    responses(
        (status = 201, description = "Added", body = Movie),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
pub async fn create_movie(
    State(store): State<Store>,
    Admin(caller): Admin,
    ApiJson(input): ApiJson<MovieInput>,
) -> Result<Response, Problem> {
    let columns = input.columns(true)?;
    let title = columns.title.clone().unwrap_or_default();
    let key = key(&title, columns.year.flatten());
    let now = chrono::Utc::now();
    let dialect = store.dialect();
    let mut names = vec!["key", "created_at", "updated_at"];
    let stamp = match dialect {
        Dialect::Sqlite => Bind::Text(now.to_rfc3339()),
        Dialect::Postgres => Bind::Text(now.to_rfc3339()),
    };
    let mut values = vec![
        "?".to_owned(),
        timestamp(dialect).to_owned(),
        timestamp(dialect).to_owned(),
    ];
    let mut binds = vec![Bind::Text(key.clone()), stamp.clone(), stamp];
    for (name, bind, is_date) in columns.sets {
        names.push(name);
        values.push(placeholder(dialect, &bind, is_date));
        if bind != Bind::Null {
            binds.push(bind);
        }
    }
    let sql = for_dialect(
        dialect,
        format!(
            "INSERT INTO movies ({}) VALUES ({}) ON CONFLICT (key) DO NOTHING RETURNING id",
            names.join(", "),
            values.join(", ")
        ),
    );
    let id: Option<i64> = on_pool!(store.writer(), pool => {
        bind_all!(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.as_str())), &binds)
            .fetch_optional(pool)
            .await
    })?;
    let Some(id) = id else {
        return Err(
            Problem::new(StatusCode::CONFLICT, "conflict", "Conflict").with_detail(format!(
                "a film with the key `{key}` (its title and year) exists; update it instead"
            )),
        );
    };
    tracing::info!(movie = id, admin = caller.user_id, "movie added");
    let movie = film(&store, id).await?.ok_or_else(Problem::internal)?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/movies/{id}"))],
        Json(movie),
    )
        .into_response())
}

/// The placeholder of a value: the literal `NULL` for nulls, a cast for dates on
/// PostgreSQL (SQLite keeps dates as text).
pub(crate) fn placeholder(dialect: Dialect, bind: &Bind, is_date: bool) -> String {
    match (bind, dialect, is_date) {
        (Bind::Null, _, _) => "NULL".to_owned(),
        (_, Dialect::Postgres, true) => "CAST(? AS DATE)".to_owned(),
        _ => "?".to_owned(),
    }
}

/// The placeholder of a timestamp bound as RFC 3339 text.
pub(crate) fn timestamp(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "?",
        Dialect::Postgres => "CAST(? AS TIMESTAMPTZ)",
    }
}
