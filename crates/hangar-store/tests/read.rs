//! The read path on both backends: one statement text and one row mapping, the
//! inline budget on SQLite, and read replicas on PostgreSQL (a primary and a
//! streaming replica of the test's own, made with initdb and pg_basebackup).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use hangar_core::Shutdown;
use hangar_core::config::{DatabaseUrl, HumanDuration, StoreConfig};
use hangar_core::health::ReadinessCheck;
use hangar_store::{
    FromRead, Query, ReadRoute, ReplicaStatus, Row, Store, StoreError, on_pool, with_read_route,
};
use hangar_testkit::pg_cluster::PgCluster;
use hangar_testkit::{Backend, on_each_backend, skip};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use support::fresh_store;

async fn execute(store: &Store, sql: &str) {
    on_pool!(store.writer(), pool => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(pool).await.map(|_| ()))
        .unwrap();
}

#[derive(Debug, PartialEq)]
struct Film {
    id: i64,
    title: String,
    rating: Option<f64>,
    seen: bool,
}

impl FromRead for Film {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Film {
            id: row.get("id")?,
            title: row.get("title")?,
            rating: row.get("rating")?,
            seen: row.get("seen")?,
        })
    }
}

fn metrics_text(store: &Store) -> String {
    let mut registry = Registry::default();
    store.register_metrics(&mut registry);
    let mut text = String::new();
    encode(&mut text, &registry).unwrap();
    text
}

/// The count of reads that went `path`, from the metrics.
fn reads(store: &Store, path: &str) -> u64 {
    let needle = format!("hangar_store_reads_total{{path=\"{path}\"}} ");
    metrics_text(store)
        .lines()
        .find_map(|l| l.strip_prefix(&needle))
        .map_or(0, |n| n.trim().parse().unwrap())
}

async fn one_statement_and_one_mapping_read_on_both_dialects(backend: Backend) {
    let test = "one_statement_and_one_mapping_read_on_both_dialects";
    let Some((store, _db)) = fresh_store(backend, test).await else {
        return;
    };
    execute(
        &store,
        "CREATE TABLE films (id BIGINT PRIMARY KEY, title TEXT NOT NULL, rating DOUBLE PRECISION, \
         seen BOOLEAN NOT NULL);
         INSERT INTO films VALUES (1, 'Alien', 8.5, TRUE), (2, 'Brazil', NULL, FALSE), \
         (3, 'Casablanca', 8.6, TRUE);",
    )
    .await;

    let query = Query::new("SELECT id, title, rating, seen FROM films WHERE seen = ? ORDER BY id")
        .bind(true);
    let seen: Vec<Film> = store.read_all(&query).await.unwrap();
    assert_eq!(
        seen.iter().map(|f| f.title.as_str()).collect::<Vec<_>>(),
        ["Alien", "Casablanca"]
    );
    let brazil: Option<Film> = store
        .read_optional(
            &Query::new("SELECT id, title, rating, seen FROM films WHERE title = ? AND id > ?")
                .bind("Brazil")
                .bind(1),
        )
        .await
        .unwrap();
    assert_eq!(
        brazil,
        Some(Film {
            id: 2,
            title: "Brazil".to_owned(),
            rating: None,
            seen: false
        })
    );
    let count: i64 = store
        .read_one(&Query::new("SELECT COUNT(*) FROM films WHERE rating >= ?").bind(8.0))
        .await
        .unwrap();
    assert_eq!(count, 2);
    let none: Option<i64> = store
        .read_optional(&Query::new("SELECT id FROM films WHERE id = ?").bind(99))
        .await
        .unwrap();
    assert_eq!(none, None);
    assert!(matches!(
        store
            .read_one::<i64>(&Query::new("SELECT id FROM films WHERE id = ?").bind(99))
            .await,
        Err(StoreError::NoRow)
    ));

    // A column the mapping cannot read is named in the error.
    let wrong = store
        .read_all::<i64>(&Query::new("SELECT title FROM films"))
        .await
        .unwrap_err()
        .to_string();
    assert!(wrong.starts_with("column 0: "), "{wrong}");
    // So is a statement the database refuses.
    let refused = store
        .read_all::<i64>(&Query::new("SELECT nope FROM films"))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("nope"), "{refused}");

    // A write is visible to the next read (the read path is not a cache).
    execute(&store, "UPDATE films SET title = 'Alien³' WHERE id = 1").await;
    let title: String = store
        .read_one(&Query::new("SELECT title FROM films WHERE id = ?").bind(1))
        .await
        .unwrap();
    assert_eq!(title, "Alien³");

    // Reads that answered are counted by where they ran.
    let expected = match backend {
        Backend::Sqlite => "sqlite_inline",
        Backend::Postgres => "primary",
    };
    assert_eq!(reads(&store, expected), 6, "{}", metrics_text(&store));

    store.close().await;
    assert!(store.read_all::<i64>(&query).await.is_err());
}
on_each_backend!(one_statement_and_one_mapping_read_on_both_dialects);

