//! `InsertHeader`: adds a header with a literal value to every record.
//!
//! `value.literal` is typed as Kafka's `Values.parseString` would type it. The converters
//! crate does not expose that yet, so [`parse_literal`] is a local subset: booleans, the
//! smallest integral type that fits (INT8..INT64), FLOAT32/FLOAT64 for non-integral numbers,
//! and STRING for everything else (Kafka would also recognise arrays, maps, dates and times).

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator};
use sluice_api::data::{schemas, SchemaAndValue, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::Result;

use crate::util::parse_config;

const HEADER: &str = "header";
const VALUE_LITERAL: &str = "value.literal";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(HEADER, ConfigType::String)
                .validator(Validator::NonNull)
                .importance(Importance::High)
                .doc("The name of the header."),
        )
        .define(
            ConfigKey::new(VALUE_LITERAL, ConfigType::String)
                .validator(Validator::NonNull)
                .importance(Importance::High)
                .doc("The literal value that is to be set as the header value on all records."),
        )
}

#[derive(Debug)]
pub struct InsertHeader {
    header: String,
    literal: SchemaAndValue,
}

pub fn new(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(InsertHeader::new(raw)?))
}

impl InsertHeader {
    pub fn new(raw: &RawConfig) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        Ok(InsertHeader {
            header: c.string(HEADER).unwrap_or_default().to_string(),
            literal: parse_literal(c.string(VALUE_LITERAL).unwrap_or_default()),
        })
    }
}

impl Transform for InsertHeader {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        record.headers.add(
            self.header.clone(),
            self.literal.schema.clone(),
            self.literal.value.clone(),
        );
        Ok(Some(record))
    }
}

/// A subset of `Values.parseString`: see the module docs.
pub(crate) fn parse_literal(s: &str) -> SchemaAndValue {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        return SchemaAndValue::new(
            Some(schemas::boolean()),
            Value::Boolean(t.eq_ignore_ascii_case("true")),
        );
    }
    if is_java_decimal(t) {
        if let Some(v) = integral_value(t) {
            return match v {
                v if i8::try_from(v).is_ok() => {
                    SchemaAndValue::new(Some(schemas::int8()), Value::Int8(v as i8))
                }
                v if i16::try_from(v).is_ok() => {
                    SchemaAndValue::new(Some(schemas::int16()), Value::Int16(v as i16))
                }
                v if i32::try_from(v).is_ok() => {
                    SchemaAndValue::new(Some(schemas::int32()), Value::Int32(v as i32))
                }
                v => SchemaAndValue::new(Some(schemas::int64()), Value::Int64(v)),
            };
        }
        if let Ok(f) = t.parse::<f32>() {
            if f.is_finite() {
                return SchemaAndValue::new(Some(schemas::float32()), Value::Float32(f));
            }
        }
        if let Ok(d) = t.parse::<f64>() {
            if d.is_finite() {
                return SchemaAndValue::new(Some(schemas::float64()), Value::Float64(d));
            }
        }
    }
    SchemaAndValue::new(Some(schemas::string()), Value::String(s.to_string()))
}

/// Whether `new BigDecimal(t)` would accept `t`.
fn is_java_decimal(t: &str) -> bool {
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = !(int.is_empty() && frac.is_empty()) && digits(int) && digits(frac);
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exp_ok
}

/// The value when the decimal is integral and fits in a long (`parseAsExactDecimal`).
fn integral_value(t: &str) -> Option<i64> {
    if let Ok(v) = t.parse::<i64>() {
        return Some(v);
    }
    let d = sluice_api::data::logical::Decimal::parse(t)?;
    let s = d.to_java_string();
    if s.contains('E') {
        let f = d.to_f64();
        return (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64);
    }
    match s.split_once('.') {
        Some((int, frac)) if frac.bytes().all(|b| b == b'0') => int.parse().ok(),
        Some(_) => None,
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use sluice_api::data::SchemaRef;

    fn check(config: &[(&str, &str)], input: ConnectRecord, expected: Expect) {
        check_with(new, config, input, expected);
    }

    #[test]
    fn inserts_typed_header() {
        let cases: Vec<(&str, SchemaRef, Value)> = vec![
            ("hello", schemas::string(), "hello".into()),
            ("true", schemas::boolean(), Value::Boolean(true)),
            ("FALSE", schemas::boolean(), Value::Boolean(false)),
            ("42", schemas::int8(), Value::Int8(42)),
            ("-300", schemas::int16(), Value::Int16(-300)),
            ("70000", schemas::int32(), Value::Int32(70_000)),
            ("5000000000", schemas::int64(), Value::Int64(5_000_000_000)),
            ("1.0", schemas::int8(), Value::Int8(1)),
            ("1.5", schemas::float32(), Value::Float32(1.5)),
            ("1e400", schemas::string(), "1e400".into()),
            ("1.2.3", schemas::string(), "1.2.3".into()),
            ("", schemas::string(), "".into()),
        ];
        for (literal, schema, value) in cases {
            let mut input = value_record(None, Value::Null);
            input.headers.add("existing", None, Value::Int32(1));
            let mut out = input.clone();
            out.headers.add("h", Some(schema), value);
            check(
                &[("header", "h"), ("value.literal", literal)],
                input,
                Expect::Record(out),
            );
        }
    }

    #[test]
    fn bad_config() {
        let r = || value_record(None, Value::Null);
        check(
            &[("value.literal", "x")],
            r(),
            Expect::ConfigErr(
                "Missing required configuration \"header\" which has no default value.",
            ),
        );
        check(
            &[("header", "h")],
            r(),
            Expect::ConfigErr(
                "Missing required configuration \"value.literal\" which has no default value.",
            ),
        );
    }
}
