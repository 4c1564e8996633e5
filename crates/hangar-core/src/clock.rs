//! Milliseconds since the Unix epoch: how the queue and pipeline tables store
//! time, so that both SQL dialects compare it the same way.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A stored time as a UTC timestamp (the epoch for values out of range).
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A duration in whole milliseconds, saturating.
pub fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
