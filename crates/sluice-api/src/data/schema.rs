//! Connect schemas: `org.apache.kafka.connect.data.Schema` and `SchemaBuilder`.

use std::fmt;
use std::sync::Arc;

use super::value::Value;
use crate::error::{ConnectError, Result};

/// A shared schema. Schemas are immutable once built and cheap to clone.
pub type SchemaRef = Arc<Schema>;

/// The schema types of Kafka Connect (`Schema.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl SchemaType {
    /// The name Kafka prints for the type (`Schema.Type.name()`), e.g. `INT32`.
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "INT8",
            SchemaType::Int16 => "INT16",
            SchemaType::Int32 => "INT32",
            SchemaType::Int64 => "INT64",
            SchemaType::Float32 => "FLOAT32",
            SchemaType::Float64 => "FLOAT64",
            SchemaType::Boolean => "BOOLEAN",
            SchemaType::String => "STRING",
            SchemaType::Bytes => "BYTES",
            SchemaType::Array => "ARRAY",
            SchemaType::Map => "MAP",
            SchemaType::Struct => "STRUCT",
        }
    }

    /// The lower-case name used in configs and the JSON schema envelope's Java enum form
    /// (`int32`, `float32`, ...).
    pub fn lower_name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float32",
            SchemaType::Float64 => "float64",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }

    /// Whether the type is one of the nine primitive types.
    pub fn is_primitive(self) -> bool {
        !matches!(
            self,
            SchemaType::Array | SchemaType::Map | SchemaType::Struct
        )
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A struct field: name, position and schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub index: usize,
    pub schema: SchemaRef,
}

/// A Connect schema (`ConnectSchema`). Build one with [`SchemaBuilder`] or the constants in
/// [`schemas`].
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    pub schema_type: SchemaType,
    pub optional: bool,
    pub default: Option<Value>,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    /// Ordered parameters (Kafka keeps insertion order).
    pub parameters: Vec<(String, String)>,
    /// Struct fields, in order.
    pub fields: Vec<Field>,
    /// Map key schema.
    pub key_schema: Option<SchemaRef>,
    /// Map value schema, or array element schema.
    pub value_schema: Option<SchemaRef>,
}

impl Schema {
    /// A bare schema of the given type (required, no name).
    pub fn of(schema_type: SchemaType) -> Schema {
        Schema {
            schema_type,
            optional: false,
            default: None,
            name: None,
            version: None,
            doc: None,
            parameters: Vec::new(),
            fields: Vec::new(),
            key_schema: None,
            value_schema: None,
        }
    }

    /// Looks a struct field up by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// A parameter by key.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The logical type name, if any (`org.apache.kafka.connect.data.Decimal`, ...).
    pub fn logical_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Checks `value` against this schema, as `ConnectSchema.validateValue` does.
    pub fn validate_value(&self, value: &Value) -> Result<()> {
        validate_value(None, self, value)
    }
}

/// Checks a value against a schema; `field` names the struct field for messages.
pub fn validate_value(field: Option<&str>, schema: &Schema, value: &Value) -> Result<()> {
    let location = || match field {
        Some(f) => format!("field \"{f}\""),
        None => "value".to_string(),
    };
    if value.is_null() {
        if schema.optional {
            return Ok(());
        }
        return Err(ConnectError::data(match field {
            Some(f) => format!(
                "Invalid value: null used for required field: \"{f}\", schema type: {}",
                schema.schema_type
            ),
            None => format!(
                "Invalid value: null used for required value, schema type: {}",
                schema.schema_type
            ),
        }));
    }
    let ok = match (schema.schema_type, value) {
        (SchemaType::Int8, Value::Int8(_))
        | (SchemaType::Int16, Value::Int16(_))
        | (SchemaType::Int32, Value::Int32(_))
        | (SchemaType::Int64, Value::Int64(_))
        | (SchemaType::Float32, Value::Float32(_))
        | (SchemaType::Float64, Value::Float64(_))
        | (SchemaType::Boolean, Value::Boolean(_))
        | (SchemaType::String, Value::String(_))
        | (SchemaType::Bytes, Value::Bytes(_)) => true,
        (SchemaType::Array, Value::Array(items)) => {
            if let Some(vs) = &schema.value_schema {
                for item in items {
                    validate_value(field, vs, item)?;
                }
            }
            true
        }
        (SchemaType::Map, Value::Map(entries)) => {
            for (k, v) in entries {
                if let Some(ks) = &schema.key_schema {
                    validate_value(field, ks, k)?;
                }
                if let Some(vs) = &schema.value_schema {
                    validate_value(field, vs, v)?;
                }
            }
            true
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            if s.schema().as_ref() != schema {
                return Err(ConnectError::data(format!(
                    "Struct schemas do not match for {}",
                    location()
                )));
            }
            s.validate()?;
            true
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ConnectError::data(format!(
            "Invalid Java object for schema with type {}: {} for {}",
            schema.schema_type,
            value.java_class_name(),
            location()
        )))
    }
}

