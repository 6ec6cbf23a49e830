//! The JDBC connector benchmarks (issue 16): Sluice's `JdbcSinkConnector` against a raw
//! tokio-postgres client writing the same rows with the same batch size, and Sluice's
//! `JdbcSourceConnector` against a raw client that SELECTs the same rows and produces them
//! with rdkafka. Both sides use the same PostgreSQL server (the machine's, `--pg`), each into
//! or from a table of its own in a database made for the run and dropped after.
//!
//! Rows have 10 columns (`bigint` key, two more integers, two doubles, a boolean, three short
//! texts, a small integer). Sink: insert mode (plain `INSERT`) and upsert mode (`INSERT … ON
//! CONFLICT ("id") DO UPDATE SET …`, Confluent's statement), one transaction per batch.
//! Source: `mode=bulk` (`SELECT * FROM t`) and `mode=incrementing` (`… WHERE id > ? ORDER BY
//! id ASC`), records as JSON without schemas on both sides.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
use rdkafka::types::RDKafkaErrorCode;
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
    /// Rows per scenario.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Sink batch size (`batch.size`, and the raw client's rows per transaction).
    #[arg(long, default_value_t = 3000)]
    pub batch: usize,
    /// PostgreSQL server (trust or password in the URL), `host:port`.
    #[arg(long, default_value = "127.0.0.1:5432")]
    pub pg: String,
    /// An existing database to connect to while creating the run's own database.
    #[arg(long, default_value = "test")]
    pub pg_admin_db: String,
    /// Which scenarios: any of sink-insert, sink-upsert, source-bulk, source-incrementing.
    #[arg(
        long,
        default_value = "sink-insert,sink-upsert,source-bulk,source-incrementing"
    )]
    pub scenarios: String,
    /// Appends the result table here.
    #[arg(long)]
    pub out_md: Option<PathBuf>,
}

const COLUMNS: [&str; 10] = ["id", "a", "b", "c", "d", "e", "f", "g", "h", "i"];

fn ddl(table: &str) -> String {
    format!(
        "CREATE TABLE \"{table}\" (\"id\" BIGINT NOT NULL PRIMARY KEY, \"a\" INTEGER NOT NULL, \"b\" BIGINT NOT NULL, \"c\" DOUBLE PRECISION NOT NULL, \"d\" BOOLEAN NOT NULL, \"e\" TEXT NOT NULL, \"f\" TEXT NOT NULL, \"g\" TEXT NOT NULL, \"h\" INTEGER NOT NULL, \"i\" DOUBLE PRECISION NOT NULL)"
    )
}

/// The statement Confluent's PostgreSQL dialect generates for insert or upsert mode.
fn write_sql(table: &str, upsert: bool) -> String {
    let cols: Vec<String> = COLUMNS.iter().map(|c| format!("\"{c}\"")).collect();
    let params: Vec<String> = (1..=COLUMNS.len()).map(|i| format!("${i}")).collect();
    let mut sql = format!(
        "INSERT INTO \"{table}\" ({}) VALUES ({})",
        cols.join(","),
        params.join(",")
    );
    if upsert {
        let sets: Vec<String> = COLUMNS[1..]
            .iter()
            .map(|c| format!("\"{c}\"=EXCLUDED.\"{c}\""))
            .collect();
        sql.push_str(&format!(
            " ON CONFLICT (\"id\") DO UPDATE SET {}",
            sets.join(",")
        ));
    }
    sql
}

/// Row `i`.
struct Row {
    id: i64,
    a: i32,
    b: i64,
    c: f64,
    d: bool,
    e: String,
    f: &'static str,
    g: String,
    h: i32,
    i: f64,
}

fn row(i: u64) -> Row {
    let i = i as i64;
    Row {
        id: i,
        a: (i % 1000) as i32,
        b: i * 3,
        c: i as f64 * 0.5,
        d: i % 2 == 0,
        e: format!("name-{i:08}"),
        f: "lorem ipsum dolor",
        g: format!("{:x}", (i as u64).wrapping_mul(2_654_435_761)),
        h: (i % 97) as i32,
        i: i as f64 / 8.0,
    }
}

