//! What every dialect shares: the connection enum the tasks talk to, SQL values, column
//! descriptions, table identifiers with quoting, and calendar arithmetic.
//!
//! The dialect files (`postgres.rs`, `mysql.rs`, `sqlite.rs`) hold everything that differs:
//! connecting, binding and decoding values, metadata queries, DDL type names and upserts.

use sluice_api::{ConnectError, Result};

use crate::config::{ConnectionSettings, Dialect};
use crate::{mysql, postgres, sqlite};

/// A value bound to or read from SQL, independent of the driver.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    F32(f32),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
    /// A plain decimal string (`-12.340`).
    Decimal(String),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since 1970-01-01T00:00:00 UTC: an instant (the dialects shift wall-clock
    /// columns by `db.timezone` when reading and binding).
    Timestamp(i64),
}

impl std::fmt::Display for SqlValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SqlValue::Null => f.write_str("null"),
            SqlValue::Bool(b) => write!(f, "{b}"),
            SqlValue::Int(v) => write!(f, "{v}"),
            SqlValue::UInt(v) => write!(f, "{v}"),
            SqlValue::F32(v) => write!(f, "{v}"),
            SqlValue::F64(v) => write!(f, "{v}"),
            SqlValue::Text(s) => write!(f, "'{s}'"),
            SqlValue::Bytes(b) => write!(f, "<{} bytes>", b.len()),
            SqlValue::Decimal(d) => f.write_str(d),
            SqlValue::Date(d) => {
                let (y, m, day) = civil_from_days(i64::from(*d));
                write!(f, "{y:04}-{m:02}-{day:02}")
            }
            SqlValue::Time(us) => {
                let (h, mi, s, frac) = split_time(*us);
                write!(f, "{h:02}:{mi:02}:{s:02}.{frac:06}")
            }
            SqlValue::Timestamp(us) => {
                let (days, rest) = (us.div_euclid(MICROS_PER_DAY), us.rem_euclid(MICROS_PER_DAY));
                let (y, m, d) = civil_from_days(days);
                let (h, mi, s, frac) = split_time(rest);
                write!(f, "{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{frac:06}")
            }
        }
    }
}

pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A time zone of `db.timezone` / `date.timezone`: the zone in which the database's
/// wall-clock values (PostgreSQL `timestamp`, `time`; MySQL `DATETIME`, `TIMESTAMP`, `TIME`;
/// SQLite date/time text) are read and bound, as Confluent's dialects pass a `Calendar` of
/// that zone to `getTimestamp`/`setTimestamp`. Values carrying their own offset (PostgreSQL
/// `timestamptz`) and SQLite epoch integers are instants and are not shifted.
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl Default for Zone {
    fn default() -> Self {
        Zone {
            name: "UTC".into(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }
}

impl Zone {
    /// Parses a Java `ZoneId`: an IANA name (`Europe/Berlin`), `UTC`/`GMT`/`Z`, or a fixed
    /// offset (`+05:30`, `UTC+2`, `GMT-08:00`).
    pub fn parse(name: &str) -> Option<Zone> {
        let n = name.trim();
        if matches!(
            n,
            "UTC" | "Z" | "GMT" | "UT" | "Etc/UTC" | "Etc/GMT" | "UTC0"
        ) {
            return Some(Zone::default());
        }
        let fixed = |text: &str| -> Option<jiff::tz::TimeZone> {
            let (sign, rest) = match text.as_bytes().first()? {
                b'+' => (1, &text[1..]),
                b'-' => (-1, &text[1..]),
                _ => return None,
            };
            let (h, m) = match rest.split_once(':') {
                Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
                None if rest.len() == 4 => (rest[..2].parse().ok()?, rest[2..].parse().ok()?),
                None => (rest.parse().ok()?, 0),
            };
            if h > 18 || m > 59 {
                return None;
            }
            let offset = jiff::tz::Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()?;
            Some(jiff::tz::TimeZone::fixed(offset))
        };
        let tz = if let Some(t) = fixed(n) {
            t
        } else if let Some(t) = ["UTC", "GMT", "UT"]
            .iter()
            .find_map(|p| n.strip_prefix(p))
            .and_then(fixed)
        {
            t
        } else {
            jiff::tz::TimeZone::get(n).ok()?
        };
        Some(Zone {
            name: n.to_string(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_utc(&self) -> bool {
        self.tz == jiff::tz::TimeZone::UTC
    }

    /// The instant (µs since the epoch) of a wall-clock time in this zone, given as µs
    /// since 1970-01-01T00:00 on that clock. A time in a DST gap moves forward, an
    /// ambiguous one takes the earlier offset (java.time's rules).
    pub fn wall_to_instant(&self, wall_us: i64) -> i64 {
        if self.is_utc() {
            return wall_us;
        }
        let Ok(as_utc) = jiff::Timestamp::from_microsecond(wall_us) else {
            return wall_us;
        };
        let civil = jiff::tz::Offset::UTC.to_datetime(as_utc);
        match self.tz.to_ambiguous_timestamp(civil).compatible() {
            Ok(ts) => ts.as_microsecond(),
            Err(_) => wall_us,
        }
    }

    /// The wall-clock time in this zone (µs since 1970-01-01T00:00 on that clock) of an
    /// instant.
    pub fn instant_to_wall(&self, us: i64) -> i64 {
        if self.is_utc() {
            return us;
        }
        match jiff::Timestamp::from_microsecond(us) {
            Ok(ts) => us + i64::from(self.tz.to_offset(ts).seconds()) * 1_000_000,
            Err(_) => us,
        }
    }

    /// A time of day read from the database (µs since midnight on the zone's clock) as
    /// Connect's Time: the time of day in UTC of that wall time on 1970-01-01.
    pub fn wall_time_to_utc(&self, us: i64) -> i64 {
        self.wall_to_instant(us).rem_euclid(MICROS_PER_DAY)
    }

    /// Connect's Time (µs since midnight UTC, 1970-01-01) as the zone's time of day.
    pub fn utc_time_to_wall(&self, us: i64) -> i64 {
        self.instant_to_wall(us).rem_euclid(MICROS_PER_DAY)
    }

    /// Connect's Date (days; midnight UTC) as the date a calendar of this zone shows for
    /// that instant (`setDate(…, Calendar)`: the day before in zones west of UTC).
    pub fn utc_date_to_local(&self, days: i32) -> i32 {
        if self.is_utc() {
            return days;
        }
        let wall = self.instant_to_wall(i64::from(days) * MICROS_PER_DAY);
        i32::try_from(wall.div_euclid(MICROS_PER_DAY)).unwrap_or(days)
    }
}

/// The SQL name of a `transaction.isolation.mode` level (`None`: SQL_SERVER_SNAPSHOT, which
/// only SQL Server has).
pub fn isolation_sql(mode: &str) -> Option<&'static str> {
    match mode {
        "READ_UNCOMMITTED" => Some("READ UNCOMMITTED"),
        "READ_COMMITTED" => Some("READ COMMITTED"),
        "REPEATABLE_READ" => Some("REPEATABLE READ"),
        "SERIALIZABLE" => Some("SERIALIZABLE"),
        _ => None,
    }
}

/// The zones a connection reads and binds date/time values in: `db.timezone` for times and
/// timestamps, and for dates the sink's `date.timezone` (the source reads dates in UTC).
#[derive(Clone, Debug, Default)]
pub struct Zones {
    pub db: Zone,
    pub date: Zone,
}

/// Hours, minutes, seconds and microseconds of a time of day.
pub fn split_time(us: i64) -> (i64, i64, i64, i64) {
    let secs = us.div_euclid(1_000_000);
    (
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        us.rem_euclid(1_000_000),
    )
}

/// (year, month, day) of days since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A table identifier `[catalog.][schema.]table` (Confluent's `TableId`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub catalog: Option<String>,
    pub schema: Option<String>,
    pub table: String,
}

impl TableId {
    pub fn new(catalog: Option<String>, schema: Option<String>, table: impl Into<String>) -> Self {
        TableId {
            catalog,
            schema,
            table: table.into(),
        }
    }

    /// The unquoted fully qualified name (`public.orders`), as source partitions store it.
    pub fn fqn(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if let Some(c) = &self.catalog {
            parts.push(c);
        }
        if let Some(s) = &self.schema {
            parts.push(s);
        }
        parts.push(&self.table);
        parts.join(".")
    }

    /// The name quoted for SQL by `dialect` (always quoted unless `quote` is false).
    pub fn quoted(&self, dialect: Dialect, quote: bool) -> String {
        let mut out = String::new();
        for part in [&self.catalog, &self.schema].into_iter().flatten() {
            out.push_str(&dialect.quote_if(part, quote));
            out.push('.');
        }
        out.push_str(&dialect.quote_if(&self.table, quote));
        out
    }

    /// Parses `a.b.c` (quoted parts allowed, `"a.b"` or `` `a.b` ``) into parts, as the
    /// dialects' `parseTableIdentifier` do: the last part is the table, the one before the
    /// schema (PostgreSQL, SQLite) or catalog (MySQL), the one before that the catalog.
    pub fn parse(dialect: Dialect, text: &str) -> Result<TableId> {
        let parts = split_identifier(text)?;
        let mut parts = parts.into_iter().rev();
        let table = parts
            .next()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ConnectError::config(format!("Invalid table name '{text}'")))?;
        let second = parts.next();
        let third = parts.next();
        if parts.next().is_some() {
            return Err(ConnectError::config(format!(
                "Invalid table name '{text}': at most catalog.schema.table"
            )));
        }
        Ok(match dialect {
            Dialect::MySql => TableId::new(second.or(third), None, table),
            _ => TableId::new(third, second, table),
        })
    }
}

impl std::fmt::Display for TableId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.fqn())
    }
}

