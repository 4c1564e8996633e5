//! `hangar up`, `hangar serve` and `hangar worker`: start a process in its roles.

use std::sync::Arc;

use hangar_app::AppContext;
use hangar_core::telemetry::{LogStream, init_logs};
use hangar_core::{LoadedConfig, Shutdown};
use hangar_queue::WorkerOptions;

use super::{CommandError, runtime};
use crate::cli::WorkerArgs;
use hangar_runtime::first_run::{self, Invocation};
use hangar_runtime::{MigrationPolicy, Roles, RunError, bind, start};

/// `hangar up`: api, worker and scheduler, migrating at start.
pub(super) fn up(loaded: LoadedConfig) -> Result<(), CommandError> {
    let worker = WorkerOptions::from_config(&loaded.config.queue).map_err(config_error)?;
    run_with_secret(
        loaded,
        Roles {
            api: true,
            worker: Some(worker),
            scheduler: true,
            migrations: MigrationPolicy::Apply,
        },
        true,
    )
}

/// `hangar serve`: the api role.
pub(super) fn serve(loaded: LoadedConfig, migrations: MigrationPolicy) -> Result<(), CommandError> {
    run(
        loaded,
        Roles {
            api: true,
            worker: None,
            scheduler: false,
            migrations,
        },
    )
}

/// `hangar worker`: the worker role.
pub(super) fn worker(mut loaded: LoadedConfig, args: WorkerArgs) -> Result<(), CommandError> {
    if let Some(queues) = args.queues {
        loaded.config.queue.queues = queues;
    }
    if let Some(concurrency) = args.concurrency {
        if concurrency == 0 {
            return Err(CommandError::Usage(
                "--concurrency must be at least 1".to_owned(),
            ));
        }
        loaded.config.queue.concurrency = concurrency;
    }
    let worker = WorkerOptions::from_config(&loaded.config.queue).map_err(config_error)?;
    run(
        loaded,
        Roles {
            api: false,
            worker: Some(worker),
            scheduler: false,
            migrations: MigrationPolicy::RequireCurrent,
        },
    )
}

/// `hangar scheduler`: the scheduler role.
pub(super) fn scheduler(loaded: LoadedConfig) -> Result<(), CommandError> {
    run(
        loaded,
        Roles {
            api: false,
            worker: None,
            scheduler: true,
            migrations: MigrationPolicy::RequireCurrent,
        },
    )
}

fn config_error(err: hangar_queue::QueueError) -> CommandError {
    CommandError::Usage(err.to_string())
}

fn run(loaded: LoadedConfig, roles: Roles) -> Result<(), CommandError> {
    run_with_secret(loaded, roles, false)
}

/// Runs `roles`; with `local_secret`, a missing `auth.jwt_secret` is generated
/// and kept on disk (`hangar up`).
fn run_with_secret(
    mut loaded: LoadedConfig,
    roles: Roles,
    local_secret: bool,
) -> Result<(), CommandError> {
    init_logs(&loaded.config.log, LogStream::Stdout).map_err(anyhow::Error::from)?;
    check_admin_token(&loaded)?;
    if local_secret {
        match super::secret::ensure_local_secret(&mut loaded.config) {
            Ok(Some(note)) => tracing::info!("{note}"),
            Ok(None) => {}
            Err(e) => {
                return Err(CommandError::Usage(format!(
                    "cannot keep a generated auth.jwt_secret: {e}"
                )));
            }
        }
    } else if roles.api && loaded.config.auth.jwt_secret.is_empty() {
        tracing::warn!(
            "auth.jwt_secret is not set: sign-in and registration answer 503; only api.admin_token authenticates"
        );
    }
    let invocation = Invocation::of_this_process(loaded.file.as_deref());
    let config = Arc::new(loaded.config);
    let apps = crate::apps().map_err(|e| CommandError::Usage(e.to_string()))?;
    runtime()?.block_on(async move {
        let shutdown = Shutdown::new();
        shutdown
            .trigger_on_signals()
            .map_err(|e| anyhow::anyhow!("cannot install signal handlers: {e}"))?;
        let listener = bind(config.http.listen).await?;
        let api = roles.api;
        let process = start(config.clone(), &apps, listener, shutdown, roles)?;
        if api {
            let started = process.started();
            let addr = process.local_addr;
            let ctx = AppContext {
                config,
                store: process.store.clone(),
                queue: process.queue.clone(),
            };
            tokio::spawn(async move {
                if started.await {
                    first_run::log(&apps, &ctx, addr, &invocation).await;
                }
            });
        }
        process.wait().await?;
        tracing::info!("stopped");
        Ok::<_, CommandError>(())
    })
}

/// Refuses an `api.admin_token` that is set but short enough to guess, naming
/// where it was set.
fn check_admin_token(loaded: &LoadedConfig) -> Result<(), CommandError> {
    let chars = loaded.config.api.admin_token.chars();
    if chars == 0 || chars >= hangar_api::auth::MIN_SECRET_CHARS {
        return Ok(());
    }
    let source = loaded
        .sources
        .get("api.admin_token")
        .map(|s| format!(" (set by {s})"))
        .unwrap_or_default();
    Err(CommandError::Usage(format!(
        "api.admin_token{source} has {chars} characters; it needs at least {} \
         (e.g. `openssl rand -base64 32`), or leave it empty to turn it off",
        hangar_api::auth::MIN_SECRET_CHARS
    )))
}

impl From<hangar_store::StoreError> for CommandError {
    fn from(err: hangar_store::StoreError) -> Self {
        CommandError::Run(RunError::Store(err))
    }
}

impl From<hangar_queue::QueueError> for CommandError {
    fn from(err: hangar_queue::QueueError) -> Self {
        CommandError::Run(RunError::Queue(err))
    }
}
