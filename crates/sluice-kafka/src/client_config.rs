//! Java Kafka client config -> librdkafka config.
//!
//! Kafka Connect users keep their worker `.properties` with Java client names (`producer.acks=all`,
//! `sasl.jaas.config=...`, `ssl.truststore.location=...jks`); the data path runs on librdkafka,
//! whose names and sometimes semantics differ. [`map_client_config`] translates one client's Java
//! settings (prefix already stripped, precedence already applied by the caller) into librdkafka
//! settings, and [`mapping_table`] is the same table for generated docs.
//!
//! Rules this module keeps:
//! - Pure: no rdkafka types, no I/O except reading the keystore and truststore files it converts,
//!   and only when `security.protocol` uses TLS (Java never opens them otherwise).
//! - Every problem is collected ([`ClientConfigError`] lists all of them), worded like Java's
//!   `ConfigException` (`Invalid value X for configuration K (origin): what is allowed`). Secret
//!   values (passwords, `sasl.jaas.config`, inline private keys) are never echoed.
//! - Nothing is dropped silently. An unknown key, a key for another client role, a Java setting
//!   librdkafka cannot honour, or a value clamped into librdkafka's range goes to
//!   [`MappedConfig::warnings`]. Java-client internals that mean nothing to a librdkafka client and
//!   change no behaviour (serializers, metrics reporters, JCA provider names, ...) go to
//!   [`MappedConfig::notes`], which callers log at debug level: Connect's own framework defaults
//!   set some of them, so warning about them would be noise.
//! - A config Java accepts should keep working: values outside librdkafka's range are clamped (with
//!   a warning) rather than rejected, and librdkafka's cross-key rules (`fetch.max.bytes >=
//!   message.max.bytes`, `max.poll.interval.ms >= session.timeout.ms`, `message.timeout.ms <=
//!   transaction.timeout.ms`, ...) are satisfied by adjusting the dependent key, again with a
//!   warning. Configs Java rejects (idempotence without `acks=all`, `delivery.timeout.ms` below
//!   `linger.ms + request.timeout.ms`, ...) are rejected here too.
//! - Where librdkafka's default behaves differently from Java's and the difference is visible to
//!   users, the Java behaviour is set explicitly: producers get `partitioner=murmur2_random` (Java
//!   hashes keys with murmur2, librdkafka's default uses CRC32, so records would land on other
//!   partitions) and consumers get `isolation.level=read_uncommitted` (Java's default;
//!   librdkafka's is `read_committed`).
//!
//! The returned map holds secrets (SASL password, private keys converted from JKS): don't log it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use base64::Engine as _;
use sluice_keystores::{
    der_to_pem, jks_decrypt_key, parse_jks, pkcs12_trusted_certs, sniff_store, StoreError,
    StoreFormat,
};

/// Which Kafka client the settings are for. Java's producer, consumer and admin clients each know
/// a different set of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientRole {
    Producer,
    Consumer,
    Admin,
}

impl ClientRole {
    fn name(self) -> &'static str {
        match self {
            ClientRole::Producer => "producer",
            ClientRole::Consumer => "consumer",
            ClientRole::Admin => "admin",
        }
    }
}

impl fmt::Display for ClientRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The result of a successful mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappedConfig {
    /// librdkafka settings, ready for `rdkafka::ClientConfig::set`.
    pub rdkafka: BTreeMap<String, String>,
    /// Settings that were ignored, approximated or adjusted; log at warn level.
    pub warnings: Vec<String>,
    /// Java-client internals with no librdkafka meaning that were ignored; log at debug level.
    pub notes: Vec<String>,
    /// Java's `max.poll.records`: librdkafka has no such key, the consumer loop enforces it.
    pub max_poll_records: Option<usize>,
}

/// One problem with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The Java config key the problem is about.
    pub key: String,
    /// The full message, naming the key, the value (unless secret) and what is allowed.
    pub message: String,
}

/// Every problem found in one client config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_problems(.problems))]
pub struct ClientConfigError {
    pub problems: Vec<ConfigProblem>,
}

fn render_problems(problems: &[ConfigProblem]) -> String {
    match problems {
        [one] => one.message.clone(),
        many => {
            let mut s = format!("{} problems in Kafka client configuration:", many.len());
            for p in many {
                s.push_str("\n  - ");
                s.push_str(&p.message);
            }
            s
        }
    }
}

impl From<ClientConfigError> for sluice_api::ConnectError {
    fn from(e: ClientConfigError) -> Self {
        sluice_api::ConnectError::config(e.to_string())
    }
}

/// One row of the mapping, for generated docs.
#[derive(Debug, Clone, Copy)]
pub struct MappingDoc {
    /// The Java client config name.
    pub java_key: &'static str,
    /// The librdkafka name(s) it maps to, or "" when it is ignored.
    pub librdkafka_key: &'static str,
    /// Roles whose Java client knows the key. For other roles it is ignored with a warning.
    pub roles: &'static [ClientRole],
    pub notes: &'static str,
    kind: Kind,
}

/// The mapping table, one row per Java key this module knows.
pub fn mapping_table() -> &'static [MappingDoc] {
    RULES
}

impl MappingDoc {
    /// How the key is treated, in words for the docs.
    pub fn treatment(&self) -> &'static str {
        match self.kind {
            Kind::Internal => "ignored (Java-client internal; debug note)",
            Kind::Unsupported => "not supported (warning)",
            _ => "mapped",
        }
    }
}

