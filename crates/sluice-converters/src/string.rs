//! `org.apache.kafka.connect.storage.StringConverter`: writes a value's Java `toString()` in
//! the configured character set and reads bytes back as an optional string.

use std::fmt;

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigType, Importance, Parsed, RawConfig, Validator, Width,
};
use sluice_api::converter::ConverterRole;
use sluice_api::data::logical::{self, Decimal};
use sluice_api::data::{schemas, Schema, SchemaAndValue, SchemaRef, SchemaType, Value};
use sluice_api::Result;

/// The Java class name.
pub const CLASS: &str = "org.apache.kafka.connect.storage.StringConverter";
pub const ENCODING_CONFIG: &str = "converter.encoding";

const SUPPORTED: &str = "UTF-8, US-ASCII, ISO-8859-1, UTF-16BE, UTF-16LE, UTF-16";

fn check_encoding(_key: &str, value: &Parsed) -> Result<(), String> {
    match value {
        Parsed::Str(name) if Encoding::from_java_name(name).is_none() => Err(format!(
            "Unsupported encoding; supported encodings (and their Java aliases) are {SUPPORTED}"
        )),
        _ => Ok(()),
    }
}

/// `StringConverterConfig.configDef()`.
pub fn config_def() -> ConfigDef {
    crate::converter_config_def().define(
        ConfigKey::new(ENCODING_CONFIG, ConfigType::String)
            .default_value("UTF-8")
            .validator(Validator::Custom(check_encoding, SUPPORTED))
            .importance(Importance::High)
            .doc("The name of the Java character set to use for encoding strings as byte arrays.")
            .group("Converter", 0)
            .width(Width::Medium)
            .display_name("Encoding"),
    )
}

/// The character sets Java guarantees (`StandardCharsets`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    UsAscii,
    Iso8859_1,
    Utf16Be,
    Utf16Le,
    /// Writes a big-endian byte order mark; reads either order by its mark (default BE).
    Utf16,
}

impl Encoding {
    /// Looks up a Java charset name or alias, case-insensitively.
    pub fn from_java_name(name: &str) -> Option<Self> {
        let n = name.trim().to_ascii_lowercase();
        Some(match n.as_str() {
            "utf-8" | "utf8" | "unicode-1-1-utf-8" => Encoding::Utf8,
            "us-ascii" | "ascii" | "us" | "iso646-us" | "iso-ir-6" | "cp367" | "ibm367"
            | "ascii7" | "646" | "csascii" | "ansi_x3.4-1968" | "ansi_x3.4-1986"
            | "iso_646.irv:1991" | "default" => Encoding::UsAscii,
            "iso-8859-1" | "iso8859_1" | "iso_8859_1" | "iso8859-1" | "iso_8859-1"
            | "iso_8859-1:1987" | "8859_1" | "latin1" | "l1" | "iso-ir-100" | "cp819"
            | "ibm819" | "ibm-819" | "819" | "csisolatin1" => Encoding::Iso8859_1,
            "utf-16be" | "utf_16be" | "x-utf-16be" | "iso-10646-ucs-2" | "unicodebigunmarked" => {
                Encoding::Utf16Be
            }
            "utf-16le" | "utf_16le" | "x-utf-16le" | "unicodelittleunmarked" => Encoding::Utf16Le,
            "utf-16" | "utf_16" | "utf16" | "unicode" | "unicodebig" => Encoding::Utf16,
            _ => return None,
        })
    }

    /// `String.getBytes(charset)`: unmappable characters become `?`.
    pub fn encode_into(self, s: &str, out: &mut Vec<u8>) {
        match self {
            Encoding::Utf8 => out.extend_from_slice(s.as_bytes()),
            Encoding::UsAscii => {
                out.extend(s.chars().map(|c| if c.is_ascii() { c as u8 } else { b'?' }))
            }
            Encoding::Iso8859_1 => out.extend(
                s.chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
            ),
            Encoding::Utf16Be => out.extend(s.encode_utf16().flat_map(u16::to_be_bytes)),
            Encoding::Utf16Le => out.extend(s.encode_utf16().flat_map(u16::to_le_bytes)),
            Encoding::Utf16 => {
                out.extend_from_slice(&[0xFE, 0xFF]);
                out.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
            }
        }
    }

