//! Counts and mean ratings, overall, by genre, by year.

use hangar_store::{FromRead, Query, Row, Store, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use super::QueryError;

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
#[derive(Debug, Clone, Serialize, ToSchema)]
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
#[derive(Debug, Clone, Serialize, ToSchema)]
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

/// A row of the one statement behind [`stats`]: the totals (part 0), a genre
/// (part 1) or a year (part 2).
struct Part {
    part: i64,
    genre: Option<String>,
    year: Option<i64>,
    movies: i64,
    mean_imdb_rating: Option<f64>,
    mean_rotten_tomatoes_rating: Option<f64>,
}

impl FromRead for Part {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Part {
            part: row.get("part")?,
            genre: row.get("genre")?,
            year: row.get("year")?,
            movies: row.get("movies")?,
            mean_imdb_rating: row.get("mean_imdb_rating")?,
            mean_rotten_tomatoes_rating: row.get("mean_rotten_tomatoes_rating")?,
        })
    }
}

const MEANS: &str = "CAST(AVG(imdb_rating) AS DOUBLE PRECISION) AS mean_imdb_rating, \
    CAST(AVG(rotten_tomatoes_rating) AS DOUBLE PRECISION) AS mean_rotten_tomatoes_rating";

/// Counts and means of the whole table, by genre and by year, from one
/// statement, so that all three come from the same snapshot.
pub async fn stats(store: &Store) -> Result<MovieStats, QueryError> {
    let query = Query::new(format!(
        "SELECT part, genre, year, movies, mean_imdb_rating, mean_rotten_tomatoes_rating FROM (\
         SELECT CAST(0 AS BIGINT) AS part, CAST(NULL AS TEXT) AS genre, \
         CAST(NULL AS BIGINT) AS year, COUNT(*) AS movies, {MEANS} FROM movies \
         UNION ALL SELECT 1, major_genre, NULL, COUNT(*), {MEANS} FROM movies GROUP BY major_genre \
         UNION ALL SELECT 2, NULL, CAST(release_year AS BIGINT), COUNT(*), {MEANS} FROM movies \
         GROUP BY release_year) AS parts \
         ORDER BY part, CASE WHEN part = 1 THEN -movies ELSE 0 END, (genre IS NULL), genre, \
         (year IS NULL), year"
    ));
    let mut stats = MovieStats {
        total: 0,
        mean_imdb_rating: None,
        mean_rotten_tomatoes_rating: None,
        by_genre: Vec::new(),
        by_year: Vec::new(),
    };
    for part in store.read_all::<Part>(&query).await? {
        let (movies, mean_imdb_rating, mean_rotten_tomatoes_rating) = (
            part.movies,
            part.mean_imdb_rating,
            part.mean_rotten_tomatoes_rating,
        );
        match part.part {
            0 => {
                stats.total = movies;
                stats.mean_imdb_rating = mean_imdb_rating;
                stats.mean_rotten_tomatoes_rating = mean_rotten_tomatoes_rating;
            }
            1 => stats.by_genre.push(GenreStats {
                genre: part.genre,
                movies,
                mean_imdb_rating,
                mean_rotten_tomatoes_rating,
            }),
            _ => stats.by_year.push(YearStats {
                year: part.year,
                movies,
                mean_imdb_rating,
                mean_rotten_tomatoes_rating,
            }),
        }
    }
    Ok(stats)
}
