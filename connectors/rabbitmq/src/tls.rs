//! TLS to RabbitMQ: `rabbitmq.security.protocol=SSL` (or themeetgroup's `rabbitmq.ssl=true`)
//! with Confluent's Kafka-style client keys under `rabbitmq.https.ssl.` (truststore, keystore
//! for servers that require client certificates, protocols, host name check).
//!
//! Stores are read by `sluice_keystores`, the loader behind the Kafka clients' `ssl.*` keys,
//! so JKS, PKCS12 and PEM stores behave (and fail) the same everywhere. A bad store is a
//! config error naming the key, found when the task starts, before any connection.

use std::sync::Arc;
use std::time::Duration;

use lapin::tcp::{HandshakeResult, NativeTlsConnector, TcpStream};
use lapin::uri::AMQPUri;
use sluice_api::config::{Config, ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use sluice_api::{ConnectError, Result};
use sluice_keystores::{load_identity, load_trusted, Identity, Problem, StoreKey, StoreType};

pub const TRUSTSTORE_LOCATION: &str = "rabbitmq.https.ssl.truststore.location";
pub const TRUSTSTORE_PASSWORD: &str = "rabbitmq.https.ssl.truststore.password";
pub const TRUSTSTORE_TYPE: &str = "rabbitmq.https.ssl.truststore.type";
pub const KEYSTORE_LOCATION: &str = "rabbitmq.https.ssl.keystore.location";
pub const KEYSTORE_PASSWORD: &str = "rabbitmq.https.ssl.keystore.password";
pub const KEYSTORE_TYPE: &str = "rabbitmq.https.ssl.keystore.type";
pub const KEY_PASSWORD: &str = "rabbitmq.https.ssl.key.password";
pub const PROTOCOL: &str = "rabbitmq.https.ssl.protocol";
pub const ENABLED_PROTOCOLS: &str = "rabbitmq.https.ssl.enabled.protocols";
pub const ENDPOINT_IDENTIFICATION: &str = "rabbitmq.https.ssl.endpoint.identification.algorithm";

const PROTOCOLS: [&str; 4] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

fn optional(name: &str, t: ConfigType, doc: &str) -> ConfigKey {
    ConfigKey::new(name, t)
        .default_null()
        .importance(Importance::Medium)
        .doc(doc)
        .group("Security", 0)
}

fn with_default(name: &str, default: &str, doc: &str) -> ConfigKey {
    ConfigKey::new(name, ConfigType::String)
        .default_value(default)
        .importance(Importance::Low)
        .doc(doc)
        .group("Security", 0)
}

/// The `rabbitmq.https.ssl.*` keys, read when `rabbitmq.security.protocol=SSL`.
pub fn define(def: ConfigDef) -> ConfigDef {
    use ConfigType::*;
    let store_type = || Validator::OneOfIgnoreCase(vec!["JKS", "PKCS12", "PEM"]);
    def.define(optional(TRUSTSTORE_LOCATION, String, "The truststore of the CAs that sign RabbitMQ's certificate (JKS, PKCS12 or PEM). When set it replaces the system's CAs, as in Java; when not set the system's CAs are trusted."))
        .define(optional(TRUSTSTORE_PASSWORD, Password, "The password of the truststore: checks a JKS/PKCS12 store's integrity (a JKS store is read unchecked without it). Not allowed with PEM."))
        .define(with_default(TRUSTSTORE_TYPE, "JKS", "The type of the truststore: JKS, PKCS12 or PEM (JKS and PKCS12 files are recognised by content, as Java does).").validator(store_type()))
        .define(optional(KEYSTORE_LOCATION, String, "The keystore holding the client's private key and certificate chain, presented to a RabbitMQ server that requires client certificates (JKS, PKCS12 or PEM with key and chain in one file)."))
        .define(optional(KEYSTORE_PASSWORD, Password, "The password of the keystore (JKS, PKCS12). Not allowed with PEM."))
        .define(with_default(KEYSTORE_TYPE, "JKS", "The type of the keystore: JKS, PKCS12 or PEM.").validator(store_type()))
        .define(optional(KEY_PASSWORD, Password, "The password of the private key in the keystore (JKS: defaults to the keystore password; PEM: for an encrypted key)."))
        .define(with_default(PROTOCOL, "TLSv1.3", "The TLS protocol to use (Kafka's ssl.protocol): TLSv1.2 or TLSv1.3 (or TLS). The protocols actually offered are rabbitmq.https.ssl.enabled.protocols."))
        .define(ConfigKey::new(ENABLED_PROTOCOLS, List).default_value("TLSv1.2,TLSv1.3").importance(Importance::Low).doc("The TLS protocols offered to RabbitMQ: any of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3.").group("Security", 0))
        .define(with_default(ENDPOINT_IDENTIFICATION, "https", "https checks that RabbitMQ's certificate names rabbitmq.host; empty turns the host name check off (the certificate is still verified)."))
}

/// TLS settings with the stores already read.
#[derive(Clone)]
pub struct Tls {
    /// Certificates (DER) that replace the system's CAs, if a truststore is set.
    trusted: Option<Arc<Vec<Vec<u8>>>>,
    identity: Option<Arc<Identity>>,
    min: native_tls::Protocol,
    max: native_tls::Protocol,
    check_host_name: bool,
    /// The truststore, for messages.
    pub truststore: Option<String>,
}

fn store_type(c: &Config, key: &str) -> Result<StoreType> {
    StoreType::parse(c.string(key).unwrap_or("JKS")).map_err(|p| {
        ConnectError::config(format!(
            "Invalid value for configuration {key}: {}",
            p.message
        ))
    })
}

fn protocol(name: &str) -> Option<native_tls::Protocol> {
    use native_tls::Protocol::*;
    Some(match name.trim() {
        "TLSv1" => Tlsv10,
        "TLSv1.1" => Tlsv11,
        "TLSv1.2" => Tlsv12,
        "TLSv1.3" => Tlsv13,
        _ => return None,
    })
}

fn rank(p: native_tls::Protocol) -> u8 {
    use native_tls::Protocol::*;
    match p {
        Sslv3 => 0,
        Tlsv10 => 1,
        Tlsv11 => 2,
        Tlsv12 => 3,
        _ => 4,
    }
}

impl Tls {
    /// Reads the stores the keys name; every store problem is a config error naming the key.
    pub fn from_config(c: &Config) -> Result<Tls> {
        let named = |p: Problem, keys: [&str; 4]| {
            let key = match p.key {
                StoreKey::Type => keys[0],
                StoreKey::Location => keys[1],
                StoreKey::Password => keys[2],
                StoreKey::KeyPassword => keys[3],
            };
            ConnectError::config(format!("Invalid configuration {key}: {}", p.message))
        };
        let nonempty = |k: &str| c.string(k).filter(|s| !s.trim().is_empty());
        let truststore = nonempty(TRUSTSTORE_LOCATION).map(str::to_string);
        let trusted = match &truststore {
            Some(location) => Some(Arc::new(
                load_trusted(
                    location,
                    c.string(TRUSTSTORE_PASSWORD),
                    store_type(c, TRUSTSTORE_TYPE)?,
                )
                .map_err(|p| {
                    named(
                        p,
                        [
                            TRUSTSTORE_TYPE,
                            TRUSTSTORE_LOCATION,
                            TRUSTSTORE_PASSWORD,
                            TRUSTSTORE_PASSWORD,
                        ],
                    )
                })?,
            )),
            None => None,
        };
        let identity = match nonempty(KEYSTORE_LOCATION) {
            Some(location) => Some(Arc::new(
                load_identity(
                    location,
                    c.string(KEYSTORE_PASSWORD),
                    c.string(KEY_PASSWORD),
                    store_type(c, KEYSTORE_TYPE)?,
                )
                .map_err(|p| {
                    named(
                        p,
                        [
                            KEYSTORE_TYPE,
                            KEYSTORE_LOCATION,
                            KEYSTORE_PASSWORD,
                            KEY_PASSWORD,
                        ],
                    )
                })?,
            )),
            None => None,
        };
        let protocol_name = c.string(PROTOCOL).unwrap_or("TLSv1.3").trim();
        if protocol_name != "TLS" && protocol(protocol_name).is_none() {
            return Err(ConnectError::config(format!(
                "Invalid value {protocol_name} for configuration {PROTOCOL}: must be one of TLS, {}",
                PROTOCOLS.join(", ")
            )));
        }
        let mut enabled = Vec::new();
        for p in c.list(ENABLED_PROTOCOLS) {
            enabled.push(protocol(&p).ok_or_else(|| {
                ConnectError::config(format!(
                    "Invalid value {p} for configuration {ENABLED_PROTOCOLS}: each must be one of {}",
                    PROTOCOLS.join(", ")
                ))
            })?);
        }
        let min = enabled
            .iter()
            .copied()
            .min_by_key(|p| rank(*p))
            .unwrap_or(native_tls::Protocol::Tlsv12);
        let max = enabled
            .iter()
            .copied()
            .max_by_key(|p| rank(*p))
            .unwrap_or(native_tls::Protocol::Tlsv13);
        let check_host_name = !c
            .string(ENDPOINT_IDENTIFICATION)
            .unwrap_or("https")
            .trim()
            .is_empty();
        Ok(Tls {
            trusted,
            identity,
            min,
            max,
            check_host_name,
            truststore,
        })
    }

    /// A client certificate is presented.
    pub fn has_identity(&self) -> bool {
        self.identity.is_some()
    }

    /// The TLS client these settings describe.
    fn client(&self) -> Result<NativeTlsConnector> {
        let mut b = NativeTlsConnector::builder();
        b.min_protocol_version(Some(self.min));
        b.max_protocol_version(Some(self.max));
        if let Some(certs) = &self.trusted {
            b.disable_built_in_roots(true);
            for der in certs.iter() {
                let cert = native_tls::Certificate::from_der(der).map_err(|e| {
                    ConnectError::config(format!("Invalid configuration {TRUSTSTORE_LOCATION}: cannot use a certificate: {e}"))
                })?;
                b.add_root_certificate(cert);
            }
        }
        if let Some(id) = &self.identity {
            let identity = native_tls::Identity::from_pkcs8(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
                .map_err(|e| {
                    ConnectError::config(format!("Invalid configuration {KEYSTORE_LOCATION}: cannot use the keystore's key and certificate: {e}"))
                })?;
            b.identity(identity);
        }
        b.danger_accept_invalid_hostnames(!self.check_host_name);
        b.build().map_err(|e| {
            ConnectError::config(format!(
                "Cannot set up TLS to RabbitMQ ({}): {e}",
                crate::config::SECURITY_PROTOCOL
            ))
        })
    }

    /// Connects over TLS with these settings (lapin's own connect, with this TLS client).
    pub async fn connect(
        &self,
        uri: AMQPUri,
        props: lapin::ConnectionProperties,
    ) -> Result<std::result::Result<lapin::Connection, lapin::Error>> {
        let client = self.client()?;
        let connect = Box::new(move |uri: &AMQPUri| -> HandshakeResult {
            let address = (uri.authority.host.as_str(), uri.authority.port);
            let stream = match uri.query.connection_timeout {
                Some(ms) => TcpStream::connect_timeout(address, Duration::from_millis(ms))?,
                None => TcpStream::connect(address)?,
            };
            let stream = stream.into_native_tls(&client, &uri.authority.host)?;
            stream.set_nonblocking(true)?;
            Ok(stream)
        });
        Ok(lapin::Connection::connector(uri, connect, props).await)
    }
}
