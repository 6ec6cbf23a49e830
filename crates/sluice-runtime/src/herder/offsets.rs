//! KIP-875 offsets as a herder reads and changes them: source offsets in the offset store,
//! sink offsets in the consumer group `connect-<name>`. [`modify`] checks that the connector is
//! STOPPED before changing anything; both herders call it.

use serde_json::{Map, Value as Json};
use sluice_api::config::{parse_list, RawConfig};
use sluice_api::connector::{ConnectorKind, ConnectorPlugin};
use sluice_api::record::OffsetMap;
use sluice_api::ConnectError;

use super::{ConnectorEntry, Offsets, PartitionOffset};
use crate::clients;
use crate::config::connector::{CONNECTOR_CLASS, TOPICS, TOPICS_REGEX};
use crate::offsets::codec;
use crate::task::TargetState;
use crate::worker::Worker;

const KAFKA_TOPIC: &str = "kafka_topic";
const KAFKA_PARTITION: &str = "kafka_partition";
const KAFKA_OFFSET: &str = "kafka_offset";

fn sink_partition(topic: &str, partition: i32) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert(KAFKA_TOPIC.into(), Json::from(topic));
    m.insert(KAFKA_PARTITION.into(), Json::from(partition));
    m
}

fn sink_offset(offset: i64) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert(KAFKA_OFFSET.into(), Json::from(offset));
    m
}

/// Parses a sink partition/offset as `SinkUtils.parseSinkConnectorOffsets` does: numbers may
/// be JSON numbers or strings.
fn parse_sink_offset(po: &PartitionOffset) -> Result<(String, i32, Option<i64>), ConnectError> {
    let p = &po.partition;
    if !p.contains_key(KAFKA_TOPIC) || !p.contains_key(KAFKA_PARTITION) {
        return Err(ConnectError::config(format!(
            "The partition for a sink connector offset must contain the keys '{KAFKA_TOPIC}' and '{KAFKA_PARTITION}'"
        )));
    }
    let topic = match &p[KAFKA_TOPIC] {
        Json::String(s) => s.clone(),
        _ => {
            return Err(ConnectError::config(
                "Kafka topic names must be valid strings and may not be null",
            ))
        }
    };
    let number = |v: &Json| match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    let raw_partition = &p[KAFKA_PARTITION];
    if raw_partition.is_null() {
        return Err(ConnectError::config(
            "Kafka partitions must be valid numbers and may not be null",
        ));
    }
    let partition = number(raw_partition)
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| {
            ConnectError::config(format!(
                "Failed to parse the following Kafka partition value in the provided offsets: '{}'. Partition values for sink connectors need to be integers.",
                display(raw_partition)
            ))
        })?;
    let offset = match &po.offset {
        None => None,
        Some(o) => {
            let v = o.get(KAFKA_OFFSET).ok_or_else(|| {
                ConnectError::config(format!(
                    "The offset for a sink connector should either be null or contain the key '{KAFKA_OFFSET}'"
                ))
            })?;
            Some(number(v).ok_or_else(|| {
                ConnectError::config(format!(
                    "Failed to parse the following Kafka offset value in the provided offsets: '{}'. Offset values for sink connectors need to be integers.",
                    display(v)
                ))
            })?)
        }
    };
    Ok((topic, partition, offset))
}

fn display(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn source_offsets(worker: &Worker, name: &str) -> Offsets {
    worker
        .offsets
        .connector_offsets(name)
        .into_iter()
        .filter_map(|(p, o)| {
            Some(PartitionOffset {
                partition: codec::offset_map_to_json(&p).ok()?,
                offset: Some(codec::offset_map_to_json(&o?).ok()?),
            })
        })
        .collect()
}

fn sink_topic_filter(config: &RawConfig) -> impl Fn(&str) -> bool + Send + 'static {
    let topics = parse_list(config.get(TOPICS).map_or("", |s| s));
    let regex = config
        .get(TOPICS_REGEX)
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .and_then(|r| regex::Regex::new(&format!("^(?:{r})$")).ok());
    move |t: &str| topics.iter().any(|x| x == t) || regex.as_ref().is_some_and(|r| r.is_match(t))
}

