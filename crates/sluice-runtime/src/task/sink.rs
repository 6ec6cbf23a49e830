//! The sink task driver (`WorkerSinkTask`): consume → convert → transform → put, and commit
//! the offsets `pre_commit` returns every `offset.flush.interval.ms` and at shutdown.
//!
//! Committed offsets never pass a record that was not put and flushed: a failure leaves the
//! committed position at or before the failing record. Conversion, transforms and
//! `errors.*` handling are in [`crate::errors::sink`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_api::config::RawConfig;
use sluice_api::connector::{SinkTask, SinkTaskContext};
use sluice_api::record::{SinkRecord, TopicPartition};
use sluice_api::{ConnectError, ErrorKind};
use sluice_kafka::consumer::{Consumer, RebalanceEvent, Subscription, Watermarks};
use sluice_kafka::RdConfig;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{TargetState, TaskId, TaskSettings};
use crate::chain::TransformChain;
use crate::convert::Converters;
use crate::errors::dlq::DeadLetterQueue;
use crate::errors::sink::{Errant, SinkErrors, SinkPipeline};
use crate::errors::{ErrorHandler, ErrorSettings};
use crate::metrics::{TaskKind, TaskMetrics};
use crate::status::{State, StatusStore};

/// Java's default `max.poll.records`.
pub const DEFAULT_MAX_POLL_RECORDS: usize = 500;

pub struct SinkTaskSpec {
    pub id: TaskId,
    pub task: Box<dyn SinkTask>,
    pub task_config: RawConfig,
    pub subscription: Subscription,
    pub converters: Converters,
    pub chain: TransformChain,
    pub consumer: RdConfig,
    /// `errors.*` of the connector, and the clients its dead letter queue uses.
    pub errors: ErrorSettings,
    pub dlq_producer: RdConfig,
    pub admin: RdConfig,
    pub max_poll_records: usize,
    pub settings: TaskSettings,
    pub status: StatusStore,
    pub target: watch::Receiver<TargetState>,
    pub cancel: CancellationToken,
}

#[derive(Default)]
struct Requests {
    seeks: HashMap<TopicPartition, i64>,
    timeout_ms: u64,
    pause: Vec<TopicPartition>,
    resume: Vec<TopicPartition>,
    commit: bool,
    assignment: Vec<TopicPartition>,
    errant: Vec<Errant>,
}

/// `SinkTaskContext`: requests are recorded and applied by the driver between batches.
struct Context {
    configs: RawConfig,
    requests: Mutex<Requests>,
}

impl Context {
    fn lock(&self) -> std::sync::MutexGuard<'_, Requests> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SinkTaskContext for Context {
    fn configs(&self) -> &RawConfig {
        &self.configs
    }
    fn offset(&self, offsets: &HashMap<TopicPartition, i64>) {
        self.lock()
            .seeks
            .extend(offsets.iter().map(|(k, v)| (k.clone(), *v)));
    }
    fn timeout(&self, millis: u64) {
        self.lock().timeout_ms = millis;
    }
    fn assignment(&self) -> Vec<TopicPartition> {
        self.lock().assignment.clone()
    }
    fn pause(&self, partitions: &[TopicPartition]) {
        self.lock().pause.extend_from_slice(partitions);
    }
    fn resume(&self, partitions: &[TopicPartition]) {
        self.lock().resume.extend_from_slice(partitions);
    }
    fn request_commit(&self) {
        self.lock().commit = true;
    }
    fn report_errant(&self, record: &SinkRecord, error: ConnectError) {
        self.lock().errant.push(Errant {
            record: record.clone(),
            error,
        });
    }
}

struct Driver {
    id: TaskId,
    task: Box<dyn SinkTask>,
    consumer: Consumer,
    ctx: Arc<Context>,
    /// Next offset to consume per partition, for everything put so far.
    current: HashMap<TopicPartition, i64>,
    /// Offsets last committed.
    committed: HashMap<TopicPartition, i64>,
    assignment: Vec<TopicPartition>,
    paused: bool,
    errors: SinkErrors,
    metrics: Arc<TaskMetrics>,
}

