//! JsonConverter throughput on a 10-field struct, both directions, with and without schemas.
//! Criterion runs on one thread, so its elements/s is records/s per core.
//!
//! `cargo bench -p sluice-converters --bench json`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sluice_api::config::RawConfig;
use sluice_api::converter::{Converter, ConverterRole};
use sluice_api::data::{schemas, Headers, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_converters::json::JsonConverter;

fn schema() -> SchemaRef {
    SchemaBuilder::structure()
        .name("com.example.Order")
        .field("id", schemas::int64())
        .and_then(|b| b.field("customer", schemas::string()))
        .and_then(|b| b.field("email", schemas::optional_string()))
        .and_then(|b| b.field("quantity", schemas::int32()))
        .and_then(|b| b.field("price", schemas::float64()))
        .and_then(|b| b.field("discount", schemas::float32()))
        .and_then(|b| b.field("paid", schemas::boolean()))
        .and_then(|b| b.field("created", schemas::int64()))
        .and_then(|b| b.field("region", schemas::int16()))
        .and_then(|b| b.field("note", schemas::optional_string()))
        .expect("valid schema")
        .build()
}

fn value(schema: &SchemaRef) -> Value {
    let mut s = Struct::new(schema.clone());
    let fields = [
        ("id", Value::Int64(1_234_567_890)),
        ("customer", Value::from("Ada Lovelace")),
        ("email", Value::from("ada@example.com")),
        ("quantity", Value::Int32(3)),
        ("price", Value::Float64(19.99)),
        ("discount", Value::Float32(0.15)),
        ("paid", Value::Boolean(true)),
        ("created", Value::Int64(1_700_000_000_000)),
        ("region", Value::Int16(44)),
        ("note", Value::Null),
    ];
    for (k, v) in fields {
        s.put(k, v).expect("valid field");
    }
    Value::Struct(s)
}

fn converter(schemas_enable: bool) -> JsonConverter {
    let mut raw = RawConfig::new();
    raw.insert("schemas.enable".into(), schemas_enable.to_string());
    JsonConverter::new(&raw, ConverterRole::Value).expect("valid config")
}

fn bench(c: &mut Criterion) {
    let schema = schema();
    let value = value(&schema);
    let mut g = c.benchmark_group("json_10_field_struct");
    g.throughput(Throughput::Elements(1));
    for enable in [true, false] {
        let conv = converter(enable);
        let label = if enable { "schemas" } else { "no_schemas" };
        // The record's schema is passed either way, as the runtime does; `schemas.enable`
        // decides only whether it is written into (and expected in) the envelope.
        let schema_arg = Some(&schema);
        let mut headers = Headers::new();
        let bytes = conv
            .from_connect("t", &mut headers, schema_arg, &value)
            .expect("serializes")
            .expect("not null");
        g.bench_function(format!("from_connect/{label}"), |b| {
            b.iter(|| {
                conv.from_connect("t", &mut headers, black_box(schema_arg), black_box(&value))
                    .expect("serializes")
            })
        });
        let headers = Headers::new();
        g.bench_function(format!("to_connect/{label}"), |b| {
            b.iter(|| {
                conv.to_connect("t", &headers, Some(black_box(&bytes[..])))
                    .expect("parses")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
