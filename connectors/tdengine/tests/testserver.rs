//! The tasks against the TDengine test server over HTTP, without Kafka (the broker tests are
//! in `crates/sluice/tests/it/tdengine.rs`).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sluice_api::config::RawConfig;
use sluice_api::connector::{
    OffsetStorageReader, SinkTask, SinkTaskContext, SourceTask, SourceTaskContext,
};
use sluice_api::data::Value;
use sluice_api::record::{ConnectRecord, OffsetMap, SinkRecord, TopicPartition};
use sluice_api::{ConnectError, ErrorKind};
use sluice_connector_tdengine::{offsets, sink, source};
use sluice_tdengine_testserver::sql::Output;
use sluice_tdengine_testserver::TestServer;

#[derive(Default)]
struct Ctx {
    config: RawConfig,
    timeouts: Mutex<Vec<u64>>,
    errant: Mutex<Vec<(String, String)>>,
}

impl SinkTaskContext for Ctx {
    fn configs(&self) -> &RawConfig {
        &self.config
    }
    fn offset(&self, _: &HashMap<TopicPartition, i64>) {}
    fn timeout(&self, millis: u64) {
        self.timeouts.lock().unwrap().push(millis);
    }
    fn assignment(&self) -> Vec<TopicPartition> {
        Vec::new()
    }
    fn pause(&self, _: &[TopicPartition]) {}
    fn resume(&self, _: &[TopicPartition]) {}
    fn request_commit(&self) {}
    fn report_errant(&self, record: &SinkRecord, error: ConnectError) {
        let v = record.record.value.as_str().unwrap_or_default().to_string();
        self.errant.lock().unwrap().push((v, error.to_string()));
    }
}

fn raw(pairs: &[(&str, String)]) -> RawConfig {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn rec(topic: &str, v: &str) -> SinkRecord {
    SinkRecord {
        record: ConnectRecord {
            topic: topic.into(),
            value: Value::from(v),
            ..ConnectRecord::default()
        },
        ..SinkRecord::default()
    }
}

fn count(td: &TestServer, db: &str, table: &str) -> u64 {
    match td.sql(Some(db), &format!("select count(*) from `{table}`")) {
        Ok(Output::Rows { data, .. }) => data[0][0].as_u64().unwrap_or(0),
        _ => 0,
    }
}

async fn sink_task(
    td: &TestServer,
    extra: &[(&str, String)],
) -> (sink::TDengineSinkTask, Arc<Ctx>) {
    let mut pairs = vec![
        (
            "connection.url",
            format!("jdbc:TAOS-RS://127.0.0.1:{}", td.port),
        ),
        ("db.schemaless", "line".to_string()),
        ("retry.backoff.ms", "10".to_string()),
    ];
    pairs.extend(extra.iter().cloned());
    let ctx = Arc::new(Ctx {
        config: raw(&pairs),
        ..Ctx::default()
    });
    let mut t = sink::TDengineSinkTask::default();
    t.start(ctx.clone()).await.unwrap();
    (t, ctx)
}

/// S2/S3: database per topic with a prefix, created with ns precision; 13-digit timestamps
/// with `data.precision=ms`; batches cut at topic changes (S4).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sink_prefix_precision_and_batches() {
    let td = TestServer::start(0).unwrap();
    let (mut t, _) = sink_task(
        &td,
        &[
            ("connection.database.prefix", "kafka_".into()),
            ("data.precision", "MS".into()),
            ("batch.size", "2".into()),
        ],
    )
    .await;
    t.put(&[
        rec("orders", "o,t=a v=1 1648432611249"),
        rec("orders", "o,t=a v=2 1648432611250"),
        rec("orders", "o,t=a v=3 1648432611251"),
        rec("users", "u,t=a v=1 1648432611249"),
        rec("orders", "o,t=a v=4 1648432611252"),
    ])
    .await
    .unwrap();
    assert_eq!(count(&td, "kafka_orders", "o"), 4);
    assert_eq!(count(&td, "kafka_users", "u"), 1);
    let points: Vec<(String, usize, String)> = td
        .calls()
        .iter()
        .map(|c| (c.db.clone(), c.points, c.precision.clone()))
        .collect();
    assert_eq!(
        points,
        vec![
            ("kafka_orders".into(), 2, "ms".into()),
            ("kafka_orders".into(), 1, "ms".into()),
            ("kafka_users".into(), 1, "ms".into()),
            ("kafka_orders".into(), 1, "ms".into()),
        ]
    );
    match td.sql(
        None,
        "select `precision` from information_schema.ins_databases where name = 'kafka_orders'",
    ) {
        Ok(Output::Rows { data, .. }) => assert_eq!(data[0][0], "ns"),
        other => panic!("{other:?}"),
    }
}

