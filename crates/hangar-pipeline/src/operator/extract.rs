//! `extract`: records from a file or an HTTP(S) URL.
//!
//! | setting | meaning |
//! |---|---|
//! | `source` | a file path under `pipeline.file_roots`, or an `http://` / `https://` URL under a prefix of `pipeline.http_allow` (required; see [`crate::sources`]) |
//! | `format` | `json` (any JSON document), `ndjson` (one JSON value per line → array) or `csv` (rows → objects, empty cells null); default from the extension, else `json` |
//! | `request_timeout` | HTTP: longest one request may take (default `30s`); the task's own `timeout` bounds the whole try |
//! | `attempts` | HTTP: tries on connection errors, timeouts and 5xx answers, with backoff (default 3) |
//! | `missing` | file: what to tell when the file does not exist, i.e. how to get it (the task then fails at once with this text) |

use std::time::Duration;

use futures_util::future::BoxFuture;
use hangar_core::backoff::Backoff;
use hangar_core::config::HumanDuration;
use serde_json::{Map, Value};

use super::{Operator, TaskContext, TaskError, only_keys, optional_str};
use crate::sources::Refused;

const KEYS: [&str; 5] = ["source", "format", "request_timeout", "attempts", "missing"];

/// See the module documentation.
pub struct Extract;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Ndjson,
    Csv,
}

impl Format {
    fn of(config: &Map<String, Value>, source: &str) -> Result<Self, String> {
        match optional_str(config, "format")? {
            Some("json") => Ok(Self::Json),
            Some("ndjson") => Ok(Self::Ndjson),
            Some("csv") => Ok(Self::Csv),
            Some(other) => Err(format!(
                "`format` must be json, ndjson or csv, found `{other}`"
            )),
            None => {
                let path = source.split(['?', '#']).next().unwrap_or(source);
                Ok(if path.ends_with(".csv") {
                    Self::Csv
                } else if path.ends_with(".ndjson") || path.ends_with(".jsonl") {
                    Self::Ndjson
                } else {
                    Self::Json
                })
            }
        }
    }
}

fn settings(config: &Map<String, Value>) -> Result<(String, Format, Duration, u32), String> {
    only_keys(config, &KEYS)?;
    let source = optional_str(config, "source")?
        .ok_or("`source` is required: a file path or an http(s) URL")?;
    let format = Format::of(config, source)?;
    optional_str(config, "missing")?;
    let timeout = match optional_str(config, "request_timeout")? {
        Some(text) => text
            .parse::<HumanDuration>()
            .map_err(|e| format!("`request_timeout`: {e}"))?
            .get(),
        None => Duration::from_secs(30),
    };
    let attempts =
        match config.get("attempts") {
            None => 3,
            Some(v) => v.as_u64().filter(|n| (1..=10).contains(n)).ok_or_else(|| {
                format!("`attempts` must be a whole number from 1 to 10, found {v}")
            })? as u32,
        };
    Ok((source.to_owned(), format, timeout, attempts))
}

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

impl Operator for Extract {
    fn check(&self, config: &Map<String, Value>) -> Result<(), String> {
        settings(config).map(|_| ())
    }

    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>> {
        Box::pin(async move {
            let (source, format, timeout, attempts) =
                settings(task.config).map_err(TaskError::new)?;
            let limit = task.limits.max_input_bytes;
            let bytes = if is_url(&source) {
                task.sources
                    .url(&source)
                    .map_err(|why| refused(&task, &source, why))?;
                fetch(&task, &source, timeout, attempts, limit).await?
            } else {
                let path = match task.sources.file(&source) {
                    Ok(path) => path,
                    Err(why) => return Err(file_refused(&task, &source, why).await),
                };
                let size = tokio::fs::metadata(&path)
                    .await
                    .map_err(|e| TaskError::new(format!("cannot read {source}: {e}")))?
                    .len();
                if size > limit {
                    return Err(TaskError::new(format!(
                        "{source} is {size} bytes, over the limit of {limit} (pipeline.max_input_bytes)"
                    )));
                }
                tokio::fs::read(&path)
                    .await
                    .map_err(|e| TaskError::new(format!("cannot read {source}: {e}")))?
            };
            task.log
                .info(format!("read {} bytes from {source}", bytes.len()));
            let value =
                parse(&bytes, format).map_err(|e| TaskError::new(format!("{source}: {e}")))?;
            if let Value::Array(items) = &value {
                task.log.info(format!("{} records", items.len()));
            }
            Ok(value)
        })
    }
}

/// A source the policy refuses, naming the run parameter it came from (or the
/// setting): another try would be refused too.
fn refused(task: &TaskContext<'_>, source: &str, why: String) -> TaskError {
    let from = task
        .params
        .iter()
        .find(|(_, value)| value.as_str() == Some(source))
        .map_or_else(
            || "setting `source`".to_owned(),
            |(name, _)| format!("parameter `{name}`"),
        );
    TaskError::permanent(format!("{from} refused: {why}"))
}

/// A file source that cannot be read: when it is missing and the task says how
/// to get it (`missing`), that; otherwise the policy's refusal. A path outside
/// the roots is never looked at.
async fn file_refused(task: &TaskContext<'_>, source: &str, why: String) -> TaskError {
    let missing = optional_str(task.config, "missing").ok().flatten();
    if let Some(how) = missing
        && task.sources.names_a_path_under_roots(source)
        && matches!(tokio::fs::try_exists(source).await, Ok(false))
    {
        return TaskError::permanent(format!("{source} does not exist; {how}"));
    }
    refused(task, source, why)
}

