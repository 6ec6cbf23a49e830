//! `com.taosdata.kafka.connect.source.TDengineSourceConnector` and its task, query mode
//! (`read.method=query`): super tables and normal tables of `connection.database` are
//! discovered and watched every `poll.interval.ms`, split over tasks in contiguous groups
//! (sorted by name), and each table is read by periodic windowed queries
//! (`_c0 > offset and _c0 <= now`), published as line text or JSON structs with Java's
//! partitions `{"table": …}` and offsets `{"timestamp_millisecond": …, "timestamp_nanosecond": …}`.
//!
//! Subscription mode (TDengine TMQ, Java's default `read.method`) is in
//! [`crate::subscription`]; the connector (discovery, task split) is the same for both.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, RecordCommitter, SourceTask,
    SourceTaskContext, TaskFactory,
};
use sluice_api::data::{SchemaRef, Value};
use sluice_api::record::{OffsetMap, SourceRecord, Topic};
use sluice_api::{async_trait, ConnectError, Result};
use tokio_util::sync::CancellationToken;

use crate::config::{self, *};
use crate::format::{self, TableSchema};
use crate::offsets;
use crate::subscription::SubscriptionTask;
use crate::taosadapter::{parse_url, Client, TdError};

pub const CLASS: &str = "com.taosdata.kafka.connect.source.TDengineSourceConnector";
pub const TASK_CLASS: &str = "com.taosdata.kafka.connect.source.TDengineSourceTask";

/// Rows one query fetches at most (REST returns whole results; see `Executor::query`).
const QUERY_ROWS: usize = 10_000;
/// The largest row limit a query grows to when one timestamp has more rows than that.
const MAX_QUERY_ROWS: usize = 1 << 22;

pub fn config_def() -> ConfigDef {
    config::source_def()
}

pub fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: CLASS,
        task_class: TASK_CLASS,
        kind: ConnectorKind::Source,
        version: crate::VERSION,
        config_def,
        new_connector: || Box::new(TDengineSourceConnector::default()),
        new_task: TaskFactory::Source(|| Box::new(TDengineSourceTask::default())),
        shares_thread: false,
    }
}

/// The settings both the connector and its tasks use.
#[derive(Clone, Debug)]
pub struct Settings {
    pub base: String,
    pub user: String,
    pub password: String,
    pub database: String,
    pub attempts: i32,
    pub backoff_ms: u64,
    pub poll_interval_ms: u64,
    pub topic_prefix: String,
    pub topic_delimiter: String,
    pub topic_per_stable: bool,
    pub topic_ignore_db: bool,
    /// `timestamp.initial` as epoch nanoseconds (0 when unset).
    pub initial_ns: i64,
    pub fetch_max_rows: usize,
    pub query_interval_ms: i64,
    pub json: bool,
    pub tables: Vec<String>,
}

/// Seconds east of UTC of a fixed-offset zone (`UTC`, `GMT+8`, `UTC+08:00`, `+0800`); None for
/// named zones, which Sluice reads as UTC.
pub fn fixed_offset_secs(tz: &str) -> Option<i64> {
    let t = tz.trim();
    let rest = t
        .strip_prefix("UTC")
        .or_else(|| t.strip_prefix("GMT"))
        .unwrap_or(t);
    if rest.is_empty() || rest == "Z" {
        return Some(0);
    }
    let (sign, digits) = match rest.as_bytes().first() {
        Some(b'+') => (1, &rest[1..]),
        Some(b'-') => (-1, &rest[1..]),
        _ => return None,
    };
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?),
        None if digits.len() == 4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        None => (digits.parse().ok()?, 0),
    };
    if h > 18 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

