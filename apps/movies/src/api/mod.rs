//! The movies API: the HTTP face of the movies app. The reads are the app's
//! queries (`crate::query`), which know nothing of HTTP; their error becomes a
//! problem document through the one `From<QueryError> for Problem` below.
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
mod get_movie;
mod input;
mod list_movies;
mod movie_stats;
mod top_movies;
mod update_movie;

use axum::http::StatusCode;
use hangar_api::{Problem, bad_cursor};
use hangar_store::Store;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::query::QueryError;

pub use crate::model::Movie;
pub use crate::query::{MAX_LIMIT, MovieStats};
pub use input::MovieInput;
pub use list_movies::{ListParams, MoviePage};
pub use top_movies::TopParams;

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

/// A refused query is the caller's 400; a store failure is logged here, once,
/// and answered 500 without its details (the platform's `From<StoreError>`).
impl From<QueryError> for Problem {
    fn from(err: QueryError) -> Self {
        match err {
            QueryError::Invalid(detail) => Problem::bad_request(detail),
            QueryError::BadCursor => bad_cursor(),
            QueryError::Store(e) => Problem::from(e),
        }
    }
}

/// The problem for an id no film has.
pub(crate) fn no_movie(id: i64) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
        .with_detail(format!("no movie {id}"))
}

/// Parses a film id from the path.
pub(crate) fn movie_id(raw: &str) -> Result<i64, Problem> {
    raw.parse()
        .map_err(|_| Problem::bad_request(format!("`{raw}` is not a movie id (a whole number)")))
}
