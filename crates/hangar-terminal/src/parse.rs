//! Checking a line's words against a command's declaration ([`Spec`]) and turning
//! them into typed values ([`Invocation`]).

use crate::lex::Word;
use crate::spec::{Body, Kind, Opt, Signature, Spec, usage};

/// A typed value of an argument or option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text, within its length limit.
    Text(String),
    /// A whole number, within its range.
    Int(i64),
    /// One of the declared words.
    Choice(&'static str),
    /// A switch that was given.
    Switch,
}

/// A line checked against its command's declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The command's name.
    pub command: &'static str,
    /// The subcommand's name, for groups.
    pub sub: Option<&'static str>,
    /// `--help` or `-h` was given: show help instead of running.
    pub help: bool,
    values: Vec<(&'static str, Value)>,
}

impl Invocation {
    /// The value of argument or option `name`, if given.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Text argument or option `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.value(name) {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// Number argument or option `name`.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.value(name) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// Choice argument or option `name`.
    pub fn choice(&self, name: &str) -> Option<&'static str> {
        match self.value(name) {
            Some(Value::Choice(c)) => Some(c),
            _ => None,
        }
    }

    /// Whether switch `name` was given.
    pub fn switch(&self, name: &str) -> bool {
        matches!(self.value(name), Some(Value::Switch))
    }
}

/// A line that does not fit its command's declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    /// What is wrong and what was expected.
    pub message: String,
    /// The usage lines of the command (or subcommand) concerned.
    pub usage: Vec<String>,
    /// Column of the offending word, when there is one.
    pub column: Option<usize>,
}

impl UsageError {
    fn at(word: &Word, message: String, usage: Vec<String>) -> Self {
        Self {
            message,
            usage,
            column: Some(word.column),
        }
    }
}

/// Checks `words` (at least one) against the command `lookup` finds for the first.
pub fn parse(
    words: &[Word],
    lookup: impl Fn(&str) -> Option<&'static Spec>,
    names: &[&str],
) -> Result<Invocation, UsageError> {
    let Some(first) = words.first() else {
        return Err(UsageError {
            message: "empty line".to_owned(),
            usage: Vec::new(),
            column: None,
        });
    };
    let Some(spec) = lookup(&first.text).filter(|_| !first.quoted) else {
        let mut message = format!("unknown command `{}`", first.text);
        if let Some(close) = closest(&first.text, names) {
            message.push_str(&format!("; did you mean `{close}`?"));
        }
        message.push_str(" Type `help` to list the commands.");
        return Err(UsageError::at(first, message, Vec::new()));
    };
    let help = words[1..]
        .iter()
        .any(|w| !w.quoted && (w.text == "--help" || w.text == "-h"));
    let (sub, sig, path, rest) = match spec.body {
        Body::Leaf(sig) => (None, sig, spec.name.to_owned(), &words[1..]),
        Body::Group(subs) => {
            let names: Vec<&str> = subs.iter().map(|s| s.name).collect();
            match words.get(1) {
                None if help => {
                    return Ok(Invocation {
                        command: spec.name,
                        sub: None,
                        help,
                        values: Vec::new(),
                    });
                }
                None => {
                    return Err(UsageError {
                        message: format!(
                            "`{}` needs a subcommand: {}",
                            spec.name,
                            names.join(", ")
                        ),
                        usage: crate::spec::usages(spec),
                        column: None,
                    });
                }
                Some(w) if help && !w.quoted && (w.text == "--help" || w.text == "-h") => {
                    return Ok(Invocation {
                        command: spec.name,
                        sub: None,
                        help,
                        values: Vec::new(),
                    });
                }
                Some(w) => match spec.sub(&w.text).filter(|_| !w.quoted) {
                    Some(sub) => (
                        Some(sub.name),
                        sub.signature,
                        format!("{} {}", spec.name, sub.name),
                        &words[2..],
                    ),
                    None => {
                        let mut message = format!(
                            "`{}` has no subcommand `{}`; expected one of {}",
                            spec.name,
                            w.text,
                            names.join(", ")
                        );
                        if let Some(close) = closest(&w.text, &names) {
                            message.push_str(&format!(" (did you mean `{close}`?)"));
                        }
                        return Err(UsageError::at(w, message, crate::spec::usages(spec)));
                    }
                },
            }
        }
    };
    if help {
        return Ok(Invocation {
            command: spec.name,
            sub,
            help,
            values: Vec::new(),
        });
    }
    let values = bind(&path, &sig, rest)?;
    Ok(Invocation {
        command: spec.name,
        sub,
        help: false,
        values,
    })
}

