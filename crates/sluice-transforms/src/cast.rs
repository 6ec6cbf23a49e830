//! `Cast$Key` / `Cast$Value`: casts fields, or the whole key or value, to another primitive
//! type (`spec=f1:int32,f2:string` or `spec=int64`).

use base64::Engine as _;
use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigType, Importance, Parsed, RawConfig, Validator,
};
use sluice_api::data::{
    java_float_to_string, logical, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, Result};

use crate::date_format::DateFormat;
use crate::util::{
    field_value, java_split, map_get, map_put, parse_config, replace_null_with_default_key,
    require_map, require_struct, with_basics_of, SchemaCache, Side, REPLACE_NULL_WITH_DEFAULT,
};

const SPEC: &str = "spec";
const PURPOSE: &str = "cast types";

const INPUT_TYPES: [SchemaType; 9] = [
    SchemaType::Int8,
    SchemaType::Int16,
    SchemaType::Int32,
    SchemaType::Int64,
    SchemaType::Float32,
    SchemaType::Float64,
    SchemaType::Boolean,
    SchemaType::String,
    SchemaType::Bytes,
];
const OUTPUT_TYPES: [SchemaType; 8] = [
    SchemaType::Int8,
    SchemaType::Int16,
    SchemaType::Int32,
    SchemaType::Int64,
    SchemaType::Float32,
    SchemaType::Float64,
    SchemaType::Boolean,
    SchemaType::String,
];

fn type_list(types: &[SchemaType]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
    format!("[{}]", names.join(", "))
}

fn schema_type_named(name: &str) -> Option<SchemaType> {
    let all = [
        SchemaType::Int8,
        SchemaType::Int16,
        SchemaType::Int32,
        SchemaType::Int64,
        SchemaType::Float32,
        SchemaType::Float64,
        SchemaType::Boolean,
        SchemaType::String,
        SchemaType::Bytes,
        SchemaType::Array,
        SchemaType::Map,
        SchemaType::Struct,
    ];
    let upper = name.trim().to_ascii_uppercase();
    all.into_iter().find(|t| t.name() == upper)
}

fn valid_output(t: SchemaType) -> std::result::Result<SchemaType, String> {
    if OUTPUT_TYPES.contains(&t) {
        Ok(t)
    } else {
        Err(format!(
            "Cast transformation does not support casting to {t}; supported types are {}",
            type_list(&OUTPUT_TYPES)
        ))
    }
}

/// The parsed spec: one whole-value type, or per-field types.
#[derive(Clone, Debug, PartialEq)]
enum Casts {
    Whole(SchemaType),
    Fields(Vec<(String, SchemaType)>),
}

fn parse_spec(mappings: &[String]) -> std::result::Result<Casts, String> {
    if mappings.is_empty() {
        return Err("Must specify at least one field to cast.".into());
    }
    let mut fields: Vec<(String, SchemaType)> = Vec::new();
    let mut whole = None;
    for m in mappings {
        let parts = java_split(m, ':');
        match parts.as_slice() {
            [t] => {
                let ty = schema_type_named(t)
                    .ok_or_else(|| format!("Invalid type found in casting spec: {}", t.trim()))?;
                whole = Some(valid_output(ty)?);
            }
            [f, t] => {
                let ty = schema_type_named(t)
                    .ok_or_else(|| format!("Invalid type found in casting spec: {}", t.trim()))?;
                let ty = valid_output(ty)?;
                let f = f.trim().to_string();
                if let Some(slot) = fields.iter_mut().find(|(n, _)| *n == f) {
                    slot.1 = ty;
                } else {
                    fields.push((f, ty));
                }
            }
            _ => return Err(format!("Invalid rename mapping: {m}")),
        }
    }
    match whole {
        Some(_) if mappings.len() > 1 => Err("Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec".into()),
        Some(t) => Ok(Casts::Whole(t)),
        None => Ok(Casts::Fields(fields)),
    }
}

