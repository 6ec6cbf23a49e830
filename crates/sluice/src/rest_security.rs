//! REST server security: HTTPS listeners (Kafka's `ssl.*` keys, or the `listeners.https.`
//! prefixed copies which then win entirely) and HTTP Basic authentication
//! (`rest.extension.classes=...BasicAuthSecurityRestExtension` with a `KafkaConnect` JAAS
//! section naming a `user=password` credentials file).
//!
//! Keystores and truststores are read by the same code as the Kafka clients'
//! (`sluice_kafka::client_config`), so JKS, PKCS12 and PEM stores behave the same here, with the
//! same messages; OpenSSL (already linked by librdkafka) terminates TLS.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{Ssl, SslAcceptor, SslMethod, SslVerifyMode};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;
use sluice_api::config::RawConfig;
use sluice_kafka::client_config::{map_client_config, parse_jaas_entry, ClientRole};
use sluice_rest::auth::BasicAuth;
use sluice_runtime::config::worker::{self, WorkerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_openssl::SslStream;

const HTTPS_PREFIX: &str = "listeners.https.";
const BASIC_AUTH_CLASS: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";
const PROPERTY_FILE_LOGIN_MODULE: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule";

/// Store keys the REST server reads, without prefix.
const STORE_KEYS: &[&str] = &[
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.key.password",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.certificates",
];

/// The SSL settings of the HTTPS listeners and where they come from (for messages).
fn https_settings(raw: &RawConfig) -> (BTreeMap<String, String>, &'static str) {
    let prefixed: BTreeMap<String, String> = raw
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(HTTPS_PREFIX)?.to_string(), v.clone())))
        .collect();
    // Kafka: when any listeners.https. key is given, the un-prefixed ssl.* keys are ignored.
    if prefixed.is_empty() {
        let plain = raw
            .iter()
            .filter(|(k, _)| k.starts_with("ssl."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (plain, "REST HTTPS listener, ssl.* keys")
    } else {
        (prefixed, "REST HTTPS listener, listeners.https.ssl.* keys")
    }
}

fn ssl_err(what: &str, origin: &str, e: openssl::error::ErrorStack) -> String {
    format!("{what} ({origin}): {e}")
}

/// Builds the TLS acceptor for HTTPS listeners; every problem is reported.
pub fn https_acceptor(raw: &RawConfig) -> Result<SslAcceptor, Vec<String>> {
    let (ssl, origin) = https_settings(raw);
    let mut java: BTreeMap<String, String> = ssl
        .iter()
        .filter(|(k, _)| STORE_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    java.insert("security.protocol".into(), "SSL".into());
    let mapped = map_client_config(ClientRole::Admin, &java, origin).map_err(|e| {
        e.problems
            .into_iter()
            .map(|p| p.message)
            .collect::<Vec<_>>()
    })?;
    let rd = mapped.rdkafka;
    let one = |m: String| vec![m];

    let (key, chain) = server_identity(&rd, origin).map_err(one)?;
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())
        .map_err(|e| one(format!("cannot set up TLS ({origin}): {e}")))?;
    b.set_private_key(&key)
        .map_err(|e| one(ssl_err("cannot use the keystore's private key", origin, e)))?;
    let Some((leaf, rest)) = chain.split_first() else {
        return Err(one(format!(
            "the keystore has no certificate for its private key ({origin})"
        )));
    };
    b.set_certificate(leaf)
        .map_err(|e| one(ssl_err("cannot use the keystore's certificate", origin, e)))?;
    for c in rest {
        b.add_extra_chain_cert(c.clone()).map_err(|e| {
            one(ssl_err(
                "cannot use the keystore's certificate chain",
                origin,
                e,
            ))
        })?;
    }
    b.check_private_key().map_err(|e| {
        one(ssl_err(
            "the keystore's private key does not match its certificate",
            origin,
            e,
        ))
    })?;

    let client_auth = ssl
        .get("ssl.client.auth")
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "none".to_string());
    let mode = match client_auth.as_str() {
        "none" | "" => None,
        "requested" => Some(SslVerifyMode::PEER),
        "required" => Some(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT),
        other => {
            return Err(one(format!(
                "Invalid value {other} for configuration ssl.client.auth ({origin}): String must be one of: required, requested, none"
            )))
        }
    };
    if let Some(mode) = mode {
        let cas = trusted_certs(&rd).map_err(|e| one(format!("{e} ({origin})")))?;
        if cas.is_empty() {
            return Err(one(format!(
                "ssl.client.auth is {client_auth} but no truststore is configured to verify client certificates ({origin}): set ssl.truststore.location"
            )));
        }
        let mut store = X509StoreBuilder::new()
            .map_err(|e| one(ssl_err("cannot set up the truststore", origin, e)))?;
        for c in &cas {
            store
                .add_cert(c.clone())
                .map_err(|e| one(ssl_err("cannot use a truststore certificate", origin, e)))?;
            b.add_client_ca(c)
                .map_err(|e| one(ssl_err("cannot use a truststore certificate", origin, e)))?;
        }
        b.set_verify_cert_store(store.build())
            .map_err(|e| one(ssl_err("cannot use the truststore", origin, e)))?;
        b.set_verify(mode);
    }
    Ok(b.build())
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(Path::new(path)).map_err(|e| format!("cannot read {path}: {e}"))
}

