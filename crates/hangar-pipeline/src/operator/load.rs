//! `load`: rows from an upstream task upserted into a table, in one transaction.
//! Rows whose values did not change are left alone, so loading the same data
//! again changes nothing.
//!
//! | setting | meaning |
//! |---|---|
//! | `table` | the table (required) |
//! | `key` | the column, or list of columns, with a unique index that identifies a row (required) |
//! | `input` | the upstream task whose output holds the rows (default: the only upstream task) |
//! | `field` | the field of that output holding the array of rows (default: the output is the array) |
//! | `created_at`, `updated_at` | columns stamped with the load's time on insert, and on insert or change |
//! | `batch` | rows per statement (default 500) |
//!
//! Values are converted to each column's declared type (integers, floats, dates,
//! timestamps, booleans, text); a value that does not fit names its row and column.
//! Output: `{"rows", "inserted", "updated", "unchanged"}`.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use hangar_store::placeholders::for_dialect;
use hangar_store::{Dialect, Pool, Store};
use serde_json::{Map, Value, json};

use super::{Operator, TaskContext, TaskError, only_keys, optional_str};

const KEYS: [&str; 7] = [
    "table",
    "key",
    "input",
    "field",
    "created_at",
    "updated_at",
    "batch",
];

/// See the module documentation.
pub struct Load;

#[derive(Debug)]
struct Settings {
    table: String,
    key: Vec<String>,
    field: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    batch: usize,
}

fn identifier(what: &str, name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "{what} `{name}` must be a lowercase SQL identifier (a-z, 0-9, _)"
        ))
    }
}

fn settings(config: &Map<String, Value>) -> Result<Settings, String> {
    only_keys(config, &KEYS)?;
    let table = identifier(
        "table",
        optional_str(config, "table")?.ok_or("`table` is required")?,
    )?;
    let key = match config.get("key") {
        Some(Value::String(column)) => vec![identifier("key column", column)?],
        Some(Value::Array(columns)) if !columns.is_empty() => columns
            .iter()
            .map(|c| {
                c.as_str()
                    .ok_or("`key` must list column names".to_owned())
                    .and_then(|c| identifier("key column", c))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(
                "`key` is required: the column (or list of columns) that identifies a row"
                    .to_owned(),
            );
        }
    };
    let stamp = |name: &str| {
        optional_str(config, name)?
            .map(|c| identifier(name, c))
            .transpose()
    };
    let batch = match config.get("batch") {
        None => 500,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=5000).contains(n))
            .ok_or_else(|| format!("`batch` must be a whole number from 1 to 5000, found {v}"))?
            as usize,
    };
    optional_str(config, "input")?;
    Ok(Settings {
        table,
        key,
        field: optional_str(config, "field")?.map(str::to_owned),
        created_at: stamp("created_at")?,
        updated_at: stamp("updated_at")?,
        batch,
    })
}

/// What a column holds, from its declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Float,
    Boolean,
    Date,
    Timestamp,
    Text,
}

impl Kind {
    fn of(dialect: Dialect, declared: &str) -> Self {
        let t = declared.to_ascii_lowercase();
        match dialect {
            Dialect::Postgres => match t.as_str() {
                "smallint" | "integer" | "bigint" => Self::Integer,
                "real" | "double precision" | "numeric" => Self::Float,
                "boolean" => Self::Boolean,
                "date" => Self::Date,
                "timestamp with time zone" | "timestamp without time zone" => Self::Timestamp,
                _ => Self::Text,
            },
            // SQLite's type affinity rules, in their order.
            Dialect::Sqlite if t.contains("int") => Self::Integer,
            Dialect::Sqlite if t.contains("char") || t.contains("clob") || t.contains("text") => {
                Self::Text
            }
            Dialect::Sqlite if t.contains("real") || t.contains("floa") || t.contains("doub") => {
                Self::Float
            }
            Dialect::Sqlite if t.contains("bool") => Self::Boolean,
            Dialect::Sqlite => Self::Text,
        }
    }
}

/// A value converted for its column.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Integer(Option<i64>),
    Float(Option<f64>),
    Boolean(Option<bool>),
    Date(Option<NaiveDate>),
    Timestamp(Option<DateTime<Utc>>),
    Text(Option<String>),
}

