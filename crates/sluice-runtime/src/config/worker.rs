//! Worker configuration (`WorkerConfig`, `StandaloneConfig`): every key defined once.

use std::time::Duration;

use sluice_api::config::{
    Config, ConfigDef, ConfigKey, ConfigType, Importance, Parsed, RawConfig, Validator,
};

use crate::signature::MacAlgorithm;

pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
pub const KEY_CONVERTER: &str = "key.converter";
pub const VALUE_CONVERTER: &str = "value.converter";
pub const HEADER_CONVERTER: &str = "header.converter";
pub const OFFSET_STORAGE_FILE: &str = "offset.storage.file.filename";
pub const OFFSET_FLUSH_INTERVAL_MS: &str = "offset.flush.interval.ms";
pub const OFFSET_FLUSH_TIMEOUT_MS: &str = "offset.flush.timeout.ms";
pub const TASK_SHUTDOWN_TIMEOUT_MS: &str = "task.shutdown.graceful.timeout.ms";
pub const LISTENERS: &str = "listeners";
pub const REST_ADVERTISED_HOST: &str = "rest.advertised.host.name";
pub const REST_ADVERTISED_PORT: &str = "rest.advertised.port";
pub const REST_ADVERTISED_LISTENER: &str = "rest.advertised.listener";
pub const PLUGIN_PATH: &str = "plugin.path";
pub const CLIENT_ID: &str = "client.id";
pub const TOPIC_CREATION_ENABLE: &str = "topic.creation.enable";
pub const OVERRIDE_POLICY: &str = "connector.client.config.override.policy";
pub const REST_EXTENSION_CLASSES: &str = "rest.extension.classes";
pub const SSL_CLIENT_AUTH: &str = "ssl.client.auth";
/// Sluice's spelling of the JVM's `-Djava.security.auth.login.config=` (which Sluice also reads
/// from `KAFKA_OPTS`, this key winning).
pub const JAAS_LOGIN_CONFIG: &str = "java.security.auth.login.config";
pub const TOPIC_TRACKING_ENABLE: &str = "topic.tracking.enable";
pub const TOPIC_TRACKING_ALLOW_RESET: &str = "topic.tracking.allow.reset";

pub const DEFAULT_HEADER_CONVERTER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// Prefixes whose keys are passed on, not defined here.
pub const PASS_THROUGH_PREFIXES: &[&str] = &[
    "producer.",
    "consumer.",
    "admin.",
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "listeners.https.",
    "admin.listeners.https.",
    "config.providers.",
];

/// The keys of a standalone worker.
pub fn standalone_def() -> ConfigDef {
    common_def().define(
        ConfigKey::new(OFFSET_STORAGE_FILE, ConfigType::String)
            .importance(Importance::High)
            .validator(Validator::NonEmptyString)
            .doc("File to store offset data in"),
    )
}

pub const GROUP_ID: &str = "group.id";
pub const CONFIG_TOPIC: &str = "config.storage.topic";
pub const CONFIG_RF: &str = "config.storage.replication.factor";
pub const OFFSET_TOPIC: &str = "offset.storage.topic";
pub const OFFSET_PARTITIONS: &str = "offset.storage.partitions";
pub const OFFSET_RF: &str = "offset.storage.replication.factor";
pub const STATUS_TOPIC: &str = "status.storage.topic";
pub const STATUS_PARTITIONS: &str = "status.storage.partitions";
pub const STATUS_RF: &str = "status.storage.replication.factor";
pub const CONNECT_PROTOCOL: &str = "connect.protocol";
pub const MAX_DELAY_MS: &str = "scheduled.rebalance.max.delay.ms";
pub const SESSION_TIMEOUT_MS: &str = "session.timeout.ms";
pub const HEARTBEAT_INTERVAL_MS: &str = "heartbeat.interval.ms";
pub const REBALANCE_TIMEOUT_MS: &str = "rebalance.timeout.ms";
pub const WORKER_SYNC_TIMEOUT_MS: &str = "worker.sync.timeout.ms";
pub const WORKER_UNSYNC_BACKOFF_MS: &str = "worker.unsync.backoff.ms";
pub const INTER_WORKER_KEY_GENERATION_ALGORITHM: &str = "inter.worker.key.generation.algorithm";
pub const INTER_WORKER_KEY_SIZE: &str = "inter.worker.key.size";
pub const INTER_WORKER_KEY_TTL_MS: &str = "inter.worker.key.ttl.ms";
pub const INTER_WORKER_SIGNATURE_ALGORITHM: &str = "inter.worker.signature.algorithm";
pub const INTER_WORKER_VERIFICATION_ALGORITHMS: &str = "inter.worker.verification.algorithms";

