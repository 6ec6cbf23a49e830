//! The REST API over a real socket against `sluice standalone` processes: every endpoint,
//! success and error paths, bodies compared field by field with Kafka's shapes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{append, consume, free_port, produce, unique, wait_for, Broker, Worker};

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// A string-converter worker file; `bootstrap` may point at nothing for pure REST tests.
fn worker_file(d: &Dir, bootstrap: &str, extra: &str) -> PathBuf {
    d.write(
        "worker.properties",
        &format!(
            "bootstrap.servers={bootstrap}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename={}
offset.flush.interval.ms=500
{extra}
",
            d.path("connect.offsets").display()
        ),
    )
}

const TEST_PLUGINS: &[(&str, &str)] = &[("SLUICE_TEST_PLUGINS", "1")];

fn start(d: &Dir, worker: &Path, env: &[(&str, &str)]) -> Worker {
    let w = Worker::standalone_env(worker, &[], free_port(), &d.path("worker.log"), env);
    w.wait_ready();
    w
}

fn no_broker() -> String {
    format!("127.0.0.1:{}", free_port())
}

fn state(w: &Worker, name: &str) -> Option<(String, Vec<String>)> {
    let s = w.status(name)?;
    let tasks = s["tasks"]
        .as_array()?
        .iter()
        .filter_map(|t| t["state"].as_str().map(str::to_string))
        .collect();
    Some((s["connector"]["state"].as_str()?.to_string(), tasks))
}

