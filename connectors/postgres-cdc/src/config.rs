//! Every key of the connector, defined once with Debezium's names, defaults and validators,
//! and the parsed [`Settings`] the connector and task run on.

use std::time::Duration;

use regex::Regex;
use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigType, Importance, Parsed, RawConfig, Validator,
};
use sluice_api::{ConnectError, Result};

pub const HOSTNAME: &str = "database.hostname";
pub const PORT: &str = "database.port";
pub const USER: &str = "database.user";
pub const PASSWORD: &str = "database.password";
pub const DBNAME: &str = "database.dbname";
pub const SSLMODE: &str = "database.sslmode";
pub const SSLROOTCERT: &str = "database.sslrootcert";
pub const SSLCERT: &str = "database.sslcert";
pub const SSLKEY: &str = "database.sslkey";
pub const INITIAL_STATEMENTS: &str = "database.initial.statements";
pub const TOPIC_PREFIX: &str = "topic.prefix";
pub const PLUGIN_NAME: &str = "plugin.name";
pub const SLOT_NAME: &str = "slot.name";
pub const SLOT_DROP_ON_STOP: &str = "slot.drop.on.stop";
pub const SLOT_MAX_RETRIES: &str = "slot.max.retries";
pub const SLOT_RETRY_DELAY_MS: &str = "slot.retry.delay.ms";
pub const PUBLICATION_NAME: &str = "publication.name";
pub const PUBLICATION_AUTOCREATE_MODE: &str = "publication.autocreate.mode";
pub const SCHEMA_INCLUDE_LIST: &str = "schema.include.list";
pub const SCHEMA_EXCLUDE_LIST: &str = "schema.exclude.list";
pub const TABLE_INCLUDE_LIST: &str = "table.include.list";
pub const TABLE_EXCLUDE_LIST: &str = "table.exclude.list";
pub const COLUMN_INCLUDE_LIST: &str = "column.include.list";
pub const COLUMN_EXCLUDE_LIST: &str = "column.exclude.list";
pub const MESSAGE_KEY_COLUMNS: &str = "message.key.columns";
pub const SNAPSHOT_MODE: &str = "snapshot.mode";
pub const SNAPSHOT_ISOLATION_MODE: &str = "snapshot.isolation.mode";
pub const TOMBSTONES_ON_DELETE: &str = "tombstones.on.delete";
pub const DECIMAL_HANDLING_MODE: &str = "decimal.handling.mode";
pub const TIME_PRECISION_MODE: &str = "time.precision.mode";
pub const BINARY_HANDLING_MODE: &str = "binary.handling.mode";
pub const HSTORE_HANDLING_MODE: &str = "hstore.handling.mode";
pub const INTERVAL_HANDLING_MODE: &str = "interval.handling.mode";
pub const MONEY_FRACTION_DIGITS: &str = "money.fraction.digits";
pub const INCLUDE_UNKNOWN_DATATYPES: &str = "include.unknown.datatypes";
pub const UNAVAILABLE_VALUE_PLACEHOLDER: &str = "unavailable.value.placeholder";
pub const HEARTBEAT_INTERVAL_MS: &str = "heartbeat.interval.ms";
pub const HEARTBEAT_ACTION_QUERY: &str = "heartbeat.action.query";
pub const MESSAGE_PREFIX_INCLUDE_LIST: &str = "message.prefix.include.list";
pub const MESSAGE_PREFIX_EXCLUDE_LIST: &str = "message.prefix.exclude.list";
pub const TOPIC_HEARTBEAT_PREFIX: &str = "topic.heartbeat.prefix";
pub const TOPIC_DELIMITER: &str = "topic.delimiter";
pub const TOPIC_TRANSACTION: &str = "topic.transaction";
pub const SKIPPED_OPERATIONS: &str = "skipped.operations";
pub const TRUNCATE_HANDLING_MODE: &str = "truncate.handling.mode";
pub const PROVIDE_TRANSACTION_METADATA: &str = "provide.transaction.metadata";
pub const MAX_BATCH_SIZE: &str = "max.batch.size";
pub const MAX_QUEUE_SIZE: &str = "max.queue.size";
pub const POLL_INTERVAL_MS: &str = "poll.interval.ms";
pub const STATUS_UPDATE_INTERVAL_MS: &str = "status.update.interval.ms";
pub const ERRORS_MAX_RETRIES: &str = "errors.max.retries";
pub const RETRIABLE_RESTART_WAIT_MS: &str = "retriable.restart.connector.wait.ms";

fn key(name: &str, t: ConfigType, default: Option<&str>, imp: Importance, doc: &str) -> ConfigKey {
    let k = ConfigKey::new(name, t).importance(imp).doc(doc);
    match default {
        Some(d) => k.default_value(d),
        None => k.default_null(),
    }
}

