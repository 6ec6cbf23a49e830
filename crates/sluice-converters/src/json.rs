//! `org.apache.kafka.connect.json.JsonConverter`: Connect data as JSON, optionally wrapped in a
//! `{"schema":…,"payload":…}` envelope.
//!
//! The output is byte-identical to Kafka's (Jackson's compact writer): schema JSON keys in
//! Kafka's order, only `"`, `\` and control characters escaped, floats printed as Java prints
//! them, bytes as padded Base64. The write path renders straight into a `Vec<u8>` and caches
//! the rendered schema per [`SchemaRef`]; the read path drives serde_json with a visitor that
//! follows the schema, so no intermediate JSON tree is built. Reading reproduces Jackson's
//! lenient node accessors (`intValue()` of a string is 0, `textValue()` of a number is null),
//! because that is what Kafka does with mismatched data.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rustc_hash::{FxHashMap, FxHasher};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator, Width,
};
use sluice_api::converter::ConverterRole;
use sluice_api::data::logical::{self, Decimal};
use sluice_api::data::{
    java_float_to_string, Schema, SchemaAndValue, SchemaBuilder, SchemaRef, SchemaType, Struct,
    Value,
};
use sluice_api::{ConnectError, Result};

/// The Java class name.
pub const CLASS: &str = "org.apache.kafka.connect.json.JsonConverter";

pub const SCHEMAS_ENABLE_CONFIG: &str = "schemas.enable";
pub const SCHEMAS_CACHE_SIZE_CONFIG: &str = "schemas.cache.size";
pub const DECIMAL_FORMAT_CONFIG: &str = "decimal.format";
pub const REPLACE_NULL_WITH_DEFAULT_CONFIG: &str = "replace.null.with.default";

const ENVELOPE_ERROR: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";
const READ_ERROR: &str =
    "Converting byte[] to Kafka Connect data failed due to serialization error: ";

/// `JsonConverterConfig.configDef()`: the converter keys plus `converter.type`.
pub fn config_def() -> ConfigDef {
    crate::converter_config_def()
        .define(
            ConfigKey::new(SCHEMAS_ENABLE_CONFIG, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::High)
                .doc("Include schemas within each of the serialized values and keys.")
                .group("Schemas", 0)
                .width(Width::Medium)
                .display_name("Enable Schemas"),
        )
        .define(
            ConfigKey::new(SCHEMAS_CACHE_SIZE_CONFIG, ConfigType::Int)
                .default_value("1000")
                .importance(Importance::High)
                .doc("The maximum number of schemas that can be cached in this converter instance.")
                .group("Schemas", 1)
                .width(Width::Medium)
                .display_name("Schema Cache Size"),
        )
        .define(
            ConfigKey::new(DECIMAL_FORMAT_CONFIG, ConfigType::String)
                .default_value("BASE64")
                .validator(Validator::OneOfIgnoreCase(vec!["BASE64", "NUMERIC"]))
                .importance(Importance::Low)
                .doc("Controls which format this converter will serialize decimals in. This value is case insensitive and can be either 'BASE64' (default) or 'NUMERIC'")
                .group("Serialization", 0)
                .width(Width::Medium)
                .display_name("Decimal Format"),
        )
        .define(
            ConfigKey::new(REPLACE_NULL_WITH_DEFAULT_CONFIG, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.")
                .group("Serialization", 1)
                .width(Width::Medium)
                .display_name("Replace null with default"),
        )
}

/// How Decimal values are written (`decimal.format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalFormat {
    /// Base64 of the unscaled two's-complement bytes (the default).
    Base64,
    /// A JSON number (`BigDecimal.toString()`).
    Numeric,
}

/// Parsed `JsonConverterConfig`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonConverterConfig {
    pub schemas_enable: bool,
    /// Capacity of each schema cache; 0 or less disables caching.
    pub schemas_cache_size: i32,
    pub decimal_format: DecimalFormat,
    pub replace_null_with_default: bool,
}

impl Default for JsonConverterConfig {
    fn default() -> Self {
        JsonConverterConfig {
            schemas_enable: true,
            schemas_cache_size: 1000,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
        }
    }
}

impl JsonConverterConfig {
    /// Parses and validates a (prefix-stripped) converter config.
    pub fn parse(raw: &RawConfig, role: ConverterRole) -> Result<Self> {
        let config = crate::parse_config(&config_def(), raw, role)?;
        let decimal_format = match config.string(DECIMAL_FORMAT_CONFIG) {
            Some(s) if s.eq_ignore_ascii_case("NUMERIC") => DecimalFormat::Numeric,
            _ => DecimalFormat::Base64,
        };
        Ok(JsonConverterConfig {
            schemas_enable: config.boolean(SCHEMAS_ENABLE_CONFIG).unwrap_or(true),
            schemas_cache_size: config.int(SCHEMAS_CACHE_SIZE_CONFIG).unwrap_or(1000),
            decimal_format,
            replace_null_with_default: config
                .boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG)
                .unwrap_or(true),
        })
    }
}

/// Kafka's `JsonConverter`, also usable as a header converter.
pub struct JsonConverter {
    config: JsonConverterConfig,
    write_cache: Mutex<WriteCache>,
    read_cache: Mutex<ReadCache>,
    /// The size of the last output, to allocate the next one in one go.
    size_hint: AtomicUsize,
}

impl fmt::Debug for JsonConverter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonConverter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl JsonConverter {
    /// Builds the converter from its (prefix-stripped) config.
    pub fn new(config: &RawConfig, role: ConverterRole) -> Result<Self> {
        Ok(Self::with_config(JsonConverterConfig::parse(config, role)?))
    }

    /// Builds the converter from an already parsed config.
    pub fn with_config(config: JsonConverterConfig) -> Self {
        JsonConverter {
            config,
            write_cache: Mutex::new(WriteCache::default()),
            read_cache: Mutex::new(ReadCache::default()),
            size_hint: AtomicUsize::new(64),
        }
    }

    /// The converter the runtime uses for its internal topics: `schemas.enable=false`.
    pub fn schemaless() -> Self {
        Self::with_config(JsonConverterConfig {
            schemas_enable: false,
            ..JsonConverterConfig::default()
        })
    }

