//! `org.apache.kafka.connect.storage.SimpleHeaderConverter`, the default header converter,
//! with the parts of `org.apache.kafka.connect.data.Values` it uses: `convertToString` on
//! write and `parseString` (type inference from text) on read.
//!
//! The parser is a port of Kafka's `Values.Parser` and `Values.parse` (the pre-3.8 form, the
//! one whose source was available), quirks included: a top-level `42,abc` reads as the INT8
//! 42, numbers with a fractional part become FLOAT32 when they fit one, `[1, null]` falls
//! back to a string because null cannot be aligned with a required element schema, and quoted
//! strings inside arrays and maps keep their escape backslashes.

use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use sluice_api::config::RawConfig;
use sluice_api::converter::HeaderConverter;
use sluice_api::data::logical::{self, Decimal, MILLIS_PER_DAY};
use sluice_api::data::{
    java_float_to_string, schemas, Schema, SchemaAndValue, SchemaBuilder, SchemaRef, SchemaType,
    Value,
};
use sluice_api::{ConnectError, Result};

use crate::time;

/// The Java class name.
pub const CLASS: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// Kafka's `SimpleHeaderConverter`: header values as strings, types inferred on read.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimpleHeaderConverter;

impl SimpleHeaderConverter {
    /// The converter has no configuration; any keys are ignored, as in Kafka.
    pub fn new(_config: &RawConfig) -> Result<Self> {
        Ok(SimpleHeaderConverter)
    }
}

impl HeaderConverter for SimpleHeaderConverter {
    fn from_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        Ok(convert_to_string(schema.map(|s| &**s), value)?.map(String::into_bytes))
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        data: Option<&[u8]>,
    ) -> Result<SchemaAndValue> {
        let Some(data) = data else {
            return Ok(SchemaAndValue::null());
        };
        let text = String::from_utf8_lossy(data);
        // Kafka falls back to the raw bytes on any unexpected failure.
        Ok(parse_string(&text).unwrap_or_else(|_| {
            SchemaAndValue::new(Some(schemas::bytes()), Value::Bytes(data.to_vec()))
        }))
    }
}

// ---------------------------------------------------------------------------------------
// Values.convertToString

