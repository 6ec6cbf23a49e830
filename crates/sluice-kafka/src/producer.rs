//! A producer that never blocks the caller and reports each record's delivery by sequence
//! number, so the runtime can commit source offsets only for acknowledged records.
//!
//! librdkafka hands delivery reports over when the client is polled. The task that sends is
//! the one that polls, from [`Deliveries`]: the reports are then handled on the thread that
//! made the records, as a raw client does. (rdkafka's `ThreadedProducer` polls from a thread of
//! its own, so every librdkafka message was freed on another thread than the one that
//! allocated it, and every batch of reports crossed threads twice; that showed in profiles.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
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
    /// Records handed to the client whose report has not come yet.
    in_flight: AtomicUsize,
    /// The last sequence number handed to the client: a shared client's reports carry only
    /// the low bits of a sequence number, and the full one is the nearest at or below this.
    last_sent: AtomicUsize,
    /// The task's [`Producer`] is gone: once nothing is in flight its lane may be reused.
    closed: AtomicBool,
    /// Its lane was given back (at most once).
    released: AtomicBool,
}

impl Queue {
    fn new(positions: bool) -> Queue {
        Queue {
            reports: Mutex::new(Vec::new()),
            ready: Notify::new(),
            positions,
            in_flight: AtomicUsize::new(0),
            last_sent: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            released: AtomicBool::new(false),
        }
    }

    /// A record's report came; `true` when it was the last one of a closed queue (its lane
    /// may then be given back).
    fn reported(&self) -> bool {
        let before = self.in_flight.fetch_sub(1, Ordering::SeqCst);
        before == 1 && self.closed.load(Ordering::SeqCst) && self.release_once()
    }

    /// The producer is gone; `true` when nothing is in flight any more (its lane may then be
    /// given back).
    fn close(&self) -> bool {
        self.closed.store(true, Ordering::SeqCst);
        self.in_flight.load(Ordering::SeqCst) == 0 && self.release_once()
    }

    fn release_once(&self) -> bool {
        !self.released.swap(true, Ordering::SeqCst)
    }

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

/// How often a waiting [`Deliveries`] polls the client while records are in flight: every
/// millisecond for the first [`POLL_BUSY_STEADY`] polls (a broker acknowledges within a few
/// milliseconds, and a source that waits for acknowledgements before it reads more, such as
/// RabbitMQ's with its prefetch window, loses each millisecond a report waits unseen), then
/// doubling while polls find nothing, so a broker outage with records in flight costs about
/// ten polls a second, not a thousand; and while none are (for the client's error events, as
/// rdkafka's own polling thread does).
const POLL_BUSY: Duration = Duration::from_millis(1);
const POLL_BUSY_STEADY: u32 = 20;
const POLL_IDLE: Duration = Duration::from_millis(100);

type Client = BaseProducer<DeliveryContext>;

/// The receiving end of a producer's delivery reports: it polls the client.
pub struct Deliveries {
    queue: Arc<Queue>,
    /// `None` in unit tests of the queue alone.
    client: Option<Arc<Client>>,
}

impl Deliveries {
    /// Waits until at least one report is queued, then moves every queued report to the end
    /// of `out`. Cancel safe: a report is either still queued or in `out`.
    pub async fn recv_many(&mut self, out: &mut Vec<Delivery>) {
        let mut busy = POLL_BUSY;
        let mut polls = 0u32;
        loop {
            if self.try_recv_many(out) {
                return;
            }
            let every = if self.queue.in_flight.load(Ordering::Relaxed) > 0 {
                busy
            } else {
                POLL_IDLE
            };
            // Reports arrive when the client is polled: here, by another task sharing the
            // client, or by a flush on another thread (each of which wakes this wait).
            let _ = tokio::time::timeout(every, self.queue.ready.notified()).await;
            polls = polls.saturating_add(1);
            if polls >= POLL_BUSY_STEADY {
                busy = (busy * 2).min(POLL_IDLE);
            }
        }
    }

