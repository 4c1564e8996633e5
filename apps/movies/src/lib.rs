//! The movies app: the portfolio system's movie data (vega-datasets' `movies.json`).
//! It plugs into the platform through [`hangar_app::App`]: the movies tables, and
//! the `movies_etl` pipeline with its `movies.clean` transform, and the movies API
//! (search, filters, top-N, stats; admin writes), and the `movies` command of
//! the live terminal; and, while the catalogue is empty, the first-run step that
//! loads it.
//!
//! Its shape, for the next apps to copy: `model` (the resource as rows and JSON),
//! `query` (the reads, with typed inputs and their own error, knowing nothing of
//! HTTP or the terminal), and two faces over the queries: `api` (one file per
//! endpoint; the query error becomes a problem document in one `From` impl) and
//! `terminal` (the query error becomes a line of text).

pub mod api;
pub mod clean;
pub mod first_run;
pub mod model;
pub mod query;
pub mod terminal;

use hangar_app::{App, AppContext, FirstRunFuture};
use hangar_pipeline::{PipelineError, PipelineRegistry};
use hangar_store::{Migration, migration};
use utoipa_axum::router::OpenApiRouter;

static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_movies"),
    migration!(2, "0002_movie_stats"),
    migration!(3, "0003_movies_search"),
    migration!(4, "0004_movies_ids_never_reused"),
];

/// The movies ETL definition.
pub const MOVIES_ETL: &str = include_str!("../pipelines/movies_etl.toml");

/// The movies app.
#[derive(Debug, Default)]
pub struct Movies;

impl App for Movies {
    fn name(&self) -> &'static str {
        "movies"
    }

    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }

    fn routes(&self, ctx: &AppContext) -> OpenApiRouter {
        api::routes(ctx.store.clone())
    }

    fn terminal(
        &self,
        ctx: &AppContext,
        commands: &mut hangar_terminal::Registry,
    ) -> Result<(), hangar_terminal::RegistryError> {
        commands.register(terminal::MoviesCommand(ctx.store.clone()))
    }

    fn pipelines(
        &self,
        _ctx: &AppContext,
        pipelines: &mut PipelineRegistry,
    ) -> Result<(), PipelineError> {
        pipelines
            .operator("movies.clean", clean::Clean)?
            .pipeline_toml("app movies: movies_etl.toml", MOVIES_ETL);
        Ok(())
    }

    fn first_run<'a>(&'a self, ctx: &'a AppContext) -> FirstRunFuture<'a> {
        Box::pin(first_run::steps(&ctx.store))
    }
}
