//! The body of a movie write, its checks, and the columns it sets.

use chrono::{Datelike, NaiveDate};
use hangar_api::{Problem, WholeNumber};
use serde::Deserialize;
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::clean::{article_first, slug};
use crate::model::Bind;

/// A film's fields as written by an admin. On create, `title` is required; on
/// update, only the fields present change (`null` clears one).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovieInput {
    /// Title (required on create; cannot be cleared), with at least one ASCII
    /// letter or digit: the film's key is made of those.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 300, pattern = "[A-Za-z0-9]")]
    pub title: Option<Option<String>>,
    /// Release date, `YYYY-MM-DD`, 1870–2100.
    #[serde(default, deserialize_with = "present")]
    #[schema(
        value_type = Option<String>,
        format = Date,
        pattern = "^(18[7-9][0-9]|19[0-9]{2}|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"
    )]
    pub release_date: Option<Option<String>>,
    /// MPAA rating.
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 200)]
    pub mpaa_rating: Option<Option<String>>,
    /// Running time in minutes, 0–1000.
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(minimum = 0, maximum = 1000)]
    pub running_time_min: Option<Option<i64>>,
    /// Distributor.
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 200)]
    pub distributor: Option<Option<String>>,
    /// Source of the story.
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 200)]
    pub source: Option<Option<String>>,
    /// Major genre.
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 200)]
    pub major_genre: Option<Option<String>>,
    /// Creative type.
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 200)]
    pub creative_type: Option<Option<String>>,
    /// Director.
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 200)]
    pub director: Option<Option<String>>,
    /// US gross, dollars.
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(minimum = 0)]
    pub us_gross: Option<Option<i64>>,
    /// Worldwide gross, dollars.
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(minimum = 0)]
    pub worldwide_gross: Option<Option<i64>>,
    /// US DVD sales, dollars.
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(minimum = 0)]
    pub us_dvd_sales: Option<Option<i64>>,
    /// Production budget, dollars.
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(minimum = 0)]
    pub production_budget: Option<Option<i64>>,
    /// Rotten Tomatoes rating, 0–100.
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(minimum = 0, maximum = 100)]
    pub rotten_tomatoes_rating: Option<Option<i64>>,
    /// IMDb rating, 0–10.
    #[serde(default, deserialize_with = "present")]
    #[schema(minimum = 0, maximum = 10)]
    pub imdb_rating: Option<Option<f64>>,
    /// IMDb votes.
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(minimum = 0)]
    pub imdb_votes: Option<Option<i64>>,
}

/// The body of `POST /api/v1/movies`: a [`MovieInput`] whose `title` is required.
/// Only the document needs it; the handler reads a `MovieInput` and checks it.
pub struct NewMovie;

impl utoipa::PartialSchema for NewMovie {
    fn schema() -> RefOr<Schema> {
        AllOfBuilder::new()
            .item(Ref::from_schema_name(MovieInput::name()))
            .item(ObjectBuilder::new().required("title"))
            .description(Some("A film's fields; `title` is required"))
            .into()
    }
}

impl ToSchema for NewMovie {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((MovieInput::name().into(), MovieInput::schema()));
        <MovieInput as ToSchema>::schemas(schemas);
    }
}

/// A field that is present (`Some`), possibly `null` (`Some(None)`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// [`present`] for an integer field: JSON Schema counts `291.0` as the integer
/// 291, so it is taken as one.
fn present_whole<'de, D>(d: D) -> Result<Option<Option<i64>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<WholeNumber>::deserialize(d).map(|n| Some(n.map(|n| n.0)))
}

/// The columns a write sets, with their values, checked.
pub(crate) struct Columns {
    pub sets: Vec<(&'static str, Bind, bool)>,
    pub title: Option<String>,
    pub year: Option<Option<i64>>,
}

fn text(v: Option<String>) -> Bind {
    v.map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map_or(Bind::Null, Bind::Text)
}

impl MovieInput {
    /// Checks every field, listing all problems in one 422.
    pub(crate) fn columns(self, creating: bool) -> Result<Columns, Problem> {
        let mut errors = Vec::new();
        let mut sets: Vec<(&'static str, Bind, bool)> = Vec::new();
        let mut title = None;
        match self.title {
            Some(Some(t)) if !t.trim().is_empty() && t.chars().count() <= 300 => {
                let t = article_first(t.trim());
                if slug(&t).is_empty() {
                    errors.push("title: needs a letter or digit".to_owned());
                }
                title = Some(t.clone());
                sets.push(("title", Bind::Text(t), false));
            }
            Some(Some(_)) => errors.push("title: 1 to 300 characters".to_owned()),
            Some(None) => errors.push("title: cannot be null".to_owned()),
            None if creating => errors.push("title: required".to_owned()),
            None => {}
        }
        let mut year = None;
        if let Some(date) = self.release_date {
            match date
                .as_deref()
                .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d"))
            {
                None => {
                    year = Some(None);
                    sets.push(("release_date", Bind::Null, true));
                    sets.push(("release_year", Bind::Null, false));
                }
                Some(Ok(d)) if (1870..=2100).contains(&d.year()) => {
                    year = Some(Some(i64::from(d.year())));
                    sets.push((
                        "release_date",
                        Bind::Text(d.format("%Y-%m-%d").to_string()),
                        true,
                    ));
                    sets.push(("release_year", Bind::Int(d.year().into()), false));
                }
                Some(_) => errors.push(format!(
                    "release_date: `{}` is not a date YYYY-MM-DD between 1870 and 2100",
                    date.unwrap_or_default()
                )),
            }
        }
        for (name, value) in [
            ("mpaa_rating", self.mpaa_rating),
            ("distributor", self.distributor),
            ("source", self.source),
            ("major_genre", self.major_genre),
            ("creative_type", self.creative_type),
            ("director", self.director),
        ] {
            if let Some(v) = value {
                if v.as_ref().is_some_and(|s| s.chars().count() > 200) {
                    errors.push(format!("{name}: at most 200 characters"));
                }
                sets.push((name, text(v), false));
            }
        }
        for (name, value, max) in [
            ("running_time_min", self.running_time_min, 1_000),
            ("us_gross", self.us_gross, i64::MAX),
            ("worldwide_gross", self.worldwide_gross, i64::MAX),
            ("us_dvd_sales", self.us_dvd_sales, i64::MAX),
            ("production_budget", self.production_budget, i64::MAX),
            ("rotten_tomatoes_rating", self.rotten_tomatoes_rating, 100),
            ("imdb_votes", self.imdb_votes, i64::MAX),
        ] {
            match value {
                Some(Some(n)) if !(0..=max).contains(&n) => {
                    errors.push(format!("{name}: {n} is out of range 0–{max}"))
                }
                Some(v) => sets.push((name, v.map_or(Bind::Null, Bind::Int), false)),
                None => {}
            }
        }
        match self.imdb_rating {
            Some(Some(r)) if !(0.0..=10.0).contains(&r) => {
                errors.push(format!("imdb_rating: {r} is out of range 0–10"))
            }
            Some(v) => sets.push(("imdb_rating", v.map_or(Bind::Null, Bind::Real), false)),
            None => {}
        }
        if errors.is_empty() {
            Ok(Columns { sets, title, year })
        } else {
            Err(Problem::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
                "Invalid body",
            )
            .with_detail(errors.join("; "))
            .with_errors(errors))
        }
    }
}

/// The key of a film: its title's slug and its year.
pub(crate) fn key(title: &str, year: Option<i64>) -> String {
    match year {
        Some(year) => format!("{}-{year}", slug(title)),
        None => slug(title),
    }
}