impl Driver {
    async fn handle_rebalances(&mut self) -> Result<(), ConnectError> {
        for event in self.consumer.take_events() {
            match event {
                RebalanceEvent::Assigned(parts) => {
                    tracing::info!(task = %self.id, partitions = ?parts, "Partitions assigned.");
                    self.assignment.extend(parts.iter().cloned());
                    if self.paused {
                        self.consumer.pause(&parts)?;
                    }
                    self.task.open(&parts).await?;
                }
                RebalanceEvent::Revoked(parts) => {
                    tracing::info!(task = %self.id, partitions = ?parts, "Partitions revoked.");
                    // Commit what was put before losing the partitions.
                    self.commit(true).await?;
                    self.task.close(&parts).await?;
                    self.assignment.retain(|p| !parts.contains(p));
                    for p in &parts {
                        self.current.remove(p);
                        self.committed.remove(p);
                    }
                }
            }
        }
        self.ctx.lock().assignment = self.assignment.clone();
        self.metrics.set_partition_count(self.assignment.len());
        self.metrics.retain_lag(&self.assignment);
        Ok(())
    }

    /// `sink-record-active-count`: records put (or read) but not committed yet.
    fn update_active(&self) {
        let active = self
            .current
            .iter()
            .map(|(tp, next)| self.committed.get(tp).map_or(0, |c| (next - c).max(0)))
            .sum();
        self.metrics.set_active(active);
    }

    fn apply_requests(&mut self) -> Result<bool, ConnectError> {
        let (seeks, pause, resume, commit) = {
            let mut r = self.ctx.lock();
            (
                std::mem::take(&mut r.seeks),
                std::mem::take(&mut r.pause),
                std::mem::take(&mut r.resume),
                std::mem::take(&mut r.commit),
            )
        };
        for (tp, off) in seeks {
            self.consumer.seek(&tp, off)?;
            self.current.insert(tp, off);
        }
        if !pause.is_empty() {
            self.consumer.pause(&pause)?;
        }
        if !resume.is_empty() && !self.paused {
            self.consumer.resume(&resume)?;
        }
        Ok(commit)
    }

    async fn set_paused(&mut self, paused: bool) -> Result<(), ConnectError> {
        if paused == self.paused {
            return Ok(());
        }
        self.paused = paused;
        if paused {
            self.consumer.pause(&self.assignment)?;
        } else {
            self.consumer.resume(&self.assignment)?;
        }
        Ok(())
    }

