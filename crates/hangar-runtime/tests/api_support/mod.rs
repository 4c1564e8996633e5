//! The harness's API helpers, and the app these tests run: the movies app with
//! its sample loaded (data to read, writes an admin may make).

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use hangar_app::{App, Apps};
pub use hangar_testkit::api::*;
use hangar_testkit::{Backend, TestApp};
use serde_json::json;

/// The movies app alone.
pub fn movies() -> Apps {
    Apps::new(vec![Arc::new(hangar_movies::Movies) as Arc<dyn App>]).unwrap()
}

/// The movies app with `configure` applied, its sample loaded by its ETL.
pub async fn spawn_with_movies(
    backend: Backend,
    configure: impl FnOnce(&mut hangar_core::Config),
) -> Option<TestApp> {
    let params = json!({ "source": sample() });
    spawn_loaded(backend, movies(), "movies_etl", params, configure).await
}