/// `Values.convertToString(schema, value)`; `None` for a null value. Logical values are
/// formatted from their schema: Decimal as `BigDecimal.toString()`, Date, Time and Timestamp
/// by Kafka's `dateFormatFor` (which looks at the instant, not the schema: an instant within
/// the first day prints as a time, one at midnight as a date).
pub fn convert_to_string(schema: Option<&Schema>, value: &Value) -> Result<Option<String>> {
    if value.is_null() {
        return Ok(None);
    }
    let mut out = String::new();
    append(&mut out, schema, value, false)?;
    Ok(Some(out))
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn push_instant(out: &mut String, millis: i64) {
    if millis < MILLIS_PER_DAY {
        time::push_time(out, millis);
    } else if millis % MILLIS_PER_DAY == 0 {
        time::push_date(out, millis);
    } else {
        time::push_date(out, millis);
        out.push('T');
        time::push_time(out, millis);
    }
}

fn append(out: &mut String, schema: Option<&Schema>, value: &Value, embedded: bool) -> Result<()> {
    if let Some(s) = schema {
        match (s.name.as_deref(), s.schema_type, value) {
            (Some(logical::DECIMAL_NAME), SchemaType::Bytes, Value::Bytes(b)) => {
                let scale = logical::decimal_scale(s)?;
                out.push_str(&Decimal::from_bytes(b, scale).to_java_string());
                return Ok(());
            }
            (Some(logical::DATE_NAME), SchemaType::Int32, Value::Int32(days)) => {
                push_instant(out, i64::from(*days) * MILLIS_PER_DAY);
                return Ok(());
            }
            (Some(logical::TIME_NAME), SchemaType::Int32, Value::Int32(ms)) => {
                push_instant(out, i64::from(*ms));
                return Ok(());
            }
            (Some(logical::TIMESTAMP_NAME), SchemaType::Int64, Value::Int64(ms)) => {
                push_instant(out, *ms);
                return Ok(());
            }
            _ => {}
        }
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Int8(v) => out.push_str(itoa::Buffer::new().format(*v)),
        Value::Int16(v) => out.push_str(itoa::Buffer::new().format(*v)),
        Value::Int32(v) => out.push_str(itoa::Buffer::new().format(*v)),
        Value::Int64(v) => out.push_str(itoa::Buffer::new().format(*v)),
        Value::Float32(v) => out.push_str(&java_float_to_string(f64::from(*v), true)),
        Value::Float64(v) => out.push_str(&java_float_to_string(*v, false)),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) if embedded => {
            out.push('"');
            out.push_str(&escape(s));
            out.push('"');
        }
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => {
            let encoded = BASE64.encode(b);
            if embedded {
                out.push('"');
                out.push_str(&encoded);
                out.push('"');
            } else {
                out.push_str(&encoded);
            }
        }
        Value::Array(items) => {
            let items_schema = schema.and_then(|s| s.value_schema.as_deref());
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, items_schema, item, true)?;
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let key_schema = schema.and_then(|s| s.key_schema.as_deref());
            let value_schema = schema.and_then(|s| s.value_schema.as_deref());
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, key_schema, k, true)?;
                out.push(':');
                append(out, value_schema, v, true)?;
            }
            out.push('}');
        }
        Value::Struct(st) => {
            out.push('{');
            for (i, field) in st.schema().fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(&escape(&field.name));
                out.push_str("\":");
                let v = st.get(&field.name).unwrap_or(&Value::Null);
                append(out, Some(&field.schema), v, true)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Values.parseString

/// `Values.parseString(text)`: infers a schema and value from text. Null for `null`; an
/// empty text is an empty STRING; anything unrecognised is the whole text as a STRING.
/// An error only when the text cannot be handled at all (nesting too deep), where Kafka's
/// header converter falls back to the raw bytes.
pub fn parse_string(text: &str) -> Result<SchemaAndValue> {
    match parse_text(text, 0) {
        Ok(None) => Ok(SchemaAndValue::null()),
        Ok(Some(parsed)) => {
            let value = to_value(parsed.value, Some(&parsed.schema));
            Ok(SchemaAndValue::new(Some(parsed.schema), value))
        }
        Err(_) => Err(ConnectError::data(format!(
            "Failed to parse the header value '{text}'"
        ))),
    }
}

/// Deeper nesting than this is refused instead of risking the stack.
const MAX_DEPTH: usize = 64;

/// Why parsing stopped. `Data` is Kafka's DataException, caught by the enclosing array or
/// map, which then reads the text as a plain token; `Fatal` is any other exception, which
/// ends the whole parse.
#[derive(Debug)]
enum Fail {
    Data,
    Fatal,
}

/// The Java object a parsed value would be.
#[derive(Clone, Debug, PartialEq)]
enum Pv {
    Null,
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Dec(Decimal),
    Str(String),
    /// A `java.util.Date`: epoch milliseconds.
    Date(i64),
    List(Vec<Pv>),
    Map(Vec<(Pv, Pv)>),
}

struct Parsed {
    schema: SchemaRef,
    value: Pv,
}

fn date_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| logical::date_builder().build()).clone()
}
fn time_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| logical::time_builder().build()).clone()
}
fn timestamp_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| logical::timestamp_builder().build())
        .clone()
}

fn is_temporal(schema: &Schema) -> bool {
    matches!(
        schema.name.as_deref(),
        Some(logical::DATE_NAME | logical::TIME_NAME | logical::TIMESTAMP_NAME)
    )
}

/// Java's `String.trim()`: strips characters up to U+0020.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// `Values.Parser`: a tokenizer splitting on unescaped `: , { } [ ] "`.
struct Parser<'a> {
    original: &'a str,
    pos: usize,
    next_token: Option<&'a str>,
}

impl<'a> Parser<'a> {
    fn new(original: &'a str) -> Self {
        Parser {
            original,
            pos: 0,
            next_token: None,
        }
    }

    fn mark(&self) -> usize {
        self.pos - self.next_token.map_or(0, str::len)
    }

