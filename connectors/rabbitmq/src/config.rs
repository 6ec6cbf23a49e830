//! Every key of the RabbitMQ connectors, defined once with the originals' names and defaults
//! (Confluent's `RabbitMQSourceConnectorConfig` / `RabbitMQSinkConnectorConfig`, which kept
//! jcustenborder's `rabbitmq.*` names).

use std::time::Duration;

use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use sluice_api::config::{Config, ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use sluice_api::{ConnectError, Result};

pub const HOST: &str = "rabbitmq.host";
pub const PORT: &str = "rabbitmq.port";
pub const USERNAME: &str = "rabbitmq.username";
pub const PASSWORD: &str = "rabbitmq.password";
pub const VIRTUAL_HOST: &str = "rabbitmq.virtual.host";
pub const CHANNEL_MAX: &str = "rabbitmq.requested.channel.max";
pub const FRAME_MAX: &str = "rabbitmq.requested.frame.max";
pub const CONNECTION_TIMEOUT: &str = "rabbitmq.connection.timeout.ms";
pub const HANDSHAKE_TIMEOUT: &str = "rabbitmq.handshake.timeout.ms";
pub const SHUTDOWN_TIMEOUT: &str = "rabbitmq.shutdown.timeout.ms";
pub const HEARTBEAT: &str = "rabbitmq.requested.heartbeat.seconds";
pub const AUTOMATIC_RECOVERY: &str = "rabbitmq.automatic.recovery.enabled";
pub const TOPOLOGY_RECOVERY: &str = "rabbitmq.topology.recovery.enabled";
pub const NETWORK_RECOVERY_INTERVAL: &str = "rabbitmq.network.recovery.interval.ms";
pub const SECURITY_PROTOCOL: &str = "rabbitmq.security.protocol";
pub const SSL: &str = "rabbitmq.ssl";

pub const KAFKA_TOPIC: &str = "kafka.topic";
pub const QUEUE: &str = "rabbitmq.queue";
pub const PREFETCH_COUNT: &str = "rabbitmq.prefetch.count";
pub const PREFETCH_GLOBAL: &str = "rabbitmq.prefetch.global";

pub const EXCHANGE: &str = "rabbitmq.exchange";
pub const ROUTING_KEY: &str = "rabbitmq.routing.key";
pub const DELIVERY_MODE: &str = "rabbitmq.delivery.mode";
pub const FORWARD_KEY: &str = "rabbitmq.forward.kafka.key";
pub const FORWARD_METADATA: &str = "rabbitmq.forward.kafka.metadata";
pub const FORWARD_HEADERS: &str = "rabbitmq.forward.kafka.headers";
pub const PUBLISH_MAX_BATCH: &str = "rabbitmq.publish.max.batch.size";
pub const PUBLISH_ACK_TIMEOUT: &str = "rabbitmq.publish.ack.timeout";
pub const PUBLISH_MAX_RETRIES: &str = "rabbitmq.publish.max.retries";

fn key(name: &str, t: ConfigType, default: &str, importance: Importance, doc: &str) -> ConfigKey {
    ConfigKey::new(name, t)
        .default_value(default)
        .importance(importance)
        .doc(doc)
}

/// The connection keys both connectors share.
pub fn connection_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    let def = ConfigDef::new()
        .define(key(HOST, String, "localhost", High, "The RabbitMQ host to connect to.").group("Connection", 0))
        .define(key(PORT, Int, "5672", Medium, "The RabbitMQ port to connect to.").validator(Validator::between(1.0, 65535.0)).group("Connection", 1))
        .define(key(USERNAME, String, "guest", High, "The username to authenticate to RabbitMQ with.").group("Connection", 2))
        .define(key(PASSWORD, Password, "guest", High, "The password to authenticate to RabbitMQ with.").group("Connection", 3))
        .define(key(VIRTUAL_HOST, String, "/", High, "The virtual host to use when connecting to the broker.").group("Connection", 4))
        .define(key(CHANNEL_MAX, Int, "2047", Low, "Initially requested maximum channel number. Zero for unlimited.").validator(Validator::between(0.0, 65535.0)))
        .define(key(FRAME_MAX, Int, "0", Low, "Initially requested maximum frame size, in octets. Zero for unlimited."))
        .define(key(CONNECTION_TIMEOUT, Int, "60000", Low, "Connection TCP establishment timeout in milliseconds. Zero for infinite.").validator(Validator::at_least(0.0)))
        .define(key(HANDSHAKE_TIMEOUT, Int, "10000", Low, "The AMQP0-9-1 protocol handshake timeout, in milliseconds.").validator(Validator::at_least(0.0)))
        .define(key(SHUTDOWN_TIMEOUT, Int, "10000", Low, "Set the shutdown timeout, in milliseconds.").validator(Validator::at_least(0.0)))
        .define(key(HEARTBEAT, Int, "60", Low, "Set the requested heartbeat timeout, in seconds. Zero for none.").validator(Validator::between(0.0, 65535.0)))
        .define(key(AUTOMATIC_RECOVERY, Boolean, "true", Low, "Enables or disables automatic connection recovery."))
        .define(key(TOPOLOGY_RECOVERY, Boolean, "true", Low, "Enables or disables topology recovery."))
        .define(key(NETWORK_RECOVERY_INTERVAL, Int, "10000", Low, "How long will automatic recovery wait before attempting to reconnect, in ms.").validator(Validator::at_least(0.0)))
        .define(key(SECURITY_PROTOCOL, String, "PLAINTEXT", Medium, "The security protocol to use to connect to RabbitMQ: PLAINTEXT or SSL (amqps, with the rabbitmq.https.ssl.* truststore and keystore settings).").validator(Validator::OneOfIgnoreCase(vec!["PLAINTEXT", "SSL"])))
        .define(key(SSL, Boolean, "false", Low, "Connect over TLS (the themeetgroup fork's key; same as rabbitmq.security.protocol=SSL)."));
    crate::tls::define(def)
}