/// Matches `words` against `sig`'s arguments and options.
fn bind(
    path: &str,
    sig: &Signature,
    words: &[Word],
) -> Result<Vec<(&'static str, Value)>, UsageError> {
    let usage_lines = || vec![usage(path, sig)];
    let mut values: Vec<(&'static str, Value)> = Vec::new();
    let mut positionals: Vec<&Word> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let Some(option) = word.text.strip_prefix("--").filter(|_| !word.quoted) else {
            if !word.quoted && word.text.starts_with('-') && !is_number(&word.text) {
                return Err(UsageError::at(
                    word,
                    format!(
                        "`{}`: options are written `--name`; {}",
                        word.text,
                        options_hint(sig)
                    ),
                    usage_lines(),
                ));
            }
            positionals.push(word);
            continue;
        };
        let (name, inline) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (option, None),
        };
        let Some(opt) = sig.opts.iter().find(|o| o.name == name) else {
            let names: Vec<&str> = sig.opts.iter().map(|o| o.name).collect();
            let mut message = format!("unknown option `--{name}`; {}", options_hint(sig));
            if let Some(close) = closest(name, &names) {
                message.push_str(&format!(" (did you mean `--{close}`?)"));
            }
            return Err(UsageError::at(word, message, usage_lines()));
        };
        if values.iter().any(|(n, _)| *n == opt.name) {
            return Err(UsageError::at(
                word,
                format!("`--{}` is given twice", opt.name),
                usage_lines(),
            ));
        }
        let value = if opt.kind == Kind::Switch {
            if inline.is_some() {
                return Err(UsageError::at(
                    word,
                    format!("`--{}` takes no value", opt.name),
                    usage_lines(),
                ));
            }
            Value::Switch
        } else {
            let raw = match inline {
                Some(raw) => raw.to_owned(),
                None => match words.get(i) {
                    Some(next) if next.quoted || !next.text.starts_with("--") => {
                        i += 1;
                        next.text.clone()
                    }
                    _ => {
                        return Err(UsageError::at(
                            word,
                            format!(
                                "`--{}` needs a value: {} ({})",
                                opt.name,
                                opt.value,
                                opt.kind.expected()
                            ),
                            usage_lines(),
                        ));
                    }
                },
            };
            typed(&format!("--{}", opt.name), opt.kind, &raw)
                .map_err(|message| UsageError::at(word, message, usage_lines()))?
        };
        values.push((opt.name, value));
    }
    let mut positionals = positionals.into_iter().peekable();
    for arg in sig.args {
        let raw = if arg.rest {
            let rest: Vec<&Word> = positionals.by_ref().collect();
            if rest.is_empty() {
                None
            } else {
                Some((
                    rest[0],
                    rest.iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                ))
            }
        } else {
            positionals.next().map(|w| (w, w.text.clone()))
        };
        match raw {
            Some((word, raw)) => {
                let value = typed(arg.name, arg.kind, &raw)
                    .map_err(|message| UsageError::at(word, message, usage_lines()))?;
                values.push((arg.name, value));
            }
            None if arg.required => {
                return Err(UsageError {
                    message: format!("missing {} ({})", arg.name, arg.help),
                    usage: usage_lines(),
                    column: None,
                });
            }
            None => {}
        }
    }
    if let Some(extra) = positionals.next() {
        return Err(UsageError::at(
            extra,
            format!("unexpected argument `{}`", extra.text),
            usage_lines(),
        ));
    }
    Ok(values)
}

fn options_hint(sig: &Signature) -> String {
    if sig.opts.is_empty() {
        "this command takes no options".to_owned()
    } else {
        let names: Vec<String> = sig
            .opts
            .iter()
            .map(|o: &Opt| format!("--{}", o.name))
            .collect();
        format!("options: {}", names.join(", "))
    }
}

fn is_number(text: &str) -> bool {
    text.strip_prefix('-')
        .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
}

/// `raw` as a value of `kind`, or a message naming `name` and what was expected.
pub(crate) fn typed(name: &str, kind: Kind, raw: &str) -> Result<Value, String> {
    let shown = shorten(raw);
    match kind {
        Kind::Text { max_chars } => {
            let chars = raw.chars().count();
            if chars > max_chars {
                Err(format!(
                    "{name}: {chars} characters is too long; at most {max_chars}"
                ))
            } else {
                Ok(Value::Text(raw.to_owned()))
            }
        }
        Kind::Int { min, max } => match raw.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Value::Int(n)),
            _ => Err(format!(
                "{name}: expected {}, got `{shown}`",
                kind.expected()
            )),
        },
        Kind::Choice(choices) => match choices.iter().find(|c| **c == raw) {
            Some(c) => Ok(Value::Choice(c)),
            None => {
                let mut message = format!("{name}: expected {}, got `{shown}`", kind.expected());
                if let Some(close) = closest(raw, choices) {
                    message.push_str(&format!(" (did you mean `{close}`?)"));
                }
                Err(message)
            }
        },
        Kind::Switch => Ok(Value::Switch),
    }
}

