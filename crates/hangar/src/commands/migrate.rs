//! `hangar migrate [run|status]`.

use hangar_core::LoadedConfig;
use hangar_core::telemetry::{LogStream, init_logs};
use hangar_store::{MigrationState, Store};
use serde_json::json;

use super::{CommandError, runtime, signals};
use crate::output::{Table, emit};

pub(super) fn run(loaded: LoadedConfig) -> Result<(), CommandError> {
    let config = loaded.config;
    init_logs(&config.log, LogStream::Stderr).map_err(anyhow::Error::from)?;
    let apps = crate::apps().map_err(|e| CommandError::Usage(e.to_string()))?;
    let sets = hangar_runtime::migration_sets(&apps);
    runtime()?.block_on(async {
        let store = connect(&config).await?;
        let applied = store.migrate(&sets).await?;
        store.close().await;
        let mut out = if applied.is_empty() {
            format!("{}: up to date\n", store.url())
        } else {
            format!("{}: applied {} migration(s)\n", store.url(), applied.len())
        };
        for name in applied {
            out.push_str(&format!("  {name}\n"));
        }
        Ok(emit(&out).map_err(anyhow::Error::from)?)
    })
}

pub(super) fn status(loaded: LoadedConfig, json: bool) -> Result<(), CommandError> {
    let config = loaded.config;
    let apps = crate::apps().map_err(|e| CommandError::Usage(e.to_string()))?;
    let sets = hangar_runtime::migration_sets(&apps);
    runtime()?.block_on(async {
        let store = connect(&config).await?;
        let rows = store.migration_status(&sets).await?;
        store.close().await;
        if json {
            let rows: Vec<_> = rows
                .iter()
                .map(|m| {
                    let (state, applied_at) = describe(&m.state);
                    json!({
                        "component": m.component,
                        "version": m.version,
                        "name": m.name,
                        "state": state,
                        "applied_at": applied_at,
                    })
                })
                .collect();
            let text = serde_json::to_string_pretty(&rows).map_err(anyhow::Error::from)?;
            return Ok(emit(&format!("{text}\n")).map_err(anyhow::Error::from)?);
        }
        let mut table = Table::new(vec!["COMPONENT", "VERSION", "NAME", "STATE", "APPLIED AT"]);
        for m in rows {
            let (state, applied_at) = describe(&m.state);
            table.row(vec![
                m.component,
                m.version.to_string(),
                m.name,
                state.to_owned(),
                applied_at.unwrap_or_default(),
            ]);
        }
        Ok(emit(&format!("{}\n{}", store.url(), table.render())).map_err(anyhow::Error::from)?)
    })
}

fn describe(state: &MigrationState) -> (&'static str, Option<String>) {
    match state {
        MigrationState::Applied { at } => ("applied", Some(at.to_rfc3339())),
        MigrationState::Pending => ("pending", None),
        MigrationState::Modified => ("changed since applied", None),
        MigrationState::Unknown => ("unknown to this build", None),
    }
}

/// Opens the store and waits (bounded by `store.connect_timeout`) until it answers.
async fn connect(config: &hangar_core::Config) -> Result<Store, CommandError> {
    let store = Store::open(&config.database_url, &config.store)?;
    let shutdown = signals()?;
    store
        .wait_until_reachable(config.store.connect_timeout.get(), &shutdown)
        .await?;
    Ok(store)
}
