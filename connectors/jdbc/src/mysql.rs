//! MySQL and MariaDB (`MySqlDatabaseDialect`, chosen by `jdbc:mysql:` and `jdbc:mariadb:`):
//! mysql_async over the binary protocol (server-side prepared statements). The session runs
//! in UTC so TIMESTAMP columns read and bind as UTC, like `db.timezone=UTC`.

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Params, Row, Value};
use sluice_api::data::SchemaType;
use sluice_api::{ConnectError, Result};

use crate::config::ConnectionSettings;
use crate::db::{
    civil_from_days, days_from_civil, split_time, Chunk, ColumnKind, InsertShape, ResultColumn,
    ResultSet, SqlValue, TableColumn, TableId, Zones, MICROS_PER_DAY,
};

pub struct MyConn {
    conn: Conn,
    address: String,
    /// `db.timezone` (DATETIME, TIMESTAMP, TIME are wall-clock values in it) and the sink's
    /// `date.timezone`.
    zones: Zones,
}

/// MySQL's limit of placeholders in one statement.
const MAX_PLACEHOLDERS: usize = 65_535;
/// Rows per multi-row INSERT.
const MAX_ROWS_PER_INSERT: usize = 1000;

/// A driver error as a Connect error of the right kind, naming host and port.
pub fn error(address: &str, what: &str, e: mysql_async::Error) -> ConnectError {
    match &e {
        mysql_async::Error::Server(s) => {
            let message = format!(
                "{what} failed on MySQL {address}: {} (error {}, SQLSTATE {})",
                s.message, s.code, s.state
            );
            match s.code {
                // Lock wait timeout, deadlock, server shutdown, too many connections.
                1205 | 1213 | 1053 | 1040 | 2006 | 2013 => ConnectError::retriable(message),
                // Access denied, unknown database.
                1044 | 1045 | 1049 | 1698 => ConnectError::fatal(message),
                _ if s.state.starts_with("08") => ConnectError::retriable(message),
                _ => ConnectError::data(message),
            }
        }
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => {
            ConnectError::retriable(format!("{what} failed on MySQL {address}: {e}"))
        }
        _ => ConnectError::data(format!("{what} failed on MySQL {address}: {e}")),
    }
}

