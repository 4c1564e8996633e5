//! Jobs as the operator surface (CLI, admin API) shows them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::QueueError;
use crate::job::{JobId, JobState, from_ms};
use crate::records::{AttemptRow, JobRow};

/// A job, with times as UTC timestamps and the payload as JSON.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// The job's id.
    pub id: JobId,
    /// Its queue.
    pub queue: String,
    /// Its name (which handler runs it).
    pub name: String,
    /// Where it stands.
    pub state: JobState,
    /// 0-9, higher first.
    pub priority: u8,
    /// Attempts started so far.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Longest an attempt may run, in milliseconds.
    pub timeout_ms: i64,
    /// When it may next run.
    pub run_at: DateTime<Utc>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When its last attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a final state.
    pub finished_at: Option<DateTime<Utc>>,
    /// Worker of the last attempt.
    pub worker: Option<String>,
    /// While running: when its lease ends unless renewed.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Whether cancellation was requested while it ran.
    pub cancel_requested: bool,
    /// Its unique key, if any.
    pub unique_key: Option<String>,
    /// The error of its last failed attempt.
    pub last_error: Option<String>,
    /// Its payload.
    pub payload: serde_json::Value,
    /// Attempts that failed, timed out or were lost (on `show` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<AttemptView>>,
}

/// An attempt that did not succeed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    /// Which attempt, from 1.
    pub attempt: u32,
    /// The worker that ran it.
    pub worker: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// `failed`, `panicked`, `timeout`, `lost` or `no_handler`.
    pub outcome: String,
    /// What went wrong.
    pub error: String,
}

impl JobView {
    pub(crate) fn from_row(
        row: JobRow,
        attempts: Option<Vec<AttemptRow>>,
    ) -> Result<Self, QueueError> {
        Ok(Self {
            id: row.id.into(),
            queue: row.queue,
            name: row.name,
            state: row.state.parse()?,
            priority: u8::try_from(row.priority).unwrap_or(0),
            attempt: u32::try_from(row.attempt).unwrap_or(0),
            max_attempts: u32::try_from(row.max_attempts).unwrap_or(0),
            timeout_ms: row.timeout_ms,
            run_at: from_ms(row.run_at),
            created_at: from_ms(row.created_at),
            started_at: row.started_at.map(from_ms),
            finished_at: row.finished_at.map(from_ms),
            worker: row.worker,
            lease_expires_at: row.lease_expires_at.map(from_ms),
            cancel_requested: row.cancel_requested,
            unique_key: row.unique_key,
            last_error: row.last_error,
            payload: serde_json::from_str(&row.payload)
                .unwrap_or(serde_json::Value::String(row.payload)),
            attempts: attempts.map(|rows| {
                rows.into_iter()
                    .map(|a| AttemptView {
                        attempt: u32::try_from(a.attempt).unwrap_or(0),
                        worker: a.worker,
                        started_at: from_ms(a.started_at),
                        finished_at: from_ms(a.finished_at),
                        outcome: a.outcome,
                        error: a.error,
                    })
                    .collect()
            }),
        })
    }
}
