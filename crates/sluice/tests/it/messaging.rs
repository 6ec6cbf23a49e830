//! HTTP, RabbitMQ and MQTT connectors end to end (issue 18, seed 004's integration flows):
//! real tansu broker, real `sluice` workers, the machine's RabbitMQ, HTTP endpoints and
//! clients started in the test.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;

use crate::harness::{
    consume, consume_until, free_port, produce, unique, wait_for, Broker, Consumed, Worker,
};
use crate::services::http::{Answer, Endpoint};
use crate::services::rabbitmq::{self, Rabbit};

/// Requests of seed 004's first flow (the issue asks for 10,000).
const SEED_REQUESTS: usize = 10_000;
/// Concurrent HTTP clients sending them.
const CLIENTS: usize = 50;

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write file");
        p
    }
}

/// A standalone worker moving raw values (ByteArrayConverter) and string keys (the sources'
/// keys are STRING: message id, MQTT topic, webhook key), offsets flushed often.
fn worker_file(f: &Files, bootstrap: &str) -> PathBuf {
    f.write(
        "worker.properties",
        &format!(
            "bootstrap.servers={bootstrap}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.converters.ByteArrayConverter
offset.storage.file.filename={}
offset.flush.interval.ms=1000
consumer.max.poll.records=500
",
            f.path("connect.offsets").display()
        ),
    )
}

fn header<'a>(r: &'a Consumed, key: &str) -> Option<&'a [u8]> {
    r.headers
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.as_deref())
}

fn text(b: &Option<Vec<u8>>) -> String {
    String::from_utf8_lossy(b.as_deref().unwrap_or_default()).into_owned()
}

/// A webhook source connector file.
fn webhook_source(f: &Files, name: &str, port: u16, topic: &str, extra: &str) -> PathBuf {
    f.write(
        &format!("{name}.properties"),
        &format!(
            "name={name}
connector.class=io.sluice.connect.http.HttpWebhookSourceConnector
tasks.max=1
kafka.topic={topic}
http.bind.address=127.0.0.1
http.port={port}
http.path=/publish
{extra}"
        ),
    )
}

/// The answer of one POST: status and JSON body (`None` if the connection failed).
type Reply = Option<(u16, serde_json::Value)>;

/// POSTs `bodies` to `url` from `clients` concurrent clients; each body's reply, in order.
fn post_all(url: &str, bodies: &[String], clients: usize, headers: &[(&str, &str)]) -> Vec<Reply> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let next = Arc::new(AtomicUsize::new(0));
        let bodies: Arc<Vec<String>> = Arc::new(bodies.to_vec());
        let headers: Arc<Vec<(String, String)>> = Arc::new(
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (client, next, bodies, headers) = (
                client.clone(),
                next.clone(),
                bodies.clone(),
                headers.clone(),
            );
            let url = url.to_string();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let mut req = client
                        .post(&url)
                        .timeout(Duration::from_secs(60))
                        .body(body.clone());
                    for (k, v) in headers.iter() {
                        req = req.header(k, v);
                    }
                    let reply = match req.send().await {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let json = r.json().await.unwrap_or(serde_json::Value::Null);
                            Some((status, json))
                        }
                        Err(_) => None,
                    };
                    out.push((i, reply));
                }
                out
            }));
        }
        let mut replies = vec![None; bodies.len()];
        for t in tasks {
            for (i, r) in t.await.unwrap() {
                replies[i] = r;
            }
        }
        replies
    })
}

/// Checks every 200 reply against Kafka: the record at its partition and offset has its
/// body. Returns how many replies were 200.
fn check_positions(bootstrap: &str, topic: &str, bodies: &[String], replies: &[Reply]) -> usize {
    let acked: Vec<(usize, i32, i64)> = replies
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            Some((200, j)) => {
                assert_eq!(j["topic"], topic, "{j}");
                Some((i, j["partition"].as_i64()? as i32, j["offset"].as_i64()?))
            }
            _ => None,
        })
        .collect();
    let records = consume_until(bootstrap, topic, Duration::from_secs(120), |got| {
        got.len() >= acked.len()
    });
    let at: HashMap<(i32, i64), &Consumed> = records
        .iter()
        .map(|r| ((r.partition, r.offset), r))
        .collect();
    for (i, p, o) in &acked {
        let r = at.get(&(*p, *o)).unwrap_or_else(|| {
            panic!("request {i} was answered with {p}/{o}, which Kafka does not have")
        });
        assert_eq!(text(&r.value), bodies[*i], "the record at {p}/{o}");
    }
    acked.len()
}