impl MyConn {
    pub async fn connect(settings: &ConnectionSettings) -> Result<MyConn> {
        let url = &settings.url;
        let address = url.address();
        let mut init = vec!["SET time_zone = '+00:00'".to_string()];
        if let Some(level) = &settings.isolation {
            match crate::db::isolation_sql(level) {
                Some(l) => init.push(format!("SET SESSION TRANSACTION ISOLATION LEVEL {l}")),
                None => tracing::warn!(
                    "Unable to set transaction.isolation.mode: {level}. No transaction isolation mode will be set for the queries: not supported by MySQL"
                ),
            }
        }
        let opts = OptsBuilder::default()
            .ip_or_hostname(url.host.clone())
            .tcp_port(url.port)
            .user(Some(url.user.clone().unwrap_or_else(|| "root".to_string())))
            .pass(url.password.clone())
            .db_name(url.database.clone())
            .prefer_socket(false)
            .init(init);
        let conn = Conn::new(opts).await.map_err(|e| {
            let e = error(&address, "Connecting", e);
            if e.kind() == sluice_api::ErrorKind::Data {
                ConnectError::retriable(e.message().to_string())
            } else {
                e
            }
        })?;
        Ok(MyConn {
            conn,
            address,
            zones: settings.zones.clone(),
        })
    }

    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }

    fn err(&self, what: &str, e: mysql_async::Error) -> ConnectError {
        error(&self.address, what, e)
    }

    pub async fn execute_simple(&mut self, sql: &str) -> Result<()> {
        let r = self.conn.query_drop(sql).await;
        r.map_err(|e| self.err(&format!("Statement '{sql}'"), e))
    }

    /// Executes every row: a multi-row INSERT per chunk when the statement has that shape
    /// (the same rows in the same order, one round trip per chunk), else one execute per row.
    pub async fn execute_batch(
        &mut self,
        sql: &str,
        shape: Option<&InsertShape>,
        rows: &[Vec<SqlValue>],
    ) -> Result<()> {
        if let Some(shape) = shape {
            let width = rows.first().map_or(1, Vec::len).max(1);
            let per = (MAX_PLACEHOLDERS / width).clamp(1, MAX_ROWS_PER_INSERT);
            for chunk in rows.chunks(per) {
                let mut stmt = String::with_capacity(
                    shape.head.len() + chunk.len() * (shape.tuple.len() + 1) + shape.tail.len(),
                );
                stmt.push_str(&shape.head);
                for i in 0..chunk.len() {
                    if i > 0 {
                        stmt.push(',');
                    }
                    stmt.push_str(&shape.tuple);
                }
                stmt.push_str(&shape.tail);
                let params: Vec<Value> = chunk
                    .iter()
                    .flatten()
                    .map(|v| to_value(v, &self.zones))
                    .collect();
                let r = self.conn.exec_drop(stmt, Params::Positional(params)).await;
                r.map_err(|e| self.err(&format!("Executing '{sql}'"), e))?;
            }
            return Ok(());
        }
        let params: Vec<Params> = rows
            .iter()
            .map(|r| Params::Positional(r.iter().map(|v| to_value(v, &self.zones)).collect()))
            .collect();
        let r = self.conn.exec_batch(sql, params).await;
        r.map_err(|e| self.err(&format!("Executing '{sql}'"), e))
    }

    pub async fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<ResultSet> {
        let params = if params.is_empty() {
            Params::Empty
        } else {
            Params::Positional(params.iter().map(|v| to_value(v, &self.zones)).collect())
        };
        let address = self.address.clone();
        let zones = self.zones.clone();
        let mut result = self
            .conn
            .exec_iter(sql, params)
            .await
            .map_err(|e| error(&address, &format!("Query '{sql}'"), e))?;
        let cols = result.columns();
        let rows: Vec<Row> = result
            .collect()
            .await
            .map_err(|e| error(&address, &format!("Query '{sql}'"), e))?;
        result
            .drop_result()
            .await
            .map_err(|e| error(&address, &format!("Query '{sql}'"), e))?;
        let cols = cols.map(|c| c.to_vec()).unwrap_or_default();
        let columns: Vec<ResultColumn> = cols.iter().map(result_column).collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let values = row.unwrap();
            let mut decoded = Vec::with_capacity(values.len());
            for (i, v) in values.into_iter().enumerate() {
                let col = columns.get(i);
                decoded.push(decode(v, col, &zones).map_err(|e| {
                    ConnectError::data(format!(
                        "Cannot read column {}: {e}",
                        col.map_or("?", |c| c.name.as_str())
                    ))
                })?);
            }
            out.push(decoded);
        }
        Ok(ResultSet { columns, rows: out })
    }

    /// Runs a query and sends its columns, then its rows in chunks of `fetch`, into `tx`,
    /// reading rows off the socket only as fast as the receiver takes them.
    pub async fn query_into(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        fetch: usize,
        tx: &tokio::sync::mpsc::Sender<Result<Chunk>>,
    ) -> Result<()> {
        let params = if params.is_empty() {
            Params::Empty
        } else {
            Params::Positional(params.iter().map(|v| to_value(v, &self.zones)).collect())
        };
        let address = self.address.clone();
        let zones = self.zones.clone();
        let mut result = self
            .conn
            .exec_iter(sql, params)
            .await
            .map_err(|e| error(&address, &format!("Query '{sql}'"), e))?;
        let columns: Vec<ResultColumn> = result
            .columns()
            .map(|c| c.iter().map(result_column).collect())
            .unwrap_or_default();
        if tx.send(Ok(Chunk::Columns(columns.clone()))).await.is_err() {
            return Ok(());
        }
        let fetch = fetch.max(1);
        let mut rows = Vec::with_capacity(fetch);
        while let Some(row) = result
            .next()
            .await
            .map_err(|e| error(&address, &format!("Query '{sql}'"), e))?
        {
            let values = row.unwrap();
            let mut decoded = Vec::with_capacity(values.len());
            for (i, v) in values.into_iter().enumerate() {
                let col = columns.get(i);
                decoded.push(decode(v, col, &zones).map_err(|e| {
                    ConnectError::data(format!(
                        "Cannot read column {}: {e}",
                        col.map_or("?", |c| c.name.as_str())
                    ))
                })?);
            }
            rows.push(decoded);
            if rows.len() >= fetch {
                let full = std::mem::replace(&mut rows, Vec::with_capacity(fetch));
                if tx.send(Ok(Chunk::Rows(full))).await.is_err() {
                    break;
                }
            }
        }
        result
            .drop_result()
            .await
            .map_err(|e| error(&address, &format!("Query '{sql}'"), e))?;
        if !rows.is_empty() {
            let _ = tx.send(Ok(Chunk::Rows(rows))).await;
        }
        Ok(())
    }

    pub async fn current_database(&mut self) -> Result<Option<String>> {
        let address = self.address.clone();
        let r: Option<Option<String>> = self
            .conn
            .query_first("SELECT DATABASE()")
            .await
            .map_err(|e| error(&address, "Reading the current database", e))?;
        Ok(r.flatten())
    }

    pub async fn describe_table(&mut self, table: &TableId) -> Result<Option<Vec<TableColumn>>> {
        let db = match &table.catalog {
            Some(c) => Some(c.clone()),
            None => self.current_database().await?,
        };
        let address = self.address.clone();
        let rows: Vec<(String, String, String, String)> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, EXTRA FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (db, table.table.clone()),
            )
            .await
            .map_err(|e| error(&address, &format!("Describing table {table}"), e))?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            rows.into_iter()
                .map(|(name, ty, nullable, extra)| TableColumn {
                    name,
                    type_name: ty.to_lowercase(),
                    nullable: nullable == "YES",
                    auto_increment: extra.to_lowercase().contains("auto_increment"),
                })
                .collect(),
        ))
    }

    /// Tables of the catalog pattern (default: the connection's database).
    pub async fn list_tables(
        &mut self,
        catalog: Option<&str>,
        types: &[String],
    ) -> Result<Vec<TableId>> {
        let mut kinds: Vec<&str> = Vec::new();
        for t in types {
            match t.trim().to_ascii_uppercase().as_str() {
                "TABLE" => kinds.push("BASE TABLE"),
                "VIEW" => kinds.push("VIEW"),
                "SYSTEM TABLE" | "SYSTEM VIEW" => kinds.push("SYSTEM VIEW"),
                _ => {}
            }
        }
        let address = self.address.clone();
        let rows: Vec<(String, String, String)> = self
            .conn
            .exec(
                "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA LIKE COALESCE(?, DATABASE()) ORDER BY TABLE_SCHEMA, TABLE_NAME",
                (catalog.map(str::to_string),),
            )
            .await
            .map_err(|e| error(&address, "Listing tables", e))?;
        Ok(rows
            .into_iter()
            .filter(|(_, _, ty)| kinds.iter().any(|k| k.eq_ignore_ascii_case(ty)))
            .map(|(db, t, _)| TableId::new(Some(db), None, t))
            .collect())
    }
}

