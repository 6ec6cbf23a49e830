//! `org.apache.kafka.connect.converters.{Short,Integer,Long,Float,Double}Converter`: fixed
//! width big-endian numbers, as Kafka's serializers write them. The schema is ignored on
//! write, as in Kafka.

use sluice_api::config::{ConfigDef, RawConfig};
use sluice_api::converter::ConverterRole;
use sluice_api::data::{schemas, SchemaAndValue, SchemaRef, Value};
use sluice_api::{ConnectError, Result};

/// `NumberConverterConfig.configDef()`: only `converter.type`.
pub fn config_def() -> ConfigDef {
    crate::converter_config_def()
}

/// Which number converter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberKind {
    Short,
    Integer,
    Long,
    Float,
    Double,
}

impl NumberKind {
    pub const ALL: [NumberKind; 5] = [
        NumberKind::Short,
        NumberKind::Integer,
        NumberKind::Long,
        NumberKind::Float,
        NumberKind::Double,
    ];

    /// The Java class name.
    pub const fn class(self) -> &'static str {
        match self {
            NumberKind::Short => "org.apache.kafka.connect.converters.ShortConverter",
            NumberKind::Integer => "org.apache.kafka.connect.converters.IntegerConverter",
            NumberKind::Long => "org.apache.kafka.connect.converters.LongConverter",
            NumberKind::Float => "org.apache.kafka.connect.converters.FloatConverter",
            NumberKind::Double => "org.apache.kafka.connect.converters.DoubleConverter",
        }
    }

    pub fn from_class(class: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.class() == class)
    }

    /// The type name in Kafka's messages.
    fn type_name(self) -> &'static str {
        match self {
            NumberKind::Short => "short",
            NumberKind::Integer => "integer",
            NumberKind::Long => "long",
            NumberKind::Float => "float",
            NumberKind::Double => "double",
        }
    }

    fn java_class(self) -> &'static str {
        match self {
            NumberKind::Short => "java.lang.Short",
            NumberKind::Integer => "java.lang.Integer",
            NumberKind::Long => "java.lang.Long",
            NumberKind::Float => "java.lang.Float",
            NumberKind::Double => "java.lang.Double",
        }
    }

    fn width(self) -> usize {
        match self {
            NumberKind::Short => 2,
            NumberKind::Integer | NumberKind::Float => 4,
            NumberKind::Long | NumberKind::Double => 8,
        }
    }

    /// The deserializer's size error (Float and Double name no class, as in Kafka).
    fn size_error(self) -> String {
        let deserializer = match self {
            NumberKind::Short => "ShortDeserializer",
            NumberKind::Integer => "IntegerDeserializer",
            NumberKind::Long => "LongDeserializer",
            NumberKind::Float | NumberKind::Double => "Deserializer",
        };
        format!(
            "Size of data received by {deserializer} is not {}",
            self.width()
        )
    }

    fn schema(self) -> SchemaRef {
        match self {
            NumberKind::Short => schemas::optional_int16(),
            NumberKind::Integer => schemas::optional_int32(),
            NumberKind::Long => schemas::optional_int64(),
            NumberKind::Float => schemas::optional_float32(),
            NumberKind::Double => schemas::optional_float64(),
        }
    }
}

/// One of Kafka's number converters, also usable as a header converter.
#[derive(Clone, Copy, Debug)]
pub struct NumberConverter {
    kind: NumberKind,
}

impl NumberConverter {
    /// Builds the converter from its (prefix-stripped) config.
    pub fn new(kind: NumberKind, config: &RawConfig, role: ConverterRole) -> Result<Self> {
        crate::parse_config(&config_def(), config, role)?;
        Ok(NumberConverter { kind })
    }

    pub fn kind(&self) -> NumberKind {
        self.kind
    }

