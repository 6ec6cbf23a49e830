//! Production readiness (issue 15): what a bad config, a flood of connections or a secret
//! must never do to a worker, checked against real `sluice` processes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{
    append, consume, free_port, poll_until, unique, wait_for, Broker, Launch, Worker,
};

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

fn worker_text(d: &Dir, bootstrap: &str, extra: &str) -> String {
    format!(
        "bootstrap.servers={bootstrap}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename={}
offset.flush.interval.ms=500
{extra}
",
        d.path("connect.offsets").display()
    )
}

fn nowhere() -> String {
    format!("127.0.0.1:{}", free_port())
}

fn start(d: &Dir, worker: &Path, log: &str, env: &[(&str, &str)]) -> Worker {
    let w = Worker::standalone_env(worker, &[], free_port(), &d.path(log), env);
    w.wait_ready();
    w
}

fn connector_state(w: &Worker, name: &str) -> Option<(String, String)> {
    let s = w.status(name)?;
    Some((
        s["connector"]["state"].as_str()?.to_string(),
        s["connector"]["trace"].as_str().unwrap_or("").to_string(),
    ))
}

/// `tasks.max` in the billions once aborted the worker on the allocation, and because the
/// config was saved first, every restart aborted again.
#[test]
fn an_absurd_tasks_max_fails_only_that_connector_even_after_a_restart() {
    let d = Dir::new();
    let worker = d.write("worker.properties", worker_text(&d, &nowhere(), ""));
    let mut w = start(&d, &worker, "w1.log", &[]);
    let body = json!({"name": "huge", "config": {
        "connector.class": "FileStreamSink", "topics": "t", "tasks.max": "1000000000",
        "file": d.path("sink.txt").display().to_string()}});
    assert_eq!(w.send("POST", "/connectors", Some(body)).status, 201);
    wait_for(
        "the connector to be FAILED",
        Duration::from_secs(30),
        || connector_state(&w, "huge").is_some_and(|(s, _)| s == "FAILED"),
    );
    let (_, trace) = connector_state(&w, "huge").unwrap();
    assert!(
        trace.contains("tasks.max") && trace.contains("1000000000"),
        "{trace}"
    );
    // The worker still serves and runs other connectors.
    let ok = json!({"name": "fine", "config": {
        "connector.class": "FileStreamSink", "topics": "t", "tasks.max": "2",
        "file": d.path("sink2.txt").display().to_string()}});
    assert_eq!(w.send("POST", "/connectors", Some(ok)).status, 201);
    wait_for(
        "the other connector to run",
        Duration::from_secs(30),
        || connector_state(&w, "fine").is_some_and(|(s, _)| s == "RUNNING"),
    );
    assert!(w.terminate().success());

    // The saved config comes back at start: the worker starts, and the way out is open.
    let mut w = start(&d, &worker, "w2.log", &[]);
    wait_for(
        "the restored connector to be FAILED",
        Duration::from_secs(30),
        || connector_state(&w, "huge").is_some_and(|(s, _)| s == "FAILED"),
    );
    assert_eq!(w.send("DELETE", "/connectors/huge", None).status, 204);
    assert!(w.wait_exit(Duration::from_millis(100)).is_none());
}

fn exits_with(d: &Dir, worker: &Path, log: &str) -> String {
    let mut w = Worker::standalone_env(worker, &[], free_port(), &d.path(log), &[]);
    let status = w
        .wait_exit(Duration::from_secs(30))
        .expect("the worker stops at start");
    assert!(!status.success());
    w.log_text()
}

