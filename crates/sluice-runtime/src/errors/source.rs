//! The source side: transform and convert polled records under the error handler. Sluice
//! goes beyond Kafka here: a source connector may have a dead letter queue too, which
//! receives the record as polled (before transforms), with the same context headers.
//!
//! DLQ bytes of a source record: the key and value as the connector's converters write them;
//! when they cannot (a converter was what failed), both as JsonConverter with schemas, so the
//! record stays readable and self-describing. Headers go through the header converter; one it
//! cannot convert is left out (and logged).

use std::sync::Arc;

use sluice_api::config::RawConfig;
use sluice_api::converter::{Converter, ConverterRole, HeaderConverter};
use sluice_api::record::{ConnectRecord, OffsetMap, Topic};
use sluice_api::ConnectError;
use tokio_util::sync::CancellationToken;

use super::dlq::{DeadLetterQueue, DlqRecord, Serialized};
use super::retry::retry;
use super::{ErrorHandler, Failure, RecordContext, Stage};
use crate::chain::TransformChain;
use crate::convert::Converters;

/// The class Kafka names for producer failures of a source task.
pub const SOURCE_TASK_CLASS: &str = "org.apache.kafka.connect.runtime.WorkerSourceTask";

/// The bytes of a record ready to produce. The transformed record stays in the caller's slot
/// (topic, partition, timestamp; its key and value moved into these bytes) and the converted
/// headers are in the caller's buffer: records are processed where they lie in the polled
/// batch, not moved (moving ~200-byte records showed as `memmove` in profiles).
pub struct Ready {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// What became of a polled record.
// `Ready` is the common case; boxing it would allocate once per record.
#[allow(clippy::large_enum_variant)]
pub enum Processed {
    Ready(Ready),
    /// A transform dropped it.
    Dropped,
    /// It failed and was tolerated; with a DLQ, write it there before its offset counts.
    Tolerated(Box<(Failure, RecordContext)>),
    /// The task is stopping.
    Cancelled,
}

/// The error handling state of a source driver.
pub struct SourceErrors {
    pub handler: ErrorHandler,
    /// Tokens are the driver's submission sequence numbers.
    pub dlq: Option<DeadLetterQueue<usize>>,
}

/// Transforms and converts polled records.
pub struct SourcePipeline {
    converters: Converters,
    chain: TransformChain,
    /// Keep the polled record for retries, the DLQ or logging it.
    keep_original: bool,
}

impl SourcePipeline {
    pub fn new(converters: Converters, chain: TransformChain, handler: &ErrorHandler) -> Self {
        let s = &handler.settings;
        let keep_original = s.dlq_topic.is_some()
            || s.log_include_messages
            || s.retry_timeout != Some(std::time::Duration::ZERO);
        SourcePipeline {
            converters,
            chain,
            keep_original,
        }
    }

    /// Transforms `record` in place and converts it; its key and value move into the bytes.
    fn attempt(
        &self,
        record: &mut ConnectRecord,
        headers_out: &mut Vec<(String, Option<Vec<u8>>)>,
    ) -> Result<Option<Ready>, Failure> {
        if !self.chain.is_empty() {
            match self.chain.apply(std::mem::take(record)) {
                Ok(Some(r)) => *record = r,
                Ok(None) => return Ok(None),
                Err(e) => return Err(Failure::new(Stage::Transformation, e.class, e.error)),
            }
        }
        let c = &self.converters;
        // The key and value move into the converters (a UTF-8 string or bytes becomes the
        // output buffer without a copy); the record keeps its topic, partition and timestamp.
        let mut headers = std::mem::take(&mut record.headers);
        let key = c
            .key
            .from_connect_owned(
                &record.topic,
                &mut headers,
                record.key_schema.as_ref(),
                std::mem::take(&mut record.key),
            )
            .map_err(|e| Failure::new(Stage::KeyConverter, &c.key_class, e))?;
        let value = c
            .value
            .from_connect_owned(
                &record.topic,
                &mut headers,
                record.value_schema.as_ref(),
                std::mem::take(&mut record.value),
            )
            .map_err(|e| Failure::new(Stage::ValueConverter, &c.value_class, e))?;
        // The previous record's header names are overwritten in place: a source whose
        // records carry the same headers then allocates no name per header.
        let mut used = 0;
        for h in headers.iter() {
            let bytes = c
                .header
                .from_connect_header(&record.topic, &h.key, h.schema.as_ref(), &h.value)
                .map_err(|e| Failure::new(Stage::HeaderConverter, &c.header_class, e))?;
            match headers_out.get_mut(used) {
                Some((key, value)) => {
                    key.clear();
                    key.push_str(&h.key);
                    *value = bytes;
                }
                None => headers_out.push((h.key.clone(), bytes)),
            }
            used += 1;
        }
        headers_out.truncate(used);
        record.headers = headers;
        Ok(Some(Ready { key, value }))
    }

    /// Transforms and converts one polled record in place (see [`Ready`]), retrying retriable
    /// failures; a failure that is not tolerated is the task's error.
    pub async fn process(
        &self,
        errors: &mut SourceErrors,
        source_partition: &Arc<OffsetMap>,
        source_offset: &OffsetMap,
        record: &mut ConnectRecord,
        headers_out: &mut Vec<(String, Option<Vec<u8>>)>,
        cancel: &CancellationToken,
    ) -> Result<Processed, ConnectError> {
        let original = self.keep_original.then(|| record.clone());
        let topic = record.topic.clone();
        let first = self.attempt(record, headers_out);
        let result = match (first, &original) {
            (Err(f), Some(orig)) if f.is_retriable() => {
                let mut retries = 0u64;
                let r = retry(&errors.handler.settings, cancel, || {
                    retries += 1;
                    *record = orig.clone();
                    self.attempt(record, headers_out)
                })
                .await;
                errors.handler.metrics().record_retries(retries);
                match r {
                    Ok(r) => r,
                    Err(_) => return Ok(Processed::Cancelled),
                }
            }
            (r, _) => r,
        };
        finish(
            errors,
            result,
            source_partition,
            source_offset,
            original,
            topic,
        )
    }