/// A statement over the inline budget is interrupted, runs to its end on a
/// blocking thread, and goes there directly the next time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sqlite_read_moves_off_the_runtime_thread() {
    let Some((store, _db)) = fresh_store(Backend::Sqlite, "a_slow_sqlite_read").await else {
        return;
    };
    // Counting to three million takes SQLite well over the inline budget.
    let slow = Query::new(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) \
         SELECT COUNT(*) FROM n",
    )
    .bind(3_000_000);
    let count: i64 = store.read_one(&slow).await.unwrap();
    assert_eq!(count, 3_000_000);
    assert_eq!(reads(&store, "sqlite_thread"), 1);
    assert_eq!(reads(&store, "sqlite_inline"), 0);

    // Many at once, from both runtime threads: every one is right.
    let fast = Query::new("SELECT ? + 1").bind(41);
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (store, fast) = (store.clone(), fast.clone());
            tokio::spawn(async move { store.read_one::<i64>(&fast).await.unwrap() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 42);
    }
    assert_eq!(reads(&store, "sqlite_inline"), 64);
}

/// Waits (at most 30 s) until `store`'s one replica has `want`'s status kind.
async fn replica_becomes(store: &Store, want: fn(&ReplicaStatus) -> bool) -> ReplicaStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = store.replicas()[0].status.clone();
        if want(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the replica stayed {status:?}; {}",
            metrics_text(store)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads that tolerate lag go to a healthy streaming replica; a replica that
/// lags beyond the bound or goes down is skipped (reads go to the primary) and
/// shown in the readiness details and the metrics; reads on the primary route
/// always see the latest write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_a_healthy_replica_and_skip_a_lagging_or_failed_one() {
    let test = "reads_go_to_a_healthy_replica";
    if PgCluster::binaries().is_none() {
        skip(
            test,
            "the PostgreSQL server binaries (initdb, pg_basebackup) are not installed",
        );
        return;
    }
    let primary = PgCluster::primary().unwrap();
    primary.sql("postgres", "CREATE DATABASE films").unwrap();
    primary
        .sql(
            "films",
            "CREATE TABLE films (id BIGINT PRIMARY KEY, title TEXT NOT NULL); \
             INSERT INTO films VALUES (1, 'Alien')",
        )
        .unwrap();
    let mut replica = primary.replica().unwrap();

    let config = StoreConfig {
        replica_max_lag: HumanDuration::millis(500),
        replica_check_interval: HumanDuration::millis(100),
        ..StoreConfig::default()
    };
    let url: DatabaseUrl = primary.url("films").parse().unwrap();
    let replica_url: DatabaseUrl = replica.url("films").parse().unwrap();
    let store = Store::open(&url, &config)
        .unwrap()
        .with_replicas(std::slice::from_ref(&replica_url), &config)
        .unwrap();
    assert_eq!(
        store.read_your_writes_window(),
        Some(Duration::from_millis(600))
    );
    assert!(matches!(
        store.replicas()[0].status,
        ReplicaStatus::Unchecked
    ));
    let shutdown = Shutdown::new();
    let watcher = store.watch_replicas(shutdown.clone()).unwrap();
    replica_becomes(&store, |s| matches!(s, ReplicaStatus::Healthy(_))).await;

    let titles = Query::new("SELECT title FROM films ORDER BY id");
    let on_replica = with_read_route(ReadRoute::Replica, store.read_all::<String>(&titles))
        .await
        .unwrap();
    assert_eq!(on_replica, ["Alien"]);
    assert_eq!(reads(&store, "replica"), 1);
    // Outside a replica route (a worker, a write request), the primary.
    store.read_all::<String>(&titles).await.unwrap();
    assert_eq!(reads(&store, "primary"), 1);
    let details = store.details();
    assert_eq!(details.len(), 1);
    assert!(details[0].1.starts_with("ok, "), "{details:?}");
    let metrics = metrics_text(&store);
    assert!(
        metrics.contains("hangar_store_replica_up{replica=\"postgres://postgres@127.0.0.1"),
        "{metrics}"
    );

    // Replay paused: the replica falls behind the next write, beyond the bound.
    replica
        .sql("films", "SELECT pg_wal_replay_pause()")
        .unwrap();
    primary
        .sql("films", "INSERT INTO films VALUES (2, 'Brazil')")
        .unwrap();
    let lagging = replica_becomes(&store, |s| matches!(s, ReplicaStatus::Lagging(_))).await;
    assert!(
        lagging.to_string().contains("over store.replica_max_lag"),
        "{lagging}"
    );
    let seen = with_read_route(ReadRoute::Replica, store.read_all::<String>(&titles))
        .await
        .unwrap();
    assert_eq!(seen, ["Alien", "Brazil"], "a lagging replica is skipped");
    assert!(metrics_text(&store).contains("hangar_store_replica_up{replica="));

    // Replay resumed: healthy again, and it has the write.
    replica
        .sql("films", "SELECT pg_wal_replay_resume()")
        .unwrap();
    replica_becomes(&store, |s| matches!(s, ReplicaStatus::Healthy(_))).await;
    let before = reads(&store, "replica");
    let seen = with_read_route(ReadRoute::Replica, store.read_all::<String>(&titles))
        .await
        .unwrap();
    assert_eq!(seen, ["Alien", "Brazil"]);
    assert_eq!(reads(&store, "replica"), before + 1);

    // The replica goes down: reads still answer, from the primary, and the
    // replica is reported failing.
    replica.stop().unwrap();
    let seen = with_read_route(ReadRoute::Replica, store.read_all::<String>(&titles))
        .await
        .unwrap();
    assert_eq!(seen, ["Alien", "Brazil"]);
    let failing = replica_becomes(&store, |s| matches!(s, ReplicaStatus::Failing(_))).await;
    assert!(store.details()[0].1.starts_with("skipped: "), "{failing}");
    // The store itself stays ready: the primary serves.
    assert_eq!(store.check().await, Ok(()));

    // A promoted (or misconfigured) server is not used as a replica.
    replica.start().unwrap();
    replica.sql("postgres", "SELECT pg_promote()").unwrap();
    replica_becomes(&store, |s| matches!(s, ReplicaStatus::NotAReplica)).await;

    shutdown.trigger();
    watcher.await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn replicas_need_a_postgres_primary_and_urls() {
    let config = StoreConfig::default();
    let dir = tempfile::tempdir().unwrap();
    let sqlite: DatabaseUrl = format!("sqlite://{}/x.db", dir.path().display())
        .parse()
        .unwrap();
    let pg: DatabaseUrl = "postgres://app:secret@db.internal/hangar".parse().unwrap();
    let refused = Store::open(&sqlite, &config)
        .unwrap()
        .with_replicas(std::slice::from_ref(&pg), &config)
        .unwrap_err()
        .to_string();
    assert_eq!(
        refused,
        "database_replica_urls: postgres://app:***@db.internal/hangar: read replicas need a \
         PostgreSQL primary (database_url is SQLite)"
    );
    let itself = Store::open(&pg, &config)
        .unwrap()
        .with_replicas(std::slice::from_ref(&pg), &config)
        .unwrap_err()
        .to_string();
    assert!(itself.ends_with("this is database_url itself"), "{itself}");
    let memory: DatabaseUrl = "sqlite::memory:".parse().unwrap();
    let refused = Store::open(&memory, &config).unwrap_err().to_string();
    assert!(
        refused.contains("in-memory SQLite database is not supported"),
        "{refused}"
    );
}