    pub fn config(&self) -> &JsonConverterConfig {
        &self.config
    }

    fn cache_capacity(&self) -> usize {
        usize::try_from(self.config.schemas_cache_size).unwrap_or(0)
    }

    /// `fromConnectData`: `None` (a tombstone) when both schema and value are null.
    pub fn from_connect_data(
        &self,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.size_hint.load(Ordering::Relaxed));
        self.write_into(schema, value, &mut out)?;
        self.size_hint.store(out.len() + 16, Ordering::Relaxed);
        Ok(Some(out))
    }

    /// Appends the JSON of `value` (with the envelope when schemas are enabled) to `out`.
    /// A null value without schema is written as `null`.
    pub fn write_into(
        &self,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if self.config.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match schema {
                Some(s) => self.write_schema_cached(s, out)?,
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
            Writer::new(out, &self.config).value(schema.map(|s| &**s), value)?;
            out.push(b'}');
        } else {
            Writer::new(out, &self.config).value(schema.map(|s| &**s), value)?;
        }
        Ok(())
    }

    /// `asJsonSchema`: the JSON form of a schema.
    pub fn as_json_schema(&self, schema: &SchemaRef) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_schema_cached(schema, &mut out)?;
        Ok(out)
    }

    fn write_schema_cached(&self, schema: &SchemaRef, out: &mut Vec<u8>) -> Result<()> {
        let capacity = self.cache_capacity();
        if capacity == 0 {
            return Writer::new(out, &self.config).schema(schema, None);
        }
        if lock(&self.write_cache).copy_into(schema, out) {
            return Ok(());
        }
        let mut rendered = Vec::new();
        Writer::new(&mut rendered, &self.config).schema(schema, None)?;
        out.extend_from_slice(&rendered);
        lock(&self.write_cache).insert(schema, rendered.into(), capacity);
        Ok(())
    }

    /// `asConnectSchema`: a schema from its JSON form (`None` for JSON `null`).
    pub fn as_connect_schema(&self, json: &str) -> Result<Option<SchemaRef>> {
        let trimmed = json.trim_matches(is_json_ws_char);
        if trimmed == "null" {
            return Ok(None);
        }
        {
            let mut cache = lock(&self.read_cache);
            if let Some(hit) = cache.get(trimmed) {
                return Ok(Some(hit));
            }
        }
        let node: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|e| ConnectError::data(format!("{READ_ERROR}{e}")))?;
        let schema = self.build_schema(&node)?;
        if let Some(s) = &schema {
            lock(&self.read_cache).insert(trimmed, s.clone(), self.cache_capacity());
        }
        Ok(schema)
    }

    /// `toConnectData`.
    pub fn to_connect_data(&self, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        let Some(data) = data else {
            return Ok(SchemaAndValue::null());
        };
        let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
        let missing = data.iter().all(|b| is_json_ws(*b));
        if !self.config.schemas_enable {
            if missing {
                // Jackson reads empty input as a MissingNode, which converts to null.
                return Ok(SchemaAndValue::null());
            }
            let ctx = Ctx::new(self.config.replace_null_with_default);
            let mut de = serde_json::Deserializer::from_slice(data);
            let value = Seed::new(None, &ctx)
                .deserialize(&mut de)
                .map_err(|e| ctx.read_error(e))?;
            return Ok(SchemaAndValue::new(None, value));
        }
        if missing {
            return Err(ConnectError::data(ENVELOPE_ERROR));
        }
        if let Some(done) = self.read_fast(data) {
            return Ok(done);
        }
        self.read_envelope(data)
    }

    /// The common case: the envelope starts with the schema text seen last, byte for byte,
    /// so the schema needs neither parsing nor hashing. Anything unusual falls back to the
    /// full path, which also produces the proper error.
    fn read_fast(&self, data: &[u8]) -> Option<SchemaAndValue> {
        const HEAD: &[u8] = b"{\"schema\":";
        const MIDDLE: &[u8] = b",\"payload\":";
        let rest = data.strip_prefix(HEAD)?;
        let (schema_len, schema) = {
            let cache = lock(&self.read_cache);
            let (raw, schema) = cache.last.as_ref()?;
            let after = rest.strip_prefix(raw.as_bytes())?;
            if !after.starts_with(MIDDLE) {
                return None;
            }
            (raw.len(), schema.clone())
        };
        let start = HEAD.len() + schema_len + MIDDLE.len();
        let end = data.iter().rposition(|b| !is_json_ws(*b))?;
        if data[end] != b'}' || end < start {
            return None;
        }
        let ctx = Ctx::new(self.config.replace_null_with_default);
        let mut de = serde_json::Deserializer::from_slice(&data[start..end]);
        let value = Seed::new(Some(&schema), &ctx).deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(SchemaAndValue::new(Some(schema), value))
    }

    fn read_envelope(&self, data: &[u8]) -> Result<SchemaAndValue> {
        let mut de = serde_json::Deserializer::from_slice(data);
        let envelope = de::Deserializer::deserialize_any(&mut de, EnvelopeVisitor)
            .map_err(|e| ConnectError::data(format!("{READ_ERROR}{e}")))?;
        let (Some(schema_raw), Some(payload_raw), false) =
            (envelope.schema, envelope.payload, envelope.other)
        else {
            return Err(ConnectError::data(ENVELOPE_ERROR));
        };
        let schema = self.as_connect_schema(schema_raw.get())?;
        let ctx = Ctx::new(self.config.replace_null_with_default);
        let mut de = serde_json::Deserializer::from_str(payload_raw.get());
        let value = Seed::new(schema.as_ref(), &ctx)
            .deserialize(&mut de)
            .map_err(|e| ctx.read_error(e))?;
        Ok(SchemaAndValue::new(schema, value))
    }

    fn build_schema(&self, node: &serde_json::Value) -> Result<Option<SchemaRef>> {
        use serde_json::Value as J;
        if node.is_null() {
            return Ok(None);
        }
        let get = |key: &str| node.as_object().and_then(|o| o.get(key));
        let type_name = match get("type") {
            Some(J::String(s)) => s.as_str(),
            _ => return Err(ConnectError::data("Schema must contain 'type' field")),
        };
        let mut builder = match type_name {
            "boolean" => SchemaBuilder::boolean(),
            "int8" => SchemaBuilder::int8(),
            "int16" => SchemaBuilder::int16(),
            "int32" => SchemaBuilder::int32(),
            "int64" => SchemaBuilder::int64(),
            "float" => SchemaBuilder::float32(),
            "double" => SchemaBuilder::float64(),
            "bytes" => SchemaBuilder::bytes(),
            "string" => SchemaBuilder::string(),
            "array" => {
                let items = match get("items") {
                    None | Some(J::Null) => {
                        return Err(ConnectError::data(
                            "Array schema did not specify the element type",
                        ))
                    }
                    Some(items) => self.build_schema(items)?,
                };
                SchemaBuilder::array(
                    items.ok_or_else(|| ConnectError::data("valueSchema cannot be null."))?,
                )
            }
            "map" => {
                let keys = get("keys")
                    .ok_or_else(|| ConnectError::data("Map schema did not specify the key type"))?;
                let values = get("values").ok_or_else(|| {
                    ConnectError::data("Map schema did not specify the value type")
                })?;
                let keys = self.build_schema(keys)?;
                let values = self.build_schema(values)?;
                SchemaBuilder::map(
                    keys.ok_or_else(|| ConnectError::data("keySchema cannot be null."))?,
                    values.ok_or_else(|| ConnectError::data("valueSchema cannot be null."))?,
                )
            }
            "struct" => {
                let Some(J::Array(fields)) = get("fields") else {
                    return Err(ConnectError::data(
                        "Struct schema's \"fields\" argument is not an array.",
                    ));
                };
                let mut builder = SchemaBuilder::structure();
                for field in fields {
                    let name = match field.as_object().and_then(|o| o.get("field")) {
                        Some(J::String(s)) => s.clone(),
                        _ => {
                            return Err(ConnectError::data(
                                "Struct schema's field name not specified properly",
                            ))
                        }
                    };
                    let schema = self.build_schema(field)?.ok_or_else(|| {
                        ConnectError::data("Struct schema's field name not specified properly")
                    })?;
                    builder = builder.field(name, schema)?;
                }
                builder
            }
            other => return Err(ConnectError::data(format!("Unknown schema type: {other}"))),
        };
        builder = match get("optional") {
            Some(J::Bool(true)) => builder.optional(),
            _ => builder.required(),
        };
        if let Some(J::String(name)) = get("name") {
            builder = builder.name(name.clone());
        }
        if let Some(J::Number(n)) = get("version") {
            if let Some(v) = n.as_i64() {
                builder = builder.version(v as i32);
            } else if let Some(v) = n.as_u64() {
                builder = builder.version(v as i32);
            }
        }
        if let Some(J::String(doc)) = get("doc") {
            builder = builder.doc(doc.clone());
        }
        if let Some(J::Object(params)) = get("parameters") {
            for (k, v) in params {
                let J::String(v) = v else {
                    return Err(ConnectError::data(
                        "Schema parameters must have string values.",
                    ));
                };
                builder = builder.parameter(k.clone(), v.clone());
            }
        }
        if let Some(default) = get("default") {
            let partial = builder.clone().build();
            let text = default.to_string();
            let ctx = Ctx::new(self.config.replace_null_with_default);
            let mut de = serde_json::Deserializer::from_str(&text);
            let value = Seed::new(Some(&partial), &ctx)
                .deserialize(&mut de)
                .map_err(|e| ctx.read_error(e))?;
            if !value.is_null() {
                builder = builder.default_value(value)?;
            }
        }
        Ok(Some(builder.build()))
    }
}