const SINK_SCHEMA: &str = r#"{"type":"struct","optional":false,"name":"bench","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"int32","optional":false,"field":"a"},{"type":"int64","optional":false,"field":"b"},{"type":"double","optional":false,"field":"c"},{"type":"boolean","optional":false,"field":"d"},{"type":"string","optional":false,"field":"e"},{"type":"string","optional":false,"field":"f"},{"type":"string","optional":false,"field":"g"},{"type":"int32","optional":false,"field":"h"},{"type":"double","optional":false,"field":"i"}]}"#;

/// Row `i` as a JsonConverter message with its schema (what the sink reads).
fn sink_line(i: u64) -> String {
    let r = row(i);
    format!(
        r#"{{"schema":{SINK_SCHEMA},"payload":{{"id":{},"a":{},"b":{},"c":{:?},"d":{},"e":"{}","f":"{}","g":"{}","h":{},"i":{:?}}}}}"#,
        r.id, r.a, r.b, r.c, r.d, r.e, r.f, r.g, r.h, r.i
    )
}

fn pg_config(pg: &str, db: &str) -> anyhow::Result<tokio_postgres::Config> {
    let (host, port) = pg.rsplit_once(':').unwrap_or((pg, "5432"));
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(host)
        .port(port.parse().context("--pg port")?)
        .user("postgres")
        .dbname(db);
    Ok(cfg)
}