    fn rewind_to(&mut self, position: usize) {
        self.pos = position;
        self.next_token = None;
    }

    fn can_consume_next_token(&self) -> bool {
        self.pos < self.original.len()
    }

    fn has_next(&self) -> bool {
        self.next_token.is_some() || self.can_consume_next_token()
    }

    fn next(&mut self) -> &'a str {
        match self.next_token.take() {
            Some(t) => t,
            None => self.consume_next_token(),
        }
    }

    /// The text of the next `n` tokens, or `None` (and no progress) if there are fewer.
    fn next_n(&mut self, n: usize) -> Option<&'a str> {
        let start = self.mark();
        for _ in 0..n {
            if !self.has_next() {
                self.rewind_to(start);
                return None;
            }
            self.next();
        }
        Some(&self.original[start..self.pos])
    }

    fn consume_next_token(&mut self) -> &'a str {
        let bytes = self.original.as_bytes();
        let mut escaped = false;
        let start = self.pos;
        while self.pos < bytes.len() {
            match bytes[self.pos] {
                b'\\' => escaped = !escaped,
                b':' | b',' | b'{' | b'}' | b'[' | b']' | b'"' => {
                    if !escaped {
                        if start < self.pos {
                            return &self.original[start..self.pos];
                        }
                        self.pos += 1;
                        return &self.original[start..start + 1];
                    }
                    escaped = false;
                }
                _ => escaped = false,
            }
            self.pos += 1;
        }
        &self.original[start..self.pos]
    }

    fn can_consume(&mut self, expected: &str) -> bool {
        if self.is_next(expected) {
            self.next_token = None;
            return true;
        }
        false
    }

    fn is_next(&mut self, expected: &str) -> bool {
        let mut token = match self.next_token {
            Some(t) => t,
            None => {
                if !self.has_next() {
                    return false;
                }
                self.consume_next_token()
            }
        };
        while java_trim(token).is_empty() && self.can_consume_next_token() {
            token = self.consume_next_token();
        }
        self.next_token = Some(token);
        java_trim(token) == expected
    }
}

fn parse_text(text: &str, depth: usize) -> Result<Option<Parsed>, Fail> {
    if text.is_empty() {
        return Ok(Some(Parsed {
            schema: schemas::string(),
            value: Pv::Str(String::new()),
        }));
    }
    parse(&mut Parser::new(text), false, depth)
}

fn can_parse_single_token_literal(p: &mut Parser<'_>, embedded: bool, literal: &str) -> bool {
    let start = p.mark();
    if p.can_consume(literal) && (embedded || !p.has_next()) {
        return true;
    }
    p.rewind_to(start);
    false
}

fn parse(p: &mut Parser<'_>, embedded: bool, depth: usize) -> Result<Option<Parsed>, Fail> {
    if depth > MAX_DEPTH {
        return Err(Fail::Fatal);
    }
    if !p.has_next() {
        return Ok(None);
    }
    if embedded && p.can_consume("\"") {
        let mut content = String::new();
        while p.has_next() {
            if p.can_consume("\"") {
                break;
            }
            content.push_str(p.next());
        }
        // Quoted temporal literals keep their type; everything else quoted is a string.
        if let Some(parsed) = parse_text(&content, depth + 1)? {
            if is_temporal(&parsed.schema) {
                return Ok(Some(parsed));
            }
        }
        return Ok(Some(Parsed {
            schema: schemas::string(),
            value: Pv::Str(content),
        }));
    }
    if can_parse_single_token_literal(p, embedded, "null") {
        return Ok(None);
    }
    for (literal, b) in [("true", true), ("false", false)] {
        if can_parse_single_token_literal(p, embedded, literal) {
            return Ok(Some(Parsed {
                schema: schemas::boolean(),
                value: Pv::Bool(b),
            }));
        }
    }
    let start = p.mark();
    match parse_compound(p, depth) {
        Ok(Some(parsed)) => return Ok(Some(parsed)),
        Ok(None) => {}
        Err(Fail::Data) => p.rewind_to(start),
        Err(Fail::Fatal) => return Err(Fail::Fatal),
    }

    let raw_token = p.next();
    if java_trim(raw_token).is_empty() {
        return Ok(Some(Parsed {
            schema: schemas::string(),
            value: Pv::Str(raw_token.to_string()),
        }));
    }
    let token = java_trim(raw_token);
    let first = token.chars().next().unwrap_or(' ');
    let first_is_digit = first.is_ascii_digit();
    if first_is_digit {
        // A time or timestamp may span 5 tokens, since an unescaped colon is a delimiter.
        let position = p.mark();
        if let Some(remainder) = p.next_n(4) {
            if let Some(t) = parse_as_temporal(&format!("{token}{remainder}")) {
                return Ok(Some(t));
            }
        }
        p.rewind_to(position);
        if let Some(t) = parse_as_temporal(token) {
            return Ok(Some(t));
        }
    }
    if first_is_digit || first == '+' || first == '-' {
        if let Some(n) = parse_number(token) {
            return Ok(Some(n));
        }
    }
    if embedded {
        return Err(Fail::Data);
    }
    Ok(Some(Parsed {
        schema: schemas::string(),
        value: Pv::Str(p.original.to_string()),
    }))
}