fn valid_spec(_name: &str, value: &Parsed) -> std::result::Result<(), String> {
    match value {
        Parsed::List(l) => parse_spec(l).map(|_| ()),
        _ => Err("Must specify at least one field to cast.".into()),
    }
}

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(SPEC, ConfigType::List)
                .validator(Validator::Custom(
                    valid_spec,
                    "list of colon-delimited pairs, e.g. <code>foo:bar,abc:xyz</code>",
                ))
                .importance(Importance::High)
                .doc("List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string."),
        )
        .define(replace_null_with_default_key())
}

#[derive(Debug)]
pub struct Cast {
    side: Side,
    casts: Casts,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

pub fn new_key(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(Cast::new(raw, Side::Key)?))
}

pub fn new_value(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(Cast::new(raw, Side::Value)?))
}

impl Cast {
    pub fn new(raw: &RawConfig, side: Side) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        let casts = parse_spec(&c.list(SPEC)).map_err(ConnectError::config)?;
        Ok(Cast {
            side,
            casts,
            replace_null_with_default: c.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            cache: SchemaCache::new(),
        })
    }

    fn cast_for(&self, field: &str) -> Option<SchemaType> {
        match &self.casts {
            Casts::Whole(_) => None,
            Casts::Fields(f) => f.iter().find(|(n, _)| n == field).map(|(_, t)| *t),
        }
    }

    fn updated_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        let mut builder = match &self.casts {
            Casts::Whole(t) => with_basics_of(schema, SchemaBuilder::new(*t)),
            Casts::Fields(_) => {
                let mut b = with_basics_of(schema, SchemaBuilder::structure());
                for f in &schema.fields {
                    let field_schema = match self.cast_for(&f.name) {
                        Some(t) => {
                            let mut fb = SchemaBuilder::new(t);
                            if f.schema.optional {
                                fb = fb.optional();
                            }
                            if let Some(d) = &f.schema.default {
                                fb =
                                    fb.default_value(cast_value(Some(&f.schema), d.clone(), t)?)?;
                            }
                            fb.build()
                        }
                        None => f.schema.clone(),
                    };
                    b = b.field(f.name.clone(), field_schema)?;
                }
                b
            }
        };
        if schema.optional {
            builder = builder.optional();
        }
        if let Some(d) = &schema.default {
            let target = match &self.casts {
                Casts::Whole(t) => cast_value(Some(schema), d.clone(), *t)?,
                Casts::Fields(_) => match d {
                    Value::Struct(s) => {
                        Value::Struct(self.cast_struct(s, &builder.clone().build())?)
                    }
                    other => other.clone(),
                },
            };
            builder = builder.default_value(target)?;
        }
        Ok(builder.build())
    }

    fn cast_struct(&self, value: &Struct, updated: &SchemaRef) -> Result<Struct> {
        let mut out = Struct::new(updated.clone());
        for f in &value.schema().fields {
            let v = field_value(value, &f.name, self.replace_null_with_default);
            let v = match self.cast_for(&f.name) {
                Some(t) => cast_value(Some(&f.schema), v, t)?,
                None => v,
            };
            out.put(&f.name, v)?;
        }
        Ok(out)
    }
}

impl Transform for Cast {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if self.side.value(&record).is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = self.side.take(&mut record);
        let (schema, value) = match (schema, &self.casts) {
            (None, Casts::Whole(t)) => (None, cast_value(None, value, *t)?),
            (None, Casts::Fields(fields)) => {
                let entries = require_map(&value, PURPOSE)?;
                let mut updated = entries.clone();
                for (f, t) in fields {
                    let v = map_get(entries, f).cloned().unwrap_or(Value::Null);
                    map_put(&mut updated, f, cast_value(None, v, *t)?);
                }
                (None, Value::Map(updated))
            }
            (Some(schema), casts) => {
                let updated = self
                    .cache
                    .get_or_build(&schema, || self.updated_schema(&schema))?;
                let value = match casts {
                    Casts::Whole(t) => cast_value(Some(&schema), value, *t)?,
                    Casts::Fields(_) => {
                        Value::Struct(self.cast_struct(require_struct(&value, PURPOSE)?, &updated)?)
                    }
                };
                (Some(updated), value)
            }
        };
        self.side.set(&mut record, schema, value);
        Ok(Some(record))
    }
}

