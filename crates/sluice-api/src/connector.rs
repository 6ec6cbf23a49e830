//! Connectors and tasks: what a connector author implements.
//!
//! A connector validates its config and splits the work into task configs; tasks move the
//! records. Connectors never commit offsets, retry or tolerate errors: the runtime does.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{ConfigDef, ConfigValue, RawConfig};
use crate::error::Result;
use crate::record::{OffsetMap, SinkRecord, SourceRecord, Topic, TopicPartition};

/// Whether a connector moves data into Kafka or out of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorKind {
    Source,
    Sink,
}

impl ConnectorKind {
    /// `"source"` or `"sink"`, as in REST responses.
    pub fn name(self) -> &'static str {
        match self {
            ConnectorKind::Source => "source",
            ConnectorKind::Sink => "sink",
        }
    }
}

/// What a running connector may ask of the runtime (`ConnectorContext`).
pub trait ConnectorContext: Send + Sync {
    /// Asks the runtime to call `task_configs` again and restart tasks if they changed.
    fn request_task_reconfiguration(&self);
    /// Reports an unrecoverable error: the connector becomes FAILED.
    fn raise_error(&self, error: crate::ConnectError);
}

/// A connector instance (`Connector`, `SourceConnector`, `SinkConnector`).
#[async_trait]
pub trait Connector: Send {
    /// Starts the connector with its (validated) config. May do I/O.
    async fn start(&mut self, config: &RawConfig, context: Arc<dyn ConnectorContext>)
        -> Result<()>;
    /// The configs of at most `max_tasks` tasks.
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>>;
    /// Stops the connector.
    async fn stop(&mut self) -> Result<()>;
    /// Extra validation beyond the `ConfigDef` (`Connector.validate`); default: none.
    fn validate(&self, _config: &RawConfig, _report: &mut Vec<ConfigValue>) {}
    /// Called when a user alters this connector's offsets (KIP-875). `Ok(true)` if the
    /// connector handled externally kept offsets too; `Ok(false)` (default) if it does not
    /// manage offsets outside the framework.
    fn alter_offsets(
        &self,
        _config: &RawConfig,
        _offsets: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<bool> {
        Ok(false)
    }
}

/// Reads committed source offsets (`OffsetStorageReader`).
pub trait OffsetStorageReader: Send + Sync {
    /// The last committed offset of `partition`, if any.
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap>;
}

/// What a source task gets at start (`SourceTaskContext`).
#[derive(Clone)]
pub struct SourceTaskContext {
    pub configs: RawConfig,
    pub offsets: Arc<dyn OffsetStorageReader>,
}

/// A source task (`SourceTask`): polls records from an external system.
#[async_trait]
pub trait SourceTask: Send {
    /// Starts the task. May do I/O.
    async fn start(&mut self, context: SourceTaskContext) -> Result<()>;
    /// Waits for and returns the next records. An empty batch is fine. The runtime cancels
    /// the future (drops it) to stop the task, so it must be cancel-safe: no record may be
    /// half-consumed at an `.await` point.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>>;
    /// [`poll`](Self::poll) into a batch the runtime reuses from poll to poll: appends the
    /// next records to `records`, which the runtime hands over empty. Same contract as `poll`,
    /// and `records` must be empty at every `.await`. The runtime calls this one; the default
    /// calls `poll`. A task that emits many small records implements it to spare a batch
    /// allocation per poll.
    async fn poll_into(&mut self, records: &mut Vec<SourceRecord>) -> Result<()> {
        let batch = self.poll().await?;
        if records.is_empty() {
            *records = batch;
        } else {
            records.extend(batch);
        }
        Ok(())
    }
    /// Called after the offsets of produced records have been committed.
    async fn commit(&mut self) -> Result<()> {
        Ok(())
    }
    /// Stops the task and releases its resources.
    async fn stop(&mut self) -> Result<()>;
    /// Opts in to Kafka's per-record commit (`SourceTask.commitRecord`): the runtime asks
    /// once, after [`start`](Self::start), and hands every record this task polls to the
    /// returned committer once Kafka acknowledged it (or it was dropped). Default: `None`,
    /// which costs the runtime nothing per record.
    fn record_committer(&mut self) -> Option<Arc<dyn RecordCommitter>> {
        None
    }
}

/// Where Kafka wrote a record (`RecordMetadata`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: Topic,
    pub partition: i32,
    pub offset: i64,
}