/// KIP-507 algorithm keys: a MAC this worker supports (`crate::signature::MacAlgorithm`).
fn supported_mac(_: &str, value: &Parsed) -> Result<(), String> {
    let unsupported = crate::signature::unsupported_algorithm_message;
    match value {
        Parsed::Null => Ok(()),
        Parsed::List(l) => match l.iter().find(|n| MacAlgorithm::from_name(n).is_none()) {
            Some(n) => Err(format!("{n}: {}", unsupported())),
            None => Ok(()),
        },
        v if MacAlgorithm::from_name(&v.to_config_string()).is_none() => Err(unsupported()),
        _ => Ok(()),
    }
}

/// The keys of a distributed worker (`DistributedConfig`).
pub fn distributed_def() -> ConfigDef {
    let rf = |name: &'static str, doc: &'static str| {
        ConfigKey::new(name, ConfigType::Short)
            .default_value("3")
            .importance(Importance::Low)
            .doc(doc)
    };
    let int = |name: &'static str, default: &'static str, doc: &'static str| {
        ConfigKey::new(name, ConfigType::Int)
            .default_value(default)
            .validator(Validator::at_least(0.0))
            .importance(Importance::Low)
            .doc(doc)
    };
    common_def()
        .define(
            ConfigKey::new(GROUP_ID, ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::NonEmptyString)
                .doc("A unique string that identifies the Connect cluster group this worker belongs to."),
        )
        .define(
            ConfigKey::new(CONFIG_TOPIC, ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::NonEmptyString)
                .doc("The name of the Kafka topic where connector configurations are stored"),
        )
        .define(rf(CONFIG_RF, "Replication factor used when creating the configuration storage topic"))
        .define(
            ConfigKey::new(OFFSET_TOPIC, ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::NonEmptyString)
                .doc("The name of the Kafka topic where source connector offsets are stored"),
        )
        .define(
            ConfigKey::new(OFFSET_PARTITIONS, ConfigType::Int)
                .default_value("25")
                .importance(Importance::Low)
                .doc("The number of partitions used when creating the offset storage topic"),
        )
        .define(rf(OFFSET_RF, "Replication factor used when creating the offset storage topic"))
        .define(
            ConfigKey::new(STATUS_TOPIC, ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::NonEmptyString)
                .doc("The name of the Kafka topic where connector and task status are stored"),
        )
        .define(
            ConfigKey::new(STATUS_PARTITIONS, ConfigType::Int)
                .default_value("5")
                .importance(Importance::Low)
                .doc("The number of partitions used when creating the status storage topic"),
        )
        .define(rf(STATUS_RF, "Replication factor used when creating the status storage topic"))
        .define(
            ConfigKey::new(CONNECT_PROTOCOL, ConfigType::String)
                .default_value("sessioned")
                .validator(Validator::OneOf(vec!["eager", "compatible", "sessioned"]))
                .importance(Importance::Low)
                .doc("Compatibility mode for Kafka Connect Protocol"),
        )
        .define(int(MAX_DELAY_MS, "300000", "The maximum delay that is scheduled in order to wait for the return of one or more departed workers before rebalancing and reassigning their connectors and tasks to the group."))
        .define(int(SESSION_TIMEOUT_MS, "10000", "The timeout used to detect worker failures."))
        .define(int(HEARTBEAT_INTERVAL_MS, "3000", "The expected time between heartbeats to the group coordinator."))
        .define(int(REBALANCE_TIMEOUT_MS, "60000", "The maximum allowed time for each worker to join the group once a rebalance has begun."))
        .define(int(WORKER_SYNC_TIMEOUT_MS, "3000", "When the worker is out of sync with other workers and needs to resynchronize configurations, wait up to this amount of time before giving up, leaving the group, and waiting a backoff period before rejoining."))
        .define(int(WORKER_UNSYNC_BACKOFF_MS, "300000", "When the worker is out of sync with other workers and fails to catch up within worker.sync.timeout.ms, leave the Connect cluster for this long before rejoining."))
        .define(
            ConfigKey::new(INTER_WORKER_KEY_TTL_MS, ConfigType::Int)
                .default_value("3600000")
                .validator(Validator::between(0.0, f64::from(i32::MAX)))
                .importance(Importance::Low)
                .doc("The TTL of generated session keys used for internal request validation (in milliseconds)"),
        )
        .define(
            ConfigKey::new(INTER_WORKER_KEY_GENERATION_ALGORITHM, ConfigType::String)
                .default_value("HmacSHA256")
                .validator(Validator::Custom(supported_mac, "One of HmacSHA1, HmacSHA224, HmacSHA256, HmacSHA384, HmacSHA512"))
                .importance(Importance::Low)
                .doc("The algorithm to use for generating internal request keys."),
        )
        .define(
            ConfigKey::new(INTER_WORKER_KEY_SIZE, ConfigType::Int)
                .default_null()
                .importance(Importance::Low)
                .doc("The size of the key to use for signing internal requests, in bits. If null, the default key size for the key generation algorithm will be used (256 bits for HmacSHA256)."),
        )
        .define(
            ConfigKey::new(INTER_WORKER_SIGNATURE_ALGORITHM, ConfigType::String)
                .default_value("HmacSHA256")
                .validator(Validator::Custom(supported_mac, "One of HmacSHA1, HmacSHA224, HmacSHA256, HmacSHA384, HmacSHA512"))
                .importance(Importance::Low)
                .doc("The algorithm used to sign internal requests."),
        )
        .define(
            ConfigKey::new(INTER_WORKER_VERIFICATION_ALGORITHMS, ConfigType::List)
                .default_value("HmacSHA256")
                .validator(Validator::Custom(supported_mac, "A list of one or more of HmacSHA1, HmacSHA224, HmacSHA256, HmacSHA384, HmacSHA512"))
                .importance(Importance::Low)
                .doc("A list of permitted algorithms for verifying internal requests, which must include the algorithm used for the inter.worker.signature.algorithm property."),
        )
}

