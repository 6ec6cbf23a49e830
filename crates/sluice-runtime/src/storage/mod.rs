//! The internal topics of distributed mode, in Kafka Connect's exact formats: the config topic
//! ([`config_topic`]) and the status topic ([`status_topic`]). Offsets use the same bytes as
//! standalone mode (`crate::offsets::codec`) in a Kafka-backed `OffsetStore`.
//!
//! These modules are pure: they turn records into state and state into record bytes. The
//! herder does the reading and writing through `sluice_kafka::log::KafkaBasedLog`.

pub mod config_topic;
pub mod status_topic;
