//! The in-memory TDengine store: databases, super tables, child and normal tables, rows keyed
//! by timestamp, and the schemaless rules of reference §7 (auto-created tables and columns,
//! NCHAR tags of power-of-two widths, MD5 child names, precision conversion, merge on an equal
//! timestamp, all-or-nothing calls).

use std::collections::{BTreeMap, HashMap};

use md5::{Digest, Md5};

use crate::time;

/// A TDengine error: a code (without the 0x8000_0000 bit) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TdError {
    pub code: i32,
    pub desc: String,
}

impl TdError {
    pub fn new(code: i32, desc: impl Into<String>) -> TdError {
        TdError {
            code,
            desc: desc.into(),
        }
    }
}

impl std::fmt::Display for TdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[0x{:x}] {}", self.code, self.desc)
    }
}

pub const SYNTAX_ERROR: i32 = 0x2600;
pub const DB_NOT_EXIST: i32 = 0x0388;
pub const TABLE_NOT_EXIST: i32 = 0x2662;
pub const TS_OUT_OF_RANGE: i32 = 0x060B;
pub const SML_INVALID_DATA: i32 = 0x3002;
pub const SML_NOT_SAME_TYPE: i32 = 0x3004;

/// Column and tag types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    UTinyInt,
    USmallInt,
    UInt,
    UBigInt,
    Float,
    Double,
    Varchar,
    Nchar,
    Timestamp,
    Varbinary,
    Geometry,
}

impl Kind {
    /// The type name `DESCRIBE` and REST `column_meta` print.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "BOOL",
            Kind::TinyInt => "TINYINT",
            Kind::SmallInt => "SMALLINT",
            Kind::Int => "INT",
            Kind::BigInt => "BIGINT",
            Kind::UTinyInt => "TINYINT UNSIGNED",
            Kind::USmallInt => "SMALLINT UNSIGNED",
            Kind::UInt => "INT UNSIGNED",
            Kind::UBigInt => "BIGINT UNSIGNED",
            Kind::Float => "FLOAT",
            Kind::Double => "DOUBLE",
            Kind::Varchar => "VARCHAR",
            Kind::Nchar => "NCHAR",
            Kind::Timestamp => "TIMESTAMP",
            Kind::Varbinary => "VARBINARY",
            Kind::Geometry => "GEOMETRY",
        }
    }

    /// Parses an SQL type name (`BINARY` is `VARCHAR`).
    pub fn parse(name: &str) -> Option<Kind> {
        Some(match name.to_ascii_uppercase().as_str() {
            "BOOL" => Kind::Bool,
            "TINYINT" => Kind::TinyInt,
            "SMALLINT" => Kind::SmallInt,
            "INT" | "INTEGER" => Kind::Int,
            "BIGINT" => Kind::BigInt,
            "FLOAT" => Kind::Float,
            "DOUBLE" => Kind::Double,
            "VARCHAR" | "BINARY" => Kind::Varchar,
            "NCHAR" => Kind::Nchar,
            "TIMESTAMP" => Kind::Timestamp,
            "VARBINARY" => Kind::Varbinary,
            "GEOMETRY" => Kind::Geometry,
            _ => return None,
        })
    }

    pub fn is_var(self) -> bool {
        matches!(
            self,
            Kind::Varchar | Kind::Nchar | Kind::Varbinary | Kind::Geometry
        )
    }

    /// The byte length of a fixed-size type.
    pub fn fixed_len(self) -> usize {
        match self {
            Kind::Bool | Kind::TinyInt | Kind::UTinyInt => 1,
            Kind::SmallInt | Kind::USmallInt => 2,
            Kind::Int | Kind::UInt | Kind::Float => 4,
            _ => 8,
        }
    }
}

/// A column or tag.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    /// Width of a VARCHAR/NCHAR/VARBINARY column; the fixed size otherwise.
    pub len: usize,
}

impl Column {
    pub fn new(name: impl Into<String>, kind: Kind, len: usize) -> Column {
        Column {
            name: name.into(),
            kind,
            len: if kind.is_var() { len } else { kind.fixed_len() },
        }
    }
}

/// A stored value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// A FLOAT: printed with its own shortest digits (`10.3`, not `10.300000190734863`).
    F32(f32),
    Str(String),
    /// A timestamp in the database's precision.
    Ts(i64),
}

