//! The hub of an api process: tails the event log and broadcasts to clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use hangar_core::clock::{ms, now_ms};
use hangar_core::config::EventsConfig;
use hangar_store::events::{event_bounds, prune_events, read_events};
use hangar_store::{Event, EventLog, Store};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::FeedEvent;

/// How often the log is read when no local write woke the hub.
const POLL: Duration = Duration::from_millis(250);
/// Events read per query.
const PAGE: u32 = 500;
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
    client_buffer: usize,
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
        let client_buffer = config.client_buffer.max(1) as usize;
        let (tx, _) = broadcast::channel(client_buffer);
        let hub = Hub(Arc::new(Inner {
            store,
            tx,
            last: AtomicI64::new(-1),
            heartbeat: config.heartbeat.get(),
            client_buffer,
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

    /// Subscribes, with the events after `after` read back from the log. `None`
    /// when those events were pruned or are more than a client may be sent at
    /// once: the client must reload its state (a `reset`).
    pub(crate) async fn subscribe(
        &self,
        after: Option<i64>,
        topics: &[String],
    ) -> Result<(Start, bool), hangar_store::StoreError> {
        let live = self.0.tx.subscribe();
        let mut backlog = Vec::new();
        let mut reset = false;
        if let Some(mut after) = after {
            let first = event_bounds(&self.0.store).await?.map(|(low, _)| low);
            if first.is_some_and(|low| after < low - 1) {
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
                    if backlog.len() > self.0.client_buffer {
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
    // Start at the end of the log: older events are for clients that resume.
    loop {
        match event_bounds(&inner.store).await {
            Ok(bounds) => {
                inner
                    .last
                    .store(bounds.map_or(0, |(_, high)| high), Ordering::Relaxed);
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
