//! `hangar config show`.

use std::fmt::Write as _;

use hangar_core::LoadedConfig;

use super::CommandError;
use crate::output::{Table, emit};

pub(super) fn show(loaded: &LoadedConfig, json: bool) -> Result<(), CommandError> {
    let shown = loaded.shown();
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
