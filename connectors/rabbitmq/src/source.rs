//! `io.confluent.connect.rabbitmq.RabbitMQSourceConnector` and its task.
//!
//! Every task consumes every queue of `rabbitmq.queue` on its own connection and channel
//! (competing consumers, as the originals do), with manual acknowledgements and
//! `basic.qos(rabbitmq.prefetch.count)`. A delivery is acknowledged to RabbitMQ only once
//! Kafka acknowledged its record (the runtime's per-record commit hook) and Connect then
//! committed offsets (the hook's `commit`): one `multiple` acknowledgement per commit for the
//! deliveries Kafka acknowledged in order, single ones for the rest. Until then RabbitMQ keeps
//! them unacknowledged and redelivers them if the task dies. With a prefetch limit the task
//! asks for a commit when a quarter of it waits, so RabbitMQ is not held back until
//! `offset.flush.interval.ms`.
//!
//! Records follow Confluent's format (see [`crate::record`]): value = body bytes, key = the
//! `message-id` property, `rabbitmq.*` headers. Partition `{"routingKey": …}`, offset
//! `{"deliveryTag": …}`; offsets are never read back (RabbitMQ keeps the position).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, RecordCommitter, RecordMetadata,
    SourceTask, SourceTaskContext, TaskFactory,
};
use sluice_api::record::{OffsetMap, SourceRecord, Topic};
use sluice_api::{async_trait, ConnectError, Result};
use tokio::sync::mpsc;

use crate::config::{self, Connection};
use crate::record;

pub const CLASS: &str = "io.confluent.connect.rabbitmq.RabbitMQSourceConnector";
pub const TASK_CLASS: &str = "io.confluent.connect.rabbitmq.RabbitMQSourceTask";
/// jcustenborder's original and the themeetgroup fork: same keys, accepted as-is.
pub const JCUSTENBORDER_CLASS: &str =
    "com.github.jcustenborder.kafka.connect.rabbitmq.RabbitMQSourceConnector";
pub const JCUSTENBORDER_TASK_CLASS: &str =
    "com.github.jcustenborder.kafka.connect.rabbitmq.RabbitMQSourceTask";
pub const THEMEETGROUP_CLASS: &str =
    "com.github.themeetgroup.kafka.connect.rabbitmq.source.RabbitMQSourceConnector";
pub const THEMEETGROUP_TASK_CLASS: &str =
    "com.github.themeetgroup.kafka.connect.rabbitmq.source.RabbitMQSourceTask";

/// Deliveries buffered between the consumer and `poll`, at most (RabbitMQ's own prefetch
/// bounds what is unacknowledged; this bounds what waits in memory).
const BUFFER: usize = 4096;
/// Records per poll at most (with a prefetch limit, a quarter of it: see `batch`).
const MAX_BATCH: usize = 1024;

pub fn config_def() -> ConfigDef {
    config::source_def()
}

fn plugin_of(class: &'static str, task_class: &'static str) -> ConnectorPlugin {
    ConnectorPlugin {
        class,
        task_class,
        kind: ConnectorKind::Source,
        version: crate::VERSION,
        config_def,
        new_connector: || Box::new(RabbitMQSourceConnector::default()),
        new_task: TaskFactory::Source(|| Box::new(RabbitMQSourceTask::default())),
        shares_thread: false,
    }
}

pub fn plugins() -> Vec<ConnectorPlugin> {
    vec![
        plugin_of(CLASS, TASK_CLASS),
        plugin_of(JCUSTENBORDER_CLASS, JCUSTENBORDER_TASK_CLASS),
        plugin_of(THEMEETGROUP_CLASS, THEMEETGROUP_TASK_CLASS),
    ]
}

#[derive(Default)]
pub struct RabbitMQSourceConnector {
    props: RawConfig,
}

#[async_trait]
impl Connector for RabbitMQSourceConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        config::parse(&config_def(), config)?;
        self.props = config.clone();
        Ok(())
    }

    /// `tasks.max` identical tasks: each consumes every queue (competing consumers).
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// One delivery and the consumer it came to.
struct Received {
    consumer_tag: Arc<str>,
    delivery: lapin::message::Delivery,
}

