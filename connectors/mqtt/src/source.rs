//! `io.confluent.connect.mqtt.MqttSourceConnector` and its task.
//!
//! Records as Confluent writes them: key = the MQTT topic (STRING), value = the payload
//! (BYTES), headers `mqtt.message.id`, `mqtt.qos`, `mqtt.retained`, `mqtt.duplicate`.
//!
//! Unlike Confluent's (whose client acknowledges QoS 1/2 messages when they arrive), a QoS 1
//! or 2 message is acknowledged to the broker (PUBACK / PUBREC) only once Kafka has its
//! record, through the runtime's per-record commit hook; with
//! `mqtt.clean.session.enabled=false` the broker redelivers what was not acknowledged after
//! a crash or a reconnect (at least once). The client id defaults to
//! `<connector name>-<task>`, stable across restarts, so the persistent session survives them.
//!
//! Partition `{}`; offset `{"session": n}`, the connection a message came on (an
//! acknowledgement of an earlier connection is dropped: its packet id now means another
//! message). Offsets are never read back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, Packet, Publish, QoS, SubscribeFilter};
use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, RecordCommitter, RecordMetadata,
    SourceTask, SourceTaskContext, TaskFactory,
};
use sluice_api::data::{schemas, Value};
use sluice_api::record::{OffsetMap, SourceRecord, Topic};
use sluice_api::{async_trait, offset_map, ConnectError, Result};
use tokio::sync::mpsc;

use crate::config::{self, Client};

pub const CLASS: &str = "io.confluent.connect.mqtt.MqttSourceConnector";
pub const TASK_CLASS: &str = "io.confluent.connect.mqtt.MqttSourceTask";
pub const SESSION_FIELD: &str = "session";
pub const MESSAGE_ID_HEADER: &str = "mqtt.message.id";
pub const QOS_HEADER: &str = "mqtt.qos";

/// Task index the connector adds to each task config (for the default client id).
const TASK_INDEX: &str = "sluice.mqtt.task";
const BUFFER: usize = 4096;
const MAX_BATCH: usize = 1024;

pub fn config_def() -> ConfigDef {
    config::source_def()
}

pub fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: CLASS,
        task_class: TASK_CLASS,
        kind: ConnectorKind::Source,
        version: crate::VERSION,
        config_def,
        new_connector: || Box::new(MqttSourceConnector::default()),
        new_task: TaskFactory::Source(|| Box::new(MqttSourceTask::default())),
        shares_thread: false,
    }
}

#[derive(Default)]
pub struct MqttSourceConnector {
    props: RawConfig,
}

#[async_trait]
impl Connector for MqttSourceConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        let c = config::parse(&config_def(), config)?;
        Client::from_config(&c, "check")?;
        self.props = config.clone();
        Ok(())
    }

    /// The subscriptions divided among at most `max_tasks` tasks, each with its own client id.
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>> {
        let c = config::parse(&config_def(), &self.props)?;
        let topics = c.list(config::TOPICS);
        let n = max_tasks.clamp(1, topics.len().max(1));
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let mine: Vec<&str> = topics
                .iter()
                .enumerate()
                .filter(|(j, _)| j % n == i)
                .map(|(_, t)| t.as_str())
                .collect();
            let mut props = self.props.clone();
            props.insert(config::TOPICS.into(), mine.join(","));
            props.insert(TASK_INDEX.into(), i.to_string());
            out.push(props);
        }
        Ok(out)
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A message and the connection it came on.
struct Received {
    session: u64,
    publish: Publish,
}

/// Polls the client: connects, subscribes when the broker has no session for us, moves
/// messages to `tx`, reconnects (to the next broker of the list) after a failure. Ends when
/// the task stops.
async fn drive(
    client: Client,
    mqtt: AsyncClient,
    mut events: EventLoop,
    filters: Vec<SubscribeFilter>,
    session: Arc<AtomicU64>,
    tx: mpsc::Sender<Received>,
) {
    let mut server = 0;
    let mut backoff = Duration::from_millis(200);
    loop {
        let event = tokio::select! {
            _ = tx.closed() => break,
            e = events.poll() => e,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                let n = session.fetch_add(1, Ordering::SeqCst) + 1;
                backoff = Duration::from_millis(200);
                tracing::info!(broker = %client.server(server), session = n, session_present = ack.session_present, "Connected to the MQTT broker.");
                if !ack.session_present {
                    if let Err(e) = mqtt.try_subscribe_many(filters.clone()) {
                        tracing::warn!(error = %e, "Could not subscribe");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let r = Received {
                    session: session.load(Ordering::SeqCst),
                    publish,
                };
                let sent = tokio::select! {
                    _ = tx.closed() => break,
                    s = tx.send(r) => s,
                };
                if sent.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(broker = %client.server(server), error = %e, retry_in_ms = backoff.as_millis() as u64, "MQTT connection failed; reconnecting. Unacknowledged QoS 1/2 messages are redelivered with a persistent session.");
                tokio::select! {
                    _ = tx.closed() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                if client.servers.len() > 1 {
                    server += 1;
                    events.mqtt_options = client.options(server);
                }
            }
        }
    }
    let _ = mqtt.try_disconnect();
    // Let the disconnect go out.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while events.poll().await.is_ok() {}
    })
    .await;
}

