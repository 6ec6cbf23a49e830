//! SQLite (`SqliteDatabaseDialect`, `jdbc:sqlite:PATH`): the embedded database for demos and
//! tests that need no server. rusqlite with SQLite bundled (no system library). Calls block
//! the task's own thread, which is fine: every task runs on a thread of its own.

use rusqlite::types::{Value as LiteValue, ValueRef};
use rusqlite::{params_from_iter, Connection};
use sluice_api::data::SchemaType;
use sluice_api::{ConnectError, Result};

use crate::config::ConnectionSettings;
use crate::db::{
    Chunk, ColumnKind, ResultColumn, ResultSet, SqlValue, TableColumn, TableId, Zones,
};

pub struct LiteConn {
    conn: Connection,
    path: String,
    /// `db.timezone`: date/time text is wall-clock time in it (epoch integers are instants).
    zones: Zones,
}

fn error(path: &str, what: &str, e: rusqlite::Error) -> ConnectError {
    let message = format!("{what} failed on SQLite {path}: {e}");
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            ConnectError::retriable(message)
        }
        Some(rusqlite::ErrorCode::CannotOpen) => ConnectError::retriable(message),
        _ => ConnectError::data(message),
    }
}

impl LiteConn {
    pub fn connect(settings: &ConnectionSettings) -> Result<LiteConn> {
        let path = settings.url.path.clone();
        let conn = Connection::open(&path).map_err(|e| error(&path, "Opening", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| error(&path, "Opening", e))?;
        if let Some(level) = &settings.isolation {
            // SQLite's only choice: dirty reads between connections of a shared cache.
            if level == "READ_UNCOMMITTED" {
                conn.execute_batch("PRAGMA read_uncommitted = 1")
                    .map_err(|e| error(&path, "Setting transaction.isolation.mode", e))?;
            } else if level != "SERIALIZABLE" {
                tracing::warn!(
                    "Unable to set transaction.isolation.mode: {level}. No transaction isolation mode will be set for the queries: SQLite transactions are serializable"
                );
            }
        }
        Ok(LiteConn {
            conn,
            path,
            zones: settings.zones.clone(),
        })
    }

    pub fn execute_simple(&mut self, sql: &str) -> Result<()> {
        self.conn
            .execute_batch(sql)
            .map_err(|e| error(&self.path, &format!("Statement '{sql}'"), e))
    }

    pub fn execute_batch(&mut self, sql: &str, rows: &[Vec<SqlValue>]) -> Result<()> {
        let path = self.path.clone();
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| error(&path, &format!("Preparing '{sql}'"), e))?;
        for row in rows {
            stmt.execute(params_from_iter(row.iter().map(to_value)))
                .map_err(|e| error(&path, &format!("Executing '{sql}'"), e))?;
        }
        Ok(())
    }

    pub fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<ResultSet> {
        let path = self.path.clone();
        let mut stmt = self
            .conn
            .prepare(sql)
            .map_err(|e| error(&path, &format!("Preparing '{sql}'"), e))?;
        let columns: Vec<ResultColumn> = stmt
            .columns()
            .iter()
            .map(|c| result_column(c.name(), c.decl_type()))
            .collect();
        let mut rows = stmt
            .query(params_from_iter(params.iter().map(to_value)))
            .map_err(|e| error(&path, &format!("Query '{sql}'"), e))?;
        let mut out = Vec::new();
        while let Some(row) = rows
            .next()
            .map_err(|e| error(&path, &format!("Query '{sql}'"), e))?
        {
            let mut values = Vec::with_capacity(columns.len());
            for (i, col) in columns.iter().enumerate() {
                let v = row
                    .get_ref(i)
                    .map_err(|e| error(&path, &format!("Reading column {}", col.name), e))?;
                values.push(decode(v, col.kind, &self.zones));
            }
            out.push(values);
        }
        Ok(ResultSet { columns, rows: out })
    }

