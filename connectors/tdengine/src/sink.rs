//! `com.taosdata.kafka.connect.sink.TDengineSinkConnector` and its task: record values are
//! schemaless text (line, telnet or json) written to TDengine through taosAdapter.
//!
//! As in Java: batches are cut when the topic changes or `batch.size` is reached; the target
//! database is `connection.database`, else `connection.database.prefix` + topic, created with
//! `create database if not exists <db> precision 'ns'`; a failed write is retried
//! `max.retries - 1` times `retry.backoff.ms` apart (the runtime redelivers the batch), then
//! written one record at a time and each failing record is reported as errant (tolerated or
//! sent to the DLQ by the runtime's `errors.*`) with TDengine's error text.
//!
//! Unlike Java: an unreachable taosAdapter is retried without limit (it is an outage, not a
//! bad record: giving up would send good records to the DLQ); the retry budget is restored
//! after each successful write; the one-record writes keep `data.precision`.

use std::collections::HashSet;
use std::sync::Arc;

use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SinkTask, SinkTaskContext,
    TaskFactory,
};
use sluice_api::data::Value;
use sluice_api::record::SinkRecord;
use sluice_api::{async_trait, ConnectError, Result};

use crate::config::{self, *};
use crate::taosadapter::{parse_url, Client, Protocol, TdError};

pub const CLASS: &str = "com.taosdata.kafka.connect.sink.TDengineSinkConnector";
pub const TASK_CLASS: &str = "com.taosdata.kafka.connect.sink.TDengineSinkTask";

pub fn config_def() -> ConfigDef {
    config::sink_def()
}

pub fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: CLASS,
        task_class: TASK_CLASS,
        kind: ConnectorKind::Sink,
        version: crate::VERSION,
        config_def,
        new_connector: || Box::new(TDengineSinkConnector::default()),
        new_task: TaskFactory::Sink(|| Box::new(TDengineSinkTask::default())),
        shares_thread: false,
    }
}

#[derive(Default)]
pub struct TDengineSinkConnector {
    props: RawConfig,
}

#[async_trait]
impl Connector for TDengineSinkConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        let parsed = config::parse(&config_def(), config)?;
        Settings::from(&parsed)?;
        self.props = config.clone();
        Ok(())
    }

    /// `tasks.max` identical copies of the connector config, as Java does.
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The task's settings, parsed once.
#[derive(Clone, Debug)]
pub struct Settings {
    pub base: String,
    pub user: String,
    pub password: String,
    pub protocol: Protocol,
    /// taosAdapter's precision string for line protocol (`""`, `ms`, `u`, `ns`).
    pub precision: &'static str,
    pub database: String,
    pub prefix: String,
    pub batch_size: usize,
    pub max_retries: i32,
    pub retry_backoff_ms: u64,
}

impl Settings {
    pub fn from(c: &sluice_api::config::Config) -> Result<Settings> {
        let url = c.string(CONNECTION_URL).unwrap_or_default();
        let endpoint = parse_url(url).map_err(ConnectError::config)?;
        if endpoint.native_port_replaced {
            tracing::warn!(url = %url, adapter = %endpoint.base, "connection.url is a native TDengine URL; Sluice writes through taosAdapter on port 6041 of the same host");
        }
        let protocol =
            Protocol::parse(c.string(DB_SCHEMALESS).unwrap_or_default()).ok_or_else(|| {
                ConnectError::config("db.schemaless must be one of (line, telnet, json)")
            })?;
        // Telnet and JSON ignore the precision (their timestamps carry their unit).
        let precision = match (
            protocol,
            c.string(DATA_PRECISION)
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str(),
        ) {
            (Protocol::Line, "ms") => "ms",
            (Protocol::Line, "us") => "u",
            (Protocol::Line, "ns") => "ns",
            _ => "",
        };
        Ok(Settings {
            base: endpoint.base,
            user: c.string(CONNECTION_USER).unwrap_or("root").to_string(),
            password: c
                .string(CONNECTION_PASSWORD)
                .unwrap_or("taosdata")
                .to_string(),
            protocol,
            precision,
            database: c
                .string(CONNECTION_DATABASE)
                .unwrap_or_default()
                .to_string(),
            prefix: c
                .string(CONNECTION_DATABASE_PREFIX)
                .unwrap_or_default()
                .to_string(),
            batch_size: usize::try_from(c.int(BATCH_SIZE).unwrap_or(3000)).unwrap_or(0),
            max_retries: c.int(MAX_RETRIES).unwrap_or(3),
            retry_backoff_ms: u64::try_from(c.int(RETRY_BACKOFF_MS).unwrap_or(3000)).unwrap_or(0),
        })
    }