impl Settings {
    pub fn from(c: &sluice_api::config::Config) -> Result<Settings> {
        let url = c.string(CONNECTION_URL).unwrap_or_default();
        let endpoint = parse_url(url).map_err(ConnectError::config)?;
        let tz = c.string(CONNECTION_TIMEZONE).unwrap_or("UTC");
        let initial_ns = match c.string(TIMESTAMP_INITIAL).filter(|s| !s.trim().is_empty()) {
            None => 0,
            Some(s) => {
                let secs = config::parse_timestamp_initial(s).ok_or_else(|| {
                    ConnectError::config(format!(
                        "timestamp.initial '{s}' is not of the form yyyy-MM-dd HH:mm:ss"
                    ))
                })?;
                let offset = fixed_offset_secs(tz).unwrap_or_else(|| {
                    tracing::warn!(timezone = %tz, "connection.timezone is not a fixed offset; timestamp.initial is read as UTC");
                    0
                });
                (secs - offset).saturating_mul(1_000_000_000)
            }
        };
        Ok(Settings {
            base: endpoint.base,
            user: c.string(CONNECTION_USER).unwrap_or("root").to_string(),
            password: c
                .string(CONNECTION_PASSWORD)
                .unwrap_or("taosdata")
                .to_string(),
            database: c
                .string(CONNECTION_DATABASE)
                .unwrap_or_default()
                .to_string(),
            attempts: c.int(CONNECTION_ATTEMPTS).unwrap_or(3).max(1),
            backoff_ms: u64::try_from(c.long(CONNECTION_BACKOFF_MS).unwrap_or(5000)).unwrap_or(0),
            poll_interval_ms: u64::try_from(c.int(POLL_INTERVAL_MS).unwrap_or(1000)).unwrap_or(0),
            topic_prefix: c.string(TOPIC_PREFIX).unwrap_or_default().to_string(),
            topic_delimiter: c.string(TOPIC_DELIMITER).unwrap_or("-").to_string(),
            topic_per_stable: c.boolean(TOPIC_PER_STABLE).unwrap_or(true),
            topic_ignore_db: c.boolean(TOPIC_IGNORE_DB).unwrap_or(false),
            initial_ns,
            // Java never validates it; 0 or less would never return a row.
            fetch_max_rows: usize::try_from(c.int(FETCH_MAX_ROWS).unwrap_or(100))
                .unwrap_or(1)
                .max(1),
            query_interval_ms: c.long(QUERY_INTERVAL_MS).unwrap_or(0).max(0),
            json: c
                .string(OUT_FORMAT)
                .is_some_and(|f| f.eq_ignore_ascii_case("json")),
            tables: c.list(TABLES),
        })
    }

    /// The topic of a table (`TDengineSourceTask.start`).
    pub fn topic_for(&self, table: &str) -> String {
        let (p, d, db) = (&self.topic_prefix, &self.topic_delimiter, &self.database);
        if self.topic_per_stable {
            if self.topic_ignore_db {
                format!("{p}{d}{table}")
            } else {
                format!("{p}{d}{db}{d}{table}")
            }
        } else {
            format!("{p}{d}{db}")
        }
    }

    fn client(&self) -> Result<Client> {
        Client::new(&self.base, &self.user, &self.password).map_err(ConnectError::fatal)
    }
}

/// Checks what Java checks in the `SourceConfig` constructor; true for subscription mode.
fn check_read_method(c: &sluice_api::config::Config) -> Result<bool> {
    let method = c.string(READ_METHOD).unwrap_or("subscription");
    if method.eq_ignore_ascii_case("subscription") {
        if c.string(SUBSCRIPTION_GROUP_ID)
            .is_none_or(|g| g.trim().is_empty())
        {
            return Err(ConnectError::config(
                "subscription.group.id must be set when read.method is subscription",
            ));
        }
        return Ok(true);
    }
    Ok(false)
}

/// Whether `db` exists (`information_schema.ins_databases`).
pub async fn database_exists(client: &Client, db: &str) -> std::result::Result<bool, TdError> {
    let rows = client
        .sql(
            None,
            &format!("select name from information_schema.ins_databases where name = '{db}'"),
        )
        .await?;
    Ok(!rows.data.is_empty())
}

