//! `GET /api/v1/movies/top?by=&n=`: the best films by a metric.

use axum::Json;
use axum::extract::State;
use hangar_api::{ApiQuery, Problem};
use hangar_store::Store;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::model::Movie;
use crate::query::{Filters, Limit, Metric, Top, top};
use hangar_api::problem::responses::BadRequest;

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
    let query = Top {
        metric: Metric::parse(params.by.as_deref().unwrap_or("imdb_rating"))?,
        n: Limit::new("n", params.n.unwrap_or(10))?,
        filters: Filters {
            genre: params.genre,
            distributor: params.distributor,
            year_min: params.year_min,
            year_max: params.year_max,
            ..Filters::default()
        },
    };
    Ok(Json(top(&store, query).await?))
}
