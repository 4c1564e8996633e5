//! `PATCH /api/v1/movies/{id}` (admins): changes some fields of a film.

use axum::Json;
use axum::extract::{Path, State};
use hangar_api::{Admin, ApiJson, Problem};
use hangar_store::placeholders::for_dialect;
use hangar_store::{Store, on_pool};

use super::create_movie::{placeholder, timestamp};
use super::input::{MovieInput, key};
use super::{movie_id, no_movie, store_problem};
use crate::bind_all;
use crate::model::{Bind, Movie};
use crate::query::film;

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
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No film has this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another film has the new title and year", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
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
        Err(e) => return Err(store_problem(e)),
    }
    tracing::info!(movie = id, admin = caller.user_id, "movie updated");
    film(&store, id)
        .await?
        .map(Json)
        .ok_or_else(|| no_movie(id))
}
