//! Helpers shared by the transforms: which side of the record they touch, Kafka's
//! `Requirements` checks, config parsing, validators and the derived-schema cache.

use std::sync::{Arc, Mutex};

use sluice_api::config::{Config, ConfigDef, ConfigKey, ConfigType, Importance, Parsed, RawConfig};
use sluice_api::data::{Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::{ConnectError, Result};

/// Which part of the record a `$Key` / `$Value` transform operates on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    pub(crate) fn schema(self, record: &ConnectRecord) -> Option<&SchemaRef> {
        match self {
            Side::Key => record.key_schema.as_ref(),
            Side::Value => record.value_schema.as_ref(),
        }
    }

    pub(crate) fn value(self, record: &ConnectRecord) -> &Value {
        match self {
            Side::Key => &record.key,
            Side::Value => &record.value,
        }
    }

    /// Replaces the operated-on schema and value.
    pub(crate) fn set(self, record: &mut ConnectRecord, schema: Option<SchemaRef>, value: Value) {
        match self {
            Side::Key => {
                record.key_schema = schema;
                record.key = value;
            }
            Side::Value => {
                record.value_schema = schema;
                record.value = value;
            }
        }
    }

    /// Takes the operated-on schema and value out of the record, leaving nulls.
    pub(crate) fn take(self, record: &mut ConnectRecord) -> (Option<SchemaRef>, Value) {
        match self {
            Side::Key => (record.key_schema.take(), std::mem::take(&mut record.key)),
            Side::Value => (
                record.value_schema.take(),
                std::mem::take(&mut record.value),
            ),
        }
    }
}

/// The Java class name of a value, as `getClass().getName()` prints it (no `class ` prefix).
pub(crate) fn class_name(value: &Value) -> &'static str {
    let name = value.java_class_name();
    name.strip_prefix("class ").unwrap_or(name)
}

/// `Requirements.requireStruct`.
pub(crate) fn require_struct<'a>(value: &'a Value, purpose: &str) -> Result<&'a Struct> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(ConnectError::data(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            class_name(other)
        ))),
    }
}

/// `Requirements.requireStructOrNull`.
pub(crate) fn require_struct_or_null<'a>(
    value: &'a Value,
    purpose: &str,
) -> Result<Option<&'a Struct>> {
    if value.is_null() {
        return Ok(None);
    }
    require_struct(value, purpose).map(Some)
}

/// Schemaless maps: entries in order.
pub(crate) type MapEntries = Vec<(Value, Value)>;

/// `Requirements.requireMap`.
pub(crate) fn require_map<'a>(value: &'a Value, purpose: &str) -> Result<&'a MapEntries> {
    match value {
        Value::Map(m) => Ok(m),
        other => Err(ConnectError::data(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            class_name(other)
        ))),
    }
}

/// `Requirements.requireMapOrNull`.
pub(crate) fn require_map_or_null<'a>(
    value: &'a Value,
    purpose: &str,
) -> Result<Option<&'a MapEntries>> {
    if value.is_null() {
        return Ok(None);
    }
    require_map(value, purpose).map(Some)
}

/// `Requirements.requireSchema`.
pub(crate) fn require_schema<'a>(
    schema: Option<&'a SchemaRef>,
    purpose: &str,
) -> Result<&'a SchemaRef> {
    schema.ok_or_else(|| ConnectError::data(format!("Schema required for [{purpose}]")))
}

/// `Requirements.requireSinkRecord`, on the record's read-only offset.
pub(crate) fn require_sink_offset(record: &ConnectRecord, purpose: &str) -> Result<i64> {
    record.kafka_offset.ok_or_else(|| {
        ConnectError::data(format!(
            "Only SinkRecord supported for [{purpose}], found: org.apache.kafka.connect.source.SourceRecord"
        ))
    })
}

/// A schemaless map lookup by string key (`map.get(key)`, null when absent).
pub(crate) fn map_get<'a>(entries: &'a MapEntries, key: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// `HashMap.put`: replaces in place when present, appends otherwise.
pub(crate) fn map_put(entries: &mut MapEntries, key: &str, value: Value) {
    if let Some(slot) = entries.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
        slot.1 = value;
    } else {
        entries.push((Value::String(key.to_string()), value));
    }
}

/// `HashMap.remove`.
pub(crate) fn map_remove(entries: &mut MapEntries, key: &str) {
    entries.retain(|(k, _)| k.as_str() != Some(key));
}

/// A struct field's value, honouring `replace.null.with.default` (`Struct.get` versus
/// `Struct.getWithoutDefault`).
pub(crate) fn field_value(s: &Struct, name: &str, replace_null_with_default: bool) -> Value {
    let v = if replace_null_with_default {
        s.get(name)
    } else {
        s.get_without_default(name)
    };
    v.cloned().unwrap_or(Value::Null)
}

/// `SchemaUtil.copySchemaBasics(source)`: the type (with key/value schemas for maps and
/// arrays), name, version, doc and parameters; required, no default, no fields.
pub(crate) fn copy_schema_basics(source: &Schema) -> SchemaBuilder {
    let mut base = Schema::of(source.schema_type);
    if matches!(source.schema_type, SchemaType::Array | SchemaType::Map) {
        base.key_schema = source.key_schema.clone();
        base.value_schema = source.value_schema.clone();
    }
    with_basics_of(source, SchemaBuilder::from_schema(&base))
}