    /// `pre_commit` then commit what it returns (only offsets for assigned partitions).
    async fn commit(&mut self, sync: bool) -> Result<(), ConnectError> {
        if self.current.is_empty() || self.current == self.committed {
            return Ok(());
        }
        let to_commit = match self.task.pre_commit(&self.current).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(task = %self.id, error = %e, "Commit of offsets threw an unexpected exception in preCommit; offsets are not committed.");
                return Ok(());
            }
        };
        let mut offsets: Vec<(TopicPartition, i64)> = to_commit.into_iter().collect();
        // Never past a record whose DLQ write is not acknowledged yet.
        self.errors.cap_commit(&mut offsets)?;
        offsets.retain(|(tp, off)| {
            self.assignment.contains(tp) && self.committed.get(tp) != Some(off)
        });
        if offsets.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let result = self.consumer.commit(&offsets, sync);
        self.metrics
            .record_commit(result.is_ok(), started.elapsed().as_millis() as u64);
        match result {
            Ok(()) => {
                tracing::debug!(task = %self.id, partitions = offsets.len(), "Committed offsets.");
                self.committed.extend(offsets);
                self.update_active();
            }
            Err(e) => {
                tracing::warn!(task = %self.id, error = %e, "Offset commit failed; will retry.")
            }
        }
        Ok(())
    }

    /// Puts a batch, redelivering it after `timeout` on retriable errors.
    async fn put(
        &mut self,
        batch: &[SinkRecord],
        cancel: &CancellationToken,
    ) -> Result<bool, ConnectError> {
        loop {
            let started = std::time::Instant::now();
            match self.task.put(batch).await {
                Ok(()) => {
                    self.metrics
                        .record_put(batch.len(), started.elapsed().as_millis() as u64);
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::Retriable => {
                    let wait = Duration::from_millis(self.ctx.lock().timeout_ms.max(100));
                    tracing::warn!(task = %self.id, error = %e, wait_ms = wait.as_millis() as u64, "RetriableException from SinkTask; the batch will be redelivered.");
                    tokio::select! {
                        _ = cancel.cancelled() => return Ok(false),
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(e) => {
                    return Err(ConnectError::fatal(format!(
                        "Exiting WorkerSinkTask due to unrecoverable exception: {e}"
                    ))
                    .with_source(e))
                }
            }
        }
    }
}

/// How often a sink task's consumer lag is measured.
const LAG_INTERVAL: Duration = Duration::from_secs(3);

/// Sluice's consumer lag (`sluice_sink_task_consumer_lag`): every [`LAG_INTERVAL`], asks the
/// partition leaders for the high watermarks of the partitions the task put records of,
/// apart from the receive loop, so a slow broker never holds up the task.
async fn measure_lag(watermarks: Watermarks, metrics: Arc<TaskMetrics>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(LAG_INTERVAL) => {}
        }
        for tp in metrics.lag_partitions() {
            if let Some(high) = watermarks.high(&tp, Duration::from_secs(2)).await {
                metrics.set_high_watermark(&tp, high);
            }
        }
    }
}

