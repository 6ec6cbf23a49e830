//! Issue 5 end to end: transforms with predicates through a worker, `errors.*` tolerance, the
//! dead letter queue (sinks as Kafka, sources as Sluice adds), and config errors at create time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{
    self, consume, free_port, produce_records, wait_for, Broker, Consumed, Rec, Worker,
};

const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";

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

/// Schemaless JSON values, string keys.
fn worker_props(bootstrap: &str, f: &Files) -> String {
    format!(
        "bootstrap.servers={bootstrap}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter={JSON}
value.converter.schemas.enable=false
offset.storage.file.filename={}
offset.flush.interval.ms=500
",
        f.path("connect.offsets").display()
    )
}

/// A standalone worker (String keys and values, offsets in `connect.offsets`) running
/// FileStreamSource `name` from `input` into `topic` with the connector properties `extra`,
/// ready.
fn string_source_worker(
    broker: &Broker,
    f: &Files,
    name: &str,
    input: &Path,
    topic: &str,
    extra: &str,
) -> Worker {
    let worker = f.write(
        "worker.properties",
        &format!(
            "bootstrap.servers={}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename={}
offset.flush.interval.ms=500
",
            broker.bootstrap(),
            f.path("connect.offsets").display()
        ),
    );
    let source = f.write(
        "source.properties",
        &format!(
            "name={name}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n{extra}",
            input.display()
        ),
    );
    let w = Worker::standalone(&worker, &[&source], free_port(), &f.path("worker.log"));
    w.wait_ready();
    w
}

fn lines_of(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn header<'a>(r: &'a Consumed, key: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.as_deref())
        .and_then(|v| std::str::from_utf8(v).ok())
}

fn tolerated(w: &Worker, connector: &str) -> Option<u64> {
    let (code, body) = w.get(&format!("/sluice/connectors/{connector}/errors"))?;
    (code == 200)
        .then(|| body["tasks"][0]["records_tolerated"].as_u64())
        .flatten()
}

/// 1,010 records, 10 of them malformed JSON; every record has a key and a header.
fn mixed_records() -> (Vec<Rec>, Vec<usize>) {
    let mut recs = Vec::new();
    let mut bad = Vec::new();
    for i in 0..1010usize {
        let value = if i % 101 == 50 {
            bad.push(i);
            format!("{{\"n\":{i}, oops").into_bytes()
        } else {
            format!("{{\"n\":{i}}}").into_bytes()
        };
        recs.push(Rec {
            key: Some(format!("k{i}").into_bytes()),
            value: Some(value),
            timestamp: Some(1_700_000_000_000 + i as i64),
            headers: vec![("trace-id".into(), Some(format!("t{i}").into_bytes()))],
        });
    }
    (recs, bad)
}

fn expected_good_lines(bad: &[usize], upto: usize) -> Vec<String> {
    (0..upto)
        .filter(|i| !bad.contains(i))
        .map(|i| format!("{{n={i}}}"))
        .collect()
}