/// The connector's keys, as Debezium defines them.
pub fn config_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    ConfigDef::new()
        .define(ConfigKey::new(TOPIC_PREFIX, String).validator(Validator::NonEmptyString).importance(High)
            .doc("Topic prefix that identifies and provides a namespace for the particular database server/cluster is capturing changes. The topic prefix should be unique across all other connectors, since it is used as a prefix for all Kafka topic names that receive events emitted by this connector. Only alphanumeric characters, hyphens, dots and underscores must be accepted."))
        .define(ConfigKey::new(HOSTNAME, String).validator(Validator::NonEmptyString).importance(High)
            .doc("Resolvable hostname or IP address of the database server."))
        .define(key(PORT, Int, Some("5432"), High, "Port of the database server.").validator(Validator::between(1.0, 65535.0)))
        .define(ConfigKey::new(USER, String).validator(Validator::NonEmptyString).importance(High)
            .doc("Name of the database user to be used when connecting to the database."))
        .define(key(PASSWORD, Password, None, High, "Password of the database user to be used when connecting to the database."))
        .define(ConfigKey::new(DBNAME, String).validator(Validator::NonEmptyString).importance(High)
            .doc("The name of the database from which the connector should capture changes"))
        .define(key(SSLMODE, String, Some("prefer"), Medium, "Whether to use an encrypted connection to Postgres. Options include: 'disable' to use an unencrypted connection; 'allow' to try and use an unencrypted connection first and, failing that, a secure (encrypted) connection; 'prefer' (the default) to try and use a secure (encrypted) connection first and, failing that, an unencrypted connection; 'require' to use a secure (encrypted) connection, and fail if one cannot be established; 'verify-ca' like 'require' but additionally verify the server TLS certificate against the configured Certificate Authority (CA) certificates, or fail if no valid matching CA certificates are found; or 'verify-full' like 'verify-ca' but additionally verify that the server certificate matches the host to which the connection is attempted.")
            .validator(Validator::OneOfIgnoreCase(vec!["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])))
        .define(key(SSLROOTCERT, String, None, Medium, "File containing the root certificate(s) against which the server is validated."))
        .define(key(SSLCERT, String, None, Medium, "File containing the SSL Certificate for the client."))
        .define(key(SSLKEY, String, None, Medium, "File containing the SSL private key for the client."))
        .define(key(INITIAL_STATEMENTS, String, None, Low, "A semicolon separated list of SQL statements to be executed when a JDBC connection (not binlog reading connection) to the database is established. Use doubled semicolon (';;') to use a semicolon as a character and not as a delimiter."))
        .define(key(PLUGIN_NAME, String, Some("decoderbufs"), Medium, "The name of the Postgres logical decoding plugin installed on the server. Supported values are 'decoderbufs' and 'pgoutput'. Sluice supports only 'pgoutput', which is built into PostgreSQL 10 and later.")
            .validator(Validator::OneOfIgnoreCase(vec!["decoderbufs", "pgoutput"])))
        .define(key(SLOT_NAME, String, Some("debezium"), Medium, "The name of the Postgres logical decoding slot created for streaming changes from a plugin. Defaults to 'debezium'"))
        .define(key(SLOT_DROP_ON_STOP, Boolean, Some("false"), Medium, "Whether or not to drop the logical replication slot when the connector finishes orderly. By default the replication is kept so that on restart progress can resume from the last recorded location"))
        .define(key(SLOT_MAX_RETRIES, Int, Some("6"), Low, "How many times to retry connecting to a replication slot when an attempt fails.").validator(Validator::at_least(1.0)))
        .define(key(SLOT_RETRY_DELAY_MS, Long, Some("10000"), Low, "Time to wait between retry attempts when the connector fails to connect to a replication slot, given in milliseconds. Defaults to 10 seconds (10,000 ms).").validator(Validator::at_least(0.0)))
        .define(key(PUBLICATION_NAME, String, Some("dbz_publication"), Low, "The name of the Postgres 10+ publication used for streaming changes from a plugin. Defaults to 'dbz_publication'"))
        .define(key(PUBLICATION_AUTOCREATE_MODE, String, Some("all_tables"), Low, "Applies only when streaming changes using pgoutput. Determine how creation of a publication should work, the default is all_tables. DISABLED - The connector will not attempt to create a publication at all. The expectation is that the user has created the publication up-front. If the publication isn't found to exist upon startup, the connector will throw an exception and stop. ALL_TABLES - If no publication exists, the connector will create a new publication for all tables. Note this requires that the configured user has access. If the publication already exists, it will be used. i.e CREATE PUBLICATION <publication_name> FOR ALL TABLES; FILTERED - If no publication exists, the connector will create a new publication for all those tables matching the current filter configuration (see table/database include/exclude list properties). If the publication already exists, it will be used. i.e CREATE PUBLICATION <publication_name> FOR TABLE <tbl1, tbl2, etc>; NO_TABLES - If no publication exists, the connector will create a new publication without any table.")
            .validator(Validator::OneOfIgnoreCase(vec!["disabled", "all_tables", "filtered", "no_tables"])))
        .define(key(SCHEMA_INCLUDE_LIST, List, Some(""), Medium, "The schemas for which events should be captured (regular expressions, matched against the whole schema name)."))
        .define(key(SCHEMA_EXCLUDE_LIST, List, Some(""), Medium, "The schemas for which events must not be captured (regular expressions)."))
        .define(key(TABLE_INCLUDE_LIST, List, Some(""), Medium, "The tables for which changes are to be captured (regular expressions over 'schema.table')."))
        .define(key(TABLE_EXCLUDE_LIST, List, Some(""), Medium, "A comma-separated list of regular expressions that match the fully-qualified names of tables to be excluded from monitoring"))
        .define(key(COLUMN_INCLUDE_LIST, List, Some(""), Medium, "Regular expressions matching columns to include in change events ('schema.table.column')."))
        .define(key(COLUMN_EXCLUDE_LIST, List, Some(""), Medium, "Regular expressions matching columns to exclude from change events ('schema.table.column')."))
        .define(key(MESSAGE_KEY_COLUMNS, String, None, Low, "A semicolon-separated list of expressions that match fully-qualified tables and column(s) to be used as message key. Each expression must match the pattern '<fully-qualified table name>:<key columns>', where the table names could be defined as (DB_NAME.TABLE_NAME) or (SCHEMA_NAME.TABLE_NAME), depending on the specific connector, and the key columns are a comma-separated list of columns representing the custom key. For any table without an explicit key configuration the table's primary key column(s) will be used as message key. Example: dbserver1.inventory.orderlines:orderId,orderLineId;dbserver1.inventory.orders:id"))
        .define(key(SNAPSHOT_MODE, String, Some("initial"), Low, "The criteria for running a snapshot upon startup of the connector. Select one of the following snapshot options: 'always': The connector runs a snapshot every time that it starts. After the snapshot completes, the connector begins to stream changes from the transaction log.; 'initial' (default): If the connector does not detect any offsets for the logical server name, it runs a snapshot that captures the current full state of the configured tables. After the snapshot completes, the connector begins to stream changes from the transaction log. 'initial_only': The connector performs a snapshot as it does for the 'initial' option, but after the connector completes the snapshot, it stops, and does not stream changes from the transaction log.; 'never': The connector does not run a snapshot. Upon first startup, the connector immediately begins reading from the beginning of the transaction log. 'no_data': The connector captures only the structure of all relevant tables; 'when_needed': On startup, the connector runs a snapshot if one is needed.")
            .validator(Validator::OneOfIgnoreCase(vec!["always", "initial", "initial_only", "never", "no_data", "when_needed", "configuration_based", "custom"])))
        .define(key(SNAPSHOT_ISOLATION_MODE, String, Some("serializable"), Low, "Controls which transaction isolation level is used. The default is 'serializable', which means that serializable isolation level is used. When 'repeatable_read' is specified, connector will use repeatable read isolation level. When 'read_committed' is specified, connector will use read committed isolation level. In addition, 'read_uncommitted' can be used, which means the connector will use read uncommitted isolation level. A snapshot under the slot's exported snapshot always reads at repeatable read (PostgreSQL imports snapshots only there); read_committed and read_uncommitted then read a fresh view instead, and changes committed around the slot's creation may show twice.")
            .validator(Validator::OneOfIgnoreCase(vec!["serializable", "repeatable_read", "read_committed", "read_uncommitted"])))
        .define(key(TOMBSTONES_ON_DELETE, Boolean, Some("true"), High, "Whether delete operations should be represented by a delete event and a subsequent tombstone event (true) or only by a delete event (false). Emitting the tombstone event (the default behavior) allows Kafka to completely delete all events pertaining to the given key once the source record got deleted."))
        .define(key(DECIMAL_HANDLING_MODE, String, Some("precise"), Medium, "Specify how DECIMAL and NUMERIC columns should be represented in change events, including: 'precise' (the default) uses java.math.BigDecimal to represent values, which are encoded in the change events using a binary representation and Kafka Connect's 'org.apache.kafka.connect.data.Decimal' type; 'string' uses string to represent values; 'double' represents values using Java's 'double', which may not offer the precision but will be far easier to use in consumers.")
            .validator(Validator::OneOfIgnoreCase(vec!["precise", "string", "double"])))
        .define(key(TIME_PRECISION_MODE, String, Some("adaptive"), Medium, "Time, date, and timestamps can be represented with different kinds of precisions, including: 'adaptive' (the default) bases the precision of time, date, and timestamp values on the database column's precision; 'adaptive_time_microseconds' like 'adaptive' mode, but TIME fields always use microseconds precision; 'connect' always represents time, date, and timestamp values using Kafka Connect's built-in representations for Time, Date, and Timestamp, which uses millisecond precision regardless of the database columns' precision.")
            .validator(Validator::OneOfIgnoreCase(vec!["adaptive", "adaptive_time_microseconds", "connect"])))
        .define(key(BINARY_HANDLING_MODE, String, Some("bytes"), Low, "Specify how binary (blob, binary, etc.) columns should be represented in change events, including: 'bytes' represents binary data as byte array (default); 'base64' represents binary data as base64-encoded string; 'base64-url-safe' represents binary data as base64-url-safe-encoded string; 'hex' represents binary data as hex-encoded (base16) string")
            .validator(Validator::OneOfIgnoreCase(vec!["bytes", "base64", "base64-url-safe", "hex"])))
        .define(key(HSTORE_HANDLING_MODE, String, Some("json"), Low, "Specify how HSTORE columns should be represented in change events, including: 'json' represents values as string-ified JSON (default); 'map' represents values as a key/value map")
            .validator(Validator::OneOfIgnoreCase(vec!["json", "map"])))
        .define(key(INTERVAL_HANDLING_MODE, String, Some("numeric"), Low, "Specify how INTERVAL columns should be represented in change events, including: 'string' represents values as an exact ISO formatted string; 'numeric' (default) represents values using the inexact conversion into microseconds")
            .validator(Validator::OneOfIgnoreCase(vec!["numeric", "string"])))
        .define(key(MONEY_FRACTION_DIGITS, Short, Some("2"), Low, "Number of fractional digits when money type is converted to 'precise' decimal number."))
        .define(key(INCLUDE_UNKNOWN_DATATYPES, Boolean, Some("false"), Low, "Specify whether the fields of data type not supported by Debezium should be processed: 'false' (the default) omits the fields; 'true' converts the field into an implementation dependent binary representation."))
        .define(key(UNAVAILABLE_VALUE_PLACEHOLDER, String, Some("__debezium_unavailable_value"), Medium, "Specify the constant that will be provided by Debezium to indicate that the original value is a toasted value not provided by the database. If starts with 'hex:' prefix it is expected that the rest of the string represents hexadecimal encoded octets."))
        .define(key(HEARTBEAT_INTERVAL_MS, Int, Some("0"), Medium, "Length of an interval in milli-seconds in in which the connector periodically sends heartbeat messages to a heartbeat topic. Use 0 to disable heartbeat messages. Disabled by default.").validator(Validator::at_least(0.0)))
        .define(key(HEARTBEAT_ACTION_QUERY, String, None, Medium, "The query executed with every heartbeat."))
        .define(key(MESSAGE_PREFIX_INCLUDE_LIST, List, Some(""), Medium, "A comma-separated list of regular expressions that match the logical decoding message prefixes to be monitored. All prefixes are monitored by default."))
        .define(key(MESSAGE_PREFIX_EXCLUDE_LIST, List, Some(""), Medium, "A comma-separated list of regular expressions that match the logical decoding message prefixes to be excluded from monitoring."))
        .define(key(TOPIC_HEARTBEAT_PREFIX, String, Some("__debezium-heartbeat"), Low, "The prefix that is used to name heartbeat topics.Defaults to __debezium-heartbeat."))
        .define(key(TOPIC_DELIMITER, String, Some("."), Low, "Specify the delimiter for topic name."))
        .define(key(TOPIC_TRANSACTION, String, Some("transaction"), Low, "The name of the transaction metadata topic. The full topic name is <topic.prefix>.<topic.transaction>."))
        .define(key(SKIPPED_OPERATIONS, List, Some("t"), Low, "The comma-separated list of operations to skip during streaming, defined as: 'c' for inserts/create; 'u' for updates; 'd' for deletes, 't' for truncates, and 'none' to indicate nothing skipped. By default, only truncate operations will be skipped."))
        .define(key(TRUNCATE_HANDLING_MODE, String, None, Low, "Removed in Debezium 2.0 ('skipped.operations' replaced it); still read: 'include' emits truncate events, 'skip' drops them.")
            .validator(Validator::OneOfIgnoreCase(vec!["skip", "include"])))
        .define(key(PROVIDE_TRANSACTION_METADATA, Boolean, Some("false"), Low, "Enables transaction metadata extraction together with event counting"))
        .define(key(MAX_BATCH_SIZE, Int, Some("2048"), Medium, "Maximum size of each batch of source records. Defaults to 2048.").validator(Validator::at_least(1.0)))
        .define(key(MAX_QUEUE_SIZE, Int, Some("8192"), Medium, "Maximum size of the queue for change events read from the database log but not yet recorded or forwarded. Defaults to 8192, and should always be larger than the maximum batch size.").validator(Validator::at_least(1.0)))
        .define(key(POLL_INTERVAL_MS, Long, Some("500"), Medium, "Time to wait for new change events to appear after receiving no events, given in milliseconds. Defaults to 500 ms.").validator(Validator::at_least(1.0)))
        .define(key(STATUS_UPDATE_INTERVAL_MS, Int, Some("10000"), Medium, "Frequency for sending replication connection status updates to the server, given in milliseconds. Defaults to 10 seconds (10,000 ms).").validator(Validator::at_least(0.0)))
        .define(key(ERRORS_MAX_RETRIES, Int, Some("-1"), Low, "The maximum number of retries on connection errors before failing (-1 = no limit, 0 = disabled, > 0 = num of retries).").validator(Validator::at_least(-1.0)))
        .define(key(RETRIABLE_RESTART_WAIT_MS, Long, Some("10000"), Low, "Time to wait before restarting connector after retriable exception occurs. Defaults to 10000ms.").validator(Validator::at_least(0.0)))
}

/// `snapshot.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotMode {
    Initial,
    InitialOnly,
    NoData,
    Always,
    WhenNeeded,
}

/// `publication.autocreate.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutocreateMode {
    Disabled,
    AllTables,
    Filtered,
    NoTables,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalMode {
    Precise,
    Double,
    String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimePrecision {
    Adaptive,
    AdaptiveTimeMicroseconds,
    Connect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryMode {
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// A custom key for the tables one regex matches (`message.key.columns`).
#[derive(Clone, Debug)]
pub struct KeyColumns {
    pub table: Regex,
    pub columns: Vec<String>,
}

/// Which operations to emit (`skipped.operations`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    pub create: bool,
    pub update: bool,
    pub delete: bool,
    pub truncate: bool,
}

/// Connection settings shared by the SQL and the replication connections.
#[derive(Clone)]
pub struct ConnectionSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
    pub initial_statements: Vec<String>,
}

impl std::fmt::Debug for ConnectionSettings {
    // The password never shows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .finish()
    }
}

/// Everything the task runs on, parsed and checked.
#[derive(Clone, Debug)]
pub struct Settings {
    pub conn: ConnectionSettings,
    pub topic_prefix: String,
    pub slot_name: String,
    pub slot_drop_on_stop: bool,
    pub slot_max_retries: u32,
    pub slot_retry_delay: Duration,
    pub publication_name: String,
    pub autocreate: AutocreateMode,
    pub schema_include: Vec<Regex>,
    pub schema_exclude: Vec<Regex>,
    pub table_include: Vec<Regex>,
    pub table_exclude: Vec<Regex>,
    pub column_include: Vec<Regex>,
    pub column_exclude: Vec<Regex>,
    pub key_columns: Vec<KeyColumns>,
    pub snapshot_mode: SnapshotMode,
    /// `snapshot.isolation.mode`, lower case.
    pub snapshot_isolation: String,
    pub tombstones_on_delete: bool,
    pub decimal: DecimalMode,
    pub time_precision: TimePrecision,
    pub binary: BinaryMode,
    pub hstore_map: bool,
    pub interval_string: bool,
    pub money_fraction_digits: i32,
    pub include_unknown: bool,
    pub toast_placeholder: String,
    pub heartbeat_interval: Option<Duration>,
    pub heartbeat_action_query: Option<String>,
    /// `message.prefix.include.list` / `message.prefix.exclude.list`.
    pub message_prefix_include: Vec<Regex>,
    pub message_prefix_exclude: Vec<Regex>,
    pub heartbeat_topic: String,
    pub topic_delimiter: String,
    pub transaction_topic: String,
    pub skipped: Skipped,
    pub provide_transaction_metadata: bool,
    pub max_batch_size: usize,
    pub max_queue_size: usize,
    pub poll_interval: Duration,
    pub status_update_interval: Duration,
    pub errors_max_retries: i32,
    pub retry_wait: Duration,
}

fn err(key: &str, value: &str, what: &str) -> ConnectError {
    ConnectError::config(format!(
        "Invalid value {value} for configuration {key}: {what}"
    ))
}

/// Anchored, as Debezium matches include/exclude lists against the whole name.
fn regexes(key: &str, list: &[String]) -> Result<Vec<Regex>> {
    list.iter()
        .map(|p| {
            Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| err(key, p, &format!("not a valid regular expression: {e}")))
        })
        .collect()
}

/// The error for `plugin.name` values Sluice does not run.
pub fn plugin_error(value: &str) -> String {
    format!(
        "plugin.name={value} is not supported: the '{value}' logical decoding plugin is a server extension that Sluice does not read. Set plugin.name=pgoutput (built into PostgreSQL 10 and later; Debezium's default is decoderbufs, so a config without plugin.name needs it too)"
    )
}

/// Checks beyond the `ConfigDef`, as (key, message) pairs (`Connector.validate`).
pub fn extra_checks(raw: &RawConfig) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let plugin = raw
        .get(PLUGIN_NAME)
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "decoderbufs".to_string());
    if plugin != "pgoutput" {
        out.push((PLUGIN_NAME, plugin_error(&plugin)));
    }
    if let Some(mode) = raw
        .get(SNAPSHOT_MODE)
        .map(|s| s.trim().to_ascii_lowercase())
    {
        if mode == "configuration_based" || mode == "custom" {
            out.push((SNAPSHOT_MODE, format!("snapshot.mode={mode} is not supported by Sluice; use one of initial, initial_only, no_data (never), always, when_needed")));
        }
    }
    if let Some(v) = raw.get(MESSAGE_KEY_COLUMNS) {
        if let Err(e) = parse_key_columns(v) {
            out.push((MESSAGE_KEY_COLUMNS, e.message().to_string()));
        }
    }
    if let Some(v) = raw.get(SKIPPED_OPERATIONS) {
        if let Err(e) = parse_skipped(&sluice_api::config::parse_list(v)) {
            out.push((SKIPPED_OPERATIONS, e.message().to_string()));
        }
    }
    out
}

