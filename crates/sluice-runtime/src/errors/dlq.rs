//! The dead letter queue writer (`DeadLetterQueueReporter`): a producer of its own that writes
//! failed records, with the `__connect.errors.*` context headers when enabled, to a topic it
//! creates when missing. Each write carries a token the caller gets back once the broker
//! acknowledged it, so offsets are committed only past records that are safe in the DLQ.

use std::collections::HashMap;
use std::time::Duration;

use sluice_api::ConnectError;
use sluice_kafka::admin::Admin;
use sluice_kafka::producer::{Deliveries, Delivery, OutRecord, Producer, SendError};
use sluice_kafka::RdConfig;
use tokio_util::sync::CancellationToken;

use super::report::{context_headers, RecordContext};
use super::{ErrorSettings, Failure};
use crate::task::TaskId;

/// Kafka record headers as bytes.
pub type RawHeaders = Vec<(String, Option<Vec<u8>>)>;

/// A record's key, value and headers as bytes.
pub type Serialized = (Option<Vec<u8>>, Option<Vec<u8>>, RawHeaders);

/// The bytes to write: for a sink, the consumed record exactly as it was read.
pub struct DlqRecord<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: Option<i64>,
}

/// A task's dead letter queue.
pub struct DeadLetterQueue<T> {
    id: TaskId,
    topic: String,
    context_headers: bool,
    producer: Producer,
    deliveries: Deliveries,
    /// Reports taken from `deliveries`, handled in order.
    reports: Vec<Delivery>,
    pending: HashMap<usize, T>,
    acked: Vec<T>,
    next_seq: usize,
    /// `deadletterqueue-produce-*` of the task.
    metrics: std::sync::Arc<crate::metrics::ErrorMetrics>,
}

