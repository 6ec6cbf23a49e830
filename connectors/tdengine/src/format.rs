//! The source's record formats (Java's `TableMapper`, `LineMapper`, `JsonMapper`, query mode):
//! the table schema from `describe`, the query, and each row as a line-protocol string or a
//! Connect `Struct`.

use sluice_api::data::{java_float_to_string, schemas, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::{ConnectError, Result};

use crate::offsets::parse_rfc3339;
use crate::tmq::Cell;

/// A table's layout: the primary timestamp column, tags and data columns with type names.
#[derive(Clone, Debug, PartialEq)]
pub struct TableSchema {
    pub ts_column: String,
    pub tags: Vec<(String, String)>,
    pub columns: Vec<(String, String)>,
}

impl TableSchema {
    /// From `describe <table>` rows `(field, type, length, note, …)`: the first row is the
    /// timestamp; `note = TAG` marks tags.
    pub fn from_describe(table: &str, rows: &[Vec<serde_json::Value>]) -> Result<TableSchema> {
        let text = |r: &Vec<serde_json::Value>, i: usize| {
            r.get(i)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let first = rows
            .first()
            .ok_or_else(|| ConnectError::fatal(format!("describe {table} returned no columns")))?;
        let mut s = TableSchema {
            ts_column: text(first, 0),
            tags: Vec::new(),
            columns: Vec::new(),
        };
        for r in &rows[1..] {
            let entry = (text(r, 0), text(r, 1).to_ascii_uppercase());
            if text(r, 3) == "TAG" {
                s.tags.push(entry);
            } else {
                s.columns.push(entry);
            }
        }
        if s.columns.is_empty() {
            return Err(ConnectError::fatal(format!(
                "table {table} has no data column besides its timestamp"
            )));
        }
        Ok(s)
    }

    /// Java's query: ``select _c0,`t1`,`t2`, `c1`,`c2` from `t` where _c0 > ? and _c0 <= ?
    /// order by _c0 asc , `c1` `` with the bounds inlined (REST has no prepared statements)
    /// and a row limit.
    pub fn select_sql(&self, table: &str, start: i64, end: i64, limit: usize) -> String {
        let mut sql = String::from("select _c0,");
        if !self.tags.is_empty() {
            let tags: Vec<&str> = self.tags.iter().map(|(n, _)| n.as_str()).collect();
            sql.push('`');
            sql.push_str(&tags.join("`,`"));
            sql.push_str("`, ");
        }
        let cols: Vec<String> = self.columns.iter().map(|(n, _)| format!("`{n}`")).collect();
        sql.push_str(&cols.join(","));
        sql.push_str(&format!(
            " from `{table}` where _c0 > {start} and _c0 <= {end} order by _c0 asc , `{}` limit {limit}",
            self.columns[0].0
        ));
        sql
    }
}

/// Java's `java.sql.Timestamp.toString()` (in UTC): `yyyy-mm-dd hh:mm:ss.f…`, the fraction
/// without trailing zeros (at least one digit).
pub fn java_timestamp(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut frac = format!("{nanos:09}");
    while frac.len() > 1 && frac.ends_with('0') {
        frac.pop();
    }
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn invalid_type(ty: &str) -> ConnectError {
    ConnectError::fatal(format!(
        "Found invalid data type in table - column {ty} with type class java.lang.String"
    ))
}

/// A REST timestamp cell as epoch nanoseconds.
pub fn cell_ts(v: &serde_json::Value) -> Option<i64> {
    v.as_str().and_then(parse_rfc3339)
}

fn int(v: &serde_json::Value) -> i64 {
    v.as_i64().unwrap_or(0)
}
fn float(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}
/// JDBC `getString`: a NULL prints as `null`.
fn string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// One tag as `LineMapper` prints it (no type suffix).
fn line_tag(out: &mut String, ty: &str, v: &serde_json::Value) -> Result<()> {
    match ty {
        "TIMESTAMP" => match cell_ts(v) {
            Some(ns) => out.push_str(&java_timestamp(ns)),
            None => out.push_str("null"),
        },
        "NCHAR" => out.push_str(&string(v)),
        "INT" | "TINYINT" | "SMALLINT" | "BIGINT" => out.push_str(&int(v).to_string()),
        "FLOAT" => out.push_str(&java_float_to_string(f64::from(float(v) as f32), true)),
        "DOUBLE" => out.push_str(&java_float_to_string(float(v), false)),
        "BINARY" | "VARCHAR" => {
            out.push('"');
            out.push_str(&string(v));
            out.push('"');
        }
        "BOOL" => out.push_str(if v.as_bool().unwrap_or(false) {
            "true"
        } else {
            "false"
        }),
        other => return Err(invalid_type(other)),
    }
    Ok(())
}

/// One data column as `LineMapper` prints it (with line-protocol suffixes).
fn line_column(out: &mut String, ty: &str, v: &serde_json::Value) -> Result<()> {
    match ty {
        "TIMESTAMP" => match cell_ts(v) {
            Some(ns) => out.push_str(&java_timestamp(ns)),
            None => out.push_str("null"),
        },
        "NCHAR" => {
            out.push_str("L\"");
            out.push_str(&string(v));
            out.push('"');
        }
        "INT" | "TINYINT" | "SMALLINT" => {
            out.push_str(&int(v).to_string());
            out.push_str("i32");
        }
        "BIGINT" => {
            out.push_str(&int(v).to_string());
            out.push_str("i64");
        }
        "FLOAT" => {
            out.push_str(&java_float_to_string(f64::from(float(v) as f32), true));
            out.push_str("f32");
        }
        "DOUBLE" => {
            out.push_str(&java_float_to_string(float(v), false));
            out.push_str("f64");
        }
        "BINARY" | "VARCHAR" => {
            out.push('"');
            out.push_str(&string(v));
            out.push('"');
        }
        "BOOL" => out.push_str(if v.as_bool().unwrap_or(false) {
            "true"
        } else {
            "false"
        }),
        other => return Err(invalid_type(other)),
    }
    Ok(())
}

/// A row (`_c0`, tags…, columns…) as Java's line text:
/// `<table>[,<tag>=<v>]… <col>=<v>[,…] <epoch ms><6 more digits>`.
pub fn line(
    table: &str,
    schema: &TableSchema,
    row: &[serde_json::Value],
    ts: i64,
) -> Result<String> {
    let mut out = String::from(table);
    let null = serde_json::Value::Null;
    for (i, (name, ty)) in schema.tags.iter().enumerate() {
        out.push(',');
        out.push_str(name);
        out.push('=');
        line_tag(&mut out, ty, row.get(1 + i).unwrap_or(&null))?;
    }
    out.push(' ');
    for (i, (name, ty)) in schema.columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push('=');
        line_column(
            &mut out,
            ty,
            row.get(1 + schema.tags.len() + i).unwrap_or(&null),
        )?;
    }
    out.push(' ');
    out.push_str(&ts.div_euclid(1_000_000).to_string());
    out.push_str(&format!("{:06}", ts.rem_euclid(1_000_000)));
    Ok(out)
}

fn optional_schema(ty: &str) -> Result<SchemaRef> {
    Ok(match ty {
        "TINYINT" => schemas::optional_int8(),
        "SMALLINT" => schemas::optional_int16(),
        "INT" => schemas::optional_int32(),
        "TIMESTAMP" | "BIGINT" => schemas::optional_int64(),
        "FLOAT" => schemas::optional_float32(),
        "DOUBLE" => schemas::optional_float64(),
        "BOOL" => schemas::optional_boolean(),
        "NCHAR" | "JSON" | "BINARY" | "VARCHAR" => schemas::optional_string(),
        other => {
            return Err(ConnectError::fatal(format!(
                "column type {other} has no Connect schema in out.format=json"
            )))
        }
    })
}

/// The value schema of `out.format=json`: the timestamp (required INT64, epoch ms), the
/// columns (optional) and, if the table has tags, an optional `tags` struct.
pub fn json_schema(schema: &TableSchema) -> Result<SchemaRef> {
    let field_err = |e: ConnectError| ConnectError::fatal(e.to_string());
    let mut b = SchemaBuilder::structure()
        .field(schema.ts_column.clone(), schemas::int64())
        .map_err(field_err)?;
    for (name, ty) in &schema.columns {
        b = b
            .field(name.clone(), optional_schema(ty)?)
            .map_err(field_err)?;
    }
    if !schema.tags.is_empty() {
        let mut t = SchemaBuilder::structure();
        for (name, ty) in &schema.tags {
            t = t
                .field(name.clone(), optional_schema(ty)?)
                .map_err(field_err)?;
        }
        b = b.field("tags", t.optional().build()).map_err(field_err)?;
    }
    Ok(b.build())
}

/// A cell as `JsonMapper.getValue` reads it (numeric NULLs become 0, as JDBC getters do).
fn json_cell(ty: &str, v: &serde_json::Value) -> Value {
    match ty {
        "TINYINT" => Value::Int8(int(v) as i8),
        "SMALLINT" => Value::Int16(int(v) as i16),
        "INT" => Value::Int32(int(v) as i32),
        "BIGINT" => Value::Int64(int(v)),
        "TIMESTAMP" => Value::Int64(cell_ts(v).map_or(0, |ns| ns.div_euclid(1_000_000))),
        "FLOAT" => Value::Float32(float(v) as f32),
        "DOUBLE" => Value::Float64(float(v)),
        "BOOL" => Value::Boolean(v.as_bool().unwrap_or(false)),
        _ => match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::String(s) => Value::String(s.clone()),
            other => Value::String(other.to_string()),
        },
    }
}

/// A row as `JsonMapper`'s struct.
pub fn json(
    value_schema: &SchemaRef,
    schema: &TableSchema,
    row: &[serde_json::Value],
    ts: i64,
) -> Result<Struct> {
    let null = serde_json::Value::Null;
    let put_err = |e: ConnectError| ConnectError::fatal(e.to_string());
    let mut s = Struct::new(value_schema.clone());
    s.put(&schema.ts_column, Value::Int64(ts.div_euclid(1_000_000)))
        .map_err(put_err)?;
    for (i, (name, ty)) in schema.columns.iter().enumerate() {
        s.put(
            name,
            json_cell(ty, row.get(1 + schema.tags.len() + i).unwrap_or(&null)),
        )
        .map_err(put_err)?;
    }
    if !schema.tags.is_empty() {
        let tag_schema = value_schema
            .field("tags")
            .map(|f| f.schema.clone())
            .ok_or_else(|| ConnectError::fatal("json schema lost its tags field"))?;
        let mut t = Struct::new(tag_schema);
        for (i, (name, ty)) in schema.tags.iter().enumerate() {
            t.put(name, json_cell(ty, row.get(1 + i).unwrap_or(&null)))
                .map_err(put_err)?;
        }
        s.put("tags", Value::Struct(t)).map_err(put_err)?;
    }
    Ok(s)
}

/// `data.precision` of subscription mode: the unit of the timestamps in TMQ records
/// (Java's `StringDeserializer`: `ns`, `us`, anything else milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutPrecision {
    Millis,
    Micros,
    Nanos,
}

