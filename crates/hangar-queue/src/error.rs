//! What the queue can fail at.

use hangar_store::StoreError;

use crate::job::{JobId, JobState};

/// A queue operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A job or a request about jobs has a bad field.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// No job has this id.
    #[error("no job {0}")]
    NotFound(JobId),
    /// The job is not in a state the action applies to.
    #[error("job {id} is {state}; {action} applies to {allowed}")]
    WrongState {
        /// The job.
        id: JobId,
        /// Its state.
        state: JobState,
        /// What was asked.
        action: &'static str,
        /// The states it applies to.
        allowed: &'static str,
    },
    /// Two handlers registered for one job name.
    #[error("two handlers are registered for job `{0}`")]
    DuplicateHandler(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A query failed.
    #[error("job store: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// The broker could not be reached or refused an operation.
    #[error("RabbitMQ: {0}")]
    Broker(String),
    /// The broker did not confirm a publish: the job was not enqueued.
    #[error(
        "RabbitMQ did not confirm the message for job {id}: {reason}; the job was not enqueued"
    )]
    Unconfirmed {
        /// The job.
        id: JobId,
        /// What the broker said, or why no answer came.
        reason: String,
    },
}

impl QueueError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        QueueError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<lapin::Error> for QueueError {
    fn from(err: lapin::Error) -> Self {
        QueueError::Broker(err.to_string())
    }
}