    /// The database of a topic: `connection.database`, else prefix + topic (a `${topic}` in
    /// the prefix is replaced, the superset TDengine's docs describe).
    pub fn database_for(&self, topic: &str) -> String {
        if !self.database.is_empty() {
            self.database.clone()
        } else if self.prefix.contains("${topic}") {
            self.prefix.replace("${topic}", topic)
        } else {
            format!("{}{topic}", self.prefix)
        }
    }
}

/// Cuts `records` into batches at topic changes and every `batch_size` records (0: no limit),
/// in order (Java's `put`).
pub fn batches(records: &[SinkRecord], batch_size: usize) -> Vec<&[SinkRecord]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=records.len() {
        let cut = i == records.len()
            || records[i].record.topic != records[start].record.topic
            || (batch_size > 0 && i - start == batch_size);
        if cut {
            out.push(&records[start..i]);
            start = i;
        }
    }
    out
}

/// `String.valueOf(record.value())`; bytes are read as UTF-8 text (a superset of Java).
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.to_string(),
    }
}

#[derive(Default)]
pub struct TDengineSinkTask {
    settings: Option<Settings>,
    client: Option<Client>,
    context: Option<Arc<dyn SinkTaskContext>>,
    remaining_retries: i32,
    /// Databases created (or found) by this task.
    created: HashSet<String>,
}

/// How a batch write failed.
enum Failure {
    Outage(String),
    Fatal(ConnectError),
    Rejected(TdError),
}

impl TDengineSinkTask {
    fn parts(&self) -> Result<(&Settings, &Client)> {
        match (&self.settings, &self.client) {
            (Some(s), Some(c)) => Ok((s, c)),
            _ => Err(ConnectError::illegal_state(
                "TDengineSinkTask is not started",
            )),
        }
    }

    /// Creates the database (once per task) and writes `lines` into it.
    async fn write(&mut self, db: &str, lines: String) -> std::result::Result<(), Failure> {
        let (s, client) = self.parts().map_err(Failure::Fatal)?;
        let (protocol, precision) = (s.protocol, s.precision);
        let client = client.clone();
        let classify = |e: TdError| match e {
            TdError::Unreachable(m) => Failure::Outage(m),
            TdError::Auth(m) => Failure::Fatal(ConnectError::config(m)),
            other => Failure::Rejected(other),
        };
        if !self.created.contains(db) {
            client
                .sql(
                    None,
                    &format!("create database if not exists {db} precision 'ns'"),
                )
                .await
                .map_err(classify)?;
            self.created.insert(db.to_string());
        }
        client
            .schemaless(protocol, db, precision, lines)
            .await
            .map_err(|e| {
                if matches!(e, TdError::Server { .. }) {
                    // The database may have been dropped meanwhile: check it again next time.
                    self.created.remove(db);
                }
                classify(e)
            })
    }

    fn backoff(&self) {
        if let (Some(ctx), Some(s)) = (&self.context, &self.settings) {
            ctx.timeout(s.retry_backoff_ms);
        }
    }
}