/// `SchemaUtil.copySchemaBasics(source, builder)`: name, version, doc and parameters.
pub(crate) fn with_basics_of(source: &Schema, mut builder: SchemaBuilder) -> SchemaBuilder {
    if let Some(n) = &source.name {
        builder = builder.name(n.clone());
    }
    if let Some(v) = source.version {
        builder = builder.version(v);
    }
    if let Some(d) = &source.doc {
        builder = builder.doc(d.clone());
    }
    for (k, v) in &source.parameters {
        builder = builder.parameter(k.clone(), v.clone());
    }
    builder
}

/// Java's `ConnectSchema.toString()`: `Schema{name:TYPE}` or `Schema{TYPE}`.
pub(crate) fn schema_to_string(schema: &Schema) -> String {
    match &schema.name {
        Some(n) => format!("Schema{{{n}:{}}}", schema.schema_type),
        None => format!("Schema{{{}}}", schema.schema_type),
    }
}

/// A short Java-like rendering of a record for error messages (`ConnectRecord.toString`).
pub(crate) fn record_to_string(r: &ConnectRecord) -> String {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "null".to_string());
    format!(
        "ConnectRecord{{topic='{}', kafkaPartition={}, key={}, keySchema={}, value={}, valueSchema={}, timestamp={}}}",
        r.topic,
        opt(r.kafka_partition.map(|p| p.to_string())),
        r.key,
        opt(r.key_schema.as_deref().map(schema_to_string)),
        r.value,
        opt(r.value_schema.as_deref().map(schema_to_string)),
        opt(r.timestamp.map(|t| t.to_string())),
    )
}

/// Parses a transform's config, turning every problem into one config error.
pub(crate) fn parse_config(def: &ConfigDef, raw: &RawConfig) -> Result<Config> {
    def.parse(raw)
        .map_err(|errors| ConnectError::config(errors.to_string()))
}

/// Kafka's `ConfigException(name, value, message)`.
pub(crate) fn invalid_config(name: &str, value: &str, message: &str) -> ConnectError {
    ConnectError::config(format!(
        "Invalid value {value} for configuration {name}: {message}"
    ))
}

pub(crate) const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";

/// The `replace.null.with.default` key of KIP-1040 (Kafka 3.9).
pub(crate) fn replace_null_with_default_key() -> ConfigKey {
    ConfigKey::new(REPLACE_NULL_WITH_DEFAULT, ConfigType::Boolean)
        .default_value("true")
        .importance(Importance::Medium)
        .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.")
}

/// `NonEmptyListValidator`.
pub(crate) fn non_empty_list(_name: &str, value: &Parsed) -> std::result::Result<(), String> {
    match value {
        Parsed::List(l) if l.is_empty() => Err("Empty list".into()),
        Parsed::Null => Err("Empty list".into()),
        _ => Ok(()),
    }
}

/// `RegexValidator` of `connect/transforms`.
pub(crate) fn valid_regex(_name: &str, value: &Parsed) -> std::result::Result<(), String> {
    match value {
        Parsed::Str(s) => regex::Regex::new(s)
            .map(|_| ())
            .map_err(|e| format!("Invalid regex: {e}")),
        _ => Ok(()),
    }
}

/// A regex that must match the whole input, as Java's `Matcher.matches()`.
pub(crate) fn whole_match_regex(pattern: &str) -> std::result::Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!(r"\A(?:{pattern})\z"))
}

/// Derived schemas, keyed by input schema (Kafka's `SynchronizedCache(LRUCache(16))`).
///
/// Rebuilding a schema per record is what makes naive transforms slow; a handful of input
/// schemas per transform is the common case.
pub(crate) struct SchemaCache {
    entries: Mutex<Vec<(SchemaRef, SchemaRef)>>,
}

const SCHEMA_CACHE_SIZE: usize = 16;

impl SchemaCache {
    pub(crate) fn new() -> Self {
        SchemaCache {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The derived schema for `key`, built with `build` on a miss.
    pub(crate) fn get_or_build(
        &self,
        key: &SchemaRef,
        build: impl FnOnce() -> Result<SchemaRef>,
    ) -> Result<SchemaRef> {
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let hit = entries
                .iter()
                .find(|(k, _)| Arc::ptr_eq(k, key))
                .or_else(|| entries.iter().find(|(k, _)| **k == **key));
            if let Some((_, v)) = hit {
                return Ok(v.clone());
            }
        }
        let built = build()?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= SCHEMA_CACHE_SIZE {
            entries.remove(0);
        }
        entries.push((key.clone(), built.clone()));
        Ok(built)
    }
}

impl std::fmt::Debug for SchemaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SchemaCache")
    }
}

/// Java's `String.split(sep)`: trailing empty strings are dropped.
pub(crate) fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].is_empty() && !s.is_empty() {
        parts.clear();
    }
    parts
}