/// The source connector's keys.
pub fn source_def() -> ConfigDef {
    connection_def()
        .define(
            ConfigKey::new(KAFKA_TOPIC, ConfigType::String)
                .validator(Validator::NonEmptyString)
                .importance(Importance::High)
                .doc("Kafka topic to write the messages to."),
        )
        .define(
            ConfigKey::new(QUEUE, ConfigType::List)
                .importance(Importance::High)
                .doc("rabbitmq.queue"),
        )
        .define(key(PREFETCH_COUNT, ConfigType::Int, "0", Importance::Medium, "Maximum number of messages that the server will deliver, 0 if unlimited. See Channel.basicQos(int, boolean)").validator(Validator::between(0.0, 65535.0)))
        .define(key(PREFETCH_GLOBAL, ConfigType::Boolean, "false", Importance::Medium, "True if the settings should be applied to the entire channel rather than each consumer. See Channel.basicQos(int, boolean)"))
}

/// The sink connector's keys.
pub fn sink_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    connection_def()
        .define(ConfigKey::new(EXCHANGE, String).importance(High).doc("The destination RabbitMQ exchange where messages need to be delivered. The connector will deliver messages to this one RabbitMQ exchange even when the connector consumes from multiple specified Kafka topics."))
        .define(ConfigKey::new(ROUTING_KEY, String).importance(High).doc("RabbitMQ routing key that dictates how the message will be routed on the exchange."))
        .define(ConfigKey::new(DELIVERY_MODE, String).validator(Validator::OneOfIgnoreCase(vec!["PERSISTENT", "TRANSIENT"])).importance(High).doc("PERSISTENT or TRANSIENT, decides message durability in RabbitMQ."))
        .define(key(FORWARD_KEY, Boolean, "false", Low, "If enabled, the Kafka record key is converted to a string and forwarded on the correlationID property of the RabbitMQ message."))
        .define(key(FORWARD_METADATA, Boolean, "false", Low, "If enabled, metadata from the Kafka record is forwarded on the RabbitMQ message as headers: KAFKA_TOPIC, KAFKA_PARTITION and KAFKA_OFFSET."))
        .define(key(FORWARD_HEADERS, Boolean, "false", Low, "If enabled, Kafka record headers are added to the RabbitMQ message as headers named kafka-<name>, with string values."))
        .define(key(PUBLISH_MAX_BATCH, Int, "100", Low, "Maximum number of messages in a batch to block on for acknowledgements.").validator(Validator::between(1.0, 100000.0)))
        .define(key(PUBLISH_ACK_TIMEOUT, Int, "10000", Low, "Period of time to wait for message acknowledgement in milliseconds.").validator(Validator::at_least(1.0)))
        .define(key(PUBLISH_MAX_RETRIES, Int, "1", Low, "Number of retries for un-acked or n-acked messages.").validator(Validator::at_least(0.0)))
}