#[test]
fn sink_tolerates_malformed_records_into_the_dlq_byte_for_byte() {
    let broker = Broker::start();
    let topic = harness::unique("mixed");
    let dlq = harness::unique("mixed-dlq");
    let (recs, bad) = mixed_records();
    assert_eq!(bad.len(), 10);
    produce_records(&broker.bootstrap(), &topic, &recs);

    let f = Files::new();
    let out = f.path("sink.txt");
    let worker = f.write("worker.properties", &worker_props(&broker.bootstrap(), &f));
    let sink = f.write(
        "sink.properties",
        &format!(
            "name=tolerant
connector.class=FileStreamSink
file={}
topics={topic}
errors.tolerance=all
errors.log.enable=true
errors.log.include.messages=true
errors.deadletterqueue.topic.name={dlq}
errors.deadletterqueue.context.headers.enable=true
",
            out.display()
        ),
    );
    let w = Worker::standalone(&worker, &[&sink], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for(
        "1,000 good records in the sink",
        Duration::from_secs(90),
        || lines_of(&out).len() >= 1000,
    );
    assert_eq!(lines_of(&out), expected_good_lines(&bad, 1010));

    let dead = consume(&broker.bootstrap(), &dlq, 10, Duration::from_secs(60));
    assert_eq!(dead.len(), 10, "the 10 malformed records are on the DLQ");
    for (r, &i) in dead.iter().zip(&bad) {
        // The consumed record byte for byte, original header first.
        assert_eq!(r.key, recs[i].key);
        assert_eq!(r.value, recs[i].value);
        assert_eq!(r.headers[0], recs[i].headers[0]);
        let offset = i.to_string();
        for (k, v) in [
            ("__connect.errors.topic", topic.as_str()),
            ("__connect.errors.partition", "0"),
            ("__connect.errors.offset", offset.as_str()),
            ("__connect.errors.connector.name", "tolerant"),
            ("__connect.errors.task.id", "0"),
            ("__connect.errors.stage", "VALUE_CONVERTER"),
            ("__connect.errors.class.name", JSON),
            (
                "__connect.errors.exception.class.name",
                "org.apache.kafka.connect.errors.DataException",
            ),
        ] {
            assert_eq!(
                header(r, k),
                Some(v),
                "header {k} of the record at offset {i}"
            );
        }
        assert!(!header(r, "__connect.errors.exception.message")
            .unwrap_or_default()
            .is_empty());
        assert!(header(r, "__connect.errors.exception.stacktrace")
            .unwrap_or_default()
            .starts_with("org.apache.kafka.connect.errors.DataException: "));
    }

    assert_eq!(w.task_state("tolerant", 0).as_deref(), Some("RUNNING"));
    wait_for(
        "the tolerated count over REST",
        Duration::from_secs(10),
        || tolerated(&w, "tolerant") == Some(10),
    );
    let log = w.log_text();
    let expected = format!(
        "Error encountered in task tolerant-0. Executing stage 'VALUE_CONVERTER' with class '{JSON}', where consumed record is {{topic='{topic}', partition=0, offset=50, timestamp=1700000000050, timestampType=CreateTime}}."
    );
    assert!(log.contains(&expected), "log lacks {expected:?}");
    assert!(
        log.contains("this task has tolerated 8 record(s) so far"),
        "running count logged"
    );
}

#[test]
fn sink_tolerance_none_fails_at_the_first_bad_record_and_commits_nothing_past_it() {
    let broker = Broker::start();
    let topic = harness::unique("strict");
    let dlq = harness::unique("strict-dlq");
    let mut recs: Vec<Rec> = (0..1000)
        .map(|i| Rec {
            value: Some(format!("{{\"n\":{i}}}").into_bytes()),
            timestamp: Some(1_700_000_000_000),
            ..Rec::default()
        })
        .collect();
    recs.insert(
        500,
        Rec {
            value: Some(b"not json at all".to_vec()),
            timestamp: Some(1_700_000_000_000),
            ..Rec::default()
        },
    );
    // Two produce calls, so offset 500 starts a record batch: the test broker (tansu) returns
    // nothing for a fetch from the middle of a batch, where Kafka returns the whole batch.
    produce_records(&broker.bootstrap(), &topic, &recs[..500]);
    produce_records(&broker.bootstrap(), &topic, &recs[500..]);

    let f = Files::new();
    let out = f.path("sink.txt");
    let worker = f.write("worker.properties", &worker_props(&broker.bootstrap(), &f));
    let sink_props = |extra: &str| {
        format!(
            "name=strict\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n{extra}",
            out.display()
        )
    };
    let sink = f.write("sink.properties", &sink_props("errors.tolerance=none\n"));
    let mut w = Worker::standalone(&worker, &[&sink], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for("the sink task to fail", Duration::from_secs(90), || {
        w.task_state("strict", 0).as_deref() == Some("FAILED")
    });
    let status = w.status("strict").unwrap();
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.starts_with("org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler. Executing stage 'VALUE_CONVERTER'"),
        "{trace}"
    );
    assert!(
        trace.contains(&format!(
            "where consumed record is {{topic='{topic}', partition=0, offset=500, "
        )),
        "the trace names topic, partition and offset: {trace}"
    );
    assert!(
        trace.contains("Caused by: org.apache.kafka.connect.errors.DataException"),
        "{trace}"
    );
    assert_eq!(lines_of(&out), expected_good_lines(&[], 500));
    assert!(w.terminate().success());

    // Same connector (same consumer group), now tolerant: it resumes at the committed offset,
    // so the bad record is seen again (and dead-lettered) only if no commit passed it.
    let sink = f.write(
        "sink.properties",
        &sink_props(&format!(
            "errors.tolerance=all\nerrors.deadletterqueue.topic.name={dlq}\nerrors.deadletterqueue.context.headers.enable=true\n"
        )),
    );
    let w = Worker::standalone(&worker, &[&sink], free_port(), &f.path("worker2.log"));
    w.wait_ready();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while lines_of(&out).len() < 1000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the rest of the records did not arrive; lines={}\n{}",
            lines_of(&out).len(),
            w.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let dead = consume(&broker.bootstrap(), &dlq, 1, Duration::from_secs(60));
    assert_eq!(dead.len(), 1);
    assert_eq!(header(&dead[0], "__connect.errors.offset"), Some("500"));
    assert_eq!(dead[0].value.as_deref(), Some(&b"not json at all"[..]));
    assert_eq!(lines_of(&out), expected_good_lines(&[], 1000));
    assert_eq!(w.task_state("strict", 0).as_deref(), Some("RUNNING"));
}

#[test]
fn transform_chain_with_negated_predicate_end_to_end() {
    let broker = Broker::start();
    let topic = harness::unique("orders");
    let schema = r#"{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":false,"field":"name"},{"type":"string","optional":false,"field":"ssn"},{"type":"string","optional":true,"field":"internal"}],"optional":false}"#;
    let rec = |id: i64, name: &str, ts: i64| {
        Rec {
        value: Some(
            format!(
                r#"{{"schema":{schema},"payload":{{"id":{id},"name":"{name}","ssn":"123-45-6789","internal":"x"}}}}"#
            )
            .into_bytes(),
        ),
        timestamp: Some(ts),
        ..Rec::default()
    }
    };
    // 2017-01-03 is routed to <topic>-20170103 and kept; 2018 is routed elsewhere and
    // filtered. One partition keeps the order, so the last line proves the rest was seen.
    produce_records(
        &broker.bootstrap(),
        &topic,
        &[
            rec(7, "Ada", 1_483_425_001_864),
            rec(8, "Bob", 1_514_961_001_864),
            rec(9, "Grace", 1_483_425_001_864),
        ],
    );
    let f = Files::new();
    let out = f.path("sink.txt");
    let worker = f.write("worker.properties", &worker_props(&broker.bootstrap(), &f));
    let p = "org.apache.kafka.connect.transforms";
    let sink = f.write(
        "sink.properties",
        &format!(
            "name=chain
connector.class=FileStreamSink
file={}
topics={topic}
value.converter={JSON}
value.converter.schemas.enable=true
transforms=insert,replace,mask,toKey,extract,route,filter
transforms.insert.type={p}.InsertField$Value
transforms.insert.static.field=source
transforms.insert.static.value=sluice
transforms.insert.topic.field=origin!
transforms.replace.type={p}.ReplaceField$Value
transforms.replace.exclude=internal
transforms.replace.renames=name:full_name
transforms.mask.type={p}.MaskField$Value
transforms.mask.fields=ssn
transforms.toKey.type={p}.ValueToKey
transforms.toKey.fields=id
transforms.extract.type={p}.ExtractField$Key
transforms.extract.field=id
transforms.route.type={p}.TimestampRouter
transforms.route.topic.format=${{topic}}-${{timestamp}}
transforms.route.timestamp.format=yyyyMMdd
transforms.filter.type={p}.Filter
transforms.filter.predicate=isOrders2017
transforms.filter.negate=true
predicates=isOrders2017
predicates.isOrders2017.type={p}.predicates.TopicNameMatches
predicates.isOrders2017.pattern={topic}-2017.*
",
            out.display()
        ),
    );
    let w = Worker::standalone(&worker, &[&sink], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for("the last kept record", Duration::from_secs(60), || {
        lines_of(&out).len() >= 2
    });
    // Kafka's documented results: source inserted, internal dropped, name renamed, ssn
    // masked, origin = the topic before routing.
    assert_eq!(
        lines_of(&out),
        vec![
            format!("Struct{{id=7,full_name=Ada,ssn=,origin={topic},source=sluice}}"),
            format!("Struct{{id=9,full_name=Grace,ssn=,origin={topic},source=sluice}}"),
        ]
    );
    assert_eq!(w.task_state("chain", 0).as_deref(), Some("RUNNING"));
}

#[test]
fn source_dlq_takes_records_a_transform_rejects() {
    let broker = Broker::start();
    let topic = harness::unique("numbers");
    let dlq = harness::unique("numbers-dlq");
    let f = Files::new();
    let input = f.write("in.txt", "1\n2\nx\n3\nnope\n4\n");
    let w = string_source_worker(
        &broker,
        &f,
        "numbers",
        &input,
        &topic,
        &format!(
            "transforms=toInt
transforms.toInt.type=org.apache.kafka.connect.transforms.Cast$Value
transforms.toInt.spec=int32
errors.tolerance=all
errors.deadletterqueue.topic.name={dlq}
errors.deadletterqueue.topic.replication.factor=1
errors.deadletterqueue.context.headers.enable=true
"
        ),
    );
    let good = consume(&broker.bootstrap(), &topic, 4, Duration::from_secs(60));
    let values: Vec<Option<Vec<u8>>> = good.iter().map(|r| r.value.clone()).collect();
    assert_eq!(
        values,
        ["1", "2", "3", "4"].map(|v| Some(v.as_bytes().to_vec()))
    );
    let dead = consume(&broker.bootstrap(), &dlq, 2, Duration::from_secs(60));
    let values: Vec<Option<Vec<u8>>> = dead.iter().map(|r| r.value.clone()).collect();
    assert_eq!(values, ["x", "nope"].map(|v| Some(v.as_bytes().to_vec())));
    for r in &dead {
        for (k, v) in [
            ("__connect.errors.topic", topic.as_str()),
            ("__connect.errors.partition", "-1"),
            ("__connect.errors.offset", "-1"),
            ("__connect.errors.connector.name", "numbers"),
            ("__connect.errors.stage", "TRANSFORMATION"),
            (
                "__connect.errors.class.name",
                "org.apache.kafka.connect.transforms.Cast$Value",
            ),
        ] {
            assert_eq!(header(r, k), Some(v), "header {k}");
        }
    }
    assert_eq!(w.task_state("numbers", 0).as_deref(), Some("RUNNING"));
    wait_for(
        "the tolerated count over REST",
        Duration::from_secs(10),
        || tolerated(&w, "numbers") == Some(2),
    );
}

/// A record the producer refuses when it is handed over (here: larger than
/// `max.request.size`) fails the task whatever `errors.tolerance` says, as Kafka's
/// "Unrecoverable exception trying to send"; the records before it are written, and no offset
/// at or past it is committed.
#[test]
fn source_record_the_producer_refuses_fails_the_task_whatever_the_tolerance() {
    let broker = Broker::start();
    let topic = harness::unique("refused");
    let f = Files::new();
    let big = "x".repeat(2000);
    let input = f.write("in.txt", &format!("a\nb\n{big}\nc\n"));
    let w = string_source_worker(
        &broker,
        &f,
        "refused",
        &input,
        &topic,
        "producer.override.max.request.size=1000\nerrors.tolerance=all\n",
    );
    wait_for("the task to fail", Duration::from_secs(60), || {
        w.task_state("refused", 0).as_deref() == Some("FAILED")
    });
    let (_, status) = w.get("/connectors/refused/status").expect("status");
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("Unrecoverable exception trying to send") && trace.contains(&topic),
        "trace: {trace}"
    );
    let got = consume(&broker.bootstrap(), &topic, 2, Duration::from_secs(60));
    let values: Vec<Option<Vec<u8>>> = got.iter().map(|r| r.value.clone()).collect();
    assert_eq!(values, ["a", "b"].map(|v| Some(v.as_bytes().to_vec())));
    // The task commits what was acknowledged before it reports FAILED: "a" and "b", not the
    // refused line or anything after it.
    drop(w);
    let committed = std::fs::read(f.path("connect.offsets")).unwrap_or_default();
    let text = String::from_utf8_lossy(&committed);
    let positions: Vec<u64> = text
        .split("\"position\":")
        .skip(1)
        .filter_map(|s| {
            let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect();
    assert_eq!(positions.iter().max(), Some(&4), "committed: {text}");
}

#[test]
fn transform_and_converter_config_errors_name_their_keys_at_create_time() {
    let f = Files::new();
    let worker = f.write("worker.properties", &worker_props("127.0.0.1:1", &f));
    let conn = f.write(
        "bad.properties",
        &format!(
            "name=bad
connector.class=FileStreamSink
topics=t
value.converter={JSON}
value.converter.schemas.enable=maybe
transforms=cast,route
transforms.cast.type=org.apache.kafka.connect.transforms.Cast$Value
transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
transforms.route.regex=(
transforms.route.replacement=x
transforms.route.predicate=nope
"
        ),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "standalone",
            "--listeners",
            &format!("http://127.0.0.1:{}", free_port()),
        ])
        .arg(&worker)
        .arg(&conn)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "transforms.cast.spec",
        "transforms.route.regex",
        "transforms.route.predicate",
        "value.converter",
    ] {
        assert!(err.contains(key), "stderr names {key}:\n{err}");
    }
}
