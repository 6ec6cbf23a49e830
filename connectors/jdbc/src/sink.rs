//! `io.confluent.connect.jdbc.JdbcSinkConnector` and its task: records into tables.
//!
//! A `put` is one transaction: records are buffered per destination table (flushed at
//! `batch.size`, on a schema change, or when a write follows a delete), every buffer is
//! flushed, then one COMMIT. The runtime commits consumer offsets only after `put` returned,
//! so delivery is at least once (idempotent with `upsert`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sluice_api::config::RawConfig;
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SinkTask, SinkTaskContext,
    TaskFactory,
};
use sluice_api::data::logical::{self, Decimal};
use sluice_api::data::{Schema, SchemaRef, SchemaType, Value};
use sluice_api::record::{SinkRecord, Topic};
use sluice_api::{async_trait, ConnectError, ErrorKind, Result};

use crate::config::{self, ConnectionSettings, Dialect};
use crate::db::{Db, InsertShape, SqlValue, TableColumn, TableId};

pub const CLASS: &str = "io.confluent.connect.jdbc.JdbcSinkConnector";
pub const TASK_CLASS: &str = "io.confluent.connect.jdbc.sink.JdbcSinkTask";

pub fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: CLASS,
        task_class: TASK_CLASS,
        kind: ConnectorKind::Sink,
        version: crate::VERSION,
        config_def: config::sink_config_def,
        new_connector: || Box::new(JdbcSinkConnector::default()),
        new_task: TaskFactory::Sink(|| Box::new(JdbcSinkTask::default())),
        shares_thread: false,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertMode {
    Insert,
    Upsert,
    Update,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkMode {
    None,
    Kafka,
    RecordKey,
    RecordValue,
}

impl PkMode {
    fn name(self) -> &'static str {
        match self {
            PkMode::None => "none",
            PkMode::Kafka => "kafka",
            PkMode::RecordKey => "record_key",
            PkMode::RecordValue => "record_value",
        }
    }
}

/// The sink's settings, parsed once.
#[derive(Clone, Debug)]
pub struct SinkSettings {
    pub connection: ConnectionSettings,
    pub insert_mode: InsertMode,
    pub pk_mode: PkMode,
    pub pk_fields: Vec<String>,
    pub fields_whitelist: HashSet<String>,
    pub table_name_format: String,
    pub delete_enabled: bool,
    pub auto_create: bool,
    pub auto_evolve: bool,
    pub batch_size: usize,
    pub max_retries: u32,
    pub retry_backoff_ms: u64,
    pub quote: bool,
}

impl SinkSettings {
    pub fn parse(raw: &RawConfig) -> Result<SinkSettings> {
        let c = config::parse(&config::sink_config_def(), raw)?;
        if !c.list(config::TIMESTAMP_FIELDS_LIST).is_empty() {
            return Err(ConnectError::config(format!(
                "Invalid value {} for configuration {}: Sluice's JDBC sink does not convert fields to timestamps yet; leave it empty and send Connect Timestamp fields",
                c.list(config::TIMESTAMP_FIELDS_LIST).join(","),
                config::TIMESTAMP_FIELDS_LIST
            )));
        }
        let connection = ConnectionSettings::from_config(&c)?;
        let insert_mode = match c
            .string(config::INSERT_MODE)
            .unwrap_or("insert")
            .to_ascii_lowercase()
            .as_str()
        {
            "upsert" => InsertMode::Upsert,
            "update" => InsertMode::Update,
            _ => InsertMode::Insert,
        };
        let pk_mode = match c
            .string(config::PK_MODE)
            .unwrap_or("none")
            .to_ascii_lowercase()
            .as_str()
        {
            "kafka" => PkMode::Kafka,
            "record_key" => PkMode::RecordKey,
            "record_value" => PkMode::RecordValue,
            _ => PkMode::None,
        };
        let delete_enabled = c.boolean(config::DELETE_ENABLED).unwrap_or(false);
        if delete_enabled && pk_mode != PkMode::RecordKey {
            return Err(ConnectError::config(format!(
                "Invalid value {} for configuration {}: Primary key mode must be 'record_key' when delete support is enabled",
                pk_mode.name(),
                config::PK_MODE
            )));
        }
        if insert_mode == InsertMode::Upsert && pk_mode == PkMode::None {
            return Err(ConnectError::config(format!(
                "Invalid value none for configuration {}: insert.mode=upsert requires key field names; set pk.mode to kafka, record_key or record_value",
                config::PK_MODE
            )));
        }
        Ok(SinkSettings {
            connection,
            insert_mode,
            pk_mode,
            pk_fields: c.list(config::PK_FIELDS),
            fields_whitelist: c.list(config::FIELDS_WHITELIST).into_iter().collect(),
            table_name_format: c
                .string(config::TABLE_NAME_FORMAT)
                .unwrap_or("${topic}")
                .to_string(),
            delete_enabled,
            auto_create: c.boolean(config::AUTO_CREATE).unwrap_or(false),
            auto_evolve: c.boolean(config::AUTO_EVOLVE).unwrap_or(false),
            batch_size: c.int(config::BATCH_SIZE).unwrap_or(3000).max(1) as usize,
            max_retries: c.int(config::MAX_RETRIES).unwrap_or(10).max(0) as u32,
            retry_backoff_ms: c.int(config::RETRY_BACKOFF_MS).unwrap_or(3000).max(0) as u64,
            quote: config::quote_identifiers(&c),
        })
    }
}

#[derive(Default)]
pub struct JdbcSinkConnector {
    props: RawConfig,
}