pub(super) async fn sink_offsets(
    worker: &Worker,
    name: &str,
    config: &RawConfig,
) -> Result<Offsets, ConnectError> {
    let admin = sink_admin(worker, name, config)?;
    let found = admin
        .group_offsets(&format!("connect-{name}"), sink_topic_filter(config))
        .await
        .map_err(|e| {
            ConnectError::fatal(format!(
                "Failed to retrieve consumer group offsets for sink connector {name}: {e}"
            ))
        })?;
    Ok(found
        .into_iter()
        .map(|(topic, partition, offset)| PartitionOffset {
            partition: sink_partition(&topic, partition),
            offset: Some(sink_offset(offset)),
        })
        .collect())
}

fn sink_admin(
    worker: &Worker,
    name: &str,
    config: &RawConfig,
) -> Result<sluice_kafka::admin::Admin, ConnectError> {
    let settings = clients::admin(&worker.config, config, name)?;
    // Kafka's client id for the worker's admin client of a connector's offsets (KIP-875).
    sluice_kafka::admin::Admin::new(&format!("connector-worker-adminclient-{name}"), &settings)
        .map_err(|e| ConnectError::fatal(e.to_string()))
}

/// Alters (`Some`) or resets (`None`) a connector's offsets, once it is STOPPED with no task
/// configs (KIP-875); whether the connector also handled offsets it keeps elsewhere.
pub(super) async fn modify(
    worker: &Worker,
    name: &str,
    entry: &ConnectorEntry,
    offsets: Option<Offsets>,
) -> Result<bool, ConnectError> {
    if entry.target != TargetState::Stopped || !entry.tasks.is_empty() {
        return Err(ConnectError::config(format!(
            "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
        )));
    }
    let class = entry
        .config
        .get(CONNECTOR_CLASS)
        .cloned()
        .unwrap_or_default();
    let plugin = *worker
        .plugins
        .connector(&class)
        .ok_or_else(|| ConnectError::fatal(format!("Connector class {class} is not available")))?;
    match plugin.kind {
        ConnectorKind::Source => {
            // A Kafka-backed store reads the offsets topic to its end first (no-op for a file).
            worker.offsets.refresh().await.map_err(|e| {
                ConnectError::fatal(format!(
                    "Failed to read the offsets of connector {name}: {e}"
                ))
            })?;
            modify_source(worker, name, entry, plugin, offsets).await
        }
        ConnectorKind::Sink => modify_sink(worker, name, entry, plugin, offsets).await,
    }
}

async fn modify_source(
    worker: &Worker,
    name: &str,
    entry: &ConnectorEntry,
    plugin: ConnectorPlugin,
    offsets: Option<Vec<PartitionOffset>>,
) -> Result<bool, ConnectError> {
    let parsed: Vec<(OffsetMap, Option<OffsetMap>)> = match offsets {
        Some(list) => list
            .iter()
            .map(|po| {
                (
                    codec::json_to_offset_map(&po.partition),
                    po.offset.as_ref().map(codec::json_to_offset_map),
                )
            })
            .collect(),
        None => worker
            .offsets
            .connector_offsets(name)
            .into_iter()
            .filter(|(_, o)| o.is_some())
            .map(|(p, _)| (p, None))
            .collect(),
    };
    let connector = (plugin.new_connector)();
    let handled = connector.alter_offsets(&entry.config, &parsed)?;
    let mut writes = Vec::with_capacity(parsed.len());
    for (partition, offset) in &parsed {
        let key = codec::encode_key(name, partition)
            .map_err(|e| ConnectError::config(e.message().to_string()))?;
        let value = match offset {
            Some(o) => Some(
                codec::encode_offset(o)
                    .map_err(|e| ConnectError::config(e.message().to_string()))?,
            ),
            None => None,
        };
        writes.push((key, value));
    }
    worker.offsets.set(writes).await.map_err(|e| {
        ConnectError::fatal(format!("Failed to write offsets for connector {name}: {e}"))
    })?;
    Ok(handled)
}

