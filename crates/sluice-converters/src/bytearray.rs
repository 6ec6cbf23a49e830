//! `org.apache.kafka.connect.converters.ByteArrayConverter`: passes BYTES through unchanged.

use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::converter::ConverterRole;
use sluice_api::data::{schemas, SchemaAndValue, SchemaRef, SchemaType, Value};
use sluice_api::{ConnectError, Result};

/// The Java class name.
pub const CLASS: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";

/// `ConverterConfig.newConfigDef()`: only `converter.type`.
pub fn config_def() -> ConfigDef {
    crate::converter_config_def()
}

/// Kafka's `ByteArrayConverter`, also usable as a header converter.
#[derive(Clone, Copy, Debug, Default)]
pub struct ByteArrayConverter;

impl ByteArrayConverter {
    /// Kafka's `configure` ignores its config, so this never fails.
    pub fn new(_config: &RawConfig, _role: ConverterRole) -> Result<Self> {
        Ok(ByteArrayConverter)
    }

    /// `fromConnectData`: BYTES only.
    pub fn from_connect_data(
        &self,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        if let Some(s) = schema.filter(|s| s.schema_type != SchemaType::Bytes) {
            return Err(ConnectError::data(format!(
                "Invalid schema type for ByteArrayConverter: {}",
                s.schema_type
            )));
        }
        match value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(ConnectError::data(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                other.java_class_name()
            ))),
        }
    }

    /// [`from_connect_data`](Self::from_connect_data) taking the value: bytes are handed over
    /// without a copy.
    pub fn from_connect_data_owned(
        &self,
        schema: Option<&SchemaRef>,
        value: Value,
    ) -> Result<Option<Vec<u8>>> {
        match value {
            Value::Bytes(b) if schema.is_none_or(|s| s.schema_type == SchemaType::Bytes) => {
                Ok(Some(b))
            }
            other => self.from_connect_data(schema, &other),
        }
    }

    /// `toConnectData`: always `OPTIONAL_BYTES_SCHEMA`.
    pub fn to_connect_data(&self, data: Option<&[u8]>) -> SchemaAndValue {
        let value = data.map_or(Value::Null, |b| Value::Bytes(b.to_vec()));
        SchemaAndValue::new(Some(schemas::optional_bytes()), value)
    }
}

crate::impl_data_converter!(
    ByteArrayConverter,
    |c, schema, value| c.from_connect_data(schema, value),
    |c, data| Ok(c.to_connect_data(data))
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `value` under `schema`; `expected` is the bytes or the error message.
    fn check(
        schema: Option<SchemaRef>,
        value: Value,
        expected: std::result::Result<Option<&[u8]>, &str>,
    ) {
        let got = ByteArrayConverter.from_connect_data(schema.as_ref(), &value);
        // The owned path (the runtime's) gives the same bytes or the same error.
        let owned = ByteArrayConverter.from_connect_data_owned(schema.as_ref(), value.clone());
        match (&got, &owned) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "owned: {value:?}"),
            (Err(a), Err(b)) => assert_eq!(a.message(), b.message(), "owned: {value:?}"),
            _ => panic!("{value:?}: borrowed {got:?} but owned {owned:?}"),
        }
        match (got, expected) {
            (Ok(bytes), Ok(want)) => assert_eq!(bytes.as_deref(), want),
            (Err(e), Err(msg)) => assert_eq!(e.message(), msg),
            (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn writes_bytes_only() {
        check(None, Value::Bytes(vec![1, 2]), Ok(Some(&[1, 2])));
        check(Some(schemas::bytes()), Value::Bytes(vec![]), Ok(Some(&[])));
        check(Some(schemas::optional_bytes()), Value::Null, Ok(None));
        check(None, Value::Null, Ok(None));
        check(
            Some(schemas::string()),
            Value::from("x"),
            Err("Invalid schema type for ByteArrayConverter: STRING"),
        );
        check(
            None,
            Value::from("x"),
            Err("ByteArrayConverter is not compatible with objects of type class java.lang.String"),
        );
    }

    #[test]
    fn reads_optional_bytes() {
        let c = ByteArrayConverter;
        assert_eq!(
            c.to_connect_data(Some(b"ab")),
            SchemaAndValue::new(
                Some(schemas::optional_bytes()),
                Value::Bytes(b"ab".to_vec())
            )
        );
        assert_eq!(c.to_connect_data(None).value, Value::Null);
    }
}
