//! `MaskField$Key` / `MaskField$Value`: replaces field values with the type's "empty" value
//! (0, false, "", empty list or map, epoch) or with a configured replacement.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator};
use sluice_api::data::{logical, Schema, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, Result};

use crate::util::{
    field_value, map_get, map_put, non_empty_list, parse_config, replace_null_with_default_key,
    require_map, require_struct, Side, REPLACE_NULL_WITH_DEFAULT,
};

const FIELDS: &str = "fields";
const REPLACEMENT: &str = "replacement";
const PURPOSE: &str = "mask fields";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FIELDS, ConfigType::List)
                .validator(Validator::Custom(non_empty_list, "non-empty list"))
                .importance(Importance::High)
                .doc("Names of fields to mask."),
        )
        .define(
            ConfigKey::new(REPLACEMENT, ConfigType::String)
                .default_null()
                .validator(Validator::NonEmptyString)
                .importance(Importance::Low)
                .doc("Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only)."),
        )
        .define(replace_null_with_default_key())
}

#[derive(Debug)]
pub struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

pub fn new_key(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(MaskField::new(raw, Side::Key)?))
}

pub fn new_value(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(MaskField::new(raw, Side::Value)?))
}

/// What Java type a value would have, as far as masking cares: Date/Time/Timestamp fields
/// are `java.util.Date` and Decimal fields `BigDecimal` when a schema says so.
fn logical_kind(schema: Option<&Schema>) -> Option<&str> {
    schema.and_then(|s| s.name.as_deref())
}

impl MaskField {
    pub fn new(raw: &RawConfig, side: Side) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        let mut fields: Vec<String> = Vec::new();
        for f in c.list(FIELDS) {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
        Ok(MaskField {
            side,
            fields,
            replacement: c.string(REPLACEMENT).map(str::to_string),
            replace_null_with_default: c.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
        })
    }

    fn masked(&self, value: Value, schema: Option<&Schema>) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        match &self.replacement {
            None => mask_with_null_value(value, schema),
            Some(r) => mask_with_custom_replacement(&value, schema, r),
        }
    }
}

fn mask_with_null_value(value: Value, schema: Option<&Schema>) -> Result<Value> {
    match logical_kind(schema) {
        Some(logical::DATE_NAME | logical::TIME_NAME | logical::TIMESTAMP_NAME) => {
            // new Date(0)
            return Ok(match value {
                Value::Int32(_) => Value::Int32(0),
                _ => Value::Int64(0),
            });
        }
        Some(logical::DECIMAL_NAME) if matches!(value, Value::Bytes(_)) => {
            // BigDecimal.ZERO (scale 0), written with the field's scale.
            return Ok(Value::Bytes(vec![0]));
        }
        _ => {}
    }
    Ok(match value {
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        other => {
            return Err(ConnectError::data(format!(
                "Cannot mask value of type: {}",
                other.java_class_name()
            )))
        }
    })
}

fn mask_with_custom_replacement(value: &Value, schema: Option<&Schema>, r: &str) -> Result<Value> {
    let unsupported = |class: &str| {
        ConnectError::data(format!(
            "Cannot mask value of type {class} with custom replacement."
        ))
    };
    let nfe = || {
        ConnectError::data(format!(
            "Unable to convert {r} (class java.lang.String) to number"
        ))
    };
    match logical_kind(schema) {
        Some(logical::DATE_NAME | logical::TIME_NAME | logical::TIMESTAMP_NAME) => {
            return Err(unsupported("class java.util.Date"));
        }
        Some(logical::DECIMAL_NAME) if matches!(value, Value::Bytes(_)) => {
            let d = logical::Decimal::parse(r).ok_or_else(nfe)?;
            let scale = schema.map(logical::decimal_scale).transpose()?.unwrap_or(0);
            // Java keeps the replacement's own scale in the Struct; our Decimal bytes carry
            // the schema's, so rescale when that loses nothing (123.0 at scale 0 is 123).
            return rescale(&d, scale).map(Value::Bytes).ok_or_else(|| {
                ConnectError::data(
                    "BigDecimal has mismatching scale value for given Decimal schema",
                )
            });
        }
        _ => {}
    }
    let t = r.trim();
    Ok(match value {
        Value::Int8(_) => Value::Int8(java_int(r).ok_or_else(nfe)?),
        Value::Int16(_) => Value::Int16(java_int(r).ok_or_else(nfe)?),
        Value::Int32(_) => Value::Int32(java_int(r).ok_or_else(nfe)?),
        Value::Int64(_) => Value::Int64(java_int(r).ok_or_else(nfe)?),
        Value::Float32(_) => Value::Float32(t.parse().map_err(|_| nfe())?),
        Value::Float64(_) => Value::Float64(t.parse().map_err(|_| nfe())?),
        Value::String(_) => Value::String(r.to_string()),
        other => return Err(unsupported(other.java_class_name())),
    })
}

