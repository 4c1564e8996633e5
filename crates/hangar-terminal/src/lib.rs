//! Hangar's live terminal: an interpreter of its own, not a shell.
//!
//! Visitors type lines in a browser; each line is split into words by a small
//! grammar with its own quoting ([`lex`]), checked against the declaration of an
//! allow-listed command ([`spec`], [`parse`]) and only then handed, as typed
//! values, to the command's Rust function ([`Command`]). Nothing is executed and
//! no file is opened from what a visitor types. The platform and the apps add
//! commands to the [`Registry`]; `help`, `clear`, `history`, `about` and `whoami`
//! are built in. A [`Session`] applies the [`Limits`] (line length, command rate,
//! output per command and per session, wall time) and logs every line with the
//! session id and client address; [`Sessions`] caps sessions in all and per
//! address. Output is built as lines and tables ([`output`]) and rendered for
//! the terminal's width, with everything that could drive the terminal removed.

mod builtins;
pub mod complete;
pub mod lex;
pub mod limits;
pub mod output;
pub mod parse;
pub mod protocol;
mod registry;
mod session;
pub mod spec;

pub use limits::{Limits, SessionPermit, SessionRefused, Sessions, TokenBucket};
pub use output::{Align, Line, Output, Style, Table};
pub use parse::{Invocation, Value};
pub use protocol::{ClientMessage, ServerMessage};
pub use registry::{BoxFuture, Call, Command, CommandError, Registry, RegistryError, SessionInfo};
pub use session::{Outcome, Running, Session, Step, Terminal};
pub use spec::{Arg, Body, Kind, Opt, Signature, Spec, Sub};
