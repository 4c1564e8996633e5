//! The migration runner. Each component (the platform's crates and every app) owns an
//! append-only list of migrations, one SQL file per dialect, applied in version
//! order and recorded in `hangar_migrations` with a checksum.
//!
//! Each migration runs in its own transaction that also takes the migration lock
//! (`BEGIN IMMEDIATE` on SQLite, a transaction-scoped advisory lock on PostgreSQL),
//! so several processes starting at once apply each migration exactly once.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};

use crate::{Dialect, Store, StoreError};

/// Key of the PostgreSQL advisory lock serializing migrations ("hangar" in ASCII).
const PG_LOCK_KEY: i64 = 0x68_61_6e_67_61_72;

const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS hangar_migrations (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (component, version)
)";

const PG_TABLE: &str = "CREATE TABLE IF NOT EXISTS hangar_migrations (
    component TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (component, version)
)";

/// One schema change, written once per dialect.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Position in its component's list; strictly increasing.
    pub version: i64,
    /// Short name, e.g. `0001_movies`.
    pub name: &'static str,
    /// The SQLite script.
    pub sqlite: &'static str,
    /// The PostgreSQL script.
    pub postgres: &'static str,
}

/// Declares a [`Migration`] from `migrations/sqlite/<name>.sql` and
/// `migrations/postgres/<name>.sql` in the calling crate.
#[macro_export]
macro_rules! migration {
    ($version:literal, $name:literal) => {
        $crate::Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/sqlite/",
                $name,
                ".sql"
            )),
            postgres: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/postgres/",
                $name,
                ".sql"
            )),
        }
    };
}

impl Migration {
    /// The script for `dialect`.
    pub fn sql(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }

    /// SHA-256 of the script for `dialect`, in hex.
    pub fn checksum(&self, dialect: Dialect) -> String {
        Sha256::digest(self.sql(dialect).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The migrations of one component.
#[derive(Debug, Clone, Copy)]
pub struct MigrationSet {
    /// Owner of the migrations: `core`, `queue`, an app's name.
    pub component: &'static str,
    /// Its migrations in version order.
    pub migrations: &'static [Migration],
}

/// Where one migration stands in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    /// Applied, and its SQL matches this build.
    Applied {
        /// When it was applied.
        at: DateTime<Utc>,
    },
    /// Not applied yet.
    Pending,
    /// Applied, but the SQL in this build differs.
    Modified,
    /// Recorded in the database but unknown to this build (applied by a newer one).
    Unknown,
}

/// One row of `hangar migrate status`.
#[derive(Debug, Clone)]
pub struct MigrationStatus {
    /// Component owning the migration.
    pub component: String,
    /// Its version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// Where it stands.
    pub state: MigrationState,
}

struct AppliedRow {
    name: String,
    checksum: String,
    applied_at: DateTime<Utc>,
}

impl Store {
    /// Applies every pending migration of `sets`, in order. Returns the applied ones
    /// as `component/name`.
    pub async fn migrate(&self, sets: &[MigrationSet]) -> Result<Vec<String>, StoreError> {
        validate(sets)?;
        let mut applied = Vec::new();
        for set in sets {
            for migration in set.migrations {
                if self.apply(set.component, migration).await? {
                    applied.push(format!("{}/{}", set.component, migration.name));
                }
            }
        }
        Ok(applied)
    }

    /// Applies one migration unless it is recorded; returns whether it ran.
    async fn apply(&self, component: &'static str, m: &Migration) -> Result<bool, StoreError> {
        let dialect = self.dialect();
        let checksum = m.checksum(dialect);
        let failed = |source| StoreError::Migration {
            component,
            version: m.version,
            name: m.name,
            source,
        };
        let started = Instant::now();
        // The lock, the check and the change share one transaction: a concurrent
        // migrator waits for the lock, then sees the row and skips.
        crate::on_pool!(self.writer(), pool => {
            let mut conn = pool.acquire().await?;
            let mut tx = match dialect {
                Dialect::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
                Dialect::Postgres => conn.begin().await?,
            };
            if dialect == Dialect::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PG_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
            }
            let table = match dialect {
                Dialect::Sqlite => SQLITE_TABLE,
                Dialect::Postgres => PG_TABLE,
            };
            sqlx::raw_sql(table).execute(&mut *tx).await?;
            let recorded: Option<String> = sqlx::query_scalar(
                "SELECT checksum FROM hangar_migrations WHERE component = $1 AND version = $2",
            )
            .bind(component)
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(recorded) = recorded {
                return if recorded == checksum {
                    Ok(false)
                } else {
                    Err(StoreError::ChecksumMismatch {
                        component,
                        version: m.version,
                        name: m.name,
                        applied: recorded,
                        expected: checksum,
                    })
                };
            }
            sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql(dialect)))
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            let duration_ms = started.elapsed().as_millis() as i64;
            sqlx::query(
                "INSERT INTO hangar_migrations \
                 (component, version, name, checksum, applied_at, duration_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(component)
            .bind(m.version)
            .bind(m.name)
            .bind(&checksum)
            .bind(Utc::now())
            .bind(duration_ms)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        tracing::info!(
            component,
            version = m.version,
            name = m.name,
            duration_ms = started.elapsed().as_millis() as u64,
            "migration applied"
        );
        Ok(true)
    }

    /// Where every migration of `sets` stands, plus rows this build does not know.
    pub async fn migration_status(
        &self,
        sets: &[MigrationSet],
    ) -> Result<Vec<MigrationStatus>, StoreError> {
        validate(sets)?;
        let dialect = self.dialect();
        let mut recorded = self.recorded().await?;
        let mut out = Vec::new();
        for set in sets {
            for m in set.migrations {
                let state = match recorded.remove(&(set.component.to_owned(), m.version)) {
                    None => MigrationState::Pending,
                    Some(row) if row.checksum == m.checksum(dialect) => {
                        MigrationState::Applied { at: row.applied_at }
                    }
                    Some(_) => MigrationState::Modified,
                };
                out.push(MigrationStatus {
                    component: set.component.to_owned(),
                    version: m.version,
                    name: m.name.to_owned(),
                    state,
                });
            }
        }
        out.extend(
            recorded
                .into_iter()
                .map(|((component, version), row)| MigrationStatus {
                    component,
                    version,
                    name: row.name,
                    state: MigrationState::Unknown,
                }),
        );
        Ok(out)
    }

    /// Rows of `hangar_migrations`; none when the table does not exist yet.
    async fn recorded(&self) -> Result<BTreeMap<(String, i64), AppliedRow>, StoreError> {
        let exists_sql = match self.dialect() {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'hangar_migrations'"
            }
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'hangar_migrations'"
            }
        };
        let exists: i64 =
            crate::on_pool!(self, pool => sqlx::query_scalar(exists_sql).fetch_one(pool).await)?;
        if exists == 0 {
            return Ok(BTreeMap::new());
        }
        let sql = "SELECT component, version, name, checksum, applied_at FROM hangar_migrations";
        let rows = crate::on_pool!(self, pool => {
            sqlx::query(sql)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| {
                    Ok::<_, sqlx::Error>((
                        (row.try_get("component")?, row.try_get("version")?),
                        AppliedRow {
                            name: row.try_get("name")?,
                            checksum: row.try_get("checksum")?,
                            applied_at: row.try_get("applied_at")?,
                        },
                    ))
                })
                .collect::<Result<BTreeMap<_, _>, _>>()
        })?;
        Ok(rows)
    }
}

fn validate(sets: &[MigrationSet]) -> Result<(), StoreError> {
    let mut components = HashSet::new();
    for set in sets {
        if !components.insert(set.component) {
            return Err(StoreError::InvalidMigrations(format!(
                "component `{}` is listed twice",
                set.component
            )));
        }
        for pair in set.migrations.windows(2) {
            if pair[1].version <= pair[0].version {
                return Err(StoreError::InvalidMigrations(format!(
                    "component `{}`: version {} ({}) follows version {} ({})",
                    set.component, pair[1].version, pair[1].name, pair[0].version, pair[0].name
                )));
            }
        }
    }
    Ok(())
}
