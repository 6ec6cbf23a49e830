//! `io.debezium.connector.postgresql.PostgresConnector` and its task.
//!
//! Start-up checks the server (wal_level, REPLICATION), sets up the publication and the slot,
//! and decides on a snapshot from `snapshot.mode`, the stored offset and the slot. A slot
//! created now exports its snapshot and the snapshot reads under it, so streaming continues
//! exactly where the snapshot ends. Streaming reads the slot on a task of its own (see
//! [`replication::Streaming::run`]); `poll` turns its messages into Debezium's events. The
//! slot's flush LSN moves in `commit`, to the offset the runtime committed.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sluice_api::config::{ConfigValue, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SourceTask, SourceTaskContext,
    TaskFactory,
};
use sluice_api::data::{SchemaRef, Struct, Value};
use sluice_api::record::{ConnectRecord, OffsetMap, SourceRecord, Topic};
use sluice_api::{async_trait, ConnectError, ErrorKind, Result};
use tokio::sync::mpsc;

use crate::config::{self, AutocreateMode, Settings, SnapshotMode};
use crate::offsets::{self, PgOffset};
use crate::pgoutput::{Message, TupleValue};
use crate::replication::{self, quote_ident, quote_literal, Event, Feedback, ReplConn, ReplError};
use crate::schema::{self, CatalogColumn, TableSchema};
use crate::types::{TypeRegistry, TypeRow};

pub const CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";
pub const TASK_CLASS: &str = "io.debezium.connector.postgresql.PostgresConnectorTask";

pub fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: CLASS,
        task_class: TASK_CLASS,
        kind: ConnectorKind::Source,
        version: crate::VERSION,
        config_def: config::config_def,
        new_connector: || Box::new(PostgresConnector::default()),
        new_task: TaskFactory::Source(|| Box::new(PostgresConnectorTask::default())),
        shares_thread: false,
    }
}

#[derive(Default)]
pub struct PostgresConnector {
    props: RawConfig,
}

