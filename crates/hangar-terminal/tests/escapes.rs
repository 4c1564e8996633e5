//! Escape attempts against a terminal session: every one is refused with a clear
//! message, the prompt comes back, and no command runs.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hangar_terminal::output::strip_styles;
use hangar_terminal::{
    Align, Arg, Body, BoxFuture, Call, Command, CommandError, Kind, Limits, Opt, Output, Registry,
    ServerMessage, Session, SessionInfo, Sessions, Signature, Spec, Sub, Table, Terminal,
};

/// A command that counts its runs, echoes its typed arguments, can print many
/// rows and can run slowly — the effects the attempts must not reach.
struct Probe {
    runs: Arc<AtomicUsize>,
}

static PROBE: Spec = Spec {
    name: "probe",
    summary: "test command",
    body: Body::Group(&[
        Sub {
            name: "echo",
            summary: "echo the words",
            signature: Signature {
                args: &[Arg {
                    name: "WORDS",
                    help: "words",
                    kind: Kind::Text { max_chars: 100 },
                    required: true,
                    rest: true,
                }],
                opts: &[],
                examples: &[],
            },
        },
        Sub {
            name: "show",
            summary: "one item by id",
            signature: Signature {
                args: &[Arg {
                    name: "ID",
                    help: "the id",
                    kind: Kind::Int {
                        min: 1,
                        max: 1_000_000,
                    },
                    required: true,
                    rest: false,
                }],
                opts: &[],
                examples: &[],
            },
        },
        Sub {
            name: "rows",
            summary: "many rows",
            signature: Signature {
                args: &[],
                opts: &[Opt {
                    name: "n",
                    value: "N",
                    help: "how many",
                    kind: Kind::Int {
                        min: 1,
                        max: 100_000,
                    },
                }],
                examples: &[],
            },
        },
        Sub {
            name: "slow",
            summary: "takes a minute",
            signature: Signature::NONE,
        },
    ]),
};

impl Command for Probe {
    fn spec(&self) -> &'static Spec {
        &PROBE
    }

    fn run(&self, call: Call) -> BoxFuture<Result<Output, CommandError>> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let inv = call.invocation;
            let mut out = Output::new();
            match inv.sub {
                Some("echo") => {
                    out.text(inv.text("WORDS").unwrap_or_default());
                }
                Some("show") => {
                    out.text(format!("item {}", inv.int("ID").unwrap_or_default()));
                }
                Some("rows") => {
                    let n = inv.int("n").unwrap_or(10).min(i64::from(call.max_rows));
                    let mut table = Table::new(&[("#", Align::Right), ("Text", Align::Left)]);
                    for i in 0..n {
                        table.row(vec![i.to_string(), "x".repeat(40)]);
                    }
                    out.table(table);
                }
                _ => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
            }
            Ok(out)
        })
    }
}

fn terminal(limits: Limits) -> (Arc<Terminal>, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::new();
    registry.register(Probe { runs: runs.clone() }).unwrap();
    let mut about = Output::new();
    about.text("about text");
    let terminal = Terminal {
        registry,
        limits,
        about,
        host: "hangar".to_owned(),
    };
    (Arc::new(terminal), runs)
}

fn session(terminal: &Arc<Terminal>) -> Session {
    let info = SessionInfo {
        id: "s-1".to_owned(),
        client: IpAddr::from([192, 0, 2, 7]),
        user: None,
    };
    Session::new(terminal.clone(), info, tokio::time::Instant::now())
}

fn run_msg(line: &str) -> String {
    serde_json::json!({"type": "run", "line": line}).to_string()
}

/// The error text of the replies, and whether the prompt came back.
fn error_of(replies: &[ServerMessage]) -> (Option<String>, bool) {
    let error = replies.iter().find_map(|m| match m {
        ServerMessage::Error { message } => Some(message.clone()),
        _ => None,
    });
    let ready = matches!(replies.last(), Some(ServerMessage::Ready { .. }));
    (error, ready)
}

