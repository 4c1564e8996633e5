//! The movies API on both store backends, over the movie sample loaded by the
//! ETL: search, filters, sorts with cursors, top-N, stats, detail, and the
//! admin-only writes with Idempotency-Key.

#![allow(clippy::unwrap_used)]

mod api_support;

use std::collections::HashSet;

use api_support::{admin_token, get, kind, send, spawn_with_movies, user_token};
use hangar_testkit::{Backend, TestApp, on_each_backend};
use reqwest::Method;
use serde_json::{Value, json};

/// Every page of `path` (which has no cursor yet), following `next_cursor`.
async fn all_pages(app: &TestApp, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let (status, page) = get(app, &url, None).await;
        assert_eq!(status, 200, "{url}: {page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

async fn count_where(app: &TestApp, condition: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM movies WHERE {condition}");
    hangar_store::on_pool!(app.store, pool => {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await
    })
    .unwrap()
}

async fn search_finds_titles_by_word_prefixes(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let (status, page) = get(&app, "/api/v1/movies?q=forrest", None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["title"], "Forrest Gump");
    // Prefixes, any case, every word must match.
    let (_, page) = get(&app, "/api/v1/movies?q=GREML", None).await;
    assert_eq!(page["items"][0]["title"], "Gremlins");
    let (_, page) = get(&app, "/api/v1/movies?q=evil%20dead", None).await;
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Evil Dead II"]);
    let (_, page) = get(&app, "/api/v1/movies?q=zzzzqqq", None).await;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["next_cursor"], Value::Null);
    // Punctuation is not syntax: nothing here reaches the index's query language.
    let (status, _) = get(&app, "/api/v1/movies?q=%22dead%22%20OR%20*%20NEAR(", None).await;
    assert_eq!(status, 200);
    let (status, body) = get(&app, "/api/v1/movies?q=%21%21%21", None).await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().starts_with("q:"), "{body}");
    // A search pages too: with one film per page, every match comes once.
    let one_by_one = all_pages(&app, "/api/v1/movies?q=the&limit=1").await;
    let ids: HashSet<i64> = one_by_one
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), one_by_one.len());
    let at_once = all_pages(&app, "/api/v1/movies?q=the&limit=100").await;
    assert_eq!(one_by_one, at_once);
    assert!(one_by_one.len() > 20);
}

async fn filters_and_sorts_page_through_every_match_once(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let path = "/api/v1/movies?genre=Drama&year_min=1990&year_max=2005&sort=-imdb_rating&limit=7";
    let items = all_pages(&app, path).await;
    let expected = count_where(
        &app,
        "major_genre = 'Drama' AND release_year BETWEEN 1990 AND 2005",
    )
    .await;
    assert_eq!(items.len() as i64, expected);
    assert!(expected > 7, "the sample should need several pages");
    let ids: HashSet<i64> = items.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), items.len(), "a film came twice");
    for m in &items {
        assert_eq!(m["major_genre"], "Drama");
        let year = m["release_year"].as_i64().unwrap();
        assert!((1990..=2005).contains(&year), "{m}");
    }
    // Descending, films without a rating last.
    let ratings: Vec<Option<f64>> = items.iter().map(|m| m["imdb_rating"].as_f64()).collect();
    let rated = ratings.iter().take_while(|r| r.is_some()).count();
    assert!(ratings[rated..].iter().all(Option::is_none));
    assert!(
        ratings[..rated].windows(2).all(|w| w[0] >= w[1]),
        "{ratings:?}"
    );

    // Ascending by title and by a rating range.
    let items = all_pages(
        &app,
        "/api/v1/movies?rating_min=7.5&rating_max=8&sort=title&limit=5",
    )
    .await;
    assert_eq!(
        items.len() as i64,
        count_where(&app, "imdb_rating >= 7.5 AND imdb_rating <= 8").await
    );
    let titles: Vec<&str> = items.iter().map(|m| m["title"].as_str().unwrap()).collect();
    let mut sorted = titles.clone();
    sorted.sort_unstable();
    assert_eq!(titles, sorted);

    let distributor = "Warner Bros.";
    let items = all_pages(
        &app,
        &format!("/api/v1/movies?distributor={}&limit=100", "Warner%20Bros."),
    )
    .await;
    assert!(!items.is_empty());
    assert!(items.iter().all(|m| m["distributor"] == distributor));
}

