//! Splitting a typed line into words.
//!
//! The language is deliberately small and not a shell's. Words are separated by
//! spaces. `"…"` and `'…'` group text with spaces or special characters into one
//! word and take everything inside literally; there are no escapes. Outside
//! quotes, the characters shells give a meaning to (`; | & $ \` < > ( ) { } [ ] *
//! ? ~ ! # \`) are refused with a message saying what they would do in a shell and
//! that they do nothing here. Characters that are not printable text — by Unicode
//! general category: controls, format characters (invisible, direction-changing,
//! tags), line and paragraph separators, private-use and unassigned code points —
//! and long runs of combining marks are refused everywhere, quotes included:
//! nothing a visitor types can move the cursor, recolour the screen or hide text
//! from a log.

use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// Most words a line may hold.
pub const MAX_WORDS: usize = 64;

/// One word of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word's text, quotes removed.
    pub text: String,
    /// Column (in characters, from 0) where the word starts.
    pub column: usize,
    /// Whether any part of it was quoted (a quoted word is never an option).
    pub quoted: bool,
}

/// Why a line could not be split into words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexError {
    /// A character that is never accepted.
    #[error("{name} at column {col} is not accepted: only printable text can be typed", col = column + 1)]
    Forbidden {
        /// Column of the character.
        column: usize,
        /// What the character is, e.g. `U+001B (escape)`.
        name: String,
    },
    /// A character carrying more than [`MAX_MARKS`] combining marks.
    #[error("more than {MAX_MARKS} combining marks in a row at column {col}: only printable text can be typed", col = column + 1)]
    TooManyMarks {
        /// Column of the first mark past the limit.
        column: usize,
    },
    /// A shell character outside quotes.
    #[error("`{ch}` at column {col}: {meaning}. Put it in quotes to use it as text", col = column + 1)]
    Reserved {
        /// Column of the character.
        column: usize,
        /// The character.
        ch: char,
        /// What it would do in a shell, and that it does not here.
        meaning: &'static str,
    },
    /// A quote that is never closed.
    #[error("the {quote} quote at column {col} is never closed", col = column + 1, quote = if *.quote == '"' { "double" } else { "single" })]
    Unterminated {
        /// Column of the opening quote.
        column: usize,
        /// The quote character.
        quote: char,
    },
    /// More than [`MAX_WORDS`] words.
    #[error("too many words: at most {MAX_WORDS}")]
    TooManyWords,
}

impl LexError {
    /// Column of the offending character, when there is one.
    pub fn column(&self) -> Option<usize> {
        match self {
            LexError::Forbidden { column, .. }
            | LexError::TooManyMarks { column }
            | LexError::Reserved { column, .. }
            | LexError::Unterminated { column, .. } => Some(*column),
            LexError::TooManyWords => None,
        }
    }
}

/// What a shell character would do, for the characters refused outside quotes.
pub fn shell_meaning(ch: char) -> Option<&'static str> {
    Some(match ch {
        ';' => "commands cannot be chained here",
        '|' => "there are no pipes here",
        '&' => "there are no background jobs or `&&` chains here",
        '$' => "there are no variables or `$(…)` substitution here",
        '`' => "there is no command substitution here",
        '<' | '>' => "there is no redirection here",
        '(' | ')' | '{' | '}' => "there are no subshells or groups here",
        '*' | '?' | '[' | ']' => "there is no globbing here",
        '~' => "there is no home directory here",
        '!' => "there is no history expansion here (use the up arrow, or `history`)",
        '#' => "there are no comments here",
        '\\' => "there are no escapes here",
        _ => return None,
    })
}

/// Most combining marks accepted in a row on one character; longer runs
/// ("Zalgo" text) are refused when typed and cut when shown.
pub const MAX_MARKS: usize = 4;

/// Whether `ch` is a combining mark (general categories Mn, Mc, Me).
pub fn is_mark(ch: char) -> bool {
    ch.general_category_group() == GeneralCategoryGroup::Mark
}

