//! The sink side: convert and transform consumed records under the error handler, report
//! records a task declares errant (KIP-610), and hold commits below records whose DLQ write
//! is not yet acknowledged.
//!
//! The hot path converts records borrowed from the consumer. From the first failure in a
//! receive on, records are copied and handled after the receive, in order, where retries can
//! wait and DLQ writes can be awaited.

use std::collections::HashMap;
use std::time::Duration;

use sluice_api::converter::{Converter, HeaderConverter};
use sluice_api::data::Headers;
use sluice_api::record::{ConnectRecord, SinkRecord, TimestampType, Topic, TopicPartition};
use sluice_api::ConnectError;
use sluice_kafka::consumer::InRecord;
use tokio_util::sync::CancellationToken;

use super::dlq::{DeadLetterQueue, DlqRecord, Serialized};
use super::retry::retry;
use super::{ErrorHandler, Failure, RecordContext, Stage};
use crate::chain::TransformChain;
use crate::convert::Converters;

/// The class Kafka names for records a sink task reports as errant.
pub const SINK_TASK_CLASS: &str = "org.apache.kafka.connect.sink.SinkTask";

/// A consumed record copied out of the consumer.
#[derive(Clone, Debug)]
pub struct OwnedRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub timestamp_type: TimestampType,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl OwnedRecord {
    pub fn copy(rec: &InRecord<'_>) -> Self {
        OwnedRecord {
            topic: rec.topic.to_string(),
            partition: rec.partition,
            offset: rec.offset,
            timestamp: rec.timestamp,
            timestamp_type: rec.timestamp_type,
            key: rec.key.map(<[u8]>::to_vec),
            value: rec.value.map(<[u8]>::to_vec),
            headers: rec
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(<[u8]>::to_vec)))
                .collect(),
        }
    }

    pub fn view(&self) -> InRecord<'_> {
        InRecord {
            topic: &self.topic,
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            timestamp_type: self.timestamp_type,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect(),
        }
    }

    pub fn context(&self) -> RecordContext {
        RecordContext::Consumed {
            topic: self.topic.clone(),
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            timestamp_type: self.timestamp_type,
        }
    }

    fn dlq_record(&self) -> DlqRecord<'_> {
        DlqRecord {
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers: self.headers.clone(),
            timestamp: self.timestamp,
        }
    }

    fn position(&self) -> (TopicPartition, i64) {
        (
            TopicPartition::new(self.topic.as_str(), self.partition),
            self.offset + 1,
        )
    }
}

/// Converts (header, key, value) and transforms one consumed record; `Ok(None)` if a
/// transform dropped it. `topic` is `rec.topic`, shared.
pub fn convert(
    converters: &Converters,
    chain: &TransformChain,
    rec: &InRecord<'_>,
    topic: &Topic,
) -> Result<Option<SinkRecord>, Failure> {
    let mut headers = Headers::new();
    for (k, v) in &rec.headers {
        let sv = converters
            .header
            .to_connect_header(rec.topic, k, *v)
            .map_err(|e| Failure::new(Stage::HeaderConverter, &converters.header_class, e))?;
        headers.add(*k, sv.schema, sv.value);
    }
    let key = converters
        .key
        .to_connect(rec.topic, &headers, rec.key)
        .map_err(|e| Failure::new(Stage::KeyConverter, &converters.key_class, e))?;
    let value = converters
        .value
        .to_connect(rec.topic, &headers, rec.value)
        .map_err(|e| Failure::new(Stage::ValueConverter, &converters.value_class, e))?;
    let record = ConnectRecord {
        topic: topic.clone(),
        kafka_partition: Some(rec.partition),
        key_schema: key.schema,
        key: key.value,
        value_schema: value.schema,
        value: value.value,
        timestamp: rec.timestamp,
        headers,
        kafka_offset: Some(rec.offset),
    };
    // Without transforms the record is not moved through the chain (moves of whole records
    // showed as `memmove` in sink profiles).
    let record = if chain.is_empty() {
        record
    } else {
        match chain.apply(record) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(None),
            Err(e) => return Err(Failure::new(Stage::Transformation, e.class, e.error)),
        }
    };
    Ok(Some(SinkRecord {
        record,
        kafka_offset: rec.offset,
        timestamp_type: rec.timestamp_type,
        original_topic: topic.clone(),
        original_kafka_partition: rec.partition,
        original_kafka_offset: rec.offset,
    }))
}

