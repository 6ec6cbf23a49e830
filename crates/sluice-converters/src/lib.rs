//! Kafka Connect's built-in converters, byte-compatible with Apache Kafka's: `JsonConverter`,
//! `StringConverter`, `ByteArrayConverter`, the number converters, `BooleanConverter` and the
//! default header converter `SimpleHeaderConverter`.
//!
//! The runtime picks a converter with [`new_converter`] / [`new_header_converter`] by Java
//! class name or alias and calls it through [`BuiltinConverter`], an enum, so the per-record
//! hot path needs no virtual call; [`converter_plugins`] is the explicit list the plugin
//! registry and `GET /connector-plugins` report.
//!
//! This crate only translates between Connect data and bytes. It must not do I/O, spawn
//! tasks, log per record or know about Kafka clients: converters are pure functions of their
//! config and input, and the runtime owns everything else (errors are returned, never
//! tolerated or retried here).

pub mod boolean;
pub mod bytearray;
pub mod json;
pub mod number;
pub mod simple_header;
pub mod string;
mod time;

use sluice_api::config::{
    Config, ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator,
};
use sluice_api::converter::{Converter, ConverterRole, HeaderConverter};
use sluice_api::data::{Headers, SchemaAndValue, SchemaRef, Value};
use sluice_api::plugin::{aliases, ConverterPlugin};
use sluice_api::{ConnectError, Result};

pub use boolean::BooleanConverter;
pub use bytearray::ByteArrayConverter;
pub use json::JsonConverter;
pub use number::{NumberConverter, NumberKind};
pub use simple_header::SimpleHeaderConverter;
pub use string::StringConverter;

/// Implements `Converter` and `HeaderConverter` for a converter whose behaviour does not
/// depend on the topic, headers or header key: `from` turns (converter, schema, value) into
/// bytes, `to` turns (converter, bytes) into Connect data.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_data_converter {
    ($ty:ty, |$c:ident, $schema:ident, $value:ident| $from:expr, |$c2:ident, $data:ident| $to:expr) => {
        impl sluice_api::converter::Converter for $ty {
            fn from_connect(
                &self,
                _topic: &str,
                _headers: &mut sluice_api::data::Headers,
                $schema: Option<&sluice_api::data::SchemaRef>,
                $value: &sluice_api::data::Value,
            ) -> sluice_api::Result<Option<Vec<u8>>> {
                let $c = self;
                $from
            }

            fn to_connect(
                &self,
                _topic: &str,
                _headers: &sluice_api::data::Headers,
                $data: Option<&[u8]>,
            ) -> sluice_api::Result<sluice_api::data::SchemaAndValue> {
                let $c2 = self;
                $to
            }
        }

        impl sluice_api::converter::HeaderConverter for $ty {
            fn from_connect_header(
                &self,
                _topic: &str,
                _header_key: &str,
                $schema: Option<&sluice_api::data::SchemaRef>,
                $value: &sluice_api::data::Value,
            ) -> sluice_api::Result<Option<Vec<u8>>> {
                let $c = self;
                $from
            }

            fn to_connect_header(
                &self,
                _topic: &str,
                _header_key: &str,
                $data: Option<&[u8]>,
            ) -> sluice_api::Result<sluice_api::data::SchemaAndValue> {
                let $c2 = self;
                $to
            }
        }
    };
}

/// The Kafka version these converters reproduce, reported as every plugin's version.
pub const KAFKA_VERSION: &str = "3.9.0";

/// `converter.type`, set by the framework from the converter's role.
pub const CONVERTER_TYPE_CONFIG: &str = "converter.type";

/// `ConverterConfig.newConfigDef()`: the `converter.type` key every converter has.
pub fn converter_config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(CONVERTER_TYPE_CONFIG, ConfigType::String)
            .validator(Validator::OneOf(vec!["key", "value", "header"]))
            .importance(Importance::Low)
            .doc("How this converter will be used."),
    )
}

/// The `converter.type` value of a role.
pub fn role_name(role: ConverterRole) -> &'static str {
    match role {
        ConverterRole::Key => "key",
        ConverterRole::Value => "value",
        ConverterRole::Header => "header",
    }
}

