//! PostgreSQL types to Connect schemas and values, with Debezium's semantic types
//! (`PostgresValueConverter`). Values arrive as PostgreSQL's text output (pgoutput protocol 1
//! and the snapshot's simple queries both use it), read with `DateStyle=ISO`,
//! `TimeZone=UTC`, `IntervalStyle=iso_8601` and `lc_monetary=C`, which the connections set.

use std::collections::HashMap;

use base64::Engine;
use sluice_api::data::logical::Decimal;
use sluice_api::data::{SchemaBuilder, SchemaRef, Struct, Value};

use crate::config::{BinaryMode, DecimalMode, Settings, TimePrecision};

/// A column type, resolved from its OID and type modifier.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// `numeric(p,s)`; `scale` None for `numeric` without a scale (variable scale).
    Numeric {
        precision: i32,
        scale: Option<i32>,
    },
    Money,
    Text,
    Bytea,
    Date,
    Time {
        precision: i32,
    },
    TimeTz {
        precision: i32,
    },
    Timestamp {
        precision: i32,
    },
    TimestampTz {
        precision: i32,
    },
    Interval,
    Uuid,
    Json,
    Xml,
    Enum {
        values: Vec<String>,
    },
    Hstore,
    /// `bit(1)`.
    Bit1,
    /// `bit(n>1)` and `varbit`.
    Bits {
        length: i32,
    },
    Array(Box<Kind>),
    /// Not mapped: the column is left out unless `include.unknown.datatypes`.
    Unknown(String),
}

/// One row of `pg_type`.
#[derive(Clone, Debug)]
pub struct TypeRow {
    pub name: String,
    pub typtype: char,
    pub elem: u32,
    pub base: u32,
    pub typmod: i32,
    pub category: char,
}

/// The server's types, loaded from `pg_type` and `pg_enum`.
#[derive(Clone, Debug, Default)]
pub struct TypeRegistry {
    pub types: HashMap<u32, TypeRow>,
    pub enums: HashMap<u32, Vec<String>>,
}

impl TypeRegistry {
    pub fn knows(&self, oid: u32) -> bool {
        self.types.contains_key(&oid)
    }

    /// The kind of a column of type `oid` with modifier `typmod`.
    pub fn resolve(&self, oid: u32, typmod: i32) -> Kind {
        self.resolve_depth(oid, typmod, 0)
    }

    fn resolve_depth(&self, oid: u32, typmod: i32, depth: u8) -> Kind {
        let Some(t) = self.types.get(&oid) else {
            return Kind::Unknown(format!("oid {oid}"));
        };
        if depth > 8 {
            return Kind::Unknown(t.name.clone());
        }
        match t.typtype {
            'e' => {
                return Kind::Enum {
                    values: self.enums.get(&oid).cloned().unwrap_or_default(),
                }
            }
            'd' => {
                let m = if typmod >= 0 { typmod } else { t.typmod };
                return self.resolve_depth(t.base, m, depth + 1);
            }
            'r' | 'm' => return Kind::Text,
            _ => {}
        }
        if t.category == 'A' && t.elem != 0 {
            return Kind::Array(Box::new(self.resolve_depth(t.elem, typmod, depth + 1)));
        }
        base_kind(&t.name, typmod)
    }
}

fn time_precision(typmod: i32) -> i32 {
    if (0..=6).contains(&typmod) {
        typmod
    } else {
        6
    }
}