enum Ack {
    Message(u64, QoS, u16),
    Stop,
}

/// Acknowledges messages whose records Kafka has.
struct Acker(mpsc::UnboundedSender<Ack>);

impl RecordCommitter for Acker {
    fn commit_record(&self, record: SourceRecord, _metadata: Option<RecordMetadata>) {
        let session = record
            .source_offset
            .iter()
            .find(|(k, _)| k == SESSION_FIELD)
            .and_then(|(_, v)| v.as_i64());
        let headers = &record.record.headers;
        let int = |name: &str| match headers.last_with_name(name).map(|h| &h.value) {
            Some(Value::Int32(i)) => Some(*i),
            _ => None,
        };
        let (Some(session), Some(pkid), Some(qos)) =
            (session, int(MESSAGE_ID_HEADER), int(QOS_HEADER))
        else {
            return;
        };
        let qos = match qos {
            1 => QoS::AtLeastOnce,
            2 => QoS::ExactlyOnce,
            _ => return,
        };
        let (Ok(session), Ok(pkid)) = (u64::try_from(session), u16::try_from(pkid)) else {
            return;
        };
        let _ = self.0.send(Ack::Message(session, qos, pkid));
    }

    /// The message is found by its offset and headers.
    fn needs_payload(&self) -> bool {
        false
    }
}

async fn ack_loop(
    mut rx: mpsc::UnboundedReceiver<Ack>,
    mqtt: AsyncClient,
    session: Arc<AtomicU64>,
) {
    while let Some(Ack::Message(s, qos, pkid)) = rx.recv().await {
        if s != session.load(Ordering::SeqCst) {
            tracing::debug!(pkid, "Acknowledgement of an earlier connection dropped; the broker redelivers the message.");
            continue;
        }
        let mut p = Publish::new("", qos, Vec::new());
        p.pkid = pkid;
        if let Err(e) = mqtt.ack(&p).await {
            tracing::warn!(pkid, error = %e, "Could not acknowledge an MQTT message; the broker redelivers it.");
        }
    }
}

#[derive(Default)]
pub struct MqttSourceTask {
    topic: Option<Topic>,
    partition: Arc<OffsetMap>,
    rx: Option<mpsc::Receiver<Received>>,
    acks: Option<mpsc::UnboundedSender<Ack>>,
    driver: Option<tokio::task::JoinHandle<()>>,
    acker: Option<tokio::task::JoinHandle<()>>,
}

