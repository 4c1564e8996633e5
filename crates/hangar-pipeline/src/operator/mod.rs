//! Operators: what a task does. Built in: [`extract`] (a JSON, NDJSON or CSV file,
//! or an HTTP URL), [`sql`] (statements in one transaction) and [`load`] (a batched
//! upsert into a table). Apps register their own (transforms) by name.

pub mod extract;
pub mod load;
pub mod sql;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use hangar_store::Store;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::params::Params;

/// Why a try of a task failed. The message is shown in the task's log and state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TaskError {
    message: String,
    kind: TaskErrorKind,
}

/// What kind of end a [`TaskError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskErrorKind {
    /// A failure another try may cure.
    Retry,
    /// A failure another try cannot change.
    Permanent,
    /// The try stopped because its run was cancelled; not a failure.
    Cancelled,
}

impl TaskError {
    /// A failure with this message; the task's next try (if it has retries
    /// left) may succeed.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind: TaskErrorKind::Retry,
        }
    }

    /// A failure that another try cannot change (a refused setting): the task
    /// fails at once, whatever retries it has left.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind: TaskErrorKind::Permanent,
        }
    }

    /// The try stopped because [`TaskContext::cancel`] fired: the task ends
    /// `cancelled`, neither failed nor retried.
    pub fn cancelled() -> Self {
        Self {
            message: "cancelled".to_owned(),
            kind: TaskErrorKind::Cancelled,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What kind of end this is.
    pub fn kind(&self) -> TaskErrorKind {
        self.kind
    }

    /// Whether another try may help.
    pub fn may_retry(&self) -> bool {
        self.kind == TaskErrorKind::Retry
    }

    /// Whether the try stopped because its run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.kind == TaskErrorKind::Cancelled
    }
}

impl From<sqlx::Error> for TaskError {
    fn from(err: sqlx::Error) -> Self {
        Self::new(format!("database: {err}"))
    }
}

impl From<hangar_store::StoreError> for TaskError {
    fn from(err: hangar_store::StoreError) -> Self {
        Self::new(err.to_string())
    }
}

/// Limits every task runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest output a task may pass downstream, as JSON bytes.
    pub max_output_bytes: usize,
    /// Largest file or HTTP body an extract may read.
    pub max_input_bytes: u64,
}

/// One log line of a try.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// `info` or `warn`.
    pub level: &'static str,
    /// The text.
    pub message: String,
}

/// The log of one try. Each line is mirrored to the process log and, when the
/// engine runs the try, stored as it is written, so a try that is killed keeps
/// what it logged; lines written without a store are kept until taken.
#[derive(Debug, Default)]
pub struct TaskLog {
    lines: Mutex<Vec<LogLine>>,
    sink: Mutex<Option<tokio::sync::mpsc::UnboundedSender<LogLine>>>,
}

impl TaskLog {
    /// A log whose lines go to `sink` as they are written (the engine stores
    /// them in order), until [`TaskLog::detach`].
    pub(crate) fn streaming(sink: tokio::sync::mpsc::UnboundedSender<LogLine>) -> Self {
        Self {
            lines: Mutex::default(),
            sink: Mutex::new(Some(sink)),
        }
    }

    /// Adds an informational line.
    pub fn info(&self, message: impl Into<String>) {
        self.push("info", message.into());
    }

    /// Adds a warning.
    pub fn warn(&self, message: impl Into<String>) {
        self.push("warn", message.into());
    }

