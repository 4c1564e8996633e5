//! The store on both backends: migrations, their locking and checksums, the
//! connection settings, and a portable query through `on_pool!`.

#![allow(clippy::unwrap_used)]

mod support;

use chrono::{NaiveDate, Utc};
use hangar_core::Shutdown;
use hangar_core::config::StoreConfig;
use hangar_store::{Dialect, Migration, MigrationSet, MigrationState, Store, StoreError, on_pool};
use hangar_testkit::{Backend, on_each_backend};
use std::time::Duration;
use support::fresh_store;

/// An app's table with the column types the dialects differ on (dates,
/// timestamps, floating point, 64-bit integers, a unique key).
static FILMS: &[Migration] = &[Migration {
    version: 1,
    name: "0001_films",
    sqlite: "CREATE TABLE films (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, \
             title TEXT NOT NULL, release_date TEXT, release_year INTEGER, imdb_rating REAL, \
             us_gross INTEGER, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);",
    postgres: "CREATE TABLE films (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
               key TEXT NOT NULL UNIQUE, title TEXT NOT NULL, release_date DATE, \
               release_year INTEGER, imdb_rating DOUBLE PRECISION, us_gross BIGINT, \
               created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL);",
}];

/// The platform's migrations, then those of an app (as a process applies them).
fn sets() -> Vec<MigrationSet> {
    let mut sets = hangar_runtime::PLATFORM_MIGRATIONS.to_vec();
    sets.push(MigrationSet {
        component: "films",
        migrations: FILMS,
    });
    sets
}

async fn migrations_apply_once_and_report_status(backend: Backend) {
    let Some((store, _db)) = fresh_store(backend, "migrations_apply_once_and_report_status").await
    else {
        return;
    };
    let before = store.migration_status(&sets()).await.unwrap();
    assert!(
        before.iter().all(|m| m.state == MigrationState::Pending),
        "{before:?}"
    );

    let applied = store.migrate(&sets()).await.unwrap();
    let expected: Vec<String> = sets()
        .iter()
        .flat_map(|set| {
            set.migrations
                .iter()
                .map(move |m| format!("{}/{}", set.component, m.name))
        })
        .collect();
    assert_eq!(applied, expected);
    assert!(applied.contains(&"films/0001_films".to_owned()));
    assert!(
        store.migrate(&sets()).await.unwrap().is_empty(),
        "second run applies nothing"
    );

    let after = store.migration_status(&sets()).await.unwrap();
    assert!(
        after
            .iter()
            .all(|m| matches!(m.state, MigrationState::Applied { .. })),
        "{after:?}"
    );
    println!("{}: migrations applied on {}", backend.name(), store.url());
}

static V1: &[Migration] = &[Migration {
    version: 1,
    name: "0001_widgets",
    sqlite: "CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
    postgres: "CREATE TABLE widgets (id BIGINT PRIMARY KEY, name TEXT NOT NULL);",
}];

static V1_EDITED: &[Migration] = &[Migration {
    version: 1,
    name: "0001_widgets",
    sqlite: "CREATE TABLE widgets (id INTEGER PRIMARY KEY, label TEXT);",
    postgres: "CREATE TABLE widgets (id BIGINT PRIMARY KEY, label TEXT);",
}];

static BROKEN: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_ok",
        sqlite: "CREATE TABLE good (id INTEGER);",
        postgres: "CREATE TABLE good (id BIGINT);",
    },
    Migration {
        version: 2,
        name: "0002_half",
        sqlite: "CREATE TABLE half (id INTEGER); SELECT * FROM no_such_table;",
        postgres: "CREATE TABLE half (id BIGINT); SELECT * FROM no_such_table;",
    },
];

async fn an_edited_migration_is_refused(backend: Backend) {
    let Some((store, _db)) = fresh_store(backend, "an_edited_migration_is_refused").await else {
        return;
    };
    let set = |migrations| {
        [MigrationSet {
            component: "widgets",
            migrations,
        }]
    };
    store.migrate(&set(V1)).await.unwrap();
    let err = store.migrate(&set(V1_EDITED)).await.unwrap_err();
    assert!(
        matches!(err, StoreError::ChecksumMismatch { version: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("append-only"), "{err}");
    let status = store.migration_status(&set(V1_EDITED)).await.unwrap();
    assert_eq!(status[0].state, MigrationState::Modified);
}

async fn a_failing_migration_leaves_nothing_behind(backend: Backend) {
    let Some((store, _db)) =
        fresh_store(backend, "a_failing_migration_leaves_nothing_behind").await
    else {
        return;
    };
    let sets = [MigrationSet {
        component: "broken",
        migrations: BROKEN,
    }];
    let err = store.migrate(&sets).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Migration {
                version: 2,
                name: "0002_half",
                ..
            }
        ),
        "{err}"
    );
    let status = store.migration_status(&sets).await.unwrap();
    assert!(matches!(status[0].state, MigrationState::Applied { .. }));
    assert_eq!(status[1].state, MigrationState::Pending);
    // The half-applied script was rolled back with its transaction.
    let half = on_pool!(store, pool => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM half").fetch_one(pool).await
    });
    assert!(half.is_err(), "table `half` must not exist");
}

