//! Subscription mode (`read.method=subscription`, Java's default): each table of the task is
//! read through a TDengine TMQ topic named after its Kafka topic
//! (``create topic if not exists `<topic>` as select * from `<table>` ``), consumed by a TMQ
//! consumer of group `subscription.group.id` over taosAdapter's WebSocket (`/rest/tmq`).
//!
//! Unlike Java, which commits the TMQ consumer right after mapping a batch (before Kafka has
//! it: at-most-once on a crash), a TMQ offset is committed here only for messages whose every
//! record Kafka acknowledged: the per-record commit hook counts the records of each message,
//! and the task's `commit()` (after the runtime committed source offsets) and `stop()` commit
//! the position after the last fully acknowledged message of each topic and vgroup. A crash
//! therefore re-delivers what Kafka may not have (at-least-once), never loses a row.
//!
//! Records are Java's: partition `{"table": <table>}`, the offset loaded at start (usually
//! `{}`, the position lives in TDengine's consumer group), values as in [`crate::format`].
//! Every TMQ message gets its own partition map (equal content, its own allocation), which is
//! how an acknowledged record is traced back to its message.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_api::config::Config;
use sluice_api::connector::{RecordCommitter, RecordMetadata, SourceTaskContext};
use sluice_api::data::{SchemaBuilder, SchemaRef, Value};
use sluice_api::record::{OffsetMap, SourceRecord, Topic};
use sluice_api::{ConnectError, Result};

use crate::config::*;
use crate::format::{self, OutPrecision, TableSchema, TmqRow};
use crate::offsets;
use crate::source::{now_ms, Settings};
use crate::taosadapter::{Client, TdError};
use crate::tmq::{Consumer, Message, Subscription};

/// Java's `MAX_RECORDS_CACHE`: a poll stops after more than this many TMQ messages.
const MAX_MESSAGES: usize = 50;
/// Java polls TMQ with 100 ms until a poll comes back empty.
const POLL_MS: u64 = 100;

/// A TMQ topic and vgroup.
type Key = (String, i32);

/// A polled message whose records are not all acknowledged yet.
struct Pending {
    partition: Arc<OffsetMap>,
    /// The position after the message.
    end: i64,
    left: usize,
}

#[derive(Default)]
struct Inner {
    queues: HashMap<Key, VecDeque<Pending>>,
    /// Per topic and vgroup, the position after the last message whose records (and every
    /// earlier message's) Kafka acknowledged.
    ready: HashMap<Key, i64>,
}

impl Inner {
    fn advance(&mut self, key: &Key) {
        let Some(q) = self.queues.get_mut(key) else {
            return;
        };
        while q.front().is_some_and(|p| p.left == 0) {
            if let Some(p) = q.pop_front() {
                let r = self.ready.entry(key.clone()).or_insert(p.end);
                *r = (*r).max(p.end);
            }
        }
    }
}

