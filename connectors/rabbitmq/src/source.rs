//! `io.confluent.connect.rabbitmq.RabbitMQSourceConnector` and its task.
//!
//! Every task consumes every queue of `rabbitmq.queue` on its own connection and channel
//! (competing consumers, as the originals do), with manual acknowledgements and
//! `basic.qos(rabbitmq.prefetch.count)`. A delivery is acknowledged to RabbitMQ only when the
//! runtime hands its record back through the per-record commit hook, i.e. once Kafka has it;
//! until then RabbitMQ keeps it unacknowledged and redelivers it if the task dies.
//!
//! Records follow Confluent's format (see [`crate::record`]): value = body bytes, key = the
//! `message-id` property, `rabbitmq.*` headers. Partition `{"routingKey": …}`, offset
//! `{"deliveryTag": …}`; offsets are never read back (RabbitMQ keeps the position).

use std::collections::HashMap;
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
/// Records per poll at most.
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

/// The channels of the live connection, by consumer tag: an acknowledgement goes to the
/// channel its delivery came on, and is dropped for a channel that is gone (its delivery
/// tags mean nothing on another channel; RabbitMQ redelivers those messages).
type Channels = Arc<Mutex<HashMap<Arc<str>, lapin::Channel>>>;

fn lock(c: &Channels) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, lapin::Channel>> {
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
    /// Connects, sets the prefetch and starts a consumer per queue. A missing queue or
    /// refused credentials are config errors naming the key.
    async fn open(&self, channels: &Channels) -> Result<Session> {
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
            lock(channels).insert(consumer.tag().as_str().into(), channel.clone());
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
        session = loop {
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(settings.connection.recovery_interval) => {}
            }
            match settings.open(&channels).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(broker = ?settings.connection, error = %e, "Cannot reconnect to RabbitMQ yet.")
                }
            }
        };
        tracing::info!(broker = ?settings.connection, "Reconnected to RabbitMQ.");
    }
}

/// What the acknowledging worker is asked to do, in order.
enum Ack {
    /// Acknowledge delivery tag `.1` of consumer `.0`.
    Delivery(Arc<str>, u64),
    /// Everything before this was sent: stop.
    Stop,
}

/// Acknowledges deliveries whose records Kafka has.
struct Acker {
    tx: mpsc::UnboundedSender<Ack>,
}

impl RecordCommitter for Acker {
    fn commit_record(&self, record: SourceRecord, _metadata: Option<RecordMetadata>) {
        // A record dropped by a transform or tolerated is acknowledged too (Kafka's
        // commitRecord with null metadata): it is done with, as in the original.
        let Some((consumer_tag, delivery_tag)) = record::ack_handle(&record) else {
            return;
        };
        let _ = self.tx.send(Ack::Delivery(consumer_tag, delivery_tag));
    }
}

async fn ack_loop(mut rx: mpsc::UnboundedReceiver<Ack>, channels: Channels) {
    while let Some(Ack::Delivery(consumer_tag, delivery_tag)) = rx.recv().await {
        let channel = lock(&channels).get(&consumer_tag).cloned();
        match channel {
            Some(channel) => {
                if let Err(e) = channel
                    .basic_ack(delivery_tag, BasicAckOptions { multiple: false })
                    .await
                {
                    tracing::warn!(delivery_tag, error = %e, "Could not acknowledge a RabbitMQ delivery; RabbitMQ will redeliver it.");
                }
            }
            None => {
                tracing::debug!(
                    delivery_tag,
                    "Delivery of a closed channel: RabbitMQ redelivers it."
                )
            }
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
        let channels: Channels = Arc::default();
        let session = settings.open(&channels).await?;
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
            let partition = self
                .partitions
                .entry(r.delivery.routing_key.as_str().to_string())
                .or_insert_with(|| Arc::new(record::partition(r.delivery.routing_key.as_str())))
                .clone();
            records.push(record::to_record(
                partition,
                topic.clone(),
                &r.consumer_tag,
                r.delivery,
            ));
            next = if records.len() < MAX_BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        Ok(())
    }

    fn record_committer(&mut self) -> Option<Arc<dyn RecordCommitter>> {
        let tx = self.acks.clone()?;
        Some(Arc::new(Acker { tx }))
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
