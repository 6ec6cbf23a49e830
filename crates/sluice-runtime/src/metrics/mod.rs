//! The worker's metrics: what Kafka Connect measures (`ConnectMetricsRegistry`), with its
//! groups, names, tags and stat semantics, read by `GET /metrics`.
//!
//! Counting stays off the hot path's way: each task owns a [`TaskMetrics`] handle (atomics
//! for totals, one uncontended lock per *batch* for the windowed stats) and the registry keeps
//! only a weak reference to it, so a task's series live exactly as long as the task and a
//! scrape reads them without asking the task anything. Statuses (`status`, the per-connector
//! task counts) are not counted at all: a scrape reads them from the herder's status view,
//! as Kafka's gauges read the herder's.
//!
//! One registry per process ([`global`]), as one process runs one worker; the drivers and the
//! error handler find it there, so wiring it in changed no constructor. Tests that need
//! their own use [`Registry::new`].
//!
//! - [`stats`]: Kafka's sampled statistics (rates, averages, maxima, fractions, NaN).
//! - [`prometheus`]: the Prometheus text renderings (Strimzi's and Confluent's names).
//! - [`process`]: `process_*` series from `/proc`.

pub mod process;
pub mod prometheus;
pub mod stats;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Instant;

use sluice_api::connector::ConnectorKind;
use sluice_api::record::TopicPartition;

use crate::herder::Herder;
use crate::status::State;
use crate::task::TaskId;
use stats::{SampleConfig, StateTimes, TrackedState, Windowed};

/// The worker setting that picks the Prometheus naming family.
pub const PROMETHEUS_NAMING: &str = "metrics.prometheus.naming";
/// Kafka's sampling settings, honoured here.
pub const SAMPLE_WINDOW_MS: &str = "metrics.sample.window.ms";
pub const NUM_SAMPLES: &str = "metrics.num.samples";
/// Sluice only: `false` stops the tasks' counting (for measuring what counting costs); the
/// statuses and `process_*` series are still served.
pub const ENABLED: &str = "metrics.enabled";
/// Sluice only: `true` gives the sink tasks' consumers librdkafka's statistics, which feed the
/// `kafka_consumer_*` network series. Off by default: librdkafka allocates the statistics'
/// histograms for each of a consumer's broker connections when it is created and rewrites
/// them every interval (150 to 200 KiB resident per consumer, measured with 500 sink tasks;
/// docs/performance.md, "Scale"), and a worker runs a consumer per sink task.
pub const CONSUMER_NETWORK: &str = "metrics.consumer.network.enabled";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these are held; a poisoned value is still a valid value.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The registry's clock and sampling settings, shared with every handle.
#[derive(Debug)]
struct Clock {
    epoch: Instant,
    window_ms: AtomicU64,
    samples: AtomicU64,
    /// `metrics.enabled`: when false the tasks count nothing.
    enabled: AtomicBool,
    /// `metrics.consumer.network.enabled`: sink consumers collect librdkafka's statistics.
    consumer_network: AtomicBool,
}