crate::impl_data_converter!(
    JsonConverter,
    |c, schema, value| c.from_connect_data(schema, value),
    |c, data| c.to_connect_data(data)
);

/// Writes `value` as schemaless JSON, the format of Connect's internal topics (offsets,
/// configs, status): what `JsonConverter` with `schemas.enable=false` writes, with the
/// defaults `replace.null.with.default=true` and `decimal.format=BASE64`. Unlike the
/// converter, a null value without schema is written as the text `null`, not a tombstone.
pub fn to_json_bytes(schema: Option<&SchemaRef>, value: &Value) -> Result<Vec<u8>> {
    let config = JsonConverterConfig {
        schemas_enable: false,
        ..JsonConverterConfig::default()
    };
    let mut out = Vec::with_capacity(64);
    Writer::new(&mut out, &config).value(schema.map(|s| &**s), value)?;
    Ok(out)
}

/// Reads schemaless JSON the way Connect reads its internal topics: objects become
/// `Value::Map` with `Value::String` keys in document order (a repeated key keeps its first
/// position and its last value, as Jackson does), integers `Int64`, other numbers `Float64`,
/// empty input `Null`. Content after the first JSON value is ignored, as Jackson does.
pub fn parse_schemaless(bytes: &[u8]) -> Result<Value> {
    Ok(JsonConverter::schemaless()
        .to_connect_data(Some(bytes))?
        .value)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a cache lock leaves only a cache behind; keep using it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_json_ws_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

// ---------------------------------------------------------------------------------------
// Caches

/// Rendered schema JSON by schema. Entries hold a clone of the `SchemaRef`, so a pointer
/// cannot be reused for another schema while it is cached; equal schemas behind other
/// pointers are found through a structural hash.
/// A schema and its rendered JSON.
type Rendered = (SchemaRef, Arc<[u8]>);

#[derive(Default)]
struct WriteCache {
    by_ptr: FxHashMap<usize, Rendered>,
    by_hash: FxHashMap<u64, Vec<Rendered>>,
}

impl WriteCache {
    fn copy_into(&mut self, schema: &SchemaRef, out: &mut Vec<u8>) -> bool {
        let ptr = Arc::as_ptr(schema) as usize;
        if let Some((_, bytes)) = self.by_ptr.get(&ptr) {
            out.extend_from_slice(bytes);
            return true;
        }
        let hash = schema_hash(schema);
        let found = self
            .by_hash
            .get(&hash)
            .and_then(|bucket| bucket.iter().find(|(s, _)| **s == **schema))
            .map(|(_, bytes)| bytes.clone());
        if let Some(bytes) = found {
            out.extend_from_slice(&bytes);
            self.by_ptr.insert(ptr, (schema.clone(), bytes));
            return true;
        }
        false
    }

    fn insert(&mut self, schema: &SchemaRef, bytes: Arc<[u8]>, capacity: usize) {
        if self.by_ptr.len() >= capacity {
            self.by_ptr.clear();
            self.by_hash.clear();
        }
        let ptr = Arc::as_ptr(schema) as usize;
        self.by_ptr.insert(ptr, (schema.clone(), bytes.clone()));
        self.by_hash
            .entry(schema_hash(schema))
            .or_default()
            .push((schema.clone(), bytes));
    }
}

/// A hash over everything that identifies a schema except default values.
fn schema_hash(schema: &Schema) -> u64 {
    fn feed(h: &mut FxHasher, s: &Schema) {
        s.schema_type.hash(h);
        s.optional.hash(h);
        s.name.hash(h);
        s.version.hash(h);
        s.doc.hash(h);
        s.parameters.hash(h);
        s.default.is_some().hash(h);
        for f in &s.fields {
            f.name.hash(h);
            feed(h, &f.schema);
        }
        if let Some(k) = &s.key_schema {
            feed(h, k);
        }
        if let Some(v) = &s.value_schema {
            feed(h, v);
        }
    }
    let mut h = FxHasher::default();
    feed(&mut h, schema);
    h.finish()
}

/// Parsed schemas by their JSON text, plus the last one used for the fast path.
#[derive(Default)]
struct ReadCache {
    last: Option<(Box<str>, SchemaRef)>,
    by_text: FxHashMap<Box<str>, SchemaRef>,
}

impl ReadCache {
    fn get(&mut self, text: &str) -> Option<SchemaRef> {
        if let Some((raw, schema)) = &self.last {
            if **raw == *text {
                return Some(schema.clone());
            }
        }
        let schema = self.by_text.get(text)?.clone();
        self.last = Some((text.into(), schema.clone()));
        Some(schema)
    }

    fn insert(&mut self, text: &str, schema: SchemaRef, capacity: usize) {
        self.last = Some((text.into(), schema.clone()));
        if capacity == 0 {
            return;
        }
        if self.by_text.len() >= capacity {
            self.by_text.clear();
        }
        self.by_text.insert(text.into(), schema);
    }
}

// ---------------------------------------------------------------------------------------
// Writing

/// Jackson's escapes: 0 = as is, b'u' = `\u00XX`, else the letter after the backslash.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0A] = b'n';
    t[0x0C] = b'f';
    t[0x0D] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Appends `s` as a JSON string, escaped as Jackson does (non-ASCII is written as is).
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        let i = next_escape(bytes, start);
        let Some(&b) = bytes.get(i) else {
            break;
        };
        out.extend_from_slice(&bytes[start..i]);
        let esc = ESCAPE[b as usize];
        if esc == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xF) as usize]);
        } else {
            out.push(b'\\');
            out.push(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The index of the first byte at or after `from` that [`ESCAPE`] escapes (`bytes.len()` if
/// none). Eight bytes at a time while none of them is a control character, `"` or `\`: most
/// strings have none, and a byte-by-byte lookup showed in JsonConverter profiles.
fn next_escape(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Non-zero if some byte of `x` is below `n` (n <= 128); no false negatives.
    let any_below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let mut i = from;
    while let Some(word) = bytes
        .get(i..i + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        let w = u64::from_le_bytes(word);
        let hits = any_below(w, 0x20)
            | any_below(w ^ (ONES * u64::from(b'"')), 1)
            | any_below(w ^ (ONES * u64::from(b'\\')), 1);
        if hits != 0 {
            break;
        }
        i += 8;
    }
    while bytes.get(i).is_some_and(|&b| ESCAPE[b as usize] == 0) {
        i += 1;
    }
    i
}

fn write_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// Java float formatting; Jackson quotes the non-finite values.
fn write_float(out: &mut Vec<u8>, v: f64, single: bool) {
    let text = java_float_to_string(v, single);
    if v.is_finite() {
        out.extend_from_slice(text.as_bytes());
    } else {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    let len = bytes.len().div_ceil(3) * 4;
    out.resize(start + len, 0);
    let written = BASE64.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
    out.push(b'"');
}

/// `BigInteger.toByteArray()` form: the shortest two's-complement encoding.
fn minimal_twos_complement(bytes: &[u8]) -> &[u8] {
    if bytes.is_empty() {
        return &[0];
    }
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    &bytes[start..]
}

#[derive(Clone, Copy)]
enum Logical {
    Decimal,
    Date,
    Time,
    Timestamp,
}

/// The logical type a schema stands for, when its physical type matches.
fn logical_of(schema: &Schema) -> Option<Logical> {
    let name = schema.name.as_deref()?;
    match (name, schema.schema_type) {
        (logical::DECIMAL_NAME, SchemaType::Bytes) => Some(Logical::Decimal),
        (logical::DATE_NAME, SchemaType::Int32) => Some(Logical::Date),
        (logical::TIME_NAME, SchemaType::Int32) => Some(Logical::Time),
        (logical::TIMESTAMP_NAME, SchemaType::Int64) => Some(Logical::Timestamp),
        _ => None,
    }
}

fn type_name(t: SchemaType) -> &'static str {
    match t {
        SchemaType::Float32 => "float",
        SchemaType::Float64 => "double",
        other => other.lower_name(),
    }
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    config: &'a JsonConverterConfig,
}

impl<'a> Writer<'a> {
    fn new(out: &'a mut Vec<u8>, config: &'a JsonConverterConfig) -> Self {
        Writer { out, config }
    }

    /// `asJsonSchema`, with `"field"` appended for struct fields.
    fn schema(&mut self, schema: &Schema, field: Option<&str>) -> Result<()> {
        self.out.extend_from_slice(b"{\"type\":\"");
        self.out
            .extend_from_slice(type_name(schema.schema_type).as_bytes());
        self.out.push(b'"');
        match schema.schema_type {
            SchemaType::Array => {
                self.out.extend_from_slice(b",\"items\":");
                self.optional_schema(schema.value_schema.as_deref())?;
            }
            SchemaType::Map => {
                self.out.extend_from_slice(b",\"keys\":");
                self.optional_schema(schema.key_schema.as_deref())?;
                self.out.extend_from_slice(b",\"values\":");
                self.optional_schema(schema.value_schema.as_deref())?;
            }
            SchemaType::Struct => {
                self.out.extend_from_slice(b",\"fields\":[");
                for (i, f) in schema.fields.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.schema(&f.schema, Some(&f.name))?;
                }
                self.out.push(b']');
            }
            _ => {}
        }
        self.out.extend_from_slice(if schema.optional {
            b",\"optional\":true"
        } else {
            b",\"optional\":false"
        });
        if let Some(name) = &schema.name {
            self.out.extend_from_slice(b",\"name\":");
            write_json_string(self.out, name);
        }
        if let Some(version) = schema.version {
            self.out.extend_from_slice(b",\"version\":");
            write_int(self.out, version);
        }
        if let Some(doc) = &schema.doc {
            self.out.extend_from_slice(b",\"doc\":");
            write_json_string(self.out, doc);
        }
        if !schema.parameters.is_empty() {
            self.out.extend_from_slice(b",\"parameters\":{");
            for (i, (k, v)) in schema.parameters.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                write_json_string(self.out, k);
                self.out.push(b':');
                write_json_string(self.out, v);
            }
            self.out.push(b'}');
        }
        if let Some(default) = schema.default.as_ref().filter(|d| !d.is_null()) {
            self.out.extend_from_slice(b",\"default\":");
            self.value(Some(schema), default)?;
        }
        if let Some(field) = field {
            self.out.extend_from_slice(b",\"field\":");
            write_json_string(self.out, field);
        }
        self.out.push(b'}');
        Ok(())
    }

    fn optional_schema(&mut self, schema: Option<&Schema>) -> Result<()> {
        match schema {
            Some(s) => self.schema(s, None),
            None => {
                self.out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }

    /// `convertToJson`.
    fn value(&mut self, schema: Option<&Schema>, value: &Value) -> Result<()> {
        if value.is_null() {
            let Some(schema) = schema else {
                self.out.extend_from_slice(b"null");
                return Ok(());
            };
            if self.config.replace_null_with_default {
                if let Some(default) = schema.default.as_ref().filter(|d| !d.is_null()) {
                    return self.value(Some(schema), default);
                }
            }
            if schema.optional {
                self.out.extend_from_slice(b"null");
                return Ok(());
            }
            return Err(ConnectError::data(
                "Conversion error: null value for field that is required and has no default value",
            ));
        }
        if let Some(logical) = schema.and_then(logical_of) {
            return self.logical(logical, schema, value);
        }
        let schema_type = match schema {
            Some(s) => s.schema_type,
            // Non-null values always have a type.
            None => value.inferred_type().unwrap_or(SchemaType::String),
        };
        match (schema_type, value) {
            (SchemaType::Int8, Value::Int8(v)) => write_int(self.out, *v),
            (SchemaType::Int16, Value::Int16(v)) => write_int(self.out, *v),
            (SchemaType::Int32, Value::Int32(v)) => write_int(self.out, *v),
            (SchemaType::Int64, Value::Int64(v)) => write_int(self.out, *v),
            (SchemaType::Float32, Value::Float32(v)) => write_float(self.out, f64::from(*v), true),
            (SchemaType::Float64, Value::Float64(v)) => write_float(self.out, *v, false),
            (SchemaType::Boolean, Value::Boolean(v)) => {
                self.out
                    .extend_from_slice(if *v { b"true" } else { b"false" })
            }
            (SchemaType::String, Value::String(s)) => write_json_string(self.out, s),
            (SchemaType::Bytes, Value::Bytes(b)) => write_base64(self.out, b),
            (SchemaType::Bytes, other) => {
                return Err(ConnectError::data(format!(
                    "Invalid type for bytes type: {}",
                    other.java_class_name()
                )))
            }
            (SchemaType::Array, Value::Array(items)) => {
                let items_schema = schema.and_then(|s| s.value_schema.as_deref());
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.value(items_schema, item)?;
                }
                self.out.push(b']');
            }
            (SchemaType::Map, Value::Map(entries)) => self.map(schema, entries)?,
            (SchemaType::Struct, Value::Struct(s)) => {
                let Some(schema) =
                    schema.filter(|sc| std::ptr::eq(&**s.schema(), *sc) || **s.schema() == **sc)
                else {
                    return Err(ConnectError::data("Mismatching schema."));
                };
                self.out.push(b'{');
                for (field, v) in schema.fields.iter().zip(s.values()) {
                    if field.index > 0 {
                        self.out.push(b',');
                    }
                    write_json_string(self.out, &field.name);
                    self.out.push(b':');
                    self.value(Some(&field.schema), v)?;
                }
                self.out.push(b'}');
            }
            (SchemaType::Struct, _) => return Err(ConnectError::data("Mismatching schema.")),
            (t, other) => {
                return Err(ConnectError::data(format!(
                    "Invalid type for {t}: {}",
                    other.java_class_name()
                )))
            }
        }
        Ok(())
    }

    fn map(&mut self, schema: Option<&Schema>, entries: &[(Value, Value)]) -> Result<()> {
        let key_schema = schema.and_then(|s| s.key_schema.as_deref());
        let value_schema = schema.and_then(|s| s.value_schema.as_deref());
        let object_mode = match key_schema {
            Some(k) => k.schema_type == SchemaType::String,
            None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
        };
        if object_mode {
            self.out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.map_key(key_schema, k)?;
                self.out.push(b':');
                self.value(value_schema, v)?;
            }
            self.out.push(b'}');
        } else {
            self.out.push(b'[');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.out.push(b'[');
                self.value(key_schema, k)?;
                self.out.push(b',');
                self.value(value_schema, v)?;
                self.out.push(b']');
            }
            self.out.push(b']');
        }
        Ok(())
    }

    /// `convertToJson(keySchema, key).asText()` as an object key.
    fn map_key(&mut self, key_schema: Option<&Schema>, key: &Value) -> Result<()> {
        match key {
            Value::String(s) => {
                write_json_string(self.out, s);
                Ok(())
            }
            _ => {
                let mut text = Vec::new();
                Writer::new(&mut text, self.config).value(key_schema, key)?;
                // Only a null (or a string default) reaches here: the node's asText().
                let text = match serde_json::from_slice::<serde_json::Value>(&text) {
                    Ok(serde_json::Value::String(s)) => s,
                    _ => String::from_utf8_lossy(&text).into_owned(),
                };
                write_json_string(self.out, &text);
                Ok(())
            }
        }
    }

    fn logical(&mut self, logical: Logical, schema: Option<&Schema>, value: &Value) -> Result<()> {
        let (what, expected) = match logical {
            Logical::Decimal => ("Decimal", "BigDecimal"),
            Logical::Date => ("Date", "Date"),
            Logical::Time => ("Time", "Date"),
            Logical::Timestamp => ("Timestamp", "Date"),
        };
        match (logical, value) {
            (Logical::Decimal, Value::Bytes(b)) => {
                let scale = match schema {
                    Some(s) => logical::decimal_scale(s)?,
                    None => 0,
                };
                let unscaled = minimal_twos_complement(b);
                match self.config.decimal_format {
                    DecimalFormat::Base64 => write_base64(self.out, unscaled),
                    DecimalFormat::Numeric => {
                        let text = Decimal::from_bytes(unscaled, scale).to_java_string();
                        self.out.extend_from_slice(text.as_bytes());
                    }
                }
            }
            (Logical::Date | Logical::Time, Value::Int32(v)) => write_int(self.out, *v),
            (Logical::Timestamp, Value::Int64(v)) => write_int(self.out, *v),
            (_, other) => {
                return Err(ConnectError::data(format!(
                    "Invalid type for {what}, expected {expected} but was {}",
                    other.java_class_name()
                )))
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Reading

/// The envelope's two members, as unparsed JSON text.
struct Envelope<'a> {
    schema: Option<&'a RawValue>,
    payload: Option<&'a RawValue>,
    /// Not an object, or an object with other members.
    other: bool,
}

struct EnvelopeVisitor;

impl EnvelopeVisitor {
    fn not_object<'a>() -> Envelope<'a> {
        Envelope {
            schema: None,
            payload: None,
            other: true,
        }
    }
}

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut env = Envelope {
            schema: None,
            payload: None,
            other: false,
        };
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            match &*key.0 {
                "schema" => env.schema = Some(map.next_value()?),
                "payload" => env.payload = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    env.other = true;
                }
            }
        }
        Ok(env)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::not_object())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Self::not_object())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Self::not_object())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Self::not_object())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Self::not_object())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Self::not_object())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Self::not_object())
    }
}

