//! `TimestampConverter$Key` / `TimestampConverter$Value`: converts a timestamp field (or the
//! whole key or value) between Unix epoch numbers, formatted strings and the Date, Time and
//! Timestamp logical types.
//!
//! Without a schema there is no `java.util.Date` in Sluice's data model: Date, Time and
//! Timestamp outputs are written in their physical form (days as INT32, milliseconds of the
//! day as INT32, epoch milliseconds as INT64).

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator};
use sluice_api::data::{
    logical, schemas, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, Result};

use crate::date_format::DateFormat;
use crate::util::{
    field_value, map_get, map_put, parse_config, replace_null_with_default_key, require_map,
    require_struct_or_null, schema_to_string, with_basics_of, SchemaCache, Side,
    REPLACE_NULL_WITH_DEFAULT,
};

const FIELD: &str = "field";
const TARGET_TYPE: &str = "target.type";
const FORMAT: &str = "format";
const UNIX_PRECISION: &str = "unix.precision";
const PURPOSE: &str = "converting timestamp formats";
const MILLIS_PER_DAY: i64 = logical::MILLIS_PER_DAY;

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FIELD, ConfigType::String)
                .default_value("")
                .importance(Importance::High)
                .doc("The field containing the timestamp, or empty if the entire value is a timestamp"),
        )
        .define(
            ConfigKey::new(TARGET_TYPE, ConfigType::String)
                .validator(Validator::OneOf(vec!["string", "unix", "Date", "Time", "Timestamp"]))
                .importance(Importance::High)
                .doc("The desired timestamp representation: string, unix, Date, Time, or Timestamp"),
        )
        .define(
            ConfigKey::new(FORMAT, ConfigType::String)
                .default_value("")
                .importance(Importance::Medium)
                .doc("A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string."),
        )
        .define(
            ConfigKey::new(UNIX_PRECISION, ConfigType::String)
                .default_value("milliseconds")
                .validator(Validator::OneOf(vec!["nanoseconds", "microseconds", "milliseconds", "seconds"]))
                .importance(Importance::Low)
                .doc("The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when type=unix or used to parse the input if the input is a Long.Note: This SMT will cause precision loss during conversions from, and to, values with sub-millisecond components."),
        )
        .define(replace_null_with_default_key())
}

/// The timestamp representations (`TimestampTranslator`s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            _ => return None,
        })
    }

    fn schema(self, optional: bool) -> SchemaRef {
        match (self, optional) {
            (Kind::String, false) => schemas::string(),
            (Kind::String, true) => schemas::optional_string(),
            (Kind::Unix, false) => schemas::int64(),
            (Kind::Unix, true) => schemas::optional_int64(),
            (Kind::Date, o) => opt(logical::date_builder(), o),
            (Kind::Time, o) => opt(logical::time_builder(), o),
            (Kind::Timestamp, o) => opt(logical::timestamp_builder(), o),
        }
    }

    /// `timestampTypeFromSchema`.
    fn from_schema(schema: &Schema) -> Result<Kind> {
        match schema.name.as_deref() {
            Some(logical::TIMESTAMP_NAME) => return Ok(Kind::Timestamp),
            Some(logical::DATE_NAME) => return Ok(Kind::Date),
            Some(logical::TIME_NAME) => return Ok(Kind::Time),
            _ => {}
        }
        match schema.schema_type {
            SchemaType::String => Ok(Kind::String),
            SchemaType::Int64 => Ok(Kind::Unix),
            _ => Err(ConnectError::data(format!(
                "Schema {} does not correspond to a known timestamp type format",
                schema_to_string(schema)
            ))),
        }
    }
}

