//! What commands print, and how it becomes terminal text.
//!
//! Commands build an [`Output`] of styled lines and tables; they never write
//! escape sequences themselves. [`render`] turns it into text for a terminal of
//! a given width: tables are fitted to the width (long cells end in `…`), colours
//! are SGR sequences, and every character that could act on the terminal (control
//! characters, escapes, direction overrides) is replaced by `�`, so data from the
//! store — a film's title, say — cannot move the cursor or rewrite the screen.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// A colour or weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// The terminal's default.
    Plain,
    /// Bold.
    Bold,
    /// Faint, for secondary text.
    Dim,
    /// Errors.
    Red,
    /// Success.
    Green,
    /// Warnings, notices.
    Yellow,
    /// Names, commands.
    Cyan,
    /// Values worth noticing.
    Magenta,
}

impl Style {
    fn sgr(self) -> &'static str {
        match self {
            Style::Plain => "",
            Style::Bold => "\x1b[1m",
            Style::Dim => "\x1b[2m",
            Style::Red => "\x1b[31m",
            Style::Green => "\x1b[32m",
            Style::Yellow => "\x1b[33m",
            Style::Cyan => "\x1b[36m",
            Style::Magenta => "\x1b[35m",
        }
    }
}

const RESET: &str = "\x1b[0m";

/// A run of text in one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The text (any control characters in it are neutralised when rendered).
    pub text: String,
    /// Its style.
    pub style: Style,
}

/// One line of styled text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line(pub Vec<Span>);

impl Line {
    /// An unstyled line.
    pub fn plain(text: impl Into<String>) -> Self {
        Self::styled(text, Style::Plain)
    }

    /// A line in one style.
    pub fn styled(text: impl Into<String>, style: Style) -> Self {
        Self(vec![Span {
            text: text.into(),
            style,
        }])
    }

    /// Appends a span.
    pub fn push(mut self, text: impl Into<String>, style: Style) -> Self {
        self.0.push(Span {
            text: text.into(),
            style,
        });
        self
    }
}

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A table: a header, a `─` rule, one line per row, and a `(N rows)` footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns.
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            columns: columns.iter().map(|(h, a)| ((*h).to_owned(), *a)).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.columns.len(), String::new());
        self.rows.push(cells);
    }
}

/// A part of a command's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A line of text.
    Line(Line),
    /// A table.
    Table(Table),
    /// Clear the screen.
    Clear,
}

/// What a command prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output(pub Vec<Block>);

impl Output {
    /// Nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a line.
    pub fn line(&mut self, line: Line) -> &mut Self {
        self.0.push(Block::Line(line));
        self
    }

    /// Appends an unstyled line.
    pub fn text(&mut self, text: impl Into<String>) -> &mut Self {
        self.line(Line::plain(text))
    }

    /// Appends a table.
    pub fn table(&mut self, table: Table) -> &mut Self {
        self.0.push(Block::Table(table));
        self
    }

    /// Whether the output asks for the screen to be cleared.
    pub fn clears(&self) -> bool {
        self.0.contains(&Block::Clear)
    }
}

