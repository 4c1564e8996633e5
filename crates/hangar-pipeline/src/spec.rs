//! What a pipeline is: named tasks with dependencies, typed parameters, an optional
//! cron schedule. Built by [`crate::file`] from TOML and checked by
//! [`crate::validate`]; a `PipelineSpec` that exists is valid.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

/// A pipeline or task name: 1–64 of `a-z`, `0-9` and `_`, starting with a letter.
fn well_formed(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

macro_rules! name_type {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A ", $what, " name: 1-64 of `a-z`, `0-9` and `_`, starting with a letter.")]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses a name; the error says what is allowed.
            pub fn new(name: &str) -> Result<Self, String> {
                if well_formed(name) {
                    Ok(Self(name.to_owned()))
                } else {
                    Err(format!(
                        "`{name}` is not a valid {}: use 1-64 of a-z, 0-9 and `_`, starting with a letter",
                        $what
                    ))
                }
            }

            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(PipelineName, "pipeline name");
name_type!(TaskId, "task id");

/// When a task may run, given how its upstream tasks ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerRule {
    /// Every upstream task succeeded (the default).
    AllSuccess,
    /// Every upstream task finished, however.
    AllDone,
    /// At least one upstream task succeeded.
    OneSuccess,
    /// At least one upstream task failed.
    OneFailed,
    /// No upstream task failed (succeeded or skipped).
    NoneFailed,
}

impl TriggerRule {
    /// Parses `all_success`, `all_done`, `one_success`, `one_failed` or `none_failed`.
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "all_success" => Self::AllSuccess,
            "all_done" => Self::AllDone,
            "one_success" => Self::OneSuccess,
            "one_failed" => Self::OneFailed,
            "none_failed" => Self::NoneFailed,
            other => {
                return Err(format!(
                    "unknown trigger rule `{other}`; expected all_success, all_done, one_success, \
                     one_failed or none_failed"
                ));
            }
        })
    }
}

/// The type of a pipeline parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// A number.
    Float,
    /// `true` or `false`.
    Boolean,
}

impl ParamType {
    /// Parses `string`, `integer`, `float` or `boolean`.
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "string" => Self::String,
            "integer" => Self::Integer,
            "float" => Self::Float,
            "boolean" => Self::Boolean,
            other => {
                return Err(format!(
                    "unknown parameter type `{other}`; expected string, integer, float or boolean"
                ));
            }
        })
    }

    /// Whether `value` is of this type (an integer is also a float).
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Integer => value.is_i64() || value.is_u64(),
            Self::Float => value.is_number(),
            Self::Boolean => value.is_boolean(),
        }
    }

    /// The type's name with its article: `an integer`.
    pub fn described(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Integer => "an integer",
            Self::Float => "a number",
            Self::Boolean => "true or false",
        }
    }

    /// The type's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Float => "float",
            Self::Boolean => "boolean",
        }
    }
}

/// A declared parameter.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParamSpec {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// Its default; a parameter without one must be given at each trigger.
    pub default: Option<Value>,
    /// What it is for.
    pub description: Option<String>,
}

/// One task of a pipeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskSpec {
    /// Its id, unique in the pipeline.
    pub id: TaskId,
    /// The operator that runs it.
    pub operator: String,
    /// The operator's settings (every key of the task other than the ones below).
    pub config: Map<String, Value>,
    /// Tasks that must finish first.
    pub depends_on: Vec<TaskId>,
    /// When it may run, given how they finished.
    pub trigger_rule: TriggerRule,
    /// Tries after the first, when a try fails.
    pub retries: u32,
    /// Delay before the first retry, in milliseconds; doubles at each further one.
    #[serde(with = "millis")]
    #[schema(value_type = u64)]
    pub retry_delay: Duration,
    /// Longest a try may run, in milliseconds.
    #[serde(with = "millis")]
    #[schema(value_type = u64)]
    pub timeout: Duration,
}

