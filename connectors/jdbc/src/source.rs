//! `io.confluent.connect.jdbc.JdbcSourceConnector` and its task: tables (or one query) into
//! topics, in the modes `bulk`, `incrementing`, `timestamp` and `timestamp+incrementing`.
//!
//! The connector lists tables every `table.poll.interval.ms` and asks for a task
//! reconfiguration when the list changes; tables are split over tasks in contiguous slices
//! as Confluent's `ConnectorUtils.groupPartitions` does. Each task polls its tables in turn,
//! at most once per `poll.interval.ms` each, and emits at most `batch.max.rows` records per
//! poll. Records carry Confluent's partitions and offsets (see [`crate::offsets`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_api::config::RawConfig;
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SourceTask, SourceTaskContext,
    TaskFactory,
};
use sluice_api::data::logical::{self, Decimal};
use sluice_api::data::{SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::record::{OffsetMap, SourceRecord, Topic};
use sluice_api::{async_trait, ConnectError, Result};

use crate::config::{self, ConnectionSettings, Dialect};
use crate::db::{
    split_table_list, Chunk, ColumnKind, Db, ResultColumn, SqlValue, StreamedQuery, TableId, Zone,
};
use crate::offsets::{self, Offset};

pub const CLASS: &str = "io.confluent.connect.jdbc.JdbcSourceConnector";
pub const TASK_CLASS: &str = "io.confluent.connect.jdbc.source.JdbcSourceTask";

pub fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: CLASS,
        task_class: TASK_CLASS,
        kind: ConnectorKind::Source,
        version: crate::VERSION,
        config_def: config::source_config_def,
        new_connector: || Box::new(JdbcSourceConnector::default()),
        new_task: TaskFactory::Source(|| Box::new(JdbcSourceTask::default())),
        shares_thread: false,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Bulk,
    Incrementing,
    Timestamp,
    TimestampIncrementing,
}

impl Mode {
    fn uses_timestamp(self) -> bool {
        matches!(self, Mode::Timestamp | Mode::TimestampIncrementing)
    }
    fn uses_incrementing(self) -> bool {
        matches!(self, Mode::Incrementing | Mode::TimestampIncrementing)
    }
}

/// `timestamp.granularity`: how TIMESTAMP columns are emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    ConnectLogical,
    MicrosLong,
    MicrosString,
    MicrosIsoDatetimeString,
    NanosLong,
    NanosString,
    NanosIsoDatetimeString,
}

impl Granularity {
    fn parse(text: &str) -> Granularity {
        match text.to_ascii_lowercase().as_str() {
            "micros_long" => Granularity::MicrosLong,
            "micros_string" => Granularity::MicrosString,
            "micros_iso_datetime_string" => Granularity::MicrosIsoDatetimeString,
            "nanos_long" => Granularity::NanosLong,
            "nanos_string" => Granularity::NanosString,
            "nanos_iso_datetime_string" => Granularity::NanosIsoDatetimeString,
            _ => Granularity::ConnectLogical,
        }
    }
}

/// A `timestamp.columns.mapping` / `incrementing.column.mapping` entry: a table regex and
/// its columns.
#[derive(Clone, Debug)]
pub struct ColumnMapping {
    pub pattern: regex::Regex,
    pub columns: Vec<String>,
}

/// Parses `regex1:[col1|col2],regex2:[col3]` (timestamps) or `regex1:col,regex2:col`.
fn parse_mappings(key: &str, entries: Vec<String>) -> Result<Vec<ColumnMapping>> {
    entries
        .into_iter()
        .map(|e| {
            let (re, cols) = e.rsplit_once(':').ok_or_else(|| {
                ConnectError::config(format!(
                    "Invalid value {e} for configuration {key}: expected regex:column or regex:[col1|col2]"
                ))
            })?;
            let cols = cols.trim();
            let cols = cols
                .strip_prefix('[')
                .and_then(|c| c.strip_suffix(']'))
                .unwrap_or(cols);
            let columns: Vec<String> = cols
                .split('|')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            if columns.is_empty() {
                return Err(ConnectError::config(format!(
                    "Invalid value {e} for configuration {key}: no column after the regex"
                )));
            }
            let pattern = regex::Regex::new(&format!("^(?:{})$", re.trim())).map_err(|err| {
                ConnectError::config(format!(
                    "Invalid value {e} for configuration {key}: not a valid regular expression: {err}"
                ))
            })?;
            Ok(ColumnMapping { pattern, columns })
        })
        .collect()
}

