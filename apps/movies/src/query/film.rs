//! One film.

use hangar_store::placeholders::for_dialect;
use hangar_store::{Store, on_pool};

use super::QueryError;
use crate::model::{MOVIE_COLUMNS, Movie};

/// The film with `id`, if there is one.
pub async fn film(store: &Store, id: i64) -> Result<Option<Movie>, QueryError> {
    let sql = for_dialect(
        store.dialect(),
        format!("SELECT {MOVIE_COLUMNS} FROM movies m WHERE m.id = ?"),
    );
    Ok(on_pool!(store, pool => {
        sqlx::query_as::<_, Movie>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(pool)
            .await
    })?)
}
