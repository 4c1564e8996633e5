//! `GET /api/v1/movies`: search, filter, sort and page through the films.

use axum::Json;
use axum::extract::State;
use hangar_api::{ApiQuery, Problem, bad_cursor, decode_cursor, encode_cursor};
use hangar_store::placeholders::for_dialect;
use hangar_store::{Dialect, Store, on_pool};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::model::{Bind, MOVIE_COLUMNS, Movie};
use super::{Filters, MAX_LIMIT};
use crate::bind_all;
use hangar_api::problem::responses::BadRequest;

/// Query parameters of the list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Words of the title (prefixes match: `star wa`); results by relevance unless
    /// `sort` is given. Up to 200 characters, at least one letter or digit.
    #[param(min_length = 1, max_length = 200, pattern = r"[\p{L}\p{N}]")]
    pub q: Option<String>,
    /// Major genre, exactly (e.g. `Drama`).
    pub genre: Option<String>,
    /// Distributor, exactly (e.g. `Warner Bros.`).
    pub distributor: Option<String>,
    /// Earliest release year.
    pub year_min: Option<i32>,
    /// Latest release year.
    pub year_max: Option<i32>,
    /// Lowest IMDb rating (0–10).
    #[param(minimum = 0, maximum = 10)]
    pub rating_min: Option<f64>,
    /// Highest IMDb rating (0–10).
    #[param(minimum = 0, maximum = 10)]
    pub rating_max: Option<f64>,
    /// A field to sort by, `-` in front for descending: id, title, release_year,
    /// imdb_rating, imdb_votes, rotten_tomatoes_rating, running_time_min, us_gross,
    /// worldwide_gross, production_budget. Films without a value come last.
    #[param(
        pattern = r"^-?(id|title|release_year|imdb_rating|imdb_votes|rotten_tomatoes_rating|running_time_min|us_gross|worldwide_gross|production_budget)$"
    )]
    pub sort: Option<String>,
    /// Films per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// A page of the films that match, and how many match in all.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MoviePage {
    /// The films of this page, in the requested order.
    pub items: Vec<Movie>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many films match the search and filters, on every page together.
    pub total: i64,
}

/// Sortable fields: name, column, and whether its values are real numbers.
const SORTS: &[(&str, &str, Kind)] = &[
    ("id", "m.id", Kind::Int),
    ("title", "m.title", Kind::Text),
    ("release_year", "m.release_year", Kind::Int),
    ("imdb_rating", "m.imdb_rating", Kind::Real),
    ("imdb_votes", "m.imdb_votes", Kind::Int),
    (
        "rotten_tomatoes_rating",
        "m.rotten_tomatoes_rating",
        Kind::Int,
    ),
    ("running_time_min", "m.running_time_min", Kind::Int),
    ("us_gross", "m.us_gross", Kind::Int),
    ("worldwide_gross", "m.worldwide_gross", Kind::Int),
    ("production_budget", "m.production_budget", Kind::Int),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Real,
    Text,
}

/// The order of a listing.
#[derive(Debug, Clone, Copy)]
enum Order {
    /// By search relevance, best first.
    Relevance,
    /// By a field of [`SORTS`].
    Field {
        name: &'static str,
        column: &'static str,
        kind: Kind,
        descending: bool,
    },
}

/// Where the previous page ended: its last film's sort value and id, or, for a
/// search by relevance, [`OFFSET`] and the position of the next film.
type CursorKey = (Value, i64);

/// Marks a cursor that counts positions.
const OFFSET: &str = "offset";

/// Lists films.
#[utoipa::path(
    get,
    path = "/api/v1/movies",
    tag = "movies",
    params(ListParams),
    responses(
        (status = 200, description = "A page of films", body = MoviePage),
        (status = 400, response = BadRequest),
    )
)]
pub async fn list_movies(
    State(store): State<Store>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<MoviePage>, Problem> {
    page(&store, params).await.map(Json)
}

/// A page of films and their total: the list's and the terminal's search.
pub(crate) async fn page(store: &Store, params: ListParams) -> Result<MoviePage, Problem> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "limit: {limit} is not from 1 to {MAX_LIMIT}"
        )));
    }
    let order = match params.sort.as_deref() {
        None if params.q.is_some() => Order::Relevance,
        None => order_by("id")?,
        Some(sort) => order_by(sort)?,
    };
    let filters = Filters {
        genre: params.genre,
        distributor: params.distributor,
        year_min: params.year_min,
        year_max: params.year_max,
        rating_min: params.rating_min,
        rating_max: params.rating_max,
    };
    let after = params
        .cursor
        .as_deref()
        .map(decode_cursor::<CursorKey>)
        .transpose()?;
    let dialect = store.dialect();

    let mut binds = Vec::new();
    let mut clauses = Vec::new();
    let (from, rank) = match params.q.as_deref() {
        Some(q) => search(dialect, q, &mut binds, &mut clauses)?,
        None => (
            "movies m".to_owned(),
            "CAST(0 AS DOUBLE PRECISION)".to_owned(),
        ),
    };
    filters.apply(&mut clauses, &mut binds)?;
    // Every match, on this page or another: the conditions before the cursor's.
    let mut count_sql = format!("SELECT COUNT(*) FROM {from}");
    if !clauses.is_empty() {
        count_sql.push_str(" WHERE ");
        count_sql.push_str(&clauses.join(" AND "));
    }
    let count_sql = for_dialect(dialect, count_sql);
    let count_binds = binds.clone();
    let mut offset = 0;
    let order_sql = match order {
        // Relevance is a float computed per query (and not bit-for-bit the same
        // in a WHERE clause as in the ORDER BY), so a search pages by position.
        Order::Relevance => {
            if let Some((marker, position)) = &after {
                if marker.as_str() != Some(OFFSET) || *position < 0 {
                    return Err(bad_cursor());
                }
                offset = *position;
            }
            format!("{rank}, m.id")
        }
        Order::Field {
            name,
            column,
            kind,
            descending,
        } => {
            if let Some((value, id)) = after {
                if value.as_str() == Some(OFFSET) {
                    return Err(bad_cursor());
                }
                keyset(
                    column,
                    kind,
                    descending,
                    &value,
                    id,
                    &mut clauses,
                    &mut binds,
                )?;
            }
            let dir = if descending { "DESC" } else { "ASC" };
            if name == "id" {
                format!("m.id {dir}")
            } else {
                format!("({column} IS NULL), {column} {dir}, m.id")
            }
        }
    };
    let mut sql = format!("SELECT {MOVIE_COLUMNS} FROM {from}");
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(&format!(
        " ORDER BY {order_sql} LIMIT {} OFFSET {offset}",
        limit + 1
    ));
    let sql = for_dialect(dialect, sql);

    let mut rows: Vec<Movie> = on_pool!(store, pool => {
        bind_all!(sqlx::query_as::<_, Movie>(sqlx::AssertSqlSafe(sql.as_str())), &binds)
            .fetch_all(pool)
            .await
    })?;

    let total: i64 = on_pool!(store, pool => {
        bind_all!(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql.as_str())), &count_binds)
            .fetch_one(pool)
            .await
    })?;

    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => {
            let key: CursorKey = match order {
                Order::Relevance => (Value::from(OFFSET), offset + i64::from(limit)),
                Order::Field { name, .. } => (
                    serde_json::to_value(last)
                        .ok()
                        .and_then(|m| m.get(name).cloned())
                        .unwrap_or(Value::Null),
                    last.id,
                ),
            };
            Some(encode_cursor(&key))
        }
        _ => None,
    };
    Ok(MoviePage {
        items: rows,
        next_cursor,
        total,
    })
}

