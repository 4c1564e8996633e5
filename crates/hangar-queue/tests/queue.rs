//! The job queue on every backend (in-database on SQLite and PostgreSQL, RabbitMQ):
//! retries, dead jobs, unique keys, delays, priorities, cancellation, per-queue
//! concurrency, bad input, timeouts, and the admin API.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hangar_queue::{JobFilter, JobId, JobState, NewJob, Queue, QueueError, QueueMetrics};
use hangar_store::{Store, Tx, on_pool, on_tx, sqlx};
use hangar_testkit::{QueueBackend, TestApp, on_each_queue_backend};
use serde_json::{Value, json};
use support::{
    Flaky, FlakyPayload, Misbehave, MisbehavePayload, Probe, Record, RecordPayload, UntilCancelled,
};

async fn spawn(backend: QueueBackend) -> Option<(TestApp, Arc<Probe>)> {
    let probe = Arc::new(Probe::default());
    let app = TestApp::spawn_queue(backend, support::apps(&probe), support::fast).await?;
    Some((app, probe))
}

fn record(tag: &str, sleep_ms: u64) -> NewJob {
    NewJob::of::<Record>(&RecordPayload {
        tag: tag.to_owned(),
        sleep_ms,
    })
    .unwrap()
}

async fn a_job_runs_once_and_succeeds(backend: QueueBackend) {
    let Some((app, probe)) = spawn(backend).await else {
        return;
    };
    let done = app.queue.enqueue(record("only", 0)).await.unwrap();
    assert!(!done.existing);
    let job = support::wait_for(&app.queue, done.id, JobState::Succeeded).await;
    assert_eq!((job.attempt, job.last_error), (1, None));
    assert!(job.finished_at.is_some() && job.lease_expires_at.is_none());
    assert_eq!(probe.log(), vec!["only"]);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"hangar_jobs_succeeded_total{queue="default",name="test.record"} 1"#),
        "{metrics}"
    );
}

async fn failures_are_retried_with_backoff(backend: QueueBackend) {
    let Some((app, _)) = spawn(backend).await else {
        return;
    };
    let id = app
        .queue
        .enqueue(NewJob::of::<Flaky>(&FlakyPayload { fail_times: 2 }).unwrap())
        .await
        .unwrap()
        .id;
    let job = support::wait_for(&app.queue, id, JobState::Succeeded).await;
    assert_eq!(job.attempt, 3);
    let attempts = job.attempts.unwrap();
    assert_eq!(attempts.len(), 2, "two failed attempts are recorded");
    assert_eq!(attempts[0].error, "flaky failure on attempt 1");
    assert_eq!(attempts[1].outcome, "failed");
    // Attempt 2 waited at least half the first backoff (50 ms, with jitter).
    let gap = job.started_at.unwrap_or_default() - attempts[0].finished_at;
    assert!(attempts[1].started_at - attempts[0].finished_at >= chrono::Duration::milliseconds(25));
    assert!(gap >= chrono::Duration::milliseconds(25), "{gap:?}");
}

async fn a_job_is_dead_after_its_last_attempt(backend: QueueBackend) {
    let Some((app, _)) = spawn(backend).await else {
        return;
    };
    let always = NewJob::of::<Flaky>(&FlakyPayload { fail_times: 100 })
        .unwrap()
        .max_attempts(3);
    let id = app.queue.enqueue(always).await.unwrap().id;
    let job = support::wait_for(&app.queue, id, JobState::Dead).await;
    assert_eq!(job.attempt, 3);
    assert_eq!(
        job.last_error.as_deref(),
        Some("flaky failure on attempt 3")
    );
    let attempts = job.attempts.unwrap();
    assert_eq!(
        attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );

    let permanent = NewJob::of::<Misbehave>(&MisbehavePayload::Permanent).unwrap();
    let id = app.queue.enqueue(permanent).await.unwrap().id;
    let job = support::wait_for(&app.queue, id, JobState::Dead).await;
    assert_eq!(job.attempt, 1, "a permanent failure is not retried");

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"hangar_jobs_dead_total{queue="default",name="test.flaky"} 1"#),
        "{metrics}"
    );
}

async fn unique_keys_return_the_active_job(backend: QueueBackend) {
    let Some((app, _)) = spawn(backend).await else {
        return;
    };
    let later = || {
        record("unique", 0)
            .unique_key("report:2013-01")
            .delay(Duration::from_secs(60))
    };
    let first = app.queue.enqueue(later()).await.unwrap();
    let second = app.queue.enqueue(later()).await.unwrap();
    assert!(second.existing);
    assert_eq!(second.id, first.id);
    app.queue.cancel(first.id).await.unwrap();
    let third = app.queue.enqueue(later()).await.unwrap();
    assert!(
        !third.existing,
        "the key is free once its job is no longer active"
    );
    assert_ne!(third.id, first.id);
}