/// The columns of the one mapping entry matching `fqn` (every table must match exactly one).
fn mapped_columns(key: &str, mappings: &[ColumnMapping], fqn: &str) -> Result<Vec<String>> {
    let hits: Vec<&ColumnMapping> = mappings
        .iter()
        .filter(|m| m.pattern.is_match(fqn))
        .collect();
    match hits.as_slice() {
        [one] => Ok(one.columns.clone()),
        [] => Err(ConnectError::config(format!(
            "Table {fqn} matches no entry of {key}; every captured table must match exactly one"
        ))),
        _ => Err(ConnectError::config(format!(
            "Table {fqn} matches {} entries of {key}; every captured table must match exactly one",
            hits.len()
        ))),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumericMapping {
    None,
    PrecisionOnly,
    BestFit,
    BestFitEagerDouble,
}

/// The source's settings, parsed once.
#[derive(Clone, Debug)]
pub struct SourceSettings {
    pub connection: ConnectionSettings,
    pub mode: Mode,
    pub query: String,
    pub query_suffix: String,
    pub incrementing_column: String,
    pub timestamp_columns: Vec<String>,
    pub timestamp_initial: Option<i64>,
    pub timestamp_delay_ms: i64,
    pub validate_non_null: bool,
    pub whitelist: Vec<String>,
    pub blacklist: Vec<String>,
    pub include: Vec<regex::Regex>,
    pub exclude: Vec<regex::Regex>,
    pub catalog_pattern: Option<String>,
    pub schema_pattern: Option<String>,
    pub table_types: Vec<String>,
    pub poll_interval: Duration,
    pub batch_max_rows: usize,
    pub table_poll_interval: Duration,
    pub topic_prefix: String,
    pub numeric_mapping: NumericMapping,
    pub quote: bool,
    pub granularity: Granularity,
    /// False with `query.masked`: the query is never logged.
    pub log_query: bool,
    /// `query.retry.attempts`: failed queries of one table retried this often before the
    /// task fails (≤ 0: for ever).
    pub query_retry_attempts: i32,
    pub timestamp_mapping: Vec<ColumnMapping>,
    pub incrementing_mapping: Vec<ColumnMapping>,
}

impl SourceSettings {
    pub fn parse(raw: &RawConfig) -> Result<SourceSettings> {
        let c = config::parse(&config::source_config_def(), raw)?;
        let connection = ConnectionSettings::from_config(&c)?;
        let mode = match c.string(config::MODE).unwrap_or("") {
            config::MODE_BULK => Mode::Bulk,
            config::MODE_INCREMENTING => Mode::Incrementing,
            config::MODE_TIMESTAMP => Mode::Timestamp,
            config::MODE_TIMESTAMP_INCREMENTING => Mode::TimestampIncrementing,
            _ => {
                return Err(ConnectError::config(
                    "Invalid value  for configuration mode: Query mode must be specified (bulk, timestamp, incrementing or timestamp+incrementing)",
                ))
            }
        };
        let whitelist = c.list(config::TABLE_WHITELIST);
        let blacklist = c.list(config::TABLE_BLACKLIST);
        let include_raw = c.list(config::TABLE_INCLUDE_LIST);
        let exclude_raw = c.list(config::TABLE_EXCLUDE_LIST);
        if !whitelist.is_empty() && !blacklist.is_empty() {
            return Err(ConnectError::config(
                "Only one of table.whitelist or table.blacklist can be specified",
            ));
        }
        if (!include_raw.is_empty() || !exclude_raw.is_empty())
            && (!whitelist.is_empty() || !blacklist.is_empty())
        {
            return Err(ConnectError::config(
                "table.include.list/table.exclude.list cannot be combined with table.whitelist/table.blacklist",
            ));
        }
        if !exclude_raw.is_empty() && include_raw.is_empty() {
            return Err(ConnectError::config(
                "table.exclude.list requires table.include.list",
            ));
        }
        let compile = |key: &str, list: Vec<String>| -> Result<Vec<regex::Regex>> {
            list.into_iter()
                .map(|p| {
                    regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                        ConnectError::config(format!(
                            "Invalid value {p} for configuration {key}: not a valid regular expression: {e}"
                        ))
                    })
                })
                .collect()
        };
        let numeric_mapping = match c
            .string(config::NUMERIC_MAPPING)
            .map(str::to_ascii_lowercase)
        {
            Some(m) if m == "precision_only" => NumericMapping::PrecisionOnly,
            Some(m) if m == "best_fit" => NumericMapping::BestFit,
            Some(m) if m == "best_fit_eager_double" => NumericMapping::BestFitEagerDouble,
            Some(_) => NumericMapping::None,
            None if c
                .boolean(config::NUMERIC_PRECISION_MAPPING)
                .unwrap_or(false) =>
            {
                NumericMapping::PrecisionOnly
            }
            None => NumericMapping::None,
        };
        let batch = c.int(config::BATCH_MAX_ROWS).unwrap_or(1000);
        let poll = c.int(config::POLL_INTERVAL_MS).unwrap_or(5000);
        Ok(SourceSettings {
            connection,
            mode,
            // `query.masked` stands for `query` (Confluent's `getQuery`: query first).
            query: match c.string(config::QUERY).unwrap_or("") {
                "" => c.string(config::QUERY_MASKED).unwrap_or("").to_string(),
                q => q.to_string(),
            },
            query_suffix: c.string(config::QUERY_SUFFIX).unwrap_or("").to_string(),
            incrementing_column: c
                .string(config::INCREMENTING_COLUMN_NAME)
                .unwrap_or("")
                .to_string(),
            timestamp_columns: c.list(config::TIMESTAMP_COLUMN_NAME),
            timestamp_initial: c.long(config::TIMESTAMP_INITIAL),
            timestamp_delay_ms: c
                .long(config::TIMESTAMP_DELAY_INTERVAL_MS)
                .unwrap_or(0)
                .max(0),
            validate_non_null: c.boolean(config::VALIDATE_NON_NULL).unwrap_or(true),
            whitelist,
            blacklist,
            include: compile(config::TABLE_INCLUDE_LIST, include_raw)?,
            exclude: compile(config::TABLE_EXCLUDE_LIST, exclude_raw)?,
            catalog_pattern: c.string(config::CATALOG_PATTERN).map(str::to_string),
            schema_pattern: c.string(config::SCHEMA_PATTERN).map(str::to_string),
            table_types: c.list(config::TABLE_TYPES),
            poll_interval: Duration::from_millis(poll.max(1) as u64),
            batch_max_rows: batch.max(1) as usize,
            table_poll_interval: Duration::from_millis(
                c.long(config::TABLE_POLL_INTERVAL_MS)
                    .unwrap_or(60_000)
                    .max(1) as u64,
            ),
            topic_prefix: c.string(config::TOPIC_PREFIX).unwrap_or("").to_string(),
            numeric_mapping,
            quote: config::quote_identifiers(&c),
            granularity: Granularity::parse(
                c.string(config::TIMESTAMP_GRANULARITY)
                    .unwrap_or("connect_logical"),
            ),
            query_retry_attempts: c.int(config::QUERY_RETRY_ATTEMPTS).unwrap_or(-1),
            log_query: !c.string(config::QUERY).unwrap_or("").is_empty()
                || c.string(config::QUERY_MASKED).unwrap_or("").is_empty(),
            timestamp_mapping: parse_mappings(
                config::TIMESTAMP_COLUMNS_MAPPING,
                c.list(config::TIMESTAMP_COLUMNS_MAPPING),
            )?,
            incrementing_mapping: parse_mappings(
                config::INCREMENTING_COLUMN_MAPPING,
                c.list(config::INCREMENTING_COLUMN_MAPPING),
            )?,
        })
    }

    /// Whether a discovered table passes the white/black or include/exclude lists.
    fn selects(&self, dialect: Dialect, t: &TableId) -> bool {
        let fqn = t.fqn();
        let quoted = t.quoted(dialect, true);
        let named = |list: &[String]| {
            list.iter()
                .any(|e| e == &t.table || e == &fqn || e == &quoted)
        };
        if !self.whitelist.is_empty() {
            return named(&self.whitelist);
        }
        if !self.blacklist.is_empty() {
            return !named(&self.blacklist);
        }
        if !self.include.is_empty() {
            return self.include.iter().any(|r| r.is_match(&fqn))
                && !self.exclude.iter().any(|r| r.is_match(&fqn));
        }
        true
    }
}

/// Lists and filters the tables a connector copies.
async fn list_tables(db: &mut Db, s: &SourceSettings) -> Result<Vec<TableId>> {
    let dialect = db.dialect();
    let all = db
        .list_tables(
            s.catalog_pattern.as_deref(),
            s.schema_pattern.as_deref(),
            &s.table_types,
        )
        .await?;
    Ok(all.into_iter().filter(|t| s.selects(dialect, t)).collect())
}

/// Contiguous slices, the first `n mod k` one longer (`ConnectorUtils.groupPartitions`).
pub fn group_partitions<T: Clone>(items: &[T], groups: usize) -> Vec<Vec<T>> {
    let groups = groups.max(1);
    let per = items.len() / groups;
    let extra = items.len() % groups;
    let mut out = Vec::with_capacity(groups);
    let mut start = 0;
    for g in 0..groups {
        let len = per + usize::from(g < extra);
        out.push(items[start..start + len].to_vec());
        start += len;
    }
    out
}