/// A value in the shape Java's casts see it: a number, a boolean, a string, bytes, or a
/// date (Date/Time/Timestamp logical values are `java.util.Date` in Java).
enum Input {
    Int(i64),
    Float(f64, bool),
    Decimal(logical::Decimal),
    Bool(bool),
    Str(String),
    Bytes(Vec<u8>),
    DateMillis(i64),
}

fn out_of_range(shown: &str) -> ConnectError {
    ConnectError::data(format!(
        "Value ({shown}) was out of range for requested data type"
    ))
}

/// `Cast.castValueToType`.
fn cast_value(schema: Option<&Schema>, value: Value, target: SchemaType) -> Result<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let inferred = match schema {
        Some(s) => s.schema_type,
        None => value.inferred_type().unwrap_or(SchemaType::Struct),
    };
    if !INPUT_TYPES.contains(&inferred) {
        return Err(ConnectError::data(format!(
            "Cast transformation does not support casting from {inferred}; supported types are {}",
            type_list(&INPUT_TYPES)
        )));
    }
    let logical_name = schema.and_then(|s| s.name.as_deref());
    let input = match (logical_name, value) {
        (Some(logical::DATE_NAME), Value::Int32(days)) if target == SchemaType::String => {
            Input::DateMillis(i64::from(days) * logical::MILLIS_PER_DAY)
        }
        (Some(logical::TIME_NAME), Value::Int32(ms)) if target == SchemaType::String => {
            Input::DateMillis(i64::from(ms))
        }
        (Some(logical::TIMESTAMP_NAME), Value::Int64(ms)) if target == SchemaType::String => {
            Input::DateMillis(ms)
        }
        (Some(logical::DECIMAL_NAME), Value::Bytes(b)) => {
            let scale = schema.map(logical::decimal_scale).transpose()?.unwrap_or(0);
            Input::Decimal(logical::Decimal::from_bytes(&b, scale))
        }
        (_, Value::Int8(v)) => Input::Int(v.into()),
        (_, Value::Int16(v)) => Input::Int(v.into()),
        (_, Value::Int32(v)) => Input::Int(v.into()),
        (_, Value::Int64(v)) => Input::Int(v),
        (_, Value::Float32(v)) => Input::Float(f64::from(v), true),
        (_, Value::Float64(v)) => Input::Float(v, false),
        (_, Value::Boolean(v)) => Input::Bool(v),
        (_, Value::String(v)) => Input::Str(v),
        (_, Value::Bytes(v)) => Input::Bytes(v),
        (_, other) => {
            return Err(ConnectError::data(format!(
                "Unexpected type in Cast transformation: {}",
                other.java_class_name()
            )))
        }
    };
    match target {
        SchemaType::Int8 => integral(input, |i| i as i8 as i64).map(|v| Value::Int8(v as i8)),
        SchemaType::Int16 => integral(input, |i| i as i16 as i64).map(|v| Value::Int16(v as i16)),
        SchemaType::Int32 => integral(input, |i| i as i32 as i64).map(|v| Value::Int32(v as i32)),
        SchemaType::Int64 => integral(input, |i| i).map(Value::Int64),
        SchemaType::Float32 => floating(input, true).map(|v| Value::Float32(v as f32)),
        SchemaType::Float64 => floating(input, false).map(Value::Float64),
        SchemaType::Boolean => Ok(Value::Boolean(match input {
            Input::Int(i) => i != 0,
            Input::Float(f, _) => f as i64 != 0,
            Input::Decimal(d) => decimal_integral(&d) != 0,
            Input::Bool(b) => b,
            Input::Str(s) => s.eq_ignore_ascii_case("true"),
            Input::Bytes(_) | Input::DateMillis(_) => return Err(unexpected_bytes()),
        })),
        SchemaType::String => Ok(Value::String(match input {
            Input::Int(i) => i.to_string(),
            Input::Float(f, single) => java_float_to_string(f, single),
            Input::Decimal(d) => d.to_java_string(),
            Input::Bool(b) => b.to_string(),
            Input::Str(s) => s,
            Input::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
            Input::DateMillis(ms) => date_string(ms),
        })),
        other => Err(ConnectError::data(format!(
            "{other} is not supported in the Cast transformation."
        ))),
    }
}