async fn pg_connect(pg: &str, db: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = pg_config(pg, db)?
        .connect(tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to PostgreSQL {pg}/{db}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

fn report(extra: Value) {
    let mut out = serde_json::json!({
        "cpu_s": procfs::cpu_seconds("self"),
        "hwm_kib": procfs::status_kib("self", "VmHWM"),
    });
    if let (Some(o), Value::Object(e)) = (out.as_object_mut(), extra) {
        o.extend(e);
    }
    println!("{out}");
    let _ = std::io::stdout().flush();
}

/// The raw sink client (a child process): writes rows 0..rows into `table` in transactions
/// of `batch` rows, each a pipelined run of one prepared statement per row.
pub fn raw_sink(
    pg: &str,
    db: &str,
    table: &str,
    rows: u64,
    batch: usize,
    upsert: bool,
) -> anyhow::Result<()> {
    crate::runtime()?.block_on(async {
        let client = pg_connect(pg, db).await?;
        let stmt = client.prepare(&write_sql(table, upsert)).await?;
        let mut next = 0u64;
        while next < rows {
            let end = (next + batch.max(1) as u64).min(rows);
            let batch_rows: Vec<Row> = (next..end).map(row).collect();
            client.batch_execute("BEGIN").await?;
            type P<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);
            let params: Vec<[P<'_>; 10]> = batch_rows
                .iter()
                .map(|r| -> [P<'_>; 10] {
                    [&r.id, &r.a, &r.b, &r.c, &r.d, &r.e, &r.f, &r.g, &r.h, &r.i]
                })
                .collect();
            let futures = params.iter().map(|p| client.execute(&stmt, p));
            futures::future::try_join_all(futures).await?;
            client.batch_execute("COMMIT").await?;
            next = end;
        }
        anyhow::Ok(())
    })?;
    report(serde_json::json!({ "records": rows }));
    Ok(())
}

/// The raw source client (a child process): runs the source's query, turns each row into a
/// JSON object and produces it with the producer settings Sluice derives from `worker`.
pub fn raw_source(
    pg: &str,
    db: &str,
    table: &str,
    incrementing: bool,
    worker: &Path,
    topic: &str,
) -> anyhow::Result<()> {
    use futures::StreamExt as _;
    let w = crate::baseline::worker_config(worker)?;
    let settings = sluice_runtime::clients::producer(&w, &Default::default(), "baseline")?;
    let mut cfg = crate::baseline::client_config(&settings);
    cfg.set("client.id", "baseline-jdbc-source");
    let producer: BaseProducer<crate::baseline::Counts> =
        cfg.create_with_context(crate::baseline::Counts::default())?;
    let sent = crate::runtime()?.block_on(async {
        let client = pg_connect(pg, db).await?;
        let base = format!("SELECT * FROM \"public\".\"{table}\"");
        let (sql, params): (String, Vec<i64>) = if incrementing {
            (
                format!(
                    "{base} WHERE \"public\".\"{table}\".\"id\" > $1 ORDER BY \"public\".\"{table}\".\"id\" ASC"
                ),
                vec![-1],
            )
        } else {
            (base, vec![])
        };
        let stream = client.query_raw(&sql, params.iter()).await?;
        futures::pin_mut!(stream);
        let mut sent = 0u64;
        while let Some(r) = stream.next().await {
            let r = r?;
            let v = serde_json::json!({
                "id": r.try_get::<_, i64>(0)?,
                "a": r.try_get::<_, i32>(1)?,
                "b": r.try_get::<_, i64>(2)?,
                "c": r.try_get::<_, f64>(3)?,
                "d": r.try_get::<_, bool>(4)?,
                "e": r.try_get::<_, &str>(5)?,
                "f": r.try_get::<_, &str>(6)?,
                "g": r.try_get::<_, &str>(7)?,
                "h": r.try_get::<_, i32>(8)?,
                "i": r.try_get::<_, f64>(9)?,
            });
            let bytes = serde_json::to_vec(&v)?;
            let mut record = BaseRecord::<(), [u8]>::to(topic).payload(&bytes);
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
            if sent.is_multiple_of(1024) {
                producer.poll(Duration::ZERO);
            }
        }
        anyhow::Ok(sent)
    })?;
    producer.flush(Duration::from_secs(600))?;
    let acked = producer
        .context()
        .acked
        .load(std::sync::atomic::Ordering::Relaxed);
    anyhow::ensure!(acked == sent, "sent {sent} records, {acked} acknowledged");
    report(serde_json::json!({ "records": sent }));
    Ok(())
}

/// One side's figures.
///
/// Both sides are watched the same way from this process (rows visible in the side's table,
/// records read from the side's topic), every 20 ms: `first_s` is when the first rows were
/// seen (`first_done` of them), `wall_s` when all `n` were. The steady rate, the one
/// compared, is `(n - first_done) / (wall_s - first_s)`: it leaves out each side's start-up
/// (Sluice's worker start and consumer-group join; the raw client's connect), which the
/// clocks from the spawn would otherwise count for one side only.
#[derive(Clone, Copy, Default)]
struct Sample {
    wall_s: f64,
    first_s: f64,
    first_done: u64,
    cpu_s: f64,
    hwm_kib: u64,
}

impl Sample {
    /// Rows per second from the first rows seen to the last.
    fn rate(&self, n: u64) -> f64 {
        let window = self.wall_s - self.first_s;
        if self.first_done < n && window > 0.0 {
            (n - self.first_done) as f64 / window
        } else if self.wall_s > 0.0 {
            n as f64 / self.wall_s
        } else {
            0.0
        }
    }
}

/// Watches `progress` (rows or records done so far) every 20 ms until it reaches `n`.
struct Watch {
    start: Instant,
    first: Option<(f64, u64)>,
}

impl Watch {
    fn new() -> Watch {
        Watch {
            start: Instant::now(),
            first: None,
        }
    }

    /// Whether `done` of `n` means finished; notes the first progress.
    fn seen(&mut self, done: u64, n: u64) -> bool {
        if done > 0 && self.first.is_none() {
            self.first = Some((self.start.elapsed().as_secs_f64(), done));
        }
        done >= n
    }

    fn sample(&self, cpu_s: f64, hwm_kib: u64) -> Sample {
        let wall_s = self.start.elapsed().as_secs_f64();
        let (first_s, first_done) = self.first.unwrap_or((0.0, 0));
        Sample {
            wall_s,
            first_s,
            first_done,
            cpu_s,
            hwm_kib,
        }
    }
}

/// Runs a child of this executable until it exits and `progress` reached `n`, and reads its
/// one-line JSON report (its CPU and peak RSS).
fn run_child(
    args: &[String],
    n: u64,
    mut progress: impl FnMut() -> anyhow::Result<u64>,
) -> anyhow::Result<Sample> {
    let me = std::env::current_exe()?;
    let mut watch = Watch::new();
    let mut child = Command::new(me)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mut exited = None;
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let done = watch.seen(progress()?, n);
        if exited.is_none() {
            exited = child.try_wait()?;
        }
        if done && exited.is_some() {
            break;
        }
        if let Some(status) = exited {
            anyhow::ensure!(status.success(), "raw client {args:?} failed");
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "raw client {args:?} did not finish within an hour"
        );
    }
    let mut line = String::new();
    if let Some(mut out) = child.stdout.take() {
        std::io::Read::read_to_string(&mut out, &mut line)?;
    }
    anyhow::ensure!(
        exited.is_some_and(|s| s.success()),
        "raw client {args:?} failed"
    );
    let v: Value = serde_json::from_str(line.trim()).context("raw client report")?;
    Ok(watch.sample(
        v["cpu_s"].as_f64().unwrap_or(f64::NAN),
        v["hwm_kib"].as_u64().unwrap_or(0),
    ))
}

/// Spawns `sluice standalone` and waits until `progress` reaches `n`; CPU and peak RSS read
/// at that moment.
fn run_sluice(
    sluice: &Path,
    worker: &Path,
    connector: &Path,
    log: &Path,
    n: u64,
    mut progress: impl FnMut() -> anyhow::Result<u64>,
) -> anyhow::Result<Sample> {
    let mut watch = Watch::new();
    let start = watch.start;
    let mut child = Command::new(sluice)
        .arg("standalone")
        .arg("--listeners")
        .arg("http://127.0.0.1:0")
        .arg(worker)
        .arg(connector)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .context("spawning sluice")?;
    let pid = child.id().to_string();
    let deadline = start + Duration::from_secs(3600);
    let result = loop {
        std::thread::sleep(Duration::from_millis(20));
        if watch.seen(progress()?, n) {
            break Ok(watch.sample(
                procfs::cpu_seconds(&pid).unwrap_or(f64::NAN),
                procfs::status_kib(&pid, "VmHWM").unwrap_or(0),
            ));
        }
        if let Some(status) = child.try_wait()? {
            break Err(anyhow::anyhow!(
                "sluice exited ({status}) before finishing; see {}",
                log.display()
            ));
        }
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!("sluice did not finish within an hour"));
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn high_watermark(bootstrap: &str, topic: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let c: Option<BaseConsumer> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .ok();
    c.and_then(|c| {
        c.fetch_watermarks(topic, 0, Duration::from_secs(5))
            .ok()
            .map(|(_, hi)| hi)
    })
    .unwrap_or(0)
}

/// Counts the records of partition 0 of `topic` on a thread of its own, up to `n`: the
/// counter is the progress of whoever produces them.
fn progress_records(
    bootstrap: &str,
    topic: &str,
    n: u64,
) -> anyhow::Result<std::sync::Arc<std::sync::atomic::AtomicU64>> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("bench-count-{topic}"))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()?;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let counter = seen.clone();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(3600);
        let mut count = 0u64;
        while count < n && Instant::now() < deadline {
            if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
                count += 1;
                if count.is_multiple_of(1024) || count == n {
                    counter.store(count, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    });
    Ok(seen)
}

/// Counts the records of partition 0 of `topic` on a thread of its own (tansu's ListOffsets
/// leaves out the last batch, so watermarks cannot tell when a producer is done); the flag
/// turns true once `n` records were read.
pub(crate) fn count_records(
    bootstrap: &str,
    topic: &str,
    n: u64,
) -> anyhow::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("bench-count-{topic}"))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()?;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let flag = done.clone();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(3600);
        let mut seen = 0u64;
        while seen < n && Instant::now() < deadline {
            if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
                seen += 1;
            }
        }
        flag.store(seen >= n, std::sync::atomic::Ordering::SeqCst);
    });
    Ok(done)
}