/// Replaces every character that could act on a terminal with `�`.
pub fn neutralise(text: &str) -> String {
    text.chars()
        .map(|c| {
            if crate::lex::forbidden(c).is_some() {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Display width of `text` in terminal cells.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` cut to at most `max` cells, ending in `…` when cut.
pub fn fit(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

fn pad(text: &str, cells: usize, align: Align) -> String {
    let gap = " ".repeat(cells.saturating_sub(width(text)));
    match align {
        Align::Left => format!("{text}{gap}"),
        Align::Right => format!("{gap}{text}"),
    }
}

/// Narrowest a column is squeezed to before the table is cut at the width.
const MIN_COLUMN: usize = 6;
/// Cells between columns.
const GAP: usize = 2;

/// The lines of `table` for a terminal `cols` wide, without styling.
fn table_lines(table: &Table, cols: usize) -> (String, String, Vec<String>) {
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| r.iter().map(|c| neutralise(c)).collect())
        .collect();
    let headers: Vec<String> = table.columns.iter().map(|(h, _)| neutralise(h)).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let total =
        |widths: &[usize]| widths.iter().sum::<usize>() + GAP * widths.len().saturating_sub(1);
    // Take one cell at a time from the widest column until the table fits or
    // every column is at its floor (its header, or MIN_COLUMN).
    while total(&widths) > cols {
        let floor = |i: usize| width(&headers[i]).max(MIN_COLUMN);
        let Some(widest) = (0..widths.len())
            .filter(|&i| widths[i] > floor(i))
            .max_by_key(|&i| widths[i])
        else {
            break;
        };
        widths[widest] -= 1;
    }
    let line = |texts: &[String], aligns: bool| {
        let parts: Vec<String> = texts
            .iter()
            .zip(&widths)
            .zip(&table.columns)
            .map(|((t, w), (_, a))| pad(&fit(t, *w), *w, if aligns { *a } else { Align::Left }))
            .collect();
        fit(parts.join(&" ".repeat(GAP)).trim_end(), cols)
    };
    let header = line(&headers, false);
    let rule = fit(
        &widths
            .iter()
            .map(|w| "─".repeat(*w))
            .collect::<Vec<_>>()
            .join(&" ".repeat(GAP)),
        cols,
    );
    let rows = cells.iter().map(|r| line(r, true)).collect();
    (header, rule, rows)
}

/// `output` as terminal text for a terminal `cols` wide: lines end in `\r\n`.
pub fn render(output: &Output, cols: usize) -> String {
    let cols = cols.max(20);
    let mut out = String::new();
    let mut put = |text: &str, style: Style| {
        if style == Style::Plain {
            out.push_str(text);
        } else {
            out.push_str(style.sgr());
            out.push_str(text);
            out.push_str(RESET);
        }
    };
    for block in &output.0 {
        match block {
            Block::Clear => {}
            Block::Line(line) => {
                for span in &line.0 {
                    put(&neutralise(&span.text), span.style);
                }
                put("\r\n", Style::Plain);
            }
            Block::Table(table) => {
                let (header, rule, rows) = table_lines(table, cols);
                put(&header, Style::Bold);
                put("\r\n", Style::Plain);
                put(&rule, Style::Dim);
                put("\r\n", Style::Plain);
                for row in &rows {
                    put(row, Style::Plain);
                    put("\r\n", Style::Plain);
                }
                let n = rows.len();
                put(
                    &format!("({n} {})", if n == 1 { "row" } else { "rows" }),
                    Style::Dim,
                );
                put("\r\n", Style::Plain);
            }
        }
    }
    out
}

/// `text` without SGR sequences (for tests and logs).
pub fn strip_styles(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn films() -> Table {
        let mut t = Table::new(&[
            ("#", Align::Right),
            ("Title", Align::Left),
            ("Year", Align::Right),
        ]);
        t.row(vec![
            "1".into(),
            "The Shawshank Redemption".into(),
            "1994".into(),
        ]);
        t.row(vec!["2".into(), "Inception".into(), "2010".into()]);
        t
    }

    #[test]
    fn table_at_full_width() {
        let mut out = Output::new();
        out.table(films());
        let text = strip_styles(&render(&out, 80));
        assert_eq!(
            text,
            "#  Title                     Year\r\n\
             ─  ────────────────────────  ────\r\n\
             1  The Shawshank Redemption  1994\r\n\
             2  Inception                 2010\r\n\
             (2 rows)\r\n"
        );
    }

    #[test]
    fn table_fits_a_narrow_terminal() {
        let mut out = Output::new();
        out.table(films());
        let text = strip_styles(&render(&out, 24));
        for line in text.split("\r\n") {
            assert!(width(line) <= 24, "{line:?} is wider than 24");
        }
        assert!(text.contains("1  The Shawshank …  1994"), "{text}");
    }

    #[test]
    fn wide_characters_count_double() {
        assert_eq!(width("七人の侍"), 8);
        assert_eq!(fit("七人の侍", 5), "七人…");
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit("abcd", 3), "ab…");
    }

    #[test]
    fn data_cannot_drive_the_terminal() {
        let mut out = Output::new();
        out.text("title\x1b[2J\x1b]0;pwned\x07 \u{202e}evil");
        let mut t = Table::new(&[("Title", Align::Left)]);
        t.row(vec!["a\rb\x1b[31m".into()]);
        out.table(t);
        let text = render(&out, 80);
        let body = text.replace("\r\n", "\n");
        assert!(!strip_styles(&body).contains('\x1b'), "{body:?}");
        assert!(!body.contains('\u{7}') && !body.contains('\r') && !body.contains('\u{202e}'));
    }

    #[test]
    fn one_row_footer() {
        let mut t = Table::new(&[("A", Align::Left)]);
        t.row(vec!["x".into()]);
        let mut out = Output::new();
        out.table(t);
        assert!(strip_styles(&render(&out, 80)).ends_with("(1 row)\r\n"));
    }
}
