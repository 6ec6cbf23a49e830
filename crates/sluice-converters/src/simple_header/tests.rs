use super::*;
use sluice_api::data::Struct;

/// Parses `text` and compares the inferred schema (type and logical name) and value.
fn check(text: &str, expected: Option<(SchemaRef, Value)>) {
    let got = parse_string(text).unwrap();
    match expected {
        None => assert_eq!(got, SchemaAndValue::null(), "{text:?}"),
        Some((schema, value)) => {
            assert_eq!(got.schema.as_ref(), Some(&schema), "{text:?}");
            assert_eq!(got.value, value, "{text:?}");
        }
    }
}

fn string(s: &str) -> Option<(SchemaRef, Value)> {
    Some((schemas::string(), Value::from(s)))
}

#[test]
fn parse_string_inference() {
    let array_of = |s: SchemaRef| SchemaBuilder::array(s).build();
    let cases: Vec<(&str, Option<(SchemaRef, Value)>)> = vec![
        ("", string("")),
        ("null", None),
        (" null ", None),
        ("true", Some((schemas::boolean(), Value::Boolean(true)))),
        ("false", Some((schemas::boolean(), Value::Boolean(false)))),
        ("true}", string("true}")),
        ("42", Some((schemas::int8(), Value::Int8(42)))),
        ("-1", Some((schemas::int8(), Value::Int8(-1)))),
        ("1.0", Some((schemas::int8(), Value::Int8(1)))),
        ("300", Some((schemas::int16(), Value::Int16(300)))),
        ("70000", Some((schemas::int32(), Value::Int32(70_000)))),
        (
            "5000000000",
            Some((schemas::int64(), Value::Int64(5_000_000_000))),
        ),
        ("1.5", Some((schemas::float32(), Value::Float32(1.5)))),
        ("1e20", Some((schemas::float32(), Value::Float32(1e20)))),
        ("1e40", Some((schemas::float64(), Value::Float64(1e40)))),
        (
            "12345678901234567890",
            Some((
                logical::decimal(0),
                Value::Bytes(Decimal::parse("12345678901234567890").unwrap().unscaled),
            )),
        ),
        ("2024-01-15", Some((date_schema(), Value::Int32(19_737)))),
        (
            "10:15:30.123Z",
            Some((time_schema(), Value::Int32(36_930_123))),
        ),
        (
            "2023-11-14T22:13:20.000Z",
            Some((timestamp_schema(), Value::Int64(1_700_000_000_000))),
        ),
        (
            "[1,2,3]",
            Some((
                array_of(schemas::int8()),
                Value::Array(vec![Value::Int8(1), Value::Int8(2), Value::Int8(3)]),
            )),
        ),
        (
            "[1, 300]",
            Some((
                array_of(schemas::int16()),
                Value::Array(vec![Value::Int16(1), Value::Int16(300)]),
            )),
        ),
        (
            "[\"a\",\"b\"]",
            Some((
                array_of(schemas::string()),
                Value::Array(vec![Value::from("a"), Value::from("b")]),
            )),
        ),
        (
            "[]",
            Some((
                Arc::new(Schema::of(SchemaType::Array)),
                Value::Array(vec![]),
            )),
        ),
        (
            "{\"a\":1,\"b\":2}",
            Some((
                SchemaBuilder::map(schemas::string(), schemas::int8()).build(),
                Value::Map(vec![
                    (Value::from("a"), Value::Int8(1)),
                    (Value::from("b"), Value::Int8(2)),
                ]),
            )),
        ),
        ("[1, null]", string("[1, null]")),
        ("[1,2", string("[1,2")),
        ("{\"a\" 1}", string("{\"a\" 1}")),
        ("hello world", string("hello world")),
        ("42,abc", Some((schemas::int8(), Value::Int8(42)))),
        ("  ", string("  ")),
        ("-Infinity", string("-Infinity")),
    ];
    for (text, expected) in cases {
        check(text, expected);
    }
    let map_of_null = parse_string("{\"a\":null}").unwrap();
    let schema = map_of_null.schema.unwrap();
    assert_eq!(schema.key_schema, Some(schemas::string()));
    assert_eq!(schema.value_schema, None);
    assert_eq!(
        map_of_null.value,
        Value::Map(vec![(Value::from("a"), Value::Null)])
    );
}

