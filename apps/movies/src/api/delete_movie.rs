//! `DELETE /api/v1/movies/{id}` (admins): removes a film.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use hangar_api::{Admin, Problem};
use hangar_store::{Store, on_pool};

use super::{movie_id, no_movie};
use hangar_api::problem::responses::{BadRequest, Forbidden, NotFound, Unauthorized};

/// Removes a film.
#[utoipa::path(
    delete,
    path = "/api/v1/movies/{id}",
    tag = "movies",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The film's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn delete_movie(
    State(store): State<Store>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = movie_id(&id)?;
    let deleted = on_pool!(store.writer(), pool => {
        sqlx::query("DELETE FROM movies WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?;
    if deleted == 0 {
        return Err(no_movie(id));
    }
    tracing::info!(movie = id, admin = caller.user_id, "movie deleted");
    Ok(StatusCode::NO_CONTENT)
}
