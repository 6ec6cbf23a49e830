//! MQTT 3.1.1 connectors with the configs of Confluent's
//! `io.confluent.connect.mqtt.MqttSourceConnector` and `MqttSinkConnector`.
//!
//! The source acknowledges a QoS 1/2 message to the broker only once Kafka has its record
//! (Confluent's acknowledges on arrival); the sink returns from `put` only once the broker
//! acknowledged every message. They only speak MQTT: offsets, retries and `errors.*` belong
//! to the runtime.
//!
//! # Layout
//! - [`config`]: every key, the client options.
//! - [`source`], [`sink`]: connectors and tasks.

pub mod config;
pub mod sink;
pub mod source;

use sluice_api::connector::ConnectorPlugin;

/// The version reported for these plugins.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The connector plugins of this crate.
pub fn plugins() -> Vec<ConnectorPlugin> {
    vec![source::plugin(), sink::plugin()]
}
