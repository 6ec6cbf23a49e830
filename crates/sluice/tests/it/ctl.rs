//! Issue 19: `sluice ctl` against real `sluice standalone` and `sluice distributed` workers:
//! every verb, outputs compared exactly.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{free_port, unique, wait_for, Broker, Worker};

/// What a `sluice ctl` run printed.
#[derive(Debug)]
struct Run {
    code: i32,
    out: String,
    err: String,
}

struct Ctl {
    config: PathBuf,
}

impl Ctl {
    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("ctl")
            .args(args)
            .env("SLUICE_CTL_CONFIG", &self.config)
            .output()
            .expect("sluice ctl runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and expects success with exactly `expected` on stdout.
    fn ok(&self, args: &[&str], expected: &str) {
        let r = self.run(args);
        assert_eq!(
            (r.code, r.out.as_str()),
            (0, expected),
            "sluice ctl {args:?}; stderr: {}",
            r.err
        );
    }

    /// Runs and expects success; returns stdout.
    fn out(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "sluice ctl {args:?}; stderr: {}", r.err);
        r.out
    }
}

fn connector_state(w: &Worker, name: &str) -> Option<(String, Vec<String>)> {
    let s = w.status(name)?;
    let c = s["connector"]["state"].as_str()?.to_string();
    let t = s["tasks"]
        .as_array()?
        .iter()
        .filter_map(|t| t["state"].as_str().map(str::to_string))
        .collect();
    Some((c, t))
}

fn wait_state(w: &Worker, name: &str, state: &str, tasks: usize) {
    wait_for(
        &format!("{name} {state} with {tasks} task(s) {state}"),
        Duration::from_secs(60),
        || {
            connector_state(w, name).is_some_and(|(c, t)| {
                c == state && t.len() == tasks && t.iter().all(|s| s == state)
            })
        },
    );
}

/// Columns left-aligned, three spaces apart, no trailing blanks (ctl's table layout).
fn table(headers: &[&str], rows: &[&[&str]]) -> String {
    let mut all: Vec<Vec<&str>> = vec![headers.to_vec()];
    all.extend(rows.iter().map(|r| r.to_vec()));
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    all.iter()
        .map(|r| {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:w$}", w = widths[i]))
                .collect();
            line.join("   ").trim_end().to_string() + "\n"
        })
        .collect()
}

