//! A sink task's consumer: subscribes to topics or a pattern, hands out records borrowed from
//! librdkafka (no copy before conversion), and reports partition assignment changes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{Headers as _, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use sluice_api::record::{TimestampType, TopicPartition};

use crate::error::KafkaError;
use crate::RdConfig;

/// A partition assignment change, reported after the fact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RebalanceEvent {
    Assigned(Vec<TopicPartition>),
    Revoked(Vec<TopicPartition>),
}

pub struct RebalanceContext {
    name: String,
    events: Arc<Mutex<Vec<RebalanceEvent>>>,
    /// The consumer's network totals, when it collects statistics.
    stats: Option<Arc<crate::stats::Cell>>,
}

fn to_partitions(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect()
}

impl ClientContext for RebalanceContext {
    fn stats_raw(&self, json: &[u8]) {
        if let Some(stats) = &self.stats {
            stats.record(json)
        }
    }
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        crate::context::log(&self.name, level, fac, log_message)
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        crate::context::error(&self.name, error, reason)
    }
}

impl ConsumerContext for RebalanceContext {
    fn post_rebalance(&self, _c: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let event = match rebalance {
            Rebalance::Assign(tpl) => RebalanceEvent::Assigned(to_partitions(tpl)),
            Rebalance::Revoke(tpl) => RebalanceEvent::Revoked(to_partitions(tpl)),
            Rebalance::Error(e) => {
                tracing::error!(client = %self.name, error = %e, "Consumer group rebalance failed");
                return;
            }
        };
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }

    fn commit_callback(
        &self,
        result: rdkafka::error::KafkaResult<()>,
        _offsets: &TopicPartitionList,
    ) {
        if let Err(e) = result {
            tracing::warn!(client = %self.name, error = %e, "Offset commit failed; it will be retried at the next commit");
        }
    }
}

/// A record borrowed from the consumer, valid until the next receive.
#[derive(Debug)]
pub struct InRecord<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub timestamp_type: TimestampType,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(&'a str, Option<&'a [u8]>)>,
}

/// What to subscribe to.
#[derive(Clone, Debug)]
pub enum Subscription {
    Topics(Vec<String>),
    /// A regular expression; librdkafka matches it against all topics.
    Pattern(String),
}

/// Asks the partition leaders for high watermarks (a ListOffsets request each, on a blocking
/// thread).
#[derive(Clone)]
pub struct Watermarks {
    inner: Arc<StreamConsumer<RebalanceContext>>,
}

impl Watermarks {
    /// The partition's high watermark; `None` when the broker does not answer in `timeout`.
    pub async fn high(&self, tp: &TopicPartition, timeout: Duration) -> Option<i64> {
        let inner = self.inner.clone();
        let (topic, partition) = (tp.topic.clone(), tp.partition);
        tokio::task::spawn_blocking(move || {
            inner
                .fetch_watermarks(&topic, partition, timeout)
                .ok()
                .map(|(_, high)| high)
        })
        .await
        .ok()
        .flatten()
    }
}

/// A sink task's consumer.
pub struct Consumer {
    inner: Arc<StreamConsumer<RebalanceContext>>,
    events: Arc<Mutex<Vec<RebalanceEvent>>>,
    name: String,
    missing: MissingTopics,
}

/// A subscribed topic the broker did not know. librdkafka looks for it again only at its
/// periodic metadata refresh (`topic.metadata.refresh.interval.ms`, 5 minutes by default),
/// so a sink created before its topic would sit idle that long; Kafka's Java consumer asks
/// again at once. While a named topic is missing, the consumer refreshes the cluster
/// metadata about once a second (a full refresh is what lets librdkafka's group logic see
/// the new topic) until every named topic exists.
#[derive(Default)]
struct MissingTopics {
    /// The explicitly named topics of the subscription (none for a pattern).
    topics: Mutex<Vec<String>>,
    missing: Arc<AtomicBool>,
    refreshing: Arc<AtomicBool>,
    last: Mutex<Option<Instant>>,
}

const MISSING_TOPIC_REFRESH: Duration = Duration::from_secs(1);