/// Splits a dotted identifier, keeping dots and commas inside `"…"` or `` `…` `` quotes.
pub fn split_identifier(text: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' => {
                let q = c;
                loop {
                    match chars.next() {
                        Some(x) if x == q => {
                            if chars.peek() == Some(&q) {
                                chars.next();
                                cur.push(q);
                            } else {
                                break;
                            }
                        }
                        Some(x) => cur.push(x),
                        None => {
                            return Err(ConnectError::config(format!(
                                "Unterminated quote in identifier '{text}'"
                            )))
                        }
                    }
                }
            }
            '.' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    Ok(out)
}

/// Splits a comma-separated list of (possibly quoted) identifiers: the `tables` task key.
pub fn split_table_list(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '`') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, ',') => out.push(std::mem::take(&mut cur).trim().to_string()),
            (None, c) => cur.push(c),
        }
    }
    let last = cur.trim().to_string();
    if !last.is_empty() || !out.is_empty() {
        out.push(last);
    }
    out.retain(|s| !s.is_empty());
    out
}

/// What the source needs of a result-set column (`ColumnDefinition`): its JDBC-like kind,
/// label, nullability and numeric precision/scale.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    pub precision: i32,
    /// `None` when the column declares no scale (PG `numeric`).
    pub scale: Option<i32>,
    pub signed: bool,
}

/// The `java.sql.Types` a driver reports, after dialect overrides (PG `bool` is BOOLEAN,
/// `json`/`uuid` are text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Boolean,
    Bit,
    TinyInt,
    SmallInt,
    Integer,
    BigInt,
    Real,
    Double,
    Numeric,
    Decimal,
    Text,
    Binary,
    Date,
    Time,
    Timestamp,
    /// Skipped with a warning, as Confluent skips ARRAY, OTHER, ….
    Unsupported,
}

/// A column of an existing table, as the sink reads it (`ColumnDefinition` of `DbStructure`).
#[derive(Clone, Debug, PartialEq)]
pub struct TableColumn {
    pub name: String,
    /// The database's type name, lower case (`integer`, `jsonb`, `varchar`).
    pub type_name: String,
    pub nullable: bool,
    pub auto_increment: bool,
}

/// An INSERT split around its value tuple: `head` + `tuple` + `tail` is the statement, and
/// `head` + `tuple,tuple,…` + `tail` inserts several rows at once.
#[derive(Clone, Debug, PartialEq)]
pub struct InsertShape {
    pub head: String,
    pub tuple: String,
    pub tail: String,
}

/// An open connection of one of the dialects.
pub enum Db {
    Postgres(postgres::PgConn),
    MySql(mysql::MyConn),
    Sqlite(sqlite::LiteConn),
}

