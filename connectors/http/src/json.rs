//! Connect values as JSON, as the JsonConverter writes them with schemas off: bytes as
//! base64, maps with string keys as objects (others as `[[k, v], …]`), structs as objects.

use base64::Engine;
use serde_json::{Map, Number, Value as Json};
use sluice_api::data::Value;

pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Int8(i) => Json::from(*i),
        Value::Int16(i) => Json::from(*i),
        Value::Int32(i) => Json::from(*i),
        Value::Int64(i) => Json::from(*i),
        Value::Float32(f) => Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number),
        Value::Float64(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Boolean(b) => Json::Bool(*b),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => {
            if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) {
                let mut m = Map::new();
                for (k, v) in entries {
                    if let Value::String(k) = k {
                        m.insert(k.clone(), to_json(v));
                    }
                }
                Json::Object(m)
            } else {
                Json::Array(
                    entries
                        .iter()
                        .map(|(k, v)| Json::Array(vec![to_json(k), to_json(v)]))
                        .collect(),
                )
            }
        }
        Value::Struct(s) => {
            let mut m = Map::new();
            for (f, v) in s.schema().fields.iter().zip(s.values()) {
                m.insert(f.name.clone(), to_json(v));
            }
            Json::Object(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{schemas, SchemaBuilder, Struct};

    #[test]
    fn values_render_like_the_schemaless_json_converter() {
        let schema = SchemaBuilder::structure()
            .field("id", schemas::int32())
            .and_then(|b| b.field("name", schemas::optional_string()))
            .unwrap()
            .build();
        let mut s = Struct::new(schema);
        s.put("id", Value::Int32(1)).unwrap();
        assert_eq!(
            to_json(&Value::Struct(s)).to_string(),
            r#"{"id":1,"name":null}"#
        );
        assert_eq!(
            to_json(&Value::Bytes(b"hi".to_vec())).to_string(),
            r#""aGk=""#
        );
        assert_eq!(
            to_json(&Value::Map(vec![(Value::Int32(1), Value::from("a"))])).to_string(),
            r#"[[1,"a"]]"#
        );
    }
}