impl Consumer {
    /// A consumer named `name` (its `client.id`). With `statistics`, librdkafka reports its
    /// statistics every [`crate::stats::INTERVAL_MS`] and the consumer's network series are
    /// registered; without, librdkafka allocates none of the statistics' histograms (150 to
    /// 200 KiB resident per consumer).
    pub fn new(name: &str, settings: &RdConfig, statistics: bool) -> Result<Consumer, KafkaError> {
        let events = Arc::new(Mutex::new(Vec::new()));
        let mut cfg = crate::client_config(settings);
        cfg.set("client.id", name);
        let stats = if statistics {
            cfg.set("statistics.interval.ms", crate::stats::INTERVAL_MS);
            Some(crate::stats::register(
                crate::stats::ClientKind::Consumer,
                name,
            ))
        } else {
            None
        };
        let inner: StreamConsumer<RebalanceContext> = cfg
            .create_with_context(RebalanceContext {
                name: name.to_string(),
                events: events.clone(),
                stats,
            })
            .map_err(|e| KafkaError::new(format!("Could not create consumer {name}"), e))?;
        Ok(Consumer {
            inner: Arc::new(inner),
            events,
            name: name.to_string(),
            missing: MissingTopics::default(),
        })
    }

    pub fn subscribe(&self, sub: &Subscription) -> Result<(), KafkaError> {
        let topics: Vec<String> = match sub {
            Subscription::Topics(t) => t.clone(),
            // librdkafka treats a subscription starting with ^ as a regex.
            Subscription::Pattern(p) => vec![if p.starts_with('^') {
                p.clone()
            } else {
                format!("^{p}")
            }],
        };
        if let Ok(mut named) = self.missing.topics.lock() {
            *named = match sub {
                Subscription::Topics(t) => t.clone(),
                Subscription::Pattern(_) => Vec::new(),
            };
        }
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.inner
            .subscribe(&refs)
            .map_err(|e| KafkaError::new(format!("Consumer {} could not subscribe", self.name), e))
    }

    /// Assignment changes seen since the last call.
    pub fn take_events(&self) -> Vec<RebalanceEvent> {
        self.events
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }

    /// Waits for at least one record (or `max_wait`), then takes whatever else is ready, up to
    /// `max` records, calling `f` on each. Returns how many were seen.
    pub async fn recv_batch<F>(
        &self,
        max: usize,
        max_wait: Duration,
        mut f: F,
    ) -> Result<usize, KafkaError>
    where
        F: FnMut(InRecord<'_>),
    {
        self.refresh_if_missing();
        // One stream for the whole batch: `recv()` makes a stream per message, which registers
        // and unregisters a waker under a lock each time (it showed in sink profiles).
        let mut stream = self.inner.stream();
        let first = match tokio::time::timeout(max_wait, stream.next()).await {
            Err(_) | Ok(None) => return Ok(0),
            Ok(Some(r)) => r,
        };
        let msg = match first {
            Ok(m) => m,
            Err(e) => return self.transient_or(e).map(|()| 0),
        };
        f(borrow(&msg));
        drop(msg);
        let mut n = 1;
        while n < max {
            match stream.next().now_or_never() {
                Some(Some(Ok(msg))) => {
                    f(borrow(&msg));
                    n += 1;
                }
                Some(Some(Err(e))) => return self.transient_or(e).map(|()| n),
                Some(None) | None => break,
            }
        }
        Ok(n)
    }

    /// Transient errors (topics that do not exist yet, brokers away) are logged, since
    /// librdkafka keeps trying; others are returned.
    fn transient_or(&self, e: rdkafka::error::KafkaError) -> Result<(), KafkaError> {
        use rdkafka::types::RDKafkaErrorCode as C;
        if matches!(
            e.rdkafka_error_code(),
            Some(C::UnknownTopicOrPartition | C::UnknownTopic)
        ) {
            self.missing.missing.store(true, Ordering::Relaxed);
        }
        let e = KafkaError::new(format!("Consumer {} failed to fetch", self.name), e);
        if e.is_retriable() {
            if let Some(held) = crate::context::throttle(&self.name, "transient fetch error") {
                tracing::warn!(client = %self.name, error = %e, "Transient consumer error; still polling.{}", crate::context::repeated(held));
            }
            Ok(())
        } else {
            Err(e)
        }
    }

    /// While a named topic is missing, refreshes the metadata in the background (at most once
    /// per [`MISSING_TOPIC_REFRESH`]) until the broker lists every named topic.
    fn refresh_if_missing(&self) {
        let m = &self.missing;
        if !m.missing.load(Ordering::Relaxed) || m.refreshing.load(Ordering::Relaxed) {
            return;
        }
        let named = m.topics.lock().map(|t| t.clone()).unwrap_or_default();
        if named.is_empty() {
            m.missing.store(false, Ordering::Relaxed);
            return;
        }
        if let Ok(mut last) = m.last.lock() {
            if last.is_some_and(|at| at.elapsed() < MISSING_TOPIC_REFRESH) {
                return;
            }
            *last = Some(Instant::now());
        }
        m.refreshing.store(true, Ordering::Relaxed);
        let inner = self.inner.clone();
        let missing = m.missing.clone();
        let refreshing = m.refreshing.clone();
        let name = self.name.clone();
        tokio::task::spawn_blocking(move || {
            match inner.fetch_metadata(None, Duration::from_secs(5)) {
                Ok(md) => {
                    let known: std::collections::HashSet<&str> = md
                        .topics()
                        .iter()
                        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
                        .map(|t| t.name())
                        .collect();
                    if named.iter().all(|t| known.contains(t.as_str())) {
                        tracing::info!(client = %name, topics = ?named, "Every subscribed topic exists now.");
                        missing.store(false, Ordering::Relaxed);
                    }
                }
                Err(e) => {
                    tracing::debug!(client = %name, error = %e, "Metadata refresh for a missing topic failed; trying again.")
                }
            }
            refreshing.store(false, Ordering::Relaxed);
        });
    }

    /// Commits `offsets` (the next offset to read per partition).
    pub fn commit(&self, offsets: &[(TopicPartition, i64)], sync: bool) -> Result<(), KafkaError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (tp, off) in offsets {
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*off))
                .map_err(|e| KafkaError::new("Invalid offset to commit", e))?;
        }
        let mode = if sync {
            CommitMode::Sync
        } else {
            CommitMode::Async
        };
        self.inner.commit(&tpl, mode).map_err(|e| {
            KafkaError::new(
                format!("Consumer {} could not commit offsets", self.name),
                e,
            )
        })
    }

    pub fn pause(&self, partitions: &[TopicPartition]) -> Result<(), KafkaError> {
        let tpl = tpl_of(partitions);
        self.inner
            .pause(&tpl)
            .map_err(|e| KafkaError::new("Could not pause partitions", e))
    }

    pub fn resume(&self, partitions: &[TopicPartition]) -> Result<(), KafkaError> {
        let tpl = tpl_of(partitions);
        self.inner
            .resume(&tpl)
            .map_err(|e| KafkaError::new("Could not resume partitions", e))
    }

    /// Moves consumption of a partition to `offset`.
    pub fn seek(&self, tp: &TopicPartition, offset: i64) -> Result<(), KafkaError> {
        self.inner
            .seek(
                &tp.topic,
                tp.partition,
                Offset::Offset(offset),
                Duration::from_secs(10),
            )
            .map_err(|e| KafkaError::new(format!("Could not seek {tp} to offset {offset}"), e))
    }

    /// A handle that asks the brokers for high watermarks (for lag), apart from the task's
    /// receive loop.
    pub fn watermarks(&self) -> Watermarks {
        Watermarks {
            inner: self.inner.clone(),
        }
    }

    /// The current assignment.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.inner
            .assignment()
            .map(|tpl| to_partitions(&tpl))
            .unwrap_or_default()
    }

    /// Leaves the group (on a blocking thread, as librdkafka's close blocks).
    pub async fn close(self) {
        let inner = self.inner;
        // A metadata refresh still running holds a clone; the last owner destroys the client.
        let _ = tokio::task::spawn_blocking(move || {
            inner.unsubscribe();
            drop(inner);
        })
        .await;
    }
}

fn tpl_of(partitions: &[TopicPartition]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for tp in partitions {
        tpl.add_partition(&tp.topic, tp.partition);
    }
    tpl
}

fn borrow<'a, M: Message>(m: &'a M) -> InRecord<'a> {
    use rdkafka::message::Timestamp;
    let (timestamp, timestamp_type) = match m.timestamp() {
        Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
        Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
        Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
    };
    let headers = m
        .headers()
        .map(|h| h.iter().map(|x| (x.key, x.value)).collect())
        .unwrap_or_default();
    InRecord {
        topic: m.topic(),
        partition: m.partition(),
        offset: m.offset(),
        timestamp,
        timestamp_type,
        key: m.key(),
        value: m.payload(),
        headers,
    }
}