/// Runs a sink task until cancelled or failed.
pub async fn run(spec: SinkTaskSpec) -> Result<(), ConnectError> {
    let SinkTaskSpec {
        id,
        mut task,
        task_config,
        subscription,
        converters,
        chain,
        consumer,
        errors,
        dlq_producer,
        admin,
        max_poll_records,
        settings,
        status,
        mut target,
        cancel,
    } = spec;
    let metrics = crate::metrics::global().task(&id, TaskKind::Sink);
    let dlq = DeadLetterQueue::start(&id, &errors, &dlq_producer, &admin, &cancel).await?;
    let mut pipeline = SinkPipeline::new(converters, chain, dlq.is_some());
    let errors = SinkErrors {
        handler: ErrorHandler::new(id.clone(), errors, status.clone()),
        dlq,
    };
    let consumer = Consumer::new(
        &format!("connector-consumer-{id}"),
        &consumer,
        crate::metrics::global().consumer_network(),
    )?;
    // On the worker's runtime: its ListOffsets calls block, and there they share the
    // worker's blocking pool instead of keeping a thread of this task's pool alive.
    let lag = super::worker_runtime().spawn(measure_lag(
        consumer.watermarks(),
        metrics.clone(),
        cancel.child_token(),
    ));
    let _lag = super::AbortOnDrop(lag.abort_handle());
    let ctx = Arc::new(Context {
        configs: task_config,
        requests: Mutex::new(Requests::default()),
    });
    let started = tokio::select! {
        _ = cancel.cancelled() => return Ok(()),
        r = task.start(ctx.clone()) => r,
    };
    crate::metrics::global().record_task_startup(started.is_ok());
    started?;
    consumer.subscribe(&subscription)?;
    let state_of = |t: TargetState| {
        if t == TargetState::Started {
            State::Running
        } else {
            State::Paused
        }
    };
    metrics.set_state(state_of(*target.borrow()));
    status.put_task(&id.connector, id.task, state_of(*target.borrow()), None);
    tracing::info!(task = %id, "Sink task finished initialization and start.");

    let mut d = Driver {
        id: id.clone(),
        task,
        consumer,
        ctx,
        current: HashMap::new(),
        committed: HashMap::new(),
        assignment: Vec::new(),
        paused: false,
        errors,
        metrics: metrics.clone(),
    };
    let mut tick =
        tokio::time::interval(settings.offset_flush_interval.max(Duration::from_millis(1)));
    tick.tick().await;
    // max.poll.records comes from the user: it bounds a batch, it does not size one up front.
    // The batch grows with what actually arrives and keeps its capacity across polls: an idle
    // sink holds no room for records it never gets (500 records' room was ~100 KiB a task;
    // docs/performance.md, "Scale").
    let mut batch: Vec<SinkRecord> = Vec::new();
    // The topic recorded last as active (KIP-558), and the status store's topics epoch then.
    let mut last_topic: Option<(String, u64)> = None;
    // The console's record tap: one atomic load per batch while nobody looks.
    let tap = status.taps().slot(&id.connector);
    let outcome: Result<(), ConnectError> = async {
        let initial = *target.borrow();
        d.set_paused(initial != TargetState::Started).await?;
        loop {
            d.handle_rebalances().await?;
            if d.apply_requests()? {
                d.commit(false).await?;
            }
            let mut positions: Vec<(TopicPartition, i64)> = Vec::new();
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ok(()),
                changed = target.changed() => {
                    if changed.is_ok() {
                        let t = *target.borrow();
                        d.set_paused(t != TargetState::Started).await?;
                        metrics.set_state(state_of(t));
                        status.put_task(&id.connector, id.task, state_of(t), None);
                    }
                    continue;
                }
                _ = tick.tick() => { d.commit(false).await?; continue; }
                got = d.consumer.recv_batch(max_poll_records, Duration::from_millis(500), |rec| {
                    // Records of one topic in a row cost a string comparison and an atomic
                    // load, not two tree lookups under a lock (KIP-558 resets bump the epoch).
                    let epoch = status.topics_epoch();
                    if !last_topic.as_ref().is_some_and(|(t, e)| *e == epoch && t == rec.topic) {
                        status.record_topic(&id.connector, id.task, rec.topic);
                        last_topic = Some((rec.topic.to_string(), epoch));
                    }
                    pipeline.accept(rec, &mut batch, &mut positions)
                }) => { metrics.record_read(got?); }
            }
            // Failed records: retried, tolerated or the task's error (after the put below).
            let failed = pipeline
                .finish(&mut d.errors, &mut batch, &mut positions, &cancel)
                .await;
            // Assignment changes seen during the receive come before the records' put.
            d.handle_rebalances().await?;
            if tap.active() {
                for r in &batch {
                    tap.offer_connect(id.task, &r.record, r.kafka_offset);
                }
            }
            if !batch.is_empty() && !d.put(&batch, &cancel).await? {
                return Ok(());
            }
            batch.clear();
            let moved = !positions.is_empty();
            for (tp, next) in positions {
                d.metrics.set_position(&tp, next);
                d.current.insert(tp, next);
            }
            if moved {
                d.update_active();
            }
            let errant = std::mem::take(&mut d.ctx.lock().errant);
            let errant = if errant.is_empty() {
                Ok(())
            } else {
                pipeline.errant(&mut d.errors, errant, &mut d.current).await
            };
            pipeline.end_batch();
            if let Some(e) = failed {
                return Err(e);
            }
            errant?;
        }
    }
    .await;

    // Shutdown: let the DLQ acknowledge what it got, commit what was put (synchronously),
    // close partitions, stop the task.
    if let Err(e) = d.errors.flush(settings.offset_flush_timeout).await {
        tracing::error!(task = %id, error = %e, "Dead letter queue writes failed; their records are consumed again after a restart.");
    }
    if outcome.is_ok() {
        if let Err(e) = d.commit(true).await {
            tracing::warn!(task = %id, error = %e, "Final offset commit failed.");
        }
    } else {
        // Offsets of records put before the failure are still safe to commit.
        let _ = d.commit(true).await;
    }
    let assigned = d.assignment.clone();
    if let Err(e) = d.task.close(&assigned).await {
        tracing::warn!(task = %id, error = %e, "Sink task close() failed.");
    }
    if let Err(e) = d.task.stop().await {
        tracing::warn!(task = %id, error = %e, "Sink task stop() failed.");
    }
    d.consumer.close().await;
    outcome
}