    /// [`recv_many`](Self::recv_many) for at most `wait`; `false` when no report came. A task
    /// whose send found the client's queue full waits so: with a shared client the queue may
    /// be full of other tasks' records, and this task may have none in flight to wait for.
    pub async fn recv_many_within(&mut self, out: &mut Vec<Delivery>, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.recv_many(out))
            .await
            .is_ok()
    }

    /// Polls the client and moves every queued report to the end of `out`; `false` when
    /// there was none.
    pub fn try_recv_many(&mut self, out: &mut Vec<Delivery>) -> bool {
        if let Some(client) = &self.client {
            // Runs the delivery callbacks of every report ready now, on this thread (a shared
            // client's include other tasks' reports, which go to their queues).
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

/// Bits of a shared client's per-record opaque value that name the task's lane; the other
/// bits carry the low bits of the record's sequence number (see [`Queue::last_sent`]).
const LANE_BITS: u32 = 20;
const SEQ_BITS: u32 = usize::BITS - LANE_BITS;
const SEQ_MASK: usize = (1usize << SEQ_BITS) - 1;
/// Tasks one shared client serves at most; more get a client of their own.
const MAX_LANES: usize = 1 << LANE_BITS;
// A task has at most a few tens of thousands of records in flight: the low bits must tell
// them apart with room to spare (64-bit targets: 44 bits).
const _: () = assert!(SEQ_BITS >= 40);

/// Where a client's delivery reports go.
enum Routes {
    /// A client of one task: the opaque value is the sequence number.
    Own(Arc<Queue>),
    /// A client shared by tasks: the opaque value is a lane and a sequence number's low bits.
    Shared(RwLock<Lanes>),
}

#[derive(Default)]
struct Lanes {
    queues: Vec<Option<Arc<Queue>>>,
    free: Vec<usize>,
}

impl Routes {
    fn lanes(&self) -> Option<&RwLock<Lanes>> {
        match self {
            Routes::Shared(l) => Some(l),
            Routes::Own(_) => None,
        }
    }
}

fn read(lanes: &RwLock<Lanes>) -> std::sync::RwLockReadGuard<'_, Lanes> {
    // Nothing panics while it is held; a poisoned table is still a valid table.
    lanes.read().unwrap_or_else(|p| p.into_inner())
}

fn write(lanes: &RwLock<Lanes>) -> std::sync::RwLockWriteGuard<'_, Lanes> {
    lanes.write().unwrap_or_else(|p| p.into_inner())
}

/// Gives lane `lane` back for another task.
fn release(lanes: &RwLock<Lanes>, lane: usize) {
    let mut l = write(lanes);
    if let Some(slot) = l.queues.get_mut(lane) {
        *slot = None;
        l.free.push(lane);
    }
}

pub struct DeliveryContext {
    name: String,
    routes: Routes,
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

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
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
        match &self.routes {
            Routes::Own(queue) => {
                queue.push(opaque, result, position);
                queue.reported();
            }
            Routes::Shared(lanes) => {
                let lane = opaque >> SEQ_BITS;
                let released = {
                    let l = read(lanes);
                    // A lane is given back only once its last report came, so a report
                    // always finds the queue of the task that sent the record.
                    let Some(Some(queue)) = l.queues.get(lane) else {
                        return;
                    };
                    let last = queue.last_sent.load(Ordering::Acquire);
                    let seq = last - (last.wrapping_sub(opaque & SEQ_MASK) & SEQ_MASK);
                    queue.push(seq, result, position);
                    queue.reported()
                };
                if released {
                    release(lanes, lane);
                }
            }
        }
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

/// Clients shared by the source tasks of this process whose settings are identical, by
/// those settings. A client lives while a task uses it.
static SHARED: Mutex<Option<HashMap<RdConfig, Weak<Client>>>> = Mutex::new(None);
/// Numbers the shared clients' names.
static SHARED_COUNT: AtomicUsize = AtomicUsize::new(0);

/// A source task's producer: a client of its own ([`Producer::new`]) or a lane of a client
/// shared with the other tasks of the same settings ([`Producer::shared`]). Its delivery
/// reports come through the [`Deliveries`] made with it, which must be polled (awaited) while
/// records are in flight.
pub struct Producer {
    inner: Arc<Client>,
    queue: Arc<Queue>,
    /// The task's lane in a shared client.
    lane: Option<usize>,
    /// The task's name (a shared client has a name of its own).
    name: String,
}

impl Producer {
    /// Creates a producer; its delivery reports arrive on the returned [`Deliveries`].
    pub fn new(name: &str, settings: &RdConfig) -> Result<(Producer, Deliveries), KafkaError> {
        Self::own(name, settings, false)
    }

