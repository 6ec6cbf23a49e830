//! PostgreSQL change data capture: a drop-in for Debezium's
//! `io.debezium.connector.postgresql.PostgresConnector` (task
//! `io.debezium.connector.postgresql.PostgresConnectorTask`).
//!
//! It snapshots the captured tables under the snapshot a new replication slot exports, then
//! streams the slot with the built-in `pgoutput` plugin, and emits Debezium's change events
//! (same topics, keys, envelope, `source` block, schema names and semantic types) with
//! Debezium's source partition and offsets, so a deployment can switch over and keep its
//! position. It only reads PostgreSQL: offsets are committed by the runtime, and the slot's
//! confirmed flush LSN moves only to what the runtime committed (`SourceTask::commit`).
//!
//! # Layout
//! - [`config`]: every key, with Debezium's names, defaults and validators.
//! - [`source`]: the connector and task (snapshot, streaming, heartbeats, flushes).
//! - [`replication`]: the replication connection (startup, authentication, TLS, CopyBoth).
//! - [`pgoutput`]: decoding of the `pgoutput` logical replication messages.
//! - [`types`]: PostgreSQL types to Connect schemas and values (Debezium's semantic types).
//! - [`schema`]: table metadata, key/value/envelope schemas and the `source` block.
//! - [`offsets`]: Debezium's partition and offset maps (golden-tested).

pub mod config;
pub mod offsets;
pub mod pgoutput;
pub mod replication;
pub mod schema;
pub mod source;
pub mod types;

use sluice_api::connector::ConnectorPlugin;

/// The Debezium release whose events and offsets this connector reproduces; reported as the
/// plugin version and in `source.version`.
pub const VERSION: &str = "3.6.1.Final";

/// The connector plugins of this crate.
pub fn plugins() -> Vec<ConnectorPlugin> {
    vec![source::plugin()]
}