fn opt(b: SchemaBuilder, optional: bool) -> SchemaRef {
    if optional {
        b.optional().build()
    } else {
        b.build()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Precision {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

#[derive(Debug)]
pub struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    format: Option<DateFormat>,
    precision: Precision,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

pub fn new_key(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(TimestampConverter::new(raw, Side::Key)?))
}

pub fn new_value(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(TimestampConverter::new(raw, Side::Value)?))
}

impl TimestampConverter {
    pub fn new(raw: &RawConfig, side: Side) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        let target = Kind::parse(c.string(TARGET_TYPE).unwrap_or_default())
            .ok_or_else(|| ConnectError::config("Unknown timestamp type in TimestampConverter"))?;
        let pattern = c.string(FORMAT).unwrap_or_default();
        if target == Kind::String && pattern.trim().is_empty() {
            return Err(ConnectError::config(
                "TimestampConverter requires format option to be specified when using string timestamps",
            ));
        }
        let format = if pattern.trim().is_empty() {
            None
        } else {
            Some(DateFormat::new(pattern).map_err(|why| {
                ConnectError::config(format!(
                    "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {pattern} ({why})"
                ))
            })?)
        };
        let precision = match c.string(UNIX_PRECISION).unwrap_or("milliseconds") {
            "seconds" => Precision::Seconds,
            "microseconds" => Precision::Microseconds,
            "nanoseconds" => Precision::Nanoseconds,
            _ => Precision::Milliseconds,
        };
        Ok(TimestampConverter {
            side,
            field: c.string(FIELD).unwrap_or_default().to_string(),
            target,
            format,
            precision,
            replace_null_with_default: c.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            cache: SchemaCache::new(),
        })
    }

    /// `TimestampTranslator.toRaw`: epoch milliseconds. `source` is `None` without a schema
    /// (the kind is then inferred from the value).
    fn to_raw(&self, value: &Value, source: Option<Kind>) -> Result<i64> {
        let source = match source {
            Some(k) => k,
            None => match value {
                Value::Int64(_) => Kind::Unix,
                Value::String(_) => Kind::String,
                other => {
                    return Err(ConnectError::data(format!(
                        "TimestampConverter does not support {} objects as timestamps",
                        other.java_class_name()
                    )))
                }
            },
        };
        match (source, value) {
            (Kind::String, Value::String(s)) => {
                let format = self.format.as_ref().ok_or_else(|| {
                    ConnectError::data(
                        "TimestampConverter requires format option to be specified when using string timestamps",
                    )
                })?;
                format.parse(s).ok_or_else(|| {
                    ConnectError::data(format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({})",
                        format.pattern()
                    ))
                })
            }
            (Kind::String, other) => Err(ConnectError::data(format!(
                "Expected string timestamp to be a String, but found {}",
                other.java_class_name()
            ))),
            (Kind::Unix, Value::Int64(v)) => Ok(match self.precision {
                Precision::Seconds => v.saturating_mul(1000),
                Precision::Milliseconds => *v,
                Precision::Microseconds => v / 1000,
                Precision::Nanoseconds => v / 1_000_000,
            }),
            (Kind::Unix, other) => Err(ConnectError::data(format!(
                "Expected Unix timestamp to be a Long, but found {}",
                other.java_class_name()
            ))),
            (Kind::Date, Value::Int32(days)) => Ok(i64::from(*days) * MILLIS_PER_DAY),
            (Kind::Time, Value::Int32(ms)) => Ok(i64::from(*ms)),
            (Kind::Timestamp, Value::Int64(ms)) => Ok(*ms),
            (kind, other) => Err(ConnectError::data(format!(
                "Expected {} to be a java.util.Date, but found {}",
                match kind {
                    Kind::Date => "Date",
                    Kind::Time => "Time",
                    _ => "Timestamp",
                },
                other.java_class_name()
            ))),
        }
    }

    /// `TimestampTranslator.toType`.
    fn to_type(&self, millis: i64) -> Result<Value> {
        Ok(match self.target {
            Kind::String => Value::String(
                self.format
                    .as_ref()
                    .map(|f| f.format(millis))
                    .unwrap_or_default(),
            ),
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => millis / 1000,
                Precision::Milliseconds => millis,
                Precision::Microseconds => millis.saturating_mul(1000),
                Precision::Nanoseconds => millis.saturating_mul(1_000_000),
            }),
            Kind::Date => {
                let days = millis.div_euclid(MILLIS_PER_DAY);
                Value::Int32(i32::try_from(days).map_err(|_| {
                    ConnectError::data(format!("Date out of range: {days} days since the epoch"))
                })?)
            }
            Kind::Time => Value::Int32(millis.rem_euclid(MILLIS_PER_DAY) as i32),
            Kind::Timestamp => Value::Int64(millis),
        })
    }

    fn convert(&self, value: &Value, source: Option<Kind>) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let raw = self.to_raw(value, source)?;
        self.to_type(raw)
    }

    fn convert_struct(&self, value: &Struct, updated: &SchemaRef) -> Result<Struct> {
        let mut out = Struct::new(updated.clone());
        for f in &value.schema().fields {
            let v = field_value(value, &f.name, self.replace_null_with_default);
            let v = if f.name == self.field {
                self.convert(&v, Some(Kind::from_schema(&f.schema)?))?
            } else {
                v
            };
            out.put(&f.name, v)?;
        }
        Ok(out)
    }

    fn updated_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        let mut b = with_basics_of(schema, SchemaBuilder::structure());
        for f in &schema.fields {
            let fs = if f.name == self.field {
                self.target.schema(f.schema.optional)
            } else {
                f.schema.clone()
            };
            b = b.field(f.name.clone(), fs)?;
        }
        if schema.optional {
            b = b.optional();
        }
        if let Some(Value::Struct(d)) = &schema.default {
            let partial = b.clone().build();
            let converted = self.convert_struct(d, &partial)?;
            b = b.default_value(Value::Struct(converted))?;
        }
        Ok(b.build())
    }
}