/// A string that borrows from the input unless it had escapes.
struct CowStr<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Per-read state: the config flag and the data error that stopped the parse, if any.
/// serde errors carry only text, so the typed error travels beside them.
struct Ctx {
    replace_null: bool,
    error: RefCell<Option<ConnectError>>,
}

impl Ctx {
    fn new(replace_null: bool) -> Self {
        Ctx {
            replace_null,
            error: RefCell::new(None),
        }
    }

    fn fail<E: de::Error>(&self, error: ConnectError) -> E {
        let message = error.message().to_string();
        *self.error.borrow_mut() = Some(error);
        E::custom(message)
    }

    /// The data error if one was recorded, else a serialization error.
    fn read_error(&self, e: serde_json::Error) -> ConnectError {
        match self.error.borrow_mut().take() {
            Some(error) => error,
            None => ConnectError::data(format!("{READ_ERROR}{e}")),
        }
    }

    /// `convertToConnect(schema, null)`.
    fn null_value(&self, schema: &Schema) -> Result<Value> {
        if self.replace_null {
            if let Some(default) = &schema.default {
                return Ok(default.clone());
            }
        }
        if schema.optional {
            Ok(Value::Null)
        } else {
            Err(ConnectError::data(format!(
                "Invalid null value for required {} field",
                schema.schema_type
            )))
        }
    }
}