/// A result set read whole: columns and rows.
pub struct ResultSet {
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<SqlValue>>,
}

/// A piece of a streamed result: the columns first, then rows in chunks.
pub enum Chunk {
    Columns(Vec<ResultColumn>),
    Rows(Vec<Vec<SqlValue>>),
}

/// A query running on a connection of its own task, its rows arriving in chunks.
pub struct StreamedQuery {
    pub rx: tokio::sync::mpsc::Receiver<Result<Chunk>>,
    /// The connection back when the query is done (`None` after a connection failure).
    pub done: tokio::task::JoinHandle<Option<Db>>,
}

impl Db {
    /// Starts `sql` on this connection in a task of its own and returns the stream of its
    /// result: columns, then rows in chunks of `fetch` (`batch.max.rows`). At most two chunks
    /// wait in the channel, so memory stays bounded whatever the size of the result (the
    /// driver reads the socket, or SQLite steps the statement, only as chunks are taken).
    /// A statement error ends the stream with the error; a broken connection is closed and
    /// not handed back.
    pub fn stream_query(self, sql: String, params: Vec<SqlValue>, fetch: usize) -> StreamedQuery {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let done = match self {
            Db::Sqlite(mut c) => tokio::task::spawn_blocking(move || {
                if let Err(e) = c.query_into_blocking(&sql, &params, fetch, &tx) {
                    let _ = tx.blocking_send(Err(e));
                }
                Some(Db::Sqlite(c))
            }),
            mut db => tokio::spawn(async move {
                let r = match &mut db {
                    Db::Postgres(c) => c.query_into(&sql, &params, fetch, &tx).await,
                    Db::MySql(c) => c.query_into(&sql, &params, fetch, &tx).await,
                    Db::Sqlite(_) => Ok(()),
                };
                match r {
                    Ok(()) => Some(db),
                    Err(e) => {
                        let broken = e.kind() == sluice_api::ErrorKind::Retriable;
                        let _ = tx.send(Err(e)).await;
                        if broken {
                            db.close().await;
                            None
                        } else {
                            Some(db)
                        }
                    }
                }
            }),
        };
        StreamedQuery { rx, done }
    }

