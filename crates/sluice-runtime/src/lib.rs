//! The Sluice worker runtime: everything between plugins and Kafka.
//!
//! It owns the hard parts: task drivers (poll/convert/produce, consume/convert/put), offset
//! commits, the transformation chain, converters per connector, the plugin registry and the
//! herders that decide what runs. Plugins never commit offsets or retry: this crate does.
//!
//! It must not define REST JSON shapes (that is `sluice-rest`) nor link rdkafka directly
//! (that is `sluice-kafka`).
//!
//! # Layout
//! - [`config`]: worker and connector config definitions and validation.
//! - [`worker`]: runs a connector and its tasks.
//! - [`task`]: the source and sink task drivers.
//! - [`herder`]: the `Herder` the REST API uses; the standalone and distributed herders.
//! - [`storage`]: the config and status topics' record formats (distributed mode).
//! - [`offsets`]: source offset storage (standalone file in Java's format).
//! - [`errors`]: retries, `errors.tolerance`, the log reporter and the dead letter queue.
//! - [`secrets`]: secret values remembered so that traces, logs and errors never show them.
//! - [`inspect`]: the record tap and the transform preview (the console's live views).
//! - [`metrics`]: Kafka Connect's metrics and their Prometheus renderings.
//! - [`signature`]: KIP-507 session keys and internal request signatures.
//! - [`topic_creation`]: KIP-158, the topics a source task creates and with what settings.
//! - [`status`], [`plugins`], [`convert`], [`chain`], [`clients`].
//! - `testkit` (feature `testkit`): test-only connector plugins.

pub mod chain;
pub mod clients;
pub mod config;
pub mod convert;
pub mod errors;
pub mod herder;
pub mod inspect;
pub mod metrics;
pub mod offsets;
pub mod plugins;
pub mod secrets;
pub mod signature;
pub mod status;
pub mod storage;
pub mod task;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod topic_creation;
pub mod worker;