    /// [`new`](Self::new), and its reports say where each record was written
    /// ([`Delivery::position`]).
    pub fn with_positions(
        name: &str,
        settings: &RdConfig,
    ) -> Result<(Producer, Deliveries), KafkaError> {
        Self::own(name, settings, true)
    }

    /// A producer for task `name` on the client this process shares between the tasks whose
    /// settings are exactly `settings` (created with the first of them, closed with the
    /// last). Each task still gets only its own records' reports, in its own [`Deliveries`];
    /// with `positions` they say where each record was written.
    pub fn shared(
        name: &str,
        settings: &RdConfig,
        positions: bool,
    ) -> Result<(Producer, Deliveries), KafkaError> {
        let queue = Arc::new(Queue::new(positions));
        let client = {
            let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
            let shared = shared.get_or_insert_with(HashMap::new);
            match shared.get(settings).and_then(Weak::upgrade) {
                Some(c) => c,
                None => {
                    shared.retain(|_, c| c.strong_count() > 0);
                    let n = SHARED_COUNT.fetch_add(1, Ordering::Relaxed) + 1;
                    // Named like the tasks' clients, so quotas and ACLs on the
                    // `connector-producer-` prefix still apply.
                    let shared_name = format!("connector-producer-shared-{n}");
                    let c = Arc::new(create(
                        &shared_name,
                        settings,
                        Routes::Shared(RwLock::new(Lanes::default())),
                    )?);
                    tracing::info!(client = %shared_name, task = %name, "Created a producer shared by the source tasks with these settings.");
                    shared.insert(settings.clone(), Arc::downgrade(&c));
                    c
                }
            }
        };
        let lane = match client.context().routes.lanes() {
            Some(lanes) => {
                let mut l = write(lanes);
                match l.free.pop() {
                    Some(lane) => {
                        l.queues[lane] = Some(queue.clone());
                        Some(lane)
                    }
                    None if l.queues.len() < MAX_LANES => {
                        l.queues.push(Some(queue.clone()));
                        Some(l.queues.len() - 1)
                    }
                    None => None,
                }
            }
            None => None,
        };
        let Some(lane) = lane else {
            // Over a million tasks on one client: this one gets its own.
            return Self::own(name, settings, positions);
        };
        Ok((
            Producer {
                inner: client.clone(),
                queue: queue.clone(),
                lane: Some(lane),
                name: name.to_string(),
            },
            Deliveries {
                queue,
                client: Some(client),
            },
        ))
    }

    fn own(
        name: &str,
        settings: &RdConfig,
        positions: bool,
    ) -> Result<(Producer, Deliveries), KafkaError> {
        let queue = Arc::new(Queue::new(positions));
        let inner = Arc::new(create(name, settings, Routes::Own(queue.clone()))?);
        Ok((
            Producer {
                inner: inner.clone(),
                queue: queue.clone(),
                lane: None,
                name: name.to_string(),
            },
            Deliveries {
                queue,
                client: Some(inner),
            },
        ))
    }