#[async_trait]
impl Connector for JdbcSinkConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        SinkSettings::parse(config)?;
        self.props = config.clone();
        Ok(())
    }

    /// `tasks.max` identical copies, as Confluent does.
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }

    fn alter_offsets(
        &self,
        _config: &RawConfig,
        _offsets: &[(
            sluice_api::record::OffsetMap,
            Option<sluice_api::record::OffsetMap>,
        )],
    ) -> Result<bool> {
        Ok(true)
    }
}

/// The kafka-mode key column names (`FieldsMetadata`).
const KAFKA_PK_NAMES: [&str; 3] = ["__connect_topic", "__connect_partition", "__connect_offset"];

/// Where each column's value comes from.
#[derive(Clone, Debug, PartialEq)]
enum Source {
    KafkaTopic,
    KafkaPartition,
    KafkaOffset,
    /// The whole (primitive) key.
    Key,
    KeyField(String),
    ValueField(String),
}

#[derive(Clone, Debug)]
struct Column {
    name: String,
    schema: SchemaRef,
    source: Source,
}

/// `FieldsMetadata`: key and non-key columns of one (key schema, value schema) pair.
#[derive(Clone, Debug)]
struct Fields {
    key: Vec<Column>,
    non_key: Vec<Column>,
    /// Every column in CREATE TABLE order.
    create_order: Vec<String>,
}

impl Fields {
    fn extract(
        s: &SinkSettings,
        table: &TableId,
        key_schema: Option<&SchemaRef>,
        value_schema: Option<&SchemaRef>,
    ) -> Result<Fields> {
        if let Some(v) = value_schema {
            if v.schema_type != SchemaType::Struct {
                return Err(ConnectError::data(format!(
                    "Value schema must be of type Struct (table {table}), found {}",
                    v.schema_type.name()
                )));
            }
        }
        let mut key: Vec<Column> = Vec::new();
        match s.pk_mode {
            PkMode::None => {}
            PkMode::Kafka => {
                let names: Vec<String> = if s.pk_fields.is_empty() {
                    KAFKA_PK_NAMES.iter().map(|n| n.to_string()).collect()
                } else if s.pk_fields.len() == 3 {
                    s.pk_fields.clone()
                } else {
                    return Err(ConnectError::config(format!(
                        "PK mode for table '{table}' is kafka so there should either be no field names defined for defaults {KAFKA_PK_NAMES:?} to be applicable, or exactly 3, defined fields are: {:?}",
                        s.pk_fields
                    )));
                };
                let schemas = [
                    sluice_api::data::schemas::string(),
                    sluice_api::data::schemas::int32(),
                    sluice_api::data::schemas::int64(),
                ];
                let sources = [
                    Source::KafkaTopic,
                    Source::KafkaPartition,
                    Source::KafkaOffset,
                ];
                for ((name, schema), source) in names.into_iter().zip(schemas).zip(sources) {
                    key.push(Column {
                        name,
                        schema,
                        source,
                    });
                }
            }
            PkMode::RecordKey => {
                let ks = key_schema.ok_or_else(|| {
                    ConnectError::data(format!(
                        "PK mode for table '{table}' is record_key, but record key schema is missing"
                    ))
                })?;
                if ks.schema_type.is_primitive() {
                    if s.pk_fields.len() != 1 {
                        return Err(ConnectError::config(format!(
                            "Need exactly one PK column defined since the key schema for records is a primitive type, defined columns are: {:?}",
                            s.pk_fields
                        )));
                    }
                    key.push(Column {
                        name: s.pk_fields[0].clone(),
                        schema: ks.clone(),
                        source: Source::Key,
                    });
                } else if ks.schema_type == SchemaType::Struct {
                    if s.pk_fields.is_empty() {
                        for f in &ks.fields {
                            key.push(Column {
                                name: f.name.clone(),
                                schema: f.schema.clone(),
                                source: Source::KeyField(f.name.clone()),
                            });
                        }
                    } else {
                        for name in &s.pk_fields {
                            let f = ks.field(name).ok_or_else(|| {
                                ConnectError::data(format!(
                                    "PK mode for table '{table}' is record_key with configured PK fields {:?}, but record key schema does not contain field: {name}",
                                    s.pk_fields
                                ))
                            })?;
                            key.push(Column {
                                name: name.clone(),
                                schema: f.schema.clone(),
                                source: Source::KeyField(name.clone()),
                            });
                        }
                    }
                } else {
                    return Err(ConnectError::data(format!(
                        "Key schema must be primitive type or Struct (table {table}), but is of type: {}",
                        ks.schema_type.name()
                    )));
                }
            }
            PkMode::RecordValue => {
                let vs = value_schema.ok_or_else(|| {
                    ConnectError::data(format!(
                        "PK mode for table '{table}' is record_value, but record value schema is missing"
                    ))
                })?;
                if s.pk_fields.is_empty() {
                    for f in &vs.fields {
                        key.push(Column {
                            name: f.name.clone(),
                            schema: f.schema.clone(),
                            source: Source::ValueField(f.name.clone()),
                        });
                    }
                } else {
                    for name in &s.pk_fields {
                        let f = vs.field(name).ok_or_else(|| {
                            ConnectError::data(format!(
                                "PK mode for table '{table}' is record_value with configured PK fields {:?}, but record value schema does not contain field: {name}",
                                s.pk_fields
                            ))
                        })?;
                        key.push(Column {
                            name: name.clone(),
                            schema: f.schema.clone(),
                            source: Source::ValueField(name.clone()),
                        });
                    }
                }
            }
        }
        let key_names: HashSet<&str> = key.iter().map(|c| c.name.as_str()).collect();
        let mut non_key = Vec::new();
        if let Some(vs) = value_schema {
            for f in &vs.fields {
                if key_names.contains(f.name.as_str()) {
                    continue;
                }
                if !s.fields_whitelist.is_empty() && !s.fields_whitelist.contains(&f.name) {
                    continue;
                }
                non_key.push(Column {
                    name: f.name.clone(),
                    schema: f.schema.clone(),
                    source: Source::ValueField(f.name.clone()),
                });
            }
        }
        // CREATE order: default kafka columns, value fields in order, other key fields by name.
        let mut create_order: Vec<String> = Vec::new();
        let default_kafka = s.pk_mode == PkMode::Kafka && s.pk_fields.is_empty();
        if default_kafka {
            create_order.extend(KAFKA_PK_NAMES.iter().map(|n| n.to_string()));
        }
        if let Some(vs) = value_schema {
            for f in &vs.fields {
                let used =
                    key_names.contains(f.name.as_str()) || non_key.iter().any(|c| c.name == f.name);
                if used && !create_order.contains(&f.name) {
                    create_order.push(f.name.clone());
                }
            }
        }
        let mut rest: Vec<String> = key
            .iter()
            .map(|c| c.name.clone())
            .filter(|n| !create_order.contains(n))
            .collect();
        rest.sort();
        create_order.extend(rest);
        Ok(Fields {
            key,
            non_key,
            create_order,
        })
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.key
            .iter()
            .chain(self.non_key.iter())
            .find(|c| c.name == name)
    }
}