/// Connects once, so that a bad URI, unreachable broker or refused login fails `start` with
/// a clear message. Returns whether the broker kept a session (then it keeps the
/// subscriptions too).
async fn first_connect(client: &Client) -> Result<(AsyncClient, EventLoop, bool)> {
    let mut last;
    let deadline = tokio::time::Instant::now() + client.connect_timeout.max(Duration::from_secs(5));
    let mut i = 0;
    loop {
        let (mqtt, mut events) = AsyncClient::new(client.options(i), 1024);
        let mut net = events.network_options();
        net.set_connection_timeout(client.connect_timeout.as_secs().max(1));
        events.set_network_options(net);
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                return Ok((mqtt, events, ack.session_present))
            }
            Ok(other) => last = format!("unexpected first packet {other:?}"),
            Err(rumqttc::ConnectionError::ConnectionRefused(code)) => {
                return Err(ConnectError::config(format!(
                    "The MQTT broker at {} refused the connection of client '{}' ({:?}); check {} and {}",
                    client.server(i),
                    client.client_id,
                    code,
                    config::USERNAME,
                    config::PASSWORD
                )))
            }
            Err(e) => last = e.to_string(),
        }
        i += 1;
        if tokio::time::Instant::now() >= deadline {
            return Err(ConnectError::retriable(format!(
                "Could not connect to the MQTT broker at {} ({}): {last}",
                client.server(i - 1),
                config::SERVER_URI
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[async_trait]
impl SourceTask for MqttSourceTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let c = config::parse(&config_def(), &context.configs)?;
        let name = context
            .configs
            .get("name")
            .cloned()
            .unwrap_or_else(|| "sluice".into());
        let index = context
            .configs
            .get(TASK_INDEX)
            .cloned()
            .unwrap_or_else(|| "0".into());
        let client = Client::from_config(&c, &format!("{name}-{index}"))?;
        let qos = config::qos(&c);
        let filters: Vec<SubscribeFilter> = c
            .list(config::TOPICS)
            .into_iter()
            .map(|t| SubscribeFilter::new(t, qos))
            .collect();
        if filters.is_empty() {
            return Err(ConnectError::config(format!(
                "Missing required configuration \"{}\": name at least one topic",
                config::TOPICS
            )));
        }
        let (mqtt, events, session_present) = first_connect(&client).await?;
        let session = Arc::new(AtomicU64::new(1));
        if !session_present {
            mqtt.try_subscribe_many(filters.clone()).map_err(|e| {
                ConnectError::retriable(format!("Could not subscribe to {}: {e}", config::TOPICS))
            })?;
        }
        tracing::info!(broker = %client.server(0), client_id = %client.client_id, "Consuming from MQTT.");
        let (tx, rx) = mpsc::channel(BUFFER);
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        self.acker = Some(tokio::spawn(ack_loop(
            ack_rx,
            mqtt.clone(),
            session.clone(),
        )));
        self.driver = Some(tokio::spawn(drive(
            client, mqtt, events, filters, session, tx,
        )));
        self.topic = Some(c.string(config::KAFKA_TOPIC).unwrap_or_default().into());
        self.partition = Arc::new(OffsetMap::new());
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
                "MQTT source task polled before start",
            ));
        };
        let Some(first) = rx.recv().await else {
            return Err(ConnectError::fatal("The MQTT client of this task stopped"));
        };
        let mut next = Some(first);
        while let Some(r) = next {
            records.push(to_record(self.partition.clone(), topic.clone(), r));
            next = if records.len() < MAX_BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        Ok(())
    }

    fn record_committer(&mut self) -> Option<Arc<dyn RecordCommitter>> {
        Some(Arc::new(Acker(self.acks.clone()?)))
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(acks) = self.acks.take() {
            let _ = acks.send(Ack::Stop);
        }
        let wait = Duration::from_secs(10);
        if let Some(acker) = self.acker.take() {
            let _ = tokio::time::timeout(wait, acker).await;
        }
        self.rx = None;
        if let Some(driver) = self.driver.take() {
            let _ = tokio::time::timeout(wait, driver).await;
        }
        Ok(())
    }
}

fn qos_number(q: QoS) -> i32 {
    match q {
        QoS::AtMostOnce => 0,
        QoS::AtLeastOnce => 1,
        QoS::ExactlyOnce => 2,
    }
}

fn to_record(partition: Arc<OffsetMap>, topic: Topic, r: Received) -> SourceRecord {
    let p = r.publish;
    let mut rec = SourceRecord::new(
        partition,
        offset_map![(SESSION_FIELD.into(), Value::Int64(r.session as i64))],
        topic,
        Some(schemas::bytes()),
        Value::Bytes(p.payload.to_vec()),
    );
    let c = &mut rec.record;
    c.key_schema = Some(schemas::string());
    c.key = Value::String(p.topic.clone());
    c.timestamp = Some(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    );
    c.headers.add(
        MESSAGE_ID_HEADER,
        Some(schemas::int32()),
        Value::Int32(i32::from(p.pkid)),
    );
    c.headers.add(
        QOS_HEADER,
        Some(schemas::int32()),
        Value::Int32(qos_number(p.qos)),
    );
    c.headers.add(
        "mqtt.retained",
        Some(schemas::boolean()),
        Value::Boolean(p.retain),
    );
    c.headers.add(
        "mqtt.duplicate",
        Some(schemas::boolean()),
        Value::Boolean(p.dup),
    );
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_follow_confluent() {
        let mut p = Publish::new("sensors/1", QoS::AtLeastOnce, b"21.5".to_vec());
        p.pkid = 7;
        let rec = to_record(
            Arc::default(),
            "t".into(),
            Received {
                session: 3,
                publish: p,
            },
        );
        assert_eq!(rec.record.key, Value::from("sensors/1"));
        assert_eq!(rec.record.value, Value::Bytes(b"21.5".to_vec()));
        let names: Vec<&str> = rec.record.headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(
            names,
            [
                "mqtt.message.id",
                "mqtt.qos",
                "mqtt.retained",
                "mqtt.duplicate"
            ]
        );
        let (tx, mut rx) = mpsc::unbounded_channel();
        Acker(tx).commit_record(rec, None);
        assert!(matches!(
            rx.try_recv(),
            Ok(Ack::Message(3, QoS::AtLeastOnce, 7))
        ));
    }
}
