//! Pipeline definitions in TOML, and their validation. Every error names where it
//! is: the file, the line, and the task.
//!
//! ```toml
//! name = "movies_etl"
//! description = "Load movies.json into the movies tables"
//! schedule = "15 3 * * *"          # optional, UTC
//! catchup = "latest"               # cron times missed while down: none, latest (default) or all
//! catchup_limit = 10               # with "all": most runs one downtime creates (default 10)
//! max_active_runs = 1              # optional, default 1
//!
//! [params.source]
//! type = "string"                  # string, integer, float, boolean
//! default = "data/datasets/movies.json"
//!
//! [[tasks]]
//! id = "extract"
//! operator = "extract"             # built in: extract, sql, load; or one an app registers
//! source = "${params.source}"      # every other key is the operator's setting
//!
//! [[tasks]]
//! id = "clean"
//! operator = "movies.clean"
//! depends_on = ["extract"]
//! trigger_rule = "all_success"     # all_done, one_success, one_failed, none_failed
//! retries = 2                      # default 0
//! retry_delay = "5s"               # default 10s, doubling
//! timeout = "10m"                  # default 1h
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use hangar_core::config::{HumanDuration, line_col};
use serde::Deserialize;
use serde_json::{Map, Value};
use toml::Spanned;

use crate::operator::Operators;
use crate::spec::{
    CatchUp, ParamSpec, ParamType, PipelineName, PipelineSpec, Schedule, TaskId, TaskSpec,
    TriggerRule,
};

/// Keys of a task that are not operator settings.
const TASK_KEYS: [&str; 7] = [
    "id",
    "operator",
    "depends_on",
    "trigger_rule",
    "retries",
    "retry_delay",
    "timeout",
];

