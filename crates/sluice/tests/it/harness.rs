//! The integration test harness: a real tansu broker per test, `sluice` worker processes,
//! Kafka clients, and polling helpers with deadlines (no sleeps as synchronisation).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sluice_kafka::consumer::{Consumer, Subscription};
use sluice_kafka::producer::{OutRecord, Producer};

/// A unique name for topics, groups and connectors.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// Polls `cond` until it holds or `timeout` passes; panics with `what` on timeout.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// Polls `cond` until it holds (true) or `timeout` passes (false), for callers that report
/// what they saw themselves.
pub fn poll_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

thread_local! {
    static PANIC_MESSAGE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Keeps each thread's panic message (after printing it as usual), so a fixture that dumps
/// logs while unwinding can repeat it below them: CI shows the end of a failed test's output.
pub fn remember_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANIC_MESSAGE.with(|m| *m.borrow_mut() = Some(info.to_string()));
            default(info);
        }));
    });
}

/// The message of the panic this thread is unwinding from, if [`remember_panics`] saw it.
pub fn panic_message() -> Option<String> {
    PANIC_MESSAGE.with(|m| m.borrow().clone())
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The tansu binary, installed by the project script when missing.
pub fn tansu_bin() -> PathBuf {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/broker.sh"))
        .arg("path")
        .output()
        .expect("scripts/broker.sh runs");
    assert!(
        out.status.success(),
        "scripts/broker.sh path failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A tansu broker on its own port, killed on drop.
pub struct Broker {
    pub port: u16,
    child: Child,
}

impl Broker {
    /// An in-memory broker.
    pub fn start() -> Broker {
        let port = free_port();
        Self::spawn(port, format!("memory://it-{port}/"))
    }

    fn spawn(port: u16, storage: String) -> Broker {
        let child = Command::new(tansu_bin())
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://127.0.0.1:{port}"),
                "--advertised-listener-url",
                &format!("tcp://127.0.0.1:{port}"),
                "--storage-engine",
                &storage,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        wait_for("the broker to listen", Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Broker { port, child }
    }

    /// A broker on a port that nothing listens on yet (start it later with `start_on`).
    pub fn reserve_port() -> u16 {
        free_port()
    }

    /// Starts an in-memory broker on a given port.
    pub fn start_on(port: u16) -> Broker {
        Self::spawn(port, format!("memory://it-{port}/"))
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `sluice` worker process, killed on drop.
pub struct Worker {
    pub child: Child,
    pub rest_port: u16,
    pub log: PathBuf,
    /// The CA of the worker's HTTPS REST listener; None for HTTP.
    pub rest_ca: Option<PathBuf>,
    /// Basic credentials for every REST call of the harness.
    pub credentials: Option<(String, String)>,
}

/// How to start a worker beyond the defaults.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    /// Serve REST over HTTPS, trusting this CA file (PEM) in the harness's client.
    pub rest_ca: Option<PathBuf>,
    pub credentials: Option<(String, String)>,
    /// Start the worker with this soft and hard limit on open files (through `prlimit`).
    pub nofile: Option<u64>,
}

impl Launch {
    /// The `sluice` binary to run, under `prlimit` when `nofile` is set.
    fn command(&self) -> Command {
        match self.nofile {
            Some(n) => {
                let mut cmd = Command::new("prlimit");
                cmd.arg(format!("--nofile={n}:{n}"))
                    .arg("--")
                    .arg(env!("CARGO_BIN_EXE_sluice"));
                cmd
            }
            None => Command::new(env!("CARGO_BIN_EXE_sluice")),
        }
    }
}

impl Worker {
    /// Starts `sluice standalone <worker> <connectors...>`, logging to `log`.
    ///
    /// With `SLUICE_IT_REST=https-basic` the worker serves REST over HTTPS (a PKCS12 keystore
    /// through seed 002's `listeners.https.*` keys) with Basic authentication, and every REST
    /// call of the harness uses them: the whole suite then runs against a secured REST API.
    pub fn standalone(worker: &Path, connectors: &[&Path], rest_port: u16, log: &Path) -> Worker {
        Self::standalone_env(worker, connectors, rest_port, log, &[])
    }

    /// Like `standalone`, with extra environment variables (e.g. `SLUICE_TEST_PLUGINS=1`).
    pub fn standalone_env(
        worker: &Path,
        connectors: &[&Path],
        rest_port: u16,
        log: &Path,
        env: &[(&str, &str)],
    ) -> Worker {
        let (worker, mut launch) = match std::env::var("SLUICE_IT_REST").as_deref() {
            Ok("https-basic") => secure_rest(worker),
            Ok(other) if !other.is_empty() => {
                panic!("SLUICE_IT_REST={other}: the only mode is https-basic")
            }
            _ => (worker.to_path_buf(), Launch::default()),
        };
        launch
            .env
            .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Self::spawn(&worker, connectors, rest_port, log, &launch)
    }

    /// Like [`Worker::standalone`] with a working directory, environment and REST client
    /// settings (HTTPS, Basic credentials).
    pub fn spawn(
        worker: &Path,
        connectors: &[&Path],
        rest_port: u16,
        log: &Path,
        launch: &Launch,
    ) -> Worker {
        let logfile = std::fs::File::create(log).expect("log file");
        let scheme = if launch.rest_ca.is_some() {
            "https"
        } else {
            "http"
        };
        let mut cmd = launch.command();
        cmd.arg("standalone")
            .arg("--listeners")
            .arg(format!("{scheme}://127.0.0.1:{rest_port}"))
            .arg(worker)
            .args(connectors)
            .env("RUST_LOG", "info")
            .env_remove("KAFKA_OPTS")
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(logfile);
        if let Some(dir) = &launch.cwd {
            cmd.current_dir(dir);
        }
        let child = cmd.spawn().expect("sluice starts");
        Worker {
            child,
            rest_port,
            log: log.to_path_buf(),
            rest_ca: launch.rest_ca.clone(),
            credentials: launch.credentials.clone(),
        }
    }

    /// Starts `sluice distributed --listeners http://127.0.0.1:<port> <worker>`.
    pub fn distributed(worker: &Path, rest_port: u16, log: &Path) -> Worker {
        Self::distributed_with(worker, rest_port, log, &Launch::default())
    }

    /// Like [`Worker::distributed`] with a working directory and environment; with
    /// `launch.rest_ca` the worker listens on HTTPS (the worker file must name its keystore)
    /// and the harness trusts that CA and sends `launch.credentials`.
    pub fn distributed_with(worker: &Path, rest_port: u16, log: &Path, launch: &Launch) -> Worker {
        let logfile = std::fs::File::create(log).expect("log file");
        let scheme = if launch.rest_ca.is_some() {
            "https"
        } else {
            "http"
        };
        let mut cmd = launch.command();
        cmd.arg("distributed")
            .arg("--listeners")
            .arg(format!("{scheme}://127.0.0.1:{rest_port}"))
            .arg(worker)
            .env("RUST_LOG", "info,sluice_group=debug")
            .env_remove("KAFKA_OPTS")
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(logfile);
        if let Some(dir) = &launch.cwd {
            cmd.current_dir(dir);
        }
        let child = cmd.spawn().expect("sluice starts");
        // Distributed workers serve plain HTTP without authentication in every suite mode,
        // unless the launch secures them.
        Worker {
            child,
            rest_port,
            log: log.to_path_buf(),
            rest_ca: launch.rest_ca.clone(),
            credentials: launch.credentials.clone(),
        }
    }

    /// This worker's id as its status reports it.
    pub fn worker_id(&self) -> String {
        format!("127.0.0.1:{}", self.rest_port)
    }

    /// Sends a request with an optional JSON body; (status, body) or None if no answer.
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Option<(u16, serde_json::Value)> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).ok()?;
            let mut req = self
                .client()
                .request(method, self.url(path))
                .timeout(Duration::from_secs(30));
            if let Some((u, p)) = &self.credentials {
                req = req.basic_auth(u, Some(p));
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let r = req.send().await.ok()?;
            let status = r.status().as_u16();
            let text = r.text().await.ok()?;
            let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
            Some((status, body))
        })
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.rest_ca.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}{path}", self.rest_port)
    }

    /// A REST client trusting the worker's CA (for HTTPS).
    pub fn client(&self) -> reqwest::Client {
        let mut b = reqwest::Client::builder();
        if let Some(ca) = &self.rest_ca {
            let pem = std::fs::read(ca).expect("REST CA file");
            b = b.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA PEM"));
        }
        b.build().expect("REST client")
    }

    /// Sends a request with the worker's Basic credentials (if any); (status, body text).
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        credentials: Option<(&str, &str)>,
    ) -> Option<(u16, String)> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            let mut req = self
                .client()
                .request(method, self.url(path))
                .timeout(Duration::from_secs(5));
            if let Some((u, p)) = credentials {
                req = req.basic_auth(u, Some(p));
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            let r = req.send().await.ok()?;
            let status = r.status().as_u16();
            Some((status, r.text().await.ok()?))
        })
    }

    /// GET returning (status, JSON body), or None while the server does not answer.
    pub fn get(&self, path: &str) -> Option<(u16, serde_json::Value)> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            let mut req = self
                .client()
                .get(self.url(path))
                .timeout(Duration::from_secs(5));
            if let Some((u, p)) = &self.credentials {
                req = req.basic_auth(u, Some(p));
            }
            let r = req.send().await.ok()?;
            let status = r.status().as_u16();
            let body = r.json::<serde_json::Value>().await.ok()?;
            Some((status, body))
        })
    }

    /// Any request with a raw body and extra headers; (status, headers, body text).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Http {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let mut req = self
                .client()
                .request(method, self.url(path))
                .timeout(Duration::from_secs(30));
            let explicit_auth = headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
            if let (Some((u, p)), false) = (&self.credentials, explicit_auth) {
                req = req.basic_auth(u, Some(p));
            }
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = body {
                req = req.body(b.to_string());
            }
            let r = req.send().await.expect("the REST API answers");
            let status = r.status().as_u16();
            let headers = r
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                .collect();
            let text = r.text().await.expect("a body");
            Http {
                status,
                headers,
                json: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
                text,
            }
        })
    }

    /// A request with a JSON body sent as `application/json`.
    pub fn send(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Http {
        let text = body.map(|b| b.to_string());
        self.call(
            method,
            path,
            text.as_deref(),
            &[("Content-Type", "application/json")],
        )
    }

    /// Waits until the REST API answers.
    pub fn wait_ready(&self) {
        wait_for("the REST API to answer", Duration::from_secs(30), || {
            self.get("/connectors").is_some()
        });
    }

    /// The state of a connector's task, if reported.
    pub fn task_state(&self, connector: &str, task: usize) -> Option<String> {
        let (code, body) = self.get(&format!("/connectors/{connector}/status"))?;
        if code != 200 {
            return None;
        }
        body["tasks"][task]["state"].as_str().map(str::to_string)
    }

    pub fn status(&self, connector: &str) -> Option<serde_json::Value> {
        self.get(&format!("/connectors/{connector}/status"))
            .filter(|(c, _)| *c == 200)
            .map(|(_, b)| b)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "worker did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response as tests look at it.
#[derive(Debug)]
pub struct Http {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub json: serde_json::Value,
}

impl Http {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts Kafka's error body: `{"error_code": status, "message": ...}` and nothing else.
    pub fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        let obj = self.json.as_object().expect("an error object");
        assert_eq!(obj.len(), 2, "{}", self.text);
        assert_eq!(self.json["error_code"], status, "{}", self.text);
        assert_eq!(self.json["message"], message, "{}", self.text);
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A consumed record: key, value, headers.
#[derive(Clone, Debug)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Reads records of `topic` from the beginning until `n` have been seen or `timeout` passes.
pub fn consume(bootstrap: &str, topic: &str, n: usize, timeout: Duration) -> Vec<Consumed> {
    consume_until(bootstrap, topic, timeout, |out| out.len() >= n)
}

/// Reads records of `topic` from the beginning until `done` holds for what was read so far
/// or `timeout` passes.
pub fn consume_until(
    bootstrap: &str,
    topic: &str,
    timeout: Duration,
    mut done: impl FnMut(&[Consumed]) -> bool,
) -> Vec<Consumed> {
    rt().block_on(async {
        let mut settings = BTreeMap::new();
        settings.insert("bootstrap.servers".to_string(), bootstrap.to_string());
        settings.insert("group.id".to_string(), unique("it-reader"));
        settings.insert("auto.offset.reset".to_string(), "earliest".to_string());
        settings.insert("enable.auto.commit".to_string(), "false".to_string());
        // New topics show up within a second, not at librdkafka's 5-minute refresh.
        settings.insert(
            "topic.metadata.refresh.interval.ms".to_string(),
            "1000".to_string(),
        );
        let deadline = Instant::now() + timeout;
        // Subscribe once the topic exists, so the reader never waits on a stale metadata view.
        let admin = sluice_kafka::admin::Admin::new("it-reader-admin", &settings).expect("admin");
        while Instant::now() < deadline && !admin.topic_exists(topic).await.unwrap_or(false) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let c = Consumer::new("it-reader", &settings, false).expect("consumer");
        c.subscribe(&Subscription::Topics(vec![topic.to_string()]))
            .expect("subscribe");
        let mut out = Vec::new();
        while !done(&out) && Instant::now() < deadline {
            let _ = c
                .recv_batch(10_000, Duration::from_millis(500), |r| {
                    out.push(Consumed {
                        partition: r.partition,
                        offset: r.offset,
                        key: r.key.map(<[u8]>::to_vec),
                        value: r.value.map(<[u8]>::to_vec),
                        headers: r
                            .headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.map(<[u8]>::to_vec)))
                            .collect(),
                    })
                })
                .await;
        }
        c.close().await;
        out
    })
}

/// Produces values (no key) to `topic`, creating it first.
pub fn produce(bootstrap: &str, topic: &str, values: &[Vec<u8>]) {
    rt().block_on(async {
        let mut settings = BTreeMap::new();
        settings.insert("bootstrap.servers".to_string(), bootstrap.to_string());
        let admin = sluice_kafka::admin::Admin::new("it-admin", &settings).expect("admin");
        if !admin.topic_exists(topic).await.unwrap_or(false) {
            admin
                .create_topic(topic, 1, 1, &[])
                .await
                .expect("create topic");
        }
        let (p, mut deliveries) = Producer::new("it-producer", &settings).expect("producer");
        for (i, v) in values.iter().enumerate() {
            let rec = OutRecord {
                topic,
                partition: Some(0),
                key: None,
                value: Some(v),
                timestamp: None,
                headers: &[],
            };
            loop {
                match p.send(&rec, i) {
                    Ok(()) => break,
                    Err(_) => {
                        deliveries.recv_many(&mut Vec::new()).await;
                    }
                }
            }
        }
        p.flush(Duration::from_secs(30)).await.expect("flush");
        drop(deliveries);
    })
}

/// A record to produce with [`produce_records`].
#[derive(Clone, Debug, Default)]
pub struct Rec {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp: Option<i64>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Produces records (keys, timestamps, headers) to partition 0 of `topic`, creating it first.
pub fn produce_records(bootstrap: &str, topic: &str, records: &[Rec]) {
    rt().block_on(async {
        let mut settings = BTreeMap::new();
        settings.insert("bootstrap.servers".to_string(), bootstrap.to_string());
        let admin = sluice_kafka::admin::Admin::new("it-admin", &settings).expect("admin");
        if !admin.topic_exists(topic).await.unwrap_or(false) {
            admin
                .create_topic(topic, 1, 1, &[])
                .await
                .expect("create topic");
        }
        let (p, mut deliveries) = Producer::new("it-producer", &settings).expect("producer");
        for (i, r) in records.iter().enumerate() {
            let rec = OutRecord {
                topic,
                partition: Some(0),
                key: r.key.as_deref(),
                value: r.value.as_deref(),
                timestamp: r.timestamp,
                headers: &r.headers,
            };
            loop {
                match p.send(&rec, i) {
                    Ok(()) => break,
                    Err(_) => {
                        deliveries.recv_many(&mut Vec::new()).await;
                    }
                }
            }
        }
        p.flush(Duration::from_secs(30)).await.expect("flush");
        drop(deliveries);
    })
}

/// Appends text to a file.
pub fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open for append");
    f.write_all(text.as_bytes()).expect("append");
}

/// Certificates, keystore, credentials and JAAS file for `SLUICE_IT_REST=https-basic`, made
/// once per test process.
struct RestSecurity {
    dir: PathBuf,
}

fn provision(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("provisioning failed: cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "provisioning failed: {program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rest_security() -> &'static RestSecurity {
    static R: std::sync::OnceLock<RestSecurity> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        let dir = std::env::temp_dir().join(unique("sluice-it-rest-security"));
        std::fs::create_dir_all(&dir).expect("REST security dir");
        let o = "openssl";
        provision(&dir, o, &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Sluice IT REST CA"]);
        std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
        provision(&dir, o, &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "rest.key", "-out", "rest.csr", "-subj", "/CN=localhost"]);
        provision(&dir, o, &["x509", "-req", "-in", "rest.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "rest.pem", "-days", "2", "-extfile", "san.ext"]);
        provision(&dir, o, &["pkcs12", "-export", "-in", "rest.pem", "-inkey", "rest.key", "-name", "rest", "-out", "rest.p12", "-passout", "pass:it-rest-pw"]);
        std::fs::write(dir.join("credentials.properties"), "it-admin=it-admin-pw\n").unwrap();
        std::fs::write(
            dir.join("jaas.conf"),
            format!(
                "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
                dir.join("credentials.properties").display()
            ),
        )
        .unwrap();
        RestSecurity { dir }
    })
}

/// The worker keys that serve REST over HTTPS (the test CA's certificate for localhost and
/// 127.0.0.1 in a PKCS12 keystore, the CA as the PEM truststore, through the
/// `listeners.https.` keys) behind Basic authentication, and how to launch and reach such a
/// worker (the JAAS file in `KAFKA_OPTS`, the CA, the credentials).
pub fn secure_rest_keys() -> (String, Launch) {
    let sec = rest_security();
    let keys = format!(
        "\nlisteners.https.ssl.keystore.type=PKCS12\nlisteners.https.ssl.keystore.location={}\nlisteners.https.ssl.keystore.password=it-rest-pw\nlisteners.https.ssl.truststore.type=PEM\nlisteners.https.ssl.truststore.location={}\nrest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension\n",
        sec.dir.join("rest.p12").display(),
        sec.dir.join("ca.pem").display()
    );
    let launch = Launch {
        cwd: None,
        env: vec![(
            "KAFKA_OPTS".into(),
            format!(
                "-Djava.security.auth.login.config={}",
                sec.dir.join("jaas.conf").display()
            ),
        )],
        rest_ca: Some(sec.dir.join("ca.pem")),
        credentials: Some(("it-admin".into(), "it-admin-pw".into())),
        ..Launch::default()
    };
    (keys, launch)
}

/// A copy of `worker` with HTTPS and Basic auth keys, and how to launch and reach it.
pub fn secure_rest(worker: &Path) -> (PathBuf, Launch) {
    let sec = rest_security();
    let mut text = std::fs::read_to_string(worker).expect("worker file");
    text.push_str(&format!(
        "\nlisteners.https.ssl.keystore.type=PKCS12\nlisteners.https.ssl.keystore.location={}\nlisteners.https.ssl.keystore.password=it-rest-pw\nrest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension\n",
        sec.dir.join("rest.p12").display()
    ));
    let secured = worker.with_extension("https-basic.properties");
    std::fs::write(&secured, text).expect("secured worker file");
    let launch = Launch {
        cwd: None,
        env: vec![(
            "KAFKA_OPTS".into(),
            format!(
                "-Djava.security.auth.login.config={}",
                sec.dir.join("jaas.conf").display()
            ),
        )],
        rest_ca: Some(sec.dir.join("ca.pem")),
        credentials: Some(("it-admin".into(), "it-admin-pw".into())),
        ..Launch::default()
    };
    (secured, launch)
}
