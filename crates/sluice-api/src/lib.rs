//! The Sluice connector API: what connector, converter and transform authors build against.
//!
//! It holds the Connect data model (schemas, values, structs, logical types, headers,
//! records), the plugin traits (connectors and tasks, converters, transforms, predicates),
//! Kafka's `ConfigDef`, and the one error type [`ConnectError`].
//!
//! It must stay light: no async runtime, no Kafka client, no HTTP. Only the runtime wires
//! plugins to Kafka, commits offsets, retries and tolerates errors.
//!
//! # Layout
//! - [`data`]: Schema, Value, Struct, logical types, Headers.
//! - [`record`]: ConnectRecord, SourceRecord, SinkRecord, TopicPartition.
//! - [`config`]: ConfigDef and parsed Config.
//! - [`connector`], [`converter`], [`transform`], [`plugin`]: the plugin traits and descriptors.

pub mod config;
pub mod connector;
pub mod converter;
pub mod data;
mod error;
pub mod plugin;
pub mod record;
pub mod transform;

pub use async_trait::async_trait;
pub use error::{BoxError, ConnectError, ErrorKind, Result};

/// An [`OffsetMap`](record::OffsetMap) of the given `(key, value)` entries, like `vec!`.
#[macro_export]
macro_rules! offset_map {
    ($($entry:expr),* $(,)?) => {{
        let map: $crate::record::OffsetMap = $crate::smallvec::smallvec![$($entry),*];
        map
    }};
}

#[doc(hidden)]
pub use smallvec;
