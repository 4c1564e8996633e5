//! `GET /api/v1/movies/top?by=&n=`: the best films by a metric.

use axum::Json;
use axum::extract::State;
use hangar_api::{ApiQuery, Problem};
use hangar_store::placeholders::for_dialect;
use hangar_store::{Store, on_pool};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{MOVIE_COLUMNS, Movie};
use super::{Filters, MAX_LIMIT};
use crate::bind_all;
use hangar_api::problem::responses::BadRequest;

/// Metrics a top-N ranks by; ties go to the film with more IMDb votes.
pub const METRICS: [&str; 8] = [
    "imdb_rating",
    "rotten_tomatoes_rating",
    "imdb_votes",
    "worldwide_gross",
    "us_gross",
    "us_dvd_sales",
    "production_budget",
    "running_time_min",
];

/// Query parameters of the top-N.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TopParams {
    /// The metric, highest first: imdb_rating (default), rotten_tomatoes_rating,
    /// imdb_votes, worldwide_gross, us_gross, us_dvd_sales, production_budget,
    /// running_time_min. Films without a value are left out.
    #[param(
        pattern = r"^(imdb_rating|rotten_tomatoes_rating|imdb_votes|worldwide_gross|us_gross|us_dvd_sales|production_budget|running_time_min)$"
    )]
    pub by: Option<String>,
    /// How many, 1–100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    pub n: Option<u32>,
    /// Major genre, exactly.
    pub genre: Option<String>,
    /// Distributor, exactly.
    pub distributor: Option<String>,
    /// Earliest release year.
    pub year_min: Option<i32>,
    /// Latest release year.
    pub year_max: Option<i32>,
}

/// The best films by a metric.
#[utoipa::path(
    get,
    path = "/api/v1/movies/top",
    tag = "movies",
    params(TopParams),
    responses(
        (status = 200, description = "The films, best first", body = Vec<Movie>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn top_movies(
    State(store): State<Store>,
    ApiQuery(params): ApiQuery<TopParams>,
) -> Result<Json<Vec<Movie>>, Problem> {
    let metric = params.by.as_deref().unwrap_or("imdb_rating");
    let Some(metric) = METRICS.iter().find(|m| **m == metric) else {
        return Err(Problem::bad_request(format!(
            "by: `{metric}` is not a metric; use one of {}",
            METRICS.join(", ")
        )));
    };
    let n = params.n.unwrap_or(10);
    if !(1..=MAX_LIMIT).contains(&n) {
        return Err(Problem::bad_request(format!(
            "n: {n} is not from 1 to {MAX_LIMIT}"
        )));
    }
    top(
        &store,
        metric,
        n,
        Filters {
            genre: params.genre,
            distributor: params.distributor,
            year_min: params.year_min,
            year_max: params.year_max,
            ..Filters::default()
        },
    )
    .await
    .map(Json)
}

/// The `n` best films by `metric` (one of [`METRICS`]) among those `filters` keep.
pub(crate) async fn top(
    store: &Store,
    metric: &str,
    n: u32,
    filters: Filters,
) -> Result<Vec<Movie>, Problem> {
    let mut clauses = vec![format!("m.{metric} IS NOT NULL")];
    let mut binds = Vec::new();
    filters.apply(&mut clauses, &mut binds)?;
    let sql = for_dialect(
        store.dialect(),
        format!(
            "SELECT {MOVIE_COLUMNS} FROM movies m WHERE {} \
             ORDER BY m.{metric} DESC, m.imdb_votes DESC, m.id LIMIT {n}",
            clauses.join(" AND ")
        ),
    );
    on_pool!(store, pool => {
        bind_all!(sqlx::query_as::<_, Movie>(sqlx::AssertSqlSafe(sql.as_str())), &binds)
            .fetch_all(pool)
            .await
    })
    .map_err(Problem::from)
}