impl Val {
    /// The value as REST JSON.
    pub fn to_json(&self, precision: &str) -> serde_json::Value {
        match self {
            Val::Null => serde_json::Value::Null,
            Val::Bool(b) => (*b).into(),
            Val::Int(i) => (*i).into(),
            Val::UInt(u) => (*u).into(),
            Val::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Val::F32(f) => f
                .to_string()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Val::Str(s) => s.clone().into(),
            Val::Ts(t) => time::rfc3339(*t, precision).into(),
        }
    }

    fn order_key(&self) -> (u8, f64, &str) {
        match self {
            Val::Null => (0, 0.0, ""),
            Val::Bool(b) => (1, f64::from(u8::from(*b)), ""),
            Val::Int(i) => (1, *i as f64, ""),
            Val::UInt(u) => (1, *u as f64, ""),
            Val::Float(f) => (1, *f, ""),
            Val::F32(f) => (1, f64::from(*f), ""),
            Val::Ts(t) => (1, *t as f64, ""),
            Val::Str(s) => (2, 0.0, s),
        }
    }

    /// Orders values for `ORDER BY` (NULLs first).
    pub fn cmp_order(&self, other: &Val) -> std::cmp::Ordering {
        let (a, b) = (self.order_key(), other.order_key());
        a.0.cmp(&b.0)
            .then(a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
            .then(a.2.cmp(b.2))
    }
}

/// A super table: the template of its child tables.
#[derive(Clone, Debug, Default)]
pub struct Stable {
    /// The first column is the primary timestamp.
    pub columns: Vec<Column>,
    pub tags: Vec<Column>,
}

/// A child table (with `stable`) or a normal table.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub stable: Option<String>,
    /// Tag values, aligned with the super table's tags (missing ones are NULL).
    pub tags: Vec<Val>,
    /// The columns of a normal table (child tables use their super table's).
    pub columns: Vec<Column>,
    /// Rows by primary timestamp; values aligned with the columns (index 0, the timestamp,
    /// is not stored again). Columns added later are NULL in older rows.
    pub rows: BTreeMap<i64, Vec<Val>>,
}

/// A database.
#[derive(Clone, Debug)]
pub struct Database {
    /// `ms`, `us` or `ns`.
    pub precision: String,
    pub stables: BTreeMap<String, Stable>,
    pub tables: BTreeMap<String, Table>,
    /// The write-ahead log TMQ reads: one entry per row written, its index is its version
    /// (the database has one vgroup, [`VGROUP_ID`]). Entries name the table by index into
    /// `wal_names` and the row by timestamp.
    pub wal: Vec<(u32, i64)>,
    pub wal_names: Vec<String>,
    wal_index: HashMap<String, u32>,
}

/// The one vgroup of every database (TMQ offsets are per topic and vgroup).
pub const VGROUP_ID: i32 = 2;

impl Database {
    pub fn new(precision: &str) -> Database {
        Database {
            precision: precision.to_string(),
            stables: BTreeMap::new(),
            tables: BTreeMap::new(),
            wal: Vec::new(),
            wal_names: Vec::new(),
            wal_index: HashMap::new(),
        }
    }

    /// The columns of a table (its super table's for a child).
    pub fn columns_of(&self, table: &str) -> Option<&[Column]> {
        let t = self.tables.get(table)?;
        match &t.stable {
            Some(st) => self.stables.get(st).map(|s| s.columns.as_slice()),
            None => Some(t.columns.as_slice()),
        }
    }

    /// Inserts or merges a row: the given columns overwrite, the others keep their values.
    pub fn upsert(&mut self, table: &str, ts: i64, values: Vec<(usize, Val)>) {
        if let Some(t) = self.tables.get_mut(table) {
            let row = t.rows.entry(ts).or_default();
            for (i, v) in values {
                if row.len() <= i {
                    row.resize(i + 1, Val::Null);
                }
                row[i] = v;
            }
            let idx = match self.wal_index.get(table) {
                Some(i) => *i,
                None => {
                    let i = self.wal_names.len() as u32;
                    self.wal_names.push(table.to_string());
                    self.wal_index.insert(table.to_string(), i);
                    i
                }
            };
            self.wal.push((idx, ts));
        }
    }

    /// The oldest timestamp TDengine accepts (default `KEEP 3650` days).
    pub fn oldest_allowed(&self) -> i64 {
        time::now(&self.precision) - 3650 * 86_400 * time::per_second(&self.precision)
    }
}

/// The schemaless protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Line,
    Telnet,
    Json,
}