struct Outcome {
    label: String,
    raw: Sample,
    sluice: Sample,
}

/// Runs the scenarios and prints (and appends) the table.
pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.work)?;
    let n = args.rows;
    let db = format!("sluice_jdbc_bench_{}", std::process::id());
    let rt = crate::runtime()?;
    rt.block_on(async {
        let admin = pg_connect(&args.pg, &args.pg_admin_db).await?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\""))
            .await?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{db}\""))
            .await?;
        anyhow::Ok(())
    })?;
    let result = run_scenarios(&args, &db, n);
    let _ = rt.block_on(async {
        let admin = pg_connect(&args.pg, &args.pg_admin_db).await?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
            .await?;
        anyhow::Ok(())
    });
    let (outcomes, read_rate) = result?;

    let nf = n as f64;
    let rate = |s: &Sample| s.rate(n);
    let us = |s: &Sample| s.cpu_s * 1e6 / nf;
    let mut table = format!(
        "\nJDBC connectors against raw PostgreSQL clients, {n} rows of 10 columns, PostgreSQL {pg} (its own CPU is counted on neither side). Rates from the first rows seen (in the table, or read from the topic) to the last, the same watch on both sides; start-up is the time from the spawn to the first rows; CPU is the whole process's, start-up included:\n\n\
| Scenario | Sluice rows/s | Raw rows/s | Ratio | Target | Sluice start-up s | Raw start-up s | Sluice CPU µs/row | Raw CPU µs/row | Sluice peak RSS | Raw peak RSS |\n|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n",
        pg = args.pg
    );
    for o in &outcomes {
        let ratio = if rate(&o.raw) > 0.0 {
            rate(&o.sluice) / rate(&o.raw)
        } else {
            0.0
        };
        table.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.2} | ≥ 0.8: {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} MiB | {:.1} MiB |\n",
            o.label,
            rate(&o.sluice),
            rate(&o.raw),
            ratio,
            if ratio >= 0.8 { "met" } else { "**not met**" },
            o.sluice.first_s,
            o.raw.first_s,
            us(&o.sluice),
            us(&o.raw),
            o.sluice.hwm_kib as f64 / 1024.0,
            o.raw.hwm_kib as f64 / 1024.0,
        ));
    }
    if let Some(read) = read_rate {
        table.push_str(&format!(
            "\nReading the sink input alone (a raw rdkafka consumer with the sink's consumer settings, doing nothing with the records; spawn to the last record): {read:.0} rows/s. Against that bound:"
        ));
        for o in outcomes.iter().filter(|o| o.label.starts_with("Sink")) {
            table.push_str(&format!(
                " {} {:.2};",
                o.label,
                rate(&o.sluice) / read.max(1.0)
            ));
        }
        table.push('\n');
    }
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

