//! What pipelines can fail at.

use uuid::Uuid;

use crate::file::DefinitionErrors;

/// A pipeline operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A definition is invalid (file, line and task in each message).
    #[error("{0}")]
    Definition(#[from] DefinitionErrors),
    /// Two pipelines share a name.
    #[error("pipeline `{name}` is defined twice: in {first} and in {second}")]
    Duplicate {
        /// The name.
        name: String,
        /// Where it was first defined.
        first: String,
        /// Where again.
        second: String,
    },
    /// A pipeline file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A `[pipeline]` setting is malformed (the message names it).
    #[error("{0}")]
    Setting(String),
    /// No pipeline has this name.
    #[error("no pipeline `{0}`")]
    UnknownPipeline(String),
    /// No run has this id.
    #[error("no run {0}")]
    UnknownRun(Uuid),
    /// The trigger's parameters do not fit the pipeline's.
    #[error("invalid parameters: {}", .0.join("; "))]
    Params(Vec<String>),
    /// The run is not in a state the action applies to.
    #[error("run {id} is {state}; {action}")]
    WrongState {
        /// The run.
        id: Uuid,
        /// Its state.
        state: String,
        /// What applies instead.
        action: &'static str,
    },
    /// The job queue failed.
    #[error(transparent)]
    Queue(#[from] hangar_queue::QueueError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] hangar_store::StoreError),
    /// A query failed.
    #[error("pipeline store: {0}")]
    Sqlx(#[from] sqlx::Error),
}