/// A record the sink task reported through `SinkTaskContext::report_errant`.
pub struct Errant {
    pub record: SinkRecord,
    pub error: ConnectError,
}

/// The error handling state a sink driver keeps: the handler and the DLQ.
pub struct SinkErrors {
    pub handler: ErrorHandler,
    pub dlq: Option<DeadLetterQueue<(TopicPartition, i64)>>,
}

impl SinkErrors {
    /// Lowers offsets to commit so none passes a record whose DLQ write is not acknowledged
    /// (that record is then consumed again after a restart: at least once).
    pub fn cap_commit(
        &mut self,
        offsets: &mut [(TopicPartition, i64)],
    ) -> Result<(), ConnectError> {
        let Some(dlq) = self.dlq.as_mut() else {
            return Ok(());
        };
        dlq.take_acked()?;
        let mut lowest: HashMap<&TopicPartition, i64> = HashMap::new();
        for (tp, off) in dlq.pending() {
            let e = lowest.entry(tp).or_insert(*off);
            *e = (*e).min(*off);
        }
        for (tp, off) in offsets.iter_mut() {
            if let Some(low) = lowest.get(tp) {
                *off = (*off).min(*low);
            }
        }
        Ok(())
    }

    /// Waits for outstanding DLQ writes (at shutdown, before the last commit).
    pub async fn flush(&mut self, timeout: Duration) -> Result<(), ConnectError> {
        if let Some(dlq) = self.dlq.as_mut() {
            dlq.flush(timeout).await?;
        }
        Ok(())
    }

    async fn tolerate(
        &mut self,
        failure: &Failure,
        record: Option<&OwnedRecord>,
        fallback: Option<&SinkRecord>,
        converters: &Converters,
        context: &RecordContext,
        position: (TopicPartition, i64),
    ) -> Result<(), ConnectError> {
        self.handler.handle(failure, context)?;
        let Some(dlq) = self.dlq.as_mut() else {
            return Ok(());
        };
        let token = (position.0, position.1 - 1);
        match (record, fallback) {
            (Some(raw), _) => dlq.send(raw.dlq_record(), failure, context, token).await,
            (None, Some(sr)) => {
                // Not from the current batch: serialize it again, as Kafka does for records
                // it has no consumed bytes of.
                let (key, value, headers) = reserialize(converters, &sr.record);
                let rec = DlqRecord {
                    key: key.as_deref(),
                    value: value.as_deref(),
                    headers,
                    timestamp: sr.record.timestamp,
                };
                dlq.send(rec, failure, context, token).await
            }
            (None, None) => Ok(()),
        }
    }
}

fn reserialize(converters: &Converters, r: &ConnectRecord) -> Serialized {
    let mut headers = r.headers.clone();
    let key = converters
        .key
        .from_connect(&r.topic, &mut headers, r.key_schema.as_ref(), &r.key)
        .unwrap_or_default();
    let value = converters
        .value
        .from_connect(&r.topic, &mut headers, r.value_schema.as_ref(), &r.value)
        .unwrap_or_default();
    let headers = headers
        .iter()
        .filter_map(|h| {
            converters
                .header
                .from_connect_header(&r.topic, &h.key, h.schema.as_ref(), &h.value)
                .ok()
                .map(|b| (h.key.clone(), b))
        })
        .collect();
    (key, value, headers)
}

/// Converts and transforms what the consumer hands out, batch by batch.
pub struct SinkPipeline {
    converters: Converters,
    chain: TransformChain,
    /// Records of the current receive from the first failure on.
    deferred: Vec<OwnedRecord>,
    /// The current batch's consumed records, kept (only with a DLQ) so that records the task
    /// reports as errant go to the DLQ byte for byte.
    raw: Option<HashMap<(String, i32, i64), OwnedRecord>>,
    /// The topic of the last record, shared by the records of that topic that follow.
    topic: Topic,
}

/// `name` as a shared topic: the cached one while records keep coming from one topic.
fn shared_topic(cache: &mut Topic, name: &str) -> Topic {
    if &**cache != name {
        *cache = Topic::from(name);
    }
    cache.clone()
}

impl SinkPipeline {
    pub fn new(converters: Converters, chain: TransformChain, keep_raw: bool) -> Self {
        SinkPipeline {
            converters,
            chain,
            deferred: Vec::new(),
            raw: keep_raw.then(HashMap::new),
            topic: Topic::default(),
        }
    }