/// One parsed schemaless point.
#[derive(Clone, Debug)]
pub struct Point {
    pub measurement: String,
    /// Tag values with their kinds (NCHAR for line and telnet).
    pub tags: Vec<(String, Kind, Val)>,
    pub fields: Vec<(String, Kind, Val)>,
    /// Nanoseconds since the epoch (None: now).
    pub ts_nanos: Option<i128>,
    /// The text the point came from, for error messages.
    pub text: String,
    /// The name of the primary timestamp column of a super table created for it.
    pub ts_column: &'static str,
}

/// Length of a string value as its column width counts it.
fn width_of(kind: Kind, v: &Val) -> usize {
    match v {
        Val::Str(s) if kind == Kind::Nchar => s.chars().count(),
        Val::Str(s) => s.len(),
        _ => 0,
    }
}

/// The next power of two above `n` (TDengine's schemaless width rule, observed:
/// 21 characters give NCHAR(32), 1 gives NCHAR(2)).
pub fn sml_width(n: usize) -> usize {
    let mut w = 1;
    while w <= n {
        w *= 2;
    }
    w
}

/// `t_` + MD5 of `measurement,k1=v1,k2=v2…` with the tags sorted by key (observed).
pub fn child_table_name(measurement: &str, tags: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = tags.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = measurement.to_string();
    for (k, v) in sorted {
        text.push(',');
        text.push_str(k);
        text.push('=');
        text.push_str(v);
    }
    let digest = Md5::digest(text.as_bytes());
    let mut out = String::from("t_");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn tag_text(v: &Val) -> String {
    match v {
        Val::Str(s) => s.clone(),
        Val::Float(f) => f.to_string(),
        Val::F32(f) => f.to_string(),
        Val::Int(i) => i.to_string(),
        Val::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Adds or widens `name` in `cols`; an existing column of another type is an error.
fn merge_column(
    cols: &mut Vec<Column>,
    name: &str,
    kind: Kind,
    v: &Val,
    point: &Point,
) -> Result<(), TdError> {
    let need = sml_width(width_of(kind, v));
    match cols.iter_mut().find(|c| c.name == name) {
        Some(c) => {
            let compatible = c.kind == kind;
            if !compatible {
                return Err(TdError::new(
                    SML_NOT_SAME_TYPE,
                    format!("the type is not the same like before:{}", point.text),
                ));
            }
            if kind.is_var() && width_of(kind, v) > c.len {
                c.len = need;
            }
        }
        None => cols.push(Column::new(name, kind, need)),
    }
    Ok(())
}

/// Converts a point's timestamp to the database precision and checks its range.
fn db_timestamp(db: &Database, p: &Point) -> Result<i64, TdError> {
    let per = i128::from(time::per_second(&db.precision));
    let ts = match p.ts_nanos {
        None => i128::from(time::now(&db.precision)),
        Some(n) => n / (1_000_000_000 / per),
    };
    let ts = i64::try_from(ts)
        .map_err(|_| TdError::new(TS_OUT_OF_RANGE, "Timestamp data out of range"))?;
    if ts < db.oldest_allowed() {
        return Err(TdError::new(TS_OUT_OF_RANGE, "Timestamp data out of range"));
    }
    Ok(ts)
}

/// Writes points into `db`, all or nothing (a failing call writes nothing, observed).
pub fn write_points(db: &mut Database, points: &[Point]) -> Result<usize, TdError> {
    // Plan the schema on a copy, so an error leaves everything untouched.
    let mut stables = db.stables.clone();
    let mut stamped = Vec::with_capacity(points.len());
    for p in points {
        let ts = db_timestamp(db, p)?;
        stamped.push(ts);
        let st = stables
            .entry(p.measurement.clone())
            .or_insert_with(|| Stable {
                columns: vec![Column::new(p.ts_column, Kind::Timestamp, 8)],
                tags: Vec::new(),
            });
        for (name, kind, v) in &p.fields {
            merge_column(&mut st.columns, name, *kind, v, p)?;
        }
        for (name, kind, v) in &p.tags {
            merge_column(&mut st.tags, name, *kind, v, p)?;
        }
        if st.tags.is_empty() {
            st.tags.push(Column::new("_tag_null", Kind::Nchar, 1));
        }
        if db
            .tables
            .get(&p.measurement)
            .is_some_and(|t| t.stable.is_none())
        {
            return Err(TdError::new(
                SML_INVALID_DATA,
                format!("table {} is a normal table: {}", p.measurement, p.text),
            ));
        }
    }
    db.stables = stables;
    for (p, ts) in points.iter().zip(stamped) {
        let Some(st) = db.stables.get(&p.measurement) else {
            continue;
        };
        let tag_texts: Vec<(String, String)> = p
            .tags
            .iter()
            .map(|(k, _, v)| (k.clone(), tag_text(v)))
            .collect();
        let name = child_table_name(&p.measurement, &tag_texts);
        let tag_vals: Vec<Val> = st
            .tags
            .iter()
            .map(|c| {
                p.tags
                    .iter()
                    .find(|(k, _, _)| *k == c.name)
                    .map_or(Val::Null, |(_, _, v)| v.clone())
            })
            .collect();
        let values: Vec<(usize, Val)> = p
            .fields
            .iter()
            .filter_map(|(k, _, v)| {
                st.columns
                    .iter()
                    .position(|c| c.name == *k)
                    .map(|i| (i, v.clone()))
            })
            .collect();
        db.tables.entry(name.clone()).or_insert_with(|| Table {
            stable: Some(p.measurement.clone()),
            tags: tag_vals,
            ..Table::default()
        });
        db.upsert(&name, ts, values);
    }
    Ok(points.len())
}

/// A row read back: (timestamp, child table, row values, tag values).
pub type StoredRow = (i64, String, Vec<Val>, Vec<Val>);

/// Everything the server keeps.
#[derive(Clone, Debug)]
pub struct Store {
    pub databases: BTreeMap<String, Database>,
    /// The one account (`root`/`taosdata` unless changed).
    pub user: String,
    pub password: String,
    /// Every schemaless write call, in order (the benchmark and tests count them).
    pub schemaless_calls: Vec<(Protocol, usize)>,
    /// TMQ topics by name.
    pub topics: BTreeMap<String, TopicDef>,
    /// Committed TMQ offsets by (consumer group, topic) of the one vgroup.
    pub committed: BTreeMap<(String, String), i64>,
}

/// What a TMQ topic reads.
#[derive(Clone, Debug, PartialEq)]
pub enum TopicSource {
    /// `as select * from <table>`: a super table (its children, columns then tags) or a
    /// normal table.
    Select(String),
    /// `as stable <stable>`: the data columns of its children.
    Stable(String),
    /// `as database <db>`: the data columns of every table.
    Database,
}

/// A TMQ topic.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicDef {
    pub db: String,
    pub source: TopicSource,
}

impl Default for Store {
    fn default() -> Store {
        Store {
            databases: BTreeMap::new(),
            user: "root".into(),
            password: "taosdata".into(),
            schemaless_calls: Vec::new(),
            topics: BTreeMap::new(),
            committed: BTreeMap::new(),
        }
    }
}

impl Store {
    pub fn db(&self, name: &str) -> Result<&Database, TdError> {
        self.databases
            .get(name)
            .ok_or_else(|| TdError::new(DB_NOT_EXIST, "Database not exist"))
    }
    pub fn db_mut(&mut self, name: &str) -> Result<&mut Database, TdError> {
        self.databases
            .get_mut(name)
            .ok_or_else(|| TdError::new(DB_NOT_EXIST, "Database not exist"))
    }

    /// Rows of a table in `db` (a super table reads all its children), with the child's name
    /// and tag values: (timestamp, child table, row values, tag values).
    pub fn rows_of(&self, db: &str, table: &str) -> Result<Vec<StoredRow>, TdError> {
        let d = self.db(db)?;
        let mut out = Vec::new();
        if d.stables.contains_key(table) {
            for (name, t) in d
                .tables
                .iter()
                .filter(|(_, t)| t.stable.as_deref() == Some(table))
            {
                for (ts, row) in &t.rows {
                    out.push((*ts, name.clone(), row.clone(), t.tags.clone()));
                }
            }
        } else if let Some(t) = d.tables.get(table) {
            for (ts, row) in &t.rows {
                out.push((*ts, table.to_string(), row.clone(), t.tags.clone()));
            }
        } else {
            return Err(TdError::new(TABLE_NOT_EXIST, "Table does not exist"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_names_are_observed_md5s() {
        let tags = |g: &str| {
            vec![
                ("location".to_string(), "California.LosAngeles".to_string()),
                ("groupid".to_string(), g.to_string()),
            ]
        };
        assert_eq!(
            child_table_name("meters", &tags("2")),
            "t_be97833a0e1f523fcdaeb6291d6fdf27"
        );
        assert_eq!(
            child_table_name("meters", &tags("3")),
            "t_10b65f71ff8970369c8c18de0d6be028"
        );
    }

    #[test]
    fn widths_are_powers_of_two_above() {
        assert_eq!(sml_width(21), 32);
        assert_eq!(sml_width(1), 2);
        assert_eq!(sml_width(0), 1);
    }
}