    /// Whether a failed record may be retried (`errors.retry.timeout` is not 0) or must be
    /// kept for the DLQ or the log: then [`process`](Self::process) is needed; otherwise
    /// [`process_once`](Self::process_once) does the same without an await.
    pub fn may_retry(&self) -> bool {
        self.keep_original
    }

    /// [`process`](Self::process) for a pipeline where [`may_retry`](Self::may_retry) is
    /// false: one attempt, synchronously (the source hot path; an `async fn` moves the record
    /// through its state machine, which showed as copies in profiles).
    pub fn process_once(
        &self,
        errors: &mut SourceErrors,
        source_partition: &Arc<OffsetMap>,
        source_offset: &OffsetMap,
        record: &mut ConnectRecord,
        headers_out: &mut Vec<(String, Option<Vec<u8>>)>,
    ) -> Result<Processed, ConnectError> {
        debug_assert!(!self.keep_original);
        match self.attempt(record, headers_out) {
            Ok(Some(ready)) => Ok(Processed::Ready(ready)),
            Ok(None) => Ok(Processed::Dropped),
            // Without a DLQ or message logging nothing reads more of a failed record than its
            // topic.
            Err(f) => {
                let topic = record.topic.clone();
                finish(errors, Err(f), source_partition, source_offset, None, topic)
            }
        }
    }

    /// Writes a tolerated record to the DLQ; `seq` comes back acknowledged.
    pub async fn send_to_dlq(
        &self,
        dlq: &mut DeadLetterQueue<usize>,
        failure: &Failure,
        context: &RecordContext,
        seq: usize,
    ) -> Result<(), ConnectError> {
        let RecordContext::Source { record, .. } = context else {
            return Ok(());
        };
        let (key, value, headers) = self.dlq_bytes(dlq.topic(), record);
        let rec = DlqRecord {
            key: key.as_deref(),
            value: value.as_deref(),
            headers,
            timestamp: record.timestamp,
        };
        dlq.send(rec, failure, context, seq).await
    }

    fn dlq_bytes(&self, topic: &str, r: &ConnectRecord) -> Serialized {
        let c = &self.converters;
        let mut headers = r.headers.clone();
        let own = c
            .key
            .from_connect(topic, &mut headers, r.key_schema.as_ref(), &r.key)
            .and_then(|k| {
                c.value
                    .from_connect(topic, &mut headers, r.value_schema.as_ref(), &r.value)
                    .map(|v| (k, v))
            });
        let (key, value) = match own {
            Ok(kv) => kv,
            Err(_) => json_fallback(topic, r),
        };
        let mut out = Vec::with_capacity(headers.len());
        for h in headers.iter() {
            match c
                .header
                .from_connect_header(topic, &h.key, h.schema.as_ref(), &h.value)
            {
                Ok(b) => out.push((h.key.clone(), b)),
                Err(e) => {
                    tracing::error!(topic, header = %h.key, error = %e, "Header of a dead letter queue record cannot be converted; it is left out.")
                }
            }
        }
        (key, value, out)
    }
}

/// The outcome of a record's last attempt: ready or dropped, or handed to the error handler
/// (an error when not tolerated).
fn finish(
    errors: &mut SourceErrors,
    result: Result<Option<Ready>, Failure>,
    source_partition: &Arc<OffsetMap>,
    source_offset: &OffsetMap,
    original: Option<ConnectRecord>,
    topic: Topic,
) -> Result<Processed, ConnectError> {
    let failure = match result {
        Ok(Some(ready)) => return Ok(Processed::Ready(ready)),
        Ok(None) => return Ok(Processed::Dropped),
        Err(f) => f,
    };
    let context = RecordContext::Source {
        source_partition: (**source_partition).clone(),
        source_offset: source_offset.clone(),
        record: original.unwrap_or_else(|| ConnectRecord {
            topic,
            ..ConnectRecord::default()
        }),
    };
    errors.handler.handle(&failure, &context)?;
    Ok(Processed::Tolerated(Box::new((failure, context))))
}

/// Key and value as JsonConverter with `schemas.enable=true` writes them.
fn json_fallback(topic: &str, r: &ConnectRecord) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut cfg = RawConfig::new();
    cfg.insert("schemas.enable".into(), "true".into());
    let json = |role: ConverterRole, schema, value| -> Result<Option<Vec<u8>>, ConnectError> {
        let conv = sluice_converters::new_converter(
            "org.apache.kafka.connect.json.JsonConverter",
            &cfg,
            role,
        )?;
        conv.from_connect(topic, &mut r.headers.clone(), schema, value)
    };
    let key = json(ConverterRole::Key, r.key_schema.as_ref(), &r.key);
    let value = json(ConverterRole::Value, r.value_schema.as_ref(), &r.value);
    match (key, value) {
        (Ok(k), Ok(v)) => (k, v),
        (k, v) => {
            tracing::error!(topic, "A dead letter queue record cannot be serialized even as JSON; its key or value is written as null.");
            (k.ok().flatten(), v.ok().flatten())
        }
    }
}
