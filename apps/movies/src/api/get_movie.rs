//! `GET /api/v1/movies/{id}`: one film.

use axum::Json;
use axum::extract::{Path, State};
use hangar_api::Problem;
use hangar_store::placeholders::for_dialect;
use hangar_store::{Store, on_pool};

use super::model::{MOVIE_COLUMNS, Movie};
use super::{movie_id, no_movie};
use hangar_api::problem::responses::{BadRequest, NotFound};

/// Shows a film.
#[utoipa::path(
    get,
    path = "/api/v1/movies/{id}",
    tag = "movies",
    params(("id" = i64, Path, description = "The film's id")),
    responses(
        (status = 200, description = "The film", body = Movie),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_movie(
    State(store): State<Store>,
    Path(id): Path<String>,
) -> Result<Json<Movie>, Problem> {
    let id = movie_id(&id)?;
    find(&store, id)
        .await?
        .map(Json)
        .ok_or_else(|| no_movie(id))
}

/// The film with `id`, if there is one.
pub(crate) async fn find(store: &Store, id: i64) -> Result<Option<Movie>, Problem> {
    let sql = for_dialect(
        store.dialect(),
        format!("SELECT {MOVIE_COLUMNS} FROM movies m WHERE m.id = ?"),
    );
    on_pool!(store, pool => {
        sqlx::query_as::<_, Movie>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(pool)
            .await
    })
    .map_err(Problem::from)
}