/// The channels of the live connection, by consumer tag, with the number of the connection
/// (session) they belong to: an acknowledgement goes to the channel its delivery came on,
/// and is dropped for a channel that is gone (its delivery tags mean nothing on another
/// channel; RabbitMQ redelivers those messages).
type Channels = Arc<Mutex<HashMap<Arc<str>, (u64, lapin::Channel)>>>;

fn lock(c: &Channels) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, (u64, lapin::Channel)>> {
    // Nothing panics while it is held; a poisoned map is still a valid map.
    c.lock().unwrap_or_else(|p| p.into_inner())
}

/// One connection consuming every queue.
struct Session {
    connection: lapin::Connection,
    consumers: Vec<lapin::Consumer>,
}

#[derive(Clone)]
struct Settings {
    connection: Connection,
    queues: Vec<String>,
    prefetch: u16,
    prefetch_global: bool,
}

impl Settings {
    /// Connects, sets the prefetch and starts a consumer per queue, all on one channel
    /// registered as connection number `session`. A missing queue or refused credentials are
    /// config errors naming the key.
    async fn open(&self, channels: &Channels, session: u64) -> Result<Session> {
        let connection = self.connection.connect_with_retries().await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.connection.error(&e))?;
        channel
            .basic_qos(
                self.prefetch,
                BasicQosOptions {
                    global: self.prefetch_global,
                },
            )
            .await
            .map_err(|e| {
                ConnectError::config(format!(
                    "RabbitMQ refused basic.qos with {}={}: {e}",
                    config::PREFETCH_COUNT,
                    self.prefetch
                ))
            })?;
        let mut consumers = Vec::with_capacity(self.queues.len());
        for queue in &self.queues {
            let consumer = channel
                .basic_consume(
                    queue,
                    "",
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| {
                    let text = e.to_string();
                    let msg = format!(
                        "Cannot consume from queue '{queue}' ({}) on RabbitMQ at {}:{}, virtual host '{}': {text}",
                        config::QUEUE,
                        self.connection.host,
                        self.connection.port,
                        self.connection.vhost
                    );
                    if text.contains("NOT_FOUND") || text.contains("ACCESS_REFUSED") {
                        ConnectError::config(msg)
                    } else {
                        ConnectError::retriable(msg)
                    }
                })?;
            lock(channels).insert(consumer.tag().as_str().into(), (session, channel.clone()));
            consumers.push(consumer);
        }
        Ok(Session {
            connection,
            consumers,
        })
    }
}

/// Moves deliveries of `session` to `tx`; when the connection drops, reconnects every
/// `rabbitmq.network.recovery.interval.ms` (unacknowledged messages are redelivered by
/// RabbitMQ, so nothing is lost). Ends when the task stops (`tx` closed).
async fn consume(
    settings: Settings,
    mut session: Session,
    channels: Channels,
    tx: mpsc::Sender<Received>,
) {
    let mut number = 1;
    loop {
        let streams = std::mem::take(&mut session.consumers).into_iter().map(|c| {
            let tag: Arc<str> = c.tag().as_str().into();
            c.map(move |d| (tag.clone(), d))
        });
        let mut merged = futures::stream::select_all(streams);
        loop {
            let next = tokio::select! {
                _ = tx.closed() => {
                    let _ = session.connection.close(200, "task stopped").await;
                    return;
                }
                next = merged.next() => next,
            };
            match next {
                Some((consumer_tag, Ok(delivery))) => {
                    let r = Received {
                        consumer_tag,
                        delivery,
                    };
                    if tx.send(r).await.is_err() {
                        let _ = session.connection.close(200, "task stopped").await;
                        return;
                    }
                }
                Some((_, Err(e))) => {
                    tracing::warn!(broker = ?settings.connection, error = %e, "RabbitMQ consumer failed; reconnecting. Unacknowledged messages will be redelivered.");
                    break;
                }
                None => {
                    tracing::warn!(broker = ?settings.connection, "RabbitMQ consumers ended; reconnecting. Unacknowledged messages will be redelivered.");
                    break;
                }
            }
        }
        lock(&channels).clear();
        let _ = session.connection.close(200, "reconnecting").await;
        number += 1;
        session = loop {
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(settings.connection.recovery_interval) => {}
            }
            match settings.open(&channels, number).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(broker = ?settings.connection, error = %e, "Cannot reconnect to RabbitMQ yet.")
                }
            }
        };
        tracing::info!(broker = ?settings.connection, "Reconnected to RabbitMQ.");
    }
}