/// Deserializes one value following an optional schema (`convertToConnect`).
#[derive(Clone, Copy)]
struct Seed<'s> {
    schema: Option<&'s SchemaRef>,
    ctx: &'s Ctx,
}

impl<'s> Seed<'s> {
    fn new(schema: Option<&'s SchemaRef>, ctx: &'s Ctx) -> Self {
        Seed { schema, ctx }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let Some(schema) = self.schema else {
            return d.deserialize_any(Schemaless { ctx: self.ctx });
        };
        if let Some(Logical::Decimal) = logical_of(schema) {
            // The exact number text is needed, so take the raw value.
            let raw = <&RawValue>::deserialize(d)?;
            return read_decimal(raw.get(), schema, self.ctx).map_err(|e| self.ctx.fail(e));
        }
        d.deserialize_any(Typed {
            schema,
            logical: logical_of(schema),
            ctx: self.ctx,
        })
    }
}

fn read_decimal(text: &str, schema: &Schema, ctx: &Ctx) -> Result<Value> {
    let invalid_bytes = || ConnectError::data("Invalid bytes for Decimal field");
    match text.as_bytes().first() {
        Some(b'n') => ctx.null_value(schema),
        Some(b'"') => {
            let s: String = serde_json::from_str(text).map_err(|_| invalid_bytes())?;
            let bytes = BASE64.decode(s.as_bytes()).map_err(|_| invalid_bytes())?;
            if bytes.is_empty() {
                return Err(invalid_bytes());
            }
            logical::decimal_scale(schema).map_err(|_| invalid_bytes())?;
            Ok(Value::Bytes(bytes))
        }
        Some(b'-' | b'0'..=b'9') => {
            let scale = logical::decimal_scale(schema)?;
            let parsed = Decimal::parse(text).ok_or_else(invalid_bytes)?;
            let rescaled = rescale(&parsed, scale).ok_or_else(|| {
                ConnectError::data(format!(
                    "Decimal value {text} does not fit the scale {scale} of its Decimal schema"
                ))
            })?;
            Ok(Value::Bytes(rescaled.unscaled))
        }
        first => Err(ConnectError::data(format!(
            "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
            node_type_of(first.copied())
        ))),
    }
}

