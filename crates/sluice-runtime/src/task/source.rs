//! The source task driver (`WorkerSourceTask`): poll → transform → convert → produce.
//!
//! A poller owns the task and hands batches over a channel of one, so polling never blocks
//! the producer side and memory stays bounded. A record's source offset becomes committable
//! only when it and every record submitted before it have been acknowledged by the broker;
//! committable offsets are saved every `offset.flush.interval.ms` and at shutdown.
//! Transforms, conversion and `errors.*` handling are in [`crate::errors::source`]; a
//! tolerated record's offset counts once it is in the dead letter queue (or at once without).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use sluice_api::config::RawConfig;
use sluice_api::connector::{RecordCommitter, RecordMetadata, SourceTask, SourceTaskContext};
use sluice_api::data::{Headers, Value};
use sluice_api::record::{ConnectRecord, OffsetMap, SourceRecord, Topic};
use sluice_api::ConnectError;
use sluice_kafka::admin::Admin;
use sluice_kafka::producer::{Deliveries, Delivery, OutRecord, Producer, SendError};
use sluice_kafka::RdConfig;
use tokio::sync::{mpsc, watch, Notify};
use tokio_util::sync::CancellationToken;

use super::{TargetState, TaskId, TaskSettings};
use crate::chain::TransformChain;
use crate::convert::Converters;
use crate::errors::dlq::DeadLetterQueue;
use crate::errors::source::{Processed, SourceErrors, SourcePipeline, SOURCE_TASK_CLASS};
use crate::errors::{ErrorHandler, ErrorSettings, Failure, RecordContext, Stage};
use crate::metrics::{TaskKind, TaskMetrics};
use crate::offsets::{codec, ConnectorOffsets, OffsetStore};
use crate::status::{State, StatusStore};
use crate::topic_creation::TopicCreation;

/// Records handed to the producer and not yet acknowledged, at most.
pub const MAX_IN_FLIGHT: usize = 50_000;

/// How long a send that found the producer's queue full waits for reports before it tries
/// again.
const QUEUE_FULL_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// Everything a source task driver needs.
pub struct SourceTaskSpec {
    pub id: TaskId,
    /// Which missing topics this task creates, and how (KIP-158).
    pub topic_creation: TopicCreation,
    pub task: Box<dyn SourceTask>,
    pub task_config: RawConfig,
    pub converters: Converters,
    pub chain: TransformChain,
    pub producer: RdConfig,
    /// The task gets a producer of its own (the connector sets `producer.override.*`);
    /// otherwise it shares the one client of every task with the same settings.
    pub own_producer: bool,
    pub admin: RdConfig,
    /// `errors.*` of the connector (Sluice allows a DLQ on sources too).
    pub errors: ErrorSettings,
    pub offsets: Arc<OffsetStore>,
    pub settings: TaskSettings,
    pub status: StatusStore,
    pub target: watch::Receiver<TargetState>,
    pub cancel: CancellationToken,
}

/// Records of one source partition submitted one after the other (at most [`MAX_RUN`]).
/// Only the run's last offset is kept: an offset may be committed once it and every earlier
/// record are acknowledged, and the end of a fully acknowledged run at the front of the queue
/// is exactly such an offset. Offsets are so committed a run at a time, and a record costs two
/// counter increments instead of a queue entry, its offset map kept until its ack, and a
/// reference count (which showed in profiles).
struct Run {
    key: Arc<Vec<u8>>,
    /// Sequence number of the run's first record.
    first: usize,
    len: usize,
    acked: usize,
    offset: OffsetMap,
}

impl Run {
    fn holds(&self, seq: usize) -> bool {
        seq >= self.first && seq - self.first < self.len
    }
}

/// Records per [`Run`] at most, so that a busy partition's offsets still move on while it
/// streams.
const MAX_RUN: usize = 1024;

/// Submitted records in order, and the offsets that became committable.
#[derive(Default)]
struct Submitted {
    runs: VecDeque<Run>,
    next_seq: usize,
    /// Fx-hashed: one insert per acknowledged run, and SipHash of the whole key showed in
    /// profiles.
    committable: FxHashMap<Arc<Vec<u8>>, OffsetMap>,
    /// The offset key of the last partition seen, and that partition.
    last_key: Option<(Arc<OffsetMap>, Arc<Vec<u8>>)>,
    /// The last run takes no more records: the next one starts a run of its own.
    sealed: bool,
}