    fn push(&self, level: &'static str, message: String) {
        match level {
            "warn" => tracing::warn!(task_log = %message),
            _ => tracing::info!(task_log = %message),
        }
        let line = LogLine {
            at: hangar_core::clock::now_ms(),
            level,
            message,
        };
        let line = match &*self.sink.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(sink) => match sink.send(line) {
                Ok(()) => return,
                Err(unsent) => unsent.0,
            },
            None => line,
        };
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }

    /// Stops streaming: later lines are kept until taken.
    pub(crate) fn detach(&self) {
        self.sink.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Takes the lines kept so far (those not streamed).
    pub fn take(&self) -> Vec<LogLine> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What a task's operator gets for one try.
pub struct TaskContext<'a> {
    /// The run.
    pub run_id: Uuid,
    /// The task.
    pub task_id: &'a str,
    /// Which try this is, from 1.
    pub try_number: u32,
    /// The task's settings, with `${params.…}` substituted.
    pub config: &'a Map<String, Value>,
    /// The run's parameters.
    pub params: &'a Params,
    /// Outputs of the task's direct upstream tasks, by task id (skipped ones absent).
    pub upstream: &'a BTreeMap<String, Value>,
    /// The store.
    pub store: &'a Store,
    /// An HTTP client that connects only where [`TaskContext::sources`] allows.
    pub http: &'a reqwest::Client,
    /// Which files and URLs may be read.
    pub sources: &'a crate::SourcePolicy,
    /// Limits on outputs and downloads.
    pub limits: Limits,
    /// The try's log.
    pub log: &'a TaskLog,
    /// Fires when the run is cancelled; long operators should stop.
    pub cancel: &'a CancellationToken,
}

impl TaskContext<'_> {
    /// The output of the upstream task named by setting `key`, or of the only
    /// upstream task when the setting is absent.
    pub fn input(&self, key: &str) -> Result<&Value, TaskError> {
        match self.config.get(key).and_then(Value::as_str) {
            Some(task) => self.upstream.get(task).ok_or_else(|| {
                TaskError::new(format!("{key}: upstream task `{task}` left no output"))
            }),
            None if self.upstream.len() == 1 => Ok(self.upstream.values().next().expect("one")),
            None => Err(TaskError::new(format!(
                "set `{key}` to the upstream task whose output to use (upstream: {})",
                self.upstream.keys().cloned().collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

/// What a task does.
pub trait Operator: Send + Sync + 'static {
    /// Checks a task's settings when its pipeline is loaded; the error says which
    /// setting is wrong and what is expected.
    fn check(&self, config: &Map<String, Value>) -> Result<(), String>;

    /// Runs one try; the output is passed to downstream tasks.
    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>>;
}

/// The operators a process knows, by name.
#[derive(Clone)]
pub struct Operators {
    map: BTreeMap<String, Arc<dyn Operator>>,
}

impl Operators {
    /// The built-in operators: `extract`, `sql`, `load`.
    pub fn with_builtins() -> Self {
        let mut map: BTreeMap<String, Arc<dyn Operator>> = BTreeMap::new();
        map.insert("extract".to_owned(), Arc::new(extract::Extract));
        map.insert("sql".to_owned(), Arc::new(sql::Sql));
        map.insert("load".to_owned(), Arc::new(load::Load));
        Self { map }
    }

    /// Adds an operator; names are `app.verb` by convention. A taken name is an error.
    pub fn register(&mut self, name: &str, operator: impl Operator) -> Result<(), String> {
        if self.map.contains_key(name) {
            return Err(format!("two operators are named `{name}`"));
        }
        self.map.insert(name.to_owned(), Arc::new(operator));
        Ok(())
    }

    /// The operator `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Operator>> {
        self.map.get(name).cloned()
    }

    /// Every name, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.map.keys().map(String::as_str).collect()
    }
}

impl std::fmt::Debug for Operators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.map.keys()).finish()
    }
}

/// Reads a setting that must be a string, if present.
pub(crate) fn optional_str<'a>(
    config: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, String> {
    match config.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("`{key}` must be a string, found {other}")),
    }
}

/// Refuses settings the operator does not know.
pub(crate) fn only_keys(config: &Map<String, Value>, known: &[&str]) -> Result<(), String> {
    match config.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(format!(
            "unknown setting `{key}`; this operator takes {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}