/// S6: two retriable failures `retry.backoff.ms` apart, then one record at a time, the bad
/// one reported with TDengine's text; S3: a topic that is not an identifier is reported too.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sink_retries_then_reports_errant_records() {
    let td = TestServer::start(0).unwrap();
    let (mut t, ctx) = sink_task(&td, &[("connection.database", "db1".into())]).await;
    let batch = [
        rec("t", "m,t=a c=1i64 1648432611249000000"),
        rec("t", "m,t=a c=\"x\" 1648432611250000000"),
    ];
    for _ in 0..2 {
        let e = t.put(&batch).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Retriable);
        assert!(
            e.to_string()
                .contains("the type is not the same like before"),
            "{e}"
        );
    }
    t.put(&batch).await.unwrap();
    assert_eq!(*ctx.timeouts.lock().unwrap(), vec![10, 10]);
    let errant = ctx.errant.lock().unwrap().clone();
    assert_eq!(errant.len(), 1, "{errant:?}");
    assert_eq!(errant[0].0, "m,t=a c=\"x\" 1648432611250000000");
    assert!(
        errant[0].1.contains("TDengine ERROR (0x3004)"),
        "{}",
        errant[0].1
    );
    assert_eq!(count(&td, "db1", "m"), 1);

    // A topic that is not a TDengine identifier: the database cannot be created.
    let (mut t, ctx) = sink_task(&td, &[("max.retries", "0".into())]).await;
    t.put(&[rec("my-topic", "m v=1 1648432611249000000")])
        .await
        .unwrap();
    let errant = ctx.errant.lock().unwrap().clone();
    assert!(errant[0].1.contains("syntax error"), "{errant:?}");
}

/// An unreachable taosAdapter is retriable (the runtime redelivers), and bad credentials are
/// a config error that does not show the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sink_outage_and_bad_credentials() {
    let mut td = TestServer::start(0).unwrap();
    let (mut t, ctx) = sink_task(
        &td,
        &[
            ("connection.database", "p".into()),
            ("max.retries", "1".into()),
        ],
    )
    .await;
    td.kill();
    for _ in 0..3 {
        let e = t
            .put(&[rec("t", "m v=1 1648432611249000000")])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Retriable, "{e}");
    }
    assert!(ctx.errant.lock().unwrap().is_empty());
    td.restart().unwrap();
    t.put(&[rec("t", "m v=1 1648432611249000000")])
        .await
        .unwrap();
    assert_eq!(count(&td, "p", "m"), 1);

    let (mut bad, _) = sink_task(&td, &[("connection.password", "s3cret-pw".into())]).await;
    let e = bad
        .put(&[rec("t", "m v=1 1648432611249000000")])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.to_string()
            .contains("check connection.user and connection.password"),
        "{e}"
    );
    assert!(!e.to_string().contains("s3cret-pw"));
}

struct Offsets(HashMap<String, OffsetMap>);

impl OffsetStorageReader for Offsets {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        let table = partition
            .iter()
            .find(|(k, _)| k == "table")?
            .1
            .as_str()?
            .to_string();
        self.0.get(&table).cloned()
    }
}