/// Keys every worker has.
pub fn common_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(BOOTSTRAP_SERVERS, ConfigType::List)
                .default_value("localhost:9092")
                .importance(Importance::High)
                .doc("A list of host/port pairs used to establish the initial connection to the Kafka cluster."),
        )
        .define(
            ConfigKey::new(KEY_CONVERTER, ConfigType::Class)
                .importance(Importance::High)
                .doc("Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the keys in messages written to or read from Kafka."),
        )
        .define(
            ConfigKey::new(VALUE_CONVERTER, ConfigType::Class)
                .importance(Importance::High)
                .doc("Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the values in messages written to or read from Kafka."),
        )
        .define(
            ConfigKey::new(HEADER_CONVERTER, ConfigType::Class)
                .default_value(DEFAULT_HEADER_CONVERTER)
                .importance(Importance::Low)
                .doc("HeaderConverter class used to convert between Kafka Connect format and the serialized form that is written to Kafka."),
        )
        .define(
            ConfigKey::new(OFFSET_FLUSH_INTERVAL_MS, ConfigType::Long)
                .default_value("60000")
                .validator(Validator::at_least(0.0))
                .importance(Importance::Low)
                .doc("Interval at which to try committing offsets for tasks."),
        )
        .define(
            ConfigKey::new(OFFSET_FLUSH_TIMEOUT_MS, ConfigType::Long)
                .default_value("5000")
                .validator(Validator::at_least(0.0))
                .importance(Importance::Low)
                .doc("Maximum number of milliseconds to wait for records to flush and partition offset data to be committed to offset storage before cancelling the process and restoring the offset data to be committed in a future attempt."),
        )
        .define(
            ConfigKey::new(TASK_SHUTDOWN_TIMEOUT_MS, ConfigType::Long)
                .default_value("5000")
                .validator(Validator::at_least(0.0))
                .importance(Importance::Low)
                .doc("Amount of time to wait for tasks to shutdown gracefully. This is the total amount of time, not per task."),
        )
        .define(
            ConfigKey::new(LISTENERS, ConfigType::List)
                .default_value("http://:8083")
                .importance(Importance::Low)
                .doc("List of comma-separated URIs the REST API will listen on. The supported protocols are HTTP and HTTPS."),
        )
        .define(
            ConfigKey::new(REST_ADVERTISED_HOST, ConfigType::String)
                .default_null()
                .importance(Importance::Low)
                .doc("If this is set, this is the hostname that will be given out to other workers to connect to."),
        )
        .define(
            ConfigKey::new(REST_ADVERTISED_PORT, ConfigType::Int)
                .default_null()
                .importance(Importance::Low)
                .doc("If this is set, this is the port that will be given out to other workers to connect to."),
        )
        .define(
            ConfigKey::new(REST_ADVERTISED_LISTENER, ConfigType::String)
                .default_null()
                .importance(Importance::Low)
                .doc("Sets the advertised listener (HTTP or HTTPS) which will be given to other workers to use."),
        )
        .define(
            ConfigKey::new(PLUGIN_PATH, ConfigType::List)
                .default_null()
                .importance(Importance::Low)
                .doc("Accepted for compatibility and ignored: Sluice's plugins are built in."),
        )
        .define(
            ConfigKey::new(CLIENT_ID, ConfigType::String)
                .default_value("")
                .importance(Importance::Low)
                .doc("An id string to pass to the server when making requests."),
        )
        .define(
            ConfigKey::new(TOPIC_CREATION_ENABLE, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .doc("Whether to allow automatic creation of topics used by source connectors, when source connectors are configured with `topic.creation.` properties."),
        )
        .define(
            ConfigKey::new(TOPIC_TRACKING_ENABLE, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .doc("Enable tracking the set of active topics per connector during runtime."),
        )
        .define(
            ConfigKey::new(TOPIC_TRACKING_ALLOW_RESET, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .doc("If set to true, it allows user requests to reset the set of active topics per connector."),
        )
        .define(
            ConfigKey::new(OVERRIDE_POLICY, ConfigType::String)
                .default_value("All")
                .validator(Validator::OneOf(vec!["All", "None", "Principal"]))
                .importance(Importance::Medium)
                .doc("Which client configurations connectors may override: All, None or Principal."),
        )
        .define(
            ConfigKey::new(REST_EXTENSION_CLASSES, ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .doc("REST extensions. Sluice provides org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension (HTTP Basic authentication against the credentials file named by the KafkaConnect section of the JAAS login configuration); other classes are an error."),
        )
        .define(
            ConfigKey::new(crate::config::providers::CONFIG_PROVIDERS, ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .doc("Comma-separated names of ConfigProvider classes, loaded and used in the order specified. Implementing the interface  ConfigProvider allows you to replace variable references in connector configurations, such as for externalized secrets. "),
        )
        .define(
            ConfigKey::new(SSL_CLIENT_AUTH, ConfigType::String)
                .default_value("none")
                .validator(Validator::OneOf(vec!["required", "requested", "none"]))
                .importance(Importance::Low)
                .doc("Whether HTTPS REST listeners ask for client certificates: required, requested or none (listeners.https.ssl.client.auth wins)."),
        )
        .define(
            ConfigKey::new(JAAS_LOGIN_CONFIG, ConfigType::String)
                .default_null()
                .importance(Importance::Low)
                .doc("A JAAS login configuration file whose KafkaClient section gives SASL credentials to every Kafka client without sasl.jaas.config (sasl.jaas.config wins, as in Kafka). Java workers take it as -Djava.security.auth.login.config= in KAFKA_OPTS, which Sluice reads too; this key wins over KAFKA_OPTS."),
        )
        .define(
            ConfigKey::new(crate::metrics::SAMPLE_WINDOW_MS, ConfigType::Long)
                .default_value("30000")
                .validator(Validator::at_least(1.0))
                .importance(Importance::Low)
                .doc("The window of time a metrics sample is computed over."),
        )
        .define(
            ConfigKey::new(crate::metrics::NUM_SAMPLES, ConfigType::Int)
                .default_value("2")
                .validator(Validator::at_least(1.0))
                .importance(Importance::Low)
                .doc("The number of samples maintained to compute metrics."),
        )
        .define(
            ConfigKey::new(crate::metrics::ENABLED, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .doc("Sluice only: false stops the tasks' metric counting (the record rates and totals, commit and batch statistics, consumer lag). GET /metrics still serves the statuses and the process_* series. For measuring what counting costs; leave it on otherwise."),
        )
        .define(
            ConfigKey::new(crate::metrics::CONSUMER_NETWORK, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Low)
                .doc("Sluice only: true gives the sink tasks' consumers librdkafka's statistics, which GET /metrics serves as the kafka_consumer_* network series (bytes, requests, responses, connections). Off by default: the statistics cost 150 to 200 KiB of memory per sink task, whether or not anything scrapes them."),
        )
        .define(
            ConfigKey::new(crate::metrics::PROMETHEUS_NAMING, ConfigType::String)
                .default_value("strimzi")
                .validator(Validator::OneOfIgnoreCase(vec!["strimzi", "confluent", "confluent-v1"]))
                .importance(Importance::Low)
                .doc("Sluice only: the metric names GET /metrics uses. strimzi: the names of Strimzi's jmx_exporter rules (kafka_connect_source_task_source_record_poll_total); confluent: Confluent's jmx-monitoring-stacks and Grafana's kafka-mixin rules under jmx_exporter 0.x (kafka_connect_source_task_metrics_source_record_poll_total); confluent-v1: the same under jmx_exporter 1.x (_total suffixes stripped)."),
        )
}

/// A parsed, valid worker configuration.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub config: Config,
}

impl WorkerConfig {
    pub fn raw(&self) -> &RawConfig {
        self.config.originals()
    }
    pub fn bootstrap_servers(&self) -> String {
        self.config.list(BOOTSTRAP_SERVERS).join(",")
    }
    pub fn offset_flush_interval(&self) -> Duration {
        Duration::from_millis(
            self.config
                .long(OFFSET_FLUSH_INTERVAL_MS)
                .unwrap_or(60_000)
                .max(0) as u64,
        )
    }
    pub fn offset_flush_timeout(&self) -> Duration {
        Duration::from_millis(
            self.config
                .long(OFFSET_FLUSH_TIMEOUT_MS)
                .unwrap_or(5000)
                .max(0) as u64,
        )
    }
    pub fn task_shutdown_timeout(&self) -> Duration {
        Duration::from_millis(
            self.config
                .long(TASK_SHUTDOWN_TIMEOUT_MS)
                .unwrap_or(5000)
                .max(0) as u64,
        )
    }
    pub fn offset_file(&self) -> Option<&str> {
        self.config.string(OFFSET_STORAGE_FILE)
    }
    pub fn listeners(&self) -> Vec<String> {
        self.config.list(LISTENERS)
    }
    pub fn plugin_path(&self) -> Vec<String> {
        self.config.list(PLUGIN_PATH)
    }
    pub fn topic_creation_enabled(&self) -> bool {
        self.config.boolean(TOPIC_CREATION_ENABLE).unwrap_or(true)
    }
    /// The JAAS login configuration file, if one is named.
    pub fn jaas_login_config(&self) -> Option<&str> {
        self.config
            .string(JAAS_LOGIN_CONFIG)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    /// An Int key of the distributed definition, with its default when absent.
    pub fn int_or(&self, key: &str, default: i32) -> i32 {
        self.config.int(key).unwrap_or(default)
    }
    pub fn topic_tracking_enabled(&self) -> bool {
        self.config.boolean(TOPIC_TRACKING_ENABLE).unwrap_or(true)
    }
    pub fn override_policy(&self) -> &str {
        self.config.string(OVERRIDE_POLICY).unwrap_or("All")
    }
}

/// The value of `-Djava.security.auth.login.config=` in a `KAFKA_OPTS`-style JVM option string
/// (quotes removed; Java's `==` form, which replaces rather than adds, is treated alike).
pub fn jaas_file_from_jvm_opts(opts: &str) -> Option<String> {
    const FLAG: &str = "-Djava.security.auth.login.config=";
    let mut found = None;
    let mut token = String::new();
    let mut tokens = Vec::new();
    let mut quote: Option<char> = None;
    for c in opts.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => token.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !token.is_empty() {
                    tokens.push(std::mem::take(&mut token));
                }
            }
            (None, c) => token.push(c),
        }
    }
    if !token.is_empty() {
        tokens.push(token);
    }
    for t in tokens {
        if let Some(v) = t.strip_prefix(FLAG) {
            // The last occurrence wins, as with the JVM.
            found = Some(v.trim_start_matches('=').to_string());
        }
    }
    found.filter(|f| !f.is_empty())
}

/// Keys the worker neither defines nor passes through: Kafka warns "was supplied but isn't a
/// known config" for these, and so do we.
pub fn unknown_keys(def: &ConfigDef, raw: &RawConfig) -> Vec<String> {
    raw.keys()
        .filter(|k| def.key(k).is_none())
        .filter(|k| !PASS_THROUGH_PREFIXES.iter().any(|p| k.starts_with(p)))
        .filter(|k| !crate::clients::is_client_key(k))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_naming_is_one_of_the_families() {
        let mut raw = RawConfig::new();
        raw.insert(BOOTSTRAP_SERVERS.into(), "localhost:9092".into());
        raw.insert(OFFSET_STORAGE_FILE.into(), "/tmp/o".into());
        raw.insert(KEY_CONVERTER.into(), "StringConverter".into());
        raw.insert(VALUE_CONVERTER.into(), "StringConverter".into());
        raw.insert(crate::metrics::PROMETHEUS_NAMING.into(), "Confluent".into());
        standalone_def().parse(&raw).unwrap();
        raw.insert(crate::metrics::PROMETHEUS_NAMING.into(), "jmx".into());
        let e = standalone_def().parse(&raw).unwrap_err().to_string();
        assert!(e.contains("metrics.prometheus.naming"), "{e}");
        assert!(e.contains("strimzi"), "{e}");
    }

    #[test]
    fn jaas_file_in_kafka_opts() {
        for (opts, expected) in [
            (
                "-Djava.security.auth.login.config=kafka.client.truststore.jks",
                Some("kafka.client.truststore.jks"),
            ),
            (
                "-Xmx1g  -Djava.security.auth.login.config=\"/a b/jaas.conf\" -Dx=y",
                Some("/a b/jaas.conf"),
            ),
            (
                "-Djava.security.auth.login.config==/etc/j.conf",
                Some("/etc/j.conf"),
            ),
            (
                "-Djava.security.auth.login.config=/a -Djava.security.auth.login.config=/b",
                Some("/b"),
            ),
            ("-Xmx1g", None),
            ("-Djava.security.auth.login.config=", None),
        ] {
            assert_eq!(jaas_file_from_jvm_opts(opts).as_deref(), expected, "{opts}");
        }
    }
}

#[cfg(test)]
mod known_keys {
    use super::*;

    #[test]
    fn config_providers_is_a_known_worker_key() {
        let raw: RawConfig = [
            ("config.providers", "file"),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider",
            ),
            ("no.such.key", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(unknown_keys(&standalone_def(), &raw), vec!["no.such.key"]);
    }
}