fn unexpected_bytes() -> ConnectError {
    ConnectError::data("Unexpected type in Cast transformation: class [B")
}

/// `Values.dateFormatFor(date).format(date)`.
fn date_string(ms: i64) -> String {
    let pattern = if (0..logical::MILLIS_PER_DAY).contains(&ms) {
        "HH:mm:ss.SSS'Z'"
    } else if ms % logical::MILLIS_PER_DAY == 0 {
        "yyyy-MM-dd"
    } else {
        "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    };
    DateFormat::new(pattern)
        .map(|f| f.format(ms))
        .unwrap_or_default()
}

/// `BigDecimal.longValue()`: the integer part, low 64 bits.
fn decimal_integral(d: &logical::Decimal) -> i64 {
    let s = d.to_java_string();
    let plain = if s.contains('E') {
        format!("{:.0}", d.to_f64().trunc())
    } else {
        s.split('.').next().unwrap_or("0").to_string()
    };
    plain
        .parse::<i128>()
        .map_or(d.to_f64() as i64, |v| v as i64)
}

/// Number.xxxValue() for the integral targets, and `Xxx.parseXxx` for strings.
fn integral(input: Input, narrow: fn(i64) -> i64) -> Result<i64> {
    Ok(match input {
        Input::Int(i) => narrow(i),
        // Java narrows doubles through int (byte/short/int) or long, saturating first.
        Input::Float(f, _) => {
            let via_int = narrow(f as i32 as i64);
            if narrow(i64::MAX) == i64::MAX {
                f as i64
            } else {
                via_int
            }
        }
        Input::Decimal(d) => narrow(decimal_integral(&d)),
        Input::Bool(b) => i64::from(b),
        Input::Str(s) => {
            let digits = s.strip_prefix(['+', '-']).unwrap_or(&s);
            let parsed = if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                s.parse::<i64>().ok()
            };
            match parsed {
                Some(v) if narrow(v) == v => v,
                _ => return Err(out_of_range(&s)),
            }
        }
        Input::Bytes(_) | Input::DateMillis(_) => return Err(unexpected_bytes()),
    })
}

