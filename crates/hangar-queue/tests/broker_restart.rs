//! RabbitMQ restarted (`rabbitmqctl stop_app` / `start_app`) while jobs flow: the
//! connection supervisor reconnects, consumers resume, every job completes, and
//! publishes during the outage fail loudly instead of vanishing. Alone in its test
//! binary because it stops the broker every other RabbitMQ test would use.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hangar_queue::{JobFilter, JobState, NewJob};
use hangar_testkit::{QueueBackend, TestApp, skip};
use support::{Probe, Record, RecordPayload};

async fn rabbitmqctl(args: &[&str]) -> Result<(), String> {
    let output = tokio::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .await
        .map_err(|e| format!("cannot run rabbitmqctl: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "rabbitmqctl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_resume_after_a_broker_restart() {
    const TEST: &str = "consumers_resume_after_a_broker_restart";
    if let Err(reason) = rabbitmqctl(&["status"]).await {
        skip(
            TEST,
            &format!("needs rabbitmqctl for the broker under test: {reason}"),
        );
        return;
    }
    let probe = Arc::new(Probe::default());
    let Some(app) =
        TestApp::spawn_queue(QueueBackend::RabbitMq, support::apps(&probe), support::fast).await
    else {
        return;
    };

    let queue = app.queue.clone();
    // The producer runs through the whole outage, however long stopping the
    // broker takes on a busy machine: until the broker is back and at least 150
    // jobs are in.
    let restarted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let back = restarted.clone();
    let producer = tokio::spawn(async move {
        let (mut enqueued, mut refused) = (Vec::new(), 0);
        let mut i = 0;
        while !(back.load(std::sync::atomic::Ordering::SeqCst) && enqueued.len() >= 150) {
            i += 1;
            let job = NewJob::of::<Record>(&RecordPayload {
                tag: format!("job-{i}"),
                sleep_ms: 5,
            })
            .unwrap();
            loop {
                match queue.enqueue(job.clone()).await {
                    Ok(done) => {
                        enqueued.push(done.id);
                        break;
                    }
                    // What a producer must do with an unconfirmed publish: try again.
                    Err(_) => {
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (enqueued, refused)
    });

    tokio::time::sleep(Duration::from_secs(1)).await;
    rabbitmqctl(&["stop_app"]).await.unwrap();
    let started = Instant::now();
    loop {
        let ready = app.get("/readyz").await;
        if ready.status() == 503 {
            let body = ready.text().await.unwrap();
            assert!(body.contains("RabbitMQ connection down"), "{body}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "readyz never noticed the outage"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A publish waits up to 5 s for the connection to come back before it is
    // refused; the outage lasts longer than that, so some publishes must fail.
    tokio::time::sleep(Duration::from_secs(7)).await;
    rabbitmqctl(&["start_app"]).await.unwrap();
    restarted.store(true, std::sync::atomic::Ordering::SeqCst);

    let (enqueued, refused) = producer.await.unwrap();
    let total = enqueued.len();
    assert!(total >= 150);
    assert!(
        refused > 0,
        "publishes during the outage were refused, not silently dropped"
    );
    for id in &enqueued {
        support::wait_for(&app.queue, *id, JobState::Succeeded).await;
    }
    let all = app
        .queue
        .list(&JobFilter {
            limit: 10_000,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.jobs.len(),
        total,
        "a refused enqueue leaves no job behind"
    );
    assert_eq!(probe.log().len(), total, "each job ran once");
    assert_eq!(app.get("/readyz").await.status(), 200);
    println!(
        "broker restart: {total} jobs completed, {refused} publishes refused during the outage"
    );
}
