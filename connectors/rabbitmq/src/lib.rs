//! RabbitMQ connectors over AMQP 0-9-1: they replace Confluent's
//! `io.confluent.connect.rabbitmq.RabbitMQSourceConnector` and
//! `io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector`, and accept the jcustenborder and
//! themeetgroup class names with the same `rabbitmq.*` keys.
//!
//! At least once both ways: the source acknowledges a delivery to RabbitMQ only once Kafka has
//! its record and Connect committed offsets after that (the runtime's per-record commit hook
//! and its `commit`); the sink returns from `put` only once
//! RabbitMQ confirmed every message, so offsets are committed only for confirmed messages.
//! Retries, tolerance and offsets belong to the runtime.
//!
//! # Layout
//! - [`config`]: every key, the connection.
//! - [`tls`]: `rabbitmq.https.ssl.*`, the TLS client.
//! - [`record`]: AMQP messages ⇄ Connect records.
//! - [`source`], [`sink`]: connectors and tasks.

pub mod config;
pub mod record;
pub mod sink;
pub mod source;
pub mod tls;

use sluice_api::connector::ConnectorPlugin;

/// The version reported for these plugins (Confluent's connector line they mirror).
pub const VERSION: &str = "1.7.0";

/// The connector plugins of this crate.
pub fn plugins() -> Vec<ConnectorPlugin> {
    let mut all = source::plugins();
    all.extend(sink::plugins());
    all
}