fn base_kind(name: &str, typmod: i32) -> Kind {
    match name {
        "bool" => Kind::Bool,
        "int2" => Kind::Int16,
        "int4" => Kind::Int32,
        "int8" | "oid" => Kind::Int64,
        "float4" => Kind::Float32,
        "float8" => Kind::Float64,
        "numeric" => Kind::Numeric {
            precision: if typmod >= 4 {
                ((typmod - 4) >> 16) & 0xffff
            } else {
                0
            },
            scale: (typmod >= 4).then(|| (typmod - 4) & 0x7ff),
        },
        "money" => Kind::Money,
        "text" | "varchar" | "bpchar" | "char" | "name" | "citext" | "inet" | "cidr"
        | "macaddr" | "macaddr8" | "tsvector" | "ltree" => Kind::Text,
        "bytea" => Kind::Bytea,
        "date" => Kind::Date,
        "time" => Kind::Time {
            precision: time_precision(typmod),
        },
        "timetz" => Kind::TimeTz {
            precision: time_precision(typmod),
        },
        "timestamp" => Kind::Timestamp {
            precision: time_precision(typmod),
        },
        "timestamptz" => Kind::TimestampTz {
            precision: time_precision(typmod),
        },
        "interval" => Kind::Interval,
        "uuid" => Kind::Uuid,
        "json" | "jsonb" => Kind::Json,
        "xml" => Kind::Xml,
        "hstore" => Kind::Hstore,
        "bit" if typmod <= 1 => Kind::Bit1,
        "bit" => Kind::Bits { length: typmod },
        "varbit" => Kind::Bits {
            length: typmod.max(0),
        },
        other => Kind::Unknown(other.to_string()),
    }
}

/// Debezium's semantic schema of a kind (not yet optional). None: the column is skipped.
pub fn schema_builder(kind: &Kind, s: &Settings) -> Option<SchemaBuilder> {
    let adaptive = s.time_precision != TimePrecision::Connect;
    Some(match kind {
        Kind::Bool | Kind::Bit1 => SchemaBuilder::boolean(),
        Kind::Int16 => SchemaBuilder::int16(),
        Kind::Int32 => SchemaBuilder::int32(),
        Kind::Int64 => SchemaBuilder::int64(),
        Kind::Float32 => SchemaBuilder::float32(),
        Kind::Float64 => SchemaBuilder::float64(),
        Kind::Numeric { precision, scale } => match s.decimal {
            DecimalMode::Double => SchemaBuilder::float64(),
            DecimalMode::String => SchemaBuilder::string(),
            DecimalMode::Precise => match scale {
                Some(scale) => sluice_api::data::logical::decimal_builder(*scale)
                    .parameter("connect.decimal.precision", precision.to_string()),
                None => variable_scale_decimal_builder(),
            },
        },
        Kind::Money => match s.decimal {
            DecimalMode::Double => SchemaBuilder::float64(),
            DecimalMode::String => SchemaBuilder::string(),
            DecimalMode::Precise => {
                sluice_api::data::logical::decimal_builder(s.money_fraction_digits)
            }
        },
        Kind::Text => SchemaBuilder::string(),
        Kind::Bytea => match s.binary {
            BinaryMode::Bytes => SchemaBuilder::bytes(),
            _ => SchemaBuilder::string(),
        },
        Kind::Date if adaptive => named(SchemaBuilder::int32(), "io.debezium.time.Date"),
        Kind::Date => sluice_api::data::logical::date_builder(),
        Kind::Time { precision } => match s.time_precision {
            TimePrecision::Connect => sluice_api::data::logical::time_builder(),
            TimePrecision::Adaptive if *precision <= 3 => {
                named(SchemaBuilder::int32(), "io.debezium.time.Time")
            }
            _ => named(SchemaBuilder::int64(), "io.debezium.time.MicroTime"),
        },
        Kind::Timestamp { precision } => match s.time_precision {
            TimePrecision::Connect => sluice_api::data::logical::timestamp_builder(),
            _ if *precision <= 3 => named(SchemaBuilder::int64(), "io.debezium.time.Timestamp"),
            _ => named(SchemaBuilder::int64(), "io.debezium.time.MicroTimestamp"),
        },
        Kind::TimestampTz { .. } => {
            named(SchemaBuilder::string(), "io.debezium.time.ZonedTimestamp")
        }
        Kind::TimeTz { .. } => named(SchemaBuilder::string(), "io.debezium.time.ZonedTime"),
        Kind::Interval if s.interval_string => {
            named(SchemaBuilder::string(), "io.debezium.time.Interval")
        }
        Kind::Interval => named(SchemaBuilder::int64(), "io.debezium.time.MicroDuration"),
        Kind::Uuid => named(SchemaBuilder::string(), "io.debezium.data.Uuid"),
        Kind::Json => named(SchemaBuilder::string(), "io.debezium.data.Json"),
        Kind::Xml => named(SchemaBuilder::string(), "io.debezium.data.Xml"),
        Kind::Enum { values } => named(SchemaBuilder::string(), "io.debezium.data.Enum")
            .parameter("allowed", values.join(",")),
        Kind::Hstore if s.hstore_map => SchemaBuilder::map(
            sluice_api::data::schemas::string(),
            sluice_api::data::schemas::optional_string(),
        )
        .optional(),
        Kind::Hstore => named(SchemaBuilder::string(), "io.debezium.data.Json"),
        Kind::Bits { length } => named(SchemaBuilder::bytes(), "io.debezium.data.Bits")
            .parameter("length", length.to_string()),
        Kind::Array(elem) => {
            let e = schema_builder(elem, s)?.optional().build();
            SchemaBuilder::array(e)
        }
        Kind::Unknown(_) if s.include_unknown => SchemaBuilder::bytes(),
        Kind::Unknown(_) => return None,
    })
}