/// What the acknowledging worker is told, in order.
enum Ack {
    /// Kafka has the record of delivery tag `.1` of consumer `.0`: acknowledge it at the
    /// next commit.
    Ready(Arc<str>, u64),
    /// Connect committed offsets: acknowledge every delivery that was ready before.
    Commit,
    /// Everything before this was sent: stop.
    Stop,
}

/// Acknowledges deliveries whose records Kafka has, once Connect committed offsets after
/// Kafka acknowledged them (Kafka's `commitRecord` then `commit`).
struct Acker {
    tx: mpsc::UnboundedSender<Ack>,
    /// Records handed over since the last commit.
    ready: AtomicUsize,
    /// Ready records that make the task ask for a commit before `offset.flush.interval.ms`:
    /// a quarter of the prefetch, so RabbitMQ rarely waits on a commit to send more.
    commit_at: usize,
}

impl RecordCommitter for Acker {
    fn commit_record(&self, record: SourceRecord, _metadata: Option<RecordMetadata>) {
        // A record dropped by a transform or tolerated is acknowledged too (Kafka's
        // commitRecord with null metadata): it is done with, as in the original.
        let Some((consumer_tag, delivery_tag)) = record::ack_handle(&record) else {
            return;
        };
        self.ready.fetch_add(1, Ordering::Relaxed);
        let _ = self.tx.send(Ack::Ready(consumer_tag, delivery_tag));
    }

    fn commit(&self) {
        self.ready.store(0, Ordering::Relaxed);
        let _ = self.tx.send(Ack::Commit);
    }

    fn wants_commit(&self) -> bool {
        self.ready.load(Ordering::Relaxed) >= self.commit_at
    }

    /// The delivery is found by its headers (consumer and delivery tag).
    fn needs_payload(&self) -> bool {
        false
    }
}

/// Which delivery tags of one channel to acknowledge.
#[derive(Debug)]
struct Tags {
    /// Every delivery tag below this one was acknowledged (tags start at 1 per channel).
    acked_below: u64,
    /// In Kafka, to acknowledge at the next commit.
    ready: BTreeSet<u64>,
    /// Acknowledged one by one, above `acked_below`.
    acked: BTreeSet<u64>,
}

impl Default for Tags {
    fn default() -> Tags {
        Tags {
            acked_below: 1,
            ready: BTreeSet::new(),
            acked: BTreeSet::new(),
        }
    }
}

impl Tags {
    /// What to send for the ready deliveries: one `multiple` acknowledgement for the run
    /// that continues what was acknowledged (the usual case: Kafka acknowledges in order),
    /// single ones for the rest. Never covers a delivery that is not ready.
    fn plan(&mut self) -> (Option<u64>, Vec<u64>) {
        let mut multiple = None;
        loop {
            let next = self.acked_below;
            if self.ready.remove(&next) {
                multiple = Some(next);
            } else if !self.acked.remove(&next) {
                break;
            }
            self.acked_below += 1;
        }
        let single: Vec<u64> = std::mem::take(&mut self.ready).into_iter().collect();
        self.acked.extend(single.iter().copied());
        (multiple, single)
    }
}

/// The deliveries of one channel that Kafka has and RabbitMQ does not know are done.
struct Unacked {
    channel: lapin::Channel,
    tags: Tags,
}

