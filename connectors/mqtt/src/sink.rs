//! `io.confluent.connect.mqtt.MqttSinkConnector` and its task.
//!
//! Publishes each record's value to the MQTT topic named like the record's Kafka topic, with
//! `mqtt.qos` and `mqtt.retain.enabled`. `put` returns only once the broker acknowledged
//! every message of the batch (PUBACK for QoS 1, PUBCOMP for QoS 2, written for QoS 0), so
//! offsets are committed only for delivered messages. A message published again after a
//! reconnect may arrive twice (at least once).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, Outgoing, Packet, QoS};
use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SinkTask, SinkTaskContext,
    TaskFactory,
};
use sluice_api::data::Value;
use sluice_api::record::SinkRecord;
use sluice_api::{async_trait, ConnectError, Result};
use tokio::sync::Notify;

use crate::config::{self, Client};

pub const CLASS: &str = "io.confluent.connect.mqtt.MqttSinkConnector";
pub const TASK_CLASS: &str = "io.confluent.connect.mqtt.MqttSinkTask";

/// How long `put` waits for the broker's acknowledgements before the batch is retried.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

pub fn config_def() -> ConfigDef {
    config::sink_def()
}

pub fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: CLASS,
        task_class: TASK_CLASS,
        kind: ConnectorKind::Sink,
        version: crate::VERSION,
        config_def,
        new_connector: || Box::new(MqttSinkConnector::default()),
        new_task: TaskFactory::Sink(|| Box::new(MqttSinkTask::default())),
        shares_thread: false,
    }
}

#[derive(Default)]
pub struct MqttSinkConnector {
    props: RawConfig,
}

#[async_trait]
impl Connector for MqttSinkConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        let c = config::parse(&config_def(), config)?;
        Client::from_config(&c, "check")?;
        self.props = config.clone();
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>> {
        Ok((0..max_tasks.max(1))
            .map(|i| {
                let mut p = self.props.clone();
                p.insert("sluice.mqtt.task".into(), i.to_string());
                p
            })
            .collect())
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Messages the broker has acknowledged, counted by the event loop.
#[derive(Default)]
struct Progress {
    done: AtomicU64,
    changed: Notify,
}

async fn drive(client: Client, mut events: EventLoop, qos: QoS, progress: Arc<Progress>) {
    let mut server = 0;
    let mut backoff = Duration::from_millis(200);
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_millis(200);
                tracing::info!(broker = %client.server(server), "Connected to the MQTT broker.");
            }
            Ok(Event::Incoming(Packet::PubAck(_))) if qos == QoS::AtLeastOnce => {
                progress.done.fetch_add(1, Ordering::SeqCst);
                progress.changed.notify_waiters();
            }
            Ok(Event::Incoming(Packet::PubComp(_))) if qos == QoS::ExactlyOnce => {
                progress.done.fetch_add(1, Ordering::SeqCst);
                progress.changed.notify_waiters();
            }
            Ok(Event::Outgoing(Outgoing::Publish(_))) if qos == QoS::AtMostOnce => {
                progress.done.fetch_add(1, Ordering::SeqCst);
                progress.changed.notify_waiters();
            }
            Ok(_) => {}
            Err(rumqttc::ConnectionError::RequestsDone) => break,
            Err(e) => {
                tracing::warn!(broker = %client.server(server), error = %e, retry_in_ms = backoff.as_millis() as u64, "MQTT connection failed; reconnecting (unacknowledged messages are published again).");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                if client.servers.len() > 1 {
                    server += 1;
                    events.mqtt_options = client.options(server);
                }
            }
        }
    }
}

#[derive(Default)]
pub struct MqttSinkTask {
    mqtt: Option<AsyncClient>,
    driver: Option<tokio::task::JoinHandle<()>>,
    progress: Arc<Progress>,
    /// Messages handed to the client so far.
    published: u64,
    qos: Option<QoS>,
    retain: bool,
}

