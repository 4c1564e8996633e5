//! Fuzzes the terminal's lexer, parser, completion and session dispatch with
//! arbitrary input, and checks what a visitor can never get back: a panic, an
//! escape sequence other than the renderer's colours, a character that is not
//! printable text other than the line ends, a completion that sends back a line
//! it should not, or a reply without the prompt (or the session's end).

#![no_main]

use std::net::IpAddr;
use std::sync::Arc;

use hangar_terminal::lex::forbidden;
use hangar_terminal::output::strip_styles;
use hangar_terminal::{
    Align, Arg, Body, BoxFuture, Call, Command, CommandError, Kind, Limits, Opt, Output,
    Registry, ServerMessage, Session, SessionInfo, Signature, Spec, Sub, Table, Terminal,
};
use libfuzzer_sys::fuzz_target;

/// A command of every shape the grammar has, echoing its typed values back.
struct Echo;

static ECHO: Spec = Spec {
    name: "echo",
    summary: "echo typed values",
    body: Body::Group(&[
        Sub {
            name: "text",
            summary: "rest of the line",
            signature: Signature {
                args: &[Arg {
                    name: "WORDS",
                    help: "words",
                    kind: Kind::Text { max_chars: 64 },
                    required: true,
                    rest: true,
                }],
                opts: &[Opt {
                    name: "upper",
                    value: "",
                    help: "upper case",
                    kind: Kind::Switch,
                }],
                examples: &[],
            },
        },
        Sub {
            name: "table",
            summary: "a table",
            signature: Signature {
                args: &[Arg {
                    name: "N",
                    help: "rows",
                    kind: Kind::Int { min: 0, max: 500 },
                    required: false,
                    rest: false,
                }],
                opts: &[
                    Opt {
                        name: "by",
                        value: "WHAT",
                        help: "a choice",
                        kind: Kind::Choice(&["alpha", "beta", "alphabet"]),
                    },
                    Opt {
                        name: "cell",
                        value: "TEXT",
                        help: "cell text",
                        kind: Kind::Text { max_chars: 200 },
                    },
                ],
                examples: &[],
            },
        },
    ]),
};

impl Command for Echo {
    fn spec(&self) -> &'static Spec {
        &ECHO
    }

    fn run(&self, call: Call) -> BoxFuture<Result<Output, CommandError>> {
        Box::pin(async move {
            let inv = call.invocation;
            let mut out = Output::new();
            if inv.sub == Some("text") {
                let words = inv.text("WORDS").unwrap_or_default();
                out.text(if inv.switch("upper") { words.to_uppercase() } else { words.to_owned() });
                return Ok(out);
            }
            let n = inv.int("N").unwrap_or(3).min(i64::from(call.max_rows));
            let cell = inv.text("cell").unwrap_or("cell").to_owned();
            let mut table = Table::new(&[("#", Align::Right), ("Cell", Align::Left)]);
            for i in 0..n {
                table.row(vec![i.to_string(), cell.clone()]);
            }
            out.table(table);
            Ok(out)
        })
    }
}

fn check(replies: &[ServerMessage], closing: bool, busy: bool) {
    for reply in replies {
        match reply {
            ServerMessage::Output { data } => {
                let plain = strip_styles(data);
                for c in plain.chars() {
                    assert!(
                        forbidden(c).is_none() || c == '\r' || c == '\n',
                        "{c:?} reached the terminal: {data:?}"
                    );
                }
            }
            ServerMessage::Completion { line: Some(line), .. } => {
                assert!(
                    line.len() <= Limits::default().max_line
                        && line.chars().all(|c| forbidden(c).is_none()),
                    "a completion sent back {line:?}"
                );
            }
            _ => {}
        }
    }
    let ends = replies.last();
    let finished = matches!(ends, Some(ServerMessage::Ready { .. } | ServerMessage::Closed { .. }))
        || matches!(ends, Some(ServerMessage::Completion { .. }))
        || replies.is_empty();
    assert!(finished || busy || closing, "a reply without the prompt: {replies:?}");
}

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let mut registry = Registry::new();
    registry.register(Echo).expect("a well-formed command");
    let terminal = Arc::new(Terminal {
        registry,
        limits: Limits {
            max_rows: 50,
            max_command_output: 4096,
            ..Limits::default()
        },
        about: Output::new(),
        host: "hangar".to_owned(),
    });
    let info = SessionInfo {
        id: "fuzz".to_owned(),
        client: IpAddr::from([127, 0, 0, 1]),
        user: None,
    };
    runtime.block_on(async {
        let mut session = Session::new(terminal.clone(), info, tokio::time::Instant::now());
        let Ok(text) = std::str::from_utf8(data) else {
            let replies = session.binary();
            check(&replies, session.closing().is_some(), session.busy());
            return;
        };
        // The text as a line, as a completion, and as a raw protocol message.
        for message in [
            serde_json::json!({"type": "run", "line": text}).to_string(),
            serde_json::json!({"type": "complete", "line": text}).to_string(),
            text.to_owned(),
        ] {
            let replies = session.drive(&message).await;
            check(&replies, session.closing().is_some(), session.busy());
        }
        // Each line of the input as a command of its own.
        for line in text.lines().take(32) {
            let message = serde_json::json!({"type": "run", "line": line}).to_string();
            let replies = session.drive(&message).await;
            check(&replies, session.closing().is_some(), session.busy());
        }
    });
});