async fn fetch(
    task: &TaskContext<'_>,
    url: &str,
    timeout: Duration,
    attempts: u32,
    limit: u64,
) -> Result<Vec<u8>, TaskError> {
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
    loop {
        let attempt = backoff.attempts() + 1;
        // A cancelled run aborts the request in flight (dropping it closes the
        // connection) instead of waiting for an answer.
        let once = tokio::select! {
            r = fetch_once(task.http, url, timeout, limit) => r,
            () = task.cancel.cancelled() => return Err(TaskError::cancelled()),
        };
        match once {
            Ok(bytes) => return Ok(bytes),
            Err(Failure::Refused(why)) => return Err(refused(task, url, why)),
            Err(Failure::Transient(error)) if attempt < attempts => {
                let delay = backoff.next_delay();
                task.log.warn(format!(
                    "GET {url} (attempt {attempt} of {attempts}): {error}; retrying in {}ms",
                    delay.as_millis()
                ));
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = task.cancel.cancelled() => return Err(TaskError::cancelled()),
                }
            }
            Err(Failure::Transient(error) | Failure::Final(error)) => {
                return Err(TaskError::new(format!("GET {url}: {error}")));
            }
        }
    }
}

/// Why a request failed.
enum Failure {
    /// Trying again may help (connection errors, timeouts, 5xx, 429).
    Transient(String),
    /// It will not (4xx, a body over the limit).
    Final(String),
    /// The source policy refused an address or a redirect.
    Refused(String),
}

impl Failure {
    fn of(error: &reqwest::Error) -> Self {
        match Refused::find(error) {
            Some(refused) => Self::Refused(refused.0.clone()),
            None => Self::Transient(describe(error)),
        }
    }
}

/// A request error with its causes (reqwest's own text leaves them out).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// One request.
async fn fetch_once(
    http: &reqwest::Client,
    url: &str,
    timeout: Duration,
    limit: u64,
) -> Result<Vec<u8>, Failure> {
    let request = async {
        let mut response = http.get(url).send().await.map_err(|e| Failure::of(&e))?;
        let status = response.status();
        if !status.is_success() {
            let error = format!("answered {status}");
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                Failure::Transient(error)
            } else {
                Failure::Final(error)
            });
        }
        if let Some(length) = response.content_length().filter(|n| *n > limit) {
            return Err(Failure::Final(format!(
                "body of {length} bytes is over the limit of {limit} (pipeline.max_input_bytes)"
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| Failure::of(&e))? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(Failure::Final(format!(
                    "body is over the limit of {limit} bytes (pipeline.max_input_bytes)"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(timeout, request)
        .await
        .unwrap_or_else(|_| {
            Err(Failure::Transient(format!(
                "no complete answer within {}ms",
                timeout.as_millis()
            )))
        })
}

fn parse(bytes: &[u8], format: Format) -> Result<Value, String> {
    match format {
        Format::Json => serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}")),
        Format::Ndjson => {
            let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
            text.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .map(|(i, line)| {
                    serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", i + 1))
                })
                .collect::<Result<Vec<Value>, _>>()
                .map(Value::Array)
        }
        Format::Csv => {
            let mut reader = csv::Reader::from_reader(bytes);
            let headers = reader
                .headers()
                .map_err(|e| format!("CSV header: {e}"))?
                .clone();
            let mut rows = Vec::new();
            for (i, record) in reader.records().enumerate() {
                let record = record.map_err(|e| format!("CSV row {}: {e}", i + 2))?;
                let row: Map<String, Value> = headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| {
                        let value = if v.is_empty() {
                            Value::Null
                        } else {
                            Value::String(v.to_owned())
                        };
                        (h.to_owned(), value)
                    })
                    .collect();
                rows.push(Value::Object(row));
            }
            Ok(Value::Array(rows))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_extension_unless_set() {
        let config = |pairs: &[(&str, &str)]| -> Map<String, Value> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect()
        };
        let format = |c: &Map<String, Value>| settings(c).map(|s| s.1);
        assert_eq!(format(&config(&[("source", "a/b.csv")])), Ok(Format::Csv));
        assert_eq!(
            format(&config(&[("source", "http://h/x.ndjson?y=1")])),
            Ok(Format::Ndjson)
        );
        assert_eq!(
            format(&config(&[("source", "m.json"), ("format", "csv")])),
            Ok(Format::Csv)
        );
        assert!(
            settings(&config(&[]))
                .unwrap_err()
                .contains("`source` is required")
        );
        assert!(
            settings(&config(&[("source", "x"), ("colour", "red")]))
                .unwrap_err()
                .contains("unknown setting `colour`")
        );
    }

    #[test]
    fn csv_rows_become_objects_and_ndjson_lines_an_array() {
        let rows = parse(b"carrier,name\n9E,Endeavor Air Inc.\nAA,\n", Format::Csv).unwrap();
        assert_eq!(
            rows,
            serde_json::json!([{"carrier": "9E", "name": "Endeavor Air Inc."}, {"carrier": "AA", "name": null}])
        );
        let lines = parse(b"{\"a\":1}\n\n{\"a\":2}\n", Format::Ndjson).unwrap();
        assert_eq!(lines, serde_json::json!([{"a": 1}, {"a": 2}]));
        assert!(
            parse(b"{\"a\":1}\nnope\n", Format::Ndjson)
                .unwrap_err()
                .starts_with("line 2")
        );
    }
}
