//! Kafka's file connectors: `FileStreamSourceConnector` reads lines of a file (or stdin) into a
//! topic, `FileStreamSinkConnector` writes record values to a file (or stdout), one per line.
//!
//! They only read and write files: offsets, retries and conversion belong to the runtime.
//!
//! # Layout
//! - [`source`]: the source connector and task.
//! - [`sink`]: the sink connector and task.

pub mod sink;
pub mod source;

use sluice_api::connector::ConnectorPlugin;

/// The Kafka version these connectors mirror, reported as their plugin version.
pub const VERSION: &str = "3.9.0";

/// The connector plugins of this crate.
pub fn plugins() -> Vec<ConnectorPlugin> {
    vec![source::plugin(), sink::plugin()]
}
