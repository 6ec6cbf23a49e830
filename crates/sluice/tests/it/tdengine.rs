//! TDengine connectors end to end (issue 21): the tutorial's flow (reference §12.1) and the
//! derived scenarios (§12.2) through real `sluice` workers and a real tansu broker, against
//! the TDengine test server (`sluice-tdengine-testserver`, a taosAdapter stand-in: no
//! TDengine can be installed here; see docs/connectors/tdengine.md for what it covers).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tdengine_testserver::sql::Output;
use sluice_tdengine_testserver::TestServer;

use crate::harness::{consume, free_port, produce, unique, wait_for, Broker, Worker};

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

/// The tutorial's worker settings: String keys and values, offsets in a file.
fn worker_file(f: &Files, broker: &Broker, value_converter: &str) -> PathBuf {
    f.write(
        "worker.properties",
        &format!(
            "bootstrap.servers={}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter={value_converter}
value.converter.schemas.enable=false
offset.storage.file.filename={}
offset.flush.interval.ms=500
",
            broker.bootstrap(),
            f.path("connect.offsets").display()
        ),
    )
}

const STRING: &str = "org.apache.kafka.connect.storage.StringConverter";

fn rows(td: &TestServer, db: &str, sql: &str) -> Vec<Vec<Value>> {
    match td.sql(Some(db), sql) {
        Ok(Output::Rows { data, .. }) => data,
        Ok(other) => panic!("{sql}: no rows but {other:?}"),
        Err(e) => panic!("{sql}: {e}"),
    }
}

/// Rows of `table` in `db`, 0 while the table or database does not exist.
fn count(td: &TestServer, db: &str, table: &str) -> u64 {
    match td.sql(Some(db), &format!("select count(*) from `{table}`")) {
        Ok(Output::Rows { data, .. }) => data[0][0].as_u64().unwrap_or(0),
        _ => 0,
    }
}

const TUTORIAL_LINES: [&str; 4] = [
    "meters,location=California.LosAngeles,groupid=2 current=11.8,voltage=221,phase=0.28 1648432611249000000",
    "meters,location=California.LosAngeles,groupid=2 current=13.4,voltage=223,phase=0.29 1648432611250000000",
    "meters,location=California.LosAngeles,groupid=3 current=10.8,voltage=223,phase=0.29 1648432611249000000",
    "meters,location=California.LosAngeles,groupid=3 current=11.3,voltage=221,phase=0.35 1648432611250000000",
];

/// The tutorial's sink properties (`sink-demo.properties`), pointed at the test server.
fn tutorial_sink(td: &TestServer, topics: &str, extra: &str) -> String {
    format!(
        "name=TDengineSinkConnector
connector.class=com.taosdata.kafka.connect.sink.TDengineSinkConnector
tasks.max=1
topics={topics}
connection.url=jdbc:TAOS-RS://127.0.0.1:{}
connection.user=root
connection.password=taosdata
connection.database=power
db.schemaless=line
data.precision=ns
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
{extra}",
        td.port
    )
}