impl Unacked {
    async fn flush(&mut self) {
        let (multiple, single) = self.tags.plan();
        let acks = multiple
            .map(|t| (t, true))
            .into_iter()
            .chain(single.into_iter().map(|t| (t, false)));
        for (delivery_tag, multiple) in acks {
            if let Err(e) = self
                .channel
                .basic_ack(delivery_tag, BasicAckOptions { multiple })
                .await
            {
                tracing::warn!(delivery_tag, error = %e, "Could not acknowledge RabbitMQ deliveries; RabbitMQ will redeliver them.");
                return;
            }
        }
    }
}

async fn ack_loop(mut rx: mpsc::UnboundedReceiver<Ack>, channels: Channels) {
    let mut unacked: HashMap<u64, Unacked> = HashMap::new();
    while let Some(ack) = rx.recv().await {
        match ack {
            Ack::Ready(consumer_tag, delivery_tag) => {
                let link = lock(&channels).get(&consumer_tag).cloned();
                match link {
                    Some((session, channel)) => {
                        unacked
                            .entry(session)
                            .or_insert_with(|| Unacked {
                                channel,
                                tags: Tags::default(),
                            })
                            .tags
                            .ready
                            .insert(delivery_tag);
                    }
                    None => tracing::debug!(
                        delivery_tag,
                        "Delivery of a closed channel: RabbitMQ redelivers it."
                    ),
                }
            }
            Ack::Commit => {
                // Deliveries of a connection that is gone are redelivered by RabbitMQ.
                let live: HashSet<u64> = lock(&channels).values().map(|(s, _)| *s).collect();
                unacked.retain(|session, _| live.contains(session));
                for u in unacked.values_mut() {
                    u.flush().await;
                }
            }
            Ack::Stop => break,
        }
    }
}

#[derive(Default)]
pub struct RabbitMQSourceTask {
    topic: Option<Topic>,
    rx: Option<mpsc::Receiver<Received>>,
    acks: Option<mpsc::UnboundedSender<Ack>>,
    consumer: Option<tokio::task::JoinHandle<()>>,
    acker: Option<tokio::task::JoinHandle<()>>,
    /// Source partitions by routing key, shared by their records.
    partitions: HashMap<String, Arc<OffsetMap>>,
    /// Records in Kafka awaiting acknowledgement that make the task ask for an early commit.
    commit_at: usize,
    /// Records per poll at most. With a prefetch limit, a quarter of it: the runtime handles
    /// Kafka's acknowledgements between batches, so a poll of the whole window would hold
    /// them (and RabbitMQ's next messages) back until every record of it was sent.
    batch: usize,
}

