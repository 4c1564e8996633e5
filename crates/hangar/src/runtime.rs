//! Wiring of the api role: store, apps, router and server, with the start-up work
//! (wait for the store, migrate) running while `/healthz` and `/readyz` already
//! answer.

use std::net::SocketAddr;
use std::sync::Arc;

use hangar_api::{HttpMetrics, Readiness, RouterParts, ServeError, build_router, serve};
use hangar_app::{AppContext, Apps};
use hangar_core::health::{ReadinessCheck, StartupGate};
use hangar_core::telemetry::MetricsRegistry;
use hangar_core::{Config, Shutdown};
use hangar_store::{MigrationState, Store, StoreError};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::PLATFORM_MIGRATIONS;

/// What the api role does about migrations at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationPolicy {
    /// Apply pending migrations (`hangar up`, `hangar serve --migrate`).
    Apply,
    /// Refuse to serve while migrations are pending (`hangar serve`).
    RequireCurrent,
}

/// Why a role stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store failed: unreachable, or a migration failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// A running api role.
pub struct ApiRole {
    /// The address the listener is bound to (useful with port 0).
    pub local_addr: SocketAddr,
    /// The role's store.
    pub store: Store,
    task: JoinHandle<Result<(), RunError>>,
}

impl ApiRole {
    /// Waits until the role stops: after `shutdown` fires and requests drained, or
    /// after start-up failed (which fires `shutdown` itself).
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

/// Starts the api role on `listener` and returns once it accepts connections.
pub fn start_api(
    config: Arc<Config>,
    apps: &Apps,
    listener: TcpListener,
    shutdown: Shutdown,
    policy: MigrationPolicy,
) -> Result<ApiRole, RunError> {
    let local_addr = listener.local_addr().map_err(|source| RunError::Bind {
        addr: config.http.listen,
        source,
    })?;
    let store = Store::open(&config.database_url, &config.store)?;
    let mut metrics = MetricsRegistry::new();
    let http_metrics = HttpMetrics::register(metrics.registry_mut());
    let gate = StartupGate::default();
    let checks: Vec<Arc<dyn ReadinessCheck>> = vec![Arc::new(store.clone())];
    let ctx = AppContext {
        config: config.clone(),
        store: store.clone(),
    };
    let router = build_router(RouterParts {
        readiness: Readiness::new(gate.clone(), checks),
        registry: metrics.freeze(),
        http_metrics,
        request_timeout: config.http.request_timeout.get(),
        app_routes: apps.routes(&ctx),
    });
    let sets = apps.migration_sets(PLATFORM_MIGRATIONS);
    let task_store = store.clone();
    let task = tokio::spawn(async move {
        let drain = config.http.shutdown_timeout.get();
        let server = tokio::spawn(serve(listener, router, shutdown.clone(), drain));
        tracing::info!(
            url = %format!("http://{local_addr}"),
            store = %task_store.url(),
            "listening; /healthz, /readyz and /metrics answer while the store starts"
        );
        match start_up(&task_store, &config, &sets, &shutdown, policy).await {
            Ok(()) => {
                gate.open();
                tracing::info!(url = %format!("http://{local_addr}"), "ready");
            }
            Err(RunError::Store(StoreError::Interrupted)) => {}
            Err(err) => {
                shutdown.trigger();
                let _ = server.await;
                task_store.close().await;
                return Err(err);
            }
        }
        let served = server.await.map_err(|e| RunError::Task(e.to_string()))?;
        task_store.close().await;
        served.map_err(RunError::from)
    });
    Ok(ApiRole {
        local_addr,
        store,
        task,
    })
}

async fn start_up(
    store: &Store,
    config: &Config,
    sets: &[hangar_store::MigrationSet],
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
    Ok(())
}
