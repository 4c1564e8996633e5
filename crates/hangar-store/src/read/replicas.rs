//! PostgreSQL reads: on the primary's pool, or on a read replica.
//!
//! A replica is used only while a check has found it reachable, in recovery
//! (streaming from a primary) and at most `store.replica_max_lag` behind. The
//! check runs every `store.replica_check_interval`: it records the primary's WAL
//! position with the time, then asks each replica how far it has replayed. A
//! replica's lag is the age of the newest recorded primary position it has
//! replayed (zero when it has replayed the newest), so it is measured in time
//! even when the primary is idle, and it grows when the replica stops streaming.
//! A read that fails on a replica for want of a connection marks it failing and
//! runs on the primary instead.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hangar_core::Shutdown;
use hangar_core::config::StoreConfig;
use sqlx::PgPool;

use super::route::{self, ReadRoute};
use super::{FromRead, Query, ReadMetrics, ReadWhere, Row, RowOf, Value};
use crate::StoreError;
use crate::placeholders::numbered;

/// The primary's pool and the replicas.
#[derive(Debug)]
pub(crate) struct Replicas {
    primary: PgPool,
    replicas: Vec<Replica>,
    max_lag: Duration,
    interval: Duration,
    next: AtomicUsize,
}

#[derive(Debug)]
struct Replica {
    name: String,
    pool: PgPool,
    state: Mutex<ReplicaStatus>,
}

/// What the last check (or read) found of a replica.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplicaStatus {
    /// Not checked yet: not used.
    Unchecked,
    /// Reachable, streaming, and this far behind (within the bound): used.
    Healthy(Duration),
    /// Reachable but further behind than `store.replica_max_lag`: skipped.
    Lagging(Duration),
    /// Not in recovery: promoted, or a primary configured as a replica; skipped.
    NotAReplica,
    /// Unreachable or failing: skipped.
    Failing(String),
}

impl std::fmt::Display for ReplicaStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplicaStatus::Unchecked => f.write_str("not checked yet"),
            ReplicaStatus::Healthy(lag) => write!(f, "ok, {} ms behind", lag.as_millis()),
            ReplicaStatus::Lagging(lag) => write!(
                f,
                "skipped: {} ms behind, over store.replica_max_lag",
                lag.as_millis()
            ),
            ReplicaStatus::NotAReplica => {
                f.write_str("skipped: not in recovery (promoted, or not a replica)")
            }
            ReplicaStatus::Failing(reason) => write!(f, "skipped: {reason}"),
        }
    }
}

/// A replica, as `/readyz` and [`Store::replicas`](crate::Store::replicas) show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaState {
    /// Its URL, password redacted.
    pub name: String,
    /// What the last check or read found.
    pub status: ReplicaStatus,
}

impl Replicas {
    /// No replicas yet, with the bound and check interval of `config`.
    pub(crate) fn new(primary: PgPool, config: &StoreConfig) -> Self {
        Self {
            primary,
            replicas: Vec::new(),
            max_lag: config.replica_max_lag.get(),
            interval: config.replica_check_interval.get(),
            next: AtomicUsize::new(0),
        }
    }

