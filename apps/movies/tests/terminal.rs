//! The movies app's terminal commands through the web terminal on a running
//! server: search, top, show and stats against the store, what an empty
//! catalogue says, completion and usage errors, and a narrow screen.

#![allow(clippy::unwrap_used)]

mod api_support;

use api_support::{get, movies, spawn_with_movies};
use hangar_testkit::terminal::{Term, table_rows};
use hangar_testkit::{Backend, TestApp, on_each_backend};
use serde_json::json;

on_each_backend!(movies_commands_query_the_store);
on_each_backend!(an_empty_catalogue_says_how_to_load_it);

async fn an_empty_catalogue_says_how_to_load_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, movies()).await else {
        return;
    };
    let mut term = Term::open(&app).await;
    term.until_ready().await;
    for line in [
        "movies search star wars",
        "movies search star --genre Drama",
        "movies top 5 --by worldwide_gross",
        "movies show 1",
        "movies stats",
    ] {
        let (text, error, _) = term.run(line).await;
        assert_eq!(error, None, "{line}");
        assert!(
            text.starts_with("The film catalogue is empty"),
            "{line}: {text}"
        );
        for step in [
            "  scripts/fetch-datasets movies\r\n",
            "  hangar pipeline run movies_etl --wait\r\n",
        ] {
            assert!(text.contains(step), "{line}: {text}");
        }
    }
}

async fn movies_commands_query_the_store(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let mut term = Term::open(&app).await;
    let greeting = term.until_ready().await;
    assert!(
        greeting.last().unwrap()["prompt"]
            .as_str()
            .unwrap()
            .contains("guest@hangar")
    );

    let (text, error, _) = term.run("movies top 5 --by imdb_rating").await;
    assert_eq!(error, None);
    let rows = table_rows(&text);
    assert_eq!(rows.len(), 5, "{text}");
    assert!(text.contains("(5 rows)"));
    let (_, best) = get(&app, "/api/v1/movies/top?by=imdb_rating&n=5", None).await;
    for (row, film) in rows.iter().zip(best.as_array().unwrap()) {
        let id = film["id"].as_i64().unwrap().to_string();
        assert!(
            row.trim_start().starts_with(&format!("{id} ")),
            "{row} is not film {id}"
        );
    }

    let (_, page) = get(&app, "/api/v1/movies?limit=1&sort=title", None).await;
    let film = &page["items"][0];
    let word: String = film["title"]
        .as_str()
        .unwrap()
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| w.len() > 2)
        .unwrap()
        .to_owned();
    let (text, error, _) = term.run(&format!("movies search {word} --limit 3")).await;
    assert_eq!(error, None, "{text}");
    assert!(!table_rows(&text).is_empty(), "{text}");

    let id = film["id"].as_i64().unwrap();
    let (text, error, _) = term.run(&format!("movies show {id}")).await;
    assert_eq!(error, None);
    assert!(text.starts_with(film["title"].as_str().unwrap()), "{text}");

    let (text, error, _) = term.run("movies search zzqqxx").await;
    assert_eq!(error, None);
    assert_eq!(text, "no films found\r\n");

    let (_, error, _) = term.run("movies show 999999999").await;
    assert_eq!(
        error.unwrap(),
        "no film with id 999999999; find ids with `movies search WORDS`"
    );
    let (text, _, _) = term.run("movies stats").await;
    let (_, stats) = get(&app, "/api/v1/movies/stats", None).await;
    assert!(text.contains(&stats["total"].to_string()), "{text}");

    // Tab completion and usage errors come from the same declarations.
    term.send(json!({"type": "complete", "line": "movies top 3 --by imdb_r"}))
        .await;
    let completion = term.next().await.unwrap();
    assert_eq!(completion["line"], "movies top 3 --by imdb_rating ");
    let (_, error, _) = term.run("movies top 5 --by popularity").await;
    assert!(
        error
            .unwrap()
            .starts_with("--by: expected one of imdb_rating")
    );
    let (_, error, _) = term.run("movies search star; rm -rf /").await;
    assert!(error.unwrap().contains("commands cannot be chained"));
}

/// `n` as the terminal prints dollars: `$1,234,567`.
fn dollars(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::from("$");
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[tokio::test]
async fn a_narrow_terminal_keeps_the_ranked_column() {
    let app = spawn_with_movies(Backend::Sqlite, |_| {}).await.unwrap();
    let mut term = Term::open(&app).await;
    // A phone's width (390 px) holds about 40 columns.
    term.send(json!({"type": "resize", "cols": 40, "rows": 30}))
        .await;
    term.until_ready().await;
    let (text, error, _) = term.run("movies top 5 --by worldwide_gross").await;
    assert_eq!(error, None);
    for line in text.split("\r\n") {
        assert!(
            hangar_terminal::output::width(line) <= 40,
            "{line:?} is wider than 40: {text}"
        );
    }
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["Id", "Title", "worldwide_gross"], "{text}");
    let (_, best) = get(&app, "/api/v1/movies/top?by=worldwide_gross&n=5", None).await;
    let rows = table_rows(&text);
    assert_eq!(rows.len(), 5, "{text}");
    for (row, film) in rows.iter().zip(best.as_array().unwrap()) {
        let gross = dollars(film["worldwide_gross"].as_i64().unwrap());
        let id = film["id"].as_i64().unwrap().to_string();
        assert!(
            row.trim_start().starts_with(&format!("{id} ")) && row.ends_with(&gross),
            "{row} is not film {id} with {gross}: {text}"
        );
    }
    assert!(text.contains("; not shown: Genre, RT, IMDb"), "{text}");
}
