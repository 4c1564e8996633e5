//! `GET /api/v1/movies/stats`: counts and mean ratings, overall, by genre, by year.

use axum::Json;
use axum::extract::State;
use hangar_api::Problem;
use hangar_store::{Store, on_pool};
use serde::Serialize;
use utoipa::ToSchema;

/// Aggregates over every film, computed from the movies table as it is now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MovieStats {
    /// Number of films.
    pub total: i64,
    /// Mean IMDb rating of the films that have one.
    pub mean_imdb_rating: Option<f64>,
    /// Mean Rotten Tomatoes rating of the films that have one.
    pub mean_rotten_tomatoes_rating: Option<f64>,
    /// By major genre, most films first; films without a genre under `null`.
    pub by_genre: Vec<GenreStats>,
    /// By release year, oldest first; films without a date under `null`.
    pub by_year: Vec<YearStats>,
}

/// The films of one genre.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct GenreStats {
    /// The major genre.
    pub genre: Option<String>,
    /// Number of films.
    pub movies: i64,
    /// Mean IMDb rating.
    pub mean_imdb_rating: Option<f64>,
    /// Mean Rotten Tomatoes rating.
    pub mean_rotten_tomatoes_rating: Option<f64>,
}

/// The films of one release year.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct YearStats {
    /// The release year.
    pub year: Option<i64>,
    /// Number of films.
    pub movies: i64,
    /// Mean IMDb rating.
    pub mean_imdb_rating: Option<f64>,
    /// Mean Rotten Tomatoes rating.
    pub mean_rotten_tomatoes_rating: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct Totals {
    total: i64,
    mean_imdb_rating: Option<f64>,
    mean_rotten_tomatoes_rating: Option<f64>,
}

const MEANS: &str = "CAST(AVG(imdb_rating) AS DOUBLE PRECISION) AS mean_imdb_rating, \
    CAST(AVG(rotten_tomatoes_rating) AS DOUBLE PRECISION) AS mean_rotten_tomatoes_rating";

/// Counts and mean ratings.
#[utoipa::path(
    get,
    path = "/api/v1/movies/stats",
    tag = "movies",
    responses((status = 200, description = "The aggregates", body = MovieStats))
)]
pub async fn movie_stats(State(store): State<Store>) -> Result<Json<MovieStats>, Problem> {
    stats(&store).await.map(Json)
}

/// The aggregates, in one read transaction so that they agree with each other.
pub(crate) async fn stats(store: &Store) -> Result<MovieStats, Problem> {
    let totals = format!("SELECT COUNT(*) AS total, {MEANS} FROM movies");
    let by_genre = format!(
        "SELECT major_genre AS genre, COUNT(*) AS movies, {MEANS} FROM movies \
         GROUP BY major_genre ORDER BY COUNT(*) DESC, (major_genre IS NULL), major_genre"
    );
    let by_year = format!(
        "SELECT CAST(release_year AS BIGINT) AS year, COUNT(*) AS movies, {MEANS} \
         FROM movies GROUP BY release_year ORDER BY (release_year IS NULL), release_year"
    );
    on_pool!(store, pool => {
        async {
            let mut tx = pool.begin().await?;
            let totals: Totals = sqlx::query_as(sqlx::AssertSqlSafe(totals)).fetch_one(&mut *tx).await?;
            let by_genre = sqlx::query_as(sqlx::AssertSqlSafe(by_genre)).fetch_all(&mut *tx).await?;
            let by_year = sqlx::query_as(sqlx::AssertSqlSafe(by_year)).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(MovieStats {
                total: totals.total,
                mean_imdb_rating: totals.mean_imdb_rating,
                mean_rotten_tomatoes_rating: totals.mean_rotten_tomatoes_rating,
                by_genre,
                by_year,
            })
        }
        .await
    })
    .map_err(Problem::from)
}