fn named(b: SchemaBuilder, name: &str) -> SchemaBuilder {
    b.name(name).version(1)
}

fn variable_scale_decimal_builder() -> SchemaBuilder {
    let b = SchemaBuilder::structure()
        .name("io.debezium.data.VariableScaleDecimal")
        .version(1)
        .doc("Variable scaled decimal");
    // Field names are constants: adding them cannot fail.
    b.clone()
        .field("scale", sluice_api::data::schemas::int32())
        .and_then(|b| b.field("value", sluice_api::data::schemas::bytes()))
        .unwrap_or(b)
}

/// Converts one text value. `Err` names what could not be read; the caller adds the column.
pub fn convert(kind: &Kind, schema: &SchemaRef, text: &str, s: &Settings) -> Result<Value, String> {
    let bad = || format!("cannot read {text:?} as {kind:?}");
    Ok(match kind {
        Kind::Bool => Value::Boolean(matches!(text, "t" | "true" | "1" | "y" | "yes" | "on")),
        Kind::Bit1 => Value::Boolean(text == "1"),
        Kind::Int16 => Value::Int16(text.parse().map_err(|_| bad())?),
        Kind::Int32 => Value::Int32(text.parse().map_err(|_| bad())?),
        Kind::Int64 => Value::Int64(text.parse().map_err(|_| bad())?),
        Kind::Float32 => Value::Float32(parse_float(text).ok_or_else(bad)? as f32),
        Kind::Float64 => Value::Float64(parse_float(text).ok_or_else(bad)?),
        Kind::Numeric { scale, .. } => numeric(text, *scale, schema, s).ok_or_else(bad)?,
        Kind::Money => {
            let cleaned: String = text
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
                .collect();
            let neg = text.contains('(');
            let cleaned = if neg { format!("-{cleaned}") } else { cleaned };
            numeric(&cleaned, Some(s.money_fraction_digits), schema, s).ok_or_else(bad)?
        }
        Kind::Text | Kind::Xml | Kind::Enum { .. } => Value::String(text.to_string()),
        Kind::Json => Value::String(text.to_string()),
        Kind::Uuid => Value::String(text.to_string()),
        Kind::Bytea => binary(parse_bytea(text).ok_or_else(bad)?, s.binary),
        Kind::Date => Value::Int32(parse_date(text).ok_or_else(bad)?),
        Kind::Time { precision } => {
            let micros = parse_time(text).ok_or_else(bad)?;
            match s.time_precision {
                TimePrecision::Connect => Value::Int32((micros / 1000) as i32),
                TimePrecision::Adaptive if *precision <= 3 => Value::Int32((micros / 1000) as i32),
                _ => Value::Int64(micros),
            }
        }
        Kind::Timestamp { precision } => {
            let micros = parse_timestamp(text).ok_or_else(bad)?.0;
            if s.time_precision == TimePrecision::Connect || *precision <= 3 {
                Value::Int64(micros.div_euclid(1000))
            } else {
                Value::Int64(micros)
            }
        }
        Kind::TimestampTz { precision } => {
            let (micros, offset) = parse_timestamp(text).ok_or_else(bad)?;
            Value::String(zoned_timestamp(micros - offset * 1_000_000, *precision))
        }
        // ZonedTime uses ISO_OFFSET_TIME: as many fraction digits as needed.
        Kind::TimeTz { .. } => {
            let (t, offset) = split_offset(text);
            let micros = parse_time(t).ok_or_else(bad)?;
            let utc = (micros - offset * 1_000_000).rem_euclid(86_400_000_000);
            Value::String(format!("{}Z", format_time(utc, 0, false)))
        }
        Kind::Interval => {
            let (y, m, d, h, min, sec) = parse_iso_interval(text).ok_or_else(bad)?;
            if s.interval_string {
                Value::String(interval_iso(y, m, d, h, min, sec))
            } else {
                Value::Int64(micro_duration(y, m, d, h, min, sec))
            }
        }
        Kind::Hstore => {
            let pairs = parse_hstore(text).ok_or_else(bad)?;
            if s.hstore_map {
                Value::Map(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (Value::String(k), v.map_or(Value::Null, Value::String)))
                        .collect(),
                )
            } else {
                let mut obj = serde_json::Map::new();
                for (k, v) in pairs {
                    obj.insert(
                        k,
                        v.map_or(serde_json::Value::Null, serde_json::Value::String),
                    );
                }
                Value::String(serde_json::Value::Object(obj).to_string())
            }
        }
        Kind::Bits { .. } => Value::Bytes(bits_le(text)),
        Kind::Array(elem) => {
            let items = parse_array(text).ok_or_else(bad)?;
            let elem_schema = schema.value_schema.clone().ok_or_else(bad)?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match item {
                    None => Value::Null,
                    Some(t) => convert(elem, &elem_schema, &t, s)?,
                });
            }
            Value::Array(out)
        }
        Kind::Unknown(_) => Value::Bytes(text.as_bytes().to_vec()),
    })
}

