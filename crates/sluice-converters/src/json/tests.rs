use super::*;
use sluice_api::data::schemas;
use sluice_api::ErrorKind;

fn raw(pairs: &[(&str, &str)]) -> RawConfig {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn converter(pairs: &[(&str, &str)]) -> JsonConverter {
    JsonConverter::new(&raw(pairs), ConverterRole::Value).unwrap()
}

/// Writes `value` with `config` and compares the text; then reads it back and compares the
/// schema and value with the input (or `read_back` when given).
fn check(config: &[(&str, &str)], schema: Option<SchemaRef>, value: Value, json: &str) {
    check_read_back(config, schema.clone(), value.clone(), json, schema, value);
}

fn check_read_back(
    config: &[(&str, &str)],
    schema: Option<SchemaRef>,
    value: Value,
    json: &str,
    read_schema: Option<SchemaRef>,
    read_value: Value,
) {
    let c = converter(config);
    let bytes = c
        .from_connect_data(schema.as_ref(), &value)
        .unwrap()
        .unwrap();
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), json);
    // Twice: the second read takes the cached fast path.
    for _ in 0..2 {
        let back = c.to_connect_data(Some(&bytes)).unwrap();
        assert_eq!(back.schema, read_schema, "{json}");
        assert_eq!(back.value, read_value, "{json}");
    }
}

/// Reads `json` and expects the data error `message`.
fn check_read_error(config: &[(&str, &str)], json: &str, message: &str) {
    let e = converter(config)
        .to_connect_data(Some(json.as_bytes()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data, "{json}");
    assert_eq!(e.message(), message, "{json}");
}

/// Writes `value` and expects the data error `message`.
fn check_write_error(
    config: &[(&str, &str)],
    schema: Option<SchemaRef>,
    value: Value,
    message: &str,
) {
    let e = converter(config)
        .from_connect_data(schema.as_ref(), &value)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data);
    assert_eq!(e.message(), message);
}

const NO_SCHEMAS: &[(&str, &str)] = &[("schemas.enable", "false")];

fn order_schema() -> SchemaRef {
    SchemaBuilder::structure()
        .name("com.example.Order")
        .field("id", schemas::int32())
        .unwrap()
        .field("name", schemas::optional_string())
        .unwrap()
        .field("amount", logical::decimal_builder(2).optional().build())
        .unwrap()
        .field("ts", logical::timestamp_builder().build())
        .unwrap()
        .build()
}

fn order(schema: &SchemaRef) -> Value {
    let mut s = Struct::new(schema.clone());
    s.put("id", Value::Int32(1)).unwrap();
    s.put("name", Value::from("x")).unwrap();
    s.put(
        "amount",
        Value::Bytes(Decimal::parse("12.34").unwrap().unscaled),
    )
    .unwrap();
    s.put("ts", Value::Int64(1_700_000_000_000)).unwrap();
    Value::Struct(s)
}

#[test]
fn file_stream_source_line() {
    check(
        &[],
        Some(schemas::string()),
        Value::from("hello kafka connect"),
        r#"{"schema":{"type":"string","optional":false},"payload":"hello kafka connect"}"#,
    );
}

#[test]
fn reference_struct_example_byte_for_byte() {
    let schema = order_schema();
    check(
        &[],
        Some(schema.clone()),
        order(&schema),
        concat!(
            r#"{"schema":{"type":"struct","fields":["#,
            r#"{"type":"int32","optional":false,"field":"id"},"#,
            r#"{"type":"string","optional":true,"field":"name"},"#,
            r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"amount"},"#,
            r#"{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"}],"#,
            r#""optional":false,"name":"com.example.Order"},"#,
            r#""payload":{"id":1,"name":"x","amount":"BNI=","ts":1700000000000}}"#
        ),
    );
}

