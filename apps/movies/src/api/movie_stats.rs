//! `GET /api/v1/movies/stats`: counts and mean ratings, overall, by genre, by year.

use axum::Json;
use axum::extract::State;
use hangar_api::Problem;
use hangar_store::Store;

use crate::query::{MovieStats, stats};

/// Counts and mean ratings.
#[utoipa::path(
    get,
    path = "/api/v1/movies/stats",
    tag = "movies",
    responses((status = 200, description = "The aggregates", body = MovieStats))
)]
pub async fn movie_stats(State(store): State<Store>) -> Result<Json<MovieStats>, Problem> {
    Ok(Json(stats(&store).await?))
}