/// `text` cut to 40 characters for messages.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 40 {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(39).collect::<String>())
    }
}

/// The candidate within two edits of `word`, if there is one.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    hangar_core::spelling::closest(word, candidates.iter().copied(), 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::split;
    use crate::spec::{Arg, Sub};

    static MOVIES: Spec = Spec {
        name: "movies",
        summary: "films",
        body: Body::Group(&[
            Sub {
                name: "top",
                summary: "best",
                signature: Signature {
                    args: &[Arg {
                        name: "N",
                        help: "how many",
                        kind: Kind::Int { min: 1, max: 20 },
                        required: false,
                        rest: false,
                    }],
                    opts: &[Opt {
                        name: "by",
                        value: "METRIC",
                        help: "metric",
                        kind: Kind::Choice(&["imdb_rating", "imdb_votes"]),
                    }],
                    examples: &[],
                },
            },
            Sub {
                name: "search",
                summary: "find",
                signature: Signature {
                    args: &[Arg {
                        name: "WORDS",
                        help: "title words",
                        kind: Kind::Text { max_chars: 20 },
                        required: true,
                        rest: true,
                    }],
                    opts: &[],
                    examples: &[],
                },
            },
        ]),
    };

    fn run(line: &str) -> Result<Invocation, UsageError> {
        let words = split(line).unwrap();
        parse(
            &words,
            |n| (n == "movies").then_some(&MOVIES),
            &["movies", "help"],
        )
    }

    #[test]
    fn typed_values() {
        let inv = run("movies top 5 --by imdb_rating").unwrap();
        assert_eq!((inv.command, inv.sub), ("movies", Some("top")));
        assert_eq!(inv.int("N"), Some(5));
        assert_eq!(inv.choice("by"), Some("imdb_rating"));
        let inv = run("movies top --by=imdb_votes").unwrap();
        assert_eq!(inv.int("N"), None);
        assert_eq!(inv.choice("by"), Some("imdb_votes"));
        let inv = run("movies search star   wars").unwrap();
        assert_eq!(inv.text("WORDS"), Some("star wars"));
        let inv = run("movies search '--by'").unwrap();
        assert_eq!(inv.text("WORDS"), Some("--by"));
    }

    #[test]
    fn usage_errors_say_what_was_expected() {
        let cases = [
            ("ls", "unknown command `ls`"),
            ("movis top", "did you mean `movies`?"),
            ("movies", "`movies` needs a subcommand: top, search"),
            (
                "movies tp",
                "expected one of top, search (did you mean `top`?)",
            ),
            (
                "movies top abc",
                "N: expected a whole number from 1 to 20, got `abc`",
            ),
            (
                "movies top 0",
                "N: expected a whole number from 1 to 20, got `0`",
            ),
            (
                "movies top 99999999999999999999",
                "got `99999999999999999999`",
            ),
            (
                "movies top --by",
                "`--by` needs a value: METRIC (one of imdb_rating, imdb_votes)",
            ),
            (
                "movies top --by x",
                "--by: expected one of imdb_rating, imdb_votes, got `x`",
            ),
            (
                "movies top --bye imdb_votes",
                "unknown option `--bye`; options: --by (did you mean `--by`?)",
            ),
            (
                "movies top --by imdb_votes --by imdb_votes",
                "`--by` is given twice",
            ),
            ("movies top 5 6", "unexpected argument `6`"),
            ("movies top -n 5", "options are written `--name`"),
            ("movies search", "missing WORDS (title words)"),
            (
                "movies search aaaaaaaaaaaaaaaaaaaaa",
                "WORDS: 21 characters is too long; at most 20",
            ),
            ("'movies' top", "unknown command `movies`"),
        ];
        for (line, expected) in cases {
            let err = run(line).unwrap_err();
            assert!(err.message.contains(expected), "{line}: {}", err.message);
        }
        assert_eq!(run("movies top x").unwrap_err().column, Some(11));
        assert_eq!(
            run("movies top x").unwrap_err().usage,
            ["movies top [N] [--by METRIC]"]
        );
    }

    #[test]
    fn help_flags() {
        assert!(run("movies --help").unwrap().help);
        let inv = run("movies top -h").unwrap();
        assert!(inv.help);
        assert_eq!(inv.sub, Some("top"));
        assert!(run("movies top x --help").unwrap().help);
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("hlep", &["help", "history"]), Some("help"));
        assert_eq!(closest("zzzz", &["help"]), None);
    }
}