#[test]
fn primitives_with_schemas() {
    let cases: Vec<(SchemaRef, Value, &str)> = vec![
        (
            schemas::int8(),
            Value::Int8(-8),
            r#"{"schema":{"type":"int8","optional":false},"payload":-8}"#,
        ),
        (
            schemas::int16(),
            Value::Int16(300),
            r#"{"schema":{"type":"int16","optional":false},"payload":300}"#,
        ),
        (
            schemas::int64(),
            Value::Int64(i64::MIN),
            r#"{"schema":{"type":"int64","optional":false},"payload":-9223372036854775808}"#,
        ),
        (
            schemas::float32(),
            Value::Float32(0.1),
            r#"{"schema":{"type":"float","optional":false},"payload":0.1}"#,
        ),
        (
            schemas::float64(),
            Value::Float64(1e10),
            r#"{"schema":{"type":"double","optional":false},"payload":1.0E10}"#,
        ),
        (
            schemas::float64(),
            Value::Float64(-0.0),
            r#"{"schema":{"type":"double","optional":false},"payload":-0.0}"#,
        ),
        (
            schemas::boolean(),
            Value::Boolean(true),
            r#"{"schema":{"type":"boolean","optional":false},"payload":true}"#,
        ),
        (
            schemas::bytes(),
            Value::Bytes(b"hi!?".to_vec()),
            r#"{"schema":{"type":"bytes","optional":false},"payload":"aGkhPw=="}"#,
        ),
        (
            schemas::optional_string(),
            Value::Null,
            r#"{"schema":{"type":"string","optional":true},"payload":null}"#,
        ),
        (
            logical::date_builder().build(),
            Value::Int32(19_675),
            r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":19675}"#,
        ),
        (
            logical::time_builder().build(),
            Value::Int32(3_600_000),
            r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":3600000}"#,
        ),
    ];
    for (schema, value, json) in cases {
        check(&[], Some(schema), value, json);
    }
}

/// The word-at-a-time scan finds every byte that needs escaping wherever it sits in a word,
/// next to any other byte: each of the 256 byte values (as a char) at each of 17 positions in
/// ASCII and in multi-byte text, against a byte-by-byte escape.
#[test]
fn every_escaped_byte_is_found_at_every_position() {
    fn one_by_one(s: &str) -> Vec<u8> {
        let mut out = vec![b'"'];
        for c in s.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                '\r' => out.extend_from_slice(b"\\r"),
                c if (c as u32) < 0x20 => {
                    out.extend_from_slice(format!("\\u{:04X}", c as u32).as_bytes())
                }
                c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        out.push(b'"');
        out
    }
    for fill in ["abcdefghijklmnopq", "é中文ü数据ß"] {
        let fill: Vec<char> = fill.chars().collect();
        for byte in 0..=255u8 {
            let c = char::from(byte);
            for at in 0..=fill.len() {
                let mut s: String = fill[..at].iter().collect();
                s.push(c);
                s.extend(&fill[at..]);
                s.push(c);
                let mut out = Vec::new();
                write_json_string(&mut out, &s);
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&one_by_one(&s)),
                    "{s:?}"
                );
            }
        }
    }
}

#[test]
fn strings_are_escaped_like_jackson() {
    check(
        &[],
        Some(schemas::string()),
        Value::from("中文 \"q\" \\ \n\t\u{1}\u{7f}/é"),
        "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"中文 \\\"q\\\" \\\\ \\n\\t\\u0001\u{7f}/é\"}",
    );
    check(
        NO_SCHEMAS,
        None,
        Value::from("数据 \u{1f}"),
        "\"数据 \\u001F\"",
    );
}

#[test]
fn non_finite_floats_are_quoted() {
    let c = converter(NO_SCHEMAS);
    let out = c
        .from_connect_data(Some(&schemas::float64()), &Value::Float64(f64::NAN))
        .unwrap()
        .unwrap();
    assert_eq!(out, b"\"NaN\"");
    let out = c
        .from_connect_data(None, &Value::Float32(f32::NEG_INFINITY))
        .unwrap()
        .unwrap();
    assert_eq!(out, b"\"-Infinity\"");
}