/// The same number with another scale, if no digits are lost.
pub(crate) fn rescale(d: &Decimal, scale: i32) -> Option<Decimal> {
    if d.scale == scale {
        return Some(d.clone());
    }
    let unscaled = d.unscaled_string();
    let (negative, digits) = match unscaled.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, unscaled.as_str()),
    };
    let diff = i64::from(scale) - i64::from(d.scale);
    let digits: String = if diff > 0 {
        if digits == "0" {
            "0".into()
        } else {
            let zeros = usize::try_from(diff).ok().filter(|z| *z < 100_000)?;
            format!("{digits}{}", "0".repeat(zeros))
        }
    } else {
        let cut = usize::try_from(-diff).ok()?;
        if digits == "0" {
            "0".into()
        } else if cut >= digits.len() || !digits[digits.len() - cut..].bytes().all(|b| b == b'0') {
            return None;
        } else {
            digits[..digits.len() - cut].to_string()
        }
    };
    let text = if negative {
        format!("-{digits}")
    } else {
        digits
    };
    let mut out = Decimal::parse(&text)?;
    out.scale = scale;
    Some(out)
}

fn node_type_of(first: Option<u8>) -> &'static str {
    match first {
        Some(b'{') => "OBJECT",
        Some(b'[') => "ARRAY",
        Some(b'"') => "STRING",
        Some(b't' | b'f') => "BOOLEAN",
        Some(b'n') => "NULL",
        Some(_) => "NUMBER",
        None => "MISSING",
    }
}