impl Submitted {
    /// Submits the next record of `partition`; `acked` when nothing is left to wait for (a
    /// record dropped by a transform or tolerated without a DLQ). Returns its sequence number.
    fn submit(
        &mut self,
        connector: &str,
        partition: &Arc<OffsetMap>,
        offset: OffsetMap,
        acked: bool,
    ) -> Result<usize, ConnectError> {
        let same = self
            .last_key
            .as_ref()
            .is_some_and(|(p, _)| Arc::ptr_eq(p, partition) || **p == **partition);
        if !same {
            let key = Arc::new(codec::encode_key(connector, partition)?);
            self.last_key = Some((partition.clone(), key));
        }
        let Some((_, key)) = &self.last_key else {
            return Err(ConnectError::fatal("no offset key for a submitted record"));
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let sealed = std::mem::take(&mut self.sealed);
        match self.runs.back_mut() {
            Some(run) if !sealed && Arc::ptr_eq(&run.key, key) && run.len < MAX_RUN => {
                run.len += 1;
                run.acked += usize::from(acked);
                run.offset = offset;
            }
            _ => self.runs.push_back(Run {
                key: key.clone(),
                first: seq,
                len: 1,
                acked: usize::from(acked),
                offset,
            }),
        }
        if acked {
            self.advance();
        }
        Ok(seq)
    }

    /// Ends the last run: records of a poll never share a run with the records of another.
    /// A run's offset becomes committable only once all its records are acknowledged, so a
    /// source that waits for commits before it gets more records (RabbitMQ's prefetch window)
    /// sees its first polls committed while the later ones are still on their way.
    fn seal(&mut self) {
        self.sealed = true;
    }

    /// Marks record `seq` acknowledged (each at most once; unknown ones are ignored).
    fn ack(&mut self, seq: usize) {
        self.ack_range(seq..seq + 1);
    }

    /// Marks records `seqs` acknowledged (each at most once; ones already retired or never
    /// submitted are ignored). The producer reports consecutive acknowledgements as one
    /// range, so a run of 1,024 records is mostly one addition rather than 1,024.
    fn ack_range(&mut self, seqs: std::ops::Range<usize>) {
        let Some(front) = self.runs.front() else {
            return;
        };
        let start = seqs.start.max(front.first);
        let end = seqs.end.min(self.next_seq);
        if start >= end {
            return;
        }
        // Reports come mostly in order: the front run first.
        let mut i = if front.holds(start) {
            0
        } else {
            match self
                .runs
                .partition_point(|r| r.first <= start)
                .checked_sub(1)
            {
                Some(i) => i,
                None => return,
            }
        };
        while let Some(run) = self.runs.get_mut(i) {
            if run.first >= end {
                break;
            }
            let covered = end.min(run.first + run.len) - start.max(run.first);
            run.acked = (run.acked + covered).min(run.len);
            i += 1;
        }
        if self.runs.front().is_some_and(|r| r.acked == r.len) {
            self.advance();
        }
    }

    /// Moves the offsets of fully acknowledged runs at the front to `committable`.
    fn advance(&mut self) {
        while self.runs.front().is_some_and(|r| r.acked == r.len) {
            if let Some(run) = self.runs.pop_front() {
                self.committable.insert(run.key, run.offset);
            }
        }
    }

    /// Records submitted and not yet retired (acknowledged with every earlier one).
    fn in_flight(&self) -> usize {
        self.runs.front().map_or(0, |r| self.next_seq - r.first)
    }
}

/// Records kept for a task that opted in to per-record commits
/// ([`SourceTask::record_committer`]), until Kafka acknowledged them. Tasks that did not opt in
/// have none, and their records are neither copied nor kept.
struct RecordCommits {
    committer: Arc<dyn RecordCommitter>,
    /// By sequence number: the record as polled and the topic it was sent to.
    pending: FxHashMap<usize, (SourceRecord, Topic)>,
}

impl RecordCommits {
    /// The copy of `rec` that [`RecordCommitter::commit_record`] gets later: all of it, or
    /// without what the committer says it does not read.
    fn original(&self, rec: &SourceRecord) -> SourceRecord {
        let (payload, headers) = (
            self.committer.needs_payload(),
            self.committer.needs_headers(),
        );
        if payload && headers {
            return rec.clone();
        }
        let r = &rec.record;
        SourceRecord {
            source_partition: rec.source_partition.clone(),
            source_offset: rec.source_offset.clone(),
            record: ConnectRecord {
                topic: r.topic.clone(),
                kafka_partition: r.kafka_partition,
                key_schema: r.key_schema.clone(),
                key: if payload { r.key.clone() } else { Value::Null },
                value_schema: r.value_schema.clone(),
                value: if payload {
                    r.value.clone()
                } else {
                    Value::Null
                },
                timestamp: r.timestamp,
                headers: if headers {
                    r.headers.clone()
                } else {
                    Headers::new()
                },
                kafka_offset: r.kafka_offset,
            },
        }
    }

    fn keep(&mut self, seq: usize, record: SourceRecord, topic: Topic) {
        self.pending.insert(seq, (record, topic));
    }

    /// Records `seqs` are done: written from `position` on (see
    /// [`sluice_kafka::producer::Delivery::position`]), or not written to their topic (`None`).
    fn done(&mut self, seqs: std::ops::Range<usize>, position: Option<(i32, i64)>) {
        for (i, seq) in seqs.enumerate() {
            if let Some((record, topic)) = self.pending.remove(&seq) {
                let metadata = position.map(|(partition, offset)| RecordMetadata {
                    topic,
                    partition,
                    offset: offset + i as i64,
                });
                self.committer.commit_record(record, metadata);
            }
        }
    }
}

enum Polled {
    Batch(Vec<SourceRecord>),
    Failed(ConnectError),
}

/// Emptied batches the driver hands back to the poller, so a poll reuses a batch's memory
/// instead of allocating (and the driver freeing) a vector of records per poll: freeing such
/// a large block made glibc consolidate its free lists, which showed in profiles.
#[derive(Clone, Default)]
struct Spare(Arc<std::sync::Mutex<Vec<Vec<SourceRecord>>>>);

impl Spare {
    /// Batches kept at most (one being polled, one being sent).
    const KEEP: usize = 2;

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<SourceRecord>>> {
        // Nothing panics while it is held; a poisoned list is still a valid list.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self) -> Vec<SourceRecord> {
        self.lock().pop().unwrap_or_default()
    }