impl Cell {
    fn convert(kind: Kind, value: &Value) -> Result<Cell, String> {
        let bad = |what: &str| format!("expected {what}, found {value}");
        if value.is_null() {
            return Ok(match kind {
                Kind::Integer => Cell::Integer(None),
                Kind::Float => Cell::Float(None),
                Kind::Boolean => Cell::Boolean(None),
                Kind::Date => Cell::Date(None),
                Kind::Timestamp => Cell::Timestamp(None),
                Kind::Text => Cell::Text(None),
            });
        }
        Ok(match kind {
            Kind::Integer => Cell::Integer(Some(match value {
                Value::Number(n) => n
                    .as_i64()
                    .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                    .ok_or_else(|| bad("an integer"))?,
                Value::String(s) => s.trim().parse().map_err(|_| bad("an integer"))?,
                _ => return Err(bad("an integer")),
            })),
            Kind::Float => Cell::Float(Some(match value {
                Value::Number(n) => n.as_f64().ok_or_else(|| bad("a number"))?,
                Value::String(s) => s.trim().parse().map_err(|_| bad("a number"))?,
                _ => return Err(bad("a number")),
            })),
            Kind::Boolean => {
                Cell::Boolean(Some(value.as_bool().ok_or_else(|| bad("true or false"))?))
            }
            Kind::Date => Cell::Date(Some(
                value
                    .as_str()
                    .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                    .ok_or_else(|| bad("a date as YYYY-MM-DD"))?,
            )),
            Kind::Timestamp => Cell::Timestamp(Some(
                value
                    .as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|d| d.to_utc())
                    .ok_or_else(|| bad("an RFC 3339 timestamp"))?,
            )),
            Kind::Text => Cell::Text(Some(match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })),
        })
    }

    /// How a key value is compared when counting existing rows.
    fn key_text(&self) -> String {
        format!("{self:?}")
    }
}

macro_rules! bind_cells {
    ($query:expr, $cells:expr) => {{
        let mut query = $query;
        for cell in $cells {
            query = match cell {
                Cell::Integer(v) => query.bind(*v),
                Cell::Float(v) => query.bind(*v),
                Cell::Boolean(v) => query.bind(*v),
                Cell::Date(v) => query.bind(*v),
                Cell::Timestamp(v) => query.bind(*v),
                Cell::Text(v) => query.bind(v.clone()),
            };
        }
        query
    }};
}

/// A column of the table loaded into.
#[derive(Debug, Clone)]
struct Column {
    kind: Kind,
    /// Its type as the database declares it.
    declared: String,
}

async fn column_kinds(store: &Store, table: &str) -> Result<HashMap<String, Column>, TaskError> {
    let dialect = store.dialect();
    let rows: Vec<(String, String)> = match store.pool() {
        Pool::Postgres(pool) => {
            sqlx::query_as(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(table)
            .fetch_all(pool)
            .await?
        }
        Pool::Sqlite(pool) => {
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1)")
                .bind(table)
                .fetch_all(pool)
                .await?
        }
    };
    if rows.is_empty() {
        return Err(TaskError::new(format!("table `{table}` does not exist")));
    }
    Ok(rows
        .into_iter()
        .map(|(name, declared)| {
            let kind = Kind::of(dialect, &declared);
            (name, Column { kind, declared })
        })
        .collect())
}

