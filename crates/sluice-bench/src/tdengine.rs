//! The TDengine sink benchmark: Sluice's `TDengineSinkConnector` against a raw HTTP client
//! that posts the same batches, both writing into the TDengine test server
//! (`sluice-tdengine-testserver`, in this process so neither side's CPU includes it). It
//! measures Sluice's overhead (Kafka consumption, conversion, batching), not TDengine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sluice_tdengine_testserver::sql::Output;
use sluice_tdengine_testserver::TestServer;

use crate::procfs;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub sluice: PathBuf,
    #[arg(long)]
    pub bootstrap: String,
    #[arg(long)]
    pub work: PathBuf,
    #[arg(long, default_value_t = 1_000_000)]
    pub points: u64,
    #[arg(long, default_value_t = 3000)]
    pub batch: usize,
    /// Appends the result table here.
    #[arg(long)]
    pub out_md: Option<PathBuf>,
}

/// Line `i`: 100 devices, distinct nanosecond timestamps (every point is one row).
fn point(i: u64) -> String {
    format!(
        "bench,device=d{} seq={i}i64,value={}.25,ok=t {}",
        i % 100,
        i % 977,
        1_700_000_000_000_000_000u64 + i * 1_000
    )
}

fn count(td: &TestServer, db: &str) -> u64 {
    match td.sql(Some(db), "select count(*) from bench") {
        Ok(Output::Rows { data, .. }) => data
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_u64())
            .unwrap_or(0),
        _ => 0,
    }
}

/// Creates `name` (1 partition) and waits until its leader answers.
pub(crate) fn create_topic(bootstrap: &str, name: &str) -> anyhow::Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let topic = NewTopic::new(name, 1, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for r in futures::executor::block_on(admin.create_topics([&topic], &opts))? {
        r.map_err(|(t, e)| anyhow::anyhow!("creating topic {t}: {e}"))?;
    }
    let watcher: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while watcher
        .fetch_watermarks(name, 0, Duration::from_secs(5))
        .is_err()
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "topic {name} not available after 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The raw client (a child process): creates `db` as the sink does and posts `file` in
/// batches of `batch` lines, one request at a time; prints `seconds cpu_seconds`.
pub fn raw(url: &str, db: &str, file: &Path, batch: usize) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)?;
    let lines: Vec<&str> = text.lines().collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let start = Instant::now();
    let cpu0 = procfs::cpu_seconds("self").unwrap_or(0.0);
    rt.block_on(async {
        let http = reqwest::Client::new();
        let auth = "Basic cm9vdDp0YW9zZGF0YQ==";
        http.post(format!("{url}/rest/sql"))
            .header("Authorization", auth)
            .body(format!("create database if not exists {db} precision 'ns'"))
            .send()
            .await?
            .error_for_status()?;
        for chunk in lines.chunks(batch.max(1)) {
            http.post(format!("{url}/influxdb/v1/write"))
                .query(&[("db", db), ("precision", "ns")])
                .header("Authorization", auth)
                .body(chunk.join("\n"))
                .send()
                .await?
                .error_for_status()?;
        }
        anyhow::Ok(())
    })?;
    let cpu = procfs::cpu_seconds("self").unwrap_or(0.0) - cpu0;
    println!("{} {cpu}", start.elapsed().as_secs_f64());
    Ok(())
}