async fn bad_parameters_are_named(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let cases = [
        ("/api/v1/movies?colour=red", "colour"),
        ("/api/v1/movies?sort=budget", "sort"),
        ("/api/v1/movies?limit=0", "limit"),
        ("/api/v1/movies?limit=101", "limit"),
        ("/api/v1/movies?year_min=nineteen", "year_min"),
        ("/api/v1/movies?rating_min=11", "rating_min"),
        ("/api/v1/movies?year_min=2000&year_max=1990", "year_min"),
        ("/api/v1/movies?cursor=not-a-cursor", "cursor"),
        ("/api/v1/movies/top?by=title", "by"),
        ("/api/v1/movies/top?n=0", "n"),
        ("/api/v1/movies/abc", "abc"),
    ];
    for (path, named) in cases {
        let (status, body) = get(&app, path, None).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(kind(&body), "invalid-request", "{path}");
        assert!(
            body["detail"].as_str().unwrap().contains(named),
            "{path}: {body}"
        );
    }
    let (status, body) = get(&app, "/api/v1/movies/999999", None).await;
    assert_eq!((status, kind(&body)), (404, "not-found"));
}

async fn top_stats_and_detail_agree_with_the_table(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let (status, top) = get(&app, "/api/v1/movies/top?by=imdb_rating&n=5", None).await;
    assert_eq!(status, 200, "{top}");
    let top = top.as_array().unwrap();
    assert_eq!(top.len(), 5);
    let best = all_pages(&app, "/api/v1/movies?sort=-imdb_rating&limit=100").await;
    let best_rating = best[0]["imdb_rating"].as_f64().unwrap();
    assert_eq!(top[0]["imdb_rating"].as_f64().unwrap(), best_rating);
    assert!(
        top.windows(2)
            .all(|w| w[0]["imdb_rating"].as_f64() >= w[1]["imdb_rating"].as_f64())
    );

    let (_, by_genre) = get(
        &app,
        "/api/v1/movies/top?by=worldwide_gross&n=3&genre=Adventure",
        None,
    )
    .await;
    for m in by_genre.as_array().unwrap() {
        assert_eq!(m["major_genre"], "Adventure");
    }

    let (status, stats) = get(&app, "/api/v1/movies/stats", None).await;
    assert_eq!(status, 200);
    let total = count_where(&app, "1 = 1").await;
    assert_eq!(stats["total"].as_i64().unwrap(), total);
    let sum = |key: &str| -> i64 {
        stats[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["movies"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(sum("by_genre"), total);
    assert_eq!(sum("by_year"), total);
    let drama = stats["by_genre"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["genre"] == "Drama")
        .unwrap();
    assert_eq!(
        drama["movies"].as_i64().unwrap(),
        count_where(&app, "major_genre = 'Drama'").await
    );
    let years: Vec<Option<i64>> = stats["by_year"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| y["year"].as_i64())
        .collect();
    let dated = years.iter().take_while(|y| y.is_some()).count();
    assert!(years[..dated].windows(2).all(|w| w[0] < w[1]));

    let id = top[0]["id"].as_i64().unwrap();
    let (status, movie) = get(&app, &format!("/api/v1/movies/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(&movie, &top[0]);
}

async fn writes_are_for_admins_and_keep_search_in_step(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let admin = admin_token(&app).await;
    let user = user_token(&app).await;
    let film = json!({
        "title": "Voyage of the Test Pilot",
        "release_date": "2011-04-01",
        "major_genre": "Adventure",
        "imdb_rating": 7.1,
        "running_time_min": 101
    });
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/movies",
        None,
        Some(film.clone()),
    )
    .await;
    assert_eq!((status, kind(&body)), (401, "unauthorized"));
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/movies",
        Some(&user),
        Some(film.clone()),
    )
    .await;
    assert_eq!((status, kind(&body)), (403, "forbidden"));

    let response = app
        .client()
        .post(app.url("/api/v1/movies"))
        .bearer_auth(&admin)
        .header("idempotency-key", "create-voyage")
        .json(&film)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/movies/{}", created["id"]));
    assert_eq!(created["release_year"], 2011);
    assert_eq!(created["release_date"], "2011-04-01");

    // The same key and body: the saved answer, nothing created twice.
    let replay = app
        .client()
        .post(app.url("/api/v1/movies"))
        .bearer_auth(&admin)
        .header("idempotency-key", "create-voyage")
        .json(&film)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap(), created);
    // The same key, another body: refused.
    let reuse = app
        .client()
        .post(app.url("/api/v1/movies"))
        .bearer_auth(&admin)
        .header("idempotency-key", "create-voyage")
        .json(&json!({"title": "Something Else"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reuse.status(), 422);
    assert_eq!(kind(&reuse.json().await.unwrap()), "idempotency-key-reused");
    // Without a key, the same film again is a conflict on its key.
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/movies",
        Some(&admin),
        Some(film.clone()),
    )
    .await;
    assert_eq!((status, kind(&body)), (409, "conflict"));

    let (_, found) = get(&app, "/api/v1/movies?q=voyage%20pilot", None).await;
    assert_eq!(found["items"][0]["id"], created["id"]);

    // Every invalid field is named at once.
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/movies",
        Some(&admin),
        Some(json!({"imdb_rating": 12, "release_date": "April 1st", "rotten_tomatoes_rating": -3})),
    )
    .await;
    assert_eq!((status, kind(&body)), (422, "invalid-body"));
    let errors: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    for field in [
        "title",
        "imdb_rating",
        "release_date",
        "rotten_tomatoes_rating",
    ] {
        assert!(
            errors.iter().any(|e| e.starts_with(field)),
            "{field}: {errors:?}"
        );
    }
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/movies",
        Some(&admin),
        Some(json!({"title": "A", "budget": 5})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("budget"),
        "{body}"
    );

    // An update renames: search follows, the old words no longer find it.
    let path = format!("/api/v1/movies/{}", created["id"]);
    let (status, updated) = send(
        &app,
        Method::PATCH,
        &path,
        Some(&admin),
        Some(json!({"title": "Return of the Test Pilot", "imdb_rating": null})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["imdb_rating"], Value::Null);
    assert_eq!(updated["running_time_min"], 101);
    let (_, found) = get(&app, "/api/v1/movies?q=return%20test%20pilot", None).await;
    assert_eq!(found["items"][0]["id"], created["id"]);
    let (_, gone) = get(&app, "/api/v1/movies?q=voyage%20pilot", None).await;
    assert_eq!(gone["items"], json!([]));
    let (status, _) = send(
        &app,
        Method::PATCH,
        &path,
        Some(&user),
        Some(json!({"title": "X"})),
    )
    .await;
    assert_eq!(status, 403);

    let (status, _) = send(&app, Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, 204);
    let (status, _) = get(&app, &path, None).await;
    assert_eq!(status, 404);
    let (status, _) = send(&app, Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, 404);
    let (_, gone) = get(&app, "/api/v1/movies?q=return%20test%20pilot", None).await;
    assert_eq!(gone["items"], json!([]));
    // The id of the deleted (newest) film is not handed out again.
    let (status, next) = send(
        &app,
        Method::POST,
        "/api/v1/movies",
        Some(&admin),
        Some(json!({"title": "After the Pilot"})),
    )
    .await;
    assert_eq!(status, 201);
    assert!(
        next["id"].as_i64().unwrap() > created["id"].as_i64().unwrap(),
        "{next}"
    );
}

async fn every_page_counts_all_the_films_that_match(backend: Backend) {
    let Some(app) = spawn_with_movies(backend, |_| {}).await else {
        return;
    };
    let cases = [
        ("", "1 = 1"),
        (
            "genre=Drama&year_min=1990",
            "major_genre = 'Drama' AND release_year >= 1990",
        ),
        ("rating_min=8&sort=-imdb_rating", "imdb_rating >= 8"),
        ("genre=No%20such%20genre", "1 = 0"),
    ];
    for (filters, condition) in cases {
        let expected = count_where(&app, condition).await;
        let path = format!("/api/v1/movies?{filters}&limit=7");
        let (status, first) = get(&app, &path, None).await;
        assert_eq!(status, 200, "{path}: {first}");
        assert_eq!(first["total"].as_i64(), Some(expected), "{path}");
        // The total is of every page, not of this one.
        if let Some(cursor) = first["next_cursor"].as_str() {
            let (_, second) = get(&app, &format!("{path}&cursor={cursor}"), None).await;
            assert_eq!(second["total"].as_i64(), Some(expected), "{path}, page 2");
        }
        assert_eq!(
            all_pages(&app, &path).await.len() as i64,
            expected,
            "{path}"
        );
    }
    // A search counts its matches too, whatever the page size.
    let searched = all_pages(&app, "/api/v1/movies?q=the&limit=100").await;
    let (_, page) = get(&app, "/api/v1/movies?q=the&limit=3", None).await;
    assert_eq!(page["total"].as_i64(), Some(searched.len() as i64));
    let (_, page) = get(&app, "/api/v1/movies?q=the&genre=Drama&limit=3", None).await;
    let dramas = searched
        .iter()
        .filter(|m| m["major_genre"] == "Drama")
        .count();
    assert_eq!(page["total"].as_i64(), Some(dramas as i64));
}

on_each_backend!(
    search_finds_titles_by_word_prefixes,
    filters_and_sorts_page_through_every_match_once,
    bad_parameters_are_named,
    top_stats_and_detail_agree_with_the_table,
    writes_are_for_admins_and_keep_search_in_step,
    every_page_counts_all_the_films_that_match,
);