#[async_trait]
impl SourceTask for RabbitMQSourceTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let c = config::parse(&config_def(), &context.configs)?;
        let queues = c.list(config::QUEUE);
        if queues.is_empty() {
            return Err(ConnectError::config(format!(
                "Missing required configuration \"{}\": name at least one queue to consume",
                config::QUEUE
            )));
        }
        let settings = Settings {
            connection: Connection::from_config(&c)?,
            queues,
            prefetch: u16::try_from(c.int(config::PREFETCH_COUNT).unwrap_or(0)).unwrap_or(0),
            prefetch_global: c.boolean(config::PREFETCH_GLOBAL).unwrap_or(false),
        };
        self.topic = Some(c.string(config::KAFKA_TOPIC).unwrap_or_default().into());
        // With a prefetch limit RabbitMQ stops delivering once that many messages wait for
        // their acknowledgement, which comes at a commit: ask for one at a quarter of it, not only
        // every offset.flush.interval.ms. Without one, bound the acknowledgements kept.
        self.commit_at = match usize::from(settings.prefetch) {
            0 => BUFFER,
            p => (p / 4).max(1),
        };
        self.batch = match usize::from(settings.prefetch) {
            0 => MAX_BATCH,
            p => (p / 4).clamp(1, MAX_BATCH),
        };
        let channels: Channels = Arc::default();
        let session = settings.open(&channels, 1).await?;
        tracing::info!(broker = ?settings.connection, queues = ?settings.queues, "Consuming from RabbitMQ.");
        let (tx, rx) = mpsc::channel(BUFFER);
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        self.consumer = Some(tokio::spawn(consume(
            settings,
            session,
            channels.clone(),
            tx,
        )));
        self.acker = Some(tokio::spawn(ack_loop(ack_rx, channels)));
        self.rx = Some(rx);
        self.acks = Some(ack_tx);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let mut out = Vec::new();
        self.poll_into(&mut out).await?;
        Ok(out)
    }

    async fn poll_into(&mut self, records: &mut Vec<SourceRecord>) -> Result<()> {
        let (Some(rx), Some(topic)) = (self.rx.as_mut(), self.topic.as_ref()) else {
            return Err(ConnectError::illegal_state(
                "RabbitMQ source task polled before start",
            ));
        };
        // Cancel safe: a delivery is either still in the channel or in `records`, which is
        // only filled after the last await.
        let Some(first) = rx.recv().await else {
            return Err(ConnectError::retriable(
                "The RabbitMQ consumer of this task stopped",
            ));
        };
        let mut next = Some(first);
        while let Some(r) = next {
            let key = r.delivery.routing_key.as_str();
            // Looked up before inserting: no key string is allocated for a known key.
            let partition = match self.partitions.get(key) {
                Some(p) => p.clone(),
                None => self
                    .partitions
                    .entry(key.to_string())
                    .or_insert_with(|| Arc::new(record::partition(key)))
                    .clone(),
            };
            records.push(record::to_record(
                partition,
                topic.clone(),
                &r.consumer_tag,
                r.delivery,
            ));
            next = if records.len() < self.batch {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        Ok(())
    }

    fn record_committer(&mut self) -> Option<Arc<dyn RecordCommitter>> {
        let tx = self.acks.clone()?;
        Some(Arc::new(Acker {
            tx,
            ready: AtomicUsize::new(0),
            commit_at: self.commit_at,
        }))
    }

    async fn stop(&mut self) -> Result<()> {
        // Acknowledgements already handed over go out first, on the open connection; then
        // closing the channel ends the consumer, which closes the connection: RabbitMQ
        // redelivers whatever was not acknowledged.
        if let Some(acks) = self.acks.take() {
            let _ = acks.send(Ack::Stop);
        }
        let wait = std::time::Duration::from_secs(10);
        if let Some(acker) = self.acker.take() {
            if tokio::time::timeout(wait, acker).await.is_err() {
                tracing::warn!("RabbitMQ acknowledgements did not finish within 10 s; RabbitMQ redelivers the rest");
            }
        }
        self.rx = None;
        if let Some(consumer) = self.consumer.take() {
            if tokio::time::timeout(wait, consumer).await.is_err() {
                tracing::warn!("RabbitMQ consumer did not stop within 10 s");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &mut Tags, ready: &[u64]) -> (Option<u64>, Vec<u64>) {
        t.ready.extend(ready);
        t.plan()
    }

    #[test]
    fn in_order_deliveries_take_one_multiple_ack() {
        let mut t = Tags::default();
        assert_eq!(tags(&mut t, &[1, 2, 3]), (Some(3), vec![]));
        assert_eq!(tags(&mut t, &[4, 5]), (Some(5), vec![]));
        assert_eq!(tags(&mut t, &[]), (None, vec![]));
        assert_eq!(t.acked_below, 6);
    }

    #[test]
    fn a_delivery_not_in_kafka_is_never_covered() {
        let mut t = Tags::default();
        // 3 is still on its way to Kafka: 1-2 together, 4 and 6 alone.
        assert_eq!(tags(&mut t, &[1, 2, 4, 6]), (Some(2), vec![4, 6]));
        // 3 arrives: the run reaches 4 (already acknowledged), stops before 5.
        assert_eq!(tags(&mut t, &[3]), (Some(3), vec![]));
        assert_eq!(t.acked_below, 5);
        // 5 closes the gap up to 6; 7 continues it.
        assert_eq!(tags(&mut t, &[5, 7]), (Some(7), vec![]));
        assert!(t.acked.is_empty());
        assert_eq!(t.acked_below, 8);
    }
}