fn order_by(sort: &str) -> Result<Order, Problem> {
    let (descending, name) = match sort.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, sort),
    };
    SORTS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(name, column, kind)| Order::Field {
            name,
            column,
            kind,
            descending,
        })
        .ok_or_else(|| {
            let names: Vec<&str> = SORTS.iter().map(|s| s.0).collect();
            Problem::bad_request(format!(
                "sort: `{name}` is not a sortable field; use one of {} (prefix `-` for descending)",
                names.join(", ")
            ))
        })
}

/// Most words a search may have, and its longest text.
const MAX_WORDS: usize = 16;
const MAX_QUERY_CHARS: usize = 200;

/// The words of a search: runs of letters and digits, each matched as a prefix.
pub(crate) fn words(q: &str) -> Result<Vec<String>, Problem> {
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(Problem::bad_request(format!(
            "q: longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        return Err(Problem::bad_request(
            "q: give at least one word of letters or digits",
        ));
    }
    if words.len() > MAX_WORDS {
        return Err(Problem::bad_request(format!(
            "q: more than {MAX_WORDS} words"
        )));
    }
    Ok(words)
}

/// The FROM clause and rank expression of a title search, adding its match. It
/// must be the first to add binds: its placeholder comes first in the statement.
fn search(
    dialect: Dialect,
    q: &str,
    binds: &mut Vec<Bind>,
    clauses: &mut Vec<String>,
) -> Result<(String, String), Problem> {
    let words = words(q)?;
    Ok(match dialect {
        Dialect::Sqlite => {
            let query: Vec<String> = words.iter().map(|w| format!("\"{w}\"*")).collect();
            binds.push(Bind::Text(query.join(" ")));
            clauses.push("movies_fts MATCH ?".to_owned());
            (
                "movies_fts JOIN movies m ON m.id = movies_fts.rowid".to_owned(),
                "bm25(movies_fts)".to_owned(),
            )
        }
        Dialect::Postgres => {
            let query: Vec<String> = words.iter().map(|w| format!("{w}:*")).collect();
            binds.push(Bind::Text(query.join(" & ")));
            clauses.push("m.title_search @@ query".to_owned());
            (
                "movies m CROSS JOIN to_tsquery('simple', ?) AS query".to_owned(),
                "(-CAST(ts_rank(m.title_search, query) AS DOUBLE PRECISION))".to_owned(),
            )
        }
    })
}

/// Adds the condition "after (value, id)" in the order `column` (nulls last), then id.
fn keyset(
    column: &str,
    kind: Kind,
    descending: bool,
    value: &Value,
    id: i64,
    clauses: &mut Vec<String>,
    binds: &mut Vec<Bind>,
) -> Result<(), Problem> {
    let bad = bad_cursor;
    if column == "m.id" {
        clauses.push(if descending { "m.id < ?" } else { "m.id > ?" }.to_owned());
        binds.push(Bind::Int(id));
        return Ok(());
    }
    if value.is_null() {
        clauses.push(format!("({column} IS NULL AND m.id > ?)"));
        binds.push(Bind::Int(id));
        return Ok(());
    }
    let bind = match kind {
        Kind::Int => Bind::Int(value.as_i64().ok_or_else(bad)?),
        Kind::Real => Bind::Real(value.as_f64().ok_or_else(bad)?),
        Kind::Text => Bind::Text(value.as_str().ok_or_else(bad)?.to_owned()),
    };
    let op = if descending { "<" } else { ">" };
    clauses.push(format!(
        "(({column} IS NOT NULL AND ({column} {op} ? OR ({column} = ? AND m.id > ?))) OR {column} IS NULL)"
    ));
    binds.extend([bind.clone(), bind, Bind::Int(id)]);
    Ok(())
}
