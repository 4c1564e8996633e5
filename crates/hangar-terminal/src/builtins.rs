//! The commands every terminal has: `help`, `clear`, `history`, `about`,
//! `whoami`. They read the session's own state, so the session runs them itself.

use std::collections::VecDeque;

use crate::output::{Block, Line, Output, Style};
use crate::parse::Invocation;
use crate::registry::{Registry, SessionInfo};
use crate::spec::{Arg, Body, Kind, Signature, Spec, usage, usages};

pub(crate) static HELP: Spec = Spec {
    name: "help",
    summary: "list the commands, or explain one",
    body: Body::Leaf(Signature {
        args: &[
            Arg {
                name: "COMMAND",
                help: "the command to explain",
                kind: Kind::Text { max_chars: 32 },
                required: false,
                rest: false,
            },
            Arg {
                name: "SUBCOMMAND",
                help: "one of its subcommands",
                kind: Kind::Text { max_chars: 32 },
                required: false,
                rest: false,
            },
        ],
        opts: &[],
        examples: &["help", "help movies", "help movies top"],
    }),
};

pub(crate) static CLEAR: Spec = Spec {
    name: "clear",
    summary: "clear the screen",
    body: Body::Leaf(Signature::NONE),
};

pub(crate) static HISTORY: Spec = Spec {
    name: "history",
    summary: "the lines typed in this session, refused ones marked",
    body: Body::Leaf(Signature::NONE),
};

pub(crate) static ABOUT: Spec = Spec {
    name: "about",
    summary: "who this site belongs to",
    body: Body::Leaf(Signature::NONE),
};

pub(crate) static WHOAMI: Spec = Spec {
    name: "whoami",
    summary: "your session: id, address, account",
    body: Body::Leaf(Signature::NONE),
};

/// The built-ins' declarations.
pub(crate) static BUILTINS: [&Spec; 5] = [&HELP, &CLEAR, &HISTORY, &ABOUT, &WHOAMI];

/// A line of the session's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistoryLine {
    /// The line as typed (cut when it was refused for its length).
    pub line: String,
    /// Whether it was refused before it could run (size, rate, characters).
    pub refused: bool,
}

/// What a built-in needs from its session.
pub(crate) struct Context<'a> {
    pub registry: &'a Registry,
    pub history: &'a VecDeque<HistoryLine>,
    pub session: &'a SessionInfo,
    pub about: &'a Output,
}

/// Runs built-in `inv.command`.
pub(crate) fn run(inv: &Invocation, ctx: &Context<'_>) -> Output {
    let mut out = Output::new();
    match inv.command {
        "help" => return help(inv.text("COMMAND"), inv.text("SUBCOMMAND"), ctx.registry),
        "clear" => out.0.push(Block::Clear),
        "history" => {
            for (i, entry) in ctx.history.iter().enumerate() {
                let mut line = Line::styled(format!("{:>5}  ", i + 1), Style::Dim)
                    .push(entry.line.clone(), Style::Plain);
                if entry.refused {
                    line = line.push("  (refused)", Style::Red);
                }
                out.line(line);
            }
        }
        "about" => out = ctx.about.clone(),
        "whoami" => {
            let s = ctx.session;
            let who = s
                .user
                .clone()
                .unwrap_or_else(|| "guest (not signed in)".to_owned());
            out.line(Line::styled("user     ", Style::Dim).push(who, Style::Cyan));
            out.line(Line::styled("session  ", Style::Dim).push(s.id.clone(), Style::Plain));
            out.line(
                Line::styled("address  ", Style::Dim).push(s.client.to_string(), Style::Plain),
            );
        }
        _ => {}
    }
    out
}

/// `help`, `help COMMAND`, `help COMMAND SUBCOMMAND`, and `--help` anywhere.
pub(crate) fn help(command: Option<&str>, sub: Option<&str>, registry: &Registry) -> Output {
    let mut out = Output::new();
    let Some(name) = command else {
        out.line(Line::styled("Commands", Style::Bold));
        let width = registry.specs().map(|s| s.name.len()).max().unwrap_or(0);
        for spec in registry.specs() {
            out.line(
                Line::styled(format!("  {:<width$}  ", spec.name), Style::Cyan)
                    .push(spec.summary, Style::Plain),
            );
        }
        out.text("");
        out.line(
            Line::styled("Type ", Style::Dim)
                .push("help COMMAND", Style::Cyan)
                .push(
                    " for its arguments, Tab to complete, ↑ ↓ for earlier lines.",
                    Style::Dim,
                ),
        );
        return out;
    };
    let Some(spec) = registry.spec(name) else {
        out.line(Line::styled(
            format!("no command `{name}`; type `help` to list the commands"),
            Style::Red,
        ));
        return out;
    };
    match (spec.body, sub) {
        (Body::Group(subs), Some(sub_name)) => match subs.iter().find(|s| s.name == sub_name) {
            Some(s) => signature_help(
                &mut out,
                &format!("{} {}", spec.name, s.name),
                s.summary,
                &s.signature,
            ),
            None => {
                out.line(Line::styled(
                    format!(
                        "`{}` has no subcommand `{sub_name}`; it has {}",
                        spec.name,
                        spec.sub_names().join(", ")
                    ),
                    Style::Red,
                ));
            }
        },
        (Body::Group(subs), None) => {
            out.line(
                Line::styled(spec.name, Style::Bold)
                    .push(format!(" — {}", spec.summary), Style::Plain),
            );
            out.text("");
            for line in usages(spec) {
                out.line(Line::styled(format!("  {line}"), Style::Cyan));
            }
            out.text("");
            let width = subs.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for s in subs {
                out.line(
                    Line::styled(format!("  {:<width$}  ", s.name), Style::Cyan)
                        .push(s.summary, Style::Plain),
                );
            }
            out.text("");
            out.line(Line::styled(
                format!("Type `help {} SUBCOMMAND` for details.", spec.name),
                Style::Dim,
            ));
        }
        (Body::Leaf(sig), _) => signature_help(&mut out, spec.name, spec.summary, &sig),
    }
    out
}

fn signature_help(out: &mut Output, path: &str, summary: &str, sig: &Signature) {
    out.line(Line::styled(path, Style::Bold).push(format!(" — {summary}"), Style::Plain));
    out.text("");
    out.line(Line::styled("usage: ", Style::Dim).push(usage(path, sig), Style::Cyan));
    if !sig.args.is_empty() || !sig.opts.is_empty() {
        out.text("");
    }
    for arg in sig.args {
        out.line(
            Line::styled(format!("  {:<16}", arg.name), Style::Cyan).push(
                format!("{} — {}", arg.help, arg.kind.expected()),
                Style::Plain,
            ),
        );
    }
    for opt in sig.opts {
        let name = if opt.kind == Kind::Switch {
            format!("--{}", opt.name)
        } else {
            format!("--{} {}", opt.name, opt.value)
        };
        let what = if opt.kind == Kind::Switch {
            opt.help.to_owned()
        } else {
            format!("{} — {}", opt.help, opt.kind.expected())
        };
        out.line(Line::styled(format!("  {name:<16}"), Style::Cyan).push(what, Style::Plain));
    }
    if !sig.examples.is_empty() {
        out.text("");
        out.line(Line::styled("examples", Style::Dim));
        for example in sig.examples {
            out.line(Line::styled(format!("  {example}"), Style::Plain));
        }
    }
}