#[test]
fn decimal_formats() {
    let schema = logical::decimal(2);
    let value = Value::Bytes(vec![0x04, 0xD2]);
    let base64_schema = r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}"#;
    check(
        &[],
        Some(schema.clone()),
        value.clone(),
        &format!(r#"{{"schema":{base64_schema},"payload":"BNI="}}"#),
    );
    check(
        &[("decimal.format", "numeric")],
        Some(schema.clone()),
        value.clone(),
        &format!(r#"{{"schema":{base64_schema},"payload":12.34}}"#),
    );
    check(
        &[("decimal.format", "NUMERIC")],
        Some(schema.clone()),
        Value::Bytes(vec![0x85]),
        &format!(r#"{{"schema":{base64_schema},"payload":-1.23}}"#),
    );
    // Non-minimal bytes are written as BigInteger.toByteArray() would.
    let c = converter(&[]);
    let out = c
        .from_connect_data(Some(&schema), &Value::Bytes(vec![0x00, 0x00, 0x04, 0xD2]))
        .unwrap()
        .unwrap();
    assert!(out.ends_with(br#""payload":"BNI="}"#));
    // A NUMERIC payload with fewer digits is read at the schema's scale.
    let back = c
        .to_connect_data(Some(
            format!(r#"{{"schema":{base64_schema},"payload":12.3}}"#).as_bytes(),
        ))
        .unwrap();
    assert_eq!(back.value, Value::Bytes(vec![0x04, 0xCE]));
    check_read_error(
        &[],
        &format!(r#"{{"schema":{base64_schema},"payload":12.345}}"#),
        "Decimal value 12.345 does not fit the scale 2 of its Decimal schema",
    );
    check_read_error(
        &[],
        &format!(r#"{{"schema":{base64_schema},"payload":true}}"#),
        "Invalid type for Decimal, underlying representation should be numeric or bytes but was BOOLEAN",
    );
    check_read_error(
        &[],
        &format!(r#"{{"schema":{base64_schema},"payload":"!!"}}"#),
        "Invalid bytes for Decimal field",
    );
    check_write_error(
        &[],
        Some(schema),
        Value::from("12.34"),
        "Invalid type for Decimal, expected BigDecimal but was class java.lang.String",
    );
}

#[test]
fn schema_attributes_in_kafka_order() {
    let schema = SchemaBuilder::int32()
        .optional()
        .name("n")
        .version(2)
        .doc("d \"x\"")
        .parameter("a", "b")
        .parameter("c", "d")
        .default_value(Value::Int32(5))
        .unwrap()
        .build();
    check(
        &[],
        Some(schema.clone()),
        Value::Int32(7),
        r#"{"schema":{"type":"int32","optional":true,"name":"n","version":2,"doc":"d \"x\"","parameters":{"a":"b","c":"d"},"default":5},"payload":7}"#,
    );
    // A null is replaced by the default, on write and on read.
    check_read_back(
        &[],
        Some(schema.clone()),
        Value::Null,
        r#"{"schema":{"type":"int32","optional":true,"name":"n","version":2,"doc":"d \"x\"","parameters":{"a":"b","c":"d"},"default":5},"payload":5}"#,
        Some(schema.clone()),
        Value::Int32(5),
    );
    check(
        &[("replace.null.with.default", "false")],
        Some(schema.clone()),
        Value::Null,
        r#"{"schema":{"type":"int32","optional":true,"name":"n","version":2,"doc":"d \"x\"","parameters":{"a":"b","c":"d"},"default":5},"payload":null}"#,
    );
}

#[test]
fn struct_fields_with_defaults() {
    let schema = SchemaBuilder::structure()
        .field(
            "f",
            SchemaBuilder::string()
                .optional()
                .default_value(Value::from("dflt"))
                .unwrap()
                .build(),
        )
        .unwrap()
        .build();
    let value = Value::Struct(Struct::new(schema.clone()));
    let with_default = r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"dflt","field":"f"}],"optional":false},"payload":{"f":"dflt"}}"#;
    let mut read = Struct::new(schema.clone());
    read.put("f", Value::from("dflt")).unwrap();
    check_read_back(
        &[],
        Some(schema.clone()),
        value.clone(),
        with_default,
        Some(schema.clone()),
        Value::Struct(read),
    );
    check(
        &[("replace.null.with.default", "false")],
        Some(schema.clone()),
        value,
        r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"dflt","field":"f"}],"optional":false},"payload":{"f":null}}"#,
    );
}