impl<T> DeadLetterQueue<T> {
    /// The task's DLQ when `errors.deadletterqueue.topic.name` is set: creates the topic if
    /// missing (one partition, the configured replication factor, at most the number of
    /// brokers) and the producer.
    pub async fn start(
        id: &TaskId,
        settings: &ErrorSettings,
        producer: &RdConfig,
        admin: &RdConfig,
        cancel: &CancellationToken,
    ) -> Result<Option<Self>, ConnectError> {
        let Some(topic) = settings.dlq_topic.clone() else {
            return Ok(None);
        };
        let admin = Admin::new(&format!("connector-dlq-adminclient-{id}"), admin)?;
        let mut backoff = Duration::from_millis(200);
        loop {
            match ensure_topic(id, &admin, &topic, settings.dlq_replication).await {
                Ok(()) => break,
                Err(e) if e.kind() == sluice_api::ErrorKind::Retriable => {
                    tracing::warn!(task = %id, topic, error = %e, retry_in_ms = backoff.as_millis() as u64, "Cannot reach Kafka to set up the dead letter queue; retrying.");
                    tokio::select! {
                        _ = cancel.cancelled() => return Ok(None),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                Err(e) => {
                    return Err(ConnectError::fatal(format!(
                        "Could not initialize dead letter queue with topic={topic}: {e}"
                    ))
                    .with_source(e))
                }
            }
        }
        let (producer, deliveries) =
            Producer::new(&format!("connector-dlq-producer-{id}"), producer)?;
        Ok(Some(DeadLetterQueue {
            id: id.clone(),
            topic,
            context_headers: settings.dlq_context_headers,
            producer,
            deliveries,
            reports: Vec::new(),
            pending: HashMap::new(),
            acked: Vec::new(),
            next_seq: 0,
            metrics: crate::metrics::global().task_errors(id),
        }))
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes a failed record; `token` comes back from [`Self::take_acked`] once it is stored.
    pub async fn send(
        &mut self,
        record: DlqRecord<'_>,
        failure: &Failure,
        context: &RecordContext,
        token: T,
    ) -> Result<(), ConnectError> {
        let mut headers = record.headers;
        if self.context_headers {
            for (k, v) in context_headers(&self.id, failure, context) {
                // Kafka keeps an existing header of the same name and logs it.
                if headers.iter().any(|(h, _)| *h == k) {
                    tracing::error!(task = %self.id, header = %k, "Header already contains the '{k}' key.");
                } else {
                    headers.push((k, v));
                }
            }
        }
        let topic = self.topic.clone();
        let out = OutRecord {
            topic: &topic,
            partition: None,
            key: record.key,
            value: record.value,
            timestamp: record.timestamp,
            headers: &headers,
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.metrics.record_dlq_request();
        loop {
            match self.producer.send(&out, seq) {
                Ok(()) => break,
                Err(SendError::QueueFull) => {
                    self.deliveries.recv_many(&mut self.reports).await;
                    self.handle_reports()?;
                }
                Err(SendError::Failed(e)) => {
                    self.metrics.record_dlq_failure();
                    return Err(e.into());
                }
            }
        }
        self.pending.insert(seq, token);
        Ok(())
    }

    fn handle_reports(&mut self) -> Result<(), ConnectError> {
        let mut reports = std::mem::take(&mut self.reports);
        let result = reports.drain(..).try_for_each(|d| self.on_delivery(d));
        // Keep the (now empty) buffer's capacity for the next batch.
        self.reports = reports;
        result
    }

    fn on_delivery(&mut self, d: Delivery) -> Result<(), ConnectError> {
        match d.result {
            Ok(()) => {
                for seq in d.seqs {
                    if let Some(t) = self.pending.remove(&seq) {
                        self.acked.push(t);
                    }
                }
                Ok(())
            }
            // Not acknowledged means not safe: fail rather than commit past the record.
            Err(e) => {
                self.metrics.record_dlq_failure();
                Err(ConnectError::fatal(format!(
                    "Could not produce message to dead letter queue. topic={}: {e}",
                    self.topic
                ))
                .with_source(e))
            }
        }
    }

    /// Tokens of records acknowledged since the last call (never waits).
    pub fn take_acked(&mut self) -> Result<Vec<T>, ConnectError> {
        if self.deliveries.try_recv_many(&mut self.reports) {
            self.handle_reports()?;
        }
        Ok(std::mem::take(&mut self.acked))
    }

    /// Waits up to `timeout` for every write to be acknowledged, then returns the tokens.
    pub async fn flush(&mut self, timeout: Duration) -> Result<Vec<T>, ConnectError> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.pending.is_empty() {
            match tokio::time::timeout_at(deadline, self.deliveries.recv_many(&mut self.reports))
                .await
            {
                Ok(()) => self.handle_reports()?,
                Err(_) => break,
            }
        }
        self.take_acked()
    }

    /// Tokens of writes not yet acknowledged.
    pub fn pending(&self) -> impl Iterator<Item = &T> {
        self.pending.values()
    }
}

async fn ensure_topic(
    id: &TaskId,
    admin: &Admin,
    topic: &str,
    replication: i16,
) -> Result<(), ConnectError> {
    if admin.topic_exists(topic).await? {
        return Ok(());
    }
    let mut replication = i32::from(replication);
    let brokers = admin.broker_count().await?;
    if brokers > 0 && replication > brokers as i32 {
        tracing::warn!(task = %id, topic, configured = replication, brokers, "The cluster has fewer brokers than errors.deadletterqueue.topic.replication.factor; creating the dead letter queue topic with replication factor {brokers}.");
        replication = brokers as i32;
    }
    tracing::info!(task = %id, topic, replication, "Topic {topic} doesn't exist. Will attempt to create topic.");
    match admin.create_topic(topic, 1, replication, &[]).await {
        Ok(_) => Ok(()),
        Err(e) if replication > 1 && !e.is_retriable() => {
            tracing::warn!(task = %id, topic, error = %e, "Creating the dead letter queue topic failed; retrying with replication factor 1.");
            admin.create_topic(topic, 1, 1, &[]).await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