/// The private key and certificate chain from what the client mapping produced.
fn server_identity(
    rd: &BTreeMap<String, String>,
    origin: &str,
) -> Result<(PKey<Private>, Vec<X509>), String> {
    let key_password = rd.get("ssl.key.password").map(String::as_bytes);
    let pem_key = |bytes: &[u8]| match key_password {
        Some(p) => PKey::private_key_from_pem_passphrase(bytes, p),
        None => PKey::private_key_from_pem(bytes),
    };
    if let Some(location) = rd.get("ssl.keystore.location") {
        // PKCS12 (librdkafka takes it as is).
        let password = rd.get("ssl.keystore.password").map_or("", String::as_str);
        let parsed = Pkcs12::from_der(&read(location)?)
            .and_then(|p| p.parse2(password))
            .map_err(|_| {
                format!("cannot read PKCS12 keystore {location} ({origin}): wrong ssl.keystore.password or not a PKCS12 file")
            })?;
        let key = parsed
            .pkey
            .ok_or_else(|| format!("PKCS12 keystore {location} has no private key ({origin})"))?;
        let mut chain: Vec<X509> = parsed.cert.into_iter().collect();
        chain.extend(parsed.ca.into_iter().flatten());
        return Ok((key, chain));
    }
    let (key_pem, chain_pem) = match (
        rd.get("ssl.key.location"),
        rd.get("ssl.certificate.location"),
        rd.get("ssl.key.pem"),
        rd.get("ssl.certificate.pem"),
    ) {
        (Some(k), Some(c), _, _) => (read(k)?, read(c)?),
        (_, _, Some(k), Some(c)) => (k.as_bytes().to_vec(), c.as_bytes().to_vec()),
        _ => {
            return Err(format!(
                "an HTTPS listener needs a keystore ({origin}): set ssl.keystore.location (JKS, PKCS12 or PEM), or ssl.keystore.key and ssl.keystore.certificate.chain"
            ))
        }
    };
    let key = pem_key(&key_pem).map_err(|_| {
        format!("cannot read the keystore's private key ({origin}): wrong ssl.key.password or not a PEM private key")
    })?;
    let chain = X509::stack_from_pem(&chain_pem)
        .map_err(|e| format!("cannot read the keystore's certificate chain ({origin}): {e}"))?;
    Ok((key, chain))
}

fn trusted_certs(rd: &BTreeMap<String, String>) -> Result<Vec<X509>, String> {
    let pem = match (rd.get("ssl.ca.pem"), rd.get("ssl.ca.location")) {
        (Some(p), _) => p.as_bytes().to_vec(),
        (None, Some(l)) => read(l)?,
        (None, None) => return Ok(Vec::new()),
    };
    X509::stack_from_pem(&pem).map_err(|e| format!("cannot read the truststore: {e}"))
}