/// Jackson's `intValue()`/`longValue()` of a floating-point node: truncate toward zero, keep
/// the low bits.
fn f64_to_i64_bits(f: f64) -> i64 {
    let t = f.trunc();
    if t.abs() < 9.2e18 {
        t as i64
    } else if t.abs() < 1.7e38 {
        (t as i128) as i64
    } else {
        0
    }
}

/// Reads schemaless JSON: integers as INT64, other numbers as FLOAT64, objects as maps.
struct Schemaless<'s> {
    ctx: &'s Ctx,
}

impl<'de> Visitor<'de> for Schemaless<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Boolean(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        // A BigInteger node; longValue() keeps the low 64 bits.
        Ok(Value::Int64(v as i64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(Seed::new(None, self.ctx))? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        read_string_keyed_map(map, None, self.ctx)
    }
}

/// Map entries with string keys; a repeated key keeps its first position and last value.
fn read_string_keyed_map<'de, A: MapAccess<'de>>(
    mut map: A,
    value_schema: Option<&SchemaRef>,
    ctx: &Ctx,
) -> Result<Value, A::Error> {
    let mut entries: Vec<(Value, Value)> = Vec::new();
    let mut index: Option<FxHashMap<String, usize>> = None;
    while let Some(key) = map.next_key::<CowStr<'de>>()? {
        let value = map.next_value_seed(Seed::new(value_schema, ctx))?;
        let key = key.0;
        let existing = match &index {
            Some(idx) => idx.get(&*key).copied(),
            None => entries.iter().position(|(k, _)| k.as_str() == Some(&key)),
        };
        if let Some(i) = existing {
            entries[i].1 = value;
            continue;
        }
        if let Some(idx) = &mut index {
            idx.insert(key.to_string(), entries.len());
        }
        entries.push((Value::String(key.into_owned()), value));
        if index.is_none() && entries.len() > 16 {
            index = Some(
                entries
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (k, _))| k.as_str().map(|s| (s.to_string(), i)))
                    .collect(),
            );
        }
    }
    Ok(Value::Map(entries))
}

/// Reads a value of a known schema, with Jackson's coercions for mismatched JSON.
struct Typed<'s> {
    schema: &'s SchemaRef,
    logical: Option<Logical>,
    ctx: &'s Ctx,
}

impl Typed<'_> {
    fn fail<E: de::Error>(&self, message: String) -> E {
        self.ctx.fail(ConnectError::data(message))
    }

    fn string_keys(&self) -> bool {
        self.schema
            .key_schema
            .as_ref()
            .is_none_or(|k| k.schema_type == SchemaType::String)
    }

    /// The value a scalar JSON node of `node_type` converts to when it does not match.
    fn mismatch<E: de::Error>(&self, node_type: &str) -> Result<Value, E> {
        if let Some(logical) = self.logical {
            let (name, repr) = match logical {
                Logical::Date => ("Date", "integer"),
                Logical::Time => ("Time", "integer"),
                Logical::Timestamp => ("Timestamp", "integral"),
                Logical::Decimal => ("Decimal", "numeric or bytes"),
            };
            return Err(self.fail(format!(
                "Invalid type for {name}, underlying representation should be {repr} but was {node_type}"
            )));
        }
        Ok(match self.schema.schema_type {
            SchemaType::Boolean => Value::Boolean(false),
            SchemaType::Int8 => Value::Int8(0),
            SchemaType::Int16 => Value::Int16(0),
            SchemaType::Int32 => Value::Int32(0),
            SchemaType::Int64 => Value::Int64(0),
            SchemaType::Float32 => Value::Float32(0.0),
            SchemaType::Float64 => Value::Float64(0.0),
            SchemaType::String | SchemaType::Bytes => Value::Null,
            SchemaType::Array => Value::Array(Vec::new()),
            SchemaType::Map if self.string_keys() => {
                return Err(self.fail(format!(
                    "Maps with string fields should be encoded as JSON objects, but found {node_type}"
                )))
            }
            SchemaType::Map => {
                return Err(self.fail(format!(
                    "Maps with non-string fields should be encoded as JSON array of tuples, but found {node_type}"
                )))
            }
            SchemaType::Struct => {
                return Err(self.fail(format!(
                    "Structs should be encoded as JSON objects, but found {node_type}"
                )))
            }
        })
    }

    fn integral<E: de::Error>(&self, v: i64, fits_int: bool) -> Result<Value, E> {
        match self.logical {
            Some(Logical::Date | Logical::Time) if fits_int => return Ok(Value::Int32(v as i32)),
            Some(Logical::Timestamp) => return Ok(Value::Int64(v)),
            Some(_) => return self.mismatch("NUMBER"),
            None => {}
        }
        Ok(match self.schema.schema_type {
            SchemaType::Int8 => Value::Int8(v as i32 as i8),
            SchemaType::Int16 => Value::Int16(v as i32 as i16),
            SchemaType::Int32 => Value::Int32(v as i32),
            SchemaType::Int64 => Value::Int64(v),
            SchemaType::Float32 => Value::Float32(v as f32),
            SchemaType::Float64 => Value::Float64(v as f64),
            _ => return self.mismatch("NUMBER"),
        })
    }
}