fn wait_state(w: &Worker, name: &str, connector: &str, tasks: &[&str]) {
    wait_for(
        &format!("{name} to be {connector} with tasks {tasks:?}"),
        Duration::from_secs(30),
        || {
            state(w, name).is_some_and(|(c, t)| {
                c == connector && t.iter().map(String::as_str).eq(tasks.iter().copied())
            })
        },
    );
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

/// Seed 001's curl sequence, verbatim apart from host and paths.
#[test]
fn seed001_curl_sequence_creates_moves_lines_deletes_and_lists() {
    let broker = Broker::start();
    let d = Dir::new();
    let source = d.path("distribute-source.txt");
    std::fs::write(&source, "").unwrap();
    let w = start(&d, &worker_file(&d, &broker.bootstrap(), ""), &[]);
    let body = format!(
        r#"{{"name":"local-file-distribute-source", "config":{{"topic":"topic-distribute-source","connector.class":"FileStreamSource","key.converter":"org.apache.kafka.connect.storage.StringConverter","value.converter":"org.apache.kafka.connect.storage.StringConverter","converter.internal.key.converter":"org.apache.kafka.connect.storage.StringConverter","converter.internal.value.converter":"org.apache.kafka.connect.storage.StringConverter","file":"{}"}}}}"#,
        source.display()
    );
    let r = w.call(
        "POST",
        "/connectors",
        Some(&body),
        &[
            ("Content-Type", "application/ json"),
            ("Accept", "application/json"),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some(
            format!(
                "http://127.0.0.1:{}/connectors/local-file-distribute-source",
                w.rest_port
            )
            .as_str()
        )
    );
    assert_eq!(keys(&r.json), ["config", "name", "tasks", "type"]);
    assert_eq!(r.json["name"], "local-file-distribute-source");
    assert_eq!(r.json["type"], "source");
    assert_eq!(r.json["config"]["name"], "local-file-distribute-source");
    assert_eq!(r.json["config"]["topic"], "topic-distribute-source");
    assert!(r.json["tasks"].is_array());

    append(&source, "hello\nworld\n");
    let got = consume(
        &broker.bootstrap(),
        "topic-distribute-source",
        2,
        Duration::from_secs(60),
    );
    let values: Vec<&[u8]> = got.iter().filter_map(|c| c.value.as_deref()).collect();
    assert_eq!(values, [b"hello".as_slice(), b"world".as_slice()]);

    // Active topics (KIP-558) were recorded as records flowed.
    let r = w.send(
        "GET",
        "/connectors/local-file-distribute-source/topics",
        None,
    );
    assert_eq!(
        r.json,
        json!({"local-file-distribute-source": {"topics": ["topic-distribute-source"]}})
    );

    let r = w.call(
        "DELETE",
        "/connectors/local-file-distribute-source",
        None,
        &[],
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(r.text, "");
    let r = w.call("GET", "/connectors", None, &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.json, json!([]));
}

#[test]
fn root_health_openapi_and_unknown_routes() {
    let d = Dir::new();
    let w = start(&d, &worker_file(&d, &no_broker(), ""), &[]);
    let r = w.send("GET", "/", None);
    assert_eq!(r.status, 200);
    assert_eq!(keys(&r.json), ["commit", "kafka_cluster_id", "version"]);
    assert_eq!(r.json["version"], "3.9.0");

    wait_for("health", Duration::from_secs(10), || {
        w.send("GET", "/health", None).status == 200
    });
    let r = w.send("GET", "/health", None);
    assert_eq!(
        r.json,
        json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."})
    );

    let r = w.send("GET", "/openapi.json", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json["openapi"], "3.0.3");
    assert!(r.json["paths"]["/connectors/{name}/offsets"]["patch"].is_object());

    w.send("GET", "/no/such/route", None)
        .assert_error(404, "HTTP 404 Not Found");
    w.send("DELETE", "/connectors", None)
        .assert_error(405, "HTTP 405 Method Not Allowed");
    // A malformed body is answered with a JSON error, never a dropped connection.
    let r = w.call(
        "POST",
        "/connectors",
        Some("{not json"),
        &[("Content-Type", "application/json")],
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["error_code"], 400);
    assert!(r.json["message"]
        .as_str()
        .unwrap()
        .starts_with("Cannot deserialize the request body as JSON"));
}

fn test_source(name: &str, extra: Value) -> Value {
    let mut config = json!({"connector.class": "TestSource", "tasks.max": "2"});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    json!({"name": name, "config": config})
}

#[test]
fn connector_lifecycle_and_error_bodies() {
    let d = Dir::new();
    let w = start(&d, &worker_file(&d, &no_broker(), ""), TEST_PLUGINS);
    let name = unique("life");

    // Create, with secrets masked in every response.
    let r = w.send(
        "POST",
        "/connectors",
        Some(test_source(
            &name,
            json!({"secret.password": "s3cret", "provided": "${file:/etc/creds:key}"}),
        )),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["config"]["secret.password"], "[hidden]");
    // Config-provider references are shown as written (as Kafka does): they name where a
    // secret is, not the secret.
    assert_eq!(r.json["config"]["provided"], "${file:/etc/creds:key}");
    assert!(!r.text.contains("s3cret"));

    // Duplicate, mismatch, missing class, invalid config.
    w.send("POST", "/connectors", Some(test_source(&name, json!({}))))
        .assert_error(409, &format!("Connector {name} already exists"));
    w.send(
        "POST",
        "/connectors",
        Some(test_source("a", json!({"name": "b"}))),
    )
    .assert_error(
        400,
        "Connector name configuration (b) doesn't match connector name in the URL (a)",
    );
    w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "x", "config": {"topic": "t"}})),
    )
    .assert_error(
        400,
        "Connector config {name=x, topic=t} contains no connector type",
    );
    let r = w.send(
        "POST",
        "/connectors",
        Some(test_source(
            "bad",
            json!({"tasks.max": "0", "transforms": "t", "transforms.t.type": "NoSuchTransform"}),
        )),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    let msg = r.json["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "Connector configuration is invalid and contains the following 2 error(s):\n"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("Invalid value 0 for configuration tasks.max"),
        "{msg}"
    );
    assert!(msg.ends_with("You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"), "{msg}");

    wait_state(&w, &name, "RUNNING", &["RUNNING", "RUNNING"]);

    // Info, config, tasks, tasks-config, statuses.
    let r = w.send("GET", &format!("/connectors/{name}"), None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json["tasks"],
        json!([{"connector": name, "task": 0}, {"connector": name, "task": 1}])
    );
    let r = w.send("GET", &format!("/connectors/{name}/config"), None);
    assert_eq!(r.json["connector.class"], "TestSource");
    assert_eq!(r.json["name"], name.as_str());
    assert_eq!(r.json["secret.password"], "[hidden]");
    assert_eq!(r.json["provided"], "${file:/etc/creds:key}");
    let r = w.send("GET", &format!("/connectors/{name}/tasks"), None);
    assert_eq!(r.json[1]["id"], json!({"connector": name, "task": 1}));
    assert_eq!(
        r.json[1]["config"]["task.class"],
        "org.sluice.testkit.IdleSourceTask"
    );
    assert_eq!(r.json[1]["config"]["secret.password"], "[hidden]");
    let r = w.send("GET", &format!("/connectors/{name}/tasks-config"), None);
    assert_eq!(keys(&r.json), [format!("{name}-0"), format!("{name}-1")]);
    let r = w.send("GET", &format!("/connectors/{name}/status"), None);
    assert_eq!(keys(&r.json), ["connector", "name", "tasks", "type"]);
    assert_eq!(keys(&r.json["connector"]), ["state", "worker_id"]);
    assert_eq!(
        r.json["connector"]["worker_id"],
        format!("127.0.0.1:{}", w.rest_port)
    );
    let r = w.send("GET", &format!("/connectors/{name}/tasks/1/status"), None);
    assert_eq!(
        r.json,
        json!({"id": 1, "state": "RUNNING", "worker_id": format!("127.0.0.1:{}", w.rest_port)})
    );
    w.send("GET", &format!("/connectors/{name}/tasks/7/status"), None)
        .assert_error(404, &format!("No status found for task {name}-7"));

    // Lists, plain and expanded (repeatable expand).
    let r = w.send("GET", "/connectors", None);
    assert_eq!(r.json, json!([name]));
    let r = w.send("GET", "/connectors?expand=status&expand=info", None);
    assert_eq!(keys(&r.json[&name]), ["info", "status"]);
    assert_eq!(r.json[&name]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(
        r.json[&name]["info"]["config"]["secret.password"],
        "[hidden]"
    );
    let r = w.send("GET", "/connectors?expand=info", None);
    assert_eq!(keys(&r.json[&name]), ["info"]);
    let r = w.send("GET", "/connectors?expand=other", None);
    assert_eq!(r.json, json!({ name.clone(): {} }));

    // Unknown connectors.
    w.send("GET", "/connectors/nope", None)
        .assert_error(404, "Connector nope not found");
    w.send("GET", "/connectors/nope/config", None)
        .assert_error(404, "Connector nope not found");
    w.send("GET", "/connectors/nope/status", None)
        .assert_error(404, "No status found for connector nope");
    w.send("GET", "/connectors/nope/tasks", None)
        .assert_error(404, "Connector nope not found");
    w.send("PUT", "/connectors/nope/pause", None)
        .assert_error(404, "Unknown connector nope");
    w.send("DELETE", "/connectors/nope", None)
        .assert_error(404, "Connector nope not found");
    w.send("PATCH", "/connectors/nope/config", Some(json!({"a": "b"})))
        .assert_error(404, "Connector nope not found");
    w.send("POST", "/connectors/nope/restart", None)
        .assert_error(404, "Connector nope not found");
    w.send("POST", "/connectors/nope/tasks/0/restart", None)
        .assert_error(404, "Connector nope not found");
    w.send("POST", &format!("/connectors/{name}/tasks/9/restart"), None)
        .assert_error(404, &format!("Task {name}-9 not found"));

    // PATCH merges; null removes a key. PUT updates (200) or creates (201).
    let r = w.send(
        "PATCH",
        &format!("/connectors/{name}/config"),
        Some(json!({"provided": null, "tasks.max": 1})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json["config"].get("provided").is_none());
    assert_eq!(r.json["config"]["tasks.max"], "1");
    wait_state(&w, &name, "RUNNING", &["RUNNING"]);
    let mut config = w
        .send("GET", &format!("/connectors/{name}/config"), None)
        .json;
    config["tasks.max"] = json!("2");
    config["secret.password"] = json!("again");
    let r = w.send("PUT", &format!("/connectors/{name}/config"), Some(config));
    assert_eq!(r.status, 200, "{}", r.text);
    let other = unique("put");
    let r = w.send(
        "PUT",
        &format!("/connectors/{other}/config"),
        Some(json!({"connector.class": "TestSource"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r
        .header("location")
        .unwrap()
        .ends_with(&format!("/connectors/{other}")));
    w.send(
        "PUT",
        &format!("/connectors/{other}/config"),
        Some(json!({"connector.class": "TestSource", "name": "zzz"})),
    )
    .assert_error(
        400,
        &format!(
            "Connector name configuration (zzz) doesn't match connector name in the URL ({other})"
        ),
    );

    // Pause, resume, stop (zero tasks), resume a stopped connector.
    wait_state(&w, &name, "RUNNING", &["RUNNING", "RUNNING"]);
    let r = w.send("PUT", &format!("/connectors/{name}/pause"), None);
    assert_eq!((r.status, r.text.as_str()), (202, ""));
    wait_state(&w, &name, "PAUSED", &["PAUSED", "PAUSED"]);
    assert_eq!(
        w.send("PUT", &format!("/connectors/{name}/resume"), None)
            .status,
        202
    );
    wait_state(&w, &name, "RUNNING", &["RUNNING", "RUNNING"]);
    let r = w.send("PUT", &format!("/connectors/{name}/stop"), None);
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    let r = w.send("GET", &format!("/connectors/{name}/status"), None);
    assert_eq!(r.json["connector"]["state"], "STOPPED");
    assert_eq!(r.json["tasks"], json!([]));
    assert_eq!(
        w.send("GET", &format!("/connectors/{name}"), None).json["tasks"],
        json!([])
    );
    assert_eq!(
        w.send("PUT", &format!("/connectors/{name}/resume"), None)
            .status,
        202
    );
    wait_state(&w, &name, "RUNNING", &["RUNNING", "RUNNING"]);

    // Offsets can only change while STOPPED.
    let r = w.send("GET", &format!("/connectors/{name}/offsets"), None);
    assert_eq!(r.json, json!({"offsets": []}));
    w.send(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(json!({"offsets": [{"partition": {"a": 1}, "offset": {"b": 2}}]})),
    )
    .assert_error(400, &format!("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"));
    w.send("DELETE", &format!("/connectors/{name}/offsets"), None)
        .assert_error(400, &format!("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"));
    w.send(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(json!({"offsets": []})),
    )
    .assert_error(
        400,
        "Partitions / offsets need to be provided for an alter offsets request",
    );
    w.send("GET", "/connectors/nope/offsets", None)
        .assert_error(404, "Connector nope not found");

    // Topics: none recorded for a connector that produced nothing; reset answers 202.
    let r = w.send("GET", &format!("/connectors/{name}/topics"), None);
    assert_eq!(r.json, json!({ name.clone(): {"topics": []} }));
    let r = w.send("PUT", &format!("/connectors/{name}/topics/reset"), None);
    assert_eq!(r.status, 202);

    // Delete.
    let r = w.send("DELETE", &format!("/connectors/{name}"), None);
    assert_eq!(r.status, 204);
    w.send("GET", &format!("/connectors/{name}"), None)
        .assert_error(404, &format!("Connector {name} not found"));
}

/// `initial_state: STOPPED` (KIP-980) creates a connector with no tasks whose offsets can be
/// changed at once; a connector that keeps no offsets of its own gets Kafka's
/// "framework-managed" messages.
#[test]
fn initial_state_stopped_and_framework_managed_offsets() {
    let d = Dir::new();
    let w = start(&d, &worker_file(&d, &no_broker(), ""), TEST_PLUGINS);
    let name = unique("stopped");
    let mut body = test_source(&name, json!({}));
    body["initial_state"] = json!("bogus");
    let r = w.send("POST", "/connectors", Some(body.clone()));
    assert_eq!(r.status, 400, "{}", r.text);
    body["initial_state"] = json!("stopped");
    let r = w.send("POST", "/connectors", Some(body));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["tasks"], json!([]));
    let r = w.send("GET", &format!("/connectors/{name}/status"), None);
    assert_eq!(r.json["connector"]["state"], "STOPPED");
    assert_eq!(r.json["tasks"], json!([]));

    let r = w.send(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(json!({"offsets": [{"partition": {"shard": "a"}, "offset": {"seq": 7}}]})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"message": "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses."})
    );
    assert_eq!(
        w.send("GET", &format!("/connectors/{name}/offsets"), None)
            .json,
        json!({"offsets": [{"partition": {"shard": "a"}, "offset": {"seq": 7}}]})
    );
    w.send(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(json!({"offsets": [{"offset": {"seq": 7}}]})),
    )
    .assert_error(400, "Source partitions may not be null");
    let r = w.send("DELETE", &format!("/connectors/{name}/offsets"), None);
    assert_eq!(
        r.json,
        json!({"message": "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses."})
    );
    assert_eq!(
        w.send("GET", &format!("/connectors/{name}/offsets"), None)
            .json,
        json!({"offsets": []})
    );
    assert_eq!(
        w.send("PUT", &format!("/connectors/{name}/resume"), None)
            .status,
        202
    );
    wait_state(&w, &name, "RUNNING", &["RUNNING", "RUNNING"]);
}

#[test]
fn restart_only_failed_touches_only_failed_instances() {
    let d = Dir::new();
    let w = start(&d, &worker_file(&d, &no_broker(), ""), TEST_PLUGINS);
    let name = unique("restart");
    let starts = d.path("starts.txt");
    let r = w.send(
        "POST",
        "/connectors",
        Some(test_source(
            &name,
            json!({"starts.file": starts.display().to_string(), "fail.tasks": "1"}),
        )),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    wait_state(&w, &name, "RUNNING", &["RUNNING", "FAILED"]);
    let failed = w.status(&name).unwrap();
    assert!(failed["tasks"][1]["trace"]
        .as_str()
        .unwrap()
        .contains("fails at start as configured"));
    let count = |what: &str| {
        std::fs::read_to_string(&starts)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == what)
            .count()
    };
    assert_eq!(
        (count("connector"), count("task-0"), count("task-1")),
        (1, 1, 1)
    );

    let r = w.send(
        "POST",
        &format!("/connectors/{name}/restart?includeTasks=true&onlyFailed=true"),
        None,
    );
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json["connector"]["state"], "RUNNING");
    assert_eq!(r.json["tasks"][0]["state"], "RUNNING");
    assert_eq!(r.json["tasks"][1]["state"], "RESTARTING");
    wait_for("task 1 restarted", Duration::from_secs(30), || {
        count("task-1") == 2
    });
    wait_state(&w, &name, "RUNNING", &["RUNNING", "FAILED"]);
    assert_eq!((count("connector"), count("task-0")), (1, 1));

    // Legacy restart: the connector instance only, 204.
    let r = w.send("POST", &format!("/connectors/{name}/restart"), None);
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    wait_for("connector restarted", Duration::from_secs(30), || {
        count("connector") == 2
    });
    assert_eq!(count("task-0"), 1);

    // includeTasks without onlyFailed restarts everything.
    let r = w.send(
        "POST",
        &format!("/connectors/{name}/restart?includeTasks=true"),
        None,
    );
    assert_eq!(r.status, 202);
    assert_eq!(r.json["connector"]["state"], "RESTARTING");
    assert_eq!(r.json["tasks"][0]["state"], "RESTARTING");
    wait_for("all restarted", Duration::from_secs(30), || {
        count("connector") == 3 && count("task-0") == 2 && count("task-1") == 3
    });

    // One task.
    let r = w.send("POST", &format!("/connectors/{name}/tasks/0/restart"), None);
    assert_eq!(r.status, 204);
    wait_for("task 0 restarted", Duration::from_secs(30), || {
        count("task-0") == 3
    });
}

#[test]
fn blocked_connector_start_never_blocks_the_rest_api() {
    let d = Dir::new();
    let w = start(&d, &worker_file(&d, &no_broker(), ""), TEST_PLUGINS);
    let name = unique("blocked");
    let r = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": name, "config": {"connector.class": "BlockingSource"}})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    for _ in 0..5 {
        let t = Instant::now();
        let r = w.send("GET", "/connectors", None);
        assert_eq!(r.status, 200);
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        let r = w.send("GET", &format!("/connectors/{name}/status"), None);
        assert_eq!(r.json["connector"]["state"], "UNASSIGNED");
    }
    // Changes still go through: others can be created, the blocked one deleted.
    let other = unique("other");
    let r = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": other, "config": {"connector.class": "TestSource"}})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let t = Instant::now();
    assert_eq!(
        w.send("DELETE", &format!("/connectors/{name}"), None)
            .status,
        204
    );
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(w.send("GET", "/connectors", None).json, json!([other]));
}

/// A request the herder cannot finish in time answers 500 naming what the worker was doing;
/// reads keep answering meanwhile.
#[test]
fn timed_out_requests_name_what_they_waited_for() {
    let d = Dir::new();
    let worker = worker_file(&d, &no_broker(), "task.shutdown.graceful.timeout.ms=3000");
    let env = [
        ("SLUICE_TEST_PLUGINS", "1"),
        ("SLUICE_REST_REQUEST_TIMEOUT_MS", "300"),
    ];
    let w = start(&d, &worker, &env);
    let name = unique("hangs");
    let r = w.send(
        "POST",
        "/connectors",
        Some(test_source(
            &name,
            json!({"stop.hangs": "true", "tasks.max": "1"}),
        )),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    wait_state(&w, &name, "RUNNING", &["RUNNING"]);
    let t = Instant::now();
    let r = w.send("DELETE", &format!("/connectors/{name}"), None);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(r.status, 500, "{}", r.text);
    assert_eq!(r.json["error_code"], 500);
    let msg = r.json["message"].as_str().unwrap();
    assert!(
        msg.starts_with(&format!(
            "Request timed out. The worker is currently stopping connector {name} to delete it, which began at "
        )),
        "{msg}"
    );
    assert!(
        msg.ends_with(&format!("The request was to delete connector {name}.")),
        "{msg}"
    );
    let t = Instant::now();
    assert_eq!(w.send("GET", "/connectors", None).status, 200);
    assert!(t.elapsed() < Duration::from_secs(1));
    // The delete still completes once the connector's stop() is abandoned.
    wait_for(
        "the connector to be deleted",
        Duration::from_secs(30),
        || w.send("GET", "/connectors", None).json == json!([]),
    );
}

#[test]
fn plugins_and_validation() {
    let d = Dir::new();
    let w = start(&d, &worker_file(&d, &no_broker(), ""), &[]);
    let r = w.send("GET", "/connector-plugins", None);
    // Other built-in connector families are listed too: sinks first, then sources.
    let listed = r.json.as_array().unwrap();
    let file: Vec<&serde_json::Value> = listed
        .iter()
        .filter(|p| {
            p["class"]
                .as_str()
                .is_some_and(|c| c.starts_with("org.apache.kafka.connect.file."))
        })
        .collect();
    assert_eq!(
        json!(file),
        json!([
            {"class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "type": "sink", "version": "3.9.0"},
            {"class": "org.apache.kafka.connect.file.FileStreamSourceConnector", "type": "source", "version": "3.9.0"}
        ])
    );
    assert!(listed.iter().any(|p| p["class"]
        == "io.debezium.connector.postgresql.PostgresConnector"
        && p["type"] == "source"));
    let types: Vec<&str> = listed.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert!(types.windows(2).all(|w| w[0] <= w[1]), "{types:?}");
    let r = w.send("GET", "/connector-plugins?connectorsOnly=false", None);
    let all = r.json.as_array().unwrap();
    let kinds: Vec<&str> = all.iter().map(|p| p["type"].as_str().unwrap()).collect();
    let mut order = kinds.clone();
    order.dedup();
    assert_eq!(
        order,
        [
            "sink",
            "source",
            "transformation",
            "predicate",
            "converter",
            "header_converter"
        ]
    );
    assert!(all
        .iter()
        .any(|p| p["class"] == "org.apache.kafka.connect.transforms.Filter"));
    assert!(all.iter().any(
        |p| p["class"] == "org.apache.kafka.connect.json.JsonConverter" && p["type"] == "converter"
    ));

    let r = w.send("GET", "/connector-plugins/FileStreamSink/config", None);
    assert_eq!(r.status, 200);
    let first = &r.json[0];
    assert_eq!(
        keys(first),
        [
            "default_value",
            "dependents",
            "display_name",
            "documentation",
            "group",
            "importance",
            "name",
            "order",
            "required",
            "type",
            "width"
        ]
    );
    assert!(r
        .json
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["name"] == "topics"));
    w.send("GET", "/connector-plugins/Nope/config", None)
        .assert_error(404, "Unknown plugin Nope.");

    let r = w.send(
        "PUT",
        "/connector-plugins/FileStreamSinkConnector/config/validate",
        Some(json!({"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "tasks.max": "0"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(keys(&r.json), ["configs", "error_count", "groups", "name"]);
    assert_eq!(
        r.json["name"],
        "org.apache.kafka.connect.file.FileStreamSinkConnector"
    );
    let errors: Vec<(String, Value)> = r.json["configs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["value"]["errors"].as_array().unwrap().is_empty())
        .map(|c| {
            (
                c["value"]["name"].as_str().unwrap().to_string(),
                c["value"]["errors"].clone(),
            )
        })
        .collect();
    // As Kafka: the missing name, tasks.max, and topics/topics.regex (reported on both).
    assert_eq!(r.json["error_count"], 4, "{errors:?}");
    assert_eq!(
        errors[0],
        (
            "name".to_string(),
            json!(["Missing required configuration \"name\" which has no default value."])
        )
    );
    let topics = r.json["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"]["name"] == "topics")
        .unwrap();
    assert_eq!(
        keys(&topics["value"]),
        ["errors", "name", "recommended_values", "value", "visible"]
    );
    assert_eq!(
        topics["value"]["errors"],
        json!(["Must configure one of topics or topics.regex"])
    );
    assert_eq!(topics["definition"]["type"], "LIST");
    // Config-provider references are echoed back as written, never resolved.
    let r = w.send(
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        Some(
            json!({"connector.class": "FileStreamSink", "topics": "t", "file": "${file:/s:path}"}),
        ),
    );
    let file = r.json["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"]["name"] == "file")
        .unwrap();
    assert_eq!(file["value"]["value"], "${file:/s:path}");
    w.send(
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        Some(json!({"connector.class": "FileStreamSink"})),
    )
    .assert_error(
        400,
        "Included connector type FileStreamSink does not match request type FileStreamSource",
    );
}

#[test]
fn admin_loggers_change_levels_at_run_time() {
    let d = Dir::new();
    let w = start(&d, &worker_file(&d, &no_broker(), ""), &[]);
    let r = w.send("GET", "/admin/loggers", None);
    assert_eq!(
        r.json["root"],
        json!({"level": "INFO", "last_modified": null})
    );
    let r = w.send(
        "PUT",
        "/admin/loggers/sluice_runtime",
        Some(json!({"level": "debug"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!(["sluice_runtime"]));
    let r = w.send("GET", "/admin/loggers/sluice_runtime", None);
    assert_eq!(r.json["level"], "DEBUG");
    assert!(r.json["last_modified"].as_i64().unwrap() > 0);
    w.send("GET", "/admin/loggers/no.such", None)
        .assert_error(404, "Logger no.such not found.");
    w.send("PUT", "/admin/loggers/x", Some(json!({"level": "LOUD"})))
        .assert_error(404, "invalid log level 'LOUD'.");
    w.send("PUT", "/admin/loggers/x", Some(json!({})))
        .assert_error(
            400,
            "Desired 'level' parameter was not specified in request.",
        );
    let r = w.send(
        "PUT",
        "/admin/loggers/root?scope=cluster",
        Some(json!({"level": "WARN"})),
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        w.send("GET", "/admin/loggers/sluice_runtime", None).json["level"],
        "WARN"
    );
}

#[test]
fn topic_tracking_can_be_disabled() {
    let d = Dir::new();
    let w = start(
        &d,
        &worker_file(&d, &no_broker(), "topic.tracking.allow.reset=false"),
        &[],
    );
    let r = w.send("GET", "/connectors/x/topics", None);
    assert_eq!(r.json, json!({"x": {"topics": []}}));
    w.send("PUT", "/connectors/x/topics/reset", None)
        .assert_error(403, "Topic tracking reset is disabled.");
    let d2 = Dir::new();
    let w2 = start(
        &d2,
        &worker_file(&d2, &no_broker(), "topic.tracking.enable=false"),
        &[],
    );
    w2.send("GET", "/connectors/x/topics", None)
        .assert_error(403, "Topic tracking is disabled.");
    w2.send("PUT", "/connectors/x/topics/reset", None)
        .assert_error(403, "Topic tracking is disabled.");
}

#[test]
fn rest_created_connectors_survive_a_restart_and_files_win() {
    let d = Dir::new();
    let worker = worker_file(&d, &no_broker(), "");
    let mut w = start(&d, &worker, TEST_PLUGINS);
    for (name, state) in [("kept", "PAUSED"), ("replaced", "RUNNING")] {
        let mut body = test_source(name, json!({"tasks.max": "1"}));
        body["initial_state"] = json!(state);
        assert_eq!(w.send("POST", "/connectors", Some(body)).status, 201);
    }
    wait_state(&w, "kept", "PAUSED", &["PAUSED"]);
    assert!(w.terminate().success());

    let file = d.write(
        "replaced.properties",
        "name=replaced\nconnector.class=TestSource\ntasks.max=2\n",
    );
    let w = Worker::standalone_env(
        &worker,
        &[&file],
        free_port(),
        &d.path("worker-2.log"),
        TEST_PLUGINS,
    );
    w.wait_ready();
    wait_state(&w, "kept", "PAUSED", &["PAUSED"]);
    wait_state(&w, "replaced", "RUNNING", &["RUNNING", "RUNNING"]);
    assert_eq!(
        w.send("GET", "/connectors", None).json,
        json!(["kept", "replaced"])
    );
}

fn file_source(name: &str, file: &Path, topic: &str) -> Value {
    json!({"name": name, "config": {
        "connector.class": "FileStreamSource", "file": file.display().to_string(), "topic": topic}})
}

/// KIP-875 for a source: stop, rewind to position 0, resume, every line is produced again.
#[test]
fn kip875_source_offsets_rewind_replays_every_line() {
    let broker = Broker::start();
    let d = Dir::new();
    let w = start(&d, &worker_file(&d, &broker.bootstrap(), ""), &[]);
    let name = unique("src");
    let topic = unique("src-topic");
    let file = d.write("in.txt", "a\nbb\nccc\n");
    assert_eq!(
        w.send(
            "POST",
            "/connectors",
            Some(file_source(&name, &file, &topic))
        )
        .status,
        201
    );
    assert_eq!(
        consume(&broker.bootstrap(), &topic, 3, Duration::from_secs(60)).len(),
        3
    );
    let path = file.display().to_string();
    wait_for("offsets committed", Duration::from_secs(30), || {
        w.send("GET", &format!("/connectors/{name}/offsets"), None)
            .json
            == json!({"offsets": [{"partition": {"filename": path}, "offset": {"position": 9}}]})
    });
    assert_eq!(
        w.send("PUT", &format!("/connectors/{name}/stop"), None)
            .status,
        204
    );
    let r = w.send(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(json!({"offsets": [{"partition": {"filename": path}, "offset": {"position": 0}}]})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"message": "The offsets for this connector have been altered successfully"})
    );
    assert_eq!(
        w.send("GET", &format!("/connectors/{name}/offsets"), None)
            .json["offsets"][0]["offset"],
        json!({"position": 0})
    );
    assert_eq!(
        w.send("PUT", &format!("/connectors/{name}/resume"), None)
            .status,
        202
    );
    let all = consume(&broker.bootstrap(), &topic, 6, Duration::from_secs(60));
    let values: Vec<&[u8]> = all.iter().filter_map(|c| c.value.as_deref()).collect();
    assert_eq!(
        values,
        [b"a".as_slice(), b"bb", b"ccc", b"a", b"bb", b"ccc"]
    );

    // DELETE resets every partition: stop, reset, the offsets are gone.
    assert_eq!(
        w.send("PUT", &format!("/connectors/{name}/stop"), None)
            .status,
        204
    );
    let r = w.send("DELETE", &format!("/connectors/{name}/offsets"), None);
    assert_eq!(
        r.json,
        json!({"message": "The offsets for this connector have been reset successfully"})
    );
    assert_eq!(
        w.send("GET", &format!("/connectors/{name}/offsets"), None)
            .json,
        json!({"offsets": []})
    );
}

/// KIP-875 for a sink: stop, reset its partition to offset 0, resume, records are re-consumed.
#[test]
fn kip875_sink_offsets_rewind_reconsumes() {
    let broker = Broker::start();
    let d = Dir::new();
    let topic = unique("sink-topic");
    produce(
        &broker.bootstrap(),
        &topic,
        &[b"one".to_vec(), b"two".to_vec(), b"three".to_vec()],
    );
    let w = start(&d, &worker_file(&d, &broker.bootstrap(), ""), &[]);
    let name = unique("snk");
    let out = d.path("out.txt");
    let r = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": name, "config": {
            "connector.class": "FileStreamSink", "file": out.display().to_string(), "topics": topic}})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let lines = || std::fs::read_to_string(&out).unwrap_or_default();
    wait_for("3 lines in the sink file", Duration::from_secs(60), || {
        lines() == "one\ntwo\nthree\n"
    });
    wait_for("sink offsets committed", Duration::from_secs(60), || {
        w.send("GET", &format!("/connectors/{name}/offsets"), None)
            .json
            == json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 3}}]})
    });
    let r = w.send("GET", &format!("/connectors/{name}/topics"), None);
    assert_eq!(r.json, json!({ name.clone(): {"topics": [topic]} }));

    assert_eq!(
        w.send("PUT", &format!("/connectors/{name}/stop"), None)
            .status,
        204
    );
    w.send(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(json!({"offsets": [{"partition": {"kafka_topic": topic}, "offset": {"kafka_offset": 0}}]})),
    )
    .assert_error(400, "The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'");
    w.send(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": "x"}, "offset": {"kafka_offset": 0}}]})),
    )
    .assert_error(400, "Failed to parse the following Kafka partition value in the provided offsets: 'x'. Partition values for sink connectors need to be integers.");
    let r = w.send(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": "0"}, "offset": {"kafka_offset": "0"}}]})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"message": "The offsets for this connector have been altered successfully"})
    );
    assert_eq!(
        w.send("GET", &format!("/connectors/{name}/offsets"), None)
            .json["offsets"][0]["offset"],
        json!({"kafka_offset": 0})
    );
    assert_eq!(
        w.send("PUT", &format!("/connectors/{name}/resume"), None)
            .status,
        202
    );
    wait_for(
        "the records consumed again",
        Duration::from_secs(60),
        || lines() == "one\ntwo\nthree\none\ntwo\nthree\n",
    );

    // DELETE deletes the consumer group.
    wait_for("offsets committed again", Duration::from_secs(60), || {
        w.send("GET", &format!("/connectors/{name}/offsets"), None)
            .json["offsets"][0]["offset"]
            == json!({"kafka_offset": 3})
    });
    assert_eq!(
        w.send("PUT", &format!("/connectors/{name}/stop"), None)
            .status,
        204
    );
    let r = w.send("DELETE", &format!("/connectors/{name}/offsets"), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"message": "The offsets for this connector have been reset successfully"})
    );
    assert_eq!(
        w.send("GET", &format!("/connectors/{name}/offsets"), None)
            .json,
        json!({"offsets": []})
    );
}