async fn delayed_jobs_wait_for_their_time(backend: QueueBackend) {
    let Some((app, probe)) = spawn(backend).await else {
        return;
    };
    let id = app
        .queue
        .enqueue(record("delayed", 0).delay(Duration::from_millis(800)))
        .await
        .unwrap()
        .id;
    let pending = app.queue.get(id).await.unwrap();
    assert_eq!(pending.state, JobState::Pending);
    let job = support::wait_for(&app.queue, id, JobState::Succeeded).await;
    assert!(
        job.started_at.unwrap() >= job.run_at,
        "started {:?} before {:?}",
        job.started_at,
        job.run_at
    );
    assert_eq!(probe.log(), vec!["delayed"]);
}

async fn higher_priority_jobs_run_first(backend: QueueBackend) {
    let Some((app, probe)) = spawn(backend).await else {
        return;
    };
    let blocker = app
        .queue
        .enqueue(record("blocker", 600).queue("ordered"))
        .await
        .unwrap()
        .id;
    support::wait_for(&app.queue, blocker, JobState::Running).await;
    let mut ids = Vec::new();
    for (tag, priority) in [("low-1", 0), ("high-1", 9), ("low-2", 0), ("high-2", 9)] {
        let job = record(tag, 0).queue("ordered").priority(priority);
        ids.push(app.queue.enqueue(job).await.unwrap().id);
    }
    for id in ids {
        support::wait_for(&app.queue, id, JobState::Succeeded).await;
    }
    assert_eq!(
        probe.log(),
        vec!["blocker", "high-1", "high-2", "low-1", "low-2"]
    );
}

async fn cancel_stops_waiting_and_running_jobs(backend: QueueBackend) {
    let Some((app, probe)) = spawn(backend).await else {
        return;
    };
    let waiting = app
        .queue
        .enqueue(record("never", 0).delay(Duration::from_secs(60)))
        .await
        .unwrap()
        .id;
    assert_eq!(
        app.queue.cancel(waiting).await.unwrap().state,
        JobState::Cancelled
    );

    let running = app
        .queue
        .enqueue(NewJob::of::<UntilCancelled>(&()).unwrap())
        .await
        .unwrap()
        .id;
    support::wait_for(&app.queue, running, JobState::Running).await;
    let signalled = app.queue.cancel(running).await.unwrap();
    assert!(signalled.cancel_requested);
    let job = support::wait_for(&app.queue, running, JobState::Cancelled).await;
    assert_eq!(job.last_error.as_deref(), Some("stopped on cancel"));
    assert!(
        probe.log().is_empty(),
        "the cancelled waiting job never ran"
    );
    let again = app.queue.cancel(running).await.unwrap_err();
    assert!(again.to_string().contains("is cancelled"), "{again}");
}

async fn each_queue_runs_at_most_its_concurrency(backend: QueueBackend) {
    let Some((app, probe)) = spawn(backend).await else {
        return;
    };
    let jobs = (0..6)
        .map(|i| record(&format!("limited-{i}"), 200).queue("limited"))
        .collect();
    let ids = app.queue.enqueue_many(jobs).await.unwrap();
    for id in ids {
        support::wait_for(&app.queue, id, JobState::Succeeded).await;
    }
    assert_eq!(
        probe.max_active.load(Ordering::SeqCst),
        2,
        "queue `limited` runs 2 at once"
    );
    assert_eq!(probe.log().len(), 6);
}

async fn bad_input_fails_attempts_without_crashing_the_worker(backend: QueueBackend) {
    let Some((app, probe)) = spawn(backend).await else {
        return;
    };
    let unknown = NewJob::raw("test.nobody_handles_this", &json!({})).max_attempts(2);
    let unknown = app.queue.enqueue(unknown).await.unwrap().id;
    let job = support::wait_for(&app.queue, unknown, JobState::Dead).await;
    let attempts = job.attempts.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].outcome, "no_handler");
    assert!(
        attempts[0]
            .error
            .contains("no handler for job `test.nobody_handles_this`"),
        "{}",
        attempts[0].error
    );

    let garbled = NewJob::raw("test.flaky", &json!({"fail_times": "twice"}));
    let garbled = app.queue.enqueue(garbled).await.unwrap().id;
    let job = support::wait_for(&app.queue, garbled, JobState::Dead).await;
    assert_eq!(job.attempt, 1, "an undecodable payload is not retried");
    assert!(job.last_error.unwrap().contains("payload does not decode"));

    let panics = NewJob::of::<Misbehave>(&MisbehavePayload::PanicOnce).unwrap();
    let panics = app.queue.enqueue(panics).await.unwrap().id;
    let job = support::wait_for(&app.queue, panics, JobState::Succeeded).await;
    let attempts = job.attempts.unwrap();
    assert_eq!(attempts[0].outcome, "panicked");
    assert_eq!(attempts[0].error, "handler panicked: boom on attempt 1");

    let after = app
        .queue
        .enqueue(record("still alive", 0))
        .await
        .unwrap()
        .id;
    support::wait_for(&app.queue, after, JobState::Succeeded).await;
    assert_eq!(probe.log(), vec!["still alive"]);
}

