//! A running api role for a test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hangar::runtime::{ApiRole, MigrationPolicy, RunError, bind, start_api};
use hangar_app::Apps;
use hangar_core::{Config, Shutdown};
use hangar_store::Store;

use crate::database::{Backend, TestDatabase};

/// A full api role on `127.0.0.1:0`, migrated and ready, over its own database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The role's store.
    pub store: Store,
    /// The configuration it runs with.
    pub config: Arc<Config>,
    /// The backend it runs on.
    pub backend: Backend,
    client: reqwest::Client,
    shutdown: Shutdown,
    role: Option<ApiRole>,
    // Declared last: dropped after the role's pool is closed.
    _database: TestDatabase,
}

impl TestApp {
    /// The binary's apps on default configuration. `None` when `backend` is skipped.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        let apps = hangar::apps().expect("the binary's apps are well-formed");
        Self::spawn_with(backend, apps, |_| {}).await
    }

    /// `apps` on a configuration adjusted by `configure` (the database URL and the
    /// listen address are set by the harness). `None` when `backend` is skipped.
    pub async fn spawn_with(
        backend: Backend,
        apps: Apps,
        configure: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        let test = std::thread::current().name().unwrap_or("a test").to_owned();
        let database = TestDatabase::create(backend, &test).await?;
        let mut config = Config::default();
        configure(&mut config);
        config.database_url = database.url().clone();
        config.http.listen = ([127, 0, 0, 1], 0).into();
        let config = Arc::new(config);
        let shutdown = Shutdown::new();
        let listener = bind(config.http.listen).await.expect("bind port 0");
        let role = start_api(
            config.clone(),
            &apps,
            listener,
            shutdown.clone(),
            MigrationPolicy::Apply,
        )
        .expect("start the api role");
        let app = TestApp {
            base_url: format!("http://{}", role.local_addr),
            store: role.store.clone(),
            config,
            backend,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("build an HTTP client"),
            shutdown,
            role: Some(role),
            _database: database,
        };
        app.wait_ready(Duration::from_secs(30)).await;
        Some(app)
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

    /// Fires shutdown and waits for the role to drain and stop.
    pub async fn stop(mut self) -> Result<(), RunError> {
        self.shutdown.trigger();
        match self.role.take() {
            Some(role) => role.wait().await,
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}