/// Counts acknowledged records per TMQ message (shared with the runtime's commit hook).
#[derive(Default)]
pub struct Tracker(Mutex<Inner>);

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A message of `key` ending at `end`, whose `records` records carry `partition`.
    fn register(&self, key: Key, partition: Arc<OffsetMap>, end: i64, records: usize) {
        let mut inner = self.lock();
        inner
            .queues
            .entry(key.clone())
            .or_default()
            .push_back(Pending {
                partition,
                end,
                left: records,
            });
        inner.advance(&key);
    }

    /// One record of the message that owns `partition` is done with.
    fn ack(&self, partition: &Arc<OffsetMap>) {
        let mut inner = self.lock();
        let mut hit = None;
        for (key, q) in inner.queues.iter_mut() {
            if let Some(p) = q.iter_mut().find(|p| Arc::ptr_eq(&p.partition, partition)) {
                p.left = p.left.saturating_sub(1);
                hit = Some(key.clone());
                break;
            }
        }
        if let Some(key) = hit {
            inner.advance(&key);
        }
    }

    /// The positions that may be committed.
    fn ready(&self) -> Vec<(Key, i64)> {
        self.lock()
            .ready
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

/// The runtime's per-record commit hook: Kafka has the record (or it was dropped or
/// tolerated, which Kafka's `commitRecord` reports the same way).
struct Acks(Arc<Tracker>);

impl RecordCommitter for Acks {
    fn commit_record(&self, record: SourceRecord, _metadata: Option<RecordMetadata>) {
        self.0.ack(&record.source_partition);
    }

    /// The table is found by the source partition.
    fn needs_payload(&self) -> bool {
        false
    }

    fn needs_headers(&self) -> bool {
        false
    }
}

/// One table and its TMQ consumer (Java's `TableExecutor` in subscription mode).
struct Executor {
    table: String,
    /// The Kafka topic, also the TMQ topic's name.
    topic: String,
    kafka_topic: Topic,
    /// The offset loaded at start, attached to every record as Java does.
    offset: OffsetMap,
    consumer: Option<Consumer>,
    last_update: u64,
}

/// The subscription-mode half of `TDengineSourceTask`.
pub struct SubscriptionTask {
    s: Settings,
    client: Client,
    group_id: String,
    offset_reset: String,
    out: OutPrecision,
    json_no_array: bool,
    executors: Vec<Executor>,
    tracker: Arc<Tracker>,
    /// What this task committed last, per topic and vgroup.
    committed: HashMap<Key, i64>,
}

fn td(e: TdError, what: &str) -> ConnectError {
    match e {
        TdError::Auth(m) => ConnectError::config(m),
        TdError::Unreachable(m) => ConnectError::retriable(format!("{what}: {m}")),
        other => ConnectError::fatal(format!("{what}: {other}")),
    }
}

impl SubscriptionTask {
    /// Creates each table's TMQ topic (Java's `TableExecutor` constructor). Tables sharing a
    /// topic (`topic.per.stable=false`) share its consumer: the first table's query backs
    /// the topic, as in Java.
    pub async fn start(
        s: Settings,
        client: Client,
        parsed: &Config,
        context: &SourceTaskContext,
    ) -> Result<SubscriptionTask> {
        let group_id = parsed
            .string(SUBSCRIPTION_GROUP_ID)
            .unwrap_or_default()
            .trim()
            .to_string();
        let mut executors: Vec<Executor> = Vec::new();
        for table in &s.tables {
            let topic = s.topic_for(table);
            if executors.iter().any(|e| e.topic == topic) {
                tracing::warn!(table = %table, topic = %topic, "topic.per.stable=false: this table shares the TMQ topic of an earlier table, whose query backs it (as in Java)");
                continue;
            }
            let sql = format!("create topic if not exists `{topic}` as select * from `{table}`");
            let mut attempt = 0;
            loop {
                attempt += 1;
                match client.sql(Some(&s.database), &sql).await {
                    Ok(_) => break,
                    Err(TdError::Unreachable(m)) if attempt < s.attempts => {
                        tracing::warn!(attempt, error = %m, "TDengine is unreachable; trying again");
                        tokio::time::sleep(Duration::from_millis(s.backoff_ms)).await;
                    }
                    Err(e) => {
                        return Err(td(
                            e,
                            &format!("Could not create TMQ topic `{topic}` for table {table}"),
                        ))
                    }
                }
            }
            let partition = offsets::partition(table);
            executors.push(Executor {
                table: table.clone(),
                kafka_topic: topic.clone().into(),
                topic,
                offset: context.offsets.offset(&partition).unwrap_or_default(),
                consumer: None,
                last_update: 0,
            });
        }
        Ok(SubscriptionTask {
            group_id,
            offset_reset: parsed
                .string(SUBSCRIPTION_FROM)
                .unwrap_or("latest")
                .trim()
                .to_string(),
            out: OutPrecision::parse(parsed.string(DATA_PRECISION).unwrap_or_default()),
            json_no_array: parsed.boolean(OUT_FORMAT_JSON_NO_ARRAY).unwrap_or(true),
            s,
            client,
            executors,
            tracker: Arc::new(Tracker::default()),
            committed: HashMap::new(),
        })
    }

    pub fn record_committer(&self) -> Arc<dyn RecordCommitter> {
        Arc::new(Acks(self.tracker.clone()))
    }

    pub async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(i) = (0..self.executors.len()).min_by_key(|&i| self.executors[i].last_update)
        else {
            tokio::time::sleep(Duration::from_millis(self.s.poll_interval_ms.max(100))).await;
            return Ok(Vec::new());
        };
        let next = self.executors[i].last_update + self.s.poll_interval_ms;
        let now = now_ms();
        if next > now {
            tokio::time::sleep(Duration::from_millis(next - now)).await;
        }
        let result = self.poll_table(i).await;
        self.executors[i].last_update = now_ms();
        result
    }

    async fn poll_table(&mut self, i: usize) -> Result<Vec<SourceRecord>> {
        let (base, db) = (self.s.base.clone(), self.s.database.clone());
        let sub = Subscription {
            user: self.s.user.clone(),
            password: self.s.password.clone(),
            group_id: self.group_id.clone(),
            offset_reset: self.offset_reset.clone(),
            topics: vec![self.executors[i].topic.clone()],
        };
        let table = self.executors[i].table.clone();
        if self.executors[i].consumer.is_none() {
            match Consumer::subscribe(&base, &sub).await {
                Ok(c) => self.executors[i].consumer = Some(c),
                Err(TdError::Auth(m)) => return Err(ConnectError::config(m)),
                Err(e) => {
                    tracing::error!(table = %table, error = %e, "Could not subscribe to the TMQ topic; trying again after poll.interval.ms");
                    return Ok(Vec::new());
                }
            }
        }
        // Java describes the table before every batch (its mapper is reset after each).
        let schema = match self
            .client
            .sql(Some(&db), &format!("describe `{table}`"))
            .await
        {
            Ok(rows) => TableSchema::from_describe(&table, &rows.data)?,
            Err(TdError::Auth(m)) => return Err(ConnectError::config(m)),
            Err(e) => {
                tracing::error!(table = %table, error = %e, "SQL exception while describing table");
                return Ok(Vec::new());
            }
        };
        let value_schema = if self.s.json {
            Some(format::json_schema(&schema)?)
        } else {
            None
        };
        let mut messages: Vec<(Message, i64)> = Vec::new();
        let mut failure = None;
        if let Some(consumer) = self.executors[i].consumer.as_mut() {
            loop {
                match consumer.poll(POLL_MS).await {
                    Ok(None) => break,
                    Ok(Some(m)) => match consumer.position(&m.topic, m.vgroup_id).await {
                        Ok(end) => {
                            messages.push((m, end));
                            if messages.len() > MAX_MESSAGES {
                                break;
                            }
                        }
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    },
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
        }
        if let Some(e) = failure {
            // A new consumer resumes from the group's committed offset: what this one polled
            // and did not return is read again.
            if let Some(c) = self.executors[i].consumer.take() {
                c.close().await;
            }
            if let TdError::Auth(m) = e {
                return Err(ConnectError::config(m));
            }
            tracing::error!(table = %table, error = %e, "TMQ poll failed; the consumer reconnects after poll.interval.ms");
        }
        let e = &self.executors[i];
        let mut out = Vec::new();
        for (m, end) in messages {
            let partition = Arc::new(offsets::partition(&e.table));
            let before = out.len();
            for b in &m.blocks {
                let unit_ns = b.unit_ns();
                for cells in &b.rows {
                    let row = TmqRow {
                        names: &b.names,
                        cells,
                        unit_ns,
                        out: self.out,
                    };
                    let (schema_ref, value) = match &value_schema {
                        None => (
                            None,
                            Value::String(format::tmq_line(&e.table, &schema, &row)?),
                        ),
                        Some(vs) => {
                            let s = format::tmq_json(vs, &schema, &row)?;
                            if self.json_no_array {
                                (Some(vs.clone()), Value::Struct(s))
                            } else {
                                (Some(array_of(vs)), Value::Array(vec![Value::Struct(s)]))
                            }
                        }
                    };
                    out.push(SourceRecord::new(
                        partition.clone(),
                        e.offset.clone(),
                        e.kafka_topic.clone(),
                        schema_ref,
                        value,
                    ));
                }
            }
            self.tracker
                .register((m.topic, m.vgroup_id), partition, end, out.len() - before);
        }
        Ok(out)
    }

    /// Commits, per topic and vgroup, the position after the messages Kafka has whole.
    pub async fn commit(&mut self) -> Result<()> {
        for ((topic, vgroup), position) in self.tracker.ready() {
            if self
                .committed
                .get(&(topic.clone(), vgroup))
                .is_some_and(|&c| c >= position)
            {
                continue;
            }
            let Some(e) = self
                .executors
                .iter_mut()
                .find(|e| e.topic == topic && e.consumer.is_some())
            else {
                // No live consumer of that topic: the next commit tries again.
                continue;
            };
            let Some(consumer) = e.consumer.as_mut() else {
                continue;
            };
            match consumer.commit_offset(&topic, vgroup, position).await {
                Ok(()) => {
                    tracing::debug!(topic = %topic, vgroup, position, "Committed TMQ offset");
                    self.committed.insert((topic, vgroup), position);
                }
                Err(err) => {
                    tracing::warn!(topic = %topic, vgroup, error = %err, "Could not commit the TMQ offset; trying again at the next commit");
                    if let Some(c) = e.consumer.take() {
                        c.close().await;
                    }
                }
            }
        }
        Ok(())
    }

    pub async fn stop(&mut self) -> Result<()> {
        let _ = self.commit().await;
        for e in &mut self.executors {
            if let Some(c) = e.consumer.take() {
                c.close().await;
            }
        }
        Ok(())
    }
}

/// `out.format.json.no.array=false`: Java pairs a one-element list with the struct's schema,
/// which JsonConverter rejects; Sluice gives the list an array schema.
fn array_of(item: &SchemaRef) -> SchemaRef {
    SchemaBuilder::array(item.clone()).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(p: &Arc<OffsetMap>) -> SourceRecord {
        SourceRecord::new(p.clone(), OffsetMap::new(), "t", None, Value::Null)
    }

    /// Positions become committable only when every record of a message and of every earlier
    /// message of the same vgroup is acknowledged, whatever the acknowledgement order.
    #[test]
    fn commits_follow_acknowledgements() {
        let t = Arc::new(Tracker::default());
        let acks = Acks(t.clone());
        let key = ("topic".to_string(), 2);
        let (a, b) = (
            Arc::new(offsets::partition("m")),
            Arc::new(offsets::partition("m")),
        );
        t.register(key.clone(), a.clone(), 10, 2);
        t.register(key.clone(), b.clone(), 20, 1);
        assert!(t.ready().is_empty());
        acks.commit_record(record(&b), None);
        assert!(
            t.ready().is_empty(),
            "a later message alone commits nothing"
        );
        acks.commit_record(record(&a), None);
        assert!(t.ready().is_empty());
        acks.commit_record(record(&a), None);
        assert_eq!(t.ready(), vec![(key.clone(), 20)]);
        // An empty message is committable at once; a position never goes back.
        t.register(key.clone(), Arc::new(offsets::partition("m")), 15, 0);
        assert_eq!(t.ready(), vec![(key, 20)]);
    }
}
