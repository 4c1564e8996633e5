//! The allow-list: the only commands a session can run are the built-ins and
//! those registered here by the platform and the apps. There is no fallback to
//! anything else — an unknown name is a usage error.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use crate::builtins::BUILTINS;
use crate::output::Output;
use crate::parse::Invocation;
use crate::spec::Spec;

/// A boxed, sendable future (what [`Command::run`] returns).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Who runs a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session's id (also in every log line about it).
    pub id: String,
    /// The client's address.
    pub client: IpAddr,
    /// The signed-in account's e-mail, for visitors who are signed in.
    pub user: Option<String>,
}

/// Everything a command gets to run with.
#[derive(Debug, Clone)]
pub struct Call {
    /// The checked, typed line.
    pub invocation: Invocation,
    /// Most rows any query may return (`terminal.max_rows`).
    pub max_rows: u32,
    /// Who is asking.
    pub session: SessionInfo,
}

/// Why a command did not produce its output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Something the user can act on (no such film, say); shown as it is.
    #[error("{0}")]
    User(String),
    /// A fault on the server's side; logged, and the user only told it failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A command an app or the platform adds to the terminal.
///
/// `spec` declares what it accepts; `run` gets only lines that fit it, with typed
/// values. Commands are read-only queries: they get no handle to anything the
/// session could change and no access to files or processes.
pub trait Command: Send + Sync + 'static {
    /// The declaration (name, subcommands, arguments, options, help).
    fn spec(&self) -> &'static Spec;

    /// Runs a checked invocation. The future is dropped when the wall-time limit
    /// passes or the user cancels, so it must not leave work half done.
    fn run(&self, call: Call) -> BoxFuture<Result<Output, CommandError>>;
}

/// A command that cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The name is a built-in's or another command's.
    #[error("a terminal command named `{0}` is already registered")]
    Duplicate(&'static str),
    /// The declaration is malformed.
    #[error("terminal command declaration: {0}")]
    Malformed(String),
}

/// One entry of the registry.
#[derive(Clone)]
pub(crate) enum Entry {
    /// Handled by the session itself (help, history, …).
    Builtin(&'static Spec),
    /// Registered by the platform or an app.
    Registered(Arc<dyn Command>),
}

impl Entry {
    pub(crate) fn spec(&self) -> &'static Spec {
        match self {
            Entry::Builtin(spec) => spec,
            Entry::Registered(command) => command.spec(),
        }
    }
}

/// The commands of a terminal.
#[derive(Clone)]
pub struct Registry {
    entries: BTreeMap<&'static str, Entry>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.entries.keys()).finish()
    }
}

impl Registry {
    /// A registry holding the built-in commands.
    pub fn new() -> Self {
        let entries = BUILTINS
            .iter()
            .map(|spec| (spec.name, Entry::Builtin(spec)))
            .collect();
        Self { entries }
    }

    /// Adds `command`; its declaration is checked and its name must be free.
    pub fn register(&mut self, command: impl Command) -> Result<(), RegistryError> {
        let spec = command.spec();
        spec.check().map_err(RegistryError::Malformed)?;
        if self.entries.contains_key(spec.name) {
            return Err(RegistryError::Duplicate(spec.name));
        }
        self.entries
            .insert(spec.name, Entry::Registered(Arc::new(command)));
        Ok(())
    }

    /// The declaration of command `name`.
    pub fn spec(&self, name: &str) -> Option<&'static Spec> {
        self.entries.get(name).map(Entry::spec)
    }

    /// Every command's declaration, by name.
    pub fn specs(&self) -> impl Iterator<Item = &'static Spec> + '_ {
        self.entries.values().map(Entry::spec)
    }

    /// Every command's name, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.keys().copied().collect()
    }

    pub(crate) fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }
}