/// Connector/J's view of a column: type, precision and scale, nullability, signedness.
fn result_column(c: &mysql_async::Column) -> ResultColumn {
    let flags = c.flags();
    let unsigned = flags.contains(ColumnFlags::UNSIGNED_FLAG);
    let binary_charset = c.character_set() == 63;
    let decimals = i32::from(c.decimals());
    let length = i32::try_from(c.column_length()).unwrap_or(i32::MAX);
    let (mut precision, mut scale) = (length, Some(0));
    let kind = match c.column_type() {
        // tinyInt1isBit: TINYINT(1) is BIT.
        ColumnType::MYSQL_TYPE_TINY if length == 1 => ColumnKind::Bit,
        ColumnType::MYSQL_TYPE_TINY => ColumnKind::TinyInt,
        ColumnType::MYSQL_TYPE_SHORT => ColumnKind::SmallInt,
        ColumnType::MYSQL_TYPE_INT24 | ColumnType::MYSQL_TYPE_LONG => ColumnKind::Integer,
        ColumnType::MYSQL_TYPE_LONGLONG => ColumnKind::BigInt,
        ColumnType::MYSQL_TYPE_FLOAT => ColumnKind::Real,
        ColumnType::MYSQL_TYPE_DOUBLE => ColumnKind::Double,
        ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => {
            precision = length - i32::from(decimals > 0) - i32::from(!unsigned);
            scale = Some(decimals);
            ColumnKind::Decimal
        }
        ColumnType::MYSQL_TYPE_BIT => ColumnKind::Bit,
        ColumnType::MYSQL_TYPE_DATE
        | ColumnType::MYSQL_TYPE_NEWDATE
        | ColumnType::MYSQL_TYPE_YEAR => ColumnKind::Date,
        ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2 => ColumnKind::Time,
        ColumnType::MYSQL_TYPE_DATETIME
        | ColumnType::MYSQL_TYPE_DATETIME2
        | ColumnType::MYSQL_TYPE_TIMESTAMP
        | ColumnType::MYSQL_TYPE_TIMESTAMP2 => ColumnKind::Timestamp,
        ColumnType::MYSQL_TYPE_JSON | ColumnType::MYSQL_TYPE_ENUM | ColumnType::MYSQL_TYPE_SET => {
            ColumnKind::Text
        }
        ColumnType::MYSQL_TYPE_VARCHAR
        | ColumnType::MYSQL_TYPE_VAR_STRING
        | ColumnType::MYSQL_TYPE_STRING
        | ColumnType::MYSQL_TYPE_TINY_BLOB
        | ColumnType::MYSQL_TYPE_MEDIUM_BLOB
        | ColumnType::MYSQL_TYPE_LONG_BLOB
        | ColumnType::MYSQL_TYPE_BLOB => {
            if binary_charset {
                ColumnKind::Binary
            } else {
                ColumnKind::Text
            }
        }
        _ => ColumnKind::Unsupported,
    };
    ResultColumn {
        name: c.name_str().into_owned(),
        kind,
        nullable: !flags.contains(ColumnFlags::NOT_NULL_FLAG),
        precision,
        scale,
        signed: !unsigned,
    }
}

