//! Search, filter, sort and page through the films.

use hangar_store::{Dialect, FromRead, Query, Row, Store, StoreError, Value as Bind};
use serde_json::Value;

use super::{Filters, Limit, QueryError};
use crate::model::{MOVIE_COLUMNS, Movie};

/// What to list: films whose title has the words of `q`, that `filters` keep,
/// in the order `sort` (by relevance when searching, else by id), `limit` at a
/// time, after the position `after` of a previous page.
#[derive(Debug, Clone)]
pub struct Search {
    /// Words of the title, each matched as a prefix (`star wa`).
    pub q: Option<String>,
    /// Conditions on the films.
    pub filters: Filters,
    /// The order; `None`: by relevance when `q` is given, else by id.
    pub sort: Option<Sort>,
    /// Films per page.
    pub limit: Limit,
    /// Where the previous page ended ([`SearchPage::next`]).
    pub after: Option<After>,
}

/// A page of films, and how many match in all.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// The films of this page, in the requested order.
    pub items: Vec<Movie>,
    /// Where this page ended, when more films match.
    pub next: Option<After>,
    /// How many films match, on every page together.
    pub total: i64,
}

/// Where a page ended, to continue from.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    /// In a search by relevance: the position of the next film.
    Position(i64),
    /// In a sorted listing: the last film's value of the sort field, and its id.
    Key {
        /// The value of the sort field (`null` when the film has none).
        value: Value,
        /// The film's id.
        id: i64,
    },
}

/// A field to sort by, and the direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sort {
    field: &'static Field,
    descending: bool,
}

/// A sortable field: its name, its column, and the kind of its values.
#[derive(Debug, PartialEq)]
struct Field {
    name: &'static str,
    column: &'static str,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Real,
    Text,
}

const fn field(name: &'static str, column: &'static str, kind: Kind) -> Field {
    Field { name, column, kind }
}

/// The sortable fields.
static FIELDS: [Field; 10] = [
    field("id", "m.id", Kind::Int),
    field("title", "m.title", Kind::Text),
    field("release_year", "m.release_year", Kind::Int),
    field("imdb_rating", "m.imdb_rating", Kind::Real),
    field("imdb_votes", "m.imdb_votes", Kind::Int),
    field(
        "rotten_tomatoes_rating",
        "m.rotten_tomatoes_rating",
        Kind::Int,
    ),
    field("running_time_min", "m.running_time_min", Kind::Int),
    field("us_gross", "m.us_gross", Kind::Int),
    field("worldwide_gross", "m.worldwide_gross", Kind::Int),
    field("production_budget", "m.production_budget", Kind::Int),
];

impl Sort {
    /// A field name, `-` in front for descending (`-imdb_rating`).
    pub fn parse(sort: &str) -> Result<Self, QueryError> {
        let (descending, name) = match sort.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, sort),
        };
        FIELDS
            .iter()
            .find(|f| f.name == name)
            .map(|field| Self { field, descending })
            .ok_or_else(|| {
                let names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
                QueryError::invalid(format!(
                    "sort: `{name}` is not a sortable field; use one of {} (prefix `-` for descending)",
                    names.join(", ")
                ))
            })
    }

    /// The field's name.
    pub fn name(self) -> &'static str {
        self.field.name
    }
}

/// Most words a search may have, and its longest text.
const MAX_WORDS: usize = 16;
const MAX_QUERY_CHARS: usize = 200;

