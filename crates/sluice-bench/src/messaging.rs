//! The messaging benchmarks of issue 18, on the machine's RabbitMQ and the bench broker:
//!
//! - RabbitMQ source: Sluice's `RabbitMQSourceConnector` against a raw client doing the same
//!   job (lapin consuming with the same prefetch, rdkafka producing with the producer settings
//!   Sluice derives from the same worker file, acks after Kafka acknowledged), each draining a
//!   queue of the same 1 KB messages.
//! - RabbitMQ sink: Sluice's `RabbitMQSinkConnector` against a raw client (rdkafka consumer,
//!   lapin publishing with confirms in batches of 100, Confluent's default batch) moving the
//!   same topic into a queue.
//! - Webhook source: requests/s and latency (until the reply naming the record's offset) of
//!   concurrent clients POSTing 1 KB bodies.
//!
//! Clocks start at the first message moved (start-up is not counted) on both sides. Both
//! source sides are clocked the same way: from the first record a separate consumer reads
//! back from the side's topic to the last.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use rdkafka::consumer::{BaseConsumer, Consumer as _, StreamConsumer};
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;

use crate::baseline::{client_config, worker_config};
use crate::tdengine::create_topic;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub sluice: PathBuf,
    #[arg(long)]
    pub bootstrap: String,
    #[arg(long)]
    pub work: PathBuf,
    /// Messages per RabbitMQ scenario and side.
    #[arg(long, default_value_t = 50_000)]
    pub messages: usize,
    /// Message (and webhook body) size in bytes.
    #[arg(long, default_value_t = 1000)]
    pub size: usize,
    #[arg(long, default_value_t = 1000)]
    pub prefetch: u16,
    /// Webhook requests and concurrent clients.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    #[arg(long, default_value = "127.0.0.1")]
    pub rabbit_host: String,
    #[arg(long, default_value_t = 5672)]
    pub rabbit_port: u16,
    /// Appends the result table here.
    #[arg(long)]
    pub out_md: Option<PathBuf>,
}

fn body(i: usize, size: usize) -> Vec<u8> {
    let mut b = format!("{i:010}").into_bytes();
    b.resize(size.max(10), b'x');
    b
}

/// Records of a topic read back from the broker, with when the first and the `target`-th
/// arrived: both sides of the source scenario are clocked by it, so neither gains from where
/// its own clock starts or stops.
struct ReadBack {
    count: Arc<AtomicUsize>,
    first: Arc<std::sync::OnceLock<Instant>>,
    reached: Arc<std::sync::OnceLock<Instant>>,
}

