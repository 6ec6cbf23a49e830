//! `sluice-bench run`: every scenario side by side on one broker, in one run.
//!
//! Clocks and counters are taken the same way on both sides: wall time from spawning the
//! process to the moment its work is done (Sluice: the topic's high watermark or the output
//! file reached the expected size; baseline: it printed its report, after its last
//! acknowledgement or write), CPU as user+system seconds of the whole process from
//! `/proc/<pid>/stat` at that moment, and peak RSS as `VmHWM`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use serde_json::{json, Value};

use crate::procfs;

#[derive(clap::Args)]
pub struct Args {
    /// The release `sluice` binary.
    #[arg(long)]
    sluice: PathBuf,
    /// The broker (`host:port`).
    #[arg(long)]
    bootstrap: String,
    /// Scratch directory for input/output files and worker configs.
    #[arg(long)]
    work: PathBuf,
    /// Size of the main input file (100-byte lines).
    #[arg(long, default_value_t = 1 << 30)]
    bytes: u64,
    /// Size of each input file of the record-size sweep.
    #[arg(long, default_value_t = 100 << 20)]
    sweep_bytes: u64,
    /// Record sizes (bytes, newline included) of the sweep; empty to skip it.
    #[arg(long, default_value = "100,1000,10000,100000")]
    sizes: String,
    /// How many times each throughput pair runs; the fastest run of each side is reported.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// First port for Sluice's REST listener.
    #[arg(long, default_value_t = 18300)]
    rest_port: u16,
    /// Skip the sink scenarios.
    #[arg(long)]
    skip_sink: bool,
    /// Where to write the results as JSON.
    #[arg(long)]
    out_json: Option<PathBuf>,
    /// Where to write the tables as Markdown.
    #[arg(long)]
    out_md: Option<PathBuf>,
}

const STRING: &str = "org.apache.kafka.connect.storage.StringConverter";
/// Sluice's `offset.flush.interval.ms` in the runs: the source run is seen to end at its first
/// offset commit after the last acknowledgement, so this bounds the error of the wall clock.
const FLUSH_MS: u64 = 50;
const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";

/// The topics a source pair filled, per side, in run order.
#[derive(Default)]
struct Topics {
    baseline: Vec<String>,
    sluice: Vec<String>,
}

impl Topics {
    fn all(&self) -> impl Iterator<Item = &str> {
        self.baseline.iter().chain(&self.sluice).map(String::as_str)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    wall_s: f64,
    cpu_s: f64,
    hwm_kib: u64,
    records: u64,
    bytes: u64,
}

impl Sample {
    fn rate(&self) -> f64 {
        self.records as f64 / self.wall_s
    }
    fn mbps(&self) -> f64 {
        self.bytes as f64 / self.wall_s / 1e6
    }
    fn cpu_per_m(&self) -> f64 {
        self.cpu_s / (self.records as f64 / 1e6)
    }
    fn json(&self) -> Value {
        json!({
            "wall_s": self.wall_s, "cpu_s": self.cpu_s, "hwm_kib": self.hwm_kib,
            "records": self.records, "bytes": self.bytes,
            "records_per_s": self.rate(), "mb_per_s": self.mbps(),
            "cpu_s_per_million": self.cpu_per_m(),
        })
    }
}

struct Bench {
    args: Args,
    exe: PathBuf,
    admin: AdminClient<DefaultClientContext>,
    watcher: BaseConsumer,
    run_id: String,
    seq: usize,
}

/// A pair measured side by side, the best (fastest) of each side over the repeats.
struct Pair {
    name: String,
    sluice: Sample,
    baseline: Sample,
}

impl Pair {
    fn ratio(&self) -> f64 {
        self.sluice.rate() / self.baseline.rate()
    }
    fn cpu_ratio(&self) -> f64 {
        self.sluice.cpu_per_m() / self.baseline.cpu_per_m()
    }
    fn json(&self) -> Value {
        json!({"name": self.name, "sluice": self.sluice.json(), "baseline": self.baseline.json(),
               "throughput_ratio": self.ratio(), "cpu_ratio": self.cpu_ratio()})
    }
}

fn best(a: Option<Sample>, b: Sample) -> Sample {
    match a {
        Some(a) if a.wall_s <= b.wall_s => a,
        _ => b,
    }
}

impl Bench {
    fn unique(&mut self, what: &str) -> String {
        self.seq += 1;
        format!("bench-{}-{what}-{}", self.run_id, self.seq)
    }

