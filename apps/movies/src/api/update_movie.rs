//! `PATCH /api/v1/movies/{id}` (admins): changes some fields of a film.

use axum::Json;
use axum::extract::{Path, State};
use hangar_api::{Admin, ApiJson, Problem};
use hangar_store::placeholders::for_dialect;
use hangar_store::{Store, on_pool};

use super::create_movie::{placeholder, timestamp};
use super::input::{MovieInput, key};
use super::{movie_id, no_movie};
use crate::bind_all;
use crate::model::{Bind, Movie};
use crate::query::film;
use hangar_api::problem::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnprocessableEntity,
    UnsupportedMediaType,
};

/// Changes the fields given; `null` clears a field.
#[utoipa::path(
    patch,
    path = "/api/v1/movies/{id}",
    tag = "movies",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The film's id")),
    request_body = MovieInput,
    responses(
        (status = 200, description = "The film as changed", body = Movie),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
pub async fn update_movie(
    State(store): State<Store>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MovieInput>,
) -> Result<Json<Movie>, Problem> {
    let id = movie_id(&id)?;
    let columns = input.columns(false)?;
    let current = film(&store, id).await?.ok_or_else(|| no_movie(id))?;
    if columns.sets.is_empty() {
        return Ok(Json(current));
    }
    let dialect = store.dialect();
    let title = columns
        .title
        .clone()
        .unwrap_or_else(|| current.title.clone());
    let year = columns.year.unwrap_or(current.release_year);
    let mut sets = vec![
        "key = ?".to_owned(),
        format!("updated_at = {}", timestamp(dialect)),
    ];
    let mut binds = vec![
        Bind::Text(key(&title, year)),
        Bind::Text(chrono::Utc::now().to_rfc3339()),
    ];
    for (name, bind, is_date) in columns.sets {
        sets.push(format!("{name} = {}", placeholder(dialect, &bind, is_date)));
        if bind != Bind::Null {
            binds.push(bind);
        }
    }
    binds.push(Bind::Int(id));
    let sql = for_dialect(
        dialect,
        format!("UPDATE movies SET {} WHERE id = ?", sets.join(", ")),
    );
    let result = on_pool!(store.writer(), pool => {
        bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), &binds)
            .execute(pool)
            .await
            .map(|_| ())
    });
    match result {
        Ok(()) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(
                Problem::new(axum::http::StatusCode::CONFLICT, "conflict", "Conflict")
                    .with_detail("another film has this title and year"),
            );
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(movie = id, admin = caller.user_id, "movie updated");
    film(&store, id)
        .await?
        .map(Json)
        .ok_or_else(|| no_movie(id))
}
