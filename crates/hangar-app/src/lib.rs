//! The plug between the platform and its applications: the [`App`] trait.
//!
//! An application (movies, flights, socks) is a crate that implements [`App`] and is
//! listed once in the binary. The platform asks each app, at start-up, for what it
//! contributes; an app never reaches into the platform any other way, and platform
//! crates never depend on app crates.
//!
//! What an app contributes today:
//!
//! | method | contribution | who uses it |
//! |---|---|---|
//! | [`App::name`] | a unique lowercase name; it owns the app's migrations | all roles |
//! | [`App::migrations`] | append-only schema changes, one SQL file per dialect | `hangar migrate`, `hangar up` |
//! | [`App::routes`] | an axum router merged into the api role under `/api/v1/…` | `hangar up`, `hangar serve` |
//! | [`App::jobs`] | job handlers ([`hangar_queue::Job`]) the workers run | `hangar up`, `hangar worker` |
//! | [`App::pipelines`] | pipeline definitions and the operators (transforms) they use | every role |
//! | [`App::terminal`] | read-only commands of the live terminal ([`hangar_terminal::Command`]) | the api role |
//! | [`App::first_run`] | the steps a first-time operator still has to take (load the app's data) | the start-up log |
//!
//! Each later plug point (ingest streams) is added here as a method with a default, so existing apps keep
//! compiling and only the apps that use it implement it.
//!
//! ```ignore
//! struct Movies;
//!
//! impl App for Movies {
//!     fn name(&self) -> &'static str { "movies" }
//!     fn migrations(&self) -> &'static [Migration] { MIGRATIONS }
//!     fn routes(&self, ctx: &AppContext) -> OpenApiRouter { api::routes(ctx.store.clone()) }
//! }
//! ```
//!
//! This trait sits in its own crate, above the store and the api crates, because
//! what it hands out (routers, migrations, and later job and pipeline registries)
//! belongs to those crates; `hangar-core` stays below all of them.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hangar_core::Config;
use hangar_pipeline::{PipelineError, PipelineRegistry};
use hangar_queue::{JobRegistry, Queue, QueueError};
use hangar_store::{Migration, MigrationSet, Store, StoreError};
use hangar_terminal::RegistryError;
use utoipa_axum::router::OpenApiRouter;

/// What the platform hands an app when it asks for its contributions.
#[derive(Debug, Clone)]
pub struct AppContext {
    /// The effective configuration.
    pub config: Arc<Config>,
    /// The store (its pool connects lazily; routes are served once it is migrated).
    pub store: Store,
    /// The job queue, to enqueue from routes and handlers.
    pub queue: Queue,
}

/// An application plugged into Hangar. See the crate documentation.
pub trait App: Send + Sync + 'static {
    /// Unique lowercase name (`[a-z][a-z0-9_]*`), e.g. `movies`.
    fn name(&self) -> &'static str;

    /// The app's migrations in version order. Default: none.
    fn migrations(&self) -> &'static [Migration] {
        &[]
    }

    /// The app's HTTP routes, merged into the api role and, through their
    /// `#[utoipa::path]` annotations, into the OpenAPI document. Paths must be
    /// unique across apps and start with `/api/v1/`. Default: none.
    fn routes(&self, ctx: &AppContext) -> OpenApiRouter {
        let _ = ctx;
        OpenApiRouter::new()
    }

    /// Registers the app's job handlers; names must be unique across apps
    /// (prefix them with the app's name). Default: none.
    fn jobs(&self, ctx: &AppContext, jobs: &mut JobRegistry) -> Result<(), QueueError> {
        let _ = (ctx, jobs);
        Ok(())
    }

    /// Registers the app's pipeline operators (name them `app.verb`) and the
    /// pipelines it defines (`PipelineRegistry::pipeline_toml`). Default: none.
    fn pipelines(
        &self,
        ctx: &AppContext,
        pipelines: &mut PipelineRegistry,
    ) -> Result<(), PipelineError> {
        let _ = (ctx, pipelines);
        Ok(())
    }

    /// Adds the app's commands to the live terminal. They must be read-only
    /// queries and bound what they return by `Call::max_rows`; names must be
    /// unique across apps (use the app's name). Default: none.
    fn terminal(
        &self,
        ctx: &AppContext,
        commands: &mut hangar_terminal::Registry,
    ) -> Result<(), RegistryError> {
        let _ = (ctx, commands);
        Ok(())
    }

    /// The steps still to take before the app shows anything (its data is not
    /// loaded yet), asked once the store is migrated, by the processes that
    /// serve the site. Only steps that apply now: none once the data is there.
    /// Default: none.
    fn first_run<'a>(&'a self, ctx: &'a AppContext) -> FirstRunFuture<'a> {
        let _ = ctx;
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// A step a first-time operator still has to take, as [`App::first_run`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstRunStep {
    /// What to do, and why it applies now: "load the movies catalogue (it is empty)".
    pub what: String,
    /// The commands that do it, in order.
    pub commands: Vec<StepCommand>,
}