/// The client a worker uses for requests to other workers of its cluster (forwarding to the
/// leader, a follower's task configs), as Kafka's `RestClient` sets it up
/// (`SSLUtils.createClientSideSslContextFactory`): with `https` listeners it trusts the
/// truststore of the same settings as the HTTPS listener (the `listeners.https.` keys, or the
/// plain `ssl.*` keys when none is given; the system's roots when no truststore is named),
/// presents the keystore's certificate to a server that asks for one
/// (`ssl.client.auth=required`), and checks the server's host name unless
/// `ssl.endpoint.identification.algorithm` is empty. Every problem is reported.
pub fn rest_client(raw: &RawConfig, https: bool) -> Result<reqwest::Client, Vec<String>> {
    let builder = reqwest::Client::builder().use_native_tls();
    if !https {
        return builder
            .build()
            .map_err(|e| vec![format!("cannot set up the REST client: {e}")]);
    }
    let (ssl, origin) = https_settings(raw);
    let origin = origin.replace("REST HTTPS listener", "REST client to other workers");
    let mut java: BTreeMap<String, String> = ssl
        .iter()
        .filter(|(k, _)| STORE_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    java.insert("security.protocol".into(), "SSL".into());
    let mapped = map_client_config(ClientRole::Admin, &java, &origin).map_err(|e| {
        e.problems
            .into_iter()
            .map(|p| p.message)
            .collect::<Vec<_>>()
    })?;
    let rd = mapped.rdkafka;
    let one = |m: String| vec![m];
    let mut builder = builder;
    let cas = trusted_certs(&rd).map_err(|e| one(format!("{e} ({origin})")))?;
    if !cas.is_empty() {
        // A named truststore replaces the default roots, as in Java.
        builder = builder.tls_built_in_root_certs(false);
        for c in &cas {
            let pem = c
                .to_pem()
                .map_err(|e| one(ssl_err("cannot use a truststore certificate", &origin, e)))?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                one(format!(
                    "cannot use a truststore certificate ({origin}): {e}"
                ))
            })?;
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Ok((key, chain)) = server_identity(&rd, &origin) {
        if let Some((leaf, rest)) = chain.split_first() {
            let mut cas = openssl::stack::Stack::new()
                .map_err(|e| one(ssl_err("cannot set up the client identity", &origin, e)))?;
            for c in rest {
                cas.push(c.clone()).map_err(|e| {
                    one(ssl_err(
                        "cannot use the keystore's certificate chain",
                        &origin,
                        e,
                    ))
                })?;
            }
            // A throwaway PKCS12 bundle is how native-tls takes a key and its chain.
            let der = Pkcs12::builder()
                .name("sluice-rest-client")
                .pkey(&key)
                .cert(leaf)
                .ca(cas)
                .build2("")
                .and_then(|p| p.to_der())
                .map_err(|e| {
                    one(ssl_err(
                        "cannot use the keystore as a client identity",
                        &origin,
                        e,
                    ))
                })?;
            let identity = reqwest::Identity::from_pkcs12_der(&der, "").map_err(|e| {
                one(format!(
                    "cannot use the keystore as a client identity ({origin}): {e}"
                ))
            })?;
            builder = builder.identity(identity);
        }
    }
    let endpoint = ssl
        .get("ssl.endpoint.identification.algorithm")
        .map_or("https", |v| v.trim());
    if endpoint.is_empty() {
        builder = builder.danger_accept_invalid_hostnames(true);
    }
    builder
        .build()
        .map_err(|e| one(format!("cannot set up the REST client ({origin}): {e}")))
}

/// Accepts TCP connections and completes TLS handshakes off the accept loop, so a slow client
/// cannot hold up others.
pub struct TlsListener {
    ready: mpsc::Receiver<(SslStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, acceptor: SslAcceptor) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (sock, peer) = match tcp.accept().await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "REST HTTPS listener could not accept a connection.");
                        // E.g. out of file descriptors: back off instead of spinning.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(ssl) = Ssl::new(acceptor.context()) else {
                    continue;
                };
                let conn_tx = tx.clone();
                tokio::spawn(async move {
                    let Ok(mut stream) = SslStream::new(ssl, sock) else {
                        return;
                    };
                    let hs = tokio::time::timeout(
                        Duration::from_secs(10),
                        Pin::new(&mut stream).accept(),
                    )
                    .await;
                    match hs {
                        Ok(Ok(())) => {
                            let _ = conn_tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, error = %e, "REST TLS handshake failed.")
                        }
                        Err(_) => tracing::debug!(peer = %peer, "REST TLS handshake timed out."),
                    }
                });
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(TlsListener { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = SslStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Basic authentication, when `rest.extension.classes` asks for it.
pub fn basic_auth(worker: &WorkerConfig) -> Result<Option<BasicAuth>, String> {
    let classes = worker.config.list(worker::REST_EXTENSION_CLASSES);
    let mut enabled = false;
    for c in &classes {
        if c == BASIC_AUTH_CLASS || c == "BasicAuthSecurityRestExtension" {
            enabled = true;
        } else {
            return Err(format!(
                "Invalid value {c} for configuration rest.extension.classes: Sluice cannot load Java REST extensions; it provides {BASIC_AUTH_CLASS}"
            ));
        }
    }
    if !enabled {
        return Ok(None);
    }
    let needs = "rest.extension.classes enables BasicAuthSecurityRestExtension, which reads the KafkaConnect section of the JAAS login configuration";
    let Some(jaas) = worker.jaas_login_config() else {
        return Err(format!(
            "{needs}, but no JAAS file is named: set -Djava.security.auth.login.config=<file> in KAFKA_OPTS or java.security.auth.login.config in the worker config"
        ));
    };
    let bytes = read(jaas).map_err(|e| format!("{needs}: {e}"))?;
    let section = sluice_kafka::jaas_file::section(&bytes, "KafkaConnect")
        .map_err(|e| format!("{needs}; the JAAS file {jaas} cannot be used: {e}"))?;
    let (module, options) = parse_jaas_entry(&section)
        .map_err(|e| format!("{needs}; the KafkaConnect section of {jaas} is invalid: {e}"))?;
    if module != PROPERTY_FILE_LOGIN_MODULE {
        return Err(format!(
            "{needs}; the KafkaConnect section of {jaas} uses login module {module}, Sluice supports {PROPERTY_FILE_LOGIN_MODULE}"
        ));
    }
    let Some((_, file)) = options.iter().find(|(k, _)| k == "file") else {
        return Err(format!(
            "{needs}; the KafkaConnect section of {jaas} needs option file=\"/path/credentials.properties\""
        ));
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{needs}: cannot read the credentials file {file}: {e}"))?;
    let users = sluice_properties::parse(&text)
        .map_err(|e| format!("{needs}: cannot parse the credentials file {file}: {e}"))?
        .to_map();
    if users.is_empty() {
        tracing::warn!(file = %file, "The REST credentials file has no users: every REST request will be rejected.");
    }
    Ok(Some(BasicAuth::new(users)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn run(dir: &Path, program: &str, args: &[&str]) {
        let out = std::process::Command::new(program)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("these tests need {program} (openssl, a JDK's keytool): {e}")
            });
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn raw(pairs: &[(&str, String)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn keystores_pem_pkcs12_jks_and_prefix_rules() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        run(
            d,
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "key.pem",
                "-out",
                "cert.pem",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
            ],
        );
        run(
            d,
            "openssl",
            &[
                "pkcs12",
                "-export",
                "-in",
                "cert.pem",
                "-inkey",
                "key.pem",
                "-name",
                "rest",
                "-out",
                "ks.p12",
                "-passout",
                "pass:p12-store-pw",
            ],
        );
        run(
            d,
            "keytool",
            &[
                "-importkeystore",
                "-srckeystore",
                "ks.p12",
                "-srcstoretype",
                "PKCS12",
                "-srcstorepass",
                "p12-store-pw",
                "-destkeystore",
                "ks.jks",
                "-deststoretype",
                "JKS",
                "-deststorepass",
                "jks-store-pw",
                "-destkeypass",
                "jks-store-pw",
                "-noprompt",
            ],
        );
        let both = format!(
            "{}{}",
            std::fs::read_to_string(d.join("key.pem")).unwrap(),
            std::fs::read_to_string(d.join("cert.pem")).unwrap()
        );
        std::fs::write(d.join("both.pem"), both).unwrap();
        let p = |f: &str| d.join(f).display().to_string();

        for cfg in [
            raw(&[
                ("ssl.keystore.type", "PEM".into()),
                ("ssl.keystore.location", p("both.pem")),
            ]),
            raw(&[
                ("ssl.keystore.type", "PKCS12".into()),
                ("ssl.keystore.location", p("ks.p12")),
                ("ssl.keystore.password", "p12-store-pw".into()),
            ]),
            raw(&[
                ("ssl.keystore.location", p("ks.jks")),
                ("ssl.keystore.password", "jks-store-pw".into()),
                ("ssl.key.password", "jks-store-pw".into()),
            ]),
            // listeners.https.* wins entirely: the broken un-prefixed keys are ignored.
            raw(&[
                ("ssl.keystore.location", p("missing.jks")),
                ("listeners.https.ssl.keystore.location", p("ks.p12")),
                (
                    "listeners.https.ssl.keystore.password",
                    "p12-store-pw".into(),
                ),
                ("listeners.https.ssl.client.auth", "required".into()),
                ("listeners.https.ssl.truststore.type", "PEM".into()),
                ("listeners.https.ssl.truststore.location", p("cert.pem")),
            ]),
        ] {
            if let Err(e) = https_acceptor(&cfg) {
                panic!("{cfg:?}: {e:?}");
            }
        }

        let cases = [
            (
                raw(&[
                    ("ssl.keystore.type", "PKCS12".into()),
                    ("ssl.keystore.location", p("ks.p12")),
                    ("ssl.keystore.password", "wrong".into()),
                ]),
                "wrong ssl.keystore.password",
            ),
            (
                raw(&[
                    ("ssl.keystore.location", p("ks.jks")),
                    ("ssl.keystore.password", "wrong".into()),
                ]),
                "ssl.keystore.password",
            ),
            (
                raw(&[("ssl.keystore.location", p("nope.jks"))]),
                "does not exist",
            ),
            (raw(&[]), "an HTTPS listener needs a keystore"),
            (
                raw(&[
                    ("ssl.keystore.location", p("ks.p12")),
                    ("ssl.keystore.password", "p12-store-pw".into()),
                    ("ssl.client.auth", "required".into()),
                ]),
                "no truststore is configured",
            ),
        ];
        for (cfg, expected) in cases {
            let errs = https_acceptor(&cfg)
                .err()
                .unwrap_or_else(|| panic!("{cfg:?} accepted"));
            let all = errs.join("\n");
            assert!(all.contains(expected), "{cfg:?}: {all}");
            assert!(
                !all.contains("p12-store-pw") && !all.contains("jks-store-pw"),
                "{all}"
            );
        }
    }

    /// A CA, and a PKCS12 keystore with a certificate it signed for `san`.
    fn pki(d: &Path, name: &str, san: &str) {
        if !d.join("ca.pem").exists() {
            run(
                d,
                "openssl",
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
                    "2",
                    "-subj",
                    "/CN=test CA",
                ],
            );
        }
        std::fs::write(
            d.join(format!("{name}.ext")),
            format!("subjectAltName={san}\n"),
        )
        .unwrap();
        let f = |ext: &str| format!("{name}.{ext}");
        run(
            d,
            "openssl",
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &f("key"),
                "-out",
                &f("csr"),
                "-subj",
                "/CN=worker",
            ],
        );
        run(
            d,
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                &f("csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &f("pem"),
                "-days",
                "2",
                "-extfile",
                &f("ext"),
            ],
        );
        run(
            d,
            "openssl",
            &[
                "pkcs12",
                "-export",
                "-in",
                &f("pem"),
                "-inkey",
                &f("key"),
                "-out",
                &f("p12"),
                "-passout",
                "pass:ks-pw",
            ],
        );
    }

    fn worker_keys(d: &Path, keystore: &str, extra: &[(&str, &str)]) -> RawConfig {
        let mut c = raw(&[
            ("listeners.https.ssl.keystore.type", "PKCS12".into()),
            (
                "listeners.https.ssl.keystore.location",
                d.join(format!("{keystore}.p12")).display().to_string(),
            ),
            ("listeners.https.ssl.keystore.password", "ks-pw".into()),
            ("listeners.https.ssl.truststore.type", "PEM".into()),
            (
                "listeners.https.ssl.truststore.location",
                d.join("ca.pem").display().to_string(),
            ),
        ]);
        for (k, v) in extra {
            c.insert(k.to_string(), v.to_string());
        }
        c
    }

    /// Serves `GET /` over HTTPS with the acceptor of `server`; the port.
    async fn serve(server: &RawConfig) -> u16 {
        let acceptor = https_acceptor(server).unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let tls = TlsListener::new(tcp, acceptor).unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(tls, app).await });
        port
    }

    async fn get(client: &reqwest::Client, port: u16) -> Result<String, String> {
        let r = client
            .get(format!("https://127.0.0.1:{port}/"))
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        r.text().await.map_err(|e| format!("{e:?}"))
    }

    #[tokio::test]
    async fn the_client_to_other_workers_trusts_the_truststore_and_presents_the_keystore() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        pki(d, "a", "IP:127.0.0.1,DNS:localhost");
        pki(d, "b", "DNS:elsewhere.example");
        // A worker that requires client certificates, answered by another worker's client.
        let required = [("listeners.https.ssl.client.auth", "required")];
        let port = serve(&worker_keys(d, "a", &required)).await;
        let client = rest_client(&worker_keys(d, "a", &[]), true).unwrap();
        assert_eq!(get(&client, port).await.unwrap(), "ok");
        // Without a keystore there is no certificate to present: refused.
        let mut no_keystore = worker_keys(d, "a", &[]);
        no_keystore.retain(|k, _| !k.contains("keystore"));
        let bare = rest_client(&no_keystore, true).unwrap();
        assert!(get(&bare, port).await.is_err());
        // Without the truststore the worker's certificate is not trusted.
        let mut no_truststore = worker_keys(d, "a", &[]);
        no_truststore.retain(|k, _| !k.contains("truststore"));
        let untrusting = rest_client(&no_truststore, true).unwrap();
        assert!(get(&untrusting, port).await.is_err());
        // A certificate for another host name is refused, unless the identification is off.
        let port = serve(&worker_keys(d, "b", &[])).await;
        assert!(get(&client, port).await.is_err());
        let lenient = rest_client(
            &worker_keys(
                d,
                "a",
                &[("listeners.https.ssl.endpoint.identification.algorithm", "")],
            ),
            true,
        )
        .unwrap();
        assert_eq!(get(&lenient, port).await.unwrap(), "ok");
        // Problems name the key's origin and never a password.
        let mut wrong = worker_keys(d, "a", &[]);
        wrong.insert(
            "listeners.https.ssl.truststore.location".into(),
            d.join("missing.pem").display().to_string(),
        );
        let errs = rest_client(&wrong, true).err().unwrap().join("\n");
        assert!(errs.contains("missing.pem"), "{errs}");
        assert!(!errs.contains("ks-pw"), "{errs}");
    }
}
