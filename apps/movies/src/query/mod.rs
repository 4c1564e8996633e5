//! The movies app's read queries, under both of its faces: the HTTP handlers
//! (`crate::api`) and the terminal's `movies` command (`crate::terminal`).
//!
//! | query | file | HTTP | terminal |
//! |---|---|---|---|
//! | [`search`] | `search.rs` | `GET /api/v1/movies` | `movies search` |
//! | [`top`] | `top.rs` | `GET /api/v1/movies/top` | `movies top` |
//! | [`stats`] | `stats.rs` | `GET /api/v1/movies/stats` | `movies stats` |
//! | [`film`] | `film.rs` | `GET /api/v1/movies/{id}` | `movies show` |
//!
//! Inputs are typed values checked when they are made ([`Limit`], [`Sort`],
//! [`Metric`]) or when the query runs ([`Filters`], search words); every refusal
//! is a [`QueryError`] whose text names the input and what to do. The faces
//! turn it into their own error: a problem document for HTTP, a line of text
//! for the terminal. Nothing here knows about either.

mod film;
mod search;
mod stats;
mod top;

use hangar_store::{StoreError, Value};

pub use film::film;
pub use search::{After, Search, SearchPage, Sort, search};
pub use stats::{GenreStats, MovieStats, YearStats, stats};
pub use top::{Metric, Top, top};

/// Most films one query returns.
pub const MAX_LIMIT: u32 = 100;

/// Why a query gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// An input the query refuses; the text names it (`limit: 0 is not from 1 to 100`).
    #[error("{0}")]
    Invalid(String),
    /// A position to continue from that this listing did not give.
    #[error("cursor: not a cursor from this list; pass the `next_cursor` of the previous page")]
    BadCursor,
    /// The store failed; nothing the caller can change.
    #[error("movies query failed: {0}")]
    Store(#[from] StoreError),
}

impl QueryError {
    fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

/// How many films a query returns: from 1 to [`MAX_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    /// `n`, if it is from 1 to [`MAX_LIMIT`]; the error names the input `name`.
    pub fn new(name: &str, n: u32) -> Result<Self, QueryError> {
        if (1..=MAX_LIMIT).contains(&n) {
            Ok(Self(n))
        } else {
            Err(QueryError::invalid(format!(
                "{name}: {n} is not from 1 to {MAX_LIMIT}"
            )))
        }
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Conditions on the films, shared by [`search`] and [`top`]; checked when
/// the query runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Major genre, exactly.
    pub genre: Option<String>,
    /// Distributor, exactly.
    pub distributor: Option<String>,
    /// Earliest release year.
    pub year_min: Option<i32>,
    /// Latest release year.
    pub year_max: Option<i32>,
    /// Lowest IMDb rating, 0–10.
    pub rating_min: Option<f64>,
    /// Highest IMDb rating, 0–10.
    pub rating_max: Option<f64>,
}

impl Filters {
    /// Checks the filters and adds their conditions.
    fn apply(self, clauses: &mut Vec<String>, binds: &mut Vec<Value>) -> Result<(), QueryError> {
        for (name, rating) in [
            ("rating_min", self.rating_min),
            ("rating_max", self.rating_max),
        ] {
            if let Some(r) = rating
                && !(0.0..=10.0).contains(&r)
            {
                return Err(QueryError::invalid(format!(
                    "{name}: {r} is not an IMDb rating from 0 to 10"
                )));
            }
        }
        if let (Some(min), Some(max)) = (self.year_min, self.year_max)
            && min > max
        {
            return Err(QueryError::invalid(format!(
                "year_min {min} is after year_max {max}"
            )));
        }
        if let (Some(min), Some(max)) = (self.rating_min, self.rating_max)
            && min > max
        {
            return Err(QueryError::invalid(format!(
                "rating_min {min} is above rating_max {max}"
            )));
        }
        if let Some(genre) = self.genre {
            clauses.push("m.major_genre = ?".to_owned());
            binds.push(Value::Text(genre));
        }
        if let Some(distributor) = self.distributor {
            clauses.push("m.distributor = ?".to_owned());
            binds.push(Value::Text(distributor));
        }
        if let Some(year) = self.year_min {
            clauses.push("m.release_year >= ?".to_owned());
            binds.push(Value::Int(year.into()));
        }
        if let Some(year) = self.year_max {
            clauses.push("m.release_year <= ?".to_owned());
            binds.push(Value::Int(year.into()));
        }
        if let Some(rating) = self.rating_min {
            clauses.push("m.imdb_rating >= ?".to_owned());
            binds.push(Value::Real(rating));
        }
        if let Some(rating) = self.rating_max {
            clauses.push("m.imdb_rating <= ?".to_owned());
            binds.push(Value::Real(rating));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_filters_name_what_they_refuse() {
        assert_eq!(Limit::new("n", 100).map(Limit::get).ok(), Some(100));
        assert_eq!(
            Limit::new("limit", 0).unwrap_err().to_string(),
            "limit: 0 is not from 1 to 100"
        );
        let refused = |filters: Filters| {
            filters
                .apply(&mut Vec::new(), &mut Vec::new())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refused(Filters {
                rating_max: Some(11.0),
                ..Filters::default()
            }),
            "rating_max: 11 is not an IMDb rating from 0 to 10"
        );
        assert_eq!(
            refused(Filters {
                year_min: Some(2000),
                year_max: Some(1990),
                ..Filters::default()
            }),
            "year_min 2000 is after year_max 1990"
        );
        let (mut clauses, mut binds) = (Vec::new(), Vec::new());
        Filters {
            genre: Some("Drama".to_owned()),
            year_min: Some(1990),
            ..Filters::default()
        }
        .apply(&mut clauses, &mut binds)
        .unwrap();
        assert_eq!(clauses, ["m.major_genre = ?", "m.release_year >= ?"]);
        assert_eq!(binds, [Value::Text("Drama".to_owned()), Value::Int(1990)]);
    }
}