/// `docs/client-config.md`: the mapping table as Markdown, generated from [`mapping_table`]
/// (a test fails when the committed file differs; `SLUICE_BLESS=1` rewrites it).
pub fn mapping_markdown() -> String {
    let mut s = String::from(
        "# Kafka client configuration: Java names and librdkafka\n\n\
         <!-- Generated from sluice_kafka::client_config::mapping_table(); do not edit by hand. \
         Regenerate with `SLUICE_BLESS=1 cargo test -p sluice-kafka client_config_doc`. -->\n\n\
         Sluice reads Kafka client settings under their Java names: un-prefixed in the worker config \
         (worker and connector admin clients), under `producer.`, `consumer.` and `admin.` in the \
         worker config, and under `producer.override.`, `consumer.override.` and `admin.override.` \
         in a connector config (allowed by `connector.client.config.override.policy`: `All`, the \
         default; `Principal`: only `sasl.jaas.config`, `sasl.mechanism`, `security.protocol`; \
         `None`). Precedence: framework defaults < worker prefixes < connector overrides. \
         The data path runs on librdkafka; this table says what each Java key becomes. \
         A key not in the table is ignored with a warning naming it.\n\n\
         | Java key | librdkafka | Clients | Treatment | Notes |\n|---|---|---|---|---|\n",
    );
    for r in RULES {
        let roles = if r.roles.len() == 3 {
            "all".to_string()
        } else {
            r.roles
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let rd = if r.librdkafka_key.is_empty() {
            "—".to_string()
        } else {
            format!(
                "`{}`",
                r.librdkafka_key
                    .replace(", ", "`, `")
                    .replace(" or ", "` or `")
            )
        };
        s.push_str(&format!(
            "| `{}` | {rd} | {roles} | {} | {} |\n",
            r.java_key,
            r.treatment(),
            r.notes.replace('|', "\\|")
        ));
    }
    s
}

#[derive(Debug, Clone, Copy)]
enum JavaInt {
    Int,
    Long,
}

impl JavaInt {
    fn name(self) -> &'static str {
        match self {
            JavaInt::Int => "INT",
            JavaInt::Long => "LONG",
        }
    }
    fn bounds(self) -> (i64, i64) {
        match self {
            JavaInt::Int => (i64::from(i32::MIN), i64::from(i32::MAX)),
            JavaInt::Long => (i64::MIN, i64::MAX),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A string copied as is (empty means "not set").
    Str,
    /// A Java integer with Java's lower bound, clamped into librdkafka's range.
    Int {
        ty: JavaInt,
        java_min: Option<i64>,
        rd_min: i64,
        rd_max: i64,
    },
    Bool,
    /// Allowed Java values (matched case-insensitively) and their librdkafka value.
    Enum(&'static [(&'static str, &'static str)]),
    /// Handled by dedicated code.
    Special(Special),
    /// Java-client internal with no effect worth a warning: a note.
    Internal,
    /// Known Java setting librdkafka cannot honour: a warning.
    Unsupported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    BootstrapServers,
    Acks,
    SecurityProtocol,
    /// `sasl.mechanism`, `sasl.jaas.config`: mapped together.
    Sasl,
    /// Truststore / keystore keys: mapped together.
    Ssl,
    EndpointIdentification,
    BufferMemory,
    SocketBuffer,
    RequestTimeout,
    MaxPollRecords,
    AssignmentStrategy,
    AutoOffsetReset,
    Partitioner,
}

const ALL: &[ClientRole] = &[
    ClientRole::Producer,
    ClientRole::Consumer,
    ClientRole::Admin,
];
const P: &[ClientRole] = &[ClientRole::Producer];
const C: &[ClientRole] = &[ClientRole::Consumer];
const PC: &[ClientRole] = &[ClientRole::Producer, ClientRole::Consumer];
const CA: &[ClientRole] = &[ClientRole::Consumer, ClientRole::Admin];
const A: &[ClientRole] = &[ClientRole::Admin];

const I32_MAX: i64 = i32::MAX as i64;

const fn int(ty: JavaInt, java_min: Option<i64>, rd_min: i64, rd_max: i64) -> Kind {
    Kind::Int {
        ty,
        java_min,
        rd_min,
        rd_max,
    }
}

const fn row(
    java_key: &'static str,
    librdkafka_key: &'static str,
    roles: &'static [ClientRole],
    kind: Kind,
    notes: &'static str,
) -> MappingDoc {
    MappingDoc {
        java_key,
        librdkafka_key,
        roles,
        notes,
        kind,
    }
}

const SECURITY_PROTOCOLS: &[(&str, &str)] = &[
    ("PLAINTEXT", "plaintext"),
    ("SSL", "ssl"),
    ("SASL_PLAINTEXT", "sasl_plaintext"),
    ("SASL_SSL", "sasl_ssl"),
];
const COMPRESSION: &[(&str, &str)] = &[
    ("none", "none"),
    ("gzip", "gzip"),
    ("snappy", "snappy"),
    ("lz4", "lz4"),
    ("zstd", "zstd"),
];
const ISOLATION: &[(&str, &str)] = &[
    ("read_committed", "read_committed"),
    ("read_uncommitted", "read_uncommitted"),
];
const GROUP_PROTOCOL: &[(&str, &str)] = &[("classic", "classic"), ("consumer", "consumer")];
const DNS_LOOKUP: &[(&str, &str)] = &[
    ("use_all_dns_ips", "use_all_dns_ips"),
    (
        "resolve_canonical_bootstrap_servers_only",
        "resolve_canonical_bootstrap_servers_only",
    ),
];

use JavaInt::{Int, Long};

static RULES: &[MappingDoc] = &[
    // ---- common
    row("bootstrap.servers", "bootstrap.servers", ALL, Kind::Special(Special::BootstrapServers), "Comma-separated list; entries are trimmed and empty ones dropped, as Java does."),
    row("client.id", "client.id", ALL, Kind::Str, ""),
    row("client.dns.lookup", "client.dns.lookup", ALL, Kind::Enum(DNS_LOOKUP), ""),
    row("security.protocol", "security.protocol", ALL, Kind::Special(Special::SecurityProtocol), "Case-insensitive; written in lower case. Default PLAINTEXT."),
    row("sasl.mechanism", "sasl.mechanisms", ALL, Kind::Special(Special::Sasl), "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (GSSAPI and OAUTHBEARER are not supported). Only read when security.protocol is SASL_*."),
    row("sasl.jaas.config", "sasl.username, sasl.password", ALL, Kind::Special(Special::Sasl), "PlainLoginModule or ScramLoginModule with username and password options; parsed like Java's JaasConfig (quotes, escapes, comments, trailing ';'). Any other login module is an error. When absent, the KafkaClient section of the JAAS file named by -Djava.security.auth.login.config= in KAFKA_OPTS (or the worker's java.security.auth.login.config) is used, as in Kafka."),
    row("ssl.truststore.type", "", ALL, Kind::Special(Special::Ssl), "JKS (default), PKCS12 or PEM. JKS and PKCS12 files are recognised by content, as Java does."),
    row("ssl.truststore.location", "ssl.ca.location or ssl.ca.pem", ALL, Kind::Special(Special::Ssl), "PEM: passed as ssl.ca.location. JKS/PKCS12: the file is read, its trusted certificates converted to PEM and passed as ssl.ca.pem. A missing file is an error."),
    row("ssl.truststore.password", "", ALL, Kind::Special(Special::Ssl), "Verifies the JKS/PKCS12 truststore integrity; a wrong password is an error. Without it, a JKS store is read unchecked (as Java does)."),
    row("ssl.truststore.certificates", "ssl.ca.pem", ALL, Kind::Special(Special::Ssl), "Inline PEM (requires ssl.truststore.type=PEM); normalised, so single-line PEM works."),
    row("ssl.keystore.type", "", ALL, Kind::Special(Special::Ssl), "JKS (default), PKCS12 or PEM."),
    row("ssl.keystore.location", "ssl.keystore.location, or ssl.certificate.location + ssl.key.location, or ssl.certificate.pem + ssl.key.pem", ALL, Kind::Special(Special::Ssl), "PKCS12: passed through with ssl.keystore.password. PEM: the file is used for both certificate and key. JKS: its private key entry is decrypted and passed as inline PEM."),
    row("ssl.keystore.password", "ssl.keystore.password", ALL, Kind::Special(Special::Ssl), ""),
    row("ssl.keystore.certificate.chain", "ssl.certificate.pem", ALL, Kind::Special(Special::Ssl), "Inline PEM (requires ssl.keystore.type=PEM)."),
    row("ssl.keystore.key", "ssl.key.pem", ALL, Kind::Special(Special::Ssl), "Inline PEM (requires ssl.keystore.type=PEM)."),
    row("ssl.key.password", "ssl.key.password", ALL, Kind::Special(Special::Ssl), "For PKCS12 keystores librdkafka uses ssl.keystore.password for the key too."),
    row("ssl.endpoint.identification.algorithm", "ssl.endpoint.identification.algorithm", ALL, Kind::Special(Special::EndpointIdentification), "\"https\" -> https, \"\" -> none."),
    row("request.timeout.ms", "request.timeout.ms (producer), socket.timeout.ms (consumer, admin)", ALL, Kind::Special(Special::RequestTimeout), "librdkafka's request.timeout.ms is the producer ack timeout; other clients bound requests with socket.timeout.ms (10..300000)."),
    row("retry.backoff.ms", "retry.backoff.ms", ALL, int(Long, Some(0), 1, 300_000), ""),
    row("retry.backoff.max.ms", "retry.backoff.max.ms", ALL, int(Long, Some(0), 1, 300_000), ""),
    row("metadata.max.age.ms", "topic.metadata.refresh.interval.ms", ALL, int(Long, Some(0), 1, 3_600_000), "Java's forced metadata refresh period is librdkafka's refresh interval (librdkafka's metadata.max.age.ms is a cache lifetime)."),
    row("reconnect.backoff.ms", "reconnect.backoff.ms", ALL, int(Long, Some(0), 0, 3_600_000), ""),
    row("reconnect.backoff.max.ms", "reconnect.backoff.max.ms", ALL, int(Long, Some(0), 0, 3_600_000), ""),
    row("socket.connection.setup.timeout.ms", "socket.connection.setup.timeout.ms", ALL, int(Long, Some(0), 1000, I32_MAX), ""),
    row("connections.max.idle.ms", "connections.max.idle.ms", ALL, int(Long, None, 0, I32_MAX), "Negative values (never close) map to 0 (disabled)."),
    row("receive.buffer.bytes", "socket.receive.buffer.bytes", ALL, Kind::Special(Special::SocketBuffer), "-1 (OS default) -> 0."),
    row("send.buffer.bytes", "socket.send.buffer.bytes", ALL, Kind::Special(Special::SocketBuffer), "-1 (OS default) -> 0."),
    // ---- producer
    row("acks", "request.required.acks", P, Kind::Special(Special::Acks), "all, -1, 0, 1; all -> -1."),
    row("enable.idempotence", "enable.idempotence", P, Kind::Bool, "true requires acks=all, retries > 0 and max.in.flight.requests.per.connection <= 5, as in Java."),
    row("compression.type", "compression.type", P, Kind::Enum(COMPRESSION), ""),
    row("linger.ms", "linger.ms", P, int(Long, Some(0), 0, 900_000), ""),
    row("batch.size", "batch.size", P, int(Int, Some(0), 1, I32_MAX), "Java's 0 (no batching) becomes 1."),
    row("max.request.size", "message.max.bytes", P, int(Int, Some(0), 1000, 1_000_000_000), ""),
    row("retries", "retries", P, int(Int, Some(0), 0, I32_MAX), "Java admin clients also know it; librdkafka admin requests have no retry count."),
    row("delivery.timeout.ms", "message.timeout.ms", P, int(Int, Some(0), 0, I32_MAX), "Must be >= linger.ms + request.timeout.ms, as in Java. With transactional.id it is clamped to transaction.timeout.ms (librdkafka requires it)."),
    row("max.in.flight.requests.per.connection", "max.in.flight.requests.per.connection", P, int(Int, Some(1), 1, 1_000_000), ""),
    row("buffer.memory", "queue.buffering.max.kbytes", P, Kind::Special(Special::BufferMemory), "Bytes -> KiB, rounded up."),
    row("transactional.id", "transactional.id", P, Kind::Str, ""),
    row("transaction.timeout.ms", "transaction.timeout.ms", P, int(Int, None, 1000, I32_MAX), ""),
    row("partitioner.class", "partitioner", P, Kind::Special(Special::Partitioner), "Unset or DefaultPartitioner -> murmur2_random (Java's key hashing; always set for producers). UniformStickyPartitioner -> random. RoundRobinPartitioner -> random (approximation, warned). Other classes are ignored with a warning."),
    row("partitioner.ignore.keys", "partitioner", P, Kind::Special(Special::Partitioner), "true -> random."),
    row("partitioner.adaptive.partitioning.enable", "", P, Kind::Internal, "librdkafka's sticky partitioner is not adaptive."),
    row("partitioner.availability.timeout.ms", "", P, Kind::Internal, ""),
    row("max.block.ms", "", P, Kind::Internal, "librdkafka never blocks on produce; Sluice applies back-pressure itself."),
    row("metadata.max.idle.ms", "", P, Kind::Internal, ""),
    row("key.serializer", "", P, Kind::Internal, "Sluice hands librdkafka bytes; converters serialize."),
    row("value.serializer", "", P, Kind::Internal, "Sluice hands librdkafka bytes; converters serialize."),
    row("compression.gzip.level", "", P, Kind::Unsupported, "Not mapped yet (librdkafka compression.level)."),
    row("compression.lz4.level", "", P, Kind::Unsupported, "Not mapped yet (librdkafka compression.level)."),
    row("compression.zstd.level", "", P, Kind::Unsupported, "Not mapped yet (librdkafka compression.level)."),
    // ---- consumer
    row("group.id", "group.id", C, Kind::Str, ""),
    row("group.instance.id", "group.instance.id", C, Kind::Str, ""),
    row("group.protocol", "group.protocol", C, Kind::Enum(GROUP_PROTOCOL), ""),
    row("group.remote.assignor", "group.remote.assignor", C, Kind::Str, ""),
    row("client.rack", "client.rack", C, Kind::Str, ""),
    row("auto.offset.reset", "auto.offset.reset", C, Kind::Special(Special::AutoOffsetReset), "earliest, latest; none -> error (librdkafka then reports an error instead of Java's NoOffsetForPartitionException)."),
    row("enable.auto.commit", "enable.auto.commit", C, Kind::Bool, ""),
    row("auto.commit.interval.ms", "auto.commit.interval.ms", C, int(Int, Some(0), 0, 86_400_000), ""),
    row("session.timeout.ms", "session.timeout.ms", C, int(Int, None, 1, 3_600_000), ""),
    row("heartbeat.interval.ms", "heartbeat.interval.ms", C, int(Int, None, 1, 3_600_000), ""),
    row("max.poll.interval.ms", "max.poll.interval.ms", C, int(Int, Some(1), 1, 86_400_000), "Raised to session.timeout.ms if lower (librdkafka requires it)."),
    row("partition.assignment.strategy", "partition.assignment.strategy", C, Kind::Special(Special::AssignmentStrategy), "RangeAssignor -> range, RoundRobinAssignor -> roundrobin, StickyAssignor -> roundrobin (librdkafka has no eager sticky assignor; warned), CooperativeStickyAssignor -> cooperative-sticky. Lists mixing eager and cooperative assignors keep the first one's protocol (librdkafka cannot mix them)."),
    row("fetch.min.bytes", "fetch.min.bytes", C, int(Int, Some(0), 1, 100_000_000), ""),
    row("fetch.max.bytes", "fetch.max.bytes", C, int(Int, Some(0), 1000, 2_147_483_135), "When below 1000000, message.max.bytes is lowered to match (librdkafka requires fetch.max.bytes >= message.max.bytes)."),
    row("max.partition.fetch.bytes", "max.partition.fetch.bytes", C, int(Int, Some(0), 1, 1_000_000_000), ""),
    row("fetch.max.wait.ms", "fetch.wait.max.ms", C, int(Int, Some(0), 0, 300_000), ""),
    row("max.poll.records", "", C, Kind::Special(Special::MaxPollRecords), "No librdkafka key: returned in MappedConfig::max_poll_records."),
    row("isolation.level", "isolation.level", C, Kind::Enum(ISOLATION), "Defaults to read_uncommitted (Java's default; librdkafka's is read_committed)."),
    row("check.crcs", "check.crcs", C, Kind::Bool, ""),
    row("allow.auto.create.topics", "allow.auto.create.topics", C, Kind::Bool, ""),
    row("exclude.internal.topics", "", C, Kind::Internal, "librdkafka never matches internal topics by pattern."),
    row("internal.leave.group.on.close", "", C, Kind::Internal, ""),
    row("key.deserializer", "", C, Kind::Internal, "Sluice receives bytes; converters deserialize."),
    row("value.deserializer", "", C, Kind::Internal, "Sluice receives bytes; converters deserialize."),
    row("default.api.timeout.ms", "", CA, Kind::Internal, "Sluice passes explicit timeouts to each call."),
    // ---- Java-only machinery
    row("interceptor.classes", "", PC, Kind::Unsupported, "Java interceptors cannot run in Sluice."),
    row("metric.reporters", "", ALL, Kind::Internal, ""),
    row("metrics.num.samples", "", ALL, Kind::Internal, ""),
    row("metrics.sample.window.ms", "", ALL, Kind::Internal, ""),
    row("metrics.recording.level", "", ALL, Kind::Internal, ""),
    row("auto.include.jmx.reporter", "", ALL, Kind::Internal, ""),
    row("enable.metrics.push", "enable.metrics.push", ALL, Kind::Bool, "KIP-714 client metrics pushed to the broker. Consumers default to false in Sluice (Java: true): librdkafka allocates its telemetry histograms when a client is created, whether or not the broker ever asks for metrics (about 280 KiB resident per consumer, measured with 500 sink tasks), and a worker runs a consumer per sink task. Set true to push."),
    row("security.providers", "", ALL, Kind::Internal, ""),
    row("socket.connection.setup.timeout.max.ms", "", ALL, Kind::Internal, "librdkafka uses one fixed setup timeout."),
    row("ssl.protocol", "", ALL, Kind::Internal, "OpenSSL negotiates the highest TLS version both sides support."),
    row("ssl.enabled.protocols", "", ALL, Kind::Unsupported, "OpenSSL negotiates the TLS version."),
    row("ssl.cipher.suites", "", ALL, Kind::Unsupported, "Java cipher suite names are not OpenSSL's; set none or map by hand."),
    row("ssl.provider", "", ALL, Kind::Internal, ""),
    row("ssl.keymanager.algorithm", "", ALL, Kind::Internal, ""),
    row("ssl.trustmanager.algorithm", "", ALL, Kind::Internal, ""),
    row("ssl.secure.random.implementation", "", ALL, Kind::Internal, ""),
    row("ssl.engine.factory.class", "", ALL, Kind::Unsupported, "Java SSL engine factories cannot run in Sluice."),
    row("sasl.login.class", "", ALL, Kind::Unsupported, "Java login classes cannot run in Sluice."),
    row("sasl.login.callback.handler.class", "", ALL, Kind::Unsupported, "Java callback handlers cannot run in Sluice."),
    row("sasl.client.callback.handler.class", "", ALL, Kind::Unsupported, "Java callback handlers cannot run in Sluice."),
    row("sasl.kerberos.service.name", "", ALL, Kind::Unsupported, "GSSAPI is not supported."),
    row("sasl.kerberos.kinit.cmd", "", ALL, Kind::Unsupported, "GSSAPI is not supported."),
    row("sasl.kerberos.min.time.before.relogin", "", ALL, Kind::Internal, ""),
    row("sasl.kerberos.ticket.renew.jitter", "", ALL, Kind::Internal, ""),
    row("sasl.kerberos.ticket.renew.window.factor", "", ALL, Kind::Internal, ""),
    row("sasl.login.refresh.window.factor", "", ALL, Kind::Internal, "Only used by OAUTHBEARER/GSSAPI."),
    row("sasl.login.refresh.window.jitter", "", ALL, Kind::Internal, "Only used by OAUTHBEARER/GSSAPI."),
    row("sasl.login.refresh.min.period.seconds", "", ALL, Kind::Internal, "Only used by OAUTHBEARER/GSSAPI."),
    row("sasl.login.refresh.buffer.seconds", "", ALL, Kind::Internal, "Only used by OAUTHBEARER/GSSAPI."),
    row("sasl.login.connect.timeout.ms", "", ALL, Kind::Internal, "Only used by OAUTHBEARER."),
    row("sasl.login.read.timeout.ms", "", ALL, Kind::Internal, "Only used by OAUTHBEARER."),
    row("sasl.login.retry.backoff.ms", "", ALL, Kind::Internal, "Only used by OAUTHBEARER."),
    row("sasl.login.retry.backoff.max.ms", "", ALL, Kind::Internal, "Only used by OAUTHBEARER."),
    row("retries", "", A, Kind::Unsupported, ""),
];

/// Maps one client's Java settings to librdkafka's.
///
/// `java`: Java client configs with any prefix already stripped and precedence applied; `origin`
/// names where they came from, for messages (e.g. "worker config key prefix 'producer.'").
/// Whether `address` is what Java's `Utils.getHost`/`getPort` accept: it ends in `:<port>`
/// after a host of letters, digits and `-%._:` (an IPv6 address may be in brackets); anything
/// before the host, such as `PLAINTEXT://`, is ignored as Java's pattern ignores it.
fn is_host_port(address: &str) -> bool {
    let Some((host, port)) = address.rsplit_once(':') else {
        return false;
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err()
    {
        return false;
    }
    let host = host.strip_suffix(']').unwrap_or(host);
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-%._:".contains(c);
    host.chars().next_back().is_some_and(allowed)
}

pub fn map_client_config(
    role: ClientRole,
    java: &BTreeMap<String, String>,
    origin: &str,
) -> Result<MappedConfig, ClientConfigError> {
    let mut m = Mapper {
        role,
        java,
        origin,
        out: MappedConfig::default(),
        problems: Vec::new(),
    };
    m.map_keys();
    m.map_security();
    m.map_partitioner();
    m.java_defaults();
    m.cross_checks();
    if m.problems.is_empty() {
        Ok(m.out)
    } else {
        Err(ClientConfigError {
            problems: m.problems,
        })
    }
}

fn find_rule(key: &str, role: ClientRole) -> Option<&'static MappingDoc> {
    // `retries` has two rows: mapped for producers, known but unmapped for admin.
    RULES
        .iter()
        .filter(|r| r.java_key == key)
        .find(|r| r.roles.contains(&role))
        .or_else(|| RULES.iter().find(|r| r.java_key == key))
}

fn is_secret(key: &str) -> bool {
    key.ends_with(".password") || key == "sasl.jaas.config" || key == "ssl.keystore.key"
}

struct Mapper<'a> {
    role: ClientRole,
    java: &'a BTreeMap<String, String>,
    origin: &'a str,
    out: MappedConfig,
    problems: Vec<ConfigProblem>,
}

impl<'a> Mapper<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.java.get(key).map(String::as_str)
    }

    fn set(&mut self, key: &str, value: impl Into<String>) {
        self.out.rdkafka.insert(key.to_string(), value.into());
    }

    fn warn(&mut self, message: String) {
        self.out.warnings.push(message);
    }

    fn problem(&mut self, key: &str, message: String) {
        self.problems.push(ConfigProblem {
            key: key.to_string(),
            message,
        });
    }

    /// Java's `ConfigException` wording.
    fn invalid(&mut self, key: &str, value: &str, allowed: &str) {
        let shown = if is_secret(key) {
            "[hidden]".into()
        } else {
            sluice_api::config::shown_value(value)
        };
        let origin = self.origin;
        self.problem(
            key,
            format!("Invalid value {shown} for configuration {key} ({origin}): {allowed}"),
        );
    }

    /// A problem that is not about a single bad value.
    fn error(&mut self, key: &str, what: String) {
        let origin = self.origin;
        self.problem(key, format!("{what} (configuration {key}, {origin})"));
    }

    fn map_keys(&mut self) {
        let java = self.java;
        for (key, value) in java {
            let Some(rule) = find_rule(key, self.role) else {
                self.warn(format!(
                    "Ignoring unknown Kafka client configuration {key} ({}): Sluice has no librdkafka equivalent for it",
                    self.origin
                ));
                continue;
            };
            if !rule.roles.contains(&self.role) {
                let roles: Vec<&str> = rule.roles.iter().map(|r| r.name()).collect();
                self.warn(format!(
                    "Ignoring configuration {key} ({}): it applies to {} clients, not to this {} client",
                    self.origin,
                    roles.join("/"),
                    self.role
                ));
                continue;
            }
            self.map_one(rule, key, value);
        }
    }

    fn map_one(&mut self, rule: &MappingDoc, key: &str, value: &str) {
        let rd = rule.librdkafka_key;
        match rule.kind {
            Kind::Str => {
                if !value.is_empty() {
                    self.set(rd, value);
                }
            }
            Kind::Int {
                ty,
                java_min,
                rd_min,
                rd_max,
            } => {
                if let Some(v) = self.parse_int(key, value, ty, java_min) {
                    let v = self.clamp(key, v, rd, rd_min, rd_max);
                    self.set(rd, v.to_string());
                }
            }
            Kind::Bool => {
                if let Some(b) = self.parse_bool(key, value) {
                    self.set(rd, b.to_string());
                }
            }
            Kind::Enum(allowed) => {
                if let Some(v) = self.parse_enum(key, value, allowed) {
                    self.set(rd, v);
                }
            }
            Kind::Internal => {
                let why = if rule.notes.is_empty() {
                    "a Java client setting with no librdkafka meaning".to_string()
                } else {
                    rule.notes.to_string()
                };
                self.out.notes.push(format!(
                    "Ignoring configuration {key} ({}): {why}",
                    self.origin
                ));
            }
            Kind::Unsupported => {
                let why = if rule.notes.is_empty() {
                    format!("librdkafka has no equivalent for {} clients", self.role)
                } else {
                    rule.notes.to_string()
                };
                self.warn(format!(
                    "Ignoring configuration {key}={} ({}): {why}",
                    if is_secret(key) { "[hidden]" } else { value },
                    self.origin
                ));
            }
            Kind::Special(s) => self.map_special(s, key, value),
        }
    }

    fn map_special(&mut self, s: Special, key: &str, value: &str) {
        match s {
            Special::BootstrapServers => {
                let list: Vec<&str> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                if list.is_empty() {
                    self.invalid(key, value, "List of host:port must not be empty");
                } else if let Some(bad) = list.iter().find(|a| !is_host_port(a)) {
                    // Java's ClientUtils.parseAndValidateAddresses wording.
                    let origin = self.origin;
                    let shown: String = bad.chars().take(200).collect();
                    self.problem(
                        key,
                        format!("Invalid url in bootstrap.servers: {shown} ({origin}); each entry must be host:port"),
                    );
                } else {
                    self.set("bootstrap.servers", list.join(","));
                }
            }
            Special::Acks => {
                match value.trim().to_ascii_lowercase().as_str() {
                    "all" | "-1" => self.set("request.required.acks", "-1"),
                    "0" => self.set("request.required.acks", "0"),
                    "1" => self.set("request.required.acks", "1"),
                    _ => self.invalid(key, value, "String must be one of: all, -1, 0, 1"),
                };
            }
            Special::SecurityProtocol => {
                if let Some(v) = self.parse_enum(key, value, SECURITY_PROTOCOLS) {
                    self.set("security.protocol", v);
                }
            }
            Special::EndpointIdentification => match value.trim().to_ascii_lowercase().as_str() {
                "https" => self.set("ssl.endpoint.identification.algorithm", "https"),
                "" => self.set("ssl.endpoint.identification.algorithm", "none"),
                _ => self.invalid(
                    key,
                    value,
                    "must be https (verify the broker host name) or empty (don't)",
                ),
            },
            Special::BufferMemory => {
                if let Some(bytes) = self.parse_int(key, value, JavaInt::Long, Some(0)) {
                    let kib = bytes.saturating_add(1023) / 1024;
                    let kib = self.clamp(key, kib, "queue.buffering.max.kbytes", 1, I32_MAX);
                    self.set("queue.buffering.max.kbytes", kib.to_string());
                }
            }
            Special::SocketBuffer => {
                if let Some(v) = self.parse_int(key, value, JavaInt::Int, Some(-1)) {
                    let rd = if key == "send.buffer.bytes" {
                        "socket.send.buffer.bytes"
                    } else {
                        "socket.receive.buffer.bytes"
                    };
                    // Java's -1 and librdkafka's 0 both mean "OS default".
                    let v = if v == -1 {
                        0
                    } else {
                        self.clamp(key, v, rd, 0, 100_000_000)
                    };
                    self.set(rd, v.to_string());
                }
            }
            Special::RequestTimeout => {
                if let Some(v) = self.parse_int(key, value, JavaInt::Int, Some(0)) {
                    let (rd, min, max) = match self.role {
                        ClientRole::Producer => ("request.timeout.ms", 1, 900_000),
                        ClientRole::Consumer | ClientRole::Admin => {
                            ("socket.timeout.ms", 10, 300_000)
                        }
                    };
                    let v = self.clamp(key, v, rd, min, max);
                    self.set(rd, v.to_string());
                }
            }
            Special::MaxPollRecords => {
                if let Some(v) = self.parse_int(key, value, JavaInt::Int, Some(1)) {
                    self.out.max_poll_records = usize::try_from(v).ok();
                }
            }
            Special::AutoOffsetReset => match value.trim().to_ascii_lowercase().as_str() {
                "earliest" => self.set("auto.offset.reset", "earliest"),
                "latest" => self.set("auto.offset.reset", "latest"),
                "none" => self.set("auto.offset.reset", "error"),
                _ => self.invalid(key, value, "String must be one of: latest, earliest, none"),
            },
            Special::AssignmentStrategy => self.map_assignors(key, value),
            // Mapped together after the per-key pass.
            Special::Sasl | Special::Ssl | Special::Partitioner => {}
        }
    }

    fn parse_int(&mut self, key: &str, value: &str, ty: JavaInt, min: Option<i64>) -> Option<i64> {
        let (lo, hi) = ty.bounds();
        match value.trim().parse::<i64>() {
            Ok(v) if v >= lo && v <= hi => match min {
                Some(min) if v < min => {
                    self.invalid(key, value, &format!("Value must be at least {min}"));
                    None
                }
                _ => Some(v),
            },
            _ => {
                self.invalid(key, value, &format!("Not a number of type {}", ty.name()));
                None
            }
        }
    }

    fn clamp(&mut self, key: &str, v: i64, rd: &str, min: i64, max: i64) -> i64 {
        let clamped = v.clamp(min, max);
        if clamped != v {
            let bound = if v < min { "minimum" } else { "maximum" };
            self.warn(format!(
                "Configuration {key}={v} ({}) is outside librdkafka's range for {rd} ({min}..{max}); using its {bound} {clamped}",
                self.origin
            ));
        }
        clamped
    }

    fn parse_bool(&mut self, key: &str, value: &str) -> Option<bool> {
        match value.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.invalid(key, value, "Expected value to be either true or false");
                None
            }
        }
    }

    fn parse_enum(
        &mut self,
        key: &str,
        value: &str,
        allowed: &[(&str, &'static str)],
    ) -> Option<&'static str> {
        let v = value.trim();
        let found = allowed
            .iter()
            .find(|(j, _)| j.eq_ignore_ascii_case(v))
            .map(|(_, rd)| *rd);
        if found.is_none() {
            let names: Vec<&str> = allowed.iter().map(|(j, _)| *j).collect();
            self.invalid(
                key,
                value,
                &format!("String must be one of: {}", names.join(", ")),
            );
        }
        found
    }

    fn map_assignors(&mut self, key: &str, value: &str) {
        const PKG: &str = "org.apache.kafka.clients.consumer.";
        let mut mapped: Vec<(&str, bool)> = Vec::new(); // (librdkafka name, cooperative)
        let mut bad = false;
        for class in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let simple = class.strip_prefix(PKG).unwrap_or(class);
            let m = match simple {
                "RangeAssignor" | "range" => ("range", false),
                "RoundRobinAssignor" | "roundrobin" => ("roundrobin", false),
                "StickyAssignor" | "sticky" => {
                    self.warn(format!(
                        "Configuration {key} ({}): librdkafka has no eager sticky assignor; {class} is replaced by roundrobin (balanced, but partitions may move on rebalance). Use {PKG}CooperativeStickyAssignor for sticky assignment",
                        self.origin
                    ));
                    ("roundrobin", false)
                }
                "CooperativeStickyAssignor" | "cooperative-sticky" => ("cooperative-sticky", true),
                _ => {
                    bad = true;
                    continue;
                }
            };
            if !mapped.iter().any(|(n, _)| *n == m.0) {
                mapped.push(m);
            }
        }
        if bad || mapped.is_empty() {
            self.invalid(
                key,
                value,
                &format!(
                    "Class must be one of: {PKG}RangeAssignor, {PKG}RoundRobinAssignor, {PKG}StickyAssignor, {PKG}CooperativeStickyAssignor"
                ),
            );
            return;
        }
        let cooperative = mapped[0].1;
        let (keep, drop): (Vec<_>, Vec<_>) = mapped.into_iter().partition(|m| m.1 == cooperative);
        if !drop.is_empty() {
            let dropped: Vec<&str> = drop.iter().map(|m| m.0).collect();
            self.warn(format!(
                "Configuration {key} ({}): librdkafka cannot mix eager and cooperative assignors; using {} and dropping {}",
                self.origin,
                keep.iter().map(|m| m.0).collect::<Vec<_>>().join(","),
                dropped.join(",")
            ));
        }
        let names: Vec<&str> = keep.iter().map(|m| m.0).collect();
        self.set("partition.assignment.strategy", names.join(","));
    }

    fn protocol(&self) -> &'static str {
        self.get("security.protocol")
            .and_then(|v| {
                SECURITY_PROTOCOLS
                    .iter()
                    .find(|(j, _)| j.eq_ignore_ascii_case(v.trim()))
                    .map(|(j, _)| *j)
            })
            .unwrap_or("PLAINTEXT")
    }

    fn map_security(&mut self) {
        let protocol = self.protocol();
        let sasl = protocol.starts_with("SASL_");
        let ssl = protocol.ends_with("SSL");
        let group_keys = |special: Special| -> Vec<&'static str> {
            RULES
                .iter()
                .filter(|r| matches!(r.kind, Kind::Special(s) if s == special))
                .map(|r| r.java_key)
                .collect()
        };
        for (special, used, what) in [(Special::Sasl, sasl, "SASL"), (Special::Ssl, ssl, "TLS")] {
            if used {
                continue;
            }
            for key in group_keys(special) {
                if self.java.contains_key(key) {
                    self.warn(format!(
                        "Ignoring configuration {key} ({}): security.protocol is {protocol}, which does not use {what}",
                        self.origin
                    ));
                }
            }
        }
        if sasl {
            self.map_sasl(protocol);
        }
        if ssl {
            self.map_truststore();
            self.map_keystore();
        }
    }

    fn map_sasl(&mut self, protocol: &str) {
        const SUPPORTED: &str = "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512";
        let mechanism = match self.get("sasl.mechanism").map(str::trim) {
            None => {
                self.error(
                    "sasl.mechanism",
                    format!("security.protocol is {protocol} but sasl.mechanism is not set; Java's default GSSAPI (Kerberos) is not supported by Sluice, set one of {SUPPORTED}"),
                );
                None
            }
            Some(m) => {
                let upper = m.to_ascii_uppercase();
                match upper.as_str() {
                    "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512" => {
                        self.set("sasl.mechanisms", upper.clone());
                        Some(upper)
                    }
                    _ => {
                        self.invalid(
                            "sasl.mechanism",
                            m,
                            &format!("Sluice supports SASL mechanisms {SUPPORTED}"),
                        );
                        None
                    }
                }
            }
        };
        let Some(jaas) = self.get("sasl.jaas.config") else {
            self.error(
                "sasl.jaas.config",
                format!("security.protocol is {protocol} but sasl.jaas.config is not set; set it, or name a JAAS file with a KafkaClient section in -Djava.security.auth.login.config= (KAFKA_OPTS) or the worker's java.security.auth.login.config"),
            );
            return;
        };
        let entry = match parse_jaas(jaas) {
            Ok(e) => e,
            Err(why) => {
                self.invalid("sasl.jaas.config", jaas, &why);
                return;
            }
        };
        const PLAIN: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";
        const SCRAM: &str = "org.apache.kafka.common.security.scram.ScramLoginModule";
        let expected = match mechanism.as_deref() {
            Some("PLAIN") => Some(PLAIN),
            Some(_) => Some(SCRAM),
            None => None,
        };
        if entry.module != PLAIN && entry.module != SCRAM {
            self.invalid(
                "sasl.jaas.config",
                jaas,
                &format!(
                    "login module {} is not supported; Sluice supports {PLAIN} and {SCRAM}",
                    entry.module
                ),
            );
            return;
        }
        if let (Some(expected), Some(mechanism)) = (expected, mechanism.as_deref()) {
            if entry.module != expected {
                self.invalid(
                    "sasl.jaas.config",
                    jaas,
                    &format!(
                        "login module {} does not match sasl.mechanism {mechanism}, which needs {expected}",
                        entry.module
                    ),
                );
                return;
            }
        }
        let mut username = None;
        let mut password = None;
        for (k, v) in &entry.options {
            match k.as_str() {
                "username" => username = Some(v.clone()),
                "password" => password = Some(v.clone()),
                other => {
                    let msg = format!(
                        "Ignoring option {other} in sasl.jaas.config ({}): only username and password are used",
                        self.origin
                    );
                    self.warn(msg);
                }
            }
        }
        for (name, v) in [("username", &username), ("password", &password)] {
            if v.is_none() {
                self.invalid(
                    "sasl.jaas.config",
                    jaas,
                    &format!("{} requires option {name}=\"...\"", entry.module),
                );
            }
        }
        if let (Some(u), Some(p)) = (username, password) {
            self.set("sasl.username", u);
            self.set("sasl.password", p);
        }
    }

    /// The store type as Java would see it, upper-cased, or an error for unknown types.
    fn store_type(&mut self, key: &str) -> Option<String> {
        let t = self.get(key).map(str::trim).unwrap_or("JKS");
        let upper = t.to_ascii_uppercase();
        match upper.as_str() {
            "JKS" | "PKCS12" | "PEM" => Some(upper),
            _ => {
                self.invalid(key, t, "Sluice supports store types JKS, PKCS12, PEM");
                None
            }
        }
    }

    fn map_truststore(&mut self) {
        let Some(ty) = self.store_type("ssl.truststore.type") else {
            return;
        };
        let location = self
            .get("ssl.truststore.location")
            .filter(|s| !s.is_empty());
        let password = self.get("ssl.truststore.password");
        if let Some(certs) = self.get("ssl.truststore.certificates") {
            if ty != "PEM" {
                self.error("ssl.truststore.certificates", format!("SSL trust store certs can be specified only for PEM, but trust store type is {ty}"));
            } else if location.is_some() {
                self.error(
                    "ssl.truststore.certificates",
                    "Both SSL trust store location and separate trust certificates are specified"
                        .to_string(),
                );
            } else if password.is_some() {
                self.error(
                    "ssl.truststore.password",
                    "SSL trust store password cannot be specified for PEM format".to_string(),
                );
            } else {
                match normalize_pem(certs, &["CERTIFICATE"]) {
                    Ok(pem) => self.set("ssl.ca.pem", pem),
                    Err(why) => self.invalid("ssl.truststore.certificates", certs, &why),
                }
            }
            return;
        }
        let Some(location) = location else {
            // Java then trusts the JVM's cacerts; librdkafka trusts the system CA store.
            return;
        };
        let path = Path::new(location);
        if ty == "PEM" {
            if password.is_some() {
                self.error(
                    "ssl.truststore.password",
                    "SSL trust store password cannot be specified for PEM format".to_string(),
                );
            } else if !path.is_file() {
                self.error(
                    "ssl.truststore.location",
                    format!("truststore file {location} does not exist"),
                );
            } else {
                self.set("ssl.ca.location", location);
            }
            return;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.error(
                    "ssl.truststore.location",
                    format!("truststore file {location} does not exist"),
                );
                return;
            }
            Err(e) => {
                self.error(
                    "ssl.truststore.location",
                    format!("cannot read truststore file {location}: {e}"),
                );
                return;
            }
        };
        let certs = match sniff_store(&bytes) {
            StoreFormat::Jks => parse_jks(&bytes, password).map(|s| s.trusted),
            StoreFormat::Pkcs12 => pkcs12_trusted_certs(&bytes, password),
            StoreFormat::Unknown => Err(StoreError::Format(
                "neither a JKS nor a PKCS12 file".to_string(),
            )),
        };
        match certs {
            Ok(certs) if certs.is_empty() => self.error(
                "ssl.truststore.location",
                format!("truststore {location} contains no trusted certificates"),
            ),
            Ok(certs) => {
                let pem: String = certs
                    .iter()
                    .map(|der| der_to_pem("CERTIFICATE", der))
                    .collect();
                self.set("ssl.ca.pem", pem);
            }
            Err(StoreError::WrongPassword) => self.error(
                "ssl.truststore.password",
                format!("wrong truststore password for {location}"),
            ),
            Err(StoreError::Format(why)) => self.error(
                "ssl.truststore.location",
                format!("cannot read truststore {location} ({ty}): {why}"),
            ),
        }
    }

    fn map_keystore(&mut self) {
        let Some(ty) = self.store_type("ssl.keystore.type") else {
            return;
        };
        let location = self.get("ssl.keystore.location").filter(|s| !s.is_empty());
        let store_password = self.get("ssl.keystore.password");
        let key_password = self.get("ssl.key.password");
        let inline_key = self.get("ssl.keystore.key");
        let inline_chain = self.get("ssl.keystore.certificate.chain");
        if inline_key.is_some() || inline_chain.is_some() {
            if ty != "PEM" {
                self.error(
                    "ssl.keystore.key",
                    format!(
                        "SSL private key can be specified only for PEM, but key store type is {ty}"
                    ),
                );
            } else if location.is_some() {
                self.error(
                    "ssl.keystore.key",
                    "Both SSL key store location and separate private key are specified"
                        .to_string(),
                );
            } else if store_password.is_some() {
                self.error("ssl.keystore.password", "SSL key store password cannot be specified with PEM format, only key password may be specified".to_string());
            } else {
                match (inline_key, inline_chain) {
                    (Some(key), Some(chain)) => {
                        match normalize_pem(key, &["PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]) {
                            Ok(pem) => self.set("ssl.key.pem", pem),
                            Err(why) => self.invalid("ssl.keystore.key", key, &why),
                        }
                        match normalize_pem(chain, &["CERTIFICATE"]) {
                            Ok(pem) => self.set("ssl.certificate.pem", pem),
                            Err(why) => self.invalid("ssl.keystore.certificate.chain", chain, &why),
                        }
                        if let Some(p) = key_password {
                            self.set("ssl.key.password", p);
                        }
                    }
                    (Some(_), None) => self.error(
                        "ssl.keystore.key",
                        "SSL private key is specified, but certificate chain is not specified"
                            .to_string(),
                    ),
                    (None, _) => self.error(
                        "ssl.keystore.certificate.chain",
                        "SSL certificate chain is specified, but private key is not specified"
                            .to_string(),
                    ),
                }
            }
            return;
        }
        let Some(location) = location else {
            if key_password.is_some() {
                self.warn(format!(
                    "Ignoring configuration ssl.key.password ({}): no keystore is configured",
                    self.origin
                ));
            }
            return;
        };
        let path = Path::new(location);
        if ty == "PEM" {
            if store_password.is_some() {
                self.error("ssl.keystore.password", "SSL key store password cannot be specified with PEM format, only key password may be specified".to_string());
            } else if !path.is_file() {
                self.error(
                    "ssl.keystore.location",
                    format!("keystore file {location} does not exist"),
                );
            } else {
                // Kafka's PEM keystore holds key and chain in one file; OpenSSL skips the
                // blocks it isn't looking for, so both settings can name the same file.
                self.set("ssl.certificate.location", location);
                self.set("ssl.key.location", location);
                if let Some(p) = key_password {
                    self.set("ssl.key.password", p);
                }
            }
            return;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.error(
                    "ssl.keystore.location",
                    format!("keystore file {location} does not exist"),
                );
                return;
            }
            Err(e) => {
                self.error(
                    "ssl.keystore.location",
                    format!("cannot read keystore file {location}: {e}"),
                );
                return;
            }
        };
        match sniff_store(&bytes) {
            StoreFormat::Pkcs12 => {
                self.set("ssl.keystore.location", location);
                if let Some(p) = store_password {
                    self.set("ssl.keystore.password", p);
                }
                if key_password.is_some() && key_password != store_password {
                    self.warn(format!(
                        "Configuration ssl.key.password ({}) differs from ssl.keystore.password: librdkafka decrypts PKCS12 keys with ssl.keystore.password only",
                        self.origin
                    ));
                }
            }
            StoreFormat::Jks => {
                self.map_jks_keystore(location, &bytes, store_password, key_password)
            }
            StoreFormat::Unknown => self.error(
                "ssl.keystore.location",
                format!("cannot read keystore {location} ({ty}): neither a JKS nor a PKCS12 file"),
            ),
        }
    }

    fn map_jks_keystore(
        &mut self,
        location: &str,
        bytes: &[u8],
        store_password: Option<&str>,
        key_password: Option<&str>,
    ) {
        let store = match parse_jks(bytes, store_password) {
            Ok(s) => s,
            Err(StoreError::WrongPassword) => {
                self.error(
                    "ssl.keystore.password",
                    format!("wrong keystore password for {location}"),
                );
                return;
            }
            Err(StoreError::Format(why)) => {
                self.error(
                    "ssl.keystore.location",
                    format!("cannot read keystore {location} (JKS): {why}"),
                );
                return;
            }
        };
        let entry = match store.keys.as_slice() {
            [one] => one,
            [] => {
                self.error(
                    "ssl.keystore.location",
                    format!("keystore {location} contains no private key entry"),
                );
                return;
            }
            many => {
                let aliases: Vec<&str> = many.iter().map(|k| k.alias.as_str()).collect();
                self.error(
                    "ssl.keystore.location",
                    format!(
                        "keystore {location} contains {} private key entries ({}); Sluice needs exactly one",
                        many.len(),
                        aliases.join(", ")
                    ),
                );
                return;
            }
        };
        // Java decrypts keys with ssl.key.password, falling back to the store password.
        let Some(password) = key_password.or(store_password) else {
            self.error(
                "ssl.keystore.password",
                format!("keystore {location} is JKS: ssl.key.password or ssl.keystore.password is needed to decrypt its private key"),
            );
            return;
        };
        match jks_decrypt_key(&entry.encrypted_key, password) {
            Ok(pkcs8) => {
                self.set("ssl.key.pem", der_to_pem("PRIVATE KEY", &pkcs8));
                let chain: String = entry
                    .chain
                    .iter()
                    .map(|der| der_to_pem("CERTIFICATE", der))
                    .collect();
                self.set("ssl.certificate.pem", chain);
            }
            Err(StoreError::WrongPassword) => self.error(
                if key_password.is_some() {
                    "ssl.key.password"
                } else {
                    "ssl.keystore.password"
                },
                format!(
                    "wrong key password for entry {} in keystore {location}",
                    entry.alias
                ),
            ),
            Err(StoreError::Format(why)) => self.error(
                "ssl.keystore.location",
                format!("cannot read keystore {location} (JKS): {why}"),
            ),
        }
    }

    fn map_partitioner(&mut self) {
        if self.role != ClientRole::Producer {
            return;
        }
        let mut partitioner = "murmur2_random";
        if let Some(class) = self.get("partitioner.class").map(str::trim) {
            const PKG: &str = "org.apache.kafka.clients.producer.";
            match class.strip_prefix(PKG).unwrap_or(class) {
                "" | "internals.DefaultPartitioner" => {}
                "UniformStickyPartitioner" => partitioner = "random",
                "RoundRobinPartitioner" => {
                    partitioner = "random";
                    self.warn(format!(
                        "Configuration partitioner.class={class} ({}): librdkafka has no round-robin partitioner; using random (sticky per batch)",
                        self.origin
                    ));
                }
                _ => self.warn(format!(
                    "Ignoring configuration partitioner.class={class} ({}): Java partitioners cannot run in Sluice; using murmur2_random (Java's default key hashing)",
                    self.origin
                )),
            }
        }
        if let Some(v) = self.get("partitioner.ignore.keys") {
            if let Some(true) = self.parse_bool("partitioner.ignore.keys", v) {
                partitioner = "random";
            }
        }
        self.set("partitioner", partitioner);
    }

    fn java_defaults(&mut self) {
        if self.role == ClientRole::Consumer && !self.out.rdkafka.contains_key("isolation.level") {
            self.set("isolation.level", "read_uncommitted");
        }
        // Not Java's default: librdkafka allocates the KIP-714 telemetry histograms of a
        // client and of each of its broker connections when the client is created, whether or
        // not the cluster ever asks for metrics (measured: see docs/performance.md, "Scale"),
        // and a worker runs one consumer per sink task. Set, the key is honoured.
        if self.role == ClientRole::Consumer
            && !self.out.rdkafka.contains_key("enable.metrics.push")
        {
            self.set("enable.metrics.push", "false");
        }
    }

    fn out_int(&self, key: &str) -> Option<i64> {
        self.out.rdkafka.get(key).and_then(|v| v.parse().ok())
    }

    fn cross_checks(&mut self) {
        let origin = self.origin;
        // librdkafka rejects max < base; Java then backs off by the max, so lower the base.
        for (base, max, rd_default_max) in [
            ("reconnect.backoff.ms", "reconnect.backoff.max.ms", 10_000),
            ("retry.backoff.ms", "retry.backoff.max.ms", 1000),
        ] {
            if let Some(b) = self.out_int(base) {
                let m = self.out_int(max).unwrap_or(rd_default_max);
                if m < b {
                    self.warn(format!("Configuration {base}={b} ({origin}) is above {max}={m}; librdkafka requires {base} <= {max}, so {base} is set to {m}"));
                    self.set(base, m.to_string());
                }
            }
        }
        match self.role {
            ClientRole::Consumer => self.consumer_checks(),
            ClientRole::Producer => self.producer_checks(),
            ClientRole::Admin => {}
        }
    }

    fn consumer_checks(&mut self) {
        let origin = self.origin;
        if let Some(fetch_max) = self.out_int("fetch.max.bytes") {
            if fetch_max < 1_000_000 {
                self.warn(format!("Configuration fetch.max.bytes={fetch_max} ({origin}) is below librdkafka's message.max.bytes default 1000000; message.max.bytes is lowered to {fetch_max} (librdkafka requires fetch.max.bytes >= message.max.bytes)"));
                self.set("message.max.bytes", fetch_max.to_string());
            }
        }
        if self.out.rdkafka.get("group.protocol").map(String::as_str) == Some("consumer") {
            for key in [
                "session.timeout.ms",
                "heartbeat.interval.ms",
                "partition.assignment.strategy",
            ] {
                if self.java.contains_key(key) {
                    self.error(key, format!("{key} cannot be set when group.protocol=consumer (the broker decides it; use group.remote.assignor for the assignor)"));
                }
            }
            return;
        }
        let session = self.out_int("session.timeout.ms").unwrap_or(45_000);
        let poll = self.out_int("max.poll.interval.ms").unwrap_or(300_000);
        if poll < session {
            self.warn(format!("Configuration max.poll.interval.ms={poll} ({origin}) is below session.timeout.ms={session}; librdkafka requires max.poll.interval.ms >= session.timeout.ms, so it is raised to {session}"));
            self.set("max.poll.interval.ms", session.to_string());
        }
    }

    fn producer_checks(&mut self) {
        let origin = self.origin;
        let idempotent = self
            .out
            .rdkafka
            .get("enable.idempotence")
            .map(String::as_str)
            == Some("true");
        if idempotent {
            if let Some(acks) = self.out.rdkafka.get("request.required.acks") {
                if acks != "-1" {
                    let v = self.get("acks").unwrap_or_default().to_string();
                    self.invalid("acks", &v, "Must set acks to all in order to use the idempotent producer (enable.idempotence=true)");
                }
            }
            if self
                .out_int("max.in.flight.requests.per.connection")
                .is_some_and(|n| n > 5)
            {
                let v = self
                    .get("max.in.flight.requests.per.connection")
                    .unwrap_or_default()
                    .to_string();
                self.invalid(
                    "max.in.flight.requests.per.connection",
                    &v,
                    "Must be at most 5 to use the idempotent producer (enable.idempotence=true)",
                );
            }
            if self.out_int("retries") == Some(0) {
                self.invalid(
                    "retries",
                    "0",
                    "Must be non-zero when using the idempotent producer (enable.idempotence=true)",
                );
            }
        }
        let linger = self.out_int("linger.ms");
        let request = self.out_int("request.timeout.ms");
        let lower = linger.unwrap_or(0) + request.unwrap_or(30_000);
        match self.out_int("message.timeout.ms") {
            Some(delivery) if delivery < lower => {
                let v = delivery.to_string();
                self.invalid("delivery.timeout.ms", &v, &format!("delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms ({lower})"));
            }
            Some(_) => {}
            None => {
                // Java raises its delivery timeout to linger + request; librdkafka would
                // reject a linger.ms above its 300000 default instead.
                if lower >= 300_000 {
                    self.set("message.timeout.ms", lower.to_string());
                }
            }
        }
        if self.out.rdkafka.contains_key("transactional.id") {
            let txn = self.out_int("transaction.timeout.ms").unwrap_or(60_000);
            if let Some(delivery) = self.out_int("message.timeout.ms") {
                if delivery > txn {
                    self.warn(format!("Configuration delivery.timeout.ms={delivery} ({origin}) is above transaction.timeout.ms={txn}; librdkafka requires message.timeout.ms <= transaction.timeout.ms for transactional producers, so it is clamped to {txn}"));
                    self.set("message.timeout.ms", txn.to_string());
                }
            }
        }
    }
}

