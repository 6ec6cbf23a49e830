//! HTTP connectors: a sink that accepts the configs of Confluent's
//! `io.confluent.connect.http.HttpSinkConnector` and Aiven's
//! `io.aiven.kafka.connect.http.HttpSinkConnector`, and a webhook source that answers each
//! request only once Kafka has its record (with the topic, partition and offset it got), and
//! a polling source with the keys of castorm's
//! `com.github.castorm.kafka.connect.http.HttpSourceConnector`.
//!
//! They only speak HTTP: retries of whole batches, `errors.*`, the DLQ and offsets belong to
//! the runtime.
//!
//! # Layout
//! - [`config`]: every key.
//! - [`sink`]: both sinks' settings, the request loop.
//! - [`webhook`]: the listening source.
//! - [`poll`]: the polling source.
//! - [`json`]: Connect values as JSON bodies.

pub mod config;
pub mod json;
pub mod poll;
pub mod sink;
pub mod webhook;

use sluice_api::connector::ConnectorPlugin;

/// The version reported for these plugins.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The connector plugins of this crate.
pub fn plugins() -> Vec<ConnectorPlugin> {
    let mut all = sink::plugins();
    all.push(webhook::plugin());
    all.push(poll::plugin());
    all
}