/// Parses a converter config with `converter.type` set from the role (as Kafka's
/// `configure(configs, isKey)` does), reporting every problem in one config error.
pub(crate) fn parse_config(
    def: &ConfigDef,
    raw: &RawConfig,
    role: ConverterRole,
) -> Result<Config> {
    let mut raw = raw.clone();
    raw.insert(
        CONVERTER_TYPE_CONFIG.to_string(),
        role_name(role).to_string(),
    );
    def.parse(&raw).map_err(|errors| {
        let messages: Vec<&str> = errors.0.iter().map(|(_, m)| m.as_str()).collect();
        ConnectError::config(messages.join("; "))
    })
}

fn simple_header_config_def() -> ConfigDef {
    ConfigDef::new()
}

fn boxed<C: Converter + 'static>(c: Result<C>) -> Result<Box<dyn Converter>> {
    Ok(Box::new(c?))
}

fn boxed_header<C: HeaderConverter + 'static>(c: Result<C>) -> Result<Box<dyn HeaderConverter>> {
    Ok(Box::new(c?))
}

/// Every built-in converter and header converter under its Java class name.
pub fn converter_plugins() -> Vec<ConverterPlugin> {
    macro_rules! number {
        ($kind:expr) => {
            ConverterPlugin {
                class: $kind.class(),
                version: KAFKA_VERSION,
                config_def: number::config_def,
                new: Some(|c, r| boxed(NumberConverter::new($kind, c, r))),
                new_header: Some(|c| {
                    boxed_header(NumberConverter::new($kind, c, ConverterRole::Header))
                }),
            }
        };
    }
    vec![
        ConverterPlugin {
            class: json::CLASS,
            version: KAFKA_VERSION,
            config_def: json::config_def,
            new: Some(|c, r| boxed(JsonConverter::new(c, r))),
            new_header: Some(|c| boxed_header(JsonConverter::new(c, ConverterRole::Header))),
        },
        ConverterPlugin {
            class: string::CLASS,
            version: KAFKA_VERSION,
            config_def: string::config_def,
            new: Some(|c, r| boxed(StringConverter::new(c, r))),
            new_header: Some(|c| boxed_header(StringConverter::new(c, ConverterRole::Header))),
        },
        ConverterPlugin {
            class: bytearray::CLASS,
            version: KAFKA_VERSION,
            config_def: bytearray::config_def,
            new: Some(|c, r| boxed(ByteArrayConverter::new(c, r))),
            new_header: Some(|c| boxed_header(ByteArrayConverter::new(c, ConverterRole::Header))),
        },
        number!(NumberKind::Short),
        number!(NumberKind::Integer),
        number!(NumberKind::Long),
        number!(NumberKind::Float),
        number!(NumberKind::Double),
        ConverterPlugin {
            class: boolean::CLASS,
            version: KAFKA_VERSION,
            config_def: boolean::config_def,
            new: Some(|c, r| boxed(BooleanConverter::new(c, r))),
            new_header: Some(|c| boxed_header(BooleanConverter::new(c, ConverterRole::Header))),
        },
        ConverterPlugin {
            class: simple_header::CLASS,
            version: KAFKA_VERSION,
            config_def: simple_header_config_def,
            new: None,
            new_header: Some(|c| boxed_header(SimpleHeaderConverter::new(c))),
        },
    ]
}

/// The Java class a class name or alias (`JsonConverter`, `Json`) stands for, among the
/// plugins `wanted` accepts.
fn resolve(
    class_or_alias: &str,
    wanted: impl Fn(&ConverterPlugin) -> bool,
) -> Option<&'static str> {
    let plugins = converter_plugins();
    let candidates = plugins.iter().filter(|p| wanted(p));
    for p in candidates.clone() {
        if p.class == class_or_alias {
            return Some(p.class);
        }
    }
    candidates
        .into_iter()
        .find(|p| aliases(p.class).iter().any(|a| a == class_or_alias))
        .map(|p| p.class)
}

