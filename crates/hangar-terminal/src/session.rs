//! One visitor's terminal session: it receives protocol messages, checks each
//! line (size, rate, characters, grammar), runs built-ins itself, hands app
//! commands back to the caller as a future to run under the wall-time limit, and
//! renders, caps and logs what each command produced.
//!
//! The session knows nothing of sockets; the api role's WebSocket handler drives
//! it, and tests and the fuzzer drive it directly.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use hangar_core::config::HumanDuration;
use tokio::time::Instant;

use crate::builtins::{self, Context, HistoryLine};
use crate::lex;
use crate::limits::{Limits, TokenBucket};
use crate::output::{self, Output, Style};
use crate::parse::{self, UsageError};
use crate::protocol::{ClientMessage, ServerMessage};
use crate::registry::{BoxFuture, Call, CommandError, Entry, Registry, SessionInfo};

/// What every session of a process shares: the commands, the limits, the text
/// of `about`.
#[derive(Debug)]
pub struct Terminal {
    /// The allow-listed commands.
    pub registry: Registry,
    /// What each session may use.
    pub limits: Limits,
    /// What `about` prints.
    pub about: Output,
    /// The name in the prompt.
    pub host: String,
}

/// What to do with a received message.
pub enum Step {
    /// Send these messages.
    Reply(Vec<ServerMessage>),
    /// Run this command (under `limits.command_timeout`, cancelled on `cancel`),
    /// then pass its outcome to [`Session::finish`].
    Run(Running),
    /// The client asked to stop the running command: if one runs, pass
    /// [`Outcome::Cancelled`] to [`Session::finish`].
    Cancel,
}

/// A command to run.
pub struct Running {
    /// The command's work.
    pub future: BoxFuture<Result<Output, CommandError>>,
    line: String,
    started: Instant,
}

/// How a command ended.
#[derive(Debug)]
pub enum Outcome {
    /// It returned.
    Done(Result<Output, CommandError>),
    /// It ran past the wall-time limit and was dropped.
    TimedOut,
    /// The user cancelled it.
    Cancelled,
}

/// One visitor's session.
pub struct Session {
    terminal: Arc<Terminal>,
    info: SessionInfo,
    history: VecDeque<HistoryLine>,
    cols: usize,
    bucket: TokenBucket,
    sent: u64,
    protocol_errors: u32,
    busy: bool,
    closing: Option<String>,
}

impl Session {
    /// A new session.
    pub fn new(terminal: Arc<Terminal>, info: SessionInfo, now: Instant) -> Self {
        let limits = &terminal.limits;
        let bucket = TokenBucket::new(limits.commands_per_minute, limits.command_burst, now);
        Self {
            terminal,
            info,
            history: VecDeque::new(),
            cols: 80,
            bucket,
            sent: 0,
            protocol_errors: 0,
            busy: false,
            closing: None,
        }
    }

    /// Who the session is.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Whether a command is running.
    pub fn busy(&self) -> bool {
        self.busy
    }

    /// Why the session must end, once it must (after its output budget is spent
    /// or too many malformed messages).
    pub fn closing(&self) -> Option<&str> {
        self.closing.as_deref()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.terminal.limits
    }

    /// The banner and the first prompt.
    pub fn greeting(&mut self) -> Vec<ServerMessage> {
        let mut out = Output::new();
        out.line(
            output::Line::styled(format!("{} terminal", self.terminal.host), Style::Bold).push(
                " — commands over this site's data. Nothing here runs a shell.",
                Style::Dim,
            ),
        );
        out.line(
            output::Line::styled("Type ", Style::Dim)
                .push("help", Style::Cyan)
                .push(" to list the commands, ", Style::Dim)
                .push("movies top 5", Style::Cyan)
                .push(" to start.", Style::Dim),
        );
        let mut replies = Vec::new();
        self.print(&mut replies, output::render(&out, self.cols));
        self.ready(&mut replies);
        replies
    }