impl ReadBack {
    /// The seconds from the first record read back to the `target`-th, waiting (checking
    /// `alive` every 2 ms) until it is read.
    fn wait(
        &self,
        target: usize,
        mut alive: impl FnMut() -> anyhow::Result<()>,
    ) -> anyhow::Result<f64> {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if let (Some(first), Some(last)) = (self.first.get(), self.reached.get()) {
                return Ok(last.duration_since(*first).as_secs_f64());
            }
            alive()?;
            anyhow::ensure!(
                Instant::now() < deadline,
                "only {} of {target} records were read back in time",
                self.count.load(Ordering::Relaxed)
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Counts the records of `topic` (partition 0) as they arrive, on its own thread (the test
/// broker's high watermark is not a record count, so records are read and counted). Stops
/// when the returned value is dropped.
fn count_records(bootstrap: &str, topic: &str, target: usize) -> anyhow::Result<ReadBack> {
    use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("bench-count-{topic}"))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let rb = ReadBack {
        count: Arc::new(AtomicUsize::new(0)),
        first: Arc::default(),
        reached: Arc::default(),
    };
    let (c, first, reached) = (rb.count.clone(), rb.first.clone(), rb.reached.clone());
    std::thread::spawn(move || {
        while Arc::strong_count(&c) > 1 {
            if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
                let now = Instant::now();
                let n = c.fetch_add(1, Ordering::Relaxed) + 1;
                if n == 1 {
                    let _ = first.set(now);
                }
                if n == target {
                    let _ = reached.set(now);
                }
            }
        }
    });
    Ok(rb)
}

/// The key and headers Sluice's RabbitMQ source writes for a delivery with the worker's
/// `SimpleHeaderConverter` (Confluent's format: see `connectors/rabbitmq/src/record.rs`): the
/// `message-id` as key, then the 17 `rabbitmq.*` headers in order, a null as no value.
fn confluent_record(
    consumer_tag: &str,
    d: &lapin::message::Delivery,
) -> (Option<String>, rdkafka::message::OwnedHeaders) {
    use rdkafka::message::{Header, OwnedHeaders};
    let p = &d.properties;
    let s = |v: &Option<lapin::types::ShortString>| v.as_ref().map(|s| s.as_str().to_string());
    let ts = p.timestamp().map(|t| t.saturating_mul(1000).to_string());
    let fields: [(&str, Option<String>); 17] = [
        ("rabbitmq.consumer.tag", Some(consumer_tag.to_string())),
        ("rabbitmq.content.type", s(p.content_type())),
        ("rabbitmq.content.encoding", s(p.content_encoding())),
        (
            "rabbitmq.delivery.mode",
            Some(p.delivery_mode().unwrap_or(0).to_string()),
        ),
        (
            "rabbitmq.priority",
            Some(p.priority().unwrap_or(0).to_string()),
        ),
        ("rabbitmq.correlation.id", s(p.correlation_id())),
        ("rabbitmq.reply.to", s(p.reply_to())),
        ("rabbitmq.expiration", s(p.expiration())),
        ("rabbitmq.message.id", s(p.message_id())),
        ("rabbitmq.timestamp", ts),
        ("rabbitmq.type", s(p.kind())),
        ("rabbitmq.user.id", s(p.user_id())),
        ("rabbitmq.app.id", s(p.app_id())),
        ("rabbitmq.delivery.tag", Some(d.delivery_tag.to_string())),
        ("rabbitmq.redeliver", Some(d.redelivered.to_string())),
        ("rabbitmq.exchange", Some(d.exchange.as_str().to_string())),
        (
            "rabbitmq.routing.key",
            Some(d.routing_key.as_str().to_string()),
        ),
    ];
    let mut headers = OwnedHeaders::new_with_capacity(fields.len());
    for (key, value) in &fields {
        headers = headers.insert(Header {
            key,
            value: value.as_deref(),
        });
    }
    (s(p.message_id()), headers)
}

struct Sluice(Child);

impl Sluice {
    fn start(
        args: &Args,
        worker: &PathBuf,
        connector: &PathBuf,
        log: &str,
    ) -> anyhow::Result<Sluice> {
        let log = std::fs::File::create(args.work.join(log))?;
        Ok(Sluice(
            Command::new(&args.sluice)
                .arg("standalone")
                .arg("--listeners")
                .arg("http://127.0.0.1:0")
                .arg(worker)
                .arg(connector)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?,
        ))
    }

    /// User + system CPU seconds of the process so far (`/proc/<pid>/stat`), 0 if unreadable.
    fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.0.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime and stime are the
        // 12th and 13th, in clock ticks (100 per second on Linux).
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<f64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        f.get(10)
            .zip(f.get(11))
            .map_or(0.0, |(u, s)| (u + s) / 100.0)
    }

    fn check(&mut self) -> anyhow::Result<()> {
        if let Some(s) = self.0.try_wait()? {
            anyhow::bail!("Sluice exited: {s}");
        }
        Ok(())
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (polling `progress` every 2 ms) from the first unit of progress until `n`; returns
/// the seconds in between.
fn clock(
    sluice: &mut Sluice,
    n: usize,
    mut progress: impl FnMut() -> usize,
) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut t0 = None;
    loop {
        anyhow::ensure!(
            Instant::now() < deadline,
            "Sluice did not move {n} messages in time"
        );
        sluice.check()?;
        let p = progress();
        if t0.is_none() && p > 0 {
            t0 = Some(Instant::now());
        }
        if p >= n {
            return Ok(t0.map_or(0.0, |t| t.elapsed().as_secs_f64()));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.work)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let id = std::process::id();
    let n = args.messages;
    let amqp = format!(
        "amqp://guest:guest@{}:{}/%2f",
        args.rabbit_host, args.rabbit_port
    );
    let conn = rt.block_on(Connection::connect(&amqp, ConnectionProperties::default()))?;
    let ch = rt.block_on(conn.create_channel())?;
    rt.block_on(ch.confirm_select(ConfirmSelectOptions::default()))?;
    let declare = |q: &str| {
        rt.block_on(ch.queue_declare(q, QueueDeclareOptions::default(), FieldTable::default()))
            .map(|d| d.message_count() as usize)
    };
    let fill = |q: &str| -> anyhow::Result<()> {
        rt.block_on(async {
            let mut confirms = Vec::new();
            for i in 0..n {
                confirms.push(
                    ch.basic_publish(
                        "",
                        q,
                        BasicPublishOptions::default(),
                        &body(i, args.size),
                        BasicProperties::default(),
                    )
                    .await?,
                );
                if confirms.len() >= 1000 {
                    for c in confirms.drain(..) {
                        c.await?;
                    }
                }
            }
            for c in confirms {
                c.await?;
            }
            anyhow::Ok(())
        })
    };
    let worker = args.work.join("messaging-worker.properties");
    std::fs::write(
        &worker,
        format!(
            "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.converters.ByteArrayConverter\noffset.storage.file.filename={}\n",
            args.bootstrap,
            args.work.join("messaging.offsets").display()
        ),
    )?;
    let w = worker_config(&worker)?;
    let mut out = String::new();
    let rate = |s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };

    // RabbitMQ source, raw: lapin → rdkafka, acks after Kafka. Twice: writing the body only,
    // and writing the record Sluice writes (Confluent's format: the `message-id` as key, the
    // 17 `rabbitmq.*` headers), so the ratio compares the same job.
    let (raw_q, raw_full_q, sl_q) = (
        format!("bench-src-raw-{id}"),
        format!("bench-src-raw-full-{id}"),
        format!("bench-src-sluice-{id}"),
    );
    for q in [&raw_q, &raw_full_q, &sl_q] {
        declare(q)?;
        eprintln!(
            "messaging: filling {q} with {n} messages of {} bytes...",
            args.size
        );
        fill(q)?;
    }
    let raw_topic = format!("bench-rabbit-raw-{id}");
    let raw_full_topic = format!("bench-rabbit-raw-full-{id}");
    create_topic(&args.bootstrap, &raw_topic)?;
    create_topic(&args.bootstrap, &raw_full_topic)?;
    let settings = sluice_runtime::clients::producer(&w, &Default::default(), "bench")?;
    let producer: FutureProducer = client_config(&settings).create()?;
    let raw_source = |queue: &str, topic: &str, full: bool| -> anyhow::Result<f64> {
        eprintln!(
            "messaging: raw RabbitMQ → Kafka ({})...",
            if full {
                "Confluent's record format"
            } else {
                "body only"
            }
        );
        let counted = count_records(&args.bootstrap, topic, n)?;
        let own = rt.block_on(async {
            let ch = conn.create_channel().await?;
            ch.basic_qos(args.prefetch, BasicQosOptions::default())
                .await?;
            let mut consumer = ch
                .basic_consume(
                    queue,
                    "",
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            let tag = consumer.tag().as_str().to_string();
            let mut pending = futures::stream::FuturesOrdered::new();
            let (mut done, mut t0) = (0usize, None);
            while done < n {
                tokio::select! {
                    d = consumer.next(), if pending.len() < usize::from(args.prefetch).max(1) => {
                        let d = d.ok_or_else(|| anyhow::anyhow!("consumer ended"))??;
                        t0.get_or_insert_with(Instant::now);
                        let (p, topic) = (producer.clone(), topic.to_string());
                        let record = full.then(|| confluent_record(&tag, &d));
                        pending.push_back(async move {
                            let mut r = FutureRecord::<str, _>::to(&topic).payload(&d.data);
                            if let Some((key, headers)) = &record {
                                if let Some(k) = key {
                                    r = r.key(k.as_str());
                                }
                                r = r.headers(headers.clone());
                            }
                            let sent = p.send(r, Timeout::Never).await;
                            (d.delivery_tag, sent)
                        });
                    }
                    Some((tag, r)) = pending.next() => {
                        r.map_err(|(e, _)| e)?;
                        done += 1;
                        if done % (usize::from(args.prefetch) / 2).max(1) == 0 || done == n {
                            ch.basic_ack(tag, BasicAckOptions { multiple: true }).await?;
                        }
                    }
                }
            }
            let _ = ch.close(200, "done").await;
            anyhow::Ok(t0.map_or(0.0, |t| t.elapsed().as_secs_f64()))
        })?;
        producer.flush(Timeout::Never)?;
        let secs = counted.wait(n, || Ok(()))?;
        eprintln!(
            "messaging: raw source took {secs:.2} s from the first record read back to the last ({own:.2} s from its first delivery to its last acknowledgement)"
        );
        Ok(secs)
    };
    let raw_src_plain = raw_source(&raw_q, &raw_topic, false)?;
    let raw_src = raw_source(&raw_full_q, &raw_full_topic, true)?;

    // RabbitMQ source, Sluice.
    let sl_topic = format!("bench-rabbit-sluice-{id}");
    let src = args.work.join("rabbit-source.properties");
    std::fs::write(
        &src,
        format!(
            "name=rabbit-source-bench-{id}\nconnector.class=io.confluent.connect.rabbitmq.RabbitMQSourceConnector\ntasks.max=1\nkafka.topic={sl_topic}\nrabbitmq.queue={sl_q}\nrabbitmq.host={}\nrabbitmq.port={}\nrabbitmq.prefetch.count={}\n{}",
            args.rabbit_host,
            args.rabbit_port,
            args.prefetch,
            // Extra connector properties, for experiments (`;` separates them).
            std::env::var("BENCH_RABBIT_SOURCE_EXTRA")
                .unwrap_or_default()
                .replace(';', "\n")
        ),
    )?;
    eprintln!("messaging: Sluice RabbitMQ source...");
    create_topic(&args.bootstrap, &sl_topic)?;
    let counted = count_records(&args.bootstrap, &sl_topic, n)?;
    let mut sl = Sluice::start(&args, &worker, &src, "rabbit-source.log")?;
    let sl_src = counted.wait(n, || sl.check())?;
    eprintln!(
        "messaging: Sluice source took {sl_src:.2} s wall, {:.2} s CPU (whole process, start-up included)",
        sl.cpu_secs()
    );
    drop(counted);
    drop(sl);

    // RabbitMQ sink: the raw source's topic holds the n messages.
    let (raw_out, sl_out) = (
        format!("bench-sink-raw-{id}"),
        format!("bench-sink-sluice-{id}"),
    );
    declare(&raw_out)?;
    declare(&sl_out)?;
    eprintln!("messaging: raw Kafka → RabbitMQ...");
    let raw_sink = rt.block_on(async {
        let consumer: StreamConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &args.bootstrap)
            .set("group.id", format!("bench-raw-sink-{id}"))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()?;
        consumer.subscribe(&[&raw_topic])?;
        let ch = conn.create_channel().await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        let (mut done, mut t0) = (0usize, None);
        let mut stream = consumer.stream();
        while done < n {
            let mut confirms = Vec::with_capacity(100);
            while confirms.len() < 100 && done + confirms.len() < n {
                let m = stream
                    .next()
                    .await
                    .ok_or_else(|| anyhow::anyhow!("consumer ended"))??;
                t0.get_or_insert_with(Instant::now);
                confirms.push(
                    ch.basic_publish(
                        "",
                        &raw_out,
                        BasicPublishOptions::default(),
                        m.payload().unwrap_or_default(),
                        BasicProperties::default(),
                    )
                    .await?,
                );
            }
            for c in confirms {
                anyhow::ensure!(c.await?.is_ack(), "RabbitMQ refused a message");
                done += 1;
            }
        }
        let _ = ch.close(200, "done").await;
        anyhow::Ok(t0.map_or(0.0, |t| t.elapsed().as_secs_f64()))
    })?;
    let snk = args.work.join("rabbit-sink.properties");
    std::fs::write(
        &snk,
        format!(
            "name=rabbit-sink-bench-{id}\nconnector.class=io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector\ntasks.max=1\ntopics={raw_topic}\nrabbitmq.host={}\nrabbitmq.port={}\nrabbitmq.exchange=\nrabbitmq.routing.key={sl_out}\nrabbitmq.delivery.mode=TRANSIENT\n",
            args.rabbit_host, args.rabbit_port
        ),
    )?;
    eprintln!("messaging: Sluice RabbitMQ sink...");
    let mut sl = Sluice::start(&args, &worker, &snk, "rabbit-sink.log")?;
    let sl_sink = clock(&mut sl, n, || declare(&sl_out).unwrap_or(0))?;
    drop(sl);
    for q in [&raw_q, &raw_full_q, &sl_q, &raw_out, &sl_out] {
        let _ = rt.block_on(ch.queue_delete(q, QueueDeleteOptions::default()));
    }

    out.push_str(&format!(
        "\nRabbitMQ ({n} messages of {} bytes, prefetch {}, on the machine's RabbitMQ; raw client = lapin + rdkafka doing the same job):\n\n\
| Scenario | Sluice msg/s | Raw client msg/s | Ratio | Target |\n|---|---:|---:|---:|---|\n\
| Source (queue → Kafka, ack after Kafka; raw client writes Sluice's record: key and 17 headers) | {:.0} | {:.0} | {:.2} | ≥ 0.8: {} |\n\
| Source, against a raw client writing the body only (no key, no headers) | {:.0} | {:.0} | {:.2} | – |\n\
| Sink (Kafka → queue, publisher confirms) | {:.0} | {:.0} | {:.2} | ≥ 0.8: {} |\n",
        args.size,
        args.prefetch,
        rate(sl_src),
        rate(raw_src),
        rate(sl_src) / rate(raw_src).max(1.0),
        if rate(sl_src) >= 0.8 * rate(raw_src) { "met" } else { "**not met**" },
        rate(sl_src),
        rate(raw_src_plain),
        rate(sl_src) / rate(raw_src_plain).max(1.0),
        rate(sl_sink),
        rate(raw_sink),
        rate(sl_sink) / rate(raw_sink).max(1.0),
        if rate(sl_sink) >= 0.8 * rate(raw_sink) { "met" } else { "**not met**" },
    ));

    // Webhook source.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let hook_topic = format!("bench-webhook-{id}");
    let hook = args.work.join("webhook.properties");
    std::fs::write(
        &hook,
        format!(
            "name=webhook-bench-{id}\nconnector.class=io.sluice.connect.http.HttpWebhookSourceConnector\ntasks.max=1\nkafka.topic={hook_topic}\nhttp.bind.address=127.0.0.1\nhttp.port={port}\nhttp.path=/publish\n"
        ),
    )?;
    eprintln!(
        "messaging: webhook source, {} requests from {} clients...",
        args.requests, args.clients
    );
    let mut sl = Sluice::start(&args, &worker, &hook, "webhook.log")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        sl.check()?;
        anyhow::ensure!(Instant::now() < deadline, "the webhook did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (secs, mut latencies, failed) = rt.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/publish");
        let next = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        // One request first, so the topic exists before the clock starts.
        client.post(&url).body(body(0, args.size)).send().await?;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..args.clients {
            let (client, url, next, failed) =
                (client.clone(), url.clone(), next.clone(), failed.clone());
            let (total, size) = (args.requests, args.size);
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let t = Instant::now();
                    let ok = match client
                        .post(&url)
                        .body(body(t.elapsed().as_nanos() as usize, size))
                        .send()
                        .await
                    {
                        Ok(r) => r.status().as_u16() == 200 && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        lat.push(t.elapsed());
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                lat
            }));
        }
        let mut all = Vec::with_capacity(args.requests);
        for t in tasks {
            all.extend(t.await?);
        }
        anyhow::Ok((
            start.elapsed().as_secs_f64(),
            all,
            failed.load(Ordering::Relaxed),
        ))
    })?;
    drop(sl);
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    out.push_str(&format!(
        "\nWebhook source ({} POSTs of {} bytes from {} concurrent clients on loopback; latency = until the reply naming the record's Kafka offset):\n\n\
| Requests/s | p50 ms | p99 ms | max ms | not 200 |\n|---:|---:|---:|---:|---:|\n\
| {:.0} | {:.1} | {:.1} | {:.1} | {failed} |\n",
        args.requests,
        args.size,
        args.clients,
        latencies.len() as f64 / secs.max(1e-9),
        pct(0.5),
        pct(0.99),
        pct(1.0),
    ));
    print!("{out}");
    if let Some(md) = args.out_md {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(md)?;
        f.write_all(out.as_bytes())?;
    }
    Ok(())
}
