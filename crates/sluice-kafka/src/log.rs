//! `KafkaBasedLog`: a compacted topic used as a replicated log. Writers produce keyed records
//! and wait for the broker's acknowledgement; readers consume every partition from the
//! beginning without a consumer group and "read to the end" by comparing their positions with
//! the high watermarks fetched at the start of the read, as Kafka Connect's does.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::error::KafkaError;
use crate::RdConfig;

/// One record read from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// A topic read from the beginning and written with acknowledged, keyed records.
#[derive(Clone)]
pub struct KafkaBasedLog {
    topic: String,
    consumer: Arc<Mutex<Reader>>,
    producer: FutureProducer,
    partitions: Vec<i32>,
}

impl std::fmt::Debug for KafkaBasedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBasedLog")
            .field("topic", &self.topic)
            .field("partitions", &self.partitions)
            .finish_non_exhaustive()
    }
}

/// The consumer and the records it consumed during a read that then failed: they are handed
/// out by the next read, so a read that times out half way loses nothing (the consumer's
/// position is already past them).
struct Reader {
    consumer: BaseConsumer,
    pending: Vec<LogRecord>,
}

fn canceled(what: &str) -> KafkaError {
    KafkaError::new(what.to_string(), rdkafka::error::KafkaError::Canceled)
}