/// One problem in a pipeline definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    /// The file (or `app <name>`) it is in.
    pub source: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The task it concerns, if one.
    pub task: Option<String>,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(task) = &self.task {
            write!(f, ": task `{task}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All the problems of a definition, in file order.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct DefinitionErrors(pub Vec<DefinitionError>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    name: Spanned<String>,
    description: Option<String>,
    schedule: Option<Spanned<String>>,
    catchup: Option<Spanned<String>>,
    catchup_limit: Option<Spanned<u32>>,
    max_active_runs: Option<Spanned<u32>>,
    #[serde(default)]
    params: BTreeMap<String, Spanned<RawParam>>,
    #[serde(default)]
    tasks: Vec<Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    #[serde(rename = "type")]
    kind: String,
    default: Option<toml::Value>,
    description: Option<String>,
}

/// Parses and validates one pipeline definition. `source` names it in errors.
pub fn parse(
    source: &str,
    text: &str,
    operators: &Operators,
) -> Result<PipelineSpec, DefinitionErrors> {
    let at = |span: Option<std::ops::Range<usize>>| span.map(|s| line_col(text, s.start).0);
    let error = |line: Option<usize>, task: Option<&str>, message: String| DefinitionError {
        source: source.to_owned(),
        line,
        task: task.map(str::to_owned),
        message,
    };
    let raw: RawPipeline = toml::from_str(text).map_err(|e| {
        DefinitionErrors(vec![error(
            at(e.span()),
            None,
            e.message().trim().to_owned(),
        )])
    })?;
    let mut errors = Vec::new();

    let name = PipelineName::new(raw.name.get_ref())
        .map_err(|m| errors.push(error(at(Some(raw.name.span())), None, m)))
        .ok();
    let schedule = raw.schedule.as_ref().and_then(|s| {
        Schedule::parse(s.get_ref())
            .map_err(|m| errors.push(error(at(Some(s.span())), None, m)))
            .ok()
    });
    let (catchup, catchup_limit) = catch_up(&raw, &mut |span, message| {
        errors.push(error(at(Some(span)), None, message));
    });
    let max_active_runs = match &raw.max_active_runs {
        Some(n) if *n.get_ref() == 0 => {
            errors.push(error(
                at(Some(n.span())),
                None,
                "max_active_runs must be at least 1".to_owned(),
            ));
            1
        }
        Some(n) => *n.get_ref(),
        None => 1,
    };

    let mut params = Vec::new();
    for (param, spanned) in &raw.params {
        let line = at(Some(spanned.span()));
        let raw_param = spanned.get_ref();
        if let Err(m) = crate::spec::TaskId::new(param) {
            errors.push(error(
                line,
                None,
                format!("parameter {}", m.replace("task id", "parameter name")),
            ));
        }
        let kind = match ParamType::parse(&raw_param.kind) {
            Ok(kind) => kind,
            Err(m) => {
                errors.push(error(line, None, format!("parameter `{param}`: {m}")));
                continue;
            }
        };
        let default = match raw_param.default.as_ref().map(toml_to_json) {
            Some(Ok(value)) if kind.accepts(&value) => Some(value),
            Some(Ok(value)) => {
                errors.push(error(
                    line,
                    None,
                    format!(
                        "parameter `{param}`: default {value} is not {}",
                        kind.described()
                    ),
                ));
                None
            }
            Some(Err(m)) => {
                errors.push(error(line, None, format!("parameter `{param}`: {m}")));
                None
            }
            None => None,
        };
        params.push(ParamSpec {
            name: param.clone(),
            kind,
            default,
            description: raw_param.description.clone(),
        });
    }

    let mut tasks = Vec::new();
    let mut lines: HashMap<String, Option<usize>> = HashMap::new();
    for spanned in &raw.tasks {
        let line = at(Some(spanned.span()));
        if let Some(task) = parse_task(
            spanned.get_ref(),
            &params,
            operators,
            line,
            &mut |task, m| errors.push(error(line, task, m)),
        ) {
            if lines.insert(task.id.to_string(), line).is_some() {
                errors.push(error(
                    line,
                    Some(task.id.as_str()),
                    "another task has the same id".to_owned(),
                ));
                continue;
            }
            tasks.push(task);
        }
    }
    if raw.tasks.is_empty() {
        errors.push(error(
            None,
            None,
            "a pipeline needs at least one [[tasks]] entry".to_owned(),
        ));
    }
    for task in &tasks {
        for dep in &task.depends_on {
            if dep == &task.id {
                errors.push(error(
                    lines[task.id.as_str()],
                    Some(task.id.as_str()),
                    "depends on itself".to_owned(),
                ));
            } else if !lines.contains_key(dep.as_str()) {
                let known: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
                errors.push(error(
                    lines[task.id.as_str()],
                    Some(task.id.as_str()),
                    format!(
                        "depends on unknown task `{dep}` (tasks: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    let ordered = match topological(&tasks) {
        Ok(order) => order,
        Err(cycle) => {
            let first = cycle.first().cloned().unwrap_or_default();
            errors.push(error(
                lines.get(&first).copied().flatten(),
                Some(&first),
                format!("dependency cycle: {}", cycle.join(" → ")),
            ));
            tasks.clone()
        }
    };
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line.unwrap_or(0));
        return Err(DefinitionErrors(errors));
    }
    Ok(PipelineSpec {
        name: name.expect("checked above"),
        description: raw.description,
        params,
        schedule,
        catchup,
        catchup_limit,
        max_active_runs,
        tasks: ordered,
        source: source.to_owned(),
    })
}

/// The catch-up policy and its limit; each problem is reported with its span.
fn catch_up(
    raw: &RawPipeline,
    report: &mut dyn FnMut(std::ops::Range<usize>, String),
) -> (CatchUp, u32) {
    let catchup = match &raw.catchup {
        Some(text) => CatchUp::parse(text.get_ref()).unwrap_or_else(|m| {
            report(text.span(), m);
            CatchUp::default()
        }),
        None => CatchUp::default(),
    };
    if raw.schedule.is_none()
        && let Some(text) = &raw.catchup
    {
        report(
            text.span(),
            "catchup applies to cron times, and this pipeline has no schedule".to_owned(),
        );
    }
    let limit = match &raw.catchup_limit {
        None => CatchUp::DEFAULT_LIMIT,
        Some(n) if catchup != CatchUp::All => {
            report(
                n.span(),
                "catchup_limit applies only with catchup = \"all\"".to_owned(),
            );
            CatchUp::DEFAULT_LIMIT
        }
        Some(n) if !(1..=CatchUp::MAX_LIMIT).contains(n.get_ref()) => {
            report(
                n.span(),
                format!("catchup_limit must be between 1 and {}", CatchUp::MAX_LIMIT),
            );
            CatchUp::DEFAULT_LIMIT
        }
        Some(n) => *n.get_ref(),
    };
    (catchup, limit)
}

fn parse_task(
    table: &toml::Table,
    params: &[ParamSpec],
    operators: &Operators,
    _line: Option<usize>,
    report: &mut dyn FnMut(Option<&str>, String),
) -> Option<TaskSpec> {
    let Some(id) = table.get("id").and_then(toml::Value::as_str) else {
        report(None, "every task needs an `id` (a string)".to_owned());
        return None;
    };
    let id = match TaskId::new(id) {
        Ok(id) => id,
        Err(m) => {
            report(None, m);
            return None;
        }
    };
    let task = Some(id.as_str());
    let mut ok = true;
    let mut fail = |m: String| {
        ok = false;
        report(task, m);
    };
    let operator = match table.get("operator").and_then(toml::Value::as_str) {
        Some(op) if operators.get(op).is_some() => op.to_owned(),
        Some(op) => {
            fail(format!(
                "unknown operator `{op}` (operators: {})",
                operators.names().join(", ")
            ));
            String::new()
        }
        None => {
            fail("every task needs an `operator` (a string)".to_owned());
            String::new()
        }
    };
    let depends_on = match table.get("depends_on") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item.as_str().map(TaskId::new) {
                Some(Ok(dep)) => Some(dep),
                Some(Err(m)) => {
                    fail(format!("depends_on: {m}"));
                    None
                }
                None => {
                    fail("depends_on must list task ids (strings)".to_owned());
                    None
                }
            })
            .collect(),
        Some(_) => {
            fail("depends_on must be a list of task ids, e.g. [\"extract\"]".to_owned());
            Vec::new()
        }
    };
    let trigger_rule = match table.get("trigger_rule").map(|v| v.as_str().ok_or(v)) {
        None => TriggerRule::AllSuccess,
        Some(Ok(text)) => TriggerRule::parse(text).unwrap_or_else(|m| {
            fail(m);
            TriggerRule::AllSuccess
        }),
        Some(Err(_)) => {
            fail("trigger_rule must be a string".to_owned());
            TriggerRule::AllSuccess
        }
    };
    let retries = match table.get("retries") {
        None => 0,
        Some(toml::Value::Integer(n)) if (0..=100).contains(n) => *n as u32,
        Some(other) => {
            fail(format!(
                "retries must be a whole number from 0 to 100, found {other}"
            ));
            0
        }
    };
    let mut duration = |key: &str, default: Duration| match table.get(key) {
        None => default,
        Some(toml::Value::String(text)) => match text.parse::<HumanDuration>() {
            Ok(d) if !d.get().is_zero() => d.get(),
            Ok(_) => {
                fail(format!("{key} must be longer than zero"));
                default
            }
            Err(e) => {
                fail(format!("{key}: {e}"));
                default
            }
        },
        Some(other) => {
            fail(format!(
                "{key} must be a duration such as \"30s\", found {other}"
            ));
            default
        }
    };
    let retry_delay = duration("retry_delay", Duration::from_secs(10));
    let timeout = duration("timeout", Duration::from_secs(3600));
    let mut config = Map::new();
    for (key, value) in table {
        if TASK_KEYS.contains(&key.as_str()) {
            continue;
        }
        match toml_to_json(value) {
            Ok(value) => {
                config.insert(key.clone(), value);
            }
            Err(m) => fail(format!("{key}: {m}")),
        }
    }
    for reference in param_references(&config) {
        if !params.iter().any(|p| p.name == reference) {
            fail(format!(
                "refers to undeclared parameter `${{params.{reference}}}`"
            ));
        }
    }
    if let Some(op) = operators.get(&operator)
        && let Err(m) = op.check(&config)
    {
        fail(m);
    }
    ok.then_some(TaskSpec {
        id,
        operator,
        config,
        depends_on,
        trigger_rule,
        retries,
        retry_delay,
        timeout,
    })
}

/// Orders tasks so each comes after its dependencies, or returns a cycle.
fn topological(tasks: &[TaskSpec]) -> Result<Vec<TaskSpec>, Vec<String>> {
    let mut placed: HashSet<&str> = HashSet::new();
    let mut order = Vec::with_capacity(tasks.len());
    while order.len() < tasks.len() {
        let ready: Vec<&TaskSpec> = tasks
            .iter()
            .filter(|t| !placed.contains(t.id.as_str()))
            .filter(|t| {
                t.depends_on
                    .iter()
                    .all(|d| placed.contains(d.as_str()) || !tasks.iter().any(|x| x.id == *d))
            })
            .collect();
        if ready.is_empty() {
            return Err(find_cycle(tasks, &placed));
        }
        for task in ready {
            placed.insert(task.id.as_str());
            order.push(task.clone());
        }
    }
    Ok(order)
}

/// A cycle among the tasks not placed, as `a → b → … → a`.
fn find_cycle(tasks: &[TaskSpec], placed: &HashSet<&str>) -> Vec<String> {
    let remaining: Vec<&TaskSpec> = tasks
        .iter()
        .filter(|t| !placed.contains(t.id.as_str()))
        .collect();
    let Some(mut current) = remaining.first().map(|t| t.id.as_str()) else {
        return Vec::new();
    };
    let mut path: Vec<&str> = Vec::new();
    loop {
        if let Some(start) = path.iter().position(|p| *p == current) {
            let mut cycle: Vec<String> = path[start..].iter().map(|s| (*s).to_owned()).collect();
            cycle.push(current.to_owned());
            return cycle;
        }
        path.push(current);
        let task = remaining.iter().find(|t| t.id.as_str() == current);
        match task.and_then(|t| t.depends_on.iter().find(|d| !placed.contains(d.as_str()))) {
            Some(next) => current = next.as_str(),
            None => return path.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// Names in `${params.NAME}` references in the string values of `config`.
pub(crate) fn param_references(config: &Map<String, Value>) -> Vec<String> {
    let mut found = Vec::new();
    let mut visit = |text: &str| {
        let mut rest = text;
        while let Some(start) = rest.find("${params.") {
            let after = &rest[start + "${params.".len()..];
            match after.find('}') {
                Some(end) => {
                    found.push(after[..end].to_owned());
                    rest = &after[end..];
                }
                None => break,
            }
        }
    };
    fn walk(value: &Value, visit: &mut dyn FnMut(&str)) {
        match value {
            Value::String(s) => visit(s),
            Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
            Value::Object(map) => map.values().for_each(|v| walk(v, visit)),
            _ => {}
        }
    }
    for value in config.values() {
        walk(value, &mut visit);
    }
    found
}

/// TOML to JSON; datetimes, which JSON has no type for, are refused.
pub(crate) fn toml_to_json(value: &toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => {
            return Err(format!(
                "dates are not supported here ({d}); write them as strings"
            ));
        }
        toml::Value::Array(items) => {
            Value::Array(items.iter().map(toml_to_json).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| Ok((k.clone(), toml_to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match parse("pipelines/p.toml", text, &Operators::with_builtins()) {
            Ok(spec) => panic!("valid: {spec:?}"),
            Err(DefinitionErrors(errors)) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    const HEAD: &str = "name = \"p\"\n";

    #[test]
    fn a_valid_definition_is_ordered_by_dependencies() {
        let text = format!(
            "{HEAD}schedule = \"0 3 * * *\"\n[params.day]\ntype = \"string\"\ndefault = \"2013-01-01\"\n\
             [[tasks]]\nid = \"load\"\noperator = \"sql\"\nsql = \"SELECT 1\"\ndepends_on = [\"read\"]\n\
             [[tasks]]\nid = \"read\"\noperator = \"extract\"\nsource = \"data/${{params.day}}.json\"\n"
        );
        let spec = parse("p.toml", &text, &Operators::with_builtins()).unwrap();
        let order: Vec<&str> = spec.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(order, vec!["read", "load"]);
        assert_eq!(spec.schedule.unwrap().as_str(), "0 3 * * *");
        assert_eq!(spec.catchup, CatchUp::Latest);
        assert_eq!(spec.catchup_limit, CatchUp::DEFAULT_LIMIT);
        assert_eq!(spec.max_active_runs, 1);
    }

    #[test]
    fn each_error_names_the_file_the_line_and_the_task() {
        let text = format!(
            "{HEAD}[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"SELECT 1\"\ndepends_on = [\"c\"]\n\
             [[tasks]]\nid = \"b\"\noperator = \"teleport\"\n\
             [[tasks]]\nid = \"c\"\noperator = \"sql\"\nsql = \"SELECT 1\"\ndepends_on = [\"a\"]\n\
             [[tasks]]\nid = \"d\"\noperator = \"sql\"\nsql = \"SELECT 1\"\ndepends_on = [\"zz\"]\n"
        );
        let found = errors(&text);
        assert!(
            found.contains(&"pipelines/p.toml:7: task `b`: unknown operator `teleport` (operators: extract, load, sql)".to_owned()),
            "{found:#?}"
        );
        assert!(
            found
                .iter()
                .any(|e| e
                    .starts_with("pipelines/p.toml:15: task `d`: depends on unknown task `zz`")),
            "{found:#?}"
        );
        assert!(
            found
                .iter()
                .any(|e| e.contains("dependency cycle: a → c → a")
                    || e.contains("dependency cycle: c → a → c")),
            "{found:#?}"
        );
    }

    #[test]
    fn parameters_schedules_and_settings_are_checked() {
        for (body, expected) in [
            (
                "schedule = \"every day\"\n[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\n",
                "p.toml:2: `every day` is not a cron expression",
            ),
            (
                "[params.n]\ntype = \"integer\"\ndefault = \"ten\"\n[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\n",
                "p.toml:2: parameter `n`: default \"ten\" is not an integer",
            ),
            (
                "[params.n]\ntype = \"number\"\n[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\n",
                "unknown parameter type `number`",
            ),
            (
                "[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"${params.day}\"\n",
                "task `a`: refers to undeclared parameter `${params.day}`",
            ),
            (
                "[[tasks]]\nid = \"a\"\noperator = \"sql\"\n",
                "task `a`: set either `sql`, or both `sqlite` and `postgres`",
            ),
            (
                "[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\nretries = -1\n",
                "task `a`: retries must be a whole number from 0 to 100",
            ),
            (
                "[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\ntimeout = \"soon\"\n",
                "task `a`: timeout: expected a duration",
            ),
            (
                "[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\ntrigger_rule = \"sometimes\"\n",
                "unknown trigger rule `sometimes`",
            ),
            (
                "[[tasks]]\nid = \"A\"\noperator = \"sql\"\nsql = \"x\"\n",
                "`A` is not a valid task id",
            ),
            (
                "[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\n[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"y\"\n",
                "task `a`: another task has the same id",
            ),
            (
                "colour = \"red\"\n[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\n",
                "p.toml:2: unknown field `colour`",
            ),
            ("", "a pipeline needs at least one [[tasks]] entry"),
            (
                "schedule = \"0 3 * * *\"\ncatchup = \"some\"\n[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\n",
                "p.toml:3: unknown catchup `some`; expected none, latest or all",
            ),
            (
                "catchup = \"all\"\n[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\n",
                "p.toml:2: catchup applies to cron times, and this pipeline has no schedule",
            ),
            (
                "schedule = \"0 3 * * *\"\ncatchup_limit = 5\n[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\n",
                "p.toml:3: catchup_limit applies only with catchup = \"all\"",
            ),
            (
                "schedule = \"0 3 * * *\"\ncatchup = \"all\"\ncatchup_limit = 0\n[[tasks]]\nid = \"a\"\noperator = \"sql\"\nsql = \"x\"\n",
                "p.toml:4: catchup_limit must be between 1 and 1000",
            ),
        ] {
            let found = errors(&format!("{HEAD}{body}"));
            assert!(
                found.iter().any(|e| e.contains(expected)),
                "{expected}\n{found:#?}"
            );
        }
    }
}