    /// Handles one text message from the client.
    pub fn receive(&mut self, text: &str, now: Instant) -> Step {
        let message = match serde_json::from_str::<ClientMessage>(text) {
            Ok(message) => message,
            Err(e) => return Step::Reply(self.protocol_error(&format!("malformed message: {e}"))),
        };
        match message {
            ClientMessage::Resize { cols, .. } => {
                self.cols = usize::from(cols).clamp(20, 500);
                Step::Reply(Vec::new())
            }
            ClientMessage::Cancel => Step::Cancel,
            ClientMessage::Complete { line } => Step::Reply(self.complete(&line, now)),
            ClientMessage::Run { line } => self.run(line, now),
        }
    }

    /// Handles a binary message, which the protocol does not use.
    pub fn binary(&mut self) -> Vec<ServerMessage> {
        self.protocol_error("binary messages are not accepted; send JSON text")
    }

    fn protocol_error(&mut self, message: &str) -> Vec<ServerMessage> {
        self.protocol_errors += 1;
        tracing::info!(
            session = %self.info.id,
            client = %self.info.client,
            error = message,
            "terminal protocol error"
        );
        let mut replies = vec![ServerMessage::Error {
            message: message.to_owned(),
        }];
        if self.protocol_errors > self.terminal.limits.max_protocol_errors {
            self.close(
                &mut replies,
                format!(
                    "more than {} malformed messages (terminal.max_protocol_errors)",
                    self.terminal.limits.max_protocol_errors
                ),
            );
        } else if !self.busy {
            self.ready(&mut replies);
        }
        replies
    }

    /// Completes `line`. The reply carries a line only when something was
    /// completed: a line that is refused (too long, characters that are never
    /// accepted, over the rate) is never sent back.
    fn complete(&mut self, line: &str, now: Instant) -> Vec<ServerMessage> {
        let max = self.terminal.limits.max_line;
        if line.len() > max || self.bucket.take(now).is_err() {
            return vec![ServerMessage::Completion {
                line: None,
                candidates: Vec::new(),
            }];
        }
        let done = crate::complete::complete(&self.terminal.registry, line);
        let completed = done.line != line || !done.candidates.is_empty();
        let line = Some(done.line).filter(|l| {
            completed && l.len() <= max && l.chars().all(|c| lex::forbidden(c).is_none())
        });
        vec![ServerMessage::Completion {
            line,
            candidates: done.candidates,
        }]
    }

    fn run(&mut self, line: String, now: Instant) -> Step {
        let mut replies = Vec::new();
        if self.busy {
            replies.push(ServerMessage::Error {
                message: "a command is still running; wait for it or press Ctrl+C".to_owned(),
            });
            return Step::Reply(replies);
        }
        let limits = &self.terminal.limits;
        if line.len() > limits.max_line {
            let message = format!(
                "the line is {} bytes long; the limit is {} (terminal.max_line)",
                line.len(),
                limits.max_line
            );
            self.log(&line, "refused", &message, None);
            let mut cut = limits.max_line;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            self.remember(&format!("{}…", &line[..cut]), true);
            return Step::Reply(self.refuse(message));
        }
        if let Err(wait) = self.bucket.take(now) {
            let message = format!(
                "slow down: at most {} commands a minute (terminal.commands_per_minute); \
                 try again in {} s",
                limits.commands_per_minute,
                wait.as_secs_f64().ceil().min(3600.0)
            );
            self.log(&line, "refused", &message, None);
            self.remember(&line, true);
            return Step::Reply(self.refuse(message));
        }
        let words = match lex::split(&line) {
            Ok(words) => words,
            Err(e) => {
                self.log(&line, "invalid", &e.to_string(), None);
                self.remember(&line, true);
                self.caret(&mut replies, &line, e.column());
                replies.push(ServerMessage::Error {
                    message: e.to_string(),
                });
                self.ready(&mut replies);
                return Step::Reply(replies);
            }
        };
        if words.is_empty() {
            self.ready(&mut replies);
            return Step::Reply(replies);
        }
        self.remember(&line, false);
        let registry = &self.terminal.registry;
        let invocation = match parse::parse(&words, |name| registry.spec(name), &registry.names()) {
            Ok(invocation) => invocation,
            Err(e) => {
                self.log(&line, "usage", &e.message, None);
                self.usage_error(&mut replies, &line, e);
                self.ready(&mut replies);
                return Step::Reply(replies);
            }
        };
        if invocation.help {
            let out = builtins::help(Some(invocation.command), invocation.sub, registry);
            self.log(&line, "ok", "help", None);
            self.show(&mut replies, out);
            self.ready(&mut replies);
            return Step::Reply(replies);
        }
        match self.terminal.registry.entry(invocation.command) {
            Some(Entry::Registered(command)) => {
                let command = command.clone();
                self.busy = true;
                let call = Call {
                    invocation,
                    max_rows: self.terminal.limits.max_rows,
                    session: self.info.clone(),
                };
                Step::Run(Running {
                    future: command.run(call),
                    line,
                    started: now,
                })
            }
            Some(Entry::Builtin(_)) => {
                let out = builtins::run(
                    &invocation,
                    &Context {
                        registry: &self.terminal.registry,
                        history: &self.history,
                        session: &self.info,
                        about: &self.terminal.about,
                    },
                );
                self.log(&line, "ok", "", None);
                self.show(&mut replies, out);
                self.ready(&mut replies);
                Step::Reply(replies)
            }
            None => Step::Reply(Vec::new()),
        }
    }

