use super::*;
use sluice_api::data::schemas;
use sluice_api::ErrorKind;

fn raw(pairs: &[(&str, &str)]) -> RawConfig {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Builds the converter named `class_or_alias` and checks which built-in it is.
fn check(class_or_alias: &str, expected: &str) {
    let c = new_converter(class_or_alias, &RawConfig::new(), ConverterRole::Value).unwrap();
    let got = match &c {
        BuiltinConverter::Json(_) => "json",
        BuiltinConverter::String(_) => "string",
        BuiltinConverter::ByteArray(_) => "bytearray",
        BuiltinConverter::Number(n) => match n.kind() {
            NumberKind::Short => "short",
            NumberKind::Integer => "integer",
            NumberKind::Long => "long",
            NumberKind::Float => "float",
            NumberKind::Double => "double",
        },
        BuiltinConverter::Boolean(_) => "boolean",
        BuiltinConverter::Custom(_) => "custom",
    };
    assert_eq!(got, expected, "{class_or_alias}");
}

#[test]
fn classes_and_aliases() {
    for (name, kind) in [
        ("org.apache.kafka.connect.json.JsonConverter", "json"),
        ("JsonConverter", "json"),
        ("Json", "json"),
        ("org.apache.kafka.connect.storage.StringConverter", "string"),
        ("String", "string"),
        ("ByteArrayConverter", "bytearray"),
        ("ByteArray", "bytearray"),
        (
            "org.apache.kafka.connect.converters.ShortConverter",
            "short",
        ),
        ("Integer", "integer"),
        ("LongConverter", "long"),
        ("Float", "float"),
        ("DoubleConverter", "double"),
        ("Boolean", "boolean"),
    ] {
        check(name, kind);
    }
}

#[test]
fn registry_lists_every_plugin() {
    let plugins = converter_plugins();
    let classes: Vec<&str> = plugins.iter().map(|p| p.class).collect();
    assert_eq!(
        classes,
        vec![
            "org.apache.kafka.connect.json.JsonConverter",
            "org.apache.kafka.connect.storage.StringConverter",
            "org.apache.kafka.connect.converters.ByteArrayConverter",
            "org.apache.kafka.connect.converters.ShortConverter",
            "org.apache.kafka.connect.converters.IntegerConverter",
            "org.apache.kafka.connect.converters.LongConverter",
            "org.apache.kafka.connect.converters.FloatConverter",
            "org.apache.kafka.connect.converters.DoubleConverter",
            "org.apache.kafka.connect.converters.BooleanConverter",
            "org.apache.kafka.connect.storage.SimpleHeaderConverter",
        ]
    );
    for p in &plugins {
        assert_eq!(p.version, KAFKA_VERSION);
        assert!(p.new_header.is_some(), "{}", p.class);
        let def = (p.config_def)();
        if p.class != simple_header::CLASS {
            assert!(def.key(CONVERTER_TYPE_CONFIG).is_some(), "{}", p.class);
        }
        if let Some(new) = p.new {
            new(&RawConfig::new(), ConverterRole::Key).unwrap();
        }
        if let Some(new_header) = p.new_header {
            new_header(&RawConfig::new()).unwrap();
        }
    }
}

#[test]
fn dispatch_converts() {
    let c = new_converter(
        "Json",
        &raw(&[("schemas.enable", "false")]),
        ConverterRole::Key,
    )
    .unwrap();
    let mut headers = Headers::new();
    let out = c
        .from_connect(
            "t",
            &mut headers,
            Some(&schemas::string()),
            &Value::from("k"),
        )
        .unwrap();
    assert_eq!(out.as_deref(), Some(&b"\"k\""[..]));
    let back = c.to_connect("t", &headers, out.as_deref()).unwrap();
    assert_eq!(back.value, Value::from("k"));

    let custom = BuiltinConverter::Custom(Box::new(StringConverter::with_encoding(
        string::Encoding::Utf8,
    )));
    assert_eq!(
        custom
            .from_connect("t", &mut headers, None, &Value::Int32(3))
            .unwrap(),
        Some(b"3".to_vec())
    );

    let h = new_header_converter("SimpleHeaderConverter", &RawConfig::new()).unwrap();
    assert!(matches!(h, BuiltinHeaderConverter::Simple(_)));
    assert_eq!(
        h.from_connect_header("t", "k", None, &Value::Int32(3))
            .unwrap(),
        Some(b"3".to_vec())
    );
    assert_eq!(
        h.to_connect_header("t", "k", Some(b"3")).unwrap().value,
        Value::Int8(3)
    );
    let h = new_header_converter("Simple", &RawConfig::new()).unwrap();
    assert!(matches!(h, BuiltinHeaderConverter::Simple(_)));
    let h = new_header_converter("JsonConverter", &RawConfig::new()).unwrap();
    assert!(matches!(h, BuiltinHeaderConverter::Json(_)));
}

#[test]
fn unknown_classes_and_bad_configs() {
    let e = new_converter(
        "com.example.Missing",
        &RawConfig::new(),
        ConverterRole::Value,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert_eq!(
        e.message(),
        "Failed to find any class that implements Converter and which name matches com.example.Missing, available converters are: org.apache.kafka.connect.json.JsonConverter, org.apache.kafka.connect.storage.StringConverter, org.apache.kafka.connect.converters.ByteArrayConverter, org.apache.kafka.connect.converters.ShortConverter, org.apache.kafka.connect.converters.IntegerConverter, org.apache.kafka.connect.converters.LongConverter, org.apache.kafka.connect.converters.FloatConverter, org.apache.kafka.connect.converters.DoubleConverter, org.apache.kafka.connect.converters.BooleanConverter"
    );
    // The header converter is not a key/value converter.
    assert!(new_converter(
        "SimpleHeaderConverter",
        &RawConfig::new(),
        ConverterRole::Value
    )
    .is_err());
    let e = new_header_converter("Nope", &RawConfig::new()).unwrap_err();
    assert!(e
        .message()
        .starts_with("Failed to find any class that implements HeaderConverter and which name matches Nope, available headerconverters are: org.apache.kafka.connect.json.JsonConverter"));
    let e = new_converter(
        "Json",
        &raw(&[("schemas.cache.size", "many")]),
        ConverterRole::Value,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert_eq!(
        e.message(),
        "Invalid value many for configuration schemas.cache.size: Not a number of type INT"
    );
    // converter.type is always taken from the role.
    new_converter(
        "Json",
        &raw(&[("converter.type", "bogus")]),
        ConverterRole::Value,
    )
    .unwrap();
}
