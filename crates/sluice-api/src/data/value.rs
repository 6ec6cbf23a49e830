//! Connect values: the Rust form of the Java objects a Connect schema describes.

use std::fmt;

use super::schema::{validate_value, SchemaRef, SchemaType};
use crate::error::{ConnectError, Result};

/// A Connect value. Logical types keep their physical form: Decimal is `Bytes` (two's-complement
/// big-endian unscaled value, scale in the schema), Date and Time are `Int32`, Timestamp is
/// `Int64`; see [`crate::data::logical`].
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Boolean(bool),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    /// Entries in insertion order (Java maps used by connectors keep an order too).
    Map(Vec<(Value, Value)>),
    Struct(Struct),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The schema type this value would have without a schema (`ConnectSchema.schemaType`).
    pub fn inferred_type(&self) -> Option<SchemaType> {
        Some(match self {
            Value::Null => return None,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) => SchemaType::Int32,
            Value::Int64(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::Boolean(_) => SchemaType::Boolean,
            Value::String(_) => SchemaType::String,
            Value::Bytes(_) => SchemaType::Bytes,
            Value::Array(_) => SchemaType::Array,
            Value::Map(_) => SchemaType::Map,
            Value::Struct(_) => SchemaType::Struct,
        })
    }

    /// The Java class Kafka would name in an error for this value.
    pub fn java_class_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int8(_) => "class java.lang.Byte",
            Value::Int16(_) => "class java.lang.Short",
            Value::Int32(_) => "class java.lang.Integer",
            Value::Int64(_) => "class java.lang.Long",
            Value::Float32(_) => "class java.lang.Float",
            Value::Float64(_) => "class java.lang.Double",
            Value::Boolean(_) => "class java.lang.Boolean",
            Value::String(_) => "class java.lang.String",
            Value::Bytes(_) => "class [B",
            Value::Array(_) => "class java.util.ArrayList",
            Value::Map(_) => "class java.util.HashMap",
            Value::Struct(_) => "class org.apache.kafka.connect.data.Struct",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Integral values widened to i64.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int8(v) => Some(v.into()),
            Value::Int16(v) => Some(v.into()),
            Value::Int32(v) => Some(v.into()),
            Value::Int64(v) => Some(v),
            _ => None,
        }
    }

    /// Looks a key up in a map value with string keys.
    pub fn map_get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int32(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int64(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}

/// Java's `toString()` of the value, which is what `StringConverter` writes.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Int8(v) => write!(f, "{v}"),
            Value::Int16(v) => write!(f, "{v}"),
            Value::Int32(v) => write!(f, "{v}"),
            Value::Int64(v) => write!(f, "{v}"),
            Value::Float32(v) => f.write_str(&java_float_to_string(f64::from(*v), true)),
            Value::Float64(v) => f.write_str(&java_float_to_string(*v, false)),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::String(s) => f.write_str(s),
            Value::Bytes(b) => write!(f, "[B@{:x}", b.len()),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
            Value::Struct(s) => write!(f, "{s}"),
        }
    }
}