impl Transform for TimestampConverter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let (schema, value) = self.side.take(&mut record);
        let (schema, value) = match schema {
            None => {
                if value.is_null() || self.field.is_empty() {
                    (None, self.convert(&value, None)?)
                } else {
                    let entries = require_map(&value, PURPOSE)?;
                    let mut updated = entries.clone();
                    let v = map_get(entries, &self.field)
                        .cloned()
                        .unwrap_or(Value::Null);
                    map_put(&mut updated, &self.field, self.convert(&v, None)?);
                    (None, Value::Map(updated))
                }
            }
            Some(schema) if self.field.is_empty() => {
                let converted = self.convert(&value, Some(Kind::from_schema(&schema)?))?;
                (Some(self.target.schema(schema.optional)), converted)
            }
            Some(schema) => {
                let s = require_struct_or_null(&value, PURPOSE)?;
                let updated = self
                    .cache
                    .get_or_build(&schema, || self.updated_schema(&schema))?;
                let converted = match s {
                    None => Value::Null,
                    Some(s) => Value::Struct(self.convert_struct(s, &updated)?),
                };
                (Some(updated), converted)
            }
        };
        self.side.set(&mut record, schema, value);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    fn check(config: &[(&str, &str)], input: ConnectRecord, expected: Expect) {
        check_with(new_value, config, input, expected);
    }

    const STRING_FMT: &str = "yyyy MM dd HH mm ss SSS z";
    // 1970-01-02T01:02:03.004Z
    const TS: i64 = MILLIS_PER_DAY + 3_723_004;
    const DATE_PLUS_TIME_STRING: &str = "1970 01 02 01 02 03 004 UTC";

    fn ts_schema() -> SchemaRef {
        logical::timestamp_builder().build()
    }

    #[test]
    fn whole_value_with_schema() {
        let cases: Vec<(Cfg<'_>, SchemaRef, Value, SchemaRef, Value)> = vec![
            (
                &[("target.type", "Timestamp")],
                ts_schema(),
                Value::Int64(TS),
                ts_schema(),
                Value::Int64(TS),
            ),
            (
                &[("target.type", "Date")],
                ts_schema(),
                Value::Int64(TS),
                logical::date_builder().build(),
                Value::Int32(1),
            ),
            (
                &[("target.type", "Time")],
                ts_schema(),
                Value::Int64(TS),
                logical::time_builder().build(),
                Value::Int32(3_723_004),
            ),
            (
                &[("target.type", "unix")],
                ts_schema(),
                Value::Int64(TS),
                schemas::int64(),
                Value::Int64(TS),
            ),
            (
                &[("target.type", "unix"), ("unix.precision", "seconds")],
                ts_schema(),
                Value::Int64(TS),
                schemas::int64(),
                Value::Int64(TS / 1000),
            ),
            (
                &[("target.type", "unix"), ("unix.precision", "microseconds")],
                ts_schema(),
                Value::Int64(TS),
                schemas::int64(),
                Value::Int64(TS * 1000),
            ),
            (
                &[
                    ("target.type", "Timestamp"),
                    ("unix.precision", "nanoseconds"),
                ],
                schemas::int64(),
                Value::Int64(TS * 1_000_000 + 999),
                ts_schema(),
                Value::Int64(TS),
            ),
            (
                &[("target.type", "string"), ("format", STRING_FMT)],
                ts_schema(),
                Value::Int64(TS),
                schemas::string(),
                DATE_PLUS_TIME_STRING.into(),
            ),
            (
                &[("target.type", "Timestamp"), ("format", STRING_FMT)],
                schemas::string(),
                DATE_PLUS_TIME_STRING.into(),
                ts_schema(),
                Value::Int64(TS),
            ),
            (
                &[("target.type", "Timestamp")],
                logical::date_builder().build(),
                Value::Int32(1),
                ts_schema(),
                Value::Int64(MILLIS_PER_DAY),
            ),
            (
                &[("target.type", "unix")],
                logical::time_builder().optional().build(),
                Value::Null,
                schemas::optional_int64(),
                Value::Null,
            ),
        ];
        for (cfg, s, v, ws, w) in cases {
            check(
                cfg,
                value_record(Some(s), v),
                Expect::Record(value_record(Some(ws), w)),
            );
        }
    }

    #[test]
    fn whole_value_schemaless() {
        let cases: Vec<(Cfg<'_>, Value, Value)> = vec![
            (
                &[("target.type", "unix")],
                Value::Int64(TS),
                Value::Int64(TS),
            ),
            (
                &[("target.type", "Date")],
                Value::Int64(TS),
                Value::Int32(1),
            ),
            (
                &[("target.type", "string"), ("format", STRING_FMT)],
                Value::Int64(TS),
                DATE_PLUS_TIME_STRING.into(),
            ),
            (
                &[("target.type", "unix"), ("format", STRING_FMT)],
                DATE_PLUS_TIME_STRING.into(),
                Value::Int64(TS),
            ),
            (&[("target.type", "unix")], Value::Null, Value::Null),
        ];
        for (cfg, v, w) in cases {
            check(
                cfg,
                value_record(None, v),
                Expect::Record(value_record(None, w)),
            );
        }
    }

    #[test]
    fn field_with_schema() {
        let s = struct_schema(&[("ts", ts_schema()), ("other", schemas::string())]);
        let ws = struct_schema(&[("ts", schemas::string()), ("other", schemas::string())]);
        let cfg: &[(&str, &str)] = &[
            ("target.type", "string"),
            ("format", STRING_FMT),
            ("field", "ts"),
        ];
        check(
            cfg,
            value_record(
                Some(s.clone()),
                sv(&s, &[("ts", Value::Int64(TS)), ("other", "o".into())]),
            ),
            Expect::Record(value_record(
                Some(ws.clone()),
                sv(
                    &ws,
                    &[("ts", DATE_PLUS_TIME_STRING.into()), ("other", "o".into())],
                ),
            )),
        );
        check(
            cfg,
            value_record(Some(s), Value::Null),
            Expect::Record(value_record(Some(ws), Value::Null)),
        );
    }

    #[test]
    fn field_schemaless() {
        let cfg: &[(&str, &str)] = &[("target.type", "Timestamp"), ("field", "ts")];
        check(
            cfg,
            value_record(
                None,
                map(&[("ts", Value::Int64(TS)), ("o", Value::Int32(1))]),
            ),
            Expect::Record(value_record(
                None,
                map(&[("ts", Value::Int64(TS)), ("o", Value::Int32(1))]),
            )),
        );
        check(
            cfg,
            value_record(None, map(&[("o", Value::Int32(1))])),
            Expect::Record(value_record(
                None,
                map(&[("o", Value::Int32(1))]).clone_with(("ts", Value::Null)),
            )),
        );
    }

    #[test]
    fn replace_null_with_default() {
        let f = logical::timestamp_builder()
            .optional()
            .default_value(Value::Int64(TS))
            .unwrap()
            .build();
        let s = struct_schema(&[("ts", f)]);
        let input = value_record(Some(s.clone()), sv(&s, &[]));
        let ws = struct_schema(&[("ts", schemas::optional_int64())]);
        let cfg = |flag| {
            vec![
                ("target.type", "unix"),
                ("field", "ts"),
                ("replace.null.with.default", flag),
            ]
        };
        check(
            &cfg("true"),
            input.clone(),
            Expect::Record(value_record(
                Some(ws.clone()),
                sv(&ws, &[("ts", Value::Int64(TS))]),
            )),
        );
        check(
            &cfg("false"),
            input,
            Expect::Record(value_record(Some(ws.clone()), sv(&ws, &[]))),
        );
    }

    #[test]
    fn errors() {
        check(
            &[("target.type", "unix"), ("format", "yyyy")],
            value_record(None, "nope".into()),
            Expect::DataErr(
                "Could not parse timestamp: value (nope) does not match pattern (yyyy)",
            ),
        );
        check(
            &[("target.type", "unix")],
            value_record(None, Value::Int32(1)),
            Expect::DataErr(
                "TimestampConverter does not support class java.lang.Integer objects as timestamps",
            ),
        );
        check(
            &[("target.type", "unix")],
            value_record(Some(schemas::int32()), Value::Int32(1)),
            Expect::DataErr(
                "Schema Schema{INT32} does not correspond to a known timestamp type format",
            ),
        );
        check(
            &[("target.type", "unix"), ("field", "ts")],
            value_record(Some(schemas::string()), "x".into()),
            Expect::DataErr("Only Struct objects supported for [converting timestamp formats], found: java.lang.String"),
        );
        check(
            &[("target.type", "unix"), ("field", "ts")],
            value_record(None, "x".into()),
            Expect::DataErr("Only Map objects supported in absence of schema for [converting timestamp formats], found: java.lang.String"),
        );
    }

    #[test]
    fn bad_config() {
        let r = || value_record(None, Value::Null);
        check(
            &[],
            r(),
            Expect::ConfigErr(
                "Missing required configuration \"target.type\" which has no default value.",
            ),
        );
        check(
            &[("target.type", "invalid")],
            r(),
            Expect::ConfigErr("Invalid value invalid for configuration target.type: String must be one of: string, unix, Date, Time, Timestamp"),
        );
        check(
            &[("target.type", "string")],
            r(),
            Expect::ConfigErr("TimestampConverter requires format option to be specified when using string timestamps"),
        );
        check(
            &[("target.type", "string"), ("format", "bad-format-bb")],
            r(),
            Expect::ConfigErr("TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: bad-format-bb (Illegal pattern character 'b')"),
        );
        check(
            &[("target.type", "unix"), ("unix.precision", "minutes")],
            r(),
            Expect::ConfigErr("Invalid value minutes for configuration unix.precision: String must be one of: nanoseconds, microseconds, milliseconds, seconds"),
        );
    }

    #[test]
    fn key_side() {
        check_with(
            new_key,
            &[("target.type", "Date")],
            key_record(Some(ts_schema()), Value::Int64(TS)),
            Expect::Record(key_record(
                Some(logical::date_builder().build()),
                Value::Int32(1),
            )),
        );
    }

    trait CloneWith {
        fn clone_with(self, e: (&str, Value)) -> Value;
    }
    impl CloneWith for Value {
        fn clone_with(self, e: (&str, Value)) -> Value {
            match self {
                Value::Map(mut m) => {
                    m.push((Value::from(e.0), e.1));
                    Value::Map(m)
                }
                other => other,
            }
        }
    }
}