/// The array and map part of `Values.parse`: `Ok(None)` when the next token opens neither.
fn parse_compound(p: &mut Parser<'_>, depth: usize) -> Result<Option<Parsed>, Fail> {
    if p.can_consume("[") {
        let mut result = Vec::new();
        let mut element_schema: Option<SchemaRef> = None;
        while p.has_next() {
            if p.can_consume("]") {
                return Ok(Some(match element_schema {
                    Some(es) => {
                        let aligned = result
                            .into_iter()
                            .map(|v| convert_to(&es, v, depth))
                            .collect::<Result<Vec<_>, _>>()?;
                        Parsed {
                            schema: SchemaBuilder::array(es).build(),
                            value: Pv::List(aligned),
                        }
                    }
                    // Every value is null (or the types never agreed).
                    None => Parsed {
                        schema: Arc::new(Schema::of(SchemaType::Array)),
                        value: Pv::List(result),
                    },
                }));
            }
            if p.can_consume(",") {
                return Err(Fail::Data);
            }
            let element = parse(p, true, depth + 1)?;
            element_schema = common_schema_for(element_schema, element.as_ref());
            result.push(element.map_or(Pv::Null, |e| e.value));
            let current = p.mark();
            if p.can_consume("]") {
                p.rewind_to(current);
            } else if !p.can_consume(",") {
                return Err(Fail::Data);
            }
        }
        // Missing a terminating ']' (or an element after a ',').
        return Err(Fail::Data);
    }
    if p.can_consume("{") {
        let mut result: Vec<(Pv, Pv)> = Vec::new();
        let mut key_schema: Option<SchemaRef> = None;
        let mut value_schema: Option<SchemaRef> = None;
        while p.has_next() {
            if p.can_consume("}") {
                let (schema, entries) = match (key_schema, value_schema) {
                    (Some(ks), Some(vs)) => {
                        let mut aligned = Vec::with_capacity(result.len());
                        for (k, v) in result {
                            let k = convert_to(&ks, k, depth)?;
                            let v = convert_to(&vs, v, depth)?;
                            map_put(&mut aligned, k, v);
                        }
                        (SchemaBuilder::map(ks, vs).build(), aligned)
                    }
                    (Some(ks), None) => {
                        let mut aligned = Vec::with_capacity(result.len());
                        for (k, v) in result {
                            let k = convert_to(&ks, k, depth)?;
                            map_put(&mut aligned, k, v);
                        }
                        let mut schema = Schema::of(SchemaType::Map);
                        schema.key_schema = Some(ks);
                        (Arc::new(schema), aligned)
                    }
                    _ => (Arc::new(Schema::of(SchemaType::Map)), result),
                };
                return Ok(Some(Parsed {
                    schema,
                    value: Pv::Map(entries),
                }));
            }
            if p.can_consume(",") {
                return Err(Fail::Data);
            }
            let key = match parse(p, true, depth + 1)? {
                Some(k) if k.value != Pv::Null => k,
                _ => return Err(Fail::Data),
            };
            if !p.can_consume(":") {
                return Err(Fail::Data);
            }
            let value = parse(p, true, depth + 1)?;
            let entry_value = value.as_ref().map_or(Pv::Null, |v| v.value.clone());
            map_put(&mut result, key.value.clone(), entry_value);
            p.can_consume(",");
            key_schema = common_schema_for(key_schema, Some(&key));
            value_schema = common_schema_for(value_schema, value.as_ref());
        }
        return Err(Fail::Data);
    }
    Ok(None)
}

