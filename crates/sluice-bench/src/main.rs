//! `sluice-bench`: bench-only tooling behind `scripts/bench.sh`. Not part of the product.
//!
//! - `gen` writes the input file (fixed-size lines).
//! - `baseline-produce` / `baseline-consume` are the raw librdkafka clients Sluice is compared
//!   with. They link rdkafka directly (the one documented exception to "only sluice-kafka links
//!   rdkafka"): a baseline behind Sluice's own wrappers would hide their cost. They use exactly
//!   the librdkafka settings Sluice derives from the same worker file (`sluice_runtime::clients`),
//!   so batching, acks and in-flight limits are the same on both sides.
//! - `tdengine-sink` benchmarks the TDengine sink against a raw HTTP client (`tdengine.rs`).
//! - `jdbc` benchmarks the JDBC sink and source against raw PostgreSQL clients (`jdbc.rs`),
//!   `cdc` the PostgreSQL CDC connector against a raw pgoutput reader, and its commit-to-Kafka
//!   latency (`cdc.rs`).
//! - `messaging` benchmarks the RabbitMQ source and sink against raw lapin + rdkafka clients,
//!   and the webhook source's requests/s and latency (`messaging.rs`).
//! - `run` is the orchestrator: it runs every scenario side by side on one broker and prints the
//!   table.
//!
//! It must not be used by product code, and timing goals live here, never in tests.

mod baseline;
mod cdc;
mod jdbc;
mod messaging;
mod orchestrate;
mod procfs;
mod tdengine;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sluice-bench",
    about = "Sluice benchmarks against the raw librdkafka client"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Writes `bytes` bytes of lines, each `record_size` bytes long including its newline.
    Gen {
        #[arg(long)]
        bytes: u64,
        #[arg(long, default_value_t = 100)]
        record_size: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// The raw producer: sends every line of `file` to `topic`, one record per line, with the
    /// producer settings Sluice derives from `worker`; prints its statistics as JSON when every
    /// record is acknowledged.
    BaselineProduce {
        #[arg(long)]
        worker: PathBuf,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// The raw consumer: reads `records` records of `topic` and writes their values, one per
    /// line, to `out`, with the consumer settings Sluice derives from `worker`.
    BaselineConsume {
        #[arg(long)]
        worker: PathBuf,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        group: String,
        #[arg(long)]
        records: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Prints the low and high watermarks of partition 0 of `topic`.
    Watermarks {
        #[arg(long)]
        bootstrap: String,
        #[arg(long)]
        topic: String,
    },
    /// Runs every scenario and prints the table.
    Run(orchestrate::Args),
    /// The TDengine sink benchmark: Sluice against a raw client posting the same batches.
    TdengineSink(tdengine::Args),
    /// The RabbitMQ and webhook benchmarks (issue 18).
    Messaging(messaging::Args),
    /// The raw TDengine client of `tdengine-sink` (run as a child process).
    TdengineRaw {
        #[arg(long)]
        url: String,
        #[arg(long)]
        db: String,
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        batch: usize,
    },
    /// The JDBC benchmarks: sink and source against raw PostgreSQL clients.
    Jdbc(jdbc::Args),
    /// The raw sink client of `jdbc` (run as a child process).
    JdbcRawSink {
        #[arg(long)]
        pg: String,
        #[arg(long)]
        db: String,
        #[arg(long)]
        table: String,
        #[arg(long)]
        rows: u64,
        #[arg(long)]
        batch: usize,
        #[arg(long, action = clap::ArgAction::Set)]
        upsert: bool,
    },
    /// The raw source client of `jdbc` (run as a child process).
    JdbcRawSource {
        #[arg(long)]
        pg: String,
        #[arg(long)]
        db: String,
        #[arg(long)]
        table: String,
        #[arg(long, action = clap::ArgAction::Set)]
        incrementing: bool,
        #[arg(long)]
        worker: PathBuf,
        #[arg(long)]
        topic: String,
    },
    /// The PostgreSQL CDC benchmarks: throughput against a raw pgoutput reader, latency.
    Cdc(cdc::Args),
    /// The raw pgoutput reader of `cdc` (run as a child process).
    CdcRaw {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        db: String,
        #[arg(long)]
        slot: String,
        #[arg(long)]
        publication: String,
        #[arg(long)]
        events: u64,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Gen {
            bytes,
            record_size,
            out,
        } => {
            let n = gen(&out, bytes, record_size)?;
            println!("{n}");
            Ok(())
        }
        Cmd::BaselineProduce {
            worker,
            topic,
            file,
        } => baseline::produce(&worker, &topic, &file),
        Cmd::BaselineConsume {
            worker,
            topic,
            group,
            records,
            out,
        } => baseline::consume(&worker, &topic, &group, records, &out),
        Cmd::Watermarks { bootstrap, topic } => {
            let c: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", bootstrap)
                .create()?;
            let (lo, hi) = rdkafka::consumer::Consumer::fetch_watermarks(
                &c,
                &topic,
                0,
                std::time::Duration::from_secs(5),
            )?;
            println!("{lo} {hi}");
            Ok(())
        }
        Cmd::Run(args) => orchestrate::run(args),
        Cmd::TdengineSink(args) => tdengine::run(args),
        Cmd::Messaging(args) => messaging::run(args),
        Cmd::TdengineRaw {
            url,
            db,
            file,
            batch,
        } => tdengine::raw(&url, &db, &file, batch),
        Cmd::Jdbc(args) => jdbc::run(args),
        Cmd::JdbcRawSink {
            pg,
            db,
            table,
            rows,
            batch,
            upsert,
        } => jdbc::raw_sink(&pg, &db, &table, rows, batch, upsert),
        Cmd::JdbcRawSource {
            pg,
            db,
            table,
            incrementing,
            worker,
            topic,
        } => jdbc::raw_source(&pg, &db, &table, incrementing, &worker, &topic),
        Cmd::Cdc(args) => cdc::run(args),
        Cmd::CdcRaw {
            port,
            db,
            slot,
            publication,
            events,
        } => cdc::raw(port, &db, &slot, &publication, events),
    }
}

/// Writes lines of `record_size - 1` printable ASCII bytes (no JSON escaping needed) and a
/// newline, about `bytes` in total; returns the number of lines.
pub fn gen(out: &std::path::Path, bytes: u64, record_size: usize) -> anyhow::Result<u64> {
    anyhow::ensure!(record_size >= 2, "record size must be at least 2");
    let lines = (bytes / record_size as u64).max(1);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut line = vec![0u8; record_size];
    for i in 0..lines {
        let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for b in line.iter_mut().take(record_size - 1) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = ALPHABET[(x % ALPHABET.len() as u64) as usize];
        }
        line[record_size - 1] = b'\n';
        w.write_all(&line)?;
    }
    w.flush()?;
    Ok(lines)
}

/// A current-thread tokio runtime for a bench's async clients.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