impl Clock {
    fn off(&self) -> bool {
        !self.enabled.load(Ordering::Relaxed)
    }
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
    fn config(&self) -> SampleConfig {
        SampleConfig {
            window_ms: self.window_ms.load(Ordering::Relaxed).max(1),
            samples: self.samples.load(Ordering::Relaxed).clamp(1, 1_000) as usize,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Source or sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    Source,
    Sink,
}

#[derive(Debug, Default)]
struct TaskWindows {
    batch_size: Windowed,
    commit_time: Windowed,
    commit_ok: Windowed,
    /// Source: records polled; sink: records read.
    first_rate: Windowed,
    /// Source: records written; sink: records sent to `put`.
    second_rate: Windowed,
    /// Source: `poll()` time; sink: `put()` time.
    call_time: Windowed,
    active: Windowed,
    commit_completion: Windowed,
    commit_skip: Windowed,
}

/// A sink partition's next offset to put and last high watermark seen.
type Position = (Option<i64>, Option<i64>);

/// One task's measurements (`TaskMetricsGroup` with `SourceTaskMetricsGroup` or
/// `SinkTaskMetricsGroup`), owned by its driver.
#[derive(Debug)]
pub struct TaskMetrics {
    id: TaskId,
    kind: TaskKind,
    clock: Arc<Clock>,
    windows: Mutex<TaskWindows>,
    states: Mutex<StateTimes>,
    /// Source: `source-record-poll-total`; sink: `sink-record-read-total`.
    first_total: AtomicU64,
    /// Source: `source-record-write-total`; sink: `sink-record-send-total`.
    second_total: AtomicU64,
    active: AtomicI64,
    partition_count: AtomicU64,
    commit_seq_no: AtomicU64,
    commit_completion_total: AtomicU64,
    commit_skip_total: AtomicU64,
    /// Sink: per partition, the next offset to put and the last high watermark seen.
    lag: Mutex<BTreeMap<TopicPartition, Position>>,
}

impl TaskMetrics {
    fn new(id: TaskId, kind: TaskKind, clock: Arc<Clock>) -> Self {
        TaskMetrics {
            id,
            kind,
            clock,
            windows: Mutex::default(),
            states: Mutex::default(),
            first_total: AtomicU64::new(0),
            second_total: AtomicU64::new(0),
            active: AtomicI64::new(0),
            partition_count: AtomicU64::new(0),
            commit_seq_no: AtomicU64::new(0),
            commit_completion_total: AtomicU64::new(0),
            commit_skip_total: AtomicU64::new(0),
            lag: Mutex::default(),
        }
    }

    pub fn id(&self) -> &TaskId {
        &self.id
    }

    /// The task's state changed (for `running-ratio` and `pause-ratio`).
    pub fn set_state(&self, state: State) {
        if self.clock.off() {
            return;
        }
        let tracked = match state {
            State::Running => TrackedState::Running,
            State::Paused => TrackedState::Paused,
            _ => TrackedState::Other,
        };
        lock(&self.states).enter(tracked, self.clock.now());
    }

    /// Source: `poll()` returned `n` records after `millis` (`recordPollReturned`).
    pub fn record_poll(&self, n: usize, millis: u64) {
        if self.clock.off() {
            return;
        }
        let (config, now) = (self.clock.config(), self.clock.now());
        self.first_total.fetch_add(n as u64, Ordering::Relaxed);
        let active = self.active.fetch_add(n as i64, Ordering::Relaxed) + n as i64;
        let mut w = lock(&self.windows);
        w.first_rate.record(config, n as f64, now);
        w.batch_size.record(config, n as f64, now);
        w.call_time.record(config, millis as f64, now);
        w.active.record(config, active as f64, now);
    }

    /// Source: `written` records were acknowledged by the producer, and `retired` records
    /// (those plus records dropped or tolerated) are no longer active.
    pub fn record_write(&self, written: usize, retired: usize) {
        if self.clock.off() {
            return;
        }
        if written == 0 && retired == 0 {
            return;
        }
        let (config, now) = (self.clock.config(), self.clock.now());
        self.second_total
            .fetch_add(written as u64, Ordering::Relaxed);
        let before = self
            .active
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |a| {
                Some((a - retired as i64).max(0))
            })
            .unwrap_or(0);
        let active = (before - retired as i64).max(0);
        let mut w = lock(&self.windows);
        w.second_rate.record(config, written as f64, now);
        w.active.record(config, active as f64, now);
    }

    /// Sink: the consumer returned `n` records.
    pub fn record_read(&self, n: usize) {
        if self.clock.off() {
            return;
        }
        if n == 0 {
            return;
        }
        let (config, now) = (self.clock.config(), self.clock.now());
        self.first_total.fetch_add(n as u64, Ordering::Relaxed);
        lock(&self.windows).first_rate.record(config, n as f64, now);
    }

    /// Sink: `put()` took `n` records and `millis`.
    pub fn record_put(&self, n: usize, millis: u64) {
        if self.clock.off() {
            return;
        }
        let (config, now) = (self.clock.config(), self.clock.now());
        self.second_total.fetch_add(n as u64, Ordering::Relaxed);
        let mut w = lock(&self.windows);
        w.second_rate.record(config, n as f64, now);
        w.batch_size.record(config, n as f64, now);
        w.call_time.record(config, millis as f64, now);
    }

    /// Sink: records read but not yet committed, summed over partitions.
    pub fn set_active(&self, active: i64) {
        if self.clock.off() {
            return;
        }
        let (config, now) = (self.clock.config(), self.clock.now());
        self.active.store(active.max(0), Ordering::Relaxed);
        lock(&self.windows)
            .active
            .record(config, active.max(0) as f64, now);
    }

    /// Sink: partitions assigned to the task's consumer.
    pub fn set_partition_count(&self, n: usize) {
        if self.clock.off() {
            return;
        }
        self.partition_count.store(n as u64, Ordering::Relaxed);
    }

    /// An offset commit ended after `millis`.
    pub fn record_commit(&self, ok: bool, millis: u64) {
        if self.clock.off() {
            return;
        }
        let (config, now) = (self.clock.config(), self.clock.now());
        let mut w = lock(&self.windows);
        w.commit_ok.record(config, if ok { 1.0 } else { 0.0 }, now);
        if ok {
            w.commit_time.record(config, millis as f64, now);
            if self.kind == TaskKind::Sink {
                self.commit_seq_no.fetch_add(1, Ordering::Relaxed);
                self.commit_completion_total.fetch_add(1, Ordering::Relaxed);
                w.commit_completion.record(config, 1.0, now);
            }
        }
    }

    /// Sink: the next offset to put on a partition (for the consumer lag).
    pub fn set_position(&self, tp: &TopicPartition, next: i64) {
        if self.clock.off() {
            return;
        }
        let mut l = lock(&self.lag);
        match l.get_mut(tp) {
            Some(v) => v.0 = Some(next),
            None => {
                l.insert(tp.clone(), (Some(next), None));
            }
        }
    }

    /// Sink: a partition's high watermark (for the consumer lag).
    pub fn set_high_watermark(&self, tp: &TopicPartition, high: i64) {
        if self.clock.off() {
            return;
        }
        let mut l = lock(&self.lag);
        match l.get_mut(tp) {
            Some(v) => v.1 = Some(high),
            None => {
                l.insert(tp.clone(), (None, Some(high)));
            }
        }
    }

    /// Sink: the partitions whose lag is measured.
    pub fn lag_partitions(&self) -> Vec<TopicPartition> {
        lock(&self.lag).keys().cloned().collect()
    }

    /// Sink: forgets the lag of partitions no longer assigned.
    pub fn retain_lag(&self, assigned: &[TopicPartition]) {
        lock(&self.lag).retain(|tp, _| assigned.contains(tp));
    }

    fn collect(&self, out: &mut Vec<Metric>) {
        let (config, now) = (self.clock.config(), self.clock.now());
        let tags = || task_tags(&self.id);
        let mut w = lock(&self.windows);
        let states = *lock(&self.states);
        let g = CONNECTOR_TASK;
        out.push(Metric::num(
            g,
            "running-ratio",
            tags(),
            states.ratio(TrackedState::Running, now),
        ));
        out.push(Metric::num(
            g,
            "pause-ratio",
            tags(),
            states.ratio(TrackedState::Paused, now),
        ));
        out.push(Metric::num(
            g,
            "offset-commit-max-time-ms",
            tags(),
            w.commit_time.max(config, now),
        ));
        out.push(Metric::num(
            g,
            "offset-commit-avg-time-ms",
            tags(),
            w.commit_time.avg(config, now),
        ));
        out.push(Metric::num(
            g,
            "offset-commit-success-percentage",
            tags(),
            w.commit_ok.true_fraction(config, now),
        ));
        out.push(Metric::num(
            g,
            "offset-commit-failure-percentage",
            tags(),
            w.commit_ok.false_fraction(config, now),
        ));
        out.push(Metric::num(
            g,
            "batch-size-max",
            tags(),
            w.batch_size.max(config, now),
        ));
        out.push(Metric::num(
            g,
            "batch-size-avg",
            tags(),
            w.batch_size.avg(config, now),
        ));
        let first = self.first_total.load(Ordering::Relaxed) as f64;
        let second = self.second_total.load(Ordering::Relaxed) as f64;
        let active = self.active.load(Ordering::Relaxed) as f64;
        match self.kind {
            TaskKind::Source => {
                let g = SOURCE_TASK;
                out.push(Metric::num(
                    g,
                    "source-record-poll-rate",
                    tags(),
                    w.first_rate.rate(config, now),
                ));
                out.push(Metric::num(g, "source-record-poll-total", tags(), first));
                out.push(Metric::num(
                    g,
                    "source-record-write-rate",
                    tags(),
                    w.second_rate.rate(config, now),
                ));
                out.push(Metric::num(g, "source-record-write-total", tags(), second));
                out.push(Metric::num(
                    g,
                    "poll-batch-max-time-ms",
                    tags(),
                    w.call_time.max(config, now),
                ));
                out.push(Metric::num(
                    g,
                    "poll-batch-avg-time-ms",
                    tags(),
                    w.call_time.avg(config, now),
                ));
                out.push(Metric::num(g, "source-record-active-count", tags(), active));
                out.push(Metric::num(
                    g,
                    "source-record-active-count-max",
                    tags(),
                    w.active.max(config, now),
                ));
                out.push(Metric::num(
                    g,
                    "source-record-active-count-avg",
                    tags(),
                    w.active.avg(config, now),
                ));
            }
            TaskKind::Sink => {
                let g = SINK_TASK;
                out.push(Metric::num(
                    g,
                    "sink-record-read-rate",
                    tags(),
                    w.first_rate.rate(config, now),
                ));
                out.push(Metric::num(g, "sink-record-read-total", tags(), first));
                out.push(Metric::num(
                    g,
                    "sink-record-send-rate",
                    tags(),
                    w.second_rate.rate(config, now),
                ));
                out.push(Metric::num(g, "sink-record-send-total", tags(), second));
                out.push(Metric::num(
                    g,
                    "partition-count",
                    tags(),
                    self.partition_count.load(Ordering::Relaxed) as f64,
                ));
                out.push(Metric::num(
                    g,
                    "offset-commit-seq-no",
                    tags(),
                    self.commit_seq_no.load(Ordering::Relaxed) as f64,
                ));
                out.push(Metric::num(
                    g,
                    "offset-commit-completion-rate",
                    tags(),
                    w.commit_completion.rate(config, now),
                ));
                out.push(Metric::num(
                    g,
                    "offset-commit-completion-total",
                    tags(),
                    self.commit_completion_total.load(Ordering::Relaxed) as f64,
                ));
                out.push(Metric::num(
                    g,
                    "offset-commit-skip-rate",
                    tags(),
                    w.commit_skip.rate(config, now),
                ));
                out.push(Metric::num(
                    g,
                    "offset-commit-skip-total",
                    tags(),
                    self.commit_skip_total.load(Ordering::Relaxed) as f64,
                ));
                out.push(Metric::num(
                    g,
                    "put-batch-max-time-ms",
                    tags(),
                    w.call_time.max(config, now),
                ));
                out.push(Metric::num(
                    g,
                    "put-batch-avg-time-ms",
                    tags(),
                    w.call_time.avg(config, now),
                ));
                out.push(Metric::num(g, "sink-record-active-count", tags(), active));
                out.push(Metric::num(
                    g,
                    "sink-record-active-count-max",
                    tags(),
                    w.active.max(config, now),
                ));
                out.push(Metric::num(
                    g,
                    "sink-record-active-count-avg",
                    tags(),
                    w.active.avg(config, now),
                ));
                drop(w);
                for (tp, (next, high)) in lock(&self.lag).iter() {
                    let (Some(next), Some(high)) = (next, high) else {
                        continue;
                    };
                    let lag = (high - next).max(0);
                    let mut t = tags();
                    t.push(("topic", tp.topic.clone()));
                    t.push(("partition", tp.partition.to_string()));
                    out.push(Metric::num(SLUICE_SINK_TASK, "consumer-lag", t, lag as f64));
                }
            }
        }
    }
}

/// One task's error counters (`ErrorHandlingMetrics`), owned by its error handler.
#[derive(Debug)]
pub struct ErrorMetrics {
    id: TaskId,
    record_failures: AtomicU64,
    record_errors: AtomicU64,
    records_skipped: AtomicU64,
    retries: AtomicU64,
    errors_logged: AtomicU64,
    dlq_requests: AtomicU64,
    dlq_failures: AtomicU64,
    last_error_ms: AtomicI64,
}

impl ErrorMetrics {
    fn new(id: TaskId) -> Self {
        ErrorMetrics {
            id,
            record_failures: AtomicU64::new(0),
            record_errors: AtomicU64::new(0),
            records_skipped: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            errors_logged: AtomicU64::new(0),
            dlq_requests: AtomicU64::new(0),
            dlq_failures: AtomicU64::new(0),
            last_error_ms: AtomicI64::new(0),
        }
    }

