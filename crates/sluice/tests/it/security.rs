//! Secure clusters (issue 6): SASL (PLAIN, SCRAM-SHA-256/512) over TLS with the broker checking
//! credentials, JKS truststores, JAAS files through KAFKA_OPTS, mutual TLS with a PKCS12
//! keystore, clear errors for each misconfiguration, secrets through config providers, and the
//! REST API over HTTPS with Basic authentication.
//!
//! tansu checks SCRAM passwords (users created before an authenticated restart on sqlite
//! storage) but does not terminate TLS, so stunnel (installed by `scripts/tls-proxy.sh`) sits in
//! front of it and tansu advertises stunnel's port. Certificates and stores are made per test
//! with openssl and keytool. Provisioning failures fail the test with the tool's output.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::{free_port, tansu_bin, wait_for, Broker, Launch, Worker};

pub(crate) const TRUSTSTORE_PASSWORD: &str = "KafkaOnsClient";
const SCRAM256_USER: (&str, &str) = ("alice", "alice-Secret-256");
const SCRAM512_USER: (&str, &str) = ("bob", "bob-Secret-512");
/// Seed 000's placeholder credentials, checked by the PLAIN gatekeeper.
const PLAIN_USER: (&str, &str) = ("your username", "your password");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a provisioning command in `dir`; panics with its output when it fails.
fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("provisioning failed: cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "provisioning failed: {program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stunnel_bin() -> PathBuf {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/tls-proxy.sh"))
        .arg("path")
        .output()
        .expect("scripts/tls-proxy.sh runs");
    assert!(
        out.status.success(),
        "provisioning failed: scripts/tls-proxy.sh path: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Throwaway certificates and stores in one directory: a CA, a server certificate for
/// 127.0.0.1/localhost, a client certificate, an unrelated CA; the JKS truststore of seed 000
/// (`kafka.client.truststore.jks`), a JKS truststore of the other CA, a PKCS12 client keystore
/// and a PKCS12 keystore for the REST server.
pub(crate) struct Pki {
    dir: PathBuf,
}

impl Pki {
    pub(crate) fn make(dir: &Path) -> Pki {
        let days = "2";
        let o = "openssl";
        run(
            dir,
            o,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                days,
                "-subj",
                "/CN=Sluice Test CA",
            ],
        );
        run(
            dir,
            o,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "other-ca.key",
                "-out",
                "other-ca.pem",
                "-days",
                days,
                "-subj",
                "/CN=Some Other CA",
            ],
        );
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
        for (name, cn) in [("server", "localhost"), ("client", "sluice-client")] {
            run(
                dir,
                o,
                &[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                    "-subj",
                    &format!("/CN={cn}"),
                ],
            );
            run(
                dir,
                o,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    &format!("{name}.pem"),
                    "-days",
                    days,
                    "-extfile",
                    &format!("{name}.ext"),
                ],
            );
        }
        let k = "keytool";
        for (store, ca) in [
            ("kafka.client.truststore.jks", "ca.pem"),
            ("other.truststore.jks", "other-ca.pem"),
        ] {
            run(
                dir,
                k,
                &[
                    "-importcert",
                    "-noprompt",
                    "-alias",
                    "ca",
                    "-file",
                    ca,
                    "-keystore",
                    store,
                    "-storepass",
                    TRUSTSTORE_PASSWORD,
                    "-storetype",
                    "JKS",
                ],
            );
        }
        run(
            dir,
            o,
            &[
                "pkcs12",
                "-export",
                "-in",
                "client.pem",
                "-inkey",
                "client.key",
                "-certfile",
                "ca.pem",
                "-name",
                "client",
                "-out",
                "client.p12",
                "-passout",
                "pass:client-ks-pw",
            ],
        );
        run(
            dir,
            o,
            &[
                "pkcs12",
                "-export",
                "-in",
                "server.pem",
                "-inkey",
                "server.key",
                "-certfile",
                "ca.pem",
                "-name",
                "rest",
                "-out",
                "rest.p12",
                "-passout",
                "pass:rest-ks-pw",
            ],
        );
        Pki {
            dir: dir.to_path_buf(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// tansu with `--authentication` behind stunnel; SCRAM users created first.
struct SecureBroker {
    tls_port: u16,
    plain_port: u16,
    tansu: Child,
    stunnel: Option<Child>,
}

fn wait_port(what: &str, port: u16) {
    wait_for(what, Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

fn tansu(dir: &Path, listen: u16, advertise: u16, authenticate: bool, log: &str) -> Child {
    let mut cmd = Command::new(tansu_bin());
    cmd.current_dir(dir).args([
        "broker",
        "--listener-url",
        &format!("tcp://127.0.0.1:{listen}"),
        "--advertised-listener-url",
        &format!("tcp://127.0.0.1:{advertise}"),
        "--storage-engine",
        "sqlite://tansu.db",
    ]);
    if authenticate {
        cmd.arg("--authentication");
    }
    let logf = std::fs::File::create(dir.join(log)).unwrap();
    cmd.stdout(Stdio::null())
        .stderr(logf)
        .spawn()
        .expect("provisioning failed: tansu starts")
}

impl SecureBroker {
    /// `client_certs`: stunnel requires client certificates signed by the test CA.
    fn start(pki: &Pki, client_certs: bool) -> SecureBroker {
        Self::start_with(pki, client_certs, false)
    }

    /// tansu without authentication behind the PLAIN gatekeeper, behind stunnel.
    fn start_plain(pki: &Pki) -> (SecureBroker, PlainGate) {
        let mut b = Self::start_with(pki, false, true);
        let gate = PlainGate::start(b.plain_port, PLAIN_USER.0, PLAIN_USER.1);
        b.stunnel = Some(stunnel(pki, b.tls_port, gate.port, false));
        wait_port("stunnel to listen", b.tls_port);
        (b, gate)
    }

    fn start_with(pki: &Pki, client_certs: bool, plain: bool) -> SecureBroker {
        let dir = &pki.dir;
        let port = free_port();
        if plain {
            let tls_port = free_port();
            let tansu = tansu(dir, port, tls_port, false, "tansu.log");
            wait_port("tansu to listen", port);
            // stunnel is started by the caller, in front of the gatekeeper.
            return SecureBroker {
                tls_port,
                plain_port: port,
                tansu,
                stunnel: None,
            };
        }
        let mut setup = tansu(dir, port, port, false, "tansu-setup.log");
        wait_port("tansu (setup) to listen", port);
        let broker = format!("tcp://127.0.0.1:{port}");
        let bin = tansu_bin();
        let bin = bin.to_str().unwrap();
        for (mechanism, (user, password)) in
            [("scram256", SCRAM256_USER), ("scram512", SCRAM512_USER)]
        {
            run(
                dir,
                bin,
                &[
                    "user",
                    "create",
                    "--broker",
                    &broker,
                    "--mechanism",
                    mechanism,
                    user,
                    password,
                ],
            );
        }
        let _ = setup.kill();
        let _ = setup.wait();

        let tls_port = free_port();
        let tansu = tansu(dir, port, tls_port, true, "tansu.log");
        wait_port("tansu (authenticated) to listen", port);
        let stunnel = Some(stunnel(pki, tls_port, port, client_certs));
        wait_port("stunnel to listen", tls_port);
        SecureBroker {
            tls_port,
            plain_port: port,
            tansu,
            stunnel,
        }
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.tls_port)
    }
}

/// stunnel terminating TLS on `accept` and forwarding to `connect`.
/// stunnel terminating TLS on `accept` (the server certificate of `pki`) in front of the plain
/// TCP service on `connect`; also used by the messaging tests.
pub(crate) fn stunnel(pki: &Pki, accept: u16, connect: u16, client_certs: bool) -> Child {
    let mut conf = format!(
        "foreground = yes\npid =\ndebug = warning\n[kafka]\naccept = 127.0.0.1:{accept}\nconnect = 127.0.0.1:{connect}\ncert = {}\nkey = {}\n",
        pki.path("server.pem").display(),
        pki.path("server.key").display()
    );
    if client_certs {
        conf.push_str(&format!(
            "CAfile = {}\nverifyChain = yes\nrequireCert = yes\n",
            pki.path("ca.pem").display()
        ));
    }
    let conf_path = pki.dir.join("stunnel.conf");
    std::fs::write(&conf_path, conf).unwrap();
    Command::new(stunnel_bin())
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(pki.dir.join("stunnel.log")).unwrap())
        .spawn()
        .expect("provisioning failed: stunnel starts")
}

impl Drop for SecureBroker {
    fn drop(&mut self) {
        for c in self.stunnel.iter_mut().chain([&mut self.tansu]) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A SASL/PLAIN gatekeeper between stunnel and a tansu without `--authentication`: tansu 0.6.0
/// supports only SCRAM when authenticating (its SASL library is built without PLAIN), so this
/// checks PLAIN the way a Kafka broker does. It answers SaslHandshake (API 17) and
/// SaslAuthenticate (API 36, v0 to v2: v2 is the flexible version) itself, parsing the RFC 4616 message
/// `[authzid] NUL authcid NUL passwd` and comparing it with the expected user and password,
/// forwards ApiVersions to tansu, and after a successful authentication relays bytes both ways.
/// Any other request before authentication closes the connection, as Kafka does.
struct PlainGate {
    port: u16,
    /// Every (user, password) presented, for the test to check.
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

fn read_frame(s: &mut std::net::TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let mut buf = vec![0u8; i32::from_be_bytes(len).max(0) as usize];
    s.read_exact(&mut buf)?;
    Ok(buf)
}

fn write_frame(s: &mut std::net::TcpStream, body: &[u8]) -> std::io::Result<()> {
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    s.write_all(&out)
}

impl PlainGate {
    fn start(upstream: u16, user: &'static str, password: &'static str) -> PlainGate {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                let seen = seen2.clone();
                std::thread::spawn(move || {
                    let _ = Self::serve(client, upstream, user, password, &seen);
                });
            }
        });
        PlainGate { port, seen }
    }

    fn serve(
        mut client: std::net::TcpStream,
        upstream: u16,
        user: &str,
        password: &str,
        seen: &std::sync::Mutex<Vec<(String, String)>>,
    ) -> std::io::Result<()> {
        let mut broker = std::net::TcpStream::connect(("127.0.0.1", upstream))?;
        let mut handshaken = false;
        loop {
            let req = read_frame(&mut client)?;
            if req.len() < 10 {
                return Ok(());
            }
            let api_key = i16::from_be_bytes([req[0], req[1]]);
            let version = i16::from_be_bytes([req[2], req[3]]);
            let correlation = &req[4..8];
            let client_id_len = i16::from_be_bytes([req[8], req[9]]).max(0) as usize;
            let mut body = &req[10 + client_id_len..];
            // SaslAuthenticate v2 is flexible: request header v2 ends in tagged fields (none here).
            let flexible = api_key == 36 && version >= 2;
            if flexible {
                body = &body[1..];
            }
            match api_key {
                18 => {
                    // ApiVersions: tansu answers.
                    write_frame(&mut broker, &req)?;
                    let resp = read_frame(&mut broker)?;
                    write_frame(&mut client, &resp)?;
                }
                17 => {
                    let n = i16::from_be_bytes([body[0], body[1]]) as usize;
                    let mechanism = String::from_utf8_lossy(&body[2..2 + n]).into_owned();
                    let ok = mechanism == "PLAIN";
                    let mut resp = correlation.to_vec();
                    resp.extend_from_slice(&(if ok { 0i16 } else { 33 }).to_be_bytes());
                    resp.extend_from_slice(&1i32.to_be_bytes());
                    resp.extend_from_slice(&5i16.to_be_bytes());
                    resp.extend_from_slice(b"PLAIN");
                    write_frame(&mut client, &resp)?;
                    if !ok {
                        return Ok(());
                    }
                    handshaken = true;
                }
                36 if handshaken && version <= 2 => {
                    let auth = if flexible {
                        // COMPACT_BYTES: unsigned varint length + 1.
                        let (mut n, mut shift, mut i) = (0usize, 0, 0);
                        loop {
                            let b = body[i];
                            n |= ((b & 0x7f) as usize) << shift;
                            i += 1;
                            if b & 0x80 == 0 {
                                break;
                            }
                            shift += 7;
                        }
                        &body[i..i + n.saturating_sub(1)]
                    } else {
                        let n = i32::from_be_bytes([body[0], body[1], body[2], body[3]]) as usize;
                        &body[4..4 + n]
                    };
                    let parts: Vec<&[u8]> = auth.split(|b| *b == 0).collect();
                    let (u, p) = match parts.as_slice() {
                        [_authzid, u, p] => (
                            String::from_utf8_lossy(u).into_owned(),
                            String::from_utf8_lossy(p).into_owned(),
                        ),
                        _ => (String::new(), String::new()),
                    };
                    let ok = u == user && p == password;
                    seen.lock().unwrap().push((u, p));
                    let mut resp = correlation.to_vec();
                    let msg: &[u8] = b"Authentication failed: Invalid username or password";
                    if flexible {
                        // Response header v1 (tagged fields), then error_code, error_message
                        // (COMPACT_NULLABLE_STRING), auth_bytes (COMPACT_BYTES, empty),
                        // session_lifetime_ms, tagged fields.
                        resp.push(0);
                        if ok {
                            resp.extend_from_slice(&0i16.to_be_bytes());
                            resp.push(0);
                        } else {
                            resp.extend_from_slice(&58i16.to_be_bytes());
                            resp.push(msg.len() as u8 + 1);
                            resp.extend_from_slice(msg);
                        }
                        resp.push(1);
                        resp.extend_from_slice(&0i64.to_be_bytes());
                        resp.push(0);
                    } else {
                        if ok {
                            resp.extend_from_slice(&0i16.to_be_bytes());
                            resp.extend_from_slice(&(-1i16).to_be_bytes());
                        } else {
                            resp.extend_from_slice(&58i16.to_be_bytes());
                            resp.extend_from_slice(&(msg.len() as i16).to_be_bytes());
                            resp.extend_from_slice(msg);
                        }
                        resp.extend_from_slice(&0i32.to_be_bytes());
                        if version == 1 {
                            resp.extend_from_slice(&0i64.to_be_bytes());
                        }
                    }
                    write_frame(&mut client, &resp)?;
                    if !ok {
                        return Ok(());
                    }
                    // Authenticated: relay everything from now on.
                    let mut c2 = client.try_clone()?;
                    let mut b2 = broker.try_clone()?;
                    let t = std::thread::spawn(move || {
                        let _ = std::io::copy(&mut b2, &mut c2);
                        let _ = c2.shutdown(std::net::Shutdown::Both);
                    });
                    let _ = std::io::copy(&mut client, &mut broker);
                    let _ = broker.shutdown(std::net::Shutdown::Both);
                    let _ = t.join();
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
    }
}

/// Seed 000's JAAS file, with the login module and credentials of `mechanism`.
fn jaas_file(mechanism: &str, password_override: Option<&str>) -> String {
    let (module, (user, password)) = match mechanism {
        "PLAIN" => (
            "org.apache.kafka.common.security.plain.PlainLoginModule",
            PLAIN_USER,
        ),
        "SCRAM-SHA-256" => (
            "org.apache.kafka.common.security.scram.ScramLoginModule",
            SCRAM256_USER,
        ),
        _ => (
            "org.apache.kafka.common.security.scram.ScramLoginModule",
            SCRAM512_USER,
        ),
    };
    let password = password_override.unwrap_or(password);
    format!(
        "KafkaClient {{\n   {module} required\n   ## 控制台中实例的用户名和密码\n   username=\"{user}\"\n   password=\"{password}\";\n}};\n"
    )
}

/// Seed 000's worker file (public-network variant), plus the standalone keys.
fn seed_worker(
    bootstrap: &str,
    mechanism: &str,
    truststore: &str,
    truststore_password: &str,
) -> String {
    format!(
        "## Kafka接入点，通过控制台获取
bootstrap.servers={bootstrap}

ssl.truststore.location={truststore}
ssl.truststore.password={truststore_password}
security.protocol=SASL_SSL
sasl.mechanism={mechanism}

producer.ssl.truststore.location={truststore}
producer.ssl.truststore.password={truststore_password}
producer.security.protocol=SASL_SSL
producer.sasl.mechanism={mechanism}

consumer.ssl.truststore.location={truststore}
consumer.ssl.truststore.password={truststore_password}
consumer.security.protocol=SASL_SSL
consumer.sasl.mechanism={mechanism}

key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename=offsets.dat
offset.flush.interval.ms=1000
"
    )
}

fn source(name: &str, topic: &str, extra: &str) -> String {
    format!("name={name}\nconnector.class=FileStreamSource\ntasks.max=1\nfile=input.txt\ntopic={topic}\n{extra}")
}

fn sink(name: &str, topic: &str) -> String {
    format!("name={name}\nconnector.class=FileStreamSink\ntasks.max=1\nfile=output.txt\ntopics={topic}\n")
}

fn seed_launch(dir: &Path) -> Launch {
    Launch {
        cwd: Some(dir.to_path_buf()),
        env: vec![(
            "KAFKA_OPTS".into(),
            "-Djava.security.auth.login.config=kafka_client_jaas.conf".into(),
        )],
        ..Launch::default()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Writes lines to input.txt and waits until output.txt holds them all.
fn moves_lines(dir: &Path, worker: &Worker, n: usize) {
    let lines: String = (0..n).map(|i| format!("secure line {i}\n")).collect();
    write(dir, "input.txt", &lines);
    let out = dir.join("output.txt");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !std::fs::read_to_string(&out).is_ok_and(|t| t == lines) {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for the sink file to hold every line; worker log:\n{}",
            worker.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !worker.log_text().contains(" ERROR "),
        "worker logged errors:\n{}",
        worker.log_text()
    );
}

fn seed_pipeline(mechanism: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::make(dir);
    let (broker, gate) = if mechanism == "PLAIN" {
        let (b, g) = SecureBroker::start_plain(&pki);
        (b, Some(g))
    } else {
        (SecureBroker::start(&pki, false), None)
    };
    write(dir, "kafka_client_jaas.conf", &jaas_file(mechanism, None));
    let topic = crate::harness::unique("secure");
    let worker = write(
        dir,
        "connect-standalone.properties",
        &seed_worker(
            &broker.bootstrap(),
            mechanism,
            "kafka.client.truststore.jks",
            TRUSTSTORE_PASSWORD,
        ),
    );
    let src = write(
        dir,
        "source.properties",
        &source(&crate::harness::unique("src"), &topic, ""),
    );
    let snk = write(
        dir,
        "sink.properties",
        &sink(&crate::harness::unique("snk"), &topic),
    );
    let w = Worker::spawn(
        &worker,
        &[&src, &snk],
        free_port(),
        &dir.join("worker.log"),
        &seed_launch(dir),
    );
    w.wait_ready();
    moves_lines(dir, &w, 200);
    if let Some(gate) = gate {
        let seen = gate.seen.lock().unwrap().clone();
        assert!(
            !seen.is_empty(),
            "no client authenticated through the PLAIN gatekeeper"
        );
        assert!(
            seen.iter()
                .all(|(u, p)| (u.as_str(), p.as_str()) == PLAIN_USER),
            "PLAIN credentials as sent on the wire: {seen:?}"
        );
    }
}

#[test]
fn seed000_sasl_ssl_plain_jks_truststore_jaas_from_kafka_opts() {
    seed_pipeline("PLAIN");
}

#[test]
fn seed000_sasl_ssl_scram_sha_256() {
    seed_pipeline("SCRAM-SHA-256");
}

#[test]
fn seed000_sasl_ssl_scram_sha_512() {
    seed_pipeline("SCRAM-SHA-512");
}

/// Seed 000 run as a cluster against the secured broker: two `sluice distributed` workers with
/// SASL_SSL and SCRAM-SHA-512, the JKS truststore and the JAAS file named in KAFKA_OPTS form one
/// group (the group membership client does TLS and SCRAM too; tansu checks the password) and
/// move lines through connectors created over REST.
#[test]
fn distributed_cluster_over_sasl_ssl_scram() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::make(dir);
    let broker = SecureBroker::start(&pki, false);
    write(
        dir,
        "kafka_client_jaas.conf",
        &jaas_file("SCRAM-SHA-512", None),
    );
    let group = crate::harness::unique("secure-cluster");
    let props = format!(
        "{}group.id={group}\nconfig.storage.topic={group}-configs\noffset.storage.topic={group}-offsets\nstatus.storage.topic={group}-status\nconfig.storage.replication.factor=1\noffset.storage.replication.factor=1\nstatus.storage.replication.factor=1\nheartbeat.interval.ms=1000\n",
        seed_worker(
            &broker.bootstrap(),
            "SCRAM-SHA-512",
            "kafka.client.truststore.jks",
            TRUSTSTORE_PASSWORD,
        )
        .replace("offset.storage.file.filename=offsets.dat\n", "")
    );
    let worker = write(dir, "connect-distributed.properties", &props);
    let workers: Vec<Worker> = (0..2)
        .map(|i| {
            Worker::distributed_with(
                &worker,
                free_port(),
                &dir.join(format!("worker-{i}.log")),
                &seed_launch(dir),
            )
        })
        .collect();
    struct LogsOnPanic<'a>(&'a [Worker]);
    impl Drop for LogsOnPanic<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                for w in self.0 {
                    eprintln!("==== {} ====\n{}", w.log.display(), w.log_text());
                }
            }
        }
    }
    let _logs = LogsOnPanic(&workers);
    for w in &workers {
        w.wait_ready();
    }
    let topic = crate::harness::unique("secure-dist");
    let lines: String = (0..100).map(|i| format!("secure line {i}\n")).collect();
    write(dir, "input.txt", &lines);
    for (w, body) in [
        (
            &workers[0],
            serde_json::json!({"name": "src", "config": {"connector.class": "FileStreamSource", "file": "input.txt", "topic": topic}}),
        ),
        (
            &workers[1],
            serde_json::json!({"name": "snk", "config": {"connector.class": "FileStreamSink", "file": "output.txt", "topics": topic}}),
        ),
    ] {
        // 409 while the group forms (no leader yet).
        wait_for(
            "the connector to be created",
            Duration::from_secs(60),
            || {
                matches!(
                    w.try_send("POST", "/connectors", Some(&body)),
                    Some((201, _))
                )
            },
        );
    }
    let out = dir.join("output.txt");
    let logs = || {
        workers
            .iter()
            .map(|w| w.log_text())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !std::fs::read_to_string(&out).is_ok_and(|t| t == lines) {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for every line in the sink; logs:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for w in &workers {
        let log = w.log_text();
        assert!(
            log.contains("SASL authentication succeeded.")
                && log.contains("mechanism=\"SCRAM-SHA-512\""),
            "the group client authenticated with SCRAM:\n{log}"
        );
        assert!(log.contains("Joined the group"), "{log}");
    }
}

#[test]
fn mutual_tls_with_pkcs12_keystore() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::make(dir);
    let broker = SecureBroker::start(&pki, true);
    write(
        dir,
        "kafka_client_jaas.conf",
        &jaas_file("SCRAM-SHA-512", None),
    );
    let topic = crate::harness::unique("mtls");
    let mut cfg = seed_worker(
        &broker.bootstrap(),
        "SCRAM-SHA-512",
        "kafka.client.truststore.jks",
        TRUSTSTORE_PASSWORD,
    );
    for prefix in ["", "producer.", "consumer."] {
        cfg.push_str(&format!(
            "{prefix}ssl.keystore.type=PKCS12\n{prefix}ssl.keystore.location=client.p12\n{prefix}ssl.keystore.password=client-ks-pw\n"
        ));
    }
    let worker = write(dir, "worker.properties", &cfg);
    let src = write(
        dir,
        "source.properties",
        &source(&crate::harness::unique("src"), &topic, ""),
    );
    let snk = write(
        dir,
        "sink.properties",
        &sink(&crate::harness::unique("snk"), &topic),
    );
    let w = Worker::spawn(
        &worker,
        &[&src, &snk],
        free_port(),
        &dir.join("worker.log"),
        &seed_launch(dir),
    );
    w.wait_ready();
    moves_lines(dir, &w, 100);

    // Without the keystore the TLS terminator refuses the worker: a clear error, and it exits.
    let no_ks = write(
        dir,
        "no-keystore.properties",
        &seed_worker(
            &broker.bootstrap(),
            "SCRAM-SHA-512",
            "kafka.client.truststore.jks",
            TRUSTSTORE_PASSWORD,
        ),
    );
    let mut w2 = Worker::spawn(
        &no_ks,
        &[],
        free_port(),
        &dir.join("worker-2.log"),
        &seed_launch(dir),
    );
    expect_exit_with(&mut w2, &["TLS connection to Kafka failed"]);
}

/// The worker exits non-zero within a deadline and its log has each of `expected` (once).
fn expect_exit_with(w: &mut Worker, expected: &[&str]) {
    let status = w.wait_exit(Duration::from_secs(90));
    let log = w.log_text();
    let status =
        status.unwrap_or_else(|| panic!("the worker kept running (retrying silently?):\n{log}"));
    assert!(!status.success(), "the worker exited successfully:\n{log}");
    for e in expected {
        assert!(log.contains(e), "the log does not say {e:?}:\n{log}");
    }
}

fn misconfigured(
    mechanism: &str,
    jaas_password: Option<&str>,
    truststore: &str,
    truststore_password: &str,
    expected: &[&str],
) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::make(dir);
    let broker = SecureBroker::start(&pki, false);
    write(
        dir,
        "kafka_client_jaas.conf",
        &jaas_file(mechanism, jaas_password),
    );
    let worker = write(
        dir,
        "worker.properties",
        &seed_worker(
            &broker.bootstrap(),
            mechanism,
            truststore,
            truststore_password,
        ),
    );
    let mut w = Worker::spawn(
        &worker,
        &[],
        free_port(),
        &dir.join("worker.log"),
        &seed_launch(dir),
    );
    expect_exit_with(&mut w, expected);
    if let Some(p) = jaas_password {
        assert!(!w.log_text().contains(p), "the log shows the password");
    }
}

#[test]
fn wrong_scram_password_is_one_clear_error() {
    misconfigured(
        "SCRAM-SHA-256",
        Some("not-the-password"),
        "kafka.client.truststore.jks",
        TRUSTSTORE_PASSWORD,
        &[
            "Kafka rejected the client's SASL credentials",
            "SASL SCRAM authentication failed",
        ],
    );
}

#[test]
fn unknown_ca_is_one_clear_error() {
    misconfigured(
        "SCRAM-SHA-512",
        None,
        "other.truststore.jks",
        TRUSTSTORE_PASSWORD,
        &[
            "TLS connection to Kafka failed",
            "certificate verify failed",
        ],
    );
}

#[test]
fn wrong_truststore_password_is_one_clear_error() {
    misconfigured(
        "PLAIN",
        None,
        "kafka.client.truststore.jks",
        "not-KafkaOnsClient",
        &[
            "wrong truststore password for kafka.client.truststore.jks",
            "nothing was started",
        ],
    );
}

#[test]
fn missing_truststore_is_one_clear_error() {
    misconfigured(
        "PLAIN",
        None,
        "missing.truststore.jks",
        TRUSTSTORE_PASSWORD,
        &[
            "truststore file missing.truststore.jks does not exist",
            "nothing was started",
        ],
    );
}

#[test]
fn seed000_kafka_opts_pointing_at_the_truststore_is_named() {
    // Seed 000 literally exports -Djava.security.auth.login.config=kafka.client.truststore.jks.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::make(dir);
    let worker = write(
        dir,
        "worker.properties",
        &seed_worker(
            "127.0.0.1:9",
            "PLAIN",
            "kafka.client.truststore.jks",
            TRUSTSTORE_PASSWORD,
        ),
    );
    let launch = Launch {
        cwd: Some(pki.dir.clone()),
        env: vec![(
            "KAFKA_OPTS".into(),
            "-Djava.security.auth.login.config=kafka.client.truststore.jks".into(),
        )],
        ..Launch::default()
    };
    let mut w = Worker::spawn(&worker, &[], free_port(), &dir.join("worker.log"), &launch);
    expect_exit_with(
        &mut w,
        &[
            "kafka.client.truststore.jks",
            "not a JAAS login configuration file but a Java keystore (JKS)",
        ],
    );
}

#[test]
fn secrets_from_config_providers_stay_out_of_rest_logs_and_stored_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::make(dir);
    let broker = SecureBroker::start(&pki, false);
    let (user, password) = SCRAM512_USER;
    let secrets = write(
        dir,
        "secrets.properties",
        &format!(
            "truststore.password={TRUSTSTORE_PASSWORD}\njaas=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{password}\";\n"
        ),
    );
    let secrets = secrets.display().to_string();
    // The worker's own credentials are SCRAM-SHA-256 from the JAAS file; the source connector
    // overrides its producer's with SCRAM-SHA-512 credentials given through ${file:...}.
    write(
        dir,
        "kafka_client_jaas.conf",
        &jaas_file("SCRAM-SHA-256", None),
    );
    let mut cfg = seed_worker(
        &broker.bootstrap(),
        "SCRAM-SHA-256",
        "kafka.client.truststore.jks",
        &format!("${{file:{secrets}:truststore.password}}"),
    );
    cfg.push_str("config.providers=file\nconfig.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n");
    let worker = write(dir, "worker.properties", &cfg);
    let topic = crate::harness::unique("secret");
    let src_name = crate::harness::unique("src");
    let reference = format!("${{file:{secrets}:jaas}}");
    let src = write(
        dir,
        "source.properties",
        &source(
            &src_name,
            &topic,
            &format!("producer.override.sasl.mechanism=SCRAM-SHA-512\nproducer.override.sasl.jaas.config={reference}\n"),
        ),
    );
    let snk_name = crate::harness::unique("snk");
    let snk = write(dir, "sink.properties", &sink(&snk_name, &topic));
    let w = Worker::spawn(
        &worker,
        &[&src, &snk],
        free_port(),
        &dir.join("worker.log"),
        &seed_launch(dir),
    );
    w.wait_ready();
    moves_lines(dir, &w, 50);

    let mut seen = String::new();
    for path in [
        "/".to_string(),
        "/connectors".to_string(),
        "/connectors?expand=info&expand=status".to_string(),
        format!("/connectors/{src_name}"),
        format!("/connectors/{src_name}/config"),
        format!("/connectors/{src_name}/tasks"),
        format!("/connectors/{src_name}/status"),
        format!("/connectors/{src_name}/offsets"),
    ] {
        let (_, body) = w
            .request(reqwest::Method::GET, &path, None, None)
            .expect("REST answers");
        seen.push_str(&body);
        seen.push('\n');
    }
    let (code, body) = w
        .request(
            reqwest::Method::PUT,
            "/connector-plugins/FileStreamSource/config/validate",
            Some(serde_json::json!({
                "connector.class": "FileStreamSource",
                "name": "v",
                "topic": "t",
                "producer.override.sasl.jaas.config": reference,
            })),
            None,
        )
        .expect("REST answers");
    seen.push_str(&body);
    assert_eq!(code, 200, "{body}");
    let mut files = w.log_text();
    for f in ["offsets.dat", "output.txt"] {
        files.push_str(&String::from_utf8_lossy(
            &std::fs::read(dir.join(f)).unwrap_or_default(),
        ));
    }
    for secret in [password, TRUSTSTORE_PASSWORD] {
        assert!(
            !seen.contains(secret),
            "a REST response shows a secret:\n{seen}"
        );
        assert!(
            !files.contains(secret),
            "the log or a stored file shows a secret:\n{files}"
        );
    }
}

#[test]
fn connector_override_with_wrong_credentials_fails_only_that_task() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::make(dir);
    let broker = SecureBroker::start(&pki, false);
    write(
        dir,
        "kafka_client_jaas.conf",
        &jaas_file("SCRAM-SHA-256", None),
    );
    let worker = write(
        dir,
        "worker.properties",
        &seed_worker(
            &broker.bootstrap(),
            "SCRAM-SHA-256",
            "kafka.client.truststore.jks",
            TRUSTSTORE_PASSWORD,
        ),
    );
    let topic = crate::harness::unique("override");
    let bad = crate::harness::unique("bad-src");
    let bad_src = write(
        dir,
        "bad.properties",
        &source(
            &bad,
            &topic,
            "producer.override.sasl.mechanism=SCRAM-SHA-512\nproducer.override.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"bob\" password=\"not-bobs-password\";\n",
        ),
    );
    let snk_name = crate::harness::unique("snk");
    let snk = write(dir, "sink.properties", &sink(&snk_name, &topic));
    let w = Worker::spawn(
        &worker,
        &[&bad_src, &snk],
        free_port(),
        &dir.join("worker.log"),
        &seed_launch(dir),
    );
    w.wait_ready();
    wait_for(
        "the overridden task to fail",
        Duration::from_secs(60),
        || w.task_state(&bad, 0).as_deref() == Some("FAILED"),
    );
    let status = w.status(&bad).unwrap();
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("Kafka rejected the client's SASL credentials"),
        "{status}"
    );
    assert!(!trace.contains("not-bobs-password"), "{trace}");
    wait_for("the sink to keep running", Duration::from_secs(30), || {
        w.task_state(&snk_name, 0).as_deref() == Some("RUNNING")
    });
}

/// The REST keys of seed 002 (listeners.https.* with a PKCS12 keystore) plus Basic auth.
fn rest_worker(dir: &Path, bootstrap: &str) -> (PathBuf, Launch) {
    let creds = write(
        dir,
        "credentials.properties",
        "admin=admin-pw\nops=ops-pw\n",
    );
    write(
        dir,
        "rest_jaas.conf",
        &format!(
            "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
            creds.display()
        ),
    );
    let worker = write(
        dir,
        "worker.properties",
        &format!(
            "bootstrap.servers={bootstrap}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename=offsets.dat
listeners.https.ssl.keystore.location=rest.p12
listeners.https.ssl.keystore.password=rest-ks-pw
listeners.https.ssl.keystore.type=PKCS12
listeners.https.ssl.key.password=rest-ks-pw
rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension
"
        ),
    );
    let launch = Launch {
        cwd: Some(dir.to_path_buf()),
        env: vec![(
            "KAFKA_OPTS".into(),
            "-Djava.security.auth.login.config=rest_jaas.conf".into(),
        )],
        rest_ca: Some(dir.join("ca.pem")),
        credentials: Some(("admin".into(), "admin-pw".into())),
        ..Launch::default()
    };
    (worker, launch)
}

#[test]
fn rest_over_https_with_basic_auth() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    Pki::make(dir);
    let broker = Broker::start();
    let (worker, launch) = rest_worker(dir, &broker.bootstrap());
    let topic = crate::harness::unique("rest");
    let src_name = crate::harness::unique("src");
    let src = write(dir, "source.properties", &source(&src_name, &topic, ""));
    let w = Worker::spawn(
        &worker,
        &[&src],
        free_port(),
        &dir.join("worker.log"),
        &launch,
    );
    w.wait_ready();

    let unauthorized = r#"{"error_code":401,"message":"User cannot access the resource."}"#;
    let paths = [
        "/".to_string(),
        "/connectors".to_string(),
        format!("/connectors/{src_name}/status"),
        "/connector-plugins".to_string(),
        "/no/such/path".to_string(),
    ];
    for path in &paths {
        for creds in [None, Some(("admin", "wrong")), Some(("nobody", "admin-pw"))] {
            let (code, body) = w
                .request(reqwest::Method::GET, path, None, creds)
                .expect("REST answers");
            assert_eq!(
                (code, body.as_str()),
                (401, unauthorized),
                "{path} with {creds:?}"
            );
        }
        let (code, body) = w
            .request(
                reqwest::Method::POST,
                path,
                Some(serde_json::json!({})),
                None,
            )
            .expect("REST answers");
        assert_eq!((code, body.as_str()), (401, unauthorized), "POST {path}");
    }
    let (code, body) = w
        .request(reqwest::Method::GET, "/", None, Some(("ops", "ops-pw")))
        .unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"version\""), "{body}");
    let (code, body) = w
        .request(
            reqwest::Method::GET,
            "/connectors",
            None,
            Some(("admin", "admin-pw")),
        )
        .unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(&src_name), "{body}");
    wait_for("the source to run", Duration::from_secs(30), || {
        w.task_state(&src_name, 0).as_deref() == Some("RUNNING")
    });
    let (code, _) = w
        .request(
            reqwest::Method::GET,
            "/no/such/path",
            None,
            Some(("admin", "admin-pw")),
        )
        .unwrap();
    assert_eq!(code, 404);

    // Plain HTTP to the HTTPS port gets no REST answer.
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", w.rest_port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let _ = sock.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let mut answer = Vec::new();
    let _ = sock.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.contains("version"), "plain HTTP answered: {answer}");
}

#[test]
fn rest_https_misconfiguration_is_reported_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    Pki::make(dir);
    let (worker, mut launch) = rest_worker(dir, "127.0.0.1:9");
    let text = std::fs::read_to_string(&worker).unwrap().replace(
        "listeners.https.ssl.keystore.password=rest-ks-pw",
        "listeners.https.ssl.keystore.password=wrong",
    );
    std::fs::write(&worker, text).unwrap();
    launch.env = vec![(
        "KAFKA_OPTS".into(),
        "-Djava.security.auth.login.config=missing_jaas.conf".into(),
    )];
    let mut w = Worker::spawn(&worker, &[], free_port(), &dir.join("worker.log"), &launch);
    expect_exit_with(
        &mut w,
        &[
            "cannot read PKCS12 keystore rest.p12",
            "listeners.https.ssl.* keys",
            "missing_jaas.conf",
            "nothing was started",
        ],
    );
    assert!(!w.log_text().contains("rest-ks-pw"));
}
