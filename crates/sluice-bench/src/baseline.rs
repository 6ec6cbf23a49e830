//! The raw librdkafka producer and consumer Sluice is measured against.
//!
//! Each prints one JSON line (`records`, `bytes`, `cpu_s`, `hwm_kib`) when its work is done and
//! before it tears down, so the orchestrator stops its clock at the same point as for Sluice.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{bail, Context as _};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
use sluice_runtime::config::worker::{self, WorkerConfig};

use crate::procfs;

pub(crate) fn worker_config(path: &Path) -> anyhow::Result<WorkerConfig> {
    let raw: std::collections::BTreeMap<String, String> = sluice_properties::load(path)?.into();
    let config = worker::standalone_def()
        .parse(&raw)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(WorkerConfig { config })
}

pub(crate) fn client_config(settings: &sluice_kafka::RdConfig) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    for (k, v) in settings {
        cfg.set(k, v);
    }
    cfg
}

fn report(records: u64, bytes: u64) {
    let out = serde_json::json!({
        "records": records,
        "bytes": bytes,
        "cpu_s": procfs::cpu_seconds("self"),
        "hwm_kib": procfs::status_kib("self", "VmHWM"),
    });
    println!("{out}");
    let _ = std::io::stdout().flush();
}

#[derive(Default)]
struct Counts {
    acked: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Counts {}

impl ProducerContext for Counts {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.acked.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Sends each line of `file` as one record, the way librdkafka's own examples do: produce,
/// serve delivery reports with `poll(0)` as it goes, and block in `poll` when the queue is full.
pub fn produce(worker: &Path, topic: &str, file: &Path) -> anyhow::Result<()> {
    let w = worker_config(worker)?;
    let settings = sluice_runtime::clients::producer(&w, &Default::default(), "baseline")?;
    let mut cfg = client_config(&settings);
    cfg.set("client.id", "baseline-producer");
    let producer: BaseProducer<Counts> = cfg.create_with_context(Counts::default())?;

    let mut input = std::fs::File::open(file).with_context(|| file.display().to_string())?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut filled = 0usize;
    let (mut sent, mut bytes) = (0u64, 0u64);
    loop {
        let n = input.read(&mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
        let mut start = 0usize;
        while let Some(rel) = buf[start..filled].iter().position(|b| *b == b'\n') {
            let line = &buf[start..start + rel];
            let mut record = BaseRecord::<(), [u8]>::to(topic).payload(line);
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((e, r)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                        producer.poll(Duration::from_millis(100));
                        record = r;
                    }
                    Err((e, _)) => bail!("produce failed: {e}"),
                }
            }
            sent += 1;
            bytes += line.len() as u64;
            if sent % 1024 == 0 {
                producer.poll(Duration::ZERO);
            }
            start += rel + 1;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
    }
    producer.flush(Duration::from_secs(600))?;
    let ctx = producer.context();
    let (acked, failed) = (
        ctx.acked.load(Ordering::Relaxed),
        ctx.failed.load(Ordering::Relaxed),
    );
    if acked != sent || failed != 0 {
        bail!("sent {sent} records, {acked} acknowledged, {failed} failed");
    }
    report(sent, bytes);
    Ok(())
}

/// Reads `records` records and writes each value and a newline to `out`.
pub fn consume(
    worker: &Path,
    topic: &str,
    group: &str,
    records: u64,
    out: &Path,
) -> anyhow::Result<()> {
    let w = worker_config(worker)?;
    let (settings, _) = sluice_runtime::clients::consumer(&w, &Default::default(), group)?;
    let mut cfg = client_config(&settings);
    cfg.set("client.id", "baseline-consumer");
    cfg.set("group.id", group);
    let consumer: BaseConsumer = cfg.create()?;
    consumer.subscribe(&[topic])?;
    let mut file = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(out).with_context(|| out.display().to_string())?,
    );
    let (mut got, mut bytes) = (0u64, 0u64);
    while got < records {
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(m)) => {
                let v = m.payload().unwrap_or_default();
                file.write_all(v)?;
                file.write_all(b"\n")?;
                got += 1;
                bytes += v.len() as u64;
            }
            Some(Err(e)) => eprintln!("baseline consumer: {e}"),
        }
    }
    file.flush()?;
    report(got, bytes);
    Ok(())
}
