//! The movies ETL on both store backends: the sample loads, a second run changes
//! nothing (and draws no ids), and the full dataset (when fetched) loads with
//! the counts the app documents.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hangar_app::{App, Apps};
use hangar_testkit::{Backend, TestApp, on_each_backend, skip};
use serde_json::{Value, json};

/// The movies app, reading the fixtures' and the fetched datasets.
async fn spawn(backend: Backend) -> Option<TestApp> {
    let root = env!("CARGO_MANIFEST_DIR");
    let apps = Apps::new(vec![Arc::new(hangar_movies::Movies) as Arc<dyn App>]).unwrap();
    TestApp::spawn_with(backend, apps, |c| {
        c.api.admin_token = "test-admin-token-of-at-least-32-characters".into();
        c.queue.poll_interval = "50ms".parse().unwrap();
        c.pipeline.file_roots =
            format!("{root}/../../fixtures/datasets, {root}/../../data/datasets")
                .parse()
                .unwrap();
    })
    .await
}

async fn run(app: &TestApp, name: &str, params: Option<Value>) -> hangar_pipeline::RunView {
    hangar_testkit::pipelines::run(&app.pipelines, name, params).await
}

fn fixture(name: &str) -> String {
    format!(
        "{}/../../fixtures/datasets/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    hangar_store::on_pool!(app.store, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).unwrap()
}

async fn movies_etl(app: &TestApp, source: &str) -> (Value, Value) {
    let params = json!({ "source": source });
    let first = run(app, "movies_etl", Some(params.clone())).await;
    assert_eq!(first.state, "succeeded", "{first:#?}");
    let counts = first
        .tasks
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.task_id == "clean")
        .unwrap()
        .output
        .as_ref()
        .unwrap()["counts"]
        .clone();
    let ids_after_first = count(app, "SELECT MAX(id) FROM movies").await;
    let second = run(app, "movies_etl", Some(params)).await;
    assert_eq!(second.state, "succeeded");
    assert_eq!(
        count(app, "SELECT MAX(id) FROM movies").await,
        ids_after_first
    );
    // The next film gets the next id: the second run drew none (an upsert of
    // every row drew one per row, inserted or not, on both databases).
    let added = app
        .client()
        .post(app.url("/api/v1/movies"))
        .bearer_auth("test-admin-token-of-at-least-32-characters")
        .json(&json!({"title": "A film added after two loads", "release_date": "2001-02-03"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let added: Value = added.json().await.unwrap();
    assert_eq!(
        added["id"].as_i64().unwrap(),
        ids_after_first + 1,
        "ids drawn by a load that changed nothing"
    );
    let removed = app
        .client()
        .delete(app.url(&format!("/api/v1/movies/{}", added["id"])))
        .bearer_auth("test-admin-token-of-at-least-32-characters")
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let load = second
        .tasks
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.task_id == "load")
        .unwrap()
        .output
        .clone()
        .unwrap();
    (counts, load)
}

async fn the_movies_etl_loads_the_sample_and_a_second_run_changes_nothing(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (counts, second_load) = movies_etl(&app, &fixture("movies.json")).await;
    let records = counts["records"].as_i64().unwrap();
    let kept = counts["movies"].as_i64().unwrap();
    assert_eq!(records, 300);
    assert_eq!(kept + counts["rejected"].as_i64().unwrap(), records);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM movies").await, kept);
    assert_eq!(
        second_load,
        json!({"rows": kept, "inserted": 0, "updated": 0, "unchanged": kept})
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM movies WHERE release_year > 2010"
        )
        .await,
        0
    );
    assert_eq!(
        count(&app, "SELECT SUM(movies) FROM movie_genre_stats").await,
        kept,
        "every movie is counted once in the genre statistics"
    );
}

async fn the_movies_etl_loads_the_full_dataset(backend: Backend) {
    let path = format!(
        "{}/../../data/datasets/movies.json",
        env!("CARGO_MANIFEST_DIR")
    );
    if !std::path::Path::new(&path).exists() {
        skip(
            "the_movies_etl_loads_the_full_dataset",
            "data/datasets/movies.json is missing; run scripts/fetch-datasets",
        );
        return;
    }
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (counts, second_load) = movies_etl(&app, &path).await;
    assert_eq!(
        counts,
        json!({"records": 3201, "movies": 3200, "rejected": 1, "corrected_years": 24})
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM movies").await, 3200);
    assert_eq!(second_load["unchanged"], 3200);
}

on_each_backend!(
    the_movies_etl_loads_the_sample_and_a_second_run_changes_nothing,
    the_movies_etl_loads_the_full_dataset,
);
