//! RabbitMQ dispatch. Each ready job is announced by a persistent message on the
//! durable queue `hangar.jobs.<queue>`, published with confirms; a worker that
//! receives one claims that job's row and acknowledges the message once the
//! outcome is stored.
//!
//! A supervisor owns the connection: when the broker goes away (restart, network)
//! it reconnects with backoff, and consumers re-open their channels, re-declare
//! their queues, re-apply prefetch and resume. Delayed and retrying jobs wait in
//! the table, not as unacknowledged messages, and are announced when due.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use hangar_core::backoff::Backoff;
use hangar_core::health::CheckFuture;
use lapin::options::{
    BasicCancelOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, Event};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{ClaimContext, Claimed, Dispatch, JobSource, Receipt};
use crate::error::QueueError;
use crate::job::{JobId, MAX_PRIORITY, QueueName, ms, now_ms};
use crate::records::{Announcement, JobStore};

/// Longest wait for a publish to be confirmed.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a publish waits for a connection that is being re-established.
const LINK_WAIT: Duration = Duration::from_secs(5);

/// Announced jobs still waiting after this long are announced again, in case
/// their message was lost with a broker's data.
const REANNOUNCE_AFTER: Duration = Duration::from_secs(600);

/// AMQP heartbeat, unless the URL sets one. A worker that stops answering (frozen,
/// partitioned) is disconnected by the broker after about this long, and the
/// messages it held go to live consumers.
const DEFAULT_HEARTBEAT_SECS: u16 = 10;

/// How long a consumer gathers deliveries into one claim once the first arrives.
const GATHER: Duration = Duration::from_millis(2);

/// Jobs announced per sweep.
const SWEEP_BATCH: usize = 1000;

/// The RabbitMQ queue carrying announcements of a Hangar queue.
fn broker_queue(prefix: &str, queue: &str) -> String {
    format!("{prefix}.jobs.{queue}")
}

/// One live connection and its publishing channel (in confirm mode).
struct Link {
    connection: Connection,
    publisher: Channel,
    /// Hangar queues declared on this connection.
    declared: Mutex<HashSet<String>>,
}

/// See the module documentation.
pub(crate) struct AmqpDispatch {
    link: watch::Receiver<Option<Arc<Link>>>,
    prefetch: u16,
    prefix: String,
    /// The supervisor's last connection error, for the start-up failure message.
    last_error: Arc<Mutex<Option<String>>>,
}

impl AmqpDispatch {
    /// Starts the connection supervisor, which connects in the background and
    /// keeps the connection up until `stop`; see [`AmqpDispatch::wait_connected`].
    pub fn start(url: String, prefix: String, prefetch: u32, stop: CancellationToken) -> Self {
        let url = with_default_heartbeat(&url);
        let (tx, link) = watch::channel(None);
        let last_error = Arc::new(Mutex::new(None));
        tokio::spawn(supervise(url, tx, last_error.clone(), stop));
        Self {
            link,
            prefetch: u16::try_from(prefetch.max(1)).unwrap_or(u16::MAX),
            prefix,
            last_error,
        }
    }

    /// Waits for the first connection for at most `budget`.
    pub async fn wait_connected(&self, budget: Duration, redacted: &str) -> Result<(), QueueError> {
        let mut link = self.link.clone();
        let started = Instant::now();
        match tokio::time::timeout(budget, link.wait_for(Option::is_some)).await {
            Ok(Ok(_)) => Ok(()),
            _ => {
                let last = self
                    .last_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()
                    .unwrap_or_else(|| "no answer".to_owned());
                Err(QueueError::Broker(format!(
                    "{redacted} is unreachable: gave up after {}s (queue.connect_timeout); \
                     last error: {last}",
                    started.elapsed().as_secs()
                )))
            }
        }
    }

    /// The current link, waiting a little for one being re-established.
    async fn current(&self) -> Option<Arc<Link>> {
        let mut link = self.link.clone();
        let wait = link.wait_for(Option::is_some);
        match tokio::time::timeout(LINK_WAIT, wait).await {
            Ok(Ok(current)) => current.clone(),
            _ => None,
        }
    }

