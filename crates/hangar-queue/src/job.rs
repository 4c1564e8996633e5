//! What a job is: its id, names, state, and the description of a job to enqueue.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::QueueError;
use crate::handler::Job;

/// A job's id: a UUIDv7, so ids sort by creation time.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct JobId(Uuid);

impl JobId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// The UUID.
    pub fn uuid(self) -> Uuid {
        self.0
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Uuid> for JobId {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for JobId {
    type Err = QueueError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text)
            .map(Self)
            .map_err(|_| QueueError::invalid("id", format!("`{text}` is not a job id (a UUID)")))
    }
}

/// A queue name: 1–64 of `a-z`, `0-9`, `_` and `-`, starting with a letter or digit.
/// It is also the RabbitMQ queue's suffix, so it is kept to safe characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct QueueName(String);

impl QueueName {
    /// Parses a queue name.
    pub fn new(name: &str) -> Result<Self, QueueError> {
        let valid = hangar_core::config::is_queue_name(name);
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(QueueError::invalid(
                "queue",
                format!("`{name}` is not a queue name: use 1-64 of a-z, 0-9, `_` and `-`"),
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The queue jobs go to unless they say otherwise.
pub const DEFAULT_QUEUE: &str = hangar_core::config::DEFAULT_QUEUE;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for its `run_at` and a worker; never attempted, or released.
    Pending,
    /// Waiting for its next attempt after a failure.
    Retrying,
    /// Claimed by a worker, under lease.
    Running,
    /// Its handler returned success.
    Succeeded,
    /// Failed its last allowed attempt, or failed permanently.
    Dead,
    /// Cancelled before it ran, or during a run that then stopped.
    Cancelled,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 6] = [
        JobState::Pending,
        JobState::Retrying,
        JobState::Running,
        JobState::Succeeded,
        JobState::Dead,
        JobState::Cancelled,
    ];

    /// The state's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Retrying => "retrying",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Dead => "dead",
            JobState::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = QueueError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                QueueError::invalid(
                    "state",
                    format!(
                        "`{text}` is not a job state; expected one of pending, retrying, \
                         running, succeeded, dead, cancelled"
                    ),
                )
            })
    }
}

/// Highest priority; jobs of higher priority are claimed first.
pub const MAX_PRIORITY: u8 = 9;

/// A job to enqueue. Build it with [`NewJob::of`] (typed) or [`NewJob::raw`], then
/// adjust it with the builder methods; it is validated when enqueued.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub(crate) name: String,
    pub(crate) queue: String,
    pub(crate) payload: String,
    pub(crate) priority: u8,
    pub(crate) run_at: Option<DateTime<Utc>>,
    pub(crate) max_attempts: u32,
    pub(crate) timeout: Duration,
    pub(crate) unique_key: Option<String>,
}

impl NewJob {
    /// A job for the handler `J`, with its payload serialized as JSON.
    pub fn of<J: Job>(payload: &J::Payload) -> Result<Self, QueueError> {
        let payload = serde_json::to_string(payload)
            .map_err(|e| QueueError::invalid("payload", format!("does not serialize: {e}")))?;
        Ok(Self::with_payload(J::NAME, payload))
    }

    /// A job named `name` with a JSON payload, for producers without the handler's type.
    pub fn raw(name: &str, payload: &serde_json::Value) -> Self {
        Self::with_payload(name, payload.to_string())
    }

    fn with_payload(name: &str, payload: String) -> Self {
        Self {
            name: name.to_owned(),
            queue: DEFAULT_QUEUE.to_owned(),
            payload,
            priority: 0,
            run_at: None,
            max_attempts: 5,
            timeout: Duration::from_secs(300),
            unique_key: None,
        }
    }

    /// The queue to put it on (default `default`).
    pub fn queue(mut self, queue: &str) -> Self {
        self.queue = queue.to_owned();
        self
    }

    /// 0 (default) to 9; higher runs first.
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// Do not run before `at`.
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Do not run before `delay` from now.
    pub fn delay(self, delay: Duration) -> Self {
        let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        self.run_at(at)
    }

    /// Attempts before the job is dead (default 5, at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Longest an attempt may run (default 5 minutes).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// While a job with this key is pending, retrying or running, enqueueing another
    /// with the same key returns the existing job's id instead.
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// Checks every field; the error names the field.
    pub(crate) fn validate(&self) -> Result<(), QueueError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 100
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
        if !name_ok {
            return Err(QueueError::invalid(
                "name",
                format!(
                    "`{}` is not a job name: use 1-100 of letters, digits, `_`, `.`, `:` and `-`",
                    self.name
                ),
            ));
        }
        QueueName::new(&self.queue)?;
        if self.priority > MAX_PRIORITY {
            return Err(QueueError::invalid(
                "priority",
                format!("{} is out of range 0-{MAX_PRIORITY}", self.priority),
            ));
        }
        if self.max_attempts == 0 || self.max_attempts > 1000 {
            return Err(QueueError::invalid(
                "max_attempts",
                format!("{} is out of range 1-1000", self.max_attempts),
            ));
        }
        if self.timeout.is_zero() {
            return Err(QueueError::invalid("timeout", "must be longer than zero"));
        }
        if let Some(key) = &self.unique_key
            && (key.is_empty() || key.len() > 200)
        {
            return Err(QueueError::invalid("unique_key", "must be 1-200 bytes"));
        }
        Ok(())
    }
}

pub(crate) use hangar_core::clock::{from_ms, ms, now_ms};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_are_kept_to_safe_characters() {
        for good in ["default", "mail", "etl_2", "a-b"] {
            assert!(QueueName::new(good).is_ok(), "{good}");
        }
        for bad in ["", "Mail", "-x", "a.b", "a b", &"q".repeat(65)] {
            assert!(QueueName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validation_names_the_bad_field() {
        let job = NewJob::raw("send.email", &serde_json::json!({}));
        assert!(job.clone().validate().is_ok());
        for (job, field) in [
            (job.clone().priority(10), "priority"),
            (job.clone().max_attempts(0), "max_attempts"),
            (job.clone().queue("Bad Queue"), "queue"),
            (job.clone().timeout(Duration::ZERO), "timeout"),
            (job.clone().unique_key(""), "unique_key"),
            (NewJob::raw("has space", &serde_json::json!(1)), "name"),
        ] {
            let err = job.validate().unwrap_err();
            assert!(
                matches!(&err, QueueError::Invalid { field: f, .. } if *f == field),
                "{err}"
            );
        }
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>().unwrap(), state);
        }
        assert!("done".parse::<JobState>().is_err());
    }
}