    fn give(&self, mut batch: Vec<SourceRecord>) {
        batch.clear();
        let mut spare = self.lock();
        if spare.len() < Self::KEEP {
            spare.push(batch);
        }
    }
}

/// Owns the task: polls while the target state is STARTED, commits when told, stops at the end.
async fn poller(
    mut task: Box<dyn SourceTask>,
    tx: mpsc::Sender<Polled>,
    mut target: watch::Receiver<TargetState>,
    cancel: CancellationToken,
    committed: Arc<Notify>,
    spare: Spare,
    metrics: Arc<TaskMetrics>,
) -> Box<dyn SourceTask> {
    loop {
        if *target.borrow() != TargetState::Started {
            tokio::select! {
                _ = cancel.cancelled() => break,
                changed = target.changed() => if changed.is_err() { break },
                _ = committed.notified() => commit(&mut task).await,
            }
            continue;
        }
        // A poll is only ever dropped to stop the task: commit() runs between polls.
        let mut batch = spare.take();
        let started = std::time::Instant::now();
        let polled = tokio::select! {
            _ = cancel.cancelled() => break,
            r = task.poll_into(&mut batch) => r,
        };
        if polled.is_ok() && !batch.is_empty() {
            metrics.record_poll(batch.len(), started.elapsed().as_millis() as u64);
        }
        if futures::FutureExt::now_or_never(committed.notified()).is_some() {
            commit(&mut task).await;
        }
        let msg = match polled {
            Ok(()) if batch.is_empty() => {
                spare.give(batch);
                continue;
            }
            Ok(()) => Polled::Batch(batch),
            Err(e) => Polled::Failed(e),
        };
        let failed = matches!(msg, Polled::Failed(_));
        tokio::select! {
            _ = cancel.cancelled() => break,
            sent = tx.send(msg) => if sent.is_err() { break },
        }
        if failed {
            break;
        }
    }
    task
}

async fn commit(task: &mut Box<dyn SourceTask>) {
    if let Err(e) = task.commit().await {
        tracing::warn!(error = %e, "Source task commit() failed");
    }
}

/// The topics a task writes to: created when missing, recorded as active (KIP-558).
struct Topics {
    id: TaskId,
    admin_settings: RdConfig,
    admin: Option<Admin>,
    known_topics: HashSet<String>,
    /// The topic of the last record sent, and the status store's topics epoch then.
    last_topic: Option<(String, u64)>,
    cancel: CancellationToken,
    /// Which missing topics this task creates, and how (KIP-158).
    creation: TopicCreation,
    status: StatusStore,
}

struct Driver {
    id: TaskId,
    producer: Producer,
    deliveries: Deliveries,
    /// Delivery reports taken from `deliveries`, handled in order by `handle_reports`.
    reports: Vec<Delivery>,
    topics: Topics,
    cancel: CancellationToken,
    pipeline: SourcePipeline,
    errors: SourceErrors,
    offsets: Arc<OffsetStore>,
    submitted: Submitted,
    commits: Option<RecordCommits>,
    headers_buf: Vec<(String, Option<Vec<u8>>)>,
    /// The console's record tap: one atomic load per record while nobody looks.
    tap: Arc<crate::inspect::TapSlot>,
    metrics: Arc<TaskMetrics>,
}

impl Topics {
    /// Makes sure `topic` exists and is recorded as active (KIP-558). Records of one topic
    /// in a row cost a string comparison and an atomic load, not a hash and a lock.
    async fn note(&mut self, topic: &str) -> Result<(), ConnectError> {
        let epoch = self.status.topics_epoch();
        if self
            .last_topic
            .as_ref()
            .is_some_and(|(t, e)| *e == epoch && t == topic)
        {
            return Ok(());
        }
        self.ensure(topic).await?;
        self.status
            .record_topic(&self.id.connector, self.id.task, topic);
        self.last_topic = Some((topic.to_string(), epoch));
        Ok(())
    }