/// A page of films and their total.
pub async fn search(store: &Store, query: Search) -> Result<SearchPage, QueryError> {
    let Search {
        q,
        filters,
        sort,
        limit,
        after,
    } = query;
    let limit = limit.get();
    let sort = match sort {
        None if q.is_some() => None,
        None => Some(Sort {
            field: &FIELDS[0],
            descending: false,
        }),
        Some(sort) => Some(sort),
    };
    let dialect = store.dialect();

    let mut binds = Vec::new();
    let mut clauses = Vec::new();
    let (from, rank) = match q.as_deref() {
        Some(q) => title_match(dialect, q, &mut binds, &mut clauses)?,
        None => (
            "movies m".to_owned(),
            "CAST(0 AS DOUBLE PRECISION)".to_owned(),
        ),
    };
    filters.apply(&mut clauses, &mut binds)?;
    // Every match, on this page or another: the conditions before the cursor's.
    let count_clauses = clauses.len();
    let count_binds = binds.len();
    let mut offset = 0;
    let mut keyed = false;
    // The order, over the table's columns (`m.title`), and over the names of a
    // page's columns (`title`) for the counted form below.
    let (order_sql, order_by_name) = match sort {
        // Relevance is a float computed per query (and not bit-for-bit the same
        // in a WHERE clause as in the ORDER BY), so a search pages by position.
        None => {
            match after {
                Some(After::Position(position)) if position >= 0 => offset = position,
                Some(_) => return Err(QueryError::BadCursor),
                None => {}
            }
            (format!("{rank}, m.id"), "search_rank, id".to_owned())
        }
        Some(Sort { field, descending }) => {
            match after {
                Some(After::Key { value, id }) => {
                    keyset(field, descending, &value, id, &mut clauses, &mut binds)?;
                    keyed = true;
                }
                Some(After::Position(_)) => return Err(QueryError::BadCursor),
                None => {}
            }
            let dir = if descending { "DESC" } else { "ASC" };
            let order = |column: &str, id: &str| {
                if field.name == "id" {
                    format!("{id} {dir}")
                } else {
                    format!("({column} IS NULL), {column} {dir}, {id}")
                }
            };
            (order(field.column, "m.id"), order(field.name, "id"))
        }
    };
    let where_sql = |clauses: &[String]| {
        if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        }
    };
    let page_sql = if keyed {
        format!(
            "SELECT {MOVIE_COLUMNS} FROM {from}{} ORDER BY {order_sql} LIMIT {} OFFSET {offset}",
            where_sql(&clauses),
            limit + 1
        )
    } else {
        // Without a keyset cursor the page's conditions are the count's: one
        // statement returns the page and, in each row, the number of matches
        // (over a subquery, as SQLite allows bm25() only outside a window query).
        format!(
            "SELECT *, COUNT(*) OVER () AS total FROM (SELECT {MOVIE_COLUMNS}, {rank} AS search_rank \
             FROM {from}{}) AS matches ORDER BY {order_by_name} LIMIT {} OFFSET {offset}",
            where_sql(&clauses),
            limit + 1
        )
    };
    let mut page = Query::new(page_sql);
    binds.iter().cloned().for_each(|b| page.push(b));
    let (mut rows, total) = if keyed {
        let rows: Vec<Movie> = store.read_all(&page).await?;
        (rows, None)
    } else {
        let rows: Vec<Counted> = store.read_all(&page).await?;
        let total = rows.first().map(|r| r.total);
        (rows.into_iter().map(|r| r.movie).collect(), total)
    };
    let total = match total {
        Some(total) => total,
        // An empty first page: nothing matches.
        None if !keyed && offset == 0 => 0,
        None => {
            let mut count = Query::new(format!(
                "SELECT COUNT(*) FROM {from}{}",
                where_sql(&clauses[..count_clauses])
            ));
            binds[..count_binds]
                .iter()
                .cloned()
                .for_each(|b| count.push(b));
            store.read_one::<i64>(&count).await?
        }
    };

    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = match (more, rows.last()) {
        (true, Some(last)) => Some(match sort {
            None => After::Position(offset + i64::from(limit)),
            Some(sort) => After::Key {
                value: serde_json::to_value(last)
                    .ok()
                    .and_then(|m| m.get(sort.name()).cloned())
                    .unwrap_or(Value::Null),
                id: last.id,
            },
        }),
        _ => None,
    };
    Ok(SearchPage {
        items: rows,
        next,
        total,
    })
}

/// A film of a page, and the number of matches on every page.
struct Counted {
    movie: Movie,
    total: i64,
}

impl FromRead for Counted {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Counted {
            movie: Movie::from_row(row)?,
            total: row.get("total")?,
        })
    }
}

/// The words of a search: runs of letters and digits, each matched as a prefix.
fn words(q: &str) -> Result<Vec<String>, QueryError> {
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError::invalid(format!(
            "q: longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        return Err(QueryError::invalid(
            "q: give at least one word of letters or digits",
        ));
    }
    if words.len() > MAX_WORDS {
        return Err(QueryError::invalid(format!(
            "q: more than {MAX_WORDS} words"
        )));
    }
    Ok(words)
}

/// The FROM clause and rank expression of a title search, adding its match. It
/// must be the first to add binds: its placeholder comes first in the statement.
fn title_match(
    dialect: Dialect,
    q: &str,
    binds: &mut Vec<Bind>,
    clauses: &mut Vec<String>,
) -> Result<(String, String), QueryError> {
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

/// Adds the condition "after (value, id)" in the order of `field` (nulls
/// last), then id.
fn keyset(
    field: &Field,
    descending: bool,
    value: &Value,
    id: i64,
    clauses: &mut Vec<String>,
    binds: &mut Vec<Bind>,
) -> Result<(), QueryError> {
    let column = field.column;
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
    let bad = || QueryError::BadCursor;
    let bind = match field.kind {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_words_are_parsed_with_the_input_named() {
        let sort = Sort::parse("-imdb_rating").unwrap();
        assert_eq!((sort.name(), sort.descending), ("imdb_rating", true));
        let refused = Sort::parse("budget").unwrap_err().to_string();
        assert!(
            refused.starts_with("sort: `budget` is not a sortable field; use one of id, title"),
            "{refused}"
        );
        assert_eq!(words("Star  WA!").unwrap(), ["star", "wa"]);
        assert_eq!(
            words("--").unwrap_err().to_string(),
            "q: give at least one word of letters or digits"
        );
        assert_eq!(
            words(&"a ".repeat(17)).unwrap_err().to_string(),
            "q: more than 16 words"
        );
    }
}
