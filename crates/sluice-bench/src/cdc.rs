//! The PostgreSQL CDC benchmarks (issue 17), on a private PostgreSQL 15 cluster with
//! `wal_level=logical` (initdb/pg_ctl from the machine's binaries, as the tests do):
//!
//! - **Throughput**: 1M single-row inserts committed in 1,000-row transactions while two
//!   logical slots (created before the writes) hold the WAL; then a raw pgoutput reader (this
//!   file, [`raw`]: the replication protocol over a plain socket, decoding every message and
//!   every column of every insert, nothing else) reads one slot and Sluice's
//!   `PostgresConnector` the other, into Kafka. Events/s, CPU per event, peak RSS. Then the
//!   bound: Sluice's records read back and written again by a raw librdkafka producer with
//!   Sluice's producer settings (how fast this broker takes those bytes from one client); and
//!   the same pair with JsonConverter's schemas off, on a third slot.
//! - **Latency**: with Sluice streaming, a writer commits single-row inserts at a steady rate
//!   (1,000/s) and a consumer reading the topic notes when each arrives: commit (the INSERT's
//!   answer) to record in Kafka (the consumer's fetch), p50/p99/max.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::Value;

use crate::procfs;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub sluice: PathBuf,
    #[arg(long)]
    pub bootstrap: String,
    #[arg(long)]
    pub work: PathBuf,
    /// Inserts of the throughput scenario.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Inserts per transaction.
    #[arg(long, default_value_t = 1000)]
    pub tx_rows: u64,
    /// Commits per second of the latency scenario.
    #[arg(long, default_value_t = 1000)]
    pub latency_rate: u64,
    /// Seconds of the latency scenario.
    #[arg(long, default_value_t = 20)]
    pub latency_secs: u64,
    /// PostgreSQL 15 server binaries.
    #[arg(long, default_value = "/usr/lib/postgresql/15/bin")]
    pub pg_bin: PathBuf,
    /// Appends the result table here.
    #[arg(long)]
    pub out_md: Option<PathBuf>,
}

// ---- the private cluster ------------------------------------------------------------------

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A server binary, as the `postgres` OS user when we are root (the server refuses root).
fn as_postgres(bin: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin).args(args);
        c
    } else {
        let mut c = Command::new(bin);
        c.args(args);
        c
    }
}

fn check(what: &str, cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    fn start(bin: &Path, work: &Path) -> anyhow::Result<Cluster> {
        anyhow::ensure!(
            bin.join("initdb").exists(),
            "PostgreSQL 15 server binaries not found in {} (--pg-bin)",
            bin.display()
        );
        let dir = work.join(format!("pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        if is_root() {
            check(
                "chown",
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir),
            )?;
        }
        let data = dir.join("data").display().to_string();
        check(
            "initdb",
            &mut as_postgres(
                &bin.join("initdb"),
                &[
                    "-D",
                    &data,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            ),
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        // fsync=off: disk flushes are not what is measured. synchronous_commit stays on: a
        // walsender sends only flushed WAL, and with it off the WAL writer flushes every
        // wal_writer_delay (200 ms), which the latency would measure instead of the stream.
        let options = format!(
            "-c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 -p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_wal_size=4GB",
            dir.display()
        );
        let log = dir.join("server.log").display().to_string();
        check(
            "pg_ctl start",
            &mut as_postgres(
                &bin.join("pg_ctl"),
                &[
                    "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
                ],
            ),
        )?;
        Ok(Cluster {
            dir,
            bin: bin.to_path_buf(),
            port,
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-m", "immediate", "-w", "stop"],
        )
        .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn connect(port: u16, db: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("postgres")
        .dbname(db)
        .connect(tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to 127.0.0.1:{port}/{db}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

// ---- the raw pgoutput reader ---------------------------------------------------------------

/// Reads one backend message: (type, body).
fn read_msg(r: &mut impl Read) -> anyhow::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    r.read_exact(&mut head)?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    anyhow::ensure!((4..1 << 30).contains(&len), "bad message length {len}");
    let mut body = vec![0u8; len - 4];
    r.read_exact(&mut body)?;
    Ok((head[0], body))
}

fn error_text(body: &[u8]) -> String {
    body.split(|b| *b == 0)
        .filter(|f| f.first().is_some_and(|t| *t == b'M'))
        .map(|f| String::from_utf8_lossy(&f[1..]).into_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

fn write_msg(w: &mut impl Write, kind: u8, body: &[u8]) -> std::io::Result<()> {
    w.write_all(&[kind])?;
    w.write_all(&((body.len() + 4) as u32).to_be_bytes())?;
    w.write_all(body)
}

/// A cursor over a message body.
struct Buf<'a>(&'a [u8]);

impl<'a> Buf<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        anyhow::ensure!(self.0.len() >= n, "message too short");
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> anyhow::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn i16(&mut self) -> anyhow::Result<i16> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into()?))
    }
    fn u32(&mut self) -> anyhow::Result<u32> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into()?))
    }
    fn u64(&mut self) -> anyhow::Result<u64> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into()?))
    }
    fn cstr(&mut self) -> anyhow::Result<&'a str> {
        let end = self
            .0
            .iter()
            .position(|b| *b == 0)
            .context("unterminated string")?;
        let s = std::str::from_utf8(&self.0[..end])?;
        self.0 = &self.0[end + 1..];
        Ok(s)
    }
}