impl Operator for Load {
    fn check(&self, config: &Map<String, Value>) -> Result<(), String> {
        settings(config).map(|_| ())
    }

    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>> {
        Box::pin(async move {
            let s = settings(task.config).map_err(TaskError::new)?;
            let input = task.input("input")?;
            let rows = match &s.field {
                Some(field) => input
                    .get(field)
                    .ok_or_else(|| TaskError::new(format!("the input has no field `{field}`")))?,
                None => input,
            };
            let rows = rows.as_array().ok_or_else(|| {
                TaskError::new("the input is not an array of rows (set `field` to the array)")
            })?;
            let mut columns: BTreeSet<String> = BTreeSet::new();
            for (i, row) in rows.iter().enumerate() {
                let row = row
                    .as_object()
                    .ok_or_else(|| TaskError::new(format!("row {i} is not an object")))?;
                for column in row.keys() {
                    columns.insert(
                        identifier("column", column)
                            .map_err(|e| TaskError::new(format!("row {i}: {e}")))?,
                    );
                }
            }
            for key in &s.key {
                if !columns.contains(key) {
                    return Err(TaskError::new(format!(
                        "the rows have no key column `{key}`"
                    )));
                }
            }
            let kinds = column_kinds(task.store, &s.table).await?;
            for column in columns
                .iter()
                .chain(s.created_at.iter())
                .chain(s.updated_at.iter())
            {
                if !kinds.contains_key(column) {
                    return Err(TaskError::new(format!(
                        "table `{}` has no column `{column}`",
                        s.table
                    )));
                }
            }
            let columns: Vec<String> = columns.into_iter().collect();
            let now = Utc::now();
            let mut converted = Vec::with_capacity(rows.len());
            for (i, row) in rows.iter().enumerate() {
                let mut cells = Vec::with_capacity(columns.len() + 2);
                for column in &columns {
                    let value = row.get(column).unwrap_or(&Value::Null);
                    cells.push(
                        Cell::convert(kinds[column].kind, value).map_err(|e| {
                            TaskError::new(format!("row {i}, column `{column}`: {e}"))
                        })?,
                    );
                }
                for stamp in [&s.created_at, &s.updated_at].into_iter().flatten() {
                    cells.push(stamp_cell(kinds[stamp].kind, now));
                }
                converted.push(cells);
            }
            let key_positions: Vec<usize> = s
                .key
                .iter()
                .map(|k| columns.iter().position(|c| c == k).expect("checked"))
                .collect();
            let (inserted, updated) =
                upsert(task.store, &s, &columns, &kinds, &key_positions, &converted).await?;
            let total = converted.len() as u64;
            let unchanged = total.saturating_sub(inserted + updated);
            task.log.info(format!(
                "{}: {total} rows; {inserted} inserted, {updated} updated, {unchanged} unchanged",
                s.table
            ));
            Ok(
                json!({ "rows": total, "inserted": inserted, "updated": updated, "unchanged": unchanged }),
            )
        })
    }
}

fn stamp_cell(kind: Kind, now: DateTime<Utc>) -> Cell {
    match kind {
        Kind::Integer => Cell::Integer(Some(now.timestamp_millis())),
        Kind::Timestamp => Cell::Timestamp(Some(now)),
        _ => Cell::Text(Some(now.to_rfc3339())),
    }
}