/// How to reach the broker, parsed from the connection keys.
#[derive(Clone)]
pub struct Connection {
    pub host: String,
    pub port: u16,
    pub username: String,
    password: String,
    pub vhost: String,
    pub tls: Option<crate::tls::Tls>,
    pub channel_max: u16,
    pub frame_max: u32,
    pub heartbeat: u16,
    pub connection_timeout: Duration,
    pub recovery_interval: Duration,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(
            f,
            "{}://{}@{}:{}{}",
            if self.tls.is_some() { "amqps" } else { "amqp" },
            self.username,
            self.host,
            self.port,
            self.vhost
        )
    }
}

fn int(c: &Config, k: &str) -> i32 {
    c.int(k).unwrap_or(0)
}

impl Connection {
    pub fn from_config(c: &Config) -> Result<Self> {
        let port = u16::try_from(int(c, PORT)).map_err(|_| {
            ConnectError::config(format!(
                "Invalid value {} for configuration {PORT}: must be between 1 and 65535",
                int(c, PORT)
            ))
        })?;
        let tls = c.boolean(SSL).unwrap_or(false)
            || c.string(SECURITY_PROTOCOL)
                .is_some_and(|p| p.eq_ignore_ascii_case("SSL"));
        Ok(Connection {
            host: c.string(HOST).unwrap_or("localhost").to_string(),
            port,
            username: c.string(USERNAME).unwrap_or("guest").to_string(),
            password: c.string(PASSWORD).unwrap_or("guest").to_string(),
            vhost: c.string(VIRTUAL_HOST).unwrap_or("/").to_string(),
            tls: if tls {
                Some(crate::tls::Tls::from_config(c)?)
            } else {
                None
            },
            channel_max: u16::try_from(int(c, CHANNEL_MAX)).unwrap_or(u16::MAX),
            frame_max: u32::try_from(int(c, FRAME_MAX)).unwrap_or(0),
            heartbeat: u16::try_from(int(c, HEARTBEAT)).unwrap_or(60),
            connection_timeout: Duration::from_millis(
                u64::try_from(int(c, CONNECTION_TIMEOUT)).unwrap_or(60_000),
            ),
            recovery_interval: Duration::from_millis(
                u64::try_from(int(c, NETWORK_RECOVERY_INTERVAL))
                    .unwrap_or(10_000)
                    .max(100),
            ),
        })
    }

    /// The AMQP URI, built field by field (a vhost or password needs no escaping then).
    pub fn uri(&self) -> AMQPUri {
        AMQPUri {
            scheme: if self.tls.is_some() {
                AMQPScheme::AMQPS
            } else {
                AMQPScheme::AMQP
            },
            authority: AMQPAuthority {
                userinfo: AMQPUserInfo {
                    username: self.username.clone(),
                    password: self.password.clone(),
                },
                host: self.host.clone(),
                port: self.port,
            },
            vhost: self.vhost.clone(),
            query: AMQPQueryString {
                frame_max: (self.frame_max > 0).then_some(self.frame_max),
                channel_max: (self.channel_max > 0).then_some(self.channel_max),
                heartbeat: Some(self.heartbeat),
                connection_timeout: (!self.connection_timeout.is_zero())
                    .then_some(self.connection_timeout.as_millis() as u64),
                auth_mechanism: None,
            },
        }
    }

