//! The hub of an api process: tails the event log and broadcasts to clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use hangar_core::clock::{ms, now_ms};
use hangar_core::config::EventsConfig;
use hangar_store::events::{event_bounds, last_event_before, prune_events, read_events};
use hangar_store::{Event, EventLog, Store};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::FeedEvent;

/// How often the log is read when no local write woke the hub.
const POLL: Duration = Duration::from_millis(250);
/// Events read per query.
const PAGE: u32 = 500;
/// Most events read back for one resuming client; further behind, it is sent a
/// `reset` instead.
const MAX_BACKLOG: usize = 10_000;
/// How often old events are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The fan-out of events to this process's clients. Cheap to clone.
#[derive(Clone)]
pub struct Hub(Arc<Inner>);

struct Inner {
    store: Store,
    tx: broadcast::Sender<Arc<Event>>,
    /// Highest id broadcast so far.
    last: AtomicI64,
    heartbeat: Duration,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("last", &self.0.last.load(Ordering::Relaxed))
            .field("clients", &self.0.tx.receiver_count())
            .finish()
    }
}

/// What a new subscriber starts with.
pub(crate) struct Start {
    /// Events after its `Last-Event-ID`, oldest first.
    pub backlog: Vec<FeedEvent>,
    /// Live events from now on (some may repeat the backlog; skip ids already sent).
    pub live: broadcast::Receiver<Arc<Event>>,
}

impl Hub {
    /// Starts tailing the log of `store`; `log` is this process's publisher, whose
    /// writes wake the hub at once. Stops when `stop` fires.
    pub fn start(
        store: Store,
        log: &EventLog,
        config: &EventsConfig,
        stop: CancellationToken,
    ) -> Self {
        let (tx, _) = broadcast::channel(config.client_buffer.max(1) as usize);
        let hub = Hub(Arc::new(Inner {
            store,
            tx,
            last: AtomicI64::new(-1),
            heartbeat: config.heartbeat.get(),
        }));
        tokio::spawn(tail(
            hub.clone(),
            log.written(),
            config.retention.get(),
            stop,
        ));
        hub
    }

    /// Interval of heartbeats to idle clients.
    pub fn heartbeat(&self) -> Duration {
        self.0.heartbeat
    }

    /// Subscribes, with the events after `after` read back from the log. The
    /// flag is set when those events were pruned or are more than a client is
    /// sent at once: the client must reload its state (a `reset`).
    pub(crate) async fn subscribe(
        &self,
        after: Option<i64>,
        topics: &[String],
    ) -> Result<(Start, bool), hangar_store::StoreError> {
        let live = self.0.tx.subscribe();
        let mut backlog = Vec::new();
        let mut reset = false;
        if let Some(mut after) = after {
            // Events after `after` were published if the log has (or had) higher
            // ids; they are gone if the log no longer starts right after it.
            let published = after < self.0.last.load(Ordering::Relaxed);
            let gone = match event_bounds(&self.0.store).await? {
                Some((low, _)) => after < low - 1,
                None => published,
            };
            if gone {
                reset = true;
            } else {
                loop {
                    let page = read_events(&self.0.store, after, PAGE).await?;
                    let done = page.len() < PAGE as usize;
                    for event in page {
                        after = event.id;
                        if topics.contains(&event.topic) {
                            backlog.push(feed_event(&event));
                        }
                    }
                    if backlog.len() > MAX_BACKLOG {
                        backlog.clear();
                        reset = true;
                        break;
                    }
                    if done {
                        break;
                    }
                }
            }
        }
        Ok((Start { backlog, live }, reset))
    }
}

/// The event as clients see it.
pub(crate) fn feed_event(event: &Event) -> FeedEvent {
    FeedEvent {
        id: event.id,
        topic: event.topic.clone(),
        kind: event.kind.clone(),
        data: serde_json::from_str(&event.data).unwrap_or(serde_json::Value::Null),
    }
}

async fn tail(
    hub: Hub,
    written: Arc<tokio::sync::Notify>,
    retention: Duration,
    stop: CancellationToken,
) {
    let inner = &hub.0;
    // Start where the log was when this hub started: older events are for
    // clients that resume. (The first read may come later than that: the table
    // may not exist until start-up has migrated the store, and clients connect
    // as soon as it has.)
    let started = now_ms();
    loop {
        match last_event_before(&inner.store, started).await {
            Ok(last) => {
                inner.last.store(last, Ordering::Relaxed);
                break;
            }
            Err(e) => {
                tracing::debug!(error = %e, "event log not readable yet");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    let mut last_prune = tokio::time::Instant::now();
    loop {
        let after = inner.last.load(Ordering::Relaxed);
        match read_events(&inner.store, after, PAGE).await {
            Ok(page) => {
                let full = page.len() == PAGE as usize;
                for event in page {
                    inner.last.store(event.id, Ordering::Relaxed);
                    // No receivers is not an error: nobody is listening.
                    let _ = inner.tx.send(Arc::new(event));
                }
                if full {
                    continue;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the event log"),
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = tokio::time::Instant::now();
            match prune_events(&inner.store, now_ms() - ms(retention)).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(pruned = n, "old events pruned"),
                Err(e) => tracing::warn!(error = %e, "could not prune the event log"),
            }
            if let Err(e) = crate::idempotency::prune(&inner.store).await {
                tracing::warn!(error = %e, "could not prune saved Idempotency-Key responses");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = written.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}