#[test]
fn maps_and_arrays() {
    let string_keys = SchemaBuilder::map(schemas::string(), schemas::int32()).build();
    check(
        &[],
        Some(string_keys.clone()),
        Value::Map(vec![
            (Value::from("a"), Value::Int32(1)),
            (Value::from("b"), Value::Int32(2)),
        ]),
        r#"{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":{"a":1,"b":2}}"#,
    );
    let int_keys = SchemaBuilder::map(schemas::int32(), schemas::optional_string()).build();
    check(
        &[],
        Some(int_keys),
        Value::Map(vec![
            (Value::Int32(1), Value::from("x")),
            (Value::Int32(2), Value::Null),
        ]),
        r#"{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":true},"optional":false},"payload":[[1,"x"],[2,null]]}"#,
    );
    let array = SchemaBuilder::array(schemas::optional_int64()).build();
    check(
        &[],
        Some(array),
        Value::Array(vec![Value::Int64(1), Value::Null]),
        r#"{"schema":{"type":"array","items":{"type":"int64","optional":true},"optional":false},"payload":[1,null]}"#,
    );
}

#[test]
fn schemaless_inference() {
    let cases: Vec<(Value, &str, Value)> = vec![
        (Value::Int32(5), "5", Value::Int64(5)),
        (Value::Float32(1.5), "1.5", Value::Float64(1.5)),
        (Value::Boolean(false), "false", Value::Boolean(false)),
        (Value::Bytes(vec![1]), "\"AQ==\"", Value::from("AQ==")),
        (
            Value::Map(vec![
                (Value::from("position"), Value::Int32(5)),
                (Value::from("file"), Value::from("/tmp/x")),
                (
                    Value::from("list"),
                    Value::Array(vec![Value::Int8(1), Value::Null, Value::Float64(2.0)]),
                ),
            ]),
            r#"{"position":5,"file":"/tmp/x","list":[1,null,2.0]}"#,
            Value::Map(vec![
                (Value::from("position"), Value::Int64(5)),
                (Value::from("file"), Value::from("/tmp/x")),
                (
                    Value::from("list"),
                    Value::Array(vec![Value::Int64(1), Value::Null, Value::Float64(2.0)]),
                ),
            ]),
        ),
        (
            Value::Map(vec![(Value::Int32(1), Value::from("a"))]),
            r#"[[1,"a"]]"#,
            Value::Array(vec![Value::Array(vec![Value::Int64(1), Value::from("a")])]),
        ),
    ];
    for (value, json, read) in cases {
        check_read_back(NO_SCHEMAS, None, value, json, None, read);
    }
    // With schemas enabled but no schema, the envelope carries a null schema.
    check_read_back(
        &[],
        None,
        Value::Int64(3),
        r#"{"schema":null,"payload":3}"#,
        None,
        Value::Int64(3),
    );
}

