//! AMQP messages ⇄ Connect records, in Confluent's formats.
//!
//! Source: value = body (BYTES), key = `message-id` (optional STRING), timestamp = the AMQP
//! `timestamp` property (seconds, as milliseconds) or the arrival time, headers
//! `rabbitmq.consumer.tag`, `rabbitmq.content.type`, … `rabbitmq.routing.key` in Confluent's
//! order, then `rabbitmq.headers.<name>` per AMQP header. Sink: body = value bytes,
//! `rabbitmq.forward.kafka.*` as Confluent's sink maps them.

use std::sync::{Arc, OnceLock};

use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::BasicProperties;
use sluice_api::data::{logical, schemas, SchemaBuilder, SchemaRef, Value};
use sluice_api::record::{OffsetMap, SinkRecord, SourceRecord, Topic};
use sluice_api::{offset_map, ConnectError, Result};

pub const ROUTING_KEY_FIELD: &str = "routingKey";
pub const DELIVERY_TAG_FIELD: &str = "deliveryTag";
pub const CONSUMER_TAG_HEADER: &str = "rabbitmq.consumer.tag";
pub const DELIVERY_TAG_HEADER: &str = "rabbitmq.delivery.tag";
pub const HEADER_PREFIX: &str = "rabbitmq.headers.";

/// The source partition of a routing key (jcustenborder's `{"routingKey": …}`).
pub fn partition(routing_key: &str) -> OffsetMap {
    offset_map![(ROUTING_KEY_FIELD.into(), Value::from(routing_key))]
}

fn optional_timestamp() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| logical::timestamp_builder().optional().build())
        .clone()
}

fn string_array() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| SchemaBuilder::array(schemas::string()).optional().build())
        .clone()
}