    /// An operation failed for good (retries exhausted or not retriable); `tolerated` when
    /// `errors.tolerance=all` skips its record, `logged` when the log reporter wrote it.
    pub fn record_error(&self, tolerated: bool, logged: bool) {
        self.record_failures.fetch_add(1, Ordering::Relaxed);
        self.record_errors.fetch_add(1, Ordering::Relaxed);
        if tolerated {
            self.records_skipped.fetch_add(1, Ordering::Relaxed);
        }
        if logged {
            self.errors_logged.fetch_add(1, Ordering::Relaxed);
        }
        self.last_error_ms.store(wall_ms(), Ordering::Relaxed);
    }

    /// An operation that failed was retried `n` times (each retry follows a failed attempt).
    pub fn record_retries(&self, n: u64) {
        if n == 0 {
            return;
        }
        self.record_failures.fetch_add(n, Ordering::Relaxed);
        self.retries.fetch_add(n, Ordering::Relaxed);
        self.last_error_ms.store(wall_ms(), Ordering::Relaxed);
    }

    /// A record was handed to the dead letter queue's producer.
    pub fn record_dlq_request(&self) {
        self.dlq_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// A dead letter queue write failed.
    pub fn record_dlq_failure(&self) {
        self.dlq_failures.fetch_add(1, Ordering::Relaxed);
    }

    fn collect(&self, out: &mut Vec<Metric>) {
        let g = TASK_ERROR;
        let tags = || task_tags(&self.id);
        let v = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        out.push(Metric::num(
            g,
            "total-record-failures",
            tags(),
            v(&self.record_failures),
        ));
        out.push(Metric::num(
            g,
            "total-record-errors",
            tags(),
            v(&self.record_errors),
        ));
        out.push(Metric::num(
            g,
            "total-records-skipped",
            tags(),
            v(&self.records_skipped),
        ));
        out.push(Metric::num(g, "total-retries", tags(), v(&self.retries)));
        out.push(Metric::num(
            g,
            "total-errors-logged",
            tags(),
            v(&self.errors_logged),
        ));
        out.push(Metric::num(
            g,
            "deadletterqueue-produce-requests",
            tags(),
            v(&self.dlq_requests),
        ));
        out.push(Metric::num(
            g,
            "deadletterqueue-produce-failures",
            tags(),
            v(&self.dlq_failures),
        ));
        out.push(Metric::num(
            g,
            "last-error-timestamp",
            tags(),
            self.last_error_ms.load(Ordering::Relaxed) as f64,
        ));
    }
}

#[derive(Debug, Default)]
struct WorkerStats {
    connector_attempts: u64,
    connector_success: u64,
    connector_failure: u64,
    connector_outcomes: Windowed,
    task_attempts: u64,
    task_success: u64,
    task_failure: u64,
    task_outcomes: Windowed,
}

/// Distributed mode: `connect-worker-rebalance-metrics` and the coordinator's assignment.
#[derive(Debug, Default)]
struct RebalanceStats {
    protocol: String,
    leader: String,
    epoch: i64,
    completed: u64,
    started_ms: Option<u64>,
    last_completed_ms: Option<u64>,
    times: Windowed,
    client_id: String,
    assigned_connectors: u64,
    assigned_tasks: u64,
}

/// The worker's metrics registry.
#[derive(Debug)]
pub struct Registry {
    clock: Arc<Clock>,
    tasks: Mutex<BTreeMap<TaskId, Weak<TaskMetrics>>>,
    errors: Mutex<BTreeMap<TaskId, Weak<ErrorMetrics>>>,
    worker: Mutex<WorkerStats>,
    rebalance: Mutex<Option<RebalanceStats>>,
    /// Per network series, the totals seen at earlier scrapes (for the `-rate` series).
    rates: Mutex<BTreeMap<String, std::collections::VecDeque<(u64, f64)>>>,
    start_ms: i64,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

/// The process's registry.
pub fn global() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::new)
}

impl Registry {
    pub fn new() -> Self {
        let d = SampleConfig::default();
        Registry {
            clock: Arc::new(Clock {
                epoch: Instant::now(),
                window_ms: AtomicU64::new(d.window_ms),
                samples: AtomicU64::new(d.samples as u64),
                enabled: AtomicBool::new(true),
                consumer_network: AtomicBool::new(false),
            }),
            tasks: Mutex::default(),
            errors: Mutex::default(),
            worker: Mutex::default(),
            rebalance: Mutex::default(),
            rates: Mutex::default(),
            start_ms: wall_ms(),
        }
    }

