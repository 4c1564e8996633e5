//! Job handlers: the typed [`Job`] trait apps implement, the context a run gets, and
//! the registry the worker looks handlers up in.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::error::QueueError;
use crate::job::{JobId, QueueName};

/// A kind of job: its name, its payload type and what running it does.
///
/// Handlers must be idempotent: delivery is at least once, so a job whose worker
/// died mid-run runs again.
///
/// ```ignore
/// struct SendMatchEmail { mailer: Mailer }
///
/// impl Job for SendMatchEmail {
///     const NAME: &'static str = "socks.send_match_email";
///     type Payload = MatchEmail;
///
///     async fn run(&self, ctx: JobContext, email: MatchEmail) -> Result<(), JobError> {
///         self.mailer.send(&email).await?;
///         Ok(())
///     }
/// }
/// ```
pub trait Job: Send + Sync + 'static {
    /// The job's name, unique among handlers (`app.verb_noun`).
    const NAME: &'static str;
    /// What is passed to each run, stored as JSON.
    type Payload: Serialize + DeserializeOwned + Send + 'static;
    /// Runs one attempt.
    fn run(
        &self,
        ctx: JobContext,
        payload: Self::Payload,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// What a run knows about itself.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The job's id (the natural key for idempotent effects).
    pub id: JobId,
    /// The job's name.
    pub name: String,
    /// Its queue.
    pub queue: QueueName,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// Attempts allowed in all.
    pub max_attempts: u32,
    pub(crate) cancel: CancellationToken,
}

impl JobContext {
    /// Whether the job was cancelled, or its lease lost, during this run. Long
    /// handlers should check it and return early.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when the run should stop (see [`JobContext::is_cancelled`]).
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }
}

/// Why an attempt failed, and whether another attempt may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    message: String,
    permanent: bool,
}

impl JobError {
    /// A failure worth retrying (the default for `?` on any error).
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    /// A failure no retry can fix: the job is dead at once.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for JobError {
    fn from(err: E) -> Self {
        JobError::retry(err.to_string())
    }
}

/// A handler with its payload type erased, as the worker calls it.
pub(crate) trait ErasedJob: Send + Sync {
    fn run(&self, ctx: JobContext, payload: &str) -> BoxFuture<'static, Result<(), JobError>>;
}

struct Typed<J>(Arc<J>);

impl<J: Job> ErasedJob for Typed<J> {
    fn run(&self, ctx: JobContext, payload: &str) -> BoxFuture<'static, Result<(), JobError>> {
        let decoded = serde_json::from_str::<J::Payload>(payload);
        let handler = self.0.clone();
        Box::pin(async move {
            let payload = decoded.map_err(|e| {
                JobError::permanent(format!(
                    "payload does not decode as {}: {e}",
                    std::any::type_name::<J::Payload>()
                ))
            })?;
            handler.run(ctx, payload).await
        })
    }
}

/// The handlers a worker can run, by job name.
#[derive(Default, Clone)]
pub struct JobRegistry {
    handlers: HashMap<&'static str, Arc<dyn ErasedJob>>,
}

impl JobRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a handler; a second handler for the same name is an error.
    pub fn register<J: Job>(&mut self, handler: J) -> Result<&mut Self, QueueError> {
        if self.handlers.contains_key(J::NAME) {
            return Err(QueueError::DuplicateHandler(J::NAME.to_owned()));
        }
        self.handlers
            .insert(J::NAME, Arc::new(Typed(Arc::new(handler))));
        Ok(self)
    }

    /// Names of the registered jobs, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.handlers.keys().copied().collect();
        names.sort_unstable();
        names
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<dyn ErasedJob>> {
        self.handlers.get(name).cloned()
    }
}

impl fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}