    /// Makes sure `topic` exists, creating it when missing. While the broker cannot be
    /// reached this retries with backoff (logging each failure) until it can, or the task stops.
    async fn ensure(&mut self, topic: &str) -> Result<(), ConnectError> {
        if self.known_topics.contains(topic) {
            return Ok(());
        }
        let mut backoff = std::time::Duration::from_millis(200);
        loop {
            match self.try_ensure(topic).await {
                Ok(()) => break,
                Err(e)
                    if e.kind() == sluice_api::ErrorKind::Retriable
                        || e.message().contains("Timed out") =>
                {
                    tracing::warn!(task = %self.id, topic, error = %e, retry_in_ms = backoff.as_millis() as u64, "Cannot reach Kafka to check the topic; retrying.");
                    tokio::select! {
                        _ = self.cancel.cancelled() => return Err(ConnectError::retriable(format!("Stopped while waiting for Kafka to check topic {topic}"))),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
                }
                Err(e) => return Err(e),
            }
        }
        self.known_topics.insert(topic.to_string());
        // The admin client is needed again only for a topic not seen yet. Sluice's own admin
        // client stays for the task's life, as Kafka's does (its series are the task's
        // `connector-adminclient-*`); librdkafka's, with its threads, goes until then (a
        // worker runs hundreds of source tasks).
        if self.admin.as_ref().is_some_and(Admin::holds_threads) {
            self.admin = None;
        }
        Ok(())
    }

    async fn try_ensure(&mut self, topic: &str) -> Result<(), ConnectError> {
        let Some(new) = self.creation.new_topic(topic) else {
            tracing::info!(task = %self.id, topic, "topic.creation.enable=false: not creating topics; the topic must exist.");
            return Ok(());
        };
        if self.admin.is_none() {
            let name = format!("connector-adminclient-{}", self.id);
            self.admin = Some(Admin::new(&name, &self.admin_settings)?);
        }
        let Some(admin) = self.admin.as_ref() else {
            return Ok(());
        };
        if admin.topic_exists(topic).await? {
            return Ok(());
        }
        let configs: Vec<(&str, &str)> = new
            .configs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match admin
            .create_topic(topic, new.partitions, new.replication_factor, &configs)
            .await
        {
            Ok(true) => {
                tracing::info!(task = %self.id, topic, partitions = new.partitions, replication_factor = new.replication_factor, "Created topic (-1 = the broker's default).")
            }
            Ok(false) => {}
            Err(e) => {
                let e = ConnectError::from(e);
                if e.kind() == sluice_api::ErrorKind::Retriable {
                    return Err(e);
                }
                return Err(ConnectError::fatal(format!(
                    "Task failed to create new topic {topic} (partitions {}, replication factor {}, configs {:?}): {}. Ensure that the task is authorized to create topics or that the topic exists and restart the task",
                    new.partitions,
                    new.replication_factor,
                    new.configs,
                    e.message()
                )));
            }
        }
        Ok(())
    }
}

/// Handles the delivery reports in `reports` (left empty, its capacity kept), in order;
/// stops at the first failure that fails the task.
fn handle_reports(
    reports: &mut Vec<Delivery>,
    submitted: &mut Submitted,
    commits: &mut Option<RecordCommits>,
    errors: &mut SourceErrors,
    metrics: &TaskMetrics,
) -> Result<(), ConnectError> {
    let mut result = Ok(());
    let (mut written, mut retired) = (0, 0);
    for d in reports.drain(..) {
        if result.is_ok() {
            let (n, ok) = (d.seqs.len(), d.result.is_ok());
            result = on_delivery(submitted, commits, errors, d);
            if result.is_ok() {
                retired += n;
                written += if ok { n } else { 0 };
            }
        }
    }
    metrics.record_write(written, retired);
    result
}

fn on_delivery(
    submitted: &mut Submitted,
    commits: &mut Option<RecordCommits>,
    errors: &mut SourceErrors,
    d: Delivery,
) -> Result<(), ConnectError> {
    match d.result {
        Ok(()) => {
            if let Some(c) = commits.as_mut() {
                c.done(d.seqs.clone(), d.position);
            }
            submitted.ack_range(d.seqs);
            Ok(())
        }
        Err(e) => {
            let error = ConnectError::fatal(format!(
                "Unrecoverable exception from producer send callback: {e}"
            ))
            .with_source(e);
            // With errors.tolerance=all Kafka skips records the producer failed to write
            // (KIP-779): logged and counted, the offset moves on.
            let failure = Failure::new(Stage::KafkaProduce, SOURCE_TASK_CLASS, error);
            let context = RecordContext::Source {
                source_partition: OffsetMap::new(),
                source_offset: OffsetMap::new(),
                record: Default::default(),
            };
            match errors.handler.handle(&failure, &context) {
                Ok(()) => {
                    if let Some(c) = commits.as_mut() {
                        c.done(d.seqs.clone(), None);
                    }
                    submitted.ack_range(d.seqs);
                    Ok(())
                }
                Err(_) => Err(failure.error),
            }
        }
    }
}

impl Driver {
    fn handle_reports(&mut self) -> Result<(), ConnectError> {
        handle_reports(
            &mut self.reports,
            &mut self.submitted,
            &mut self.commits,
            &mut self.errors,
            &self.metrics,
        )
    }

    /// Tells a task with a record committer that offsets were committed (Kafka's
    /// `SourceTask.commit()`, from this side: the poller may be waiting in `poll`).
    fn committed(&self) {
        if let Some(c) = self.commits.as_ref() {
            c.committer.commit();
        }
    }

    /// Offsets of tolerated records whose DLQ writes were acknowledged become committable.
    fn take_dlq_acks(&mut self) -> Result<(), ConnectError> {
        if let Some(dlq) = self.errors.dlq.as_mut() {
            for seq in dlq.take_acked()? {
                if let Some(c) = self.commits.as_mut() {
                    c.done(seq..seq + 1, None);
                }
                self.submitted.ack(seq);
            }
        }
        Ok(())
    }