    /// Applies `metrics.sample.window.ms` and `metrics.num.samples` from a worker config
    /// (Kafka's defaults, 30000 and 2, for what is absent or not a positive number).
    pub fn configure(&self, worker: &sluice_api::config::RawConfig) {
        let get = |k: &str, d: u64| {
            worker
                .get(k)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|v| *v > 0)
                .unwrap_or(d)
        };
        let d = SampleConfig::default();
        self.clock
            .window_ms
            .store(get(SAMPLE_WINDOW_MS, d.window_ms), Ordering::Relaxed);
        self.clock
            .samples
            .store(get(NUM_SAMPLES, d.samples as u64), Ordering::Relaxed);
        let enabled = worker
            .get(ENABLED)
            .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
        self.clock.enabled.store(enabled, Ordering::Relaxed);
        let consumer_network = worker
            .get(CONSUMER_NETWORK)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        self.clock
            .consumer_network
            .store(consumer_network, Ordering::Relaxed);
    }

    /// Whether a new sink consumer collects librdkafka's statistics (its `kafka_consumer_*`
    /// series): `metrics.consumer.network.enabled`.
    pub fn consumer_network(&self) -> bool {
        self.clock.consumer_network.load(Ordering::Relaxed)
    }

    /// A new task's measurements; its series exist while the handle does.
    pub fn task(&self, id: &TaskId, kind: TaskKind) -> Arc<TaskMetrics> {
        let m = Arc::new(TaskMetrics::new(id.clone(), kind, self.clock.clone()));
        let mut tasks = lock(&self.tasks);
        tasks.retain(|_, w| w.strong_count() > 0);
        tasks.insert(id.clone(), Arc::downgrade(&m));
        m
    }

