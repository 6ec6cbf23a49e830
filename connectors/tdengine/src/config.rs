//! Every key of TDengine's Kafka Connect plugins, defined once with the Java code's names,
//! types, defaults, validators (and their messages), groups and docs (`ConnectionConfig`,
//! `SinkConfig`, `SourceConfig` of `kafka-connect-tdengine` 1.1.6; where TDengine's docs
//! disagree, the code wins).

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigType, Importance, Parsed, RawConfig, Validator, Width,
};

pub const CONNECTION_URL: &str = "connection.url";
pub const CONNECTION_USER: &str = "connection.user";
pub const CONNECTION_PASSWORD: &str = "connection.password";
pub const CONNECTION_ATTEMPTS: &str = "connection.attempts";
pub const CONNECTION_BACKOFF_MS: &str = "connection.backoff.ms";
pub const CONNECTION_DATABASE: &str = "connection.database";
pub const CONNECTION_TIMEZONE: &str = "connection.timezone";

pub const DATA_PRECISION: &str = "data.precision";
pub const BATCH_SIZE: &str = "batch.size";
pub const MAX_RETRIES: &str = "max.retries";
pub const RETRY_BACKOFF_MS: &str = "retry.backoff.ms";
pub const DB_SCHEMALESS: &str = "db.schemaless";
pub const CONNECTION_DATABASE_PREFIX: &str = "connection.database.prefix";
pub const DB_CHARSET: &str = "db.charset";

pub const POLL_INTERVAL_MS: &str = "poll.interval.ms";
pub const TOPIC_PREFIX: &str = "topic.prefix";
pub const TIMESTAMP_INITIAL: &str = "timestamp.initial";
pub const FETCH_MAX_ROWS: &str = "fetch.max.rows";
pub const QUERY_INTERVAL_MS: &str = "query.interval.ms";
pub const TOPIC_PER_STABLE: &str = "topic.per.stable";
pub const TOPIC_IGNORE_DB: &str = "topic.ignore.db";
pub const OUT_FORMAT: &str = "out.format";
pub const OUT_FORMAT_JSON_NO_ARRAY: &str = "out.format.json.no.array";
pub const TOPIC_DELIMITER: &str = "topic.delimiter";
pub const TABLES: &str = "tables";
pub const READ_METHOD: &str = "read.method";
pub const SUBSCRIPTION_GROUP_ID: &str = "subscription.group.id";
pub const SUBSCRIPTION_WAL_ONLY: &str = "subscription.wal.only";
pub const SUBSCRIPTION_FROM: &str = "subscription.from";

/// 31 days, the largest `query.interval.ms`.
pub const MAX_QUERY_INTERVAL_MS: i64 = 1000 * 60 * 60 * 24 * 31;

fn text(v: &Parsed) -> String {
    match v {
        Parsed::Null => "null".to_string(),
        other => other.to_config_string(),
    }
}

fn url_valid(_: &str, v: &Parsed) -> Result<(), String> {
    let s = text(v);
    if s.trim().is_empty() || !s.starts_with("jdbc:TAOS") {
        return Err("check connection.url is correct".into());
    }
    Ok(())
}

/// Java passes when some `TimeZone` ID starts with the value. Sluice has no list of Java's
/// IDs: it accepts what such an ID can start with (letters, digits, `/`, `_`, `+`, `-`).
fn timezone_valid(_: &str, v: &Parsed) -> Result<(), String> {
    match v {
        Parsed::Null => Ok(()),
        other => {
            let s = text(other);
            if s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '+' | '-'))
            {
                Ok(())
            } else {
                Err("Invalid time zone identifier".into())
            }
        }
    }
}

fn precision_valid(_: &str, v: &Parsed) -> Result<(), String> {
    let s = text(v);
    if s.is_empty()
        || ["ms", "us", "ns"]
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&s))
    {
        Ok(())
    } else {
        Err("database precision config must be one of (ms, us, ns)".into())
    }
}

fn schemaless_valid(_: &str, v: &Parsed) -> Result<(), String> {
    let s = text(v);
    if ["line", "telnet", "json"]
        .iter()
        .any(|p| p.eq_ignore_ascii_case(&s))
    {
        Ok(())
    } else {
        Err("schemaless config must be one of (line, telnet, json)".into())
    }
}

fn charset_valid(_: &str, v: &Parsed) -> Result<(), String> {
    // Java accepts any charset the JVM knows; the value only reaches the native driver.
    let s = text(v).to_ascii_uppercase();
    let known = [
        "UTF-8",
        "UTF8",
        "US-ASCII",
        "ASCII",
        "ISO-8859-1",
        "LATIN1",
        "UTF-16",
        "UTF-16BE",
        "UTF-16LE",
        "UTF-32",
        "GBK",
        "GB2312",
        "GB18030",
        "BIG5",
        "SHIFT_JIS",
        "EUC-JP",
        "EUC-KR",
        "WINDOWS-1252",
    ];
    if known.contains(&s.as_str()) {
        Ok(())
    } else {
        Err("Charset is invalid.".into())
    }
}

