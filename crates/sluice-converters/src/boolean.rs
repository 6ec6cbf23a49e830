//! `org.apache.kafka.connect.converters.BooleanConverter`: one byte, 1 for true, 0 for false.

use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::converter::ConverterRole;
use sluice_api::data::{schemas, SchemaAndValue, SchemaRef, SchemaType, Value};
use sluice_api::{ConnectError, Result};

/// The Java class name.
pub const CLASS: &str = "org.apache.kafka.connect.converters.BooleanConverter";

/// `BooleanConverterConfig.configDef()`: only `converter.type`.
pub fn config_def() -> ConfigDef {
    crate::converter_config_def()
}

/// Kafka's `BooleanConverter`, also usable as a header converter.
#[derive(Clone, Copy, Debug, Default)]
pub struct BooleanConverter;

impl BooleanConverter {
    /// Builds the converter from its (prefix-stripped) config.
    pub fn new(config: &RawConfig, role: ConverterRole) -> Result<Self> {
        crate::parse_config(&config_def(), config, role)?;
        Ok(BooleanConverter)
    }

    /// `fromConnectData`.
    pub fn from_connect_data(
        &self,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        if let Some(s) = schema.filter(|s| s.schema_type != SchemaType::Boolean) {
            return Err(ConnectError::data(format!(
                "Invalid schema type for BooleanConverter: {}",
                s.schema_type
            )));
        }
        match value {
            Value::Null => Ok(None),
            Value::Boolean(b) => Ok(Some(vec![u8::from(*b)])),
            other => Err(ConnectError::data(format!(
                "BooleanConverter is not compatible with objects of type {}",
                other.java_class_name()
            ))),
        }
    }

    /// `toConnectData`: always `OPTIONAL_BOOLEAN_SCHEMA`.
    pub fn to_connect_data(&self, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        let value = match data {
            None => Value::Null,
            Some([1]) => Value::Boolean(true),
            Some([0]) => Value::Boolean(false),
            Some([other]) => {
                return Err(ConnectError::data(format!(
                    "Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: {}",
                    *other as i8
                )))
            }
            Some(_) => {
                return Err(ConnectError::data(
                    "Failed to deserialize boolean: Size of data received by BooleanDeserializer is not 1",
                ))
            }
        };
        Ok(SchemaAndValue::new(
            Some(schemas::optional_boolean()),
            value,
        ))
    }
}

crate::impl_data_converter!(
    BooleanConverter,
    |c, schema, value| c.from_connect_data(schema, value),
    |c, data| c.to_connect_data(data)
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `bytes`; `expected` is the value or the error message.
    fn check(bytes: Option<&[u8]>, expected: std::result::Result<Value, &str>) {
        match (BooleanConverter.to_connect_data(bytes), expected) {
            (Ok(sv), Ok(v)) => {
                assert_eq!(sv.value, v);
                assert_eq!(sv.schema, Some(schemas::optional_boolean()));
            }
            (Err(e), Err(msg)) => assert_eq!(e.message(), msg),
            (got, want) => panic!("{bytes:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn reads_one_byte() {
        check(Some(&[1]), Ok(Value::Boolean(true)));
        check(Some(&[0]), Ok(Value::Boolean(false)));
        check(None, Ok(Value::Null));
        check(
            Some(&[0xFF]),
            Err("Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: -1"),
        );
        check(
            Some(&[1, 0]),
            Err("Failed to deserialize boolean: Size of data received by BooleanDeserializer is not 1"),
        );
    }

    #[test]
    fn writes_one_byte() {
        let c = BooleanConverter;
        assert_eq!(
            c.from_connect_data(None, &Value::Boolean(true)).unwrap(),
            Some(vec![1])
        );
        assert_eq!(
            c.from_connect_data(Some(&schemas::boolean()), &Value::Boolean(false))
                .unwrap(),
            Some(vec![0])
        );
        assert_eq!(c.from_connect_data(None, &Value::Null).unwrap(), None);
        let e = c
            .from_connect_data(Some(&schemas::int32()), &Value::Int32(1))
            .unwrap_err();
        assert_eq!(
            e.message(),
            "Invalid schema type for BooleanConverter: INT32"
        );
        let e = c.from_connect_data(None, &Value::Int32(1)).unwrap_err();
        assert_eq!(
            e.message(),
            "BooleanConverter is not compatible with objects of type class java.lang.Integer"
        );
    }
}