/// The scenarios' outcomes, and how fast a raw consumer alone read the sink input (rows/s).
fn run_scenarios(args: &Args, db: &str, n: u64) -> anyhow::Result<(Vec<Outcome>, Option<f64>)> {
    let rt = crate::runtime()?;
    let client = rt.block_on(pg_connect(&args.pg, db))?;
    let scenarios: Vec<&str> = args.scenarios.split(',').map(str::trim).collect();
    let url = format!("jdbc:postgresql://{}/{db}?user=postgres", args.pg);
    let mut outcomes = Vec::new();
    let mut read_rate = None;
    let tag = std::process::id();

    // Sink input: one topic of JSON-with-schema records, read by both sink scenarios.
    if scenarios.iter().any(|s| s.starts_with("sink-")) {
        let input = args.work.join("jdbc-sink-input.json");
        {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&input)?);
            for i in 0..n {
                writeln!(w, "{}", sink_line(i))?;
            }
            w.flush()?;
        }
        let topic = format!("jdbc-sink-bench-{tag}");
        crate::tdengine::create_topic(&args.bootstrap, &topic)?;
        let worker = args.work.join("jdbc-produce-worker.properties");
        std::fs::write(
            &worker,
            format!(
                "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename={}\n",
                args.bootstrap,
                args.work.join("jdbc-produce.offsets").display()
            ),
        )?;
        eprintln!("jdbc: producing {n} sink input records to {topic}...");
        let me = std::env::current_exe()?;
        let st = Command::new(&me)
            .args(["baseline-produce", "--topic", &topic, "--worker"])
            .arg(&worker)
            .arg("--file")
            .arg(&input)
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(st.success(), "producing the sink input failed");
        let _ = std::fs::remove_file(&input);
        // The bound a sink cannot beat: reading the same records from the broker and doing
        // nothing else (a raw rdkafka consumer with the consumer settings the sink's worker
        // file gives), spawn to the last record.
        let read_worker = args.work.join("jdbc-read-worker.properties");
        std::fs::write(
            &read_worker,
            format!(
                "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\noffset.storage.file.filename={}\nconsumer.max.poll.records={}\n",
                args.bootstrap,
                args.work.join("jdbc-read.offsets").display(),
                args.batch
            ),
        )?;
        eprintln!("jdbc: reading the sink input alone (raw consumer)...");
        let started = std::time::Instant::now();
        let st = Command::new(&me)
            .args(["baseline-consume", "--topic", &topic, "--worker"])
            .arg(&read_worker)
            .args([
                "--group",
                &format!("jdbc-read-{tag}"),
                "--records",
                &n.to_string(),
            ])
            .arg("--out")
            .arg("/dev/null")
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(st.success(), "reading the sink input failed");
        read_rate = Some(n as f64 / started.elapsed().as_secs_f64().max(1e-9));

        for (label, upsert) in [("sink-insert", false), ("sink-upsert", true)] {
            if !scenarios.contains(&label) {
                continue;
            }
            let (raw_t, sl_t) = (
                format!("raw_{label}").replace('-', "_"),
                format!("sl_{label}").replace('-', "_"),
            );
            rt.block_on(async {
                client.batch_execute(&ddl(&raw_t)).await?;
                client.batch_execute(&ddl(&sl_t)).await
            })?;
            // Batches commit in id order on both sides: the largest id tells how many rows
            // are in (an index lookup, cheap enough every 20 ms).
            let rows_in = |t: &str| -> anyhow::Result<u64> {
                let check = format!("SELECT COALESCE(MAX(\"id\"), -1) FROM \"{t}\"");
                let v: i64 = rt.block_on(client.query_one(&check, &[]))?.try_get(0)?;
                Ok(u64::try_from(v + 1).unwrap_or(0))
            };
            eprintln!("jdbc: {label}: raw client...");
            let raw = run_child(
                &[
                    "jdbc-raw-sink".into(),
                    "--pg".into(),
                    args.pg.clone(),
                    "--db".into(),
                    db.into(),
                    "--table".into(),
                    raw_t.clone(),
                    "--rows".into(),
                    n.to_string(),
                    "--batch".into(),
                    args.batch.to_string(),
                    "--upsert".into(),
                    upsert.to_string(),
                ],
                n,
                || rows_in(&raw_t),
            )?;
            eprintln!("jdbc: {label}: Sluice...");
            let worker = args.work.join(format!("jdbc-{label}-worker.properties"));
            std::fs::write(
                &worker,
                format!(
                    "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=true\noffset.storage.file.filename={}\nconsumer.max.poll.records={}\n",
                    args.bootstrap,
                    args.work.join(format!("jdbc-{label}.offsets")).display(),
                    args.batch
                ),
            )?;
            let conn = args.work.join(format!("jdbc-{label}.properties"));
            std::fs::write(
                &conn,
                format!(
                    "name=jdbc-bench-{label}-{tag}\nconnector.class=io.confluent.connect.jdbc.JdbcSinkConnector\ntopics={topic}\nconnection.url={url}\ntable.name.format={sl_t}\ninsert.mode={}\npk.mode=record_value\npk.fields=id\nbatch.size={}\n",
                    if upsert { "upsert" } else { "insert" },
                    args.batch
                ),
            )?;
            let sluice = run_sluice(
                &args.sluice,
                &worker,
                &conn,
                &args.work.join(format!("jdbc-{label}-sluice.log")),
                n,
                || rows_in(&sl_t),
            )?;
            let counts: Vec<i64> = rt.block_on(async {
                let mut out = Vec::new();
                for t in [&raw_t, &sl_t] {
                    out.push(
                        client
                            .query_one(&format!("SELECT count(*) FROM \"{t}\""), &[])
                            .await?
                            .try_get(0)?,
                    );
                }
                anyhow::Ok(out)
            })?;
            anyhow::ensure!(
                counts.iter().all(|c| *c == n as i64),
                "{label}: rows written: raw {}, Sluice {} (expected {n})",
                counts[0],
                counts[1]
            );
            outcomes.push(Outcome {
                label: format!(
                    "Sink {} (batch.size={}), from Kafka",
                    if upsert { "upsert" } else { "insert" },
                    args.batch
                ),
                raw,
                sluice,
            });
        }
        let _ = rt.block_on(client.batch_execute(
            "DROP TABLE IF EXISTS raw_sink_insert, sl_sink_insert, raw_sink_upsert, sl_sink_upsert",
        ));
    }

    // Source: one table both sides read.
    if scenarios.iter().any(|s| s.starts_with("source-")) {
        eprintln!("jdbc: filling the source table with {n} rows...");
        rt.block_on(async {
            client.batch_execute(&ddl("src")).await?;
            client
                .batch_execute(&format!(
                    "INSERT INTO \"src\" SELECT g, g % 1000, g * 3, g * 0.5, g % 2 = 0, 'name-' || lpad(g::text, 8, '0'), 'lorem ipsum dolor', to_hex(g * 2654435761), g % 97, g / 8.0 FROM generate_series(0, {}) g",
                    n - 1
                ))
                .await?;
            // Alone: VACUUM cannot run inside a (multi-statement) transaction.
            client.batch_execute("VACUUM ANALYZE \"src\"").await
        })?;
        for (label, incrementing) in [("source-bulk", false), ("source-incrementing", true)] {
            if !scenarios.contains(&label) {
                continue;
            }
            let worker = args.work.join(format!("jdbc-{label}-worker.properties"));
            std::fs::write(
                &worker,
                format!(
                    "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\noffset.storage.file.filename={}\n",
                    args.bootstrap,
                    args.work.join(format!("jdbc-{label}.offsets")).display()
                ),
            )?;
            let raw_topic = format!("jdbc-{label}-raw-{tag}");
            crate::tdengine::create_topic(&args.bootstrap, &raw_topic)?;
            eprintln!("jdbc: {label}: raw client...");
            let raw_seen = progress_records(&args.bootstrap, &raw_topic, n)?;
            let raw = run_child(
                &[
                    "jdbc-raw-source".into(),
                    "--pg".into(),
                    args.pg.clone(),
                    "--db".into(),
                    db.into(),
                    "--table".into(),
                    "src".into(),
                    "--incrementing".into(),
                    incrementing.to_string(),
                    "--worker".into(),
                    worker.display().to_string(),
                    "--topic".into(),
                    raw_topic.clone(),
                ],
                n,
                || Ok(raw_seen.load(std::sync::atomic::Ordering::Relaxed)),
            )?;
            // The raw client checked that every record was acknowledged; tansu's watermark
            // leaves out the last batch, so it is only a lower bound.
            let got = high_watermark(&args.bootstrap, &raw_topic);
            anyhow::ensure!(got > 0, "raw source produced nothing on {raw_topic}");
            eprintln!("jdbc: {label}: Sluice...");
            let prefix = format!("jdbc-{label}-sluice-{tag}-");
            let topic = format!("{prefix}src");
            crate::tdengine::create_topic(&args.bootstrap, &topic)?;
            let conn = args.work.join(format!("jdbc-{label}.properties"));
            std::fs::write(
                &conn,
                format!(
                    "name=jdbc-bench-{label}-{tag}\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\nconnection.url={url}\ntable.whitelist=public.src\ntopic.prefix={prefix}\nmode={}\n{}poll.interval.ms=3600000\n",
                    if incrementing { "incrementing" } else { "bulk" },
                    if incrementing { "incrementing.column.name=id\n" } else { "" },
                ),
            )?;
            let seen = progress_records(&args.bootstrap, &topic, n)?;
            let sluice = run_sluice(
                &args.sluice,
                &worker,
                &conn,
                &args.work.join(format!("jdbc-{label}-sluice.log")),
                n,
                || Ok(seen.load(std::sync::atomic::Ordering::Relaxed)),
            )?;
            outcomes.push(Outcome {
                label: format!(
                    "Source {} (JsonConverter, no schemas), into Kafka",
                    if incrementing { "incrementing" } else { "bulk" }
                ),
                raw,
                sluice,
            });
        }
    }
    Ok((outcomes, read_rate))
}