/// A command of a [`FirstRunStep`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepCommand {
    /// The `hangar` binary with these arguments (`pipeline run movies_etl --wait`);
    /// the log writes it with the binary as the operator started it.
    Hangar(String),
    /// Any other command, written as is (`scripts/fetch-datasets movies`).
    Other(String),
}

/// What [`App::first_run`] returns.
pub type FirstRunFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<FirstRunStep>, StoreError>> + Send + 'a>>;

/// An app list that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A name is not of the form `[a-z][a-z0-9_]*`.
    #[error("app name `{0}` must be lowercase letters, digits and `_`, starting with a letter")]
    BadName(String),
    /// Two apps share a name.
    #[error("two apps are named `{0}`")]
    Duplicate(String),
}

/// The apps of a process, checked for unique, well-formed names.
#[derive(Clone, Default)]
pub struct Apps(Vec<Arc<dyn App>>);

impl Apps {
    /// Checks the names of `apps`.
    pub fn new(apps: Vec<Arc<dyn App>>) -> Result<Self, AppError> {
        let mut seen = HashSet::new();
        for app in &apps {
            let name = app.name();
            let well_formed = name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !well_formed {
                return Err(AppError::BadName(name.to_owned()));
            }
            if !seen.insert(name) {
                return Err(AppError::Duplicate(name.to_owned()));
            }
        }
        Ok(Self(apps))
    }

    /// The apps in order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn App>> {
        self.0.iter()
    }

    /// Migration sets of the platform components followed by the apps', each app's
    /// set named after the app.
    pub fn migration_sets(&self, platform: &[MigrationSet]) -> Vec<MigrationSet> {
        platform
            .iter()
            .copied()
            .chain(self.0.iter().map(|app| MigrationSet {
                component: app.name(),
                migrations: app.migrations(),
            }))
            .collect()
    }

    /// Every app's terminal commands added to `commands`.
    pub fn terminal(
        &self,
        ctx: &AppContext,
        commands: &mut hangar_terminal::Registry,
    ) -> Result<(), RegistryError> {
        for app in &self.0 {
            app.terminal(ctx, commands)?;
        }
        Ok(())
    }

    /// Every app's job handlers in one registry.
    pub fn jobs(&self, ctx: &AppContext) -> Result<JobRegistry, QueueError> {
        let mut registry = JobRegistry::new();
        for app in &self.0 {
            app.jobs(ctx, &mut registry)?;
        }
        Ok(registry)
    }

    /// Adds every app's operators and pipelines to `registry`.
    pub fn pipelines(
        &self,
        ctx: &AppContext,
        registry: &mut PipelineRegistry,
    ) -> Result<(), PipelineError> {
        for app in &self.0 {
            app.pipelines(ctx, registry)?;
        }
        Ok(())
    }

    /// Every app's first-run steps, in app order.
    pub async fn first_run(&self, ctx: &AppContext) -> Result<Vec<FirstRunStep>, StoreError> {
        let mut steps = Vec::new();
        for app in &self.0 {
            steps.extend(app.first_run(ctx).await?);
        }
        Ok(steps)
    }

    /// Every app's routes merged into one router.
    pub fn routes(&self, ctx: &AppContext) -> OpenApiRouter {
        self.0.iter().fold(OpenApiRouter::new(), |router, app| {
            router.merge(app.routes(ctx))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str);
    impl App for Named {
        fn name(&self) -> &'static str {
            self.0
        }
    }

    #[test]
    fn names_must_be_unique_and_well_formed() {
        let apps = |names: &[&'static str]| {
            Apps::new(
                names
                    .iter()
                    .map(|n| Arc::new(Named(n)) as Arc<dyn App>)
                    .collect(),
            )
        };
        assert!(apps(&["movies", "flights_2"]).is_ok());
        assert!(matches!(
            apps(&["movies", "movies"]),
            Err(AppError::Duplicate(_))
        ));
        for bad in ["Movies", "2movies", "", "mo-vies"] {
            assert!(matches!(apps(&[bad]), Err(AppError::BadName(_))), "{bad}");
        }
    }
}
