//! A producer that never blocks the caller and reports each record's delivery by sequence
//! number, so the runtime can commit source offsets only for acknowledged records.
//!
//! librdkafka hands delivery reports over when the client is polled. The task that sends is
//! the one that polls, from [`Deliveries`]: the reports are then handled on the thread that
//! made the records, as a raw client does. (rdkafka's `ThreadedProducer` polls from a thread of
//! its own, so every librdkafka message was freed on another thread than the one that
//! allocated it, and every batch of reports crossed threads twice; that showed in profiles.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::Notify;

use crate::error::KafkaError;
use crate::RdConfig;

/// The outcome of records, by the sequence numbers given at send time.
#[derive(Debug)]
pub struct Delivery {
    /// The sequence numbers [`Producer::send`] was given. Successful deliveries of
    /// consecutive numbers come as one range (librdkafka reports a partition's records in
    /// order, so a batch of them is usually one report); a failure is one record's report.
    pub seqs: std::ops::Range<usize>,
    pub result: Result<(), KafkaError>,
    /// Partition and offset of the range's first record, the others following it at
    /// consecutive offsets of that partition; only from a producer made with
    /// [`Producer::with_positions`] (`None` otherwise and for failures).
    pub position: Option<(i32, i64)>,
}

/// Delivery reports not yet taken by the task: filled by librdkafka's callback thread, taken
/// a whole batch at a time (one lock and at most one wake-up per batch, not a channel message
/// per record: the channel showed as ~5% of a source run in profiles).
struct Queue {
    reports: Mutex<Vec<Delivery>>,
    ready: Notify,
    /// Whether reports carry partitions and offsets (then only records at consecutive
    /// offsets of one partition share a report).
    positions: bool,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Delivery>> {
        // Nothing can panic while the lock is held; a poisoned queue is still a valid queue.
        self.reports.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds record `seq`'s outcome: a success right after the last report's range (both
    /// successes) extends it, anything else is a report of its own.
    fn push(&self, seq: usize, result: Result<(), KafkaError>, position: Option<(i32, i64)>) {
        let position = position.filter(|_| self.positions && result.is_ok());
        let first = {
            let mut q = self.lock();
            match q.last_mut() {
                Some(last)
                    if result.is_ok()
                        && last.result.is_ok()
                        && last.seqs.end == seq
                        && follows(last, position) =>
                {
                    last.seqs.end += 1;
                    return;
                }
                _ => q.push(Delivery {
                    seqs: seq..seq + 1,
                    result,
                    position,
                }),
            }
            q.len() == 1
        };
        // Only the report that made the queue non-empty wakes the task (a permit is kept if
        // it is not waiting yet); later ones are taken in the same batch.
        if first {
            self.ready.notify_one();
        }
    }
}

/// Whether a record written at `position` continues report `last` (always, without positions).
fn follows(last: &Delivery, position: Option<(i32, i64)>) -> bool {
    match (last.position, position) {
        (None, None) => true,
        (Some((p, o)), Some((partition, offset))) => {
            p == partition && o + (last.seqs.end - last.seqs.start) as i64 == offset
        }
        _ => false,
    }
}

/// How often a waiting [`Deliveries`] polls the client while records are in flight (at first:
/// the wait doubles while polls find nothing, so a broker outage with records in flight costs
/// about ten polls a second, not a thousand), and while none are (for the client's error
/// events, as rdkafka's own polling thread does).
const POLL_BUSY: Duration = Duration::from_millis(1);
const POLL_IDLE: Duration = Duration::from_millis(100);

/// The receiving end of a producer's delivery reports: it polls the client.
pub struct Deliveries {
    queue: Arc<Queue>,
    /// `None` in unit tests of the queue alone.
    client: Option<Arc<BaseProducer<DeliveryContext>>>,
}

impl Deliveries {
    /// Waits until at least one report is queued, then moves every queued report to the end
    /// of `out`. Cancel safe: a report is either still queued or in `out`.
    pub async fn recv_many(&mut self, out: &mut Vec<Delivery>) {
        let mut busy = POLL_BUSY;
        loop {
            if self.try_recv_many(out) {
                return;
            }
            let every = match &self.client {
                Some(c) if c.in_flight_count() > 0 => busy,
                _ => POLL_IDLE,
            };
            // Reports arrive when the client is polled: here, or by a flush on another thread
            // (which wakes this wait).
            let _ = tokio::time::timeout(every, self.queue.ready.notified()).await;
            busy = (busy * 2).min(POLL_IDLE);
        }
    }

    /// Polls the client and moves every queued report to the end of `out`; `false` when
    /// there was none.
    pub fn try_recv_many(&mut self, out: &mut Vec<Delivery>) -> bool {
        if let Some(client) = &self.client {
            // Runs the delivery callbacks of every report ready now, on this thread.
            client.poll(Duration::ZERO);
        }
        let mut q = self.queue.lock();
        if q.is_empty() {
            return false;
        }
        if out.is_empty() {
            std::mem::swap(&mut *q, out);
        } else {
            out.append(&mut q);
        }
        true
    }
}

pub struct DeliveryContext {
    name: String,
    queue: Arc<Queue>,
    stats: Arc<crate::stats::Cell>,
}

impl ClientContext for DeliveryContext {
    fn stats_raw(&self, json: &[u8]) {
        self.stats.record(json)
    }
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
        let (result, position) = match result {
            Ok(m) => (
                Ok(()),
                Some((rdkafka::Message::partition(m), rdkafka::Message::offset(m))),
            ),
            Err((e, _)) => (
                Err(KafkaError::new("Failed to send record to Kafka", e.clone())),
                None,
            ),
        };
        self.queue.push(seq, result, position);
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

/// A source task's producer. Its delivery reports come through the [`Deliveries`] made with
/// it, which must be polled (awaited) while records are in flight.
pub struct Producer {
    inner: Arc<BaseProducer<DeliveryContext>>,
    name: String,
}

impl Producer {
    /// Creates a producer; its delivery reports arrive on the returned [`Deliveries`].
    pub fn new(name: &str, settings: &RdConfig) -> Result<(Producer, Deliveries), KafkaError> {
        Self::create(name, settings, false)
    }

    /// [`new`](Self::new), and its reports say where each record was written
    /// ([`Delivery::position`]).
    pub fn with_positions(
        name: &str,
        settings: &RdConfig,
    ) -> Result<(Producer, Deliveries), KafkaError> {
        Self::create(name, settings, true)
    }

    fn create(
        name: &str,
        settings: &RdConfig,
        positions: bool,
    ) -> Result<(Producer, Deliveries), KafkaError> {
        let queue = Arc::new(Queue {
            reports: Mutex::new(Vec::new()),
            ready: Notify::new(),
            positions,
        });
        let mut cfg = crate::client_config(settings);
        cfg.set("client.id", name);
        cfg.set("statistics.interval.ms", crate::stats::INTERVAL_MS);
        let inner: BaseProducer<DeliveryContext> = cfg
            .create_with_context(DeliveryContext {
                name: name.to_string(),
                queue: queue.clone(),
                stats: crate::stats::register(crate::stats::ClientKind::Producer, name),
            })
            .map_err(|e| KafkaError::new(format!("Could not create producer {name}"), e))?;
        let inner = Arc::new(inner);
        Ok((
            Producer {
                inner: inner.clone(),
                name: name.to_string(),
            },
            Deliveries {
                queue,
                client: Some(inner),
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> (Arc<Queue>, Deliveries) {
        queue_with(false)
    }

    fn queue_with(positions: bool) -> (Arc<Queue>, Deliveries) {
        let q = Arc::new(Queue {
            reports: Mutex::new(Vec::new()),
            ready: Notify::new(),
            positions,
        });
        (
            q.clone(),
            Deliveries {
                queue: q,
                client: None,
            },
        )
    }

    fn push(q: &Queue, seq: usize) {
        q.push(seq, Ok(()), None);
    }

    #[test]
    fn positions_split_reports_where_offsets_do_not_follow() {
        let (q, mut d) = queue_with(true);
        q.push(0, Ok(()), Some((0, 10)));
        q.push(1, Ok(()), Some((0, 11)));
        q.push(2, Ok(()), Some((1, 12)));
        q.push(3, Ok(()), Some((1, 20)));
        q.push(4, Ok(()), Some((1, 21)));
        let mut out = Vec::new();
        assert!(d.try_recv_many(&mut out));
        assert_eq!(seqs(&out), [0..2, 2..3, 3..5]);
        let positions: Vec<_> = out.iter().map(|r| r.position).collect();
        assert_eq!(positions, [Some((0, 10)), Some((1, 12)), Some((1, 20))]);
        // Without positions nothing is kept and consecutive records share a report.
        let (q, mut d) = queue();
        q.push(0, Ok(()), Some((0, 10)));
        q.push(1, Ok(()), Some((1, 3)));
        let mut out = Vec::new();
        assert!(d.try_recv_many(&mut out));
        assert_eq!(seqs(&out), vec![std::ops::Range { start: 0, end: 2 }]);
        assert_eq!(out[0].position, None);
    }

    fn seqs(out: &[Delivery]) -> Vec<std::ops::Range<usize>> {
        out.iter().map(|r| r.seqs.clone()).collect()
    }

    #[tokio::test]
    async fn reports_arrive_in_order_a_batch_at_a_time() {
        let (q, mut d) = queue();
        let mut out = Vec::new();
        assert!(!d.try_recv_many(&mut out));
        for seq in 0..3 {
            push(&q, seq);
        }
        d.recv_many(&mut out).await;
        assert_eq!(seqs(&out), vec![std::ops::Range { start: 0, end: 3 }]);
        // Appended after what the caller still holds, never reordered.
        push(&q, 3);
        assert!(d.try_recv_many(&mut out));
        assert_eq!(seqs(&out), [0..3, 3..4]);
    }

    #[test]
    fn consecutive_successes_are_one_report_and_a_failure_stands_alone() {
        let (q, mut d) = queue();
        for seq in [0, 1, 2, 5, 6] {
            push(&q, seq);
        }
        let e = rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        q.push(
            7,
            Err(KafkaError::new("Failed to send record to Kafka", e)),
            None,
        );
        push(&q, 8);
        push(&q, 9);
        let mut out = Vec::new();
        assert!(d.try_recv_many(&mut out));
        assert_eq!(seqs(&out), [0..3, 5..7, 7..8, 8..10]);
        assert!(out[2].result.is_err());
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, r)| r.result.is_ok() == (i != 2)));
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_and_a_dropped_wait_loses_nothing() {
        let (q, mut d) = queue();
        let mut out = Vec::new();
        // A wait given up (as in a select! whose other branch won) takes nothing.
        assert!(
            tokio::time::timeout(Duration::from_millis(10), d.recv_many(&mut out))
                .await
                .is_err()
        );
        let pusher = {
            let q = q.clone();
            std::thread::spawn(move || push(&q, 7))
        };
        d.recv_many(&mut out).await;
        pusher.join().unwrap();
        assert_eq!(seqs(&out), vec![std::ops::Range { start: 7, end: 8 }]);
    }
}
