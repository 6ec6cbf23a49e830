//! Issue 19: `GET /metrics` read by a real Prometheus parser (the Python `prometheus_client`
//! text parser: `pip install prometheus_client`), with every series the Strimzi and the
//! Confluent/Grafana Kafka Connect dashboards query, once a FileStreamSource and a
//! FileStreamSink have moved lines through a real worker.
//!
//! Not asserted, as documented in docs/metrics.md: the JVM series (`jvm_*`), which Sluice does
//! not have, and `kafka_admin_client_*` (rdkafka's admin client cannot deliver librdkafka's
//! statistics: docs/metrics.md). The rebalance, coordinator and group member network series exist in
//! distributed mode only: the distributed test checks them (their Confluent names are covered
//! by the golden tests in `metrics::prometheus`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::harness::{free_port, unique, wait_for, Broker, Worker};

/// Lines the source moves.
const LINES: usize = 200;

#[derive(Clone, Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

const PARSER: &str = r#"
import json, sys
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.stderr.write("the metrics tests need the Python package prometheus_client: pip install prometheus_client\n")
    sys.exit(3)
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.append({"name": s.name, "labels": s.labels, "value": repr(float(s.value))})
print(json.dumps(out))
"#;

/// Parses a scrape with `prometheus_client`; fails loudly when Python or the package is
/// missing, or when the text is not valid Prometheus text.
fn parse(text: &str) -> Vec<Sample> {
    let mut child = Command::new("python3")
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (the metrics tests need Python 3 with prometheus_client)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write the scrape to python");
    let out = child.wait_with_output().expect("python3 ends");
    assert!(
        out.status.success(),
        "prometheus_client could not parse the scrape: {}\n---- scrape ----\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("parser JSON");
    rows.into_iter()
        .map(|r| Sample {
            name: r["name"].as_str().unwrap_or_default().to_string(),
            labels: r["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
            value: r["value"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .expect("a number"),
        })
        .collect()
}

fn scrape(w: &Worker) -> Option<(String, String)> {
    let creds = w
        .credentials
        .as_ref()
        .map(|(u, p)| (u.as_str(), p.as_str()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let mut req = w
            .client()
            .get(w.url("/metrics"))
            .timeout(Duration::from_secs(10));
        if let Some((u, p)) = creds {
            req = req.basic_auth(u, Some(p));
        }
        let r = req.send().await.ok()?;
        if r.status().as_u16() != 200 {
            return None;
        }
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        Some((ct, r.text().await.ok()?))
    })
}

/// The value of the one sample `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

fn missing<'a>(samples: &[Sample], names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|n| !samples.iter().any(|s| s.name == *n))
        .collect()
}

struct Setup {
    _dir: tempfile::TempDir,
    _broker: Broker,
    worker: Worker,
    sink: std::path::PathBuf,
}

/// A standalone worker with `naming` (None: the default) and the worker lines `extra` running `src` (a file of [`LINES`]
/// lines into a topic), `snk` (the topic into a file) and `bad` (the same topic through the
/// JSON converter, which fails on every line: tolerated with `errors.tolerance=all`).
fn standalone(naming: Option<&str>, extra: &str) -> Setup {
    let broker = Broker::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n);
    let topic = unique("metrics");
    let input = p("input.txt");
    std::fs::write(
        &input,
        (0..LINES)
            .map(|i| format!("line {i}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let naming = naming.map_or(String::new(), |n| {
        format!("metrics.prometheus.naming={n}\n")
    });
    std::fs::write(
        p("worker.properties"),
        format!(
            "bootstrap.servers={}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename={}
offset.flush.interval.ms=500
{naming}{extra}",
            broker.bootstrap(),
            p("connect.offsets").display()
        ),
    )
    .unwrap();
    std::fs::write(
        p("src.properties"),
        format!(
            "name=src\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic={topic}\ntopic.creation.default.replication.factor=1\ntopic.creation.default.partitions=1\n",
            input.display()
        ),
    )
    .unwrap();
    let sink = p("sink.txt");
    std::fs::write(
        p("snk.properties"),
        format!(
            "name=snk\nconnector.class=FileStreamSink\ntasks.max=1\nfile={}\ntopics={topic}\n",
            sink.display()
        ),
    )
    .unwrap();
    std::fs::write(
        p("bad.properties"),
        format!(
            "name=bad\nconnector.class=FileStreamSink\ntasks.max=1\nfile={}\ntopics={topic}\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\nerrors.tolerance=all\n",
            p("bad.txt").display()
        ),
    )
    .unwrap();
    let worker = Worker::standalone(
        &p("worker.properties"),
        &[
            &p("src.properties"),
            &p("snk.properties"),
            &p("bad.properties"),
        ],
        free_port(),
        &p("worker.log"),
    );
    worker.wait_ready();
    wait_for(
        "the sink to write every line",
        Duration::from_secs(90),
        || std::fs::read_to_string(&sink).is_ok_and(|t| t.lines().count() >= LINES),
    );
    Setup {
        _dir: dir,
        _broker: broker,
        worker,
        sink,
    }
}

/// Scrapes until `done` holds for the parsed samples; returns them.
fn scrape_until(w: &Worker, what: &str, done: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    let mut last = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Some((ct, text)) = scrape(w) {
            assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
            last = parse(&text);
            if done(&last) {
                return last;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("timed out waiting for {what}; last scrape: {last:#?}");
}

const N: f64 = LINES as f64;

fn assert_process_series(s: &[Sample]) {
    assert!(value(s, "process_resident_memory_bytes", &[]).is_some_and(|v| v > 1e6));
    assert!(value(s, "process_open_fds", &[]).is_some_and(|v| v > 3.0));
    assert!(value(s, "process_threads", &[]).is_some_and(|v| v > 1.0));
    assert!(value(s, "process_cpu_seconds_total", &[]).is_some_and(|v| v > 0.0));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let start = value(s, "process_start_time_seconds", &[]).expect("process_start_time_seconds");
    assert!(
        start <= now + 1.0 && start > now - 3600.0,
        "start {start}, now {now}"
    );
}

/// A series named `name` whose `clientid` starts with `client_prefix`, if any.
fn client_value(samples: &[Sample], name: &str, client_prefix: &str) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels
                    .get("clientid")
                    .is_some_and(|c| c.starts_with(client_prefix))
        })
        .map(|s| s.value)
}

/// The Kafka clients' network series the Strimzi dashboard's client panels query: from
/// librdkafka's statistics (reported every 10 s), the source tasks' producer (shared by the
/// worker's sources: `connector-producer-shared-<n>`) sent the lines, the sink task's consumer
/// (`connector-consumer-<connector>-<task>`) fetched them; counted by Sluice's own admin
/// client, the source task's (`connector-adminclient-src-0`, kept for the task's life as
/// Kafka keeps it) created the topic (`topic.creation.default.*`) and keeps its connection.
/// `consumers`: the worker has `metrics.consumer.network.enabled=true`; without it the
/// consumers have no series.
fn assert_client_series(w: &Worker, consumers: bool) {
    let (p, c) = ("connector-producer-", "connector-consumer-");
    let a = "connector-adminclient-src-0";
    let clients = scrape_until(w, "the clients' network series", |x| {
        client_value(x, "kafka_producer_outgoing_byte_total", p).is_some_and(|b| b > 0.0)
            && (!consumers
                || client_value(x, "kafka_consumer_incoming_byte_total", c)
                    .is_some_and(|b| b > 0.0))
            && client_value(x, "kafka_producer_connection_count", p).is_some_and(|n| n >= 1.0)
            && (!consumers
                || client_value(x, "kafka_consumer_connection_count", c).is_some_and(|n| n >= 1.0))
            && client_value(x, "kafka_admin_client_connection_count", a).is_some_and(|n| n >= 1.0)
    });
    if !consumers {
        assert_no_consumer_statistics(w);
    }
    let admin = |name: &str| client_value(&clients, name, a);
    // Metadata and CreateTopics at least (ApiVersions first on each connection).
    assert!(
        admin("kafka_admin_client_request_total").is_some_and(|n| n >= 3.0),
        "{:?}",
        admin("kafka_admin_client_request_total")
    );
    assert_eq!(
        admin("kafka_admin_client_request_total"),
        admin("kafka_admin_client_response_total")
    );
    assert!(admin("kafka_admin_client_outgoing_byte_total").is_some_and(|b| b > 0.0));
    assert!(admin("kafka_admin_client_incoming_byte_total").is_some_and(|b| b > 0.0));
    assert!(admin("kafka_admin_client_connection_creation_total").is_some_and(|n| n >= 1.0));
    let expected: &[&str] = if consumers {
        &[
            "kafka_producer_request_total",
            "kafka_producer_incoming_byte_total",
            "kafka_consumer_response_total",
            "kafka_consumer_outgoing_byte_total",
            "kafka_admin_client_connection_close_total",
        ]
    } else {
        &[
            "kafka_producer_request_total",
            "kafka_producer_incoming_byte_total",
            "kafka_admin_client_connection_close_total",
        ]
    };
    for &name in expected {
        assert!(
            clients.iter().any(|s| s.name == name),
            "{name} missing from the scrape"
        );
    }
}

/// The names the Strimzi Kafka Connect dashboard queries, except the JVM, client and
/// distributed-only ones.
const STRIMZI_DASHBOARD: &[&str] = &[
    "kafka_connect_worker_connector_count",
    "kafka_connect_worker_task_count",
    "kafka_connect_worker_connector_running_task_count",
    "kafka_connect_worker_connector_paused_task_count",
    "kafka_connect_worker_connector_failed_task_count",
    "kafka_connect_worker_connector_unassigned_task_count",
    "kafka_connect_worker_connector_destroyed_task_count",
    "kafka_connect_connector_status",
    "kafka_connect_connector_connector_class",
    "kafka_connect_connector_connector_version",
    "kafka_connect_connector_connector_type",
    "kafka_connect_task_error_total_record_failures",
    "kafka_connect_connector_task_status",
];

#[test]
fn strimzi_names_by_default() {
    // Default settings: the consumers' network series are off (the distributed test below
    // turns them on).
    let s = standalone(None, "");
    let w = &s.worker;
    let snk = [("connector", "snk"), ("task", "0")];
    let src = [("connector", "src"), ("task", "0")];
    let bad = [("connector", "bad"), ("task", "0")];
    let samples = scrape_until(w, "every line counted and the lag measured", |x| {
        value(
            x,
            "kafka_connect_source_task_source_record_write_total",
            &src,
        ) == Some(N)
            && value(x, "kafka_connect_sink_task_sink_record_send_total", &snk) == Some(N)
            && value(x, "kafka_connect_task_error_total_records_skipped", &bad) == Some(N)
            && value(
                x,
                "kafka_connect_sink_task_offset_commit_completion_total",
                &snk,
            )
            .is_some_and(|v| v >= 1.0)
            && value(x, "sluice_sink_task_consumer_lag", &snk) == Some(0.0)
    });
    assert_eq!(missing(&samples, STRIMZI_DASHBOARD), Vec::<&str>::new());
    assert_client_series(w, false);
    let v = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);
    assert_eq!(v("kafka_connect_worker_connector_count", &[]), Some(3.0));
    assert_eq!(v("kafka_connect_worker_task_count", &[]), Some(3.0));
    assert_eq!(
        v(
            "kafka_connect_worker_connector_running_task_count",
            &[("connector", "src")]
        ),
        Some(1.0)
    );
    for c in ["src", "snk", "bad"] {
        assert_eq!(
            v(
                "kafka_connect_connector_status",
                &[("connector", c), ("status", "running")]
            ),
            Some(1.0),
            "{c}"
        );
        assert_eq!(
            v(
                "kafka_connect_connector_task_status",
                &[("connector", c), ("task", "0"), ("status", "running")]
            ),
            Some(1.0),
            "{c}"
        );
    }
    assert_eq!(
        v(
            "kafka_connect_connector_connector_class",
            &[
                ("connector", "src"),
                (
                    "connector_class",
                    "org.apache.kafka.connect.file.FileStreamSourceConnector"
                )
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "kafka_connect_connector_connector_type",
            &[("connector", "snk"), ("connector_type", "sink")]
        ),
        Some(1.0)
    );
    // Record counts equal the lines moved; the bad sink read them all and sent none.
    assert_eq!(
        v("kafka_connect_source_task_source_record_poll_total", &src),
        Some(N)
    );
    assert_eq!(
        v("kafka_connect_source_task_source_record_active_count", &src),
        Some(0.0)
    );
    assert_eq!(
        v("kafka_connect_sink_task_sink_record_read_total", &snk),
        Some(N)
    );
    assert_eq!(
        v("kafka_connect_sink_task_sink_record_read_total", &bad),
        Some(N)
    );
    assert_eq!(
        v("kafka_connect_sink_task_sink_record_send_total", &bad),
        Some(0.0)
    );
    assert_eq!(
        v("kafka_connect_sink_task_partition_count", &snk),
        Some(1.0)
    );
    assert_eq!(
        v("kafka_connect_task_error_total_record_failures", &snk),
        Some(0.0)
    );
    assert_eq!(
        v("kafka_connect_task_error_total_record_errors", &bad),
        Some(N)
    );
    assert!(v("kafka_connect_task_error_last_error_timestamp", &bad).is_some_and(|t| t > 1.6e12));
    assert_eq!(v("sluice_task_tolerated_records_total", &bad), Some(N));
    // Rates over the window are positive after a burst; ratios are fractions.
    assert!(v("kafka_connect_source_task_source_record_poll_rate", &src).is_some_and(|r| r > 0.0));
    assert!(
        v("kafka_connect_connector_task_running_ratio", &src).is_some_and(|r| r > 0.5 && r <= 1.0)
    );
    assert_eq!(
        v("kafka_connect_connector_task_pause_ratio", &src),
        Some(0.0)
    );
    assert!(v("kafka_connect_connector_task_batch_size_max", &snk)
        .is_some_and(|b| (1.0..=N).contains(&b)));
    // Strimzi's rules drop the fraction-valued percentages of tasks.
    assert!(
        missing(
            &samples,
            &["kafka_connect_connector_task_offset_commit_success_percentage"]
        )
        .len()
            == 1
    );
    assert_eq!(
        v("kafka_connect_worker_connector_startup_success_total", &[]),
        Some(3.0)
    );
    assert_eq!(
        v("kafka_connect_worker_task_startup_success_total", &[]),
        Some(3.0)
    );
    assert_process_series(&samples);
    assert!(std::fs::read_to_string(&s.sink)
        .unwrap()
        .contains("line 0\n"));
}

/// The names the Confluent "Kafka Connect cluster" dashboard and Grafana's kafka-mixin
/// "Kafka Connect Overview" query (jmx_exporter 0.x names), except the network and
/// distributed-only ones.
const CONFLUENT_DASHBOARD: &[&str] = &[
    "kafka_connect_connect_worker_metrics_connector_count",
    "kafka_connect_connect_worker_metrics_task_count",
    "kafka_connect_connect_worker_metrics_connector_startup_success_total",
    "kafka_connect_connect_worker_metrics_connector_startup_failure_total",
    "kafka_connect_connect_worker_metrics_task_startup_success_total",
    "kafka_connect_connect_worker_metrics_task_startup_failure_total",
    "kafka_connect_connect_worker_metrics_connector_total_task_count",
    "kafka_connect_connect_worker_metrics_connector_running_task_count",
    "kafka_connect_connect_worker_metrics_connector_paused_task_count",
    "kafka_connect_connect_worker_metrics_connector_failed_task_count",
    "kafka_connect_connect_worker_metrics_connector_unassigned_task_count",
    "kafka_connect_connect_worker_metrics_connector_destroyed_task_count",
    "kafka_connect_connect_worker_metrics_connector_restarting_task_count",
    "kafka_connect_connector_metrics",
    "kafka_connect_connector_task_metrics_batch_size_avg",
    "kafka_connect_connector_task_metrics_batch_size_max",
    "kafka_connect_connector_task_metrics_offset_commit_avg_time_ms",
    "kafka_connect_connector_task_metrics_offset_commit_success_percentage",
    "kafka_connect_connector_task_metrics_running_ratio",
    "kafka_connect_connector_task_metrics_pause_ratio",
    "kafka_connect_source_task_metrics_source_record_poll_rate",
    "kafka_connect_source_task_metrics_source_record_write_rate",
    "kafka_connect_source_task_metrics_poll_batch_avg_time_ms",
    "kafka_connect_source_task_metrics_poll_batch_max_time_ms",
    "kafka_connect_source_task_metrics_source_record_active_count_avg",
    "kafka_connect_source_task_metrics_source_record_active_count_max",
    "kafka_connect_sink_task_metrics_sink_record_read_rate",
    "kafka_connect_sink_task_metrics_sink_record_send_rate",
    "kafka_connect_sink_task_metrics_put_batch_avg_time_ms",
    "kafka_connect_sink_task_metrics_put_batch_max_time_ms",
    "kafka_connect_sink_task_metrics_partition_count",
    "kafka_connect_sink_task_metrics_offset_commit_completion_rate",
    "kafka_connect_sink_task_metrics_offset_commit_skip_rate",
    "kafka_connect_sink_task_metrics_sink_record_active_count_avg",
    "kafka_connect_sink_task_metrics_sink_record_active_count_max",
    "kafka_connect_task_error_metrics_total_record_errors",
    "kafka_connect_task_error_metrics_total_record_failures",
    "kafka_connect_task_error_metrics_total_records_skipped",
    "kafka_connect_task_error_metrics_total_retries",
    "kafka_connect_task_error_metrics_total_errors_logged",
    "kafka_connect_task_error_metrics_deadletterqueue_produce_requests",
    "kafka_connect_task_error_metrics_deadletterqueue_produce_failures",
    "kafka_connect_app_info",
];

#[test]
fn confluent_names_by_setting() {
    let s = standalone(Some("confluent"), "");
    let w = &s.worker;
    let snk = [("connector", "snk"), ("task", "0")];
    let src = [("connector", "src"), ("task", "0")];
    let samples = scrape_until(w, "every line counted", |x| {
        value(
            x,
            "kafka_connect_source_task_metrics_source_record_write_total",
            &src,
        ) == Some(N)
            && value(
                x,
                "kafka_connect_sink_task_metrics_sink_record_send_total",
                &snk,
            ) == Some(N)
            && value(
                x,
                "kafka_connect_connector_task_metrics_offset_commit_success_percentage",
                &snk,
            ) == Some(1.0)
    });
    assert_eq!(missing(&samples, CONFLUENT_DASHBOARD), Vec::<&str>::new());
    let v = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);
    assert_eq!(
        v(
            "kafka_connect_connect_worker_metrics_connector_count",
            &[("connector", "aggregate")]
        ),
        Some(3.0)
    );
    for (label, val) in [
        ("status", "running"),
        ("connector_type", "source"),
        (
            "connector_class",
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
        ),
    ] {
        assert_eq!(
            v(
                "kafka_connect_connector_metrics",
                &[("connector", "src"), (label, val)]
            ),
            Some(1.0),
            "{label}={val}"
        );
    }
    assert_eq!(
        v("kafka_connect_app_info", &[("version", "3.9.0")]),
        Some(1.0)
    );
    assert_eq!(
        v(
            "kafka_connect_sink_task_metrics_sink_record_read_total",
            &snk
        ),
        Some(N)
    );
    // No task status in Confluent's rules, and none of Strimzi's names.
    assert!(samples
        .iter()
        .all(|s| !s.name.starts_with("kafka_connect_worker_")));
    // Confluent's rules blacklist `kafka.admin.client:*`: the source task's admin client
    // (it created the topic) has no series in this family.
    assert!(samples
        .iter()
        .all(|s| !s.name.starts_with("kafka_admin_client")));
    assert_process_series(&samples);
}

