//! `sql`: statements run in one transaction on the store.
//!
//! | setting | meaning |
//! |---|---|
//! | `sql` | statements for both dialects, separated by `;` |
//! | `sqlite`, `postgres` | instead of `sql`: one script per dialect (both required) |
//!
//! Output: `{"rows_affected": n}`.

use futures_util::future::BoxFuture;
use hangar_store::{Dialect, on_pool};
use serde_json::{Map, Value, json};

use super::{Operator, TaskContext, TaskError, only_keys, optional_str};

/// See the module documentation.
pub struct Sql;

fn script(config: &Map<String, Value>, dialect: Dialect) -> Result<String, String> {
    only_keys(config, &["sql", "sqlite", "postgres"])?;
    let both = optional_str(config, "sql")?;
    let sqlite = optional_str(config, "sqlite")?;
    let postgres = optional_str(config, "postgres")?;
    match (both, sqlite, postgres) {
        (Some(sql), None, None) => Ok(sql.to_owned()),
        (None, Some(sqlite), Some(postgres)) => Ok(match dialect {
            Dialect::Sqlite => sqlite.to_owned(),
            Dialect::Postgres => postgres.to_owned(),
        }),
        _ => Err("set either `sql`, or both `sqlite` and `postgres`".to_owned()),
    }
}

impl Operator for Sql {
    fn check(&self, config: &Map<String, Value>) -> Result<(), String> {
        script(config, Dialect::Sqlite).map(|_| ())
    }

    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>> {
        Box::pin(async move {
            let sql = script(task.config, task.store.dialect()).map_err(TaskError::new)?;
            let affected = on_pool!(task.store.writer(), pool => {
                let mut tx = pool.begin().await?;
                let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(done.rows_affected())
            })?;
            task.log
                .info(format!("statements done; {affected} rows affected"));
            Ok(json!({ "rows_affected": affected }))
        })
    }
}
