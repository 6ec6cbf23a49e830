//! The bytes of source offsets, as Kafka Connect writes them: key
//! `["<connector>",{<partition>}]`, value `{<offset>}`, both compact JSON from the schemaless
//! JsonConverter (non-ASCII unescaped, maps in insertion order).

use base64::Engine as _;
use serde_json::{Map, Number, Value as Json};
use sluice_api::data::Value;
use sluice_api::record::OffsetMap;
use sluice_api::{ConnectError, Result};

fn to_json(v: &Value) -> Result<Json> {
    Ok(match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int8(i) => Json::from(*i),
        Value::Int16(i) => Json::from(*i),
        Value::Int32(i) => Json::from(*i),
        Value::Int64(i) => Json::from(*i),
        Value::Float32(f) => Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number),
        Value::Float64(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        other => {
            return Err(ConnectError::data(format!(
                "Offsets may only contain primitive types as values, but field contains {}",
                other.java_class_name()
            )))
        }
    })
}

fn from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => n
            .as_i64()
            .map(Value::Int64)
            .unwrap_or_else(|| Value::Float64(n.as_f64().unwrap_or(f64::NAN))),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(from_json).collect()),
        Json::Object(m) => Value::Map(
            m.iter()
                .map(|(k, v)| (Value::String(k.clone()), from_json(v)))
                .collect(),
        ),
    }
}

fn map_to_json(m: &OffsetMap) -> Result<Json> {
    let mut out = Map::new();
    for (k, v) in m {
        out.insert(k.to_string(), to_json(v)?);
    }
    Ok(Json::Object(out))
}

fn json_to_map(j: &Json) -> Option<OffsetMap> {
    match j {
        Json::Object(m) => Some(
            m.iter()
                .map(|(k, v)| (k.clone().into(), from_json(v)))
                .collect(),
        ),
        _ => None,
    }
}

/// The key bytes of a connector's source partition.
pub fn encode_key(connector: &str, partition: &OffsetMap) -> Result<Vec<u8>> {
    let key = Json::Array(vec![
        Json::String(connector.to_string()),
        map_to_json(partition)?,
    ]);
    serde_json::to_vec(&key)
        .map_err(|e| ConnectError::data(format!("Could not serialize offset key: {e}")))
}

/// The value bytes of an offset.
pub fn encode_offset(offset: &OffsetMap) -> Result<Vec<u8>> {
    serde_json::to_vec(&map_to_json(offset)?)
        .map_err(|e| ConnectError::data(format!("Could not serialize offset: {e}")))
}

/// Parses key bytes into (connector, partition); `None` if they are not Connect's format.
pub fn decode_key(bytes: &[u8]) -> Option<(String, OffsetMap)> {
    let j: Json = serde_json::from_slice(bytes).ok()?;
    match j {
        Json::Array(items) if items.len() == 2 => {
            let connector = items[0].as_str()?.to_string();
            Some((connector, json_to_map(&items[1])?))
        }
        _ => None,
    }
}

/// A partition or offset as a JSON object (`GET /connectors/{name}/offsets`).
pub fn offset_map_to_json(m: &OffsetMap) -> Result<Map<String, Json>> {
    match map_to_json(m)? {
        Json::Object(o) => Ok(o),
        _ => Ok(Map::new()),
    }
}

/// A partition or offset given as a JSON object (`PATCH /connectors/{name}/offsets`).
pub fn json_to_offset_map(m: &Map<String, Json>) -> OffsetMap {
    m.iter()
        .map(|(k, v)| (k.clone().into(), from_json(v)))
        .collect()
}

/// Parses offset bytes.
pub fn decode_offset(bytes: &[u8]) -> Option<OffsetMap> {
    json_to_map(&serde_json::from_slice(bytes).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_file_source_bytes() {
        let partition = sluice_api::offset_map![("filename".into(), Value::from("/tmp/中文.txt"))];
        let key = encode_key("local-file-source", &partition).unwrap();
        assert_eq!(
            String::from_utf8(key.clone()).unwrap(),
            r#"["local-file-source",{"filename":"/tmp/中文.txt"}]"#
        );
        let offset = sluice_api::offset_map![("position".into(), Value::Int64(30))];
        assert_eq!(encode_offset(&offset).unwrap(), br#"{"position":30}"#);
        assert_eq!(
            decode_key(&key),
            Some(("local-file-source".into(), partition))
        );
        assert_eq!(decode_offset(br#"{"position":30}"#), Some(offset));
    }

    #[test]
    fn integers_read_back_as_long_and_order_is_kept() {
        let o = decode_offset(br#"{"b":1,"a":"x"}"#).unwrap();
        assert_eq!(
            o,
            sluice_api::offset_map![
                ("b".into(), Value::Int64(1)),
                ("a".into(), Value::from("x"))
            ]
        );
        let m = sluice_api::offset_map![
            ("z".into(), Value::Int32(1)),
            ("a".into(), Value::Boolean(true)),
        ];
        assert_eq!(encode_offset(&m).unwrap(), br#"{"z":1,"a":true}"#);
    }

    #[test]
    fn nested_values_are_rejected() {
        let bad = sluice_api::offset_map![("x".into(), Value::Array(vec![]))];
        assert!(encode_offset(&bad).is_err());
    }
}