async fn an_attempt_past_its_timeout_is_stopped(backend: QueueBackend) {
    let Some((app, _)) = spawn(backend).await else {
        return;
    };
    let slow = record("slow", 10_000)
        .timeout(Duration::from_millis(200))
        .max_attempts(1);
    let id = app.queue.enqueue(slow).await.unwrap().id;
    let job = support::wait_for(&app.queue, id, JobState::Dead).await;
    let attempt = &job.attempts.unwrap()[0];
    assert_eq!(attempt.outcome, "timeout");
    assert_eq!(attempt.error, "timed out after 200ms");
}

async fn the_admin_api_lists_shows_retries_and_cancels(backend: QueueBackend) {
    let Some((app, _)) = spawn(backend).await else {
        return;
    };
    let dead = NewJob::of::<Flaky>(&FlakyPayload { fail_times: 1 })
        .unwrap()
        .max_attempts(1);
    let dead = app.queue.enqueue(dead).await.unwrap().id;
    support::wait_for(&app.queue, dead, JobState::Dead).await;
    let waiting = app
        .queue
        .enqueue(record("later", 0).delay(Duration::from_secs(60)))
        .await
        .unwrap()
        .id;

    let client = app.client();
    let admin = |req: reqwest::RequestBuilder| {
        req.bearer_auth("test-admin-token-of-at-least-32-characters")
    };
    let anonymous = client.get(app.url("/api/v1/jobs")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = client
        .get(app.url("/api/v1/jobs"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let page: Value = admin(client.get(app.url("/api/v1/jobs?state=dead")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![dead.to_string()]);
    assert_eq!(page["total"], 1, "{page}");

    let all: Value = admin(client.get(app.url("/api/v1/jobs?limit=1")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"][0]["id"], waiting.to_string(), "newest first");
    // The total counts every page of the filter, not the one shown.
    assert_eq!(all["total"], 2, "{all}");
    let next = all["next_cursor"].as_str().unwrap();
    let rest: Value = admin(client.get(app.url(&format!("/api/v1/jobs?limit=1&cursor={next}"))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"][0]["id"], dead.to_string());
    assert_eq!(rest["total"], 2, "{rest}");
    let on_queue: Value = admin(client.get(app.url("/api/v1/jobs?queue=no-such-queue")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            on_queue["items"].as_array().unwrap().len(),
            &on_queue["total"]
        ),
        (0, &json!(0))
    );

    let bad = admin(client.get(app.url("/api/v1/jobs?colour=red")))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("unknown parameter `colour`")
    );
    let bad_state = admin(client.get(app.url("/api/v1/jobs?state=done")))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_state.status(), 400);

    let shown: Value = admin(client.get(app.url(&format!("/api/v1/jobs/{dead}"))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["attempts"][0]["error"], "flaky failure on attempt 1");
    let missing = admin(client.get(app.url(&format!("/api/v1/jobs/{}", uuid::Uuid::now_v7()))))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let retried = admin(client.post(app.url(&format!("/api/v1/jobs/{dead}/retry"))))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200);
    let job = support::wait_for(&app.queue, dead, JobState::Succeeded).await;
    assert_eq!(job.attempt, 2);

    let conflict = admin(client.post(app.url(&format!("/api/v1/jobs/{dead}/cancel"))))
        .send()
        .await
        .unwrap();
    assert_eq!(conflict.status(), 409);
    let cancelled: Value = admin(client.post(app.url(&format!("/api/v1/jobs/{waiting}/cancel"))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["state"], "cancelled");
}

/// The business rows the transactional-enqueue tests write beside their jobs.
async fn create_matches(store: &Store) {
    on_pool!(store.writer(), pool => {
        sqlx::query("CREATE TABLE matches (id TEXT PRIMARY KEY)").execute(pool).await.map(|_| ())
    })
    .unwrap();
}

async fn matches(store: &Store) -> Vec<String> {
    on_pool!(store, pool => {
        sqlx::query_scalar("SELECT id FROM matches ORDER BY id").fetch_all(pool).await
    })
    .unwrap()
}

/// Inserts match `id` and its two e-mail jobs (one by one and as a batch) in `tx`.
async fn insert_match(queue: &Queue, tx: &mut Tx, id: &str) -> Vec<JobId> {
    on_tx!(tx, conn => {
        sqlx::query("INSERT INTO matches (id) VALUES ($1)").bind(id).execute(conn).await.map(|_| ())
    })
    .unwrap();
    let first = queue
        .enqueue_tx(tx, record(&format!("{id}-mail-1"), 0))
        .await
        .unwrap();
    assert!(!first.existing);
    let mut ids = vec![first.id];
    ids.extend(
        queue
            .enqueue_many_tx(tx, vec![record(&format!("{id}-mail-2"), 0)])
            .await
            .unwrap(),
    );
    ids
}

async fn jobs_enqueued_in_a_transaction_exist_only_if_it_commits(backend: QueueBackend) {
    let Some((app, probe)) = spawn(backend).await else {
        return;
    };
    create_matches(&app.store).await;

    // Rolled back explicitly, and dropped without a commit: neither leaves a job.
    let mut tx = app.store.begin().await.unwrap();
    let rolled_back = insert_match(&app.queue, &mut tx, "a").await;
    tx.rollback().await.unwrap();
    let mut tx = app.store.begin().await.unwrap();
    let dropped = insert_match(&app.queue, &mut tx, "b").await;
    drop(tx);
    for id in rolled_back.into_iter().chain(dropped) {
        assert!(
            matches!(app.queue.get(id).await, Err(QueueError::NotFound(_))),
            "job {id} of a transaction that did not commit exists"
        );
    }

    let mut tx = app.store.begin().await.unwrap();
    let committed = insert_match(&app.queue, &mut tx, "c").await;
    tx.commit().await.unwrap();
    for id in committed {
        support::wait_for(&app.queue, id, JobState::Succeeded).await;
    }
    assert_eq!(matches(&app.store).await, vec!["c"]);
    let mut log = probe.log();
    log.sort();
    assert_eq!(log, vec!["c-mail-1", "c-mail-2"]);
    let page = app
        .queue
        .list(&JobFilter {
            limit: 100,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 2, "only the committed transaction's jobs exist");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"hangar_jobs_enqueued_total{queue="default",name="test.record"} 2"#),
        "{metrics}"
    );
}

/// A producer whose publish fails after its commit (its broker cannot be
/// reached) still gets its committed job run: the sweep of the app's workers
/// announces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_job_whose_publish_failed_is_announced_by_the_sweep() {
    let Some((app, probe)) = spawn(QueueBackend::RabbitMq).await else {
        return;
    };
    create_matches(&app.store).await;
    let mut config = (*app.config).clone();
    // Nothing listens on port 1: every publish of this producer fails.
    config.queue_url =
        hangar_core::config::QueueUrl::Amqp("amqp://guest:guest@127.0.0.1:1/%2f".to_owned());
    let stop = tokio_util::sync::CancellationToken::new();
    let producer = Queue::open(
        &config,
        app.store.clone(),
        QueueMetrics::default(),
        stop.clone(),
    );

    let mut tx = app.store.begin().await.unwrap();
    let ids = insert_match(&producer, &mut tx, "d").await;
    tx.commit().await.unwrap();
    for id in ids {
        support::wait_for(&app.queue, id, JobState::Succeeded).await;
    }
    let mut log = probe.log();
    log.sort();
    assert_eq!(log, vec!["d-mail-1", "d-mail-2"]);
    stop.cancel();
}

on_each_queue_backend!(
    a_job_runs_once_and_succeeds,
    failures_are_retried_with_backoff,
    a_job_is_dead_after_its_last_attempt,
    unique_keys_return_the_active_job,
    delayed_jobs_wait_for_their_time,
    higher_priority_jobs_run_first,
    cancel_stops_waiting_and_running_jobs,
    each_queue_runs_at_most_its_concurrency,
    bad_input_fails_attempts_without_crashing_the_worker,
    an_attempt_past_its_timeout_is_stopped,
    the_admin_api_lists_shows_retries_and_cancels,
    jobs_enqueued_in_a_transaction_exist_only_if_it_commits,
);

#[tokio::test]
async fn the_admin_api_refuses_callers_without_an_admin_credential() {
    let probe = Arc::new(Probe::default());
    let app = TestApp::spawn_queue(QueueBackend::Sqlite, support::apps(&probe), |c| {
        support::fast(c);
        c.api.admin_token = "".into();
    })
    .await
    .unwrap();
    let response = app
        .client()
        .get(app.url("/api/v1/jobs"))
        .bearer_auth("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("urn:hangar:problem:unauthorized")
    );
}
