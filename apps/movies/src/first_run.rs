//! What a first-time operator is told to do for the movies app: load the
//! catalogue while it is empty.

use hangar_app::{FirstRunStep, StepCommand};
use hangar_store::{Store, StoreError, on_pool};

/// Where `movies_etl` reads from unless given `-p source=…` (its `params.source`).
pub const DEFAULT_SOURCE: &str = "data/datasets/movies.json";

/// How to fetch [`DEFAULT_SOURCE`] in a Hangar checkout.
pub const FETCH_IN_CHECKOUT: &str = "scripts/fetch-datasets movies";

/// How to fetch [`DEFAULT_SOURCE`] anywhere npm is installed (what
/// `scripts/fetch-datasets` does, without its checksum check).
pub const FETCH_WITH_NPM: &str = "mkdir -p data/datasets && npm pack vega-datasets@3.2.1 && tar -xzOf vega-datasets-3.2.1.tgz package/data/movies.json > data/datasets/movies.json";

/// The steps that apply now: none once the catalogue has a film.
pub(crate) async fn steps(store: &Store) -> Result<Vec<FirstRunStep>, StoreError> {
    let films: i64 = on_pool!(store, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM movies LIMIT 1) AS any_film")
            .fetch_one(pool)
            .await
    })?;
    if films > 0 {
        return Ok(Vec::new());
    }
    let run = StepCommand::Hangar("pipeline run movies_etl --wait".to_owned());
    let step = if std::path::Path::new(DEFAULT_SOURCE).exists() {
        FirstRunStep {
            what: "load the movies catalogue (it is empty)".to_owned(),
            commands: vec![run],
        }
    } else {
        FirstRunStep {
            what: format!(
                "load the movies catalogue (it is empty; fetch {DEFAULT_SOURCE} first, \
                 or give the pipeline `-p source=PATH` of a file under pipeline.file_roots)"
            ),
            commands: vec![StepCommand::Other(fetch_command().to_owned()), run],
        }
    };
    Ok(vec![step])
}

/// The command that fetches the dataset from here: the project's script in a
/// checkout, npm elsewhere (an installed binary run in any directory).
fn fetch_command() -> &'static str {
    if std::path::Path::new("scripts/fetch-datasets").is_file() {
        FETCH_IN_CHECKOUT
    } else {
        FETCH_WITH_NPM
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_source_is_the_pipelines() {
        assert!(
            crate::MOVIES_ETL.contains(&format!("default = \"{DEFAULT_SOURCE}\"")),
            "movies_etl.toml's params.source default moved; update DEFAULT_SOURCE"
        );
        // The extract's `missing` text gives both ways to fetch it.
        for how in [FETCH_IN_CHECKOUT, FETCH_WITH_NPM] {
            assert!(crate::MOVIES_ETL.contains(how), "movies_etl.toml: {how}");
        }
    }
}