fn unknown(
    kind: &str,
    class_or_alias: &str,
    wanted: impl Fn(&ConverterPlugin) -> bool,
) -> ConnectError {
    let available: Vec<&str> = converter_plugins()
        .iter()
        .filter(|p| wanted(p))
        .map(|p| p.class)
        .collect();
    ConnectError::config(format!(
        "Failed to find any class that implements {kind} and which name matches {class_or_alias}, available {}s are: {}",
        kind.to_ascii_lowercase(),
        available.join(", ")
    ))
}

/// A key or value converter. Built-ins are matched statically; `Custom` holds any other.
pub enum BuiltinConverter {
    Json(JsonConverter),
    String(StringConverter),
    ByteArray(ByteArrayConverter),
    Number(NumberConverter),
    Boolean(BooleanConverter),
    Custom(Box<dyn Converter>),
}

impl std::fmt::Debug for BuiltinConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuiltinConverter::Json(c) => c.fmt(f),
            BuiltinConverter::String(c) => c.fmt(f),
            BuiltinConverter::ByteArray(c) => c.fmt(f),
            BuiltinConverter::Number(c) => c.fmt(f),
            BuiltinConverter::Boolean(c) => c.fmt(f),
            BuiltinConverter::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl Converter for BuiltinConverter {
    fn from_connect(
        &self,
        topic: &str,
        headers: &mut Headers,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        match self {
            BuiltinConverter::Json(c) => c.from_connect(topic, headers, schema, value),
            BuiltinConverter::String(c) => c.from_connect(topic, headers, schema, value),
            BuiltinConverter::ByteArray(c) => c.from_connect(topic, headers, schema, value),
            BuiltinConverter::Number(c) => c.from_connect(topic, headers, schema, value),
            BuiltinConverter::Boolean(c) => c.from_connect(topic, headers, schema, value),
            BuiltinConverter::Custom(c) => c.from_connect(topic, headers, schema, value),
        }
    }

    fn from_connect_owned(
        &self,
        topic: &str,
        headers: &mut Headers,
        schema: Option<&SchemaRef>,
        value: Value,
    ) -> Result<Option<Vec<u8>>> {
        match self {
            BuiltinConverter::String(c) => Ok(c.from_connect_data_owned(schema, value)),
            BuiltinConverter::ByteArray(c) => c.from_connect_data_owned(schema, value),
            BuiltinConverter::Custom(c) => c.from_connect_owned(topic, headers, schema, value),
            other => other.from_connect(topic, headers, schema, &value),
        }
    }

    fn to_connect(
        &self,
        topic: &str,
        headers: &Headers,
        data: Option<&[u8]>,
    ) -> Result<SchemaAndValue> {
        match self {
            BuiltinConverter::Json(c) => c.to_connect(topic, headers, data),
            BuiltinConverter::String(c) => c.to_connect(topic, headers, data),
            BuiltinConverter::ByteArray(c) => c.to_connect(topic, headers, data),
            BuiltinConverter::Number(c) => c.to_connect(topic, headers, data),
            BuiltinConverter::Boolean(c) => c.to_connect(topic, headers, data),
            BuiltinConverter::Custom(c) => c.to_connect(topic, headers, data),
        }
    }
}

/// Builds a built-in key or value converter from its Java class name or alias and its
/// (prefix-stripped) config, e.g. `new_converter("JsonConverter", &cfg, ConverterRole::Value)`.
pub fn new_converter(
    class_or_alias: &str,
    config: &RawConfig,
    role: ConverterRole,
) -> Result<BuiltinConverter> {
    let is_converter = |p: &ConverterPlugin| p.new.is_some();
    let class = resolve(class_or_alias, is_converter)
        .ok_or_else(|| unknown("Converter", class_or_alias, is_converter))?;
    Ok(match class {
        json::CLASS => BuiltinConverter::Json(JsonConverter::new(config, role)?),
        string::CLASS => BuiltinConverter::String(StringConverter::new(config, role)?),
        bytearray::CLASS => BuiltinConverter::ByteArray(ByteArrayConverter::new(config, role)?),
        boolean::CLASS => BuiltinConverter::Boolean(BooleanConverter::new(config, role)?),
        other => match NumberKind::from_class(other) {
            Some(kind) => BuiltinConverter::Number(NumberConverter::new(kind, config, role)?),
            None => return Err(unknown("Converter", class_or_alias, is_converter)),
        },
    })
}

