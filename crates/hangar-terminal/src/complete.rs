//! Tab completion from the commands' declarations: command names, subcommands,
//! option names and the values of choice arguments and options.

use crate::lex::split;
use crate::registry::Registry;
use crate::spec::{Body, Kind, Signature};

/// The result of completing a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The line with the word under the cursor completed as far as it is
    /// unambiguous (a trailing space when it is complete).
    pub line: String,
    /// The possible completions when there is more than one.
    pub candidates: Vec<String>,
}

/// Completes `line` (the text before the cursor).
pub fn complete(registry: &Registry, line: &str) -> Completion {
    let unchanged = || Completion {
        line: line.to_owned(),
        candidates: Vec::new(),
    };
    // Only lines that are valid so far are completed; a quoted word is text the
    // user is writing, never a name.
    let Ok(words) = split(line) else {
        return unchanged();
    };
    let ends_word = !line.is_empty() && !line.ends_with(' ');
    let (done, partial) = if ends_word {
        match words.split_last() {
            Some((last, _)) if last.quoted => return unchanged(),
            Some((last, done)) => (done, last.text.as_str()),
            None => return unchanged(),
        }
    } else {
        (words.as_slice(), "")
    };
    if done.iter().any(|w| w.quoted && done.first() == Some(w)) {
        return unchanged();
    }
    let options: Vec<String> = match done {
        [] => registry.names().iter().map(|n| (*n).to_owned()).collect(),
        [command, rest @ ..] => {
            let Some(spec) = registry.spec(&command.text) else {
                return unchanged();
            };
            match spec.body {
                Body::Leaf(sig) => for_signature(&sig, rest, partial),
                Body::Group(subs) => match rest {
                    [] => subs.iter().map(|s| s.name.to_owned()).collect(),
                    [sub, rest @ ..] => match spec.sub(&sub.text) {
                        Some(sub) => for_signature(&sub.signature, rest, partial),
                        None => return unchanged(),
                    },
                },
            }
        }
    };
    let matching: Vec<String> = options
        .into_iter()
        .filter(|o| o.starts_with(partial))
        .collect();
    let base = &line[..line.len() - partial.len()];
    match matching.as_slice() {
        [] => unchanged(),
        [only] => Completion {
            line: format!("{base}{only} "),
            candidates: Vec::new(),
        },
        many => {
            let prefix = common_prefix(many);
            Completion {
                line: format!(
                    "{base}{}",
                    if prefix.len() > partial.len() {
                        prefix
                    } else {
                        partial
                    }
                ),
                candidates: many.to_vec(),
            }
        }
    }
}

/// What may come next after `done` in a line of `sig`.
fn for_signature(sig: &Signature, done: &[crate::lex::Word], partial: &str) -> Vec<String> {
    // The value of an option that was just named.
    if let Some(last) = done.last()
        && let Some(name) = last.text.strip_prefix("--").filter(|_| !last.quoted)
        && let Some(opt) = sig.opts.iter().find(|o| o.name == name)
    {
        return match opt.kind {
            Kind::Choice(choices) => choices.iter().map(|c| (*c).to_owned()).collect(),
            _ => Vec::new(),
        };
    }
    if partial.starts_with('-') {
        return sig
            .opts
            .iter()
            .filter(|o| !done.iter().any(|w| w.text == format!("--{}", o.name)))
            .map(|o| format!("--{}", o.name))
            .collect();
    }
    // The next positional argument, counting the words that are not options.
    let mut positional = 0;
    let mut skip_value = false;
    for word in done {
        if skip_value {
            skip_value = false;
            continue;
        }
        match word.text.strip_prefix("--").filter(|_| !word.quoted) {
            Some(name) if !name.contains('=') => {
                skip_value = sig
                    .opts
                    .iter()
                    .any(|o| o.name == name && o.kind != Kind::Switch);
            }
            Some(_) => {}
            None => positional += 1,
        }
    }
    match sig.args.get(positional).map(|a| a.kind) {
        Some(Kind::Choice(choices)) => choices.iter().map(|c| (*c).to_owned()).collect(),
        _ => Vec::new(),
    }
}

fn common_prefix(words: &[String]) -> &str {
    let first = &words[0];
    let mut end = first.len();
    for word in &words[1..] {
        end = first
            .char_indices()
            .zip(word.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    &first[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Output;
    use crate::registry::{BoxFuture, Call, Command, CommandError};
    use crate::spec::{Arg, Opt, Spec, Sub};

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
                        kind: Kind::Choice(&["imdb_rating", "imdb_votes", "us_gross"]),
                    }],
                    examples: &[],
                },
            },
            Sub {
                name: "show",
                summary: "one",
                signature: Signature::NONE,
            },
            Sub {
                name: "search",
                summary: "find",
                signature: Signature::NONE,
            },
        ]),
    };

    struct Movies;
    impl Command for Movies {
        fn spec(&self) -> &'static Spec {
            &MOVIES
        }
        fn run(&self, _call: Call) -> BoxFuture<Result<Output, CommandError>> {
            Box::pin(async { Ok(Output::new()) })
        }
    }

    fn registry() -> Registry {
        let mut r = Registry::new();
        r.register(Movies).unwrap();
        r
    }

    fn c(line: &str) -> (String, Vec<String>) {
        let done = complete(&registry(), line);
        (done.line, done.candidates)
    }

    #[test]
    fn commands_subcommands_options_values() {
        assert_eq!(c("mov"), ("movies ".into(), vec![]));
        assert_eq!(c("h").1, ["help", "history"]);
        assert_eq!(c("h").0, "h");
        assert_eq!(c("hi"), ("history ".into(), vec![]));
        assert_eq!(c("movies s").1, ["show", "search"]);
        assert_eq!(c("movies s").0, "movies s");
        assert_eq!(c("movies t"), ("movies top ".into(), vec![]));
        assert_eq!(c("movies top --"), ("movies top --by ".into(), vec![]));
        assert_eq!(c("movies top --by imdb").0, "movies top --by imdb_");
        assert_eq!(c("movies top --by imdb").1, ["imdb_rating", "imdb_votes"]);
        assert_eq!(
            c("movies top --by u"),
            ("movies top --by us_gross ".into(), vec![])
        );
        assert_eq!(c("").1.len(), 6);
    }

    #[test]
    fn nothing_to_complete() {
        for line in [
            "zzz",
            "movies top 5; l",
            "movies 'to",
            "'mov",
            "movies nope x",
            "movies top --by x",
        ] {
            assert_eq!(c(line), (line.to_owned(), vec![]), "{line}");
        }
    }
}