/// A decoded column value.
#[derive(Debug)]
#[allow(dead_code)] // read by nothing: the reader's work is to produce them
enum Cell {
    Null,
    Unchanged,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

/// Decodes a tuple (text format) with the relation's column types.
fn tuple(b: &mut Buf<'_>, types: &[u32]) -> anyhow::Result<Vec<Cell>> {
    let n = b.i16()? as usize;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(match b.u8()? {
            b'n' => Cell::Null,
            b'u' => Cell::Unchanged,
            b't' => {
                let len = b.u32()? as usize;
                let text = std::str::from_utf8(b.take(len)?)?;
                match types.get(i).copied().unwrap_or(25) {
                    20 | 21 | 23 => Cell::Int(text.parse()?),
                    700 | 701 => Cell::Float(text.parse()?),
                    16 => Cell::Bool(text == "t"),
                    _ => Cell::Text(text.to_string()),
                }
            }
            k => bail!("unknown tuple kind {k}"),
        });
    }
    Ok(out)
}

/// The raw reader (a child process): START_REPLICATION on `slot` from its confirmed
/// position, decodes until `events` inserts were seen, prints its report.
pub fn raw(port: u16, db: &str, slot: &str, publication: &str, events: u64) -> anyhow::Result<()> {
    let sock = TcpStream::connect(("127.0.0.1", port))?;
    sock.set_nodelay(true)?;
    let mut r = BufReader::with_capacity(1 << 16, sock.try_clone()?);
    let mut w = BufWriter::new(sock);
    // StartupMessage: protocol 3.0 and key/value pairs.
    let mut body = Vec::new();
    body.extend_from_slice(&196_608u32.to_be_bytes());
    for (k, v) in [
        ("user", "postgres"),
        ("database", db),
        ("replication", "database"),
    ] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    w.write_all(&((body.len() + 4) as u32).to_be_bytes())?;
    w.write_all(&body)?;
    w.flush()?;
    loop {
        match read_msg(&mut r)? {
            (b'R', b) => anyhow::ensure!(b[..4] == [0, 0, 0, 0], "the server asks for a password"),
            (b'E', b) => bail!("server: {}", error_text(&b)),
            (b'Z', _) => break,
            _ => {}
        }
    }
    let q = format!(
        "START_REPLICATION SLOT \"{slot}\" LOGICAL 0/0 (\"proto_version\" '1', \"publication_names\" '\"{publication}\"')\0"
    );
    write_msg(&mut w, b'Q', q.as_bytes())?;
    w.flush()?;
    loop {
        match read_msg(&mut r)? {
            (b'W', _) => break,
            (b'E', b) => bail!("START_REPLICATION: {}", error_text(&b)),
            _ => {}
        }
    }
    let start = Instant::now();
    let mut relations: std::collections::HashMap<u32, Vec<u32>> = Default::default();
    let (mut inserts, mut cells, mut last_lsn) = (0u64, 0u64, 0u64);
    while inserts < events {
        let (kind, body) = read_msg(&mut r)?;
        match kind {
            b'd' => {}
            b'E' => bail!("replication: {}", error_text(&body)),
            _ => continue,
        }
        let mut b = Buf(&body);
        match b.u8()? {
            b'w' => {
                let _start = b.u64()?;
                last_lsn = b.u64()?;
                let _clock = b.u64()?;
                match b.u8()? {
                    b'R' => {
                        let id = b.u32()?;
                        let _ns = b.cstr()?;
                        let _name = b.cstr()?;
                        let _ident = b.u8()?;
                        let n = b.i16()?;
                        let mut types = Vec::new();
                        for _ in 0..n {
                            let _flags = b.u8()?;
                            let _col = b.cstr()?;
                            types.push(b.u32()?);
                            let _typmod = b.u32()?;
                        }
                        relations.insert(id, types);
                    }
                    b'I' => {
                        let id = b.u32()?;
                        anyhow::ensure!(b.u8()? == b'N', "insert without a new tuple");
                        let types = relations.get(&id).map(Vec::as_slice).unwrap_or(&[]);
                        let row = tuple(&mut b, types)?;
                        cells += row.len() as u64;
                        std::hint::black_box(&row);
                        inserts += 1;
                    }
                    // Begin, commit, updates, deletes, types, origins, truncates, messages:
                    // not in this stream, or nothing to decode for the count.
                    _ => {}
                }
            }
            b'k' => {
                last_lsn = last_lsn.max(b.u64()?);
                let _clock = b.u64()?;
                if b.u8()? == 1 {
                    let mut s = vec![b'r'];
                    for _ in 0..3 {
                        s.extend_from_slice(&last_lsn.to_be_bytes());
                    }
                    s.extend_from_slice(&0u64.to_be_bytes());
                    s.push(0);
                    write_msg(&mut w, b'd', &s)?;
                    w.flush()?;
                }
            }
            _ => {}
        }
    }
    let out = serde_json::json!({
        "records": inserts,
        "cells": cells,
        "secs": start.elapsed().as_secs_f64(),
        "cpu_s": procfs::cpu_seconds("self"),
        "hwm_kib": procfs::status_kib("self", "VmHWM"),
    });
    println!("{out}");
    std::io::stdout().flush()?;
    Ok(())
}

