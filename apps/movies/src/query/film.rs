//! One film.

use hangar_store::{Query, Store};

use super::QueryError;
use crate::model::{MOVIE_COLUMNS, Movie};

/// The film with `id`, if there is one.
pub async fn film(store: &Store, id: i64) -> Result<Option<Movie>, QueryError> {
    let query = Query::new(format!(
        "SELECT {MOVIE_COLUMNS} FROM movies m WHERE m.id = ?"
    ))
    .bind(id);
    Ok(store.read_optional(&query).await?)
}