#[async_trait]
impl SinkTask for TDengineSinkTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> Result<()> {
        let parsed = config::parse(&config_def(), context.configs())?;
        let s = Settings::from(&parsed)?;
        self.client =
            Some(Client::new(&s.base, &s.user, &s.password).map_err(ConnectError::fatal)?);
        self.remaining_retries = s.max_retries - 1;
        self.settings = Some(s);
        self.context = Some(context);
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        let (s, _) = self.parts()?;
        let batch_size = s.batch_size;
        let settings = s.clone();
        for batch in batches(records, batch_size) {
            let topic = &batch[0].record.topic;
            let db = settings.database_for(topic);
            let body = batch
                .iter()
                .map(|r| value_text(&r.record.value))
                .collect::<Vec<_>>()
                .join("\n");
            match self.write(&db, body).await {
                Ok(()) => {
                    self.remaining_retries = settings.max_retries - 1;
                }
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Outage(m)) => {
                    tracing::warn!(database = %db, records = batch.len(), error = %m, "TDengine write failed; the batch will be retried");
                    self.backoff();
                    return Err(ConnectError::retriable(m));
                }
                Err(Failure::Rejected(e)) => {
                    tracing::warn!(database = %db, records = batch.len(), remaining_retries = self.remaining_retries, error = %e, "Write of records failed");
                    if self.remaining_retries > 0 {
                        self.remaining_retries -= 1;
                        self.backoff();
                        return Err(ConnectError::retriable(format!("Exception chain:\n{e}\n"))
                            .with_source(e));
                    }
                    // Out of retries: one record at a time, reporting each that fails.
                    for r in batch {
                        match self.write(&db, value_text(&r.record.value)).await {
                            Ok(()) => {}
                            Err(Failure::Fatal(e)) => return Err(e),
                            Err(Failure::Outage(m)) => {
                                self.backoff();
                                return Err(ConnectError::retriable(m));
                            }
                            Err(Failure::Rejected(e)) => {
                                let err = ConnectError::data(format!(
                                    "TDengine rejected the record (topic {}, partition {}, offset {}) for database {db}: {e}",
                                    r.record.topic,
                                    r.record.kafka_partition.unwrap_or(-1),
                                    r.kafka_offset
                                ));
                                match &self.context {
                                    Some(ctx) => ctx.report_errant(r, err),
                                    None => return Err(err),
                                }
                            }
                        }
                    }
                    self.remaining_retries = settings.max_retries - 1;
                }
            }
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        self.client = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::record::ConnectRecord;

    fn rec(topic: &str, v: &str) -> SinkRecord {
        SinkRecord {
            record: ConnectRecord {
                topic: topic.into(),
                value: Value::from(v),
                ..ConnectRecord::default()
            },
            ..SinkRecord::default()
        }
    }

    fn cut(records: &[SinkRecord], size: usize) -> Vec<Vec<String>> {
        batches(records, size)
            .iter()
            .map(|b| b.iter().map(|r| value_text(&r.record.value)).collect())
            .collect()
    }

    /// Scenario S4: order-preserving cuts at topic changes and at `batch.size`.
    #[test]
    fn batches_cut_at_topic_changes_and_size() {
        let rs = [
            rec("A", "A1"),
            rec("A", "A2"),
            rec("A", "A3"),
            rec("B", "B1"),
            rec("A", "A4"),
        ];
        assert_eq!(
            cut(&rs, 2),
            vec![vec!["A1", "A2"], vec!["A3"], vec!["B1"], vec!["A4"]]
        );
        assert_eq!(
            cut(&rs, 0),
            vec![vec!["A1", "A2", "A3"], vec!["B1"], vec!["A4"]]
        );
        assert!(batches(&[], 2).is_empty());
    }

    #[test]
    fn database_names() {
        let raw: RawConfig = [
            ("connection.url", "jdbc:TAOS://127.0.0.1:6030"),
            ("db.schemaless", "line"),
            ("connection.database.prefix", "kafka_"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = Settings::from(&config::parse(&config_def(), &raw).unwrap()).unwrap();
        assert_eq!(s.database_for("orders"), "kafka_orders");
        assert_eq!(s.base, "http://127.0.0.1:6041");
        let mut s2 = s.clone();
        s2.prefix = "kafka_${topic}".into();
        assert_eq!(s2.database_for("orders"), "kafka_orders");
        s2.prefix = String::new();
        assert_eq!(s2.database_for("orders"), "orders");
        s2.database = "power".into();
        assert_eq!(s2.database_for("orders"), "power");
    }
}
