//! The movies app: the portfolio system's movie data (vega-datasets' `movies.json`).
//! It plugs into the platform through [`hangar_app::App`]; today it contributes the
//! schema of the movies tables.

use hangar_app::App;
use hangar_store::{Migration, migration};

static MIGRATIONS: &[Migration] = &[migration!(1, "0001_movies")];

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
}