// ---------------------------------------------------------------- JAAS

#[derive(Debug, Clone, PartialEq, Eq)]
struct JaasEntry {
    module: String,
    options: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Semi,
    Eq,
}

/// Tokenizes like Kafka's `JaasConfig` (a `java.io.StreamTokenizer`): whitespace separates,
/// `;` and `=` are tokens, `"` and `'` quote (with backslash escapes; a quote also ends at a line
/// break), and `/` starts a comment (`//`, `/* */`, or a lone `/` to the end of the line).
fn jaas_tokens(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c <= ' ' => {}
            '/' => {
                if chars.peek() == Some(&'*') {
                    chars.next();
                    let mut prev = ' ';
                    for c in chars.by_ref() {
                        if prev == '*' && c == '/' {
                            break;
                        }
                        prev = c;
                    }
                } else {
                    for c in chars.by_ref() {
                        if c == '\n' || c == '\r' {
                            break;
                        }
                    }
                }
            }
            ';' => out.push(Tok::Semi),
            '=' => out.push(Tok::Eq),
            '"' | '\'' => {
                let quote = c;
                let mut v = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        c if c == quote => {
                            closed = true;
                            break;
                        }
                        '\n' | '\r' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            let Some(e) = chars.next() else { break };
                            match e {
                                'a' => v.push('\u{7}'),
                                'b' => v.push('\u{8}'),
                                'f' => v.push('\u{c}'),
                                'n' => v.push('\n'),
                                'r' => v.push('\r'),
                                't' => v.push('\t'),
                                'v' => v.push('\u{b}'),
                                '0'..='7' => {
                                    let mut n = e as u32 - '0' as u32;
                                    let max_digits = if e <= '3' { 3 } else { 2 };
                                    for _ in 1..max_digits {
                                        match chars.peek() {
                                            Some(&d @ '0'..='7') => {
                                                n = n * 8 + (d as u32 - '0' as u32);
                                                chars.next();
                                            }
                                            _ => break,
                                        }
                                    }
                                    v.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                                }
                                other => v.push(other),
                            }
                        }
                        c => v.push(c),
                    }
                }
                if !closed {
                    return Err(format!("unterminated {quote}-quoted value in JAAS config"));
                }
                out.push(Tok::Word(v));
            }
            c => {
                let mut w = String::from(c);
                while let Some(&c) = chars.peek() {
                    if c <= ' ' || matches!(c, ';' | '=' | '/' | '"' | '\'') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

/// Parses one JAAS entry (`<LoginModule> <flag> (<name>=<value>)* ;`) into its login module
/// and options, for other readers of JAAS files (the REST basic-auth extension). Errors never
/// include option values.
pub fn parse_jaas_entry(s: &str) -> Result<(String, Vec<(String, String)>), String> {
    parse_jaas(s).map(|e| (e.module, e.options))
}

/// Parses `sasl.jaas.config`: exactly one `<LoginModule> <flag> (<name>=<value>)* ;`.
/// Errors never include option values (they hold passwords).
fn parse_jaas(s: &str) -> Result<JaasEntry, String> {
    let tokens = jaas_tokens(s)?;
    let mut it = tokens.into_iter();
    let mut entries = Vec::new();
    while let Some(t) = it.next() {
        let Tok::Word(module) = t else {
            return Err("expected a login module class name in JAAS config".to_string());
        };
        let flag = match it.next() {
            Some(Tok::Word(f)) => f,
            _ => return Err("Login module control flag not specified in JAAS config".to_string()),
        };
        if !["required", "requisite", "sufficient", "optional"]
            .iter()
            .any(|f| f.eq_ignore_ascii_case(&flag))
        {
            return Err(format!(
                "Invalid login module control flag '{flag}' in JAAS config (one of required, requisite, sufficient, optional)"
            ));
        }
        let mut options = Vec::new();
        let mut terminated = false;
        while let Some(t) = it.next() {
            let key = match t {
                Tok::Semi => {
                    terminated = true;
                    break;
                }
                Tok::Word(k) => k,
                Tok::Eq => return Err("option name missing before '=' in JAAS config".to_string()),
            };
            match (it.next(), it.next()) {
                (Some(Tok::Eq), Some(Tok::Word(v))) => options.push((key, v)),
                _ => {
                    return Err(format!(
                        "Value not specified for key '{key}' in JAAS config"
                    ))
                }
            }
        }
        if !terminated {
            return Err("JAAS config entry not terminated by semi-colon".to_string());
        }
        entries.push(JaasEntry { module, options });
    }
    match entries.len() {
        0 => Err("Login module not specified in JAAS config".to_string()),
        1 => Ok(entries.remove(0)),
        n => Err(format!(
            "JAAS config property contains {n} login modules, should be 1 module"
        )),
    }
}

// Key stores are read by `sluice_keystores` (shared with the connectors' TLS settings).

/// Re-emits the PEM blocks with one of `labels` in canonical form. Kafka accepts PEM whose line
/// breaks were flattened to spaces (common in `.properties` files); OpenSSL does not.
fn normalize_pem(text: &str, labels: &[&str]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            return Err("PEM header is not terminated".to_string());
        };
        let label = &after[..label_end];
        let body_and_rest = &after[label_end + 5..];
        let footer = format!("-----END {label}-----");
        let Some(body_end) = body_and_rest.find(&footer) else {
            return Err(format!("PEM block {label} has no END line"));
        };
        let body: String = body_and_rest[..body_end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        rest = &body_and_rest[body_end + footer.len()..];
        if !labels.contains(&label) {
            return Err(format!(
                "PEM block {label} is not allowed here (expected {})",
                labels.join(" or ")
            ));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("PEM block {label} is not valid base64 ({e})"))?;
        out.push_str(&der_to_pem(label, &der));
    }
    if out.is_empty() {
        return Err(format!("no PEM block ({}) found", labels.join(" or ")));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::*;
    use std::process::Command;
    use ClientRole::{Admin, Consumer, Producer};

    const ORIGIN: &str = "worker config key prefix 'consumer.'";

    fn map(role: ClientRole, pairs: &[(&str, &str)]) -> Result<MappedConfig, ClientConfigError> {
        let java = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map_client_config(role, &java, ORIGIN)
    }

    fn ok(role: ClientRole, pairs: &[(&str, &str)]) -> MappedConfig {
        match map(role, pairs) {
            Ok(m) => m,
            Err(e) => panic!("{pairs:?} for {role}: unexpected error:\n{e}"),
        }
    }

    fn errors(role: ClientRole, pairs: &[(&str, &str)]) -> Vec<String> {
        match map(role, pairs) {
            Ok(m) => panic!("{pairs:?} for {role}: expected an error, got {m:?}"),
            Err(e) => e.problems.into_iter().map(|p| p.message).collect(),
        }
    }

    /// One Java key/value in, one librdkafka key/value out, no warnings.
    fn check(role: ClientRole, java: (&str, &str), rd: (&str, &str)) {
        let m = ok(role, &[java]);
        assert_eq!(
            m.rdkafka.get(rd.0).map(String::as_str),
            Some(rd.1),
            "{java:?} for {role}: {:?}",
            m.rdkafka
        );
        assert!(m.warnings.is_empty(), "{java:?}: {:?}", m.warnings);
    }

    #[test]
    fn maps_every_simple_key() {
        let cases: &[(ClientRole, (&str, &str), (&str, &str))] = &[
            (
                Producer,
                ("bootstrap.servers", " a:9092, b:9093 ,"),
                ("bootstrap.servers", "a:9092,b:9093"),
            ),
            (Admin, ("client.id", "me"), ("client.id", "me")),
            (
                Consumer,
                ("client.dns.lookup", "use_all_dns_ips"),
                ("client.dns.lookup", "use_all_dns_ips"),
            ),
            (
                Producer,
                ("security.protocol", "plaintext"),
                ("security.protocol", "plaintext"),
            ),
            (
                Producer,
                ("security.protocol", "PLAINTEXT"),
                ("security.protocol", "plaintext"),
            ),
            (
                Consumer,
                ("ssl.endpoint.identification.algorithm", "https"),
                ("ssl.endpoint.identification.algorithm", "https"),
            ),
            (
                Consumer,
                ("ssl.endpoint.identification.algorithm", ""),
                ("ssl.endpoint.identification.algorithm", "none"),
            ),
            (Producer, ("acks", "all"), ("request.required.acks", "-1")),
            (Producer, ("acks", "-1"), ("request.required.acks", "-1")),
            (Producer, ("acks", "0"), ("request.required.acks", "0")),
            (Producer, ("acks", "1"), ("request.required.acks", "1")),
            (
                Producer,
                ("enable.idempotence", "true"),
                ("enable.idempotence", "true"),
            ),
            (
                Producer,
                ("enable.idempotence", "FALSE"),
                ("enable.idempotence", "false"),
            ),
            (
                Producer,
                ("compression.type", "none"),
                ("compression.type", "none"),
            ),
            (
                Producer,
                ("compression.type", "gzip"),
                ("compression.type", "gzip"),
            ),
            (
                Producer,
                ("compression.type", "snappy"),
                ("compression.type", "snappy"),
            ),
            (
                Producer,
                ("compression.type", "lz4"),
                ("compression.type", "lz4"),
            ),
            (
                Producer,
                ("compression.type", "zstd"),
                ("compression.type", "zstd"),
            ),
            (Producer, ("linger.ms", "20"), ("linger.ms", "20")),
            (Producer, ("batch.size", "16384"), ("batch.size", "16384")),
            (
                Producer,
                ("max.request.size", "1048576"),
                ("message.max.bytes", "1048576"),
            ),
            (
                Producer,
                ("request.timeout.ms", "40000"),
                ("request.timeout.ms", "40000"),
            ),
            (
                Consumer,
                ("request.timeout.ms", "40000"),
                ("socket.timeout.ms", "40000"),
            ),
            (
                Admin,
                ("request.timeout.ms", "40000"),
                ("socket.timeout.ms", "40000"),
            ),
            (Producer, ("retries", "7"), ("retries", "7")),
            (
                Producer,
                ("retry.backoff.ms", "200"),
                ("retry.backoff.ms", "200"),
            ),
            (
                Consumer,
                ("retry.backoff.max.ms", "2000"),
                ("retry.backoff.max.ms", "2000"),
            ),
            (
                Producer,
                ("delivery.timeout.ms", "120000"),
                ("message.timeout.ms", "120000"),
            ),
            (
                Producer,
                ("delivery.timeout.ms", "2147483647"),
                ("message.timeout.ms", "2147483647"),
            ),
            (
                Producer,
                ("max.in.flight.requests.per.connection", "1"),
                ("max.in.flight.requests.per.connection", "1"),
            ),
            (
                Producer,
                ("buffer.memory", "33554432"),
                ("queue.buffering.max.kbytes", "32768"),
            ),
            (
                Producer,
                ("buffer.memory", "1025"),
                ("queue.buffering.max.kbytes", "2"),
            ),
            (
                Producer,
                ("transactional.id", "conn-0"),
                ("transactional.id", "conn-0"),
            ),
            (
                Producer,
                ("transaction.timeout.ms", "90000"),
                ("transaction.timeout.ms", "90000"),
            ),
            (
                Consumer,
                ("isolation.level", "read_committed"),
                ("isolation.level", "read_committed"),
            ),
            (
                Consumer,
                ("enable.metrics.push", "true"),
                ("enable.metrics.push", "true"),
            ),
            (
                Producer,
                ("enable.metrics.push", "false"),
                ("enable.metrics.push", "false"),
            ),
            (
                Consumer,
                ("isolation.level", "read_uncommitted"),
                ("isolation.level", "read_uncommitted"),
            ),
            (
                Consumer,
                ("auto.offset.reset", "earliest"),
                ("auto.offset.reset", "earliest"),
            ),
            (
                Consumer,
                ("auto.offset.reset", "latest"),
                ("auto.offset.reset", "latest"),
            ),
            (
                Consumer,
                ("auto.offset.reset", "none"),
                ("auto.offset.reset", "error"),
            ),
            (
                Consumer,
                ("enable.auto.commit", "false"),
                ("enable.auto.commit", "false"),
            ),
            (
                Consumer,
                ("auto.commit.interval.ms", "1000"),
                ("auto.commit.interval.ms", "1000"),
            ),
            (
                Consumer,
                ("session.timeout.ms", "10000"),
                ("session.timeout.ms", "10000"),
            ),
            (
                Consumer,
                ("heartbeat.interval.ms", "3000"),
                ("heartbeat.interval.ms", "3000"),
            ),
            (
                Consumer,
                ("max.poll.interval.ms", "600000"),
                ("max.poll.interval.ms", "600000"),
            ),
            (
                Consumer,
                (
                    "partition.assignment.strategy",
                    "org.apache.kafka.clients.consumer.RangeAssignor",
                ),
                ("partition.assignment.strategy", "range"),
            ),
            (
                Consumer,
                (
                    "partition.assignment.strategy",
                    "org.apache.kafka.clients.consumer.RoundRobinAssignor",
                ),
                ("partition.assignment.strategy", "roundrobin"),
            ),
            (
                Consumer,
                (
                    "partition.assignment.strategy",
                    "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
                ),
                ("partition.assignment.strategy", "cooperative-sticky"),
            ),
            (
                Consumer,
                (
                    "partition.assignment.strategy",
                    "RangeAssignor, RoundRobinAssignor",
                ),
                ("partition.assignment.strategy", "range,roundrobin"),
            ),
            (
                Consumer,
                ("fetch.min.bytes", "10"),
                ("fetch.min.bytes", "10"),
            ),
            (
                Consumer,
                ("fetch.max.bytes", "52428800"),
                ("fetch.max.bytes", "52428800"),
            ),
            (
                Consumer,
                ("max.partition.fetch.bytes", "2097152"),
                ("max.partition.fetch.bytes", "2097152"),
            ),
            (
                Consumer,
                ("fetch.max.wait.ms", "100"),
                ("fetch.wait.max.ms", "100"),
            ),
            (
                Admin,
                ("metadata.max.age.ms", "60000"),
                ("topic.metadata.refresh.interval.ms", "60000"),
            ),
            (
                Producer,
                ("reconnect.backoff.ms", "50"),
                ("reconnect.backoff.ms", "50"),
            ),
            (
                Producer,
                ("reconnect.backoff.max.ms", "1000"),
                ("reconnect.backoff.max.ms", "1000"),
            ),
            (
                Consumer,
                ("socket.connection.setup.timeout.ms", "10000"),
                ("socket.connection.setup.timeout.ms", "10000"),
            ),
            (
                Consumer,
                ("connections.max.idle.ms", "540000"),
                ("connections.max.idle.ms", "540000"),
            ),
            (
                Consumer,
                ("receive.buffer.bytes", "65536"),
                ("socket.receive.buffer.bytes", "65536"),
            ),
            (
                Producer,
                ("send.buffer.bytes", "131072"),
                ("socket.send.buffer.bytes", "131072"),
            ),
            (
                Producer,
                ("send.buffer.bytes", "-1"),
                ("socket.send.buffer.bytes", "0"),
            ),
            (
                Consumer,
                ("group.id", "connect-x"),
                ("group.id", "connect-x"),
            ),
            (
                Consumer,
                ("group.instance.id", "w1"),
                ("group.instance.id", "w1"),
            ),
            (
                Consumer,
                ("group.protocol", "CLASSIC"),
                ("group.protocol", "classic"),
            ),
            (
                Consumer,
                ("group.remote.assignor", "uniform"),
                ("group.remote.assignor", "uniform"),
            ),
            (Consumer, ("client.rack", "az1"), ("client.rack", "az1")),
            (Consumer, ("check.crcs", "true"), ("check.crcs", "true")),
            (
                Consumer,
                ("allow.auto.create.topics", "false"),
                ("allow.auto.create.topics", "false"),
            ),
            (
                Producer,
                (
                    "partitioner.class",
                    "org.apache.kafka.clients.producer.internals.DefaultPartitioner",
                ),
                ("partitioner", "murmur2_random"),
            ),
            (
                Producer,
                (
                    "partitioner.class",
                    "org.apache.kafka.clients.producer.UniformStickyPartitioner",
                ),
                ("partitioner", "random"),
            ),
            (
                Producer,
                ("partitioner.ignore.keys", "true"),
                ("partitioner", "random"),
            ),
        ];
        for (role, java, rd) in cases {
            check(*role, *java, *rd);
        }
    }

    #[test]
    fn every_table_row_is_exercised_or_documented() {
        // Guards against rows whose kind and notes disagree: ignored keys must say nothing maps.
        for r in mapping_table() {
            match r.kind {
                Kind::Internal | Kind::Unsupported => {
                    assert_eq!(r.librdkafka_key, "", "{}", r.java_key)
                }
                Kind::Special(Special::MaxPollRecords) | Kind::Special(Special::Ssl) => {}
                _ => assert_ne!(r.librdkafka_key, "", "{}", r.java_key),
            }
            assert!(!r.roles.is_empty(), "{}", r.java_key);
        }
    }

    #[test]
    fn java_defaults_that_librdkafka_does_differently() {
        let p = ok(Producer, &[]);
        assert_eq!(
            p.rdkafka.get("partitioner").map(String::as_str),
            Some("murmur2_random")
        );
        let c = ok(Consumer, &[]);
        assert_eq!(
            c.rdkafka.get("isolation.level").map(String::as_str),
            Some("read_uncommitted")
        );
        assert!(!c.rdkafka.contains_key("partitioner"));
        assert_eq!(
            c.rdkafka.get("enable.metrics.push").map(String::as_str),
            Some("false")
        );
        assert!(!p.rdkafka.contains_key("enable.metrics.push"));
        let a = ok(Admin, &[]);
        assert!(a.rdkafka.is_empty(), "{:?}", a.rdkafka);
    }

    #[test]
    fn max_poll_records_is_returned_not_mapped() {
        let m = ok(Consumer, &[("max.poll.records", "500")]);
        assert_eq!(m.max_poll_records, Some(500));
        assert!(!m.rdkafka.keys().any(|k| k.contains("poll.records")));
    }

    #[test]
    fn value_errors_name_key_value_and_allowed() {
        let o = ORIGIN;
        let cases: &[(ClientRole, (&str, &str), String)] = &[
            (Consumer, ("auto.offset.reset", "foo"), format!("Invalid value foo for configuration auto.offset.reset ({o}): String must be one of: latest, earliest, none")),
            (Producer, ("acks", "2"), format!("Invalid value 2 for configuration acks ({o}): String must be one of: all, -1, 0, 1")),
            (Producer, ("compression.type", "brotli"), format!("Invalid value brotli for configuration compression.type ({o}): String must be one of: none, gzip, snappy, lz4, zstd")),
            (Consumer, ("isolation.level", "dirty"), format!("Invalid value dirty for configuration isolation.level ({o}): String must be one of: read_committed, read_uncommitted")),
            (Admin, ("security.protocol", "TLS"), format!("Invalid value TLS for configuration security.protocol ({o}): String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")),
            (Producer, ("linger.ms", "soon"), format!("Invalid value soon for configuration linger.ms ({o}): Not a number of type LONG")),
            (Producer, ("batch.size", "3000000000"), format!("Invalid value 3000000000 for configuration batch.size ({o}): Not a number of type INT")),
            (Producer, ("linger.ms", "-1"), format!("Invalid value -1 for configuration linger.ms ({o}): Value must be at least 0")),
            (Consumer, ("max.poll.records", "0"), format!("Invalid value 0 for configuration max.poll.records ({o}): Value must be at least 1")),
            (Producer, ("send.buffer.bytes", "-2"), format!("Invalid value -2 for configuration send.buffer.bytes ({o}): Value must be at least -1")),
            (Consumer, ("enable.auto.commit", "yes"), format!("Invalid value yes for configuration enable.auto.commit ({o}): Expected value to be either true or false")),
            (Consumer, ("ssl.endpoint.identification.algorithm", "ldaps"), format!("Invalid value ldaps for configuration ssl.endpoint.identification.algorithm ({o}): must be https (verify the broker host name) or empty (don't)")),
            (Producer, ("bootstrap.servers", " , "), format!("Invalid value  ,  for configuration bootstrap.servers ({o}): List of host:port must not be empty")),
            (Consumer, ("partition.assignment.strategy", "com.example.MyAssignor"), format!("Invalid value com.example.MyAssignor for configuration partition.assignment.strategy ({o}): Class must be one of: org.apache.kafka.clients.consumer.RangeAssignor, org.apache.kafka.clients.consumer.RoundRobinAssignor, org.apache.kafka.clients.consumer.StickyAssignor, org.apache.kafka.clients.consumer.CooperativeStickyAssignor")),
            (Consumer, ("group.protocol", "eager"), format!("Invalid value eager for configuration group.protocol ({o}): String must be one of: classic, consumer")),
            (Admin, ("client.dns.lookup", "default"), format!("Invalid value default for configuration client.dns.lookup ({o}): String must be one of: use_all_dns_ips, resolve_canonical_bootstrap_servers_only")),
            (Producer, ("buffer.memory", "lots"), format!("Invalid value lots for configuration buffer.memory ({o}): Not a number of type LONG")),
            (Admin, ("request.timeout.ms", "x"), format!("Invalid value x for configuration request.timeout.ms ({o}): Not a number of type INT")),
        ];
        for (role, java, expected) in cases {
            assert_eq!(errors(*role, &[*java]), vec![expected.clone()], "{java:?}");
        }
    }

    #[test]
    fn cross_key_errors_match_java() {
        let o = ORIGIN;
        let cases: &[(ClientRole, &[(&str, &str)], String)] = &[
            (Producer, &[("enable.idempotence", "true"), ("acks", "1")], format!("Invalid value 1 for configuration acks ({o}): Must set acks to all in order to use the idempotent producer (enable.idempotence=true)")),
            (Producer, &[("enable.idempotence", "true"), ("max.in.flight.requests.per.connection", "6")], format!("Invalid value 6 for configuration max.in.flight.requests.per.connection ({o}): Must be at most 5 to use the idempotent producer (enable.idempotence=true)")),
            (Producer, &[("enable.idempotence", "true"), ("retries", "0")], format!("Invalid value 0 for configuration retries ({o}): Must be non-zero when using the idempotent producer (enable.idempotence=true)")),
            (Producer, &[("delivery.timeout.ms", "1000")], format!("Invalid value 1000 for configuration delivery.timeout.ms ({o}): delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms (30000)")),
            (Consumer, &[("group.protocol", "consumer"), ("session.timeout.ms", "10000")], format!("session.timeout.ms cannot be set when group.protocol=consumer (the broker decides it; use group.remote.assignor for the assignor) (configuration session.timeout.ms, {o})")),
        ];
        for (role, pairs, expected) in cases {
            assert_eq!(errors(*role, pairs), vec![expected.clone()], "{pairs:?}");
        }
    }

    #[test]
    fn collects_every_problem_at_once() {
        let errs = errors(
            Consumer,
            &[
                ("auto.offset.reset", "foo"),
                ("fetch.min.bytes", "x"),
                ("enable.auto.commit", "maybe"),
                ("security.protocol", "SASL_SSL"),
            ],
        );
        assert_eq!(errs.len(), 5, "{errs:#?}"); // 3 values + missing mechanism + missing JAAS
        let e = map(
            Consumer,
            &[("auto.offset.reset", "foo"), ("fetch.min.bytes", "x")],
        )
        .unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.starts_with("2 problems in Kafka client configuration:"),
            "{shown}"
        );
        assert!(
            shown.contains("auto.offset.reset") && shown.contains("fetch.min.bytes"),
            "{shown}"
        );
        let ce: sluice_api::ConnectError = e.into();
        assert_eq!(ce.kind(), sluice_api::ErrorKind::Config);
    }

    #[test]
    fn unknown_role_and_internal_keys_are_reported_not_dropped() {
        let m = ok(
            Consumer,
            &[
                ("frobnicate.ms", "1"),
                ("acks", "all"),
                (
                    "key.deserializer",
                    "org.apache.kafka.common.serialization.ByteArrayDeserializer",
                ),
                ("interceptor.classes", "com.example.Spy"),
            ],
        );
        assert_eq!(m.warnings.len(), 3, "{:#?}", m.warnings);
        assert!(m.warnings.iter().any(|w| w == &format!("Ignoring unknown Kafka client configuration frobnicate.ms ({ORIGIN}): Sluice has no librdkafka equivalent for it")));
        assert!(m.warnings.iter().any(|w| w == &format!("Ignoring configuration acks ({ORIGIN}): it applies to producer clients, not to this consumer client")));
        assert!(m
            .warnings
            .iter()
            .any(|w| w.starts_with("Ignoring configuration interceptor.classes=com.example.Spy")));
        assert_eq!(m.notes.len(), 1, "{:#?}", m.notes);
        assert!(
            m.notes[0].starts_with("Ignoring configuration key.deserializer"),
            "{:?}",
            m.notes
        );
        assert!(
            !m.rdkafka.contains_key("acks") && !m.rdkafka.contains_key("request.required.acks")
        );

        let a = ok(Admin, &[("retries", "5"), ("max.poll.records", "5")]);
        assert_eq!(a.warnings.len(), 2, "{:#?}", a.warnings);
        assert!(
            a.warnings
                .iter()
                .any(|w| w.contains("librdkafka has no equivalent for admin clients")),
            "{:?}",
            a.warnings
        );
        assert_eq!(a.max_poll_records, None);
    }

    #[test]
    fn clamps_and_adjustments_warn() {
        let cases: &[(ClientRole, &[(&str, &str)], (&str, &str), &str)] = &[
            (Producer, &[("batch.size", "0")], ("batch.size", "1"), "using its minimum 1"),
            (Producer, &[("linger.ms", "1000000"), ("delivery.timeout.ms", "2000000")], ("linger.ms", "900000"), "using its maximum 900000"),
            (Consumer, &[("request.timeout.ms", "5")], ("socket.timeout.ms", "10"), "socket.timeout.ms (10..300000)"),
            (Consumer, &[("max.poll.interval.ms", "100000000")], ("max.poll.interval.ms", "86400000"), "maximum"),
            (Consumer, &[("connections.max.idle.ms", "-1")], ("connections.max.idle.ms", "0"), "minimum 0"),
            (Consumer, &[("fetch.max.bytes", "500000")], ("message.max.bytes", "500000"), "message.max.bytes is lowered"),
            (Consumer, &[("session.timeout.ms", "60000"), ("max.poll.interval.ms", "30000")], ("max.poll.interval.ms", "60000"), "raised to 60000"),
            (Admin, &[("reconnect.backoff.ms", "20000")], ("reconnect.backoff.ms", "10000"), "reconnect.backoff.ms is set to 10000"),
            (Producer, &[("transactional.id", "t"), ("delivery.timeout.ms", "2147483647")], ("message.timeout.ms", "60000"), "clamped to 60000"),
            (Producer, &[("transactional.id", "t"), ("transaction.timeout.ms", "90000"), ("delivery.timeout.ms", "2147483647")], ("message.timeout.ms", "90000"), "clamped to 90000"),
            (Consumer, &[("partition.assignment.strategy", "org.apache.kafka.clients.consumer.StickyAssignor")], ("partition.assignment.strategy", "roundrobin"), "no eager sticky assignor"),
            (Consumer, &[("partition.assignment.strategy", "org.apache.kafka.clients.consumer.RangeAssignor,org.apache.kafka.clients.consumer.CooperativeStickyAssignor")], ("partition.assignment.strategy", "range"), "cannot mix eager and cooperative"),
            (Producer, &[("partitioner.class", "org.apache.kafka.clients.producer.RoundRobinPartitioner")], ("partitioner", "random"), "no round-robin partitioner"),
            (Producer, &[("partitioner.class", "com.example.P")], ("partitioner", "murmur2_random"), "Java partitioners cannot run"),
        ];
        for (role, pairs, (k, v), warning) in cases {
            let m = ok(*role, pairs);
            assert_eq!(
                m.rdkafka.get(*k).map(String::as_str),
                Some(*v),
                "{pairs:?}: {:?}",
                m.rdkafka
            );
            assert!(
                m.warnings.iter().any(|w| w.contains(warning)),
                "{pairs:?}: {:#?}",
                m.warnings
            );
        }
        // linger.ms above librdkafka's default message timeout: Java raises delivery.timeout.ms.
        let m = ok(Producer, &[("linger.ms", "400000")]);
        assert_eq!(
            m.rdkafka.get("message.timeout.ms").map(String::as_str),
            Some("430000")
        );
    }

    const PLAIN_JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";"#;

    #[test]
    fn sasl_plain_and_scram() {
        let m = ok(
            Producer,
            &[
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "PLAIN"),
                ("sasl.jaas.config", PLAIN_JAAS),
            ],
        );
        for (k, v) in [
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ] {
            assert_eq!(m.rdkafka.get(k).map(String::as_str), Some(v), "{k}");
        }
        for mech in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
            let m = ok(
                Consumer,
                &[
                    ("security.protocol", "sasl_plaintext"),
                    ("sasl.mechanism", mech),
                    ("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required\n  username=\"alice\"\n  password=\"s3cr;t\";"),
                ],
            );
            assert_eq!(
                m.rdkafka.get("sasl.mechanisms").map(String::as_str),
                Some(mech)
            );
            assert_eq!(
                m.rdkafka.get("sasl.password").map(String::as_str),
                Some("s3cr;t")
            );
        }
    }

    #[test]
    fn sasl_errors() {
        let o = ORIGIN;
        let base = |jaas: &'static str| -> Vec<(&'static str, &'static str)> {
            vec![
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "PLAIN"),
                ("sasl.jaas.config", jaas),
            ]
        };
        let cases: Vec<(Vec<(&str, &str)>, String)> = vec![
            (base("com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;"), format!("Invalid value [hidden] for configuration sasl.jaas.config ({o}): login module com.sun.security.auth.module.Krb5LoginModule is not supported; Sluice supports org.apache.kafka.common.security.plain.PlainLoginModule and org.apache.kafka.common.security.scram.ScramLoginModule")),
            (base("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"p\";"), format!("Invalid value [hidden] for configuration sasl.jaas.config ({o}): login module org.apache.kafka.common.security.scram.ScramLoginModule does not match sasl.mechanism PLAIN, which needs org.apache.kafka.common.security.plain.PlainLoginModule")),
            (base("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\";"), format!("Invalid value [hidden] for configuration sasl.jaas.config ({o}): org.apache.kafka.common.security.plain.PlainLoginModule requires option password=\"...\"")),
            (base("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\""), format!("Invalid value [hidden] for configuration sasl.jaas.config ({o}): JAAS config entry not terminated by semi-colon")),
            (vec![("security.protocol", "SASL_SSL"), ("sasl.mechanism", "GSSAPI"), ("sasl.jaas.config", PLAIN_JAAS)], format!("Invalid value GSSAPI for configuration sasl.mechanism ({o}): Sluice supports SASL mechanisms PLAIN, SCRAM-SHA-256, SCRAM-SHA-512")),
            (vec![("security.protocol", "SASL_SSL"), ("sasl.jaas.config", PLAIN_JAAS)], format!("security.protocol is SASL_SSL but sasl.mechanism is not set; Java's default GSSAPI (Kerberos) is not supported by Sluice, set one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (configuration sasl.mechanism, {o})")),
            (vec![("security.protocol", "SASL_SSL"), ("sasl.mechanism", "PLAIN")], format!("security.protocol is SASL_SSL but sasl.jaas.config is not set; set it, or name a JAAS file with a KafkaClient section in -Djava.security.auth.login.config= (KAFKA_OPTS) or the worker's java.security.auth.login.config (configuration sasl.jaas.config, {o})")),
        ];
        for (pairs, expected) in cases {
            assert_eq!(errors(Producer, &pairs), vec![expected], "{pairs:?}");
        }
        // The password never appears in an error.
        let e = map(Producer, &base(r#"org.apache.kafka.common.security.plain.PlainLoginModule bogus username="u" password="hunter2";"#)).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn sasl_and_ssl_keys_ignored_without_matching_protocol() {
        let m = ok(
            Producer,
            &[
                ("sasl.jaas.config", "garbage"),
                ("ssl.truststore.location", "/does/not/exist.jks"),
            ],
        );
        assert!(!m.rdkafka.contains_key("sasl.username"));
        assert!(!m.rdkafka.contains_key("ssl.ca.pem"));
        assert_eq!(m.warnings.len(), 2, "{:#?}", m.warnings);
        assert!(
            m.warnings[0].contains("security.protocol is PLAINTEXT"),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn jaas_parsing() {
        let opts = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ok_cases: &[(&str, &str, Vec<(String, String)>)] = &[
            (
                r#"M required username="u" password="p";"#,
                "M",
                opts(&[("username", "u"), ("password", "p")]),
            ),
            (
                r#"  M   REQUIRED username = "u"  password="p" ;  "#,
                "M",
                opts(&[("username", "u"), ("password", "p")]),
            ),
            (
                "M optional username='u' password='p';",
                "M",
                opts(&[("username", "u"), ("password", "p")]),
            ),
            (
                "M required username=u password=p;",
                "M",
                opts(&[("username", "u"), ("password", "p")]),
            ),
            (
                r#"M required password="a\"b\\c";"#,
                "M",
                opts(&[("password", "a\"b\\c")]),
            ),
            (
                r#"M required password="semi;colon = eq";"#,
                "M",
                opts(&[("password", "semi;colon = eq")]),
            ),
            (
                r#"M required password="tab\tnl\n\101";"#,
                "M",
                opts(&[("password", "tab\tnl\nA")]),
            ),
            (
                r#"M required password='it"s';"#,
                "M",
                opts(&[("password", "it\"s")]),
            ),
            (
                "M required /* comment */ username=\"u\" // rest\n password=\"p\";",
                "M",
                opts(&[("username", "u"), ("password", "p")]),
            ),
            (r#"M required password="";"#, "M", opts(&[("password", "")])),
            ("M required;", "M", opts(&[])),
            (
                r#"M required username="ünïcödé";"#,
                "M",
                opts(&[("username", "ünïcödé")]),
            ),
        ];
        for (input, module, options) in ok_cases {
            assert_eq!(
                parse_jaas(input),
                Ok(JaasEntry {
                    module: module.to_string(),
                    options: options.clone()
                }),
                "{input}"
            );
        }
        let err_cases: &[(&str, &str)] = &[
            ("", "Login module not specified in JAAS config"),
            ("  // only a comment", "Login module not specified in JAAS config"),
            ("M", "Login module control flag not specified in JAAS config"),
            ("M mandatory;", "Invalid login module control flag 'mandatory' in JAAS config (one of required, requisite, sufficient, optional)"),
            ("M required username=;", "Value not specified for key 'username' in JAAS config"),
            ("M required username;", "Value not specified for key 'username' in JAAS config"),
            (r#"M required username="u""#, "JAAS config entry not terminated by semi-colon"),
            (r#"M required username="u;"#, "unterminated \"-quoted value in JAAS config"),
            (r#"M required a="1"; N required b="2";"#, "JAAS config property contains 2 login modules, should be 1 module"),
            ("M required =x;", "option name missing before '=' in JAAS config"),
            ("; M required;", "expected a login module class name in JAAS config"),
        ];
        for (input, expected) in err_cases {
            assert_eq!(parse_jaas(input), Err(expected.to_string()), "{input}");
        }
    }

    #[test]
    fn pem_normalization() {
        let der = b"hello certificate";
        let canonical = der_to_pem("CERTIFICATE", der);
        let flat = canonical.replace('\n', " ");
        assert_eq!(
            normalize_pem(&flat, &["CERTIFICATE"]),
            Ok(canonical.clone())
        );
        let two = format!("{canonical}{canonical}");
        assert_eq!(normalize_pem(&two, &["CERTIFICATE"]), Ok(two.clone()));
        assert_eq!(
            normalize_pem("nothing", &["CERTIFICATE"]),
            Err("no PEM block (CERTIFICATE) found".to_string())
        );
        assert!(normalize_pem(&der_to_pem("PRIVATE KEY", der), &["CERTIFICATE"]).is_err());
        assert!(normalize_pem(
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----",
            &["CERTIFICATE"]
        )
        .unwrap_err()
        .contains("not valid base64"));
    }

    #[test]
    fn inline_pem_stores() {
        let cert = der_to_pem("CERTIFICATE", b"cert");
        let key = der_to_pem("PRIVATE KEY", b"key");
        let m = ok(
            Producer,
            &[
                ("security.protocol", "SSL"),
                ("ssl.truststore.type", "PEM"),
                ("ssl.truststore.certificates", &cert.replace('\n', " ")),
                ("ssl.keystore.type", "PEM"),
                ("ssl.keystore.certificate.chain", &cert),
                ("ssl.keystore.key", &key),
                ("ssl.key.password", "kp"),
            ],
        );
        assert_eq!(m.rdkafka.get("ssl.ca.pem"), Some(&cert));
        assert_eq!(m.rdkafka.get("ssl.certificate.pem"), Some(&cert));
        assert_eq!(m.rdkafka.get("ssl.key.pem"), Some(&key));
        assert_eq!(
            m.rdkafka.get("ssl.key.password").map(String::as_str),
            Some("kp")
        );

        let o = ORIGIN;
        let cases: Vec<(Vec<(&str, &str)>, String)> = vec![
            (vec![("ssl.truststore.certificates", &cert)], format!("SSL trust store certs can be specified only for PEM, but trust store type is JKS (configuration ssl.truststore.certificates, {o})")),
            (vec![("ssl.truststore.type", "PEM"), ("ssl.truststore.certificates", &cert), ("ssl.truststore.password", "x")], format!("SSL trust store password cannot be specified for PEM format (configuration ssl.truststore.password, {o})")),
            (vec![("ssl.keystore.type", "PEM"), ("ssl.keystore.key", &key)], format!("SSL private key is specified, but certificate chain is not specified (configuration ssl.keystore.key, {o})")),
            (vec![("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", &cert)], format!("SSL certificate chain is specified, but private key is not specified (configuration ssl.keystore.certificate.chain, {o})")),
            (vec![("ssl.keystore.type", "PKCS12"), ("ssl.keystore.key", &key), ("ssl.keystore.certificate.chain", &cert)], format!("SSL private key can be specified only for PEM, but key store type is PKCS12 (configuration ssl.keystore.key, {o})")),
            (vec![("ssl.keystore.type", "BCFKS"), ("ssl.keystore.location", "/x")], format!("Invalid value BCFKS for configuration ssl.keystore.type ({o}): Sluice supports store types JKS, PKCS12, PEM")),
            (vec![("ssl.truststore.type", "PEM"), ("ssl.truststore.certificates", "junk")], format!("Invalid value junk for configuration ssl.truststore.certificates ({o}): no PEM block (CERTIFICATE) found")),
        ];
        for (mut pairs, expected) in cases {
            pairs.push(("security.protocol", "SSL"));
            assert_eq!(errors(Consumer, &pairs), vec![expected], "{pairs:?}");
        }
    }

    // ---- stores generated with the JDK's keytool and openssl

    fn run(program: &str, args: &[&str], dir: &Path) {
        let out = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| {
            panic!("these tests need `{program}` on PATH (a JDK's keytool and openssl): cannot run it: {e}")
        });
        assert!(
            out.status.success(),
            "{program} {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    struct Stores {
        dir: tempfile::TempDir,
        ca_pem: String,
    }

    impl Stores {
        fn path(&self, name: &str) -> String {
            self.dir.path().join(name).to_string_lossy().into_owned()
        }
    }

    fn stores() -> Stores {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        run(
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
                "-subj",
                "/CN=sluice-test-ca",
                "-days",
                "2",
            ],
            d,
        );
        for (store, ty) in [("trust.jks", "JKS"), ("trust.p12", "PKCS12")] {
            run(
                "keytool",
                &[
                    "-importcert",
                    "-noprompt",
                    "-alias",
                    "ca",
                    "-file",
                    "ca.pem",
                    "-keystore",
                    store,
                    "-storetype",
                    ty,
                    "-storepass",
                    "trustpass",
                ],
                d,
            );
        }
        run(
            "keytool",
            &[
                "-genkeypair",
                "-alias",
                "client",
                "-keyalg",
                "RSA",
                "-keysize",
                "2048",
                "-dname",
                "CN=client",
                "-validity",
                "2",
                "-keystore",
                "key.jks",
                "-storetype",
                "JKS",
                "-storepass",
                "storepass",
                "-keypass",
                "keypass",
            ],
            d,
        );
        run(
            "keytool",
            &[
                "-genkeypair",
                "-alias",
                "client",
                "-keyalg",
                "RSA",
                "-keysize",
                "2048",
                "-dname",
                "CN=client",
                "-validity",
                "2",
                "-keystore",
                "key.p12",
                "-storetype",
                "PKCS12",
                "-storepass",
                "storepass",
            ],
            d,
        );
        let ca_pem = std::fs::read_to_string(d.join("ca.pem")).unwrap();
        Stores {
            dir,
            ca_pem: normalize_pem(&ca_pem, &["CERTIFICATE"]).unwrap(),
        }
    }

    fn ssl_map(pairs: &[(&str, &str)]) -> Result<MappedConfig, ClientConfigError> {
        let mut all = pairs.to_vec();
        all.push(("security.protocol", "SSL"));
        map(Producer, &all)
    }

    #[test]
    fn truststores_and_keystores_from_files() {
        let s = stores();
        let o = ORIGIN;
        let trust_jks = s.path("trust.jks");
        let trust_p12 = s.path("trust.p12");
        let ca = s.path("ca.pem");

        // JKS and PKCS12 truststores -> ssl.ca.pem, whatever the declared type says.
        for (path, ty) in [
            (&trust_jks, "JKS"),
            (&trust_p12, "PKCS12"),
            (&trust_p12, "JKS"),
            (&trust_jks, "pkcs12"),
        ] {
            let m = ssl_map(&[
                ("ssl.truststore.location", path),
                ("ssl.truststore.type", ty),
                ("ssl.truststore.password", "trustpass"),
            ])
            .unwrap();
            assert_eq!(
                m.rdkafka.get("ssl.ca.pem"),
                Some(&s.ca_pem),
                "{path} as {ty}"
            );
        }
        // JKS without a password: read unchecked, as Java does.
        let m = ssl_map(&[("ssl.truststore.location", &trust_jks)]).unwrap();
        assert_eq!(m.rdkafka.get("ssl.ca.pem"), Some(&s.ca_pem));
        // PEM truststore file -> ssl.ca.location.
        let m = ssl_map(&[
            ("ssl.truststore.location", &ca),
            ("ssl.truststore.type", "PEM"),
        ])
        .unwrap();
        assert_eq!(m.rdkafka.get("ssl.ca.location"), Some(&ca));

        // Wrong passwords and missing files.
        for path in [&trust_jks, &trust_p12] {
            assert_eq!(
                ssl_map(&[("ssl.truststore.location", path), ("ssl.truststore.password", "nope")]).unwrap_err().problems[0].message,
                format!("wrong truststore password for {path} (configuration ssl.truststore.password, {o})")
            );
        }
        let missing = s.path("missing.jks");
        for ty in ["JKS", "PKCS12", "PEM"] {
            assert_eq!(
                ssl_map(&[("ssl.truststore.location", &missing), ("ssl.truststore.type", ty)]).unwrap_err().problems[0].message,
                format!("truststore file {missing} does not exist (configuration ssl.truststore.location, {o})")
            );
        }
        assert_eq!(
            ssl_map(&[("ssl.truststore.location", &ca)]).unwrap_err().problems[0].message,
            format!("cannot read truststore {ca} (JKS): neither a JKS nor a PKCS12 file (configuration ssl.truststore.location, {o})")
        );

        // PKCS12 keystore: passed through.
        let key_p12 = s.path("key.p12");
        let m = ssl_map(&[
            ("ssl.keystore.location", &key_p12),
            ("ssl.keystore.type", "PKCS12"),
            ("ssl.keystore.password", "storepass"),
        ])
        .unwrap();
        assert_eq!(m.rdkafka.get("ssl.keystore.location"), Some(&key_p12));
        assert_eq!(
            m.rdkafka.get("ssl.keystore.password").map(String::as_str),
            Some("storepass")
        );

        // JKS keystore: key decrypted with ssl.key.password, converted to inline PEM.
        let key_jks = s.path("key.jks");
        let m = ssl_map(&[
            ("ssl.keystore.location", &key_jks),
            ("ssl.keystore.password", "storepass"),
            ("ssl.key.password", "keypass"),
        ])
        .unwrap();
        let key =
            openssl::pkey::PKey::private_key_from_pem(m.rdkafka["ssl.key.pem"].as_bytes()).unwrap();
        let cert =
            openssl::x509::X509::from_pem(m.rdkafka["ssl.certificate.pem"].as_bytes()).unwrap();
        assert!(
            cert.public_key().unwrap().public_eq(&key),
            "key and certificate must match"
        );
        assert!(format!("{:?}", cert.subject_name()).contains("client"));

        let errs = |pairs: &[(&str, &str)]| {
            ssl_map(pairs)
                .unwrap_err()
                .problems
                .into_iter()
                .map(|p| p.message)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            errs(&[("ssl.keystore.location", &key_jks), ("ssl.keystore.password", "storepass"), ("ssl.key.password", "wrong")]),
            vec![format!("wrong key password for entry client in keystore {key_jks} (configuration ssl.key.password, {o})")]
        );
        assert_eq!(
            errs(&[
                ("ssl.keystore.location", &key_jks),
                ("ssl.keystore.password", "wrong"),
                ("ssl.key.password", "keypass")
            ]),
            vec![format!(
                "wrong keystore password for {key_jks} (configuration ssl.keystore.password, {o})"
            )]
        );
        assert_eq!(
            errs(&[("ssl.keystore.location", &trust_jks), ("ssl.keystore.password", "trustpass")]),
            vec![format!("keystore {trust_jks} contains no private key entry (configuration ssl.keystore.location, {o})")]
        );
        let missing_key = s.path("nokey.p12");
        assert_eq!(
            errs(&[("ssl.keystore.location", &missing_key), ("ssl.keystore.type", "PKCS12")]),
            vec![format!("keystore file {missing_key} does not exist (configuration ssl.keystore.location, {o})")]
        );
        // Truststore and keystore problems are reported together.
        assert_eq!(
            errs(&[
                ("ssl.truststore.location", &missing),
                ("ssl.keystore.location", &missing_key)
            ])
            .len(),
            2
        );
    }

    #[test]
    fn client_config_doc_is_current() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/client-config.md");
        let want = mapping_markdown();
        if std::env::var_os("SLUICE_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/client-config.md is stale: run `SLUICE_BLESS=1 cargo test -p sluice-kafka client_config_doc` and commit it"
        );
    }
}