/// The super tables and normal tables of `db` (`MonitorThread.isTableChange`).
pub async fn list_tables(
    client: &Client,
    db: &str,
) -> std::result::Result<BTreeSet<String>, TdError> {
    let mut set = BTreeSet::new();
    let stables = client
        .sql(
            None,
            &format!(
                "select stable_name from information_schema.ins_stables where db_name = '{db}'"
            ),
        )
        .await?;
    let tables = client
        .sql(
            None,
            &format!(
                "select table_name from information_schema.ins_tables where db_name = '{db}' and stable_name is null"
            ),
        )
        .await?;
    for row in stables.data.iter().chain(tables.data.iter()) {
        if let Some(name) = row.first().and_then(|v| v.as_str()) {
            set.insert(name.to_string());
        }
    }
    Ok(set)
}

/// Kafka's `ConnectorUtils.groupPartitions`: `n` contiguous groups, the first
/// `len % n` one longer.
pub fn group(items: &[String], n: usize) -> Vec<Vec<String>> {
    let n = n.max(1);
    let per = items.len() / n;
    let extra = items.len() % n;
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let len = per + usize::from(i < extra);
        out.push(items[start..start + len].to_vec());
        start += len;
    }
    out
}

#[derive(Default)]
pub struct TDengineSourceConnector {
    props: RawConfig,
    tables: Arc<Mutex<BTreeSet<String>>>,
    cancel: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl Connector for TDengineSourceConnector {
    async fn start(&mut self, config: &RawConfig, ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        let parsed = config::parse(&config_def(), config)?;
        check_read_method(&parsed)?;
        let s = Settings::from(&parsed)?;
        if s.database.is_empty() {
            return Err(ConnectError::config(
                "connection.database is empty: the TDengine source needs the database to read",
            ));
        }
        let client = s.client()?;
        // `connection.attempts` tries, `connection.backoff.ms` apart.
        let mut attempt = 0;
        let first = loop {
            attempt += 1;
            match database_exists(&client, &s.database).await {
                Ok(false) => {
                    return Err(ConnectError::config(format!(
                        "connection.database '{}' does not exist in TDengine at {}",
                        s.database, s.base
                    )))
                }
                Ok(true) => {}
                Err(TdError::Unreachable(m)) if attempt < s.attempts => {
                    tracing::warn!(attempt, error = %m, "TDengine is unreachable; trying again");
                    tokio::time::sleep(Duration::from_millis(s.backoff_ms)).await;
                    continue;
                }
                Err(TdError::Auth(m)) => return Err(ConnectError::config(m)),
                Err(e) => {
                    return Err(ConnectError::fatal(format!(
                        "Could not read database '{}' (connection.database) at {}: {e}",
                        s.database, s.base
                    )))
                }
            }
            match list_tables(&client, &s.database).await {
                Ok(t) => break t,
                Err(TdError::Unreachable(m)) if attempt < s.attempts => {
                    tracing::warn!(attempt, error = %m, "TDengine is unreachable; trying again");
                    tokio::time::sleep(Duration::from_millis(s.backoff_ms)).await;
                }
                Err(e) => {
                    return Err(ConnectError::fatal(format!(
                    "Could not list the tables of database '{}' (connection.database) at {}: {e}",
                    s.database, s.base
                )))
                }
            }
        };
        *lock(&self.tables) = first;
        self.props = config.clone();
        self.cancel = CancellationToken::new();
        let (cancel, tables, db) = (self.cancel.clone(), self.tables.clone(), s.database.clone());
        let interval = Duration::from_millis(s.poll_interval_ms.max(100));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(interval) => {}
                }
                match list_tables(&client, &db).await {
                    Ok(now) => {
                        let changed = {
                            let mut known = lock(&tables);
                            let changed = *known != now;
                            *known = now;
                            changed
                        };
                        if changed {
                            tracing::info!(database = %db, "tables is change, request task reconfiguration");
                            ctx.request_task_reconfiguration();
                        }
                    }
                    Err(e) => {
                        tracing::error!(database = %db, error = %e, "error occur while show Tables")
                    }
                }
            }
        });
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>> {
        let tables: Vec<String> = lock(&self.tables).iter().cloned().collect();
        if tables.is_empty() {
            tracing::warn!("No tasks will be run because no tables were found");
            return Ok(Vec::new());
        }
        let n = tables.len().min(max_tasks).max(1);
        Ok(group(&tables, n)
            .into_iter()
            .map(|g| {
                let mut c = self.props.clone();
                c.insert(TABLES.to_string(), g.join(","));
                c
            })
            .collect())
    }

    async fn stop(&mut self) -> Result<()> {
        self.cancel.cancel();
        Ok(())
    }
}

