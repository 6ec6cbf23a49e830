//! `io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector` and its task.
//!
//! Publishes each record's value to `rabbitmq.exchange` with `rabbitmq.routing.key`, on a
//! channel in publisher-confirm mode. `put` returns only once RabbitMQ confirmed every
//! message of the batch, so the runtime commits Kafka offsets only for confirmed messages;
//! a nack, a timeout or a lost connection is retried (`rabbitmq.publish.max.retries`), then
//! returned as a retriable error and the runtime redelivers the batch (at least once).

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::types::FieldTable;
use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SinkTask, SinkTaskContext,
    TaskFactory,
};
use sluice_api::record::SinkRecord;
use sluice_api::{async_trait, ConnectError, ErrorKind, Result};

use crate::config::{self, Connection};
use crate::record::{self, Publish};

pub const CLASS: &str = "io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector";
pub const TASK_CLASS: &str = "io.confluent.connect.rabbitmq.sink.RabbitMQSinkTask";
pub const JCUSTENBORDER_CLASS: &str =
    "com.github.jcustenborder.kafka.connect.rabbitmq.RabbitMQSinkConnector";
pub const JCUSTENBORDER_TASK_CLASS: &str =
    "com.github.jcustenborder.kafka.connect.rabbitmq.RabbitMQSinkTask";
pub const THEMEETGROUP_CLASS: &str =
    "com.github.themeetgroup.kafka.connect.rabbitmq.sink.RabbitMQSinkConnector";
pub const THEMEETGROUP_TASK_CLASS: &str =
    "com.github.themeetgroup.kafka.connect.rabbitmq.sink.RabbitMQSinkTask";

pub fn config_def() -> ConfigDef {
    config::sink_def()
}