fn floating(input: Input, single: bool) -> Result<f64> {
    Ok(match input {
        Input::Int(i) => {
            if single {
                f64::from(i as f32)
            } else {
                i as f64
            }
        }
        Input::Float(f, _) => f,
        Input::Decimal(d) => d.to_f64(),
        Input::Bool(b) => {
            if b {
                1.0
            } else {
                0.0
            }
        }
        Input::Str(s) => {
            let t = s.trim();
            let t = t.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(t);
            let ok = !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
                || matches!(t, "NaN" | "Infinity" | "-Infinity" | "+Infinity");
            let parsed = if ok { t.parse::<f64>().ok() } else { None };
            parsed.ok_or_else(|| out_of_range(&s))?
        }
        Input::Bytes(_) | Input::DateMillis(_) => return Err(unexpected_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use sluice_api::data::schemas;

    fn check(config: &[(&str, &str)], input: ConnectRecord, expected: Expect) {
        check_with(new_value, config, input, expected);
    }

    fn whole(
        spec: &str,
        schema: Option<SchemaRef>,
        v: Value,
        want_schema: Option<SchemaRef>,
        want: Value,
    ) {
        let out = value_record(want_schema, want);
        check(
            &[("spec", spec)],
            value_record(schema, v),
            Expect::Record(out),
        );
    }

    #[test]
    fn whole_value_with_schema() {
        let cases: Vec<(&str, SchemaRef, Value, SchemaRef, Value)> = vec![
            (
                "int8",
                schemas::int32(),
                Value::Int32(42),
                schemas::int8(),
                Value::Int8(42),
            ),
            (
                "int16",
                schemas::int32(),
                Value::Int32(42),
                schemas::int16(),
                Value::Int16(42),
            ),
            (
                "int32",
                schemas::int32(),
                Value::Int32(42),
                schemas::int32(),
                Value::Int32(42),
            ),
            (
                "int64",
                schemas::int32(),
                Value::Int32(42),
                schemas::int64(),
                Value::Int64(42),
            ),
            (
                "float32",
                schemas::int32(),
                Value::Int32(42),
                schemas::float32(),
                Value::Float32(42.0),
            ),
            (
                "float64",
                schemas::int32(),
                Value::Int32(42),
                schemas::float64(),
                Value::Float64(42.0),
            ),
            (
                "boolean",
                schemas::int32(),
                Value::Int32(42),
                schemas::boolean(),
                Value::Boolean(true),
            ),
            (
                "boolean",
                schemas::int32(),
                Value::Int32(0),
                schemas::boolean(),
                Value::Boolean(false),
            ),
            (
                "string",
                schemas::int32(),
                Value::Int32(42),
                schemas::string(),
                "42".into(),
            ),
            (
                "int32",
                schemas::string(),
                "42".into(),
                schemas::int32(),
                Value::Int32(42),
            ),
            (
                "boolean",
                schemas::string(),
                "TRUE".into(),
                schemas::boolean(),
                Value::Boolean(true),
            ),
            (
                "float64",
                schemas::string(),
                "1.5".into(),
                schemas::float64(),
                Value::Float64(1.5),
            ),
            (
                "string",
                schemas::float64(),
                Value::Float64(1e10),
                schemas::string(),
                "1.0E10".into(),
            ),
            (
                "string",
                schemas::bytes(),
                Value::Bytes(b"hi".to_vec()),
                schemas::string(),
                "aGk=".into(),
            ),
            (
                "int8",
                schemas::int32(),
                Value::Int32(300),
                schemas::int8(),
                Value::Int8(44),
            ),
            (
                "int32",
                schemas::float64(),
                Value::Float64(1e20),
                schemas::int32(),
                Value::Int32(i32::MAX),
            ),
            (
                "int32",
                schemas::boolean(),
                Value::Boolean(true),
                schemas::int32(),
                Value::Int32(1),
            ),
            (
                "string",
                logical::timestamp_builder().build(),
                Value::Int64(1_483_425_001_864),
                schemas::string(),
                "2017-01-03T06:30:01.864Z".into(),
            ),
            (
                "int64",
                logical::timestamp_builder().build(),
                Value::Int64(1_483_425_001_864),
                schemas::int64(),
                Value::Int64(1_483_425_001_864),
            ),
            (
                "string",
                logical::date_builder().build(),
                Value::Int32(17_169),
                schemas::string(),
                "2017-01-03".into(),
            ),
            (
                "string",
                logical::time_builder().build(),
                Value::Int32(23_401_864),
                schemas::string(),
                "06:30:01.864Z".into(),
            ),
            (
                "float64",
                logical::decimal(2),
                Value::Bytes(vec![0x04, 0xD2]),
                schemas::float64(),
                Value::Float64(12.34),
            ),
            (
                "int32",
                logical::decimal(2),
                Value::Bytes(vec![0x04, 0xD2]),
                schemas::int32(),
                Value::Int32(12),
            ),
            (
                "string",
                logical::decimal(2),
                Value::Bytes(vec![0x04, 0xD2]),
                schemas::string(),
                "12.34".into(),
            ),
        ];
        for (spec, s, v, ws, w) in cases {
            // Logical types keep their name: Kafka copies the schema basics onto the result.
            let ws = if s.name.is_some() {
                with_basics_of(&s, SchemaBuilder::new(ws.schema_type)).build()
            } else {
                ws
            };
            whole(spec, Some(s), v, Some(ws), w);
        }
    }

    #[test]
    fn whole_value_schemaless() {
        whole("int32", None, "42".into(), None, Value::Int32(42));
        whole("string", None, Value::Int64(42), None, "42".into());
        whole(
            "float32",
            None,
            Value::Boolean(true),
            None,
            Value::Float32(1.0),
        );
        check(
            &[("spec", "int8")],
            value_record(None, "300".into()),
            Expect::DataErr("Value (300) was out of range for requested data type"),
        );
        check(
            &[("spec", "int32")],
            value_record(None, "foo".into()),
            Expect::DataErr("Value (foo) was out of range for requested data type"),
        );
        check(
            &[("spec", "int32")],
            value_record(None, map(&[])),
            Expect::DataErr("Cast transformation does not support casting from MAP; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"),
        );
        check(
            &[("spec", "int32")],
            value_record(None, Value::Bytes(vec![1])),
            Expect::DataErr("Unexpected type in Cast transformation: class [B"),
        );
        let tomb = value_record(None, Value::Null);
        check(&[("spec", "int32")], tomb.clone(), Expect::Record(tomb));
    }

    #[test]
    fn fields_with_schema() {
        let dflt = SchemaBuilder::int32()
            .optional()
            .default_value(Value::Int32(7))
            .unwrap()
            .build();
        let s = SchemaBuilder::structure()
            .name("n")
            .field("int8", schemas::int8())
            .unwrap()
            .field("opt", schemas::optional_int32())
            .unwrap()
            .field("dflt", dflt)
            .unwrap()
            .field("keep", schemas::string())
            .unwrap()
            .build();
        let input = value_record(
            Some(s.clone()),
            sv(&s, &[("int8", Value::Int8(8)), ("keep", "k".into())]),
        );
        let ws = SchemaBuilder::structure()
            .name("n")
            .field("int8", schemas::string())
            .unwrap()
            .field("opt", schemas::optional_int64())
            .unwrap()
            .field(
                "dflt",
                SchemaBuilder::string()
                    .optional()
                    .default_value("7".into())
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .field("keep", schemas::string())
            .unwrap()
            .build();
        let mut out = input.clone();
        out.value_schema = Some(ws.clone());
        out.value = sv(
            &ws,
            &[
                ("int8", "8".into()),
                ("dflt", "7".into()),
                ("keep", "k".into()),
            ],
        );
        check(
            &[("spec", "int8:string, opt:int64, dflt:string")],
            input,
            Expect::Record(out),
        );
    }

    #[test]
    fn fields_schemaless() {
        let input = value_record(
            None,
            map(&[
                ("a", Value::Int32(1)),
                ("b", "2.5".into()),
                ("c", "x".into()),
            ]),
        );
        let mut out = input.clone();
        out.value = map(&[
            ("a", Value::Boolean(true)),
            ("b", Value::Float64(2.5)),
            ("c", "x".into()),
            ("d", Value::Null),
        ]);
        check(
            &[("spec", "a:boolean,b:float64,d:int8")],
            input,
            Expect::Record(out),
        );
        check(
            &[("spec", "a:int8")],
            value_record(None, map(&[("a", Value::Array(vec![]))])),
            Expect::DataErr("Cast transformation does not support casting from ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"),
        );
        check(
            &[("spec", "a:int8")],
            value_record(None, "x".into()),
            Expect::DataErr("Only Map objects supported in absence of schema for [cast types], found: java.lang.String"),
        );
    }

    #[test]
    fn bad_config() {
        let r = || value_record(None, Value::Null);
        check(
            &[],
            r(),
            Expect::ConfigErr(
                "Missing required configuration \"spec\" which has no default value.",
            ),
        );
        check(
            &[("spec", "")],
            r(),
            Expect::ConfigErr(
                "Invalid value  for configuration spec: Must specify at least one field to cast.",
            ),
        );
        check(&[("spec", "a:foo")], r(), Expect::ConfigErr("Invalid value a:foo for configuration spec: Invalid type found in casting spec: foo"));
        check(
            &[("spec", "a:array")],
            r(),
            Expect::ConfigErr("Invalid value a:array for configuration spec: Cast transformation does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"),
        );
        check(
            &[("spec", "bytes")],
            r(),
            Expect::ConfigErr("Invalid value bytes for configuration spec: Cast transformation does not support casting to BYTES; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"),
        );
        check(
            &[("spec", "int8,a:int32")],
            r(),
            Expect::ConfigErr("Invalid value int8,a:int32 for configuration spec: Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec"),
        );
        check(
            &[("spec", "a:b:c")],
            r(),
            Expect::ConfigErr(
                "Invalid value a:b:c for configuration spec: Invalid rename mapping: a:b:c",
            ),
        );
    }

    #[test]
    fn key_side() {
        let input = key_record(Some(schemas::string()), "5".into());
        check_with(
            new_key,
            &[("spec", "int64")],
            input,
            Expect::Record(key_record(Some(schemas::int64()), Value::Int64(5))),
        );
    }
}