    /// Renders, caps and logs what a command produced, and gives the prompt back.
    pub fn finish(
        &mut self,
        running: Running,
        outcome: Outcome,
        now: Instant,
    ) -> Vec<ServerMessage> {
        self.busy = false;
        let elapsed = now.saturating_duration_since(running.started);
        let mut replies = Vec::new();
        let line = &running.line;
        match outcome {
            Outcome::Done(Ok(out)) => {
                self.log(line, "ok", "", Some(elapsed));
                self.show(&mut replies, out);
            }
            Outcome::Done(Err(CommandError::User(message))) => {
                self.log(line, "failed", &message, Some(elapsed));
                replies.push(ServerMessage::Error { message });
            }
            Outcome::Done(Err(CommandError::Internal(detail))) => {
                tracing::error!(
                    session = %self.info.id,
                    client = %self.info.client,
                    line = %escaped(line),
                    error = %detail,
                    "terminal command failed"
                );
                replies.push(ServerMessage::Error {
                    message: format!(
                        "the command failed on the server; it was logged with session id {}",
                        self.info.id
                    ),
                });
            }
            Outcome::TimedOut => {
                let limit = self.terminal.limits.command_timeout;
                let message = format!(
                    "the command ran longer than {} (terminal.command_timeout) and was stopped",
                    HumanDuration::new(limit)
                );
                self.log(line, "timeout", &message, Some(elapsed));
                replies.push(ServerMessage::Error { message });
            }
            Outcome::Cancelled => {
                self.log(line, "cancelled", "", Some(elapsed));
                self.print(&mut replies, "^C\r\n".to_owned());
            }
        }
        self.ready(&mut replies);
        replies
    }

    /// Runs one message to the end, the command included (for tests and tools
    /// that have no socket to watch for `cancel`).
    pub async fn drive(&mut self, text: &str) -> Vec<ServerMessage> {
        match self.receive(text, Instant::now()) {
            Step::Reply(replies) => replies,
            Step::Cancel => Vec::new(),
            Step::Run(mut running) => {
                let limit = self.terminal.limits.command_timeout;
                let outcome = match tokio::time::timeout(limit, &mut running.future).await {
                    Ok(result) => Outcome::Done(result),
                    Err(_) => Outcome::TimedOut,
                };
                self.finish(running, outcome, Instant::now())
            }
        }
    }

    fn refuse(&mut self, message: String) -> Vec<ServerMessage> {
        let mut replies = vec![ServerMessage::Error { message }];
        self.ready(&mut replies);
        replies
    }

    /// Keeps `line` for `history`; `refused` for a line that was not run
    /// because of its size, the rate or its characters.
    fn remember(&mut self, line: &str, refused: bool) {
        let keep = self.terminal.limits.history;
        let entry = HistoryLine {
            line: line.to_owned(),
            refused,
        };
        if keep == 0 || self.history.back() == Some(&entry) {
            return;
        }
        if self.history.len() == keep {
            self.history.pop_front();
        }
        self.history.push_back(entry);
    }