fn seed(td: &TestServer) {
    for sql in [
        "create database test",
        "create stable test.meters (ts timestamp, current float, voltage int) tags (location binary(64), groupId int)",
    ] {
        td.sql(None, sql).unwrap();
    }
    td.sql(
        Some("test"),
        "insert into d1 using meters tags('SF', 2) values('2018-10-03 14:38:05.000', 10.3, 219) ('2018-10-03 14:38:06.000', 10.4, 220)
         d2 using meters tags('LA', 3) values('2018-10-03 14:38:05.000', 11.3, 221)",
    )
    .unwrap();
}

async fn source_task(
    td: &TestServer,
    stored: HashMap<String, OffsetMap>,
    extra: &[(&str, String)],
) -> source::TDengineSourceTask {
    let mut pairs = vec![
        (
            "connection.url",
            format!("jdbc:TAOS-WS://127.0.0.1:{}", td.port),
        ),
        ("connection.database", "test".to_string()),
        ("topic.prefix", "td".to_string()),
        ("read.method", "query".to_string()),
        ("poll.interval.ms", "0".to_string()),
        ("tables", "meters".to_string()),
    ];
    pairs.extend(extra.iter().cloned());
    let mut t = source::TDengineSourceTask::default();
    t.start(SourceTaskContext {
        configs: raw(&pairs),
        offsets: Arc::new(Offsets(stored)),
    })
    .await
    .unwrap();
    t
}

/// S7/S11: offsets `{}` for the first of two rows sharing a timestamp, then each row's own;
/// `fetch.max.rows` bounds a poll; a task resuming from a stored offset reads only later rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn source_offsets_and_resume() {
    let td = TestServer::start(0).unwrap();
    seed(&td);
    let mut t = source_task(&td, HashMap::new(), &[("fetch.max.rows", "2".into())]).await;
    let first = t.poll().await.unwrap();
    let second = t.poll().await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(second.len(), 1);
    assert_eq!(&*first[0].record.topic, "td-test-meters");
    assert!(first[0].source_offset.is_empty());
    let at5 = offsets::to_map(Some(1_538_577_485_000_000_000));
    assert_eq!(first[1].source_offset, at5);
    assert_eq!(
        second[0].source_offset,
        offsets::to_map(Some(1_538_577_486_000_000_000))
    );
    assert_eq!(
        second[0].record.value,
        Value::from(
            "meters,location=\"SF\",groupid=2 current=10.4f32,voltage=220i32 1538577486000000000"
        )
    );
    assert_eq!(*first[0].source_partition, offsets::partition("meters"));

    // Resume after 05.000: only the 06.000 row.
    let stored = HashMap::from([("meters".to_string(), at5)]);
    let mut t = source_task(&td, stored, &[]).await;
    let again = t.poll().await.unwrap();
    assert_eq!(again.len(), 1);
    assert!(again[0]
        .record
        .value
        .as_str()
        .unwrap()
        .contains("current=10.4f32"));

    // timestamp.initial bounds the first query (exclusive).
    let mut t = source_task(
        &td,
        HashMap::new(),
        &[("timestamp.initial", "2018-10-03 14:38:05".into())],
    )
    .await;
    let bounded = t.poll().await.unwrap();
    assert_eq!(bounded.len(), 1);

    // query.interval.ms windows: the first window starts 1 ms before first(_c0).
    let mut t = source_task(&td, HashMap::new(), &[("query.interval.ms", "500".into())]).await;
    let w1 = t.poll().await.unwrap();
    assert_eq!(w1.len(), 2, "the 05.000 rows");
}

/// A source query against a dead taosAdapter returns nothing and keeps the offset; once the
/// server is back the rows come, from the same place.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn source_outage_resumes_from_the_same_offset() {
    let mut td = TestServer::start(0).unwrap();
    seed(&td);
    let mut t = source_task(&td, HashMap::new(), &[("fetch.max.rows", "1".into())]).await;
    let first = t.poll().await.unwrap();
    assert_eq!(first.len(), 1);
    // The rest of that result is buffered; drain it, then go down.
    let mut seen = first.len();
    while seen < 3 {
        seen += t.poll().await.unwrap().len();
    }
    td.kill();
    assert!(t.poll().await.unwrap().is_empty());
    assert!(t.poll().await.unwrap().is_empty());
    td.restart().unwrap();
    td.sql(
        Some("test"),
        "insert into d2 values('2018-10-03 14:38:07.000', 12.0, 222)",
    )
    .unwrap();
    let mut again = Vec::new();
    for _ in 0..20 {
        again.extend(t.poll().await.unwrap());
        if !again.is_empty() {
            break;
        }
    }
    assert_eq!(again.len(), 1);
    let text = again[0].record.value.as_str().unwrap();
    assert!(text.contains("current=12.0f32"), "{text}");
}