/// Runs both sides and prints (and appends) the table.
pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.work)?;
    let td = TestServer::start(0)?;
    let n = args.points;
    let file = args.work.join("tdengine-points.txt");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        for i in 0..n {
            writeln!(w, "{}", point(i))?;
        }
        w.flush()?;
    }
    let me = std::env::current_exe()?;

    // Raw client.
    eprintln!(
        "tdengine: raw client posting {n} points in batches of {}...",
        args.batch
    );
    let out = Command::new(&me)
        .args(["tdengine-raw", "--url", &td.url(), "--db", "raw", "--batch"])
        .arg(args.batch.to_string())
        .arg("--file")
        .arg(&file)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "raw client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text
        .split_whitespace()
        .map(|s| s.parse::<f64>().unwrap_or(0.0));
    let (raw_secs, raw_cpu) = (it.next().unwrap_or(0.0), it.next().unwrap_or(0.0));
    anyhow::ensure!(
        count(&td, "raw") == n,
        "the raw client wrote {} of {n} points",
        count(&td, "raw")
    );

    // Sluice: the points in a topic, then the sink from the start of the topic.
    let topic = format!("tdengine-bench-{}", std::process::id());
    let worker = args.work.join("tdengine-worker.properties");
    std::fs::write(
        &worker,
        format!(
            "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename={}\nconsumer.max.poll.records={}\n",
            args.bootstrap,
            args.work.join("tdengine.offsets").display(),
            args.batch.max(1)
        ),
    )?;
    create_topic(&args.bootstrap, &topic)?;
    eprintln!("tdengine: producing {n} points to {topic}...");
    let st = Command::new(&me)
        .args(["baseline-produce", "--topic", &topic, "--worker"])
        .arg(&worker)
        .arg("--file")
        .arg(&file)
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(st.success(), "producing the points failed");
    let sink = args.work.join("tdengine-sink.properties");
    std::fs::write(
        &sink,
        format!(
            "name=tdengine-bench\nconnector.class=com.taosdata.kafka.connect.sink.TDengineSinkConnector\ntopics={topic}\nconnection.url=jdbc:TAOS-RS://127.0.0.1:{}\nconnection.database=sluice\ndb.schemaless=line\ndata.precision=ns\nbatch.size={}\n",
            td.port, args.batch
        ),
    )?;
    eprintln!("tdengine: Sluice sink...");
    let log = std::fs::File::create(args.work.join("tdengine-sluice.log"))?;
    let mut child = Command::new(&args.sluice)
        .arg("standalone")
        .arg("--listeners")
        .arg("http://127.0.0.1:0")
        .arg(&worker)
        .arg(&sink)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    let pid = child.id().to_string();
    // The clock starts at the first write, so start-up is not counted.
    let deadline = Instant::now() + Duration::from_secs(1800);
    let (mut t0, mut c0) = (None, 0.0);
    let result = loop {
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!("Sluice did not write {n} points in time"));
        }
        if let Ok(Some(s)) = child.try_wait() {
            break Err(anyhow::anyhow!("Sluice exited: {s}"));
        }
        if t0.is_none() && !td.calls().iter().all(|c| c.db != "sluice") {
            t0 = Some(Instant::now());
            c0 = procfs::cpu_seconds(&pid).unwrap_or(0.0);
        }
        if count(&td, "sluice") >= n {
            let secs = t0.map_or(0.0, |t| t.elapsed().as_secs_f64());
            let cpu = procfs::cpu_seconds(&pid).unwrap_or(0.0) - c0;
            break Ok((secs, cpu));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = child.kill();
    let _ = child.wait();
    let (sl_secs, sl_cpu) = result?;

    let nf = n as f64;
    let rate = |s: f64| if s > 0.0 { nf / s } else { 0.0 };
    let us = |c: f64| c * 1e6 / nf;
    let table = format!(
        "\nTDengine sink, {n} line-protocol points in batches of {b}, into the TDengine test server (in the bench process; its own CPU is counted on neither side):\n\n\
| Side | Points/s | CPU µs per point |\n|---|---:|---:|\n\
| raw HTTP client (same batches) | {:.0} | {:.2} |\n\
| Sluice `TDengineSinkConnector` (from Kafka) | {:.0} | {:.2} |\n\
| Sluice / raw | {:.2} | {:.2} |\n",
        rate(raw_secs),
        us(raw_cpu),
        rate(sl_secs),
        us(sl_cpu),
        if rate(raw_secs) > 0.0 { rate(sl_secs) / rate(raw_secs) } else { 0.0 },
        if raw_cpu > 0.0 { sl_cpu / raw_cpu } else { 0.0 },
        b = args.batch,
    );
    print!("{table}");
    if let Some(md) = args.out_md {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(md)?;
        f.write_all(table.as_bytes())?;
    }
    Ok(())
}