#[async_trait]
impl Connector for PostgresConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        Settings::parse(config)?;
        self.props = config.clone();
        Ok(())
    }

    /// One task, whatever `tasks.max` says: a slot has one reader (Debezium does the same).
    async fn task_configs(&mut self, _max_tasks: usize) -> Result<Vec<RawConfig>> {
        Ok(vec![self.props.clone()])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }

    fn validate(&self, config: &RawConfig, report: &mut Vec<ConfigValue>) {
        for (key, msg) in config::extra_checks(config) {
            match report.iter_mut().find(|c| c.name == key) {
                Some(cv) => cv.errors.push(msg),
                None => report.push(ConfigValue {
                    name: key.to_string(),
                    value: config.get(key).cloned(),
                    errors: vec![msg],
                    recommended_values: Vec::new(),
                    visible: true,
                }),
            }
        }
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn sql_err(what: &str, e: tokio_postgres::Error) -> ConnectError {
    let text = match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    let closed = e.is_closed() || e.as_db_error().is_none();
    let msg = format!("{what}: {text}");
    if closed {
        ConnectError::retriable(msg)
    } else {
        ConnectError::fatal(msg)
    }
}

/// Opens an ordinary SQL connection with the session settings the text decoding expects.
async fn sql_connect(s: &Settings) -> Result<tokio_postgres::Client> {
    let c = &s.conn;
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&c.host)
        .port(c.port)
        .user(&c.user)
        .dbname(&c.dbname)
        .application_name("sluice-postgres-cdc")
        .connect_timeout(Duration::from_secs(30))
        .options("-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c lc_monetary=C -c extra_float_digits=3");
    if let Some(p) = &c.password {
        cfg.password(p);
    }
    let what = format!(
        "Could not connect to PostgreSQL at {}:{} as {}",
        c.host, c.port, c.user
    );
    let client = if c.sslmode == config::SslMode::Disable {
        let (client, conn) = cfg
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| sql_err(&what, e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    } else {
        cfg.ssl_mode(match c.sslmode {
            config::SslMode::Allow | config::SslMode::Prefer => {
                tokio_postgres::config::SslMode::Prefer
            }
            _ => tokio_postgres::config::SslMode::Require,
        });
        let connector = replication::tls_connector(c)
            .map_err(|e| ConnectError::config(format!("database.ssl* settings: {e}")))?;
        let mut tls = postgres_openssl::MakeTlsConnector::new(connector);
        let verify_host = c.sslmode == config::SslMode::VerifyFull;
        tls.set_callback(move |cfg, _| {
            cfg.set_verify_hostname(verify_host);
            Ok(())
        });
        let (client, conn) = cfg.connect(tls).await.map_err(|e| sql_err(&what, e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    };
    for stmt in &c.initial_statements {
        client
            .batch_execute(stmt)
            .await
            .map_err(|e| sql_err(&format!("database.initial.statements: {stmt}"), e))?;
    }
    Ok(client)
}

/// Runs a simple query and returns its rows as text.
async fn rows(client: &tokio_postgres::Client, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    let msgs = client
        .simple_query(sql)
        .await
        .map_err(|e| sql_err(&format!("Query failed: {sql}"), e))?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect())
}

fn cell(row: &[Option<String>], i: usize) -> Option<&str> {
    row.get(i).and_then(|c| c.as_deref())
}

async fn load_types(client: &tokio_postgres::Client) -> Result<TypeRegistry> {
    let mut reg = TypeRegistry::default();
    for r in rows(
        client,
        "SELECT oid, typname, typtype, typelem, typbasetype, typtypmod, typcategory FROM pg_type",
    )
    .await?
    {
        let oid: u32 = cell(&r, 0).and_then(|v| v.parse().ok()).unwrap_or(0);
        let ch = |i| cell(&r, i).and_then(|v| v.chars().next()).unwrap_or(' ');
        reg.types.insert(
            oid,
            TypeRow {
                name: cell(&r, 1).unwrap_or_default().to_string(),
                typtype: ch(2),
                elem: cell(&r, 3).and_then(|v| v.parse().ok()).unwrap_or(0),
                base: cell(&r, 4).and_then(|v| v.parse().ok()).unwrap_or(0),
                typmod: cell(&r, 5).and_then(|v| v.parse().ok()).unwrap_or(-1),
                category: ch(6),
            },
        );
    }
    for r in rows(
        client,
        "SELECT enumtypid, enumlabel FROM pg_enum ORDER BY enumtypid, enumsortorder",
    )
    .await?
    {
        if let (Some(oid), Some(label)) = (cell(&r, 0).and_then(|v| v.parse().ok()), cell(&r, 1)) {
            reg.enums.entry(oid).or_default().push(label.to_string());
        }
    }
    Ok(reg)
}

/// The columns of table `oid` (not dropped, not generated), in order, with primary key
/// positions.
async fn catalog_columns(client: &tokio_postgres::Client, oid: u32) -> Result<Vec<CatalogColumn>> {
    let sql = format!(
        "SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull, \
         (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary) \
         FROM pg_attribute a WHERE a.attrelid = {oid} AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum"
    );
    Ok(rows(client, &sql)
        .await?
        .into_iter()
        .map(|r| CatalogColumn {
            name: cell(&r, 0).unwrap_or_default().to_string(),
            type_oid: cell(&r, 1).and_then(|v| v.parse().ok()).unwrap_or(0),
            type_modifier: cell(&r, 2).and_then(|v| v.parse().ok()).unwrap_or(-1),
            not_null: cell(&r, 3) == Some("t"),
            pk_position: cell(&r, 4).and_then(|v| v.parse().ok()),
        })
        .collect())
}

/// `source.snapshot` markers (`SnapshotRecord`).
fn snapshot_marker(
    first: bool,
    last: bool,
    first_in_table: bool,
    last_in_table: bool,
) -> &'static str {
    if last {
        "last"
    } else if first {
        "first"
    } else if last_in_table {
        "last_in_data_collection"
    } else if first_in_table {
        "first_in_data_collection"
    } else {
        "true"
    }
}

struct PendingRow {
    table: Arc<TableSchema>,
    tuple: Vec<TupleValue>,
    first: bool,
    first_in_table: bool,
    last_in_table: bool,
}

struct Snapshot {
    client: tokio_postgres::Client,
    tables: VecDeque<Arc<TableSchema>>,
    current: Option<Arc<TableSchema>>,
    current_has_rows: bool,
    pending: Option<PendingRow>,
    emitted: bool,
    lsn: u64,
    tx_id: i64,
    cursor: usize,
}

/// The transaction being streamed.
struct Tx {
    xid: u32,
    final_lsn: u64,
    commit_ts: i64,
    /// Skip its changes up to this LSN (resuming in the middle of it); u64::MAX: all.
    skip_to: Option<u64>,
    events: i64,
    per_table: Vec<(String, i64)>,
    begun: bool,
}

enum Phase {
    Snapshot(Box<Snapshot>),
    Streaming,
    /// `initial_only` after its snapshot: nothing more to do.
    Idle,
}

/// Where to resume after a restart or reconnect: Debezium's `lsn_commit`/`lsn_proc` and
/// whether the position was inside a transaction.
#[derive(Clone, Copy, Debug)]
struct Resume {
    last_commit: u64,
    proc_lsn: u64,
    in_tx: bool,
}

impl Resume {
    fn from_offset(o: &PgOffset) -> Option<Resume> {
        if o.snapshot.is_some() {
            return None;
        }
        let proc_lsn = o.lsn_proc.or(o.lsn)?;
        Some(Resume {
            last_commit: o
                .lsn_commit
                .and_then(|l| u64::try_from(l).ok())
                .unwrap_or(0),
            proc_lsn: u64::try_from(proc_lsn).unwrap_or(0),
            in_tx: matches!(
                o.message_type,
                Some("INSERT" | "UPDATE" | "DELETE" | "TRUNCATE")
            ),
        })
    }
}

#[derive(Default)]
pub struct PostgresConnectorTask {
    s: Option<Arc<Settings>>,
    ctx: Option<SourceTaskContext>,
    partition: Arc<OffsetMap>,
    source_schema: Option<SchemaRef>,
    sql: Option<tokio_postgres::Client>,
    registry: TypeRegistry,
    relations: HashMap<u32, Option<Arc<TableSchema>>>,
    phase: Option<Phase>,
    /// A replication connection that created the slot, kept for streaming.
    repl: Option<ReplConn>,
    events: Option<mpsc::Receiver<Event>>,
    reader: Option<tokio::task::JoinHandle<()>>,
    feedback: Arc<Feedback>,
    tx: Option<Tx>,
    /// The last position emitted (offset of the last record).
    last: PgOffset,
    /// End LSN of the last commit seen.
    last_commit_end: Option<u64>,
    resume: Option<Resume>,
    /// The server's WAL end from the latest keepalive, when no transaction was open.
    idle_wal_end: Option<u64>,
    last_heartbeat: Option<Instant>,
    total_order: i64,
    failures: i32,
    topics: HashMap<String, Topic>,
    /// A stream failure seen while records were waiting to be returned.
    pending_error: Option<ConnectError>,
    /// `__debezium.newkey` / `__debezium.oldkey` for the next change record (primary key
    /// changes).
    key_header: Option<(&'static str, Value)>,
}

impl PostgresConnectorTask {
    fn settings(&self) -> Result<Arc<Settings>> {
        self.s
            .clone()
            .ok_or_else(|| ConnectError::illegal_state("the task is not started"))
    }

    async fn sql(&mut self) -> Result<&tokio_postgres::Client> {
        let s = self.settings()?;
        if self.sql.as_ref().is_none_or(|c| c.is_closed()) {
            self.sql = Some(sql_connect(&s).await?);
        }
        self.sql
            .as_ref()
            .ok_or_else(|| ConnectError::illegal_state("no SQL connection"))
    }

    fn topic(&mut self, name: &str) -> Topic {
        self.topics
            .entry(name.to_string())
            .or_insert_with(|| Arc::from(name))
            .clone()
    }

    /// Checks the server, sets up the publication and slot, and chooses the first phase.
    async fn prepare(&mut self) -> Result<()> {
        let s = self.settings()?;
        let client = self.sql().await?;
        let wal_level = rows(client, "SHOW wal_level").await?;
        let wal_level = wal_level
            .first()
            .and_then(|r| cell(r, 0))
            .unwrap_or_default()
            .to_string();
        if wal_level != "logical" {
            return Err(ConnectError::fatal(format!(
                "PostgreSQL at {}:{} runs with wal_level={wal_level}; logical decoding needs wal_level=logical. Set wal_level = logical in postgresql.conf (ALTER SYSTEM SET wal_level = logical) and restart the server",
                s.conn.host, s.conn.port
            )));
        }
        let role = rows(
            client,
            "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user",
        )
        .await?;
        if role.first().and_then(|r| cell(r, 0)) != Some("t") {
            return Err(ConnectError::fatal(format!(
                "User {} has no REPLICATION privilege, which logical replication needs. Grant it: ALTER ROLE {} WITH REPLICATION (or use a superuser)",
                s.conn.user,
                quote_ident(&s.conn.user)
            )));
        }
        self.registry = load_types(client).await?;
        let tables = self.captured_tables().await?;
        self.ensure_publication(&tables).await?;

        let stored = self
            .ctx
            .as_ref()
            .and_then(|c| c.offsets.offset(&self.partition))
            .map(|m| PgOffset::from_map(&m));
        let slot = self.slot_state().await?;
        let slot_exists = slot.is_some();
        if let Some(plugin) = slot.as_ref().map(|(p, _)| p.as_str()) {
            if plugin != "pgoutput" {
                return Err(ConnectError::fatal(format!(
                    "Replication slot \"{}\" uses the {plugin} plugin; Sluice reads pgoutput only. Drop the slot (SELECT pg_drop_replication_slot('{}')) or set another slot.name",
                    s.slot_name, s.slot_name
                )));
            }
        }
        let has_position = stored
            .as_ref()
            .is_some_and(|o| o.snapshot.is_none() && (o.lsn.is_some() || o.lsn_proc.is_some()));
        let incomplete = stored.as_ref().is_some_and(PgOffset::snapshot_incomplete);
        if !slot_exists
            && has_position
            && !matches!(
                s.snapshot_mode,
                SnapshotMode::WhenNeeded | SnapshotMode::Always
            )
        {
            return Err(ConnectError::fatal(format!(
                "Replication slot \"{}\" does not exist, but the connector has a stored position (lsn {}): the slot was dropped and the changes since are lost to this connector. Set snapshot.mode=when_needed to take a new snapshot, or delete the connector's offsets and restart it",
                s.slot_name,
                stored.as_ref().and_then(|o| o.lsn_proc.or(o.lsn)).unwrap_or(0)
            )));
        }
        let snapshot = match s.snapshot_mode {
            SnapshotMode::NoData => false,
            SnapshotMode::Always => true,
            SnapshotMode::Initial | SnapshotMode::InitialOnly => stored.is_none() || incomplete,
            SnapshotMode::WhenNeeded => stored.is_none() || incomplete || !slot_exists,
        };
        let done_only =
            s.snapshot_mode == SnapshotMode::InitialOnly && stored.is_some() && !incomplete;
        if let Some(o) = &stored {
            self.last = o.clone();
            self.resume = if snapshot {
                None
            } else {
                Resume::from_offset(o)
            };
        }
        if done_only {
            self.phase = Some(Phase::Idle);
            return Ok(());
        }
        self.wait_slot_free(slot_exists).await?;
        let mut exported = None;
        let mut consistent = None;
        if !slot_exists {
            let mut conn = ReplConn::connect(&s.conn).await.map_err(|e| {
                replication::explain(&e, &s.slot_name, &s.publication_name, &s.conn.user)
            })?;
            let (lsn, name) = conn.create_slot(&s.slot_name).await.map_err(|e| {
                replication::explain(&e, &s.slot_name, &s.publication_name, &s.conn.user)
            })?;
            tracing::info!(slot = %s.slot_name, lsn = %crate::pgoutput::lsn_to_string(lsn), "Created replication slot");
            exported = Some(name);
            consistent = Some(lsn);
            self.repl = Some(conn);
        }
        if snapshot {
            let lsn = match consistent {
                Some(l) => l,
                None => self.current_lsn().await?,
            };
            self.phase = Some(Phase::Snapshot(Box::new(
                self.begin_snapshot(tables, exported.as_deref(), lsn)
                    .await?,
            )));
        } else {
            self.start_streaming().await?;
            self.phase = Some(Phase::Streaming);
        }
        Ok(())
    }

    async fn current_lsn(&mut self) -> Result<u64> {
        let client = self.sql().await?;
        let r = rows(client, "SELECT pg_current_wal_lsn()").await?;
        Ok(r.first()
            .and_then(|r| cell(r, 0))
            .and_then(crate::pgoutput::parse_lsn)
            .unwrap_or(0))
    }

    /// (plugin, active pid) of the slot, if it exists.
    async fn slot_state(&mut self) -> Result<Option<(String, Option<String>)>> {
        let s = self.settings()?;
        let client = self.sql().await?;
        let r = rows(
            client,
            &format!(
                "SELECT plugin, active_pid FROM pg_replication_slots WHERE slot_name = {} AND database = current_database()",
                quote_literal(&s.slot_name)
            ),
        )
        .await?;
        Ok(r.first().map(|row| {
            (
                cell(row, 0).unwrap_or_default().to_string(),
                cell(row, 1).map(str::to_string),
            )
        }))
    }

    /// Waits while another client holds the slot (`slot.max.retries` × `slot.retry.delay.ms`).
    async fn wait_slot_free(&mut self, exists: bool) -> Result<()> {
        if !exists {
            return Ok(());
        }
        let s = self.settings()?;
        let mut attempt = 0;
        loop {
            let Some((_, Some(pid))) = self.slot_state().await? else {
                return Ok(());
            };
            attempt += 1;
            if attempt > s.slot_max_retries {
                return Err(ConnectError::fatal(format!(
                    "Replication slot \"{}\" is active for another client (PID {pid}) and stayed so for {} attempts {} ms apart. Stop the other consumer (SELECT pg_terminate_backend({pid})) or give this connector its own slot.name",
                    s.slot_name,
                    s.slot_max_retries,
                    s.slot_retry_delay.as_millis()
                )));
            }
            tracing::warn!(slot = %s.slot_name, pid = %pid, attempt, "Replication slot is active for another client; waiting");
            tokio::time::sleep(s.slot_retry_delay).await;
        }
    }

    /// The captured tables: (oid, schema, table).
    async fn captured_tables(&mut self) -> Result<Vec<(u32, String, String)>> {
        let s = self.settings()?;
        let client = self.sql().await?;
        let r = rows(
            client,
            "SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY n.nspname, c.relname",
        )
        .await?;
        Ok(r.into_iter()
            .filter_map(|row| {
                let oid = cell(&row, 0)?.parse().ok()?;
                let schema = cell(&row, 1)?.to_string();
                let table = cell(&row, 2)?.to_string();
                s.table_included(&schema, &table)
                    .then_some((oid, schema, table))
            })
            .collect())
    }

    async fn ensure_publication(&mut self, tables: &[(u32, String, String)]) -> Result<()> {
        let s = self.settings()?;
        let name = s.publication_name.clone();
        let client = self.sql().await?;
        let exists = !rows(
            client,
            &format!(
                "SELECT 1 FROM pg_publication WHERE pubname = {}",
                quote_literal(&name)
            ),
        )
        .await?
        .is_empty();
        let list = || {
            tables
                .iter()
                .map(|(_, sc, t)| format!("{}.{}", quote_ident(sc), quote_ident(t)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let stmt = match (exists, s.autocreate) {
            (true, AutocreateMode::Filtered) if !tables.is_empty() => {
                Some(format!("ALTER PUBLICATION {} SET TABLE {}", quote_ident(&name), list()))
            }
            (true, _) => None,
            (false, AutocreateMode::Disabled) => {
                return Err(ConnectError::fatal(format!(
                    "Publication \"{name}\" does not exist and publication.autocreate.mode=disabled. Create it (CREATE PUBLICATION {} FOR TABLE ...) or set publication.autocreate.mode=all_tables or filtered",
                    quote_ident(&name)
                )))
            }
            (false, AutocreateMode::AllTables) => {
                Some(format!("CREATE PUBLICATION {} FOR ALL TABLES", quote_ident(&name)))
            }
            (false, AutocreateMode::Filtered) if tables.is_empty() => {
                return Err(ConnectError::config(format!(
                    "publication.autocreate.mode=filtered found no table matching the include/exclude lists to create publication \"{name}\" for"
                )))
            }
            (false, AutocreateMode::Filtered) => {
                Some(format!("CREATE PUBLICATION {} FOR TABLE {}", quote_ident(&name), list()))
            }
            (false, AutocreateMode::NoTables) => {
                Some(format!("CREATE PUBLICATION {}", quote_ident(&name)))
            }
        };
        if let Some(stmt) = stmt {
            client.batch_execute(&stmt).await.map_err(|e| {
                let mut err = sql_err(&format!("Could not set up publication \"{name}\" ({stmt})"), e);
                if err.kind() == ErrorKind::Fatal && s.autocreate == AutocreateMode::AllTables {
                    err = ConnectError::fatal(format!(
                        "{}. CREATE PUBLICATION ... FOR ALL TABLES needs a superuser: create the publication yourself or use publication.autocreate.mode=filtered",
                        err.message()
                    ));
                }
                err
            })?;
            tracing::info!(publication = %name, "Publication set up");
        }
        Ok(())
    }

    async fn table_schema(
        &mut self,
        oid: u32,
        schema_name: &str,
        table_name: &str,
        columns_in_order: Option<&[crate::pgoutput::RelationColumn]>,
    ) -> Result<Arc<TableSchema>> {
        let s = self.settings()?;
        let client = self.sql().await?;
        let mut catalog = catalog_columns(client, oid).await?;
        if let Some(rel) = columns_in_order {
            // The relation message gives the tuple's column order and types; the catalog adds
            // nullability and the primary key.
            catalog = rel
                .iter()
                .map(|c| {
                    let cat = catalog.iter().find(|x| x.name == c.name);
                    CatalogColumn {
                        name: c.name.clone(),
                        type_oid: c.type_oid,
                        type_modifier: c.type_modifier,
                        not_null: cat.is_some_and(|x| x.not_null),
                        pk_position: cat.and_then(|x| x.pk_position),
                    }
                })
                .collect();
        }
        if catalog.iter().any(|c| !self.registry.knows(c.type_oid)) {
            let client = self.sql().await?;
            self.registry = load_types(client).await?;
        }
        let source = self
            .source_schema
            .get_or_insert_with(schema::source_schema)
            .clone();
        Ok(Arc::new(TableSchema::build(
            &s,
            &self.registry,
            &source,
            schema_name,
            table_name,
            &catalog,
        )?))
    }

    async fn begin_snapshot(
        &mut self,
        tables: Vec<(u32, String, String)>,
        exported: Option<&str>,
        lsn: u64,
    ) -> Result<Snapshot> {
        let s = self.settings()?;
        let mut schemas = VecDeque::new();
        for (oid, sc, t) in &tables {
            schemas.push_back(self.table_schema(*oid, sc, t, None).await?);
        }
        let client = sql_connect(&s).await?;
        // `snapshot.isolation.mode`, as Debezium's snapshotters open the transaction: under
        // the slot's exported snapshot at REPEATABLE READ (PostgreSQL imports snapshots only
        // at REPEATABLE READ or SERIALIZABLE); without one, at the level asked for
        // (SERIALIZABLE READ ONLY DEFERRABLE by default).
        let weak = matches!(
            s.snapshot_isolation.as_str(),
            "read_committed" | "read_uncommitted"
        );
        let import = exported.filter(|_| !weak);
        let begin = match (import, s.snapshot_isolation.as_str()) {
            (Some(_), _) | (None, "repeatable_read") => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            (None, "read_committed") => "BEGIN ISOLATION LEVEL READ COMMITTED",
            (None, "read_uncommitted") => "BEGIN ISOLATION LEVEL READ UNCOMMITTED",
            (None, _) => "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE",
        };
        client
            .batch_execute(begin)
            .await
            .map_err(|e| sql_err("Could not start the snapshot transaction", e))?;
        if let Some(name) = import {
            client
                .batch_execute(&format!("SET TRANSACTION SNAPSHOT {}", quote_literal(name)))
                .await
                .map_err(|e| sql_err("Could not use the slot's exported snapshot", e))?;
        } else if exported.is_some() {
            tracing::warn!(slot = %s.slot_name, mode = %s.snapshot_isolation, "snapshot.isolation.mode is below repeatable_read: the snapshot reads a fresh view instead of the slot's exported snapshot, and changes committed around the slot's creation may appear twice (at least once)");
        } else {
            tracing::warn!(slot = %s.slot_name, "The slot exists already: the snapshot reads a fresh view, and changes committed between the slot's position and it may appear twice (at least once)");
        }
        let tx_id = rows(&client, "SELECT txid_current()")
            .await?
            .first()
            .and_then(|r| cell(r, 0))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        tracing::info!(tables = schemas.len(), "Snapshot started");
        Ok(Snapshot {
            client,
            tables: schemas,
            current: None,
            current_has_rows: false,
            pending: None,
            emitted: false,
            lsn,
            tx_id,
            cursor: 0,
        })
    }

    fn snapshot_record(
        &mut self,
        snap: &Snapshot,
        row: PendingRow,
        last: bool,
    ) -> Result<SourceRecord> {
        let s = self.settings()?;
        let marker = snapshot_marker(row.first, last, row.first_in_table, row.last_in_table);
        let now = now_micros();
        let t = &row.table;
        let source = self.source_struct(
            &t.schema_name,
            &t.table_name,
            now,
            Some(marker),
            None,
            Some(snap.tx_id),
            Some(snap.lsn),
        )?;
        let after = t.row(&row.tuple, &s)?;
        let key = t.key(&row.tuple, &s)?;
        let value = envelope(t, Value::Null, after, source, Value::Null, "r", now);
        let offset = PgOffset {
            ts_usec: Some(now),
            tx_id: Some(snap.tx_id),
            lsn: Some(snap.lsn as i64),
            snapshot: Some("INITIAL".into()),
            last_snapshot_record: Some(last),
            snapshot_completed: Some(false),
            ..PgOffset::default()
        };
        self.last = offset.clone();
        Ok(self.record(
            t.topic.clone(),
            t.key_schema.clone(),
            key,
            Some(t.envelope.clone()),
            value,
            offset.to_map(),
        ))
    }

    async fn poll_snapshot(
        &mut self,
        mut snap: Box<Snapshot>,
    ) -> Result<(Vec<SourceRecord>, Option<Box<Snapshot>>)> {
        let s = self.settings()?;
        let mut out = Vec::new();
        while out.len() < s.max_batch_size {
            let Some(table) = snap.current.clone() else {
                let Some(next) = snap.tables.pop_front() else {
                    // Done: the row held back is the last one.
                    if let Some(p) = snap.pending.take() {
                        out.push(self.snapshot_record(&snap, p, true)?);
                    }
                    snap.client
                        .batch_execute("COMMIT")
                        .await
                        .map_err(|e| sql_err("Could not end the snapshot transaction", e))?;
                    tracing::info!("Snapshot completed");
                    return Ok((out, None));
                };
                snap.cursor += 1;
                let cols: Vec<String> = next.columns.iter().map(|c| quote_ident(&c.name)).collect();
                let sql = format!(
                    "DECLARE sluice_snap_{} NO SCROLL CURSOR FOR SELECT {} FROM {}.{}",
                    snap.cursor,
                    if cols.is_empty() {
                        "NULL".to_string()
                    } else {
                        cols.join(", ")
                    },
                    quote_ident(&next.schema_name),
                    quote_ident(&next.table_name)
                );
                snap.client.batch_execute(&sql).await.map_err(|e| {
                    sql_err(
                        &format!(
                            "Snapshot of {}.{} failed",
                            next.schema_name, next.table_name
                        ),
                        e,
                    )
                })?;
                snap.current = Some(next);
                snap.current_has_rows = false;
                continue;
            };
            let want = (s.max_batch_size - out.len()).max(1);
            let fetched = rows(
                &snap.client,
                &format!("FETCH FORWARD {want} FROM sluice_snap_{}", snap.cursor),
            )
            .await?;
            if fetched.is_empty() {
                if let Some(p) = snap.pending.as_mut() {
                    if Arc::ptr_eq(&p.table, &table) {
                        p.last_in_table = true;
                    }
                }
                let _ = snap
                    .client
                    .batch_execute(&format!("CLOSE sluice_snap_{}", snap.cursor))
                    .await;
                snap.current = None;
                continue;
            }
            for r in fetched {
                let tuple: Vec<TupleValue> = r
                    .into_iter()
                    .map(|c| c.map_or(TupleValue::Null, TupleValue::Text))
                    .collect();
                let row = PendingRow {
                    table: table.clone(),
                    tuple,
                    first: !snap.emitted && snap.pending.is_none(),
                    first_in_table: !snap.current_has_rows,
                    last_in_table: false,
                };
                snap.current_has_rows = true;
                if let Some(p) = snap.pending.replace(row) {
                    snap.emitted = true;
                    out.push(self.snapshot_record(&snap, p, false)?);
                }
            }
        }
        Ok((out, Some(snap)))
    }

    async fn start_streaming(&mut self) -> Result<()> {
        let s = self.settings()?;
        let explain = |e: &ReplError| {
            replication::explain(e, &s.slot_name, &s.publication_name, &s.conn.user)
        };
        let conn = match self.repl.take() {
            Some(c) => c,
            None => ReplConn::connect(&s.conn).await.map_err(|e| explain(&e))?,
        };
        let streaming = conn
            .start(&s.slot_name, 0, &s.publication_name)
            .await
            .map_err(|e| explain(&e))?;
        let (tx, rx) = mpsc::channel(s.max_queue_size.max(16));
        let feedback = self.feedback.clone();
        let interval = s.status_update_interval;
        self.reader = Some(tokio::spawn(streaming.run(tx, feedback, interval)));
        self.events = Some(rx);
        self.tx = None;
        self.relations.clear();
        tracing::info!(slot = %s.slot_name, publication = %s.publication_name, "Streaming changes");
        Ok(())
    }

    fn stop_reader(&mut self) {
        if let Some(r) = self.reader.take() {
            r.abort();
        }
        self.events = None;
    }

    /// After the stream broke: reconnect with `errors.max.retries` and
    /// `retriable.restart.connector.wait.ms`, resuming after the last emitted event.
    async fn reconnect(&mut self, cause: ConnectError) -> Result<()> {
        let s = self.settings()?;
        self.stop_reader();
        self.sql = None;
        self.tx = None;
        self.resume = Resume::from_offset(&self.last);
        loop {
            if cause.kind() != ErrorKind::Retriable
                || (s.errors_max_retries >= 0 && self.failures >= s.errors_max_retries)
            {
                return Err(cause);
            }
            self.failures += 1;
            tracing::warn!(error = %cause, attempt = self.failures, "Replication stream failed; reconnecting");
            tokio::time::sleep(s.retry_wait).await;
            match self.start_streaming().await {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Retriable => {
                    tracing::warn!(error = %e, "Reconnecting failed");
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn source_struct(
        &self,
        schema_name: &str,
        table_name: &str,
        ts_micros: i64,
        snapshot: Option<&str>,
        last_commit: Option<u64>,
        tx_id: Option<i64>,
        lsn: Option<u64>,
    ) -> Result<Value> {
        let s = self.settings()?;
        let schema = self
            .source_schema
            .clone()
            .unwrap_or_else(schema::source_schema);
        let mut st = Struct::new(schema);
        // `["<lsn_commit>","<lsn>"]`, null for an unknown one, in one allocation.
        let mut seq = String::with_capacity(48);
        seq.push('[');
        for (i, l) in [last_commit, lsn].into_iter().enumerate() {
            if i > 0 {
                seq.push(',');
            }
            match l {
                Some(l) => {
                    let _ = write!(seq, "\"{l}\"");
                }
                None => seq.push_str("null"),
            }
        }
        seq.push(']');
        let vals = [
            Value::String(crate::VERSION.into()),
            Value::String("postgresql".into()),
            Value::String(s.topic_prefix.clone()),
            Value::Int64(ts_micros.div_euclid(1000)),
            snapshot.map_or(Value::Null, |m| Value::String(m.into())),
            Value::String(s.conn.dbname.clone()),
            Value::String(seq),
            Value::Int64(ts_micros),
            Value::Int64(ts_micros.saturating_mul(1000)),
            Value::String(schema_name.to_string()),
            Value::String(table_name.to_string()),
            tx_id.map_or(Value::Null, Value::Int64),
            lsn.map_or(Value::Null, |l| Value::Int64(l as i64)),
        ];
        for (i, v) in vals.into_iter().enumerate() {
            st.put_index(i, v);
        }
        Ok(Value::Struct(st))
    }

    fn record(
        &self,
        topic: Topic,
        key_schema: Option<SchemaRef>,
        key: Value,
        value_schema: Option<SchemaRef>,
        value: Value,
        offset: OffsetMap,
    ) -> SourceRecord {
        SourceRecord {
            source_partition: self.partition.clone(),
            source_offset: offset,
            record: ConnectRecord {
                topic,
                key_schema,
                key,
                value_schema,
                value,
                ..ConnectRecord::default()
            },
        }
    }

    /// The offset of a streamed event at `lsn`.
    fn stream_offset(&self, tx: &Tx, lsn: u64, message_type: &'static str) -> PgOffset {
        PgOffset {
            ts_usec: Some(tx.commit_ts),
            tx_id: Some(i64::from(tx.xid)),
            lsn: Some(lsn as i64),
            lsn_proc: Some(lsn as i64),
            lsn_commit: self.last_commit_end.map(|l| l as i64),
            message_type: Some(message_type),
            ..PgOffset::default()
        }
    }

    fn transaction_record(&mut self, status: &str, tx: &Tx, offset: OffsetMap) -> SourceRecord {
        let s = self.s.clone();
        let topic_name = s
            .as_ref()
            .map(|s| s.transaction_topic.clone())
            .unwrap_or_default();
        let topic = self.topic(&topic_name);
        let ks = schema::transaction_key_schema();
        let vs = schema::transaction_value_schema();
        let id = tx.xid.to_string();
        let mut key = Struct::new(ks.clone());
        key.put_index(0, Value::String(id.clone()));
        let mut v = Struct::new(vs.clone());
        v.put_index(0, Value::String(status.into()));
        v.put_index(1, Value::String(id));
        if status == "END" {
            v.put_index(2, Value::Int64(tx.events));
            if let Some(cs) = vs
                .field("data_collections")
                .and_then(|f| f.schema.value_schema.clone())
            {
                let items = tx
                    .per_table
                    .iter()
                    .map(|(name, n)| {
                        let mut c = Struct::new(cs.clone());
                        c.put_index(0, Value::String(name.clone()));
                        c.put_index(1, Value::Int64(*n));
                        Value::Struct(c)
                    })
                    .collect();
                v.put_index(3, Value::Array(items));
            }
        }
        v.put_index(4, Value::Int64(tx.commit_ts.div_euclid(1000)));
        self.record(
            topic,
            Some(ks),
            Value::Struct(key),
            Some(vs),
            Value::Struct(v),
            offset,
        )
    }

    /// One change of the current transaction: records for `out`.
    #[allow(clippy::too_many_arguments)]
    fn change(
        &mut self,
        out: &mut Vec<SourceRecord>,
        t: &Arc<TableSchema>,
        lsn: u64,
        op: &'static str,
        message_type: &'static str,
        before: Option<&[TupleValue]>,
        after: Option<&[TupleValue]>,
    ) -> Result<()> {
        let s = self.settings()?;
        let Some(mut tx) = self.tx.take() else {
            return Err(ConnectError::data(format!(
                "pgoutput sent a {message_type} at {} outside a transaction",
                crate::pgoutput::lsn_to_string(lsn)
            )));
        };
        let result = (|| -> Result<()> {
            if tx.skip_to.is_some_and(|to| lsn <= to) {
                return Ok(());
            }
            let offset = self.stream_offset(&tx, lsn, message_type);
            if s.provide_transaction_metadata && !tx.begun {
                tx.begun = true;
                let rec = self.transaction_record("BEGIN", &tx, offset.to_map());
                out.push(rec);
            }
            tx.events += 1;
            self.total_order += 1;
            let dc_order = match tx
                .per_table
                .iter_mut()
                .find(|(n, _)| *n == t.data_collection)
            {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    tx.per_table.push((t.data_collection.clone(), 1));
                    1
                }
            };
            let transaction = if s.provide_transaction_metadata {
                let mut b = Struct::new(schema::transaction_block_schema());
                b.put_index(0, Value::String(tx.xid.to_string()));
                b.put_index(1, Value::Int64(tx.events));
                b.put_index(2, Value::Int64(dc_order));
                Value::Struct(b)
            } else {
                Value::Null
            };
            let source = self.source_struct(
                &t.schema_name,
                &t.table_name,
                tx.commit_ts,
                None,
                self.last_commit_end,
                Some(i64::from(tx.xid)),
                Some(lsn),
            )?;
            let before_v = match before {
                Some(b) => t.row(b, &s)?,
                None => Value::Null,
            };
            let after_v = match after {
                Some(a) => t.row(a, &s)?,
                None => Value::Null,
            };
            let key_tuple = after.or(before).unwrap_or(&[]);
            let key = if op == "t" {
                Value::Null
            } else {
                t.key(key_tuple, &s)?
            };
            let now = now_micros();
            let value = envelope(t, before_v, after_v, source, transaction, op, now);
            let map = offset.to_map();
            let (ks, topic) = if op == "t" {
                (None, t.topic.clone())
            } else {
                (t.key_schema.clone(), t.topic.clone())
            };
            // Only a delete's tombstone needs the key and offset a second time.
            let tombstone = (op == "d" && s.tombstones_on_delete)
                .then(|| (topic.clone(), ks.clone(), key.clone(), map.clone()));
            let mut rec = self.record(topic, ks.clone(), key, Some(t.envelope.clone()), value, map);
            if let Some((name, v)) = self.key_header.take() {
                rec.record.headers.add(name, ks, v);
            }
            out.push(rec);
            if let Some((topic, ks, key, map)) = tombstone {
                out.push(self.record(topic, ks, key, None, Value::Null, map));
            }
            self.last = offset;
            Ok(())
        })();
        self.tx = Some(tx);
        result
    }

    /// A logical decoding message (`pg_logical_emit_message`) as Debezium's `op: "m"` event
    /// on `<topic.prefix>.message`: key `{prefix}`, value `{op, ts_ms, source, transaction,
    /// message {prefix, content}}`, `source.schema`/`table` empty. A transactional message
    /// carries its transaction's id and commit time; a non-transactional one neither.
    fn logical_message(
        &mut self,
        out: &mut Vec<SourceRecord>,
        lsn: u64,
        transactional: bool,
        prefix: String,
        content: Vec<u8>,
    ) -> Result<()> {
        let s = self.settings()?;
        let mut tx = if transactional { self.tx.take() } else { None };
        let result = (|| -> Result<()> {
            if let Some(t) = &tx {
                if t.skip_to.is_some_and(|to| lsn <= to) {
                    return Ok(());
                }
            }
            let now = now_micros();
            let (ts, xid) = match &tx {
                Some(t) => (t.commit_ts, Some(i64::from(t.xid))),
                None => (now, None),
            };
            let offset = PgOffset {
                ts_usec: Some(ts),
                tx_id: xid,
                lsn: Some(lsn as i64),
                lsn_proc: Some(lsn as i64),
                lsn_commit: self.last_commit_end.map(|l| l as i64),
                message_type: Some("MESSAGE"),
                ..PgOffset::default()
            };
            let transaction = match tx.as_mut() {
                Some(t) if s.provide_transaction_metadata => {
                    if !t.begun {
                        t.begun = true;
                        let rec = self.transaction_record("BEGIN", t, offset.to_map());
                        out.push(rec);
                    }
                    t.events += 1;
                    self.total_order += 1;
                    let name = "LOGICAL_DECODING_MESSAGE".to_string();
                    let dc_order = match t.per_table.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, n)) => {
                            *n += 1;
                            *n
                        }
                        None => {
                            t.per_table.push((name, 1));
                            1
                        }
                    };
                    let mut b = Struct::new(schema::transaction_block_schema());
                    b.put_index(0, Value::String(t.xid.to_string()));
                    b.put_index(1, Value::Int64(t.events));
                    b.put_index(2, Value::Int64(dc_order));
                    Value::Struct(b)
                }
                _ => Value::Null,
            };
            let source =
                self.source_struct("", "", ts, None, self.last_commit_end, xid, Some(lsn))?;
            let source_schema = self
                .source_schema
                .get_or_insert_with(schema::source_schema)
                .clone();
            let ks = schema::message_key_schema();
            let vs = schema::message_value_schema(
                &source_schema,
                s.binary == crate::config::BinaryMode::Bytes,
            );
            let mut key = Struct::new(ks.clone());
            key.put_index(0, Value::String(prefix.clone()));
            let mut block = vs
                .field("message")
                .map(|f| Struct::new(f.schema.clone()))
                .ok_or_else(|| ConnectError::illegal_state("message schema without 'message'"))?;
            block.put_index(0, Value::String(prefix));
            block.put_index(1, crate::types::binary(content, s.binary));
            let mut v = Struct::new(vs.clone());
            v.put_index(0, Value::String("m".into()));
            v.put_index(1, Value::Int64(now.div_euclid(1000)));
            v.put_index(2, source);
            v.put_index(3, transaction);
            v.put_index(4, Value::Struct(block));
            let topic = self.topic(&format!("{}.message", s.topic_prefix));
            out.push(self.record(
                topic,
                Some(ks),
                Value::Struct(key),
                Some(vs),
                Value::Struct(v),
                offset.to_map(),
            ));
            self.last = offset;
            Ok(())
        })();
        if transactional {
            self.tx = tx;
        }
        result
    }

    async fn relation(
        &mut self,
        id: u32,
        namespace: &str,
        name: &str,
        columns: &[crate::pgoutput::RelationColumn],
    ) -> Result<()> {
        let s = self.settings()?;
        let t = if s.table_included(namespace, name) {
            Some(
                self.table_schema(id, namespace, name, Some(columns))
                    .await?,
            )
        } else {
            None
        };
        self.relations.insert(id, t);
        Ok(())
    }

    fn table(&self, id: u32) -> Result<Option<Arc<TableSchema>>> {
        match self.relations.get(&id) {
            Some(t) => Ok(t.clone()),
            None => Err(ConnectError::data(format!(
                "pgoutput sent a change of relation {id} before describing it"
            ))),
        }
    }

    async fn handle(
        &mut self,
        wal_start: u64,
        message: Message,
        out: &mut Vec<SourceRecord>,
    ) -> Result<()> {
        let s = self.settings()?;
        match message {
            Message::Begin {
                final_lsn,
                commit_ts,
                xid,
            } => {
                let skip_to = match self.resume {
                    Some(r) if final_lsn < r.last_commit => Some(u64::MAX),
                    Some(r) if r.in_tx => Some(r.proc_lsn),
                    _ => None,
                };
                self.resume = None.or(self.resume.filter(|r| final_lsn < r.last_commit));
                self.tx = Some(Tx {
                    xid,
                    final_lsn,
                    commit_ts,
                    skip_to,
                    events: 0,
                    per_table: Vec::new(),
                    begun: false,
                });
                self.idle_wal_end = None;
            }
            Message::Commit {
                end_lsn,
                commit_lsn,
                ..
            } => {
                if let Some(tx) = self.tx.take() {
                    if tx.final_lsn != commit_lsn {
                        tracing::debug!(
                            begin = tx.final_lsn,
                            commit = commit_lsn,
                            "Commit LSN differs from Begin's final LSN"
                        );
                    }
                    if tx.begun && s.provide_transaction_metadata {
                        let mut offset = self.last.clone();
                        offset.lsn_commit = Some(end_lsn as i64);
                        offset.message_type = Some("COMMIT");
                        let rec = self.transaction_record("END", &tx, offset.to_map());
                        out.push(rec);
                    }
                }
                self.last_commit_end = Some(end_lsn);
            }
            Message::Relation {
                id,
                namespace,
                name,
                columns,
                ..
            } => {
                self.relation(id, &namespace, &name, &columns).await?;
            }
            Message::Insert { relation, new } => {
                if let Some(t) = self.table(relation)? {
                    if !s.skipped.create {
                        self.change(out, &t, wal_start, "c", "INSERT", None, Some(&new))?;
                    }
                }
            }
            Message::Update {
                relation,
                old,
                old_is_key,
                new,
            } => {
                if let Some(t) = self.table(relation)? {
                    if !s.skipped.update {
                        // An old tuple comes with REPLICA IDENTITY FULL, or with DEFAULT when
                        // the key changed: a key change is a delete of the old key and a
                        // create of the new one, as Debezium emits it.
                        let _ = old_is_key;
                        let key_change = match &old {
                            Some(o) if t.key_schema.is_some() => {
                                let old_key = t.key(o, &s)?;
                                let new_key = t.key(&new, &s)?;
                                (old_key != new_key).then_some((old_key, new_key))
                            }
                            _ => None,
                        };
                        match key_change {
                            Some((old_key, new_key)) => {
                                self.key_header = Some(("__debezium.newkey", new_key));
                                self.change(
                                    out,
                                    &t,
                                    wal_start,
                                    "d",
                                    "UPDATE",
                                    old.as_deref(),
                                    None,
                                )?;
                                self.key_header = Some(("__debezium.oldkey", old_key));
                                self.change(out, &t, wal_start, "c", "UPDATE", None, Some(&new))?;
                                self.key_header = None;
                            }
                            None => {
                                self.change(
                                    out,
                                    &t,
                                    wal_start,
                                    "u",
                                    "UPDATE",
                                    old.as_deref(),
                                    Some(&new),
                                )?;
                            }
                        }
                    }
                }
            }
            Message::Delete { relation, old, .. } => {
                if let Some(t) = self.table(relation)? {
                    if !s.skipped.delete {
                        self.change(out, &t, wal_start, "d", "DELETE", Some(&old), None)?;
                    }
                }
            }
            Message::Truncate { relations, .. } => {
                if !s.skipped.truncate {
                    for id in relations {
                        if let Some(t) = self.table(id)? {
                            self.change(out, &t, wal_start, "t", "TRUNCATE", None, None)?;
                        }
                    }
                }
            }
            Message::Type { .. } => {
                let client = self.sql().await?;
                self.registry = load_types(client).await?;
            }
            Message::LogicalMessage {
                transactional,
                lsn,
                prefix,
                content,
            } => {
                if s.message_prefix_included(&prefix) {
                    self.logical_message(out, lsn, transactional, prefix, content)?;
                }
            }
            Message::Origin { .. } => {}
        }
        Ok(())
    }

    /// A heartbeat record if `heartbeat.interval.ms` elapsed, carrying the current position
    /// (the server's WAL end when nothing is open, so an idle slot still advances).
    async fn heartbeat(&mut self, out: &mut Vec<SourceRecord>) -> Result<()> {
        let s = self.settings()?;
        let Some(interval) = s.heartbeat_interval else {
            return Ok(());
        };
        let due = self.last_heartbeat.is_none_or(|t| t.elapsed() >= interval);
        if !due {
            return Ok(());
        }
        self.last_heartbeat = Some(Instant::now());
        if let Some(q) = &s.heartbeat_action_query {
            let q = q.clone();
            let client = self.sql().await?;
            if let Err(e) = client.batch_execute(&q).await {
                tracing::warn!(error = %e, "heartbeat.action.query failed");
            }
        }
        if self.tx.is_none() {
            if let Some(end) = self.idle_wal_end.take() {
                let known = self
                    .last
                    .lsn_commit
                    .unwrap_or(0)
                    .max(self.last.lsn_proc.unwrap_or(0));
                if end as i64 > known {
                    self.last = PgOffset {
                        lsn: Some(end as i64),
                        lsn_proc: Some(end as i64),
                        lsn_commit: Some(end as i64),
                        message_type: Some("COMMIT"),
                        ts_usec: self.last.ts_usec,
                        tx_id: self.last.tx_id,
                        ..PgOffset::default()
                    };
                    self.last_commit_end = Some(end);
                }
            }
        }
        if self.last.snapshot.is_some() || (self.last.lsn.is_none() && self.last.lsn_proc.is_none())
        {
            return Ok(());
        }
        let ks = schema::heartbeat_key_schema();
        let vs = schema::heartbeat_value_schema();
        let mut k = Struct::new(ks.clone());
        k.put_index(0, Value::String(s.topic_prefix.clone()));
        let mut v = Struct::new(vs.clone());
        v.put_index(0, Value::Int64(now_micros().div_euclid(1000)));
        let topic = self.topic(&s.heartbeat_topic);
        let offset = self.last.to_map();
        out.push(self.record(
            topic,
            Some(ks),
            Value::Struct(k),
            Some(vs),
            Value::Struct(v),
            offset,
        ));
        Ok(())
    }

    async fn poll_stream(&mut self) -> Result<Vec<SourceRecord>> {
        let s = self.settings()?;
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + s.poll_interval;
        loop {
            let Some(rx) = self.events.as_mut() else {
                self.reconnect(ConnectError::retriable("no replication stream"))
                    .await?;
                continue;
            };
            let ev = if out.is_empty() {
                tokio::select! {
                    ev = rx.recv() => ev,
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            } else {
                match rx.try_recv() {
                    Ok(ev) => Some(ev),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                }
            };
            match ev {
                Some(Event::Data { wal_start, message }) => {
                    self.handle(wal_start, message, &mut out).await?;
                    self.failures = 0;
                }
                Some(Event::Keepalive { wal_end }) => {
                    if self.tx.is_none() {
                        self.idle_wal_end = Some(wal_end);
                    }
                }
                Some(Event::Closed(e)) => {
                    let err =
                        replication::explain(&e, &s.slot_name, &s.publication_name, &s.conn.user);
                    if !out.is_empty() {
                        // Hand over what was read first; reconnect on the next poll.
                        self.stop_reader();
                        self.pending_error = Some(err);
                        break;
                    }
                    self.reconnect(err).await?;
                }
                None => {
                    if !out.is_empty() {
                        break;
                    }
                    self.reconnect(ConnectError::retriable(
                        "the replication stream reader stopped",
                    ))
                    .await?;
                }
            }
            if out.len() >= s.max_batch_size {
                break;
            }
        }
        self.heartbeat(&mut out).await?;
        Ok(out)
    }
}

fn envelope(
    t: &TableSchema,
    before: Value,
    after: Value,
    source: Value,
    transaction: Value,
    op: &str,
    now_micros: i64,
) -> Value {
    let mut e = Struct::new(t.envelope.clone());
    e.put_index(0, before);
    e.put_index(1, after);
    e.put_index(2, source);
    e.put_index(3, transaction);
    e.put_index(4, Value::String(op.into()));
    e.put_index(5, Value::Int64(now_micros.div_euclid(1000)));
    e.put_index(6, Value::Int64(now_micros));
    e.put_index(7, Value::Int64(now_micros.saturating_mul(1000)));
    Value::Struct(e)
}

#[async_trait]
impl SourceTask for PostgresConnectorTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let s = Arc::new(Settings::parse(&context.configs)?);
        self.partition = offsets::partition(&s.topic_prefix);
        self.source_schema = Some(schema::source_schema());
        self.s = Some(s);
        self.ctx = Some(context);
        self.prepare().await
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let s = self.settings()?;
        if let Some(err) = self.pending_error.take() {
            self.reconnect(err).await?;
        }
        match self.phase.take() {
            Some(Phase::Snapshot(snap)) => {
                let (records, rest) = self.poll_snapshot(snap).await?;
                match rest {
                    Some(snap) => self.phase = Some(Phase::Snapshot(snap)),
                    None if s.snapshot_mode == SnapshotMode::InitialOnly => {
                        self.phase = Some(Phase::Idle);
                    }
                    None => {
                        self.start_streaming().await?;
                        self.phase = Some(Phase::Streaming);
                    }
                }
                Ok(records)
            }
            Some(Phase::Streaming) => {
                self.phase = Some(Phase::Streaming);
                self.poll_stream().await
            }
            Some(Phase::Idle) | None => {
                self.phase = Some(Phase::Idle);
                tokio::time::sleep(s.poll_interval).await;
                Ok(Vec::new())
            }
        }
    }

    /// Confirms to the slot what the runtime committed: the stored offset's `lsn_commit`
    /// (else `lsn_proc`), as Debezium's `commitOffset` does.
    async fn commit(&mut self) -> Result<()> {
        let Some(ctx) = &self.ctx else {
            return Ok(());
        };
        if let Some(map) = ctx.offsets.offset(&self.partition) {
            let o = PgOffset::from_map(&map);
            if o.snapshot.is_none() {
                if let Some(lsn) = o.flush_lsn() {
                    self.feedback.flush(lsn);
                }
            }
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        self.stop_reader();
        self.repl = None;
        if let Some(Phase::Snapshot(snap)) = self.phase.take() {
            let _ = snap.client.batch_execute("ROLLBACK").await;
        }
        let Some(s) = self.s.clone() else {
            return Ok(());
        };
        if s.slot_drop_on_stop {
            let slot = quote_literal(&s.slot_name);
            if let Ok(client) = self.sql().await {
                // The walsender lets go of the slot shortly after the connection closes.
                for _ in 0..50 {
                    match client
                        .simple_query(&format!("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = {slot} AND NOT active"))
                        .await
                    {
                        Ok(_) => {
                            let left = rows(client, &format!("SELECT 1 FROM pg_replication_slots WHERE slot_name = {slot}")).await;
                            if left.map(|r| r.is_empty()).unwrap_or(true) {
                                tracing::info!(slot = %s.slot_name, "Dropped replication slot");
                                break;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "Could not drop the replication slot");
                            break;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        self.sql = None;
        Ok(())
    }
}