    /// A task's error counters; their series exist while the handle does.
    /// The handle of a running task is shared: its dead letter queue and its error handler
    /// count into one.
    pub fn task_errors(&self, id: &TaskId) -> Arc<ErrorMetrics> {
        let mut errors = lock(&self.errors);
        if let Some(m) = errors.get(id).and_then(Weak::upgrade) {
            return m;
        }
        let m = Arc::new(ErrorMetrics::new(id.clone()));
        errors.retain(|_, w| w.strong_count() > 0);
        errors.insert(id.clone(), Arc::downgrade(&m));
        m
    }

    /// A connector start was attempted and succeeded or failed.
    pub fn record_connector_startup(&self, ok: bool) {
        let (config, now) = (self.clock.config(), self.clock.now());
        let mut w = lock(&self.worker);
        w.connector_attempts += 1;
        if ok {
            w.connector_success += 1;
        } else {
            w.connector_failure += 1;
        }
        w.connector_outcomes
            .record(config, if ok { 1.0 } else { 0.0 }, now);
    }

    /// A task start is attempted.
    pub fn record_task_attempt(&self) {
        lock(&self.worker).task_attempts += 1;
    }

    /// A task started (its `start()` returned) or failed before it could.
    pub fn record_task_startup(&self, ok: bool) {
        let (config, now) = (self.clock.config(), self.clock.now());
        let mut w = lock(&self.worker);
        if ok {
            w.task_success += 1;
        } else {
            w.task_failure += 1;
        }
        w.task_outcomes
            .record(config, if ok { 1.0 } else { 0.0 }, now);
    }

    /// Distributed mode: this worker's group member is `client_id` and speaks `protocol`.
    pub fn set_group_member(&self, client_id: &str, protocol: &str) {
        let mut r = lock(&self.rebalance);
        let r = r.get_or_insert_with(RebalanceStats::default);
        r.client_id = client_id.to_string();
        r.protocol = protocol.to_ascii_uppercase();
    }

    /// Distributed mode: a rebalance began (the member is joining).
    pub fn rebalance_started(&self) {
        let now = self.clock.now();
        let mut r = lock(&self.rebalance);
        let r = r.get_or_insert_with(RebalanceStats::default);
        if r.started_ms.is_none() {
            r.started_ms = Some(now);
        }
    }

    /// Distributed mode: a rebalance ended with this assignment.
    pub fn rebalance_completed(
        &self,
        generation: i64,
        leader_url: &str,
        connectors: usize,
        tasks: usize,
    ) {
        let (config, now) = (self.clock.config(), self.clock.now());
        let mut r = lock(&self.rebalance);
        let r = r.get_or_insert_with(RebalanceStats::default);
        if let Some(start) = r.started_ms.take() {
            r.times
                .record(config, now.saturating_sub(start) as f64, now);
        }
        r.completed += 1;
        r.epoch = generation;
        r.leader = leader_url.to_string();
        r.last_completed_ms = Some(now);
        r.assigned_connectors = connectors as u64;
        r.assigned_tasks = tasks as u64;
    }

    /// The series of the running tasks (`connector-task-metrics` but `status`,
    /// `source-task-metrics`, `sink-task-metrics`, `task-error-metrics`).
    pub fn collect_tasks(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        let tasks: Vec<Arc<TaskMetrics>> = lock(&self.tasks)
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for t in tasks {
            t.collect(&mut out);
        }
        let errors: Vec<Arc<ErrorMetrics>> = lock(&self.errors)
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for e in errors {
            e.collect(&mut out);
        }
        out
    }

    /// Every series this worker has, statuses read from `herder`.
    pub fn collect(&self, herder: &Herder, app: &AppInfo) -> Vec<Metric> {
        let mut out = Vec::new();
        statuses(herder, &mut out);
        out.extend(self.collect_tasks());
        self.collect_worker(&mut out);
        let client_id = self.collect_rebalance(&mut out);
        self.collect_network(client_id.as_deref(), &mut out);
        let mut tags = Vec::new();
        if let Some(c) = client_id {
            tags.push(("client-id", c));
        }
        out.push(Metric::text(
            APP_INFO,
            "version",
            tags.clone(),
            &app.version,
        ));
        out.push(Metric::text(
            APP_INFO,
            "commit-id",
            tags.clone(),
            &app.commit,
        ));
        out.push(Metric::num(
            APP_INFO,
            "start-time-ms",
            tags,
            self.start_ms as f64,
        ));
        out
    }

    /// A total's rate per second over the sample window, from the totals seen at scrapes:
    /// Kafka's `Rate` counts events as they happen; these totals are read when scraped, so
    /// the rate covers the span from the oldest scrape still inside the window (or the
    /// registry's start, with the total at zero) to now.
    fn rate_of(
        &self,
        rates: &mut BTreeMap<String, std::collections::VecDeque<(u64, f64)>>,
        key: String,
        total: f64,
    ) -> f64 {
        let (config, now) = (self.clock.config(), self.clock.now());
        let span = config.window_ms.saturating_mul(config.samples as u64);
        let seen = rates.entry(key).or_insert_with(|| [(0, 0.0)].into());
        // Keep the newest point at or before the window's start as the base.
        while seen.len() > 1 && seen[1].0.saturating_add(span) <= now {
            seen.pop_front();
        }
        let (t0, v0) = seen[0];
        seen.push_back((now, total));
        if seen.len() > 64 {
            seen.remove(1);
        }
        let elapsed = now.saturating_sub(t0);
        if elapsed == 0 {
            return 0.0;
        }
        ((total - v0).max(0.0)) * 1000.0 / elapsed as f64
    }

