//! How a command declares what it accepts: subcommands, positional arguments and
//! `--options`, each with a type. The parser checks a line against these
//! declarations, so a command's code only ever sees typed, in-range values, and
//! help, usage errors and tab completion are derived from the same text.

use std::fmt::Write as _;

/// The type of an argument's or option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text of at most this many characters.
    Text {
        /// Longest accepted value, in characters.
        max_chars: usize,
    },
    /// A whole number in a range.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// One of a fixed list of words.
    Choice(&'static [&'static str]),
    /// An option without a value (`--all`); not for positional arguments.
    Switch,
}

impl Kind {
    /// What a value of this kind is, for usage errors.
    pub fn expected(&self) -> String {
        match self {
            Kind::Text { max_chars } => format!("text of at most {max_chars} characters"),
            Kind::Int { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Choice(choices) => format!("one of {}", choices.join(", ")),
            Kind::Switch => "no value".to_owned(),
        }
    }
}

/// A positional argument.
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    /// Name shown in usage, e.g. `N` or `WORDS`.
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Type of the value.
    pub kind: Kind,
    /// Whether it must be given.
    pub required: bool,
    /// Takes every remaining word, joined by single spaces (last argument only).
    pub rest: bool,
}

/// An `--option`.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    /// Name without the dashes, e.g. `by`.
    pub name: &'static str,
    /// Name of its value in usage, e.g. `METRIC` (unused for switches).
    pub value: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Type of the value.
    pub kind: Kind,
}

/// What one (sub)command accepts.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// Positional arguments in order; optional ones after required ones.
    pub args: &'static [Arg],
    /// Options, in any order on the line.
    pub opts: &'static [Opt],
    /// Example lines shown by `help`.
    pub examples: &'static [&'static str],
}

impl Signature {
    /// A signature accepting nothing.
    pub const NONE: Signature = Signature {
        args: &[],
        opts: &[],
        examples: &[],
    };
}

/// A subcommand of a command group.
#[derive(Debug, Clone, Copy)]
pub struct Sub {
    /// Its name, e.g. `top`.
    pub name: &'static str,
    /// One line saying what it does.
    pub summary: &'static str,
    /// What it accepts.
    pub signature: Signature,
}

/// A command's shape: a single action, or a group of subcommands.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// `name ARGS…`
    Leaf(Signature),
    /// `name SUB ARGS…`
    Group(&'static [Sub]),
}

/// A command's declaration.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Its name, lowercase (`[a-z][a-z0-9-]*`).
    pub name: &'static str,
    /// One line saying what it does.
    pub summary: &'static str,
    /// What follows the name.
    pub body: Body,
}

impl Spec {
    /// The subcommand called `name`.
    pub fn sub(&self, name: &str) -> Option<&'static Sub> {
        match self.body {
            Body::Group(subs) => subs.iter().find(|s| s.name == name),
            Body::Leaf(_) => None,
        }
    }

    /// Names of the subcommands (empty for a leaf).
    pub fn sub_names(&self) -> Vec<&'static str> {
        match self.body {
            Body::Group(subs) => subs.iter().map(|s| s.name).collect(),
            Body::Leaf(_) => Vec::new(),
        }
    }

    /// Checks the declaration itself: names, argument order, `rest` last.
    pub fn check(&self) -> Result<(), String> {
        if !is_name(self.name) {
            return Err(format!(
                "command name `{}` must be lowercase letters, digits and `-`",
                self.name
            ));
        }
        match self.body {
            Body::Leaf(sig) => check_signature(self.name, &sig),
            Body::Group(subs) => {
                if subs.is_empty() {
                    return Err(format!("command `{}` has no subcommands", self.name));
                }
                for (i, sub) in subs.iter().enumerate() {
                    if !is_name(sub.name) || subs[..i].iter().any(|s| s.name == sub.name) {
                        return Err(format!(
                            "command `{}`: subcommand `{}` is malformed or repeated",
                            self.name, sub.name
                        ));
                    }
                    check_signature(&format!("{} {}", self.name, sub.name), &sub.signature)?;
                }
                Ok(())
            }
        }
    }
}