fn plugin_of(class: &'static str, task_class: &'static str) -> ConnectorPlugin {
    ConnectorPlugin {
        class,
        task_class,
        kind: ConnectorKind::Sink,
        version: crate::VERSION,
        config_def,
        new_connector: || Box::new(RabbitMQSinkConnector::default()),
        new_task: TaskFactory::Sink(|| Box::new(RabbitMQSinkTask::default())),
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
pub struct RabbitMQSinkConnector {
    props: RawConfig,
}

#[async_trait]
impl Connector for RabbitMQSinkConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        config::parse(&config_def(), config)?;
        self.props = config.clone();
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

struct Target {
    connection: Connection,
    exchange: String,
    routing_key: String,
    publish: Publish,
    batch: usize,
    ack_timeout: Duration,
    retries: u32,
}

#[derive(Default)]
pub struct RabbitMQSinkTask {
    target: Option<Target>,
    context: Option<Arc<dyn SinkTaskContext>>,
    /// The open connection and its confirm-mode channel; reopened after a failure.
    open: Option<(lapin::Connection, lapin::Channel)>,
}

impl Target {
    /// Connects and opens a confirm-mode channel; checks that the exchange exists.
    async fn open(&self) -> Result<(lapin::Connection, lapin::Channel)> {
        let connection = self.connection.connect_with_retries().await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.connection.error(&e))?;
        if !self.exchange.is_empty() {
            // Passive: fails with NOT_FOUND (and closes the channel) if it does not exist.
            channel
                .exchange_declare(
                    &self.exchange,
                    lapin::ExchangeKind::Direct,
                    ExchangeDeclareOptions {
                        passive: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(|e| {
                    ConnectError::config(format!(
                        "Exchange '{}' ({}) is not usable on RabbitMQ at {}:{}, virtual host '{}': {e}",
                        self.exchange,
                        config::EXCHANGE,
                        self.connection.host,
                        self.connection.port,
                        self.connection.vhost
                    ))
                })?;
        }
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| self.connection.error(&e))?;
        Ok((connection, channel))
    }

    /// Publishes `batch` and waits for every confirm. `Err` leaves the channel suspect.
    async fn publish(
        &self,
        channel: &lapin::Channel,
        batch: &[(Vec<u8>, lapin::BasicProperties)],
    ) -> Result<()> {
        let mut confirms = Vec::with_capacity(batch.len());
        for (body, props) in batch {
            let confirm = channel
                .basic_publish(
                    &self.exchange,
                    &self.routing_key,
                    BasicPublishOptions::default(),
                    body,
                    props.clone(),
                )
                .await
                .map_err(|e| self.connection.error(&e))?;
            confirms.push(confirm);
        }
        let wait = async {
            for confirm in confirms {
                match confirm.await.map_err(|e| self.connection.error(&e))? {
                    Confirmation::Ack(_) | Confirmation::NotRequested => {}
                    Confirmation::Nack(_) => {
                        return Err(ConnectError::retriable(format!(
                        "RabbitMQ at {}:{} refused (nacked) a message published to exchange '{}'",
                        self.connection.host, self.connection.port, self.exchange
                    )))
                    }
                }
            }
            Ok(())
        };
        match tokio::time::timeout(self.ack_timeout, wait).await {
            Ok(r) => r,
            Err(_) => Err(ConnectError::retriable(format!(
                "RabbitMQ at {}:{} did not confirm {} messages within {} ms ({})",
                self.connection.host,
                self.connection.port,
                batch.len(),
                self.ack_timeout.as_millis(),
                config::PUBLISH_ACK_TIMEOUT
            ))),
        }
    }
}

#[async_trait]
impl SinkTask for RabbitMQSinkTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> Result<()> {
        let c = config::parse(&config_def(), context.configs())?;
        let mode = c.string(config::DELIVERY_MODE).unwrap_or("PERSISTENT");
        let target = Target {
            connection: Connection::from_config(&c)?,
            exchange: c.string(config::EXCHANGE).unwrap_or_default().to_string(),
            routing_key: c
                .string(config::ROUTING_KEY)
                .unwrap_or_default()
                .to_string(),
            publish: Publish {
                delivery_mode: if mode.eq_ignore_ascii_case("TRANSIENT") {
                    1
                } else {
                    2
                },
                forward_key: c.boolean(config::FORWARD_KEY).unwrap_or(false),
                forward_metadata: c.boolean(config::FORWARD_METADATA).unwrap_or(false),
                forward_headers: c.boolean(config::FORWARD_HEADERS).unwrap_or(false),
            },
            batch: usize::try_from(c.int(config::PUBLISH_MAX_BATCH).unwrap_or(100))
                .unwrap_or(100)
                .max(1),
            ack_timeout: Duration::from_millis(
                u64::try_from(c.int(config::PUBLISH_ACK_TIMEOUT).unwrap_or(10_000))
                    .unwrap_or(10_000),
            ),
            retries: u32::try_from(c.int(config::PUBLISH_MAX_RETRIES).unwrap_or(1)).unwrap_or(1),
        };
        self.open = Some(target.open().await?);
        tracing::info!(broker = ?target.connection, exchange = %target.exchange, routing_key = %target.routing_key, "Publishing to RabbitMQ with confirms.");
        self.target = Some(target);
        self.context = Some(context);
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        let (Some(target), Some(context)) = (self.target.as_ref(), self.context.as_ref()) else {
            return Err(ConnectError::illegal_state(
                "RabbitMQ sink task used before start",
            ));
        };
        let mut messages = Vec::with_capacity(records.len().min(target.batch));
        for chunk in records.chunks(target.batch) {
            messages.clear();
            for r in chunk {
                match record::to_message(r, &target.publish) {
                    Ok(m) => messages.push(m),
                    Err(e) if e.kind() == ErrorKind::Data => context.report_errant(r, e),
                    Err(e) => return Err(e),
                }
            }
            if messages.is_empty() {
                continue;
            }
            let mut attempt = 0;
            loop {
                if self.open.is_none() {
                    self.open = Some(target.open().await?);
                }
                let Some((_, channel)) = self.open.as_ref() else {
                    continue;
                };
                match target.publish(channel, &messages).await {
                    Ok(()) => break,
                    Err(e) => {
                        // A partially confirmed batch is published again: duplicates, never loss.
                        if let Some((conn, _)) = self.open.take() {
                            let _ = conn.close(200, "publish failed").await;
                        }
                        if attempt >= target.retries || e.kind() == ErrorKind::Config {
                            return Err(e);
                        }
                        attempt += 1;
                        tracing::warn!(error = %e, attempt, "Publishing to RabbitMQ failed; retrying the batch.");
                    }
                }
            }
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some((conn, _)) = self.open.take() {
            let _ = conn.close(200, "task stopped").await;
        }
        Ok(())
    }
}