/// What the task knows of one table (Java's `TableExecutor`).
struct Executor {
    table: String,
    topic: Topic,
    partition: Arc<OffsetMap>,
    /// The offset of the last row that can be committed safely (epoch ns).
    offset: Option<i64>,
    schema: Option<(TableSchema, Option<SchemaRef>)>,
    /// Rows fetched and not yet returned: (timestamp ns, row).
    buffer: VecDeque<(i64, Vec<serde_json::Value>)>,
    /// When the table was last queried to exhaustion (ms since the epoch).
    last_update: u64,
    /// The end of the last time window (`query.interval.ms > 0`), ms; 0 when none.
    latest_end: i64,
}

pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

pub(crate) fn now_ms() -> u64 {
    (now_ns() / 1_000_000) as u64
}

#[derive(Default)]
pub struct TDengineSourceTask {
    settings: Option<Settings>,
    client: Option<Client>,
    executors: Vec<Executor>,
    /// Nanoseconds per unit of the database's precision.
    unit_ns: Option<i64>,
    /// Set in subscription mode, which then does all the work.
    subscription: Option<SubscriptionTask>,
}

impl TDengineSourceTask {
    async fn unit(&mut self, client: &Client, db: &str) -> std::result::Result<i64, TdError> {
        if let Some(u) = self.unit_ns {
            return Ok(u);
        }
        let rows = client
            .sql(
                None,
                &format!(
                    "select `precision` from information_schema.ins_databases where name = '{db}'"
                ),
            )
            .await?;
        let p = rows
            .data
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_str())
            .ok_or_else(|| TdError::Server {
                code: 0x0388,
                desc: format!("Database not exist: {db}"),
            })?;
        let unit = match p {
            "ns" => 1,
            "us" => 1_000,
            _ => 1_000_000,
        };
        self.unit_ns = Some(unit);
        Ok(unit)
    }

    /// Runs the next query of executor `i` and fills its buffer (Java's `startQuery`).
    async fn query(&mut self, i: usize) -> std::result::Result<(), TdError> {
        let (Some(s), Some(client)) = (self.settings.clone(), self.client.clone()) else {
            return Err(TdError::Protocol("the task is not started".into()));
        };
        let unit = self.unit(&client, &s.database).await?;
        let e = &self.executors[i];
        let (schema, value_schema) = match &e.schema {
            Some(x) => x.clone(),
            None => {
                let rows = client
                    .sql(Some(&s.database), &format!("describe `{}`", e.table))
                    .await?;
                let schema = TableSchema::from_describe(&e.table, &rows.data)
                    .map_err(|err| TdError::Protocol(err.to_string()))?;
                let vs = if s.json {
                    Some(
                        format::json_schema(&schema)
                            .map_err(|err| TdError::Protocol(err.to_string()))?,
                    )
                } else {
                    None
                };
                (schema, vs)
            }
        };
        let mut start_ns = e.offset.unwrap_or(s.initial_ns);
        let now = now_ns();
        let mut end_ns = now;
        let mut latest_end = e.latest_end;
        if s.query_interval_ms > 0 {
            if start_ns == 0 {
                let first = client
                    .sql(
                        Some(&s.database),
                        &format!("select first(_c0) from `{}`", e.table),
                    )
                    .await?;
                if let Some(ts) = first
                    .data
                    .first()
                    .and_then(|r| r.first())
                    .and_then(format::cell_ts)
                {
                    start_ns = ts - 1_000_000;
                }
            }
            let start_ms = start_ns.div_euclid(1_000_000);
            latest_end = if latest_end == 0 {
                start_ms.saturating_add(s.query_interval_ms)
            } else {
                latest_end.saturating_add(s.query_interval_ms)
            };
            latest_end = latest_end.min(now / 1_000_000);
            end_ns = latest_end.saturating_mul(1_000_000);
        }
        let (start, end) = (start_ns.div_euclid(unit), end_ns.div_euclid(unit));
        let mut limit = QUERY_ROWS.max(s.fetch_max_rows + 1);
        let rows = loop {
            let rows = client
                .sql(
                    Some(&s.database),
                    &schema.select_sql(&e.table, start, end, limit),
                )
                .await?;
            let mut parsed = Vec::with_capacity(rows.data.len());
            for r in rows.data {
                let ts = r.first().and_then(format::cell_ts).ok_or_else(|| {
                    TdError::Protocol(format!("a row of {} has no readable timestamp", e.table))
                })?;
                parsed.push((ts, r));
            }
            if parsed.len() < limit {
                break parsed;
            }
            // A full page may end inside a group of rows sharing a timestamp: drop that
            // group, so the next query (`_c0 > last`) reads it whole.
            let last = parsed.last().map(|(t, _)| *t);
            while parsed.len() > 1 && parsed.last().map(|(t, _)| *t) == last {
                parsed.pop();
            }
            if parsed.first().map(|(t, _)| *t) != last {
                break parsed;
            }
            if limit >= MAX_QUERY_ROWS {
                return Err(TdError::Protocol(format!(
                    "table {} has more than {MAX_QUERY_ROWS} rows at one timestamp",
                    e.table
                )));
            }
            limit *= 2;
        };
        let e = &mut self.executors[i];
        e.schema = Some((schema, value_schema));
        e.latest_end = latest_end;
        e.buffer = rows.into();
        Ok(())
    }
}

