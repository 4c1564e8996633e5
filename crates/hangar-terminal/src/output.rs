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
///
/// On a narrow terminal, text columns are narrowed first (long cells end in
/// `…`), then the [optional](Table::optional) columns are left out, the footer
/// saying which; the columns that remain are never cut at the right edge before
/// every one of them is at its narrowest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
    /// Columns that may be left out, in the order they are.
    optional: Vec<usize>,
}

impl Table {
    /// A table with these columns.
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            columns: columns.iter().map(|(h, a)| ((*h).to_owned(), *a)).collect(),
            rows: Vec::new(),
            optional: Vec::new(),
        }
    }

    /// The columns (by header) that may be left out when the table does not fit
    /// the terminal's width, the first first. Unknown headers are ignored.
    pub fn optional(mut self, headers: &[&str]) -> Self {
        self.optional = headers
            .iter()
            .filter_map(|h| self.columns.iter().position(|(c, _)| c == h))
            .collect();
        self
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

    /// Appends `text` as paragraphs: a blank line in it separates two, and
    /// the lines of one paragraph are joined with spaces (the renderer wraps
    /// them to the terminal's width). Every line but the first of a paragraph
    /// starts with `indent` spaces, like its first.
    pub fn paragraphs(&mut self, text: &str, indent: usize, style: Style) -> &mut Self {
        for (i, paragraph) in paragraphs(text).into_iter().enumerate() {
            if i > 0 {
                self.text("");
            }
            self.line(Line::styled(
                format!("{}{paragraph}", " ".repeat(indent)),
                style,
            ));
        }
        self
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

/// Replaces every character that could act on a terminal, or that is not
/// printable text ([`lex::forbidden`](crate::lex::forbidden)), with `�`, and
/// drops the combining marks past [`MAX_MARKS`](crate::lex::MAX_MARKS) in a row.
pub fn neutralise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut marks = 0;
    for c in text.chars() {
        if crate::lex::forbidden(c).is_some() {
            out.push('\u{fffd}');
            marks = 0;
            continue;
        }
        marks = if crate::lex::is_mark(c) { marks + 1 } else { 0 };
        if marks <= crate::lex::MAX_MARKS {
            out.push(c);
        }
    }
    out
}

/// The paragraphs of `text`: separated by blank lines, each one's lines joined
/// with single spaces.
pub fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            if !current.is_empty() {
                out.push(current.join(" "));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out
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
/// Cells a text column keeps before optional columns are left out for it.
const COMFORTABLE_TEXT: usize = 16;
/// Cells between columns.
const GAP: usize = 2;

/// A table as lines for a terminal of some width, without styling.
struct TableText {
    header: String,
    rule: String,
    rows: Vec<String>,
    /// Headers of the optional columns left out.
    hidden: Vec<String>,
}

/// `natural` widths of the `shown` columns narrowed, one cell at a time from the
/// widest, until they fit `cols` or each is at `floor(i)`.
fn squeeze(
    natural: &[usize],
    shown: &[usize],
    cols: usize,
    floor: impl Fn(usize) -> usize,
) -> (Vec<usize>, bool) {
    let mut widths = natural.to_vec();
    let total = |widths: &[usize]| {
        shown.iter().map(|&i| widths[i]).sum::<usize>() + GAP * shown.len().saturating_sub(1)
    };
    while total(&widths) > cols {
        let Some(widest) = shown
            .iter()
            .copied()
            .filter(|&i| widths[i] > floor(i))
            .max_by_key(|&i| widths[i])
        else {
            return (widths, false);
        };
        widths[widest] -= 1;
    }
    (widths, true)
}

/// The lines of `table` for a terminal `cols` wide.
fn table_lines(table: &Table, cols: usize) -> TableText {
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| r.iter().map(|c| neutralise(c)).collect())
        .collect();
    let headers: Vec<String> = table.columns.iter().map(|(h, _)| neutralise(h)).collect();
    let mut natural: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in &cells {
        for (w, cell) in natural.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    // First narrow the text columns to a comfortable width, leaving out
    // optional columns one by one while that is not enough; numbers keep
    // their width.
    let comfortable = |i: usize| match table.columns[i].1 {
        Align::Left => natural[i].min(COMFORTABLE_TEXT.max(width(&headers[i]))),
        Align::Right => natural[i],
    };
    let mut shown: Vec<usize> = (0..headers.len()).collect();
    let mut hidden = Vec::new();
    let mut optional = table.optional.iter();
    let widths = loop {
        let (widths, fits) = squeeze(&natural, &shown, cols, comfortable);
        if fits {
            break widths;
        }
        match optional.next() {
            Some(&drop) => {
                shown.retain(|&i| i != drop);
                hidden.push(headers[drop].clone());
            }
            // Then every column down to its header or MIN_COLUMN; what still
            // does not fit is cut at the right edge.
            None => {
                break squeeze(&natural, &shown, cols, |i| {
                    width(&headers[i]).max(MIN_COLUMN)
                })
                .0;
            }
        }
    };
    let line = |texts: &[String], aligns: bool| {
        let parts: Vec<String> = shown
            .iter()
            .map(|&i| {
                let align = if aligns {
                    table.columns[i].1
                } else {
                    Align::Left
                };
                pad(&fit(&texts[i], widths[i]), widths[i], align)
            })
            .collect();
        fit(parts.join(&" ".repeat(GAP)).trim_end(), cols)
    };
    let header = line(&headers, false);
    let rule = fit(
        &shown
            .iter()
            .map(|&i| "─".repeat(widths[i]))
            .collect::<Vec<_>>()
            .join(&" ".repeat(GAP)),
        cols,
    );
    let rows = cells.iter().map(|r| line(r, true)).collect();
    TableText {
        header,
        rule,
        rows,
        hidden,
    }
}

/// A run of text in one style on one row of the terminal.
type Segment = (String, Style);

/// `line` laid out in rows of at most `cols` cells: broken at spaces, each row
/// after the first indented like the first, a word longer than a row broken
/// where it reaches the row's end. Text is neutralised.
fn wrap(line: &Line, cols: usize) -> Vec<Vec<Segment>> {
    // Words and the gaps between them, each a list of styled runs.
    let mut tokens: Vec<(bool, Vec<Segment>)> = Vec::new();
    for span in &line.0 {
        for c in neutralise(&span.text).chars() {
            let gap = c == ' ';
            match tokens.last_mut() {
                Some((g, runs)) if *g == gap => push_char(runs, c, span.style),
                _ => tokens.push((gap, vec![(c.to_string(), span.style)])),
            }
        }
    }
    let runs_width = |runs: &[Segment]| runs.iter().map(|(t, _)| width(t)).sum::<usize>();
    let indent = match tokens.first() {
        Some((true, runs)) => runs_width(runs).min(cols / 2),
        _ => 0,
    };
    let mut rows = Vec::new();
    let mut row: Vec<Segment> = Vec::new();
    let mut used = 0;
    let mut row_start = 0;
    let mut has_word = false;
    let mut gap: Option<&[Segment]> = None;
    for (is_gap, runs) in &tokens {
        if *is_gap {
            gap = Some(runs);
            continue;
        }
        let gap_width = gap.map_or(0, runs_width);
        if has_word && used + gap_width + runs_width(runs) > cols {
            rows.push(std::mem::take(&mut row));
            row.push((" ".repeat(indent), Style::Plain));
            used = indent;
            row_start = indent;
        } else if let Some(gap) = gap {
            for (text, style) in gap {
                for c in text.chars() {
                    push_char(&mut row, c, *style);
                }
            }
            used += gap_width;
        }
        gap = None;
        for (text, style) in runs {
            for c in text.chars() {
                let w = UnicodeWidthChar::width(c).unwrap_or(0);
                if used + w > cols && used > row_start {
                    rows.push(std::mem::take(&mut row));
                    row.push((" ".repeat(indent), Style::Plain));
                    used = indent;
                    row_start = indent;
                }
                push_char(&mut row, c, *style);
                used += w;
            }
        }
        has_word = true;
    }
    rows.push(row);
    rows
}

fn push_char(runs: &mut Vec<Segment>, c: char, style: Style) {
    match runs.last_mut() {
        Some((text, s)) if *s == style => text.push(c),
        _ => runs.push((c.to_string(), style)),
    }
}

/// `output` as terminal text for a terminal `cols` wide: lines end in `\r\n`,
/// and lines of text are wrapped at spaces to the width.
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
    let put_line = |line: &Line, put: &mut dyn FnMut(&str, Style)| {
        for row in wrap(line, cols) {
            for (text, style) in &row {
                put(text, *style);
            }
            put("\r\n", Style::Plain);
        }
    };
    for block in &output.0 {
        match block {
            Block::Clear => {}
            Block::Line(line) => put_line(line, &mut put),
            Block::Table(table) => {
                let text = table_lines(table, cols);
                put(&text.header, Style::Bold);
                put("\r\n", Style::Plain);
                put(&text.rule, Style::Dim);
                put("\r\n", Style::Plain);
                for row in &text.rows {
                    put(row, Style::Plain);
                    put("\r\n", Style::Plain);
                }
                let n = text.rows.len();
                let mut footer = format!("({n} {}", if n == 1 { "row" } else { "rows" });
                if !text.hidden.is_empty() {
                    footer.push_str(&format!("; not shown: {}", text.hidden.join(", ")));
                }
                footer.push(')');
                put_line(&Line::styled(footer, Style::Dim), &mut put);
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
    fn lines_wrap_at_spaces_with_their_indent() {
        let mut out = Output::new();
        out.line(
            Line::styled("  name  ", Style::Cyan)
                .push("one two three four five six seven", Style::Plain),
        );
        let text = strip_styles(&render(&out, 20));
        assert_eq!(
            text,
            "  name  one two\r\n  three four five\r\n  six seven\r\n"
        );
        // A word longer than the row is broken where the row ends.
        let mut out = Output::new();
        out.text(format!("see {}", "x".repeat(45)));
        let text = strip_styles(&render(&out, 20));
        assert_eq!(
            text,
            format!(
                "see\r\n{}\r\n{}\r\n{}\r\n",
                "x".repeat(20),
                "x".repeat(20),
                "x".repeat(5)
            )
        );
        // Styles survive the break.
        let mut out = Output::new();
        out.line(Line::styled("aaaa bbbb cccc dddd eeee", Style::Red));
        let text = render(&out, 20);
        assert_eq!(
            text,
            "\x1b[31maaaa bbbb cccc dddd\x1b[0m\r\n\x1b[31meeee\x1b[0m\r\n"
        );
    }

    #[test]
    fn paragraphs_are_kept_and_their_lines_joined() {
        assert_eq!(paragraphs("one\ntwo\n\n\nthree \n"), ["one two", "three"]);
        let mut out = Output::new();
        out.paragraphs("An API over\nSQLite.\n\nOne process.", 2, Style::Plain);
        assert_eq!(
            strip_styles(&render(&out, 80)),
            "  An API over SQLite.\r\n\r\n  One process.\r\n"
        );
    }

    #[test]
    fn long_runs_of_marks_are_cut_when_shown() {
        let zalgo = format!("a{}b", "\u{301}".repeat(30));
        assert_eq!(neutralise(&zalgo), format!("a{}b", "\u{301}".repeat(4)));
        assert_eq!(
            neutralise("x\u{2028}y\u{e0041}\u{3164}"),
            "x\u{fffd}y\u{fffd}\u{fffd}"
        );
    }

    fn ranked() -> Table {
        let mut t = Table::new(&[
            ("Id", Align::Right),
            ("Title", Align::Left),
            ("Year", Align::Right),
            ("Genre", Align::Left),
            ("IMDb", Align::Right),
            ("worldwide_gross", Align::Right),
        ])
        .optional(&["Genre", "IMDb", "Year"]);
        t.row(vec![
            "1".into(),
            "Avatar: The Way of Water and Fire".into(),
            "2009".into(),
            "Action Adventure".into(),
            "8.3".into(),
            "$2,767,891,499".into(),
        ]);
        t
    }

    #[test]
    fn narrow_tables_narrow_text_then_leave_out_optional_columns() {
        let mut out = Output::new();
        out.table(ranked());
        let text = strip_styles(&render(&out, 40));
        for line in text.split("\r\n") {
            assert!(width(line) <= 40, "{line:?} is wider than 40");
        }
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "Id  Title                worldwide_gross");
        assert_eq!(lines[2], " 1  Avatar: The Way of…   $2,767,891,499");
        assert!(
            text.contains("(1 row; not shown: Genre, IMDb, Year)\r\n"),
            "{text}"
        );
        // Wide enough: every column, the title narrowed first.
        let text = strip_styles(&render(&out, 80));
        assert!(
            text.contains("Action Adventure") && text.contains("8.3"),
            "{text}"
        );
        assert!(text.contains("(1 row)\r\n"), "{text}");
        for line in text.split("\r\n") {
            assert!(width(line) <= 80, "{line:?} is wider than 80");
        }
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