#[test]
fn validate_names_transform_and_converter_config_errors() {
    let d = Dir::new();
    let w = start(&d, &worker_file(&d, &no_broker(), ""), &[]);
    let r = w.send(
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        Some(json!({
            "connector.class": "FileStreamSink",
            "name": "v",
            "topics": "t",
            "transforms": "route",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": "(unclosed",
            "transforms.route.replacement": "x",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.decimal.format": "ROMAN"
        })),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json["error_count"].as_u64().unwrap() >= 2, "{}", r.json);
    let errors_of = |key: &str| -> Vec<String> {
        r.json["configs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["value"]["name"] == key)
            .flat_map(|c| c["value"]["errors"].as_array().unwrap().clone())
            .map(|e| e.as_str().unwrap().to_string())
            .collect()
    };
    let transform_errors: Vec<String> = ["transforms.route.regex", "transforms.route.type"]
        .iter()
        .flat_map(|k| errors_of(k))
        .collect();
    assert!(
        transform_errors.iter().any(|e| e.contains("regex")),
        "the bad regex is reported on the transform's keys: {transform_errors:?}\n{}",
        r.json
    );
    let converter_errors = errors_of("value.converter");
    assert!(
        converter_errors
            .iter()
            .any(|e| e.contains("decimal.format") && e.contains("ROMAN")),
        "the converter error names its key and value: {converter_errors:?}"
    );
    // The same config is refused at create time, naming the same keys.
    let r = w.send(
        "PUT",
        "/connectors/v/config",
        Some(json!({
            "connector.class": "FileStreamSink",
            "topics": "t",
            "transforms": "route",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": "(unclosed",
            "transforms.route.replacement": "x",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.decimal.format": "ROMAN"
        })),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    let msg = r.json["message"].as_str().unwrap();
    assert!(
        msg.contains("decimal.format") && msg.contains("ROMAN"),
        "{msg}"
    );
    assert!(msg.contains("regex"), "{msg}");
}

/// `request_task_reconfiguration` in standalone mode: the test connector asks for it when its
/// `tasks.file` changes; the worker calls `task_configs` again and, since they changed,
/// replaces the tasks (more, then fewer) without restarting the connector.
#[test]
fn standalone_connector_requests_task_reconfiguration() {
    let d = Dir::new();
    let w = start(&d, &worker_file(&d, &no_broker(), ""), TEST_PLUGINS);
    let name = unique("reconf");
    let tasks_file = d.write("tasks.txt", "1");
    let starts = d.path("starts.txt");
    let r = w.send(
        "POST",
        "/connectors",
        Some(test_source(
            &name,
            json!({"tasks.max": "5", "tasks.file": tasks_file.display().to_string(),
                   "starts.file": starts.display().to_string()}),
        )),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    wait_state(&w, &name, "RUNNING", &["RUNNING"]);
    let contents = |w: &Worker| -> Vec<Value> {
        w.send("GET", &format!("/connectors/{name}/tasks"), None)
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["config"]["tasks.file.content"].clone())
            .collect()
    };
    assert_eq!(contents(&w), [json!("1")]);

    std::fs::write(&tasks_file, "3").unwrap();
    wait_state(&w, &name, "RUNNING", &["RUNNING", "RUNNING", "RUNNING"]);
    assert_eq!(contents(&w), [json!("3"), json!("3"), json!("3")]);
    let count = |what: &str| {
        std::fs::read_to_string(&starts)
            .unwrap()
            .lines()
            .filter(|l| *l == what)
            .count()
    };
    assert_eq!(count("connector"), 1, "the connector was not restarted");
    assert_eq!(count("task-0"), 2, "task 0 got its new config");
    assert_eq!((count("task-1"), count("task-2")), (1, 1));

    std::fs::write(&tasks_file, "2").unwrap();
    wait_state(&w, &name, "RUNNING", &["RUNNING", "RUNNING"]);
    assert_eq!(contents(&w), [json!("2"), json!("2")]);
    assert_eq!(count("connector"), 1);
}