/// Why `ch` is never accepted, or `None` if it may be typed.
///
/// The test is the character's Unicode general category, not a list: controls
/// (Cc), format characters (Cf: invisible, direction-changing, tags), line and
/// paragraph separators (Zl, Zp), private-use (Co) and unassigned code points
/// (Cn) are refused, and so are the Hangul fillers, letters by category that
/// show as nothing.
pub fn forbidden(ch: char) -> Option<String> {
    let what = match ch.general_category() {
        GeneralCategory::Control => match ch {
            '\0' => "NUL",
            '\t' => "tab",
            '\n' => "line feed",
            '\r' => "carriage return",
            '\u{1b}' => "escape",
            '\u{7f}' => "delete",
            '\u{80}'..='\u{9f}' => "C1 control",
            _ => "control character",
        },
        GeneralCategory::Format => match ch {
            '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{61c}' => "text direction override",
            '\u{e0000}'..='\u{e007f}' => "tag character",
            '\u{fff9}'..='\u{fffb}' => "interlinear annotation",
            _ => "invisible character",
        },
        GeneralCategory::LineSeparator => "line separator",
        GeneralCategory::ParagraphSeparator => "paragraph separator",
        GeneralCategory::PrivateUse => "private-use character",
        GeneralCategory::Surrogate | GeneralCategory::Unassigned => match ch {
            '\u{e0000}'..='\u{e007f}' => "tag character",
            _ => "unassigned code point",
        },
        // Letters by category that are drawn as nothing.
        _ if matches!(ch, '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}') => {
            "invisible character"
        }
        _ => return None,
    };
    Some(format!("U+{:04X} ({what})", u32::from(ch)))
}

/// Splits `line` into words.
pub fn split(line: &str) -> Result<Vec<Word>, LexError> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut quote: Option<(char, usize)> = None;
    let mut marks = 0;
    for (column, ch) in line.chars().enumerate() {
        if let Some(name) = forbidden(ch) {
            return Err(LexError::Forbidden { column, name });
        }
        marks = if is_mark(ch) { marks + 1 } else { 0 };
        if marks > MAX_MARKS {
            return Err(LexError::TooManyMarks { column });
        }
        if let Some((q, _)) = quote {
            if ch == q {
                quote = None;
            } else if let Some(word) = current.as_mut() {
                word.text.push(ch);
            }
            continue;
        }
        match ch {
            ' ' => {
                if let Some(word) = current.take() {
                    push(&mut words, word)?;
                }
            }
            '"' | '\'' => {
                quote = Some((ch, column));
                let word = current.get_or_insert_with(|| Word {
                    text: String::new(),
                    column,
                    quoted: true,
                });
                word.quoted = true;
            }
            _ => {
                if let Some(meaning) = shell_meaning(ch) {
                    return Err(LexError::Reserved {
                        column,
                        ch,
                        meaning,
                    });
                }
                current
                    .get_or_insert_with(|| Word {
                        text: String::new(),
                        column,
                        quoted: false,
                    })
                    .text
                    .push(ch);
            }
        }
    }
    if let Some((quote, column)) = quote {
        return Err(LexError::Unterminated { column, quote });
    }
    if let Some(word) = current {
        push(&mut words, word)?;
    }
    Ok(words)
}