    /// The Kafka clients' network totals (`producer-metrics`, `consumer-metrics`, from
    /// librdkafka's statistics; `admin-client-metrics`, counted by Sluice's own admin
    /// clients) and, in distributed mode, the
    /// group member's (`connect-metrics`, tagged with its client id).
    fn collect_network(&self, member: Option<&str>, out: &mut Vec<Metric>) {
        let mut rates = lock(&self.rates);
        let mut live = std::collections::BTreeSet::new();
        let member = member.map(|m| {
            let t = sluice_group::net_metrics::totals();
            let key = format!("{NETWORK}/{m}/iotime-total");
            live.insert(key.clone());
            // Nanoseconds of I/O per second of wall time: the fraction of time doing I/O.
            let io_ratio = self.rate_of(&mut rates, key, t.io_nanos as f64) / 1e9;
            (m, t, io_ratio)
        });
        let mut series = |out: &mut Vec<Metric>,
                          group: &'static str,
                          client: &str,
                          totals: &[(&'static str, &'static str, f64)],
                          gauges: &[(&'static str, f64)]| {
            let tags = vec![("client-id", client.to_string())];
            for (total, rate, v) in totals {
                out.push(Metric::num(group, total, tags.clone(), *v));
                let key = format!("{group}/{client}/{total}");
                live.insert(key.clone());
                let r = self.rate_of(&mut rates, key, *v);
                out.push(Metric::num(group, rate, tags.clone(), r));
            }
            for (name, v) in gauges {
                out.push(Metric::num(group, name, tags.clone(), *v));
            }
        };
        for (kind, client, s) in sluice_kafka::stats::snapshot() {
            let group = match kind {
                sluice_kafka::stats::ClientKind::Producer => PRODUCER,
                sluice_kafka::stats::ClientKind::Consumer => CONSUMER,
                sluice_kafka::stats::ClientKind::Admin => ADMIN_CLIENT,
            };
            series(
                out,
                group,
                &client,
                &[
                    (
                        "outgoing-byte-total",
                        "outgoing-byte-rate",
                        s.outgoing_bytes as f64,
                    ),
                    (
                        "incoming-byte-total",
                        "incoming-byte-rate",
                        s.incoming_bytes as f64,
                    ),
                    ("request-total", "request-rate", s.requests as f64),
                    ("response-total", "response-rate", s.responses as f64),
                    (
                        "connection-creation-total",
                        "connection-creation-rate",
                        s.connects as f64,
                    ),
                    (
                        "connection-close-total",
                        "connection-close-rate",
                        s.disconnects as f64,
                    ),
                ],
                &[("connection-count", s.connections as f64)],
            );
        }
        if let Some((member, t, io_ratio)) = member {
            series(
                out,
                NETWORK,
                member,
                &[
                    (
                        "outgoing-byte-total",
                        "outgoing-byte-rate",
                        t.outgoing_bytes as f64,
                    ),
                    (
                        "incoming-byte-total",
                        "incoming-byte-rate",
                        t.incoming_bytes as f64,
                    ),
                    ("request-total", "request-rate", t.requests as f64),
                    ("response-total", "response-rate", t.responses as f64),
                    (
                        "network-io-total",
                        "network-io-rate",
                        (t.requests + t.responses) as f64,
                    ),
                    (
                        "connection-creation-total",
                        "connection-creation-rate",
                        t.created as f64,
                    ),
                    (
                        "connection-close-total",
                        "connection-close-rate",
                        t.closed as f64,
                    ),
                    (
                        "successful-authentication-total",
                        "successful-authentication-rate",
                        t.auth_ok as f64,
                    ),
                    (
                        "failed-authentication-total",
                        "failed-authentication-rate",
                        t.auth_failed as f64,
                    ),
                ],
                &[
                    ("connection-count", t.connections as f64),
                    ("iotime-total", t.io_nanos as f64),
                    ("io-ratio", io_ratio.clamp(0.0, 1.0)),
                ],
            );
        }
        rates.retain(|k, _| live.contains(k));
    }

    fn collect_worker(&self, out: &mut Vec<Metric>) {
        let (config, now) = (self.clock.config(), self.clock.now());
        let mut w = lock(&self.worker);
        let g = WORKER;
        out.push(Metric::num(
            g,
            "connector-startup-attempts-total",
            vec![],
            w.connector_attempts as f64,
        ));
        out.push(Metric::num(
            g,
            "connector-startup-success-total",
            vec![],
            w.connector_success as f64,
        ));
        out.push(Metric::num(
            g,
            "connector-startup-failure-total",
            vec![],
            w.connector_failure as f64,
        ));
        out.push(Metric::num(
            g,
            "connector-startup-success-percentage",
            vec![],
            w.connector_outcomes.true_fraction(config, now),
        ));
        out.push(Metric::num(
            g,
            "connector-startup-failure-percentage",
            vec![],
            w.connector_outcomes.false_fraction(config, now),
        ));
        out.push(Metric::num(
            g,
            "task-startup-attempts-total",
            vec![],
            w.task_attempts as f64,
        ));
        out.push(Metric::num(
            g,
            "task-startup-success-total",
            vec![],
            w.task_success as f64,
        ));
        out.push(Metric::num(
            g,
            "task-startup-failure-total",
            vec![],
            w.task_failure as f64,
        ));
        out.push(Metric::num(
            g,
            "task-startup-success-percentage",
            vec![],
            w.task_outcomes.true_fraction(config, now),
        ));
        out.push(Metric::num(
            g,
            "task-startup-failure-percentage",
            vec![],
            w.task_outcomes.false_fraction(config, now),
        ));
    }

    fn collect_rebalance(&self, out: &mut Vec<Metric>) -> Option<String> {
        let (config, now) = (self.clock.config(), self.clock.now());
        let mut r = lock(&self.rebalance);
        let r = r.as_mut()?;
        let g = REBALANCE;
        out.push(Metric::text(g, "connect-protocol", vec![], &r.protocol));
        out.push(Metric::text(g, "leader-name", vec![], &r.leader));
        out.push(Metric::num(g, "epoch", vec![], r.epoch as f64));
        out.push(Metric::num(
            g,
            "completed-rebalances-total",
            vec![],
            r.completed as f64,
        ));
        out.push(Metric::num(
            g,
            "rebalancing",
            vec![],
            if r.started_ms.is_some() { 1.0 } else { 0.0 },
        ));
        out.push(Metric::num(
            g,
            "rebalance-max-time-ms",
            vec![],
            r.times.max(config, now),
        ));
        out.push(Metric::num(
            g,
            "rebalance-avg-time-ms",
            vec![],
            r.times.avg(config, now),
        ));
        let since = r
            .last_completed_ms
            .map_or(f64::INFINITY, |t| now.saturating_sub(t) as f64);
        out.push(Metric::num(
            g,
            "time-since-last-rebalance-ms",
            vec![],
            since,
        ));
        let tags = vec![("client-id", r.client_id.clone())];
        out.push(Metric::num(
            COORDINATOR,
            "assigned-connectors",
            tags.clone(),
            r.assigned_connectors as f64,
        ));
        out.push(Metric::num(
            COORDINATOR,
            "assigned-tasks",
            tags,
            r.assigned_tasks as f64,
        ));
        Some(r.client_id.clone())
    }
}

/// `app-info`: what this worker is.
#[derive(Clone, Debug)]
pub struct AppInfo {
    pub version: String,
    pub commit: String,
}

pub const CONNECTOR: &str = "connector-metrics";
pub const CONNECTOR_TASK: &str = "connector-task-metrics";
pub const SOURCE_TASK: &str = "source-task-metrics";
pub const SINK_TASK: &str = "sink-task-metrics";
pub const TASK_ERROR: &str = "task-error-metrics";
pub const WORKER: &str = "connect-worker-metrics";
pub const REBALANCE: &str = "connect-worker-rebalance-metrics";
pub const COORDINATOR: &str = "connect-coordinator-metrics";
pub const APP_INFO: &str = "app-info";
/// Kafka client network series (librdkafka's statistics; the admin clients' own counts).
pub const PRODUCER: &str = "producer-metrics";
pub const CONSUMER: &str = "consumer-metrics";
pub const ADMIN_CLIENT: &str = "admin-client-metrics";
/// The group member's network series (Kafka's `connect-metrics`).
pub const NETWORK: &str = "connect-metrics";
/// Sluice's own: the consumer lag per sink task and partition.
pub const SLUICE_SINK_TASK: &str = "sluice-sink-task-metrics";
/// Sluice's own: records tolerated per task since the connector was created on this worker.
pub const SLUICE_TASK: &str = "sluice-task-metrics";

/// A metric's value: a number, or a string (states, class names).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(f64),
    Text(String),
}

