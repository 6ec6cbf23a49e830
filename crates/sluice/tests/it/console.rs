//! The web console (`/ui/`, issue 20) in a real browser: headless Chromium from Debian's
//! packages, driven by playwright-core from `ui-tests/` (a `node --test` suite), against real
//! `sluice standalone` (HTTPS + Basic auth) and `sluice distributed` (two workers) processes on
//! a real tansu broker. Screenshots land in `target/console-screenshots/<mode>/`.
//!
//! Needs `/usr/bin/chromium` (`apt-get install -y chromium`, done by scripts/test.sh) and Node
//! 18+; `npm ci` runs here when a package of `ui-tests/package.json` (playwright-core,
//! axe-core) is missing from `ui-tests/node_modules`. Nothing is skipped: a missing browser or
//! Node fails the test with the command that fixes it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::harness::{self, free_port, unique, Broker, Launch, Worker};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const CHROMIUM: &str = "/usr/bin/chromium";

/// The npm packages of `ui-tests/package.json` (pinned there and in its lockfile).
const PACKAGES: &[&str] = &["playwright-core", "axe-core"];

/// Node, the browser and the test's npm packages, or a loud failure saying how to get them.
fn ui_tests_dir() -> PathBuf {
    let dir = repo_root().join("ui-tests");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's browser with `apt-get install -y chromium` (scripts/test.sh does)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is missing: install Node.js 18 or later (`apt-get install -y nodejs npm`)"
    );
    // One test at a time installs the packages (nextest runs tests as processes in parallel).
    let lock = dir.join("node_modules/.sluice-install.lock");
    let installed = || {
        PACKAGES.iter().all(|p| {
            dir.join("node_modules")
                .join(p)
                .join("package.json")
                .exists()
        })
    };
    if !installed() {
        let _ = std::fs::create_dir_all(dir.join("node_modules"));
        let start = Instant::now();
        while std::fs::create_dir(&lock).is_err() {
            assert!(
                start.elapsed().as_secs() < 300,
                "another test holds {} for 5 minutes",
                lock.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        if !installed() {
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .output()
                .expect("npm runs");
            let _ = std::fs::remove_dir(&lock);
            assert!(
                out.status.success(),
                "npm ci in ui-tests failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            let _ = std::fs::remove_dir(&lock);
        }
    }
    dir
}

fn screenshots(mode: &str) -> PathBuf {
    // target/console-screenshots/<mode>, beside the binaries (CARGO_TARGET_DIR aware).
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_sluice"));
    let target = exe
        .parent()
        .and_then(Path::parent)
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    let dir = target.join("console-screenshots").join(mode);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// Runs the browser suite against `urls`; panics with its whole output on failure.
fn run_browser_suite(
    mode: &str,
    urls: &[String],
    credentials: Option<(&str, &str)>,
    file: &Path,
    topic: &str,
    workers: &[&Worker],
) {
    let dir = ui_tests_dir();
    let out_dir = screenshots(mode);
    // What the workers' FileConfigProvider (alias `file`) reads: the suite refers to it.
    let secrets = file.with_file_name("secrets.properties");
    std::fs::write(
        &secrets,
        format!(
            "path={}\nuser=console-user\npassword=console-p4ssw0rd\n",
            file.display()
        ),
    )
    .expect("secrets file");
    let mut cmd = Command::new("node");
    cmd.args(["--test", "--test-reporter=spec", "console.test.js"])
        .current_dir(&dir)
        .env("SLUICE_URLS", urls.join(","))
        .env("SLUICE_MODE", mode)
        .env("SLUICE_SOURCE_FILE", file)
        .env("SLUICE_TOPIC", topic)
        .env("SLUICE_OUT", &out_dir)
        .env("SLUICE_SECRETS", &secrets)
        .env("SLUICE_CHROMIUM", CHROMIUM);
    if let Some((u, p)) = credentials {
        cmd.env("SLUICE_USER", u).env("SLUICE_PASSWORD", p);
    }
    // The suite's output goes to a file as it runs (readable while it runs, kept beside the
    // screenshots).
    let log = out_dir.join("suite.log");
    let file = std::fs::File::create(&log).expect("suite log");
    cmd.stdout(file.try_clone().expect("suite log"))
        .stderr(file);
    let start = Instant::now();
    let status = cmd.status().expect("node runs");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    println!(
        "browser suite ({mode}) took {:.1} s; screenshots in {}\n{text}",
        start.elapsed().as_secs_f64(),
        out_dir.display()
    );
    // How often the cluster rebalanced meanwhile (each is a window of 409s for writes).
    for w in workers {
        let log = w.log_text();
        let assignments = log.matches("Received an assignment.").count();
        if assignments > 0 {
            println!(
                "worker {}: {assignments} assignment(s) received during the run",
                w.rest_port
            );
        }
    }
    if !status.success() {
        for w in workers {
            eprintln!("---- log of worker {} ----\n{}", w.rest_port, w.log_text());
        }
        panic!("the browser suite failed ({mode}):\n{text}");
    }
    let shots = std::fs::read_dir(&out_dir).map_or(0, |d| {
        d.filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count()
    });
    assert!(
        shots >= 10,
        "only {shots} screenshots in {}",
        out_dir.display()
    );
}

/// Config providers of every worker here: connectors may refer to `${file:/path:key}`.
const PROVIDERS: &str = "config.providers=file
config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
";

fn worker_props(bootstrap: &str, offsets: &Path) -> String {
    format!(
        "bootstrap.servers={bootstrap}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename={}
offset.flush.interval.ms=500
{PROVIDERS}",
        offsets.display()
    )
}

#[test]
fn standalone_over_https_with_basic_auth() {
    harness::remember_panics();
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("worker.properties");
    std::fs::write(
        &props,
        worker_props(&broker.bootstrap(), &dir.path().join("offsets")),
    )
    .unwrap();
    let (secured, launch) = harness::secure_rest(&props);
    let port = free_port();
    let worker = Worker::spawn(&secured, &[], port, &dir.path().join("worker.log"), &launch);
    worker.wait_ready();
    let (user, password) = launch.credentials.clone().expect("credentials");
    run_browser_suite(
        "standalone",
        &[worker.url("")],
        Some((&user, &password)),
        &dir.path().join("source.txt"),
        &unique("console-topic"),
        &[&worker],
    );
}

/// Two workers: every connector change makes them rebalance, and a write that lands in a
/// rebalance is refused with 409 (as in Kafka). Run beside other tests, the restart after the
/// JSON edit landed in one (seen once: four 409s on `POST …/restart`); the console used to show
/// the refusal and stop waiting, the likely reason this test once timed out in the full suite
/// (not reproduced with the old console in three runs under load). The console now sends such
/// writes again, and the suite reports the 409s it saw.
#[test]
fn distributed_two_workers() {
    harness::remember_panics();
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let group = unique("console-cluster");
    let props = dir.path().join("connect-distributed.properties");
    std::fs::write(
        &props,
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
scheduled.rebalance.max.delay.ms=5000
heartbeat.interval.ms=1000
{PROVIDERS}",
            broker.bootstrap()
        ),
    )
    .unwrap();
    let workers: Vec<Worker> = (0..2)
        .map(|i| {
            Worker::distributed_with(
                &props,
                free_port(),
                &dir.path().join(format!("worker-{i}.log")),
                &Launch::default(),
            )
        })
        .collect();
    for w in &workers {
        w.wait_ready();
    }
    let urls: Vec<String> = workers.iter().map(|w| w.url("")).collect();
    run_browser_suite(
        "distributed",
        &urls,
        None,
        &dir.path().join("source.txt"),
        &unique("console-topic"),
        &workers.iter().collect::<Vec<_>>(),
    );
}

/// The record tap of a sink: the records handed to the task (after converters and
/// transforms) as schemaless JSON, with their Kafka offsets; nothing is kept before a read.
#[test]
fn sink_tap_shows_the_records_handed_to_the_task() {
    harness::remember_panics();
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("worker.properties");
    std::fs::write(
        &props,
        worker_props(&broker.bootstrap(), &dir.path().join("offsets")),
    )
    .unwrap();
    let worker = Worker::standalone(&props, &[], free_port(), &dir.path().join("worker.log"));
    worker.wait_ready();
    let topic = unique("console-sink");
    let created = worker.send(
        "POST",
        "/connectors",
        Some(serde_json::json!({"name": "tapped-sink", "config": {
            "connector.class": "FileStreamSink",
            "topics": topic,
            "file": dir.path().join("sink.txt"),
            "transforms": "upper",
            "transforms.upper.type": "org.apache.kafka.connect.transforms.HoistField$Value",
            "transforms.upper.field": "line",
        }})),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    harness::wait_for(
        "the sink task to run",
        std::time::Duration::from_secs(30),
        || worker.task_state("tapped-sink", 0).as_deref() == Some("RUNNING"),
    );
    // Reading the tap switches it on; records before that are not kept.
    let (code, first) = worker.get("/sluice/connectors/tapped-sink/tap").unwrap();
    assert_eq!(code, 200, "{first}");
    assert_eq!(first["records"], serde_json::json!([]));
    harness::produce(
        &broker.bootstrap(),
        &topic,
        &[b"v0".to_vec(), b"v1".to_vec(), b"v2".to_vec()],
    );
    let mut records = serde_json::Value::Null;
    harness::wait_for(
        "three tapped records",
        std::time::Duration::from_secs(30),
        || {
            records = worker
                .get("/sluice/connectors/tapped-sink/tap")
                .map(|(_, b)| b["records"].clone())
                .unwrap_or_default();
            records.as_array().is_some_and(|r| r.len() == 3)
        },
    );
    for (i, r) in records.as_array().unwrap().iter().enumerate() {
        assert_eq!(r["form"], "connect-json");
        assert_eq!(r["topic"], topic.as_str());
        assert_eq!(r["offset"], i as u64);
        assert_eq!(r["task"], 0);
        // After HoistField: the record the task got is a map.
        assert_eq!(
            r["value"],
            serde_json::json!({"encoding": "utf8", "data": format!("{{\"line\":\"v{i}\"}}")})
        );
    }
    let (code, body) = worker
        .get("/sluice/connectors/tapped-sink/tap?limit=1")
        .unwrap();
    assert_eq!(code, 200);
    assert_eq!(body["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["records"][0]["offset"], 2);
}
