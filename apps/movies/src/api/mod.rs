//! The movies API.
//!
//! | endpoint | file | who |
//! |---|---|---|
//! | `GET /api/v1/movies` | `list_movies.rs` | anyone |
//! | `GET /api/v1/movies/top` | `top_movies.rs` | anyone |
//! | `GET /api/v1/movies/stats` | `movie_stats.rs` | anyone |
//! | `GET /api/v1/movies/{id}` | `get_movie.rs` | anyone |
//! | `POST /api/v1/movies` | `create_movie.rs` | admins |
//! | `PATCH /api/v1/movies/{id}` | `update_movie.rs` | admins |
//! | `DELETE /api/v1/movies/{id}` | `delete_movie.rs` | admins |

mod create_movie;
mod delete_movie;
pub(crate) mod get_movie;
mod input;
pub(crate) mod list_movies;
pub mod model;
pub(crate) mod movie_stats;
pub(crate) mod top_movies;
mod update_movie;

use hangar_api::Problem;
use hangar_store::Store;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use model::Bind;

pub use input::MovieInput;
pub use list_movies::ListParams;
pub use model::Movie;
pub use movie_stats::MovieStats;

/// Most films one request returns.
pub const MAX_LIMIT: u32 = 100;

/// The movies routes.
pub fn routes(store: Store) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(
            list_movies::list_movies,
            create_movie::create_movie
        ))
        .routes(routes!(top_movies::top_movies))
        .routes(routes!(movie_stats::movie_stats))
        .routes(routes!(
            get_movie::get_movie,
            update_movie::update_movie,
            delete_movie::delete_movie
        ))
        .with_state(store)
}

/// Filters shared by the list and the top-N.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    pub genre: Option<String>,
    pub distributor: Option<String>,
    pub year_min: Option<i32>,
    pub year_max: Option<i32>,
    pub rating_min: Option<f64>,
    pub rating_max: Option<f64>,
}

impl Filters {
    /// Checks the filters and adds their conditions.
    pub fn apply(self, clauses: &mut Vec<String>, binds: &mut Vec<Bind>) -> Result<(), Problem> {
        for (name, rating) in [
            ("rating_min", self.rating_min),
            ("rating_max", self.rating_max),
        ] {
            if let Some(r) = rating
                && !(0.0..=10.0).contains(&r)
            {
                return Err(Problem::bad_request(format!(
                    "{name}: {r} is not an IMDb rating from 0 to 10"
                )));
            }
        }
        if let (Some(min), Some(max)) = (self.year_min, self.year_max)
            && min > max
        {
            return Err(Problem::bad_request(format!(
                "year_min {min} is after year_max {max}"
            )));
        }
        if let (Some(min), Some(max)) = (self.rating_min, self.rating_max)
            && min > max
        {
            return Err(Problem::bad_request(format!(
                "rating_min {min} is above rating_max {max}"
            )));
        }
        if let Some(genre) = self.genre {
            clauses.push("m.major_genre = ?".to_owned());
            binds.push(Bind::Text(genre));
        }
        if let Some(distributor) = self.distributor {
            clauses.push("m.distributor = ?".to_owned());
            binds.push(Bind::Text(distributor));
        }
        if let Some(year) = self.year_min {
            clauses.push("m.release_year >= ?".to_owned());
            binds.push(Bind::Int(year.into()));
        }
        if let Some(year) = self.year_max {
            clauses.push("m.release_year <= ?".to_owned());
            binds.push(Bind::Int(year.into()));
        }
        if let Some(rating) = self.rating_min {
            clauses.push("m.imdb_rating >= ?".to_owned());
            binds.push(Bind::Real(rating));
        }
        if let Some(rating) = self.rating_max {
            clauses.push("m.imdb_rating <= ?".to_owned());
            binds.push(Bind::Real(rating));
        }
        Ok(())
    }
}

/// The problem for an id no film has.
pub(crate) fn no_movie(id: i64) -> Problem {
    Problem::new(axum::http::StatusCode::NOT_FOUND, "not-found", "Not found")
        .with_detail(format!("no movie {id}"))
}

/// Parses a film id from the path.
pub(crate) fn movie_id(raw: &str) -> Result<i64, Problem> {
    raw.parse()
        .map_err(|_| Problem::bad_request(format!("`{raw}` is not a movie id (a whole number)")))
}