    async fn publish(&self, jobs: &[Announcement]) -> Result<(), QueueError> {
        let Some(first) = jobs.first() else {
            return Ok(());
        };
        let link = self
            .current()
            .await
            .ok_or_else(|| QueueError::Unconfirmed {
                id: first.id,
                reason: "no connection to RabbitMQ (reconnecting)".to_owned(),
            })?;
        let mut confirms = Vec::with_capacity(jobs.len());
        for job in jobs {
            let queue = broker_queue(&self.prefix, &job.queue);
            declare(&link, &link.publisher, &queue).await?;
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_priority(job.priority.min(MAX_PRIORITY))
                .with_message_id(job.id.to_string().into());
            let confirm = link
                .publisher
                .basic_publish(
                    "".into(),
                    queue.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    job.id.to_string().as_bytes(),
                    properties,
                )
                .await
                .map_err(|e| QueueError::Unconfirmed {
                    id: job.id,
                    reason: e.to_string(),
                })?;
            confirms.push((job.id, confirm));
        }
        for (id, confirm) in confirms {
            let unconfirmed = |reason: String| QueueError::Unconfirmed { id, reason };
            let answer = tokio::time::timeout(CONFIRM_TIMEOUT, confirm)
                .await
                .map_err(|_| {
                    unconfirmed(format!("no confirm within {}s", CONFIRM_TIMEOUT.as_secs()))
                })?
                .map_err(|e| unconfirmed(e.to_string()))?;
            match answer {
                Confirmation::Ack(None) => {}
                Confirmation::Ack(Some(returned)) => {
                    return Err(unconfirmed(format!(
                        "returned unroutable: {}",
                        returned.reply_text
                    )));
                }
                Confirmation::Nack(_) => {
                    return Err(unconfirmed("the broker refused it (nack)".to_owned()));
                }
                Confirmation::NotRequested => {
                    return Err(unconfirmed(
                        "publisher confirms are off on this channel".to_owned(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Adds `heartbeat=10` to an AMQP URL that does not choose a heartbeat.
fn with_default_heartbeat(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if !parsed.query_pairs().any(|(k, _)| k == "heartbeat") => {
            parsed
                .query_pairs_mut()
                .append_pair("heartbeat", &DEFAULT_HEARTBEAT_SECS.to_string());
            parsed.to_string()
        }
        _ => raw.to_owned(),
    }
}

async fn connect(url: &str) -> Result<Arc<Link>, lapin::Error> {
    let properties = ConnectionProperties::default().with_connection_name("hangar".into());
    let connection = Connection::connect(url, properties).await?;
    let publisher = connection.create_channel().await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok(Arc::new(Link {
        connection,
        publisher,
        declared: Mutex::new(HashSet::new()),
    }))
}

/// Connects, and reconnects whenever the connection is lost, for as long as it
/// takes, logging each failed try.
async fn supervise(
    url: String,
    tx: watch::Sender<Option<Arc<Link>>>,
    last_error: Arc<Mutex<Option<String>>>,
    stop: CancellationToken,
) {
    let redacted = hangar_core::config::redact(&url);
    let mut ever_connected = false;
    loop {
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10));
        let link = loop {
            let attempt = backoff.attempts() + 1;
            let error = tokio::select! {
                r = tokio::time::timeout(Duration::from_secs(10), connect(&url)) => match r {
                    Ok(Ok(link)) => break link,
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "no answer within 10s".to_owned(),
                },
                () = stop.cancelled() => return,
            };
            let delay = backoff.next_delay();
            tracing::warn!(
                url = redacted,
                attempt,
                error,
                retry_in_ms = delay.as_millis() as u64,
                "RabbitMQ not reachable"
            );
            *last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = stop.cancelled() => return,
            }
        };
        if ever_connected {
            tracing::info!(url = redacted, "RabbitMQ connection re-established");
        } else {
            tracing::info!(url = redacted, "connected to RabbitMQ");
        }
        ever_connected = true;
        tx.send_replace(Some(link.clone()));
        let mut events = link.connection.events_listener();
        let reason = loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Event::Error(e)) => break e.to_string(),
                    Some(Event::ConnectionBlocked(why)) => {
                        tracing::warn!(reason = why, "RabbitMQ blocked publishing (resource alarm)");
                    }
                    Some(_) => {}
                    None => break "connection closed".to_owned(),
                },
                () = stop.cancelled() => {
                    tx.send_replace(None);
                    let _ = link.connection.close(200, "hangar stopping".into()).await;
                    return;
                }
            }
        };
        tx.send_replace(None);
        tracing::warn!(
            url = redacted,
            reason,
            "RabbitMQ connection lost; reconnecting"
        );
    }
}