/// `LinkedHashMap.put`: a repeated key keeps its position and takes the new value.
fn map_put(entries: &mut Vec<(Pv, Pv)>, key: Pv, value: Pv) {
    match entries.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => entries.push((key, value)),
    }
}

fn common_schema_for(previous: Option<SchemaRef>, latest: Option<&Parsed>) -> Option<SchemaRef> {
    use SchemaType::*;
    let Some(latest) = latest else {
        return previous;
    };
    let Some(previous) = previous else {
        return Some(latest.schema.clone());
    };
    let new = &latest.schema;
    let (pt, nt) = (previous.schema_type, new.schema_type);
    if pt != nt {
        let widen = match pt {
            Int8 => matches!(nt, Int16 | Int32 | Int64 | Float32 | Float64).then_some(false),
            Int16 => match nt {
                Int8 => Some(true),
                Int32 | Int64 | Float32 | Float64 => Some(false),
                _ => None,
            },
            Int32 => match nt {
                Int8 | Int16 => Some(true),
                Int64 | Float32 | Float64 => Some(false),
                _ => None,
            },
            Int64 => match nt {
                Int8 | Int16 | Int32 => Some(true),
                Float32 | Float64 => Some(false),
                _ => None,
            },
            Float32 => match nt {
                Int8 | Int16 | Int32 | Int64 => Some(true),
                Float64 => Some(false),
                _ => None,
            },
            Float64 => matches!(nt, Int8 | Int16 | Int32 | Int64 | Float32).then_some(true),
            _ => None,
        };
        return match widen {
            Some(true) => Some(previous),
            Some(false) => Some(new.clone()),
            None => None,
        };
    }
    if previous.optional == new.optional {
        return Some(if previous.optional {
            previous
        } else {
            new.clone()
        });
    }
    if *previous != **new {
        return None;
    }
    Some(previous)
}

/// `BigDecimal.longValue()`: the integer part, low 64 bits.
fn decimal_long_value(d: &Decimal) -> i64 {
    let unscaled = d.unscaled_string();
    let (negative, digits) = match unscaled.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, unscaled.as_str()),
    };
    let scale = i64::from(d.scale);
    let int_len = i64::try_from(digits.len()).unwrap_or(i64::MAX) - scale;
    let mut acc: u64 = 0;
    for (i, b) in digits.bytes().enumerate() {
        if i64::try_from(i).unwrap_or(i64::MAX) >= int_len {
            break;
        }
        acc = acc.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
    }
    // A negative scale appends zeros.
    for _ in 0..(-scale).clamp(0, 64) {
        acc = acc.wrapping_mul(10);
    }
    if scale < -64 {
        acc = 0;
    }
    let v = acc as i64;
    if negative {
        v.wrapping_neg()
    } else {
        v
    }
}

/// `new BigDecimal(text)`, Java's grammar.
fn big_decimal(text: &str) -> Option<Decimal> {
    if text.is_empty() || text.starts_with(|c: char| c <= ' ') || text.ends_with(|c: char| c <= ' ')
    {
        return None;
    }
    Decimal::parse(text)
}

fn as_long(value: &Pv) -> Result<i64, Fail> {
    Ok(match value {
        Pv::I8(v) => i64::from(*v),
        Pv::I16(v) => i64::from(*v),
        Pv::I32(v) => i64::from(*v),
        Pv::I64(v) => *v,
        Pv::F32(v) => *v as i64,
        Pv::F64(v) => *v as i64,
        Pv::Dec(d) => decimal_long_value(d),
        Pv::Str(s) => decimal_long_value(&big_decimal(s).ok_or(Fail::Data)?),
        _ => return Err(Fail::Data),
    })
}

