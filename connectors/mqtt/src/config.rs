//! Every key of the MQTT connectors, with Confluent's names (`io.confluent.connect.mqtt.*`).

use std::time::Duration;

use rumqttc::{MqttOptions, QoS, TlsConfiguration, Transport};
use sluice_api::config::{
    Config, ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator,
};
use sluice_api::{ConnectError, Result};

pub const SERVER_URI: &str = "mqtt.server.uri";
pub const TOPICS: &str = "mqtt.topics";
pub const KAFKA_TOPIC: &str = "kafka.topic";
pub const QOS: &str = "mqtt.qos";
pub const CLEAN_SESSION: &str = "mqtt.clean.session.enabled";
pub const CONNECT_TIMEOUT: &str = "mqtt.connect.timeout.seconds";
pub const KEEPALIVE: &str = "mqtt.keepalive.interval.seconds";
pub const USERNAME: &str = "mqtt.username";
pub const PASSWORD: &str = "mqtt.password";
pub const CLIENT_ID: &str = "mqtt.client.id";
pub const RETAIN: &str = "mqtt.retain.enabled";
pub const TRUST_STORE_PATH: &str = "mqtt.ssl.trust.store.path";
pub const TRUST_STORE_PASSWORD: &str = "mqtt.ssl.trust.store.password";
pub const KEY_STORE_PATH: &str = "mqtt.ssl.key.store.path";
pub const KEY_STORE_PASSWORD: &str = "mqtt.ssl.key.store.password";
pub const KEY_PASSWORD: &str = "mqtt.ssl.key.password";

fn key(name: &str, t: ConfigType, default: &str, importance: Importance, doc: &str) -> ConfigKey {
    ConfigKey::new(name, t)
        .default_value(default)
        .importance(importance)
        .doc(doc)
}

fn common() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    ConfigDef::new()
        .define(ConfigKey::new(SERVER_URI, List).validator(Validator::NonNull).importance(High).doc("MQTT server URIs (tcp://host:1883 or ssl://host:8883); more than one is a failover list."))
        .define(key(QOS, Int, "0", Medium, "The MQTT QoS level: 0, 1 or 2 (subscriptions of the source, publishes of the sink).").validator(Validator::between(0.0, 2.0)))
        .define(key(CLEAN_SESSION, Boolean, "true", Medium, "Sets whether the client and server should remember state across restarts and reconnects (false: a persistent session, needed for at-least-once)."))
        .define(key(CONNECT_TIMEOUT, Int, "30", Low, "The connection timeout in seconds.").validator(Validator::at_least(1.0)))
        .define(key(KEEPALIVE, Int, "60", Low, "The keep alive interval in seconds.").validator(Validator::at_least(1.0)))
        .define(key(USERNAME, String, "", Medium, "The username to connect with."))
        .define(key(PASSWORD, Password, "", Medium, "The password to connect with."))
        .define(ConfigKey::new(CLIENT_ID, String).default_null().importance(Medium).doc("The MQTT client id (Sluice addition). Default: <connector name>-<task>, stable across restarts so a persistent session survives them."))
        .define(key(TRUST_STORE_PATH, String, "", Low, "A PEM file of CA certificates to trust for ssl:// (Java keystores are not read); empty = the system's CAs."))
        .define(key(TRUST_STORE_PASSWORD, Password, "", Low, "Accepted for compatibility; a PEM file has no password."))
        .define(key(KEY_STORE_PATH, String, "", Low, "A PKCS#12 file with the client certificate and key, for ssl://."))
        .define(key(KEY_STORE_PASSWORD, Password, "", Low, "The password of mqtt.ssl.key.store.path."))
        .define(key(KEY_PASSWORD, Password, "", Low, "Accepted for compatibility (the PKCS#12 store's password is used)."))
}

pub fn source_def() -> ConfigDef {
    common()
        .define(
            ConfigKey::new(TOPICS, ConfigType::List)
                .validator(Validator::NonNull)
                .importance(Importance::High)
                .doc("The MQTT topics to subscribe to; + and # wildcards allowed."),
        )
        .define(
            ConfigKey::new(KAFKA_TOPIC, ConfigType::String)
                .validator(Validator::NonEmptyString)
                .importance(Importance::High)
                .doc("The Kafka topic to write the messages to."),
        )
}

pub fn sink_def() -> ConfigDef {
    common().define(key(
        RETAIN,
        ConfigType::Boolean,
        "false",
        Importance::Low,
        "Whether published messages are retained by the broker.",
    ))
}

pub fn parse(def: &ConfigDef, config: &RawConfig) -> Result<Config> {
    def.parse(config)
        .map_err(|e| ConnectError::config(e.to_string()))
}

pub fn qos(c: &Config) -> QoS {
    match c.int(QOS) {
        Some(2) => QoS::ExactlyOnce,
        Some(1) => QoS::AtLeastOnce,
        _ => QoS::AtMostOnce,
    }
}

/// One broker of `mqtt.server.uri`.
#[derive(Clone, Debug, PartialEq)]
pub struct Server {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Server {
    pub fn parse(uri: &str) -> Result<Server> {
        let bad = |why: &str| {
            ConnectError::config(format!(
                "Invalid value {uri} for configuration {SERVER_URI}: {why} (expected tcp://host:port or ssl://host:port)"
            ))
        };
        let (tls, rest) = if let Some(r) = uri
            .strip_prefix("tcp://")
            .or_else(|| uri.strip_prefix("mqtt://"))
        {
            (false, r)
        } else if let Some(r) = uri
            .strip_prefix("ssl://")
            .or_else(|| uri.strip_prefix("mqtts://"))
        {
            (true, r)
        } else {
            return Err(bad("unknown scheme"));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("bad port"))?),
            None => (rest, if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Server {
            tls,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
        })
    }
}

