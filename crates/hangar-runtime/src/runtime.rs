//! Wiring of a Hangar process: the store, the queue, the apps, and the roles the
//! process plays (api, worker). Start-up work (wait for the store, migrate, wait
//! for the broker) runs while `/healthz`, `/readyz` and `/metrics` already answer.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use hangar_api::auth::AuthConfigError;
use hangar_api::{
    Auth, HttpMetrics, Hub, Idempotency, Readiness, RouterParts, ServeError, Site, SiteError,
    TerminalService, WebUi, build_router, serve,
};
use hangar_app::{AppContext, AppError, Apps};
use hangar_core::health::{ReadinessCheck, StartupGate};
use hangar_core::telemetry::MetricsRegistry;
use hangar_core::{Config, Shutdown};
use hangar_pipeline::operator::Limits;
use hangar_pipeline::{
    EngineOptions, PipelineError, PipelineRegistry, Pipelines, SourcePolicy, TaskJob,
};
use hangar_queue::{MaintenanceOptions, Queue, QueueError, QueueMetrics, Worker, WorkerOptions};
use hangar_store::{EventLog, MigrationSet, MigrationState, Store, StoreError};
use hangar_terminal::{Registry as TerminalRegistry, RegistryError, Terminal};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

use crate::PLATFORM_MIGRATIONS;

/// What the process does about migrations at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationPolicy {
    /// Apply pending migrations (`hangar up`, `hangar serve --migrate`).
    Apply,
    /// Refuse to run while migrations are pending (`hangar serve`, `hangar worker`).
    RequireCurrent,
}

/// The roles a process plays. Every process serves `/healthz`, `/readyz` and
/// `/metrics`.
#[derive(Debug, Clone)]
pub struct Roles {
    /// Serve the apps' routes and the admin API.
    pub api: bool,
    /// Run jobs, and the queue's maintenance (reaper, due-job announcements).
    pub worker: Option<WorkerOptions>,
    /// Fire cron triggers and repair stranded runs (one leader among schedulers).
    pub scheduler: bool,
    /// Migrations at start.
    pub migrations: MigrationPolicy,
}

/// Why a process stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store failed: unreachable, or a migration failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed: broker unreachable, or a bad queue setting.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The apps do not fit together.
    #[error(transparent)]
    Apps(#[from] AppError),
    /// The auth settings cannot work.
    #[error(transparent)]
    Auth(#[from] AuthConfigError),
    /// A pipeline definition is invalid, or pipelines could not be loaded.
    #[error(transparent)]
    Pipelines(#[from] PipelineError),
    /// The site file cannot be read or is invalid.
    #[error(transparent)]
    Site(#[from] SiteError),
    /// A terminal command cannot be registered.
    #[error(transparent)]
    Terminal(#[from] RegistryError),
    /// Migrations are pending and the role may not apply them.
    #[error(
        "the database schema is behind this build ({} pending: {}); run `hangar migrate` \
         or start with `hangar serve --migrate`",
        .0.len(),
        .0.join(", ")
    )]
    PendingMigrations(Vec<String>),
    /// The HTTP server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source} (set http.listen or HANGAR_HTTP_LISTEN)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A background task panicked.
    #[error("internal task failed: {0}")]
    Task(String),
}

impl RunError {
    /// Whether the error is one of configuration (exit code 2) rather than of
    /// running (exit code 1).
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            RunError::Apps(_)
                | RunError::Auth(_)
                | RunError::Site(_)
                | RunError::Terminal(_)
                | RunError::Pipelines(
                    PipelineError::Definition(_)
                        | PipelineError::Duplicate { .. }
                        | PipelineError::Read { .. }
                        | PipelineError::Setting(_)
                )
        )
    }
}

/// A running process.
pub struct Process {
    /// The address the listener is bound to (useful with port 0).
    pub local_addr: SocketAddr,
    /// The process's store.
    pub store: Store,
    /// The process's queue.
    pub queue: Queue,
    /// The process's pipeline engine.
    pub pipelines: Pipelines,
    started: tokio::sync::watch::Receiver<bool>,
    task: JoinHandle<Result<(), RunError>>,
}

impl Process {
    /// Resolves once start-up is done and the process serves (true), or once
    /// start-up failed or was interrupted (false).
    pub fn started(&self) -> impl std::future::Future<Output = bool> + Send + 'static {
        let mut started = self.started.clone();
        async move { started.wait_for(|s| *s).await.is_ok() }
    }

    /// Waits until the process stops: after `shutdown` fires and its roles
    /// drained, or after start-up failed (which fires `shutdown` itself).
    pub async fn wait(self) -> Result<(), RunError> {
        self.task.await.map_err(|e| RunError::Task(e.to_string()))?
    }
}

/// Binds `addr`, naming it in the error.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, RunError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Bind { addr, source })
}

/// Every migration set of this build: the platform's, then the apps'.
pub fn migration_sets(apps: &Apps) -> Vec<MigrationSet> {
    apps.migration_sets(PLATFORM_MIGRATIONS)
}