/// S1: the tutorial's four lines land in `power.meters` with the observed child-table names,
/// tag widths and types, in a nanosecond database the sink created.
#[test]
fn tutorial_sink_writes_meters_into_power() {
    let broker = Broker::start();
    let td = TestServer::start(0).unwrap();
    let f = Files::new();
    let values: Vec<Vec<u8>> = TUTORIAL_LINES
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .collect();
    produce(&broker.bootstrap(), "meters", &values);
    let dlq = unique("dead_letter_topic");
    let sink = f.write(
        "sink-demo.properties",
        &tutorial_sink(
            &td,
            "meters",
            &format!("errors.tolerance=all\nerrors.deadletterqueue.topic.name={dlq}\nerrors.deadletterqueue.topic.replication.factor=1\n"),
        ),
    );
    let worker = worker_file(&f, &broker, STRING);
    let w = Worker::standalone(&worker, &[&sink], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for("4 rows in power.meters", Duration::from_secs(60), || {
        count(&td, "power", "meters") == 4
    });

    assert_eq!(
        rows(
            &td,
            "power",
            "select `precision` from information_schema.ins_databases where name = 'power'"
        ),
        vec![vec![json!("ns")]]
    );
    let describe: Vec<(String, String, u64, String)> = rows(&td, "power", "describe meters")
        .into_iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
                r[2].as_u64().unwrap(),
                r[3].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let d =
        |n: &str, t: &str, l: u64, note: &str| (n.to_string(), t.to_string(), l, note.to_string());
    assert_eq!(
        describe,
        vec![
            d("_ts", "TIMESTAMP", 8, ""),
            d("current", "DOUBLE", 8, ""),
            d("voltage", "DOUBLE", 8, ""),
            d("phase", "DOUBLE", 8, ""),
            d("location", "NCHAR", 32, "TAG"),
            d("groupid", "NCHAR", 2, "TAG"),
        ]
    );
    assert_eq!(
        rows(
            &td,
            "power",
            "select _c0, current, voltage, phase, location, groupid, tbname from meters order by _c0 asc, groupid asc"
        ),
        vec![
            vec![json!("2022-03-28T01:56:51.249000000Z"), json!(11.8), json!(221.0), json!(0.28), json!("California.LosAngeles"), json!("2"), json!("t_be97833a0e1f523fcdaeb6291d6fdf27")],
            vec![json!("2022-03-28T01:56:51.249000000Z"), json!(10.8), json!(223.0), json!(0.29), json!("California.LosAngeles"), json!("3"), json!("t_10b65f71ff8970369c8c18de0d6be028")],
            vec![json!("2022-03-28T01:56:51.250000000Z"), json!(13.4), json!(223.0), json!(0.29), json!("California.LosAngeles"), json!("2"), json!("t_be97833a0e1f523fcdaeb6291d6fdf27")],
            vec![json!("2022-03-28T01:56:51.250000000Z"), json!(11.3), json!(221.0), json!(0.35), json!("California.LosAngeles"), json!("3"), json!("t_10b65f71ff8970369c8c18de0d6be028")],
        ]
    );
    // One write call for the one batch, with the ns precision; nothing on the DLQ.
    let calls = td.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!((calls[0].precision.as_str(), calls[0].points), ("ns", 4));
    assert_eq!(
        w.task_state("TDengineSinkConnector", 0).as_deref(),
        Some("RUNNING")
    );
}

/// S2 and S6: 13-digit timestamps read as ns are out of range; with `errors.tolerance=all`
/// those records go to the DLQ with TDengine's error text after `max.retries - 1` retried
/// attempts, and the good records are written. With `data.precision=ms` they land right.
#[test]
fn sink_bad_records_go_to_the_dlq_with_tdengines_error() {
    let broker = Broker::start();
    let td = TestServer::start(0).unwrap();
    let f = Files::new();
    let topic = unique("mixed");
    let dlq = unique("dlq");
    let values: Vec<Vec<u8>> = [
        "m,t=a c=1i64 1648432611249000000",
        "m,t=a c=2i64 1648432611249", // 13 digits read as ns: out of range
        "m,t=a c=3i64 1648432611251000000",
        "not a line",
        "m,t=a c=5i64 1648432611253000000",
    ]
    .iter()
    .map(|l| l.as_bytes().to_vec())
    .collect();
    produce(&broker.bootstrap(), &topic, &values);
    let sink = f.write(
        "sink.properties",
        &format!(
            "name=bad-lines
connector.class=com.taosdata.kafka.connect.sink.TDengineSinkConnector
topics={topic}
connection.url=jdbc:TAOS-WS://127.0.0.1:{}/ignored
connection.database=mixed
db.schemaless=line
max.retries=3
retry.backoff.ms=200
errors.tolerance=all
errors.deadletterqueue.topic.name={dlq}
errors.deadletterqueue.topic.replication.factor=1
errors.deadletterqueue.context.headers.enable=true
",
            td.port
        ),
    );
    let worker = worker_file(&f, &broker, STRING);
    let w = Worker::standalone(&worker, &[&sink], free_port(), &f.path("worker.log"));
    w.wait_ready();
    let dead = consume(&broker.bootstrap(), &dlq, 2, Duration::from_secs(60));
    assert_eq!(dead.len(), 2);
    assert_eq!(
        dead[0].value.as_deref(),
        Some(&b"m,t=a c=2i64 1648432611249"[..])
    );
    assert_eq!(dead[1].value.as_deref(), Some(&b"not a line"[..]));
    let message = |r: &crate::harness::Consumed| {
        r.headers
            .iter()
            .find(|(k, _)| k == "__connect.errors.exception.message")
            .and_then(|(_, v)| v.clone())
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default()
    };
    assert!(
        message(&dead[0]).contains("Timestamp data out of range"),
        "{}",
        message(&dead[0])
    );
    assert!(
        message(&dead[1]).contains("Invalid data format"),
        "{}",
        message(&dead[1])
    );
    wait_for("3 good rows", Duration::from_secs(30), || {
        count(&td, "mixed", "m") == 3
    });
    // Three failed batch writes (1 + max.retries - 1 retries), then one per record.
    let calls = td.calls();
    let failed_batches = calls.iter().filter(|c| !c.ok && c.points == 5).count();
    assert_eq!(failed_batches, 3, "{calls:?}");
    assert_eq!(w.task_state("bad-lines", 0).as_deref(), Some("RUNNING"));
    let log = w.log_text();
    // (The Java package `com.taosdata` is not the password.)
    let leaks: Vec<&str> = log
        .lines()
        .filter(|l| l.replace("com.taosdata", "").contains("taosdata"))
        .collect();
    assert!(
        leaks.is_empty(),
        "the password never appears in logs: {leaks:#?}"
    );
}

/// Scenario S5: telnet and JSON values, several JSON records in one batch.
#[test]
fn sink_telnet_and_json() {
    let broker = Broker::start();
    let td = TestServer::start(0).unwrap();
    let f = Files::new();
    let telnet = unique("telnet").replace('-', "_");
    let jsons = unique("json").replace('-', "_");
    produce(
        &broker.bootstrap(),
        &telnet,
        &[
            b"meters.current 1648432611249 10.3 location=California.SanFrancisco groupid=2"
                .to_vec(),
            b"meters.current 1648432611250 12.6 location=California.SanFrancisco groupid=2"
                .to_vec(),
        ],
    );
    produce(
        &broker.bootstrap(),
        &jsons,
        &[
            br#"[{"metric":"meters.voltage","timestamp":1648432611249,"value":219,"tags":{"location":"LA","groupid":2}},{"metric":"meters.voltage","timestamp":1648432611250,"value":221,"tags":{"location":"LA","groupid":2}}]"#.to_vec(),
            br#"{"metric":"meters.voltage","timestamp":1648432611251,"value":222,"tags":{"location":"LA","groupid":2}}"#.to_vec(),
        ],
    );
    let sink = |name: &str, topic: &str, proto: &str| {
        f.write(
            &format!("{name}.properties"),
            &format!(
                "name={name}
connector.class=TDengineSinkConnector
topics={topic}
connection.url=jdbc:TAOS-RS://127.0.0.1:{}
connection.database.prefix=kafka_
db.schemaless={proto}
",
                td.port
            ),
        )
    };
    let (a, b) = (
        sink("telnet-sink", &telnet, "telnet"),
        sink("json-sink", &jsons, "JSON"),
    );
    let worker = worker_file(&f, &broker, STRING);
    let w = Worker::standalone(&worker, &[&a, &b], free_port(), &f.path("worker.log"));
    w.wait_ready();
    let (tdb, jdb) = (format!("kafka_{telnet}"), format!("kafka_{jsons}"));
    wait_for("2 telnet rows", Duration::from_secs(60), || {
        count(&td, &tdb, "meters.current") == 2
    });
    wait_for("3 json rows", Duration::from_secs(60), || {
        count(&td, &jdb, "meters.voltage") == 3
    });
    let cols: Vec<(String, String)> = rows(&td, &tdb, "describe `meters.current`")
        .into_iter()
        .map(|r| (r[0].as_str().unwrap().into(), r[1].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        &cols[..2],
        &[
            ("_ts".into(), "TIMESTAMP".into()),
            ("_value".into(), "DOUBLE".into())
        ]
    );
    assert_eq!(
        rows(
            &td,
            &tdb,
            "select _c0, _value from `meters.current` order by _c0"
        ),
        vec![
            vec![json!("2022-03-28T01:56:51.249000000Z"), json!(10.3)],
            vec![json!("2022-03-28T01:56:51.250000000Z"), json!(12.6)],
        ]
    );
}

/// The tutorial's source data (§12.1), in UTC (the test server has no time zones).
fn seed_tutorial(td: &TestServer) {
    for sql in [
        "DROP DATABASE IF EXISTS test",
        "CREATE DATABASE test",
        "CREATE STABLE test.meters (ts TIMESTAMP, current FLOAT, voltage INT, phase FLOAT) TAGS (location BINARY(64), groupId INT)",
        "INSERT INTO d1001 USING meters TAGS('California.SanFrancisco', 2) VALUES('2018-10-03 14:38:05.000',10.3,219,0.31)
            d1001 USING meters TAGS('California.SanFrancisco', 2) VALUES('2018-10-03 14:38:15.000',12.6,218,0.33)
            d1001 USING meters TAGS('California.SanFrancisco', 2) VALUES('2018-10-03 14:38:16.800',12.3,221,0.31)
            d1002 USING meters TAGS('California.SanFrancisco', 3) VALUES('2018-10-03 14:38:16.650',10.3,218,0.25)
            d1003 USING meters TAGS('California.LosAngeles', 2)   VALUES('2018-10-03 14:38:05.500',11.8,221,0.28)
            d1003 USING meters TAGS('California.LosAngeles', 2)   VALUES('2018-10-03 14:38:16.600',13.4,223,0.29)
            d1004 USING meters TAGS('California.LosAngeles', 3)   VALUES('2018-10-03 14:38:05.000',10.8,223,0.29)
            d1004 USING meters TAGS('California.LosAngeles', 3)   VALUES('2018-10-03 14:38:06.500',11.5,221,0.35)",
    ] {
        let db = if sql.starts_with("INSERT") { Some("test") } else { None };
        td.sql(db, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// The tutorial's source properties (`source-demo.properties`) in query mode.
fn tutorial_source(td: &TestServer, name: &str, extra: &str) -> String {
    format!(
        "name={name}
connector.class=com.taosdata.kafka.connect.source.TDengineSourceConnector
tasks.max=1
subscription.group.id=source-demo
connection.url=jdbc:TAOS-RS://127.0.0.1:{}
connection.user=root
connection.password=taosdata
connection.database=test
connection.attempts=3
connection.backoff.ms=5000
topic.prefix=tdengine
topic.delimiter=-
poll.interval.ms=200
fetch.max.rows=100
topic.per.stable=true
topic.ignore.db=false
out.format=line
data.precision=ms
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
read.method=query
{extra}",
        td.port
    )
}

/// The 8 tutorial rows as Java's line text, in query order (S7).
const TUTORIAL_RECORDS: [&str; 8] = [
    "meters,location=\"California.SanFrancisco\",groupid=2 current=10.3f32,voltage=219i32,phase=0.31f32 1538577485000000000",
    "meters,location=\"California.LosAngeles\",groupid=3 current=10.8f32,voltage=223i32,phase=0.29f32 1538577485000000000",
    "meters,location=\"California.LosAngeles\",groupid=2 current=11.8f32,voltage=221i32,phase=0.28f32 1538577485500000000",
    "meters,location=\"California.LosAngeles\",groupid=3 current=11.5f32,voltage=221i32,phase=0.35f32 1538577486500000000",
    "meters,location=\"California.SanFrancisco\",groupid=2 current=12.6f32,voltage=218i32,phase=0.33f32 1538577495000000000",
    "meters,location=\"California.LosAngeles\",groupid=2 current=13.4f32,voltage=223i32,phase=0.29f32 1538577496600000000",
    "meters,location=\"California.SanFrancisco\",groupid=3 current=10.3f32,voltage=218i32,phase=0.25f32 1538577496650000000",
    "meters,location=\"California.SanFrancisco\",groupid=2 current=12.3f32,voltage=221i32,phase=0.31f32 1538577496800000000",
];

fn texts(records: &[crate::harness::Consumed]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect()
}

fn offsets_file(f: &Files) -> String {
    String::from_utf8_lossy(&std::fs::read(f.path("connect.offsets")).unwrap_or_default())
        .into_owned()
}

/// S7 and S11: query mode publishes the tutorial rows as Java's line text to
/// `tdengine-test-meters`, stores Java's offsets (golden bytes in the offsets file), picks up
/// new rows, and resumes after a restart from the committed offset with no duplicate.
#[test]
fn tutorial_source_query_line_then_restart_resumes_without_duplicates() {
    let broker = Broker::start();
    let td = TestServer::start(0).unwrap();
    seed_tutorial(&td);
    let f = Files::new();
    let source = f.write(
        "source-demo.properties",
        &tutorial_source(&td, "TDengineSourceConnector", ""),
    );
    let worker = worker_file(&f, &broker, STRING);
    let mut w = Worker::standalone(&worker, &[&source], free_port(), &f.path("worker.log"));
    w.wait_ready();
    let topic = "tdengine-test-meters";
    let got = consume(&broker.bootstrap(), topic, 8, Duration::from_secs(60));
    assert_eq!(texts(&got), TUTORIAL_RECORDS);
    for r in &got {
        assert_eq!(r.key, None);
    }

    // Java's offset bytes in the standalone offsets file, and over REST.
    let key = r#"["TDengineSourceConnector",{"table":"meters"}]"#;
    let value = r#"{"timestamp_millisecond":1538577496800,"timestamp_nanosecond":800000000}"#;
    wait_for(
        "the last offset in the offsets file",
        Duration::from_secs(30),
        || {
            let text = offsets_file(&f);
            text.contains(key) && text.contains(value)
        },
    );
    let (code, body) = w
        .get("/connectors/TDengineSourceConnector/offsets")
        .unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body,
        json!({"offsets": [{"partition": {"table": "meters"}, "offset": {"timestamp_millisecond": 1538577496800i64, "timestamp_nanosecond": 800000000}}]})
    );

    // New rows appear as new records.
    td.sql(
        Some("test"),
        "INSERT INTO d1001 VALUES (now, 13.3, 229, 0.38)",
    )
    .unwrap();
    td.sql(
        Some("test"),
        "INSERT INTO d1002 VALUES (now, 16.3, 233, 0.22)",
    )
    .unwrap();
    let got = consume(&broker.bootstrap(), topic, 10, Duration::from_secs(60));
    assert_eq!(got.len(), 10);
    let t = texts(&got);
    assert!(t[8].starts_with("meters,location=\"California.SanFrancisco\",groupid=2 current=13.3f32,voltage=229i32,phase=0.38f32 "), "{}", t[8]);
    assert!(t[9].starts_with("meters,location=\"California.SanFrancisco\",groupid=3 current=16.3f32,voltage=233i32,phase=0.22f32 "), "{}", t[9]);

    // Stop gracefully (offsets flushed), add a row while stopped, restart.
    assert!(w.terminate().success());
    td.sql(
        Some("test"),
        "INSERT INTO d1003 VALUES (now, 9.9, 210, 0.5)",
    )
    .unwrap();
    let w2 = Worker::standalone(&worker, &[&source], free_port(), &f.path("worker2.log"));
    w2.wait_ready();
    let got = consume(&broker.bootstrap(), topic, 11, Duration::from_secs(60));
    let t = texts(&got);
    assert_eq!(t.len(), 11, "{t:#?}");
    assert!(t[10].contains("current=9.9f32"), "{}", t[10]);
    // Another full poll cycle brings nothing more.
    td.sql(
        Some("test"),
        "INSERT INTO d1004 VALUES (now, 8.8, 200, 0.4)",
    )
    .unwrap();
    let got = consume(&broker.bootstrap(), topic, 12, Duration::from_secs(60));
    let t = texts(&got);
    assert_eq!(t.len(), 12, "{t:#?}");
    let mut unique_texts = t.clone();
    unique_texts.sort();
    unique_texts.dedup();
    assert_eq!(unique_texts.len(), 12, "no record was published twice");
    drop(w2);
}

/// S8 and S10: `out.format=json` with JsonConverter (schemas off), one topic per database.
#[test]
fn source_json_one_topic_per_database() {
    let broker = Broker::start();
    let td = TestServer::start(0).unwrap();
    seed_tutorial(&td);
    let f = Files::new();
    let source = f.write(
        "source.properties",
        &tutorial_source(
            &td,
            "json-source",
            "out.format=json\ntopic.per.stable=false\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\n",
        ),
    );
    let worker = worker_file(&f, &broker, STRING);
    let w = Worker::standalone(&worker, &[&source], free_port(), &f.path("worker.log"));
    w.wait_ready();
    let got = consume(
        &broker.bootstrap(),
        "tdengine-test",
        8,
        Duration::from_secs(60),
    );
    assert_eq!(got.len(), 8);
    let first: Value = serde_json::from_slice(got[0].value.as_deref().unwrap()).unwrap();
    assert_eq!(
        first,
        json!({"ts": 1538577485000i64, "current": 10.3, "voltage": 219, "phase": 0.31, "tags": {"location": "California.SanFrancisco", "groupid": 2}})
    );
    assert_eq!(
        String::from_utf8_lossy(got[0].value.as_deref().unwrap()),
        r#"{"ts":1538577485000,"current":10.3,"voltage":219,"phase":0.31,"tags":{"location":"California.SanFrancisco","groupid":2}}"#
    );
    drop(w);
}

/// Number of points of the outage run (the issue asks for 100,000).
const OUTAGE_POINTS: usize = 100_000;

fn point(i: usize) -> Vec<u8> {
    // One device per 1,000 points; distinct timestamps, so every point is one row.
    format!(
        "load,device=d{} seq={i}i64,value={}.5 {}",
        i / 1000,
        i % 97,
        1_700_000_000_000_000_000u64 + i as u64 * 1_000
    )
    .into_bytes()
}

/// A sink run of 100,000 points with the TDengine test server killed in the middle and
/// restarted on the same port: the writes are retried and every point lands, once.
#[test]
fn sink_outage_in_the_middle_is_retried_and_nothing_is_lost() {
    let broker = Broker::start();
    let mut td = TestServer::start(0).unwrap();
    let f = Files::new();
    let topic = unique("load");
    let half = OUTAGE_POINTS / 2;
    let first: Vec<Vec<u8>> = (0..half).map(point).collect();
    produce(&broker.bootstrap(), &topic, &first);
    let sink = f.write(
        "sink.properties",
        &format!(
            "name=load-sink
connector.class=com.taosdata.kafka.connect.sink.TDengineSinkConnector
topics={topic}
connection.url=jdbc:TAOS-RS://127.0.0.1:{}
connection.database=load
db.schemaless=line
data.precision=ns
retry.backoff.ms=300
",
            td.port
        ),
    );
    let worker = worker_file(&f, &broker, STRING);
    let w = Worker::standalone(&worker, &[&sink], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for("the first half written", Duration::from_secs(120), || {
        count(&td, "load", "load") == half as u64
    });

    // TDengine goes away while the second half arrives.
    td.kill();
    let second: Vec<Vec<u8>> = (half..OUTAGE_POINTS).map(point).collect();
    produce(&broker.bootstrap(), &topic, &second);
    wait_for(
        "the sink to retry against the dead server",
        Duration::from_secs(60),
        || w.log_text().contains("the batch will be retried"),
    );
    assert_eq!(w.task_state("load-sink", 0).as_deref(), Some("RUNNING"));
    td.restart().unwrap();

    wait_for("every point written", Duration::from_secs(180), || {
        count(&td, "load", "load") == OUTAGE_POINTS as u64
    });
    let seqs = rows(&td, "load", "select seq from load order by _c0");
    assert_eq!(seqs.len(), OUTAGE_POINTS);
    for (i, r) in seqs.iter().enumerate() {
        assert_eq!(r[0].as_u64(), Some(i as u64), "row {i}");
    }
    assert_eq!(w.task_state("load-sink", 0).as_deref(), Some("RUNNING"));
}

/// S15: `config/validate` reports Java's messages; ignored keys are accepted.
#[test]
fn validation_reports_javas_messages() {
    let broker = Broker::start();
    let f = Files::new();
    let worker = worker_file(&f, &broker, STRING);
    let w = Worker::standalone(&worker, &[], free_port(), &f.path("worker.log"));
    w.wait_ready();
    let (code, body) = w
        .try_send(
            "PUT",
            "/connector-plugins/TDengineSinkConnector/config/validate",
            Some(&json!({
                "connector.class": "com.taosdata.kafka.connect.sink.TDengineSinkConnector",
                "name": "v", "topics": "t",
                "connection.url": "jdbc:mysql://h",
                "data.precision": "s",
                "connection.username": "ignored", "db.timeunit": "ignored"
            })),
        )
        .unwrap();
    assert_eq!(code, 200, "{body}");
    let errors = |key: &str| -> Vec<String> {
        body["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"]["name"] == key)
            .map(|c| {
                c["value"]["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(errors("connection.url"), vec!["Invalid value jdbc:mysql://h for configuration connection.url: check connection.url is correct"]);
    assert_eq!(errors("data.precision"), vec!["Invalid value s for configuration data.precision: database precision config must be one of (ms, us, ns)"]);
    assert_eq!(
        errors("db.schemaless"),
        vec!["Missing required configuration \"db.schemaless\" which has no default value."]
    );
    assert_eq!(body["error_count"], 3, "{body}");
    // The password is hidden in the validate answer.
    let pw = body["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"]["name"] == "connection.password")
        .unwrap();
    assert_ne!(pw["value"]["value"], "taosdata", "{pw}");
}

/// The sink worker killed with SIGKILL mid-run and started again: replays rewrite the same
/// rows (TDengine merges rows with the same timestamp), so every point is there exactly once.
#[test]
fn sink_worker_kill9_then_restart_loses_nothing() {
    const N: usize = 30_000;
    let broker = Broker::start();
    let td = TestServer::start(0).unwrap();
    let f = Files::new();
    let topic = unique("crash");
    let all: Vec<Vec<u8>> = (0..N).map(point).collect();
    produce(&broker.bootstrap(), &topic, &all);
    let sink = f.write(
        "sink.properties",
        &format!(
            "name=crash-sink
connector.class=TDengineSink
topics={topic}
connection.url=jdbc:TAOS-RS://127.0.0.1:{}
connection.database=crash
db.schemaless=line
batch.size=500
",
            td.port
        ),
    );
    let worker = worker_file(&f, &broker, STRING);
    let mut w = Worker::standalone(&worker, &[&sink], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for("some points written", Duration::from_secs(60), || {
        count(&td, "crash", "load") > 0
    });
    w.kill9();
    let w2 = Worker::standalone(&worker, &[&sink], free_port(), &f.path("worker2.log"));
    w2.wait_ready();
    // The killed member's partition comes back once its group session expires.
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    while count(&td, "crash", "load") < N as u64 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {N} points after the restart; worker log:\n{}",
            count(&td, "crash", "load"),
            w2.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let seqs = rows(&td, "crash", "select seq from load order by _c0");
    assert_eq!(seqs.len(), N);
    for (i, r) in seqs.iter().enumerate() {
        assert_eq!(r[0].as_u64(), Some(i as u64), "row {i}");
    }
}

/// S12 and S13: tables split over `tasks.max` tasks (contiguous, sorted); a super table
/// created while running triggers a reconfiguration and gets its own topic.
#[test]
fn source_discovers_new_tables_and_splits_them_over_tasks() {
    let broker = Broker::start();
    let td = TestServer::start(0).unwrap();
    td.sql(None, "create database disc").unwrap();
    for t in ["a", "b", "c"] {
        td.sql(
            Some("disc"),
            &format!("create stable {t} (ts timestamp, v int) tags (k int)"),
        )
        .unwrap();
        td.sql(
            Some("disc"),
            &format!("insert into {t}1 using {t} tags(1) values('2024-01-01 00:00:00.000', 1)"),
        )
        .unwrap();
    }
    let f = Files::new();
    let source = f.write(
        "source.properties",
        &format!(
            "name=disc-source
connector.class=TDengineSource
tasks.max=2
connection.url=jdbc:TAOS-RS://127.0.0.1:{}
connection.database=disc
topic.prefix=td
topic.ignore.db=true
poll.interval.ms=200
read.method=query
",
            td.port
        ),
    );
    let worker = worker_file(&f, &broker, STRING);
    let w = Worker::standalone(&worker, &[&source], free_port(), &f.path("worker.log"));
    w.wait_ready();
    for t in ["a", "b", "c"] {
        let got = consume(
            &broker.bootstrap(),
            &format!("td-{t}"),
            1,
            Duration::from_secs(60),
        );
        assert_eq!(
            texts(&got),
            vec![format!("{t},k=1 v=1i32 1704067200000000000")]
        );
    }
    let (code, tasks) = w.get("/connectors/disc-source/tasks").unwrap();
    assert_eq!(code, 200, "{tasks}");
    let tables: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["config"]["tables"].as_str().unwrap())
        .collect();
    assert_eq!(tables, vec!["a,b", "c"]);

    td.sql(Some("disc"), "create table n (ts timestamp, v double)")
        .unwrap();
    td.sql(
        Some("disc"),
        "insert into n values('2024-01-01 00:00:01.000', 2.5)",
    )
    .unwrap();
    let got = consume(&broker.bootstrap(), "td-n", 1, Duration::from_secs(60));
    assert_eq!(
        texts(&got),
        vec!["n v=2.5f64 1704067201000000000".to_string()]
    );
    wait_for("tasks re-split", Duration::from_secs(30), || {
        w.get("/connectors/disc-source/tasks")
            .is_some_and(|(_, t)| {
                t.as_array().is_some_and(|a| {
                    a.iter()
                        .map(|t| t["config"]["tables"].as_str().unwrap_or("").to_string())
                        .collect::<Vec<_>>()
                        == vec!["a,b".to_string(), "c,n".to_string()]
                })
            })
    });
}

/// S14: source (query, line) into a topic, sink (`data.precision=ns`) into another database:
/// the same super table with FLOAT and INT kept through the suffixes, tags as NCHAR with
/// VARCHAR's literal quotes, child tables renamed `t_<md5>`.
#[test]
fn round_trip_source_to_sink() {
    let broker = Broker::start();
    let td = TestServer::start(0).unwrap();
    seed_tutorial(&td);
    let f = Files::new();
    let source = f.write("source.properties", &tutorial_source(&td, "rt-source", ""));
    let sink = f.write(
        "sink.properties",
        &format!(
            "name=rt-sink
connector.class=com.taosdata.kafka.connect.sink.TDengineSinkConnector
topics=tdengine-test-meters
connection.url=jdbc:TAOS-RS://127.0.0.1:{}
connection.database=copy
db.schemaless=line
data.precision=ns
",
            td.port
        ),
    );
    let worker = worker_file(&f, &broker, STRING);
    let w = Worker::standalone(
        &worker,
        &[&source, &sink],
        free_port(),
        &f.path("worker.log"),
    );
    w.wait_ready();
    wait_for("8 rows copied", Duration::from_secs(60), || {
        count(&td, "copy", "meters") == 8
    });
    let describe: Vec<(String, String, String)> = rows(&td, "copy", "describe meters")
        .into_iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().into(),
                r[1].as_str().unwrap().into(),
                r[3].as_str().unwrap().into(),
            )
        })
        .collect();
    let d = |n: &str, t: &str, note: &str| (n.to_string(), t.to_string(), note.to_string());
    assert_eq!(
        describe,
        vec![
            d("_ts", "TIMESTAMP", ""),
            d("current", "FLOAT", ""),
            d("voltage", "INT", ""),
            d("phase", "FLOAT", ""),
            d("location", "NCHAR", "TAG"),
            d("groupid", "NCHAR", "TAG"),
        ]
    );
    let copied = rows(
        &td,
        "copy",
        "select _c0, current, voltage, location, groupid, tbname from meters order by _c0 asc, current asc limit 1",
    );
    assert_eq!(copied[0][0], json!("2018-10-03T14:38:05.000000000Z"));
    assert_eq!(copied[0][1], json!(10.3));
    assert_eq!(copied[0][2], json!(219));
    assert_eq!(copied[0][3], json!("\"California.SanFrancisco\""));
    assert_eq!(copied[0][4], json!("2"));
    assert!(copied[0][5].as_str().unwrap().starts_with("t_"));
    drop(w);
}

/// The tutorial's `source-demo.properties` exactly as TDengine's guide publishes it (§12.1):
/// native URL (mapped to taosAdapter on port 6041 of the same host), no `read.method`, so
/// Java's default subscription mode with `subscription.from=latest`.
const TUTORIAL_SOURCE_FILE: &str = "name=TDengineSourceConnector
connector.class=com.taosdata.kafka.connect.source.TDengineSourceConnector
tasks.max=1
subscription.group.id=source-demo
connection.url=jdbc:TAOS://127.0.0.1:6030
connection.user=root
connection.password=taosdata
connection.database=test
connection.attempts=3
connection.backoff.ms=5000
topic.prefix=tdengine
topic.delimiter=-
poll.interval.ms=1000
fetch.max.rows=100
topic.per.stable=true
topic.ignore.db=false
out.format=line
data.precision=ms
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
";

/// S9: the tutorial's source file, unchanged, in its default subscription mode: the TMQ topic
/// `tdengine-test-meters` is created, rows written before the subscription are not published
/// (`latest`, as with Java), the two new meters are, with 13-digit (`data.precision=ms`)
/// timestamps, and the group's TMQ offset is committed once Kafka has them.
#[test]
fn tutorial_source_file_unchanged_subscribes_and_publishes_new_meters() {
    let broker = Broker::start();
    // The native URL names port 6030; Sluice reaches taosAdapter on 6041 of that host.
    let td = TestServer::start(6041).expect("the test server on taosAdapter's port 6041");
    seed_tutorial(&td);
    let f = Files::new();
    let source = f.write("source-demo.properties", TUTORIAL_SOURCE_FILE);
    let worker = worker_file(&f, &broker, STRING);
    let w = Worker::standalone(&worker, &[&source], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for(
        "the TMQ consumer subscribed",
        Duration::from_secs(60),
        || td.tmq_consumers() == 1,
    );
    td.sql(
        Some("test"),
        "INSERT INTO d1001 VALUES (now, 13.3, 229, 0.38)",
    )
    .unwrap();
    td.sql(
        Some("test"),
        "INSERT INTO d1002 VALUES (now, 16.3, 233, 0.22)",
    )
    .unwrap();
    let topic = "tdengine-test-meters";
    let got = consume(&broker.bootstrap(), topic, 2, Duration::from_secs(60));
    let t = texts(&got);
    assert_eq!(t.len(), 2, "{t:#?}\n{}", w.log_text());
    let (a, b) = (
        "meters,location=\"California.SanFrancisco\",groupid=2 current=13.3f32,voltage=229i32,phase=0.38f32 ",
        "meters,location=\"California.SanFrancisco\",groupid=3 current=16.3f32,voltage=233i32,phase=0.22f32 ",
    );
    assert!(t[0].starts_with(a), "{}", t[0]);
    assert!(t[1].starts_with(b), "{}", t[1]);
    for text in &t {
        let ts = text.rsplit(' ').next().unwrap_or_default();
        assert_eq!(ts.len(), 13, "a millisecond timestamp: {text}");
        assert!(ts.parse::<i64>().is_ok(), "{text}");
    }
    for r in &got {
        assert_eq!(r.key, None);
    }
    // 8 seeded rows and 2 new ones in the WAL: the group's position after them.
    wait_for(
        "the TMQ offset committed after Kafka has the records",
        Duration::from_secs(30),
        || td.tmq_committed("source-demo", topic) == Some(10),
    );
    // Nothing else is published: the 8 older rows were before the subscription.
    let again = consume(&broker.bootstrap(), topic, 3, Duration::from_secs(3));
    assert_eq!(again.len(), 2);
    drop(w);
}

/// Database `db` with the tutorial's `meters` super table and child tables `d0`..`d<tables>`.
fn meters_db(td: &TestServer, db: &str, tables: usize) {
    td.sql(None, &format!("create database {db}")).unwrap();
    td.sql(
        Some(db),
        "CREATE STABLE meters (ts TIMESTAMP, current FLOAT, voltage INT, phase FLOAT) TAGS (location BINARY(64), groupId INT)",
    )
    .unwrap();
    for g in 0..tables {
        td.sql(
            Some(db),
            &format!("CREATE TABLE d{g} USING meters TAGS ('California.LosAngeles', {g})"),
        )
        .unwrap();
    }
}

/// A subscription-mode source file for `db` on the test server (`kind`: the URL's
/// `TAOS-RS`/`TAOS-WS`), reading from the earliest row in group `group`.
fn subscription_source(
    f: &Files,
    td: &TestServer,
    kind: &str,
    db: &str,
    group: &str,
    prefix: &str,
) -> PathBuf {
    f.write(
        "source.properties",
        &format!(
            "name={db}-source
connector.class=com.taosdata.kafka.connect.source.TDengineSourceConnector
tasks.max=1
subscription.group.id={group}
subscription.from=earliest
connection.url=jdbc:{kind}://127.0.0.1:{}
connection.database={db}
topic.prefix={prefix}
poll.interval.ms=100
data.precision=ms
",
            td.port
        ),
    )
}

/// `voltage=<n>i32` of a line record.
fn voltage(text: &str) -> Option<usize> {
    let rest = text.split("voltage=").nth(1)?;
    rest.split("i32").next()?.parse().ok()
}

/// Subscription mode is at least once: the worker is killed with SIGKILL while rows are
/// still being written and published; at that moment every row before the group's committed
/// TMQ offset is already in Kafka (the offset is never ahead of Kafka); after a restart every
/// row is published (the ones after the committed offset may be published twice, counted).
#[test]
fn source_subscription_kill9_mid_stream_loses_nothing() {
    const N: usize = 10_000;
    const BATCH: usize = 100;
    let broker = Broker::start();
    let td = TestServer::start(0).unwrap();
    td.set_tmq_rows_per_message(20);
    meters_db(&td, "sub", 4);
    let prefix = unique("sub");
    let topic = format!("{prefix}-sub-meters");
    let group = unique("kill-group");
    let f = Files::new();
    let source = subscription_source(&f, &td, "TAOS-WS", "sub", &group, &prefix);
    let worker = worker_file(&f, &broker, STRING);
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let store = td.state.store.clone();
    let progress = written.clone();
    let writer = std::thread::spawn(move || {
        let base: i64 = 1_700_000_000_000;
        for b in 0..N / BATCH {
            let mut sql = String::from("INSERT INTO ");
            for i in b * BATCH..(b + 1) * BATCH {
                sql.push_str(&format!(
                    "d{} VALUES ({}, 1.5, {i}, 0.5) ",
                    i % 4,
                    base + i as i64
                ));
            }
            let mut s = store.lock().unwrap_or_else(|e| e.into_inner());
            sluice_tdengine_testserver::sql::execute(&mut s, Some("sub"), &sql)
                .unwrap_or_else(|e| panic!("{e}"));
            drop(s);
            progress.store((b + 1) * BATCH, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let mut w = Worker::standalone(&worker, &[&source], free_port(), &f.path("worker.log"));
    w.wait_ready();
    wait_for(
        "a TMQ offset committed while rows are still written",
        Duration::from_secs(60),
        || td.tmq_committed(&group, &topic).is_some_and(|c| c > 0),
    );
    w.kill9();
    let at_kill = written.load(std::sync::atomic::Ordering::SeqCst);
    let committed = td.tmq_committed(&group, &topic).unwrap_or(0);
    let passed = td.tmq_rows_before(&topic, committed);
    assert!(
        passed < N,
        "the kill came after every row was committed ({passed}); not mid-stream"
    );
    // Rows are written in voltage order, so the group has passed voltages 0..passed: each
    // must already be in Kafka.
    let have = |records: &[crate::harness::Consumed]| -> std::collections::BTreeSet<usize> {
        texts(records).iter().filter_map(|t| voltage(t)).collect()
    };
    let before = crate::harness::consume_until(
        &broker.bootstrap(),
        &topic,
        Duration::from_secs(30),
        |out| {
            let h = have(out);
            (0..passed).all(|v| h.contains(&v))
        },
    );
    let h = have(&before);
    let missing: Vec<usize> = (0..passed).filter(|v| !h.contains(v)).take(10).collect();
    assert!(
        missing.is_empty(),
        "committed TMQ offset {committed} passes {passed} rows, but Kafka lacks e.g. {missing:?}"
    );
    eprintln!(
        "killed after {at_kill} rows written; Kafka had {} records, the group had committed {passed} rows",
        before.len()
    );

    let w2 = Worker::standalone(&worker, &[&source], free_port(), &f.path("worker2.log"));
    w2.wait_ready();
    writer.join().expect("writer");
    let all = crate::harness::consume_until(
        &broker.bootstrap(),
        &topic,
        Duration::from_secs(180),
        |out| have(out).len() == N,
    );
    let h = have(&all);
    assert_eq!(
        h.len(),
        N,
        "{} of {N} rows published after the restart; worker log:\n{}",
        h.len(),
        w2.log_text()
    );
    let duplicates = all.len() - N;
    eprintln!("{N} rows, {} records: {duplicates} duplicates", all.len());
    wait_for(
        "the group's offset after every row",
        Duration::from_secs(60),
        || td.tmq_rows_before(&topic, td.tmq_committed(&group, &topic).unwrap_or(0)) == N,
    );
    drop(w2);
}

/// Subscription mode across a graceful restart: the worker commits the TMQ offset of what
/// Kafka has when it stops, so after a restart the rows written meanwhile are published and
/// none of the earlier ones again.
#[test]
fn source_subscription_graceful_restart_publishes_no_duplicate() {
    const FIRST: usize = 200;
    const SECOND: usize = 100;
    let broker = Broker::start();
    let td = TestServer::start(0).unwrap();
    td.set_tmq_rows_per_message(20);
    meters_db(&td, "gr", 1);
    let insert = |from: usize, to: usize| {
        let base: i64 = 1_700_000_000_000;
        let mut sql = String::from("INSERT INTO d0 VALUES ");
        for i in from..to {
            sql.push_str(&format!("({}, 1.5, {i}, 0.5) ", base + i as i64));
        }
        td.sql(Some("gr"), &sql).unwrap();
    };
    insert(0, FIRST);
    let prefix = unique("gr");
    let topic = format!("{prefix}-gr-meters");
    let group = unique("restart-group");
    let f = Files::new();
    let source = subscription_source(&f, &td, "TAOS-RS", "gr", &group, &prefix);
    let worker = worker_file(&f, &broker, STRING);
    let voltages = |records: &[crate::harness::Consumed]| -> Vec<usize> {
        texts(records).iter().filter_map(|t| voltage(t)).collect()
    };
    let mut w = Worker::standalone(&worker, &[&source], free_port(), &f.path("worker.log"));
    w.wait_ready();
    let first = crate::harness::consume_until(
        &broker.bootstrap(),
        &topic,
        Duration::from_secs(60),
        |out| out.len() >= FIRST,
    );
    assert_eq!(voltages(&first), (0..FIRST).collect::<Vec<_>>());
    let status = w.terminate();
    assert!(status.success(), "{status:?}\n{}", w.log_text());
    insert(FIRST, FIRST + SECOND);
    let w2 = Worker::standalone(&worker, &[&source], free_port(), &f.path("worker2.log"));
    w2.wait_ready();
    let all = crate::harness::consume_until(
        &broker.bootstrap(),
        &topic,
        Duration::from_secs(60),
        |out| voltages(out).contains(&(FIRST + SECOND - 1)),
    );
    // The new rows arrived; wait for the group's offset after them, then count once more.
    wait_for(
        "the TMQ offset committed after the new rows",
        Duration::from_secs(30),
        || {
            td.tmq_committed(&group, &topic)
                .is_some_and(|c| td.tmq_rows_before(&topic, c) >= FIRST + SECOND)
        },
    );
    // A reader from the start for a few seconds more: anything published twice shows.
    let seen = all.len();
    let all =
        crate::harness::consume_until(&broker.bootstrap(), &topic, Duration::from_secs(5), |out| {
            out.len() > seen
        });
    assert_eq!(
        voltages(&all),
        (0..FIRST + SECOND).collect::<Vec<_>>(),
        "every row once, in order; worker log:\n{}",
        w2.log_text()
    );
}
