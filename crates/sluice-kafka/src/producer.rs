//! A producer that never blocks the caller and reports each record's delivery by sequence
//! number, so the runtime can commit source offsets only for acknowledged records.

use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer as _, ProducerContext, ThreadedProducer,
};
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::mpsc;

use crate::error::KafkaError;
use crate::RdConfig;

/// The outcome of one record, by the sequence number given at send time.
#[derive(Debug)]
pub struct Delivery {
    pub seq: usize,
    pub result: Result<(), KafkaError>,
}

pub struct DeliveryContext {
    name: String,
    tx: mpsc::UnboundedSender<Delivery>,
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        crate::context::log(&self.name, level, fac, log_message)
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        crate::context::error(&self.name, error, reason)
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let result = match result {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(KafkaError::new("Failed to send record to Kafka", e.clone())),
        };
        // The receiver is gone only when the task is shutting down; nothing to report then.
        let _ = self.tx.send(Delivery { seq, result });
    }
}

/// A record to produce, borrowing its bytes.
pub struct OutRecord<'a> {
    pub topic: &'a str,
    pub partition: Option<i32>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub timestamp: Option<i64>,
    pub headers: &'a [(String, Option<Vec<u8>>)],
}

/// Why a send was not accepted.
#[derive(Debug)]
pub enum SendError {
    /// The local queue is full: wait for deliveries and try again.
    QueueFull,
    /// Anything else.
    Failed(KafkaError),
}

/// A source task's producer.
pub struct Producer {
    inner: ThreadedProducer<DeliveryContext>,
    name: String,
}

impl Producer {
    /// Creates a producer; deliveries arrive on the returned receiver.
    pub fn new(
        name: &str,
        settings: &RdConfig,
    ) -> Result<(Producer, mpsc::UnboundedReceiver<Delivery>), KafkaError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut cfg = crate::client_config(settings);
        cfg.set("client.id", name);
        let inner: ThreadedProducer<DeliveryContext> = cfg
            .create_with_context(DeliveryContext {
                name: name.to_string(),
                tx,
            })
            .map_err(|e| KafkaError::new(format!("Could not create producer {name}"), e))?;
        Ok((
            Producer {
                inner,
                name: name.to_string(),
            },
            rx,
        ))
    }

    /// Hands a record to the client without blocking.
    pub fn send(&self, record: &OutRecord<'_>, seq: usize) -> Result<(), SendError> {
        let mut base: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(record.topic, seq);
        if let Some(p) = record.partition {
            base = base.partition(p);
        }
        if let Some(k) = record.key {
            base = base.key(k);
        }
        if let Some(v) = record.value {
            base = base.payload(v);
        }
        if let Some(ts) = record.timestamp {
            base = base.timestamp(ts);
        }
        if !record.headers.is_empty() {
            let mut h = OwnedHeaders::new_with_capacity(record.headers.len());
            for (key, value) in record.headers {
                h = h.insert(Header {
                    key,
                    value: value.as_deref(),
                });
            }
            base = base.headers(h);
        }
        match self.inner.send(base) {
            Ok(()) => Ok(()),
            Err((e, _)) => {
                if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) {
                    Err(SendError::QueueFull)
                } else {
                    Err(SendError::Failed(KafkaError::new(
                        format!(
                            "Producer {} could not send to topic {}",
                            self.name, record.topic
                        ),
                        e,
                    )))
                }
            }
        }
    }

    /// Records handed over and not yet delivered.
    pub fn in_flight(&self) -> i32 {
        self.inner.in_flight_count()
    }

    /// Waits (on a blocking thread) until every record is delivered or the timeout passes.
    pub async fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.flush(timeout))
            .await
            .map_err(|_| {
                KafkaError::new(
                    "Producer flush was interrupted",
                    rdkafka::error::KafkaError::Canceled,
                )
            })?
            .map_err(|e| KafkaError::new("Producer flush failed", e))
    }
}