/// Starts a process playing `roles` on `listener`; returns once it accepts
/// connections.
pub fn start(
    config: Arc<Config>,
    apps: &Apps,
    listener: TcpListener,
    shutdown: Shutdown,
    roles: Roles,
) -> Result<Process, RunError> {
    let local_addr = listener.local_addr().map_err(|source| RunError::Bind {
        addr: config.http.listen,
        source,
    })?;
    let store = Store::open(&config.database_url, &config.store)?;
    let mut metrics = MetricsRegistry::new();
    let http_metrics = HttpMetrics::register(metrics.registry_mut());
    let queue_metrics = QueueMetrics::register(metrics.registry_mut());
    // The broker connection outlives the roles' shutdown: running jobs still
    // acknowledge their messages and released jobs are announced while draining.
    let queue_stop = CancellationToken::new();
    let events = EventLog::start(store.clone());
    let queue = Queue::open(&config, store.clone(), queue_metrics, queue_stop.clone())
        .with_events(events.clone());
    let ctx = AppContext {
        config: config.clone(),
        store: store.clone(),
        queue: queue.clone(),
    };
    let pipelines = pipeline_engine(&config, apps, &ctx)?;
    let mut registry = apps.jobs(&ctx)?;
    registry.register(TaskJob(pipelines.clone()))?;
    let auth = Auth::new(&config.auth, &config.api.admin_token, store.clone())?;
    let (api_routes, other_routes) = if roles.api {
        let hub = Hub::start(store.clone(), &events, &config.events, queue_stop.clone());
        let site = Site::load(&config.site.file)?.map(Arc::new);
        let mut api_routes = apps
            .routes(&ctx)
            .merge(hangar_api::auth::routes())
            .merge(hangar_api::events::routes(hub))
            .merge(hangar_api::site::routes(site.clone()));
        if config.terminal.enabled {
            let mut commands = TerminalRegistry::new();
            commands.register(hangar_api::terminal::PipelinesCommand(pipelines.clone()))?;
            apps.terminal(&ctx, &mut commands)?;
            let terminal = Terminal {
                registry: commands,
                limits: hangar_api::terminal::limits(&config.terminal),
                about: site
                    .as_deref()
                    .map_or_else(hangar_api::site::anonymous_about, Site::about),
                host: "hangar".to_owned(),
            };
            api_routes = api_routes.merge(hangar_api::terminal::routes(TerminalService::new(
                &config.terminal,
                terminal,
            )));
        }
        (
            api_routes,
            hangar_api::jobs::routes(queue.clone())
                .merge(hangar_api::pipelines::routes(pipelines.clone())),
        )
    } else {
        (OpenApiRouter::new(), Router::new())
    };
    let gate = StartupGate::default();
    let checks: Vec<Arc<dyn ReadinessCheck>> =
        vec![Arc::new(store.clone()), Arc::new(queue.clone())];
    let router = build_router(RouterParts {
        readiness: Readiness::new(gate.clone(), checks),
        registry: metrics.freeze(),
        http_metrics,
        request_timeout: config.http.request_timeout.get(),
        api_routes,
        other_routes,
        auth,
        idempotency: Idempotency {
            store: store.clone(),
            body_limit: usize::try_from(config.http.body_limit).unwrap_or(usize::MAX),
        },
        cors_origins: config.http.cors_origins.clone(),
        web: WebUi::new(if roles.api { &config.http.web_dir } else { "" }),
    });
    let sets = migration_sets(apps);
    let (started_tx, started) = tokio::sync::watch::channel(false);
    let (task_store, task_queue, task_pipelines) =
        (store.clone(), queue.clone(), pipelines.clone());
    let task = tokio::spawn(async move {
        let drain = config.http.shutdown_timeout.get();
        let server = tokio::spawn(serve(listener, router, shutdown.clone(), drain));
        tracing::info!(
            url = %format!("http://{local_addr}"),
            store = %task_store.url(),
            queue = %config.queue_url,
            api = roles.api,
            worker = roles.worker.is_some(),
            scheduler = roles.scheduler,
            "listening; /healthz, /readyz and /metrics answer while the store starts"
        );
        let started = start_up(
            &task_store,
            &task_queue,
            &config,
            &sets,
            &shutdown,
            roles.migrations,
        )
        .await;
        let mut background = Vec::new();
        match started {
            Ok(()) => {
                gate.open();
                if let Some(options) = roles.worker {
                    let worker = Worker::new(task_queue.clone(), registry, options);
                    background.push(tokio::spawn({
                        let shutdown = shutdown.clone();
                        async move {
                            if let Err(e) = worker.run(shutdown).await {
                                tracing::error!(error = %e, "worker failed");
                            }
                        }
                    }));
                    let maintenance = MaintenanceOptions {
                        reap_interval: config.queue.reap_interval.get(),
                        sweep_interval: config.queue.poll_interval.get(),
                        retention: config.queue.retention.get(),
                    };
                    let (queue, shutdown) = (task_queue.clone(), shutdown.clone());
                    background.push(tokio::spawn(async move {
                        queue.maintain(maintenance, shutdown).await
                    }));
                }
                if roles.scheduler {
                    let (pipelines, shutdown) = (task_pipelines.clone(), shutdown.clone());
                    let holder = hangar_core::host::process_name();
                    background.push(tokio::spawn(async move {
                        pipelines.schedule(&holder, shutdown).await
                    }));
                }
                tracing::info!(url = %format!("http://{local_addr}"), "ready");
                started_tx.send_replace(true);
            }
            Err(RunError::Store(StoreError::Interrupted)) => {}
            Err(err) => {
                shutdown.trigger();
                let _ = server.await;
                queue_stop.cancel();
                task_store.close().await;
                return Err(err);
            }
        }
        let served = server.await.map_err(|e| RunError::Task(e.to_string()))?;
        for task in background {
            let _ = task.await;
        }
        task_queue.close().await;
        task_queue
            .events()
            .flush(std::time::Duration::from_secs(2))
            .await;
        queue_stop.cancel();
        task_store.close().await;
        served.map_err(RunError::from)
    });
    Ok(Process {
        local_addr,
        store,
        queue,
        pipelines,
        started,
        task,
    })
}