/// Every verb against one worker. `files` is a directory for connector files; `source` the
/// file the source reads; `topic` its topic.
fn exercise(w: &Worker, ctl: &Ctl, files: &Path, source: &Path, topic: &str) {
    let me = w.worker_id();
    // Contexts: with the suite's HTTPS and Basic auth (SLUICE_IT_REST=https-basic), the
    // context carries the CA and the credentials.
    let url = w.url("");
    let mut it = vec!["config", "set-context", "it", "--cluster", &url];
    let ca = w.rest_ca.as_ref().map(|c| c.display().to_string());
    if let Some(ca) = &ca {
        it.extend(["--truststore", ca.as_str()]);
    }
    if let Some((u, p)) = &w.credentials {
        it.extend(["--username", u.as_str(), "--password", p.as_str()]);
    }
    ctl.ok(&it, "Using context it\n");
    ctl.ok(
        &[
            "config",
            "set-context",
            "other",
            "--cluster",
            "http://127.0.0.1:1",
            "--username",
            "u",
            "--password",
            "p",
        ],
        "Using context other\n",
    );
    ctl.ok(&["config", "use-context", "it"], "Using context it\n");
    ctl.ok(&["config", "current-context"], "it\n");
    let user = w.credentials.as_ref().map_or("", |(u, _)| u.as_str());
    ctl.ok(
        &["config", "get-contexts"],
        &table(
            &["CURRENT", "NAME", "CLUSTER", "USERNAME"],
            &[
                &["*", "it", &url, user],
                &["", "other", "http://127.0.0.1:1", "u"],
            ],
        ),
    );
    // The other context's cluster does not answer: a clear error, non-zero exit.
    let r = ctl.run(&["--context", "other", "get", "connectors"]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.starts_with("Error: cannot reach http://127.0.0.1:1"),
        "{}",
        r.err
    );

    // info.
    let root = w.get("/").unwrap().1;
    ctl.ok(
        &["info"],
        &format!(
            "URL:               {url}\nVersion:           3.9.0\nCommit:            {}\nKafka Cluster ID:  {}\n",
            root["commit"].as_str().unwrap(),
            root["kafka_cluster_id"].as_str().unwrap()
        ),
    );

    // apply: .properties, then JSON; create, update; dry runs.
    let src = files.join("src.properties");
    std::fs::write(
        &src,
        format!(
            "name=src\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic={topic}\n",
            source.display()
        ),
    )
    .unwrap();
    let sink_file = files.join("sink.txt");
    let snk = files.join("snk.json");
    std::fs::write(
        &snk,
        serde_json::to_string_pretty(&json!({"name": "snk", "config": {
            "connector.class": "FileStreamSink", "tasks.max": "1",
            "file": sink_file.display().to_string(), "topics": topic}}))
        .unwrap(),
    )
    .unwrap();
    // A fresh distributed worker answers 409 until it leads its group.
    wait_for("the first apply", Duration::from_secs(60), || {
        let r = ctl.run(&["apply", "-f", src.to_str().unwrap()]);
        if r.code == 0 {
            assert_eq!(r.out, "Created connector src\n");
            true
        } else {
            assert!(r.err.contains("(HTTP 409)"), "{}", r.err);
            false
        }
    });
    ctl.ok(
        &["apply", "-f", src.to_str().unwrap()],
        "Updated connector src\n",
    );
    ctl.ok(
        &["apply", "-f", snk.to_str().unwrap()],
        "Created connector snk\n",
    );
    ctl.ok(
        &["apply", "--dry-run", "-f", snk.to_str().unwrap()],
        "Connector snk is valid\n",
    );
    let bad = files.join("bad.properties");
    std::fs::write(
        &bad,
        "name=bad\nconnector.class=FileStreamSink\ntasks.max=many\n",
    )
    .unwrap();
    let r = ctl.run(&["apply", "--dry-run", "-f", bad.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.out,
        "Connector bad has 3 error(s):\n  tasks.max: Invalid value many for configuration tasks.max: Not a number of type INT\n  topics: Must configure one of topics or topics.regex\n  topics.regex: Must configure one of topics or topics.regex\n"
    );
    assert_eq!(r.err, "Error: validation of connector bad failed\n");
    wait_state(w, "src", "RUNNING", 1);
    wait_state(w, "snk", "RUNNING", 1);
    wait_for(
        "the sink to write the lines",
        Duration::from_secs(60),
        || std::fs::read_to_string(&sink_file).is_ok_and(|t| t.lines().count() >= 3),
    );

    // get.
    ctl.ok(
        &["get", "connectors"],
        "NAME   TYPE     STATE     TASKS\nsnk    sink     RUNNING   0: RUNNING\nsrc    source   RUNNING   0: RUNNING\n",
    );
    ctl.ok(
        &["get", "connectors", "-e", "sr."],
        "NAME   TYPE     STATE     TASKS\nsrc    source   RUNNING   0: RUNNING\n",
    );
    let listed: Value =
        serde_json::from_str(&ctl.out(&["get", "connectors", "-o", "json"])).unwrap();
    let served = w.get("/connectors?expand=status&expand=info").unwrap().1;
    assert_eq!(listed, served);
    let plugins = w.get("/connector-plugins?connectorsOnly=false").unwrap().1;
    let mut rows: Vec<(String, String, String)> = plugins
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "source")
        .map(|p| {
            (
                "source".to_string(),
                p["class"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    let rows: Vec<[&str; 3]> = rows
        .iter()
        .map(|(t, c, v)| [t.as_str(), c.as_str(), v.as_str()])
        .collect();
    let rows: Vec<&[&str]> = rows.iter().map(|r| &r[..]).collect();
    ctl.ok(
        &["get", "plugins", "-t", "source"],
        &table(&["TYPE", "CLASS", "VERSION"], &rows),
    );
    let loggers = w.get("/admin/loggers").unwrap().1;
    let loggers = loggers.as_object().unwrap();
    let rows: Vec<[&str; 2]> = loggers
        .iter()
        .map(|(n, l)| [n.as_str(), l["level"].as_str().unwrap()])
        .collect();
    let rows: Vec<&[&str]> = rows.iter().map(|r| &r[..]).collect();
    ctl.ok(&["get", "loggers"], &table(&["LOGGER", "LEVEL"], &rows));

    // describe: text and JSON.
    let cfg_src = w.get("/connectors/src/config").unwrap().1;
    let cfg_src = cfg_src.as_object().unwrap();
    let kw = cfg_src.keys().map(String::len).max().unwrap();
    let mut expected = format!(
        "Name:        src\nType:        source\nState:       RUNNING\nWorker ID:   {me}\nConfig:\n"
    );
    let mut keys: Vec<&String> = cfg_src.keys().collect();
    keys.sort();
    for k in keys {
        expected.push_str(&format!(
            "  {k}{}   {}\n",
            " ".repeat(kw - k.len()),
            cfg_src[k].as_str().unwrap()
        ));
    }
    expected.push_str(&format!(
        "Tasks:\n  0:\n    State:       RUNNING\n    Worker ID:   {me}\nTopics:\n  {topic}\n"
    ));
    wait_for("src's topic to be active", Duration::from_secs(30), || {
        ctl.out(&["describe", "connector", "src"]) == expected
    });
    let d: Value =
        serde_json::from_str(&ctl.out(&["describe", "connector", "snk", "-o", "json"])).unwrap();
    assert_eq!(
        d,
        json!({"name": "snk", "type": "sink", "state": "RUNNING", "worker_id": me,
               "config": w.get("/connectors/snk/config").unwrap().1,
               "tasks": [{"id": 0, "state": "RUNNING", "worker_id": me}],
               "topics": [topic]})
    );
    let y = ctl.out(&["describe", "connector", "snk", "-o", "yaml"]);
    assert!(
        y.starts_with(&format!(
            "name: snk\ntype: sink\nstate: RUNNING\nworker_id: \"{me}\"\nconfig:\n"
        )),
        "{y}"
    );
    assert!(y.ends_with(&format!("tasks:\n  - id: 0\n    state: RUNNING\n    worker_id: \"{me}\"\ntopics:\n  - {topic}\n")), "{y}");

    // patch.
    ctl.ok(
        &["patch", "connector", "src", "-s", "batch.size=50"],
        "Patched connector src\n",
    );
    assert_eq!(
        w.get("/connectors/src/config").unwrap().1["batch.size"],
        "50"
    );
    ctl.ok(
        &["patch", "connector", "src", "-r", "batch.size"],
        "Patched connector src\n",
    );
    assert!(w
        .get("/connectors/src/config")
        .unwrap()
        .1
        .get("batch.size")
        .is_none());
    wait_state(w, "src", "RUNNING", 1);

    // pause, resume, restart (-e selects both, sorted).
    ctl.ok(
        &["pause", "connector", "-e", "s.*"],
        "Paused connector snk\nPaused connector src\n",
    );
    wait_state(w, "src", "PAUSED", 1);
    wait_state(w, "snk", "PAUSED", 1);
    ctl.ok(
        &["resume", "connector", "src", "snk"],
        "Resumed connector src\nResumed connector snk\n",
    );
    wait_state(w, "src", "RUNNING", 1);
    wait_state(w, "snk", "RUNNING", 1);
    ctl.ok(
        &["restart", "connector", "snk", "--include-tasks"],
        "Restarted connector snk\n",
    );
    wait_state(w, "snk", "RUNNING", 1);
    ctl.ok(
        &[
            "restart",
            "connector",
            "snk",
            "--include-tasks",
            "--only-failed",
        ],
        "Restarted connector snk\n",
    );
    ctl.ok(&["restart", "task", "snk/0"], "Restarted task snk/0\n");
    wait_state(w, "snk", "RUNNING", 1);

    // stop, offsets get / patch / reset.
    ctl.ok(&["stop", "connector", "src"], "Stopped connector src\n");
    wait_for("src STOPPED", Duration::from_secs(60), || {
        connector_state(w, "src").is_some_and(|(c, t)| c == "STOPPED" && t.is_empty())
    });
    let partition = json!({"filename": source.display().to_string()});
    let offsets: Value = serde_json::from_str(&ctl.out(&["offsets", "get", "src"])).unwrap();
    assert_eq!(offsets, w.get("/connectors/src/offsets").unwrap().1);
    assert_eq!(offsets["offsets"][0]["partition"], partition);
    let y = ctl.out(&["get", "offsets", "src", "-o", "yaml"]);
    assert!(
        y.starts_with("offsets:\n  - partition:\n      filename: "),
        "{y}"
    );
    ctl.ok(
        &[
            "offsets",
            "patch",
            "src",
            "--source-partition",
            &partition.to_string(),
            "--source-offset",
            r#"{"position": 6}"#,
        ],
        "The offsets for this connector have been altered successfully\n",
    );
    assert_eq!(
        w.get("/connectors/src/offsets").unwrap().1["offsets"][0]["offset"],
        json!({"position": 6})
    );
    ctl.ok(
        &["offsets", "reset", "src"],
        "The offsets for this connector have been reset successfully\n",
    );
    assert_eq!(
        w.get("/connectors/src/offsets").unwrap().1,
        json!({"offsets": []})
    );

    // Server errors: the server's message and the HTTP status, non-zero exit.
    let r = ctl.run(&["describe", "connector", "nope"]);
    assert_eq!(
        (r.code, r.out.as_str(), r.err.as_str()),
        (1, "", "Error: Connector nope not found (HTTP 404)\n")
    );
    let r = ctl.run(&["offsets", "reset", "snk"]);
    assert_eq!(r.code, 1);
    assert!(r.err.ends_with("(HTTP 400)\n"), "{}", r.err);
    let r = ctl.run(&["restart", "task", "snk"]);
    assert_eq!(
        (r.code, r.err.as_str()),
        (1, "Error: task snk: expected CONNECTOR/ID\n")
    );

    // delete.
    ctl.ok(
        &["delete", "connector", "-e", "s.*"],
        "Deleted connector snk\nDeleted connector src\n",
    );
    wait_for("no connectors", Duration::from_secs(30), || {
        ctl.run(&["get", "connectors"]).out == "NAME   TYPE   STATE   TASKS\n"
    });
    ctl.ok(
        &["config", "remove-context", "other"],
        "Removed context other\n",
    );
}

fn setup() -> (tempfile::TempDir, Ctl, PathBuf, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.txt");
    std::fs::write(&source, "a\nb\nc\n").unwrap();
    let ctl = Ctl {
        config: dir.path().join("ctl.json"),
    };
    (dir, ctl, source, unique("ctl"))
}

#[test]
fn every_verb_against_a_standalone_worker() {
    let broker = Broker::start();
    let (dir, ctl, source, topic) = setup();
    let worker = dir.path().join("worker.properties");
    std::fs::write(
        &worker,
        format!(
            "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename={}\noffset.flush.interval.ms=500\n",
            broker.bootstrap(),
            dir.path().join("connect.offsets").display()
        ),
    )
    .unwrap();
    let w = Worker::standalone(&worker, &[], free_port(), &dir.path().join("worker.log"));
    w.wait_ready();
    exercise(&w, &ctl, dir.path(), &source, &topic);
}

#[test]
fn every_verb_against_a_distributed_worker() {
    let broker = Broker::start();
    let (dir, ctl, source, topic) = setup();
    let group = unique("ctl-group");
    let worker = dir.path().join("worker.properties");
    std::fs::write(
        &worker,
        format!(
            "bootstrap.servers={}\ngroup.id={group}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.topic={group}-offsets\noffset.storage.replication.factor=1\nconfig.storage.topic={group}-configs\nconfig.storage.replication.factor=1\nstatus.storage.topic={group}-status\nstatus.storage.replication.factor=1\noffset.flush.interval.ms=500\nheartbeat.interval.ms=1000\nconsumer.heartbeat.interval.ms=1000\nconsumer.session.timeout.ms=6000\n",
            broker.bootstrap()
        ),
    )
    .unwrap();
    let w = Worker::distributed(&worker, free_port(), &dir.path().join("worker.log"));
    w.wait_ready();
    exercise(&w, &ctl, dir.path(), &source, &topic);
}