// ---- the orchestrator ----------------------------------------------------------------------

#[derive(Clone, Copy, Default)]
struct Sample {
    wall_s: f64,
    cpu_s: f64,
    hwm_kib: u64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.work)?;
    let n = args.events;
    eprintln!("cdc: starting a private PostgreSQL cluster...");
    let cluster = Cluster::start(&args.pg_bin, &args.work)?;
    let port = cluster.port;
    let rt = crate::runtime()?;
    let client = rt.block_on(async {
        let admin = connect(port, "postgres").await?;
        admin.batch_execute("CREATE DATABASE bench").await?;
        let c = connect(port, "bench").await?;
        // One statement at a time: a slot cannot be created in a transaction that wrote.
        for sql in [
            "CREATE TABLE t (id bigint PRIMARY KEY, a integer NOT NULL, b text NOT NULL, c double precision NOT NULL, d boolean NOT NULL)",
            "CREATE TABLE lat (id bigint PRIMARY KEY, v integer NOT NULL)",
            "CREATE PUBLICATION bench_pub FOR TABLE t, lat",
            "SELECT pg_create_logical_replication_slot('raw_slot', 'pgoutput')",
            "SELECT pg_create_logical_replication_slot('sluice_slot', 'pgoutput')",
            "SELECT pg_create_logical_replication_slot('sluice_slot2', 'pgoutput')",
            "SELECT pg_create_logical_replication_slot('raw_slot2', 'pgoutput')",
        ] {
            c.batch_execute(sql)
                .await
                .map_err(|e| anyhow::anyhow!("{sql}: {e:?}"))?;
        }
        anyhow::Ok(c)
    })?;
    eprintln!(
        "cdc: committing {n} single-row inserts in transactions of {}...",
        args.tx_rows
    );
    let t0 = Instant::now();
    rt.block_on(client.batch_execute(&format!(
        "DO $$ BEGIN FOR tx IN 0..{} LOOP FOR r IN 1..{} LOOP INSERT INTO t VALUES (tx * {} + r, r, 'row ' || r, r * 0.5, r % 2 = 0); END LOOP; COMMIT; END LOOP; END $$",
        n.div_ceil(args.tx_rows) - 1,
        args.tx_rows,
        args.tx_rows
    )))?;
    let written = n.div_ceil(args.tx_rows) * args.tx_rows;
    eprintln!(
        "cdc: {written} inserts committed in {:.1}s",
        t0.elapsed().as_secs_f64()
    );

    // Nothing left running in the server (autovacuum's analyze of the new rows, the
    // checkpointer): it would slow whichever reader came first.
    rt.block_on(client.batch_execute("VACUUM (ANALYZE) t"))?;
    rt.block_on(client.batch_execute("CHECKPOINT"))?;

    // The raw reader, once before Sluice and once after (each on a slot of its own): the
    // faster run counts.
    let raw_run = |slot: &str| -> anyhow::Result<Sample> {
        eprintln!("cdc: raw pgoutput reader on {slot}...");
        let me = std::env::current_exe()?;
        let start = Instant::now();
        let out = Command::new(&me)
            .args(["cdc-raw", "--port", &port.to_string(), "--db", "bench"])
            .args(["--slot", slot, "--publication", "bench_pub", "--events"])
            .arg(written.to_string())
            .stdin(Stdio::null())
            .output()?;
        let wall_s = start.elapsed().as_secs_f64();
        anyhow::ensure!(
            out.status.success(),
            "raw reader failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim())?;
        Ok(Sample {
            wall_s,
            cpu_s: v["cpu_s"].as_f64().unwrap_or(f64::NAN),
            hwm_kib: v["hwm_kib"].as_u64().unwrap_or(0),
        })
    };
    let raw_first = raw_run("raw_slot")?;

    // Sluice on its slot with JsonConverter and schemas (Connect's default), then the bound:
    // the same records, read back, written by a raw producer with Sluice's producer settings
    // (how fast the broker takes these bytes from one client), then Sluice again without
    // schemas on the third slot (about a fifth of the bytes), and its bound.
    let tag = std::process::id();
    let worker = args.work.join("cdc-worker.properties");
    std::fs::write(
        &worker,
        format!(
            "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\noffset.storage.file.filename={}\noffset.flush.interval.ms=1000\n",
            args.bootstrap,
            args.work.join(format!("cdc-{tag}.offsets")).display()
        ),
    )?;
    let result = (|| -> anyhow::Result<(Side, Side, Latency)> {
        let with = sluice_side(&args, port, written, "sluice_slot", true)?;
        let probe = latency(&args, port, &format!("{}.public.lat", with.prefix))?;
        let with = bound(&args, &worker, with, written)?;
        let without = sluice_side(&args, port, written, "sluice_slot2", false)?;
        let without = bound(&args, &worker, without, written)?;
        Ok((with, without, probe))
    })();
    let raw_last = raw_run("raw_slot2");
    let raw = match &raw_last {
        Ok(last) if last.wall_s < raw_first.wall_s => *last,
        _ => raw_first,
    };
    drop(client);
    drop(cluster);
    let (with, without, probe) = result?;
    let raw_last = raw_last?;
    let sluice = with.sample;
    let achieved = probe.achieved;
    let mut lat = probe.total.clone();
    // The same rows after the first second (the first rows of a new table wait for its
    // schema, the producer's metadata and the consumer's start), and the Sluice part: commit
    // to the record's timestamp (set when Sluice hands it to its producer).
    let mut steady: Vec<f64> = probe
        .total
        .iter()
        .zip(&probe.committed)
        .filter(|(_, c)| **c >= probe.committed.first().copied().unwrap_or(0.0) + 1000.0)
        .map(|(l, _)| *l)
        .collect();
    let mut to_producer = probe.to_producer.clone();
    steady.sort_by(|a, b| a.total_cmp(b));
    to_producer.sort_by(|a, b| a.total_cmp(b));

    let nf = written as f64;
    let rate = |s: &Sample| if s.wall_s > 0.0 { nf / s.wall_s } else { 0.0 };
    let us = |s: &Sample| s.cpu_s * 1e6 / nf;
    let ratio = rate(&sluice) / rate(&raw).max(f64::MIN_POSITIVE);
    lat.sort_by(|a, b| a.total_cmp(b));
    let table = format!(
        "\nPostgreSQL CDC, {written} single-row inserts in transactions of {tx} read from a logical slot (private PostgreSQL 15 cluster; its walsender's CPU is counted on neither side):\n\n\
| Side | Events/s | CPU µs per event | Peak RSS |\n|---|---:|---:|---:|\n\
| raw pgoutput reader (decodes every insert, no Kafka; the faster of two runs: {:.0} before Sluice, {:.0} after) | {:.0} | {:.2} | {:.1} MiB |\n\
| Sluice `PostgresConnector` into Kafka (JsonConverter, schemas on) | {:.0} | {:.2} | {:.1} MiB |\n\
| Sluice / raw | {:.2} (target ≥ 0.7: {}) | {:.2} | |\n\
| the bound: a raw librdkafka producer writing Sluice's {:.0} MB of records (Sluice's producer settings) | {:.0} | | |\n\
| Sluice / its bound | {:.2} | | |\n\
| Sluice, JsonConverter schemas off | {:.0} | {:.2} | {:.1} MiB |\n\
| Sluice (schemas off) / raw | {:.2} (target ≥ 0.7: {}) | {:.2} | |\n\
| its bound: the raw producer writing those {:.0} MB | {:.0} | | |\n\
| Sluice (schemas off) / its bound | {:.2} | | |\n\n\
Commit-to-Kafka latency, {} single-row transactions at {:.0}/s (target {}/s), INSERT answered → record fetched by a consumer: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; after the first second: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms. INSERT answered → record handed to Sluice's producer (its timestamp, ms resolution): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms.\n",
        rate(&raw_first),
        rate(&raw_last),
        rate(&raw),
        us(&raw),
        raw.hwm_kib as f64 / 1024.0,
        rate(&sluice),
        us(&sluice),
        sluice.hwm_kib as f64 / 1024.0,
        ratio,
        if ratio >= 0.7 { "met" } else { "**not met**" },
        us(&sluice) / us(&raw).max(f64::MIN_POSITIVE),
        with.bytes as f64 / 1e6,
        nf / with.bound_s.max(f64::MIN_POSITIVE),
        with.bound_s / sluice.wall_s.max(f64::MIN_POSITIVE),
        rate(&without.sample),
        us(&without.sample),
        without.sample.hwm_kib as f64 / 1024.0,
        rate(&without.sample) / rate(&raw).max(f64::MIN_POSITIVE),
        if rate(&without.sample) / rate(&raw).max(f64::MIN_POSITIVE) >= 0.7 {
            "met"
        } else {
            "**not met**"
        },
        us(&without.sample) / us(&raw).max(f64::MIN_POSITIVE),
        without.bytes as f64 / 1e6,
        nf / without.bound_s.max(f64::MIN_POSITIVE),
        without.bound_s / without.sample.wall_s.max(f64::MIN_POSITIVE),
        lat.len(),
        achieved,
        args.latency_rate,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN),
        percentile(&steady, 0.5),
        percentile(&steady, 0.99),
        steady.last().copied().unwrap_or(f64::NAN),
        percentile(&to_producer, 0.5),
        percentile(&to_producer, 0.99),
        to_producer.last().copied().unwrap_or(f64::NAN),
        tx = args.tx_rows,
    );
    print!("{table}");
    if let Some(md) = &args.out_md {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(md)?;
        f.write_all(table.as_bytes())?;
    }
    Ok(())
}

