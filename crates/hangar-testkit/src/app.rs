//! A running api role for a test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hangar_app::Apps;
use hangar_core::config::QueueUrl;
use hangar_core::{Config, Shutdown};
use hangar_queue::{Queue, WorkerOptions};
use hangar_runtime::{MigrationPolicy, Process, Roles, RunError, bind, start};
use hangar_store::Store;

use crate::broker::TestBroker;
use crate::database::{Backend, QueueBackend, TestDatabase};

/// The token-signing secret test apps run with (tests may sign their own tokens).
pub const TEST_JWT_SECRET: &str = "test-secret-of-at-least-thirty-two-characters";

/// A full process (api and worker roles) on `127.0.0.1:0`, migrated and ready,
/// over its own database (and its own broker queues, with RabbitMQ dispatch).
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The process's store.
    pub store: Store,
    /// The process's queue.
    pub queue: Queue,
    /// The process's pipeline engine.
    pub pipelines: hangar_pipeline::Pipelines,
    /// The configuration it runs with.
    pub config: Arc<Config>,
    /// The backend it runs on.
    pub backend: Backend,
    client: reqwest::Client,
    shutdown: Shutdown,
    process: Option<Process>,
    // Declared last: dropped after the process's connections are closed.
    _broker: Option<TestBroker>,
    _database: TestDatabase,
}

impl TestApp {
    /// `apps` (`Apps::default()` for the platform alone) on default
    /// configuration. `None` when `backend` is skipped.
    pub async fn spawn(backend: Backend, apps: Apps) -> Option<TestApp> {
        Self::spawn_with(backend, apps, |_| {}).await
    }

    /// `apps` on a configuration adjusted by `configure` (the database URL and the
    /// listen address are set by the harness). `None` when `backend` is skipped.
    pub async fn spawn_with(
        backend: Backend,
        apps: Apps,
        configure: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        let database = TestDatabase::create(backend, &current_test()).await?;
        Some(Self::start(backend, database, None, apps, configure).await)
    }

    /// Like [`TestApp::spawn_with`], on a queue backend: in-database dispatch on
    /// SQLite or PostgreSQL, or RabbitMQ dispatch (over PostgreSQL) with broker
    /// queues of its own. `None` when a service it needs is not configured.
    pub async fn spawn_queue(
        backend: QueueBackend,
        apps: Apps,
        configure: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        let test = current_test();
        let broker = match backend {
            QueueBackend::RabbitMq => Some(TestBroker::create(&test)?),
            QueueBackend::Sqlite | QueueBackend::Postgres => None,
        };
        let database = TestDatabase::create(backend.store(), &test).await?;
        Some(Self::start(backend.store(), database, broker, apps, configure).await)
    }

    async fn start(
        backend: Backend,
        database: TestDatabase,
        broker: Option<TestBroker>,
        apps: Apps,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut config = Config::default();
        config.auth.jwt_secret = TEST_JWT_SECRET.into();
        // No pipeline files from the working directory: a test runs in its
        // crate's folder, and an app's own `pipelines/` folder there would be
        // loaded a second time. A test that wants files sets `pipeline.dir`.
        config.pipeline.dir = String::new();
        if let Some(broker) = &broker {
            config.queue_url = QueueUrl::Amqp(broker.url.clone());
            config.queue.broker_prefix = broker.prefix.clone();
        }
        configure(&mut config);
        config.database_url = database.url().clone();
        config.http.listen = ([127, 0, 0, 1], 0).into();
        let mut broker = broker;
        if let Some(broker) = &mut broker {
            broker.watch_queues(&config.queue.queues);
        }
        let config = Arc::new(config);
        let shutdown = Shutdown::new();
        let listener = bind(config.http.listen).await.expect("bind port 0");
        let worker = WorkerOptions::from_config(&config.queue).expect("valid [queue] settings");
        let roles = Roles {
            api: true,
            worker: Some(worker),
            scheduler: true,
            migrations: MigrationPolicy::Apply,
        };
        let process = start(config.clone(), &apps, listener, shutdown.clone(), roles)
            .expect("start the process");
        let app = TestApp {
            base_url: format!("http://{}", process.local_addr),
            store: process.store.clone(),
            queue: process.queue.clone(),
            pipelines: process.pipelines.clone(),
            config,
            backend,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("build an HTTP client"),
            shutdown,
            process: Some(process),
            _broker: broker,
            _database: database,
        };
        app.wait_ready(Duration::from_secs(30)).await;
        app
    }

    /// Polls `/readyz` until it answers 200; panics after `limit`.
    async fn wait_ready(&self, limit: Duration) {
        let started = Instant::now();
        loop {
            let response = self.client.get(self.url("/readyz")).send().await;
            if response.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "the app was not ready within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// An HTTP client with a 30 s timeout.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `GET path`, panicking on transport errors.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// The shutdown signal of the role.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Fires shutdown and waits for the process to drain and stop.
    pub async fn stop(mut self) -> Result<(), RunError> {
        self.shutdown.trigger();
        match self.process.take() {
            Some(process) => process.wait().await,
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// The running test's name, for skip messages.
fn current_test() -> String {
    std::thread::current().name().unwrap_or("a test").to_owned()
}
