//! `hangar config show`.

use std::fmt::Write as _;

use hangar_core::LoadedConfig;
use hangar_core::config::ShownValue;

use super::CommandError;
use super::secret::{Kept, read_kept, secret_path};
use crate::output::{Table, emit};

pub(super) fn show(loaded: &LoadedConfig, json: bool) -> Result<(), CommandError> {
    let mut shown = loaded.shown();
    if loaded.config.auth.jwt_secret.is_empty()
        && let Some(value) = shown.iter_mut().find(|v| v.key == "auth.jwt_secret")
    {
        describe_kept_secret(loaded, value);
    }
    if json {
        let doc = serde_json::json!({
            "file": loaded.file.as_ref().map(|p| p.display().to_string()),
            "values": shown,
        });
        let text = serde_json::to_string_pretty(&doc).map_err(anyhow::Error::from)?;
        return Ok(emit(&format!("{text}\n")).map_err(anyhow::Error::from)?);
    }
    let mut out = String::new();
    match &loaded.file {
        Some(path) => {
            let _ = writeln!(out, "config file: {}\n", path.display());
        }
        None => out.push_str("config file: none (defaults and environment only)\n\n"),
    }
    let mut table = Table::new(vec!["KEY", "VALUE", "SOURCE", "VARIABLE"]);
    for v in shown {
        table.row(vec![v.key.to_owned(), v.value, v.source, v.env]);
    }
    out.push_str(&table.render());
    Ok(emit(&out).map_err(anyhow::Error::from)?)
}

/// An unset `auth.jwt_secret` is not empty under `hangar up`: it generates one and
/// keeps it in a file. Say so, and which file, rather than showing an empty value.
fn describe_kept_secret(loaded: &LoadedConfig, value: &mut ShownValue) {
    let path = secret_path(&loaded.config);
    let file = path.display();
    (value.value, value.source) = match read_kept(&path) {
        Ok(Kept::Secret(_)) => ("***".to_owned(), format!("generated, kept in {file}")),
        Ok(Kept::Missing) => (
            "(unset)".to_owned(),
            format!("default; `hangar up` generates one into {file}"),
        ),
        Ok(Kept::TooShort) => (
            "(unusable)".to_owned(),
            format!("{file} is too short; delete it and `hangar up` generates a new one"),
        ),
        Err(e) => (
            "(unreadable)".to_owned(),
            format!("cannot read {file}: {e}"),
        ),
    };
}