/// Runs the upsert in one transaction; returns (rows inserted, rows updated).
///
/// Rows that exist are updated in place (only if a value changed), and only the
/// missing ones are inserted: an `INSERT … ON CONFLICT DO UPDATE` of every row
/// would draw an id (SQLite's AUTOINCREMENT, a PostgreSQL sequence) for each row,
/// changed or not, so every load of the same data would burn as many ids.
async fn upsert(
    store: &Store,
    s: &Settings,
    columns: &[String],
    kinds: &HashMap<String, Column>,
    keys: &[usize],
    rows: &[Vec<Cell>],
) -> Result<(u64, u64), TaskError> {
    let dialect = store.dialect();
    let table = &s.table;
    let mut all: Vec<&str> = columns.iter().map(String::as_str).collect();
    all.extend(s.created_at.iter().map(String::as_str));
    all.extend(s.updated_at.iter().map(String::as_str));
    let values: Vec<&String> = columns.iter().filter(|c| !s.key.contains(c)).collect();
    let key_list = s.key.join(", ");

    let mut seen = HashSet::new();
    for row in rows {
        let key: Vec<String> = keys.iter().map(|k| row[*k].key_text()).collect();
        if !seen.insert(key) {
            return Err(TaskError::new(format!(
                "two rows in the input have the same {key_list}"
            )));
        }
    }

    // The rows of a chunk as a common table `v` with the table's column names.
    // PostgreSQL: each value is cast to its column's type, so that a `real`
    // column compares with a value of its own precision.
    let cast = |column: &str| match (dialect, kinds.get(column)) {
        (Dialect::Postgres, Some(c)) if c.kind == Kind::Float => {
            format!("CAST(? AS {})", c.declared)
        }
        _ => "?".to_owned(),
    };
    let row_text = format!(
        "({})",
        all.iter().map(|c| cast(c)).collect::<Vec<_>>().join(", ")
    );
    let cte = |n: usize| {
        format!(
            "WITH v ({}) AS (VALUES {})",
            all.join(", "),
            vec![row_text.as_str(); n].join(", ")
        )
    };
    let same_key = s
        .key
        .iter()
        .map(|k| format!("{table}.{k} = v.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let changed = values
        .iter()
        .map(|c| match dialect {
            Dialect::Postgres => format!("{table}.{c} IS DISTINCT FROM v.{c}"),
            Dialect::Sqlite => format!("{table}.{c} IS NOT v.{c}"),
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    let mut set: Vec<String> = values.iter().map(|c| format!("{c} = v.{c}")).collect();
    set.extend(s.updated_at.iter().map(|c| format!("{c} = v.{c}")));
    let missing = s
        .key
        .iter()
        .map(|k| format!("{table}.{k} = v.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ");

    let mut inserted = 0u64;
    let mut updated = 0u64;
    hangar_store::on_pool!(store.writer(), pool => {
        let mut tx = pool.begin().await?;
        for chunk in rows.chunks(s.batch) {
            if !values.is_empty() {
                let update = for_dialect(dialect, format!(
                    "{} UPDATE {table} SET {} FROM v WHERE {same_key} AND ({changed})",
                    cte(chunk.len()),
                    set.join(", "),
                ));
                updated += bind_cells!(sqlx::query(sqlx::AssertSqlSafe(update)), chunk.iter().flatten())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            // A row another writer inserted since the check above is updated
            // as before: ON CONFLICT only fires for such races.
            let conflict = if values.is_empty() {
                "DO NOTHING".to_owned()
            } else {
                format!(
                    "DO UPDATE SET {}",
                    values
                        .iter()
                        .map(|c| format!("{c} = excluded.{c}"))
                        .chain(s.updated_at.iter().map(|c| format!("{c} = excluded.{c}")))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let insert = for_dialect(dialect, format!(
                "{} INSERT INTO {table} ({}) SELECT {} FROM v \
                 WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {missing}) \
                 ON CONFLICT ({key_list}) {conflict}",
                cte(chunk.len()),
                all.join(", "),
                all.iter().map(|c| format!("v.{c}")).collect::<Vec<_>>().join(", "),
            ));
            inserted += bind_cells!(sqlx::query(sqlx::AssertSqlSafe(insert)), chunk.iter().flatten())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok::<_, TaskError>(())
    })?;
    Ok((inserted, updated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_converted_for_their_columns_or_refused_with_a_reason() {
        assert_eq!(
            Cell::convert(Kind::Integer, &json!(7.0)).unwrap(),
            Cell::Integer(Some(7))
        );
        assert_eq!(
            Cell::convert(Kind::Integer, &json!("42")).unwrap(),
            Cell::Integer(Some(42))
        );
        assert!(
            Cell::convert(Kind::Integer, &json!(1.5))
                .unwrap_err()
                .contains("expected an integer")
        );
        assert_eq!(
            Cell::convert(Kind::Date, &json!("1998-06-12")).unwrap(),
            Cell::Date(NaiveDate::from_ymd_opt(1998, 6, 12))
        );
        assert!(
            Cell::convert(Kind::Date, &json!("Jun 12 1998"))
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert_eq!(
            Cell::convert(Kind::Text, &json!(1776)).unwrap(),
            Cell::Text(Some("1776".into()))
        );
        assert_eq!(
            Cell::convert(Kind::Float, &Value::Null).unwrap(),
            Cell::Float(None)
        );
    }

    #[test]
    fn declared_types_map_to_kinds_on_both_dialects() {
        assert_eq!(Kind::of(Dialect::Postgres, "double precision"), Kind::Float);
        assert_eq!(Kind::of(Dialect::Postgres, "date"), Kind::Date);
        assert_eq!(Kind::of(Dialect::Sqlite, "INTEGER"), Kind::Integer);
        assert_eq!(Kind::of(Dialect::Sqlite, "REAL"), Kind::Float);
        assert_eq!(Kind::of(Dialect::Sqlite, "TEXT"), Kind::Text);
    }

    #[test]
    fn settings_name_what_is_wrong() {
        let config = |v: Value| v.as_object().unwrap().clone();
        assert!(settings(&config(json!({"table": "movies", "key": "key"}))).is_ok());
        assert!(
            settings(&config(json!({"key": "key"})))
                .unwrap_err()
                .contains("`table` is required")
        );
        assert!(
            settings(&config(json!({"table": "Movies; DROP", "key": "k"})))
                .unwrap_err()
                .contains("lowercase SQL identifier")
        );
        assert!(
            settings(&config(json!({"table": "t"})))
                .unwrap_err()
                .contains("`key` is required")
        );
    }
}