/// The unscaled bytes of `d` at `scale`, if exact and within 128 bits.
fn rescale(d: &logical::Decimal, scale: i32) -> Option<Vec<u8>> {
    let mut unscaled: i128 = d.unscaled_string().parse().ok()?;
    let mut from = d.scale;
    while from < scale {
        unscaled = unscaled.checked_mul(10)?;
        from += 1;
    }
    while from > scale {
        if unscaled % 10 != 0 {
            return None;
        }
        unscaled /= 10;
        from -= 1;
    }
    Some(logical::Decimal::from_i128(unscaled, scale).unscaled)
}

/// `Integer.parseInt` and friends: optional sign, decimal digits, no whitespace.
fn java_int<T: std::str::FromStr>(s: &str) -> Option<T> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Transform for MaskField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let value = self.side.value(&record);
        if value.is_null() {
            return Ok(Some(record));
        }
        let updated = match self.side.schema(&record) {
            None => {
                let entries = require_map(value, PURPOSE)?;
                let mut updated = entries.clone();
                for f in &self.fields {
                    let v = map_get(entries, f).cloned().unwrap_or(Value::Null);
                    map_put(&mut updated, f, self.masked(v, None)?);
                }
                Value::Map(updated)
            }
            Some(_) => {
                let value = require_struct(value, PURPOSE)?;
                let mut updated = Struct::new(value.schema().clone());
                for f in &value.schema().fields {
                    let v = field_value(value, &f.name, self.replace_null_with_default);
                    let v = if self.fields.contains(&f.name) {
                        self.masked(v, Some(&f.schema))?
                    } else {
                        v
                    };
                    updated.put(&f.name, v)?;
                }
                Value::Struct(updated)
            }
        };
        let schema = self.side.schema(&record).cloned();
        self.side.set(&mut record, schema, updated);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use sluice_api::data::{schemas, SchemaBuilder, SchemaRef};

    fn check(config: &[(&str, &str)], input: ConnectRecord, expected: Expect) {
        check_with(new_value, config, input, expected);
    }

    const FIELDS_ALL: &str = "int8,int16,int32,int64,float32,float64,boolean,string,array,map";

    fn values() -> Vec<(&'static str, Value, Value)> {
        vec![
            ("int8", Value::Int8(-8), Value::Int8(0)),
            ("int16", Value::Int16(-16), Value::Int16(0)),
            ("int32", Value::Int32(-32), Value::Int32(0)),
            ("int64", Value::Int64(-64), Value::Int64(0)),
            ("float32", Value::Float32(-32.0), Value::Float32(0.0)),
            ("float64", Value::Float64(-64.0), Value::Float64(0.0)),
            ("boolean", Value::Boolean(true), Value::Boolean(false)),
            ("string", "secret".into(), "".into()),
            (
                "array",
                Value::Array(vec![Value::Int32(1)]),
                Value::Array(vec![]),
            ),
            ("map", map(&[("k", "v".into())]), Value::Map(vec![])),
        ]
    }

    #[test]
    fn schemaless_null_masks() {
        let fields: Vec<(&str, Value)> = values().into_iter().map(|(n, v, _)| (n, v)).collect();
        let mut fields_in = fields.clone();
        fields_in.push(("other", "keep".into()));
        let input = value_record(None, map(&fields_in));
        let mut want: Vec<(&str, Value)> = values().into_iter().map(|(n, _, m)| (n, m)).collect();
        want.push(("other", "keep".into()));
        let mut out = input.clone();
        out.value = map(&want);
        check(&[("fields", FIELDS_ALL)], input, Expect::Record(out));
    }

    fn schema() -> SchemaRef {
        struct_schema(&[
            ("int8", schemas::int8()),
            ("int16", schemas::int16()),
            ("int32", schemas::int32()),
            ("int64", schemas::int64()),
            ("float32", schemas::float32()),
            ("float64", schemas::float64()),
            ("boolean", schemas::boolean()),
            ("string", schemas::string()),
            ("array", SchemaBuilder::array(schemas::int32()).build()),
            (
                "map",
                SchemaBuilder::map(schemas::string(), schemas::string()).build(),
            ),
            ("date", logical::date_builder().build()),
            ("decimal", logical::decimal(0)),
            ("other", schemas::string()),
        ])
    }

    #[test]
    fn with_schema_null_masks() {
        let s = schema();
        let mut fields: Vec<(&str, Value)> = values().into_iter().map(|(n, v, _)| (n, v)).collect();
        fields.push(("date", Value::Int32(17000)));
        fields.push(("decimal", Value::Bytes(vec![0x04, 0xD2])));
        fields.push(("other", "keep".into()));
        let mut want: Vec<(&str, Value)> = values().into_iter().map(|(n, _, m)| (n, m)).collect();
        want.push(("date", Value::Int32(0)));
        want.push(("decimal", Value::Bytes(vec![0])));
        want.push(("other", "keep".into()));
        let input = value_record(Some(s.clone()), sv(&s, &fields));
        let mut out = input.clone();
        out.value = sv(&s, &want);
        check(
            &[("fields", &format!("{FIELDS_ALL},date,decimal"))],
            input,
            Expect::Record(out),
        );
    }

    #[test]
    fn custom_replacements() {
        let cases: Vec<(Value, &str, Expect)> = vec![
            (
                Value::Int32(5),
                "123",
                Expect::Record(value_record(None, map(&[("f", Value::Int32(123))]))),
            ),
            (
                Value::Int8(5),
                "-12",
                Expect::Record(value_record(None, map(&[("f", Value::Int8(-12))]))),
            ),
            (
                Value::Int64(5),
                "99",
                Expect::Record(value_record(None, map(&[("f", Value::Int64(99))]))),
            ),
            (
                Value::Float64(5.0),
                "1.5",
                Expect::Record(value_record(None, map(&[("f", Value::Float64(1.5))]))),
            ),
            (
                "s".into(),
                "******",
                Expect::Record(value_record(None, map(&[("f", "******".into())]))),
            ),
            (
                Value::Int32(5),
                "abc",
                Expect::DataErr("Unable to convert abc (class java.lang.String) to number"),
            ),
            (
                Value::Int8(5),
                "300",
                Expect::DataErr("Unable to convert 300 (class java.lang.String) to number"),
            ),
            (
                Value::Boolean(true),
                "x",
                Expect::DataErr(
                    "Cannot mask value of type class java.lang.Boolean with custom replacement.",
                ),
            ),
            (
                Value::Array(vec![]),
                "x",
                Expect::DataErr(
                    "Cannot mask value of type class java.util.ArrayList with custom replacement.",
                ),
            ),
        ];
        for (v, r, want) in cases {
            check(
                &[("fields", "f"), ("replacement", r)],
                value_record(None, map(&[("f", v)])),
                want,
            );
        }
    }

    #[test]
    fn custom_replacement_on_logical_types() {
        let s = struct_schema(&[
            ("d", logical::decimal(2)),
            ("t", logical::timestamp_builder().build()),
        ]);
        let input = value_record(
            Some(s.clone()),
            sv(&s, &[("d", Value::Bytes(vec![1])), ("t", Value::Int64(5))]),
        );
        let mut out = input.clone();
        out.value = sv(
            &s,
            &[
                ("d", Value::Bytes(vec![0x30, 0x39])),
                ("t", Value::Int64(5)),
            ],
        );
        check(
            &[("fields", "d"), ("replacement", "123.45")],
            input.clone(),
            Expect::Record(out),
        );
        check(
            &[("fields", "t"), ("replacement", "1")],
            input,
            Expect::DataErr(
                "Cannot mask value of type class java.util.Date with custom replacement.",
            ),
        );
    }

    #[test]
    fn absent_schemaless_field_becomes_null() {
        let input = value_record(None, map(&[("a", Value::Int32(1))]));
        let mut out = input.clone();
        out.value = map(&[("a", Value::Int32(0)), ("b", Value::Null)]);
        check(&[("fields", "a,b")], input, Expect::Record(out));
    }

    #[test]
    fn errors() {
        check(
            &[("fields", "a")],
            value_record(None, map(&[("a", Value::Bytes(vec![1]))])),
            Expect::DataErr("Cannot mask value of type: class [B"),
        );
        let s = struct_schema(&[("a", struct_schema(&[("x", schemas::int32())]))]);
        let inner = sv(
            &struct_schema(&[("x", schemas::int32())]),
            &[("x", Value::Int32(1))],
        );
        check(
            &[("fields", "a")],
            value_record(Some(s.clone()), sv(&s, &[("a", inner)])),
            Expect::DataErr(
                "Cannot mask value of type: class org.apache.kafka.connect.data.Struct",
            ),
        );
        check(
            &[("fields", "a")],
            value_record(None, "x".into()),
            Expect::DataErr("Only Map objects supported in absence of schema for [mask fields], found: java.lang.String"),
        );
        check(
            &[],
            value_record(None, map(&[])),
            Expect::ConfigErr(
                "Missing required configuration \"fields\" which has no default value.",
            ),
        );
        check(
            &[("fields", "")],
            value_record(None, map(&[])),
            Expect::ConfigErr("Invalid value  for configuration fields: Empty list"),
        );
        check(
            &[("fields", "a"), ("replacement", "")],
            value_record(None, map(&[])),
            Expect::ConfigErr(
                "Invalid value  for configuration replacement: String must be non-empty",
            ),
        );
    }

    #[test]
    fn tombstone_and_key() {
        let tomb = value_record(None, Value::Null);
        check(&[("fields", "a")], tomb.clone(), Expect::Record(tomb));
        let input = key_record(None, map(&[("a", "x".into())]));
        let mut out = input.clone();
        out.key = map(&[("a", "".into())]);
        check_with(new_key, &[("fields", "a")], input, Expect::Record(out));
    }

    #[test]
    fn replace_null_with_default() {
        let f = SchemaBuilder::int32()
            .optional()
            .default_value(Value::Int32(3))
            .unwrap()
            .build();
        let s = struct_schema(&[("a", f)]);
        let input = value_record(Some(s.clone()), sv(&s, &[]));
        let t = MaskField::new(&raw(&[("fields", "a")]), Side::Value).unwrap();
        let Value::Struct(out) = t.apply(input.clone()).unwrap().unwrap().value else {
            panic!()
        };
        assert_eq!(out.get_without_default("a"), Some(&Value::Int32(0)));
        let t = MaskField::new(
            &raw(&[("fields", "a"), ("replace.null.with.default", "false")]),
            Side::Value,
        )
        .unwrap();
        let Value::Struct(out) = t.apply(input).unwrap().unwrap().value else {
            panic!()
        };
        assert_eq!(out.get_without_default("a"), Some(&Value::Null));
    }
}
