//! The movie as the API and the terminal show it, and how a row of either dialect
//! becomes one.

use hangar_store::{FromRead, Row, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A film.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Movie {
    /// Hangar's id of the film.
    pub id: i64,
    /// Title, with a trailing article moved to the front ("The Wizard of Oz").
    pub title: String,
    /// Release date, `YYYY-MM-DD`.
    pub release_date: Option<String>,
    /// Release year.
    pub release_year: Option<i64>,
    /// MPAA rating (G, PG, PG-13, R, NC-17, Not Rated).
    pub mpaa_rating: Option<String>,
    /// Running time in minutes.
    pub running_time_min: Option<i64>,
    /// Distributor.
    pub distributor: Option<String>,
    /// Source of the story ("Original Screenplay", "Based on Book/Short Story", …).
    pub source: Option<String>,
    /// Major genre.
    pub major_genre: Option<String>,
    /// Creative type ("Contemporary Fiction", …).
    pub creative_type: Option<String>,
    /// Director.
    pub director: Option<String>,
    /// US box-office gross, US dollars.
    pub us_gross: Option<i64>,
    /// Worldwide box-office gross, US dollars.
    pub worldwide_gross: Option<i64>,
    /// US DVD sales, US dollars.
    pub us_dvd_sales: Option<i64>,
    /// Production budget, US dollars.
    pub production_budget: Option<i64>,
    /// Rotten Tomatoes rating, 0–100.
    pub rotten_tomatoes_rating: Option<i64>,
    /// IMDb rating, 0–10.
    pub imdb_rating: Option<f64>,
    /// Number of IMDb votes.
    pub imdb_votes: Option<i64>,
}

/// A [`Movie`] from a row that starts with the columns of [`MOVIE_COLUMNS`], read
/// by position: a lookup by name scans the columns for each field.
impl FromRead for Movie {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Movie {
            id: row.get(0usize)?,
            title: row.get(1usize)?,
            release_date: row.get(2usize)?,
            release_year: row.get(3usize)?,
            mpaa_rating: row.get(4usize)?,
            running_time_min: row.get(5usize)?,
            distributor: row.get(6usize)?,
            source: row.get(7usize)?,
            major_genre: row.get(8usize)?,
            creative_type: row.get(9usize)?,
            director: row.get(10usize)?,
            us_gross: row.get(11usize)?,
            worldwide_gross: row.get(12usize)?,
            us_dvd_sales: row.get(13usize)?,
            production_budget: row.get(14usize)?,
            rotten_tomatoes_rating: row.get(15usize)?,
            imdb_rating: row.get(16usize)?,
            imdb_votes: row.get(17usize)?,
        })
    }
}

/// The select list of a [`Movie`] from `movies m`, the same on both dialects: dates
/// as text, every whole number as a 64-bit integer.
pub const MOVIE_COLUMNS: &str = "m.id, m.title, CAST(m.release_date AS TEXT) AS release_date, \
    CAST(m.release_year AS BIGINT) AS release_year, m.mpaa_rating, \
    CAST(m.running_time_min AS BIGINT) AS running_time_min, m.distributor, m.source, \
    m.major_genre, m.creative_type, m.director, CAST(m.us_gross AS BIGINT) AS us_gross, \
    CAST(m.worldwide_gross AS BIGINT) AS worldwide_gross, \
    CAST(m.us_dvd_sales AS BIGINT) AS us_dvd_sales, \
    CAST(m.production_budget AS BIGINT) AS production_budget, \
    CAST(m.rotten_tomatoes_rating AS BIGINT) AS rotten_tomatoes_rating, m.imdb_rating, \
    CAST(m.imdb_votes AS BIGINT) AS imdb_votes";

/// A value bound to a statement built at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A real number.
    Real(f64),
    /// SQL NULL, written into the statement as the literal `NULL` and never bound
    /// (a bound null has a type, which PostgreSQL would check against the column).
    Null,
}

/// Binds `binds` in order to a query of either dialect.
#[macro_export]
#[doc(hidden)]
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match bind {
                $crate::model::Bind::Text(v) => query.bind(v.clone()),
                $crate::model::Bind::Int(v) => query.bind(*v),
                $crate::model::Bind::Real(v) => query.bind(*v),
                $crate::model::Bind::Null => query,
            };
        }
        query
    }};
}