    pub(crate) fn add(&mut self, name: String, pool: PgPool) {
        self.replicas.push(Replica {
            name,
            pool,
            state: Mutex::new(ReplicaStatus::Unchecked),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    /// How long a session reads from the primary after it wrote: the lag bound
    /// plus one check interval.
    pub(crate) fn read_your_writes_window(&self) -> Duration {
        self.max_lag + self.interval
    }

    pub(crate) fn states(&self) -> Vec<ReplicaState> {
        self.replicas
            .iter()
            .map(|r| ReplicaState {
                name: r.name.clone(),
                status: r.status(),
            })
            .collect()
    }

    pub(crate) async fn close(&self) {
        for replica in &self.replicas {
            replica.pool.close().await;
        }
    }

    pub(crate) async fn read<T: FromRead>(
        &self,
        query: &Query,
        max: usize,
        metrics: &ReadMetrics,
    ) -> Result<Vec<T>, StoreError> {
        if route::current() == ReadRoute::Replica
            && let Some(replica) = self.pick()
        {
            match fetch(&replica.pool, query, max).await {
                Ok(rows) => {
                    metrics.count(ReadWhere::Replica);
                    return Ok(rows);
                }
                Err(StoreError::Sqlx(e)) if unreachable(&e) => {
                    tracing::warn!(replica = %replica.name, error = %e, "read replica failed; reading from the primary");
                    replica.set(ReplicaStatus::Failing(e.to_string()), metrics);
                }
                Err(e) => return Err(e),
            }
        }
        let rows = fetch(&self.primary, query, max).await?;
        metrics.count(ReadWhere::Primary);
        Ok(rows)
    }

    /// A healthy replica, in turn.
    fn pick(&self) -> Option<&Replica> {
        let n = self.replicas.len();
        if n == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| &self.replicas[(start + i) % n])
            .find(|r| matches!(r.status(), ReplicaStatus::Healthy(_)))
    }

    /// Checks the replicas every check interval until `shutdown`.
    pub(crate) async fn watch(&self, metrics: ReadMetrics, shutdown: Shutdown) {
        let interval = self.interval;
        let mut positions = VecDeque::new();
        loop {
            self.check(&mut positions, interval, &metrics).await;
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = shutdown.wait() => return,
            }
        }
    }

    /// One check: the primary's position, then each replica's.
    async fn check(
        &self,
        positions: &mut VecDeque<(Instant, u64)>,
        interval: Duration,
        metrics: &ReadMetrics,
    ) {
        let primary = sqlx::query_scalar::<_, String>("SELECT pg_current_wal_lsn()::text")
            .fetch_one(&self.primary);
        match tokio::time::timeout(interval, primary).await {
            Ok(Ok(lsn)) => match parse_lsn(&lsn) {
                Some(lsn) => positions.push_back((Instant::now(), lsn)),
                None => tracing::warn!(lsn, "unreadable WAL position from the primary"),
            },
            Ok(Err(e)) => tracing::debug!(error = %e, "primary WAL position unavailable"),
            Err(_) => tracing::debug!("primary WAL position: no answer in time"),
        }
        // Positions older than the bound (and a margin) no longer change a
        // verdict, but the newest of them still dates a replica stuck behind it.
        let horizon = self.max_lag + interval * 2;
        while positions.len() > 1 && positions[1].0.elapsed() > horizon {
            positions.pop_front();
        }
        for replica in &self.replicas {
            let probe = sqlx::query_as::<_, (bool, Option<String>)>(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text",
            )
            .fetch_one(&replica.pool);
            let status = match tokio::time::timeout(interval, probe).await {
                Err(_) => {
                    ReplicaStatus::Failing(format!("no answer within {} ms", interval.as_millis()))
                }
                Ok(Err(e)) => ReplicaStatus::Failing(e.to_string()),
                Ok(Ok((false, _))) => ReplicaStatus::NotAReplica,
                Ok(Ok((true, replayed))) => {
                    let replayed = replayed.as_deref().and_then(parse_lsn).unwrap_or(0);
                    let lag = lag(positions, replayed);
                    if lag > self.max_lag {
                        ReplicaStatus::Lagging(lag)
                    } else {
                        ReplicaStatus::Healthy(lag)
                    }
                }
            };
            replica.set(status, metrics);
        }
    }
}

/// How far behind a replica that has replayed up to `replayed` is: zero if it has
/// the newest recorded position, else the age of the newest position it has (or
/// of the oldest recorded, if it has none of them).
fn lag(positions: &VecDeque<(Instant, u64)>, replayed: u64) -> Duration {
    match positions.back() {
        None => Duration::ZERO,
        Some((_, newest)) if *newest <= replayed => Duration::ZERO,
        Some(_) => positions
            .iter()
            .rev()
            .find(|(_, lsn)| *lsn <= replayed)
            .or(positions.front())
            .map_or(Duration::ZERO, |(at, _)| at.elapsed()),
    }
}

impl Replica {
    fn status(&self) -> ReplicaStatus {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, status: ReplicaStatus, metrics: &ReadMetrics) {
        let lag = match &status {
            ReplicaStatus::Healthy(lag) | ReplicaStatus::Lagging(lag) => Some(lag.as_secs_f64()),
            _ => None,
        };
        metrics.replica(&self.name, matches!(status, ReplicaStatus::Healthy(_)), lag);
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *state != status
            && !matches!(
                (&*state, &status),
                (ReplicaStatus::Healthy(_), ReplicaStatus::Healthy(_))
            )
        {
            tracing::info!(replica = %self.name, status = %status, "read replica");
        }
        *state = status;
    }
}

/// Whether a read failed for want of a connection (the replica is down), rather
/// than because of the statement.
fn unreachable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
    )
}

/// A WAL position `16/B374D848` as one number.
fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.split_once('/')?;
    Some((u64::from_str_radix(high, 16).ok()? << 32) | u64::from_str_radix(low, 16).ok()?)
}

/// At most `max` rows of `query` from `pool`.
async fn fetch<T: FromRead>(
    pool: &PgPool,
    query: &Query,
    max: usize,
) -> Result<Vec<T>, StoreError> {
    let sql = numbered(query.sql());
    let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in query.binds() {
        statement = match value {
            Value::Int(v) => statement.bind(*v),
            Value::Real(v) => statement.bind(*v),
            Value::Text(v) => statement.bind(v.clone()),
            Value::Bool(v) => statement.bind(*v),
        };
    }
    let rows = if max == 1 {
        statement.fetch_optional(pool).await?.into_iter().collect()
    } else {
        statement.fetch_all(pool).await?
    };
    rows.iter()
        .take(max)
        .map(|row| T::from_row(&Row(RowOf::Postgres(row))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_positions_parse_and_lag_is_the_age_of_the_newest_replayed() {
        assert_eq!(parse_lsn("0/16B3748"), Some(0x16B_3748));
        assert_eq!(parse_lsn("16/B374D848"), Some((0x16 << 32) | 0xB374_D848));
        assert_eq!(parse_lsn("nonsense"), None);

        let now = Instant::now();
        let positions: VecDeque<_> = [
            (now - Duration::from_secs(3), 100),
            (now - Duration::from_secs(2), 200),
            (now - Duration::from_secs(1), 300),
        ]
        .into();
        assert_eq!(lag(&positions, 300), Duration::ZERO);
        assert_eq!(lag(&positions, 350), Duration::ZERO);
        let behind = lag(&positions, 250);
        assert!(behind >= Duration::from_secs(2) && behind < Duration::from_secs(3));
        // Stuck before every recorded position: at least as old as the oldest.
        assert!(lag(&positions, 50) >= Duration::from_secs(3));
        assert_eq!(lag(&VecDeque::new(), 0), Duration::ZERO);
    }
}
