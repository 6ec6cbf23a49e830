//! What error reports say: Kafka's `ProcessingContext.toString`, the `LogReporter` message and
//! the `DeadLetterQueueReporter` context headers.

use sluice_api::record::{ConnectRecord, OffsetMap, TimestampType};

use super::Failure;
use crate::task::TaskId;

/// The record an error happened to, as reports describe it.
// Made only on error paths (and boxed where it travels): its size costs nothing on the hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum RecordContext {
    /// A record a sink task consumed from Kafka.
    Consumed {
        topic: String,
        partition: i32,
        offset: i64,
        timestamp: Option<i64>,
        timestamp_type: TimestampType,
    },
    /// A record a source task polled, before transformation.
    Source {
        source_partition: OffsetMap,
        source_offset: OffsetMap,
        record: ConnectRecord,
    },
}

fn timestamp_type_name(t: TimestampType) -> &'static str {
    match t {
        TimestampType::CreateTime => "CreateTime",
        TimestampType::LogAppendTime => "LogAppendTime",
        TimestampType::NoTimestampType => "NoTimestampType",
    }
}

fn java_map(map: &OffsetMap) -> String {
    let inner: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn java_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "null".to_string(), |v| v.to_string())
}

/// `SourceRecord.toString()`.
fn source_record_text(partition: &OffsetMap, offset: &OffsetMap, r: &ConnectRecord) -> String {
    let schema = |s: &Option<sluice_api::data::SchemaRef>| {
        s.as_ref().map_or_else(
            || "null".to_string(),
            |s| {
                format!(
                    "Schema{{{}}}",
                    s.name.clone().unwrap_or_else(|| s.schema_type.to_string())
                )
            },
        )
    };
    let headers: Vec<String> = r
        .headers
        .iter()
        .map(|h| {
            format!(
                "ConnectHeader(key={}, value={}, schema={})",
                h.key,
                h.value,
                schema(&h.schema)
            )
        })
        .collect();
    format!(
        "SourceRecord{{sourcePartition={}, sourceOffset={}}} ConnectRecord{{topic='{}', kafkaPartition={}, key={}, keySchema={}, value={}, valueSchema={}, timestamp={}, headers=ConnectHeaders(headers={})}}",
        java_map(partition),
        java_map(offset),
        r.topic,
        java_opt(r.kafka_partition),
        r.key,
        schema(&r.key_schema),
        r.value,
        schema(&r.value_schema),
        java_opt(r.timestamp),
        headers.join(", ")
    )
}

/// `ProcessingContext.toString(includeMessage)`: "Executing stage 'S' with class 'C'" and,
/// when asked, where the record came from.
pub fn context_text(failure: &Failure, record: &RecordContext, include_message: bool) -> String {
    let mut out = format!(
        "Executing stage '{}' with class '{}'",
        failure.stage.name(),
        failure.class
    );
    if include_message {
        match record {
            RecordContext::Consumed {
                topic,
                partition,
                offset,
                timestamp,
                timestamp_type,
            } => {
                out.push_str(&format!(
                    ", where consumed record is {{topic='{topic}', partition={partition}, offset={offset}"
                ));
                if matches!(
                    timestamp_type,
                    TimestampType::CreateTime | TimestampType::LogAppendTime
                ) {
                    out.push_str(&format!(
                        ", timestamp={}, timestampType={}",
                        timestamp.unwrap_or(-1),
                        timestamp_type_name(*timestamp_type)
                    ));
                }
                out.push('}');
            }
            RecordContext::Source {
                source_partition,
                source_offset,
                record,
            } => {
                out.push_str(", where source record is = ");
                out.push_str(&source_record_text(source_partition, source_offset, record));
            }
        }
    }
    out.push('.');
    out
}

/// `LogReporter.message`: "Error encountered in task <id>. Executing stage ...".
pub fn log_message(
    id: &TaskId,
    failure: &Failure,
    record: &RecordContext,
    include_messages: bool,
) -> String {
    format!(
        "Error encountered in task {id}. {}",
        context_text(failure, record, include_messages)
    )
}

pub const HEADER_PREFIX: &str = "__connect.errors.";