#[test]
fn schemaless_reading_quirks() {
    // Repeated keys keep the first position and the last value, as a Jackson ObjectNode does;
    // content after the first value is ignored; a UTF-8 BOM is skipped; empty input is null.
    assert_eq!(
        parse_schemaless(br#"{"a":1,"b":2,"a":3} trailing"#).unwrap(),
        Value::Map(vec![
            (Value::from("a"), Value::Int64(3)),
            (Value::from("b"), Value::Int64(2))
        ])
    );
    assert_eq!(parse_schemaless(b"\xEF\xBB\xBF7").unwrap(), Value::Int64(7));
    assert_eq!(parse_schemaless(b"  ").unwrap(), Value::Null);
    assert_eq!(parse_schemaless(b"null").unwrap(), Value::Null);
    assert_eq!(parse_schemaless(br#""\u00e9""#).unwrap(), Value::from("é"));
}

#[test]
fn internal_topic_helpers() {
    let offset = Value::Map(vec![(Value::from("position"), Value::Int32(5))]);
    let bytes = to_json_bytes(None, &offset).unwrap();
    assert_eq!(bytes, br#"{"position":5}"#);
    assert_eq!(
        parse_schemaless(&bytes).unwrap(),
        Value::Map(vec![(Value::from("position"), Value::Int64(5))])
    );
    assert_eq!(to_json_bytes(None, &Value::Null).unwrap(), b"null");
    let key = Value::Array(vec![
        Value::from("conn"),
        Value::Map(vec![(Value::from("filename"), Value::from("/tmp/in.txt"))]),
    ]);
    assert_eq!(
        to_json_bytes(None, &key).unwrap(),
        br#"["conn",{"filename":"/tmp/in.txt"}]"#
    );
}

#[test]
fn tombstones_and_nulls() {
    for config in [&[][..], NO_SCHEMAS] {
        let c = converter(config);
        assert_eq!(c.from_connect_data(None, &Value::Null).unwrap(), None);
        assert_eq!(c.to_connect_data(None).unwrap(), SchemaAndValue::null());
    }
    let c = converter(NO_SCHEMAS);
    assert_eq!(
        c.from_connect_data(Some(&schemas::optional_int32()), &Value::Null)
            .unwrap(),
        Some(b"null".to_vec())
    );
    check_write_error(
        &[],
        Some(schemas::int32()),
        Value::Null,
        "Conversion error: null value for field that is required and has no default value",
    );
}

#[test]
fn envelope_errors() {
    for json in [
        r#"{"schema":null}"#,
        r#"{"payload":1}"#,
        r#"{"schema":null,"payload":1,"extra":2}"#,
        r#"[1,2]"#,
        r#""text""#,
        r#"5"#,
        r#"null"#,
        "",
    ] {
        check_read_error(&[], json, ENVELOPE_ERROR);
    }
    // Kafka's exact text.
    assert_eq!(
        ENVELOPE_ERROR,
        "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration."
    );
}

#[test]
fn malformed_json() {
    check_read_error(
        NO_SCHEMAS,
        "{\"a\":",
        "Converting byte[] to Kafka Connect data failed due to serialization error: EOF while parsing a value at line 1 column 5",
    );
    check_read_error(
        &[],
        "{\"schema\":nul,\"payload\":1}",
        "Converting byte[] to Kafka Connect data failed due to serialization error: expected ident at line 1 column 14",
    );
}

#[test]
fn read_errors() {
    let cases = [
        (r#"{"schema":{"type":"int32","optional":false},"payload":null}"#, "Invalid null value for required INT32 field"),
        (r#"{"schema":{"type":"struct","fields":[],"optional":false},"payload":[1]}"#, "Structs should be encoded as JSON objects, but found ARRAY"),
        (r#"{"schema":{"type":"map","keys":{"type":"string"},"values":{"type":"int32"}},"payload":[]}"#, "Maps with string fields should be encoded as JSON objects, but found ARRAY"),
        (r#"{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}},"payload":{}}"#, "Maps with non-string fields should be encoded as JSON array of tuples, but found OBJECT"),
        (r#"{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}},"payload":[{}]}"#, "Found invalid map entry instead of array tuple: OBJECT"),
        (r#"{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}},"payload":[[1,2,3]]}"#, "Found invalid map entry, expected length 2 but found :3"),
        (r#"{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Date"},"payload":"x"}"#, "Invalid type for Date, underlying representation should be integer but was STRING"),
        (r#"{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Time"},"payload":1.5}"#, "Invalid type for Time, underlying representation should be integer but was NUMBER"),
        (r#"{"schema":{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp"},"payload":true}"#, "Invalid type for Timestamp, underlying representation should be integral but was BOOLEAN"),
        (r#"{"schema":{"type":"bytes"},"payload":"%%"}"#, "Invalid bytes field"),
        (r#"{"schema":{"type":"struct","fields":[{"type":"string","field":"s"}]},"payload":{"s":5}}"#, "Invalid value: null used for required field: \"s\", schema type: STRING"),
        (r#"{"schema":{"type":"struct","fields":[{"type":"int8","field":"b"}]},"payload":{}}"#, "Invalid null value for required INT8 field"),
        (r#"{"schema":{"optional":true},"payload":1}"#, "Schema must contain 'type' field"),
        (r#"{"schema":"int32","payload":1}"#, "Schema must contain 'type' field"),
        (r#"{"schema":{"type":"uint8"},"payload":1}"#, "Unknown schema type: uint8"),
        (r#"{"schema":{"type":"array"},"payload":[]}"#, "Array schema did not specify the element type"),
        (r#"{"schema":{"type":"map","values":{"type":"int8"}},"payload":{}}"#, "Map schema did not specify the key type"),
        (r#"{"schema":{"type":"map","keys":{"type":"int8"}},"payload":{}}"#, "Map schema did not specify the value type"),
        (r#"{"schema":{"type":"map","keys":null,"values":{"type":"int8"}},"payload":{}}"#, "keySchema cannot be null."),
        (r#"{"schema":{"type":"struct"},"payload":{}}"#, "Struct schema's \"fields\" argument is not an array."),
        (r#"{"schema":{"type":"struct","fields":[{"type":"int8"}]},"payload":{}}"#, "Struct schema's field name not specified properly"),
        (r#"{"schema":{"type":"struct","fields":[{"type":"int8","field":"a"},{"type":"int8","field":"a"}]},"payload":{}}"#, "Cannot create field because of field name duplication a"),
        (r#"{"schema":{"type":"int8","parameters":{"a":1}},"payload":1}"#, "Schema parameters must have string values."),
        (r#"{"schema":{"type":"int8","default":null},"payload":1}"#, "Invalid null value for required INT8 field"),
    ];
    for (json, message) in cases {
        check_read_error(&[], json, message);
    }
}

#[test]
fn lenient_reads_like_jackson() {
    let c = converter(&[]);
    let read = |json: &str| c.to_connect_data(Some(json.as_bytes())).unwrap().value;
    assert_eq!(
        read(r#"{"schema":{"type":"int32"},"payload":"12"}"#),
        Value::Int32(0)
    );
    assert_eq!(
        read(r#"{"schema":{"type":"int8"},"payload":300}"#),
        Value::Int8(44)
    );
    assert_eq!(
        read(r#"{"schema":{"type":"int32"},"payload":-7.9}"#),
        Value::Int32(-7)
    );
    assert_eq!(
        read(r#"{"schema":{"type":"boolean"},"payload":1}"#),
        Value::Boolean(false)
    );
    assert_eq!(
        read(r#"{"schema":{"type":"string"},"payload":1}"#),
        Value::Null
    );
    assert_eq!(
        read(r#"{"schema":{"type":"double"},"payload":2}"#),
        Value::Float64(2.0)
    );
    assert_eq!(
        read(r#"{"schema":{"type":"array","items":{"type":"int64"}},"payload":{"a":1,"b":2}}"#),
        Value::Array(vec![Value::Int64(1), Value::Int64(2)])
    );
    // Unknown struct members are ignored; members may come in any order.
    let schema = c
        .as_connect_schema(r#"{"type":"struct","fields":[{"type":"int32","field":"a"},{"type":"int32","field":"b"}]}"#)
        .unwrap()
        .unwrap();
    let mut expected = Struct::new(schema);
    expected.put("a", Value::Int32(1)).unwrap();
    expected.put("b", Value::Int32(2)).unwrap();
    assert_eq!(
        read(
            r#"{"payload":{"x":[1,{"y":2}],"b":2,"a":1},"schema":{"type":"struct","fields":[{"type":"int32","field":"a"},{"type":"int32","field":"b"}]}}"#
        ),
        Value::Struct(expected)
    );
}

#[test]
fn write_errors() {
    check_write_error(
        &[],
        Some(schemas::int32()),
        Value::from("x"),
        "Invalid type for INT32: class java.lang.String",
    );
    check_write_error(
        &[],
        Some(schemas::bytes()),
        Value::Int8(1),
        "Invalid type for bytes type: class java.lang.Byte",
    );
    check_write_error(
        &[],
        Some(order_schema()),
        Value::Int32(1),
        "Mismatching schema.",
    );
    let other = SchemaBuilder::structure()
        .field("id", schemas::int32())
        .unwrap()
        .build();
    check_write_error(
        &[],
        Some(order_schema()),
        Value::Struct(Struct::new(other.clone())),
        "Mismatching schema.",
    );
    check_write_error(
        &[],
        None,
        Value::Struct(Struct::new(other)),
        "Mismatching schema.",
    );
    check_write_error(
        &[],
        Some(logical::date_builder().build()),
        Value::Int64(1),
        "Invalid type for Date, expected Date but was class java.lang.Long",
    );
}

#[test]
fn config_errors() {
    let e = JsonConverter::new(
        &raw(&[("decimal.format", "HEX"), ("schemas.enable", "maybe")]),
        ConverterRole::Key,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert_eq!(
        e.message(),
        "Invalid value maybe for configuration schemas.enable: Expected value to be either true or false; Invalid value HEX for configuration decimal.format: String must be one of (case insensitive): BASE64, NUMERIC"
    );
    let c = converter(&[("schemas.cache.size", "0"), ("decimal.format", "numeric")]);
    assert_eq!(c.config().decimal_format, DecimalFormat::Numeric);
    assert_eq!(c.config().schemas_cache_size, 0);
}

#[test]
fn schema_cache_is_bounded_and_content_keyed() {
    let c = converter(&[("schemas.cache.size", "2")]);
    for i in 0..5 {
        let schema = SchemaBuilder::int32().name(format!("s{i}")).build();
        let out = c
            .from_connect_data(Some(&schema), &Value::Int32(i))
            .unwrap()
            .unwrap();
        // An equal schema behind another pointer renders the same.
        let twin = SchemaBuilder::int32().name(format!("s{i}")).build();
        assert_eq!(
            c.from_connect_data(Some(&twin), &Value::Int32(i))
                .unwrap()
                .unwrap(),
            out
        );
        assert_eq!(c.to_connect_data(Some(&out)).unwrap().schema, Some(schema));
    }
    assert!(lock(&c.write_cache).by_ptr.len() <= 2);
    assert!(lock(&c.read_cache).by_text.len() <= 2);
}

// ---------------------------------------------------------------------------------------
// Round-trip property check over generated schemas and values.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn string(&mut self) -> String {
        const ALPHABET: &[char] = &[
            'a', 'Z', '0', ' ', '"', '\\', '\n', '\u{1}', 'é', '中', '😀', '/',
        ];
        (0..self.below(8))
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize])
            .collect()
    }
}

fn gen_schema(rng: &mut Rng, depth: u32) -> SchemaRef {
    let pick = if depth >= 3 {
        rng.below(12)
    } else {
        rng.below(16)
    };
    let b = match pick {
        0 => SchemaBuilder::int8(),
        1 => SchemaBuilder::int16(),
        2 => SchemaBuilder::int32(),
        3 => SchemaBuilder::int64(),
        4 => SchemaBuilder::float32(),
        5 => SchemaBuilder::float64(),
        6 => SchemaBuilder::boolean(),
        7 => SchemaBuilder::string(),
        8 => SchemaBuilder::bytes(),
        9 => logical::decimal_builder(rng.below(5) as i32 - 1),
        10 => logical::date_builder(),
        11 => logical::timestamp_builder(),
        12 => SchemaBuilder::array(gen_schema(rng, depth + 1)),
        13 => SchemaBuilder::map(schemas::string(), gen_schema(rng, depth + 1)),
        14 => SchemaBuilder::map(gen_schema(rng, depth + 1), gen_schema(rng, depth + 1)),
        _ => {
            let mut b = SchemaBuilder::structure().name(format!("S{}", rng.below(100)));
            for i in 0..rng.below(5) {
                b = b
                    .field(format!("f{i}"), gen_schema(rng, depth + 1))
                    .unwrap();
            }
            b
        }
    };
    let b = if rng.below(3) == 0 { b.optional() } else { b };
    let b = if rng.below(5) == 0 {
        b.doc(rng.string())
    } else {
        b
    };
    b.build()
}

fn gen_value(rng: &mut Rng, schema: &SchemaRef) -> Value {
    if schema.optional && rng.below(5) == 0 {
        return Value::Null;
    }
    match schema.schema_type {
        SchemaType::Int8 => Value::Int8(rng.next() as i8),
        SchemaType::Int16 => Value::Int16(rng.next() as i16),
        SchemaType::Int32 => Value::Int32(rng.next() as i32),
        SchemaType::Int64 => Value::Int64(rng.next() as i64),
        SchemaType::Float32 => Value::Float32(f32::from_bits(rng.next() as u32)).pipe_finite32(),
        SchemaType::Float64 => Value::Float64(f64::from_bits(rng.next())).pipe_finite64(),
        SchemaType::Boolean => Value::Boolean(rng.below(2) == 0),
        SchemaType::String => Value::String(rng.string()),
        SchemaType::Bytes if schema.name.is_some() => {
            Value::Bytes(Decimal::from_i128(rng.next() as i64 as i128 >> rng.below(60), 0).unscaled)
        }
        SchemaType::Bytes => Value::Bytes((0..rng.below(6)).map(|_| rng.next() as u8).collect()),
        SchemaType::Array => {
            let items = schema.value_schema.clone().unwrap();
            Value::Array((0..rng.below(4)).map(|_| gen_value(rng, &items)).collect())
        }
        SchemaType::Map => {
            let (ks, vs) = (
                schema.key_schema.clone().unwrap(),
                schema.value_schema.clone().unwrap(),
            );
            let mut entries: Vec<(Value, Value)> = Vec::new();
            for _ in 0..rng.below(4) {
                let k = gen_value(rng, &ks);
                if k.is_null() || entries.iter().any(|(e, _)| *e == k) {
                    continue;
                }
                entries.push((k, gen_value(rng, &vs)));
            }
            Value::Map(entries)
        }
        SchemaType::Struct => {
            let mut s = Struct::new(schema.clone());
            for (i, f) in schema.fields.iter().enumerate() {
                s.put_index(i, gen_value(rng, &f.schema));
            }
            Value::Struct(s)
        }
    }
}

trait Finite {
    fn pipe_finite32(self) -> Value;
    fn pipe_finite64(self) -> Value;
}

impl Finite for Value {
    fn pipe_finite32(self) -> Value {
        match self {
            Value::Float32(f) if !f.is_finite() => Value::Float32(1.5),
            other => other,
        }
    }
    fn pipe_finite64(self) -> Value {
        match self {
            Value::Float64(f) if !f.is_finite() => Value::Float64(-2.5e-300),
            other => other,
        }
    }
}

#[test]
fn round_trips_generated_values() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let configs: [&[(&str, &str)]; 2] = [&[], &[("decimal.format", "NUMERIC")]];
    for config in configs {
        let c = converter(config);
        for _ in 0..2000 {
            let schema = gen_schema(&mut rng, 0);
            let value = gen_value(&mut rng, &schema);
            let bytes = c.from_connect_data(Some(&schema), &value).unwrap().unwrap();
            // The schema text parses back to an equal schema.
            let back = c.to_connect_data(Some(&bytes)).unwrap();
            assert_eq!(
                back.schema.as_ref(),
                Some(&schema),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
            assert_eq!(back.value, value, "{}", String::from_utf8_lossy(&bytes));
            // Serde agrees that the output is JSON.
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
            // The same again through the fast path.
            assert_eq!(c.to_connect_data(Some(&bytes)).unwrap().value, value);
        }
    }
}