    /// Transforms, converts and hands one batch to the producer. Records are processed where
    /// they lie in the batch (see [`crate::errors::source::Ready`]); the batch is left for the
    /// caller to clear.
    async fn send_batch(&mut self, batch: &mut [SourceRecord]) -> Result<(), ConnectError> {
        let connector = &self.id.connector;
        self.submitted.seal();
        // Records dropped by a transform or tolerated: no longer active, never written.
        let mut retired = 0;
        for rec in batch.iter_mut() {
            // Kafka hands `commitRecord` the record as polled, before transforms.
            let mut original = self.commits.as_ref().map(|c| c.original(rec));
            let source_offset = std::mem::take(&mut rec.source_offset);
            let processed = if self.pipeline.may_retry() {
                self.pipeline
                    .process(
                        &mut self.errors,
                        &rec.source_partition,
                        &source_offset,
                        &mut rec.record,
                        &mut self.headers_buf,
                        &self.cancel,
                    )
                    .await?
            } else {
                self.pipeline.process_once(
                    &mut self.errors,
                    &rec.source_partition,
                    &source_offset,
                    &mut rec.record,
                    &mut self.headers_buf,
                )?
            };
            let ready = match processed {
                Processed::Ready(r) => r,
                Processed::Dropped => {
                    retired += 1;
                    // Dropped by a transform: its offset is committable at once.
                    self.submitted
                        .submit(connector, &rec.source_partition, source_offset, true)?;
                    if let (Some(c), Some(o)) = (self.commits.as_mut(), original) {
                        c.committer.commit_record(o, None);
                    }
                    continue;
                }
                Processed::Tolerated(t) => {
                    retired += 1;
                    let (failure, context) = *t;
                    match self.errors.dlq.as_mut() {
                        Some(dlq) => {
                            let seq = self.submitted.submit(
                                connector,
                                &rec.source_partition,
                                source_offset,
                                false,
                            )?;
                            if let (Some(c), Some(o)) = (self.commits.as_mut(), original) {
                                c.keep(seq, o, rec.record.topic.clone());
                            }
                            self.pipeline
                                .send_to_dlq(dlq, &failure, &context, seq)
                                .await?;
                        }
                        None => {
                            self.submitted.submit(
                                connector,
                                &rec.source_partition,
                                source_offset,
                                true,
                            )?;
                            if let (Some(c), Some(o)) = (self.commits.as_mut(), original) {
                                c.committer.commit_record(o, None);
                            }
                        }
                    }
                    continue;
                }
                Processed::Cancelled => return Ok(()),
            };
            let record = &rec.record;
            self.topics.note(&record.topic).await?;
            // Submitted once the client has taken it (nothing is polled in between, so its
            // report cannot come first): a record the client refuses is never waited for,
            // and the acknowledged records before it stay committable, as with Kafka's
            // `SubmittedRecords` (a run's offset is its last record's).
            let seq = self.submitted.next_seq;
            let out = OutRecord {
                topic: &record.topic,
                partition: record.kafka_partition,
                key: ready.key.as_deref(),
                value: ready.value.as_deref(),
                timestamp: record.timestamp,
                headers: &self.headers_buf,
            };
            loop {
                match self.producer.send(&out, seq) {
                    Ok(()) => {
                        if self.tap.active() {
                            self.tap.offer(crate::inspect::TapInput {
                                task: self.id.task,
                                form: crate::inspect::TapForm::Serialized,
                                topic: out.topic,
                                partition: out.partition,
                                offset: None,
                                timestamp: out.timestamp,
                                key: out.key,
                                value: out.value,
                                headers: out.headers,
                            });
                        }
                        break;
                    }
                    Err(SendError::QueueFull) => {
                        // Wait for the broker to take some records, then try again. A shared
                        // client's queue may be full of other tasks' records: this task may
                        // have none to wait for, so the wait is bounded.
                        self.deliveries
                            .recv_many_within(&mut self.reports, QUEUE_FULL_WAIT)
                            .await;
                        handle_reports(
                            &mut self.reports,
                            &mut self.submitted,
                            &mut self.commits,
                            &mut self.errors,
                            &self.metrics,
                        )?;
                    }
                    // Kafka fails the task on a record the producer refuses outright,
                    // whatever errors.tolerance says (only failures reported back later
                    // are tolerated, KIP-779).
                    Err(SendError::Failed(e)) => {
                        return Err(ConnectError::fatal(format!(
                            "Unrecoverable exception trying to send: {e}"
                        ))
                        .with_source(e))
                    }
                }
            }
            if let (Some(c), Some(o)) = (self.commits.as_mut(), original.take()) {
                c.keep(seq, o, record.topic.clone());
            }
            self.submitted
                .submit(connector, &rec.source_partition, source_offset, false)?;
        }
        self.metrics.record_write(0, retired);
        Ok(())
    }

    /// Saves the committable offsets; on failure they are kept for the next attempt.
    async fn commit_offsets(&mut self) -> Result<bool, ConnectError> {
        match self.start_commit()? {
            Some(save) => {
                let done = save.await;
                Ok(self.finish_commit(done))
            }
            None => Ok(false),
        }
    }

    /// Takes the committable offsets and returns their save, to be awaited (while the driver
    /// goes on sending) and handed to [`finish_commit`](Self::finish_commit); `None` when
    /// there is nothing to commit.
    fn start_commit(&mut self) -> Result<Option<Saving>, ConnectError> {
        if self.submitted.committable.is_empty() {
            return Ok(None);
        }
        let pending = std::mem::take(&mut self.submitted.committable);
        let mut entries = Vec::with_capacity(pending.len());
        for (k, v) in &pending {
            entries.push(((**k).clone(), Some(codec::encode_offset(v)?)));
        }
        let store = self.offsets.clone();
        Ok(Some(Box::pin(async move {
            let started = std::time::Instant::now();
            let saved = store.set(entries).await;
            SaveDone {
                saved,
                pending,
                started,
            }
        })))
    }