/// Without `metrics.consumer.network.enabled=true`, the sink consumers collect no librdkafka
/// statistics: once the producer's first statistics are in (reported 10 s after it started,
/// when the consumers were created too), a further 12 s of scrapes show no consumer series.
fn assert_no_consumer_statistics(w: &Worker) {
    scrape_until(w, "the producer's network series", |x| {
        client_value(
            x,
            "kafka_producer_outgoing_byte_total",
            "connector-producer-",
        )
        .is_some_and(|b| b > 0.0)
    });
    let until = std::time::Instant::now() + Duration::from_secs(12);
    while std::time::Instant::now() < until {
        if let Some((_, text)) = scrape(w) {
            let consumer: Vec<String> = parse(&text)
                .into_iter()
                .filter(|s| s.name.starts_with("kafka_consumer_"))
                .map(|s| s.name)
                .collect();
            assert!(consumer.is_empty(), "consumer series: {consumer:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn distributed_rebalance_and_coordinator_series() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n);
    let group = unique("metrics-group");
    let topic = unique("metrics-d");
    std::fs::write(
        p("worker.properties"),
        format!(
            "bootstrap.servers={}
group.id={group}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.topic={group}-offsets
offset.storage.replication.factor=1
config.storage.topic={group}-configs
config.storage.replication.factor=1
status.storage.topic={group}-status
status.storage.replication.factor=1
offset.flush.interval.ms=500
heartbeat.interval.ms=1000
metrics.consumer.network.enabled=true
",
            broker.bootstrap()
        ),
    )
    .unwrap();
    let input = p("input.txt");
    std::fs::write(
        &input,
        (0..LINES)
            .map(|i| format!("line {i}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let sink = p("sink.txt");
    let w = Worker::distributed(&p("worker.properties"), free_port(), &p("worker.log"));
    w.wait_ready();
    create(
        &w,
        &json!({"name": "src", "config": {"connector.class": "FileStreamSource", "tasks.max": "1", "file": input.display().to_string(), "topic": topic,
            "topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "1"}}),
    );
    create(
        &w,
        &json!({"name": "snk", "config": {"connector.class": "FileStreamSink", "tasks.max": "1", "file": sink.display().to_string(), "topics": topic}}),
    );
    wait_for(
        "the sink to write every line",
        Duration::from_secs(120),
        || std::fs::read_to_string(&sink).is_ok_and(|t| t.lines().count() >= LINES),
    );
    let client = format!("connect-{}", w.worker_id());
    let cid = [("clientid", client.as_str())];
    let samples = scrape_until(&w, "the assignment of both connectors and tasks", |x| {
        value(x, "kafka_connect_coordinator_assigned_connectors", &cid) == Some(2.0)
            && value(x, "kafka_connect_coordinator_assigned_tasks", &cid) == Some(2.0)
            && value(x, "kafka_connect_worker_rebalance_rebalancing", &[]) == Some(0.0)
            // Statuses settle through the status topic after the assignment.
            && value(x, "kafka_connect_worker_connector_count", &[]) == Some(2.0)
            && value(x, "kafka_connect_worker_task_count", &[]) == Some(2.0)
            && value(
                x,
                "kafka_connect_sink_task_sink_record_send_total",
                &[("connector", "snk")],
            ) == Some(N)
    });
    let v = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);
    assert!(v(
        "kafka_connect_worker_rebalance_completed_rebalances_total",
        &[]
    )
    .is_some_and(|n| n >= 1.0));
    assert!(v("kafka_connect_worker_rebalance_epoch", &[]).is_some_and(|n| n >= 1.0));
    assert!(v(
        "kafka_connect_worker_rebalance_time_since_last_rebalance_ms",
        &[]
    )
    .is_some_and(f64::is_finite));
    assert_eq!(
        v(
            "kafka_connect_worker_rebalance_connect_protocol",
            &[("connect_protocol", "SESSIONED")]
        ),
        Some(1.0)
    );
    let leader = samples
        .iter()
        .find(|s| s.name == "kafka_connect_worker_rebalance_leader_name")
        .and_then(|s| s.labels.get("leader_name").cloned())
        .expect("leader_name");
    assert!(leader.contains(&w.rest_port.to_string()), "{leader}");
    assert_eq!(v("kafka_connect_worker_connector_count", &[]), Some(2.0));
    assert_eq!(v("kafka_connect_worker_task_count", &[]), Some(2.0));
    assert_eq!(
        v(
            "kafka_connect_version",
            &[("clientid", client.as_str()), ("version", "3.9.0")]
        ),
        Some(1.0)
    );
    assert!(v("kafka_connect_start_time_seconds", &cid).is_some_and(|t| t > 1.6e9));
    // The group member's network series (Kafka's connect-metrics, family S names).
    assert!(v("kafka_connect_connection_count", &cid).is_some_and(|n| n >= 1.0));
    assert!(v("kafka_connect_outgoing_byte_total", &cid).is_some_and(|n| n > 0.0));
    assert!(v("kafka_connect_incoming_byte_total", &cid).is_some_and(|n| n > 0.0));
    assert!(v("kafka_connect_request_total", &cid).is_some_and(|n| n > 0.0));
    assert!(v("kafka_connect_response_total", &cid).is_some_and(|n| n > 0.0));
    assert!(v("kafka_connect_io_ratio", &cid).is_some_and(|r| (0.0..=1.0).contains(&r)));
    // Strimzi runs Kafka Connect in distributed mode: there every series its dashboard
    // queries is present, the Kafka clients' included.
    assert_eq!(missing(&samples, STRIMZI_DASHBOARD), Vec::<&str>::new());
    assert_client_series(&w, true);
    // The leader timed its rebalances.
    assert!(
        v("kafka_connect_worker_rebalance_rebalance_max_time_ms", &[]).is_some_and(f64::is_finite)
    );

    // A second worker joins: a follower, it times its own rebalance as Kafka's members do
    // (from its JoinGroup to its assignment) and reports its own assignment.
    let w2 = Worker::distributed(&p("worker.properties"), free_port(), &p("worker2.log"));
    w2.wait_ready();
    let client2 = format!("connect-{}", w2.worker_id());
    let cid2 = [("clientid", client2.as_str())];
    let follower = scrape_until(&w2, "the follower's completed rebalance", |x| {
        value(
            x,
            "kafka_connect_worker_rebalance_completed_rebalances_total",
            &[],
        )
        .is_some_and(|n| n >= 1.0)
            && value(x, "kafka_connect_worker_rebalance_rebalancing", &[]) == Some(0.0)
            && value(x, "kafka_connect_coordinator_assigned_tasks", &cid2).is_some()
    });
    let f = |name: &str| value(&follower, name, &[]);
    assert!(
        f("kafka_connect_worker_rebalance_rebalance_max_time_ms")
            .is_some_and(|t| t.is_finite() && t >= 0.0),
        "{:?}",
        f("kafka_connect_worker_rebalance_rebalance_max_time_ms")
    );
    assert!(f("kafka_connect_worker_rebalance_rebalance_avg_time_ms").is_some_and(f64::is_finite));
    assert!(value(&follower, "kafka_connect_connection_count", &cid2).is_some_and(|n| n >= 1.0));
}

/// Creates a connector, retrying while the fresh cluster has no leader yet (409).
fn create(w: &Worker, body: &serde_json::Value) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match w.try_send("POST", "/connectors", Some(body)) {
            Some((201, _)) => return,
            Some((409, _)) | None if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(300))
            }
            other => panic!("creating {}: {other:?}", body["name"]),
        }
    }
}