/// `message.key.columns`: `<table regex>:<col>,<col>;...`.
pub fn parse_key_columns(raw: &str) -> Result<Vec<KeyColumns>> {
    let mut out = Vec::new();
    for part in raw.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((table, cols)) = part.rsplit_once(':') else {
            return Err(err(
                MESSAGE_KEY_COLUMNS,
                raw,
                "each entry must be '<fully-qualified table>:<column>,<column>', e.g. 'inventory.orders:id'",
            ));
        };
        let columns: Vec<String> = cols
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        if columns.is_empty() {
            return Err(err(
                MESSAGE_KEY_COLUMNS,
                raw,
                "an entry names no key column",
            ));
        }
        let table = Regex::new(&format!("^(?:{})$", table.trim())).map_err(|e| {
            err(
                MESSAGE_KEY_COLUMNS,
                raw,
                &format!("bad table expression: {e}"),
            )
        })?;
        out.push(KeyColumns { table, columns });
    }
    Ok(out)
}

fn parse_skipped(list: &[String]) -> Result<Skipped> {
    let mut s = Skipped::default();
    for op in list {
        match op.trim() {
            "c" => s.create = true,
            "u" => s.update = true,
            "d" => s.delete = true,
            "t" => s.truncate = true,
            "none" => s = Skipped::default(),
            "" => {}
            other => {
                return Err(err(
                    SKIPPED_OPERATIONS,
                    other,
                    "allowed operations are c, u, d, t and none",
                ))
            }
        }
    }
    Ok(s)
}