#[derive(Default)]
pub struct JdbcSourceConnector {
    props: RawConfig,
    settings: Option<SourceSettings>,
    dialect: Option<Dialect>,
    tables: Arc<Mutex<Vec<TableId>>>,
    monitor: Option<tokio::task::JoinHandle<()>>,
}

#[async_trait]
impl Connector for JdbcSourceConnector {
    async fn start(&mut self, config: &RawConfig, ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        let s = SourceSettings::parse(config)?;
        self.props = config.clone();
        self.dialect = Some(s.connection.url.dialect);
        if s.query.is_empty() {
            let mut db = Db::connect(&s.connection).await?;
            let tables = list_tables(&mut db, &s).await?;
            check_unique_names(&tables)?;
            tracing::info!("JDBC source found {} tables: {:?}", tables.len(), tables);
            if let Ok(mut t) = self.tables.lock() {
                *t = tables;
            }
            let shared = self.tables.clone();
            let settings = s.clone();
            self.monitor = Some(tokio::spawn(async move {
                let mut db = Some(db);
                loop {
                    tokio::time::sleep(settings.table_poll_interval).await;
                    if db.is_none() {
                        match Db::connect(&settings.connection).await {
                            Ok(d) => db = Some(d),
                            Err(e) => {
                                tracing::warn!("Table monitor could not connect: {e}");
                                continue;
                            }
                        }
                    }
                    let Some(conn) = db.as_mut() else { continue };
                    match list_tables(conn, &settings).await {
                        Ok(found) => {
                            let changed = match shared.lock() {
                                Ok(mut current) if *current != found => {
                                    tracing::info!(
                                        "Tables changed from {:?} to {:?}: reconfiguring tasks",
                                        *current,
                                        found
                                    );
                                    *current = found;
                                    true
                                }
                                _ => false,
                            };
                            if changed {
                                ctx.request_task_reconfiguration();
                            }
                        }
                        Err(e) => {
                            tracing::warn!("Listing tables failed; retrying next interval: {e}");
                            db = None;
                        }
                    }
                }
            }));
        }
        self.settings = Some(s);
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>> {
        let s = self
            .settings
            .as_ref()
            .ok_or_else(|| ConnectError::illegal_state("JdbcSourceConnector is not started"))?;
        if !s.query.is_empty() {
            let mut p = self.props.clone();
            p.insert(config::TABLES.into(), String::new());
            p.insert(config::TABLES_FETCHED.into(), "true".into());
            return Ok(vec![p]);
        }
        let dialect = self.dialect.unwrap_or(Dialect::Postgres);
        let tables = self.tables.lock().map(|t| t.clone()).unwrap_or_default();
        check_unique_names(&tables)?;
        if tables.is_empty() {
            // One task that fails on start, as Confluent's does.
            let mut p = self.props.clone();
            p.insert(config::TABLES.into(), String::new());
            p.insert(config::TABLES_FETCHED.into(), "true".into());
            return Ok(vec![p]);
        }
        let groups = group_partitions(&tables, tables.len().min(max_tasks.max(1)));
        Ok(groups
            .into_iter()
            .map(|g| {
                let mut p = self.props.clone();
                let names: Vec<String> = g.iter().map(|t| t.quoted(dialect, s.quote)).collect();
                p.insert(config::TABLES.into(), names.join(","));
                p.insert(config::TABLES_FETCHED.into(), "true".into());
                p
            })
            .collect())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(m) = self.monitor.take() {
            m.abort();
        }
        Ok(())
    }

    fn alter_offsets(
        &self,
        _config: &RawConfig,
        _offsets: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<bool> {
        Ok(true)
    }
}

impl Drop for JdbcSourceConnector {
    fn drop(&mut self) {
        if let Some(m) = self.monitor.take() {
            m.abort();
        }
    }
}

fn check_unique_names(tables: &[TableId]) -> Result<()> {
    for (i, a) in tables.iter().enumerate() {
        if let Some(b) = tables[i + 1..].iter().find(|b| b.table == a.table) {
            return Err(ConnectError::config(format!(
                "The connector uses the unqualified table name as the topic name and has detected duplicate unqualified table names. This could lead to mixed data types in the topic and downstream processing errors. To prevent such processing errors, the JDBC Source connector fails to start when it detects duplicate table name configurations. Update the connector's configuration to include qualified table names: {a} and {b}"
            )));
        }
    }
    Ok(())
}

/// One table (or the query) a task polls (`TableQuerier`).
struct Querier {
    table: Option<TableId>,
    /// `SELECT * FROM <table>` or the user's query.
    base: String,
    topic: Topic,
    partition: Arc<OffsetMap>,
    schema_name: Option<String>,
    incrementing_column: Option<String>,
    timestamp_columns: Vec<String>,
    offset: Offset,
    next_due: Instant,
    /// Consecutive failed queries (`query.retry.attempts`).
    failures: i32,
}

/// Reads tables (or a query) into records.
#[derive(Default)]
pub struct JdbcSourceTask {
    settings: Option<SourceSettings>,
    db: Option<Db>,
    queriers: Vec<Querier>,
    /// The query whose result is being read, a chunk of `batch.max.rows` rows per poll.
    active: Option<ActiveQuery>,
}

/// A querier's result being streamed (Confluent's querier keeps its result set open
/// across polls the same way).
struct ActiveQuery {
    index: usize,
    stream: StreamedQuery,
    shape: Option<RowShape>,
    /// Timestamp mode: the last row read, held until the next one shows whether it is the
    /// last row of its timestamp.
    held: Option<Vec<SqlValue>>,
}

/// How the rows of a result become records.
struct RowShape {
    schema: SchemaRef,
    converters: Vec<Converter>,
    ts_idx: Vec<usize>,
    inc_idx: Option<usize>,
}

impl JdbcSourceTask {
    fn settings(&self) -> Result<&SourceSettings> {
        self.settings
            .as_ref()
            .ok_or_else(|| ConnectError::illegal_state("JdbcSourceTask is not started"))
    }

    async fn connection(&mut self) -> Result<&mut Db> {
        if self.db.is_none() {
            let s = self.settings()?.clone();
            self.db = Some(Db::connect(&s.connection).await?);
        }
        self.db
            .as_mut()
            .ok_or_else(|| ConnectError::retriable("not connected to the database"))
    }

    /// A failed query: retried at the querier's next turn (from the offset of the last row
    /// handed over) up to `query.retry.attempts` times in a row (≤ 0: for ever), as
    /// Confluent's `TableQuerierProcessor` does; then, or for an error retrying cannot
    /// fix (bad SQL, a value that cannot be converted), the task fails.
    async fn query_failed(&mut self, index: usize, e: ConnectError) -> Result<Vec<SourceRecord>> {
        let s = self.settings()?.clone();
        if e.kind() != sluice_api::ErrorKind::Retriable {
            return Err(e);
        }
        if let Some(db) = self.db.take() {
            db.close().await;
        }
        let q = &mut self.queriers[index];
        q.failures += 1;
        if s.query_retry_attempts > 0 && q.failures >= s.query_retry_attempts {
            return Err(ConnectError::fatal(format!(
                "Failed to query {} after {} attempts ({}={}): {e}",
                describe(q),
                q.failures,
                config::QUERY_RETRY_ATTEMPTS,
                s.query_retry_attempts
            )));
        }
        tracing::warn!(
            "JDBC source query of {} failed (attempt {}{}); retrying in {} ms: {e}",
            describe(q),
            q.failures,
            if s.query_retry_attempts > 0 {
                format!(" of {}", s.query_retry_attempts)
            } else {
                String::new()
            },
            s.poll_interval.as_millis()
        );
        Ok(Vec::new())
    }

    /// Starts the due querier's query; its rows are read by [`Self::next_records`].
    async fn start_query(&mut self, index: usize) -> Result<()> {
        let s = self.settings()?.clone();
        let dialect = s.connection.url.dialect;
        let q = &self.queriers[index];
        let col = |c: &str| -> String {
            match &q.table {
                Some(t) => format!(
                    "{}.{}",
                    t.quoted(dialect, s.quote),
                    dialect.quote_if(c, s.quote)
                ),
                None => dialect.quote_if(c, s.quote),
            }
        };
        let ts_expr = if q.timestamp_columns.len() == 1 {
            col(&q.timestamp_columns[0])
        } else {
            let cols: Vec<String> = q.timestamp_columns.iter().map(|c| col(c)).collect();
            format!("COALESCE({})", cols.join(","))
        };
        let inc_expr = q
            .incrementing_column
            .as_deref()
            .map(col)
            .unwrap_or_default();
        let mut sql = q.base.clone();
        let offset = q.offset;
        let mut params: Vec<SqlValue> = Vec::new();
        let mut end_micros = None;
        if s.mode.uses_timestamp() {
            let now = self.connection().await?.current_time_micros().await?;
            end_micros = Some(now - s.timestamp_delay_ms * 1000);
        }
        let begin = offset.timestamp_micros.unwrap_or(0);
        let last_inc = offset.incrementing.unwrap_or(-1);
        let ph = |n: usize| -> String {
            match dialect {
                Dialect::Postgres => format!("${n}"),
                _ => "?".to_string(),
            }
        };
        match s.mode {
            Mode::Bulk => {}
            Mode::Incrementing => {
                sql.push_str(&format!(
                    " WHERE {inc_expr} > {} ORDER BY {inc_expr} ASC",
                    ph(1)
                ));
                params.push(SqlValue::Int(last_inc));
            }
            Mode::Timestamp => {
                sql.push_str(&format!(
                    " WHERE {ts_expr} > {} AND {ts_expr} < {} ORDER BY {ts_expr} ASC",
                    ph(1),
                    ph(2)
                ));
                params.push(SqlValue::Timestamp(begin));
                params.push(SqlValue::Timestamp(end_micros.unwrap_or(0)));
            }
            Mode::TimestampIncrementing => {
                sql.push_str(&format!(
                    " WHERE {ts_expr} < {} AND (({ts_expr} = {} AND {inc_expr} > {}) OR {ts_expr} > {}) ORDER BY {ts_expr},{inc_expr} ASC",
                    ph(1),
                    ph(2),
                    ph(3),
                    ph(4)
                ));
                params.push(SqlValue::Timestamp(end_micros.unwrap_or(0)));
                params.push(SqlValue::Timestamp(begin));
                params.push(SqlValue::Int(last_inc));
                params.push(SqlValue::Timestamp(begin));
            }
        }
        if !s.query_suffix.is_empty() {
            sql.push(' ');
            sql.push_str(&s.query_suffix);
        }
        if s.log_query {
            tracing::debug!("JDBC source query: {sql}");
        }
        let db = match self.db.take() {
            Some(db) => db,
            None => Db::connect(&s.connection).await?,
        };
        self.active = Some(ActiveQuery {
            index,
            stream: db.stream_query(sql, params, s.batch_max_rows),
            shape: None,
            held: None,
        });
        Ok(())
    }

    /// Reads the active query's next chunk into records. `Ok(None)` when the result is
    /// exhausted (the connection is back and the querier waits for its next turn).
    async fn next_records(&mut self) -> Result<Option<Vec<SourceRecord>>> {
        let s = self.settings()?.clone();
        loop {
            // Only the receive waits; the query stays in `self.active` meanwhile, so a poll
            // dropped here loses nothing.
            let msg = match self.active.as_mut() {
                Some(a) => a.stream.rx.recv().await,
                None => return Ok(None),
            };
            let Some(mut active) = self.active.take() else {
                return Ok(None);
            };
            match msg {
                Some(Ok(Chunk::Columns(columns))) => {
                    active.shape = Some(self.shape(active.index, &columns, &s)?);
                    self.active = Some(active);
                }
                Some(Ok(Chunk::Rows(rows))) => {
                    let records = self.records_of(&mut active, rows, false, &s);
                    self.active = Some(active);
                    return records.map(Some);
                }
                Some(Err(e)) => {
                    self.db = active.stream.done.await.ok().flatten();
                    self.queriers[active.index].next_due = Instant::now() + s.poll_interval;
                    return Err(e);
                }
                None => {
                    let records = self.records_of(&mut active, Vec::new(), true, &s)?;
                    self.db = active.stream.done.await.ok().flatten();
                    self.queriers[active.index].next_due = Instant::now() + s.poll_interval;
                    return Ok(if records.is_empty() {
                        None
                    } else {
                        Some(records)
                    });
                }
            }
        }
    }

    fn shape(
        &self,
        index: usize,
        columns: &[ResultColumn],
        s: &SourceSettings,
    ) -> Result<RowShape> {
        let q = &self.queriers[index];
        let (schema, converters) = build_schema(
            q.schema_name.as_deref(),
            columns,
            s.numeric_mapping,
            s.granularity,
        )?;
        let ts_idx: Vec<usize> = q
            .timestamp_columns
            .iter()
            .filter_map(|c| find_column(columns, c))
            .collect();
        let inc_idx = match &q.incrementing_column {
            Some(c) if s.mode.uses_incrementing() => {
                Some(find_column(columns, c).ok_or_else(|| {
                    ConnectError::config(format!(
                        "Incrementing column {c} not found in the result of {}",
                        describe(q)
                    ))
                })?)
            }
            _ => None,
        };
        Ok(RowShape {
            schema,
            converters,
            ts_idx,
            inc_idx,
        })
    }

    /// Turns rows into records, moving the querier's offset. In timestamp mode the last row
    /// is held back until the next chunk (or the end) shows whether a row with the same
    /// timestamp follows (the offset moves only on the last row of a timestamp, PR #1093).
    fn records_of(
        &mut self,
        active: &mut ActiveQuery,
        mut rows: Vec<Vec<SqlValue>>,
        end: bool,
        s: &SourceSettings,
    ) -> Result<Vec<SourceRecord>> {
        let Some(shape) = &active.shape else {
            return Ok(Vec::new());
        };
        if s.mode == Mode::Timestamp {
            if let Some(h) = active.held.take() {
                rows.insert(0, h);
            }
            if !end {
                active.held = rows.pop();
            }
        }
        let q = &mut self.queriers[active.index];
        let row_ts = |row: &[SqlValue]| -> Option<i64> {
            shape.ts_idx.iter().find_map(|i| match row.get(*i) {
                Some(SqlValue::Timestamp(us)) => Some(*us),
                Some(SqlValue::Date(d)) => Some(i64::from(*d) * crate::db::MICROS_PER_DAY),
                _ => None,
            })
        };
        let n = rows.len();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let mut value = Struct::new(shape.schema.clone());
            for (slot, conv) in shape.converters.iter().enumerate() {
                // Text into a string field moves (offsets only read numbers and times).
                if let (Target::String, Some(SqlValue::Text(t))) =
                    (conv.target, rows[i].get_mut(conv.index))
                {
                    value.put_index(slot, Value::String(std::mem::take(t)));
                    continue;
                }
                let v = convert(
                    conv,
                    rows[i].get(conv.index).unwrap_or(&SqlValue::Null),
                    s.granularity,
                    &s.connection.zones.db,
                )
                .map_err(|e| {
                    ConnectError::data(format!(
                        "Cannot convert column {} of {}: {e}",
                        conv.name,
                        describe(q)
                    ))
                })?;
                value.put_index(slot, v);
            }
            let row = &rows[i];
            let source_offset = match s.mode {
                Mode::Bulk => OffsetMap::new(),
                Mode::Incrementing | Mode::TimestampIncrementing => {
                    if let Some(idx) = shape.inc_idx {
                        q.offset.incrementing = Some(incrementing_value(
                            row.get(idx).unwrap_or(&SqlValue::Null),
                            q,
                        )?);
                    }
                    if s.mode == Mode::TimestampIncrementing {
                        if let Some(ts) = row_ts(row) {
                            q.offset.timestamp_micros = Some(ts);
                            q.offset.nanos = None;
                        }
                    }
                    q.offset.to_map()
                }
                Mode::Timestamp => {
                    let ts = row_ts(row);
                    let next_ts = match rows.get(i + 1) {
                        Some(next) => Some(row_ts(next)),
                        None => active.held.as_deref().map(row_ts),
                    };
                    if next_ts != Some(ts) {
                        if let Some(ts) = ts {
                            q.offset.timestamp_micros = Some(ts);
                            q.offset.nanos = None;
                        }
                    }
                    q.offset.to_map()
                }
            };
            out.push(SourceRecord::new(
                q.partition.clone(),
                source_offset,
                q.topic.clone(),
                Some(shape.schema.clone()),
                Value::Struct(value),
            ));
        }
        Ok(out)
    }
}

/// A row as Connect schema and value, the way the task builds it (for the golden tests).
#[cfg(test)]
pub(crate) fn row_to_connect(
    name: Option<&str>,
    cols: &[ResultColumn],
    row: &[SqlValue],
    mapping: NumericMapping,
) -> Result<(SchemaRef, Value)> {
    let (schema, converters) = build_schema(name, cols, mapping, Granularity::ConnectLogical)?;
    let mut value = Struct::new(schema.clone());
    for (slot, conv) in converters.iter().enumerate() {
        let v = convert(
            conv,
            row.get(conv.index).unwrap_or(&SqlValue::Null),
            Granularity::ConnectLogical,
            &Zone::default(),
        )
        .map_err(ConnectError::data)?;
        value.put_index(slot, v);
    }
    Ok((schema, Value::Struct(value)))
}

/// Confluent's JSON (JsonConverter, schemas on) of a row, for the golden tests.
#[cfg(test)]
pub(crate) fn row_json(name: &str, cols: &[ResultColumn], row: &[SqlValue]) -> String {
    use sluice_api::converter::ConverterRole;
    let (schema, value) = row_to_connect(Some(name), cols, row, NumericMapping::None).unwrap();
    let conv = sluice_converters::json::JsonConverter::new(
        &RawConfig::from([("schemas.enable".to_string(), "true".to_string())]),
        ConverterRole::Value,
    )
    .unwrap();
    let bytes = conv
        .from_connect_data(Some(&schema), &value)
        .unwrap()
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

fn describe(q: &Querier) -> String {
    match &q.table {
        Some(t) => format!("table {t}"),
        None => "the query".to_string(),
    }
}

fn find_column(cols: &[ResultColumn], name: &str) -> Option<usize> {
    cols.iter()
        .position(|c| c.name == name)
        .or_else(|| cols.iter().position(|c| c.name.eq_ignore_ascii_case(name)))
}

fn incrementing_value(v: &SqlValue, q: &Querier) -> Result<i64> {
    match v {
        SqlValue::Int(i) => Ok(*i),
        SqlValue::UInt(u) => i64::try_from(*u).map_err(|_| {
            ConnectError::data(format!(
                "Incrementing column value {u} of {} exceeds Long.MAX_VALUE",
                describe(q)
            ))
        }),
        SqlValue::Decimal(d) if !d.contains('.') => d.parse::<i64>().map_err(|_| {
            ConnectError::data(format!(
                "Incrementing column value {d} of {} is not a long",
                describe(q)
            ))
        }),
        SqlValue::Null => Err(ConnectError::data(format!(
            "Null value for incrementing column of type NULL in {}",
            describe(q)
        ))),
        other => Err(ConnectError::data(format!(
            "Incrementing column of {} has the non-integral value {other}",
            describe(q)
        ))),
    }
}

/// How a result column becomes a field value.
#[derive(Clone, Debug)]
struct Converter {
    index: usize,
    name: String,
    target: Target,
}

#[derive(Clone, Copy, Debug)]
enum Target {
    Boolean,
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Decimal(i32),
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
}

const MAX_INTEGER_TYPE_PRECISION: i32 = 18;
const NUMERIC_TYPE_SCALE_LOW: i32 = -84;
const NUMERIC_TYPE_SCALE_HIGH: i32 = 127;

fn integer_target(precision: i32) -> Target {
    if precision > 9 {
        Target::Int64
    } else if precision > 4 {
        Target::Int32
    } else if precision > 2 {
        Target::Int16
    } else {
        Target::Int8
    }
}

/// The value schema of a result set (`GenericDatabaseDialect.addFieldToSchema`).
fn build_schema(
    name: Option<&str>,
    cols: &[ResultColumn],
    mapping: NumericMapping,
    granularity: Granularity,
) -> Result<(SchemaRef, Vec<Converter>)> {
    let mut b = SchemaBuilder::structure();
    if let Some(n) = name {
        b = b.name(n);
    }
    let mut convs = Vec::new();
    for (index, c) in cols.iter().enumerate() {
        let opt = c.nullable;
        let scale = c.scale.unwrap_or(NUMERIC_TYPE_SCALE_HIGH);
        let target = match c.kind {
            ColumnKind::Boolean => Target::Boolean,
            ColumnKind::Bit => Target::Int8,
            ColumnKind::TinyInt => {
                if c.signed {
                    Target::Int8
                } else {
                    Target::Int16
                }
            }
            ColumnKind::SmallInt => {
                if c.signed {
                    Target::Int16
                } else {
                    Target::Int32
                }
            }
            ColumnKind::Integer => {
                if c.signed {
                    Target::Int32
                } else {
                    Target::Int64
                }
            }
            ColumnKind::BigInt => Target::Int64,
            ColumnKind::Real => Target::Float32,
            ColumnKind::Double => Target::Float64,
            ColumnKind::Numeric => {
                let p = c.precision;
                let sc = c.scale.unwrap_or(0);
                match mapping {
                    NumericMapping::PrecisionOnly if sc == 0 && p <= MAX_INTEGER_TYPE_PRECISION => {
                        integer_target(p)
                    }
                    NumericMapping::BestFit
                        if p <= MAX_INTEGER_TYPE_PRECISION
                            && (NUMERIC_TYPE_SCALE_LOW..1).contains(&sc) =>
                    {
                        integer_target(p)
                    }
                    NumericMapping::BestFit if p <= MAX_INTEGER_TYPE_PRECISION && sc > 0 => {
                        Target::Float64
                    }
                    NumericMapping::BestFitEagerDouble
                        if (NUMERIC_TYPE_SCALE_LOW..1).contains(&sc)
                            && p <= MAX_INTEGER_TYPE_PRECISION =>
                    {
                        integer_target(p)
                    }
                    NumericMapping::BestFitEagerDouble if sc > 0 => Target::Float64,
                    _ => Target::Decimal(scale),
                }
            }
            ColumnKind::Decimal => Target::Decimal(scale),
            ColumnKind::Text => Target::String,
            ColumnKind::Binary => Target::Bytes,
            ColumnKind::Date => Target::Date,
            ColumnKind::Time => Target::Time,
            ColumnKind::Timestamp => Target::Timestamp,
            ColumnKind::Unsupported => {
                tracing::warn!("JDBC type of column {} not currently supported", c.name);
                continue;
            }
        };
        let sb = match target {
            Target::Boolean => SchemaBuilder::boolean(),
            Target::Int8 => SchemaBuilder::int8(),
            Target::Int16 => SchemaBuilder::int16(),
            Target::Int32 => SchemaBuilder::int32(),
            Target::Int64 => SchemaBuilder::int64(),
            Target::Float32 => SchemaBuilder::float32(),
            Target::Float64 => SchemaBuilder::float64(),
            Target::Decimal(s) => logical::decimal_builder(s)
                .parameter("connect.decimal.precision", c.precision.to_string()),
            Target::String => SchemaBuilder::string(),
            Target::Bytes => SchemaBuilder::bytes(),
            Target::Date => logical::date_builder(),
            Target::Time => logical::time_builder(),
            Target::Timestamp => match granularity {
                Granularity::ConnectLogical => logical::timestamp_builder(),
                Granularity::MicrosLong | Granularity::NanosLong => SchemaBuilder::int64(),
                _ => SchemaBuilder::string(),
            },
        };
        let sb = if opt { sb.optional() } else { sb };
        b = b.field(c.name.clone(), sb.build())?;
        convs.push(Converter {
            index,
            name: c.name.clone(),
            target,
        });
    }
    Ok((b.build(), convs))
}

/// Rescales a plain decimal string to `scale` digits after the point (padding or
/// truncating), as the column's declared scale requires.
fn rescale(text: &str, scale: i32) -> std::result::Result<Decimal, String> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (ip, fp) = t.split_once('.').unwrap_or((t, ""));
    let mut digits = String::from(if ip.is_empty() { "0" } else { ip });
    if scale >= 0 {
        let s = scale as usize;
        let mut frac: String = fp.chars().take(s).collect();
        while frac.len() < s {
            frac.push('0');
        }
        digits.push_str(&frac);
    } else {
        let cut = digits.len().saturating_sub((-scale) as usize);
        digits.truncate(cut.max(1));
    }
    let text = if neg { format!("-{digits}") } else { digits };
    let d = Decimal::parse(&text).ok_or_else(|| format!("'{text}' is not a decimal"))?;
    Ok(Decimal {
        unscaled: d.unscaled,
        scale,
    })
}

/// A timestamp (µs since the epoch) as `timestamp.granularity` emits it; the ISO forms
/// show the wall-clock time in `db.timezone`.
fn timestamp_value(us: i64, granularity: Granularity, zone: &Zone) -> Value {
    let iso = |us: i64, digits: usize| -> String {
        let wall = zone.instant_to_wall(us);
        let text = SqlValue::Timestamp(wall).to_string().replacen(' ', "T", 1);
        match digits {
            9 => format!("{text}000"),
            _ => text,
        }
    };
    match granularity {
        Granularity::ConnectLogical => Value::Int64(us.div_euclid(1000)),
        Granularity::MicrosLong => Value::Int64(us),
        Granularity::MicrosString => Value::String(us.to_string()),
        Granularity::MicrosIsoDatetimeString => Value::String(iso(us, 6)),
        Granularity::NanosLong => Value::Int64(us.saturating_mul(1000)),
        Granularity::NanosString => Value::String((i128::from(us) * 1000).to_string()),
        Granularity::NanosIsoDatetimeString => Value::String(iso(us, 9)),
    }
}

fn convert(
    c: &Converter,
    v: &SqlValue,
    granularity: Granularity,
    zone: &Zone,
) -> std::result::Result<Value, String> {
    use SqlValue as S;
    if matches!(v, S::Null) {
        return Ok(Value::Null);
    }
    let int = |v: &SqlValue| -> std::result::Result<i64, String> {
        match v {
            S::Int(i) => Ok(*i),
            S::UInt(u) => Ok(*u as i64),
            S::Bool(b) => Ok(i64::from(*b)),
            S::Decimal(d) | S::Text(d) => d
                .split('.')
                .next()
                .unwrap_or("")
                .parse::<i64>()
                .map_err(|e| format!("{d}: {e}")),
            S::F64(f) => Ok(*f as i64),
            S::F32(f) => Ok(*f as i64),
            other => Err(format!("{other} is not a number")),
        }
    };
    let float = |v: &SqlValue| -> std::result::Result<f64, String> {
        match v {
            S::F64(f) => Ok(*f),
            S::F32(f) => Ok(f64::from(*f)),
            S::Int(i) => Ok(*i as f64),
            S::UInt(u) => Ok(*u as f64),
            S::Decimal(d) | S::Text(d) => d.parse::<f64>().map_err(|e| format!("{d}: {e}")),
            other => Err(format!("{other} is not a number")),
        }
    };
    Ok(match c.target {
        Target::Boolean => Value::Boolean(match v {
            S::Bool(b) => *b,
            other => int(other)? != 0,
        }),
        Target::Int8 => Value::Int8(int(v)? as i8),
        Target::Int16 => Value::Int16(int(v)? as i16),
        Target::Int32 => Value::Int32(int(v)? as i32),
        Target::Int64 => Value::Int64(int(v)?),
        Target::Float32 => Value::Float32(float(v)? as f32),
        Target::Float64 => Value::Float64(float(v)?),
        Target::Decimal(scale) => {
            let text = match v {
                S::Decimal(d) | S::Text(d) => d.clone(),
                S::Int(i) => i.to_string(),
                S::UInt(u) => u.to_string(),
                S::F64(f) => f.to_string(),
                S::F32(f) => f.to_string(),
                other => return Err(format!("{other} is not a decimal")),
            };
            Value::Bytes(rescale(&text, scale)?.unscaled)
        }
        Target::String => Value::String(match v {
            S::Text(t) | S::Decimal(t) => t.clone(),
            S::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            other => other.to_string(),
        }),
        Target::Bytes => match v {
            S::Bytes(b) => Value::Bytes(b.clone()),
            S::Text(t) => Value::Bytes(t.as_bytes().to_vec()),
            other => return Err(format!("{other} is not bytes")),
        },
        Target::Date => match v {
            S::Date(d) => Value::Int32(*d),
            S::Timestamp(us) => Value::Int32(us.div_euclid(crate::db::MICROS_PER_DAY) as i32),
            other => return Err(format!("{other} is not a date")),
        },
        Target::Time => match v {
            S::Time(us) => Value::Int32(us.div_euclid(1000) as i32),
            other => return Err(format!("{other} is not a time")),
        },
        Target::Timestamp => match v {
            S::Timestamp(us) => timestamp_value(*us, granularity, zone),
            S::Date(d) => {
                timestamp_value(i64::from(*d) * crate::db::MICROS_PER_DAY, granularity, zone)
            }
            other => return Err(format!("{other} is not a timestamp")),
        },
    })
}

#[async_trait]
impl SourceTask for JdbcSourceTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let s = SourceSettings::parse(&context.configs)?;
        let dialect = s.connection.url.dialect;
        let tables_raw = context
            .configs
            .get(config::TABLES)
            .cloned()
            .unwrap_or_default();
        let tables: Vec<TableId> = split_table_list(&tables_raw)
            .iter()
            .map(|t| TableId::parse(dialect, t))
            .collect::<Result<_>>()?;
        if s.query.is_empty() && tables.is_empty() {
            return Err(ConnectError::config(
                "Invalid configuration: each JdbcSourceTask must have at least one table assigned to it or one query specified",
            ));
        }
        self.settings = Some(s.clone());
        let db = self.connection().await?;
        let now = Instant::now();
        let mut queriers = Vec::new();
        let targets: Vec<Option<TableId>> = if s.query.is_empty() {
            tables.into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        for table in targets {
            let fqn = table.as_ref().map(TableId::fqn);
            let mut inc = None;
            let mapped_inc = match &fqn {
                Some(f) if !s.incrementing_mapping.is_empty() && s.mode.uses_incrementing() => {
                    mapped_columns(
                        config::INCREMENTING_COLUMN_MAPPING,
                        &s.incrementing_mapping,
                        f,
                    )?
                    .into_iter()
                    .next()
                }
                _ => None,
            };
            let timestamp_columns = match &fqn {
                Some(f) if !s.timestamp_mapping.is_empty() && s.mode.uses_timestamp() => {
                    mapped_columns(config::TIMESTAMP_COLUMNS_MAPPING, &s.timestamp_mapping, f)?
                }
                _ => s.timestamp_columns.clone(),
            };
            if s.mode.uses_incrementing() {
                inc = Some(if let Some(c) = mapped_inc {
                    c
                } else if s.incrementing_column.is_empty() {
                    let t = table.as_ref().ok_or_else(|| {
                        ConnectError::config(
                            "incrementing.column.name must be set when a custom query is used",
                        )
                    })?;
                    db.auto_increment_column(t).await?.ok_or_else(|| {
                        ConnectError::config(format!(
                            "Cannot find an auto-increment column in table {t}; set incrementing.column.name"
                        ))
                    })?
                } else {
                    s.incrementing_column.clone()
                });
            }
            if s.mode.uses_timestamp() && timestamp_columns.is_empty() {
                return Err(ConnectError::config(
                    "Invalid value  for configuration timestamp.column.name: timestamp columns must be set in timestamp modes",
                ));
            }
            if let (true, Some(t)) = (s.validate_non_null, &table) {
                let cols = db.describe_table(t).await?.unwrap_or_default();
                let nullable = |name: &str| {
                    cols.iter()
                        .find(|c| c.name == name || c.name.eq_ignore_ascii_case(name))
                        .is_none_or(|c| c.nullable)
                };
                if let Some(i) = &inc {
                    if nullable(i) {
                        return Err(ConnectError::config(format!(
                            "Cannot make incremental queries using incrementing column {i} on {t} because this column is nullable."
                        )));
                    }
                }
                if s.mode.uses_timestamp() && timestamp_columns.iter().all(|c| nullable(c)) {
                    return Err(ConnectError::config(format!(
                        "Cannot make incremental queries using timestamp columns {} on {t} because all of these columns are nullable.",
                        timestamp_columns.join(",")
                    )));
                }
            }
            let (partition, topic, base, schema_name) = match &table {
                Some(t) => (
                    if s.mode == Mode::Bulk {
                        offsets::table_partition_v0(&t.table)
                    } else {
                        offsets::table_partition(&t.fqn())
                    },
                    format!("{}{}", s.topic_prefix, t.table),
                    format!("SELECT * FROM {}", t.quoted(dialect, s.quote)),
                    Some(t.table.clone()),
                ),
                None => (
                    offsets::query_partition(),
                    s.topic_prefix.clone(),
                    s.query.clone(),
                    None,
                ),
            };
            let mut offset = Offset::default();
            if s.mode != Mode::Bulk {
                let stored = context.offsets.offset(&partition).or_else(|| {
                    table.as_ref().and_then(|t| {
                        context
                            .offsets
                            .offset(&offsets::table_partition_v0(&t.table))
                    })
                });
                match stored {
                    Some(map) => offset = Offset::from_map(&map),
                    None => {
                        if let Some(initial) = s.timestamp_initial {
                            let ms = if initial == -1 {
                                db.current_time_micros().await? / 1000
                            } else {
                                initial
                            };
                            offset.timestamp_micros = Some(ms * 1000);
                        }
                    }
                }
                tracing::info!("JDBC source {}: resuming from {offset:?}", topic);
            }
            queriers.push(Querier {
                table,
                base,
                topic: Topic::from(topic.as_str()),
                partition: Arc::new(partition),
                schema_name,
                incrementing_column: inc,
                timestamp_columns,
                failures: 0,
                offset,
                next_due: now,
            });
        }
        self.queriers = queriers;
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let interval = self.settings()?.poll_interval;
        loop {
            if let Some(index) = self.active.as_ref().map(|a| a.index) {
                match self.next_records().await {
                    Ok(Some(records)) => return Ok(records),
                    Ok(None) => {
                        self.queriers[index].failures = 0;
                        return Ok(Vec::new());
                    }
                    Err(e) => return self.query_failed(index, e).await,
                }
            }
            let Some((index, due)) = self
                .queriers
                .iter()
                .enumerate()
                .min_by_key(|(_, q)| q.next_due)
                .map(|(i, q)| (i, q.next_due))
            else {
                tokio::time::sleep(interval).await;
                return Ok(Vec::new());
            };
            let now = Instant::now();
            if due > now {
                // Wake up at least once a second so the runtime can commit and stop.
                tokio::time::sleep((due - now).min(Duration::from_secs(1))).await;
                if Instant::now() < due {
                    return Ok(Vec::new());
                }
            }
            if let Err(e) = self.start_query(index).await {
                self.queriers[index].next_due = Instant::now() + interval;
                return self.query_failed(index, e).await;
            }
        }
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(a) = self.active.take() {
            drop(a.stream.rx);
            if let Ok(Some(db)) = a.stream.done.await {
                db.close().await;
            }
        }
        if let Some(db) = self.db.take() {
            db.close().await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_like_kafka() {
        let items: Vec<u32> = (1..=5).collect();
        assert_eq!(
            group_partitions(&items, 3),
            vec![vec![1, 2], vec![3, 4], vec![5]]
        );
        assert_eq!(group_partitions(&items, 1), vec![items.clone()]);
    }

    #[test]
    fn numeric_mapping() {
        let col = |kind, p, s: Option<i32>| ResultColumn {
            name: "n".into(),
            kind,
            nullable: false,
            precision: p,
            scale: s,
            signed: true,
        };
        let schema_of = |c: ResultColumn, m| {
            let (schema, _) =
                build_schema(Some("t"), &[c], m, Granularity::ConnectLogical).unwrap();
            schema.fields[0].schema.clone()
        };
        let d = schema_of(col(ColumnKind::Numeric, 10, Some(2)), NumericMapping::None);
        assert_eq!(d.name.as_deref(), Some(logical::DECIMAL_NAME));
        assert_eq!(
            d.parameters,
            vec![
                ("scale".to_string(), "2".to_string()),
                ("connect.decimal.precision".to_string(), "10".to_string())
            ]
        );
        let i = schema_of(
            col(ColumnKind::Numeric, 5, Some(0)),
            NumericMapping::PrecisionOnly,
        );
        assert_eq!(i.schema_type, sluice_api::data::SchemaType::Int32);
        let f = schema_of(
            col(ColumnKind::Numeric, 10, Some(2)),
            NumericMapping::BestFit,
        );
        assert_eq!(f.schema_type, sluice_api::data::SchemaType::Float64);
        let e = schema_of(
            col(ColumnKind::Numeric, 30, Some(2)),
            NumericMapping::BestFitEagerDouble,
        );
        assert_eq!(e.schema_type, sluice_api::data::SchemaType::Float64);
        let dd = schema_of(
            col(ColumnKind::Decimal, 10, Some(0)),
            NumericMapping::BestFit,
        );
        assert_eq!(dd.name.as_deref(), Some(logical::DECIMAL_NAME));
        // Unconstrained PG numeric: scale 127.
        let u = schema_of(col(ColumnKind::Numeric, 0, None), NumericMapping::None);
        assert_eq!(u.parameter("scale"), Some("127"));
    }

    #[test]
    fn column_mappings() {
        let m = parse_mappings(
            config::TIMESTAMP_COLUMNS_MAPPING,
            vec![
                "public\\.orders.*:[updated_at|created_at]".into(),
                "shop\\..*:[changed]".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            mapped_columns("k", &m, "public.orders_2026").unwrap(),
            ["updated_at", "created_at"]
        );
        assert_eq!(mapped_columns("k", &m, "shop.items").unwrap(), ["changed"]);
        let e = mapped_columns("k", &m, "other.t").unwrap_err();
        assert!(e.to_string().contains("matches no entry"), "{e}");
        let inc =
            parse_mappings(config::INCREMENTING_COLUMN_MAPPING, vec![".*:id".into()]).unwrap();
        assert_eq!(mapped_columns("k", &inc, "a.b").unwrap(), ["id"]);
        assert!(parse_mappings("k", vec!["no-colon".into()]).is_err());
        assert!(parse_mappings("k", vec!["(:x".into()]).is_err());
    }

    #[test]
    fn timestamp_granularities() {
        // 2026-07-01T16:00:00.123456Z.
        let us = 1_782_921_600_123_456i64;
        let utc = Zone::default();
        let ny = Zone::parse("America/New_York").unwrap();
        let v = |g| timestamp_value(us, g, &utc);
        assert_eq!(
            v(Granularity::ConnectLogical),
            Value::Int64(1_782_921_600_123)
        );
        assert_eq!(v(Granularity::MicrosLong), Value::Int64(us));
        assert_eq!(v(Granularity::MicrosString), Value::String(us.to_string()));
        assert_eq!(v(Granularity::NanosLong), Value::Int64(us * 1000));
        assert_eq!(
            v(Granularity::NanosString),
            Value::String(format!("{us}000"))
        );
        assert_eq!(
            v(Granularity::MicrosIsoDatetimeString),
            Value::String("2026-07-01T16:00:00.123456".into())
        );
        assert_eq!(
            timestamp_value(us, Granularity::NanosIsoDatetimeString, &ny),
            Value::String("2026-07-01T12:00:00.123456000".into())
        );
        let col = ResultColumn {
            name: "ts".into(),
            kind: ColumnKind::Timestamp,
            nullable: true,
            precision: 0,
            scale: None,
            signed: true,
        };
        let (schema, _) =
            build_schema(None, &[col], NumericMapping::None, Granularity::NanosString).unwrap();
        assert_eq!(
            schema.fields[0].schema.schema_type,
            sluice_api::data::SchemaType::String
        );
        assert!(schema.fields[0].schema.optional);
    }

    #[test]
    fn rescales() {
        let d = rescale("12.5", 2).unwrap();
        assert_eq!(
            Decimal::from_bytes(&d.unscaled, 2).unscaled_string(),
            "1250"
        );
        let d = rescale("-0.125", 2).unwrap();
        assert_eq!(Decimal::from_bytes(&d.unscaled, 2).unscaled_string(), "-12");
    }
}