/// A header converter. Built-ins are matched statically; `Custom` holds any other.
pub enum BuiltinHeaderConverter {
    Simple(SimpleHeaderConverter),
    Json(JsonConverter),
    String(StringConverter),
    ByteArray(ByteArrayConverter),
    Number(NumberConverter),
    Boolean(BooleanConverter),
    Custom(Box<dyn HeaderConverter>),
}

impl std::fmt::Debug for BuiltinHeaderConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuiltinHeaderConverter::Simple(c) => c.fmt(f),
            BuiltinHeaderConverter::Json(c) => c.fmt(f),
            BuiltinHeaderConverter::String(c) => c.fmt(f),
            BuiltinHeaderConverter::ByteArray(c) => c.fmt(f),
            BuiltinHeaderConverter::Number(c) => c.fmt(f),
            BuiltinHeaderConverter::Boolean(c) => c.fmt(f),
            BuiltinHeaderConverter::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl HeaderConverter for BuiltinHeaderConverter {
    fn from_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        match self {
            BuiltinHeaderConverter::Simple(c) => {
                c.from_connect_header(topic, header_key, schema, value)
            }
            BuiltinHeaderConverter::Json(c) => {
                c.from_connect_header(topic, header_key, schema, value)
            }
            BuiltinHeaderConverter::String(c) => {
                c.from_connect_header(topic, header_key, schema, value)
            }
            BuiltinHeaderConverter::ByteArray(c) => {
                c.from_connect_header(topic, header_key, schema, value)
            }
            BuiltinHeaderConverter::Number(c) => {
                c.from_connect_header(topic, header_key, schema, value)
            }
            BuiltinHeaderConverter::Boolean(c) => {
                c.from_connect_header(topic, header_key, schema, value)
            }
            BuiltinHeaderConverter::Custom(c) => {
                c.from_connect_header(topic, header_key, schema, value)
            }
        }
    }

    fn to_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        data: Option<&[u8]>,
    ) -> Result<SchemaAndValue> {
        match self {
            BuiltinHeaderConverter::Simple(c) => c.to_connect_header(topic, header_key, data),
            BuiltinHeaderConverter::Json(c) => c.to_connect_header(topic, header_key, data),
            BuiltinHeaderConverter::String(c) => c.to_connect_header(topic, header_key, data),
            BuiltinHeaderConverter::ByteArray(c) => c.to_connect_header(topic, header_key, data),
            BuiltinHeaderConverter::Number(c) => c.to_connect_header(topic, header_key, data),
            BuiltinHeaderConverter::Boolean(c) => c.to_connect_header(topic, header_key, data),
            BuiltinHeaderConverter::Custom(c) => c.to_connect_header(topic, header_key, data),
        }
    }
}

/// Builds a built-in header converter from its Java class name or alias and its
/// (prefix-stripped) config; `converter.type` is set to `header`.
pub fn new_header_converter(
    class_or_alias: &str,
    config: &RawConfig,
) -> Result<BuiltinHeaderConverter> {
    let is_header = |p: &ConverterPlugin| p.new_header.is_some();
    let class = resolve(class_or_alias, is_header)
        .ok_or_else(|| unknown("HeaderConverter", class_or_alias, is_header))?;
    let role = ConverterRole::Header;
    Ok(match class {
        simple_header::CLASS => BuiltinHeaderConverter::Simple(SimpleHeaderConverter::new(config)?),
        json::CLASS => BuiltinHeaderConverter::Json(JsonConverter::new(config, role)?),
        string::CLASS => BuiltinHeaderConverter::String(StringConverter::new(config, role)?),
        bytearray::CLASS => {
            BuiltinHeaderConverter::ByteArray(ByteArrayConverter::new(config, role)?)
        }
        boolean::CLASS => BuiltinHeaderConverter::Boolean(BooleanConverter::new(config, role)?),
        other => match NumberKind::from_class(other) {
            Some(kind) => BuiltinHeaderConverter::Number(NumberConverter::new(kind, config, role)?),
            None => return Err(unknown("HeaderConverter", class_or_alias, is_header)),
        },
    })
}

#[cfg(test)]
mod tests;
