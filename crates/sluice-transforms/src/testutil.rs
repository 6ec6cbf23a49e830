//! Test helpers: building records, structs and maps, and comparing outcomes.

use sluice_api::config::RawConfig;
use sluice_api::data::{SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, ErrorKind, Result};

/// What a transform should do with a record.
#[derive(Debug)]
pub enum Expect {
    /// The transformed record.
    Record(ConnectRecord),
    /// The record is dropped.
    Dropped,
    /// A data error with this message.
    DataErr(&'static str),
    /// The config is rejected with this message.
    ConfigErr(&'static str),
}

pub fn raw(pairs: &[(&str, &str)]) -> RawConfig {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A schemaless map with string keys.
pub fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (Value::from(*k), v.clone()))
            .collect(),
    )
}

/// A struct schema from (name, schema) pairs.
pub fn struct_schema(fields: &[(&str, SchemaRef)]) -> SchemaRef {
    let mut b = SchemaBuilder::structure();
    for (n, s) in fields {
        b = b.field(*n, s.clone()).unwrap();
    }
    b.build()
}

/// A struct value; every named field must exist and validate.
pub fn st(schema: &SchemaRef, values: &[(&str, Value)]) -> Struct {
    let mut s = Struct::new(schema.clone());
    for (n, v) in values {
        s.put(n, v.clone()).unwrap();
    }
    s
}

pub fn sv(schema: &SchemaRef, values: &[(&str, Value)]) -> Value {
    Value::Struct(st(schema, values))
}

/// A record on topic `test` with the given value.
pub fn value_record(schema: Option<SchemaRef>, value: Value) -> ConnectRecord {
    ConnectRecord {
        topic: "test".into(),
        kafka_partition: Some(0),
        value_schema: schema,
        value,
        ..ConnectRecord::default()
    }
}

/// A record on topic `test` with the given key.
pub fn key_record(schema: Option<SchemaRef>, key: Value) -> ConnectRecord {
    ConnectRecord {
        topic: "test".into(),
        kafka_partition: Some(0),
        key_schema: schema,
        key,
        ..ConnectRecord::default()
    }
}

/// Builds with `new` from `config`, applies to `input` and compares with `expected`.
pub fn check_with(
    new: fn(&RawConfig) -> Result<Box<dyn Transform>>,
    config: &[(&str, &str)],
    input: ConnectRecord,
    expected: Expect,
) {
    let built = new(&raw(config));
    match (built, expected) {
        (Err(e), Expect::ConfigErr(msg)) => {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            assert_eq!(e.message(), msg);
        }
        (Err(e), other) => panic!("config {config:?} rejected: {e}; expected {other:?}"),
        (Ok(_), Expect::ConfigErr(msg)) => panic!("config {config:?} accepted; expected {msg}"),
        (Ok(t), expected) => {
            let out: std::result::Result<Option<ConnectRecord>, ConnectError> = t.apply(input);
            match (out, expected) {
                (Ok(Some(r)), Expect::Record(want)) => assert_eq!(r, want, "config {config:?}"),
                (Ok(None), Expect::Dropped) => {}
                (Err(e), Expect::DataErr(msg)) => {
                    assert_eq!(e.kind(), ErrorKind::Data, "{e}");
                    assert_eq!(e.message(), msg);
                }
                (got, want) => panic!("config {config:?}: got {got:?}, expected {want:?}"),
            }
        }
    }
}

/// A transform config in a test table.
pub type Cfg<'a> = &'a [(&'a str, &'a str)];