    fn scratch(&mut self, what: &str, ext: &str) -> PathBuf {
        let name = self.unique(what);
        self.args.work.join(format!("{name}.{ext}"))
    }

    fn port(&mut self) -> u16 {
        self.seq += 1;
        self.args.rest_port + (self.seq % 500) as u16
    }

    fn create_topic(&self, name: &str) -> anyhow::Result<()> {
        let topic = NewTopic::new(name, 1, TopicReplication::Fixed(1));
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let res = futures::executor::block_on(self.admin.create_topics([&topic], &opts))?;
        for r in res {
            r.map_err(|(t, e)| anyhow::anyhow!("creating topic {t}: {e}"))?;
        }
        // Wait until the topic's leader answers.
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.high_watermark(name).is_err() {
            if Instant::now() > deadline {
                bail!("topic {name} not available after 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn delete_topics(&self, names: &[&str]) {
        if names.is_empty() {
            return;
        }
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let _ = futures::executor::block_on(self.admin.delete_topics(names, &opts));
    }

    /// Deletes every topic a source pair filled but `keep`, and returns `keep`.
    fn keep_only(
        &self,
        topics: &Topics,
        keep: Option<&String>,
        pair: &str,
    ) -> anyhow::Result<String> {
        let keep = keep
            .cloned()
            .with_context(|| format!("the {pair} source pair filled no topic for the sink"))?;
        self.delete_topics(&topics.all().filter(|t| *t != keep).collect::<Vec<_>>());
        Ok(keep)
    }

    fn high_watermark(&self, topic: &str) -> anyhow::Result<i64> {
        Ok(self
            .watcher
            .fetch_watermarks(topic, 0, Duration::from_secs(5))?
            .1)
    }

    fn write_worker(&mut self, converter: &str) -> anyhow::Result<PathBuf> {
        self.write_worker_with(converter, "")
    }

    /// A worker file with `extra` lines appended (`key=value\n` each).
    fn write_worker_with(&mut self, converter: &str, extra: &str) -> anyhow::Result<PathBuf> {
        let name = self.unique("worker");
        let path = self.args.work.join(format!("{name}.properties"));
        let offsets = self.args.work.join(format!("{name}.offsets"));
        std::fs::write(
            &path,
            format!(
                "bootstrap.servers={}\nkey.converter={STRING}\nvalue.converter={converter}\nvalue.converter.schemas.enable=true\noffset.storage.file.filename={}\noffset.flush.interval.ms={FLUSH_MS}\n{extra}",
                self.args.bootstrap,
                offsets.display()
            ),
        )?;
        Ok(path)
    }

    fn write_connector(&mut self, body: &str) -> anyhow::Result<(String, PathBuf)> {
        let name = self.unique("conn");
        let path = self.args.work.join(format!("{name}.properties"));
        std::fs::write(&path, format!("name={name}\n{body}"))?;
        Ok((name, path))
    }

    /// A fresh topic named after `prefix` and a FileStreamSource connector file reading `file`
    /// into it: (topic, connector name, connector file).
    fn file_source(
        &mut self,
        prefix: &str,
        file: &Path,
    ) -> anyhow::Result<(String, String, PathBuf)> {
        let topic = self.unique(prefix);
        self.create_topic(&topic)?;
        let (name, conn) = self.write_connector(&format!(
            "connector.class=FileStreamSource\nfile={}\ntopic={topic}\n",
            file.display()
        ))?;
        Ok((topic, name, conn))
    }

    fn spawn_sluice(
        &mut self,
        worker: &Path,
        connectors: &[PathBuf],
    ) -> anyhow::Result<(Child, u16, PathBuf)> {
        let port = self.port();
        let log = self.scratch("sluice", "log");
        let child = Command::new(&self.args.sluice)
            .arg("standalone")
            .arg("--listeners")
            .arg(format!("http://127.0.0.1:{port}"))
            .arg(worker)
            .args(connectors)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("spawning sluice")?;
        Ok((child, port, log))
    }

    /// Runs Sluice until `done` says so; CPU and peak RSS are read before it is stopped.
    fn run_sluice(
        &mut self,
        worker: &Path,
        connectors: &[PathBuf],
        mut done: impl FnMut(&Bench) -> anyhow::Result<bool>,
    ) -> anyhow::Result<Sample> {
        let start = Instant::now();
        let (mut child, _, log) = self.spawn_sluice(worker, connectors)?;
        let pid = child.id().to_string();
        let deadline = start + Duration::from_secs(3600);
        let result = loop {
            std::thread::sleep(Duration::from_millis(10));
            if done(self)? {
                break Ok(Sample {
                    wall_s: start.elapsed().as_secs_f64(),
                    cpu_s: procfs::cpu_seconds(&pid).unwrap_or(f64::NAN),
                    hwm_kib: procfs::status_kib(&pid, "VmHWM").unwrap_or(0),
                    ..Sample::default()
                });
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

    fn run_baseline(&self, args: &[&str]) -> anyhow::Result<Sample> {
        let start = Instant::now();
        let mut child = Command::new(&self.exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        let wall_s = start.elapsed().as_secs_f64();
        let status = child.wait()?;
        if !status.success() || line.is_empty() {
            bail!("baseline {args:?} failed ({status})");
        }
        let v: Value = serde_json::from_str(&line)?;
        Ok(Sample {
            wall_s,
            cpu_s: v["cpu_s"].as_f64().unwrap_or(f64::NAN),
            hwm_kib: v["hwm_kib"].as_u64().unwrap_or(0),
            records: v["records"].as_u64().unwrap_or(0),
            bytes: 0,
        })
    }

    /// Runs `side` for the baseline (`false`) and Sluice (`true`) `repeat` times, the side that
    /// goes first alternating between rounds (the in-memory broker slows as it fills), and
    /// keeps the best run of each side.
    fn pair(
        &mut self,
        label: &str,
        file_bytes: u64,
        mut side: impl FnMut(&mut Self, bool) -> anyhow::Result<Sample>,
    ) -> anyhow::Result<Pair> {
        let (mut s_best, mut b_best) = (None, None);
        for round in 0..self.args.repeat {
            let sluice_first = round % 2 == 1;
            let first = side(self, sluice_first)?;
            let second = side(self, !sluice_first)?;
            let (s, b) = if sluice_first {
                (first, second)
            } else {
                (second, first)
            };
            let (s, b) = (
                Sample {
                    bytes: file_bytes,
                    ..s
                },
                Sample {
                    bytes: file_bytes,
                    ..b
                },
            );
            s_best = Some(best(s_best, s));
            b_best = Some(best(b_best, b));
            eprintln!(
                "  {label}: sluice {:.0} rec/s, baseline {:.0} rec/s ({} first)",
                s.rate(),
                b.rate(),
                if sluice_first { "Sluice" } else { "baseline" }
            );
        }
        Ok(Pair {
            name: label.to_string(),
            sluice: s_best.unwrap_or_default(),
            baseline: b_best.unwrap_or_default(),
        })
    }

    /// Source: the raw producer and FileStreamSource with `converter`, each into a fresh topic.
    /// Returns the pair and the topics each side filled (for the sink scenarios and clean-up).
    fn source_pair(
        &mut self,
        label: &str,
        converter: &str,
        file: &Path,
        lines: u64,
        file_bytes: u64,
    ) -> anyhow::Result<(Pair, Topics)> {
        let mut topics = Topics::default();
        let pair = self.pair(label, file_bytes, |b, sluice| {
            // A fresh worker each run: its own offsets file, so Sluice starts at line one.
            let worker = b.write_worker(converter)?;
            if sluice {
                b.source_sluice(&worker, file, lines, file_bytes, &mut topics)
            } else {
                b.source_baseline(&worker, file, lines, &mut topics)
            }
        })?;
        Ok((pair, topics))
    }

    fn source_baseline(
        &mut self,
        worker: &Path,
        file: &Path,
        lines: u64,
        topics: &mut Topics,
    ) -> anyhow::Result<Sample> {
        let topic = self.unique("src-base");
        self.create_topic(&topic)?;
        let b = self.run_baseline(&[
            "baseline-produce",
            "--worker",
            &worker.to_string_lossy(),
            "--topic",
            &topic,
            "--file",
            &file.to_string_lossy(),
        ])?;
        anyhow::ensure!(b.records == lines, "baseline sent {} of {lines}", b.records);
        topics.baseline.push(topic);
        Ok(b)
    }

    fn source_sluice(
        &mut self,
        worker: &Path,
        file: &Path,
        lines: u64,
        file_bytes: u64,
        topics: &mut Topics,
    ) -> anyhow::Result<Sample> {
        let (topic, _, conn) = self.file_source("src-sluice", file)?;
        // Done when Sluice committed the source offset of the last line: Kafka Connect
        // commits an offset only once that record and all before it were acknowledged.
        // (tansu's high watermark is not a record count, so it cannot tell.)
        let offsets = offsets_file(worker);
        let mut s = self.run_sluice(worker, &[conn], move |_| {
            let p = committed_position(&offsets);
            anyhow::ensure!(
                p <= file_bytes,
                "committed position {p} is past the end of the {file_bytes}-byte input"
            );
            Ok(p == file_bytes)
        })?;
        s.records = lines;
        topics.sluice.push(topic);
        Ok(s)
    }

    /// Sink: the raw consumer and FileStreamSink with `converter`, both reading `topic`.
    fn sink_pair(
        &mut self,
        label: &str,
        converter: &str,
        topic: &str,
        lines: u64,
        file_bytes: u64,
    ) -> anyhow::Result<Pair> {
        self.pair(label, file_bytes, |b, sluice| {
            let worker = b.write_worker(converter)?;
            if sluice {
                b.sink_sluice(&worker, topic, lines, file_bytes)
            } else {
                b.sink_baseline(&worker, topic, lines)
            }
        })
    }

    fn sink_baseline(&mut self, worker: &Path, topic: &str, lines: u64) -> anyhow::Result<Sample> {
        let out = self.scratch("sink-base", "out");
        let group = self.unique("group");
        let b = self.run_baseline(&[
            "baseline-consume",
            "--worker",
            &worker.to_string_lossy(),
            "--topic",
            topic,
            "--group",
            &group,
            "--records",
            &lines.to_string(),
            "--out",
            &out.to_string_lossy(),
        ]);
        let _ = std::fs::remove_file(&out);
        b
    }

    fn sink_sluice(
        &mut self,
        worker: &Path,
        topic: &str,
        lines: u64,
        file_bytes: u64,
    ) -> anyhow::Result<Sample> {
        let out = self.scratch("sink-sluice", "out");
        let (_, conn) = self.write_connector(&format!(
            "connector.class=FileStreamSink\nfile={}\ntopics={topic}\n",
            out.display()
        ))?;
        let o = out.clone();
        let s = self.run_sluice(worker, &[conn], move |_| {
            Ok(std::fs::metadata(&o).map(|m| m.len()).unwrap_or(0) >= file_bytes)
        });
        let _ = std::fs::remove_file(&out);
        Ok(Sample {
            records: lines,
            ..s?
        })
    }

    /// Sluice against itself: the same source (or sink, reading `sink_topic`) with
    /// `metrics.enabled=true` (the default, reported as the "Sluice" side) and `false` (the
    /// "baseline" side), so the ratio is the throughput counting keeps.
    fn metrics_pair(
        &mut self,
        label: &str,
        file: &Path,
        lines: u64,
        file_bytes: u64,
        sink_topic: Option<&str>,
    ) -> anyhow::Result<(Pair, Topics)> {
        let mut topics = Topics::default();
        let pair = self.pair(label, file_bytes, |b, on| {
            let worker = b.write_worker_with(STRING, &format!("metrics.enabled={on}\n"))?;
            let mut sink_topics = Topics::default();
            let s = match sink_topic {
                Some(t) => b.sink_sluice(&worker, t, lines, file_bytes)?,
                None => b.source_sluice(&worker, file, lines, file_bytes, &mut sink_topics)?,
            };
            // Both sides are Sluice: file their topics by side for the clean-up.
            if on {
                topics.sluice.append(&mut sink_topics.sluice);
            } else {
                topics.baseline.append(&mut sink_topics.sluice);
            }
            Ok(s)
        })?;
        Ok((pair, topics))
    }

    /// An idle worker with 5 FileStreamSource and 5 FileStreamSink connectors: time to the
    /// first REST answer, and RSS once every task runs and things settle.
    fn footprint(&mut self) -> anyhow::Result<(Vec<f64>, Vec<u64>)> {
        let worker = self.write_worker(STRING)?;
        let mut conns = Vec::new();
        let mut names = Vec::new();
        for i in 0..5 {
            let file = self.args.work.join(format!("idle-{i}.txt"));
            std::fs::write(&file, "")?;
            let (_, n, p) = self.file_source("idle-src", &file)?;
            names.push(n);
            conns.push(p);
            let topic = self.unique("idle-sink");
            self.create_topic(&topic)?;
            let (n, p) = self.write_connector(&format!(
                "connector.class=FileStreamSink\nfile={}\ntopics={topic}\n",
                self.args.work.join(format!("idle-out-{i}.txt")).display()
            ))?;
            names.push(n);
            conns.push(p);
        }
        let (mut ready, mut rss) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let start = Instant::now();
            let (mut child, port, log) = self.spawn_sluice(&worker, &conns)?;
            let pid = child.id().to_string();
            let r = (|| {
                let deadline = start + Duration::from_secs(30);
                loop {
                    if http_get(port, "/").is_some_and(|b| b.starts_with("HTTP/1.1 200")) {
                        break;
                    }
                    if Instant::now() > deadline {
                        bail!("REST not ready after 30 s; see {}", log.display());
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                let ready_ms = start.elapsed().as_secs_f64() * 1000.0;
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let running = names.iter().all(|n| {
                        http_get(port, &format!("/connectors/{n}/status"))
                            .is_some_and(|b| b.matches("\"RUNNING\"").count() >= 2)
                    });
                    if running {
                        break;
                    }
                    if Instant::now() > deadline {
                        bail!(
                            "connectors not all RUNNING after 60 s; see {}",
                            log.display()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                std::thread::sleep(Duration::from_secs(3));
                Ok((ready_ms, procfs::status_kib(&pid, "VmRSS").unwrap_or(0)))
            })();
            let _ = child.kill();
            let _ = child.wait();
            let (r_ms, r_kib) = r?;
            ready.push(r_ms);
            rss.push(r_kib);
        }
        Ok((ready, rss))
    }
}

fn offsets_file(worker: &Path) -> PathBuf {
    worker.with_extension("offsets")
}

/// The largest `{"position":N}` in a standalone offsets file (Java-serialized, the JSON
/// values are plain strings inside it); 0 if there is none yet.
fn committed_position(offsets: &Path) -> u64 {
    let Ok(bytes) = std::fs::read(offsets) else {
        return 0;
    };
    let needle = b"\"position\":";
    let mut best = 0;
    let mut i = 0;
    while let Some(p) = bytes[i..].windows(needle.len()).position(|w| w == needle) {
        let start = i + p + needle.len();
        let digits: String = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|&b| b as char)
            .collect();
        best = best.max(digits.parse().unwrap_or(0));
        i = start;
    }
    best
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.work)?;
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &args.bootstrap);
    let admin: AdminClient<DefaultClientContext> = cfg.create()?;
    let watcher: BaseConsumer = cfg.create()?;
    let run_id = format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
    );
    let mut b = Bench {
        exe: std::env::current_exe()?,
        args,
        admin,
        watcher,
        run_id,
        seq: 0,
    };

    let file = b.args.work.join("input-100.txt");
    let lines = crate::gen(&file, b.args.bytes, 100)?;
    let file_bytes = std::fs::metadata(&file)?.len();
    eprintln!(
        "input: {} ({lines} lines of 100 bytes, {file_bytes} bytes)",
        file.display()
    );

    eprintln!("footprint...");
    let (ready, idle_rss) = b.footprint()?;

    eprintln!("source...");
    // The sink scenarios read one topic of each source pair: the raw producer's plain lines
    // and Sluice's JSON envelopes. The other topics are deleted as soon as their pair is done
    // (the in-memory broker holds them all and slows as it fills).
    let (src_string, string_topics) =
        b.source_pair("Source, StringConverter", STRING, &file, lines, file_bytes)?;
    let plain = b.keep_only(
        &string_topics,
        string_topics.baseline.first(),
        "StringConverter",
    )?;
    let (src_json, json_topics) = b.source_pair(
        "Source, JsonConverter schemas.enable=true",
        JSON,
        &file,
        lines,
        file_bytes,
    )?;
    let envelopes = b.keep_only(&json_topics, json_topics.sluice.first(), "JsonConverter")?;
    let mut pairs = vec![src_string, src_json];
    if !b.args.skip_sink {
        eprintln!("sink...");
        pairs.push(b.sink_pair("Sink, StringConverter", STRING, &plain, lines, file_bytes)?);
        pairs.push(b.sink_pair(
            "Sink, JsonConverter schemas.enable=true",
            JSON,
            &envelopes,
            lines,
            file_bytes,
        )?);
    }
    // What counting metrics costs (issue 19): Sluice with metrics on against Sluice with
    // `metrics.enabled=false`, same input, same broker, alternating which goes first.
    eprintln!("metrics on/off...");
    let mut metrics_pairs = Vec::new();
    let (p, t) = b.metrics_pair("Source, StringConverter", &file, lines, file_bytes, None)?;
    b.delete_topics(&t.all().collect::<Vec<_>>());
    metrics_pairs.push(p);
    if !b.args.skip_sink {
        let (p, _) = b.metrics_pair(
            "Sink, StringConverter",
            &file,
            lines,
            file_bytes,
            Some(&plain),
        )?;
        metrics_pairs.push(p);
    }
    b.delete_topics(&[&plain, &envelopes]);
    let _ = std::fs::remove_file(&file);

    let mut sweep = Vec::new();
    let sizes: Vec<usize> = b
        .args
        .sizes
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()
        .context("--sizes: comma-separated record sizes in bytes")?;
    for size in sizes {
        eprintln!("sweep {size} B...");
        let f = b.args.work.join(format!("input-{size}.txt"));
        let n = crate::gen(&f, b.args.sweep_bytes, size)?;
        let fb = std::fs::metadata(&f)?.len();
        let (p, topics) = b.source_pair(&format!("{size} B"), STRING, &f, n, fb)?;
        let t: Vec<&str> = topics.all().collect();
        b.delete_topics(&t);
        let _ = std::fs::remove_file(&f);
        sweep.push((size, p));
    }

    // The table.
    let mut md = String::new();
    md.push_str(&format!(
        "Input: {lines} lines of 100 bytes ({:.2} GB); best of {} run(s) per side.\n\n",
        file_bytes as f64 / 1e9,
        b.args.repeat
    ));
    md.push_str("| Scenario | Sluice rec/s | Sluice MB/s | Raw client rec/s | Raw client MB/s | Ratio | Target | Sluice CPU-s / M rec | Raw CPU-s / M rec | CPU ratio | Target |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|\n");
    for p in &pairs {
        let string = p.name.contains("String");
        let tput_target = if string { 0.9 } else { 0.7 };
        let cpu_cell = if string {
            format!("≤ 1.3: {}", pass(p.cpu_ratio() <= 1.3))
        } else {
            "–".to_string()
        };
        md.push_str(&format!(
            "| {} | {:.0} | {:.1} | {:.0} | {:.1} | {:.2} | ≥ {tput_target}: {} | {:.2} | {:.2} | {:.2} | {cpu_cell} |\n",
            p.name,
            p.sluice.rate(),
            p.sluice.mbps(),
            p.baseline.rate(),
            p.baseline.mbps(),
            p.ratio(),
            pass(p.ratio() >= tput_target),
            p.sluice.cpu_per_m(),
            p.baseline.cpu_per_m(),
            p.cpu_ratio(),
        ));
    }
    let idle = idle_rss.iter().copied().max().unwrap_or(0);
    let peak_src = pairs
        .iter()
        .filter(|p| p.name.starts_with("Source"))
        .map(|p| p.sluice.hwm_kib)
        .max()
        .unwrap_or(0);
    let peak_base = pairs
        .iter()
        .filter(|p| p.name.starts_with("Source"))
        .map(|p| p.baseline.hwm_kib)
        .max()
        .unwrap_or(0);
    let ready_med = median(&ready);
    md.push_str("\n| Footprint | Sluice | Raw client | Target |\n|---|---:|---:|---|\n");
    md.push_str(&format!(
        "| RSS of an idle worker, 10 connectors (5 FileStreamSource + 5 FileStreamSink), worst of 5 | {:.1} MiB | – | < 30 MiB: {} |\n",
        mib(idle),
        pass(mib(idle) < 30.0)
    ));
    md.push_str(&format!(
        "| Peak RSS during the source runs (VmHWM) | {:.1} MiB | {:.1} MiB | < 150 MiB: {} |\n",
        mib(peak_src),
        mib(peak_base),
        pass(mib(peak_src) < 150.0)
    ));
    md.push_str(&format!(
        "| Process start to REST answering, median of 5 (min {:.0}, max {:.0}) | {:.0} ms | – | < 200 ms: {} |\n",
        ready.iter().copied().fold(f64::INFINITY, f64::min),
        ready.iter().copied().fold(0.0, f64::max),
        ready_med,
        pass(ready_med < 200.0)
    ));
    if !sweep.is_empty() {
        md.push_str(&format!(
            "\nRecord-size sweep (FileStreamSource, StringConverter; {:.0} MB per size):\n\n",
            b.args.sweep_bytes as f64 / 1e6
        ));
        md.push_str("| Record size | Sluice rec/s | Sluice MB/s | Raw client rec/s | Raw client MB/s | Ratio | CPU ratio |\n|---:|---:|---:|---:|---:|---:|---:|\n");
        for (size, p) in &sweep {
            md.push_str(&format!(
                "| {size} B | {:.0} | {:.1} | {:.0} | {:.1} | {:.2} | {:.2} |\n",
                p.sluice.rate(),
                p.sluice.mbps(),
                p.baseline.rate(),
                p.baseline.mbps(),
                p.ratio(),
                p.cpu_ratio()
            ));
        }
    }
    md.push_str("\nMetrics on (the default) against `metrics.enabled=false`, same run:\n\n");
    md.push_str("| Scenario | On rec/s | Off rec/s | On/off | On CPU-s / M rec | Off CPU-s / M rec |\n|---|---:|---:|---:|---:|---:|\n");
    for p in &metrics_pairs {
        md.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.3} | {:.2} | {:.2} |\n",
            p.name,
            p.sluice.rate(),
            p.baseline.rate(),
            p.ratio(),
            p.sluice.cpu_per_m(),
            p.baseline.cpu_per_m(),
        ));
    }
    println!("{md}");
    if let Some(path) = &b.args.out_md {
        std::fs::write(path, &md)?;
    }
    if let Some(path) = &b.args.out_json {
        let v = json!({
            "lines": lines, "bytes": file_bytes, "repeat": b.args.repeat,
            "pairs": pairs.iter().map(Pair::json).collect::<Vec<_>>(),
            "footprint": {"ready_ms": ready, "idle_rss_kib": idle_rss,
                          "peak_rss_source_kib": peak_src, "peak_rss_baseline_kib": peak_base},
            "metrics_on_off": metrics_pairs.iter().map(Pair::json).collect::<Vec<_>>(),
            "sweep": sweep.iter().map(|(s, p)| json!({"record_size": s, "pair": p.json()})).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
}