#[test]
fn a_worker_file_with_an_unknown_converter_or_a_bad_bootstrap_stops_the_worker_at_start() {
    let d = Dir::new();
    let text = worker_text(&d, &nowhere(), "").replace(
        "value.converter=org.apache.kafka.connect.storage.StringConverter",
        "value.converter=com.example.NoSuchConverter",
    );
    let worker = d.write("bad-converter.properties", text);
    let log = exits_with(&d, &worker, "converter.log");
    assert!(
        log.contains("Invalid value com.example.NoSuchConverter for configuration value.converter"),
        "{log}"
    );

    let worker = d.write(
        "bad-bootstrap.properties",
        worker_text(&d, "not a host:port,,:::", "producer.linger.ms=soon"),
    );
    let log = exits_with(&d, &worker, "bootstrap.log");
    assert_eq!(
        log.matches("Invalid url in bootstrap.servers: not a host:port")
            .count(),
        1,
        "{log}"
    );
    assert!(
        log.contains("for configuration producer.linger.ms "),
        "{log}"
    );

    let worker = d.write("empty-bootstrap.properties", worker_text(&d, "", ""));
    let log = exits_with(&d, &worker, "empty.log");
    assert_eq!(log.matches("bootstrap.servers").count(), 1, "{log}");
}

#[test]
fn a_latin1_worker_file_runs_as_it_runs_on_kafka() {
    let d = Dir::new();
    let mut bytes = b"# r\xe9sum\xe9 of the worker, written by an ISO-8859-1 editor\n".to_vec();
    bytes.extend(worker_text(&d, &nowhere(), "").as_bytes());
    let worker = d.write("latin1.properties", bytes);
    let w = start(&d, &worker, "w.log", &[]);
    assert_eq!(w.send("GET", "/connectors", None).status, 200);
}