/// A cron schedule (five fields: minute hour day-of-month month day-of-week; or
/// six with seconds first), evaluated in UTC.
#[derive(Debug, Clone)]
pub struct Schedule {
    text: String,
    cron: croner::Cron,
}

impl Schedule {
    /// Parses a cron expression; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let cron: croner::Cron = text
            .parse()
            .map_err(|e| format!("`{text}` is not a cron expression: {e}"))?;
        Ok(Self {
            text: text.to_owned(),
            cron,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The latest firing time at or before `now`.
    pub fn latest(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.cron.find_previous_occurrence(&now, true).ok()
    }

    /// The last firing time before `before`.
    pub fn previous_before(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.cron.find_previous_occurrence(&before, false).ok()
    }

    /// The first firing time after `after`.
    pub fn next_after(
        &self,
        after: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
    }
}

impl Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// What the scheduler does with the cron times that passed while no scheduler
/// was running (Airflow's `catchup`, with a third choice).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    /// Missed times are skipped: a time fires only when a scheduler sees it
    /// on time (within a minute), and after downtime the pipeline waits for its
    /// next cron time.
    None,
    /// After downtime, one run, for the most recent missed time; the older ones
    /// are skipped (Airflow's `catchup = False`). The default.
    #[default]
    Latest,
    /// One run for each missed time, oldest first, at most `catchup_limit` of
    /// them: the most recent ones (Airflow's `catchup = True`, bounded).
    All,
}

impl CatchUp {
    /// Most runs `all` creates for one downtime, unless `catchup_limit` says.
    pub const DEFAULT_LIMIT: u32 = 10;
    /// Largest `catchup_limit` accepted.
    pub const MAX_LIMIT: u32 = 1000;

    /// Parses `none`, `latest` or `all`.
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "none" => Self::None,
            "latest" => Self::Latest,
            "all" => Self::All,
            other => {
                return Err(format!(
                    "unknown catchup `{other}`; expected none, latest or all"
                ));
            }
        })
    }
}

/// A validated pipeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PipelineSpec {
    /// Its name, unique among pipelines.
    pub name: PipelineName,
    /// What it does.
    pub description: Option<String>,
    /// Its parameters.
    pub params: Vec<ParamSpec>,
    /// When it runs by itself: a cron expression, evaluated in UTC.
    #[schema(value_type = Option<String>)]
    pub schedule: Option<Schedule>,
    /// What happens to cron times missed while no scheduler ran.
    pub catchup: CatchUp,
    /// With `catchup = "all"`, most runs one downtime creates.
    pub catchup_limit: u32,
    /// Runs at once; further triggers wait, queued.
    pub max_active_runs: u32,
    /// Its tasks, in a topological order.
    pub tasks: Vec<TaskSpec>,
    /// Where it was defined (a file path, or `app <name>`).
    pub source: String,
}

impl PipelineSpec {
    /// The task `id`.
    pub fn task(&self, id: &str) -> Option<&TaskSpec> {
        self.tasks.iter().find(|t| t.id.as_str() == id)
    }

    /// Tasks that depend on `id`.
    pub fn downstream<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a TaskSpec> + 'a {
        self.tasks
            .iter()
            .filter(move |t| t.depends_on.iter().any(|d| d.as_str() == id))
    }
}

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(PipelineName::new("movies_etl").is_ok());
        for bad in ["", "Movies", "1st", "a-b", &"x".repeat(65)] {
            assert!(PipelineName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn schedules_take_five_or_six_fields_in_utc() {
        let daily = Schedule::parse("15 3 * * *").unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-02T10:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            daily.latest(now).unwrap().to_rfc3339(),
            "2026-01-02T03:15:00+00:00"
        );
        assert_eq!(
            daily.next_after(now).unwrap().to_rfc3339(),
            "2026-01-03T03:15:00+00:00"
        );
        let every_two_seconds = Schedule::parse("*/2 * * * * *").unwrap();
        assert!(every_two_seconds.next_after(now).is_some());
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("every day").is_err());
    }
}