fn push(words: &mut Vec<Word>, word: Word) -> Result<(), LexError> {
    if words.len() == MAX_WORDS {
        return Err(LexError::TooManyWords);
    }
    words.push(word);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        split(line).unwrap().into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn words_and_quotes() {
        assert_eq!(texts("  movies   top 5 "), ["movies", "top", "5"]);
        assert_eq!(
            texts(r#"movies search "star wars""#),
            ["movies", "search", "star wars"]
        );
        assert_eq!(
            texts("movies search 'a;b|c$(d)'"),
            ["movies", "search", "a;b|c$(d)"]
        );
        assert_eq!(texts(r#"--by="imdb rating""#), ["--by=imdb rating"]);
        assert_eq!(texts(r#"say "it's""#), ["say", "it's"]);
        assert_eq!(texts(r#""""#), [""]);
        assert!(texts("").is_empty());
    }

    #[test]
    fn columns_and_quoted_flag() {
        let words = split(r#"a "b c" d"#).unwrap();
        assert_eq!(words[1].column, 2);
        assert!(words[1].quoted);
        assert_eq!(words[2].column, 8);
        assert!(!words[2].quoted);
    }

    #[test]
    fn shell_characters_are_refused_outside_quotes() {
        for (line, ch) in [
            ("movies top 5; ls", ';'),
            ("movies top | sh", '|'),
            ("help && id", '&'),
            ("movies search $(id)", '$'),
            ("movies search `id`", '`'),
            ("help > /tmp/x", '>'),
            ("help < /etc/passwd", '<'),
            ("movies search *", '*'),
            ("movies show ~", '~'),
            ("!!", '!'),
            ("help # x", '#'),
            (r"movies search a\ b", '\\'),
            ("movies search ${HOME}", '$'),
            ("movies search [a-z]", '['),
        ] {
            match split(line) {
                Err(LexError::Reserved { ch: c, .. }) => assert_eq!(c, ch, "{line}"),
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    #[test]
    fn control_characters_are_refused_even_in_quotes() {
        for line in [
            "help\u{0}",
            "help\u{1b}[2J",
            "'\u{1b}]0;title\u{7}'",
            "movies\tsearch",
            "help\r\nrm",
            "\u{9b}31m",
            "say \u{202e}txet",
            "a\u{200b}b",
            "\u{7f}",
            // By general category: format (Cf), separators (Zl, Zp), private
            // use (Co), unassigned (Cn), and the Hangul fillers.
            "say \u{61c}x",
            "a\u{2028}b",
            "a\u{2029}b",
            "soft\u{ad}hyphen",
            "'\u{3164}'",
            "\u{115f}",
            "\u{ffa0}",
            "flag\u{e0001}",
            "tag\u{e0041}\u{e007f}",
            "\u{e0000}",
            "\u{f0000}",
            "\u{10fffd}",
            "\u{378}",
            "\u{fdd0}",
            "\u{ffff}",
            "\u{180e}",
            "\u{2064}",
        ] {
            assert!(
                matches!(split(line), Err(LexError::Forbidden { .. })),
                "{line:?}"
            );
        }
        let err = split("ab\u{1b}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "U+001B (escape) at column 3 is not accepted: only printable text can be typed"
        );
    }

    #[test]
    fn long_runs_of_combining_marks_are_refused() {
        let zalgo = format!("h{}i", "\u{301}\u{316}\u{35c}".repeat(4));
        assert_eq!(split(&zalgo), Err(LexError::TooManyMarks { column: 5 }));
        let four = format!("say 'a{}'", "\u{301}".repeat(MAX_MARKS));
        assert!(split(&four).is_ok());
        // Marks of real text: accents (decomposed), a keycap emoji.
        assert_eq!(texts("Vie\u{323}\u{302}t"), ["Vie\u{323}\u{302}t"]);
        assert_eq!(texts("1\u{fe0f}\u{20e3}"), ["1\u{fe0f}\u{20e3}"]);
    }

    #[test]
    fn unterminated_quote_and_word_limit() {
        assert_eq!(
            split(r#"movies search "star"#),
            Err(LexError::Unterminated {
                column: 14,
                quote: '"'
            })
        );
        let many = vec!["a"; MAX_WORDS + 1].join(" ");
        assert_eq!(split(&many), Err(LexError::TooManyWords));
        assert!(split(&vec!["a"; MAX_WORDS].join(" ")).is_ok());
    }

    #[test]
    fn other_text_is_accepted() {
        assert_eq!(
            texts("movies search Amélie"),
            ["movies", "search", "Amélie"]
        );
        assert_eq!(
            texts("movies search 七人の侍"),
            ["movies", "search", "七人の侍"]
        );
        assert_eq!(texts("x ../../etc/passwd"), ["x", "../../etc/passwd"]);
    }
}
