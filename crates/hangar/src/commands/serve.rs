//! `hangar up` and `hangar serve`.

use std::sync::Arc;

use hangar_core::telemetry::init_logs;
use hangar_core::{LoadedConfig, Shutdown};

use super::{CommandError, runtime};
use crate::runtime::{MigrationPolicy, RunError, bind, start_api};

pub(super) fn run(loaded: LoadedConfig, policy: MigrationPolicy) -> Result<(), CommandError> {
    let config = Arc::new(loaded.config);
    init_logs(&config.log).map_err(anyhow::Error::from)?;
    let apps = crate::apps().map_err(|e| CommandError::Usage(e.to_string()))?;
    runtime()?.block_on(async move {
        let shutdown = Shutdown::new();
        shutdown
            .trigger_on_signals()
            .map_err(|e| anyhow::anyhow!("cannot install signal handlers: {e}"))?;
        let listener = bind(config.http.listen).await?;
        let role = start_api(config, &apps, listener, shutdown, policy)?;
        role.wait().await?;
        tracing::info!("stopped");
        Ok::<_, CommandError>(())
    })
}

impl From<hangar_store::StoreError> for CommandError {
    fn from(err: hangar_store::StoreError) -> Self {
        CommandError::Run(RunError::Store(err))
    }
}