fn opt_str(v: &Option<ShortString>) -> Value {
    v.as_ref()
        .map_or(Value::Null, |s| Value::String(s.as_str().to_string()))
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// An AMQP header value as a Connect header: strings, numbers and booleans typed, a
/// timestamp as Timestamp, an array as ARRAY<STRING>. Nested tables and decimals (which
/// fail Confluent's task) become their text.
fn header_value(v: &AMQPValue) -> (Option<SchemaRef>, Value) {
    match v {
        AMQPValue::Boolean(b) => (Some(schemas::optional_boolean()), Value::Boolean(*b)),
        AMQPValue::ShortShortInt(i) => (Some(schemas::optional_int8()), Value::Int8(*i)),
        AMQPValue::ShortShortUInt(i) => {
            (Some(schemas::optional_int16()), Value::Int16(i16::from(*i)))
        }
        AMQPValue::ShortInt(i) => (Some(schemas::optional_int16()), Value::Int16(*i)),
        AMQPValue::ShortUInt(i) => (Some(schemas::optional_int32()), Value::Int32(i32::from(*i))),
        AMQPValue::LongInt(i) => (Some(schemas::optional_int32()), Value::Int32(*i)),
        AMQPValue::LongUInt(i) => (Some(schemas::optional_int64()), Value::Int64(i64::from(*i))),
        AMQPValue::LongLongInt(i) => (Some(schemas::optional_int64()), Value::Int64(*i)),
        AMQPValue::Float(f) => (Some(schemas::optional_float32()), Value::Float32(*f)),
        AMQPValue::Double(f) => (Some(schemas::optional_float64()), Value::Float64(*f)),
        AMQPValue::ShortString(s) => (
            Some(schemas::optional_string()),
            Value::String(s.as_str().to_string()),
        ),
        AMQPValue::LongString(s) => (
            Some(schemas::optional_string()),
            Value::String(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        ),
        AMQPValue::Timestamp(t) => (
            Some(optional_timestamp()),
            Value::Int64(
                i64::try_from(*t)
                    .unwrap_or(i64::MAX / 1000)
                    .saturating_mul(1000),
            ),
        ),
        AMQPValue::FieldArray(a) => (
            Some(string_array()),
            Value::Array(
                a.as_slice()
                    .iter()
                    .map(|v| Value::String(text(v)))
                    .collect(),
            ),
        ),
        AMQPValue::ByteArray(b) => (
            Some(schemas::optional_bytes()),
            Value::Bytes(b.as_slice().to_vec()),
        ),
        AMQPValue::Void => (Some(schemas::optional_string()), Value::Null),
        other => (Some(schemas::optional_string()), Value::String(text(other))),
    }
}

/// The text of an AMQP value (array items, nested tables).
fn text(v: &AMQPValue) -> String {
    match v {
        AMQPValue::ShortString(s) => s.as_str().to_string(),
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::Boolean(b) => b.to_string(),
        AMQPValue::ShortShortInt(i) => i.to_string(),
        AMQPValue::ShortShortUInt(i) => i.to_string(),
        AMQPValue::ShortInt(i) => i.to_string(),
        AMQPValue::ShortUInt(i) => i.to_string(),
        AMQPValue::LongInt(i) => i.to_string(),
        AMQPValue::LongUInt(i) => i.to_string(),
        AMQPValue::LongLongInt(i) => i.to_string(),
        AMQPValue::Float(f) => f.to_string(),
        AMQPValue::Double(f) => f.to_string(),
        AMQPValue::Timestamp(t) => t.to_string(),
        AMQPValue::Void => String::new(),
        other => format!("{other:?}"),
    }
}

/// The record of one delivery.
pub fn to_record(
    partition: Arc<OffsetMap>,
    topic: Topic,
    consumer_tag: &str,
    delivery: lapin::message::Delivery,
) -> SourceRecord {
    let p = &delivery.properties;
    let timestamp = p
        .timestamp()
        .and_then(|t| i64::try_from(t).ok())
        .map(|t| t.saturating_mul(1000));
    let mut rec = SourceRecord::new(
        partition,
        offset_map![(
            DELIVERY_TAG_FIELD.into(),
            Value::Int64(delivery.delivery_tag as i64)
        )],
        topic,
        Some(schemas::bytes()),
        Value::Bytes(delivery.data),
    );
    let r = &mut rec.record;
    r.key_schema = Some(schemas::optional_string());
    r.key = opt_str(p.message_id());
    r.timestamp = Some(timestamp.unwrap_or_else(now_millis));
    let h = &mut r.headers;
    // The 17 fixed headers and one per AMQP header, without growing the list on the way.
    h.reserve(17 + p.headers().as_ref().map_or(0, |t| t.inner().len()));
    let s = || Some(schemas::optional_string());
    h.add(
        CONSUMER_TAG_HEADER,
        Some(schemas::string()),
        Value::from(consumer_tag),
    );
    h.add("rabbitmq.content.type", s(), opt_str(p.content_type()));
    h.add(
        "rabbitmq.content.encoding",
        s(),
        opt_str(p.content_encoding()),
    );
    h.add(
        "rabbitmq.delivery.mode",
        Some(schemas::int32()),
        Value::Int32(p.delivery_mode().map_or(0, i32::from)),
    );
    h.add(
        "rabbitmq.priority",
        Some(schemas::int32()),
        Value::Int32(p.priority().map_or(0, i32::from)),
    );
    h.add("rabbitmq.correlation.id", s(), opt_str(p.correlation_id()));
    h.add("rabbitmq.reply.to", s(), opt_str(p.reply_to()));
    h.add("rabbitmq.expiration", s(), opt_str(p.expiration()));
    h.add("rabbitmq.message.id", s(), opt_str(p.message_id()));
    h.add(
        "rabbitmq.timestamp",
        Some(optional_timestamp()),
        timestamp.map_or(Value::Null, Value::Int64),
    );
    h.add("rabbitmq.type", s(), opt_str(p.kind()));
    h.add("rabbitmq.user.id", s(), opt_str(p.user_id()));
    h.add("rabbitmq.app.id", s(), opt_str(p.app_id()));
    h.add(
        DELIVERY_TAG_HEADER,
        Some(schemas::int64()),
        Value::Int64(delivery.delivery_tag as i64),
    );
    h.add(
        "rabbitmq.redeliver",
        Some(schemas::boolean()),
        Value::Boolean(delivery.redelivered),
    );
    h.add(
        "rabbitmq.exchange",
        s(),
        Value::String(delivery.exchange.as_str().to_string()),
    );
    h.add(
        "rabbitmq.routing.key",
        s(),
        Value::String(delivery.routing_key.as_str().to_string()),
    );
    if let Some(table) = p.headers() {
        for (name, v) in table.inner() {
            let (schema, value) = header_value(v);
            h.add(format!("{HEADER_PREFIX}{}", name.as_str()), schema, value);
        }
    }
    rec
}

/// The consumer tag and delivery tag to acknowledge a record with (from its headers, which
/// the runtime hands back as polled).
pub fn ack_handle(record: &SourceRecord) -> Option<(Arc<str>, u64)> {
    let headers = &record.record.headers;
    let consumer = match &headers.last_with_name(CONSUMER_TAG_HEADER)?.value {
        Value::String(s) => s.as_str(),
        _ => return None,
    };
    let tag = match headers.last_with_name(DELIVERY_TAG_HEADER)?.value {
        Value::Int64(t) => u64::try_from(t).ok()?,
        _ => return None,
    };
    Some((consumer.into(), tag))
}

/// How the sink publishes.
#[derive(Clone, Debug)]
pub struct Publish {
    /// 2 (PERSISTENT) or 1 (TRANSIENT).
    pub delivery_mode: u8,
    pub forward_key: bool,
    pub forward_metadata: bool,
    pub forward_headers: bool,
}

/// `Values.convertToString` for the primitive values a key or header usually holds.
fn value_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        other => Some(other.to_string()),
    }
}