/// Bad input at source start: an unknown or empty database, bad credentials, an unreachable
/// taosAdapter; each a clear error naming the key, never the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn source_connector_start_errors() {
    use sluice_api::connector::{Connector, ConnectorContext};
    struct Nop;
    impl ConnectorContext for Nop {
        fn request_task_reconfiguration(&self) {}
        fn raise_error(&self, _: ConnectError) {}
    }
    let mut td = TestServer::start(0).unwrap();
    seed(&td);
    let start = |db: &str, pw: &str, port: u16| {
        let cfg = raw(&[
            ("connection.url", format!("jdbc:TAOS-RS://127.0.0.1:{port}")),
            ("connection.database", db.to_string()),
            ("connection.password", pw.to_string()),
            ("connection.attempts", "2".to_string()),
            ("connection.backoff.ms", "10".to_string()),
            ("topic.prefix", "td".to_string()),
            ("read.method", "query".to_string()),
        ]);
        async move {
            let mut c = source::TDengineSourceConnector::default();
            let r = c.start(&cfg, Arc::new(Nop)).await;
            let tasks = if r.is_ok() {
                c.task_configs(3).await.unwrap()
            } else {
                Vec::new()
            };
            let _ = c.stop().await;
            (r, tasks)
        }
    };
    let (ok, tasks) = start("test", "taosdata", td.port).await;
    ok.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["tables"], "meters");

    let e = start("nope", "taosdata", td.port).await.0.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.to_string()
            .starts_with("connection.database 'nope' does not exist"),
        "{e}"
    );
    let e = start("", "taosdata", td.port).await.0.unwrap_err();
    assert!(
        e.to_string().starts_with("connection.database is empty"),
        "{e}"
    );
    let e = start("test", "wrong-pw-123", td.port).await.0.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(!e.to_string().contains("wrong-pw-123"), "{e}");
    let port = td.port;
    td.kill();
    let e = start("test", "taosdata", port).await.0.unwrap_err();
    assert!(e.to_string().contains("unreachable"), "{e}");
}

async fn subscription_task(
    td: &TestServer,
    extra: &[(&str, String)],
) -> sluice_api::Result<source::TDengineSourceTask> {
    let mut pairs = vec![
        (
            "connection.url",
            format!("jdbc:TAOS-WS://127.0.0.1:{}", td.port),
        ),
        ("connection.database", "test".to_string()),
        ("topic.prefix", "td".to_string()),
        ("subscription.group.id", "g1".to_string()),
        ("subscription.from", "earliest".to_string()),
        ("poll.interval.ms", "0".to_string()),
        ("tables", "meters".to_string()),
    ];
    pairs.extend(extra.iter().cloned());
    let mut t = source::TDengineSourceTask::default();
    t.start(SourceTaskContext {
        configs: raw(&pairs),
        offsets: Arc::new(Offsets(HashMap::new())),
    })
    .await?;
    Ok(t)
}

/// Polls until `n` records came or 10 s passed.
async fn poll_n(
    t: &mut source::TDengineSourceTask,
    n: usize,
) -> Vec<sluice_api::record::SourceRecord> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut out = Vec::new();
    while out.len() < n && std::time::Instant::now() < deadline {
        out.extend(t.poll().await.unwrap());
    }
    out
}