    /// `new String(bytes, charset)`: malformed input becomes U+FFFD.
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Utf8 => match std::str::from_utf8(bytes) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(bytes).into_owned(),
            },
            Encoding::UsAscii => bytes
                .iter()
                .map(|&b| if b.is_ascii() { b as char } else { '\u{FFFD}' })
                .collect(),
            Encoding::Iso8859_1 => bytes.iter().map(|&b| char::from(b)).collect(),
            Encoding::Utf16Be => decode_utf16(bytes, true),
            Encoding::Utf16Le => decode_utf16(bytes, false),
            Encoding::Utf16 => match bytes {
                [0xFE, 0xFF, rest @ ..] => decode_utf16(rest, true),
                [0xFF, 0xFE, rest @ ..] => decode_utf16(rest, false),
                _ => decode_utf16(bytes, true),
            },
        }
    }
}

fn decode_utf16(bytes: &[u8], big_endian: bool) -> String {
    let units = bytes.chunks_exact(2).map(|c| {
        if big_endian {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    });
    let mut s: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or('\u{FFFD}'))
        .collect();
    if bytes.len() % 2 == 1 {
        s.push('\u{FFFD}');
    }
    s
}

/// Java's `toString()` of the object a Connect value stands for. Logical values are the Java
/// objects Kafka would hold: `BigDecimal` text for a Decimal, `java.util.Date.toString()`
/// (in UTC) for Date, Time and Timestamp.
pub(crate) fn java_to_string(schema: Option<&Schema>, value: &Value) -> String {
    if let (Some(schema), Some(name)) = (schema, schema.and_then(|s| s.name.as_deref())) {
        match (name, schema.schema_type, value) {
            (logical::DECIMAL_NAME, SchemaType::Bytes, Value::Bytes(b)) => {
                if let Ok(scale) = logical::decimal_scale(schema) {
                    return Decimal::from_bytes(b, scale).to_java_string();
                }
            }
            (logical::DATE_NAME, SchemaType::Int32, Value::Int32(days)) => {
                return crate::time::java_date_to_string(i64::from(*days) * logical::MILLIS_PER_DAY)
            }
            (logical::TIME_NAME, SchemaType::Int32, Value::Int32(ms)) => {
                return crate::time::java_date_to_string(i64::from(*ms))
            }
            (logical::TIMESTAMP_NAME, SchemaType::Int64, Value::Int64(ms)) => {
                return crate::time::java_date_to_string(*ms)
            }
            _ => {}
        }
    }
    value.to_string()
}

/// Kafka's `StringConverter`, also usable as a header converter.
#[derive(Clone, Debug)]
pub struct StringConverter {
    encoding: Encoding,
}

impl StringConverter {
    /// Builds the converter from its (prefix-stripped) config.
    pub fn new(config: &RawConfig, role: ConverterRole) -> Result<Self> {
        let parsed = crate::parse_config(&config_def(), config, role)?;
        let encoding = parsed
            .string(ENCODING_CONFIG)
            .and_then(Encoding::from_java_name)
            .unwrap_or(Encoding::Utf8);
        Ok(StringConverter { encoding })
    }

    /// A converter with the given encoding.
    pub fn with_encoding(encoding: Encoding) -> Self {
        StringConverter { encoding }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// `fromConnectData`: the value's `toString()` in the configured encoding; null stays null.
    pub fn from_connect_data(&self, schema: Option<&SchemaRef>, value: &Value) -> Option<Vec<u8>> {
        match value {
            Value::Null => None,
            Value::String(s) => {
                let mut out = Vec::with_capacity(s.len() + 2);
                self.encoding.encode_into(s, &mut out);
                Some(out)
            }
            other => {
                let text = java_to_string(schema.map(|s| &**s), other);
                let mut out = Vec::with_capacity(text.len() + 2);
                self.encoding.encode_into(&text, &mut out);
                Some(out)
            }
        }
    }

    /// [`from_connect_data`](Self::from_connect_data) taking the value: a string in UTF-8
    /// becomes its own bytes, without a copy.
    pub fn from_connect_data_owned(
        &self,
        schema: Option<&SchemaRef>,
        value: Value,
    ) -> Option<Vec<u8>> {
        match value {
            Value::String(s) if self.encoding == Encoding::Utf8 => Some(s.into_bytes()),
            other => self.from_connect_data(schema, &other),
        }
    }

    /// `toConnectData`: always `OPTIONAL_STRING_SCHEMA`.
    pub fn to_connect_data(&self, data: Option<&[u8]>) -> SchemaAndValue {
        let value = match data {
            Some(bytes) => Value::String(self.encoding.decode(bytes)),
            None => Value::Null,
        };
        SchemaAndValue::new(Some(schemas::optional_string()), value)
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::UsAscii => "US-ASCII",
            Encoding::Iso8859_1 => "ISO-8859-1",
            Encoding::Utf16Be => "UTF-16BE",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16 => "UTF-16",
        })
    }
}