/// The store and the queue of a short-lived command (or a test), connected.
pub struct Connections {
    /// The store, reachable.
    pub store: Store,
    /// The queue on it.
    pub queue: Queue,
    stop: CancellationToken,
}

impl Connections {
    /// Opens the store, waits (bounded by `store.connect_timeout`) until it
    /// answers, and opens the queue.
    pub async fn open(config: &Config, shutdown: &Shutdown) -> Result<Self, RunError> {
        let store = Store::open(&config.database_url, &config.store)?;
        store
            .wait_until_reachable(config.store.connect_timeout.get(), shutdown)
            .await?;
        let stop = CancellationToken::new();
        let queue = Queue::open(config, store.clone(), QueueMetrics::default(), stop.clone())
            .with_events(EventLog::start(store.clone()));
        Ok(Self { store, queue, stop })
    }

    /// What apps get to register their parts.
    pub fn context(&self, config: &Config) -> AppContext {
        AppContext {
            config: Arc::new(config.clone()),
            store: self.store.clone(),
            queue: self.queue.clone(),
        }
    }

    /// Closes the broker connection, if any, and the store.
    pub async fn close(self) {
        self.queue
            .events()
            .flush(std::time::Duration::from_secs(2))
            .await;
        self.queue.close().await;
        self.stop.cancel();
        self.store.close().await;
    }
}

/// Loads the pipelines (the apps' and those of `pipeline.dir`) into an engine.
pub fn pipeline_engine(
    config: &Config,
    apps: &Apps,
    ctx: &AppContext,
) -> Result<Pipelines, RunError> {
    let mut registry = PipelineRegistry::new();
    apps.pipelines(ctx, &mut registry)?;
    registry
        .directory(std::path::Path::new(&config.pipeline.dir))?
        .load()?;
    let options = EngineOptions {
        queue: config.pipeline.queue.clone(),
        limits: Limits {
            max_output_bytes: usize::try_from(config.pipeline.max_output_bytes)
                .unwrap_or(usize::MAX),
            max_input_bytes: config.pipeline.max_input_bytes,
        },
        sources: SourcePolicy::new(&config.pipeline.file_roots, &config.pipeline.http_allow)
            .map_err(PipelineError::Setting)?,
    };
    Ok(Pipelines::new(
        registry,
        ctx.store.clone(),
        ctx.queue.clone(),
        options,
    ))
}
async fn start_up(
    store: &Store,
    queue: &Queue,
    config: &Config,
    sets: &[MigrationSet],
    shutdown: &Shutdown,
    policy: MigrationPolicy,
) -> Result<(), RunError> {
    store
        .wait_until_reachable(config.store.connect_timeout.get(), shutdown)
        .await?;
    match policy {
        MigrationPolicy::Apply => {
            store.migrate(sets).await?;
        }
        MigrationPolicy::RequireCurrent => {
            let pending: Vec<String> = store
                .migration_status(sets)
                .await?
                .into_iter()
                .filter_map(|m| match m.state {
                    MigrationState::Pending => Some(format!("{}/{}", m.component, m.name)),
                    MigrationState::Modified => Some(format!(
                        "{}/{} (changed since applied)",
                        m.component, m.name
                    )),
                    MigrationState::Applied { .. } | MigrationState::Unknown => None,
                })
                .collect();
            if !pending.is_empty() {
                return Err(RunError::PendingMigrations(pending));
            }
        }
    }
    tokio::select! {
        r = queue.wait_ready(config.queue.connect_timeout.get()) => r?,
        () = shutdown.wait() => return Err(RunError::Store(StoreError::Interrupted)),
    }
    Ok(())
}