fn text_of(replies: &[ServerMessage]) -> String {
    replies
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Output { data } => Some(strip_styles(data)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn escape_attempts_are_refused_without_effect() {
    let (terminal, runs) = terminal(Limits {
        command_burst: 1000,
        ..Limits::default()
    });
    let mut s = session(&terminal);
    let attempts: &[(&str, &str)] = &[
        // Chaining, pipes, substitution.
        (
            "probe echo hi; cat /etc/passwd",
            "commands cannot be chained",
        ),
        ("probe echo hi | sh", "there are no pipes"),
        ("probe echo hi && id", "no background jobs or `&&`"),
        ("probe echo hi & id", "no background jobs"),
        ("probe echo $(id)", "no variables or `$(…)` substitution"),
        ("probe echo `id`", "no command substitution"),
        ("probe echo hi > /tmp/owned", "no redirection"),
        ("probe echo < /etc/passwd", "no redirection"),
        ("probe echo hi || true", "there are no pipes"),
        ("(probe echo hi)", "no subshells"),
        ("{ probe echo; }", "no subshells"),
        // Environment, globs, home, history expansion, comments, escapes.
        ("probe echo $HOME", "no variables"),
        ("probe echo ${PATH}", "no variables"),
        ("probe echo *", "no globbing"),
        ("probe echo /etc/pass??", "no globbing"),
        ("probe echo [a-z]*", "no globbing"),
        ("probe echo ~root", "no home directory"),
        ("!!", "no history expansion"),
        ("probe echo hi #", "no comments"),
        (r"probe\ echo", "no escapes"),
        // Commands that do not exist here.
        ("sh", "unknown command `sh`"),
        ("bash -c id", "unknown command `bash`"),
        ("env", "unknown command `env`"),
        ("export PATH=/tmp", "unknown command `export`"),
        ("PATH=/tmp probe echo", "unknown command `PATH=/tmp`"),
        ("cat /etc/passwd", "unknown command `cat`"),
        ("/bin/sh", "unknown command `/bin/sh`"),
        ("./probe", "unknown command `./probe`"),
        ("exec probe", "unknown command `exec`"),
        ("'probe' echo hi", "unknown command `probe`"),
        ("probe 'echo' hi", "has no subcommand `echo`"),
        // Path traversal where an id is expected.
        ("probe show ../../etc/passwd", "ID: expected a whole number"),
        ("probe show /etc/passwd", "ID: expected a whole number"),
        ("probe show 1e3", "ID: expected a whole number"),
        ("probe show 0x10", "ID: expected a whole number"),
        (
            "probe show 99999999999999999999999",
            "ID: expected a whole number",
        ),
        // Control and escape sequences, NUL, invisible and direction characters.
        ("probe echo \u{1b}[2J", "U+001B (escape)"),
        ("probe echo \u{1b}]0;owned\u{7}", "U+001B (escape)"),
        ("probe echo \u{9b}2J", "U+009B (C1 control)"),
        ("probe echo hi\u{0}", "U+0000 (NUL)"),
        ("probe echo 'hi\u{0}'", "U+0000 (NUL)"),
        ("probe echo hi\ncat /etc/passwd", "U+000A (line feed)"),
        ("probe echo hi\rid", "U+000D (carriage return)"),
        ("probe\techo", "U+0009 (tab)"),
        ("probe echo \u{7f}", "U+007F (delete)"),
        ("probe echo \u{202e}dwssap", "text direction override"),
        ("probe echo a\u{200b}b", "invisible character"),
        // Format and invisible characters by Unicode category, not by a list.
        ("probe echo \u{61c}x", "U+061C (text direction override)"),
        ("probe echo a\u{2028}b", "U+2028 (line separator)"),
        ("probe echo a\u{2029}b", "U+2029 (paragraph separator)"),
        (
            "probe echo soft\u{ad}hyphen",
            "U+00AD (invisible character)",
        ),
        ("probe echo '\u{3164}'", "U+3164 (invisible character)"),
        ("probe echo hi\u{e0001}\u{e0068}", "U+E0001 (tag character)"),
        ("probe echo \u{e0000}", "U+E0000 (tag character)"),
        ("probe echo \u{e007f}", "U+E007F (tag character)"),
        ("probe echo \u{f8ff}", "U+F8FF (private-use character)"),
        ("probe echo \u{10ffff}", "U+10FFFF (unassigned code point)"),
        (
            "probe echo z\u{301}\u{302}\u{303}\u{304}\u{305}\u{306}",
            "more than 4 combining marks in a row",
        ),
        // Quotes that never close, option tricks.
        ("probe echo 'unclosed", "never closed"),
        ("probe rows --n=-1", "--n: expected a whole number"),
        ("probe rows --n 5 --n 6", "given twice"),
        ("probe rows --exec=id", "unknown option `--exec`"),
    ];
    for (line, expected) in attempts {
        let replies = s.drive(&run_msg(line)).await;
        let (error, ready) = error_of(&replies);
        let error = error.unwrap_or_else(|| panic!("{line:?} was not refused: {replies:?}"));
        assert!(error.contains(expected), "{line:?}: {error}");
        assert!(ready, "{line:?}: no prompt after the refusal");
        assert!(
            !text_of(&replies).contains('\u{1b}'),
            "{line:?} echoed an escape sequence"
        );
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "a refused line ran a command"
    );
    // The same characters are plain text inside quotes: no effect either.
    let replies = s
        .drive(&run_msg("probe echo '; $(id) `id` | * ~ ../../etc/passwd'"))
        .await;
    assert_eq!(
        text_of(&replies),
        "; $(id) `id` | * ~ ../../etc/passwd\r\n",
        "{replies:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn malformed_messages_and_binary_are_refused_then_the_session_closes() {
    let (terminal, runs) = terminal(Limits {
        max_protocol_errors: 3,
        ..Limits::default()
    });
    let mut s = session(&terminal);
    for bad in [
        "not json",
        r#"{"type":"exec","line":"id"}"#,
        r#"{"type":"run","line":"help","shell":true}"#,
    ] {
        let replies = s.drive(bad).await;
        let (error, ready) = error_of(&replies);
        assert!(error.unwrap().starts_with("malformed message"), "{bad}");
        assert!(ready);
    }
    let replies = s.binary();
    assert!(
        matches!(replies.last(), Some(ServerMessage::Closed { reason }) if reason.contains("terminal.max_protocol_errors"))
    );
    assert!(s.closing().is_some());
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn huge_lines_are_refused_by_size() {
    let (terminal, runs) = terminal(Limits {
        max_line: 1024,
        ..Limits::default()
    });
    let mut s = session(&terminal);
    let line = format!("probe echo {}", "a".repeat(5000));
    let (error, ready) = error_of(&s.drive(&run_msg(&line)).await);
    assert_eq!(
        error.unwrap(),
        "the line is 5011 bytes long; the limit is 1024 (terminal.max_line)"
    );
    assert!(ready);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

/// The completion of `line`, as the client receives it.
async fn completion(s: &mut Session, line: &str) -> serde_json::Value {
    let replies = s
        .drive(&serde_json::json!({"type": "complete", "line": line}).to_string())
        .await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    serde_json::from_str(&replies[0].to_json()).unwrap()
}

#[tokio::test]
async fn completion_never_echoes_a_refused_line() {
    let (terminal, runs) = terminal(Limits {
        max_line: 64,
        ..Limits::default()
    });
    let mut s = session(&terminal);
    // Too long, and characters that are never accepted: the reply carries no
    // line, so nothing of it reaches the terminal.
    for line in [
        format!("probe echo {}", "a".repeat(100)),
        "probe echo \u{1b}]0;owned\u{7}\u{1b}[2J".to_owned(),
        "pro\u{1b}[31m".to_owned(),
        "probe \u{202e}".to_owned(),
    ] {
        let reply = completion(&mut s, &line).await;
        assert_eq!(reply["type"], "completion");
        assert!(reply.get("line").is_none(), "{line:?} came back: {reply}");
        assert_eq!(reply["candidates"], serde_json::json!([]));
    }
    // Nothing to complete: no line either; something to complete: the line.
    assert!(completion(&mut s, "probe zzz").await.get("line").is_none());
    assert_eq!(completion(&mut s, "probe ec").await["line"], "probe echo ");
    let both = completion(&mut s, "probe s").await;
    assert_eq!(both["line"], "probe s");
    assert_eq!(both["candidates"], serde_json::json!(["show", "slow"]));
    // A completion that would pass the line limit is not sent.
    let near = format!("probe rows{}--", " ".repeat(52));
    assert_eq!(near.len(), 64);
    assert!(completion(&mut s, &near).await.get("line").is_none());
    assert_eq!(
        completion(&mut s, "probe rows --").await["line"],
        "probe rows --n "
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn history_keeps_refused_lines_marked() {
    let (terminal, _) = terminal(Limits {
        max_line: 32,
        command_burst: 3,
        commands_per_minute: 1,
        ..Limits::default()
    });
    let mut s = session(&terminal);
    s.drive(&run_msg("probe show 1")).await;
    s.drive(&run_msg("probe echo \u{1b}[2J")).await;
    s.drive(&run_msg(&format!("probe echo {}", "b".repeat(40))))
        .await;
    s.drive(&run_msg("probe show 2")).await;
    // The burst of 3 is spent: this one is refused for the rate.
    s.drive(&run_msg("probe show 3")).await;
    tokio::time::advance(Duration::from_secs(61)).await;
    let text = text_of(&s.drive(&run_msg("history")).await);
    assert_eq!(
        text,
        format!(
            "    1  probe show 1\r\n    2  probe echo \u{fffd}[2J  (refused)\r\n    3  probe echo {}…  (refused)\r\n    4  probe show 2\r\n    5  probe show 3  (refused)\r\n    6  history\r\n",
            "b".repeat(21)
        )
    );
}

#[tokio::test(start_paused = true)]
async fn floods_hit_the_command_rate() {
    let (terminal, runs) = terminal(Limits {
        commands_per_minute: 60,
        command_burst: 5,
        ..Limits::default()
    });
    let mut s = session(&terminal);
    for _ in 0..5 {
        let (error, _) = error_of(&s.drive(&run_msg("probe show 1")).await);
        assert!(error.is_none());
    }
    for _ in 0..100 {
        let (error, ready) = error_of(&s.drive(&run_msg("probe show 1")).await);
        assert!(
            error
                .unwrap()
                .starts_with("slow down: at most 60 commands a minute")
        );
        assert!(ready);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 5);
    tokio::time::advance(Duration::from_millis(1100)).await;
    let (error, _) = error_of(&s.drive(&run_msg("probe show 1")).await);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 6);
}

#[tokio::test(start_paused = true)]
async fn commands_are_stopped_at_the_wall_time_limit() {
    let (terminal, _) = terminal(Limits {
        command_timeout: Duration::from_secs(2),
        ..Limits::default()
    });
    let mut s = session(&terminal);
    let replies = s.drive(&run_msg("probe slow")).await;
    let (error, ready) = error_of(&replies);
    assert_eq!(
        error.unwrap(),
        "the command ran longer than 2s (terminal.command_timeout) and was stopped"
    );
    assert!(ready);
    assert!(!s.busy());
}

#[tokio::test]
async fn rows_are_capped_and_output_is_cut_per_command_then_per_session() {
    let (terminal, _) = terminal(Limits {
        max_rows: 50,
        max_command_output: 2000,
        max_session_output: 6000,
        ..Limits::default()
    });
    let mut s = session(&terminal);
    let _ = s.greeting();
    let replies = s.drive(&run_msg("probe rows --n 100000")).await;
    let text = text_of(&replies);
    assert!(text.len() <= 2000 + 200, "{} bytes", text.len());
    assert!(
        text.contains("output cut at 2000 of"),
        "no notice of the cut: {text}"
    );
    assert!(text.contains("terminal.max_command_output"));
    // The full answer holds max_rows rows, not the 100,000 asked for.
    let (terminal, _) = self::terminal(Limits {
        max_rows: 50,
        ..Limits::default()
    });
    let mut other = session(&terminal);
    let text = text_of(&other.drive(&run_msg("probe rows --n 100000")).await);
    assert!(text.ends_with("(50 rows)\r\n"), "{text}");
    // Spend the session's budget: the session is closed with the reason.
    let mut closed = None;
    for _ in 0..10 {
        let replies = s.drive(&run_msg("probe rows --n 30")).await;
        if let Some(ServerMessage::Closed { reason }) = replies.last() {
            closed = Some(reason.clone());
            break;
        }
    }
    let reason = closed.expect("the session was never closed");
    assert!(reason.contains("terminal.max_session_output"), "{reason}");
    assert!(s.closing().is_some());
    assert!(s.drive(&run_msg("help")).await.is_empty());
}

#[tokio::test]
async fn many_sessions_from_one_address() {
    let gate = Sessions::new(100, 4);
    let address = IpAddr::from([198, 51, 100, 1]);
    let permits: Vec<_> = (0..4).map(|_| gate.open(address).unwrap()).collect();
    for _ in 0..50 {
        let refused = gate.open(address).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "4 terminal sessions are already open from your address; close one and try again"
        );
    }
    assert!(gate.open(IpAddr::from([198, 51, 100, 2])).is_ok());
    drop(permits);
    assert!(gate.open(address).is_ok());
}

#[tokio::test]
async fn builtins_history_help_whoami() {
    let (terminal, _) = terminal(Limits {
        history: 3,
        ..Limits::default()
    });
    let mut s = session(&terminal);
    for line in ["probe show 1", "probe show 2", "whoami", "probe show 3"] {
        s.drive(&run_msg(line)).await;
    }
    let text = text_of(&s.drive(&run_msg("history")).await);
    assert_eq!(
        text,
        "    1  whoami\r\n    2  probe show 3\r\n    3  history\r\n"
    );
    let text = text_of(&s.drive(&run_msg("whoami")).await);
    assert!(
        text.contains("guest (not signed in)")
            && text.contains("s-1")
            && text.contains("192.0.2.7")
    );
    let text = text_of(&s.drive(&run_msg("help")).await);
    for name in ["about", "clear", "help", "history", "probe", "whoami"] {
        assert!(text.contains(name), "help lacks {name}: {text}");
    }
    let text = text_of(&s.drive(&run_msg("help probe show")).await);
    assert!(text.contains("usage: probe show ID"), "{text}");
    let text = text_of(&s.drive(&run_msg("probe show --help")).await);
    assert!(text.contains("usage: probe show ID"), "{text}");
    let replies = s.drive(&run_msg("clear")).await;
    assert_eq!(replies.first(), Some(&ServerMessage::Clear));
    assert_eq!(text_of(&s.drive(&run_msg("about")).await), "about text\r\n");
    let replies = s.drive(&run_msg("probe show")).await;
    let (error, _) = error_of(&replies);
    assert_eq!(error.unwrap(), "missing ID (the id)");
    assert!(text_of(&replies).contains("usage: probe show ID"));
}

#[test]
fn app_commands_cannot_shadow_builtins() {
    static FAKE_HELP: Spec = Spec {
        name: "help",
        summary: "x",
        body: Body::Leaf(Signature::NONE),
    };
    struct Fake;
    impl Command for Fake {
        fn spec(&self) -> &'static Spec {
            &FAKE_HELP
        }
        fn run(&self, _: Call) -> BoxFuture<Result<Output, CommandError>> {
            Box::pin(async { Ok(Output::new()) })
        }
    }
    let mut registry = Registry::new();
    assert_eq!(
        registry.register(Fake).unwrap_err().to_string(),
        "a terminal command named `help` is already registered"
    );
}