/// Statements of one table and field layout.
#[derive(Clone, Debug)]
struct Statements {
    write: String,
    write_shape: Option<InsertShape>,
    /// Columns in the write statement's parameter order.
    write_columns: Vec<Column>,
    /// Their names, for the driver's error messages.
    write_names: Vec<String>,
    delete: Option<String>,
}

fn placeholders(dialect: Dialect, start: usize, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match dialect {
            Dialect::Postgres => format!("${}", start + i + 1),
            _ => "?".to_string(),
        })
        .collect()
}

fn build_statements(
    s: &SinkSettings,
    dialect: Dialect,
    table: &TableId,
    fields: &Fields,
) -> Result<Statements> {
    let q = |n: &str| dialect.quote_if(n, s.quote);
    let t = table.quoted(dialect, s.quote);
    let keys: Vec<String> = fields.key.iter().map(|c| q(&c.name)).collect();
    let non_keys: Vec<String> = fields.non_key.iter().map(|c| q(&c.name)).collect();
    let all: Vec<String> = keys.iter().chain(non_keys.iter()).cloned().collect();
    let key_then_rest: Vec<Column> = fields
        .key
        .iter()
        .chain(fields.non_key.iter())
        .cloned()
        .collect();
    let (write, shape, write_columns) = match s.insert_mode {
        InsertMode::Insert | InsertMode::Upsert => {
            let ph = placeholders(dialect, 0, all.len()).join(",");
            let (head, tuple, tail) = match (s.insert_mode, dialect) {
                (InsertMode::Insert, Dialect::Postgres) => (
                    format!("INSERT INTO {t} ({}) VALUES ", all.join(",")),
                    format!("({ph})"),
                    String::new(),
                ),
                (InsertMode::Insert, _) => (
                    format!("INSERT INTO {t}({}) VALUES", all.join(",")),
                    format!("({ph})"),
                    String::new(),
                ),
                (_, Dialect::Postgres) => {
                    if keys.is_empty() {
                        return Err(upsert_needs_keys(table));
                    }
                    let action = if non_keys.is_empty() {
                        "DO NOTHING".to_string()
                    } else {
                        let sets: Vec<String> = non_keys
                            .iter()
                            .map(|c| format!("{c}=EXCLUDED.{c}"))
                            .collect();
                        format!("DO UPDATE SET {}", sets.join(","))
                    };
                    (
                        format!("INSERT INTO {t} ({}) VALUES ", all.join(",")),
                        format!("({ph})"),
                        format!(" ON CONFLICT ({}) {action}", keys.join(",")),
                    )
                }
                (_, Dialect::MySql) => {
                    if keys.is_empty() {
                        return Err(upsert_needs_keys(table));
                    }
                    let updated = if non_keys.is_empty() {
                        &keys
                    } else {
                        &non_keys
                    };
                    let sets: Vec<String> =
                        updated.iter().map(|c| format!("{c}=values({c})")).collect();
                    (
                        format!("insert into {t}({}) values", all.join(",")),
                        format!("({ph})"),
                        format!(" on duplicate key update {}", sets.join(",")),
                    )
                }
                (_, Dialect::Sqlite) => (
                    format!("INSERT OR REPLACE INTO {t}({}) VALUES", all.join(",")),
                    format!("({ph})"),
                    String::new(),
                ),
            };
            let sql = format!("{head}{tuple}{tail}");
            let shape = (dialect == Dialect::MySql).then_some(InsertShape { head, tuple, tail });
            (sql, shape, key_then_rest)
        }
        InsertMode::Update => {
            let ph = placeholders(dialect, 0, non_keys.len() + keys.len());
            let sets: Vec<String> = non_keys
                .iter()
                .zip(&ph)
                .map(|(c, p)| format!("{c} = {p}"))
                .collect();
            let mut sql = format!("UPDATE {t} SET {}", sets.join(", "));
            if !keys.is_empty() {
                let wh: Vec<String> = keys
                    .iter()
                    .zip(&ph[non_keys.len()..])
                    .map(|(c, p)| format!("{c} = {p}"))
                    .collect();
                sql.push_str(&format!(" WHERE {}", wh.join(" AND ")));
            }
            let cols = fields
                .non_key
                .iter()
                .chain(fields.key.iter())
                .cloned()
                .collect();
            (sql, None, cols)
        }
    };
    let delete = if s.delete_enabled && !keys.is_empty() {
        let ph = placeholders(dialect, 0, keys.len());
        let wh: Vec<String> = keys
            .iter()
            .zip(&ph)
            .map(|(c, p)| format!("{c} = {p}"))
            .collect();
        Some(format!("DELETE FROM {t} WHERE {}", wh.join(" AND ")))
    } else {
        None
    };
    let write_names = write_columns.iter().map(|c| c.name.clone()).collect();
    Ok(Statements {
        write,
        write_shape: shape,
        write_columns,
        write_names,
        delete,
    })
}