/// S9 without Kafka: the default read method creates the TMQ topic, publishes Java's
/// records (`data.precision` decides the timestamp unit), and commits the group's TMQ offset
/// only for records the runtime handed back as acknowledged; a new task of the group resumes
/// after the committed offset, so unacknowledged rows come again (at-least-once).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn subscription_commits_only_acknowledged_messages() {
    let td = TestServer::start(0).unwrap();
    seed(&td);
    let mut t = subscription_task(&td, &[("data.precision", "ns".into())])
        .await
        .unwrap();
    let committer = t
        .record_committer()
        .expect("subscription mode acknowledges records");
    let got = poll_n(&mut t, 3).await;
    let texts: Vec<&str> = got
        .iter()
        .map(|r| r.record.value.as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        texts,
        [
            "meters,location=\"SF\",groupid=2 current=10.3f32,voltage=219i32 1538577485000000000",
            "meters,location=\"SF\",groupid=2 current=10.4f32,voltage=220i32 1538577486000000000",
            "meters,location=\"LA\",groupid=3 current=11.3f32,voltage=221i32 1538577485000000000",
        ]
    );
    for r in &got {
        assert_eq!(&*r.record.topic, "td-test-meters");
        assert!(r.source_offset.is_empty());
        assert_eq!(*r.source_partition, offsets::partition("meters"));
    }
    // Nothing acknowledged: nothing committed.
    t.commit().await.unwrap();
    assert_eq!(td.tmq_committed("g1", "td-test-meters"), None);
    for r in got {
        committer.commit_record(r, None);
    }
    t.commit().await.unwrap();
    assert_eq!(td.tmq_committed("g1", "td-test-meters"), Some(3));

    // A row now, polled but never acknowledged, then the task stops (a crash).
    td.sql(
        Some("test"),
        "insert into d2 values('2018-10-03 14:38:07.000', 12.5, 222)",
    )
    .unwrap();
    assert_eq!(poll_n(&mut t, 1).await.len(), 1);
    t.stop().await.unwrap();
    assert_eq!(td.tmq_committed("g1", "td-test-meters"), Some(3));

    // The group resumes after the committed offset: only the unacknowledged row, as JSON
    // with millisecond timestamps.
    let mut again = subscription_task(&td, &[("out.format", "json".into())])
        .await
        .unwrap();
    let got = poll_n(&mut again, 1).await;
    assert_eq!(got.len(), 1);
    let Value::Struct(s) = &got[0].record.value else {
        panic!("{:?}", got[0].record.value)
    };
    assert_eq!(s.get("ts"), Some(&Value::Int64(1_538_577_487_000)));
    assert_eq!(s.get("voltage"), Some(&Value::Int32(222)));
    for _ in 0..3 {
        assert!(again.poll().await.unwrap().is_empty());
    }
    again.stop().await.unwrap();
}

/// Subscription-mode start errors: a missing group id (Java's message), bad credentials (a
/// config error naming the keys, without the password).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn subscription_errors() {
    let td = TestServer::start(0).unwrap();
    seed(&td);
    let e = subscription_task(&td, &[("subscription.group.id", "".into())])
        .await
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "subscription.group.id must be set when read.method is subscription"
    );
    // The topic is created at start, over REST: bad credentials fail the start.
    let e = subscription_task(&td, &[("connection.password", "s3cret-pw".into())])
        .await
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.to_string()
            .contains("check connection.user and connection.password"),
        "{e}"
    );
    assert!(!e.to_string().contains("s3cret-pw"));
    // The TMQ endpoint itself refuses bad credentials as an authentication error.
    td.sql(
        Some("test"),
        "create topic if not exists t_auth as select * from meters",
    )
    .unwrap();
    let sub = sluice_connector_tdengine::tmq::Subscription {
        user: "root".into(),
        password: "s3cret-pw".into(),
        group_id: "g".into(),
        offset_reset: "earliest".into(),
        topics: vec!["t_auth".into()],
    };
    let e = sluice_connector_tdengine::tmq::Consumer::subscribe(&td.url(), &sub)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(e, sluice_connector_tdengine::taosadapter::TdError::Auth(_)),
        "{e:?}"
    );
    assert!(!e.to_string().contains("s3cret-pw"));
}