    /// Connects once; the error names host, port, virtual host and user (never the password)
    /// and is retriable for an unreachable broker.
    pub async fn connect(&self) -> Result<lapin::Connection> {
        let props = lapin::ConnectionProperties::default().with_connection_name("sluice".into());
        let timeout = if self.connection_timeout.is_zero() {
            Duration::from_secs(3600)
        } else {
            self.connection_timeout
        };
        let attempt = async {
            match &self.tls {
                Some(tls) => tls.connect(self.uri(), props).await,
                None => Ok(lapin::Connection::connect_uri(self.uri(), props).await),
            }
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(Ok(c))) => Ok(c),
            Ok(Ok(Err(e))) => Err(self.error(&e)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ConnectError::retriable(format!(
                "Could not connect to RabbitMQ at {}:{} ({HOST}/{PORT}): no answer within {} ms ({CONNECTION_TIMEOUT})",
                self.host,
                self.port,
                timeout.as_millis()
            ))),
        }
    }

    /// Connects, retrying an unreachable broker with backoff for up to `connection timeout`
    /// (at least 10 s), then fails naming host and port. Refused credentials or a missing
    /// virtual host fail at once.
    pub async fn connect_with_retries(&self) -> Result<lapin::Connection> {
        let deadline =
            tokio::time::Instant::now() + self.connection_timeout.max(Duration::from_secs(10));
        let mut backoff = Duration::from_millis(200);
        loop {
            match self.connect().await {
                Ok(c) => return Ok(c),
                Err(e)
                    if e.kind() == sluice_api::ErrorKind::Retriable
                        && tokio::time::Instant::now() + backoff < deadline =>
                {
                    tracing::warn!(broker = ?self, error = %e, retry_in_ms = backoff.as_millis() as u64, "Cannot connect to RabbitMQ; retrying.");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A client error, worded for the user: which broker, which key to look at.
    pub fn error(&self, e: &lapin::Error) -> ConnectError {
        let text = e.to_string();
        let lower = text.to_ascii_lowercase();
        if lower.contains("access_refused")
            || lower.contains("access-refused")
            || lower.contains("authentication")
            || lower.contains("login")
        {
            ConnectError::config(format!(
                "RabbitMQ at {}:{} refused user '{}' ({USERNAME}/{PASSWORD}): {text}",
                self.host, self.port, self.username
            ))
        } else if lower.contains("not_allowed") || lower.contains("vhost") {
            ConnectError::config(format!(
                "RabbitMQ at {}:{} refused virtual host '{}' ({VIRTUAL_HOST}) for user '{}': {text}",
                self.host, self.port, self.vhost, self.username
            ))
        } else if self.tls.is_some()
            && (lower.contains("certificate")
                || lower.contains("alert")
                || lower.contains("wrong version number"))
        {
            // A refused certificate does not fix itself: fail at once, saying where to look.
            let trust = self
                .tls
                .as_ref()
                .and_then(|t| t.truststore.as_deref())
                .map_or_else(
                    || "the system's CAs; set rabbitmq.https.ssl.truststore.location".to_string(),
                    |t| format!("{}={t}", crate::tls::TRUSTSTORE_LOCATION),
                );
            ConnectError::config(format!(
                "TLS handshake with RabbitMQ at {}:{} ({HOST}/{PORT}, {SECURITY_PROTOCOL}=SSL) failed; trusted: {trust}; client certificate: {}: {text}",
                self.host,
                self.port,
                if self.tls.as_ref().is_some_and(|t| t.has_identity()) { "from rabbitmq.https.ssl.keystore.location" } else { "none (rabbitmq.https.ssl.keystore.location)" },
            ))
        } else {
            ConnectError::retriable(format!(
                "Could not connect to RabbitMQ at {}:{} ({HOST}/{PORT}), virtual host '{}': {text}",
                self.host, self.port, self.vhost
            ))
        }
    }
}

/// Parses `config` with `def`, every problem in one error.
pub fn parse(def: &ConfigDef, config: &sluice_api::config::RawConfig) -> Result<Config> {
    def.parse(config)
        .map_err(|e| ConnectError::config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::config::RawConfig;

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_the_originals() {
        let c = parse(
            &source_def(),
            &raw(&[(KAFKA_TOPIC, "t"), (QUEUE, "q1, q2")]),
        )
        .unwrap();
        let conn = Connection::from_config(&c).unwrap();
        assert_eq!(format!("{conn:?}"), "amqp://guest@localhost:5672/");
        assert_eq!(c.list(QUEUE), ["q1", "q2"]);
        assert_eq!(c.int(PREFETCH_COUNT), Some(0));
        assert_eq!(conn.heartbeat, 60);
        assert_eq!(conn.channel_max, 2047);
        let uri = conn.uri();
        assert_eq!(uri.vhost, "/");
        assert_eq!(uri.authority.userinfo.password, "guest");
    }

    #[test]
    fn sink_needs_exchange_routing_key_and_delivery_mode() {
        let e = parse(&sink_def(), &raw(&[("topics", "t")])).err().unwrap();
        let text = e.to_string();
        for k in [EXCHANGE, ROUTING_KEY, DELIVERY_MODE] {
            assert!(text.contains(k), "{text}");
        }
        let e = parse(
            &sink_def(),
            &raw(&[
                (EXCHANGE, ""),
                (ROUTING_KEY, "r"),
                (DELIVERY_MODE, "sometimes"),
            ]),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("sometimes"), "{e}");
        assert!(parse(
            &sink_def(),
            &raw(&[
                (EXCHANGE, ""),
                (ROUTING_KEY, "r"),
                (DELIVERY_MODE, "persistent")
            ]),
        )
        .is_ok());
    }

    #[test]
    fn a_bad_store_is_a_config_error_naming_its_key() {
        let e = parse(
            &source_def(),
            &raw(&[
                (KAFKA_TOPIC, "t"),
                (QUEUE, "q"),
                (SECURITY_PROTOCOL, "SSL"),
                (crate::tls::TRUSTSTORE_LOCATION, "/nonexistent/trust.jks"),
            ]),
        )
        .and_then(|c| Connection::from_config(&c))
        .err()
        .unwrap();
        assert_eq!(e.kind(), sluice_api::ErrorKind::Config);
        let text = e.to_string();
        assert!(text.contains(crate::tls::TRUSTSTORE_LOCATION), "{text}");
        assert!(text.contains("does not exist"), "{text}");
        // The store keys are only read with SSL.
        let c = parse(
            &source_def(),
            &raw(&[
                (KAFKA_TOPIC, "t"),
                (QUEUE, "q"),
                (crate::tls::KEYSTORE_LOCATION, "/nonexistent/ks.p12"),
            ]),
        )
        .unwrap();
        assert!(Connection::from_config(&c).unwrap().tls.is_none());
        let e = parse(
            &source_def(),
            &raw(&[
                (KAFKA_TOPIC, "t"),
                (QUEUE, "q"),
                (crate::tls::KEYSTORE_TYPE, "BCFKS"),
            ]),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains(crate::tls::KEYSTORE_TYPE), "{e}");
    }

    #[test]
    fn tls_from_either_key() {
        for pair in [(SECURITY_PROTOCOL, "ssl"), (SSL, "true")] {
            let c = parse(
                &source_def(),
                &raw(&[(KAFKA_TOPIC, "t"), (QUEUE, "q"), pair]),
            )
            .unwrap();
            assert!(Connection::from_config(&c).unwrap().tls.is_some());
        }
    }
}