#[test]
fn seed004_http_requests_to_kafka_to_rabbitmq() {
    let broker = Broker::start();
    let mut rabbit = Rabbit::connect();
    let queue = rabbit.queue("seed004-out");
    let exchange = rabbit.exchange_to("seed004-x", &queue, "orders");
    let f = Files::new();
    let topic = unique("seed004-in");
    let port = free_port();
    let worker = worker_file(&f, &broker.bootstrap());
    let src = webhook_source(&f, "webhook", port, &topic, "");
    let snk = f.write(
        "rabbit-sink.properties",
        &format!(
            "name=rabbit-sink
connector.class=io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector
tasks.max=1
topics={topic}
rabbitmq.host={}
rabbitmq.port={}
rabbitmq.exchange={exchange}
rabbitmq.routing.key=orders
rabbitmq.delivery.mode=PERSISTENT
rabbitmq.forward.kafka.metadata=true
",
            rabbitmq::HOST,
            rabbitmq::PORT
        ),
    );
    let w = Worker::standalone(&worker, &[&src, &snk], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for("the webhook to listen", Duration::from_secs(60), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let bodies: Vec<String> = (0..SEED_REQUESTS)
        .map(|i| format!(r#"{{"order":{i},"item":"订单-{i}"}}"#))
        .collect();
    let started = Instant::now();
    let replies = post_all(
        &format!("http://127.0.0.1:{port}/publish"),
        &bodies,
        CLIENTS,
        &[],
    );
    let took = started.elapsed();
    let failed: Vec<_> = replies
        .iter()
        .enumerate()
        .filter(|(_, r)| !matches!(r, Some((200, _))))
        .take(5)
        .collect();
    assert!(
        failed.is_empty(),
        "requests not answered 200: {failed:?}\n{}",
        w.log_text()
    );
    eprintln!(
        "seed004: {SEED_REQUESTS} requests from {CLIENTS} clients answered in {took:?} ({:.0}/s)",
        SEED_REQUESTS as f64 / took.as_secs_f64()
    );
    assert_eq!(
        check_positions(&broker.bootstrap(), &topic, &bodies, &replies),
        SEED_REQUESTS
    );
    // Every message reaches RabbitMQ exactly once.
    let got = rabbit.take(&queue, SEED_REQUESTS, Duration::from_secs(180));
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for d in &got {
        *counts
            .entry(String::from_utf8_lossy(&d.data).into_owned())
            .or_default() += 1;
    }
    let missing: Vec<_> = bodies
        .iter()
        .filter(|b| !counts.contains_key(*b))
        .take(5)
        .collect();
    let duplicates = counts.values().filter(|c| **c > 1).count();
    assert!(
        missing.is_empty(),
        "missing from RabbitMQ ({} of {SEED_REQUESTS} there): {missing:?}",
        counts.len()
    );
    assert_eq!(
        duplicates, 0,
        "messages delivered to RabbitMQ more than once"
    );
    assert_eq!(got.len(), SEED_REQUESTS);
    // The sink's metadata headers name where each message came from.
    let h = got[0].properties.headers().clone().expect("AMQP headers");
    assert_eq!(
        h.inner().get("KAFKA_TOPIC"),
        Some(&AMQPValue::LongString(topic.clone().into()))
    );
    assert_eq!(*got[0].properties.delivery_mode(), Some(2));
}

#[test]
fn seed004_rabbitmq_queue_to_kafka_to_http_endpoint() {
    const N: usize = 2_000;
    let broker = Broker::start();
    let mut rabbit = Rabbit::connect();
    let queue = rabbit.queue("seed004-in");
    let endpoint = Endpoint::start(|_, _| Answer::status(200, "ok"));
    let messages: Vec<(Vec<u8>, BasicProperties)> = (0..N)
        .map(|i| {
            let mut headers = FieldTable::default();
            headers.insert("source".into(), AMQPValue::LongString("erp".into()));
            headers.insert("attempt".into(), AMQPValue::LongInt(1));
            (
                format!("message {i} 消息").into_bytes(),
                BasicProperties::default()
                    .with_message_id(format!("id-{i}").into())
                    .with_content_type("text/plain".into())
                    .with_timestamp(1_700_000_000)
                    .with_headers(headers),
            )
        })
        .collect();
    rabbit.publish(&queue, &messages);
    let f = Files::new();
    let topic = unique("from-rabbit");
    let worker = worker_file(&f, &broker.bootstrap());
    let src = f.write(
        "rabbit-source.properties",
        &format!(
            "name=rabbit-source
connector.class=io.confluent.connect.rabbitmq.RabbitMQSourceConnector
tasks.max=1
kafka.topic={topic}
rabbitmq.queue={queue}
rabbitmq.host={}
rabbitmq.port={}
rabbitmq.prefetch.count=500
",
            rabbitmq::HOST,
            rabbitmq::PORT
        ),
    );
    let snk = f.write(
        "http-sink.properties",
        &format!(
            "name=http-sink
connector.class=io.confluent.connect.http.HttpSinkConnector
tasks.max=1
topics={topic}
http.api.url={}
request.method=POST
headers=Content-Type:text/plain|X-Flow:seed004
batch.max.size=1
retry.backoff.ms=100
reporter.bootstrap.servers={}
",
            endpoint.url("/orders/${topic}"),
            broker.bootstrap()
        ),
    );
    let w = Worker::standalone(&worker, &[&src, &snk], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for(
        "the endpoint to receive every message",
        Duration::from_secs(180),
        || endpoint.accepted_bodies().len() >= N,
    );
    let mut got = endpoint.accepted_bodies();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), N, "distinct bodies at the endpoint");
    let first = &endpoint.received()[0].0;
    assert_eq!(first.path, format!("/orders/{topic}"));
    assert_eq!(first.header("x-flow"), Some("seed004"));
    // Kafka has Confluent's record format.
    let records = consume(&broker.bootstrap(), &topic, N, Duration::from_secs(60));
    assert_eq!(records.len(), N);
    let r = &records[0];
    assert!(
        text(&r.key).starts_with("id-"),
        "key = message id: {:?}",
        r.key
    );
    assert_eq!(header(r, "rabbitmq.content.type"), Some(&b"text/plain"[..]));
    assert_eq!(header(r, "rabbitmq.routing.key"), Some(queue.as_bytes()));
    assert_eq!(header(r, "rabbitmq.headers.source"), Some(&b"erp"[..]));
    assert_eq!(header(r, "rabbitmq.headers.attempt"), Some(&b"1"[..]));
    assert!(header(r, "rabbitmq.consumer.tag").is_some());
    // Every delivery was acknowledged: nothing is left in the queue once the worker stops.
    let mut w = w;
    assert!(w.terminate().success(), "{}", w.log_text());
    assert_eq!(
        rabbit.ready(&queue),
        0,
        "messages left unacknowledged in RabbitMQ"
    );
}

#[test]
fn rabbitmq_source_kill9_loses_nothing_acknowledged() {
    const N: usize = 20_000;
    let broker = Broker::start();
    let mut rabbit = Rabbit::connect();
    let queue = rabbit.queue("kill9-in");
    let bodies: Vec<String> = (0..N).map(|i| format!("m{i:06}")).collect();
    let messages: Vec<_> = bodies
        .iter()
        .map(|b| (b.clone().into_bytes(), BasicProperties::default()))
        .collect();
    rabbit.publish(&queue, &messages);
    let f = Files::new();
    let topic = unique("kill9-rabbit");
    let worker = worker_file(&f, &broker.bootstrap());
    let src = f.write(
        "rabbit-source.properties",
        &format!(
            "name=rabbit-source
connector.class=io.confluent.connect.rabbitmq.RabbitMQSourceConnector
kafka.topic={topic}
rabbitmq.queue={queue}
rabbitmq.prefetch.count=200
"
        ),
    );
    let mut w = Worker::standalone(&worker, &[&src], free_port(), &f.path("worker1.log"));
    w.wait_ready();
    wait_for(
        "part of the queue to be consumed",
        Duration::from_secs(120),
        || (rabbit.ready(&queue) as usize) < N - 2_000,
    );
    w.kill9();
    // RabbitMQ requeues what the dead connection held unacknowledged: everything not in
    // Kafka must be back in the queue.
    let in_kafka = consume_until(&broker.bootstrap(), &topic, Duration::from_secs(20), |_| {
        false
    });
    let in_kafka: std::collections::HashSet<String> =
        in_kafka.iter().map(|r| text(&r.value)).collect();
    wait_for(
        "RabbitMQ to requeue the dead consumer's messages",
        Duration::from_secs(30),
        || rabbit.ready(&queue) as usize + in_kafka.len() >= N,
    );
    let back = rabbit.take_ready(&queue);
    let back: std::collections::HashSet<String> = back
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    let lost: Vec<_> = bodies
        .iter()
        .filter(|b| !in_kafka.contains(*b) && !back.contains(*b))
        .take(5)
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged to RabbitMQ but not in Kafka: {lost:?} ({} in Kafka, {} requeued)",
        in_kafka.len(),
        back.len()
    );
    assert!(
        !in_kafka.is_empty() && in_kafka.len() < N,
        "the kill came mid-stream: {} in Kafka",
        in_kafka.len()
    );
}

/// The source acknowledges a delivery only once Kafka has its record *and* Connect committed
/// offsets: killed with everything in Kafka but nothing committed, every message comes back
/// (duplicates, nothing lost); a prefetch limit does not stall it between commits.
#[test]
fn rabbitmq_source_acks_only_after_the_offset_commit() {
    const N: usize = 500;
    let broker = Broker::start();
    let mut rabbit = Rabbit::connect();
    let queue = rabbit.queue("commit-ack");
    let bodies: Vec<String> = (0..N).map(|i| format!("c{i:04}")).collect();
    let messages: Vec<_> = bodies
        .iter()
        .map(|b| (b.clone().into_bytes(), BasicProperties::default()))
        .collect();
    rabbit.publish(&queue, &messages);
    let f = Files::new();
    let topic = unique("commit-ack");
    // No periodic offset commit within the test.
    let worker = f.write(
        "worker.properties",
        &format!(
            "bootstrap.servers={}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.converters.ByteArrayConverter
offset.storage.file.filename={}
offset.flush.interval.ms=3600000
",
            broker.bootstrap(),
            f.path("connect.offsets").display()
        ),
    );
    let source = |prefetch: usize| {
        f.write(
            "rabbit-source.properties",
            &format!(
                "name=rabbit-source
connector.class=io.confluent.connect.rabbitmq.RabbitMQSourceConnector
kafka.topic={topic}
rabbitmq.queue={queue}
rabbitmq.prefetch.count={prefetch}
"
            ),
        )
    };
    // Unlimited prefetch: nothing asks for an early commit.
    let src = source(0);
    let mut w = Worker::standalone(&worker, &[&src], free_port(), &f.path("worker1.log"));
    w.wait_ready();
    let in_kafka = consume(&broker.bootstrap(), &topic, N, Duration::from_secs(120));
    assert_eq!(in_kafka.len(), N, "{}", w.log_text());
    assert_eq!(rabbit.ready(&queue), 0, "every message was delivered");
    w.kill9();
    // In Kafka but not committed: not acknowledged, so RabbitMQ requeues every one.
    wait_for(
        "RabbitMQ to requeue the unacknowledged messages",
        Duration::from_secs(30),
        || rabbit.ready(&queue) as usize == N,
    );
    // Again, with a prefetch far below N and still no periodic commit: the task asks for
    // commits itself, or it would stop after 50 messages.
    let src = source(50);
    let mut w = Worker::standalone(&worker, &[&src], free_port(), &f.path("worker2.log"));
    w.wait_ready();
    let all = consume(&broker.bootstrap(), &topic, 2 * N, Duration::from_secs(120));
    assert_eq!(all.len(), 2 * N, "{}", w.log_text());
    wait_for(
        "every redelivered message acknowledged",
        Duration::from_secs(60),
        || rabbit.ready(&queue) == 0,
    );
    assert!(w.terminate().success(), "{}", w.log_text());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &all {
        *counts.entry(text(&r.value)).or_default() += 1;
    }
    assert!(
        bodies.iter().all(|b| counts.get(b) == Some(&2)),
        "each message twice: once before the kill, once after"
    );
    // Acknowledged at the last commit on shutdown: nothing comes back.
    assert_eq!(rabbit.ready(&queue), 0, "messages left unacknowledged");
}

#[test]
fn webhook_kill9_every_answered_request_is_in_kafka() {
    const N: usize = 3_000;
    let broker = Broker::start();
    let f = Files::new();
    let topic = unique("kill9-webhook");
    let port = free_port();
    let worker = worker_file(&f, &broker.bootstrap());
    let src = webhook_source(&f, "webhook", port, &topic, "");
    let mut w = Worker::standalone(&worker, &[&src], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for("the webhook to listen", Duration::from_secs(60), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let bodies: Vec<String> = (0..N).map(|i| format!("event-{i}")).collect();
    let url = format!("http://127.0.0.1:{port}/publish");
    let sender = {
        let bodies = bodies.clone();
        std::thread::spawn(move || post_all(&url, &bodies, 8, &[]))
    };
    // Kill once part of the requests are in Kafka.
    consume_until(
        &broker.bootstrap(),
        &topic,
        Duration::from_secs(60),
        |got| got.len() >= N / 4,
    );
    w.kill9();
    let replies = sender.join().unwrap();
    let answered = check_positions(&broker.bootstrap(), &topic, &bodies, &replies);
    assert!(
        (N / 4..N).contains(&answered),
        "answered 200 before the kill: {answered}"
    );
    // Requests cut off got no 200: the client knows to send them again.
    assert!(replies.iter().any(|r| !matches!(r, Some((200, _)))));
}

#[test]
fn webhook_auth_limits_and_keys() {
    let broker = Broker::start();
    let f = Files::new();
    let topic = unique("webhook-rules");
    let port = free_port();
    let worker = worker_file(&f, &broker.bootstrap());
    let src = webhook_source(
        &f,
        "webhook",
        port,
        &topic,
        "http.secret.header=X-Secret\nhttp.secret=s3cr3t\nhttp.key.pointer=/id\nhttp.max.body.bytes=100\n",
    );
    let w = Worker::standalone(&worker, &[&src], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for("the webhook to listen", Duration::from_secs(60), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let url = format!("http://127.0.0.1:{port}/publish");
    let no_secret = post_all(&url, &[r#"{"id":"a"}"#.to_string()], 1, &[]);
    assert_eq!(no_secret[0].as_ref().map(|r| r.0), Some(401));
    assert!(no_secret[0].as_ref().unwrap().1["Code"].is_string());
    let ok = post_all(
        &url,
        &[r#"{"id":"k1","v":1}"#.to_string()],
        1,
        &[("X-Secret", "s3cr3t"), ("X-Trace", "t-1")],
    );
    assert_eq!(ok[0].as_ref().map(|r| r.0), Some(200), "{ok:?}");
    let big = post_all(&url, &["x".repeat(1000)], 1, &[("X-Secret", "s3cr3t")]);
    assert_eq!(big[0].as_ref().map(|r| r.0), Some(413), "{big:?}");
    assert_eq!(big[0].as_ref().unwrap().1["Code"], "PayloadTooLarge");
    let records = consume(&broker.bootstrap(), &topic, 1, Duration::from_secs(60));
    assert_eq!(records.len(), 1);
    assert_eq!(text(&records[0].key), "k1");
    assert_eq!(header(&records[0], "x-trace"), Some(&b"t-1"[..]));
    assert!(
        header(&records[0], "x-secret").is_none(),
        "the secret is not copied"
    );
    // Paused: 503 with the error object.
    let (code, _) = w
        .try_send("PUT", "/connectors/webhook/pause", None)
        .unwrap();
    assert_eq!(code, 202);
    wait_for("the task to be paused", Duration::from_secs(30), || {
        w.task_state("webhook", 0).as_deref() == Some("PAUSED")
    });
    let mut paused = None;
    wait_for(
        "a paused task to answer 503",
        Duration::from_secs(30),
        || {
            paused = post_all(
                &url,
                &[r#"{"id":"p"}"#.to_string()],
                1,
                &[("X-Secret", "s3cr3t")],
            )
            .remove(0);
            paused.as_ref().is_some_and(|r| r.0 == 503)
        },
    );
    assert_eq!(paused.unwrap().1["Code"], "Unavailable");
}

/// castorm's polling source against a real endpoint: each item once, across a restart of the
/// worker, with the offset in the request (`after=${offset.seq}`) and records in castorm's
/// envelope. The endpoint answers items from `after` on inclusively and two items share each
/// timestamp, so only the offset filter keeps the last seen one out.
#[test]
fn http_poll_source_reads_each_item_once_across_a_restart() {
    let broker = Broker::start();
    let items: Arc<std::sync::Mutex<Vec<u64>>> =
        Arc::new(std::sync::Mutex::new((1..=10).collect()));
    let endpoint = {
        let items = items.clone();
        Endpoint::start(move |r, _| {
            let after: u64 = r.param("after").and_then(|a| a.parse().ok()).unwrap_or(0);
            let list: Vec<serde_json::Value> = items
                .lock()
                .unwrap()
                .iter()
                .filter(|s| **s >= after)
                .map(|s| serde_json::json!({"id": format!("item-{s}"), "seq": s, "at": (s / 2) * 1000}))
                .collect();
            Answer::status(
                200,
                &serde_json::json!({"data": {"items": list}}).to_string(),
            )
        })
    };
    let f = Files::new();
    let topic = unique("http-poll");
    let worker = f.write(
        "worker.properties",
        &format!(
            "bootstrap.servers={}
key.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter=org.apache.kafka.connect.json.JsonConverter
value.converter.schemas.enable=false
offset.storage.file.filename={}
offset.flush.interval.ms=500
",
            broker.bootstrap(),
            f.path("connect.offsets").display()
        ),
    );
    let src = f.write(
        "http-source.properties",
        &format!(
            "name=http-poll
connector.class=com.github.castorm.kafka.connect.http.HttpSourceConnector
tasks.max=1
kafka.topic={topic}
http.request.url={}
http.request.headers=Accept: application/json
http.request.params=after=${{offset.seq}}
http.offset.initial=seq=0
http.timer.interval.millis=100
http.timer.catchup.interval.millis=100
http.response.list.pointer=/data/items
http.response.record.offset.pointer=key=/id, timestamp=/at, seq=/seq
",
            endpoint.url("/items")
        ),
    );
    let seqs = |records: &[Consumed]| -> Vec<u64> {
        records
            .iter()
            .map(|r| {
                let v: serde_json::Value =
                    serde_json::from_slice(r.value.as_deref().unwrap_or_default()).unwrap();
                let item: serde_json::Value =
                    serde_json::from_str(v["value"].as_str().unwrap()).unwrap();
                item["seq"].as_u64().unwrap()
            })
            .collect()
    };
    let mut w = Worker::standalone(&worker, &[&src], free_port(), &f.path("worker1.log"));
    w.wait_ready();
    let first = consume(&broker.bootstrap(), &topic, 10, Duration::from_secs(60));
    assert_eq!(
        seqs(&first),
        (1..=10).collect::<Vec<_>>(),
        "{}",
        w.log_text()
    );
    items.lock().unwrap().extend(11..=15);
    let more = consume(&broker.bootstrap(), &topic, 15, Duration::from_secs(60));
    assert_eq!(seqs(&more), (1..=15).collect::<Vec<_>>());
    // The request carries the offset of the last record.
    wait_for("a request after item 15", Duration::from_secs(30), || {
        endpoint
            .received()
            .iter()
            .any(|(r, _)| r.param("after") == Some("15"))
    });
    assert!(w.terminate().success(), "{}", w.log_text());
    // Restarted from the committed offset: the next items only.
    items.lock().unwrap().extend(16..=20);
    let before = endpoint.received().len();
    let w = Worker::standalone(&worker, &[&src], free_port(), &f.path("worker2.log"));
    w.wait_ready();
    let all = consume(&broker.bootstrap(), &topic, 20, Duration::from_secs(60));
    assert_eq!(seqs(&all)[..20], (1..=20).collect::<Vec<_>>()[..]);
    let first_after_restart = endpoint.received()[before].0.clone();
    assert_eq!(
        first_after_restart.param("after"),
        Some("15"),
        "started from the committed offset"
    );
    assert_eq!(
        first_after_restart.header("accept"),
        Some("application/json")
    );
    // A few more polls bring nothing new.
    wait_for("three more polls", Duration::from_secs(30), || {
        endpoint.received().len() >= before + 5
    });
    let all = consume_until(&broker.bootstrap(), &topic, Duration::from_secs(5), |_| {
        false
    });
    assert_eq!(
        seqs(&all),
        (1..=20).collect::<Vec<_>>(),
        "each item exactly once"
    );
    // castorm's envelope: key {key}, value {value, key, timestamp}.
    let key: serde_json::Value = serde_json::from_slice(all[0].key.as_deref().unwrap()).unwrap();
    assert_eq!(key, serde_json::json!({"key": "item-1"}));
    let value: serde_json::Value =
        serde_json::from_slice(all[0].value.as_deref().unwrap()).unwrap();
    assert_eq!(value["key"], "item-1");
    assert_eq!(value["timestamp"], 0);
    assert_eq!(w.task_state("http-poll", 0).as_deref(), Some("RUNNING"));
}

fn http_sink_worker(
    f: &Files,
    broker: &Broker,
    topic: &str,
    url: &str,
    extra: &str,
) -> (PathBuf, PathBuf) {
    let worker = worker_file(f, &broker.bootstrap());
    let snk = f.write(
        "http-sink.properties",
        &format!(
            "name=http-sink
connector.class=io.confluent.connect.http.HttpSinkConnector
tasks.max=1
topics={topic}
http.api.url={url}
{extra}"
        ),
    );
    (worker, snk)
}

#[test]
fn http_sink_retries_500s_until_the_endpoint_recovers() {
    const N: usize = 50;
    let broker = Broker::start();
    let topic = unique("http-retry");
    let values: Vec<Vec<u8>> = (0..N).map(|i| format!("v{i}").into_bytes()).collect();
    produce(&broker.bootstrap(), &topic, &values);
    // The first 7 requests fail with 500, then everything is accepted.
    let endpoint = Endpoint::start(|_, n| {
        if n < 7 {
            Answer::status(500, "try later")
        } else {
            Answer::status(200, "ok")
        }
    });
    let f = Files::new();
    let (worker, snk) = http_sink_worker(
        &f,
        &broker,
        &topic,
        &endpoint.url("/in"),
        "max.retries=10\nretry.backoff.ms=50\nretry.backoff.policy=CONSTANT_VALUE\n",
    );
    let w = Worker::standalone(&worker, &[&snk], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for("every record accepted", Duration::from_secs(120), || {
        endpoint.accepted_bodies().len() >= N
    });
    let mut got = endpoint.accepted_bodies();
    got.sort();
    let mut want: Vec<String> = (0..N).map(|i| format!("v{i}")).collect();
    want.sort();
    assert_eq!(got, want, "every record exactly once after the retries");
    let refused = endpoint
        .received()
        .iter()
        .filter(|(_, s)| *s == 500)
        .count();
    assert_eq!(refused, 7);
    assert_eq!(w.task_state("http-sink", 0).as_deref(), Some("RUNNING"));
}

#[test]
fn http_sink_400_with_tolerance_all_goes_to_the_dlq_with_status_and_body() {
    let broker = Broker::start();
    let topic = unique("http-400");
    let dlq = unique("http-400-dlq");
    let values: Vec<Vec<u8>> = ["good-1", "bad-2", "good-3"]
        .iter()
        .map(|v| v.as_bytes().to_vec())
        .collect();
    produce(&broker.bootstrap(), &topic, &values);
    let endpoint = Endpoint::start(|r, _| {
        if r.body.starts_with("bad") {
            Answer::status(400, r#"{"error":"invalid order"}"#)
        } else {
            Answer::status(201, "created")
        }
    });
    let f = Files::new();
    let (worker, snk) = http_sink_worker(
        &f,
        &broker,
        &topic,
        &endpoint.url("/in"),
        &format!("retry.on.status.codes=500-\nerrors.tolerance=all\nerrors.deadletterqueue.topic.name={dlq}\nerrors.deadletterqueue.topic.replication.factor=1\nerrors.deadletterqueue.context.headers.enable=true\n"),
    );
    let w = Worker::standalone(&worker, &[&snk], free_port(), &f.path("worker.log"));
    w.wait_ready();
    let dead = consume(&broker.bootstrap(), &dlq, 1, Duration::from_secs(60));
    assert_eq!(dead.len(), 1, "{}", w.log_text());
    assert_eq!(text(&dead[0].value), "bad-2");
    let message = String::from_utf8_lossy(
        header(&dead[0], "__connect.errors.exception.message").expect("exception header"),
    )
    .into_owned();
    assert!(
        message.contains("400") && message.contains("invalid order"),
        "{message}"
    );
    wait_for("the good records accepted", Duration::from_secs(30), || {
        endpoint.accepted_bodies().len() >= 2
    });
    assert_eq!(endpoint.accepted_bodies(), ["good-1", "good-3"]);
    // 400 is not in retry.on.status.codes=500-: asked once.
    assert_eq!(
        endpoint
            .received()
            .iter()
            .filter(|(_, s)| *s == 400)
            .count(),
        1
    );
    assert_eq!(w.task_state("http-sink", 0).as_deref(), Some("RUNNING"));
}

#[test]
fn bad_configs_name_their_keys() {
    let broker = Broker::start();
    let f = Files::new();
    let worker = worker_file(&f, &broker.bootstrap());
    let w = Worker::standalone(&worker, &[], free_port(), &f.path("worker.log"));
    w.wait_ready();
    let cases = [
        (
            serde_json::json!({"connector.class": "io.confluent.connect.http.HttpSinkConnector", "topics": "t", "http.api.url": "http://h/${partition}"}),
            "${partition}",
        ),
        (
            serde_json::json!({"connector.class": "io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector", "topics": "t", "rabbitmq.exchange": "", "rabbitmq.routing.key": "r", "rabbitmq.delivery.mode": "SOMETIMES"}),
            "rabbitmq.delivery.mode",
        ),
    ];
    for (i, (config, needle)) in cases.into_iter().enumerate() {
        let mut config = config;
        config["name"] = serde_json::json!(format!("bad-{i}"));
        let class = config["connector.class"].as_str().unwrap().to_string();
        let (code, body) = w
            .try_send(
                "PUT",
                &format!("/connector-plugins/{class}/config/validate"),
                Some(&config),
            )
            .unwrap();
        assert_eq!(code, 200, "{body}");
        let text = body.to_string();
        assert!(
            body["error_count"].as_i64().unwrap_or(0) >= 1 && text.contains(needle),
            "{text}"
        );
    }
    // A missing queue fails the source task with the key and the queue's name.
    let (code, body) = w
        .try_send(
            "POST",
            "/connectors",
            Some(&serde_json::json!({"name": "no-queue", "config": {
                "connector.class": "io.confluent.connect.rabbitmq.RabbitMQSourceConnector",
                "kafka.topic": "t", "rabbitmq.queue": "no-such-queue-sluice-it"}})),
        )
        .unwrap();
    assert_eq!(code, 201, "{body}");
    let mut trace = String::new();
    wait_for("the task to fail", Duration::from_secs(60), || {
        let s = w.status("no-queue");
        trace = s
            .as_ref()
            .and_then(|s| s["tasks"][0]["trace"].as_str())
            .unwrap_or_default()
            .to_string();
        s.is_some_and(|s| s["tasks"][0]["state"] == "FAILED")
    });
    assert!(
        trace.contains("rabbitmq.queue") && trace.contains("no-such-queue-sluice-it"),
        "{trace}"
    );
    // Wrong credentials: the user and the keys, never the password.
    let (code, _) = w
        .try_send(
            "POST",
            "/connectors",
            Some(&serde_json::json!({"name": "bad-login", "config": {
                "connector.class": "io.confluent.connect.rabbitmq.RabbitMQSourceConnector",
                "kafka.topic": "t", "rabbitmq.queue": "q", "rabbitmq.username": "nobody",
                "rabbitmq.password": "very-secret-pw"}})),
        )
        .unwrap();
    assert_eq!(code, 201);
    wait_for("the login to fail", Duration::from_secs(60), || {
        let s = w.status("bad-login");
        trace = s
            .as_ref()
            .and_then(|s| s["tasks"][0]["trace"].as_str())
            .unwrap_or_default()
            .to_string();
        s.is_some_and(|s| s["tasks"][0]["state"] == "FAILED")
    });
    assert!(
        trace.contains("nobody") && trace.contains("rabbitmq.username"),
        "{trace}"
    );
    assert!(!trace.contains("very-secret-pw"), "{trace}");
    let _ = Path::new("");
}

#[test]
fn mqtt_to_kafka_to_mqtt_qos1_round_trip() {
    mqtt_relay(false);
}

/// The broker is stopped (it saves its sessions) and started again between the two halves
/// of the stream: the source's and the reader's persistent sessions, with their
/// subscriptions and queued messages, survive it, and the sink publishes again what the
/// broker had not acknowledged.
#[test]
fn mqtt_to_kafka_to_mqtt_qos1_survives_a_broker_restart() {
    mqtt_relay(true);
}

/// Mosquitto → MQTT source → Kafka → MQTT sink → Mosquitto, QoS 1 with persistent sessions;
/// with `restart`, the broker is restarted between the two halves of the stream.
fn mqtt_relay(restart: bool) {
    const N: usize = 2_000;
    let broker = Broker::start();
    let mut mqtt = crate::services::mosquitto::Mosquitto::start();
    let f = Files::new();
    let topic = unique("mqtt-relay");
    let worker = worker_file(&f, &broker.bootstrap());
    let src = f.write(
        "mqtt-source.properties",
        &format!(
            "name=mqtt-source
connector.class=io.confluent.connect.mqtt.MqttSourceConnector
tasks.max=1
mqtt.server.uri={}
mqtt.topics=in/#
kafka.topic={topic}
mqtt.qos=1
mqtt.clean.session.enabled=false
",
            mqtt.uri()
        ),
    );
    let snk = f.write(
        "mqtt-sink.properties",
        &format!(
            "name=mqtt-sink
connector.class=io.confluent.connect.mqtt.MqttSinkConnector
tasks.max=1
topics={topic}
mqtt.server.uri={}
mqtt.qos=1
mqtt.clean.session.enabled=false
",
            mqtt.uri()
        ),
    );
    // The reader's persistent session exists before anything is published.
    let out = f.path("received.txt");
    let mut reader = mqtt.subscribe(&topic, "it-reader", &out);
    let w = Worker::standalone_env(
        &worker,
        &[&src, &snk],
        free_port(),
        &f.path("worker.log"),
        &[("RUST_LOG", "info,rumqttc=debug,sluice_connector_mqtt=debug")],
    );
    w.wait_ready();
    wait_for("both tasks running", Duration::from_secs(60), || {
        w.task_state("mqtt-source", 0).as_deref() == Some("RUNNING")
            && w.task_state("mqtt-sink", 0).as_deref() == Some("RUNNING")
    });
    let lines: Vec<String> = (0..N).map(|i| format!("reading-{i:05}")).collect();
    let received = |out: &Path| -> std::collections::HashSet<String> {
        std::fs::read_to_string(out)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    };
    mqtt.publish_lines("in/sensor-a", &lines[..N / 2]);
    // Restart the broker while the first half is still moving through.
    if restart {
        let _ = reader.kill();
        let _ = reader.wait();
        mqtt.restart();
        reader = mqtt.subscribe(&topic, "it-reader", &out);
    }
    mqtt.publish_lines("in/sensor-b", &lines[N / 2..]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while received(&out).len() < N && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    if received(&out).len() < N {
        let in_kafka = consume_until(&broker.bootstrap(), &topic, Duration::from_secs(10), |_| {
            false
        })
        .len();
        let log = w.log_text();
        let tail: Vec<&str> = log.lines().rev().take(80).collect();
        panic!(
            "{} of {N} messages back out of MQTT, {in_kafka} in Kafka; worker log (last lines, newest first):\n{}",
            received(&out).len(),
            tail.join("\n")
        );
    }
    let got = received(&out);
    let missing: Vec<_> = lines.iter().filter(|l| !got.contains(*l)).take(5).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let _ = reader.kill();
    let _ = reader.wait();
    // Kafka has Confluent's record format: key = the MQTT topic, mqtt.* headers.
    let records = consume(&broker.bootstrap(), &topic, 1, Duration::from_secs(30));
    assert_eq!(text(&records[0].key), "in/sensor-a");
    assert!(header(&records[0], "mqtt.qos").is_some());
    assert!(header(&records[0], "mqtt.message.id").is_some());
}

/// The MQTT source and sink over TLS (`ssl://`, the CA from `mqtt.ssl.trust.store.path`)
/// through stunnel in front of a private Mosquitto; a trust store of another CA fails the
/// task with a message naming the broker.
#[test]
fn mqtt_over_tls_through_stunnel() {
    const N: usize = 200;
    let broker = Broker::start();
    let mqtt = crate::services::mosquitto::Mosquitto::start();
    let f = Files::new();
    let pki = crate::security::Pki::make(f.dir.path());
    let tls_port = free_port();
    let mut proxy = crate::security::stunnel(&pki, tls_port, mqtt.port, false);
    wait_for("stunnel to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_ok()
    });
    let topic = unique("mqtt-tls");
    let worker = worker_file(&f, &broker.bootstrap());
    let tls = |ca: &str| {
        format!(
            "mqtt.server.uri=ssl://127.0.0.1:{tls_port}\nmqtt.ssl.trust.store.path={}\nmqtt.qos=1\n",
            pki.path(ca).display()
        )
    };
    let src = f.write(
        "mqtt-source.properties",
        &format!(
            "name=mqtt-tls-source\nconnector.class=io.confluent.connect.mqtt.MqttSourceConnector\nmqtt.topics=in/#\nkafka.topic={topic}\nmqtt.clean.session.enabled=false\n{}",
            tls("ca.pem")
        ),
    );
    let snk = f.write(
        "mqtt-sink.properties",
        &format!(
            "name=mqtt-tls-sink\nconnector.class=io.confluent.connect.mqtt.MqttSinkConnector\ntopics={topic}\n{}",
            tls("ca.pem")
        ),
    );
    let out = f.path("received.txt");
    let mut reader = mqtt.subscribe(&topic, "it-tls-reader", &out);
    let w = Worker::standalone(&worker, &[&src, &snk], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for("both tasks running", Duration::from_secs(60), || {
        w.task_state("mqtt-tls-source", 0).as_deref() == Some("RUNNING")
            && w.task_state("mqtt-tls-sink", 0).as_deref() == Some("RUNNING")
    });
    let lines: Vec<String> = (0..N).map(|i| format!("secure-{i:04}")).collect();
    mqtt.publish_lines("in/tls", &lines);
    let received = || -> std::collections::HashSet<String> {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    };
    wait_for(
        "every message back out of MQTT",
        Duration::from_secs(60),
        || received().len() >= N,
    );
    assert!(lines.iter().all(|l| received().contains(l)));
    // Another CA: the certificate is refused and the task fails, naming the broker.
    let (code, body) = w
        .try_send(
            "POST",
            "/connectors",
            Some(&serde_json::json!({"name": "wrong-ca", "config": {
                "connector.class": "io.confluent.connect.mqtt.MqttSourceConnector",
                "mqtt.topics": "in/#", "kafka.topic": "t", "mqtt.connect.timeout.seconds": "2",
                "mqtt.server.uri": format!("ssl://127.0.0.1:{tls_port}"),
                "mqtt.ssl.trust.store.path": pki.path("other-ca.pem").display().to_string()}})),
        )
        .unwrap();
    assert_eq!(code, 201, "{body}");
    let mut trace = String::new();
    wait_for("the task to fail", Duration::from_secs(60), || {
        let s = w.status("wrong-ca");
        trace = s
            .as_ref()
            .and_then(|s| s["tasks"][0]["trace"].as_str())
            .unwrap_or_default()
            .to_string();
        s.is_some_and(|s| s["tasks"][0]["state"] == "FAILED")
    });
    assert!(trace.contains(&format!("127.0.0.1:{tls_port}")), "{trace}");
    let _ = reader.kill();
    let _ = reader.wait();
    let _ = proxy.kill();
    let _ = proxy.wait();
}

/// The RabbitMQ source and sink over TLS (`rabbitmq.security.protocol=SSL`) through stunnel
/// in front of the machine's RabbitMQ, stunnel requiring a client certificate: the CA from a
/// JKS truststore and the client certificate from a PKCS12 keystore (Confluent's
/// `rabbitmq.https.ssl.*` keys). A truststore of another CA fails the task naming host, port
/// and the TLS reason; a bad keystore password or path fails it naming the key; the store
/// passwords are hidden by the REST API.
#[test]
fn rabbitmq_over_tls_with_truststore_and_keystore() {
    const N: usize = 300;
    let broker = Broker::start();
    let mut rabbit = Rabbit::connect();
    let queue_in = rabbit.queue("tls-in");
    let queue_out = rabbit.queue("tls-out");
    let f = Files::new();
    let pki = crate::security::Pki::make(f.dir.path());
    let tls_port = free_port();
    let mut proxy = crate::security::stunnel(&pki, tls_port, rabbitmq::PORT, true);
    wait_for("stunnel to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_ok()
    });
    let topic = unique("rabbit-tls");
    let worker = worker_file(&f, &broker.bootstrap());
    let tls = |truststore: &str, keystore_password: &str| {
        format!(
            "rabbitmq.host=127.0.0.1
rabbitmq.port={tls_port}
rabbitmq.security.protocol=SSL
rabbitmq.https.ssl.truststore.location={}
rabbitmq.https.ssl.truststore.password={}
rabbitmq.https.ssl.keystore.location={}
rabbitmq.https.ssl.keystore.type=PKCS12
rabbitmq.https.ssl.keystore.password={keystore_password}
rabbitmq.connection.timeout.ms=3000
",
            pki.path(truststore).display(),
            crate::security::TRUSTSTORE_PASSWORD,
            pki.path("client.p12").display(),
        )
    };
    let src = f.write(
        "rabbit-tls-source.properties",
        &format!(
            "name=rabbit-tls-source\nconnector.class=io.confluent.connect.rabbitmq.RabbitMQSourceConnector\nkafka.topic={topic}\nrabbitmq.queue={queue_in}\nrabbitmq.prefetch.count=100\n{}",
            tls("kafka.client.truststore.jks", "client-ks-pw")
        ),
    );
    let snk = f.write(
        "rabbit-tls-sink.properties",
        &format!(
            "name=rabbit-tls-sink\nconnector.class=io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector\ntopics={topic}\nrabbitmq.exchange=\nrabbitmq.routing.key={queue_out}\nrabbitmq.delivery.mode=PERSISTENT\n{}",
            tls("kafka.client.truststore.jks", "client-ks-pw")
        ),
    );
    let w = Worker::standalone(&worker, &[&src, &snk], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for("both tasks running", Duration::from_secs(60), || {
        w.task_state("rabbit-tls-source", 0).as_deref() == Some("RUNNING")
            && w.task_state("rabbit-tls-sink", 0).as_deref() == Some("RUNNING")
    });
    let bodies: Vec<String> = (0..N).map(|i| format!("tls-{i:04}")).collect();
    let messages: Vec<_> = bodies
        .iter()
        .map(|b| (b.clone().into_bytes(), BasicProperties::default()))
        .collect();
    rabbit.publish(&queue_in, &messages);
    let got = rabbit.take(&queue_out, N, Duration::from_secs(120));
    let got: std::collections::HashSet<String> = got
        .iter()
        .map(|d| String::from_utf8_lossy(&d.data).into_owned())
        .collect();
    let missing: Vec<_> = bodies
        .iter()
        .filter(|b| !got.contains(*b))
        .take(5)
        .collect();
    assert!(missing.is_empty(), "not back out of RabbitMQ: {missing:?}");
    // Store passwords are PASSWORD keys: hidden by the REST API.
    let (code, config) = w.get("/connectors/rabbit-tls-source/config").unwrap();
    assert_eq!(code, 200);
    for k in [
        "rabbitmq.https.ssl.truststore.password",
        "rabbitmq.https.ssl.keystore.password",
    ] {
        assert_eq!(config[k], "[hidden]", "{k}: {config}");
    }

    // Failures: each connector's task fails with a trace that says what to fix.
    let failed_trace = |name: &str, extra: String| -> String {
        let mut config: serde_json::Map<String, serde_json::Value> = serde_json::Map::new();
        config.insert(
            "connector.class".into(),
            "io.confluent.connect.rabbitmq.RabbitMQSourceConnector".into(),
        );
        config.insert("kafka.topic".into(), "t".into());
        config.insert("rabbitmq.queue".into(), queue_in.clone().into());
        for line in extra.lines() {
            if let Some((k, v)) = line.split_once('=') {
                config.insert(k.into(), v.into());
            }
        }
        let (code, body) = w
            .try_send(
                "POST",
                "/connectors",
                Some(&serde_json::json!({"name": name, "config": config})),
            )
            .unwrap();
        assert_eq!(code, 201, "{body}");
        let mut trace = String::new();
        wait_for(&format!("{name} to fail"), Duration::from_secs(60), || {
            let s = w.status(name);
            trace = s
                .as_ref()
                .and_then(|s| s["tasks"][0]["trace"].as_str())
                .unwrap_or_default()
                .to_string();
            s.is_some_and(|s| s["tasks"][0]["state"] == "FAILED")
        });
        trace
    };
    // A server not trusted: host, port and OpenSSL's reason.
    let trace = failed_trace("wrong-ca", tls("other.truststore.jks", "client-ks-pw"));
    assert!(trace.contains(&format!("127.0.0.1:{tls_port}")), "{trace}");
    assert!(trace.contains("certificate verify failed"), "{trace}");
    assert!(trace.contains("other.truststore.jks"), "{trace}");
    // A wrong keystore password, a keystore that is not there: the key to fix.
    let trace = failed_trace("wrong-ks-pw", tls("kafka.client.truststore.jks", "nope"));
    assert!(
        trace.contains("rabbitmq.https.ssl.keystore.password"),
        "{trace}"
    );
    let trace = failed_trace(
        "missing-ks",
        tls("kafka.client.truststore.jks", "client-ks-pw").replace("client.p12", "missing.p12"),
    );
    assert!(
        trace.contains("rabbitmq.https.ssl.keystore.location") && trace.contains("does not exist"),
        "{trace}"
    );
    let _ = proxy.kill();
    let _ = proxy.wait();
}