fn as_double(value: &Pv) -> Result<f64, Fail> {
    Ok(match value {
        Pv::I8(v) => f64::from(*v),
        Pv::I16(v) => f64::from(*v),
        Pv::I32(v) => f64::from(*v),
        Pv::I64(v) => *v as f64,
        Pv::F32(v) => f64::from(*v),
        Pv::F64(v) => *v,
        Pv::Dec(d) => d.to_f64(),
        Pv::Str(s) => match big_decimal(s) {
            Some(d) => d.to_f64(),
            None => as_long(value)? as f64,
        },
        _ => as_long(value)? as f64,
    })
}

/// `Values.convertTo(toSchema, null, value)` for the schemas `parse` infers.
fn convert_to(to: &Schema, value: Pv, depth: usize) -> Result<Pv, Fail> {
    if value == Pv::Null {
        return if to.optional {
            Ok(Pv::Null)
        } else {
            Err(Fail::Data)
        };
    }
    let name = to.name.as_deref();
    let reparse = |value: Pv| -> Result<Pv, Fail> {
        match value {
            Pv::Str(s) => Ok(parse_text(&s, depth + 1)?.map_or(Pv::Null, |p| p.value)),
            other => Ok(other),
        }
    };
    Ok(match to.schema_type {
        SchemaType::Bytes if name == Some(logical::DECIMAL_NAME) => match value {
            Pv::Dec(d) => Pv::Dec(d),
            Pv::Str(s) => match big_decimal(&s) {
                // Kafka returns a Double here.
                Some(d) => Pv::F64(d.to_f64()),
                // A NumberFormatException escapes Values.parse.
                None => return Err(Fail::Fatal),
            },
            Pv::Bool(_) | Pv::Date(_) | Pv::List(_) | Pv::Map(_) | Pv::Null => {
                return Err(Fail::Data)
            }
            number => {
                let d = as_double(&number)?;
                let text = java_float_to_string(d, false);
                Pv::Dec(big_decimal(&text).ok_or(Fail::Data)?)
            }
        },
        SchemaType::String => {
            let mut out = String::new();
            append_pv(&mut out, &value, false);
            Pv::Str(out)
        }
        SchemaType::Boolean => match value {
            Pv::Bool(b) => Pv::Bool(b),
            Pv::Str(s) => match parse_text(&s, depth + 1)? {
                Some(Parsed {
                    value: Pv::Bool(b), ..
                }) => Pv::Bool(b),
                _ => Pv::Bool(as_long(&Pv::Str(s))? != 0),
            },
            other => Pv::Bool(as_long(&other)? != 0),
        },
        SchemaType::Int8 => match value {
            Pv::I8(v) => Pv::I8(v),
            other => Pv::I8(as_long(&other)? as i8),
        },
        SchemaType::Int16 => match value {
            Pv::I16(v) => Pv::I16(v),
            other => Pv::I16(as_long(&other)? as i16),
        },
        SchemaType::Int32 if name == Some(logical::DATE_NAME) => match reparse(value)? {
            Pv::Date(ms) => Pv::Date(ms),
            other => Pv::Date(i64::from(as_long(&other)? as i32) * MILLIS_PER_DAY),
        },
        SchemaType::Int32 if name == Some(logical::TIME_NAME) => match reparse(value)? {
            Pv::Date(ms) => Pv::Date(ms),
            other => {
                let ms = as_long(&other)? as i32;
                if !(0..=MILLIS_PER_DAY as i32).contains(&ms) {
                    return Err(Fail::Data);
                }
                Pv::Date(i64::from(ms))
            }
        },
        SchemaType::Int32 => match value {
            Pv::I32(v) => Pv::I32(v),
            other => Pv::I32(as_long(&other)? as i32),
        },
        SchemaType::Int64 if name == Some(logical::TIMESTAMP_NAME) => match reparse(value)? {
            Pv::Date(ms) => Pv::Date(ms),
            other => Pv::Date(as_long(&other)?),
        },
        SchemaType::Int64 => match value {
            Pv::I64(v) => Pv::I64(v),
            other => Pv::I64(as_long(&other)?),
        },
        SchemaType::Float32 => match value {
            Pv::F32(v) => Pv::F32(v),
            other => Pv::F32(as_double(&other)? as f32),
        },
        SchemaType::Float64 => match value {
            Pv::F64(v) => Pv::F64(v),
            other => Pv::F64(as_double(&other)?),
        },
        SchemaType::Array => match reparse(value)? {
            list @ Pv::List(_) => list,
            _ => return Err(Fail::Data),
        },
        SchemaType::Map => match reparse(value)? {
            map @ Pv::Map(_) => map,
            _ => return Err(Fail::Data),
        },
        SchemaType::Bytes | SchemaType::Struct => return Err(Fail::Data),
    })
}