    /// Runs a query and sends its columns, then its rows in chunks of `fetch`, into `tx`
    /// (blocking: called on the blocking pool), stepping the statement only as fast as the
    /// receiver takes the chunks.
    pub fn query_into_blocking(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        fetch: usize,
        tx: &tokio::sync::mpsc::Sender<Result<Chunk>>,
    ) -> Result<()> {
        let path = self.path.clone();
        let mut stmt = self
            .conn
            .prepare(sql)
            .map_err(|e| error(&path, &format!("Preparing '{sql}'"), e))?;
        let columns: Vec<ResultColumn> = stmt
            .columns()
            .iter()
            .map(|c| result_column(c.name(), c.decl_type()))
            .collect();
        if tx
            .blocking_send(Ok(Chunk::Columns(columns.clone())))
            .is_err()
        {
            return Ok(());
        }
        let mut rows = stmt
            .query(params_from_iter(params.iter().map(to_value)))
            .map_err(|e| error(&path, &format!("Query '{sql}'"), e))?;
        let fetch = fetch.max(1);
        let mut out = Vec::with_capacity(fetch);
        while let Some(row) = rows
            .next()
            .map_err(|e| error(&path, &format!("Query '{sql}'"), e))?
        {
            let mut values = Vec::with_capacity(columns.len());
            for (i, col) in columns.iter().enumerate() {
                let v = row
                    .get_ref(i)
                    .map_err(|e| error(&path, &format!("Reading column {}", col.name), e))?;
                values.push(decode(v, col.kind, &self.zones));
            }
            out.push(values);
            if out.len() >= fetch {
                let full = std::mem::replace(&mut out, Vec::with_capacity(fetch));
                if tx.blocking_send(Ok(Chunk::Rows(full))).is_err() {
                    return Ok(());
                }
            }
        }
        if !out.is_empty() {
            let _ = tx.blocking_send(Ok(Chunk::Rows(out)));
        }
        Ok(())
    }

    pub fn describe_table(&mut self, table: &TableId) -> Result<Option<Vec<TableColumn>>> {
        let path = self.path.clone();
        let sql = format!(
            "PRAGMA table_info({})",
            crate::config::Dialect::Sqlite.quote(&table.table)
        );
        let mut stmt = self
            .conn
            .prepare(&sql)
            .map_err(|e| error(&path, "Describing a table", e))?;
        let cols = stmt
            .query_map([], |r| {
                let name: String = r.get(1)?;
                let ty: String = r.get(2)?;
                let notnull: i64 = r.get(3)?;
                let pk: i64 = r.get(5)?;
                Ok(TableColumn {
                    name,
                    auto_increment: pk == 1 && ty.eq_ignore_ascii_case("INTEGER"),
                    type_name: ty.to_lowercase(),
                    nullable: notnull == 0,
                })
            })
            .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| error(&path, &format!("Describing table {table}"), e))?;
        Ok(if cols.is_empty() { None } else { Some(cols) })
    }

    pub fn list_tables(&mut self, types: &[String]) -> Result<Vec<TableId>> {
        let want_views = types.iter().any(|t| t.trim().eq_ignore_ascii_case("VIEW"));
        let want_tables = types.iter().any(|t| t.trim().eq_ignore_ascii_case("TABLE"));
        let path = self.path.clone();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, type FROM sqlite_master WHERE type IN ('table','view') \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .map_err(|e| error(&path, "Listing tables", e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| error(&path, "Listing tables", e))?;
        Ok(rows
            .into_iter()
            .filter(|(_, ty)| (ty == "table" && want_tables) || (ty == "view" && want_views))
            .map(|(name, _)| TableId::new(None, None, name))
            .collect())
    }
}