    /// Whether this producer is a lane of a shared client.
    pub fn is_shared(&self) -> bool {
        self.lane.is_some()
    }

    /// Hands a record to the client without blocking.
    pub fn send(&self, record: &OutRecord<'_>, seq: usize) -> Result<(), SendError> {
        let opaque = match self.lane {
            None => seq,
            Some(lane) => (lane << SEQ_BITS) | (seq & SEQ_MASK),
        };
        let mut base: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(record.topic, opaque);
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
        // Before the client has the record: its report may come on another thread at once.
        self.queue.last_sent.store(seq, Ordering::Release);
        self.queue.in_flight.fetch_add(1, Ordering::SeqCst);
        match self.inner.send(base) {
            Ok(()) => Ok(()),
            Err((e, _)) => {
                // Never handed over, so no report will come (the lane stays ours: this
                // producer is alive).
                self.queue.in_flight.fetch_sub(1, Ordering::SeqCst);
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

    /// This producer's records handed over and not yet reported.
    pub fn in_flight(&self) -> usize {
        self.queue.in_flight.load(Ordering::Relaxed)
    }

    /// Waits (on a blocking thread) until every record of this producer is delivered or the
    /// timeout passes. A lane of a shared client waits for its own records only: the
    /// reports of every task are served meanwhile, each to its own queue.
    pub async fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        let inner = self.inner.clone();
        let queue = self.queue.clone();
        let shared = self.lane.is_some();
        tokio::task::spawn_blocking(move || {
            if !shared {
                return inner.flush(timeout);
            }
            let deadline = std::time::Instant::now() + timeout;
            while queue.in_flight.load(Ordering::SeqCst) > 0 {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Err(rdkafka::error::KafkaError::Flush(
                        RDKafkaErrorCode::OperationTimedOut,
                    ));
                }
                inner.poll(left.min(Duration::from_millis(10)));
            }
            Ok(())
        })
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

impl Drop for Producer {
    fn drop(&mut self) {
        if let (Some(lane), Some(lanes)) = (self.lane, self.inner.context().routes.lanes()) {
            // The lane goes back once its last report came (now, or in the callback of that
            // report), so a late report can never reach another task's queue.
            if self.queue.close() {
                release(lanes, lane);
            }
        }
    }
}

fn create(name: &str, settings: &RdConfig, routes: Routes) -> Result<Client, KafkaError> {
    let mut cfg = crate::client_config(settings);
    cfg.set("client.id", name);
    cfg.set("statistics.interval.ms", crate::stats::INTERVAL_MS);
    cfg.create_with_context(DeliveryContext {
        name: name.to_string(),
        routes,
        stats: crate::stats::register(crate::stats::ClientKind::Producer, name),
    })
    .map_err(|e| KafkaError::new(format!("Could not create producer {name}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> (Arc<Queue>, Deliveries) {
        queue_with(false)
    }

    fn queue_with(positions: bool) -> (Arc<Queue>, Deliveries) {
        let q = Arc::new(Queue::new(positions));
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

    /// Settings of a client whose records fail fast: nothing listens at the bootstrap address.
    fn unreachable(tag: &str) -> RdConfig {
        let mut s = RdConfig::new();
        s.insert("bootstrap.servers".into(), "127.0.0.1:1".into());
        s.insert("message.timeout.ms".into(), "300".into());
        // Makes the settings of each test its own, so tests running at once share nothing.
        s.insert("client.rack".into(), tag.into());
        s
    }

    fn out(topic: &str) -> OutRecord<'_> {
        OutRecord {
            topic,
            partition: None,
            key: None,
            value: Some(b"v"),
            timestamp: None,
            headers: &[],
        }
    }

    /// Waits for `n` reports (with a deadline) and returns their sequence numbers and
    /// whether each failed.
    async fn reports(d: &mut Deliveries, n: usize) -> Vec<(usize, bool)> {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while got.iter().map(|r: &Delivery| r.seqs.len()).sum::<usize>() < n {
            let mut batch = Vec::new();
            if tokio::time::timeout_at(deadline, d.recv_many(&mut batch))
                .await
                .is_err()
            {
                panic!("only {got:?} of {n} reports came");
            }
            got.append(&mut batch);
        }
        got.iter()
            .flat_map(|r| r.seqs.clone().map(|s| (s, r.result.is_err())))
            .collect()
    }

    #[tokio::test]
    async fn tasks_with_the_same_settings_share_a_client_and_get_only_their_own_reports() {
        let settings = unreachable("share");
        let (a, mut da) = Producer::shared("task-a", &settings, false).unwrap();
        let (b, mut db) = Producer::shared("task-b", &settings, false).unwrap();
        let (other, _) = Producer::shared("task-c", &unreachable("share-other"), false).unwrap();
        assert!(a.is_shared() && b.is_shared());
        assert!(
            Arc::ptr_eq(&a.inner, &b.inner),
            "one client for one set of settings"
        );
        assert!(
            !Arc::ptr_eq(&a.inner, &other.inner),
            "another for other settings"
        );
        assert_ne!(a.lane, b.lane);
        // Sequence numbers past the bits the opaque value carries come back whole.
        let high = (1usize << SEQ_BITS) + 5;
        for seq in [high - 1, high, high + 1] {
            a.send(&out("t-a"), seq).unwrap();
        }
        b.send(&out("t-b"), 7).unwrap();
        assert_eq!(a.in_flight(), 3);
        // Each task's records fail (no broker) and only it hears of them.
        let got_b = reports(&mut db, 1).await;
        let got_a = reports(&mut da, 3).await;
        assert_eq!(got_a, [(high - 1, true), (high, true), (high + 1, true)]);
        assert_eq!(got_b, [(7, true)]);
        assert_eq!((a.in_flight(), b.in_flight()), (0, 0));
        let mut none = Vec::new();
        assert!(!da.try_recv_many(&mut none) && !db.try_recv_many(&mut none));
    }

    #[tokio::test]
    async fn a_lane_is_reused_only_once_its_last_report_came() {
        let settings = unreachable("lanes");
        let (a, mut da) = Producer::shared("task-a", &settings, false).unwrap();
        let lane_a = a.lane;
        a.send(&out("t"), 1).unwrap();
        let client = a.inner.clone();
        // The task is gone with a record in flight: its lane is not given to the next task.
        drop(a);
        let (b, mut db) = Producer::shared("task-b", &settings, false).unwrap();
        assert_ne!(b.lane, lane_a);
        b.send(&out("t"), 1).unwrap();
        // The first task's report still reaches its own queue, not the newcomer's.
        assert_eq!(reports(&mut da, 1).await, [(1, true)]);
        assert_eq!(reports(&mut db, 1).await, [(1, true)]);
        // Now the lane is free again.
        let (c, _dc) = Producer::shared("task-c", &settings, false).unwrap();
        assert!(Arc::ptr_eq(&client, &c.inner));
        assert_eq!(c.lane, lane_a);
    }

    #[tokio::test]
    async fn an_own_client_serves_one_task() {
        let settings = unreachable("own");
        let (p, mut d) = Producer::new("task-own", &settings).unwrap();
        let (q, _) = Producer::shared("task-shared", &settings, false).unwrap();
        assert!(!p.is_shared());
        assert!(!Arc::ptr_eq(&p.inner, &q.inner));
        p.send(&out("t"), 42).unwrap();
        assert_eq!(reports(&mut d, 1).await, [(42, true)]);
        // A flush of a shared lane waits for its own records only.
        q.send(&out("t"), 3).unwrap();
        let _ = q.flush(Duration::from_secs(30)).await;
        assert_eq!(q.in_flight(), 0);
    }
}