impl OutPrecision {
    pub fn parse(s: &str) -> OutPrecision {
        match s.trim().to_ascii_lowercase().as_str() {
            "ns" => OutPrecision::Nanos,
            "us" => OutPrecision::Micros,
            _ => OutPrecision::Millis,
        }
    }

    /// Epoch nanoseconds in this unit (Java: `Timestamp.getTime()`, or whole seconds plus
    /// `getNanos()` scaled).
    pub fn of(self, ns: i64) -> i64 {
        match self {
            OutPrecision::Nanos => ns,
            OutPrecision::Micros => ns.div_euclid(1_000),
            OutPrecision::Millis => ns.div_euclid(1_000_000),
        }
    }
}

/// One row of a TMQ block, by column name (Java's deserialized `Map<String, Object>`).
pub struct TmqRow<'a> {
    pub names: &'a [String],
    pub cells: &'a [Cell],
    /// Nanoseconds per unit of the block's timestamps.
    pub unit_ns: i64,
    pub out: OutPrecision,
}

impl TmqRow<'_> {
    fn get(&self, name: &str) -> &Cell {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.cells.get(i))
            .unwrap_or(&Cell::Null)
    }

    /// A timestamp cell in the output unit.
    fn ts(&self, c: &Cell) -> Option<i64> {
        match c {
            Cell::Timestamp(t) => Some(self.out.of(t.saturating_mul(self.unit_ns))),
            _ => None,
        }
    }

    /// `String.valueOf(map.get(name))`: timestamps already in the output unit, NULL as `null`.
    fn text(&self, ty: &str, c: &Cell) -> Result<String> {
        Ok(match c {
            Cell::Null => "null".into(),
            Cell::Bool(b) => b.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::UInt(u) => u.to_string(),
            Cell::Float(f) => java_float_to_string(f64::from(*f), true),
            Cell::Double(d) => java_float_to_string(*d, false),
            Cell::Text(s) => s.clone(),
            Cell::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Cell::Timestamp(_) => self.ts(c).unwrap_or_default().to_string(),
        })
        .and_then(|s| match ty {
            "TIMESTAMP" | "NCHAR" | "INT" | "TINYINT" | "SMALLINT" | "BIGINT" | "FLOAT"
            | "DOUBLE" | "BINARY" | "VARCHAR" | "BOOL" => Ok(s),
            other => Err(invalid_type(other)),
        })
    }

    fn json_value(&self, ty: &str, c: &Cell) -> Value {
        match (ty, c) {
            (_, Cell::Null) => Value::Null,
            ("TINYINT", Cell::Int(i)) => Value::Int8(*i as i8),
            ("SMALLINT", Cell::Int(i)) => Value::Int16(*i as i16),
            ("INT", Cell::Int(i)) => Value::Int32(*i as i32),
            ("BIGINT", Cell::Int(i)) => Value::Int64(*i),
            ("TIMESTAMP", c) => self.ts(c).map_or(Value::Null, Value::Int64),
            ("FLOAT", Cell::Float(f)) => Value::Float32(*f),
            ("FLOAT", Cell::Double(d)) => Value::Float32(*d as f32),
            ("DOUBLE", Cell::Double(d)) => Value::Float64(*d),
            ("DOUBLE", Cell::Float(f)) => Value::Float64(f64::from(*f)),
            ("BOOL", Cell::Bool(b)) => Value::Boolean(*b),
            (_, Cell::Text(s)) => Value::String(s.clone()),
            (_, Cell::Bytes(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
            (_, other) => Value::String(self.text("VARCHAR", other).unwrap_or_default()),
        }
    }
}

/// A TMQ row as subscription mode's line text (`LineMapper.process`): values as Java's
/// `String.valueOf` prints them (NULL ⇒ `null`), timestamps (primary and others) as numbers
/// in `data.precision`'s unit, the primary timestamp last without padding.
pub fn tmq_line(table: &str, schema: &TableSchema, row: &TmqRow<'_>) -> Result<String> {
    let mut out = String::from(table);
    for (name, ty) in &schema.tags {
        let c = row.get(name);
        out.push(',');
        out.push_str(name);
        out.push('=');
        if matches!(ty.as_str(), "BINARY" | "VARCHAR") {
            out.push('"');
            out.push_str(&row.text(ty, c)?);
            out.push('"');
        } else {
            out.push_str(&row.text(ty, c)?);
        }
    }
    out.push(' ');
    for (i, (name, ty)) in schema.columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let c = row.get(name);
        out.push_str(name);
        out.push('=');
        let v = row.text(ty, c)?;
        match ty.as_str() {
            "NCHAR" => {
                out.push_str("L\"");
                out.push_str(&v);
                out.push('"');
            }
            "BINARY" | "VARCHAR" => {
                out.push('"');
                out.push_str(&v);
                out.push('"');
            }
            "INT" | "TINYINT" | "SMALLINT" => {
                out.push_str(&v);
                out.push_str("i32");
            }
            "BIGINT" => {
                out.push_str(&v);
                out.push_str("i64");
            }
            "FLOAT" => {
                out.push_str(&v);
                out.push_str("f32");
            }
            "DOUBLE" => {
                out.push_str(&v);
                out.push_str("f64");
            }
            _ => out.push_str(&v),
        }
    }
    out.push(' ');
    out.push_str(&row.text("TIMESTAMP", row.get(&schema.ts_column))?);
    Ok(out)
}

