//! Parameters of a run: checked against the pipeline's declarations, and
//! substituted into task settings as `${params.NAME}`.

use serde_json::{Map, Value};

use crate::spec::{ParamType, PipelineSpec};

/// The values of a run's parameters, every declared one present.
pub type Params = Map<String, Value>;

/// Checks `given` (a JSON object, or nothing) against the pipeline's parameters
/// and fills in defaults. Every problem is listed, each naming its parameter.
pub fn resolve(spec: &PipelineSpec, given: Option<&Value>) -> Result<Params, Vec<String>> {
    let empty = Map::new();
    let given = match given {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(other) => return Err(vec![format!("params must be a JSON object, found {other}")]),
    };
    let mut errors = Vec::new();
    for name in given.keys() {
        if !spec.params.iter().any(|p| &p.name == name) {
            let known: Vec<&str> = spec.params.iter().map(|p| p.name.as_str()).collect();
            errors.push(format!(
                "unknown parameter `{name}` (pipeline `{}` takes: {})",
                spec.name,
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ));
        }
    }
    let mut values = Map::new();
    for param in &spec.params {
        match given.get(&param.name).or(param.default.as_ref()) {
            Some(value) if param.kind.accepts(value) => {
                values.insert(param.name.clone(), value.clone());
            }
            Some(value) => errors.push(format!(
                "parameter `{}` must be {}, found {value}",
                param.name,
                param.kind.described()
            )),
            None => errors.push(format!(
                "parameter `{}` ({}) is required",
                param.name,
                param.kind.as_str()
            )),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// Reads `name=value` pairs from the command line, converting each value to its
/// parameter's declared type.
pub fn from_pairs(spec: &PipelineSpec, pairs: &[String]) -> Result<Value, Vec<String>> {
    let mut map = Map::new();
    let mut errors = Vec::new();
    for pair in pairs {
        let Some((name, text)) = pair.split_once('=') else {
            errors.push(format!("`{pair}`: write parameters as name=value"));
            continue;
        };
        let value = match spec.params.iter().find(|p| p.name == name).map(|p| p.kind) {
            // Unknown names are reported by `resolve`, with the known ones.
            None | Some(ParamType::String) => Ok(Value::String(text.to_owned())),
            Some(ParamType::Integer) => text
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| "an integer"),
            Some(ParamType::Float) => text.parse::<f64>().map(Value::from).map_err(|_| "a number"),
            Some(ParamType::Boolean) => text
                .parse::<bool>()
                .map(Value::from)
                .map_err(|_| "true or false"),
        };
        match value {
            Ok(value) => {
                map.insert(name.to_owned(), value);
            }
            Err(expected) => errors.push(format!(
                "parameter `{name}`: expected {expected}, found `{text}`"
            )),
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(map))
    } else {
        Err(errors)
    }
}

/// Replaces `${params.NAME}` in every string of `config`. A string that is exactly
/// one reference takes the parameter's value with its type; inside longer text
/// the value is written out.
pub fn interpolate(config: &Map<String, Value>, params: &Params) -> Map<String, Value> {
    config
        .iter()
        .map(|(k, v)| (k.clone(), substitute(v, params)))
        .collect()
}

fn substitute(value: &Value, params: &Params) -> Value {
    match value {
        Value::String(text) => {
            if let Some(name) = text
                .strip_prefix("${params.")
                .and_then(|r| r.strip_suffix('}'))
                && !name.contains('}')
                && let Some(value) = params.get(name)
            {
                return value.clone();
            }
            let mut out = text.clone();
            for (name, value) in params {
                let rendered = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out = out.replace(&format!("${{params.{name}}}"), &rendered);
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, params)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, params)))
                .collect(),
        ),
        other => other.clone(),
    }
}