crate::impl_data_converter!(
    StringConverter,
    |c, schema, value| Ok(c.from_connect_data(schema, value)),
    |c, data| Ok(c.to_connect_data(data))
);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::logical;

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Writes `value` with `encoding` and checks the bytes, then reads them back.
    fn check(
        encoding: &str,
        schema: Option<SchemaRef>,
        value: Value,
        bytes: &[u8],
        read_back: &str,
    ) {
        let c = StringConverter::new(&raw(&[(ENCODING_CONFIG, encoding)]), ConverterRole::Value)
            .unwrap();
        let out = c.from_connect_data(schema.as_ref(), &value).unwrap();
        assert_eq!(out, bytes, "{encoding} {value:?}");
        // The owned path (the runtime's) writes the same bytes.
        assert_eq!(
            c.from_connect_data_owned(schema.as_ref(), value.clone()),
            Some(out.clone()),
            "owned: {encoding} {value:?}"
        );
        let back = c.to_connect_data(Some(&out));
        assert_eq!(
            back.value,
            Value::String(read_back.into()),
            "{encoding} {value:?}"
        );
        assert_eq!(back.schema, Some(schemas::optional_string()));
    }

    #[test]
    fn encodings_and_to_string() {
        check(
            "UTF-8",
            None,
            Value::from("héllo 中文"),
            "héllo 中文".as_bytes(),
            "héllo 中文",
        );
        check("utf8", None, Value::Int32(42), b"42", "42");
        check("US-ASCII", None, Value::from("héllo"), b"h?llo", "h?llo");
        check(
            "latin1",
            None,
            Value::from("héllo€"),
            b"h\xe9llo?",
            "héllo?",
        );
        check("UTF-16BE", None, Value::from("hé"), b"\x00h\x00\xe9", "hé");
        check("UTF-16LE", None, Value::from("hé"), b"h\x00\xe9\x00", "hé");
        check("UTF-16", None, Value::from("h"), b"\xfe\xff\x00h", "h");
        check("UTF-8", None, Value::Float64(1e10), b"1.0E10", "1.0E10");
        check("UTF-8", None, Value::Boolean(true), b"true", "true");
        check(
            "UTF-8",
            None,
            Value::Array(vec![Value::Int32(1), Value::from("a")]),
            b"[1, a]",
            "[1, a]",
        );
        check(
            "UTF-8",
            Some(logical::decimal(2)),
            Value::Bytes(vec![0x04, 0xD2]),
            b"12.34",
            "12.34",
        );
        check(
            "UTF-8",
            Some(logical::timestamp_builder().build()),
            Value::Int64(1_700_000_000_000),
            b"Tue Nov 14 22:13:20 UTC 2023",
            "Tue Nov 14 22:13:20 UTC 2023",
        );
    }

    #[test]
    fn nulls_and_malformed_input() {
        let c = StringConverter::with_encoding(Encoding::Utf8);
        assert_eq!(c.from_connect_data(None, &Value::Null), None);
        let back = c.to_connect_data(None);
        assert_eq!(
            back,
            SchemaAndValue::new(Some(schemas::optional_string()), Value::Null)
        );
        assert_eq!(
            c.to_connect_data(Some(b"a\xffb")).value,
            Value::from("a\u{FFFD}b")
        );
    }

    #[test]
    fn unknown_encoding_is_a_config_error() {
        let e = StringConverter::new(&raw(&[(ENCODING_CONFIG, "EBCDIC-XYZ")]), ConverterRole::Key)
            .unwrap_err();
        assert_eq!(e.kind(), sluice_api::ErrorKind::Config);
        assert_eq!(
            e.message(),
            "Invalid value EBCDIC-XYZ for configuration converter.encoding: Unsupported encoding; supported encodings (and their Java aliases) are UTF-8, US-ASCII, ISO-8859-1, UTF-16BE, UTF-16LE, UTF-16"
        );
    }
}