/// sqlite-jdbc's mapping of declared types.
fn result_column(name: &str, decl: Option<&str>) -> ResultColumn {
    let d = decl.unwrap_or("").to_ascii_uppercase();
    let kind = if d.contains("BOOL") {
        ColumnKind::Boolean
    } else if d.contains("INT") {
        ColumnKind::BigInt
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        ColumnKind::Double
    } else if d.contains("BLOB") {
        ColumnKind::Binary
    } else if d.contains("TIMESTAMP") || d.contains("DATETIME") {
        ColumnKind::Timestamp
    } else if d == "DATE" {
        ColumnKind::Date
    } else {
        ColumnKind::Text
    };
    ResultColumn {
        name: name.to_string(),
        kind,
        nullable: true,
        precision: 0,
        scale: Some(0),
        signed: true,
    }
}

fn decode(v: ValueRef<'_>, kind: ColumnKind, zones: &Zones) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => match kind {
            ColumnKind::Boolean => SqlValue::Bool(i != 0),
            // Dates and timestamps stored as integers are epoch milliseconds (sqlite-jdbc).
            ColumnKind::Timestamp => SqlValue::Timestamp(i.saturating_mul(1000)),
            ColumnKind::Date => SqlValue::Date((i / 86_400_000) as i32),
            ColumnKind::Text => SqlValue::Text(i.to_string()),
            _ => SqlValue::Int(i),
        },
        ValueRef::Real(f) => match kind {
            ColumnKind::Text => SqlValue::Text(f.to_string()),
            _ => SqlValue::F64(f),
        },
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t).into_owned();
            match kind {
                ColumnKind::Timestamp => crate::db::parse_timestamp_text(&s)
                    .map_or(SqlValue::Text(s), |us| {
                        SqlValue::Timestamp(zones.db.wall_to_instant(us))
                    }),
                ColumnKind::Date => crate::db::parse_date_text(&s)
                    .map_or(SqlValue::Text(s.clone()), |d| SqlValue::Date(d as i32)),
                _ => SqlValue::Text(s),
            }
        }
        ValueRef::Blob(b) => SqlValue::Bytes(b.to_vec()),
    }
}

fn to_value(v: &SqlValue) -> LiteValue {
    match v {
        SqlValue::Null => LiteValue::Null,
        SqlValue::Bool(b) => LiteValue::Integer(i64::from(*b)),
        SqlValue::Int(i) => LiteValue::Integer(*i),
        SqlValue::UInt(u) => {
            i64::try_from(*u).map_or(LiteValue::Real(*u as f64), LiteValue::Integer)
        }
        SqlValue::F32(f) => LiteValue::Real(f64::from(*f)),
        SqlValue::F64(f) => LiteValue::Real(*f),
        SqlValue::Text(t) => LiteValue::Text(t.clone()),
        SqlValue::Bytes(b) => LiteValue::Blob(b.clone()),
        SqlValue::Decimal(d) => LiteValue::Text(d.clone()),
        // sqlite-jdbc binds dates and times as epoch milliseconds.
        SqlValue::Date(d) => LiteValue::Integer(i64::from(*d) * 86_400_000),
        SqlValue::Time(us) => LiteValue::Integer(us / 1000),
        SqlValue::Timestamp(us) => LiteValue::Integer(us.div_euclid(1000)),
    }
}

/// `SqliteDatabaseDialect.getSqlType`.
pub fn sql_type(schema: &sluice_api::data::Schema) -> Option<String> {
    if schema.name.as_deref().is_some_and(|n| {
        n == sluice_api::data::logical::DECIMAL_NAME
            || n == sluice_api::data::logical::DATE_NAME
            || n == sluice_api::data::logical::TIME_NAME
            || n == sluice_api::data::logical::TIMESTAMP_NAME
    }) {
        return Some("NUMERIC".into());
    }
    Some(
        match schema.schema_type {
            SchemaType::Boolean
            | SchemaType::Int8
            | SchemaType::Int16
            | SchemaType::Int32
            | SchemaType::Int64 => "INTEGER",
            SchemaType::Float32 | SchemaType::Float64 => "REAL",
            SchemaType::String => "TEXT",
            SchemaType::Bytes => "BLOB",
            _ => return None,
        }
        .to_string(),
    )
}
