//! TDengine's Kafka Connect plugins (`kafka-connect-tdengine` 1.1.6) for Sluice:
//! `com.taosdata.kafka.connect.sink.TDengineSinkConnector` writes schemaless record values
//! (line, telnet, json) into TDengine, `com.taosdata.kafka.connect.source.TDengineSourceConnector`
//! publishes TDengine tables to topics (query mode, or subscription mode through TDengine TMQ).
//!
//! Both reach TDengine through taosAdapter over HTTP (REST SQL and the schemaless endpoints)
//! and, for subscriptions, its WebSocket TMQ endpoint;
//! a native `jdbc:TAOS://` URL is mapped to taosAdapter on the same host. They only read and
//! write TDengine: retries, tolerance, the DLQ and offset commits belong to the runtime.
//!
//! # Layout
//! - [`config`]: every key with the Java code's defaults and validators.
//! - [`taosadapter`]: the HTTP client and `connection.url` mapping.
//! - [`sink`], [`source`]: the connectors and tasks.
//! - [`subscription`], [`tmq`]: subscription mode and the TMQ WebSocket client.
//! - [`format`]: the source's line and JSON records.
//! - [`offsets`]: partitions and offsets, golden-tested against Java's.

pub mod config;
pub mod format;
pub mod offsets;
pub mod sink;
pub mod source;
pub mod subscription;
pub mod taosadapter;
pub mod tmq;

use sluice_api::connector::ConnectorPlugin;

/// The version of the Java plugin these connectors mirror.
pub const VERSION: &str = "1.1.6";

/// The connector plugins of this crate.
pub fn plugins() -> Vec<ConnectorPlugin> {
    vec![sink::plugin(), source::plugin()]
}