/// One Sluice run and, once [`bound`] ran, the raw producer's time for its records.
struct Side {
    prefix: String,
    sample: Sample,
    worker: Option<Worker>,
    bytes: u64,
    bound_s: f64,
}

/// Runs Sluice's `PostgresConnector` on `slot` until `n` records of table `t` are in Kafka.
fn sluice_side(args: &Args, port: u16, n: u64, slot: &str, schemas: bool) -> anyhow::Result<Side> {
    let tag = std::process::id();
    let prefix = format!("cdcbench{tag}{slot}");
    let topic = format!("{prefix}.public.t");
    crate::tdengine::create_topic(&args.bootstrap, &topic)?;
    crate::tdengine::create_topic(&args.bootstrap, &format!("{prefix}.public.lat"))?;
    let worker = args.work.join("cdc-worker.properties");
    let conn = args.work.join(format!("cdc-{slot}.properties"));
    std::fs::write(
        &conn,
        format!(
            "name=cdc-bench-{tag}-{slot}\nconnector.class=io.debezium.connector.postgresql.PostgresConnector\nplugin.name=pgoutput\ndatabase.hostname=127.0.0.1\ndatabase.port={port}\ndatabase.user=postgres\ndatabase.dbname=bench\ntopic.prefix={prefix}\nslot.name={slot}\npublication.name=bench_pub\npublication.autocreate.mode=disabled\nsnapshot.mode=no_data\nkey.converter=org.apache.kafka.connect.json.JsonConverter\nkey.converter.schemas.enable={schemas}\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable={schemas}\n"
        ),
    )?;
    eprintln!("cdc: Sluice PostgresConnector on {slot}, schemas {schemas}...");
    let log = args.work.join(format!("cdc-sluice-{slot}.log"));
    let start = Instant::now();
    let mut child = Command::new(&args.sluice)
        .arg("standalone")
        .arg("--listeners")
        .arg("http://127.0.0.1:0")
        .arg(&worker)
        .arg(&conn)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let pid = child.id().to_string();
    let result = (|| -> anyhow::Result<Sample> {
        let counted = crate::jdbc::count_records(&args.bootstrap, &topic, n)?;
        let deadline = start + Duration::from_secs(3600);
        loop {
            std::thread::sleep(Duration::from_millis(20));
            if counted.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(Sample {
                    wall_s: start.elapsed().as_secs_f64(),
                    cpu_s: procfs::cpu_seconds(&pid).unwrap_or(f64::NAN),
                    hwm_kib: procfs::status_kib(&pid, "VmHWM").unwrap_or(0),
                });
            }
            if let Some(s) = child.try_wait()? {
                bail!("sluice exited ({s}); see {}", log.display());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "sluice did not finish in an hour"
            );
        }
    })();
    // The latency probe runs with this worker still streaming; [`bound`] stops it.
    let process = Worker(child);
    Ok(Side {
        prefix,
        sample: result?,
        worker: Some(process),
        bytes: 0,
        bound_s: f64::NAN,
    })
}

