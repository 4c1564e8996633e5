//! The best films by a metric.

use hangar_store::{Query, Store};

use super::{Filters, Limit, QueryError};
use crate::model::{MOVIE_COLUMNS, Movie};

/// What a top-N ranks by, highest first; ties go to the film with more IMDb
/// votes, and films without a value are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// IMDb rating, 0–10.
    ImdbRating,
    /// Rotten Tomatoes rating, 0–100.
    RottenTomatoesRating,
    /// Number of IMDb votes.
    ImdbVotes,
    /// Worldwide box-office gross.
    WorldwideGross,
    /// US box-office gross.
    UsGross,
    /// US DVD sales.
    UsDvdSales,
    /// Production budget.
    ProductionBudget,
    /// Running time.
    RunningTimeMin,
}

impl Metric {
    /// Every metric, in the order they are listed.
    pub const ALL: [Metric; 8] = [
        Metric::ImdbRating,
        Metric::RottenTomatoesRating,
        Metric::ImdbVotes,
        Metric::WorldwideGross,
        Metric::UsGross,
        Metric::UsDvdSales,
        Metric::ProductionBudget,
        Metric::RunningTimeMin,
    ];

    /// Their names, as the API and the terminal take them.
    pub const NAMES: [&'static str; 8] = [
        "imdb_rating",
        "rotten_tomatoes_rating",
        "imdb_votes",
        "worldwide_gross",
        "us_gross",
        "us_dvd_sales",
        "production_budget",
        "running_time_min",
    ];

    /// The metric named `name` (one of [`Metric::NAMES`]).
    pub fn parse(name: &str) -> Result<Self, QueryError> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                QueryError::invalid(format!(
                    "by: `{name}` is not a metric; use one of {}",
                    Self::NAMES.join(", ")
                ))
            })
    }

    /// Its name, which is also its column of `movies`.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// What to rank: the `n` best films by `metric` among those `filters` keep.
#[derive(Debug, Clone)]
pub struct Top {
    /// What to rank by.
    pub metric: Metric,
    /// How many.
    pub n: Limit,
    /// Conditions on the films.
    pub filters: Filters,
}

/// The best films, best first.
pub async fn top(store: &Store, query: Top) -> Result<Vec<Movie>, QueryError> {
    let Top { metric, n, filters } = query;
    let (column, n) = (metric.name(), n.get());
    let mut clauses = vec![format!("m.{column} IS NOT NULL")];
    let mut binds = Vec::new();
    filters.apply(&mut clauses, &mut binds)?;
    let mut query = Query::new(format!(
        "SELECT {MOVIE_COLUMNS} FROM movies m WHERE {} \
         ORDER BY m.{column} DESC, m.imdb_votes DESC, m.id LIMIT {n}",
        clauses.join(" AND ")
    ));
    binds.into_iter().for_each(|b| query.push(b));
    Ok(store.read_all(&query).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_named_as_their_columns() {
        for (metric, name) in Metric::ALL.into_iter().zip(Metric::NAMES) {
            assert_eq!(metric.name(), name);
            assert_eq!(Metric::parse(name).unwrap(), metric);
        }
        assert_eq!(
            Metric::parse("budget").unwrap_err().to_string(),
            format!(
                "by: `budget` is not a metric; use one of {}",
                Metric::NAMES.join(", ")
            )
        );
    }
}
