//! Every key of the JDBC source and sink, with Confluent's names, types and defaults
//! (`JdbcSourceConnectorConfig`, `JdbcSinkConfig`), and `connection.url` parsing.

use sluice_api::config::{Config, ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use sluice_api::{ConnectError, Result};

pub const CONNECTION_URL: &str = "connection.url";
pub const CONNECTION_USER: &str = "connection.user";
pub const CONNECTION_PASSWORD: &str = "connection.password";
pub const CONNECTION_ATTEMPTS: &str = "connection.attempts";
pub const CONNECTION_BACKOFF_MS: &str = "connection.backoff.ms";
pub const DIALECT_NAME: &str = "dialect.name";
pub const QUOTE_SQL_IDENTIFIERS: &str = "quote.sql.identifiers";
pub const DB_TIMEZONE: &str = "db.timezone";
pub const TABLE_TYPES: &str = "table.types";
pub const DATE_TIMEZONE: &str = "date.timezone";

// Source.
pub const MODE: &str = "mode";
pub const INCREMENTING_COLUMN_NAME: &str = "incrementing.column.name";
pub const TIMESTAMP_COLUMN_NAME: &str = "timestamp.column.name";
pub const TIMESTAMP_INITIAL: &str = "timestamp.initial";
pub const TIMESTAMP_DELAY_INTERVAL_MS: &str = "timestamp.delay.interval.ms";
pub const VALIDATE_NON_NULL: &str = "validate.non.null";
pub const QUERY: &str = "query";
pub const QUERY_SUFFIX: &str = "query.suffix";
pub const TABLE_WHITELIST: &str = "table.whitelist";
pub const TABLE_BLACKLIST: &str = "table.blacklist";
pub const TABLE_INCLUDE_LIST: &str = "table.include.list";
pub const TABLE_EXCLUDE_LIST: &str = "table.exclude.list";
pub const SCHEMA_PATTERN: &str = "schema.pattern";
pub const CATALOG_PATTERN: &str = "catalog.pattern";
pub const TABLE_POLL_INTERVAL_MS: &str = "table.poll.interval.ms";
pub const POLL_INTERVAL_MS: &str = "poll.interval.ms";
pub const BATCH_MAX_ROWS: &str = "batch.max.rows";
pub const TOPIC_PREFIX: &str = "topic.prefix";
pub const NUMERIC_MAPPING: &str = "numeric.mapping";
pub const NUMERIC_PRECISION_MAPPING: &str = "numeric.precision.mapping";
pub const TIMESTAMP_GRANULARITY: &str = "timestamp.granularity";
pub const QUERY_MASKED: &str = "query.masked";
pub const QUERY_RETRY_ATTEMPTS: &str = "query.retry.attempts";
pub const TRANSACTION_ISOLATION_MODE: &str = "transaction.isolation.mode";
pub const DATE_CALENDAR_SYSTEM: &str = "date.calendar.system";
pub const MAX_BUFFER_SIZE: &str = "max.buffer.size";
pub const POLL_LINGER_MS: &str = "poll.linger.ms";
pub const TABLE_MONITORING_STARTUP_POLLING_LIMIT_MS: &str =
    "table.monitoring.startup.polling.limit.ms";
pub const TIMESTAMP_COLUMNS_MAPPING: &str = "timestamp.columns.mapping";
pub const INCREMENTING_COLUMN_MAPPING: &str = "incrementing.column.mapping";
pub const JDBC_CREDENTIALS_PROVIDER_CLASS: &str = "jdbc.credentials.provider.class";
pub const DEFAULT_CREDENTIALS_PROVIDER: &str =
    "io.confluent.connect.jdbc.util.DefaultJdbcCredentialsProvider";
pub const TRIM_SENSITIVE_LOG: &str = "trim.sensitive.log";
pub const TIMESTAMP_FIELDS_LIST: &str = "timestamp.fields.list";
pub const TIMESTAMP_PRECISION_MODE: &str = "timestamp.precision.mode";
/// Task keys the connector adds.
pub const TABLES: &str = "tables";
pub const TABLES_FETCHED: &str = "tables.fetched";

// Sink.
pub const INSERT_MODE: &str = "insert.mode";
pub const PK_MODE: &str = "pk.mode";
pub const PK_FIELDS: &str = "pk.fields";
pub const FIELDS_WHITELIST: &str = "fields.whitelist";
pub const TABLE_NAME_FORMAT: &str = "table.name.format";
pub const DELETE_ENABLED: &str = "delete.enabled";
pub const AUTO_CREATE: &str = "auto.create";
pub const AUTO_EVOLVE: &str = "auto.evolve";
pub const BATCH_SIZE: &str = "batch.size";
pub const MAX_RETRIES: &str = "max.retries";
pub const RETRY_BACKOFF_MS: &str = "retry.backoff.ms";

pub const MODE_BULK: &str = "bulk";
pub const MODE_INCREMENTING: &str = "incrementing";
pub const MODE_TIMESTAMP: &str = "timestamp";
pub const MODE_TIMESTAMP_INCREMENTING: &str = "timestamp+incrementing";

/// The dialect, chosen from the JDBC subprotocol as Confluent's `DatabaseDialects` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

impl Dialect {
    /// Quotes an identifier, doubling the quote character inside it.
    pub fn quote(self, ident: &str) -> String {
        let q = match self {
            Dialect::MySql => '`',
            _ => '"',
        };
        let mut out = String::with_capacity(ident.len() + 2);
        out.push(q);
        for c in ident.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
    }

    /// `quote` when `quote.sql.identifiers=always`, else the identifier as is.
    pub fn quote_if(self, ident: &str, quote: bool) -> String {
        if quote {
            self.quote(ident)
        } else {
            ident.to_string()
        }
    }

    fn from_dialect_name(name: &str) -> Option<Dialect> {
        match name {
            "PostgreSqlDatabaseDialect" => Some(Dialect::Postgres),
            "MySqlDatabaseDialect" => Some(Dialect::MySql),
            "SqliteDatabaseDialect" => Some(Dialect::Sqlite),
            _ => None,
        }
    }
}

/// A parsed `connection.url`.
#[derive(Clone, PartialEq)]
pub struct JdbcUrl {
    pub dialect: Dialect,
    pub host: String,
    pub port: u16,
    pub database: Option<String>,
    /// SQLite: the file path (or `:memory:`).
    pub path: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for JdbcUrl {
    // The password never appears in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JdbcUrl")
            .field("dialect", &self.dialect)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .finish()
    }
}

impl JdbcUrl {
    /// Parses `jdbc:postgresql://host[:port]/db?user=..&password=..`, `jdbc:mysql://…`,
    /// `jdbc:mariadb://…` and `jdbc:sqlite:PATH`. Errors never repeat the URL (it may hold a
    /// password).
    pub fn parse(url: &str, dialect_name: &str) -> Result<JdbcUrl> {
        let rest = url.trim().strip_prefix("jdbc:").ok_or_else(|| {
            ConnectError::config(format!(
                "Invalid value for configuration {CONNECTION_URL}: a JDBC URL starts with 'jdbc:' (jdbc:postgresql://, jdbc:mysql://, jdbc:mariadb:// or jdbc:sqlite:)"
            ))
        })?;
        let (sub, after) = rest.split_once(':').ok_or_else(|| {
            ConnectError::config(format!(
                "Invalid value for configuration {CONNECTION_URL}: no subprotocol"
            ))
        })?;
        let mut dialect = match sub.to_ascii_lowercase().as_str() {
            "postgresql" => Dialect::Postgres,
            "mysql" | "mariadb" => Dialect::MySql,
            "sqlite" => Dialect::Sqlite,
            other => {
                return Err(ConnectError::config(format!(
                    "Unable to find dialect for JDBC subprotocol '{other}' in {CONNECTION_URL}; Sluice supports postgresql, mysql, mariadb and sqlite"
                )))
            }
        };
        if !dialect_name.is_empty() {
            dialect = Dialect::from_dialect_name(dialect_name).ok_or_else(|| {
                ConnectError::config(format!(
                    "Invalid value {dialect_name} for configuration {DIALECT_NAME}: Sluice has PostgreSqlDatabaseDialect, MySqlDatabaseDialect and SqliteDatabaseDialect"
                ))
            })?;
        }
        if dialect == Dialect::Sqlite || sub.eq_ignore_ascii_case("sqlite") {
            let path = after.split('?').next().unwrap_or("").to_string();
            return Ok(JdbcUrl {
                dialect,
                host: String::new(),
                port: 0,
                database: None,
                path,
                user: None,
                password: None,
            });
        }
        let (main, query) = match after.split_once('?') {
            Some((m, q)) => (m, q),
            None => (after, ""),
        };
        let default_port = if dialect == Dialect::Postgres {
            5432
        } else {
            3306
        };
        let (host, port, database) = match main.strip_prefix("//") {
            Some(hostpart) => {
                let (authority, db) = match hostpart.split_once('/') {
                    Some((a, d)) => (a, Some(d)),
                    None => (hostpart, None),
                };
                // Several hosts (failover) are not supported: the first one is used.
                let authority = authority.split(',').next().unwrap_or("");
                let authority = authority.rsplit('@').next().unwrap_or(authority);
                let (host, port) = split_host_port(authority, default_port)?;
                (host, port, db.filter(|d| !d.is_empty()).map(str::to_string))
            }
            // jdbc:postgresql:database
            None => (
                "localhost".to_string(),
                default_port,
                Some(main.to_string()).filter(|d| !d.is_empty()),
            ),
        };
        let mut user = None;
        let mut password = None;
        for pair in query.split(['&', ';']).filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            match k {
                "user" => user = Some(v),
                "password" => password = Some(v),
                _ => {}
            }
        }
        Ok(JdbcUrl {
            dialect,
            host,
            port,
            database,
            path: String::new(),
            user,
            password,
        })
    }

    /// `host:port` for messages (or the SQLite path).
    pub fn address(&self) -> String {
        match self.dialect {
            Dialect::Sqlite => self.path.clone(),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

fn split_host_port(authority: &str, default_port: u16) -> Result<(String, u16)> {
    if authority.is_empty() {
        return Ok(("localhost".to_string(), default_port));
    }
    // [v6]:port
    if let Some(rest) = authority.strip_prefix('[') {
        let (h, p) = rest.split_once(']').unwrap_or((rest, ""));
        let port = match p.strip_prefix(':') {
            Some(p) => parse_port(p)?,
            None => default_port,
        };
        return Ok((h.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Ok((h.to_string(), parse_port(p)?)),
        None => Ok((authority.to_string(), default_port)),
    }
}

fn parse_port(p: &str) -> Result<u16> {
    p.parse::<u16>().map_err(|_| {
        ConnectError::config(format!(
            "Invalid port '{p}' in {CONNECTION_URL}: a number from 1 to 65535"
        ))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How to connect: the URL with `connection.user`/`connection.password` applied on top.
#[derive(Clone, Debug)]
pub struct ConnectionSettings {
    pub url: JdbcUrl,
    pub attempts: u32,
    pub backoff_ms: u64,
    /// `db.timezone` (and the sink's `date.timezone`).
    pub zones: crate::db::Zones,
    /// `transaction.isolation.mode` (source): the level set on each connection, if any.
    pub isolation: Option<String>,
}

impl ConnectionSettings {
    pub fn from_config(config: &Config) -> Result<ConnectionSettings> {
        let raw = config.string(CONNECTION_URL).unwrap_or("");
        if raw.is_empty() {
            return Err(ConnectError::config(format!(
                "Missing required configuration \"{CONNECTION_URL}\" which has no default value."
            )));
        }
        let mut url = JdbcUrl::parse(raw, config.string(DIALECT_NAME).unwrap_or(""))?;
        if let Some(u) = config.string(CONNECTION_USER).filter(|u| !u.is_empty()) {
            url.user = Some(u.to_string());
        }
        if let Some(p) = config.string(CONNECTION_PASSWORD).filter(|p| !p.is_empty()) {
            url.password = Some(p.to_string());
        }
        let isolation = config
            .string(TRANSACTION_ISOLATION_MODE)
            .map(str::to_ascii_uppercase)
            .filter(|m| m != "DEFAULT");
        Ok(ConnectionSettings {
            url,
            attempts: config.int(CONNECTION_ATTEMPTS).unwrap_or(3).max(1) as u32,
            backoff_ms: config.long(CONNECTION_BACKOFF_MS).unwrap_or(10_000).max(0) as u64,
            zones: zones(config)?,
            isolation,
        })
    }
}

/// Whether identifiers are quoted (`quote.sql.identifiers`).
pub fn quote_identifiers(config: &Config) -> bool {
    !config
        .string(QUOTE_SQL_IDENTIFIERS)
        .is_some_and(|q| q.eq_ignore_ascii_case("never"))
}

/// `db.timezone` and (sink) `date.timezone`: `DB_TIMEZONE` binds dates in `db.timezone`,
/// `UTC` in UTC; the source, which has no such key, reads dates in UTC (Confluent's
/// `GenericDatabaseDialect`).
pub fn zones(config: &Config) -> Result<crate::db::Zones> {
    let name = config.string(DB_TIMEZONE).unwrap_or("UTC");
    let db = crate::db::Zone::parse(name).ok_or_else(|| {
        ConnectError::config(format!(
            "Invalid value {name} for configuration {DB_TIMEZONE}: Invalid time zone identifier (an IANA zone such as Europe/Berlin, UTC, or an offset such as +05:30)"
        ))
    })?;
    let date = match config.string(DATE_TIMEZONE) {
        Some(d) if d.eq_ignore_ascii_case("DB_TIMEZONE") => db.clone(),
        _ => crate::db::Zone::default(),
    };
    Ok(crate::db::Zones { db, date })
}

fn connection_keys(def: ConfigDef) -> ConfigDef {
    def.define(
        ConfigKey::new(CONNECTION_URL, ConfigType::String)
            .default_value("")
            .importance(Importance::High)
            .group("Database", 1)
            .doc("JDBC connection URL. For example: ``jdbc:oracle:thin:@localhost:1521:orclpdb1``, ``jdbc:mysql://localhost/db_name``, ``jdbc:sqlserver://localhost;instance=SQLEXPRESS;databaseName=db_name``"),
    )
    .define(
        ConfigKey::new(CONNECTION_USER, ConfigType::String)
            .default_null()
            .importance(Importance::High)
            .group("Database", 2)
            .doc("JDBC connection user."),
    )
    .define(
        ConfigKey::new(CONNECTION_PASSWORD, ConfigType::Password)
            .default_null()
            .importance(Importance::High)
            .group("Database", 3)
            .doc("JDBC connection password."),
    )
    .define(
        ConfigKey::new(CONNECTION_ATTEMPTS, ConfigType::Int)
            .default_value("3")
            .validator(Validator::at_least(1.0))
            .importance(Importance::Low)
            .group("Database", 4)
            .doc("Maximum number of attempts to retrieve a valid JDBC connection. Must be a positive integer."),
    )
    .define(
        ConfigKey::new(CONNECTION_BACKOFF_MS, ConfigType::Long)
            .default_value("10000")
            .importance(Importance::Low)
            .group("Database", 5)
            .doc("Backoff time in milliseconds between connection attempts."),
    )
    .define(
        ConfigKey::new(DIALECT_NAME, ConfigType::String)
            .default_value("")
            .validator(Validator::OneOf(vec![
                "",
                "Db2DatabaseDialect",
                "MySqlDatabaseDialect",
                "SybaseDatabaseDialect",
                "GenericDatabaseDialect",
                "OracleDatabaseDialect",
                "SqlServerDatabaseDialect",
                "PostgreSqlDatabaseDialect",
                "SqliteDatabaseDialect",
                "DerbyDatabaseDialect",
                "SapHanaDatabaseDialect",
                "MockDatabaseDialect",
                "VerticaDatabaseDialect",
            ]))
            .importance(Importance::Low)
            .group("Database", 6)
            .doc("The name of the database dialect that should be used for this connector. By default this is empty, and the connector automatically determines the dialect based upon the JDBC connection URL."),
    )
    .define(
        ConfigKey::new(QUOTE_SQL_IDENTIFIERS, ConfigType::String)
            .default_value("always")
            .validator(Validator::OneOfIgnoreCase(vec!["always", "never"]))
            .importance(Importance::Medium)
            .doc("When to quote table names, column names, and other identifiers in SQL statements. For backward compatibility, the default is ``always``."),
    )
    .define(
        ConfigKey::new(DB_TIMEZONE, ConfigType::String)
            .default_value("UTC")
            .importance(Importance::Medium)
            .doc("Name of the JDBC timezone used in the connector when querying with time-based criteria. Defaults to UTC."),
    )
    .define(
        ConfigKey::new(JDBC_CREDENTIALS_PROVIDER_CLASS, ConfigType::Class)
            .default_value(DEFAULT_CREDENTIALS_PROVIDER)
            .validator(Validator::OneOf(vec![DEFAULT_CREDENTIALS_PROVIDER]))
            .importance(Importance::Low)
            .group("Database", 7)
            .doc("Credentials provider or provider factory to use for authentication to the database. Sluice has the default provider only: connection.user and connection.password (or the URL's)."),
    )
    .define(
        ConfigKey::new(DATE_CALENDAR_SYSTEM, ConfigType::String)
            .default_value("LEGACY")
            .validator(Validator::OneOfIgnoreCase(vec!["LEGACY", "PROLEPTIC_GREGORIAN"]))
            .importance(Importance::Low)
            .doc("The calendar used for DATE and TIMESTAMP values: LEGACY (hybrid Julian/Gregorian) or PROLEPTIC_GREGORIAN. Sluice computes dates in the proleptic Gregorian calendar; the two differ only before 1582-10-15."),
    )
}

/// `JdbcSourceConnectorConfig`.
pub fn source_config_def() -> ConfigDef {
    let mode_validator = Validator::OneOf(vec![
        "",
        MODE_BULK,
        MODE_TIMESTAMP,
        MODE_INCREMENTING,
        MODE_TIMESTAMP_INCREMENTING,
    ]);
    connection_keys(ConfigDef::new())
        .define(
            ConfigKey::new(TABLE_WHITELIST, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .doc("List of tables to include in copying. If specified, ``table.blacklist`` may not be set. Use a comma-separated list to specify multiple tables (for example, ``table.whitelist: \"User, Address, Email\"``)."),
        )
        .define(
            ConfigKey::new(TABLE_BLACKLIST, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .doc("List of tables to exclude from copying. If specified, ``table.whitelist`` may not be set."),
        )
        .define(
            ConfigKey::new(TABLE_INCLUDE_LIST, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .doc("List of regular expressions matched against fully qualified table names (``schema.table`` or ``db.table``) to include. Cannot be combined with ``table.whitelist``/``table.blacklist``."),
        )
        .define(
            ConfigKey::new(TABLE_EXCLUDE_LIST, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .doc("List of regular expressions matched against fully qualified table names to exclude. Requires ``table.include.list``."),
        )
        .define(
            ConfigKey::new(CATALOG_PATTERN, ConfigType::String)
                .default_null()
                .importance(Importance::Medium)
                .doc("Catalog pattern to fetch table metadata from the database."),
        )
        .define(
            ConfigKey::new(SCHEMA_PATTERN, ConfigType::String)
                .default_null()
                .importance(Importance::Medium)
                .doc("Schema pattern to fetch table metadata from the database."),
        )
        .define(
            ConfigKey::new(NUMERIC_PRECISION_MAPPING, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Low)
                .doc("Whether or not to attempt mapping NUMERIC values by precision to integral types. This option is now deprecated. A future version may remove it completely. Please use ``numeric.mapping`` instead."),
        )
        .define(
            ConfigKey::new(NUMERIC_MAPPING, ConfigType::String)
                .default_null()
                .validator(Validator::OneOfIgnoreCase(vec![
                    "none",
                    "precision_only",
                    "best_fit",
                    "best_fit_eager_double",
                ]))
                .importance(Importance::Low)
                .doc("Map NUMERIC values by precision and optionally scale to integral or decimal types."),
        )
        .define(
            ConfigKey::new(MODE, ConfigType::String)
                .default_value("")
                .validator(mode_validator)
                .importance(Importance::High)
                .group("Mode", 1)
                .doc("The mode for updating a table each time it is polled. Options include: bulk, timestamp, incrementing, timestamp+incrementing."),
        )
        .define(
            ConfigKey::new(INCREMENTING_COLUMN_NAME, ConfigType::String)
                .default_value("")
                .importance(Importance::Medium)
                .group("Mode", 2)
                .doc("The name of the strictly incrementing column to use to detect new rows. Any empty value indicates the column should be autodetected by looking for an auto-incrementing column. This column may not be nullable."),
        )
        .define(
            ConfigKey::new(TIMESTAMP_COLUMN_NAME, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .group("Mode", 3)
                .doc("Comma separated list of one or more timestamp columns to detect new or modified rows using the COALESCE SQL function. Rows whose first non-null timestamp value is greater than the largest previous timestamp value seen will be discovered with each poll. At least one column should not be nullable."),
        )
        .define(
            ConfigKey::new(TIMESTAMP_INITIAL, ConfigType::Long)
                .default_null()
                .importance(Importance::Low)
                .group("Mode", 4)
                .doc("The epoch timestamp used for initial queries that use timestamp criteria. Use -1 to use the current time. If not specified, all data will be retrieved."),
        )
        .define(
            ConfigKey::new(VALIDATE_NON_NULL, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .group("Mode", 5)
                .doc("By default, the JDBC connector will validate that all incrementing and timestamp tables have NOT NULL set for the columns being used as their ID/timestamp. If the tables don't, JDBC connector will fail to start. Setting this to false will disable these checks."),
        )
        .define(
            ConfigKey::new(QUERY, ConfigType::String)
                .default_value("")
                .importance(Importance::Medium)
                .group("Mode", 6)
                .doc("If specified, the query to perform to select new or updated rows. Use this setting if you want to join tables, select subsets of columns in a table, or filter data. If used, this connector will only copy data using this query -- whole-table copying will be disabled."),
        )
        .define(
            ConfigKey::new(QUERY_SUFFIX, ConfigType::String)
                .default_value("")
                .importance(Importance::Low)
                .group("Mode", 7)
                .doc("Suffix to append at the end of the generated query."),
        )
        .define(
            ConfigKey::new(TABLE_TYPES, ConfigType::List)
                .default_value("TABLE")
                .importance(Importance::Low)
                .doc("By default, the JDBC connector will only detect tables with type TABLE from the source Database. This config allows a command separated list of table types to extract."),
        )
        .define(
            ConfigKey::new(QUERY_MASKED, ConfigType::Password)
                .default_value("")
                .importance(Importance::Medium)
                .group("Mode", 8)
                .doc("Same as 'query' configuration but the query string is masked. Use this config to prevent sensitive information from being logged."),
        )
        .define(
            ConfigKey::new(TIMESTAMP_GRANULARITY, ConfigType::String)
                .default_value("connect_logical")
                .validator(Validator::OneOfIgnoreCase(vec![
                    "connect_logical",
                    "micros_long",
                    "micros_string",
                    "micros_iso_datetime_string",
                    "nanos_long",
                    "nanos_string",
                    "nanos_iso_datetime_string",
                ]))
                .importance(Importance::Low)
                .group("Mode", 9)
                .doc("Define the granularity of the Timestamp column. Options include: connect_logical (default), micros_long, micros_string, micros_iso_datetime_string ('yyyy-MM-dd'T'HH:mm:ss.SSSSSS'), nanos_long, nanos_string, nanos_iso_datetime_string ('yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS')."),
        )
        .define(
            ConfigKey::new(TRANSACTION_ISOLATION_MODE, ConfigType::String)
                .default_value("DEFAULT")
                .validator(Validator::OneOf(vec![
                    "DEFAULT",
                    "READ_UNCOMMITTED",
                    "READ_COMMITTED",
                    "REPEATABLE_READ",
                    "SERIALIZABLE",
                    "SQL_SERVER_SNAPSHOT",
                ]))
                .importance(Importance::Low)
                .group("Mode", 10)
                .doc("Mode to control which transaction isolation level is used when running queries against the database. By default no explicit transaction isolation mode is set. Options include: DEFAULT, READ_UNCOMMITTED, READ_COMMITTED, REPEATABLE_READ, SERIALIZABLE, SQL_SERVER_SNAPSHOT (SQL Server only)."),
        )
        .define(
            ConfigKey::new(QUERY_RETRY_ATTEMPTS, ConfigType::Int)
                .default_value("-1")
                .importance(Importance::Low)
                .group("Mode", 11)
                .doc("Number of times to retry SQL exceptions encountered when executing queries."),
        )
        .define(
            ConfigKey::new(TIMESTAMP_COLUMNS_MAPPING, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .group("Mode", 12)
                .doc("A comma separated list of table regex to timestamp columns mappings, ``regex1:[col1|col2],regex2:[col3]``. Regexes are matched against the fully-qualified table names; every table must match exactly one mapping. Used instead of timestamp.column.name."),
        )
        .define(
            ConfigKey::new(INCREMENTING_COLUMN_MAPPING, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .group("Mode", 13)
                .doc("A comma separated list of table regex to incrementing column mappings, ``regex1:col2,regex2:col1``. Regexes are matched against the fully-qualified table names; every table must match exactly one mapping. Used instead of incrementing.column.name."),
        )
        .define(
            ConfigKey::new(MAX_BUFFER_SIZE, ConfigType::Int)
                .default_value("0")
                .validator(Validator::at_least(0.0))
                .importance(Importance::Low)
                .doc("The maximum number of records from the source database that can be buffered into memory. The default of 0 means a buffer size will be based on the maximum batch size."),
        )
        .define(
            ConfigKey::new(POLL_LINGER_MS, ConfigType::Long)
                .default_value("5000")
                .validator(Validator::at_least(0.0))
                .importance(Importance::Low)
                .doc("The maximum time to wait for a record before returning an empty batch."),
        )
        .define(
            ConfigKey::new(TABLE_MONITORING_STARTUP_POLLING_LIMIT_MS, ConfigType::Long)
                .default_value("10000")
                .importance(Importance::Low)
                .doc("The amount of time to wait for the table monitoring thread to complete initial table read."),
        )
        .define(
            ConfigKey::new(POLL_INTERVAL_MS, ConfigType::Int)
                .default_value("5000")
                .importance(Importance::High)
                .group("Connector", 1)
                .doc("Frequency in ms to poll for new data in each table."),
        )
        .define(
            ConfigKey::new(BATCH_MAX_ROWS, ConfigType::Int)
                .default_value("1000")
                .importance(Importance::Low)
                .group("Connector", 2)
                .doc("Maximum number of rows to include in a single batch when polling for new data. This setting can be used to limit the amount of data buffered internally in the connector."),
        )
        .define(
            ConfigKey::new(TABLE_POLL_INTERVAL_MS, ConfigType::Long)
                .default_value("60000")
                .importance(Importance::Low)
                .group("Connector", 3)
                .doc("Frequency in ms to poll for new or removed tables, which may result in updated task configurations to start polling for data in added tables or stop polling for data in removed tables."),
        )
        .define(
            ConfigKey::new(TOPIC_PREFIX, ConfigType::String)
                .default_value("")
                .validator(Validator::Custom(valid_topic_prefix, "a topic name prefix of at most 249 characters [a-zA-Z0-9._-]"))
                .importance(Importance::High)
                .group("Connector", 4)
                .doc("Prefix to prepend to table names to generate the name of the Kafka topic to publish data to, or in the case of a custom query, the full name of the topic to publish to."),
        )
        .define(
            ConfigKey::new(TIMESTAMP_DELAY_INTERVAL_MS, ConfigType::Long)
                .default_value("0")
                .importance(Importance::High)
                .group("Connector", 5)
                .doc("How long to wait after a row with certain timestamp appears before we include it in the result. You may choose to add some delay to allow transactions with earlier timestamp to complete. The first execution will fetch all available records (i.e. starting at timestamp 0) until current time minus the delay. Every following execution will get data from the last time we fetched until current time minus the delay."),
        )
}

fn valid_topic_prefix(
    _key: &str,
    value: &sluice_api::config::Parsed,
) -> std::result::Result<(), String> {
    let s = value.to_config_string();
    if s.len() > 249 {
        return Err("topic.prefix is longer than 249 characters".into());
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!(
            "topic.prefix '{s}' may only contain ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// `JdbcSinkConfig`.
pub fn sink_config_def() -> ConfigDef {
    connection_keys(ConfigDef::new())
        .define(
            ConfigKey::new(INSERT_MODE, ConfigType::String)
                .default_value("insert")
                .validator(Validator::OneOfIgnoreCase(vec!["insert", "upsert", "update"]))
                .importance(Importance::High)
                .group("Writes", 1)
                .doc("The insertion mode to use. Supported modes are: insert, upsert, update."),
        )
        .define(
            ConfigKey::new(BATCH_SIZE, ConfigType::Int)
                .default_value("3000")
                .validator(Validator::at_least(0.0))
                .importance(Importance::Medium)
                .group("Writes", 2)
                .doc("Specifies how many records to attempt to batch together for insertion into the destination table, when possible."),
        )
        .define(
            ConfigKey::new(DELETE_ENABLED, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .group("Writes", 3)
                .doc("Whether to treat ``null`` record values as deletes. Requires ``pk.mode`` to be ``record_key``."),
        )
        .define(
            ConfigKey::new(TABLE_TYPES, ConfigType::List)
                .default_value("TABLE")
                .importance(Importance::Low)
                .group("Writes", 4)
                .doc("The comma-separated types of database tables to which the sink connector can write. By default this is ``TABLE``, but any combination of ``TABLE``, ``PARTITIONED TABLE`` and ``VIEW`` is allowed."),
        )
        .define(
            ConfigKey::new(TABLE_NAME_FORMAT, ConfigType::String)
                .default_value("${topic}")
                .importance(Importance::Medium)
                .group("Data Mapping", 1)
                .doc("A format string for the destination table name, which may contain '${topic}' as a placeholder for the originating topic name."),
        )
        .define(
            ConfigKey::new(PK_MODE, ConfigType::String)
                .default_value("none")
                .validator(Validator::OneOfIgnoreCase(vec![
                    "none",
                    "kafka",
                    "record_key",
                    "record_value",
                ]))
                .importance(Importance::High)
                .group("Data Mapping", 2)
                .doc("The primary key mode, also refer to ``pk.fields`` documentation for interplay. Supported modes are: none, kafka, record_key, record_value."),
        )
        .define(
            ConfigKey::new(PK_FIELDS, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .group("Data Mapping", 3)
                .doc("List of comma-separated primary key field names. The runtime interpretation of this config depends on the ``pk.mode``."),
        )
        .define(
            ConfigKey::new(FIELDS_WHITELIST, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .group("Data Mapping", 4)
                .doc("List of comma-separated record value field names. If empty, all fields from the record value are utilized, otherwise used to filter to the desired fields. Note that ``pk.fields`` is applied independently in the context of which field(s) form the primary key columns in the destination database, while this configuration is applicable for the other columns."),
        )
        .define(
            ConfigKey::new(AUTO_CREATE, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .group("DDL Support", 1)
                .doc("Whether to automatically create the destination table based on record schema if it is found to be missing by issuing ``CREATE``."),
        )
        .define(
            ConfigKey::new(AUTO_EVOLVE, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .group("DDL Support", 2)
                .doc("Whether to automatically add columns in the table schema when found to be missing relative to the record schema by issuing ``ALTER``."),
        )
        .define(
            ConfigKey::new(DATE_TIMEZONE, ConfigType::String)
                .default_value("DB_TIMEZONE")
                .validator(Validator::OneOfIgnoreCase(vec!["DB_TIMEZONE", "UTC"]))
                .importance(Importance::Medium)
                .group("Data Mapping", 5)
                .doc("Name of the timezone used to bind DATE values: DB_TIMEZONE (the db.timezone, Confluent's historical behaviour) or UTC."),
        )
        .define(
            ConfigKey::new(TIMESTAMP_FIELDS_LIST, ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .group("Data Mapping", 6)
                .doc("List of comma-separated record value timestamp field names that should be converted to timestamps. Not supported by Sluice yet: it must stay empty."),
        )
        .define(
            ConfigKey::new(TIMESTAMP_PRECISION_MODE, ConfigType::String)
                .default_value("MICROSECONDS")
                .validator(Validator::OneOfIgnoreCase(vec!["MICROSECONDS", "NANOSECONDS"]))
                .importance(Importance::Low)
                .group("Data Mapping", 7)
                .doc("Precision of the fields of timestamp.fields.list: MICROSECONDS or NANOSECONDS."),
        )
        .define(
            ConfigKey::new(TRIM_SENSITIVE_LOG, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Low)
                .doc("Whether to trim the values of records from error messages and logs. Accepted for compatibility: Sluice's messages name the table, the column and the offending value either way, and never a password."),
        )
        .define(
            ConfigKey::new(MAX_RETRIES, ConfigType::Int)
                .default_value("10")
                .validator(Validator::at_least(0.0))
                .importance(Importance::Medium)
                .group("Retries", 1)
                .doc("The maximum number of times to retry on errors before failing the task."),
        )
        .define(
            ConfigKey::new(RETRY_BACKOFF_MS, ConfigType::Int)
                .default_value("3000")
                .validator(Validator::at_least(0.0))
                .importance(Importance::Medium)
                .group("Retries", 2)
                .doc("The time in milliseconds to wait following an error before a retry attempt is made."),
        )
}

/// Parses a config with `def`, as a config error naming every problem.
pub fn parse(def: &ConfigDef, raw: &sluice_api::config::RawConfig) -> Result<Config> {
    def.parse(raw)
        .map_err(|e| ConnectError::config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = JdbcUrl::parse(
            "jdbc:postgresql://db.example:6543/shop?user=alice&password=s%40cret&ssl=false",
            "",
        )
        .unwrap();
        assert_eq!(u.dialect, Dialect::Postgres);
        assert_eq!(u.address(), "db.example:6543");
        assert_eq!(u.database.as_deref(), Some("shop"));
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("s@cret"));
        assert!(!format!("{u:?}").contains("cret"));

        let m = JdbcUrl::parse("jdbc:mariadb://127.0.0.1/test", "").unwrap();
        assert_eq!((m.dialect, m.port), (Dialect::MySql, 3306));
        let m = JdbcUrl::parse("jdbc:mysql://h:3307/x?user=root", "").unwrap();
        assert_eq!(
            (m.dialect, m.port, m.user.as_deref()),
            (Dialect::MySql, 3307, Some("root"))
        );
        let s = JdbcUrl::parse("jdbc:sqlite:/tmp/x.db", "").unwrap();
        assert_eq!((s.dialect, s.path.as_str()), (Dialect::Sqlite, "/tmp/x.db"));
        let p = JdbcUrl::parse("jdbc:postgresql:test", "").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.database.as_deref()),
            ("localhost", 5432, Some("test"))
        );

        let e = JdbcUrl::parse("jdbc:oracle:thin:@x", "").unwrap_err();
        assert!(e.to_string().contains("oracle"), "{e}");
        let e = JdbcUrl::parse("postgresql://x?password=hunter2", "").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn quoting() {
        assert_eq!(Dialect::Postgres.quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::MySql.quote("a`b"), "`a``b`");
    }
}
