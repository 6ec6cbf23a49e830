//! The only crate that links rdkafka. It gives the runtime what it needs from Kafka and no
//! more: a producer with per-record delivery reports, a consumer that reports partition
//! assignment changes, an admin client, and the mapping of Java client config names to
//! librdkafka's ([`client_config`]).
//!
//! It must not know about connectors, converters or offsets semantics: the runtime owns those.
//!
//! # Layout
//! - [`producer`]: `Producer` and its delivery reports.
//! - [`consumer`]: `Consumer`, borrowed records and rebalance events.
//! - [`admin`]: topic creation, cluster id, consumer group offsets.
//! - [`log`]: `KafkaBasedLog`, a compacted topic read to its end and written with acks.
//! - [`client_config`]: Java client config -> librdkafka.
//! - [`jaas_file`]: the `KafkaClient` section of a JAAS login configuration file.
//! - [`context`]: rdkafka log and error callbacks routed to `tracing`.
//! - [`stats`]: the clients' network totals from librdkafka's statistics, for `/metrics`.

pub mod admin;
pub mod client_config;
pub mod consumer;
pub mod context;
mod error;
pub mod jaas_file;
pub mod log;
pub mod producer;
pub mod stats;

pub use error::KafkaError;

/// librdkafka settings, already mapped from Java names.
pub type RdConfig = std::collections::BTreeMap<String, String>;

pub(crate) fn client_config(settings: &RdConfig) -> rdkafka::ClientConfig {
    let mut cfg = rdkafka::ClientConfig::new();
    for (k, v) in settings {
        cfg.set(k, v);
    }
    cfg
}