#[async_trait]
impl SinkTask for MqttSinkTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> Result<()> {
        let c = config::parse(&config_def(), context.configs())?;
        let name = context
            .configs()
            .get("name")
            .cloned()
            .unwrap_or_else(|| "sluice".into());
        let index = context
            .configs()
            .get("sluice.mqtt.task")
            .cloned()
            .unwrap_or_else(|| "0".into());
        let client = Client::from_config(&c, &format!("{name}-sink-{index}"))?;
        let qos = config::qos(&c);
        let (mqtt, mut events) = AsyncClient::new(client.options(0), 1024);
        // The first connection: a refused login or unreachable broker fails start clearly.
        let first = tokio::time::timeout(client.connect_timeout, events.poll()).await;
        match first {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {}
            Ok(Err(rumqttc::ConnectionError::ConnectionRefused(code))) => {
                return Err(ConnectError::config(format!(
                    "The MQTT broker at {} refused the connection of client '{}' ({code:?}); check {} and {}",
                    client.server(0),
                    client.client_id,
                    config::USERNAME,
                    config::PASSWORD
                )))
            }
            Ok(Ok(other)) => {
                return Err(ConnectError::retriable(format!(
                    "The MQTT broker at {} answered {other:?} instead of CONNACK",
                    client.server(0)
                )))
            }
            Ok(Err(e)) => {
                return Err(ConnectError::retriable(format!(
                    "Could not connect to the MQTT broker at {} ({}): {e}",
                    client.server(0),
                    config::SERVER_URI
                )))
            }
            Err(_) => {
                return Err(ConnectError::retriable(format!(
                    "Could not connect to the MQTT broker at {} ({}) within {} s ({})",
                    client.server(0),
                    config::SERVER_URI,
                    client.connect_timeout.as_secs(),
                    config::CONNECT_TIMEOUT
                )))
            }
        }
        self.driver = Some(tokio::spawn(drive(
            client,
            events,
            qos,
            self.progress.clone(),
        )));
        self.mqtt = Some(mqtt);
        self.qos = Some(qos);
        self.retain = c.boolean(config::RETAIN).unwrap_or(false);
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        let (Some(mqtt), Some(qos)) = (self.mqtt.as_ref(), self.qos) else {
            return Err(ConnectError::illegal_state(
                "MQTT sink task used before start",
            ));
        };
        for rec in records {
            let r = &rec.record;
            let payload = match &r.value {
                Value::Bytes(b) => b.clone(),
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Null => Vec::new(),
                other => {
                    return Err(ConnectError::data(format!(
                        "The MQTT sink publishes bytes or strings: the value of {}@{} is {} (use value.converter=org.apache.kafka.connect.converters.ByteArrayConverter)",
                        r.topic,
                        rec.kafka_offset,
                        other.java_class_name()
                    )))
                }
            };
            mqtt.publish(r.topic.to_string(), qos, self.retain, payload)
                .await
                .map_err(|e| ConnectError::retriable(format!("Could not publish to MQTT: {e}")))?;
            self.published += 1;
        }
        // Wait until the broker acknowledged everything handed over so far.
        let target = self.published;
        let progress = self.progress.clone();
        let wait = async {
            loop {
                let changed = progress.changed.notified();
                if progress.done.load(Ordering::SeqCst) >= target {
                    return;
                }
                changed.await;
            }
        };
        if tokio::time::timeout(ACK_TIMEOUT, wait).await.is_err() {
            // Whatever is still unacknowledged is forgotten here; the runtime redelivers the
            // batch, which is published again.
            self.published = self.progress.done.load(Ordering::SeqCst);
            return Err(ConnectError::retriable(format!(
                "The MQTT broker did not acknowledge {} messages within {} s",
                target.saturating_sub(self.published),
                ACK_TIMEOUT.as_secs()
            )));
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(mqtt) = self.mqtt.take() {
            let _ = mqtt.disconnect().await;
        }
        if let Some(d) = self.driver.take() {
            if tokio::time::timeout(Duration::from_secs(5), d)
                .await
                .is_err()
            {
                tracing::debug!("MQTT sink client did not stop within 5 s");
            }
        }
        Ok(())
    }
}