/// A Sluice worker process, killed when dropped.
struct Worker(std::process::Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A record's key and value bytes.
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Stops `side`'s worker, reads its `n` records of table `t` back and times a raw producer
/// (`BaseProducer`, Sluice's producer settings from the worker file) writing the same keys and
/// values to a new topic, clocked like Sluice: from the start to the last record read back.
fn bound(args: &Args, worker: &Path, mut side: Side, n: u64) -> anyhow::Result<Side> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    use rdkafka::message::Message as _;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
    use rdkafka::types::RDKafkaErrorCode;
    side.worker = None;
    let topic = format!("{}.public.t", side.prefix);
    eprintln!("cdc: reading {topic} back...");
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap)
        .set("group.id", format!("bench-capture-{topic}"))
        .set("enable.auto.commit", "false")
        .set("max.partition.fetch.bytes", "16777216")
        .create()?;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, rdkafka::Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let mut records: Vec<KeyValue> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    while (records.len() as u64) < n {
        anyhow::ensure!(
            Instant::now() < deadline,
            "read {} of {n} records of {topic} back",
            records.len()
        );
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m?;
            side.bytes +=
                (m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len)) as u64;
            records.push((m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec)));
        }
    }
    drop(consumer);
    eprintln!(
        "cdc: read {} records ({} MB) back",
        records.len(),
        side.bytes / 1_000_000
    );
    let out = format!("{topic}.raw");
    crate::tdengine::create_topic(&args.bootstrap, &out)?;
    let w = crate::baseline::worker_config(worker)?;
    let settings = sluice_runtime::clients::producer(&w, &Default::default(), "bound")?;
    let producer: BaseProducer = crate::baseline::client_config(&settings).create()?;
    eprintln!("cdc: raw producer writing the {n} records to {out}...");
    let counted = crate::jdbc::count_records(&args.bootstrap, &out, n)?;
    let start = Instant::now();
    for (i, (k, v)) in records.iter().enumerate() {
        let mut r = BaseRecord::<[u8], [u8]>::to(&out);
        if let Some(k) = k {
            r = r.key(k.as_slice());
        }
        if let Some(v) = v {
            r = r.payload(v.as_slice());
        }
        loop {
            match producer.send(r) {
                Ok(()) => break,
                Err((e, back)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                    producer.poll(Duration::from_millis(100));
                    r = back;
                }
                Err((e, _)) => bail!("raw producer: {e}"),
            }
        }
        if i % 1024 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    while !counted.load(std::sync::atomic::Ordering::SeqCst) {
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(3600),
            "the raw producer did not finish in an hour"
        );
        producer.poll(Duration::from_millis(20));
    }
    side.bound_s = start.elapsed().as_secs_f64();
    producer.flush(Duration::from_secs(30))?;
    Ok(side)
}

