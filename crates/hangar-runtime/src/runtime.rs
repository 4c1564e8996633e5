//! Wiring of a Hangar process: the shared parts (store, queue, apps, pipeline
//! engine), the routes of the api role, the worker and scheduler roles, and the
//! order they start and stop in. Start-up work (wait for the store, migrate,
//! wait for the broker) runs while `/healthz`, `/readyz` and `/metrics` already
//! answer.

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
use hangar_queue::{
    JobRegistry, MaintenanceOptions, Queue, QueueError, QueueMetrics, Worker, WorkerOptions,
};
use hangar_store::{EventLog, MigrationSet, MigrationState, Store, StoreError};
use hangar_terminal::{Registry as TerminalRegistry, RegistryError, Terminal};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

use crate::migration_sets;

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

/// Starts a process playing `roles` on `listener`; returns once it accepts
/// connections. Start-up (store, migrations, broker) and then the roles run in
/// the background; [`Process::started`] tells when they serve.
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
    let shared = Shared::open(config, apps)?;
    let auth = Auth::new(
        &shared.config.auth,
        &shared.config.api.admin_token,
        shared.store.clone(),
    )?;
    let routes = if roles.api {
        api_routes(&shared, apps)?
    } else {
        Routes::default()
    };
    let gate = StartupGate::default();
    let router = router(&shared, &gate, roles.api, routes, auth);
    let (started_tx, started) = tokio::sync::watch::channel(false);
    let process = Process {
        local_addr,
        store: shared.store.clone(),
        queue: shared.queue.clone(),
        pipelines: shared.pipelines.clone(),
        started,
        task: tokio::spawn(run(Lifecycle {
            shared,
            local_addr,
            sets: migration_sets(apps),
            listener,
            router,
            gate,
            shutdown,
            roles,
            started: started_tx,
        })),
    };
    Ok(process)
}

/// What every role of a process shares: the store, the queue, the apps' view
/// of them, the job handlers and the pipeline engine.
struct Shared {
    config: Arc<Config>,
    store: Store,
    queue: Queue,
    events: EventLog,
    ctx: AppContext,
    pipelines: Pipelines,
    /// The handlers the worker role runs: the apps' jobs and the pipeline tasks.
    jobs: JobRegistry,
    /// The process's metrics (HTTP and queue), served at `/metrics`.
    metrics: Arc<Registry>,
    http_metrics: HttpMetrics,
    /// Stops the broker connection and the event hub. Fired last, after the
    /// roles drained: running jobs still acknowledge their messages and released
    /// jobs are announced while draining.
    queue_stop: CancellationToken,
}

impl Shared {
    /// Opens the store (lazily: nothing is connected yet), the queue on it, and
    /// loads the apps' jobs and pipelines.
    fn open(config: Arc<Config>, apps: &Apps) -> Result<Self, RunError> {
        let store = Store::open(&config.database_url, &config.store)?
            .with_replicas(config.database_replica_urls.items(), &config.store)?;
        let mut metrics = MetricsRegistry::new();
        let http_metrics = HttpMetrics::register(metrics.registry_mut());
        store.register_metrics(metrics.registry_mut());
        let queue_metrics = QueueMetrics::register(metrics.registry_mut());
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
        let mut jobs = apps.jobs(&ctx)?;
        jobs.register(TaskJob(pipelines.clone()))?;
        Ok(Self {
            config,
            store,
            queue,
            events,
            ctx,
            pipelines,
            jobs,
            metrics: metrics.freeze(),
            http_metrics,
            queue_stop,
        })
    }
}

/// The routes a process serves beside `/healthz`, `/readyz` and `/metrics`,
/// all in the OpenAPI document: the apps', auth, events, site, terminal and the
/// admin API.
#[derive(Default)]
struct Routes {
    api: OpenApiRouter,
}

/// The api role's routes: the apps', the platform's (auth, events, site,
/// terminal when enabled) and the admin API.
fn api_routes(shared: &Shared, apps: &Apps) -> Result<Routes, RunError> {
    let config = &shared.config;
    let hub = Hub::start(
        shared.store.clone(),
        &shared.events,
        &config.events,
        shared.queue_stop.clone(),
    );
    let site = Site::load(&config.site.file)?.map(Arc::new);
    let mut api = apps
        .routes(&shared.ctx)
        .merge(hangar_api::auth::routes())
        .merge(hangar_api::events::routes(hub))
        .merge(hangar_api::site::routes(site.clone()))
        .merge(hangar_api::jobs::routes(shared.queue.clone()))
        .merge(hangar_api::pipelines::routes(shared.pipelines.clone()));
    if config.terminal.enabled {
        api = api.merge(terminal_routes(shared, apps, site.as_deref())?);
    }
    Ok(Routes { api })
}

/// The web terminal: the platform's commands (`pipelines`), then the apps'.
fn terminal_routes(
    shared: &Shared,
    apps: &Apps,
    site: Option<&Site>,
) -> Result<OpenApiRouter, RunError> {
    let config = &shared.config;
    let mut commands = TerminalRegistry::new();
    commands.register(hangar_api::terminal::PipelinesCommand(
        shared.pipelines.clone(),
    ))?;
    apps.terminal(&shared.ctx, &mut commands)?;
    let terminal = Terminal {
        registry: commands,
        limits: hangar_terminal::Limits::from(&config.terminal),
        about: site.map_or_else(hangar_api::site::anonymous_about, Site::about),
        host: "hangar".to_owned(),
    };
    Ok(hangar_api::terminal::routes(TerminalService::new(
        &config.terminal,
        terminal,
    )))
}