#[test]
fn convert_to_string_formats() {
    let struct_schema = SchemaBuilder::structure()
        .field("id", schemas::int32())
        .unwrap()
        .field("name", schemas::optional_string())
        .unwrap()
        .build();
    let mut st = Struct::new(struct_schema.clone());
    st.put("id", Value::Int32(1)).unwrap();
    st.put("name", Value::from("x\"y")).unwrap();
    let cases: Vec<(Option<SchemaRef>, Value, &str)> = vec![
        (None, Value::from("plain \"text\""), "plain \"text\""),
        (None, Value::Int64(-5), "-5"),
        (None, Value::Float64(1e10), "1.0E10"),
        (None, Value::Float32(0.1), "0.1"),
        (None, Value::Boolean(true), "true"),
        (None, Value::Bytes(vec![1, 2]), "AQI="),
        (
            Some(logical::decimal(2)),
            Value::Bytes(vec![0x04, 0xD2]),
            "12.34",
        ),
        (Some(date_schema()), Value::Int32(19_737), "2024-01-15"),
        // Kafka picks the pattern from the instant: the epoch day prints as a time.
        (Some(date_schema()), Value::Int32(0), "00:00:00.000Z"),
        (
            Some(time_schema()),
            Value::Int32(36_930_123),
            "10:15:30.123Z",
        ),
        (
            Some(timestamp_schema()),
            Value::Int64(1_700_000_000_000),
            "2023-11-14T22:13:20.000Z",
        ),
        (
            Some(timestamp_schema()),
            Value::Int64(19_737 * MILLIS_PER_DAY),
            "2024-01-15",
        ),
        (
            None,
            Value::Array(vec![
                Value::from("a"),
                Value::from("b\"c\\"),
                Value::Null,
                Value::Bytes(vec![1]),
            ]),
            "[\"a\",\"b\\\"c\\\\\",null,\"AQ==\"]",
        ),
        (
            None,
            Value::Map(vec![
                (Value::from("a"), Value::Int32(1)),
                (Value::Int8(2), Value::from("b")),
            ]),
            "{\"a\":1,2:\"b\"}",
        ),
        (
            Some(struct_schema),
            Value::Struct(st),
            "{\"id\":1,\"name\":\"x\\\"y\"}",
        ),
    ];
    for (schema, value, text) in cases {
        assert_eq!(
            convert_to_string(schema.as_deref(), &value)
                .unwrap()
                .as_deref(),
            Some(text)
        );
    }
    assert_eq!(convert_to_string(None, &Value::Null).unwrap(), None);
}

#[test]
fn header_converter_round_trips() {
    let c = SimpleHeaderConverter::new(&RawConfig::new()).unwrap();
    let cases: Vec<(Option<SchemaRef>, Value)> = vec![
        (Some(schemas::string()), Value::from("hello")),
        (Some(schemas::int8()), Value::Int8(5)),
        (Some(schemas::boolean()), Value::Boolean(false)),
        (Some(timestamp_schema()), Value::Int64(1_700_000_000_123)),
        (
            Some(SchemaBuilder::array(schemas::int32()).build()),
            Value::Array(vec![Value::Int32(70_000)]),
        ),
    ];
    for (schema, value) in cases {
        let bytes = c
            .from_connect_header("t", "h", schema.as_ref(), &value)
            .unwrap()
            .unwrap();
        let back = c.to_connect_header("t", "h", Some(&bytes)).unwrap();
        assert_eq!(back.schema, schema);
        assert_eq!(back.value, value);
    }
    assert_eq!(
        c.from_connect_header("t", "h", None, &Value::Null).unwrap(),
        None
    );
    assert_eq!(
        c.to_connect_header("t", "h", None).unwrap(),
        SchemaAndValue::null()
    );
    // Too deep to parse: the raw bytes, as Kafka's fallback does.
    let deep = "[".repeat(200);
    let back = c
        .to_connect_header("t", "h", Some(deep.as_bytes()))
        .unwrap();
    assert_eq!(
        back,
        SchemaAndValue::new(Some(schemas::bytes()), Value::Bytes(deep.into_bytes()))
    );
    let e = parse_string(&"[".repeat(200)).unwrap_err();
    assert!(e
        .message()
        .starts_with("Failed to parse the header value '[[["));
}