    /// Opens a connection, trying `connection.attempts` times `connection.backoff.ms` apart.
    pub async fn connect(settings: &ConnectionSettings) -> Result<Db> {
        let attempts = settings.attempts.max(1);
        let mut last = None;
        for attempt in 1..=attempts {
            let result = match settings.url.dialect {
                Dialect::Postgres => postgres::PgConn::connect(settings).await.map(Db::Postgres),
                Dialect::MySql => mysql::MyConn::connect(settings).await.map(Db::MySql),
                Dialect::Sqlite => sqlite::LiteConn::connect(settings).map(Db::Sqlite),
            };
            match result {
                Ok(db) => return Ok(db),
                Err(e) if e.kind() == sluice_api::ErrorKind::Retriable && attempt < attempts => {
                    tracing::info!(
                        "Unable to connect to database on attempt {attempt}/{attempts}. Will retry in {} ms: {e}",
                        settings.backoff_ms
                    );
                    last = Some(e);
                    tokio::time::sleep(std::time::Duration::from_millis(settings.backoff_ms)).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ConnectError::retriable("could not connect")))
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Postgres(_) => Dialect::Postgres,
            Db::MySql(_) => Dialect::MySql,
            Db::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Runs statements without parameters (DDL, BEGIN, COMMIT).
    pub async fn execute_simple(&mut self, sql: &str) -> Result<()> {
        match self {
            Db::Postgres(c) => c.execute_simple(sql).await,
            Db::MySql(c) => c.execute_simple(sql).await,
            Db::Sqlite(c) => c.execute_simple(sql),
        }
    }

    pub async fn begin(&mut self) -> Result<()> {
        let sql = match self {
            Db::MySql(_) => "START TRANSACTION",
            _ => "BEGIN",
        };
        self.execute_simple(sql).await
    }

    pub async fn commit(&mut self) -> Result<()> {
        self.execute_simple("COMMIT").await
    }

    pub async fn rollback(&mut self) -> Result<()> {
        self.execute_simple("ROLLBACK").await
    }

    /// Executes one statement per row of parameters. `columns` name the parameters for errors;
    /// `shape` (an INSERT's parts) lets a dialect send many rows in one statement.
    pub async fn execute_batch(
        &mut self,
        sql: &str,
        shape: Option<&InsertShape>,
        columns: &[String],
        rows: &[Vec<SqlValue>],
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        match self {
            Db::Postgres(c) => c.execute_batch(sql, columns, rows).await,
            Db::MySql(c) => c.execute_batch(sql, shape, rows).await,
            Db::Sqlite(c) => c.execute_batch(sql, rows),
        }
    }

    /// Runs a query and reads its whole result.
    pub async fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<ResultSet> {
        match self {
            Db::Postgres(c) => c.query(sql, params).await,
            Db::MySql(c) => c.query(sql, params).await,
            Db::Sqlite(c) => c.query(sql, params),
        }
    }

    /// The columns of a table, or `None` if it does not exist.
    pub async fn describe_table(&mut self, table: &TableId) -> Result<Option<Vec<TableColumn>>> {
        match self {
            Db::Postgres(c) => c.describe_table(table).await,
            Db::MySql(c) => c.describe_table(table).await,
            Db::Sqlite(c) => c.describe_table(table),
        }
    }

    /// Tables matching the patterns and types, in metadata order (schema, name).
    pub async fn list_tables(
        &mut self,
        catalog: Option<&str>,
        schema: Option<&str>,
        types: &[String],
    ) -> Result<Vec<TableId>> {
        match self {
            Db::Postgres(c) => c.list_tables(schema, types).await,
            Db::MySql(c) => c.list_tables(catalog, types).await,
            Db::Sqlite(c) => c.list_tables(types),
        }
    }

    /// The database's current time (`SELECT CURRENT_TIMESTAMP`), microseconds since the epoch.
    pub async fn current_time_micros(&mut self) -> Result<i64> {
        // As instants (µs since the epoch), whatever the session's or `db.timezone`'s zone.
        let sql = match self {
            Db::Postgres(_) => "SELECT CURRENT_TIMESTAMP",
            Db::MySql(_) => "SELECT CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(6)) * 1000000 AS SIGNED)",
            Db::Sqlite(_) => {
                "SELECT CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"
            }
        };
        let rs = self.query(sql, &[]).await?;
        match rs.rows.first().and_then(|r| r.first()) {
            Some(SqlValue::Timestamp(us)) => Ok(*us),
            Some(SqlValue::Int(us)) => Ok(*us),
            Some(SqlValue::Text(t)) => parse_timestamp_text(t)
                .ok_or_else(|| ConnectError::fatal(format!("Unexpected database time '{t}'"))),
            other => Err(ConnectError::fatal(format!(
                "Unexpected database time {other:?}"
            ))),
        }
    }

    /// Fills in the schema (PG, SQLite) or catalog (MySQL) of a table name without one.
    pub async fn qualify(&mut self, table: TableId) -> Result<TableId> {
        match self {
            Db::Postgres(c) if table.schema.is_none() => Ok(TableId {
                schema: Some(c.current_schema().await?),
                ..table
            }),
            Db::MySql(c) if table.catalog.is_none() => Ok(TableId {
                catalog: c.current_database().await?,
                ..table
            }),
            _ => Ok(table),
        }
    }

    /// The auto-increment column of a table, if any (for an empty `incrementing.column.name`).
    pub async fn auto_increment_column(&mut self, table: &TableId) -> Result<Option<String>> {
        Ok(self
            .describe_table(table)
            .await?
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.auto_increment)
            .map(|c| c.name))
    }

    pub async fn close(self) {
        match self {
            Db::Postgres(c) => c.close(),
            Db::MySql(c) => c.close().await,
            Db::Sqlite(_) => {}
        }
    }
}

/// Parses `YYYY-MM-DD HH:MM:SS[.ffffff]` (or with `T`) into microseconds since the epoch.
pub fn parse_timestamp_text(t: &str) -> Option<i64> {
    let t = t.trim();
    let (date, time) = match t.split_once([' ', 'T']) {
        Some((d, tm)) => (d, tm),
        None => (t, "00:00:00"),
    };
    let days = parse_date_text(date)?;
    let us = parse_time_text(time)?;
    Some(days * MICROS_PER_DAY + us)
}

/// Parses `YYYY-MM-DD` into days since the epoch.
pub fn parse_date_text(d: &str) -> Option<i64> {
    let mut it = d.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let day: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(y, m, day))
}