/// What the latency probe measured, per row (ms).
struct Latency {
    /// Commit (INSERT answered) to the record fetched by the consumer.
    total: Vec<f64>,
    /// Commit time, from the probe's start.
    committed: Vec<f64>,
    /// Commit to the record's Kafka timestamp (set when Sluice hands it to its producer).
    to_producer: Vec<f64>,
    /// Commits per second achieved.
    achieved: f64,
}

fn unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Commits `latency_rate` single-row inserts a second for `latency_secs` into `lat` while a
/// consumer reads `topic`; returns each row's latencies and the rate achieved.
fn latency(args: &Args, port: u16, topic: &str) -> anyhow::Result<Latency> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    use rdkafka::message::Message as _;
    let total = args.latency_rate * args.latency_secs;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap)
        .set("group.id", format!("cdc-latency-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .set("fetch.min.bytes", "1")
        .create()?;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let epoch = Instant::now();
    eprintln!(
        "cdc: latency: {total} single-row commits at {}/s...",
        args.latency_rate
    );
    let rate = args.latency_rate.max(1);
    type Written = (Vec<f64>, Vec<f64>, f64);
    let writer = std::thread::spawn(move || -> anyhow::Result<Written> {
        let rt = crate::runtime()?;
        rt.block_on(async move {
            let c = connect(port, "bench").await?;
            let stmt = c.prepare("INSERT INTO lat VALUES ($1, 0)").await?;
            let mut committed = vec![f64::NAN; total as usize];
            let mut committed_unix = vec![f64::NAN; total as usize];
            let start = Instant::now();
            for i in 0..total {
                let due = start + Duration::from_micros(i * 1_000_000 / rate);
                tokio::time::sleep_until(due.into()).await;
                c.execute(&stmt, &[&(i as i64)]).await?;
                committed[i as usize] = epoch.elapsed().as_secs_f64() * 1000.0;
                committed_unix[i as usize] = unix_ms();
            }
            let achieved = total as f64 / start.elapsed().as_secs_f64();
            anyhow::Ok((committed, committed_unix, achieved))
        })
    });
    let mut arrived = vec![f64::NAN; total as usize];
    let mut stamped = vec![f64::NAN; total as usize];
    let mut got = 0u64;
    let deadline = Instant::now() + Duration::from_secs(args.latency_secs + 120);
    while got < total && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let now = epoch.elapsed().as_secs_f64() * 1000.0;
                let Some(p) = m.payload() else { continue };
                let v: Value = serde_json::from_slice(p)?;
                let id = v["payload"]["after"]["id"].as_i64().unwrap_or(-1);
                if let Some(i) = usize::try_from(id).ok().filter(|i| *i < arrived.len()) {
                    if arrived[i].is_nan() {
                        arrived[i] = now;
                        stamped[i] = m.timestamp().to_millis().map_or(f64::NAN, |t| t as f64);
                        got += 1;
                    }
                }
            }
            Some(Err(e)) => eprintln!("cdc: latency consumer: {e}"),
            None => {}
        }
    }
    let (committed, committed_unix, achieved) = writer
        .join()
        .map_err(|_| anyhow::anyhow!("latency writer panicked"))??;
    anyhow::ensure!(got == total, "latency: {got} of {total} rows arrived");
    // Each row's commit time and latency, to see when the slow ones happen.
    let to_producer: Vec<f64> = stamped
        .iter()
        .zip(&committed_unix)
        .map(|(s, c)| s - c)
        .collect();
    let total: Vec<f64> = committed.iter().zip(&arrived).map(|(c, a)| a - c).collect();
    // Each row, to see when the slow ones happen.
    let mut csv = String::from("committed_ms,latency_ms,to_producer_ms\n");
    for ((c, l), p) in committed.iter().zip(&total).zip(&to_producer) {
        csv.push_str(&format!("{c:.3},{l:.3},{p:.1}\n"));
    }
    std::fs::write(args.work.join("cdc-latency.csv"), csv)?;
    Ok(Latency {
        total,
        committed,
        to_producer,
        achieved,
    })
}
