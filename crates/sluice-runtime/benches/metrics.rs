//! What counting costs a task: the metrics calls a source and a sink driver make per batch,
//! and one scrape of a worker with 100 tasks. `cargo bench -p sluice-runtime --bench metrics`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use sluice_api::record::TopicPartition;
use sluice_runtime::metrics::{prometheus, Registry, TaskKind};
use sluice_runtime::task::TaskId;

fn id(task: u32) -> TaskId {
    TaskId {
        connector: "bench".to_string(),
        task,
    }
}

fn per_batch(c: &mut Criterion) {
    let r = Registry::new();
    let source = r.task(&id(0), TaskKind::Source);
    // A source driver: one poll of 500 records, their acknowledgements in 4 delivery reports.
    c.bench_function("source batch of 500 (poll + 4 write reports)", |b| {
        b.iter(|| {
            source.record_poll(black_box(500), 1);
            for _ in 0..4 {
                source.record_write(black_box(125), 125);
            }
        })
    });
    let sink = r.task(&id(1), TaskKind::Sink);
    let tp = TopicPartition::new("t", 0);
    let mut next = 0;
    // A sink driver: one receive of 500 records, one put, the position and the active count.
    c.bench_function("sink batch of 500 (read + put + position + active)", |b| {
        b.iter(|| {
            next += 500;
            sink.record_read(black_box(500));
            sink.record_put(black_box(500), 1);
            sink.set_position(&tp, next);
            sink.set_active(black_box(500));
        })
    });
}

fn scrape(c: &mut Criterion) {
    let r = Registry::new();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let t = r.task(
                &id(i),
                if i % 2 == 0 {
                    TaskKind::Source
                } else {
                    TaskKind::Sink
                },
            );
            t.record_poll(10, 1);
            t
        })
        .collect();
    c.bench_function("render 100 tasks (Strimzi)", |b| {
        b.iter(|| {
            let m = r.collect_tasks();
            black_box(prometheus::render(&m, prometheus::Naming::Strimzi))
        })
    });
    drop(tasks);
}

criterion_group!(benches, per_batch, scrape);
criterion_main!(benches);
