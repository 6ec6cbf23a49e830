//! Kafka client settings for connectors, built as Kafka Connect does: framework defaults, then
//! the worker's `producer.`/`consumer.`/`admin.` keys, then the connector's
//! `producer.override.`/`consumer.override.`/`admin.override.` keys (subject to
//! `connector.client.config.override.policy`), then mapped to librdkafka names.

use std::collections::BTreeMap;

use sluice_api::config::{with_prefix, RawConfig};
use sluice_api::ConnectError;
use sluice_kafka::client_config::{map_client_config, mapping_table, ClientRole, MappedConfig};
use sluice_kafka::RdConfig;

use crate::config::worker::WorkerConfig;

/// Whether `key` is a Java Kafka client config this worker maps.
pub fn is_client_key(key: &str) -> bool {
    mapping_table().iter().any(|d| d.java_key == key)
}

/// Keys the `Principal` override policy allows.
const PRINCIPAL_KEYS: &[&str] = &["sasl.jaas.config", "sasl.mechanism", "security.protocol"];

/// Un-prefixed worker keys that are admin client configs (they reach admin clients, as in
/// Kafka). Keys only producers or consumers know stay out: a distributed worker's `group.id`
/// names its own group, and passing it on would log a warning at every admin client a task
/// creates (Kafka's admin client leaves such keys unused too).
fn worker_client_keys(worker: &WorkerConfig) -> RawConfig {
    worker
        .raw()
        .iter()
        .filter(|(k, _)| {
            mapping_table()
                .iter()
                .any(|d| d.java_key == k.as_str() && d.roles.contains(&ClientRole::Admin))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The connector's `<role>.override.` keys after the override policy; violations are errors.
pub fn overrides(
    worker: &WorkerConfig,
    connector: &RawConfig,
    prefix: &str,
) -> Result<RawConfig, ConnectError> {
    let over = with_prefix(connector, prefix);
    if over.is_empty() {
        return Ok(over);
    }
    let policy = worker.override_policy();
    let denied: Vec<&String> = over
        .keys()
        .filter(|k| match policy {
            "None" => true,
            "Principal" => !PRINCIPAL_KEYS.contains(&k.as_str()),
            _ => false,
        })
        .collect();
    if denied.is_empty() {
        Ok(over)
    } else {
        Err(ConnectError::config(
            denied
                .iter()
                .map(|k| {
                    format!("The '{policy}' policy does not allow '{prefix}{k}' to be overridden in the connector configuration.")
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ))
    }
}

/// Whether the connector sets any `<role>.override.` key (`prefix`): such a task gets a client
/// of its own, never one shared with other tasks.
pub fn has_overrides(connector: &RawConfig, prefix: &str) -> bool {
    connector.keys().any(|k| k.starts_with(prefix))
}

/// Kafka's precedence for SASL credentials: the client's `sasl.jaas.config` wins; without it, a
/// SASL client takes the `KafkaClient` section of the JAAS login configuration file. Returns
/// the origin to name in messages.
fn apply_jaas_file(
    worker: &WorkerConfig,
    java: &mut RawConfig,
    origin: &str,
) -> Result<String, ConnectError> {
    let sasl = java
        .get("security.protocol")
        .is_some_and(|p| p.trim().to_ascii_uppercase().starts_with("SASL_"));
    if !sasl || java.contains_key("sasl.jaas.config") {
        return Ok(origin.to_string());
    }
    let Some(file) = worker.jaas_login_config() else {
        return Ok(origin.to_string());
    };
    let bytes = std::fs::read(file).map_err(|e| {
        ConnectError::config(format!(
            "Could not read the JAAS login configuration file {file} (java.security.auth.login.config, from KAFKA_OPTS or the worker config), needed by the {origin} because it uses SASL without sasl.jaas.config: {e}"
        ))
    })?;
    let section = sluice_kafka::jaas_file::section(&bytes, "KafkaClient").map_err(|e| {
        ConnectError::config(format!(
            "The JAAS login configuration file {file} (java.security.auth.login.config, from KAFKA_OPTS or the worker config), needed by the {origin} because it uses SASL without sasl.jaas.config, cannot be used: {e}"
        ))
    })?;
    java.insert("sasl.jaas.config".into(), section);
    Ok(format!(
        "{origin}; sasl.jaas.config from the KafkaClient section of {file}"
    ))
}

fn map(
    worker: &WorkerConfig,
    role: ClientRole,
    java: &BTreeMap<String, String>,
    origin: &str,
) -> Result<MappedConfig, ConnectError> {
    let mut java = java.clone();
    let origin = apply_jaas_file(worker, &mut java, origin)?;
    let mapped = map_client_config(role, &java, &origin)?;
    for w in &mapped.warnings {
        tracing::warn!(client = %role, "{w}");
    }
    for n in &mapped.notes {
        tracing::debug!(client = %role, "{n}");
    }
    Ok(mapped)
}

/// The Java settings of a source task's producer, before mapping.
fn producer_java(worker: &WorkerConfig, connector: &RawConfig) -> Result<RawConfig, ConnectError> {
    let mut java: RawConfig = BTreeMap::new();
    java.insert("bootstrap.servers".into(), worker.bootstrap_servers());
    java.insert("acks".into(), "all".into());
    java.insert("max.in.flight.requests.per.connection".into(), "1".into());
    java.insert("delivery.timeout.ms".into(), i32::MAX.to_string());
    java.insert("enable.idempotence".into(), "false".into());
    java.extend(with_prefix(worker.raw(), "producer."));
    java.extend(overrides(worker, connector, "producer.override.")?);
    Ok(java)
}

/// The producer of a source task.
pub fn producer(
    worker: &WorkerConfig,
    connector: &RawConfig,
    name: &str,
) -> Result<RdConfig, ConnectError> {
    let java = producer_java(worker, connector)?;
    Ok(map(
        worker,
        ClientRole::Producer,
        &java,
        &format!("producer of connector {name}"),
    )?
    .rdkafka)
}

/// The Java settings of a sink task's consumer, before mapping.
fn consumer_java(
    worker: &WorkerConfig,
    connector: &RawConfig,
    name: &str,
) -> Result<RawConfig, ConnectError> {
    let mut java: RawConfig = BTreeMap::new();
    java.insert("bootstrap.servers".into(), worker.bootstrap_servers());
    java.insert("group.id".into(), format!("connect-{name}"));
    java.insert("enable.auto.commit".into(), "false".into());
    java.insert("auto.offset.reset".into(), "earliest".into());
    java.extend(with_prefix(worker.raw(), "consumer."));
    java.extend(overrides(worker, connector, "consumer.override.")?);
    Ok(java)
}

/// The consumer of a sink task, and its `max.poll.records`.
pub fn consumer(
    worker: &WorkerConfig,
    connector: &RawConfig,
    name: &str,
) -> Result<(RdConfig, Option<usize>), ConnectError> {
    let java = consumer_java(worker, connector, name)?;
    let mapped = map(
        worker,
        ClientRole::Consumer,
        &java,
        &format!("consumer of connector {name}"),
    )?;
    Ok((mapped.rdkafka, mapped.max_poll_records))
}

/// The admin client of a connector (topic creation).
pub fn admin(
    worker: &WorkerConfig,
    connector: &RawConfig,
    name: &str,
) -> Result<RdConfig, ConnectError> {
    let mut java = worker_client_keys(worker);
    java.insert("bootstrap.servers".into(), worker.bootstrap_servers());
    java.extend(with_prefix(worker.raw(), "admin."));
    java.extend(overrides(worker, connector, "admin.override.")?);
    Ok(map(
        worker,
        ClientRole::Admin,
        &java,
        &format!("admin client of connector {name}"),
    )?
    .rdkafka)
}

/// The Java settings of the worker's own admin client, before mapping.
fn worker_admin_java(worker: &WorkerConfig) -> RawConfig {
    let mut java = worker_client_keys(worker);
    java.insert("bootstrap.servers".into(), worker.bootstrap_servers());
    java.extend(with_prefix(worker.raw(), "admin."));
    java
}

/// The worker's own admin client (cluster id, topic checks).
pub fn worker_admin(worker: &WorkerConfig) -> Result<RdConfig, ConnectError> {
    Ok(map(
        worker,
        ClientRole::Admin,
        &worker_admin_java(worker),
        "worker config",
    )?
    .rdkafka)
}

/// Checks every client config of the worker, and its converters, once at start-up, collecting
/// every problem.
///
/// A key that came from the worker file with a `producer.`/`consumer.`/`admin.` prefix is
/// named with its prefix, as the user wrote it, and a problem the three clients share (an
/// empty or malformed `bootstrap.servers`) is reported once.
pub fn check_worker(worker: &WorkerConfig) -> Vec<String> {
    let empty = RawConfig::new();
    let clients = [
        (
            ClientRole::Producer,
            "producer.",
            producer_java(worker, &empty),
        ),
        (
            ClientRole::Consumer,
            "consumer.",
            consumer_java(worker, &empty, "(worker)"),
        ),
        (ClientRole::Admin, "admin.", Ok(worker_admin_java(worker))),
    ];
    let mut problems: Vec<String> = Vec::new();
    for (role, prefix, java) in clients {
        let mut found = Vec::new();
        match java.and_then(|mut java| {
            let origin = apply_jaas_file(worker, &mut java, "worker config")?;
            Ok((java, origin))
        }) {
            Err(e) => found.push(e.message().to_string()),
            Ok((java, origin)) => {
                if let Err(e) = map_client_config(role, &java, &origin) {
                    for p in e.problems {
                        let prefixed = format!("{prefix}{}", p.key);
                        if worker.raw().contains_key(&prefixed) {
                            found.push(p.message.replace(
                                &format!("configuration {} ", p.key),
                                &format!("configuration {prefixed} "),
                            ));
                        } else {
                            found.push(p.message);
                        }
                    }
                }
            }
        }
        for f in found {
            // A setting the three clients share (bootstrap.servers) is one problem.
            if !problems.contains(&f) {
                problems.push(f);
            }
        }
    }
    problems.extend(crate::convert::check_worker_converters(worker.raw()));
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::worker::standalone_def;

    fn worker(pairs: &[(&str, &str)]) -> WorkerConfig {
        let mut raw: RawConfig = [
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            ("offset.storage.file.filename", "/tmp/x"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        raw.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        WorkerConfig {
            config: standalone_def().parse(&raw).unwrap(),
        }
    }

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const PLAIN: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="w" password="wp";"#;
    const SCRAM: &str = r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="c" password="cp";"#;

    #[test]
    fn precedence_defaults_worker_prefix_connector_override() {
        let w = worker(&[("producer.linger.ms", "7"), ("producer.acks", "1")]);
        let p = producer(&w, &raw(&[("producer.override.linger.ms", "9")]), "c").unwrap();
        assert_eq!(p["linger.ms"], "9");
        assert_eq!(p["request.required.acks"], "1");
        let p = producer(&w, &RawConfig::new(), "c").unwrap();
        assert_eq!(p["linger.ms"], "7");
        let c = consumer(&w, &RawConfig::new(), "c").unwrap().0;
        assert_eq!(c["group.id"], "connect-c");
    }

    #[test]
    fn only_admin_keys_of_the_worker_reach_admin_clients() {
        let w = worker(&[
            ("group.id", "connect-cluster"),
            ("linger.ms", "5"),
            ("security.protocol", "PLAINTEXT"),
        ]);
        let keys = worker_client_keys(&w);
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["security.protocol"]);
    }

    #[test]
    fn override_policies() {
        let over = raw(&[
            ("consumer.override.sasl.jaas.config", SCRAM),
            ("consumer.override.max.poll.records", "5"),
        ]);
        let none = worker(&[(crate::config::worker::OVERRIDE_POLICY, "None")]);
        let e = consumer(&none, &over, "c").unwrap_err().to_string();
        assert!(
            e.contains("The 'None' policy does not allow 'consumer.override.sasl.jaas.config'"),
            "{e}"
        );
        let principal = worker(&[(crate::config::worker::OVERRIDE_POLICY, "Principal")]);
        let e = consumer(&principal, &over, "c").unwrap_err().to_string();
        assert!(e.contains("'consumer.override.max.poll.records'"), "{e}");
        assert!(!e.contains("sasl.jaas.config"), "{e}");
        let all = worker(&[]);
        assert_eq!(consumer(&all, &over, "c").unwrap().1, Some(5));
    }

    #[test]
    fn jaas_file_is_used_only_without_sasl_jaas_config() {
        let dir = tempfile::tempdir().unwrap();
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(&jaas, format!("KafkaClient {{\n {PLAIN}\n}};\n")).unwrap();
        let jaas = jaas.display().to_string();
        let w = worker(&[
            ("java.security.auth.login.config", &jaas),
            ("producer.security.protocol", "SASL_PLAINTEXT"),
            ("producer.sasl.mechanism", "PLAIN"),
        ]);
        let p = producer(&w, &RawConfig::new(), "c").unwrap();
        assert_eq!(
            (p["sasl.username"].as_str(), p["sasl.password"].as_str()),
            ("w", "wp")
        );
        // sasl.jaas.config wins, from any level.
        let over = raw(&[
            ("producer.override.sasl.mechanism", "SCRAM-SHA-256"),
            ("producer.override.sasl.jaas.config", SCRAM),
        ]);
        let p = producer(&w, &over, "c").unwrap();
        assert_eq!(
            (p["sasl.username"].as_str(), p["sasl.password"].as_str()),
            ("c", "cp")
        );

        let bad = dir.path().join("not-jaas.properties");
        std::fs::write(&bad, "username=x\n").unwrap();
        let w = worker(&[
            ("java.security.auth.login.config", bad.to_str().unwrap()),
            ("producer.security.protocol", "SASL_SSL"),
            ("producer.sasl.mechanism", "PLAIN"),
        ]);
        let e = producer(&w, &RawConfig::new(), "c")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not-jaas.properties")
                && e.contains("not a valid JAAS login configuration file"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod startup_checks {
    use super::*;
    use crate::config::worker::standalone_def;

    fn check(pairs: &[(&str, &str)]) -> Vec<String> {
        let mut raw: RawConfig = [
            ("key.converter", "StringConverter"),
            ("value.converter", "StringConverter"),
            ("offset.storage.file.filename", "/tmp/x"),
        ]
        .iter()
        .chain(pairs)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        raw.retain(|_, v| v != "<unset>");
        check_worker(&WorkerConfig {
            config: standalone_def().parse(&raw).unwrap(),
        })
    }

    #[test]
    fn a_prefixed_key_is_named_with_its_prefix() {
        let p = check(&[("producer.linger.ms", "soon")]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("for configuration producer.linger.ms "),
            "{}",
            p[0]
        );
    }

    #[test]
    fn a_bad_bootstrap_servers_is_reported_once() {
        let p = check(&[("bootstrap.servers", "not a host:port,,:::")]);
        assert_eq!(
            p,
            vec!["Invalid url in bootstrap.servers: not a host:port (worker config); each entry must be host:port"]
        );
        let p = check(&[("bootstrap.servers", " , ")]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("must not be empty"), "{}", p[0]);
        assert!(check(&[("bootstrap.servers", "PLAINTEXT://a:9092,[::1]:9093,b.c:1")]).is_empty());
        assert_eq!(check(&[("bootstrap.servers", "a:99999")]).len(), 1);
    }

    #[test]
    fn an_unknown_worker_converter_is_a_start_up_problem() {
        let p = check(&[("value.converter", "com.example.Nope")]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("configuration value.converter"), "{}", p[0]);
    }
}