fn upsert_needs_keys(table: &TableId) -> ConnectError {
    ConnectError::config(format!(
        "Write to table '{table}' in UPSERT mode requires key field names to be known, check the primary key configuration"
    ))
}

/// `CREATE TABLE` from the fields (`buildCreateTableStatement`).
fn create_table_sql(
    s: &SinkSettings,
    dialect: Dialect,
    table: &TableId,
    f: &Fields,
) -> Result<String> {
    let mut lines = Vec::new();
    for name in &f.create_order {
        let Some(col) = f.column(name) else { continue };
        lines.push(column_spec(s, dialect, table, col)?);
    }
    if !f.key.is_empty() {
        let pk: Vec<String> = f
            .key
            .iter()
            .map(|c| dialect.quote_if(&c.name, s.quote))
            .collect();
        lines.push(format!("PRIMARY KEY({})", pk.join(",")));
    }
    Ok(format!(
        "CREATE TABLE {} (\n{})",
        table.quoted(dialect, s.quote),
        lines.join(",\n")
    ))
}

fn column_spec(
    s: &SinkSettings,
    dialect: Dialect,
    table: &TableId,
    col: &Column,
) -> Result<String> {
    let ty = match dialect {
        Dialect::Postgres => crate::postgres::sql_type(&col.schema),
        Dialect::MySql => crate::mysql::sql_type(&col.schema),
        Dialect::Sqlite => crate::sqlite::sql_type(&col.schema),
    }
    .ok_or_else(|| {
        ConnectError::data(format!(
            "{} (Connect type {}) has no column type in table {table}: Unsupported source data type",
            col.name,
            describe_schema(&col.schema)
        ))
    })?;
    let mut spec = format!("{} {ty}", dialect.quote_if(&col.name, s.quote));
    if let Some(d) = col.schema.default.as_ref().and_then(default_literal) {
        spec.push_str(&format!(" DEFAULT {d}"));
    }
    spec.push_str(if col.schema.optional {
        " NULL"
    } else {
        " NOT NULL"
    });
    Ok(spec)
}

fn default_literal(v: &Value) -> Option<String> {
    Some(match v {
        Value::Int8(i) => i.to_string(),
        Value::Int16(i) => i.to_string(),
        Value::Int32(i) => i.to_string(),
        Value::Int64(i) => i.to_string(),
        Value::Float32(f) => f.to_string(),
        Value::Float64(f) => f.to_string(),
        Value::Boolean(b) => if *b { "1" } else { "0" }.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        _ => return None,
    })
}

fn describe_schema(s: &Schema) -> String {
    match &s.name {
        Some(n) => format!("{} ({n})", s.schema_type.name()),
        None => s.schema_type.name().to_string(),
    }
}

/// A Connect value as a SQL value, by its schema (`PreparedStatementBinder.bindField`).
fn to_sql(table: &TableId, column: &str, schema: &Schema, value: &Value) -> Result<SqlValue> {
    let bad = || {
        ConnectError::data(format!(
            "Cannot write value {value} of column {column} in table {table}: schema {} does not take a {}",
            describe_schema(schema),
            value.java_class_name()
        ))
    };
    if value.is_null() {
        if !schema.optional && schema.default.is_none() {
            return Err(ConnectError::data(format!(
                "Column {column} of table {table} is not optional, but the record has no value for it"
            )));
        }
        return Ok(SqlValue::Null);
    }
    match schema.name.as_deref() {
        Some(logical::DECIMAL_NAME) => {
            let scale = logical::decimal_scale(schema)?;
            return match value {
                Value::Bytes(b) => Ok(SqlValue::Decimal(plain_decimal(
                    &Decimal::from_bytes(b, scale).unscaled_string(),
                    scale,
                ))),
                _ => Err(bad()),
            };
        }
        Some(logical::DATE_NAME) => {
            return match value {
                Value::Int32(d) => Ok(SqlValue::Date(*d)),
                _ => Err(bad()),
            }
        }
        Some(logical::TIME_NAME) => {
            return match value {
                Value::Int32(ms) => Ok(SqlValue::Time(i64::from(*ms) * 1000)),
                _ => Err(bad()),
            }
        }
        Some(logical::TIMESTAMP_NAME) => {
            return match value {
                Value::Int64(ms) => Ok(SqlValue::Timestamp(ms.saturating_mul(1000))),
                _ => Err(bad()),
            }
        }
        _ => {}
    }
    Ok(match value {
        Value::Int8(v) => SqlValue::Int((*v).into()),
        Value::Int16(v) => SqlValue::Int((*v).into()),
        Value::Int32(v) => SqlValue::Int((*v).into()),
        Value::Int64(v) => SqlValue::Int(*v),
        Value::Float32(v) => SqlValue::F32(*v),
        Value::Float64(v) => SqlValue::F64(*v),
        Value::Boolean(b) => SqlValue::Bool(*b),
        Value::String(s) => SqlValue::Text(s.clone()),
        Value::Bytes(b) => SqlValue::Bytes(b.clone()),
        _ => {
            return Err(ConnectError::data(format!(
                "Cannot write column {column} of table {table}: unsupported type {}",
                describe_schema(schema)
            )))
        }
    })
}