/// Declares the durable, priority-aware queue once per connection.
async fn declare(link: &Link, channel: &Channel, queue: &str) -> Result<(), QueueError> {
    let known = link
        .declared
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(queue);
    if known {
        return Ok(());
    }
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-max-priority".into(),
        AMQPValue::ShortShortUInt(MAX_PRIORITY),
    );
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            arguments,
        )
        .await?;
    link.declared
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(queue.to_owned());
    Ok(())
}

impl Dispatch for AmqpDispatch {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    fn announces_at_enqueue(&self) -> bool {
        true
    }

    fn announce<'a>(&'a self, jobs: &'a [Announcement]) -> BoxFuture<'a, Result<(), QueueError>> {
        Box::pin(self.publish(jobs))
    }

    fn source(&self, queue: QueueName, ctx: ClaimContext) -> Box<dyn JobSource> {
        Box::new(AmqpSource {
            broker_queue: broker_queue(&self.prefix, queue.as_str()),
            tag: format!("{}:{}", ctx.worker, queue),
            link: self.link.clone(),
            prefetch: self.prefetch,
            ctx,
            consumer: None,
            buffered: Vec::new(),
        })
    }

    fn sweep<'a>(&'a self, jobs: &'a JobStore) -> BoxFuture<'a, Result<usize, QueueError>> {
        Box::pin(async move {
            let now = now_ms();
            let due = jobs
                .take_announcements(now, now - ms(REANNOUNCE_AFTER), SWEEP_BATCH)
                .await?;
            if due.is_empty() {
                return Ok(0);
            }
            if let Err(e) = self.publish(&due).await {
                let ids: Vec<JobId> = due.iter().map(|a| a.id).collect();
                jobs.forget_announcements(&ids).await?;
                return Err(e);
            }
            Ok(due.len())
        })
    }

    fn wait_ready<'a>(
        &'a self,
        budget: Duration,
        url: &'a str,
    ) -> BoxFuture<'a, Result<(), QueueError>> {
        Box::pin(self.wait_connected(budget, url))
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            match self.link.borrow().as_ref() {
                Some(link) if link.connection.status().connected() => Ok(()),
                _ => Err("RabbitMQ connection down (reconnecting)".to_owned()),
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let link = self.link.borrow().clone();
            if let Some(link) = link {
                let _ = link.connection.close(200, "hangar stopping".into()).await;
            }
        })
    }
}

/// A consumer on one broker queue, re-opened on each new connection.
struct Consumer {
    channel: Channel,
    stream: lapin::Consumer,
}

struct AmqpSource {
    broker_queue: String,
    tag: String,
    link: watch::Receiver<Option<Arc<Link>>>,
    prefetch: u16,
    ctx: ClaimContext,
    consumer: Option<Consumer>,
    /// Prefetched deliveries not claimed yet, highest priority first. The broker
    /// orders by priority only what it still holds; this keeps the order for what
    /// it has already sent.
    buffered: Vec<(u8, JobId, lapin::Acker)>,
}