    /// `fromConnectData`: the value must be of the converter's Java type.
    pub fn from_connect_data(&self, value: &Value) -> Result<Option<Vec<u8>>> {
        let bytes = match (self.kind, value) {
            (_, Value::Null) => return Ok(None),
            (NumberKind::Short, Value::Int16(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Integer, Value::Int32(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Long, Value::Int64(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Float, Value::Float32(v)) => v.to_bits().to_be_bytes().to_vec(),
            (NumberKind::Double, Value::Float64(v)) => v.to_bits().to_be_bytes().to_vec(),
            (kind, other) => {
                let class = other.java_class_name();
                return Err(ConnectError::data(format!(
                    "Failed to serialize to {} (was {class}): {class} cannot be cast to class {}",
                    kind.type_name(),
                    kind.java_class()
                )));
            }
        };
        Ok(Some(bytes))
    }

    /// `toConnectData`: the converter's optional schema and the number, or null.
    pub fn to_connect_data(&self, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        let kind = self.kind;
        let Some(data) = data else {
            return Ok(SchemaAndValue::new(Some(kind.schema()), Value::Null));
        };
        let size_error = || {
            ConnectError::data(format!(
                "Failed to deserialize {}: {}",
                kind.type_name(),
                kind.size_error()
            ))
        };
        let value = match kind {
            NumberKind::Short => Value::Int16(i16::from_be_bytes(
                data.try_into().map_err(|_| size_error())?,
            )),
            NumberKind::Integer => Value::Int32(i32::from_be_bytes(
                data.try_into().map_err(|_| size_error())?,
            )),
            NumberKind::Long => Value::Int64(i64::from_be_bytes(
                data.try_into().map_err(|_| size_error())?,
            )),
            NumberKind::Float => Value::Float32(f32::from_bits(u32::from_be_bytes(
                data.try_into().map_err(|_| size_error())?,
            ))),
            NumberKind::Double => Value::Float64(f64::from_bits(u64::from_be_bytes(
                data.try_into().map_err(|_| size_error())?,
            ))),
        };
        Ok(SchemaAndValue::new(Some(kind.schema()), value))
    }
}

crate::impl_data_converter!(
    NumberConverter,
    |c, _schema, value| c.from_connect_data(value),
    |c, data| c.to_connect_data(data)
);

#[cfg(test)]
mod tests {
    use super::*;

    fn converter(kind: NumberKind) -> NumberConverter {
        NumberConverter::new(kind, &RawConfig::new(), ConverterRole::Value).unwrap()
    }

    /// Writes `value`, checks the bytes, reads them back to the same value.
    fn check(kind: NumberKind, value: Value, bytes: &[u8]) {
        let c = converter(kind);
        let out = c.from_connect_data(&value).unwrap().unwrap();
        assert_eq!(out, bytes, "{kind:?}");
        let back = c.to_connect_data(Some(&out)).unwrap();
        assert_eq!(back.value, value);
        assert_eq!(back.schema, Some(kind.schema()));
    }

    #[test]
    fn big_endian_round_trips() {
        check(NumberKind::Short, Value::Int16(-2), &[0xFF, 0xFE]);
        check(NumberKind::Integer, Value::Int32(258), &[0, 0, 1, 2]);
        check(NumberKind::Long, Value::Int64(1), &[0, 0, 0, 0, 0, 0, 0, 1]);
        check(NumberKind::Float, Value::Float32(1.5), &[0x3F, 0xC0, 0, 0]);
        check(
            NumberKind::Double,
            Value::Float64(-2.0),
            &[0xC0, 0, 0, 0, 0, 0, 0, 0],
        );
    }

    #[test]
    fn nulls() {
        for kind in NumberKind::ALL {
            let c = converter(kind);
            assert_eq!(c.from_connect_data(&Value::Null).unwrap(), None);
            assert_eq!(c.to_connect_data(None).unwrap().value, Value::Null);
        }
    }

    #[test]
    fn error_messages() {
        let cases = [
            (NumberKind::Short, "Failed to deserialize short: Size of data received by ShortDeserializer is not 2"),
            (NumberKind::Integer, "Failed to deserialize integer: Size of data received by IntegerDeserializer is not 4"),
            (NumberKind::Long, "Failed to deserialize long: Size of data received by LongDeserializer is not 8"),
            (NumberKind::Float, "Failed to deserialize float: Size of data received by Deserializer is not 4"),
            (NumberKind::Double, "Failed to deserialize double: Size of data received by Deserializer is not 8"),
        ];
        for (kind, msg) in cases {
            let e = converter(kind)
                .to_connect_data(Some(&[1, 2, 3]))
                .unwrap_err();
            assert_eq!(e.message(), msg);
        }
        let e = converter(NumberKind::Short)
            .from_connect_data(&Value::Int32(1))
            .unwrap_err();
        assert_eq!(
            e.message(),
            "Failed to serialize to short (was class java.lang.Integer): class java.lang.Integer cannot be cast to class java.lang.Short"
        );
    }
}