    /// Handles one record inside the receive: converted records go to `batch`, and the next
    /// offset of each handled record to `positions`.
    pub fn accept(
        &mut self,
        rec: InRecord<'_>,
        batch: &mut Vec<SinkRecord>,
        positions: &mut Vec<(TopicPartition, i64)>,
    ) {
        if let Some(raw) = self.raw.as_mut() {
            raw.insert(
                (rec.topic.to_string(), rec.partition, rec.offset),
                OwnedRecord::copy(&rec),
            );
        }
        if !self.deferred.is_empty() {
            self.deferred.push(OwnedRecord::copy(&rec));
            return;
        }
        let topic = shared_topic(&mut self.topic, rec.topic);
        match convert(&self.converters, &self.chain, &rec, &topic) {
            Ok(Some(r)) => batch.push(r),
            Ok(None) => {}
            Err(_) => {
                self.deferred.push(OwnedRecord::copy(&rec));
                return;
            }
        }
        // Consecutive records mostly share a partition: one entry per run rather than a
        // String allocation per record.
        match positions.last_mut() {
            Some((tp, next)) if tp.partition == rec.partition && tp.topic == rec.topic => {
                *next = rec.offset + 1
            }
            _ => positions.push((
                TopicPartition::new(rec.topic, rec.partition),
                rec.offset + 1,
            )),
        }
    }

    /// Handles the records deferred during the receive: retries, then tolerates (log, count,
    /// DLQ) or returns the error that fails the task. Records before a failure are in `batch`
    /// and `positions` either way, so the driver puts them before failing.
    pub async fn finish(
        &mut self,
        errors: &mut SinkErrors,
        batch: &mut Vec<SinkRecord>,
        positions: &mut Vec<(TopicPartition, i64)>,
        cancel: &CancellationToken,
    ) -> Option<ConnectError> {
        let deferred = std::mem::take(&mut self.deferred);
        for rec in &deferred {
            let view = rec.view();
            let topic = shared_topic(&mut self.topic, &rec.topic);
            let mut retries = 0u64;
            let outcome = retry(&errors.handler.settings, cancel, || {
                retries += 1;
                convert(&self.converters, &self.chain, &view, &topic)
            })
            .await;
            // The first call is the record's first attempt (the receive only deferred it).
            errors
                .handler
                .metrics()
                .record_retries(retries.saturating_sub(1));
            match outcome {
                // Stopping: the rest is consumed again after a restart.
                Err(_) => return None,
                Ok(Ok(Some(r))) => batch.push(r),
                Ok(Ok(None)) => {}
                Ok(Err(failure)) => {
                    let context = rec.context();
                    if let Err(e) = errors
                        .tolerate(
                            &failure,
                            Some(rec),
                            None,
                            &self.converters,
                            &context,
                            rec.position(),
                        )
                        .await
                    {
                        return Some(e);
                    }
                }
            }
            positions.push(rec.position());
        }
        None
    }

    /// Handles records the task reported as errant during `put`. With `errors.tolerance=none`
    /// the first fails the task and `current` is moved back so no commit passes it.
    pub async fn errant(
        &mut self,
        errors: &mut SinkErrors,
        reports: Vec<Errant>,
        current: &mut HashMap<TopicPartition, i64>,
    ) -> Result<(), ConnectError> {
        for Errant { record, error } in reports {
            let tp = TopicPartition::new(&*record.original_topic, record.original_kafka_partition);
            let offset = record.original_kafka_offset;
            let raw = self.raw.as_ref().and_then(|r| {
                r.get(&(
                    record.original_topic.to_string(),
                    record.original_kafka_partition,
                    offset,
                ))
            });
            let context = raw.map_or_else(
                || RecordContext::Consumed {
                    topic: tp.topic.clone(),
                    partition: tp.partition,
                    offset,
                    timestamp: record.record.timestamp,
                    timestamp_type: record.timestamp_type,
                },
                OwnedRecord::context,
            );
            let failure = Failure::new(Stage::TaskPut, SINK_TASK_CLASS, error);
            let position = (tp.clone(), offset + 1);
            if let Err(e) = errors
                .tolerate(
                    &failure,
                    raw,
                    Some(&record),
                    &self.converters,
                    &context,
                    position,
                )
                .await
            {
                if let Some(c) = current.get_mut(&tp) {
                    *c = (*c).min(offset);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Forgets the current batch's consumed records.
    pub fn end_batch(&mut self) {
        if let Some(raw) = self.raw.as_mut() {
            raw.clear();
        }
    }
}