#[async_trait]
impl SourceTask for TDengineSourceTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let parsed = config::parse(&config_def(), &context.configs)?;
        let subscription = check_read_method(&parsed)?;
        let s = Settings::from(&parsed)?;
        if subscription {
            self.subscription =
                Some(SubscriptionTask::start(s.clone(), s.client()?, &parsed, &context).await?);
            self.settings = Some(s);
            return Ok(());
        }
        self.client = Some(s.client()?);
        self.executors = s
            .tables
            .iter()
            .map(|t| {
                let partition = offsets::partition(t);
                let offset = context
                    .offsets
                    .offset(&partition)
                    .and_then(|o| offsets::from_map(&o));
                Executor {
                    table: t.clone(),
                    topic: s.topic_for(t).into(),
                    partition: Arc::new(partition),
                    offset,
                    schema: None,
                    buffer: VecDeque::new(),
                    last_update: 0,
                    latest_end: 0,
                }
            })
            .collect();
        self.settings = Some(s);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if let Some(sub) = self.subscription.as_mut() {
            return sub.poll().await;
        }
        let Some(s) = self.settings.clone() else {
            return Err(ConnectError::illegal_state(
                "TDengineSourceTask is not started",
            ));
        };
        // The table in the middle of a result, else the one queried longest ago.
        let Some(i) = (0..self.executors.len())
            .find(|&i| !self.executors[i].buffer.is_empty())
            .or_else(|| (0..self.executors.len()).min_by_key(|&i| self.executors[i].last_update))
        else {
            tokio::time::sleep(Duration::from_millis(s.poll_interval_ms.max(100))).await;
            return Ok(Vec::new());
        };
        if self.executors[i].buffer.is_empty() {
            let next = self.executors[i].last_update + s.poll_interval_ms;
            let now = now_ms();
            if next > now {
                tokio::time::sleep(Duration::from_millis(next - now)).await;
            }
            if let Err(err) = self.query(i).await {
                // Nothing of the failed query was returned, so the position stays (Java
                // rewinds to its previous poll's offset and publishes a row again).
                let e = &mut self.executors[i];
                e.last_update = now_ms();
                match err {
                    TdError::Auth(m) => return Err(ConnectError::config(m)),
                    other => {
                        tracing::error!(table = %e.table, error = %other, "SQL exception while running query for table");
                        return Ok(Vec::new());
                    }
                }
            }
        }
        let e = &mut self.executors[i];
        let Some((schema, value_schema)) = e.schema.clone() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        while out.len() < s.fetch_max_rows {
            let Some((ts, row)) = e.buffer.pop_front() else {
                break;
            };
            e.latest_end = 0;
            // The offset moves to a row only when the next row is later (or there is none):
            // rows sharing a timestamp carry the previous offset, as in Java.
            if e.buffer.front().is_none_or(|(next, _)| ts < *next) {
                e.offset = Some(ts);
            }
            let value = match &value_schema {
                None => (
                    None,
                    Value::String(format::line(&e.table, &schema, &row, ts)?),
                ),
                Some(vs) => (
                    Some(vs.clone()),
                    Value::Struct(format::json(vs, &schema, &row, ts)?),
                ),
            };
            out.push(SourceRecord::new(
                e.partition.clone(),
                offsets::to_map(e.offset),
                e.topic.clone(),
                value.0,
                value.1,
            ));
        }
        if e.buffer.is_empty() {
            e.last_update = now_ms();
        }
        Ok(out)
    }

    async fn commit(&mut self) -> Result<()> {
        match self.subscription.as_mut() {
            Some(sub) => sub.commit().await,
            None => Ok(()),
        }
    }

    fn record_committer(&mut self) -> Option<Arc<dyn RecordCommitter>> {
        self.subscription.as_ref().map(|s| s.record_committer())
    }

    async fn stop(&mut self) -> Result<()> {
        self.client = None;
        if let Some(sub) = self.subscription.as_mut() {
            sub.stop().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let mut raw: RawConfig = [
            ("connection.url", "jdbc:TAOS://127.0.0.1:6030"),
            ("connection.database", "test"),
            ("topic.prefix", "tdengine"),
            ("read.method", "query"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        raw.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Settings::from(&config::parse(&config_def(), &raw).unwrap()).unwrap()
    }

    /// Scenario S10: topic names.
    #[test]
    fn topic_names() {
        assert_eq!(settings(&[]).topic_for("meters"), "tdengine-test-meters");
        assert_eq!(
            settings(&[("topic.ignore.db", "true")]).topic_for("meters"),
            "tdengine-meters"
        );
        assert_eq!(
            settings(&[("topic.per.stable", "false"), ("topic.ignore.db", "true")])
                .topic_for("meters"),
            "tdengine-test"
        );
        assert_eq!(
            settings(&[("topic.delimiter", "_"), ("topic.prefix", "")]).topic_for("m"),
            "_test_m"
        );
    }

    /// Scenario S13: 5 tables over 2 tasks.
    #[test]
    fn groups_are_contiguous() {
        let t: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(group(&t, 2), vec![vec!["a", "b", "c"], vec!["d", "e"]]);
        assert_eq!(group(&t, 5).len(), 5);
    }

    #[test]
    fn timestamp_initial_in_fixed_zones() {
        let utc = settings(&[("timestamp.initial", "2018-10-03 14:38:05")]);
        assert_eq!(utc.initial_ns, 1_538_577_485 * 1_000_000_000);
        let cst = settings(&[
            ("timestamp.initial", "2018-10-03 14:38:05"),
            ("connection.timezone", "UTC+8"),
        ]);
        assert_eq!(cst.initial_ns, 1_538_548_685 * 1_000_000_000);
        assert_eq!(fixed_offset_secs("Asia/Shanghai"), None);
    }

    #[test]
    fn subscription_mode_needs_a_group_id() {
        let raw: RawConfig = [
            ("connection.url", "jdbc:TAOS://h:6030"),
            ("topic.prefix", "p"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = config::parse(&config_def(), &raw).unwrap();
        assert_eq!(
            check_read_method(&c).unwrap_err().to_string(),
            "subscription.group.id must be set when read.method is subscription"
        );
    }
}