async fn concurrent_migrators_apply_each_migration_once(backend: Backend) {
    let Some((store, db)) =
        fresh_store(backend, "concurrent_migrators_apply_each_migration_once").await
    else {
        return;
    };
    let others: Vec<Store> = (0..3)
        .map(|_| Store::open(db.url(), &StoreConfig::default()).unwrap())
        .collect();
    let sets = sets();
    let runs = futures_all(
        std::iter::once(&store)
            .chain(&others)
            .map(|s| {
                let sets = sets.clone();
                let s = s.clone();
                tokio::spawn(async move { s.migrate(&sets).await })
            })
            .collect(),
    )
    .await;
    let applied: usize = runs.into_iter().map(|r| r.unwrap().unwrap().len()).sum();
    assert_eq!(
        applied,
        sets.iter().map(|s| s.migrations.len()).sum::<usize>(),
        "each migration is applied by exactly one process"
    );
}

async fn futures_all<T>(
    handles: Vec<tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await);
    }
    out
}

async fn one_query_text_round_trips_on_both_dialects(backend: Backend) {
    let Some((store, _db)) =
        fresh_store(backend, "one_query_text_round_trips_on_both_dialects").await
    else {
        return;
    };
    store.migrate(&sets()).await.unwrap();
    let date = NaiveDate::from_ymd_opt(1998, 6, 12).unwrap();
    let now = Utc::now();
    on_pool!(store, pool => {
        sqlx::query(
            "INSERT INTO films (key, title, release_date, release_year, imdb_rating, \
             us_gross, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind("the-land-girls-1998")
        .bind("The Land Girls")
        .bind(date)
        .bind(1998_i32)
        .bind(6.1_f64)
        .bind(146_083_i64)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })
    .unwrap();
    let (title, release, rating, gross): (String, NaiveDate, f64, i64) = on_pool!(store, pool => {
        sqlx::query_as(
            "SELECT title, release_date, imdb_rating, us_gross FROM films WHERE key = $1",
        )
        .bind("the-land-girls-1998")
        .fetch_one(pool)
        .await
    })
    .unwrap();
    assert_eq!(
        (title.as_str(), release, rating, gross),
        ("The Land Girls", date, 6.1, 146_083)
    );

    let duplicate = on_pool!(store, pool => {
        sqlx::query(
            "INSERT INTO films (key, title, created_at, updated_at) VALUES ($1, $2, $3, $3)",
        )
        .bind("the-land-girls-1998")
        .bind("Again")
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    });
    let err = duplicate.unwrap_err();
    assert!(
        err.as_database_error()
            .is_some_and(|e| e.is_unique_violation()),
        "{err}"
    );
}

on_each_backend!(
    migrations_apply_once_and_report_status,
    an_edited_migration_is_refused,
    a_failing_migration_leaves_nothing_behind,
    concurrent_migrators_apply_each_migration_once,
    one_query_text_round_trips_on_both_dialects,
);

#[tokio::test]
async fn sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout() {
    let (store, _db) = fresh_store(Backend::Sqlite, "sqlite_pragmas")
        .await
        .unwrap();
    assert_eq!(store.dialect(), Dialect::Sqlite);
    let hangar_store::Pool::Sqlite(pool) = store.pool() else {
        unreachable!()
    };
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    let fks: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!((journal.as_str(), fks, busy), ("wal", 1, 5000));
}

#[tokio::test]
async fn sqlite_parent_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/hangar.db");
    let url = format!("sqlite://{}", path.display()).parse().unwrap();
    let store = Store::open(&url, &StoreConfig::default()).unwrap();
    store.ping(Duration::from_secs(5)).await.unwrap();
    assert!(path.exists());
}

#[tokio::test]
async fn an_unreachable_database_is_retried_then_reported() {
    let url = "postgres://hangar@127.0.0.1:1/nothing".parse().unwrap();
    let store = Store::open(&url, &StoreConfig::default()).unwrap();
    let started = std::time::Instant::now();
    let err = store
        .wait_until_reachable(Duration::from_millis(1500), &Shutdown::new())
        .await
        .unwrap_err();
    let StoreError::Unreachable { attempts, .. } = &err else {
        panic!("{err}")
    };
    assert!(*attempts >= 3, "retried: {err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let text = err.to_string();
    assert!(
        text.contains("127.0.0.1:1") && text.contains("store.connect_timeout"),
        "{text}"
    );
}

#[tokio::test]
async fn shutdown_interrupts_the_wait_for_the_database() {
    let url = "postgres://hangar@127.0.0.1:1/nothing".parse().unwrap();
    let store = Store::open(&url, &StoreConfig::default()).unwrap();
    let shutdown = Shutdown::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.trigger();
    });
    let err = store
        .wait_until_reachable(Duration::from_secs(60), &shutdown)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Interrupted), "{err}");
}