    /// The end of a save begun by [`start_commit`](Self::start_commit): `true` when the
    /// offsets were saved; on failure they are kept for the next attempt (offsets that became
    /// committable since then win).
    fn finish_commit(&mut self, done: SaveDone) -> bool {
        let SaveDone {
            saved,
            pending,
            started,
        } = done;
        self.metrics
            .record_commit(saved.is_ok(), started.elapsed().as_millis() as u64);
        match saved {
            Ok(()) => {
                tracing::debug!(task = %self.id, partitions = pending.len(), "Committed source offsets.");
                true
            }
            Err(e) => {
                tracing::error!(task = %self.id, error = %e, "Failed to commit source offsets; will retry at the next interval.");
                for (k, v) in pending {
                    self.submitted.committable.entry(k).or_insert(v);
                }
                false
            }
        }
    }
}

/// An offset save in flight (see [`Driver::start_commit`]).
type Saving = std::pin::Pin<Box<dyn std::future::Future<Output = SaveDone> + Send>>;

/// How a save ended, with the offsets it wrote (kept again if it failed).
struct SaveDone {
    saved: Result<(), crate::offsets::OffsetStoreError>,
    pending: FxHashMap<Arc<Vec<u8>>, OffsetMap>,
    started: std::time::Instant,
}

/// Runs a source task until cancelled or failed.
pub async fn run(spec: SourceTaskSpec) -> Result<(), ConnectError> {
    let SourceTaskSpec {
        id,
        topic_creation,
        mut task,
        task_config,
        converters,
        chain,
        producer,
        own_producer,
        admin,
        errors,
        offsets,
        settings,
        status,
        target,
        cancel,
    } = spec;
    let metrics = crate::metrics::global().task(&id, TaskKind::Source);
    let dlq = DeadLetterQueue::start(&id, &errors, &producer, &admin, &cancel).await?;
    let handler = ErrorHandler::new(id.clone(), errors, status.clone());
    let pipeline = SourcePipeline::new(converters, chain, &handler);
    let errors = SourceErrors { handler, dlq };
    let ctx = SourceTaskContext {
        configs: task_config,
        offsets: Arc::new(ConnectorOffsets {
            connector: id.connector.clone(),
            store: offsets.clone(),
        }),
    };
    let started = tokio::select! {
        _ = cancel.cancelled() => return Ok(()),
        r = task.start(ctx) => r,
    };
    crate::metrics::global().record_task_startup(started.is_ok());
    started?;
    let commits = task.record_committer().map(|committer| RecordCommits {
        committer,
        pending: FxHashMap::default(),
    });
    // Only a task that commits records needs to know where each one was written.
    let name = format!("connector-producer-{id}");
    let made = match (own_producer, commits.is_some()) {
        (false, positions) => Producer::shared(&name, &producer, positions),
        (true, true) => Producer::with_positions(&name, &producer),
        (true, false) => Producer::new(&name, &producer),
    };
    let (producer, deliveries) = match made {
        Ok(made) => made,
        Err(e) => {
            if let Err(stop) = task.stop().await {
                tracing::warn!(task = %id, error = %stop, "Source task stop() failed.");
            }
            return Err(e.into());
        }
    };
    let state_of = |t: TargetState| {
        if t == TargetState::Started {
            State::Running
        } else {
            State::Paused
        }
    };
    metrics.set_state(state_of(*target.borrow()));
    status.put_task(&id.connector, id.task, state_of(*target.borrow()), None);
    tracing::info!(task = %id, "Source task finished initialization and start.");

    let (tx, mut rx) = mpsc::channel(1);
    let committed = Arc::new(Notify::new());
    let poll_cancel = cancel.child_token();
    // The poller runs in this same tokio task (joined below), not spawned: records are then
    // allocated and freed on one thread, which the allocator serves from its per-thread cache
    // (a spawned poller on another worker thread made every free a cross-thread free, which
    // showed as ~15% of a source run in profiles). A panic in either half fails the task
    // through `supervise`.
    let spare = Spare::default();
    let poller = poller(
        task,
        tx,
        target.clone(),
        poll_cancel.clone(),
        committed.clone(),
        spare.clone(),
        metrics.clone(),
    );

    let mut d = Driver {
        id: id.clone(),
        producer,
        deliveries,
        reports: Vec::new(),
        topics: Topics {
            id: id.clone(),
            admin_settings: admin,
            admin: None,
            known_topics: HashSet::new(),
            last_topic: None,
            cancel: cancel.clone(),
            creation: topic_creation,
            status: status.clone(),
        },
        cancel: cancel.clone(),
        pipeline,
        errors,
        offsets,
        submitted: Submitted::default(),
        commits,
        headers_buf: Vec::new(),
        tap: status.taps().slot(&id.connector),
        metrics: metrics.clone(),
    };
    let mut tick = tokio::time::interval(
        settings
            .offset_flush_interval
            .max(std::time::Duration::from_millis(1)),
    );
    tick.tick().await;
    let mut target_rx = target;
    // The offset save in flight, at most one. While it runs the driver goes on sending what
    // the task polls (the save takes a write and an fsync, or a round trip to the offsets
    // topic), but takes no delivery reports: every record handed to `commit_record` before a
    // commit's `RecordCommitter::commit` was handed over before that save began, as when the
    // driver waited for the save.
    let mut saving: Option<Saving> = None;
    let driver = async {
        let outcome: Result<(), ConnectError> = async {
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ok(()),
                done = async {
                    match saving.as_mut() {
                        Some(save) => save.await,
                        None => std::future::pending().await,
                    }
                }, if saving.is_some() => {
                    saving = None;
                    if d.finish_commit(done) {
                        d.committed();
                        committed.notify_one();
                    }
                }
                () = d.deliveries.recv_many(&mut d.reports), if saving.is_none() => {
                    d.handle_reports()?;
                    if d.commits.as_ref().is_some_and(|c| c.committer.wants_commit()) {
                        saving = d.start_commit()?;
                    }
                }
                _ = tick.tick(), if saving.is_none() => {
                    d.take_dlq_acks()?;
                    saving = d.start_commit()?;
                }
                changed = target_rx.changed() => {
                    if changed.is_ok() {
                        metrics.set_state(state_of(*target_rx.borrow()));
                        status.put_task(&id.connector, id.task, state_of(*target_rx.borrow()), None);
                    }
                }
                msg = rx.recv(), if d.submitted.in_flight() < MAX_IN_FLIGHT => match msg {
                    Some(Polled::Batch(mut batch)) => {
                        d.send_batch(&mut batch).await?;
                        spare.give(batch);
                    }
                    Some(Polled::Failed(e)) => return Err(e),
                    None => return Err(ConnectError::fatal("Source task poller stopped unexpectedly")),
                },
            }
        }
        }
        .await;
        // Shutdown: stop polling, give in-flight records the flush timeout, commit what was
        // acked.
        poll_cancel.cancel();
        outcome
    };
    let (task, outcome) = tokio::join!(poller, driver);
    let mut task = Some(task);
    // A save still in flight ends first, so the last commit below writes after it.
    if let Some(save) = saving.take() {
        let done = save.await;
        if d.finish_commit(done) {
            d.committed();
        }
    }
    let deadline = tokio::time::Instant::now() + settings.offset_flush_timeout;
    if let Some(dlq) = d.errors.dlq.as_mut() {
        match dlq.flush(settings.offset_flush_timeout).await {
            Ok(acked) => acked.into_iter().for_each(|seq| {
                if let Some(c) = d.commits.as_mut() {
                    c.done(seq..seq + 1, None);
                }
                d.submitted.ack(seq)
            }),
            Err(e) => {
                tracing::error!(task = %id, error = %e, "Dead letter queue writes failed; their records are polled again after a restart.")
            }
        }
    }
    while d.submitted.in_flight() > 0 {
        match tokio::time::timeout_at(deadline, d.deliveries.recv_many(&mut d.reports)).await {
            Ok(()) => {
                let reports = std::mem::take(&mut d.reports);
                for del in reports {
                    if let Err(e) =
                        on_delivery(&mut d.submitted, &mut d.commits, &mut d.errors, del)
                    {
                        tracing::error!(task = %id, error = %e, "Record delivery failed during shutdown.");
                    }
                }
            }
            Err(_) => break,
        }
    }
    if d.submitted.in_flight() > 0 {
        tracing::warn!(task = %id, outstanding = d.submitted.in_flight(), "Timed out waiting for records to be acknowledged; their offsets are not committed and they will be produced again after a restart.");
    }
    if d.commit_offsets().await.unwrap_or(false) {
        d.committed();
        if let Some(t) = task.as_mut() {
            commit(t).await;
        }
    }
    if let Some(mut t) = task {
        if let Err(e) = t.stop().await {
            tracing::warn!(task = %id, error = %e, "Source task stop() failed.");
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::Value;

    /// The source partition of file `name`.
    fn part(name: &str) -> Arc<OffsetMap> {
        Arc::new(sluice_api::offset_map![(
            "filename".into(),
            Value::from(name)
        )])
    }

    /// The offset key of `partition` for connector `c`.
    fn key(partition: &OffsetMap) -> Arc<Vec<u8>> {
        Arc::new(codec::encode_key("c", partition).unwrap())
    }

    fn off(p: i64) -> OffsetMap {
        sluice_api::offset_map![("position".into(), Value::Int64(p))]
    }

    /// Records what the committer was handed.
    #[derive(Default)]
    struct Seen(std::sync::Mutex<Vec<(String, Option<RecordMetadata>)>>);

    impl RecordCommitter for Seen {
        fn commit_record(&self, record: SourceRecord, metadata: Option<RecordMetadata>) {
            let v = record.record.value.to_string();
            self.0.lock().unwrap().push((v, metadata));
        }
    }

    #[test]
    fn record_commits_say_where_each_record_was_written() {
        let seen = Arc::new(Seen::default());
        let mut c = RecordCommits {
            committer: seen.clone(),
            pending: FxHashMap::default(),
        };
        let rec = |v: &str| SourceRecord::new(part("f"), off(1), "t", None, Value::from(v));
        let topic: Topic = "out".into();
        c.keep(0, rec("a"), topic.clone());
        c.keep(1, rec("b"), topic.clone());
        c.keep(2, rec("c"), topic.clone());
        // Records 1 and 2 written at offsets 40 and 41 of partition 3; record 0 failed and
        // was tolerated.
        c.done(1..3, Some((3, 40)));
        c.done(0..1, None);
        // Reports of records never kept (or already done) change nothing.
        c.done(0..3, Some((0, 0)));
        let at = |p, o| {
            Some(RecordMetadata {
                topic: topic.clone(),
                partition: p,
                offset: o,
            })
        };
        assert_eq!(
            *seen.0.lock().unwrap(),
            [
                ("b".to_string(), at(3, 40)),
                ("c".to_string(), at(3, 41)),
                ("a".to_string(), None)
            ]
        );
        assert!(c.pending.is_empty());
    }

    #[test]
    fn offsets_commit_only_after_every_earlier_ack() {
        let mut s = Submitted::default();
        let part = part("f");
        let a = s.submit("c", &part, off(1), false).unwrap();
        let b = s.submit("c", &part, off(2), false).unwrap();
        let c = s.submit("c", &part, off(3), false).unwrap();
        let key = key(&part);
        s.ack(c);
        assert!(s.committable.is_empty());
        s.ack(a);
        assert!(s.committable.is_empty(), "b is not acknowledged yet");
        assert_eq!(s.in_flight(), 3);
        s.ack(b);
        assert_eq!(s.committable.get(&key), Some(&off(3)));
        assert_eq!(s.in_flight(), 0);
    }

    #[test]
    fn dropped_records_commit_in_order() {
        let mut s = Submitted::default();
        let part = part("f");
        let a = s.submit("c", &part, off(1), false).unwrap();
        s.submit("c", &part, off(2), true).unwrap();
        assert!(s.committable.is_empty());
        s.ack(a);
        let key = key(&part);
        assert_eq!(s.committable.get(&key), Some(&off(2)));
    }

    #[test]
    fn partitions_acknowledged_out_of_order_commit_what_is_complete() {
        let mut s = Submitted::default();
        let p1 = part("one");
        let p2 = part("two");
        let k1 = key(&p1);
        let k2 = key(&p2);
        let a = s.submit("c", &p1, off(1), false).unwrap();
        let b = s.submit("c", &p2, off(10), false).unwrap();
        let c = s.submit("c", &p1, off(2), false).unwrap();
        // An equal partition in another allocation is the same partition.
        let p2_again = Arc::new((*p2).clone());
        let d = s.submit("c", &p2_again, off(11), false).unwrap();
        s.ack(d);
        s.ack(b);
        // p2's records are acknowledged, but p1's first record before them is not.
        assert!(s.committable.is_empty());
        s.ack(a);
        assert_eq!(s.committable.get(&k1), Some(&off(1)));
        assert_eq!(s.committable.get(&k2), Some(&off(10)));
        s.ack(c);
        assert_eq!(s.committable.get(&k1), Some(&off(2)));
        assert_eq!(s.committable.get(&k2), Some(&off(11)));
        assert_eq!(s.in_flight(), 0);
        // Unknown and repeated acknowledgements change nothing.
        s.ack(c);
        s.ack(1_000);
        assert_eq!(s.in_flight(), 0);
    }

    #[test]
    fn acknowledged_ranges_span_runs_and_partitions() {
        let mut s = Submitted::default();
        let p1 = part("one");
        let p2 = part("two");
        let (k1, k2) = (key(&p1), key(&p2));
        // Runs: p1 [0, MAX_RUN), p1 [MAX_RUN, MAX_RUN + 3), p2 [.., +2), p1 [.., +1).
        for i in 0..MAX_RUN as i64 + 3 {
            s.submit("c", &p1, off(i + 1), false).unwrap();
        }
        let b = s.submit("c", &p2, off(10), false).unwrap();
        s.submit("c", &p2, off(11), false).unwrap();
        let last = s.submit("c", &p1, off(99), false).unwrap();
        assert_eq!(s.runs.len(), 4);
        // The middle of the first run up to the first record of p2: nothing completes.
        s.ack_range(5..b + 1);
        assert!(s.committable.is_empty());
        // The start of the first run: both p1 runs complete, p2 waits for its second record.
        s.ack_range(0..5);
        assert_eq!(s.committable.get(&k1), Some(&off(MAX_RUN as i64 + 3)));
        assert_eq!(s.committable.get(&k2), None);
        // A range reaching past what was submitted, overlapping what retired: counted once.
        s.ack_range(0..last + 100);
        assert_eq!(s.committable.get(&k1), Some(&off(99)));
        assert_eq!(s.committable.get(&k2), Some(&off(11)));
        assert_eq!(s.in_flight(), 0);
        // Empty and unknown ranges change nothing.
        s.ack_range(3..3);
        s.ack_range(last + 1..last + 9);
        assert_eq!(s.in_flight(), 0);
    }

    #[test]
    fn long_streams_commit_a_run_at_a_time() {
        let mut s = Submitted::default();
        let part = part("f");
        let key = key(&part);
        let seqs: Vec<usize> = (0..MAX_RUN as i64 * 2 + 5)
            .map(|i| s.submit("c", &part, off(i + 1), false).unwrap())
            .collect();
        for seq in &seqs[..MAX_RUN - 1] {
            s.ack(*seq);
        }
        assert!(s.committable.is_empty(), "the first run is not complete");
        s.ack(seqs[MAX_RUN - 1]);
        assert_eq!(s.committable.get(&key), Some(&off(MAX_RUN as i64)));
        for seq in &seqs[MAX_RUN..] {
            s.ack(*seq);
        }
        assert_eq!(s.committable.get(&key), Some(&off(MAX_RUN as i64 * 2 + 5)));
        assert_eq!(s.in_flight(), 0);
    }

    #[test]
    fn the_records_of_a_poll_commit_without_waiting_for_the_next_poll() {
        let mut s = Submitted::default();
        let part = part("q");
        let key = key(&part);
        // Two polls of the same partition, 3 records each, all in flight.
        s.seal();
        let first: Vec<usize> = (1..=3)
            .map(|i| s.submit("c", &part, off(i), false).unwrap())
            .collect();
        s.seal();
        let second: Vec<usize> = (4..=6)
            .map(|i| s.submit("c", &part, off(i), false).unwrap())
            .collect();
        assert_eq!(s.runs.len(), 2);
        // Kafka has the first poll: its last offset is committable while the second waits.
        s.ack_range(first[0]..first[2] + 1);
        assert_eq!(s.committable.get(&key), Some(&off(3)));
        assert_eq!(s.in_flight(), 3);
        // A partial acknowledgement of the second poll commits nothing more.
        s.committable.clear();
        s.ack(second[0]);
        assert!(s.committable.is_empty());
        s.ack_range(second[1]..second[2] + 1);
        assert_eq!(s.committable.get(&key), Some(&off(6)));
        assert_eq!(s.in_flight(), 0);
    }
}
