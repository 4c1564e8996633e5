//! `movies.clean`: the transform of the movies ETL. It turns the records of
//! vega-datasets' `movies.json` into rows of the `movies` table, and rejects (with
//! reasons, counted) the records that cannot be rows.
//!
//! Normalisation, record by record:
//! - `Title` may be a number in the source (`1776`, `300`): it becomes text.
//!   Trailing articles move to the front: `Charge of the Light Brigade, The` →
//!   `The Charge of the Light Brigade`.
//! - `Release Date` (`Jun 12 1998`) becomes an ISO date. The source was converted
//!   from two-digit years, so films of the 1910s–40s carry years 100 years late
//!   (`Gone with the Wind`, `Dec 15 2039`); years after 2010, the last year of the
//!   data, are moved back a century and counted as corrected.
//! - Text fields are trimmed; empty text becomes null. Ratings out of range
//!   (IMDB 0–10, Rotten Tomatoes 0–100), negative money or running times, and
//!   fractional counts reject the record.
//! - The key is the title in lowercase ASCII words joined by `-`, then the year:
//!   `gone-with-the-wind-1939`. Two records with the same key: the second is
//!   rejected as a duplicate.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use futures_util::future::BoxFuture;
use hangar_pipeline::operator::{Operator, TaskContext, TaskError};
use serde_json::{Map, Value, json};

/// The last year of films in the dataset; later years are two-digit-year errors.
const LAST_YEAR: i32 = 2010;

/// See the module documentation.
pub struct Clean;

impl Operator for Clean {
    fn check(&self, config: &Map<String, Value>) -> Result<(), String> {
        match config.keys().find(|k| k.as_str() != "input") {
            Some(key) => Err(format!("unknown setting `{key}`; movies.clean takes input")),
            None => Ok(()),
        }
    }

    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>> {
        Box::pin(async move {
            let records = task
                .input("input")?
                .as_array()
                .ok_or_else(|| TaskError::new("the input is not an array of movie records"))?;
            let cleaned = clean(records);
            for rejected in cleaned.rejected.iter().take(20) {
                let reason = rejected["reason"].as_str().unwrap_or_default();
                task.log
                    .warn(format!("rejected record {}: {reason}", rejected["record"]));
            }
            if cleaned.rejected.len() > 20 {
                task.log.warn(format!(
                    "… and {} more rejected",
                    cleaned.rejected.len() - 20
                ));
            }
            task.log.info(format!(
                "{} records: {} movies, {} rejected, {} release years corrected",
                records.len(),
                cleaned.movies.len(),
                cleaned.rejected.len(),
                cleaned.corrected_years
            ));
            Ok(json!({
                "movies": cleaned.movies,
                "rejected": cleaned.rejected,
                "counts": {
                    "records": records.len(),
                    "movies": cleaned.movies.len(),
                    "rejected": cleaned.rejected.len(),
                    "corrected_years": cleaned.corrected_years,
                },
            }))
        })
    }
}

/// The result of cleaning.
#[derive(Debug, Default)]
pub struct Cleaned {
    /// Rows for the movies table.
    pub movies: Vec<Value>,
    /// `{record, title, reason}` of each record not kept.
    pub rejected: Vec<Value>,
    /// Release years moved back a century.
    pub corrected_years: usize,
}

/// Cleans every record; see the module documentation.
pub fn clean(records: &[Value]) -> Cleaned {
    let mut out = Cleaned::default();
    let mut keys: HashMap<String, usize> = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        match row(record) {
            Ok((row, corrected)) => {
                let key = row["key"].as_str().unwrap_or_default().to_owned();
                if let Some(first) = keys.get(&key) {
                    out.rejected.push(rejection(
                        i,
                        record,
                        &format!("duplicate of record {first} (key {key})"),
                    ));
                    continue;
                }
                keys.insert(key, i);
                out.corrected_years += usize::from(corrected);
                out.movies.push(row);
            }
            Err(reason) => out.rejected.push(rejection(i, record, &reason)),
        }
    }
    out
}

fn rejection(i: usize, record: &Value, reason: &str) -> Value {
    json!({ "record": i, "title": record.get("Title").cloned().unwrap_or(Value::Null), "reason": reason })
}