/// Kafka's `SourceTask.commitRecord(record, metadata)`, for sources that acknowledge each
/// record upstream (a RabbitMQ ack, an MQTT PUBACK, an HTTP reply).
///
/// The runtime calls it from its own side of the task, not between polls, so a task waiting
/// in `poll` still learns at once that a record is safe: it must be cheap and must not block
/// (hand the work to the task's own tokio task, complete a channel, …). `record` is the
/// record as polled, before transforms. `metadata` is where Kafka wrote it, or `None` when
/// it was not written to its topic: dropped by a transform or predicate, or failed and
/// tolerated under `errors.tolerance=all` (Kafka passes `null` then too). A record whose
/// write fails the task is never passed: it may be polled again after a restart.
pub trait RecordCommitter: Send + Sync {
    fn commit_record(&self, record: SourceRecord, metadata: Option<RecordMetadata>);
    /// Kafka's `SourceTask.commit()` for a task with a committer, called from the runtime's
    /// side like [`commit_record`](Self::commit_record) (so it comes even while the task waits
    /// in `poll`, which [`SourceTask::commit`] does not): right after each successful offset
    /// commit, and after the last one when the task stops, before [`SourceTask::stop`]. As in
    /// Kafka it does not say which records the commit covered: a task that acknowledges
    /// upstream here acknowledges what `commit_record` handed it before. Same rules: cheap,
    /// never blocking. Default: nothing.
    fn commit(&self) {}
    /// Asked after records were handed to [`commit_record`](Self::commit_record): `true`
    /// makes the runtime commit offsets now instead of at the next `offset.flush.interval.ms`.
    /// For a task that acknowledges upstream only in [`commit`](Self::commit) while the
    /// upstream holds back further messages until it does (a RabbitMQ prefetch limit).
    /// Default: `false`.
    fn wants_commit(&self) -> bool {
        false
    }
    /// Whether [`commit_record`](Self::commit_record) reads the record's key and value. Kafka
    /// hands it the whole record as polled, which the runtime must then copy before the
    /// converters take the key and value; a committer that finds its record by offset or
    /// headers says `false` and gets the record with both `Null` (one copy of each payload
    /// less per record). Default: `true`.
    fn needs_payload(&self) -> bool {
        true
    }
    /// Whether [`commit_record`](Self::commit_record) reads the record's headers; with
    /// `false` it gets none. Default: `true`.
    fn needs_headers(&self) -> bool {
        true
    }
}

/// What the runtime offers a sink task (`SinkTaskContext`).
pub trait SinkTaskContext: Send + Sync {
    /// The task's configuration.
    fn configs(&self) -> &RawConfig;
    /// Rewinds (or forwards) consumption of these partitions to the given offsets.
    fn offset(&self, offsets: &HashMap<TopicPartition, i64>);
    /// Asks the runtime to redeliver a failed batch after this many milliseconds.
    fn timeout(&self, millis: u64);
    /// The partitions currently assigned.
    fn assignment(&self) -> Vec<TopicPartition>;
    /// Stops fetching from these partitions.
    fn pause(&self, partitions: &[TopicPartition]);
    /// Resumes fetching from these partitions.
    fn resume(&self, partitions: &[TopicPartition]);
    /// Asks for an offset commit as soon as possible.
    fn request_commit(&self);
    /// Reports a record this task could not write (Kafka's `errantRecordReporter()`,
    /// KIP-610). After `put` returns, the runtime applies `errors.*` to it: with
    /// `errors.tolerance=none` the task fails and no offset commit passes the record; with
    /// `all` it is logged, counted and written to the dead letter queue if there is one, and
    /// its offset is committed only once the DLQ has it.
    fn report_errant(&self, record: &SinkRecord, error: crate::ConnectError);
}

/// A sink task (`SinkTask`): writes records to an external system.
#[async_trait]
pub trait SinkTask: Send {
    /// Starts the task. May do I/O.
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> Result<()>;
    /// Partitions newly assigned to this task.
    async fn open(&mut self, _partitions: &[TopicPartition]) -> Result<()> {
        Ok(())
    }
    /// Writes a batch. A `Retriable` error makes the runtime redeliver the same batch later.
    async fn put(&mut self, records: &[SinkRecord]) -> Result<()>;
    /// Makes everything put so far durable.
    async fn flush(&mut self, _offsets: &HashMap<TopicPartition, i64>) -> Result<()> {
        Ok(())
    }
    /// Returns the offsets safe to commit (default: flush, then all of `offsets`). Offsets are
    /// the next offset to consume, as Kafka commits them.
    async fn pre_commit(
        &mut self,
        offsets: &HashMap<TopicPartition, i64>,
    ) -> Result<HashMap<TopicPartition, i64>> {
        self.flush(offsets).await?;
        Ok(offsets.clone())
    }
    /// Partitions taken away from this task.
    async fn close(&mut self, _partitions: &[TopicPartition]) -> Result<()> {
        Ok(())
    }
    /// Stops the task.
    async fn stop(&mut self) -> Result<()>;
}

/// How to build a connector's tasks.
#[derive(Clone, Copy)]
pub enum TaskFactory {
    Source(fn() -> Box<dyn SourceTask>),
    Sink(fn() -> Box<dyn SinkTask>),
}

/// A connector plugin as the runtime sees it: names, kind, config definition, constructors.
#[derive(Clone, Copy)]
pub struct ConnectorPlugin {
    /// The Java class name (`org.apache.kafka.connect.file.FileStreamSourceConnector`).
    pub class: &'static str,
    /// The Java task class name, written as `task.class` in task configs.
    pub task_class: &'static str,
    pub kind: ConnectorKind,
    pub version: &'static str,
    pub config_def: fn() -> ConfigDef,
    pub new_connector: fn() -> Box<dyn Connector>,
    pub new_task: TaskFactory,
    /// Whether the connector's tasks may share a thread with other tasks once a worker runs
    /// many (the runtime's shared task threads): true only for tasks that never block their
    /// thread for long and leave nothing running when dropped (no background work spawned
    /// on their runtime). Every other task has a thread of its own.
    pub shares_thread: bool,
}

impl std::fmt::Debug for ConnectorPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorPlugin")
            .field("class", &self.class)
            .field("kind", &self.kind)
            .finish()
    }
}