    fn show(&mut self, replies: &mut Vec<ServerMessage>, out: Output) {
        if out.clears() {
            replies.push(ServerMessage::Clear);
        }
        let mut text = output::render(&out, self.cols);
        let max = self.terminal.limits.max_command_output;
        if text.len() > max {
            let mut cut = max;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let cut = text[..cut].rfind("\r\n").map_or(0, |i| i + 2);
            let total = text.len();
            text.truncate(cut);
            text.push_str(&output::render(
                &Output(vec![output::Block::Line(output::Line::styled(
                    format!(
                        "… output cut at {max} of {total} bytes (terminal.max_command_output); \
                         ask for fewer rows"
                    ),
                    Style::Yellow,
                ))]),
                self.cols,
            ));
        }
        self.print(replies, text);
    }

    fn print(&mut self, replies: &mut Vec<ServerMessage>, data: String) {
        if data.is_empty() || self.closing.is_some() {
            return;
        }
        let max = self.terminal.limits.max_session_output;
        let size = data.len() as u64;
        if self.sent + size > max {
            self.close(
                replies,
                format!(
                    "this session has printed its {} bytes (terminal.max_session_output); \
                     reconnect to go on",
                    max
                ),
            );
            return;
        }
        self.sent += size;
        replies.push(ServerMessage::Output { data });
    }

    fn close(&mut self, replies: &mut Vec<ServerMessage>, reason: String) {
        tracing::info!(session = %self.info.id, client = %self.info.client, reason = %reason, "terminal session closed by the server");
        replies.push(ServerMessage::Closed {
            reason: reason.clone(),
        });
        self.closing = Some(reason);
    }

    fn ready(&mut self, replies: &mut Vec<ServerMessage>) {
        if self.closing.is_some() {
            return;
        }
        let who = self
            .info
            .user
            .as_deref()
            .and_then(|email| email.split('@').next())
            .map(output::neutralise)
            .unwrap_or_else(|| "guest".to_owned());
        replies.push(ServerMessage::Ready {
            prompt: format!(
                "\x1b[32m{who}@{}\x1b[0m \x1b[2m›\x1b[0m ",
                output::neutralise(&self.terminal.host)
            ),
        });
    }

    fn caret(&mut self, replies: &mut Vec<ServerMessage>, line: &str, column: Option<usize>) {
        let Some(column) = column else { return };
        if line.len() > 200 {
            return;
        }
        let prefix: String = line.chars().take(column).collect();
        let shown = output::neutralise(line);
        let indent = output::width(&output::neutralise(&prefix));
        self.print(
            replies,
            format!(
                "  \x1b[2m{shown}\x1b[0m\r\n  {}\x1b[31m^\x1b[0m\r\n",
                " ".repeat(indent)
            ),
        );
    }

    fn usage_error(&mut self, replies: &mut Vec<ServerMessage>, line: &str, e: UsageError) {
        self.caret(replies, line, e.column);
        replies.push(ServerMessage::Error { message: e.message });
        if !e.usage.is_empty() {
            let mut out = Output::new();
            for usage in e.usage {
                out.line(output::Line::styled("usage: ", Style::Dim).push(usage, Style::Cyan));
            }
            self.show(replies, out);
        }
    }

    /// Logs a line and how it ended; `elapsed` for commands that ran.
    fn log(&self, line: &str, outcome: &str, detail: &str, elapsed: Option<Duration>) {
        tracing::info!(
            session = %self.info.id,
            client = %self.info.client,
            user = self.info.user.as_deref().unwrap_or(""),
            line = %escaped(line),
            outcome,
            detail,
            duration_ms = elapsed.map(|d| d.as_millis() as u64),
            "terminal command"
        );
    }
}

/// `line` for a log: control characters escaped, at most 200 characters.
fn escaped(line: &str) -> String {
    let mut out: String = line
        .chars()
        .take(200)
        .flat_map(char::escape_debug)
        .collect();
    if line.chars().count() > 200 {
        out.push('…');
    }
    out
}
