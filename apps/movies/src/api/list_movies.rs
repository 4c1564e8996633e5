//! `GET /api/v1/movies`: search, filter, sort and page through the films.

use axum::Json;
use axum::extract::State;
use hangar_api::{ApiQuery, Problem, decode_cursor, encode_cursor};
use hangar_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::model::Movie;
use crate::query::{After, Filters, Limit, Search, Sort, search};
use hangar_api::problem::responses::BadRequest;

/// Query parameters of the list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Words of the title (prefixes match: `star wa`); results by relevance unless
    /// `sort` is given. Up to 200 characters, at least one letter or digit.
    #[param(min_length = 1, max_length = 200, pattern = r"[\p{L}\p{N}]")]
    pub q: Option<String>,
    /// Major genre, exactly (e.g. `Drama`).
    pub genre: Option<String>,
    /// Distributor, exactly (e.g. `Warner Bros.`).
    pub distributor: Option<String>,
    /// Earliest release year.
    pub year_min: Option<i32>,
    /// Latest release year.
    pub year_max: Option<i32>,
    /// Lowest IMDb rating (0–10).
    #[param(minimum = 0, maximum = 10)]
    pub rating_min: Option<f64>,
    /// Highest IMDb rating (0–10).
    #[param(minimum = 0, maximum = 10)]
    pub rating_max: Option<f64>,
    /// A field to sort by, `-` in front for descending: id, title, release_year,
    /// imdb_rating, imdb_votes, rotten_tomatoes_rating, running_time_min, us_gross,
    /// worldwide_gross, production_budget. Films without a value come last.
    #[param(
        pattern = r"^-?(id|title|release_year|imdb_rating|imdb_votes|rotten_tomatoes_rating|running_time_min|us_gross|worldwide_gross|production_budget)$"
    )]
    pub sort: Option<String>,
    /// Films per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// A page of the films that match, and how many match in all.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MoviePage {
    /// The films of this page, in the requested order.
    pub items: Vec<Movie>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many films match the search and filters, on every page together.
    pub total: i64,
}

/// Where the previous page ended: its last film's sort value and id, or, for a
/// search by relevance, [`OFFSET`] and the position of the next film.
type CursorKey = (Value, i64);

/// Marks a cursor that counts positions.
const OFFSET: &str = "offset";

/// Lists films.
#[utoipa::path(
    get,
    path = "/api/v1/movies",
    tag = "movies",
    params(ListParams),
    responses(
        (status = 200, description = "A page of films", body = MoviePage),
        (status = 400, response = BadRequest),
    )
)]
pub async fn list_movies(
    State(store): State<Store>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<MoviePage>, Problem> {
    let limit = Limit::new("limit", params.limit.unwrap_or(20))?;
    let sort = params.sort.as_deref().map(Sort::parse).transpose()?;
    let after = params
        .cursor
        .as_deref()
        .map(decode_cursor::<CursorKey>)
        .transpose()?
        .map(|(value, id)| match value.as_str() {
            Some(OFFSET) => After::Position(id),
            _ => After::Key { value, id },
        });
    let query = Search {
        q: params.q,
        filters: Filters {
            genre: params.genre,
            distributor: params.distributor,
            year_min: params.year_min,
            year_max: params.year_max,
            rating_min: params.rating_min,
            rating_max: params.rating_max,
        },
        sort,
        limit,
        after,
    };
    let page = search(&store, query).await?;
    let next_cursor = page.next.map(|after| {
        let key: CursorKey = match after {
            After::Position(position) => (Value::from(OFFSET), position),
            After::Key { value, id } => (value, id),
        };
        encode_cursor(&key)
    });
    Ok(Json(MoviePage {
        items: page.items,
        next_cursor,
        total: page.total,
    }))
}