/// One measurement: Kafka's `MetricName` (group, name, tags in registration order) and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub group: &'static str,
    pub name: &'static str,
    pub tags: Vec<(&'static str, String)>,
    pub value: Value,
}

impl Metric {
    pub fn num(
        group: &'static str,
        name: &'static str,
        tags: Vec<(&'static str, String)>,
        v: f64,
    ) -> Self {
        Metric {
            group,
            name,
            tags,
            value: Value::Num(v),
        }
    }
    pub fn text(
        group: &'static str,
        name: &'static str,
        tags: Vec<(&'static str, String)>,
        v: &str,
    ) -> Self {
        Metric {
            group,
            name,
            tags,
            value: Value::Text(v.to_string()),
        }
    }
}

fn task_tags(id: &TaskId) -> Vec<(&'static str, String)> {
    vec![
        ("connector", id.connector.clone()),
        ("task", id.task.to_string()),
    ]
}

/// Kafka's status names: the state in lower case.
fn status_name(state: State) -> String {
    state.name().to_ascii_lowercase()
}

/// `connector-metrics`, the task `status`, `connect-worker-metrics` counts and the tolerated
/// records, from the herder's statuses of what runs on this worker.
fn statuses(herder: &Herder, out: &mut Vec<Metric>) {
    let me = herder.worker_id().to_string();
    let mut connector_count = 0u64;
    let mut task_count = 0u64;
    for name in herder.connectors() {
        let Ok(status) = herder.connector_status(&name) else {
            continue;
        };
        let conn = || vec![("connector", name.clone())];
        if status.connector.worker_id == me && status.connector.state != State::Unassigned {
            connector_count += 1;
            out.push(Metric::text(
                CONNECTOR,
                "status",
                conn(),
                &status_name(status.connector.state),
            ));
            let info = herder.connector_info(&name).ok();
            let class = info
                .as_ref()
                .and_then(|i| i.config.get(crate::config::connector::CONNECTOR_CLASS))
                .map(|c| c.trim().to_string())
                .unwrap_or_default();
            let plugin = herder.plugins().connector(&class);
            let kind = status.kind.or(plugin.map(|p| p.kind));
            if let Some(kind) = kind {
                let kind = match kind {
                    ConnectorKind::Source => "source",
                    ConnectorKind::Sink => "sink",
                };
                out.push(Metric::text(CONNECTOR, "connector-type", conn(), kind));
            }
            let class = plugin.map_or(class, |p| p.class.to_string());
            out.push(Metric::text(CONNECTOR, "connector-class", conn(), &class));
            if let Some(p) = plugin {
                out.push(Metric::text(
                    CONNECTOR,
                    "connector-version",
                    conn(),
                    p.version,
                ));
            }
        }
        // KIP-475: per-connector task counts of this worker, registered while it has tasks.
        let mut counts = [0u64; 6];
        let mut total = 0u64;
        for (id, t) in &status.tasks {
            if t.worker_id != me {
                continue;
            }
            total += 1;
            let idx = match t.state {
                State::Running => 0,
                State::Paused => 1,
                State::Failed => 2,
                State::Unassigned => 3,
                State::Restarting => 5,
                State::Stopped => 4,
            };
            counts[idx] += 1;
            let tags = vec![("connector", name.clone()), ("task", id.to_string())];
            out.push(Metric::text(
                CONNECTOR_TASK,
                "status",
                tags.clone(),
                &status_name(t.state),
            ));
            let tolerated = status.tolerated.get(id).copied().unwrap_or(0);
            out.push(Metric::num(
                SLUICE_TASK,
                "tolerated-records-total",
                tags,
                tolerated as f64,
            ));
        }
        if total > 0 {
            task_count += total;
            let n = |i: usize| counts[i] as f64;
            out.push(Metric::num(
                WORKER,
                "connector-total-task-count",
                conn(),
                total as f64,
            ));
            // Kafka's `destroyed` state is a task being removed; Sluice removes it at once.
            for (i, name) in [
                "connector-running-task-count",
                "connector-paused-task-count",
                "connector-failed-task-count",
                "connector-unassigned-task-count",
                "connector-destroyed-task-count",
                "connector-restarting-task-count",
            ]
            .into_iter()
            .enumerate()
            {
                out.push(Metric::num(WORKER, name, conn(), n(i)));
            }
        }
    }
    out.push(Metric::num(
        WORKER,
        "connector-count",
        vec![],
        connector_count as f64,
    ));
    out.push(Metric::num(WORKER, "task-count", vec![], task_count as f64));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> TaskId {
        TaskId {
            connector: "c".into(),
            task: 0,
        }
    }

    fn value(ms: &[Metric], group: &str, name: &str) -> Option<f64> {
        ms.iter()
            .find(|m| m.group == group && m.name == name)
            .and_then(|m| match m.value {
                Value::Num(v) => Some(v),
                Value::Text(_) => None,
            })
    }

    #[test]
    fn source_bookkeeping_follows_kafka() {
        let r = Registry::new();
        let t = r.task(&id(), TaskKind::Source);
        t.record_poll(10, 3);
        t.record_poll(5, 1);
        t.record_write(12, 13);
        let mut out = Vec::new();
        t.collect(&mut out);
        assert_eq!(
            value(&out, SOURCE_TASK, "source-record-poll-total"),
            Some(15.0)
        );
        assert_eq!(
            value(&out, SOURCE_TASK, "source-record-write-total"),
            Some(12.0)
        );
        assert_eq!(
            value(&out, SOURCE_TASK, "source-record-active-count"),
            Some(2.0)
        );
        assert_eq!(
            value(&out, SOURCE_TASK, "source-record-active-count-max"),
            Some(15.0)
        );
        assert_eq!(
            value(&out, SOURCE_TASK, "poll-batch-max-time-ms"),
            Some(3.0)
        );
        assert_eq!(value(&out, CONNECTOR_TASK, "batch-size-avg"), Some(7.5));
        // No commit yet: NaN, as Kafka reports.
        assert!(value(&out, CONNECTOR_TASK, "offset-commit-avg-time-ms").is_some_and(f64::is_nan));
        assert_eq!(
            value(&out, CONNECTOR_TASK, "offset-commit-success-percentage"),
            Some(0.0)
        );
    }

    #[test]
    fn consumer_statistics_are_off_unless_the_worker_asks_for_them() {
        let r = Registry::new();
        let mut worker = sluice_api::config::RawConfig::new();
        r.configure(&worker);
        assert!(!r.consumer_network());
        worker.insert(CONSUMER_NETWORK.into(), " TRUE ".into());
        r.configure(&worker);
        assert!(r.consumer_network());
        worker.insert(CONSUMER_NETWORK.into(), "false".into());
        r.configure(&worker);
        assert!(!r.consumer_network());
    }

    #[test]
    fn metrics_enabled_false_stops_the_counting_and_true_resumes_it() {
        let r = Registry::new();
        let mut worker = sluice_api::config::RawConfig::new();
        worker.insert(ENABLED.into(), "FALSE".into());
        r.configure(&worker);
        let t = r.task(&id(), TaskKind::Source);
        t.record_poll(10, 3);
        t.record_write(10, 10);
        let mut out = Vec::new();
        t.collect(&mut out);
        assert_eq!(
            value(&out, SOURCE_TASK, "source-record-poll-total"),
            Some(0.0)
        );
        worker.insert(ENABLED.into(), "true".into());
        r.configure(&worker);
        t.record_poll(4, 1);
        let mut out = Vec::new();
        t.collect(&mut out);
        assert_eq!(
            value(&out, SOURCE_TASK, "source-record-poll-total"),
            Some(4.0)
        );
    }

    #[test]
    fn a_task_series_ends_with_its_handle() {
        let r = Registry::new();
        let t = r.task(&id(), TaskKind::Sink);
        assert_eq!(
            lock(&r.tasks)
                .values()
                .filter(|w| w.upgrade().is_some())
                .count(),
            1
        );
        drop(t);
        assert_eq!(
            lock(&r.tasks)
                .values()
                .filter(|w| w.upgrade().is_some())
                .count(),
            0
        );
    }

    #[test]
    fn sink_commits_count_sequence_numbers_and_fractions() {
        let r = Registry::new();
        let t = r.task(&id(), TaskKind::Sink);
        t.record_commit(true, 4);
        t.record_commit(false, 9);
        let mut out = Vec::new();
        t.collect(&mut out);
        assert_eq!(value(&out, SINK_TASK, "offset-commit-seq-no"), Some(1.0));
        assert_eq!(
            value(&out, SINK_TASK, "offset-commit-completion-total"),
            Some(1.0)
        );
        assert_eq!(
            value(&out, CONNECTOR_TASK, "offset-commit-success-percentage"),
            Some(0.5)
        );
        assert_eq!(
            value(&out, CONNECTOR_TASK, "offset-commit-max-time-ms"),
            Some(4.0)
        );
    }
}
