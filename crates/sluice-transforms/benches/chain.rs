//! A three-transform chain (InsertField$Value static field, ReplaceField$Value rename,
//! MaskField$Value) on a 10-field struct record, applied the way the runtime's chain applies
//! them: one after the other, each taking the record by value. Criterion runs on one thread, so
//! its elements/s is records/s per core.
//!
//! `cargo bench -p sluice-transforms --bench chain`

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sluice_api::config::RawConfig;
use sluice_api::data::{schemas, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;

fn config(pairs: &[(&str, &str)]) -> RawConfig {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

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

fn record(schema: &SchemaRef) -> ConnectRecord {
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
    ConnectRecord {
        topic: "orders".into(),
        kafka_partition: Some(0),
        value_schema: Some(schema.clone()),
        value: Value::Struct(s),
        ..ConnectRecord::default()
    }
}

fn bench(c: &mut Criterion) {
    let chain: Vec<Box<dyn Transform>> = vec![
        sluice_transforms::insert_field::new_value(&config(&[
            ("static.field", "source"),
            ("static.value", "bench"),
        ]))
        .expect("valid InsertField"),
        sluice_transforms::replace_field::new_value(&config(&[("renames", "customer:name")]))
            .expect("valid ReplaceField"),
        sluice_transforms::mask_field::new_value(&config(&[("fields", "email")]))
            .expect("valid MaskField"),
    ];
    let schema = schema();
    let rec = record(&schema);
    let mut g = c.benchmark_group("transform_chain");
    g.throughput(Throughput::Elements(1));
    g.bench_function("insert_replace_mask/schema", |b| {
        b.iter_batched(
            || rec.clone(),
            |mut r| {
                for t in &chain {
                    r = t.apply(r).expect("applies").expect("kept");
                }
                black_box(r)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