/// The body and properties of a sink record. The value must be bytes (`ByteArrayConverter`)
/// or a string; null is an empty body. Anything else is a data error.
pub fn to_message(record: &SinkRecord, how: &Publish) -> Result<(Vec<u8>, BasicProperties)> {
    let r = &record.record;
    let body = match &r.value {
        Value::Bytes(b) => b.clone(),
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Null => Vec::new(),
        other => {
            return Err(ConnectError::data(format!(
                "The RabbitMQ sink publishes bytes: the value of {}-{}@{} is {} (use value.converter=org.apache.kafka.connect.converters.ByteArrayConverter)",
                r.topic,
                r.kafka_partition.unwrap_or(-1),
                record.kafka_offset,
                other.java_class_name()
            )))
        }
    };
    let mut props = BasicProperties::default().with_delivery_mode(how.delivery_mode);
    if how.forward_key {
        if let Some(k) = value_string(&r.key) {
            props = props.with_correlation_id(ShortString::from(k));
        }
    }
    let mut table = FieldTable::default();
    if how.forward_metadata {
        table.insert(
            "KAFKA_TOPIC".into(),
            AMQPValue::LongString(r.topic.to_string().into()),
        );
        table.insert(
            "KAFKA_PARTITION".into(),
            AMQPValue::LongInt(r.kafka_partition.unwrap_or(-1)),
        );
        table.insert(
            "KAFKA_OFFSET".into(),
            AMQPValue::LongLongInt(record.kafka_offset),
        );
    }
    if how.forward_headers {
        for h in r.headers.iter() {
            if let Some(v) = value_string(&h.value) {
                table.insert(
                    format!("kafka-{}", h.key).into(),
                    AMQPValue::LongString(v.into()),
                );
            }
        }
    }
    if !table.inner().is_empty() {
        props = props.with_headers(table);
    }
    Ok((body, props))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{FieldArray, LongString};

    #[test]
    fn amqp_headers_become_typed_connect_headers() {
        let check = |v: AMQPValue, expected: Value| {
            assert_eq!(header_value(&v).1, expected, "{v:?}");
        };
        check(AMQPValue::Boolean(true), Value::Boolean(true));
        check(AMQPValue::LongInt(-3), Value::Int32(-3));
        check(AMQPValue::LongLongInt(7), Value::Int64(7));
        check(
            AMQPValue::LongString(LongString::from("x")),
            Value::from("x"),
        );
        check(AMQPValue::Timestamp(2), Value::Int64(2000));
        check(
            AMQPValue::FieldArray(FieldArray::from(vec![
                AMQPValue::LongString("a".into()),
                AMQPValue::LongInt(1),
            ])),
            Value::Array(vec![Value::from("a"), Value::from("1")]),
        );
        assert_eq!(
            header_value(&AMQPValue::Timestamp(2))
                .0
                .and_then(|s| s.logical_name().map(str::to_string))
                .as_deref(),
            Some(logical::TIMESTAMP_NAME)
        );
    }

    #[test]
    fn partition_and_ack_handle() {
        assert_eq!(
            partition("rk"),
            offset_map![(ROUTING_KEY_FIELD.into(), Value::from("rk"))]
        );
        let mut rec = SourceRecord::default();
        assert_eq!(ack_handle(&rec), None);
        rec.record
            .headers
            .add(CONSUMER_TAG_HEADER, None, Value::from("amq.ctag-1"));
        rec.record
            .headers
            .add(DELIVERY_TAG_HEADER, None, Value::Int64(42));
        assert_eq!(ack_handle(&rec), Some(("amq.ctag-1".into(), 42)));
    }

    #[test]
    fn sink_messages_follow_confluent() {
        let mut rec = SinkRecord {
            kafka_offset: 9,
            ..SinkRecord::default()
        };
        rec.record.topic = "t".into();
        rec.record.kafka_partition = Some(2);
        rec.record.key = Value::Int32(5);
        rec.record.value = Value::Bytes(b"hi".to_vec());
        rec.record.headers.add("h", None, Value::from("v"));
        let how = Publish {
            delivery_mode: 2,
            forward_key: true,
            forward_metadata: true,
            forward_headers: true,
        };
        let (body, props) = to_message(&rec, &how).unwrap();
        assert_eq!(body, b"hi");
        assert_eq!(*props.delivery_mode(), Some(2));
        assert_eq!(
            props.correlation_id().as_ref().map(|s| s.as_str()),
            Some("5")
        );
        let headers = props.headers().clone().unwrap();
        let h = headers.inner();
        assert_eq!(h.get("KAFKA_PARTITION"), Some(&AMQPValue::LongInt(2)));
        assert_eq!(h.get("KAFKA_OFFSET"), Some(&AMQPValue::LongLongInt(9)));
        assert_eq!(h.get("kafka-h"), Some(&AMQPValue::LongString("v".into())));
        rec.record.value = Value::Int32(1);
        let e = to_message(&rec, &how).unwrap_err();
        assert!(e.to_string().contains("ByteArrayConverter"), "{e}");
    }
}
