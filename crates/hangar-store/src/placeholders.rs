//! Writing statements with many bound values once for both dialects: write them
//! with `?` placeholders, then [`for_dialect`] numbers them `$1, $2, …` for
//! PostgreSQL. SQLite keeps anonymous `?`: with numbered ones,
//! `sqlite3_bind_parameter_name` scans every parameter on each call, so binding
//! hundreds of values becomes quadratic.

use crate::Dialect;

/// `?, ?, …` for `count` single values, or `(?, ?), …` for rows of `per_row`.
pub fn anonymous(count: usize, per_row: usize) -> String {
    let row = if per_row == 1 {
        "?".to_owned()
    } else {
        format!("({})", vec!["?"; per_row].join(", "))
    };
    vec![row.as_str(); count].join(", ")
}

/// Numbers the `?` placeholders of a statement `$1, $2, …` (PostgreSQL's form).
/// The statement must contain no other `?` (in literals or operators).
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// A statement written with `?` placeholders, in the dialect's form.
pub fn for_dialect(dialect: Dialect, sql: String) -> String {
    match dialect {
        Dialect::Sqlite => sql,
        Dialect::Postgres => numbered(&sql),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_anonymous_for_sqlite_and_numbered_for_postgres() {
        assert_eq!(anonymous(3, 1), "?, ?, ?");
        assert_eq!(anonymous(2, 2), "(?, ?), (?, ?)");
        assert_eq!(
            numbered("a = ? AND (b, c) IN (VALUES (?, ?))"),
            "a = $1 AND (b, c) IN (VALUES ($2, $3))"
        );
        assert_eq!(for_dialect(Dialect::Sqlite, "x = ?".to_owned()), "x = ?");
        assert_eq!(for_dialect(Dialect::Postgres, "x = ?".to_owned()), "x = $1");
    }
}