/// One row, and whether its year was corrected.
fn row(record: &Value) -> Result<(Value, bool), String> {
    let record = record.as_object().ok_or("not an object")?;
    let title = match record.get("Title") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("no title".to_owned()),
    };
    let title = article_first(&title);
    let (date, corrected) = match text(record, "Release Date")? {
        None => (None, false),
        Some(raw) => {
            let parsed = NaiveDate::parse_from_str(&raw, "%b %d %Y")
                .map_err(|_| format!("release date `{raw}` is not like `Jun 12 1998`"))?;
            if parsed.year() > LAST_YEAR {
                let fixed = parsed
                    .with_year(parsed.year() - 100)
                    .ok_or_else(|| format!("release date `{raw}` cannot be corrected"))?;
                (Some(fixed), true)
            } else {
                (Some(parsed), false)
            }
        }
    };
    let year = date.map(|d| d.year());
    let key = match year {
        Some(year) => format!("{}-{year}", slug(&title)),
        None => slug(&title),
    };
    if key.is_empty() || key.starts_with('-') {
        return Err(format!(
            "title `{title}` has no letters or digits to key it by"
        ));
    }
    let row = json!({
        "key": key,
        "title": title,
        "release_date": date.map(|d| d.format("%Y-%m-%d").to_string()),
        "release_year": year,
        "mpaa_rating": text(record, "MPAA Rating")?,
        "running_time_min": count(record, "Running Time min", 1_000)?,
        "distributor": text(record, "Distributor")?,
        "source": text(record, "Source")?,
        "major_genre": text(record, "Major Genre")?,
        "creative_type": text(record, "Creative Type")?,
        "director": text(record, "Director")?,
        "us_gross": count(record, "US Gross", i64::MAX)?,
        "worldwide_gross": count(record, "Worldwide Gross", i64::MAX)?,
        "us_dvd_sales": count(record, "US DVD Sales", i64::MAX)?,
        "production_budget": count(record, "Production Budget", i64::MAX)?,
        "rotten_tomatoes_rating": count(record, "Rotten Tomatoes Rating", 100)?,
        "imdb_rating": rating(record, "IMDB Rating", 10.0)?,
        "imdb_votes": count(record, "IMDB Votes", i64::MAX)?,
    });
    Ok((row, corrected))
}

fn text(record: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match record.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("{field} is not text: {other}")),
    }
}

fn count(record: &Map<String, Value>, field: &str, max: i64) -> Result<Option<i64>, String> {
    match record.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let value = n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .ok_or_else(|| format!("{field} {n} is not a whole number"))?;
            if (0..=max).contains(&value) {
                Ok(Some(value))
            } else {
                Err(format!("{field} {value} is out of range 0-{max}"))
            }
        }
        Some(other) => Err(format!("{field} is not a number: {other}")),
    }
}

fn rating(record: &Map<String, Value>, field: &str, max: f64) -> Result<Option<f64>, String> {
    match record.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let value = n
                .as_f64()
                .ok_or_else(|| format!("{field} {n} is not a number"))?;
            if (0.0..=max).contains(&value) {
                Ok(Some(value))
            } else {
                Err(format!("{field} {value} is out of range 0-{max}"))
            }
        }
        Some(other) => Err(format!("{field} is not a number: {other}")),
    }
}

/// `Charge of the Light Brigade, The` → `The Charge of the Light Brigade`.
pub(crate) fn article_first(title: &str) -> String {
    for article in ["The", "A", "An"] {
        if let Some(head) = title.strip_suffix(&format!(", {article}")) {
            return format!("{article} {head}");
        }
    }
    title.to_owned()
}

/// Lowercase ASCII letters and digits, other runs of characters as one `-`.
pub(crate) fn slug(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(title: Value, date: &str) -> Value {
        json!({"Title": title, "Release Date": date, "IMDB Rating": 8.1, "US Gross": 1000, "Major Genre": " Drama "})
    }

    #[test]
    fn normalises_titles_dates_and_text() {
        let out = clean(&[
            record(json!("Charge of the Light Brigade, The"), "Oct 20 2036"),
            record(json!(1776), "Mar 16 1972"),
        ]);
        assert_eq!(out.rejected, Vec::<Value>::new());
        assert_eq!(out.corrected_years, 1);
        assert_eq!(out.movies[0]["title"], "The Charge of the Light Brigade");
        assert_eq!(out.movies[0]["release_date"], "1936-10-20");
        assert_eq!(out.movies[0]["key"], "the-charge-of-the-light-brigade-1936");
        assert_eq!(out.movies[0]["major_genre"], "Drama");
        assert_eq!(out.movies[1]["title"], "1776");
        assert_eq!(out.movies[1]["key"], "1776-1972");
    }

    #[test]
    fn rejects_records_that_cannot_be_rows_with_reasons() {
        let mut bad_rating = record(json!("Too Good"), "Jan 01 2000");
        bad_rating["IMDB Rating"] = json!(11.5);
        let out = clean(&[
            record(Value::Null, "Jan 01 2000"),
            record(json!("Fine"), "sometime"),
            bad_rating,
            record(json!("Twice"), "Jan 01 2000"),
            record(json!("Twice"), "Feb 02 2000"),
        ]);
        let reasons: Vec<&str> = out
            .rejected
            .iter()
            .map(|r| r["reason"].as_str().unwrap())
            .collect();
        assert_eq!(out.movies.len(), 1);
        assert_eq!(reasons[0], "no title");
        assert!(
            reasons[1].contains("is not like `Jun 12 1998`"),
            "{reasons:?}"
        );
        assert!(
            reasons[2].contains("IMDB Rating 11.5 is out of range"),
            "{reasons:?}"
        );
        assert!(
            reasons[3].starts_with("duplicate of record 3"),
            "{reasons:?}"
        );
    }
}