/// `-12345` with scale 2 → `-123.45`.
pub fn plain_decimal(unscaled: &str, scale: i32) -> String {
    let (neg, digits) = match unscaled.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, unscaled),
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if scale <= 0 {
        out.push_str(digits);
        for _ in 0..(-scale) {
            out.push('0');
        }
        return out;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        out.push_str(&digits[..digits.len() - scale]);
        out.push('.');
        out.push_str(&digits[digits.len() - scale..]);
    } else {
        out.push_str("0.");
        for _ in 0..(scale - digits.len()) {
            out.push('0');
        }
        out.push_str(digits);
    }
    out
}

/// A field of a record's key or value.
fn field_of<'a>(table: &TableId, v: &'a Value, name: &str, what: &str) -> Result<&'a Value> {
    match v {
        Value::Struct(s) => s.get(name).ok_or_else(|| {
            ConnectError::data(format!(
                "Record {what} has no field {name} for column {name} of table {table}"
            ))
        }),
        Value::Null => Err(ConnectError::data(format!(
            "Record {what} is null, but column {name} of table {table} comes from it"
        ))),
        other => Err(ConnectError::data(format!(
            "Record {what} is a {}, not a Struct, but column {name} of table {table} comes from it",
            other.java_class_name()
        ))),
    }
}

/// One column's value of a record (borrowed from it: only the SQL value is new).
fn column_value(table: &TableId, col: &Column, r: &SinkRecord) -> Result<SqlValue> {
    let rec = &r.record;
    let owned;
    let value = match &col.source {
        Source::KafkaTopic => {
            owned = Value::String(rec.topic.to_string());
            &owned
        }
        Source::KafkaPartition => {
            owned = Value::Int32(rec.kafka_partition.unwrap_or(0));
            &owned
        }
        Source::KafkaOffset => {
            owned = Value::Int64(r.kafka_offset);
            &owned
        }
        Source::Key => {
            if rec.key.is_null() {
                return Err(ConnectError::data(format!(
                    "Record key is null, but column {} of table {table} comes from it",
                    col.name
                )));
            }
            &rec.key
        }
        Source::KeyField(f) => field_of(table, &rec.key, f, "key")?,
        Source::ValueField(f) => field_of(table, &rec.value, f, "value")?,
    };
    to_sql(table, &col.name, &col.schema, value)
}

/// A per-table buffer (`BufferedRecords`).
struct Buffer {
    table: TableId,
    key_schema: Option<SchemaRef>,
    value_schema: Option<SchemaRef>,
    /// Shared, not copied, by every record of the buffer.
    statements: Option<Arc<Statements>>,
    writes: Vec<Vec<SqlValue>>,
    deletes: Vec<Vec<SqlValue>>,
    /// Indexes (into the put's records) of the buffered rows, for error reporting.
    write_records: Vec<usize>,
    delete_records: Vec<usize>,
}

/// Writes records into tables.
#[derive(Default)]
pub struct JdbcSinkTask {
    settings: Option<SinkSettings>,
    context: Option<Arc<dyn SinkTaskContext>>,
    db: Option<Db>,
    /// Destination of each topic.
    tables_by_topic: HashMap<String, TableId>,
    /// Columns of tables known to exist.
    table_columns: HashMap<TableId, Vec<TableColumn>>,
    remaining_retries: u32,
}

impl JdbcSinkTask {
    fn settings(&self) -> Result<&SinkSettings> {
        self.settings
            .as_ref()
            .ok_or_else(|| ConnectError::illegal_state("JdbcSinkTask is not started"))
    }

    async fn destination(&mut self, topic: &str) -> Result<TableId> {
        if let Some(t) = self.tables_by_topic.get(topic) {
            return Ok(t.clone());
        }
        let s = self.settings()?.clone();
        let db = self.db.as_mut().ok_or_else(not_connected)?;
        let name = s.table_name_format.replace("${topic}", topic);
        let table = TableId::parse(db.dialect(), &name)?;
        let table = db.qualify(table).await?;
        self.tables_by_topic
            .insert(topic.to_string(), table.clone());
        Ok(table)
    }

    /// Makes sure the table exists with every column (`DbStructure.createOrAmendIfNecessary`).
    async fn ensure_table(&mut self, table: &TableId, fields: &Fields) -> Result<()> {
        let s = self.settings()?.clone();
        let db = self.db.as_mut().ok_or_else(not_connected)?;
        let dialect = db.dialect();
        if !self.table_columns.contains_key(table) {
            match db.describe_table(table).await? {
                Some(cols) => {
                    self.table_columns.insert(table.clone(), cols);
                }
                None => {
                    if !s.auto_create {
                        return Err(ConnectError::data(format!(
                            "Table {} is missing and auto-creation is disabled",
                            table.quoted(dialect, true)
                        )));
                    }
                    let sql = create_table_sql(&s, dialect, table, fields)?;
                    tracing::info!(table = %table, "Creating table with SQL: {sql}");
                    db.execute_simple(&sql).await?;
                    let cols = db.describe_table(table).await?.unwrap_or_default();
                    self.table_columns.insert(table.clone(), cols);
                    return Ok(());
                }
            }
        }
        let existing = self.table_columns.get(table).cloned().unwrap_or_default();
        let has = |n: &str| {
            existing.iter().any(|c| c.name == n)
                || existing.iter().any(|c| c.name.eq_ignore_ascii_case(n))
        };
        let missing: Vec<&Column> = fields
            .create_order
            .iter()
            .filter(|n| !has(n))
            .filter_map(|n| fields.column(n))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = missing.iter().map(|c| c.name.as_str()).collect();
        if !s.auto_evolve {
            return Err(ConnectError::data(format!(
                "Table {} is missing fields ({}) and auto-evolution is disabled",
                table.quoted(dialect, true),
                names.join(", ")
            )));
        }
        let mut specs = Vec::new();
        for c in &missing {
            if !c.schema.optional && c.schema.default.is_none() {
                return Err(ConnectError::data(format!(
                    "Cannot ALTER TABLE {} to add missing field {}, as the field is not optional and does not have a default value",
                    table.quoted(dialect, true),
                    c.name
                )));
            }
            specs.push(column_spec(&s, dialect, table, c)?);
        }
        let t = table.quoted(dialect, s.quote);
        let statements: Vec<String> = if dialect == Dialect::Sqlite {
            specs
                .iter()
                .map(|c| format!("ALTER TABLE {t} ADD {c}"))
                .collect()
        } else {
            let adds: Vec<String> = specs.iter().map(|c| format!("ADD {c}")).collect();
            vec![format!("ALTER TABLE {t} {}", adds.join(", "))]
        };
        for sql in statements {
            tracing::info!(table = %table, "Amending table with SQL: {sql}");
            db.execute_simple(&sql).await?;
        }
        let cols = db.describe_table(table).await?.unwrap_or_default();
        self.table_columns.insert(table.clone(), cols);
        Ok(())
    }