impl KafkaBasedLog {
    /// Opens the log on an existing topic: assigns every partition from the beginning.
    pub async fn open(name: &str, topic: &str, settings: &RdConfig) -> Result<Self, KafkaError> {
        let mut pcfg = crate::client_config(settings);
        pcfg.set("client.id", format!("{name}-producer"));
        // Kafka's default partitioner (murmur2 of the key bytes), so keys land where Java
        // workers put them.
        pcfg.set("partitioner", "murmur2_random");
        pcfg.set("enable.idempotence", "false");
        pcfg.set("acks", "all");
        // One record per batch: an internal topic's records are few and small, and a reader
        // then never depends on a broker serving a batch from an offset inside it (a status
        // written in the same batch as another record was seen lost that way).
        pcfg.set("batch.num.messages", "1");
        pcfg.set("linger.ms", "0");
        let producer: FutureProducer = pcfg.create().map_err(|e| {
            KafkaError::new(format!("Could not create the producer for {topic}"), e)
        })?;
        let mut ccfg = crate::client_config(settings);
        ccfg.set("client.id", format!("{name}-consumer"));
        ccfg.set("group.id", format!("{name}-unused"));
        ccfg.set("enable.auto.commit", "false");
        ccfg.set("enable.auto.offset.store", "false");
        ccfg.set("auto.offset.reset", "earliest");
        let topic_owned = topic.to_string();
        let (consumer, partitions) = tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = ccfg.create().map_err(|e| {
                KafkaError::new(
                    format!("Could not create the consumer for {topic_owned}"),
                    e,
                )
            })?;
            let md = consumer
                .fetch_metadata(Some(&topic_owned), Duration::from_secs(30))
                .map_err(|e| {
                    KafkaError::new(
                        format!("Could not fetch metadata of topic {topic_owned}"),
                        e,
                    )
                })?;
            let partitions: Vec<i32> = md
                .topics()
                .iter()
                .filter(|t| t.name() == topic_owned)
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect();
            let mut tpl = TopicPartitionList::new();
            for p in &partitions {
                tpl.add_partition_offset(&topic_owned, *p, Offset::Beginning)
                    .map_err(|e| KafkaError::new("Could not assign partitions", e))?;
            }
            consumer
                .assign(&tpl)
                .map_err(|e| KafkaError::new(format!("Could not assign topic {topic_owned}"), e))?;
            Ok::<_, KafkaError>((consumer, partitions))
        })
        .await
        .map_err(|_| canceled("Opening the log was interrupted"))??;
        Ok(KafkaBasedLog {
            topic: topic.to_string(),
            consumer: Arc::new(Mutex::new(Reader {
                consumer,
                pending: Vec::new(),
            })),
            producer,
            partitions,
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn partitions(&self) -> &[i32] {
        &self.partitions
    }

    /// Every record after those already returned, up to the high watermarks as of now.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<Vec<LogRecord>, KafkaError> {
        let consumer = self.consumer.clone();
        let topic = self.topic.clone();
        let partitions = self.partitions.clone();
        tokio::task::spawn_blocking(move || {
            let mut reader = consumer.lock().unwrap_or_else(|p| p.into_inner());
            let Reader { consumer, pending } = &mut *reader;
            let consumer = &*consumer;
            let deadline = Instant::now() + timeout;
            // One ListOffsets(latest) round for every partition, not one per partition.
            let mut tpl = TopicPartitionList::new();
            for p in &partitions {
                tpl.add_partition_offset(&topic, *p, Offset::End)
                    .map_err(|e| KafkaError::new("Could not build the end offsets request", e))?;
            }
            let latest = consumer.offsets_for_times(tpl, timeout).map_err(|e| {
                KafkaError::new(format!("Could not read the end offsets of {topic}"), e)
            })?;
            let mut ends = Vec::with_capacity(partitions.len());
            for p in &partitions {
                let high = match latest.find_partition(&topic, *p).map(|e| e.offset()) {
                    Some(Offset::Offset(n)) => n,
                    _ => consumer
                        .fetch_watermarks(&topic, *p, timeout)
                        .map_err(|e| {
                            KafkaError::new(format!("Could not read the end offsets of {topic}-{p}"), e)
                        })?
                        .1,
                };
                ends.push((*p, high));
            }
            // What a failed read had already consumed comes first.
            let mut out = std::mem::take(pending);
            // The next offset to read per partition, from what was consumed.
            let position = |c: &BaseConsumer, p: i32| -> i64 {
                c.position()
                    .ok()
                    .and_then(|tpl| tpl.find_partition(&topic, p).map(|e| e.offset()))
                    .and_then(|o| match o {
                        Offset::Offset(n) => Some(n),
                        _ => None,
                    })
                    .unwrap_or(0)
            };
            let mut behind: Vec<(i32, i64)> = ends
                .into_iter()
                .filter(|(p, high)| position(consumer, *p) < *high)
                .collect();
            while !behind.is_empty() {
                if Instant::now() >= deadline {
                    *pending = out;
                    return Err(KafkaError::new(
                        format!(
                            "Timed out after {} ms reading topic {topic} to its end",
                            timeout.as_millis()
                        ),
                        rdkafka::error::KafkaError::Canceled,
                    ));
                }
                match consumer.poll(Duration::from_millis(200)) {
                    Some(Ok(m)) => {
                        out.push(LogRecord {
                            partition: m.partition(),
                            offset: m.offset(),
                            key: m.key().map(<[u8]>::to_vec),
                            value: m.payload().map(<[u8]>::to_vec),
                        });
                        behind.retain(|(p, high)| !(*p == m.partition() && m.offset() + 1 >= *high));
                    }
                    Some(Err(e)) => {
                        tracing::debug!(topic = %topic, error = %e, "Transient error reading the log.");
                    }
                    None => {
                        behind.retain(|(p, high)| position(consumer, *p) < *high);
                    }
                }
            }
            Ok(out)
        })
        .await
        .map_err(|_| canceled("Reading the log was interrupted"))?
    }

    /// Writes a record (a `None` value is a tombstone) and waits for the acknowledgement.
    pub async fn send(&self, key: &[u8], value: Option<&[u8]>) -> Result<(i32, i64), KafkaError> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(v) = value {
            record = record.payload(v);
        }
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map(|d| (d.partition, d.offset))
            .map_err(|(e, _)| {
                KafkaError::new(format!("Could not write to topic {}", self.topic), e)
            })
    }
}