/// A TMQ row as subscription mode's JSON struct (`JsonMapper.process`): the timestamp in
/// `data.precision`'s unit (not normalised to ms as in query mode), NULLs as null.
pub fn tmq_json(
    value_schema: &SchemaRef,
    schema: &TableSchema,
    row: &TmqRow<'_>,
) -> Result<Struct> {
    let put_err = |e: ConnectError| ConnectError::fatal(e.to_string());
    let mut s = Struct::new(value_schema.clone());
    let ts = row.ts(row.get(&schema.ts_column)).ok_or_else(|| {
        ConnectError::fatal(format!(
            "a TMQ row has no timestamp in column {}",
            schema.ts_column
        ))
    })?;
    s.put(&schema.ts_column, Value::Int64(ts))
        .map_err(put_err)?;
    for (name, ty) in &schema.columns {
        s.put(name, row.json_value(ty, row.get(name)))
            .map_err(put_err)?;
    }
    if !schema.tags.is_empty() {
        let tag_schema = value_schema
            .field("tags")
            .map(|f| f.schema.clone())
            .ok_or_else(|| ConnectError::fatal("json schema lost its tags field"))?;
        let mut t = Struct::new(tag_schema);
        for (name, ty) in &schema.tags {
            t.put(name, row.json_value(ty, row.get(name)))
                .map_err(put_err)?;
        }
        s.put("tags", Value::Struct(t)).map_err(put_err)?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tutorial() -> TableSchema {
        TableSchema {
            ts_column: "ts".into(),
            tags: vec![
                ("location".into(), "VARCHAR".into()),
                ("groupid".into(), "INT".into()),
            ],
            columns: vec![
                ("current".into(), "FLOAT".into()),
                ("voltage".into(), "INT".into()),
                ("phase".into(), "FLOAT".into()),
            ],
        }
    }

    /// The reference's example line (§4.5), tutorial table in a ms database.
    #[test]
    fn line_matches_java() {
        let row = vec![
            json!("2018-10-03T06:38:05.000Z"),
            json!("California.SanFrancisco"),
            json!(2),
            json!(10.3),
            json!(219),
            json!(0.31),
        ];
        let ts = 1_538_548_685_000 * 1_000_000;
        assert_eq!(
            line("meters", &tutorial(), &row, ts).unwrap(),
            "meters,location=\"California.SanFrancisco\",groupid=2 current=10.3f32,voltage=219i32,phase=0.31f32 1538548685000000000"
        );
    }

    /// The connector repository's own test: a schemaless-made table (NCHAR tags and column).
    #[test]
    fn line_of_schemaless_table() {
        let schema = TableSchema {
            ts_column: "_ts".into(),
            tags: vec![
                ("t1".into(), "NCHAR".into()),
                ("t2".into(), "NCHAR".into()),
                ("t3".into(), "NCHAR".into()),
            ],
            columns: vec![
                ("c1".into(), "BIGINT".into()),
                ("c3".into(), "NCHAR".into()),
                ("c2".into(), "BOOL".into()),
                ("c4".into(), "DOUBLE".into()),
            ],
        };
        let row = vec![
            json!("2021-07-11T12:33:53.639Z"),
            json!("3"),
            json!("4"),
            json!("t3"),
            json!(3),
            json!("passit"),
            json!(false),
            json!(4.0),
        ];
        assert_eq!(
            line("st", &schema, &row, 1_626_006_833_639_000_000).unwrap(),
            "st,t1=3,t2=4,t3=t3 c1=3i64,c3=L\"passit\",c2=false,c4=4.0f64 1626006833639000000"
        );
        let bad = TableSchema {
            columns: vec![("u".into(), "INT UNSIGNED".into())],
            ..schema
        };
        assert!(line("st", &bad, &row, 0).is_err());
    }

    #[test]
    fn json_struct_matches_java() {
        let schema = tutorial();
        let vs = json_schema(&schema).unwrap();
        let row = vec![
            json!("2018-10-03T06:38:05.000Z"),
            json!("California.SanFrancisco"),
            json!(2),
            json!(10.3),
            json!(219),
            json!(0.31),
        ];
        let s = json(&vs, &schema, &row, 1_538_548_685_000_000_000).unwrap();
        assert_eq!(s.get("ts"), Some(&Value::Int64(1_538_548_685_000)));
        assert_eq!(s.get("current"), Some(&Value::Float32(10.3)));
        assert_eq!(s.get("voltage"), Some(&Value::Int32(219)));
        match s.get("tags") {
            Some(Value::Struct(t)) => {
                assert_eq!(
                    t.get("location"),
                    Some(&Value::from("California.SanFrancisco"))
                );
                assert_eq!(t.get("groupid"), Some(&Value::Int32(2)));
            }
            other => panic!("{other:?}"),
        }
        assert!(!vs.optional);
        assert!(!vs.field("ts").unwrap().schema.optional);
        assert!(vs.field("tags").unwrap().schema.optional);
    }

    #[test]
    fn query_is_javas() {
        assert_eq!(
            tutorial().select_sql("meters", 0, 99, 1000),
            "select _c0,`location`,`groupid`, `current`,`voltage`,`phase` from `meters` where _c0 > 0 and _c0 <= 99 order by _c0 asc , `current` limit 1000"
        );
    }

    #[test]
    fn java_timestamps() {
        assert_eq!(
            java_timestamp(1_538_577_485_000_000_000),
            "2018-10-03 14:38:05.0"
        );
        assert_eq!(
            java_timestamp(1_538_577_485_500_000_000),
            "2018-10-03 14:38:05.5"
        );
    }

    /// Subscription mode (§4.7): the tutorial row as `LineMapper.process` prints it with
    /// `data.precision=ms`, and as `JsonMapper.process` builds it with `ns`.
    #[test]
    fn tmq_rows_match_java() {
        let names: Vec<String> = ["ts", "current", "voltage", "phase", "location", "groupid"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let cells = vec![
            Cell::Timestamp(1_538_548_685_000),
            Cell::Float(10.3),
            Cell::Int(219),
            Cell::Null,
            Cell::Text("California.SanFrancisco".into()),
            Cell::Int(2),
        ];
        let row = TmqRow {
            names: &names,
            cells: &cells,
            unit_ns: 1_000_000,
            out: OutPrecision::parse("ms"),
        };
        assert_eq!(
            tmq_line("meters", &tutorial(), &row).unwrap(),
            "meters,location=\"California.SanFrancisco\",groupid=2 current=10.3f32,voltage=219i32,phase=nullf32 1538548685000"
        );
        let ns = TmqRow {
            out: OutPrecision::parse("NS"),
            ..row
        };
        assert!(tmq_line("meters", &tutorial(), &ns)
            .unwrap()
            .ends_with(" 1538548685000000000"));
        let vs = json_schema(&tutorial()).unwrap();
        let s = tmq_json(&vs, &tutorial(), &ns).unwrap();
        assert_eq!(s.get("ts"), Some(&Value::Int64(1_538_548_685_000_000_000)));
        assert_eq!(s.get("phase"), Some(&Value::Null));
        assert_eq!(s.get("voltage"), Some(&Value::Int32(219)));
        let us = TmqRow {
            out: OutPrecision::parse("us"),
            ..ns
        };
        assert!(tmq_line("meters", &tutorial(), &us)
            .unwrap()
            .ends_with(" 1538548685000000"));
    }
}