async fn modify_sink(
    worker: &Worker,
    name: &str,
    entry: &ConnectorEntry,
    plugin: ConnectorPlugin,
    offsets: Option<Vec<PartitionOffset>>,
) -> Result<bool, ConnectError> {
    let admin = sink_admin(worker, name, &entry.config)?;
    let group = format!("connect-{name}");
    let connector = (plugin.new_connector)();
    match offsets {
        Some(list) => {
            let mut parsed = Vec::with_capacity(list.len());
            for po in &list {
                parsed.push(parse_sink_offset(po)?);
            }
            let as_maps: Vec<_> = list
                .iter()
                .map(|po| {
                    (
                        codec::json_to_offset_map(&po.partition),
                        po.offset.as_ref().map(codec::json_to_offset_map),
                    )
                })
                .collect();
            let handled = connector.alter_offsets(&entry.config, &as_maps)?;
            admin
                .alter_group_offsets(&group, parsed)
                .await
                .map_err(|e| {
                    ConnectError::fatal(format!(
                        "Failed to alter consumer group offsets for connector {name}: {e}"
                    ))
                })?;
            Ok(handled)
        }
        None => {
            let handled = connector.alter_offsets(&entry.config, &[])?;
            admin.delete_group(&group).await.map_err(|e| {
                ConnectError::fatal(format!(
                    "Failed to delete consumer group {group} for connector {name}: {e}"
                ))
            })?;
            Ok(handled)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn po(partition: Json, offset: Json) -> PartitionOffset {
        PartitionOffset {
            partition: partition.as_object().cloned().unwrap_or_default(),
            offset: offset.as_object().cloned(),
        }
    }

    #[test]
    fn sink_offsets_parse_like_sink_utils() {
        let ok = |p: Json, o: Json| parse_sink_offset(&po(p, o)).map_err(|e| e.to_string());
        assert_eq!(
            ok(
                json!({"kafka_topic": "t", "kafka_partition": 3}),
                json!({"kafka_offset": 5})
            ),
            Ok(("t".to_string(), 3, Some(5)))
        );
        assert_eq!(
            ok(
                json!({"kafka_topic": "t", "kafka_partition": "3"}),
                json!({"kafka_offset": "5"})
            ),
            Ok(("t".to_string(), 3, Some(5)))
        );
        assert_eq!(
            ok(
                json!({"kafka_topic": "t", "kafka_partition": 0}),
                Json::Null
            ),
            Ok(("t".to_string(), 0, None))
        );
        let err = |p: Json, o: Json| {
            parse_sink_offset(&po(p, o))
                .unwrap_err()
                .message()
                .to_string()
        };
        assert_eq!(
            err(json!({"kafka_topic": "t"}), Json::Null),
            "The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'"
        );
        assert_eq!(
            err(
                json!({"kafka_topic": null, "kafka_partition": 0}),
                Json::Null
            ),
            "Kafka topic names must be valid strings and may not be null"
        );
        assert_eq!(
            err(
                json!({"kafka_topic": "t", "kafka_partition": null}),
                Json::Null
            ),
            "Kafka partitions must be valid numbers and may not be null"
        );
        assert_eq!(
            err(json!({"kafka_topic": "t", "kafka_partition": 0}), json!({"x": 1})),
            "The offset for a sink connector should either be null or contain the key 'kafka_offset'"
        );
        assert_eq!(
            err(json!({"kafka_topic": "t", "kafka_partition": 0}), json!({"kafka_offset": "a"})),
            "Failed to parse the following Kafka offset value in the provided offsets: 'a'. Offset values for sink connectors need to be integers."
        );
    }
}