/// A value resolved from a config provider is shown nowhere: not in a 400, a task trace, the
/// log or the standalone connectors file (which keeps the reference and is private).
#[test]
fn resolved_secrets_never_show_in_errors_traces_logs_or_files() {
    let d = Dir::new();
    let secret_dir = d.path("s3cr3t-d1r");
    std::fs::create_dir(&secret_dir).unwrap();
    let secrets = d.write(
        "secrets.properties",
        format!("size=n0t-a-numb3r-s3cr3t\nsink={}\n", secret_dir.display()),
    );
    let worker = d.write(
        "worker.properties",
        worker_text(
            &d,
            &nowhere(),
            "config.providers=file\nconfig.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider",
        ),
    );
    let w = start(&d, &worker, "w.log", &[]);
    let reference = |key: &str| format!("${{file:{}:{key}}}", secrets.display());

    let r = w.send(
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        Some(json!({"connector.class": "FileStreamSource", "topic": "t",
                    "batch.size": reference("size")})),
    );
    assert_eq!(r.status, 200);
    let text = r.json.to_string();
    assert!(!text.contains("n0t-a-numb3r-s3cr3t"), "{text}");

    // A sink whose file is a directory fails with the path in its error: hidden.
    let body = json!({"name": "leaky", "config": {
        "connector.class": "FileStreamSink", "topics": "t", "file": reference("sink")}});
    assert_eq!(w.send("POST", "/connectors", Some(body)).status, 201);
    wait_for("the sink task to fail", Duration::from_secs(30), || {
        w.task_state("leaky", 0).as_deref() == Some("FAILED")
    });
    let status = w.status("leaky").unwrap().to_string();
    assert!(status.contains("[hidden]"), "{status}");
    assert!(!status.contains("s3cr3t-d1r"), "{status}");
    let log = w.log_text();
    assert!(log.contains("[hidden]"), "{log}");
    assert!(
        !log.contains("s3cr3t-d1r") && !log.contains("n0t-a-numb3r"),
        "{log}"
    );

    let file = PathBuf::from(format!(
        "{}.connectors.json",
        d.path("connect.offsets").display()
    ));
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("${file:"), "{saved}");
    assert!(!saved.contains("s3cr3t-d1r"), "{saved}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

fn raw_get(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    s.write_all(b"GET /connectors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Idle sockets cannot take the API away: past the connection limit new clients wait, and
/// the idle ones are closed after the idle timeout, so the waiting client is answered.
#[test]
fn idle_connections_are_closed_and_cannot_starve_the_api() {
    let d = Dir::new();
    let worker = d.write("worker.properties", worker_text(&d, &nowhere(), ""));
    let w = start(
        &d,
        &worker,
        "w.log",
        &[
            ("SLUICE_REST_MAX_CONNECTIONS", "4"),
            ("SLUICE_REST_IDLE_TIMEOUT_MS", "1500"),
            ("SLUICE_REST_HEADER_TIMEOUT_MS", "1500"),
        ],
    );
    // Four silent clients (one sent half a request line) take every slot.
    let mut idle: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(("127.0.0.1", w.rest_port)).unwrap())
        .collect();
    idle[0].write_all(b"GET /conn").unwrap();
    let asked = Instant::now();
    let answer = raw_get(w.rest_port).expect("an answer once the idle clients are closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Served only after the idle sockets were closed, never before a timeout.
    assert!(
        asked.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        asked.elapsed()
    );
    // The idle sockets were closed by the worker.
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            Ok(_) => {}
            Err(e) => panic!("idle socket not closed: {e}"),
        }
    }
}

/// With REST flooded past the worker's open-files limit, offset commits once failed with "Too
/// many open files". The worker serves at most a quarter of its limit, so a file source keeps
/// committing its offsets (and its records reach Kafka) while clients hold every connection
/// the kernel will queue. `IT_REST_FLOOD_MAX_CONNECTIONS=100000` lifts the worker's limit and
/// shows the failure (offsets file writes fail with "Too many open files").
#[test]
fn a_rest_flood_leaves_descriptors_for_offset_commits() {
    let broker = Broker::start();
    let d = Dir::new();
    let topic = unique("rest-flood");
    create_topic(&broker, &topic, 1);
    let worker = d.write(
        "worker.properties",
        worker_text(&d, &broker.bootstrap(), ""),
    );
    let launch = Launch {
        // 256 descriptors: 64 for REST, the rest for Kafka clients and files.
        nofile: Some(256),
        env: std::env::var("IT_REST_FLOOD_MAX_CONNECTIONS")
            .map(|n| vec![("SLUICE_REST_MAX_CONNECTIONS".to_string(), n)])
            .unwrap_or_default(),
        ..Launch::default()
    };
    let w = Worker::spawn(&worker, &[], free_port(), &d.path("w.log"), &launch);
    w.wait_ready();
    let input = d.path("in.txt");
    append(&input, "before-0\nbefore-1\n");
    let body = json!({"name": "flooded", "config": {"connector.class": "FileStreamSource",
        "file": input.display().to_string(), "topic": topic}});
    assert_eq!(w.send("POST", "/connectors", Some(body)).status, 201);
    assert_eq!(
        consume(&broker.bootstrap(), &topic, 2, Duration::from_secs(30)).len(),
        2
    );

    // Silent clients until the kernel's accept queue is full too (5 refusals in a row), at
    // most 1,000: past what the worker may serve (64), which it must not try to.
    let flooded = Instant::now();
    let mut flood: Vec<TcpStream> = Vec::new();
    let mut refused = 0;
    while flood.len() < 1000 && refused < 5 {
        match TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], w.rest_port)),
            Duration::from_millis(300),
        ) {
            Ok(s) => {
                flood.push(s);
                refused = 0;
            }
            Err(_) => refused += 1,
        }
    }
    eprintln!(
        "{} clients connected in {:?}",
        flood.len(),
        flooded.elapsed()
    );
    assert!(flood.len() >= 64, "only {} clients connected", flood.len());
    // Half a request line on each: the worker has nothing to answer yet.
    for s in &mut flood {
        let _ = s.write_all(b"GET /conn");
    }

    let mut lines = String::new();
    for i in 0..50 {
        lines.push_str(&format!("during-{i}\n"));
    }
    append(&input, &lines);
    let end = std::fs::metadata(&input).unwrap().len();
    let committed = format!("\"position\":{end}");
    let offsets = d.path("connect.offsets");
    let polled = Instant::now();
    let seen = poll_until(Duration::from_secs(25), || {
        String::from_utf8_lossy(&std::fs::read(&offsets).unwrap_or_default()).contains(&committed)
    });
    let log = w.log_text();
    assert!(
        seen,
        "offset {committed} not committed during the flood ({} clients); log:\n{log}",
        flood.len()
    );
    eprintln!("offsets committed after {:?}", polled.elapsed());
    assert!(!log.contains("Too many open files"), "{log}");
    let records = consume(&broker.bootstrap(), &topic, 52, Duration::from_secs(30));
    assert_eq!(records.len(), 52);

    // Once the clients are gone, REST answers again.
    drop(flood);
    wait_for(
        "REST to answer after the flood",
        Duration::from_secs(30),
        || {
            w.get("/connectors/flooded/status")
                .is_some_and(|(status, _)| status == 200)
        },
    );
}