/// A fluent builder of schemas (`SchemaBuilder`).
#[derive(Clone, Debug)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    /// Starts a schema of the given type.
    pub fn new(schema_type: SchemaType) -> Self {
        SchemaBuilder {
            schema: Schema::of(schema_type),
        }
    }
    pub fn int8() -> Self {
        Self::new(SchemaType::Int8)
    }
    pub fn int16() -> Self {
        Self::new(SchemaType::Int16)
    }
    pub fn int32() -> Self {
        Self::new(SchemaType::Int32)
    }
    pub fn int64() -> Self {
        Self::new(SchemaType::Int64)
    }
    pub fn float32() -> Self {
        Self::new(SchemaType::Float32)
    }
    pub fn float64() -> Self {
        Self::new(SchemaType::Float64)
    }
    pub fn boolean() -> Self {
        Self::new(SchemaType::Boolean)
    }
    pub fn string() -> Self {
        Self::new(SchemaType::String)
    }
    pub fn bytes() -> Self {
        Self::new(SchemaType::Bytes)
    }
    pub fn structure() -> Self {
        Self::new(SchemaType::Struct)
    }
    /// An array of `items`.
    pub fn array(items: SchemaRef) -> Self {
        let mut b = Self::new(SchemaType::Array);
        b.schema.value_schema = Some(items);
        b
    }
    /// A map from `key` to `value`.
    pub fn map(key: SchemaRef, value: SchemaRef) -> Self {
        let mut b = Self::new(SchemaType::Map);
        b.schema.key_schema = Some(key);
        b.schema.value_schema = Some(value);
        b
    }
    /// Starts from an existing schema (to change a copy of it).
    pub fn from_schema(schema: &Schema) -> Self {
        SchemaBuilder {
            schema: schema.clone(),
        }
    }
    pub fn optional(mut self) -> Self {
        self.schema.optional = true;
        self
    }
    pub fn required(mut self) -> Self {
        self.schema.optional = false;
        self
    }
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.schema.name = Some(name.into());
        self
    }
    pub fn version(mut self, version: i32) -> Self {
        self.schema.version = Some(version);
        self
    }
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.schema.doc = Some(doc.into());
        self
    }
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        let value = value.into();
        if let Some(p) = self.schema.parameters.iter_mut().find(|(k, _)| *k == key) {
            p.1 = value;
        } else {
            self.schema.parameters.push((key, value));
        }
        self
    }
    /// Sets the default value; it must be valid for the schema.
    pub fn default_value(mut self, value: Value) -> Result<Self> {
        self.schema
            .validate_value(&value)
            .map_err(|e| ConnectError::data(format!("Invalid default value: {}", e.message())))?;
        self.schema.default = Some(value);
        Ok(self)
    }
    /// Adds a struct field. Field names must be unique.
    pub fn field(mut self, name: impl Into<String>, schema: SchemaRef) -> Result<Self> {
        let name = name.into();
        if self.schema.schema_type != SchemaType::Struct {
            return Err(ConnectError::data(format!(
                "Cannot create fields on type {}",
                self.schema.schema_type
            )));
        }
        if self.schema.field(&name).is_some() {
            return Err(ConnectError::data(format!(
                "Cannot create field because of field name duplication {name}"
            )));
        }
        let index = self.schema.fields.len();
        self.schema.fields.push(Field {
            name,
            index,
            schema,
        });
        Ok(self)
    }
    /// Finishes the schema.
    pub fn build(self) -> SchemaRef {
        Arc::new(self.schema)
    }
}

/// The predefined schemas of `Schema` (`Schema.INT32_SCHEMA`, `Schema.OPTIONAL_STRING_SCHEMA`, ...).
pub mod schemas {
    use super::*;
    use std::sync::OnceLock;

    macro_rules! constant {
        ($req:ident, $opt:ident, $ty:expr) => {
            /// The required schema of this type.
            pub fn $req() -> SchemaRef {
                static S: OnceLock<SchemaRef> = OnceLock::new();
                S.get_or_init(|| SchemaBuilder::new($ty).build()).clone()
            }
            /// The optional schema of this type.
            pub fn $opt() -> SchemaRef {
                static S: OnceLock<SchemaRef> = OnceLock::new();
                S.get_or_init(|| SchemaBuilder::new($ty).optional().build())
                    .clone()
            }
        };
    }
    constant!(int8, optional_int8, SchemaType::Int8);
    constant!(int16, optional_int16, SchemaType::Int16);
    constant!(int32, optional_int32, SchemaType::Int32);
    constant!(int64, optional_int64, SchemaType::Int64);
    constant!(float32, optional_float32, SchemaType::Float32);
    constant!(float64, optional_float64, SchemaType::Float64);
    constant!(boolean, optional_boolean, SchemaType::Boolean);
    constant!(string, optional_string, SchemaType::String);
    constant!(bytes, optional_bytes, SchemaType::Bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Struct;

    #[test]
    fn builder_rejects_duplicate_fields() {
        let err = SchemaBuilder::structure()
            .field("a", schemas::int32())
            .and_then(|b| b.field("a", schemas::string()))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot create field because of field name duplication a"
        );
    }

    #[test]
    fn validate_types_and_nulls() {
        let s = schemas::int32();
        assert!(s.validate_value(&Value::Int32(1)).is_ok());
        let e = s.validate_value(&Value::String("x".into())).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid Java object for schema with type INT32: class java.lang.String for value"
        );
        assert!(s.validate_value(&Value::Null).is_err());
        assert!(schemas::optional_int32()
            .validate_value(&Value::Null)
            .is_ok());
    }

    #[test]
    fn validate_nested_struct() -> Result<()> {
        let inner = SchemaBuilder::structure()
            .field("x", schemas::int8())?
            .build();
        let outer = SchemaBuilder::structure()
            .field("inner", inner.clone())?
            .build();
        let mut i = Struct::new(inner);
        i.put("x", Value::Int8(3))?;
        let mut o = Struct::new(outer.clone());
        o.put("inner", Value::Struct(i))?;
        outer.validate_value(&Value::Struct(o))?;
        Ok(())
    }

    #[test]
    fn default_must_match() {
        assert!(SchemaBuilder::int32()
            .default_value(Value::Int64(1))
            .is_err());
        assert!(SchemaBuilder::int32()
            .default_value(Value::Int32(1))
            .is_ok());
    }
}