fn decode(
    v: Value,
    col: Option<&ResultColumn>,
    zones: &Zones,
) -> std::result::Result<SqlValue, String> {
    let kind = col.map_or(ColumnKind::Text, |c| c.kind);
    Ok(match v {
        Value::NULL => SqlValue::Null,
        Value::Int(i) => match kind {
            ColumnKind::Date => SqlValue::Date(days_from_civil(i, 1, 1) as i32),
            _ => SqlValue::Int(i),
        },
        Value::UInt(u) => SqlValue::UInt(u),
        Value::Float(f) => SqlValue::F32(f),
        Value::Double(d) => SqlValue::F64(d),
        Value::Bytes(b) => match kind {
            ColumnKind::Binary => SqlValue::Bytes(b),
            ColumnKind::Bit => SqlValue::Int(i64::from(b.last().copied().unwrap_or(0))),
            ColumnKind::Decimal | ColumnKind::Numeric => {
                SqlValue::Decimal(String::from_utf8(b).map_err(|e| e.to_string())?)
            }
            _ => SqlValue::Text(String::from_utf8(b).map_err(|e| e.to_string())?),
        },
        Value::Date(y, m, d, h, mi, s, us) => {
            let days = days_from_civil(i64::from(y), u32::from(m.max(1)), u32::from(d.max(1)));
            match kind {
                ColumnKind::Date => SqlValue::Date(
                    i32::try_from(days).map_err(|_| "date out of range".to_string())?,
                ),
                // Wall-clock time in db.timezone (the session itself runs in UTC).
                _ => SqlValue::Timestamp(zones.db.wall_to_instant(
                    days * MICROS_PER_DAY
                        + ((i64::from(h) * 60 + i64::from(mi)) * 60 + i64::from(s)) * 1_000_000
                        + i64::from(us),
                )),
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let us =
                ((i64::from(days) * 24 + i64::from(h)) * 3600 + i64::from(mi) * 60 + i64::from(s))
                    * 1_000_000
                    + i64::from(us);
            let us = if neg { -us } else { us };
            if (0..MICROS_PER_DAY).contains(&us) {
                SqlValue::Time(zones.db.wall_time_to_utc(us))
            } else {
                // A duration beyond a day (MySQL TIME holds ±838 h): no time of day to shift.
                SqlValue::Time(us)
            }
        }
    })
}

fn to_value(v: &SqlValue, zones: &Zones) -> Value {
    match v {
        SqlValue::Null => Value::NULL,
        SqlValue::Bool(b) => Value::Int(i64::from(*b)),
        SqlValue::Int(i) => Value::Int(*i),
        SqlValue::UInt(u) => Value::UInt(*u),
        SqlValue::F32(f) => Value::Float(*f),
        SqlValue::F64(f) => Value::Double(*f),
        SqlValue::Text(t) => Value::Bytes(t.as_bytes().to_vec()),
        SqlValue::Bytes(b) => Value::Bytes(b.clone()),
        SqlValue::Decimal(d) => Value::Bytes(d.as_bytes().to_vec()),
        SqlValue::Date(d) => {
            let (y, m, day) = civil_from_days(i64::from(zones.date.utc_date_to_local(*d)));
            Value::Date(y.clamp(0, 9999) as u16, m as u8, day as u8, 0, 0, 0, 0)
        }
        SqlValue::Time(us) => {
            let us = &zones.db.utc_time_to_wall(*us);
            let neg = *us < 0;
            let abs = us.abs();
            let (h, mi, s, frac) = split_time(abs);
            Value::Time(
                neg,
                (h / 24) as u32,
                (h % 24) as u8,
                mi as u8,
                s as u8,
                frac as u32,
            )
        }
        SqlValue::Timestamp(us) => {
            let us = zones.db.instant_to_wall(*us);
            let days = us.div_euclid(MICROS_PER_DAY);
            let (y, m, d) = civil_from_days(days);
            let (h, mi, s, frac) = split_time(us.rem_euclid(MICROS_PER_DAY));
            Value::Date(
                y.clamp(0, 9999) as u16,
                m as u8,
                d as u8,
                h as u8,
                mi as u8,
                s as u8,
                frac as u32,
            )
        }
    }
}

/// The column type `auto.create`/`auto.evolve` use (`MySqlDatabaseDialect.getSqlType`).
pub fn sql_type(schema: &sluice_api::data::Schema) -> Option<String> {
    use sluice_api::data::logical::*;
    match schema.name.as_deref() {
        Some(DECIMAL_NAME) => {
            let scale = decimal_scale(schema).ok()?;
            return Some(format!("DECIMAL(65,{scale})"));
        }
        Some(DATE_NAME) => return Some("DATE".into()),
        Some(TIME_NAME) => return Some("TIME(3)".into()),
        Some(TIMESTAMP_NAME) => return Some("DATETIME(3)".into()),
        _ => {}
    }
    Some(
        match schema.schema_type {
            SchemaType::Int8 => "TINYINT",
            SchemaType::Int16 => "SMALLINT",
            SchemaType::Int32 => "INT",
            SchemaType::Int64 => "BIGINT",
            SchemaType::Float32 => "FLOAT",
            SchemaType::Float64 => "DOUBLE",
            SchemaType::Boolean => "TINYINT",
            SchemaType::String => "TEXT",
            SchemaType::Bytes => "VARBINARY(1024)",
            _ => return None,
        }
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_async::Column;

    fn col(name: &str, ty: ColumnType, len: u32, not_null: bool) -> ResultColumn {
        let mut flags = ColumnFlags::empty();
        if not_null {
            flags |= ColumnFlags::NOT_NULL_FLAG;
        }
        result_column(
            &Column::new(ty)
                .with_name(name.as_bytes())
                .with_flags(flags)
                .with_column_length(len)
                .with_character_set(if ty == ColumnType::MYSQL_TYPE_BLOB {
                    63
                } else {
                    33
                }),
        )
    }

    /// A row of `orders` as Confluent's JDBC source (Connector/J) puts it on the topic with
    /// JsonConverter (schemas on).
    #[test]
    fn golden_record_json() {
        let price = result_column(
            &Column::new(ColumnType::MYSQL_TYPE_NEWDECIMAL)
                .with_name(b"price")
                .with_column_length(12)
                .with_decimals(2)
                .with_character_set(63),
        );
        let cols = vec![
            col("id", ColumnType::MYSQL_TYPE_LONG, 11, true),
            col("name", ColumnType::MYSQL_TYPE_VAR_STRING, 400, false),
            price,
            col("created", ColumnType::MYSQL_TYPE_DATETIME, 23, true),
            col("active", ColumnType::MYSQL_TYPE_TINY, 1, false),
            col("data", ColumnType::MYSQL_TYPE_BLOB, 65535, false),
            col("day", ColumnType::MYSQL_TYPE_DATE, 10, false),
            col("t", ColumnType::MYSQL_TYPE_TIME, 12, false),
            col("amount", ColumnType::MYSQL_TYPE_DOUBLE, 22, false),
            col("small", ColumnType::MYSQL_TYPE_SHORT, 6, false),
            col("big", ColumnType::MYSQL_TYPE_LONGLONG, 20, false),
        ];
        let values = vec![
            Value::Int(1),
            Value::Bytes(b"widget".to_vec()),
            Value::Bytes(b"123.45".to_vec()),
            Value::Date(2026, 7, 31, 12, 34, 56, 789_000),
            Value::Int(1),
            Value::Bytes(vec![1, 2]),
            Value::Date(2026, 7, 31, 0, 0, 0, 0),
            Value::Time(false, 0, 12, 34, 56, 789_000),
            Value::Double(2.5),
            Value::Int(-3),
            Value::Int(9_007_199_254_740_993),
        ];
        let row: Vec<SqlValue> = values
            .into_iter()
            .zip(&cols)
            .map(|(v, c)| decode(v, Some(c), &Zones::default()).unwrap())
            .collect();
        let expected = concat!(
            r#"{"schema":{"type":"struct","fields":["#,
            r#"{"type":"int32","optional":false,"field":"id"},"#,
            r#"{"type":"string","optional":true,"field":"name"},"#,
            r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"price"},"#,
            r#"{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"created"},"#,
            r#"{"type":"int8","optional":true,"field":"active"},"#,
            r#"{"type":"bytes","optional":true,"field":"data"},"#,
            r#"{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"day"},"#,
            r#"{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Time","version":1,"field":"t"},"#,
            r#"{"type":"double","optional":true,"field":"amount"},"#,
            r#"{"type":"int16","optional":true,"field":"small"},"#,
            r#"{"type":"int64","optional":true,"field":"big"}"#,
            r#"],"optional":false,"name":"orders"},"#,
            r#""payload":{"id":1,"name":"widget","price":"MDk=","created":1785501296789,"active":1,"data":"AQI=","day":20665,"t":45296789,"amount":2.5,"small":-3,"big":9007199254740993}}"#
        );
        assert_eq!(crate::source::row_json("orders", &cols, &row), expected);
    }
}