/// Formats a float as Java's `Double.toString` / `Float.toString` do: `1.0`, `1.5E10`, `1.0E-5`,
/// `NaN`, `Infinity`.
pub fn java_float_to_string(v: f64, single: bool) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Shortest round-trip digits, as Java does (since JDK 19; older JDKs differ in rare cases).
    let repr = if single {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let (mantissa, exp) = match repr.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (repr.clone(), 0),
    };
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let abs = v.abs();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if (1e-3..1e7).contains(&abs) {
        // Plain notation with at least one digit after the point.
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            for _ in 0..(-point) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if digits.len() <= point {
                out.push_str(&digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        if digits.len() > 1 {
            out.push_str(&digits[1..]);
        } else {
            out.push('0');
        }
        out.push('E');
        out.push_str(&exp.to_string());
    }
    out
}

/// A struct value: a schema and one value per field (`org.apache.kafka.connect.data.Struct`).
#[derive(Clone, Debug, PartialEq)]
pub struct Struct {
    schema: SchemaRef,
    values: Vec<Value>,
}

impl Struct {
    /// An empty struct of `schema` (every field null until put).
    pub fn new(schema: SchemaRef) -> Self {
        let values = vec![Value::Null; schema.fields.len()];
        Struct { schema, values }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Sets a field, checking the value against the field's schema.
    pub fn put(&mut self, field: &str, value: Value) -> Result<&mut Self> {
        let f = self
            .schema
            .field(field)
            .ok_or_else(|| ConnectError::data(format!("{field} is not a valid field name")))?;
        validate_value(Some(field), &f.schema, &value)?;
        let index = f.index;
        self.values[index] = value;
        Ok(self)
    }

    /// Sets a field by position without validation (callers guarantee the schema).
    pub fn put_index(&mut self, index: usize, value: Value) {
        if let Some(slot) = self.values.get_mut(index) {
            *slot = value;
        }
    }

    /// A field's value, or its schema default when the value is null (`Struct.get`).
    pub fn get(&self, field: &str) -> Option<&Value> {
        let f = self.schema.field(field)?;
        let v = &self.values[f.index];
        if v.is_null() {
            if let Some(d) = &f.schema.default {
                return Some(d);
            }
        }
        Some(v)
    }

    /// A field's value as stored, without default substitution (`Struct.getWithoutDefault`).
    pub fn get_without_default(&self, field: &str) -> Option<&Value> {
        let f = self.schema.field(field)?;
        Some(&self.values[f.index])
    }

    /// Values by field position.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Checks every field against its schema (`Struct.validate`).
    pub fn validate(&self) -> Result<()> {
        for f in &self.schema.fields {
            let v = &self.values[f.index];
            let v = if v.is_null() {
                f.schema.default.as_ref().unwrap_or(v)
            } else {
                v
            };
            validate_value(Some(&f.name), &f.schema, v)?;
        }
        Ok(())
    }
}

impl fmt::Display for Struct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Struct{")?;
        let mut first = true;
        for field in &self.schema.fields {
            let v = &self.values[field.index];
            if v.is_null() {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{}={}", field.name, v)?;
        }
        f.write_str("}")
    }
}

/// A value with its (optional) schema (`SchemaAndValue`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SchemaAndValue {
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

impl SchemaAndValue {
    pub fn new(schema: Option<SchemaRef>, value: Value) -> Self {
        SchemaAndValue { schema, value }
    }
    /// `SchemaAndValue.NULL`.
    pub fn null() -> Self {
        SchemaAndValue::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schema::{schemas, SchemaBuilder};

    #[test]
    fn java_doubles() {
        for (v, s) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (1e10, "1.0E10"),
            (1.5e-5, "1.5E-5"),
            (123456.789, "123456.789"),
            (1e7, "1.0E7"),
            (-2.25, "-2.25"),
            (0.001, "0.001"),
            (100.0, "100.0"),
        ] {
            assert_eq!(java_float_to_string(v, false), s, "{v}");
        }
        assert_eq!(java_float_to_string(f64::from(0.1f32), true), "0.1");
    }

    #[test]
    fn struct_put_get_default() -> Result<()> {
        let schema = SchemaBuilder::structure()
            .field("a", schemas::int32())?
            .field(
                "b",
                SchemaBuilder::string()
                    .optional()
                    .default_value(Value::from("dflt"))?
                    .build(),
            )?
            .build();
        let mut s = Struct::new(schema);
        s.put("a", Value::Int32(4))?;
        assert_eq!(s.get("b"), Some(&Value::from("dflt")));
        assert_eq!(s.get_without_default("b"), Some(&Value::Null));
        assert!(s.put("a", Value::from("x")).is_err());
        assert!(s.put("nope", Value::Null).is_err());
        s.validate()?;
        assert_eq!(s.to_string(), "Struct{a=4}");
        Ok(())
    }

    #[test]
    fn struct_validate_missing_required() -> Result<()> {
        let schema = SchemaBuilder::structure()
            .field("a", schemas::int32())?
            .build();
        let e = Struct::new(schema).validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value: null used for required field: \"a\", schema type: INT32"
        );
        Ok(())
    }
}
