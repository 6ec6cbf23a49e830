//! Confluent's JDBC connectors (`io.confluent.connect.jdbc.JdbcSourceConnector` and
//! `io.confluent.connect.jdbc.JdbcSinkConnector`) on PostgreSQL, MySQL/MariaDB and SQLite:
//! tables into topics, topics into tables, with Confluent's keys, defaults, SQL, type
//! mappings and source offsets.
//!
//! They only read and write databases: offsets, retries, tolerance and the DLQ belong to
//! the runtime. A connector returns errors of the right kind (retriable for an unreachable
//! database, data for a record that cannot be written).
//!
//! # Layout
//! - [`config`]: every key, `connection.url` parsing.
//! - [`db`]: the connection enum, SQL values, table ids; [`postgres`], [`mysql`], [`sqlite`]:
//!   one file per dialect.
//! - [`source`], [`sink`]: the connectors and tasks; [`offsets`]: partitions and offsets.

pub mod config;
pub mod db;
pub mod mysql;
pub mod offsets;
pub mod postgres;
pub mod sink;
pub mod source;
pub mod sqlite;

use sluice_api::connector::ConnectorPlugin;

/// The Confluent connector version these connectors mirror.
pub const VERSION: &str = "10.9.0";

/// The connector plugins of this crate.
pub fn plugins() -> Vec<ConnectorPlugin> {
    vec![source::plugin(), sink::plugin()]
}