impl AmqpSource {
    /// Opens a channel and consumer on the current connection, waiting for one.
    async fn open(&mut self) -> Result<(), QueueError> {
        let link = tokio::select! {
            r = self.link.wait_for(Option::is_some) => match r {
                Ok(link) => link.clone(),
                Err(_) => None,
            },
            () = self.ctx.stop.cancelled() => return Ok(()),
        };
        let Some(link) = link else {
            return Err(QueueError::Broker(
                "the connection supervisor stopped".to_owned(),
            ));
        };
        let channel = link.connection.create_channel().await?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await?;
        declare(&link, &channel, &self.broker_queue).await?;
        let stream = channel
            .basic_consume(
                self.broker_queue.as_str().into(),
                self.tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(
            queue = self.broker_queue,
            prefetch = self.prefetch,
            "consuming"
        );
        self.consumer = Some(Consumer { channel, stream });
        Ok(())
    }
}

impl AmqpSource {
    /// Forgets a consumer whose channel is gone, with the deliveries it held: the
    /// broker has requeued them.
    fn drop_consumer(&mut self) {
        self.consumer = None;
        self.buffered.clear();
    }
}

/// Keeps a delivery that names a job; acknowledges (drops) one that does not.
async fn buffer(buffered: &mut Vec<(u8, JobId, lapin::Acker)>, delivery: lapin::message::Delivery) {
    let id = std::str::from_utf8(&delivery.data)
        .ok()
        .and_then(|s| s.parse::<JobId>().ok());
    match id {
        Some(id) => {
            let priority = delivery.properties.priority().unwrap_or(0);
            buffered.push((priority, id, delivery.acker));
        }
        None => {
            tracing::warn!("dropping a message that names no job");
            Receipt::Amqp(delivery.acker).settle().await;
        }
    }
}

impl JobSource for AmqpSource {
    fn next(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<Claimed>, QueueError>> {
        Box::pin(async move {
            loop {
                if self.ctx.stop.is_cancelled() {
                    return Ok(Vec::new());
                }
                if self.consumer.is_none() {
                    if let Err(e) = self.open().await {
                        self.consumer = None;
                        tracing::warn!(queue = self.broker_queue, error = %e, "cannot consume; retrying");
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            () = self.ctx.stop.cancelled() => {}
                        }
                    }
                    continue;
                }
                let Some(consumer) = self.consumer.as_mut() else {
                    continue;
                };
                if self.buffered.is_empty() {
                    let first = tokio::select! {
                        d = consumer.stream.next() => d,
                        () = self.ctx.stop.cancelled() => return Ok(Vec::new()),
                    };
                    match first {
                        Some(Ok(delivery)) => buffer(&mut self.buffered, delivery).await,
                        Some(Err(e)) => {
                            tracing::warn!(queue = self.broker_queue, error = %e, "consumer failed; re-opening");
                            self.drop_consumer();
                            continue;
                        }
                        None => {
                            tracing::warn!(queue = self.broker_queue, "consumer ended; re-opening");
                            self.drop_consumer();
                            continue;
                        }
                    }
                }
                // Everything already received takes part in the priority order.
                while let Some(Some(Ok(delivery))) = consumer.stream.next().now_or_never() {
                    buffer(&mut self.buffered, delivery).await;
                }
                // Deliveries arrive one frame at a time: gather what comes within a
                // moment, so one statement claims many jobs.
                let until = tokio::time::Instant::now() + GATHER;
                while self.buffered.len() < max {
                    match tokio::time::timeout_at(until, consumer.stream.next()).await {
                        Ok(Some(Ok(delivery))) => buffer(&mut self.buffered, delivery).await,
                        _ => break,
                    }
                }
                // Stable: among equal priorities, the broker's order is kept.
                self.buffered.sort_by_key(|b| std::cmp::Reverse(b.0));
                let take = max.min(self.buffered.len());
                let taken: Vec<(u8, JobId, lapin::Acker)> = self.buffered.drain(..take).collect();
                let ids: Vec<JobId> = taken.iter().map(|(_, id, _)| *id).collect();
                let now = now_ms();
                let claim = self
                    .ctx
                    .jobs
                    .claim_ids(&ids, &self.ctx.worker, now + ms(self.ctx.lease), now)
                    .await;
                let mut rows = match claim {
                    Ok(rows) => rows,
                    Err(e) => {
                        // Keep the deliveries for the next try; unacknowledged, they
                        // would otherwise hold prefetch slots until the channel closes.
                        self.buffered.splice(0..0, taken);
                        return Err(e);
                    }
                };
                let mut claimed = Vec::with_capacity(rows.len());
                for (_, id, acker) in taken {
                    // A row pairs with one delivery only: a second message naming
                    // the same job in this batch is a duplicate.
                    match rows.iter().position(|r| JobId::from(r.id) == id) {
                        Some(i) => claimed.push(Claimed {
                            row: rows.swap_remove(i),
                            receipt: Receipt::Amqp(acker),
                        }),
                        // Running elsewhere, finished, cancelled, or not due yet:
                        // the row will be announced again when it needs to be.
                        None => Receipt::Amqp(acker).settle().await,
                    }
                }
                if !claimed.is_empty() {
                    return Ok(claimed);
                }
            }
        })
    }

    fn close(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // Unclaimed deliveries go back to the broker when their channel closes.
            self.buffered.clear();
            if let Some(consumer) = &self.consumer {
                let cancelled = consumer
                    .channel
                    .basic_cancel(self.tag.as_str().into(), BasicCancelOptions::default())
                    .await;
                if let Err(e) = cancelled {
                    tracing::debug!(error = %e, "basic.cancel failed");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heartbeat_is_added_unless_chosen() {
        assert_eq!(
            with_default_heartbeat("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=10"
        );
        let chosen = "amqp://h:5672/v?heartbeat=30&channel_max=10";
        assert_eq!(with_default_heartbeat(chosen), chosen);
    }
}