impl Settings {
    pub fn parse(raw: &RawConfig) -> Result<Settings> {
        let def = config_def();
        let c = def
            .parse(raw)
            .map_err(|e| ConnectError::config(e.to_string()))?;
        if let Some((_, msg)) = extra_checks(raw).into_iter().next() {
            return Err(ConnectError::config(msg));
        }
        let s = |k: &str| c.string(k).unwrap_or_default().to_string();
        let opt = |k: &str| c.string(k).map(str::to_string).filter(|v| !v.is_empty());
        let lower = |k: &str| s(k).to_ascii_lowercase();
        let password = match c.get(PASSWORD) {
            Some(Parsed::Password(p)) | Some(Parsed::Str(p)) => Some(p.clone()),
            _ => None,
        };
        let snapshot_mode = match lower(SNAPSHOT_MODE).as_str() {
            "initial" => SnapshotMode::Initial,
            "initial_only" => SnapshotMode::InitialOnly,
            "no_data" | "never" => SnapshotMode::NoData,
            "always" => SnapshotMode::Always,
            "when_needed" => SnapshotMode::WhenNeeded,
            other => {
                return Err(err(
                    SNAPSHOT_MODE,
                    other,
                    "use one of initial, initial_only, no_data, never, always, when_needed",
                ))
            }
        };
        let autocreate = match lower(PUBLICATION_AUTOCREATE_MODE).as_str() {
            "disabled" => AutocreateMode::Disabled,
            "filtered" => AutocreateMode::Filtered,
            "no_tables" => AutocreateMode::NoTables,
            _ => AutocreateMode::AllTables,
        };
        let decimal = match lower(DECIMAL_HANDLING_MODE).as_str() {
            "double" => DecimalMode::Double,
            "string" => DecimalMode::String,
            _ => DecimalMode::Precise,
        };
        let time_precision = match lower(TIME_PRECISION_MODE).as_str() {
            "adaptive_time_microseconds" => TimePrecision::AdaptiveTimeMicroseconds,
            "connect" => TimePrecision::Connect,
            _ => TimePrecision::Adaptive,
        };
        let binary = match lower(BINARY_HANDLING_MODE).as_str() {
            "base64" => BinaryMode::Base64,
            "base64-url-safe" => BinaryMode::Base64UrlSafe,
            "hex" => BinaryMode::Hex,
            _ => BinaryMode::Bytes,
        };
        let sslmode = match lower(SSLMODE).as_str() {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => SslMode::Prefer,
        };
        let mut skipped = parse_skipped(&c.list(SKIPPED_OPERATIONS))?;
        match opt(TRUNCATE_HANDLING_MODE)
            .map(|m| m.to_ascii_lowercase())
            .as_deref()
        {
            Some("include") => skipped.truncate = false,
            Some("skip") => skipped.truncate = true,
            _ => {}
        }
        let heartbeat_ms = c.int(HEARTBEAT_INTERVAL_MS).unwrap_or(0);
        let delimiter = s(TOPIC_DELIMITER);
        let prefix = s(TOPIC_PREFIX);
        let initial_statements = opt(INITIAL_STATEMENTS)
            .map(|v| {
                v.replace(";;", "\u{0}")
                    .split(';')
                    .map(|p| p.replace('\u{0}', ";").trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Settings {
            conn: ConnectionSettings {
                host: s(HOSTNAME),
                port: u16::try_from(c.int(PORT).unwrap_or(5432)).unwrap_or(5432),
                user: s(USER),
                password,
                dbname: s(DBNAME),
                sslmode,
                sslrootcert: opt(SSLROOTCERT),
                sslcert: opt(SSLCERT),
                sslkey: opt(SSLKEY),
                initial_statements,
            },
            heartbeat_topic: format!("{}{}{}", s(TOPIC_HEARTBEAT_PREFIX), delimiter, prefix),
            transaction_topic: format!("{}{}{}", prefix, delimiter, s(TOPIC_TRANSACTION)),
            topic_prefix: prefix,
            slot_name: s(SLOT_NAME),
            slot_drop_on_stop: c.boolean(SLOT_DROP_ON_STOP).unwrap_or(false),
            slot_max_retries: u32::try_from(c.int(SLOT_MAX_RETRIES).unwrap_or(6)).unwrap_or(6),
            slot_retry_delay: Duration::from_millis(
                u64::try_from(c.long(SLOT_RETRY_DELAY_MS).unwrap_or(10_000)).unwrap_or(10_000),
            ),
            publication_name: s(PUBLICATION_NAME),
            autocreate,
            schema_include: regexes(SCHEMA_INCLUDE_LIST, &c.list(SCHEMA_INCLUDE_LIST))?,
            schema_exclude: regexes(SCHEMA_EXCLUDE_LIST, &c.list(SCHEMA_EXCLUDE_LIST))?,
            table_include: regexes(TABLE_INCLUDE_LIST, &c.list(TABLE_INCLUDE_LIST))?,
            table_exclude: regexes(TABLE_EXCLUDE_LIST, &c.list(TABLE_EXCLUDE_LIST))?,
            column_include: regexes(COLUMN_INCLUDE_LIST, &c.list(COLUMN_INCLUDE_LIST))?,
            column_exclude: regexes(COLUMN_EXCLUDE_LIST, &c.list(COLUMN_EXCLUDE_LIST))?,
            key_columns: opt(MESSAGE_KEY_COLUMNS)
                .map(|v| parse_key_columns(&v))
                .transpose()?
                .unwrap_or_default(),
            snapshot_mode,
            snapshot_isolation: lower(SNAPSHOT_ISOLATION_MODE),
            tombstones_on_delete: c.boolean(TOMBSTONES_ON_DELETE).unwrap_or(true),
            decimal,
            time_precision,
            binary,
            hstore_map: lower(HSTORE_HANDLING_MODE) == "map",
            interval_string: lower(INTERVAL_HANDLING_MODE) == "string",
            money_fraction_digits: i32::from(c.short(MONEY_FRACTION_DIGITS).unwrap_or(2)),
            include_unknown: c.boolean(INCLUDE_UNKNOWN_DATATYPES).unwrap_or(false),
            toast_placeholder: s(UNAVAILABLE_VALUE_PLACEHOLDER),
            heartbeat_interval: (heartbeat_ms > 0)
                .then(|| Duration::from_millis(u64::try_from(heartbeat_ms).unwrap_or(0))),
            heartbeat_action_query: opt(HEARTBEAT_ACTION_QUERY),
            message_prefix_include: regexes(
                MESSAGE_PREFIX_INCLUDE_LIST,
                &c.list(MESSAGE_PREFIX_INCLUDE_LIST),
            )?,
            message_prefix_exclude: regexes(
                MESSAGE_PREFIX_EXCLUDE_LIST,
                &c.list(MESSAGE_PREFIX_EXCLUDE_LIST),
            )?,
            topic_delimiter: delimiter,
            skipped,
            provide_transaction_metadata: c.boolean(PROVIDE_TRANSACTION_METADATA).unwrap_or(false),
            max_batch_size: usize::try_from(c.int(MAX_BATCH_SIZE).unwrap_or(2048)).unwrap_or(2048),
            max_queue_size: usize::try_from(c.int(MAX_QUEUE_SIZE).unwrap_or(8192)).unwrap_or(8192),
            poll_interval: Duration::from_millis(
                u64::try_from(c.long(POLL_INTERVAL_MS).unwrap_or(500)).unwrap_or(500),
            ),
            status_update_interval: Duration::from_millis(
                u64::try_from(c.int(STATUS_UPDATE_INTERVAL_MS).unwrap_or(10_000)).unwrap_or(10_000),
            ),
            errors_max_retries: c.int(ERRORS_MAX_RETRIES).unwrap_or(-1),
            retry_wait: Duration::from_millis(
                u64::try_from(c.long(RETRIABLE_RESTART_WAIT_MS).unwrap_or(10_000))
                    .unwrap_or(10_000),
            ),
        })
    }

    /// Whether a table `schema.table` is captured.
    /// Whether logical decoding messages with `prefix` become events.
    pub fn message_prefix_included(&self, prefix: &str) -> bool {
        let any = |list: &[Regex]| list.iter().any(|r| r.is_match(prefix));
        (self.message_prefix_include.is_empty() || any(&self.message_prefix_include))
            && !any(&self.message_prefix_exclude)
    }

    pub fn table_included(&self, schema: &str, table: &str) -> bool {
        let any = |list: &[Regex], s: &str| list.iter().any(|r| r.is_match(s));
        if !self.schema_include.is_empty() && !any(&self.schema_include, schema) {
            return false;
        }
        if any(&self.schema_exclude, schema) {
            return false;
        }
        let fq = format!("{schema}.{table}");
        if !self.table_include.is_empty() && !any(&self.table_include, &fq) {
            return false;
        }
        !any(&self.table_exclude, &fq)
    }

    /// Whether column `schema.table.column` is in change events.
    pub fn column_included(&self, schema: &str, table: &str, column: &str) -> bool {
        let fq = format!("{schema}.{table}.{column}");
        if !self.column_include.is_empty() {
            return self.column_include.iter().any(|r| r.is_match(&fq));
        }
        !self.column_exclude.iter().any(|r| r.is_match(&fq))
    }

    /// The custom key columns for `schema.table`, if `message.key.columns` names it.
    pub fn custom_key(&self, schema: &str, table: &str) -> Option<&[String]> {
        let fq = format!("{schema}.{table}");
        self.key_columns
            .iter()
            .find(|k| k.table.is_match(&fq))
            .map(|k| k.columns.as_slice())
    }

    /// The data topic of a table: `<prefix>.<schema>.<table>`, invalid characters as `_`.
    pub fn data_topic(&self, schema: &str, table: &str) -> String {
        let d = &self.topic_delimiter;
        sanitize_topic(&format!("{}{d}{schema}{d}{table}", self.topic_prefix))
    }
}

/// Kafka topic names allow `[a-zA-Z0-9._-]`; Debezium replaces anything else with `_`.
pub fn sanitize_topic(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> RawConfig {
        [
            ("topic.prefix", "dbserver1"),
            ("database.hostname", "localhost"),
            ("database.user", "postgres"),
            ("database.dbname", "postgres"),
            ("plugin.name", "pgoutput"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn defaults_follow_debezium() {
        let s = Settings::parse(&base()).unwrap();
        assert_eq!(s.slot_name, "debezium");
        assert_eq!(s.publication_name, "dbz_publication");
        assert_eq!(s.autocreate, AutocreateMode::AllTables);
        assert_eq!(s.snapshot_mode, SnapshotMode::Initial);
        assert!(s.tombstones_on_delete);
        assert!(s.skipped.truncate && !s.skipped.create);
        assert_eq!(s.heartbeat_topic, "__debezium-heartbeat.dbserver1");
        assert_eq!(s.transaction_topic, "dbserver1.transaction");
        assert_eq!(s.conn.port, 5432);
        assert_eq!(s.conn.sslmode, SslMode::Prefer);
        assert_eq!(
            s.data_topic("public", "my table"),
            "dbserver1.public.my_table"
        );
    }

    #[test]
    fn decoderbufs_is_refused_with_the_fix() {
        let mut raw = base();
        raw.remove("plugin.name");
        let e = Settings::parse(&raw).unwrap_err();
        assert!(e.message().contains("Set plugin.name=pgoutput"), "{e}");
        raw.insert("plugin.name".into(), "decoderbufs".into());
        assert!(Settings::parse(&raw).is_err());
    }

    #[test]
    fn filters_and_keys() {
        let mut raw = base();
        raw.insert(
            "table.include.list".into(),
            "public\\.a.*,inv\\.orders".into(),
        );
        raw.insert("column.exclude.list".into(), "public\\.abc\\.secret".into());
        raw.insert(
            "message.key.columns".into(),
            "inv\\.orders:a,b;public\\.x:id".into(),
        );
        raw.insert("skipped.operations".into(), "none".into());
        raw.insert("snapshot.mode".into(), "never".into());
        let s = Settings::parse(&raw).unwrap();
        assert!(s.table_included("public", "abc"));
        assert!(!s.table_included("public", "xabc"));
        assert!(s.table_included("inv", "orders"));
        assert!(!s.column_included("public", "abc", "secret"));
        assert!(s.column_included("public", "abc", "name"));
        assert_eq!(s.custom_key("inv", "orders").unwrap(), ["a", "b"]);
        assert!(!s.skipped.truncate);
        assert_eq!(s.snapshot_mode, SnapshotMode::NoData);
        raw.insert("message.key.columns".into(), "nocolon".into());
        assert!(Settings::parse(&raw).is_err());
    }
}
