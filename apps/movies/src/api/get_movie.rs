//! `GET /api/v1/movies/{id}`: one film.

use axum::Json;
use axum::extract::{Path, State};
use hangar_api::Problem;
use hangar_store::Store;

use super::{movie_id, no_movie};
use crate::model::Movie;
use crate::query::film;
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
    film(&store, id)
        .await?
        .map(Json)
        .ok_or_else(|| no_movie(id))
}
