//! Records: what sources produce, sinks consume and transforms rewrite.

use std::sync::Arc;

use crate::data::{Headers, SchemaRef, Value};

/// A Kafka topic partition.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Kafka's record timestamp type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimestampType {
    #[default]
    NoTimestampType,
    CreateTime,
    LogAppendTime,
}

/// A record's topic name: shared, since a task's records mostly go to a few topics (a clone is
/// a reference count, not an allocation and a copy per record).
pub type Topic = Arc<str>;

/// The part of a record that transforms see and may rewrite (`ConnectRecord`).
///
/// It deliberately carries no source offsets: a transform cannot break offset tracking.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ConnectRecord {
    pub topic: Topic,
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<SchemaRef>,
    pub key: Value,
    pub value_schema: Option<SchemaRef>,
    pub value: Value,
    pub timestamp: Option<i64>,
    pub headers: Headers,
    /// The Kafka offset of a sink record (read-only context for transforms such as
    /// InsertField's `offset.field`); `None` for source records.
    pub kafka_offset: Option<i64>,
}

/// A source partition or offset map: string keys, primitive values, in insertion order
/// (the order decides the bytes of the offset key, see the reference §0). One entry is held
/// inline: a source usually gives each record an offset of one entry, which then costs no
/// allocation (it showed in profiles). Build one with [`offset_map!`](crate::offset_map) or
/// `.collect()`.
pub type OffsetMap = smallvec::SmallVec<[(OffsetKey, Value); 1]>;

/// A key of an [`OffsetMap`]: usually a constant of the connector (`"position"`), so a
/// record's offset map costs no allocation for its keys; keys read back from storage are
/// owned.
pub type OffsetKey = std::borrow::Cow<'static, str>;

/// A record produced by a source task (`SourceRecord`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SourceRecord {
    /// Shared: a task usually emits many records of one partition.
    pub source_partition: Arc<OffsetMap>,
    pub source_offset: OffsetMap,
    pub record: ConnectRecord,
}

impl SourceRecord {
    /// A record with a value only, as most simple sources emit.
    pub fn new(
        source_partition: Arc<OffsetMap>,
        source_offset: OffsetMap,
        topic: impl Into<Topic>,
        value_schema: Option<SchemaRef>,
        value: Value,
    ) -> Self {
        SourceRecord {
            source_partition,
            source_offset,
            record: ConnectRecord {
                topic: topic.into(),
                value_schema,
                value,
                ..ConnectRecord::default()
            },
        }
    }
}

/// A record delivered to a sink task (`SinkRecord`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SinkRecord {
    pub record: ConnectRecord,
    pub kafka_offset: i64,
    pub timestamp_type: TimestampType,
    /// Where the record was read from, before transforms changed topic or partition (KIP-793).
    pub original_topic: Topic,
    pub original_kafka_partition: i32,
    pub original_kafka_offset: i64,
}