/// Parses `HH:MM:SS[.ffffff]` into microseconds since midnight.
pub fn parse_time_text(t: &str) -> Option<i64> {
    let t = t.trim_end_matches('Z');
    let (hms, frac) = match t.split_once('.') {
        Some((a, b)) => (a, b),
        None => (t, ""),
    };
    let mut it = hms.splitn(3, ':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let s: i64 = it.next().unwrap_or("0").parse().ok()?;
    let mut us = 0i64;
    let mut scale = 100_000i64;
    for c in frac.chars().take(6) {
        us += i64::from(c.to_digit(10)?) * scale;
        scale /= 10;
    }
    Some(((h * 60 + m) * 60 + s) * 1_000_000 + us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        for days in [-719_468i64, -1, 0, 1, 10_957, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(10_957), (2000, 1, 1));
        assert_eq!(
            parse_timestamp_text("2026-07-31 12:34:56.789"),
            Some(1_785_501_296_789_000)
        );
        assert_eq!(
            SqlValue::Timestamp(1_785_501_296_789_000).to_string(),
            "2026-07-31 12:34:56.789000"
        );
    }

    #[test]
    fn zones_shift_like_java_calendars() {
        let ny = Zone::parse("America/New_York").expect("zone");
        let wall = parse_timestamp_text("2026-07-01 12:00:00").expect("ts");
        let instant = ny.wall_to_instant(wall);
        assert_eq!(instant - wall, 4 * 3_600_000_000, "EDT is UTC-4");
        assert_eq!(ny.instant_to_wall(instant), wall);
        // A wall time in the spring-forward gap moves forward (java.time's rule).
        let gap = parse_timestamp_text("2026-03-08 02:30:00").expect("ts");
        assert_eq!(
            ny.wall_to_instant(gap),
            parse_timestamp_text("2026-03-08 07:30:00").expect("ts")
        );
        // Time of day on 1970-01-01 (EST), and Date bound through a New York calendar.
        assert_eq!(ny.wall_time_to_utc(12 * 3_600_000_000), 17 * 3_600_000_000);
        assert_eq!(ny.utc_time_to_wall(17 * 3_600_000_000), 12 * 3_600_000_000);
        assert_eq!(ny.utc_date_to_local(20_635), 20_634);
        let ist = Zone::parse("+05:30").expect("offset");
        assert_eq!(ist.instant_to_wall(0), 5 * 3_600_000_000 + 30 * 60_000_000);
        assert!(Zone::parse("UTC+2").is_some() && Zone::parse("GMT-08:00").is_some());
        assert!(Zone::parse("UTC").expect("utc").is_utc());
        assert!(Zone::parse("Nowhere/Special").is_none());
        assert_eq!(isolation_sql("READ_COMMITTED"), Some("READ COMMITTED"));
        assert_eq!(isolation_sql("SQL_SERVER_SNAPSHOT"), None);
    }

    #[test]
    fn identifiers() {
        assert_eq!(
            TableId::parse(Dialect::Postgres, "public.orders").unwrap(),
            TableId::new(None, Some("public".into()), "orders")
        );
        assert_eq!(
            TableId::parse(Dialect::MySql, "shop.orders").unwrap(),
            TableId::new(Some("shop".into()), None, "orders")
        );
        assert_eq!(
            TableId::parse(Dialect::Postgres, r#""my.schema"."a""b""#).unwrap(),
            TableId::new(None, Some("my.schema".into()), "a\"b")
        );
        let t = TableId::new(None, Some("public".into()), "we\"ird");
        assert_eq!(t.quoted(Dialect::Postgres, true), r#""public"."we""ird""#);
        let m = TableId::new(Some("db".into()), None, "t`x");
        assert_eq!(m.quoted(Dialect::MySql, true), "`db`.`t``x`");
        assert_eq!(
            split_table_list(r#""public"."a,b","public"."c""#),
            vec![r#""public"."a,b""#, r#""public"."c""#]
        );
        assert!(split_table_list("").is_empty());
    }
}