/// The value of an unchanged TOASTed column: Debezium's placeholder for string and bytes
/// columns, null otherwise.
pub fn toast_placeholder(kind: &Kind, s: &Settings) -> Value {
    let p = &s.toast_placeholder;
    let bytes = || match p.strip_prefix("hex:") {
        Some(h) => hex_decode(h).unwrap_or_else(|| p.as_bytes().to_vec()),
        None => p.as_bytes().to_vec(),
    };
    match kind {
        Kind::Bytea if s.binary == BinaryMode::Bytes => Value::Bytes(bytes()),
        Kind::Text | Kind::Json | Kind::Xml | Kind::Bytea | Kind::Enum { .. } | Kind::Uuid => {
            Value::String(p.clone())
        }
        Kind::Array(elem) if matches!(**elem, Kind::Text | Kind::Json) => {
            Value::Array(vec![Value::String(p.clone())])
        }
        _ => Value::Null,
    }
}

fn parse_float(t: &str) -> Option<f64> {
    match t {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}

fn numeric(text: &str, scale: Option<i32>, schema: &SchemaRef, s: &Settings) -> Option<Value> {
    if text == "NaN" || text.contains("Infinity") {
        return match s.decimal {
            DecimalMode::Double => Some(Value::Float64(parse_float(text)?)),
            DecimalMode::String => Some(Value::String(text.to_uppercase())),
            DecimalMode::Precise => Some(Value::Null),
        };
    }
    match s.decimal {
        DecimalMode::Double => return Some(Value::Float64(text.parse().ok()?)),
        DecimalMode::String => return Some(Value::String(text.to_string())),
        DecimalMode::Precise => {}
    }
    match scale {
        Some(scale) => {
            let frac = text.split_once('.').map_or(0, |(_, f)| f.len()) as i32;
            let mut t = text.to_string();
            if frac < scale {
                if frac == 0 {
                    t.push('.');
                }
                t.extend(std::iter::repeat_n('0', (scale - frac) as usize));
            }
            let d = Decimal::parse(&t)?;
            (d.scale == scale).then_some(Value::Bytes(d.unscaled))
        }
        None => {
            let d = Decimal::parse(text)?;
            let mut st = Struct::new(schema.clone());
            st.put_index(0, Value::Int32(d.scale));
            st.put_index(1, Value::Bytes(d.unscaled));
            Some(Value::Struct(st))
        }
    }
}

pub fn binary(bytes: Vec<u8>, mode: BinaryMode) -> Value {
    match mode {
        BinaryMode::Bytes => Value::Bytes(bytes),
        BinaryMode::Base64 => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        BinaryMode::Base64UrlSafe => {
            Value::String(base64::engine::general_purpose::URL_SAFE.encode(bytes))
        }
        BinaryMode::Hex => Value::String(bytes.iter().map(|b| format!("{b:02x}")).collect()),
    }
}

fn hex_decode(h: &str) -> Option<Vec<u8>> {
    if h.len() & 1 == 1 {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `bytea` text output: hex (`\x0102`) or the old escape format.
pub fn parse_bytea(t: &str) -> Option<Vec<u8>> {
    if let Some(h) = t.strip_prefix("\\x") {
        return hex_decode(h);
    }
    let b = t.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
            } else {
                let oct = std::str::from_utf8(b.get(i + 1..i + 4)?).ok()?;
                out.push(u8::from_str_radix(oct, 8).ok()?);
                i += 4;
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Days from 1970-01-01 (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parse_date_days(t: &str) -> Option<i64> {
    let (t, bc) = match t.strip_suffix(" BC") {
        Some(r) => (r, true),
        None => (t, false),
    };
    let mut parts = t.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    let y = if bc { 1 - y } else { y };
    Some(days_from_civil(y, m, d))
}

/// `date` → days since the epoch.
pub fn parse_date(t: &str) -> Option<i32> {
    match t {
        "infinity" => Some(i32::MAX),
        "-infinity" => Some(i32::MIN),
        _ => i32::try_from(parse_date_days(t)?).ok(),
    }
}

/// `HH:MM:SS[.ffffff]` → µs of the day.
pub fn parse_time(t: &str) -> Option<i64> {
    let mut parts = t.splitn(3, ':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec = parts.next().unwrap_or("0");
    let (s, frac) = sec.split_once('.').unwrap_or((sec, ""));
    let s: i64 = s.parse().ok()?;
    let mut micros: i64 = 0;
    for (i, c) in frac.chars().take(6).enumerate() {
        micros += i64::from(c.to_digit(10)?) * 10i64.pow(5 - i as u32);
    }
    Some(((h * 60 + m) * 60 + s) * 1_000_000 + micros)
}

/// Splits a trailing `+HH[:MM[:SS]]`/`-HH...` offset: (rest, offset seconds).
fn split_offset(t: &str) -> (&str, i64) {
    let Some(i) = t.rfind(['+', '-']).filter(|i| *i >= 5) else {
        return (t, 0);
    };
    let (rest, off) = t.split_at(i);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let mut secs = 0i64;
    for (n, p) in off[1..].split(':').enumerate().take(3) {
        let v: i64 = p.parse().unwrap_or(0);
        secs += v * [3600, 60, 1][n];
    }
    (rest, sign * secs)
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff][+TZ][ BC]` → (µs since the epoch as if UTC, offset seconds).
pub fn parse_timestamp(t: &str) -> Option<(i64, i64)> {
    match t {
        // Debezium's sentinels for ±infinity (PGStatement.DATE_POSITIVE/NEGATIVE_INFINITY, ms).
        "infinity" => return Some((9_223_372_036_825_200_000, 0)),
        "-infinity" => return Some((-9_223_372_036_832_400_000, 0)),
        _ => {}
    }
    let (t, bc) = match t.strip_suffix(" BC") {
        Some(r) => (r, true),
        None => (t, false),
    };
    let (date, time) = t.split_once([' ', 'T'])?;
    let (time, offset) = split_offset(time);
    let date = if bc {
        format!("{date} BC")
    } else {
        date.to_string()
    };
    let days = parse_date_days(&date)?;
    Some((days * 86_400_000_000 + parse_time(time)?, offset))
}

/// `HH:MM:SS` plus `precision` fraction digits (trimmed to none when `precision` is 0).
fn format_time(micros_of_day: i64, precision: i32, _trim: bool) -> String {
    let secs = micros_of_day / 1_000_000;
    let frac = micros_of_day % 1_000_000;
    let base = format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if precision <= 0 {
        if frac == 0 {
            return base;
        }
        let f = format!("{frac:06}");
        return format!("{base}.{}", f.trim_end_matches('0'));
    }
    let f = format!("{frac:06}000");
    format!("{base}.{}", &f[..precision.clamp(1, 9) as usize])
}

/// Debezium's `ZonedTimestamp` text: ISO-8601 in UTC with `precision` fraction digits.
pub fn zoned_timestamp(utc_micros: i64, precision: i32) -> String {
    let days = utc_micros.div_euclid(86_400_000_000);
    let tod = utc_micros.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days);
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else {
        format!("{y:+05}")
    };
    format!(
        "{year}-{m:02}-{d:02}T{}Z",
        format_time(tod, precision, true)
    )
}

type IntervalParts = (i32, i32, i32, i32, i32, f64);

/// ISO-8601 interval output (`IntervalStyle=iso_8601`), e.g. `P1Y2M3DT4H5M6.5S`.
pub fn parse_iso_interval(t: &str) -> Option<IntervalParts> {
    let Some(body) = t.strip_prefix('P') else {
        return parse_postgres_interval(t);
    };
    let (date, time) = body.split_once('T').unwrap_or((body, ""));
    let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (0, 0, 0, 0, 0, 0.0);
    let mut num = String::new();
    for c in date.chars() {
        match c {
            'Y' => y = std::mem::take(&mut num).parse().ok()?,
            'M' => mo = std::mem::take(&mut num).parse().ok()?,
            'W' => d += std::mem::take(&mut num).parse::<i32>().ok()? * 7,
            'D' => d += std::mem::take(&mut num).parse::<i32>().ok()?,
            _ => num.push(c),
        }
    }
    for c in time.chars() {
        match c {
            'H' => h = std::mem::take(&mut num).parse().ok()?,
            'M' => mi = std::mem::take(&mut num).parse().ok()?,
            'S' => s = std::mem::take(&mut num).parse().ok()?,
            _ => num.push(c),
        }
    }
    num.is_empty().then_some((y, mo, d, h, mi, s))
}

/// `IntervalStyle=postgres` output, e.g. `1 year 2 mons -3 days +04:05:06.5`.
fn parse_postgres_interval(t: &str) -> Option<IntervalParts> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (0, 0, 0, 0, 0, 0.0);
    let mut words = t.split_whitespace().peekable();
    while let Some(w) = words.next() {
        if w.contains(':') {
            let neg = w.starts_with('-');
            let mut parts = w.trim_start_matches(['+', '-']).split(':');
            let hh: i32 = parts.next()?.parse().ok()?;
            let mm: i32 = parts.next()?.parse().ok()?;
            let ss: f64 = parts.next().unwrap_or("0").parse().ok()?;
            let sign = if neg { -1 } else { 1 };
            h += sign * hh;
            mi += sign * mm;
            s += f64::from(sign) * ss;
            continue;
        }
        let n: i32 = w.parse().ok()?;
        let unit = words.next()?;
        match unit.trim_end_matches('s') {
            "year" => y += n,
            "mon" => mo += n,
            "day" => d += n,
            _ => return None,
        }
    }
    Some((y, mo, d, h, mi, s))
}

/// Debezium's `MicroDuration.durationMicros` (months of 365.25/12 days), in the same
/// floating-point steps so the results are equal.
pub fn micro_duration(y: i32, mo: i32, d: i32, h: i32, mi: i32, s: f64) -> i64 {
    let days = f64::from(y * 12 + mo) * (365.25 / 12.0) + f64::from(d);
    let secs = (((days * 24.0 + f64::from(h)) * 60.0) + f64::from(mi)) * 60.0 + s;
    (secs * 1e6) as i64
}

/// Debezium's `Interval.toIsoString`.
fn interval_iso(y: i32, mo: i32, d: i32, h: i32, mi: i32, s: f64) -> String {
    let secs = if s.fract() == 0.0 {
        format!("{}", s as i64)
    } else {
        format!("{s}")
    };
    format!("P{y}Y{mo}M{d}DT{h}H{mi}M{secs}S")
}

/// `hstore` text: `"k"=>"v", "n"=>NULL`.
pub fn parse_hstore(t: &str) -> Option<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    let mut chars = t.chars().peekable();
    let quoted = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Option<String> {
        let mut s = String::new();
        loop {
            match chars.next()? {
                '\\' => s.push(chars.next()?),
                '"' => return Some(s),
                c => s.push(c),
            }
        }
    };
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        match chars.next() {
            None => return Some(out),
            Some('"') => {}
            Some(_) => return None,
        }
        let k = quoted(&mut chars)?;
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next()? != '=' || chars.next()? != '>' {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let v = if chars.peek() == Some(&'"') {
            chars.next();
            Some(quoted(&mut chars)?)
        } else {
            let w: String = std::iter::from_fn(|| chars.next_if(|c| c.is_alphanumeric())).collect();
            if w.eq_ignore_ascii_case("null") {
                None
            } else {
                Some(w)
            }
        };
        out.push((k, v));
    }
}

/// One-dimensional array text `{a,"b c",NULL}` → elements.
pub fn parse_array(t: &str) -> Option<Vec<Option<String>>> {
    // A dimension decoration `[1:2]={...}` precedes arrays with other lower bounds.
    let t = match t.find('=') {
        Some(i) if t.starts_with('[') => &t[i + 1..],
        _ => t,
    };
    let inner = t.strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    if inner.is_empty() {
        return Some(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        let item = if chars.peek() == Some(&'"') {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next()? {
                    '\\' => s.push(chars.next()?),
                    '"' => break,
                    c => s.push(c),
                }
            }
            Some(s)
        } else if chars.peek() == Some(&'{') {
            // Nested arrays are kept as their text.
            let mut depth = 0;
            let mut s = String::new();
            for c in chars.by_ref() {
                s.push(c);
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            Some(s)
        } else {
            let s: String = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
            let s = s.trim().to_string();
            if s == "NULL" {
                None
            } else {
                Some(s)
            }
        };
        out.push(item);
        match chars.next() {
            Some(',') => continue,
            None => return Some(out),
            Some(_) => return None,
        }
    }
}

/// `bit(n)` text `1010` → bytes, little-endian as Debezium's `Bits` (pgjdbc `BitSet`).
fn bits_le(t: &str) -> Vec<u8> {
    let bits: Vec<bool> = t.chars().map(|c| c == '1').collect();
    let n = bits.len();
    let mut out = vec![0u8; n.div_ceil(8)];
    // The leftmost character is the most significant bit.
    for (i, b) in bits.iter().enumerate() {
        if *b {
            let pos = n - 1 - i;
            out[pos / 8] |= 1 << (pos % 8);
        }
    }
    while out.len() > 1 && out.last() == Some(&0) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let raw: sluice_api::config::RawConfig = [
            ("topic.prefix", "s"),
            ("database.hostname", "h"),
            ("database.user", "u"),
            ("database.dbname", "d"),
            ("plugin.name", "pgoutput"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Settings::parse(&raw).unwrap()
    }

    fn check(kind: Kind, text: &str, expected: Value) {
        let s = settings();
        let schema = schema_builder(&kind, &s).unwrap().optional().build();
        assert_eq!(
            convert(&kind, &schema, text, &s).unwrap(),
            expected,
            "{kind:?} {text}"
        );
    }

    #[test]
    fn values() {
        check(Kind::Bool, "t", Value::Boolean(true));
        check(Kind::Int16, "-3", Value::Int16(-3));
        check(Kind::Int64, "9000000000", Value::Int64(9_000_000_000));
        check(Kind::Float64, "1.5", Value::Float64(1.5));
        check(
            Kind::Numeric {
                precision: 10,
                scale: Some(2),
            },
            "12.3",
            Value::Bytes(vec![0x04, 0xCE]),
        );
        check(
            Kind::Numeric {
                precision: 10,
                scale: Some(2),
            },
            "-1",
            Value::Bytes(vec![0x9C]),
        );
        check(
            Kind::Money,
            "$1,234.56",
            Value::Bytes(vec![0x01, 0xE2, 0x40]),
        );
        check(Kind::Bytea, "\\x0102ff", Value::Bytes(vec![1, 2, 255]));
        check(Kind::Date, "2018-06-20", Value::Int32(17702));
        check(Kind::Date, "1969-12-31", Value::Int32(-1));
        check(
            Kind::Time { precision: 6 },
            "10:15:30.123456",
            Value::Int64(36_930_123_456),
        );
        check(
            Kind::Time { precision: 3 },
            "10:15:30.123",
            Value::Int32(36_930_123),
        );
        check(
            Kind::Timestamp { precision: 6 },
            "2018-06-20 10:15:30.5",
            Value::Int64(1_529_489_730_500_000),
        );
        check(
            Kind::Timestamp { precision: 3 },
            "2018-06-20 10:15:30.5",
            Value::Int64(1_529_489_730_500),
        );
        check(
            Kind::TimestampTz { precision: 6 },
            "2018-06-20 12:15:30.5+02",
            Value::String("2018-06-20T10:15:30.500000Z".into()),
        );
        check(
            Kind::TimestampTz { precision: 0 },
            "2018-06-20 10:15:30+00",
            Value::String("2018-06-20T10:15:30Z".into()),
        );
        check(
            Kind::TimeTz { precision: 6 },
            "12:00:00.25+02",
            Value::String("10:00:00.25Z".into()),
        );
        check(
            Kind::Interval,
            "P1Y2M3DT4H5M6.5S",
            Value::Int64(37_091_106_500_000),
        );
        check(Kind::Interval, "P-1D", Value::Int64(-86_400_000_000));
        check(
            Kind::Interval,
            "1 year 2 mons 3 days 04:05:06.5",
            Value::Int64(37_091_106_500_000),
        );
        check(
            Kind::Interval,
            "-1 days +00:00:01",
            Value::Int64(-86_399_000_000),
        );
        check(
            Kind::Array(Box::new(Kind::Text)),
            "{a,\"b c\",NULL}",
            Value::Array(vec![
                Value::String("a".into()),
                Value::String("b c".into()),
                Value::Null,
            ]),
        );
        check(
            Kind::Array(Box::new(Kind::Int32)),
            "{}",
            Value::Array(vec![]),
        );
        check(
            Kind::Hstore,
            "\"a\"=>\"1\", \"b\"=>NULL",
            Value::String("{\"a\":\"1\",\"b\":null}".into()),
        );
        check(
            Kind::Bits { length: 10 },
            "1000000001",
            Value::Bytes(vec![0x01, 0x02]),
        );
    }

    #[test]
    fn variable_scale_numeric() {
        let s = settings();
        let kind = Kind::Numeric {
            precision: 0,
            scale: None,
        };
        let schema = schema_builder(&kind, &s).unwrap().optional().build();
        let Value::Struct(v) = convert(&kind, &schema, "1.25", &s).unwrap() else {
            panic!()
        };
        assert_eq!(v.get("scale"), Some(&Value::Int32(2)));
        assert_eq!(v.get("value"), Some(&Value::Bytes(vec![0x7D])));
        assert_eq!(
            schema.name.as_deref(),
            Some("io.debezium.data.VariableScaleDecimal")
        );
    }

    #[test]
    fn registry_resolves_typmods() {
        let mut r = TypeRegistry::default();
        let row = |name: &str, typtype: char, elem: u32, category: char| TypeRow {
            name: name.into(),
            typtype,
            elem,
            base: 0,
            typmod: -1,
            category,
        };
        r.types.insert(1700, row("numeric", 'b', 0, 'N'));
        r.types.insert(1231, row("_numeric", 'b', 1700, 'A'));
        r.types.insert(5000, row("mood", 'e', 0, 'E'));
        r.enums.insert(5000, vec!["sad".into(), "happy".into()]);
        assert_eq!(
            r.resolve(1700, (10 << 16) + 2 + 4),
            Kind::Numeric {
                precision: 10,
                scale: Some(2)
            }
        );
        assert_eq!(
            r.resolve(1700, -1),
            Kind::Numeric {
                precision: 0,
                scale: None
            }
        );
        assert_eq!(
            r.resolve(1231, -1),
            Kind::Array(Box::new(Kind::Numeric {
                precision: 0,
                scale: None
            }))
        );
        assert_eq!(
            r.resolve(5000, -1),
            Kind::Enum {
                values: vec!["sad".into(), "happy".into()]
            }
        );
        assert!(matches!(r.resolve(4, -1), Kind::Unknown(_)));
    }
}