/// The `__connect.errors.*` headers (`DeadLetterQueueReporter.populateContextHeaders`), all
/// UTF-8 strings. A source record has no consumed position: its topic is the one it was meant
/// for, its partition the one it asked for (or -1), its offset -1.
pub fn context_headers(
    id: &TaskId,
    failure: &Failure,
    record: &RecordContext,
) -> Vec<(String, Option<Vec<u8>>)> {
    let (topic, partition, offset) = match record {
        RecordContext::Consumed {
            topic,
            partition,
            offset,
            ..
        } => (topic.clone(), *partition, *offset),
        RecordContext::Source { record, .. } => (
            record.topic.to_string(),
            record.kafka_partition.unwrap_or(-1),
            -1,
        ),
    };
    let h = |k: &str, v: String| (format!("{HEADER_PREFIX}{k}"), Some(v.into_bytes()));
    vec![
        h("topic", topic),
        h("partition", partition.to_string()),
        h("offset", offset.to_string()),
        h("connector.name", id.connector.clone()),
        h("task.id", id.task.to_string()),
        h("stage", failure.stage.name().to_string()),
        h("class.name", failure.class.clone()),
        h(
            "exception.class.name",
            failure.error.kind().java_class().to_string(),
        ),
        h("exception.message", failure.error.message().to_string()),
        h("exception.stacktrace", failure.error.trace()),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::Stage;
    use super::*;
    use sluice_api::data::Value;
    use sluice_api::ConnectError;

    fn id() -> TaskId {
        TaskId {
            connector: "job".into(),
            task: 0,
        }
    }

    fn failure() -> Failure {
        Failure::new(
            Stage::KeyConverter,
            "org.apache.kafka.connect.json.JsonConverter",
            ConnectError::data("bad key"),
        )
    }

    fn consumed(timestamp_type: TimestampType) -> RecordContext {
        RecordContext::Consumed {
            topic: "test-topic".into(),
            partition: 5,
            offset: 100,
            timestamp: Some(42),
            timestamp_type,
        }
    }

    #[test]
    fn log_message_matches_kafkas_log_reporter() {
        let r = consumed(TimestampType::NoTimestampType);
        assert_eq!(
            log_message(&id(), &failure(), &r, false),
            "Error encountered in task job-0. Executing stage 'KEY_CONVERTER' with class 'org.apache.kafka.connect.json.JsonConverter'."
        );
        assert_eq!(
            log_message(&id(), &failure(), &r, true),
            "Error encountered in task job-0. Executing stage 'KEY_CONVERTER' with class 'org.apache.kafka.connect.json.JsonConverter', where consumed record is {topic='test-topic', partition=5, offset=100}."
        );
        assert_eq!(
            log_message(&id(), &failure(), &consumed(TimestampType::CreateTime), true),
            "Error encountered in task job-0. Executing stage 'KEY_CONVERTER' with class 'org.apache.kafka.connect.json.JsonConverter', where consumed record is {topic='test-topic', partition=5, offset=100, timestamp=42, timestampType=CreateTime}."
        );
    }

    #[test]
    fn source_records_are_described_like_source_record_to_string() {
        let r = RecordContext::Source {
            source_partition: sluice_api::offset_map![("filename".into(), Value::from("f"))],
            source_offset: sluice_api::offset_map![("position".into(), Value::Int64(7))],
            record: ConnectRecord {
                topic: "t".into(),
                value: Value::from("line"),
                ..ConnectRecord::default()
            },
        };
        assert_eq!(
            context_text(&failure(), &r, true),
            "Executing stage 'KEY_CONVERTER' with class 'org.apache.kafka.connect.json.JsonConverter', where source record is = SourceRecord{sourcePartition={filename=f}, sourceOffset={position=7}} ConnectRecord{topic='t', kafkaPartition=null, key=null, keySchema=null, value=line, valueSchema=null, timestamp=null, headers=ConnectHeaders(headers=)}."
        );
    }

    #[test]
    fn dlq_headers_are_kafkas_names_as_utf8_strings() {
        let headers = context_headers(&id(), &failure(), &consumed(TimestampType::CreateTime));
        let text: Vec<(String, String)> = headers
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v.unwrap()).unwrap()))
            .collect();
        let expect = [
            ("__connect.errors.topic", "test-topic"),
            ("__connect.errors.partition", "5"),
            ("__connect.errors.offset", "100"),
            ("__connect.errors.connector.name", "job"),
            ("__connect.errors.task.id", "0"),
            ("__connect.errors.stage", "KEY_CONVERTER"),
            (
                "__connect.errors.class.name",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            (
                "__connect.errors.exception.class.name",
                "org.apache.kafka.connect.errors.DataException",
            ),
            ("__connect.errors.exception.message", "bad key"),
            (
                "__connect.errors.exception.stacktrace",
                "org.apache.kafka.connect.errors.DataException: bad key",
            ),
        ];
        assert_eq!(
            text,
            expect
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        );
    }
}