fn is_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn check_signature(path: &str, sig: &Signature) -> Result<(), String> {
    let mut optional_seen = false;
    for (i, arg) in sig.args.iter().enumerate() {
        if arg.kind == Kind::Switch {
            return Err(format!("{path}: argument {} cannot be a switch", arg.name));
        }
        if arg.required && optional_seen {
            return Err(format!(
                "{path}: required argument {} follows an optional one",
                arg.name
            ));
        }
        optional_seen |= !arg.required;
        if arg.rest && i + 1 != sig.args.len() {
            return Err(format!("{path}: only the last argument may take the rest"));
        }
    }
    for (i, opt) in sig.opts.iter().enumerate() {
        if !is_name(opt.name) || sig.opts[..i].iter().any(|o| o.name == opt.name) {
            return Err(format!(
                "{path}: option `--{}` is malformed or repeated",
                opt.name
            ));
        }
    }
    Ok(())
}

/// `movies top [N] [--by METRIC]`
pub fn usage(path: &str, sig: &Signature) -> String {
    let mut out = path.to_owned();
    for arg in sig.args {
        let name = if arg.rest {
            format!("{}…", arg.name)
        } else {
            arg.name.to_owned()
        };
        if arg.required {
            let _ = write!(out, " {name}");
        } else {
            let _ = write!(out, " [{name}]");
        }
    }
    for opt in sig.opts {
        if opt.kind == Kind::Switch {
            let _ = write!(out, " [--{}]", opt.name);
        } else {
            let _ = write!(out, " [--{} {}]", opt.name, opt.value);
        }
    }
    out
}

/// The usage of every form of `spec`, one per line.
pub fn usages(spec: &Spec) -> Vec<String> {
    match spec.body {
        Body::Leaf(sig) => vec![usage(spec.name, &sig)],
        Body::Group(subs) => subs
            .iter()
            .map(|s| usage(&format!("{} {}", spec.name, s.name), &s.signature))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: Signature = Signature {
        args: &[Arg {
            name: "N",
            help: "how many",
            kind: Kind::Int { min: 1, max: 10 },
            required: false,
            rest: false,
        }],
        opts: &[
            Opt {
                name: "by",
                value: "METRIC",
                help: "rank by",
                kind: Kind::Choice(&["a", "b"]),
            },
            Opt {
                name: "all",
                value: "",
                help: "everything",
                kind: Kind::Switch,
            },
        ],
        examples: &[],
    };

    #[test]
    fn usage_lines() {
        assert_eq!(
            usage("movies top", &TOP),
            "movies top [N] [--by METRIC] [--all]"
        );
    }

    #[test]
    fn malformed_declarations_are_refused() {
        let bad_order = Spec {
            name: "x",
            summary: "",
            body: Body::Leaf(Signature {
                args: &[
                    Arg {
                        name: "A",
                        help: "",
                        kind: Kind::Text { max_chars: 5 },
                        required: false,
                        rest: false,
                    },
                    Arg {
                        name: "B",
                        help: "",
                        kind: Kind::Text { max_chars: 5 },
                        required: true,
                        rest: false,
                    },
                ],
                opts: &[],
                examples: &[],
            }),
        };
        assert!(bad_order.check().is_err());
        let bad_name = Spec {
            name: "Rm",
            summary: "",
            body: Body::Leaf(Signature::NONE),
        };
        assert!(bad_name.check().is_err());
        let fine = Spec {
            name: "movies",
            summary: "",
            body: Body::Group(&[Sub {
                name: "top",
                summary: "",
                signature: TOP,
            }]),
        };
        assert!(fine.check().is_ok());
    }
}