/// The whole router: `routes` behind the platform's middleware (`auth`
/// included), the probes and the metrics, and the web UI when the process plays
/// the api role.
fn router(shared: &Shared, gate: &StartupGate, api: bool, routes: Routes, auth: Auth) -> Router {
    let config = &shared.config;
    let checks: Vec<Arc<dyn ReadinessCheck>> = vec![
        Arc::new(shared.store.clone()),
        Arc::new(shared.queue.clone()),
    ];
    build_router(RouterParts {
        readiness: Readiness::new(gate.clone(), checks),
        registry: shared.metrics.clone(),
        http_metrics: shared.http_metrics.clone(),
        request_timeout: config.http.request_timeout.get(),
        api_routes: routes.api,
        auth,
        idempotency: Idempotency {
            store: shared.store.clone(),
            body_limit: usize::try_from(config.http.body_limit).unwrap_or(usize::MAX),
        },
        cors_origins: config.http.cors_origins.clone(),
        read_your_writes: shared.store.read_your_writes_window(),
        web: if api {
            WebUi::new(&config.http.web_dir)
        } else {
            WebUi::none()
        },
    })
}

/// Everything the background task of a process owns.
struct Lifecycle {
    shared: Shared,
    local_addr: SocketAddr,
    sets: Vec<MigrationSet>,
    listener: TcpListener,
    router: Router,
    gate: StartupGate,
    shutdown: Shutdown,
    roles: Roles,
    started: tokio::sync::watch::Sender<bool>,
}

/// The life of a process: serve the probes at once; start up (store,
/// migrations, broker); open the gate and start the worker and scheduler roles;
/// on shutdown stop in order: the HTTP server drains, the roles finish, the
/// queue closes and the events are flushed, then the broker connection and the
/// store close.
async fn run(lifecycle: Lifecycle) -> Result<(), RunError> {
    let Lifecycle {
        shared,
        local_addr,
        sets,
        listener,
        router,
        gate,
        shutdown,
        roles,
        started,
    } = lifecycle;
    let config = shared.config.clone();
    let drain = config.http.shutdown_timeout.get();
    let server = tokio::spawn(serve(listener, router, shutdown.clone(), drain));
    tracing::info!(
        url = %format!("http://{local_addr}"),
        store = %shared.store.url(),
        queue = %config.queue_url,
        api = roles.api,
        worker = roles.worker.is_some(),
        scheduler = roles.scheduler,
        "listening; /healthz, /readyz and /metrics answer while the store starts"
    );
    let mut background = Vec::new();
    match start_up(
        &shared.store,
        &shared.queue,
        &config,
        &sets,
        &shutdown,
        roles.migrations,
    )
    .await
    {
        Ok(()) => {
            if roles.api {
                background.extend(shared.store.watch_replicas(shutdown.clone()));
            }
            gate.open();
            if let Some(options) = roles.worker {
                background.extend(spawn_worker(
                    &shared.queue,
                    shared.jobs,
                    options,
                    &config,
                    &shutdown,
                ));
            }
            if roles.scheduler {
                background.push(spawn_scheduler(&shared.pipelines, &shutdown));
            }
            tracing::info!(url = %format!("http://{local_addr}"), "ready");
            started.send_replace(true);
        }
        Err(RunError::Store(StoreError::Interrupted)) => {}
        Err(err) => {
            shutdown.trigger();
            let _ = server.await;
            shared.queue_stop.cancel();
            shared.store.close().await;
            return Err(err);
        }
    }
    let served = server.await.map_err(|e| RunError::Task(e.to_string()))?;
    for task in background {
        let _ = task.await;
    }
    shared.queue.close().await;
    shared
        .queue
        .events()
        .flush(std::time::Duration::from_secs(2))
        .await;
    shared.queue_stop.cancel();
    shared.store.close().await;
    served.map_err(RunError::from)
}

/// The worker role: runs jobs until `shutdown`, and the queue's maintenance
/// (reaper, due-job announcements, retention).
fn spawn_worker(
    queue: &Queue,
    jobs: JobRegistry,
    options: WorkerOptions,
    config: &Config,
    shutdown: &Shutdown,
) -> [JoinHandle<()>; 2] {
    let worker = Worker::new(queue.clone(), jobs, options);
    let run = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            if let Err(e) = worker.run(shutdown).await {
                tracing::error!(error = %e, "worker failed");
            }
        }
    });
    let maintenance = MaintenanceOptions {
        reap_interval: config.queue.reap_interval.get(),
        sweep_interval: config.queue.poll_interval.get(),
        retention: config.queue.retention.get(),
    };
    let (queue, shutdown) = (queue.clone(), shutdown.clone());
    let maintain = tokio::spawn(async move { queue.maintain(maintenance, shutdown).await });
    [run, maintain]
}

/// The scheduler role: fires cron triggers and repairs stranded runs while this
/// process holds the leadership.
fn spawn_scheduler(pipelines: &Pipelines, shutdown: &Shutdown) -> JoinHandle<()> {
    let (pipelines, shutdown) = (pipelines.clone(), shutdown.clone());
    let holder = hangar_core::host::process_name();
    tokio::spawn(async move { pipelines.schedule(&holder, shutdown).await })
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
        sources: SourcePolicy::new(&config.pipeline.file_roots, &config.pipeline.http_allow),
    };
    Ok(Pipelines::new(
        registry,
        ctx.store.clone(),
        ctx.queue.clone(),
        options,
    ))
}

/// Waits for the store, applies or checks the migrations as `policy` says, and
/// waits for the broker; `Interrupted` when `shutdown` fires meanwhile.
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