/// `Values.append` for parsed values (no schema: the Java objects describe themselves).
fn append_pv(out: &mut String, value: &Pv, embedded: bool) {
    match value {
        Pv::Null => out.push_str("null"),
        Pv::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Pv::I8(v) => out.push_str(itoa::Buffer::new().format(*v)),
        Pv::I16(v) => out.push_str(itoa::Buffer::new().format(*v)),
        Pv::I32(v) => out.push_str(itoa::Buffer::new().format(*v)),
        Pv::I64(v) => out.push_str(itoa::Buffer::new().format(*v)),
        Pv::F32(v) => out.push_str(&java_float_to_string(f64::from(*v), true)),
        Pv::F64(v) => out.push_str(&java_float_to_string(*v, false)),
        Pv::Dec(d) => out.push_str(&d.to_java_string()),
        Pv::Str(s) if embedded => {
            out.push('"');
            out.push_str(&escape(s));
            out.push('"');
        }
        Pv::Str(s) => out.push_str(s),
        Pv::Date(ms) => push_instant(out, *ms),
        Pv::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append_pv(out, item, true);
            }
            out.push(']');
        }
        Pv::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append_pv(out, k, true);
                out.push(':');
                append_pv(out, v, true);
            }
            out.push('}');
        }
    }
}

/// The number `new BigDecimal(token)` reads, typed as `Values.parse` types it.
fn parse_number(token: &str) -> Option<Parsed> {
    let decimal = big_decimal(token)?;
    if let Some(v) = exact_i64(&decimal) {
        let (schema, value) = if let Ok(b) = i8::try_from(v) {
            (schemas::int8(), Pv::I8(b))
        } else if let Ok(s) = i16::try_from(v) {
            (schemas::int16(), Pv::I16(s))
        } else if let Ok(i) = i32::try_from(v) {
            (schemas::int32(), Pv::I32(i))
        } else {
            (schemas::int64(), Pv::I64(v))
        };
        return Some(Parsed { schema, value });
    }
    let text = decimal.to_java_string();
    if decimal.scale != 0 {
        if let Ok(f) = text.parse::<f32>() {
            if f.is_finite() {
                return Some(Parsed {
                    schema: schemas::float32(),
                    value: Pv::F32(f),
                });
            }
        }
        if let Ok(d) = text.parse::<f64>() {
            if d.is_finite() {
                return Some(Parsed {
                    schema: schemas::float64(),
                    value: Pv::F64(d),
                });
            }
        }
    }
    Some(Parsed {
        schema: logical::decimal(decimal.scale),
        value: Pv::Dec(decimal),
    })
}

/// The value as an i64 when it is integral and in range (`longValueExact`).
fn exact_i64(d: &Decimal) -> Option<i64> {
    let unscaled = d.unscaled_string();
    let (negative, digits) = match unscaled.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, unscaled.as_str()),
    };
    if digits == "0" {
        return Some(0);
    }
    let integer: String = if d.scale <= 0 {
        let zeros = usize::try_from(-i64::from(d.scale)).ok()?;
        if digits.len() + zeros > 19 {
            return None;
        }
        format!("{digits}{}", "0".repeat(zeros))
    } else {
        let scale = usize::try_from(d.scale).ok()?;
        if scale >= digits.len() {
            return None;
        }
        let (int_part, frac) = digits.split_at(digits.len() - scale);
        if !frac.bytes().all(|b| b == b'0') {
            return None;
        }
        int_part.to_string()
    };
    if integer.len() > 19 {
        return None;
    }
    let magnitude: i128 = integer.parse().ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// `SimpleDateFormat` parsing of Kafka's three ISO-8601 patterns (lenient, UTC; trailing