    /// Writes a buffer's rows: writes, then deletes.
    async fn flush(&mut self, buffer: &mut Buffer) -> Result<()> {
        let Some(st) = buffer.statements.clone() else {
            return Ok(());
        };
        let db = self.db.as_mut().ok_or_else(not_connected)?;
        if !buffer.writes.is_empty() {
            db.execute_batch(
                &st.write,
                st.write_shape.as_ref(),
                &st.write_names,
                &buffer.writes,
            )
            .await
            .map_err(|e| in_table(e, &buffer.table))?;
        }
        if let Some(delete) = &st.delete {
            if !buffer.deletes.is_empty() {
                db.execute_batch(delete, None, &[], &buffer.deletes)
                    .await
                    .map_err(|e| in_table(e, &buffer.table))?;
            }
        }
        buffer.writes.clear();
        buffer.deletes.clear();
        buffer.write_records.clear();
        buffer.delete_records.clear();
        Ok(())
    }

    /// Writes `records` in the current transaction. Records that cannot be turned into rows
    /// are reported as errant (the runtime tolerates or fails per `errors.tolerance`).
    async fn write(&mut self, records: &[SinkRecord], report: bool) -> Result<()> {
        let s = self.settings()?.clone();
        let dialect = self.db.as_ref().ok_or_else(not_connected)?.dialect();
        let mut buffers: Vec<Buffer> = Vec::new();
        // The buffer of the last record's topic: records of one topic in a row look up their
        // table once, not once each.
        let mut last: Option<(Topic, usize)> = None;
        for (i, r) in records.iter().enumerate() {
            match self.add(&s, dialect, &mut buffers, &mut last, i, r).await {
                Ok(()) => {}
                Err(e) if report && e.kind() == ErrorKind::Data => {
                    tracing::warn!("Reporting an errant record: {e}");
                    if let Some(ctx) = &self.context {
                        ctx.report_errant(r, e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        for b in &mut buffers {
            self.flush(b).await?;
        }
        Ok(())
    }

    async fn add(
        &mut self,
        s: &SinkSettings,
        dialect: Dialect,
        buffers: &mut Vec<Buffer>,
        last: &mut Option<(Topic, usize)>,
        index: usize,
        r: &SinkRecord,
    ) -> Result<()> {
        let rec = &r.record;
        let tombstone = rec.value.is_null();
        if tombstone && !s.delete_enabled {
            return Err(ConnectError::data(format!(
                "Sink connector is configured with 'delete.enabled=false' and 'pk.mode={}' and therefore requires records with a non-null Struct value and non-null Struct schema, but found record at (topic='{}',partition={},offset={}) with a null value and null value schema.",
                s.pk_mode.name(),
                rec.topic,
                rec.kafka_partition.unwrap_or(0),
                r.kafka_offset
            )));
        }
        if !tombstone && (rec.value_schema.is_none() || !matches!(rec.value, Value::Struct(_))) {
            return Err(ConnectError::data(format!(
                "Sink connector requires records with a non-null Struct value and non-null Struct schema, but found record at (topic='{}',partition={},offset={}) with a {} value and {} value schema.",
                rec.topic,
                rec.kafka_partition.unwrap_or(0),
                r.kafka_offset,
                rec.value.java_class_name(),
                if rec.value_schema.is_some() { "non-null" } else { "null" }
            )));
        }
        let pos = match last {
            Some((topic, pos)) if **topic == *rec.topic => *pos,
            _ => {
                let table = self.destination(&rec.topic).await?;
                let pos = match buffers.iter().position(|b| b.table == table) {
                    Some(p) => p,
                    None => {
                        buffers.push(empty_buffer(&table));
                        buffers.len() - 1
                    }
                };
                *last = Some((rec.topic.clone(), pos));
                pos
            }
        };
        // A schema change (a tombstone has no value schema: only its key counts), or a write
        // after a delete, flushes first.
        let key_changed = !same_schema(&buffers[pos].key_schema, &rec.key_schema);
        let value_changed =
            !tombstone && !same_schema(&buffers[pos].value_schema, &rec.value_schema);
        let needs_new = buffers[pos].statements.is_none() || key_changed || value_changed;
        if needs_new || (!tombstone && !buffers[pos].deletes.is_empty()) {
            self.flush(&mut buffers[pos]).await?;
        }
        if needs_new {
            let table = buffers[pos].table.clone();
            let value_schema = if tombstone {
                buffers[pos].value_schema.clone()
            } else {
                rec.value_schema.clone()
            };
            let fields =
                Fields::extract(s, &table, rec.key_schema.as_ref(), value_schema.as_ref())?;
            if value_schema.is_some() {
                self.ensure_table(&table, &fields).await?;
            }
            let st = build_statements(s, dialect, &table, &fields)?;
            let b = &mut buffers[pos];
            b.key_schema = rec.key_schema.clone();
            b.value_schema = value_schema;
            b.statements = Some(Arc::new(st));
        }
        let b = &mut buffers[pos];
        let st = b
            .statements
            .clone()
            .ok_or_else(|| ConnectError::illegal_state("no statements"))?;
        if tombstone {
            let fields = Fields::extract(s, &b.table, rec.key_schema.as_ref(), None)?;
            let mut row = Vec::with_capacity(fields.key.len());
            for c in &fields.key {
                row.push(column_value(&b.table, c, r)?);
            }
            if st.delete.is_none() {
                let dm = build_statements(s, dialect, &b.table, &fields)?;
                b.statements = Some(Arc::new(Statements {
                    delete: dm.delete,
                    ..(*st).clone()
                }));
            }
            b.deletes.push(row);
            b.delete_records.push(index);
        } else {
            let mut row = Vec::with_capacity(st.write_columns.len());
            for c in &st.write_columns {
                row.push(column_value(&b.table, c, r)?);
            }
            b.writes.push(row);
            b.write_records.push(index);
        }
        if b.writes.len() + b.deletes.len() >= s.batch_size {
            self.flush(&mut buffers[pos]).await?;
        }
        Ok(())
    }

    /// One put attempt: connect if needed, write everything, commit.
    async fn attempt(&mut self, records: &[SinkRecord], report: bool) -> Result<()> {
        if self.db.is_none() {
            let s = self.settings()?.clone();
            self.db = Some(Db::connect(&s.connection).await?);
        }
        let db = self.db.as_mut().ok_or_else(not_connected)?;
        db.begin().await?;
        let written = self.write(records, report).await;
        let db = self.db.as_mut().ok_or_else(not_connected)?;
        match written {
            Ok(()) => db.commit().await,
            Err(e) => {
                let _ = db.rollback().await;
                Err(e)
            }
        }
    }

    /// After the retries: each record in a transaction of its own; failing records are
    /// reported as errant (Confluent's `unrollAndRetry`).
    async fn write_one_by_one(&mut self, records: &[SinkRecord]) -> Result<()> {
        for r in records {
            match self.attempt(std::slice::from_ref(r), true).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Data => {
                    self.table_columns.clear();
                    if let Some(ctx) = &self.context {
                        ctx.report_errant(r, e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn drop_connection(&mut self) {
        if let Some(db) = self.db.take() {
            tokio::spawn(db.close());
        }
    }
}

/// Whether two schemas are equal, without comparing them field by field when they are the
/// same allocation (the converter hands out one schema for a run of equal ones).
fn same_schema(a: &Option<SchemaRef>, b: &Option<SchemaRef>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        (None, None) => true,
        _ => false,
    }
}

fn empty_buffer(table: &TableId) -> Buffer {
    Buffer {
        table: table.clone(),
        key_schema: None,
        value_schema: None,
        statements: None,
        writes: Vec::new(),
        deletes: Vec::new(),
        write_records: Vec::new(),
        delete_records: Vec::new(),
    }
}

fn not_connected() -> ConnectError {
    ConnectError::retriable("not connected to the database")
}

fn in_table(e: ConnectError, table: &TableId) -> ConnectError {
    let msg = e.message().to_string();
    if msg.contains(&table.table) {
        e
    } else {
        ConnectError::new(e.kind(), format!("Writing to table {table}: {msg}")).with_source(e)
    }
}

#[async_trait]
impl SinkTask for JdbcSinkTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> Result<()> {
        let s = SinkSettings::parse(context.configs())?;
        self.remaining_retries = s.max_retries;
        tracing::info!(
            database = %s.connection.url.address(),
            "Starting JDBC sink task"
        );
        self.settings = Some(s);
        self.context = Some(context);
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let s = self.settings()?.clone();
        match self.attempt(records, true).await {
            Ok(()) => {
                self.remaining_retries = s.max_retries;
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::Retriable | ErrorKind::Data) => {
                // Table metadata may be stale after a failure (a rolled-back CREATE).
                self.table_columns.clear();
                if e.kind() == ErrorKind::Retriable {
                    self.drop_connection();
                }
                if self.remaining_retries > 0 {
                    self.remaining_retries -= 1;
                    tracing::warn!(
                        "Write of {} records failed, remaining retries={}: {e}",
                        records.len(),
                        self.remaining_retries
                    );
                    if let Some(ctx) = &self.context {
                        ctx.timeout(s.retry_backoff_ms);
                    }
                    return Err(ConnectError::retriable(e.message().to_string()).with_source(e));
                }
                self.remaining_retries = s.max_retries;
                if e.kind() == ErrorKind::Data {
                    tracing::warn!("Write failed after retries; writing records one by one: {e}");
                    return self.write_one_by_one(records).await;
                }
                Err(ConnectError::fatal(format!(
                    "Exiting WorkerSinkTask due to unrecoverable exception: {}",
                    e.message()
                ))
                .with_source(e))
            }
            Err(e) => Err(e),
        }
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(db) = self.db.take() {
            db.close().await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{schemas, SchemaBuilder};

    fn settings(extra: &[(&str, &str)]) -> SinkSettings {
        let mut raw = RawConfig::new();
        raw.insert("connection.url".into(), "jdbc:postgresql://h/db".into());
        for (k, v) in extra {
            raw.insert((*k).into(), (*v).into());
        }
        SinkSettings::parse(&raw).unwrap()
    }

    fn value_schema() -> SchemaRef {
        SchemaBuilder::structure()
            .field("id", schemas::int32())
            .unwrap()
            .field("name", schemas::optional_string())
            .unwrap()
            .field("qty", schemas::optional_int32())
            .unwrap()
            .build()
    }

    #[test]
    fn upserts_as_confluent_writes_them() {
        let s = settings(&[
            ("insert.mode", "upsert"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
        ]);
        let t = TableId::new(None, Some("public".into()), "orders");
        let f = Fields::extract(&s, &t, None, Some(&value_schema())).unwrap();
        let st = build_statements(&s, Dialect::Postgres, &t, &f).unwrap();
        assert_eq!(
            st.write,
            r#"INSERT INTO "public"."orders" ("id","name","qty") VALUES ($1,$2,$3) ON CONFLICT ("id") DO UPDATE SET "name"=EXCLUDED."name","qty"=EXCLUDED."qty""#
        );
        let m = TableId::new(Some("shop".into()), None, "orders");
        let st = build_statements(&s, Dialect::MySql, &m, &f).unwrap();
        assert_eq!(
            st.write,
            "insert into `shop`.`orders`(`id`,`name`,`qty`) values(?,?,?) on duplicate key update `name`=values(`name`),`qty`=values(`qty`)"
        );
        let create = create_table_sql(&s, Dialect::Postgres, &t, &f).unwrap();
        assert_eq!(
            create,
            "CREATE TABLE \"public\".\"orders\" (\n\"id\" INT NOT NULL,\n\"name\" TEXT NULL,\n\"qty\" INT NULL,\nPRIMARY KEY(\"id\"))"
        );
    }

    #[test]
    fn update_and_delete() {
        let s = settings(&[
            ("insert.mode", "update"),
            ("pk.mode", "record_key"),
            ("pk.fields", "id"),
            ("delete.enabled", "true"),
        ]);
        let t = TableId::new(None, Some("public".into()), "t");
        let f = Fields::extract(&s, &t, Some(&schemas::int32()), Some(&value_schema())).unwrap();
        let st = build_statements(&s, Dialect::Postgres, &t, &f).unwrap();
        assert_eq!(
            st.write,
            r#"UPDATE "public"."t" SET "name" = $1, "qty" = $2 WHERE "id" = $3"#
        );
        assert_eq!(
            st.delete.as_deref(),
            Some(r#"DELETE FROM "public"."t" WHERE "id" = $1"#)
        );
    }

    #[test]
    fn kafka_keys_and_whitelist() {
        let s = settings(&[("pk.mode", "kafka"), ("fields.whitelist", "name")]);
        let t = TableId::new(None, Some("public".into()), "t");
        let f = Fields::extract(&s, &t, None, Some(&value_schema())).unwrap();
        assert_eq!(
            f.create_order,
            vec![
                "__connect_topic",
                "__connect_partition",
                "__connect_offset",
                "name"
            ]
        );
        let st = build_statements(&s, Dialect::MySql, &t, &f).unwrap();
        assert_eq!(
            st.write,
            "INSERT INTO `public`.`t`(`__connect_topic`,`__connect_partition`,`__connect_offset`,`name`) VALUES(?,?,?,?)"
        );
    }

    #[test]
    fn key_errors_name_table_and_field() {
        let s = settings(&[("pk.mode", "record_key"), ("pk.fields", "order_id")]);
        let t = TableId::new(None, Some("public".into()), "orders");
        let key = SchemaBuilder::structure()
            .field("id", schemas::int32())
            .unwrap()
            .build();
        let e = Fields::extract(&s, &t, Some(&key), Some(&value_schema())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Data);
        assert!(
            e.to_string().contains("public.orders") && e.to_string().contains("order_id"),
            "{e}"
        );
        let e = Fields::extract(&s, &t, None, Some(&value_schema())).unwrap_err();
        assert!(
            e.to_string().contains("record key schema is missing"),
            "{e}"
        );
    }

    #[test]
    fn values_by_schema() {
        let t = TableId::new(None, None, "t");
        let dec = logical::decimal(2);
        assert_eq!(
            to_sql(&t, "price", &dec, &Value::Bytes(vec![0x30, 0x39])).unwrap(),
            SqlValue::Decimal("123.45".into())
        );
        let ts = logical::timestamp_builder().build();
        assert_eq!(
            to_sql(&t, "ts", &ts, &Value::Int64(1_785_501_296_789)).unwrap(),
            SqlValue::Timestamp(1_785_501_296_789_000)
        );
        let e = to_sql(&t, "id", &schemas::int32(), &Value::Null).unwrap_err();
        assert!(
            e.to_string().contains("id") && e.to_string().contains("t"),
            "{e}"
        );
    }

    #[test]
    fn config_errors() {
        let mut raw = RawConfig::new();
        raw.insert("connection.url".into(), "jdbc:postgresql://h/db".into());
        raw.insert("delete.enabled".into(), "true".into());
        let e = SinkSettings::parse(&raw).unwrap_err();
        assert!(e.to_string().contains("record_key"), "{e}");
    }

    #[test]
    fn decimals() {
        assert_eq!(plain_decimal("-12345", 2), "-123.45");
        assert_eq!(plain_decimal("5", 3), "0.005");
        assert_eq!(plain_decimal("5", 0), "5");
        assert_eq!(plain_decimal("5", -2), "500");
    }
}