/// Parses `yyyy-MM-dd HH:mm:ss` into (days since epoch, seconds of day).
pub fn parse_timestamp_initial(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo)
        || d < 1
        || d > crate::offsets::days_in_month(y, mo)
        || h > 23
        || mi > 59
        || se > 59
    {
        return None;
    }
    Some(crate::offsets::days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

fn timestamp_initial_valid(_: &str, v: &Parsed) -> Result<(), String> {
    match v {
        Parsed::Null => Ok(()),
        other => {
            let s = text(other);
            if s.trim().is_empty() {
                return Ok(());
            }
            let secs = parse_timestamp_initial(&s).ok_or_else(|| {
                format!("Text '{s}' could not be parsed with pattern yyyy-MM-dd HH:mm:ss")
            })?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(i64::MAX);
            if secs > now {
                return Err("timestamp initial value must be before now".into());
            }
            Ok(())
        }
    }
}

fn query_interval_valid(_: &str, v: &Parsed) -> Result<(), String> {
    match v {
        Parsed::Long(n) if *n > MAX_QUERY_INTERVAL_MS => {
            Err("query interval must not be greater than 1 month".into())
        }
        _ => Ok(()),
    }
}

fn out_format_valid(_: &str, v: &Parsed) -> Result<(), String> {
    let s = text(v).to_lowercase();
    if s == "json" || s == "line" {
        Ok(())
    } else {
        // Java's message, which wrongly names telnet.
        Err("outFormat config must one of telnet/json".into())
    }
}

fn read_method_valid(_: &str, v: &Parsed) -> Result<(), String> {
    let s = text(v).to_lowercase();
    if s == "subscription" || s == "query" {
        Ok(())
    } else {
        Err("read method may be one of subscription or query".into())
    }
}

fn key(
    name: &str,
    ty: ConfigType,
    importance: Importance,
    doc: &str,
    group: Option<(&str, i32)>,
    width: Width,
    display: &str,
) -> ConfigKey {
    let mut k = ConfigKey::new(name, ty)
        .importance(importance)
        .doc(doc)
        .width(width)
        .display_name(if display.is_empty() { name } else { display });
    if let Some((g, order)) = group {
        k = k.group(g, order);
    }
    k
}

/// `ConnectionConfig.config()`: the keys both connectors share (group `Connection`).
pub fn connection_def() -> ConfigDef {
    let g = |o| Some(("Connection", o));
    ConfigDef::new()
        .define(
            key(CONNECTION_URL, ConfigType::String, Importance::High,
                "JDBC connection URL.\nFor example: jdbc:TAOS://\" + host + \":6030", g(1), Width::Long, "JDBC URL")
                .validator(Validator::Custom(url_valid, "a URL starting with jdbc:TAOS")),
        )
        .define(
            key(CONNECTION_USER, ConfigType::String, Importance::High, "JDBC connection user.", g(2), Width::Medium, "JDBC User")
                .default_value("root"),
        )
        .define(
            // STRING in Java (shown in clear by Java's REST API); Sluice hides it (PASSWORD).
            key(CONNECTION_PASSWORD, ConfigType::Password, Importance::High, "JDBC connection password.", g(3), Width::Medium, "JDBC Password")
                .default_value("taosdata"),
        )
        .define(
            key(CONNECTION_ATTEMPTS, ConfigType::Int, Importance::Low,
                "Maximum number of attempts to retrieve a valid JDBC connection. Must be a positive integer.",
                g(4), Width::Short, "JDBC connection attempts")
                .default_value("3")
                .validator(Validator::at_least(1.0)),
        )
        .define(
            key(CONNECTION_BACKOFF_MS, ConfigType::Long, Importance::Low,
                "Backoff time in milliseconds between connection attempts.", g(5), Width::Short,
                "JDBC connection backoff in milliseconds")
                .default_value("5000"),
        )
        .define(
            key(CONNECTION_DATABASE, ConfigType::String, Importance::Medium, "JDBC connection database.", g(6), Width::Medium, "JDBC Database")
                .default_value(""),
        )
        .define(
            key(CONNECTION_TIMEZONE, ConfigType::String, Importance::Medium,
                "timezone used in the connector when querying. Defaults to UTC.", g(7), Width::Medium, "connection time zone")
                .default_value("UTC")
                .validator(Validator::Custom(timezone_valid, "a time zone ID (prefix)")),
        )
}

/// `SinkConfig.config()`: the connection keys and group `Writes`.
pub fn sink_def() -> ConfigDef {
    let g = |o| Some(("Writes", o));
    connection_def()
        .define(
            key(DATA_PRECISION, ConfigType::String, Importance::Medium,
                "the precision of the schemaless data, this is valid only in line format", g(1), Width::Short, "Data Precision")
                .default_value("")
                .validator(Validator::Custom(precision_valid, "one of ms, us, ns or empty")),
        )
        .define(
            key(BATCH_SIZE, ConfigType::Int, Importance::Medium,
                "Specifies how many records to attempt to batch together for insertion into the destination table, when possible.",
                g(2), Width::Short, "Batch Size")
                .default_value("3000")
                .validator(Validator::at_least(0.0)),
        )
        .define(
            key(MAX_RETRIES, ConfigType::Int, Importance::Medium,
                "The maximum number of times to retry on errors before failing the task.", g(3), Width::Short, "Maximum Retries")
                .default_value("3")
                .validator(Validator::at_least(0.0)),
        )
        .define(
            key(RETRY_BACKOFF_MS, ConfigType::Int, Importance::Medium,
                "The time in milliseconds to wait following an error before a retry attempt is made.",
                g(4), Width::Short, "Retry Backoff (millis)")
                .default_value("3000")
                .validator(Validator::at_least(0.0)),
        )
        .define(
            key(DB_SCHEMALESS, ConfigType::String, Importance::High,
                "schemaless format for writing data to TDengine", g(5), Width::Short, "DB Schemaless Format")
                .validator(Validator::Custom(schemaless_valid, "one of line, telnet, json")),
        )
        .define(
            key(CONNECTION_DATABASE_PREFIX, ConfigType::String, Importance::Medium,
                "when connection.database is not specified, a string for the destination database namewhich may contain '${topic}' as a placeholder for the originating topic namefor example, kafka_${topic} for the topic 'orders' will map to the database name 'kafka_orders'.the default value is null, this means the topic will be mapped to the new database which will have same name as the topic",
                g(6), Width::Medium, "JDBC sink destination Database prefix")
                .default_value(""),
        )
        .define(
            key(DB_CHARSET, ConfigType::String, Importance::Low,
                "The character set to use for String key and values.", None, Width::None, "")
                .default_value("UTF-8")
                .validator(Validator::Custom(charset_valid, "a charset name")),
        )
}

/// `SourceConfig.config()`: the connection keys and group `read`.
pub fn source_def() -> ConfigDef {
    let g = |o| Some(("read", o));
    connection_def()
        .define(
            key(DATA_PRECISION, ConfigType::String, Importance::Medium,
                "the precision of the schemaless data, this is valid only in line format", g(1), Width::Short, "Data Precision")
                .default_value("")
                .validator(Validator::Custom(precision_valid, "one of ms, us, ns or empty")),
        )
        .define(
            key(POLL_INTERVAL_MS, ConfigType::Int, Importance::Medium,
                "Frequency in ms to poll for new or removed tables, which may result in updated task configurations to start polling for data in added tables.",
                g(2), Width::Short, "Monitoring Table Change Interval (ms)")
                .default_value("1000")
                .validator(Validator::at_least(0.0)),
        )
        .define(key(TOPIC_PREFIX, ConfigType::String, Importance::High,
            "Prefix to generate the Kafka topic with table to publish data to", g(3), Width::Medium, "Topic Prefix"))
        .define(
            key(TIMESTAMP_INITIAL, ConfigType::String, Importance::Medium,
                "The timestamp used for initial queries. If not specified, all data will be retrieved.",
                g(4), Width::Medium, "Unix time value of initial timestamp")
                .default_null()
                .validator(Validator::Custom(timestamp_initial_valid, "yyyy-MM-dd HH:mm:ss, before now")),
        )
        .define(
            key(FETCH_MAX_ROWS, ConfigType::Int, Importance::Low,
                "Maximum number of rows to include in a single batch when polling for new data. This setting can be used to limit the amount of data buffered internally in the connector.",
                g(5), Width::Short, "Max Rows Per Batch")
                .default_value("100"),
        )
        .define(
            key(QUERY_INTERVAL_MS, ConfigType::Long, Importance::Low,
                "The interval used for query data from TDengine. If not specified or set to 0, all data will be retrieved.",
                g(6), Width::Medium, "query interval from TDengine, unit: millisecond")
                .default_value("0")
                .validator(Validator::Custom(query_interval_valid, "at most 31 days")),
        )
        .define(
            key(TOPIC_PER_STABLE, ConfigType::Boolean, Importance::Low,
                "Whether to create a topic for each super table, default is true", g(7), Width::Short, "Topic for each Super Table")
                .default_value("true"),
        )
        .define(
            key(TOPIC_IGNORE_DB, ConfigType::Boolean, Importance::Low,
                "Whether to ignore the database name when creating a topic, default is false. only valid when topic.per.stable is true",
                g(8), Width::Short, "Ignore Database Name")
                .default_value("false"),
        )
        .define(
            key(OUT_FORMAT, ConfigType::String, Importance::Medium, "out format for writing data to kafka",
                g(9), Width::Short, "out format may be one of json or line")
                .default_value("line")
                .validator(Validator::Custom(out_format_valid, "json or line")),
        )
        .define(
            key(OUT_FORMAT_JSON_NO_ARRAY, ConfigType::Boolean, Importance::Low,
                "out format json record without array", None, Width::None, "")
                .default_value("true"),
        )
        .define(
            key(TOPIC_DELIMITER, ConfigType::String, Importance::Low,
                "The delimiter for topic name, default is '-'", g(10), Width::Short, "Topic Delimiter")
                .default_value("-"),
        )
        .define(
            key(TABLES, ConfigType::List, Importance::Low,
                "List of tables for this task to watch for changes.", None, Width::None, "")
                .default_value(""),
        )
        .define(
            key(READ_METHOD, ConfigType::String, Importance::Low,
                "read method for query TDengine data, default is subscription", g(11), Width::Short,
                "read method may be one of subscription or query")
                .default_value("subscription")
                .validator(Validator::Custom(read_method_valid, "subscription or query")),
        )
        .define(
            key(SUBSCRIPTION_GROUP_ID, ConfigType::String, Importance::Low,
                "subscription group id for subscription data from TDengine", g(12), Width::Short, "subscription group id")
                .default_null(),
        )
        .define(
            key(SUBSCRIPTION_WAL_ONLY, ConfigType::Boolean, Importance::Low,
                "only subscription wal data from TDengine", g(13), Width::Short, "only subscription wal data")
                .default_value("true"),
        )
        .define(
            key(SUBSCRIPTION_FROM, ConfigType::String, Importance::Low,
                "subscription from latest or earliest", g(14), Width::Short, "subscription from latest or earliest")
                .default_value("latest"),
        )
}

/// Parses with `def`, every error in one config error.
pub fn parse(def: &ConfigDef, raw: &RawConfig) -> sluice_api::Result<sluice_api::config::Config> {
    def.parse(raw)
        .map_err(|e| sluice_api::ConnectError::config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(def: &ConfigDef, pairs: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
        let raw: RawConfig = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        def.validate(&raw)
            .into_iter()
            .filter(|v| !v.errors.is_empty())
            .map(|v| (v.name, v.errors))
            .collect()
    }

    #[test]
    fn sink_validation_messages_are_javas() {
        let e = errors(
            &sink_def(),
            &[
                ("connection.url", "jdbc:mysql://h"),
                ("data.precision", "s"),
            ],
        );
        assert_eq!(
            e,
            vec![
                ("connection.url".to_string(), vec!["Invalid value jdbc:mysql://h for configuration connection.url: check connection.url is correct".to_string()]),
                ("data.precision".to_string(), vec!["Invalid value s for configuration data.precision: database precision config must be one of (ms, us, ns)".to_string()]),
                ("db.schemaless".to_string(), vec!["Missing required configuration \"db.schemaless\" which has no default value.".to_string()]),
            ]
        );
        assert!(errors(
            &sink_def(),
            &[
                ("connection.url", "jdbc:TAOS-RS://h:6041"),
                ("db.schemaless", "LINE"),
                ("data.precision", "NS")
            ]
        )
        .is_empty());
        assert_eq!(
            errors(&sink_def(), &[("connection.url", "jdbc:TAOS://h"), ("db.schemaless", "csv")])[0].1,
            vec!["Invalid value csv for configuration db.schemaless: schemaless config must be one of (line, telnet, json)"]
        );
    }

    #[test]
    fn source_validation_messages_are_javas() {
        let e = errors(
            &source_def(),
            &[
                ("connection.url", "jdbc:TAOS://h"),
                ("query.interval.ms", "2678400001"),
                ("timestamp.initial", "2999-01-01 00:00:00"),
                ("out.format", "csv"),
                ("read.method", "tail"),
            ],
        );
        let names: Vec<&str> = e.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "topic.prefix",
                "timestamp.initial",
                "query.interval.ms",
                "out.format",
                "read.method"
            ]
        );
        assert!(e[1].1[0].ends_with("timestamp initial value must be before now"));
        assert!(e[2].1[0].ends_with("query interval must not be greater than 1 month"));
        assert!(e[3].1[0].ends_with("outFormat config must one of telnet/json"));
        assert!(e[4].1[0].ends_with("read method may be one of subscription or query"));
        assert!(errors(
            &source_def(),
            &[
                ("connection.url", "jdbc:TAOS://h"),
                ("topic.prefix", "p"),
                ("query.interval.ms", "2678400000"),
                ("timestamp.initial", "2018-10-03 14:38:05")
            ]
        )
        .is_empty());
    }
}