/// text after the pattern is ignored, as `DateFormat.parse` does).
fn parse_as_temporal(token: &str) -> Option<Parsed> {
    let token = token.replace("\\:", ":");
    let len = token.encode_utf16().count();
    let mut cursor = Cursor {
        s: token.as_bytes(),
        pos: 0,
    };
    let (schema, millis) = match len {
        13 => (time_schema(), cursor.time()?),
        24 => {
            let days = cursor.date()?;
            cursor.literal(b'T')?;
            (timestamp_schema(), days * MILLIS_PER_DAY + cursor.time()?)
        }
        10 => (date_schema(), cursor.date()? * MILLIS_PER_DAY),
        _ => return None,
    };
    Some(Parsed {
        schema,
        value: Pv::Date(millis),
    })
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn number(&mut self) -> Option<i64> {
        let negative = self.s.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        if start == self.pos {
            return None;
        }
        let v: i64 = std::str::from_utf8(&self.s[start..self.pos])
            .ok()?
            .parse()
            .ok()?;
        Some(if negative { -v } else { v })
    }

    fn literal(&mut self, c: u8) -> Option<()> {
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    /// `yyyy-MM-dd` as days since the epoch.
    fn date(&mut self) -> Option<i64> {
        let y = self.number()?;
        self.literal(b'-')?;
        let m = self.number()?;
        self.literal(b'-')?;
        let d = self.number()?;
        Some(time::lenient_days(y, m, d))
    }

    /// `HH:mm:ss.SSS'Z'` as milliseconds.
    fn time(&mut self) -> Option<i64> {
        let h = self.number()?;
        self.literal(b':')?;
        let m = self.number()?;
        self.literal(b':')?;
        let s = self.number()?;
        self.literal(b'.')?;
        let ms = self.number()?;
        self.literal(b'Z')?;
        Some(h * 3_600_000 + m * 60_000 + s * 1000 + ms)
    }
}

/// The Connect value for a parsed Java object under its inferred schema.
fn to_value(pv: Pv, schema: Option<&Schema>) -> Value {
    match pv {
        Pv::Null => Value::Null,
        Pv::Bool(b) => Value::Boolean(b),
        Pv::I8(v) => Value::Int8(v),
        Pv::I16(v) => Value::Int16(v),
        Pv::I32(v) => Value::Int32(v),
        Pv::I64(v) => Value::Int64(v),
        Pv::F32(v) => Value::Float32(v),
        Pv::F64(v) => Value::Float64(v),
        Pv::Str(s) => Value::String(s),
        Pv::Dec(d) => {
            let target = schema.and_then(|s| logical::decimal_scale(s).ok());
            let d = match target {
                Some(scale) => crate::json::rescale(&d, scale).unwrap_or(d),
                None => d,
            };
            Value::Bytes(d.unscaled)
        }
        Pv::Date(ms) => match schema.and_then(|s| s.name.as_deref()) {
            Some(logical::DATE_NAME) => Value::Int32(ms.div_euclid(MILLIS_PER_DAY) as i32),
            Some(logical::TIME_NAME) => Value::Int32(ms as i32),
            _ => Value::Int64(ms),
        },
        Pv::List(items) => {
            let items_schema = schema.and_then(|s| s.value_schema.as_deref());
            Value::Array(
                items
                    .into_iter()
                    .map(|v| to_value(v, items_schema))
                    .collect(),
            )
        }
        Pv::Map(entries) => {
            let key_schema = schema.and_then(|s| s.key_schema.as_deref());
            let value_schema = schema.and_then(|s| s.value_schema.as_deref());
            Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (to_value(k, key_schema), to_value(v, value_schema)))
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests;