/// Everything to open a client, from the config.
#[derive(Clone)]
pub struct Client {
    pub servers: Vec<Server>,
    pub client_id: String,
    pub clean_session: bool,
    pub keepalive: Duration,
    pub connect_timeout: Duration,
    username: String,
    password: String,
    tls: Option<TlsConfiguration>,
}

impl Client {
    pub fn from_config(c: &Config, default_id: &str) -> Result<Client> {
        let uris = c.list(SERVER_URI);
        if uris.is_empty() {
            return Err(ConnectError::config(format!(
                "Missing required configuration \"{SERVER_URI}\": name at least one broker"
            )));
        }
        let servers = uris
            .iter()
            .map(|u| Server::parse(u))
            .collect::<Result<Vec<_>>>()?;
        let tls = if servers.iter().any(|s| s.tls) {
            let ca_path = c.string(TRUST_STORE_PATH).unwrap_or_default();
            let key_path = c.string(KEY_STORE_PATH).unwrap_or_default();
            if ca_path.is_empty() && key_path.is_empty() {
                Some(TlsConfiguration::Native)
            } else {
                let read = |p: &str, k: &str| {
                    std::fs::read(p).map_err(|e| {
                        ConnectError::config(format!(
                            "Invalid value {p} for configuration {k}: {e}"
                        ))
                    })
                };
                let ca = if ca_path.is_empty() {
                    Vec::new()
                } else {
                    read(ca_path, TRUST_STORE_PATH)?
                };
                let der = if key_path.is_empty() {
                    None
                } else {
                    Some((
                        read(key_path, KEY_STORE_PATH)?,
                        c.string(KEY_STORE_PASSWORD).unwrap_or_default().to_string(),
                    ))
                };
                Some(TlsConfiguration::SimpleNative {
                    ca,
                    client_auth: der,
                })
            }
        } else {
            None
        };
        let secs = |k: &str, d: i32| {
            Duration::from_secs(u64::try_from(c.int(k).unwrap_or(d)).unwrap_or(1).max(1))
        };
        Ok(Client {
            servers,
            client_id: c
                .string(CLIENT_ID)
                .filter(|s| !s.is_empty())
                .unwrap_or(default_id)
                .to_string(),
            clean_session: c.boolean(CLEAN_SESSION).unwrap_or(true),
            keepalive: secs(KEEPALIVE, 60).max(Duration::from_secs(5)),
            connect_timeout: secs(CONNECT_TIMEOUT, 30),
            username: c.string(USERNAME).unwrap_or_default().to_string(),
            password: c.string(PASSWORD).unwrap_or_default().to_string(),
            tls,
        })
    }

    /// Options for broker `i` of the failover list.
    pub fn options(&self, i: usize) -> MqttOptions {
        let server = &self.servers[i % self.servers.len()];
        let mut o = MqttOptions::new(self.client_id.clone(), server.host.clone(), server.port);
        o.set_keep_alive(self.keepalive)
            .set_clean_session(self.clean_session)
            .set_manual_acks(true)
            .set_max_packet_size(256 * 1024 * 1024, 256 * 1024 * 1024);
        if !self.username.is_empty() {
            o.set_credentials(self.username.clone(), self.password.clone());
        }
        if server.tls {
            if let Some(tls) = &self.tls {
                o.set_transport(Transport::tls_with_config(tls.clone()));
            }
        }
        o
    }

    /// `host:port` of broker `i`, for messages.
    pub fn server(&self, i: usize) -> String {
        let s = &self.servers[i % self.servers.len()];
        format!("{}:{}", s.host, s.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_uris() {
        assert_eq!(
            Server::parse("tcp://127.0.0.1:1883").unwrap(),
            Server {
                tls: false,
                host: "127.0.0.1".into(),
                port: 1883
            }
        );
        assert_eq!(Server::parse("ssl://broker").unwrap().port, 8883);
        let e = Server::parse("http://x:1").unwrap_err();
        assert!(
            e.to_string().contains(SERVER_URI) && e.to_string().contains("http://x:1"),
            "{e}"
        );
        assert!(Server::parse("tcp://x:port").is_err());
    }

    #[test]
    fn defaults() {
        let raw: RawConfig = [
            (
                SERVER_URI.to_string(),
                "tcp://a:1883, tcp://b:1884".to_string(),
            ),
            (TOPICS.to_string(), "a/+/c,d/#".to_string()),
            (KAFKA_TOPIC.to_string(), "t".to_string()),
        ]
        .into_iter()
        .collect();
        let c = parse(&source_def(), &raw).unwrap();
        assert_eq!(qos(&c), QoS::AtMostOnce);
        let client = Client::from_config(&c, "conn-0").unwrap();
        assert_eq!(client.servers.len(), 2);
        assert_eq!(client.client_id, "conn-0");
        assert!(client.clean_session);
        assert_eq!(client.server(1), "b:1884");
        assert_eq!(c.list(TOPICS), ["a/+/c", "d/#"]);
    }
}