/// KIP-158: `topic.creation.enable=false` creates nothing; groups decide partitions.
#[test]
fn topic_creation_follows_kip_158() {
    let broker = Broker::start();
    let d = Dir::new();

    // Off: the task does not create its topic; once the topic exists, lines flow.
    let worker = d.write(
        "off.properties",
        worker_text(&d, &broker.bootstrap(), "topic.creation.enable=false"),
    );
    let w = start(&d, &worker, "off.log", &[]);
    let topic = unique("kip158-off");
    let input = d.path("off.txt");
    append(&input, "one\ntwo\n");
    let body = json!({"name": "off", "config": {"connector.class": "FileStreamSource",
        "file": input.display().to_string(), "topic": topic}});
    assert_eq!(w.send("POST", "/connectors", Some(body)).status, 201);
    wait_for(
        "the task to decline creating its topic",
        Duration::from_secs(30),
        || {
            w.log_text()
                .contains("topic.creation.enable=false: not creating topics")
        },
    );
    assert_eq!(partitions(&broker, &topic), None, "the topic was created");
    create_topic(&broker, &topic, 1);
    assert_eq!(
        consume(&broker.bootstrap(), &topic, 2, Duration::from_secs(60)).len(),
        2
    );
    drop(w);

    // On, with groups: the first matching group, else the default group.
    let worker = d.write("on.properties", worker_text(&d, &broker.bootstrap(), ""));
    let w = start(&d, &worker, "on.log", &[]);
    let wide = unique("kip158-wide");
    let plain = unique("kip158-plain");
    for (name, topic) in [("wide", &wide), ("plain", &plain)] {
        let input = d.path(&format!("{name}.txt"));
        append(&input, "x\n");
        let body = json!({"name": name, "config": {"connector.class": "FileStreamSource",
            "file": input.display().to_string(), "topic": topic,
            "topic.creation.groups": "wide",
            "topic.creation.wide.include": "kip158-wide-.*",
            "topic.creation.wide.partitions": "3",
            "topic.creation.default.partitions": "2",
            "topic.creation.default.replication.factor": "-1"}});
        assert_eq!(w.send("POST", "/connectors", Some(body)).status, 201);
    }
    assert_eq!(
        consume(&broker.bootstrap(), &wide, 1, Duration::from_secs(60)).len(),
        1
    );
    assert_eq!(
        consume(&broker.bootstrap(), &plain, 1, Duration::from_secs(60)).len(),
        1
    );
    assert_eq!(partitions(&broker, &wide), Some(3));
    assert_eq!(partitions(&broker, &plain), Some(2));

    // A default group without its required keys is refused at validation.
    let r = w.send(
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        Some(json!({"connector.class": "FileStreamSource", "topic": "t",
                    "topic.creation.default.partitions": "0"})),
    );
    let text = r.json.to_string();
    assert!(text.contains("Value must be -1 or at least 1"), "{text}");
    assert!(
        text.contains(
            "Missing required configuration \\\"topic.creation.default.replication.factor\\\""
        ),
        "{text}"
    );
}

fn admin(broker: &Broker) -> sluice_kafka::admin::Admin {
    let mut settings = std::collections::BTreeMap::new();
    settings.insert("bootstrap.servers".to_string(), broker.bootstrap());
    sluice_kafka::admin::Admin::new("it-hardening-admin", &settings).unwrap()
}

fn partitions(broker: &Broker, topic: &str) -> Option<usize> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { admin(broker).partition_count(topic).await.unwrap() })
}

fn create_topic(broker: &Broker, topic: &str, partitions: i32) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        admin(broker)
            .create_topic(topic, partitions, 1, &[])
            .await
            .unwrap()
    });
}