impl<'de> Visitor<'de> for Typed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of schema type {}", self.schema.schema_type)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.ctx
            .null_value(self.schema)
            .map_err(|e| self.ctx.fail(e))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        if self.schema.schema_type == SchemaType::Boolean && self.logical.is_none() {
            return Ok(Value::Boolean(v));
        }
        self.mismatch("BOOLEAN")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.integral(v, i32::try_from(v).is_ok())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        if self.schema.schema_type == SchemaType::Float64 && self.logical.is_none() {
            return Ok(Value::Float64(v as f64));
        }
        self.integral(v as i64, i32::try_from(v).is_ok())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        if self.logical.is_some() {
            return self.mismatch("NUMBER");
        }
        Ok(match self.schema.schema_type {
            SchemaType::Float32 => Value::Float32(v as f32),
            SchemaType::Float64 => Value::Float64(v),
            SchemaType::Int8 => Value::Int8(f64_to_i64_bits(v) as i32 as i8),
            SchemaType::Int16 => Value::Int16(f64_to_i64_bits(v) as i32 as i16),
            SchemaType::Int32 => Value::Int32(f64_to_i64_bits(v) as i32),
            SchemaType::Int64 => Value::Int64(f64_to_i64_bits(v)),
            _ => return self.mismatch("NUMBER"),
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        if self.logical.is_none() {
            match self.schema.schema_type {
                SchemaType::String => return Ok(Value::String(v.to_owned())),
                SchemaType::Bytes => {
                    return BASE64
                        .decode(v.as_bytes())
                        .map(Value::Bytes)
                        .map_err(|_| self.fail("Invalid bytes field".to_string()))
                }
                _ => {}
            }
        }
        self.mismatch("STRING")
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        if self.schema.schema_type == SchemaType::String && self.logical.is_none() {
            return Ok(Value::String(v));
        }
        self.visit_str(&v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.logical.is_some() {
            return self.mismatch("ARRAY");
        }
        match self.schema.schema_type {
            SchemaType::Array => {
                let items_schema = self.schema.value_schema.as_ref();
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element_seed(Seed::new(items_schema, self.ctx))? {
                    items.push(v);
                }
                Ok(Value::Array(items))
            }
            SchemaType::Map if !self.string_keys() => {
                let key_schema = self.schema.key_schema.as_ref();
                let value_schema = self.schema.value_schema.as_ref();
                let mut entries: Vec<(Value, Value)> = Vec::new();
                while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                    let text = raw.get();
                    if !text.starts_with('[') {
                        return Err(self.fail(format!(
                            "Found invalid map entry instead of array tuple: {}",
                            node_type_of(text.bytes().next())
                        )));
                    }
                    let tuple: Vec<&RawValue> =
                        serde_json::from_str(text).map_err(de::Error::custom)?;
                    if tuple.len() != 2 {
                        return Err(self.fail(format!(
                            "Found invalid map entry, expected length 2 but found :{}",
                            tuple.len()
                        )));
                    }
                    let read = |schema: Option<&SchemaRef>, raw: &RawValue| {
                        let mut de = serde_json::Deserializer::from_str(raw.get());
                        Seed::new(schema, self.ctx).deserialize(&mut de)
                    };
                    let k = read(key_schema, tuple[0]).map_err(de::Error::custom)?;
                    let v = read(value_schema, tuple[1]).map_err(de::Error::custom)?;
                    // A Java HashMap keeps one entry per key; dedupe small maps cheaply.
                    if entries.len() <= 64 {
                        if let Some(slot) = entries.iter_mut().find(|(ek, _)| *ek == k) {
                            slot.1 = v;
                            continue;
                        }
                    }
                    entries.push((k, v));
                }
                Ok(Value::Map(entries))
            }
            _ => {
                let result = self.mismatch("ARRAY")?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(result)
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.logical.is_some() {
            return self.mismatch("OBJECT");
        }
        match self.schema.schema_type {
            SchemaType::Struct => read_struct(map, self.schema, self.ctx),
            SchemaType::Map if self.string_keys() => {
                read_string_keyed_map(map, self.schema.value_schema.as_ref(), self.ctx)
            }
            SchemaType::Array => {
                // Jackson iterates an object's values as if they were array elements.
                let items_schema = self.schema.value_schema.as_ref();
                let mut items = Vec::new();
                while map.next_key::<IgnoredAny>()?.is_some() {
                    items.push(map.next_value_seed(Seed::new(items_schema, self.ctx))?);
                }
                Ok(Value::Array(items))
            }
            _ => {
                let result = self.mismatch("OBJECT")?;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(result)
            }
        }
    }
}

fn read_struct<'de, A: MapAccess<'de>>(
    mut map: A,
    schema: &SchemaRef,
    ctx: &Ctx,
) -> Result<Value, A::Error> {
    let fields = &schema.fields;
    let mut result = Struct::new(schema.clone());
    let mut seen = vec![false; fields.len()];
    let mut next = 0;
    while let Some(key) = map.next_key::<CowStr<'de>>()? {
        // Fields usually arrive in schema order; try the expected one first.
        let index = if fields.get(next).is_some_and(|f| f.name == *key.0) {
            Some(next)
        } else {
            fields.iter().position(|f| f.name == *key.0)
        };
        match index {
            Some(i) => {
                let value = map.next_value_seed(Seed::new(Some(&fields[i].schema), ctx))?;
                result.put_index(i, value);
                seen[i] = true;
                next = i + 1;
            }
            None => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    for (i, field) in fields.iter().enumerate() {
        if !seen[i] {
            let value = ctx.null_value(&field.schema).map_err(|e| ctx.fail(e))?;
            result.put_index(i, value);
        } else if result.values()[i].is_null() && !field.schema.optional {
            // Struct.put's validation of a value that converted to null.
            return Err(ctx.fail(ConnectError::data(format!(
                "Invalid value: null used for required field: \"{}\", schema type: {}",
                field.name, field.schema.schema_type
            ))));
        }
    }
    Ok(Value::Struct(result))
}

#[cfg(test)]
mod tests;
