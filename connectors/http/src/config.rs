//! Every key of the HTTP connectors, defined once: Confluent's HTTP sink
//! (`io.confluent.connect.http.HttpSinkConnector`), Aiven's
//! (`io.aiven.kafka.connect.http.HttpSinkConnector`) and the webhook source.

use sluice_api::config::{
    Config, ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator,
};
use sluice_api::{ConnectError, Result};

fn key(name: &str, t: ConfigType, default: &str, importance: Importance, doc: &str) -> ConfigKey {
    ConfigKey::new(name, t)
        .default_value(default)
        .importance(importance)
        .doc(doc)
}

fn optional(name: &str, t: ConfigType, importance: Importance, doc: &str) -> ConfigKey {
    ConfigKey::new(name, t)
        .default_null()
        .importance(importance)
        .doc(doc)
}

// Confluent HTTP sink.
pub const API_URL: &str = "http.api.url";
pub const REQUEST_METHOD: &str = "request.method";
pub const HEADERS: &str = "headers";
pub const HEADER_SEPARATOR: &str = "header.separator";
pub const SENSITIVE_HEADERS: &str = "sensitive.headers";
pub const BODY_FORMAT: &str = "request.body.format";
pub const BATCH_MAX_SIZE: &str = "batch.max.size";
pub const BATCH_KEY_PATTERN: &str = "batch.key.pattern";
pub const BATCH_PREFIX: &str = "batch.prefix";
pub const BATCH_SUFFIX: &str = "batch.suffix";
pub const BATCH_SEPARATOR: &str = "batch.separator";
pub const BATCH_JSON_AS_ARRAY: &str = "batch.json.as.array";
pub const NULL_VALUES: &str = "behavior.on.null.values";
pub const ON_ERROR: &str = "behavior.on.error";
pub const MAX_RETRIES: &str = "max.retries";
pub const RETRY_BACKOFF_MS: &str = "retry.backoff.ms";
pub const RETRY_BACKOFF_POLICY: &str = "retry.backoff.policy";
pub const RETRY_ON_STATUS: &str = "retry.on.status.codes";
pub const CONNECT_TIMEOUT_MS: &str = "http.connect.timeout.ms";
pub const REQUEST_TIMEOUT_MS: &str = "http.request.timeout.ms";
pub const AUTH_TYPE: &str = "auth.type";
pub const CONNECTION_USER: &str = "connection.user";
pub const CONNECTION_PASSWORD: &str = "connection.password";
pub const TRUSTSTORE_LOCATION: &str = "https.ssl.truststore.location";
pub const TRUSTSTORE_PASSWORD: &str = "https.ssl.truststore.password";
pub const TRUSTSTORE_TYPE: &str = "https.ssl.truststore.type";
pub const HOST_VERIFIER: &str = "https.host.verifier.enabled";
pub const PROXY_HOST: &str = "http.proxy.host";
pub const PROXY_PORT: &str = "http.proxy.port";

// Aiven HTTP sink.
pub const AIVEN_URL: &str = "http.url";
pub const AIVEN_AUTH_TYPE: &str = "http.authorization.type";
pub const AIVEN_AUTHORIZATION: &str = "http.headers.authorization";
pub const AIVEN_CONTENT_TYPE: &str = "http.headers.content.type";
pub const AIVEN_ADDITIONAL_HEADERS: &str = "http.headers.additional";
pub const AIVEN_TIMEOUT: &str = "http.timeout";
pub const AIVEN_TRUST_ALL: &str = "http.ssl.trust.all.certs";
pub const AIVEN_TRUSTSTORE_LOCATION: &str = "http.ssl.truststore.location";
pub const AIVEN_TRUSTSTORE_PASSWORD: &str = "http.ssl.truststore.password";
pub const AIVEN_BATCHING: &str = "batching.enabled";

/// Confluent's HTTP sink keys (the precursor's names and defaults; `reporter.*`,
/// `confluent.*` and the OAuth2 keys are accepted and ignored, see the docs).
pub fn confluent_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    ConfigDef::new()
        .define(ConfigKey::new(API_URL, String).validator(Validator::NonEmptyString).importance(High).doc("HTTP API URL. ${topic} and ${key} are replaced by each record's topic and key."))
        .define(key(REQUEST_METHOD, String, "POST", High, "HTTP Request Method.").validator(Validator::OneOfIgnoreCase(vec!["POST", "PUT", "PATCH", "DELETE"])))
        .define(key(HEADERS, String, "", High, "HTTP headers to be included in all requests, each as Name:Value, separated by header.separator."))
        .define(key(HEADER_SEPARATOR, String, "|", Medium, "Separator character used in headers property."))
        .define(key(SENSITIVE_HEADERS, Password, "", Medium, "Like headers, for values that must not be shown (e.g. Authorization:Bearer …)."))
        .define(key(BODY_FORMAT, String, "string", Medium, "Used to produce request body in either JSON or String format.").validator(Validator::OneOfIgnoreCase(vec!["string", "json"])))
        .define(key(BATCH_MAX_SIZE, Int, "1", Medium, "The number of records accumulated in a batch before the HTTP API is invoked.").validator(Validator::between(1.0, 1_000_000.0)))
        .define(key(BATCH_KEY_PATTERN, String, "someKey", Medium, "Pattern used to build the key for a given batch. ${key} and ${topic} can be used to include message attributes here."))
        .define(key(BATCH_PREFIX, String, "", Medium, "Prefix added to record batches."))
        .define(key(BATCH_SUFFIX, String, "", Medium, "Suffix added to record batches."))
        .define(key(BATCH_SEPARATOR, String, ",", Medium, "Separator for records in a batch."))
        .define(key(BATCH_JSON_AS_ARRAY, Boolean, "false", Medium, "With request.body.format=json, send a batch as a JSON array."))
        .define(key(NULL_VALUES, String, "ignore", Low, "How to handle records with a null value: ignore, log, fail or delete (a DELETE request).").validator(Validator::OneOfIgnoreCase(vec!["ignore", "log", "fail", "delete"])))
        .define(key(ON_ERROR, String, "fail", Low, "Error handling behavior setting for handling response from HTTP requests: fail (errors.tolerance decides), log or ignore.").validator(Validator::OneOfIgnoreCase(vec!["fail", "log", "ignore"])))
        .define(key(MAX_RETRIES, Int, "10", Medium, "The maximum number of times to retry on errors before failing the task.").validator(Validator::at_least(0.0)))
        .define(key(RETRY_BACKOFF_MS, Int, "3000", Medium, "The initial duration in milliseconds to wait following an error before a retry attempt is made.").validator(Validator::at_least(0.0)))
        .define(key(RETRY_BACKOFF_POLICY, String, "EXPONENTIAL_WITH_JITTER", Low, "The backoff policy: CONSTANT_VALUE or EXPONENTIAL_WITH_JITTER.").validator(Validator::OneOfIgnoreCase(vec!["CONSTANT_VALUE", "EXPONENTIAL_WITH_JITTER"])))
        .define(key(RETRY_ON_STATUS, String, "400-", Medium, "The HTTP error codes to retry on: a comma-separated list of codes or ranges (400-, 500-599, 429)."))
        .define(key(CONNECT_TIMEOUT_MS, Int, "30000", Low, "Time to wait for a connection to be established.").validator(Validator::at_least(0.0)))
        .define(key(REQUEST_TIMEOUT_MS, Int, "30000", Low, "Time to wait for a request response to arrive.").validator(Validator::at_least(0.0)))
        .define(key(AUTH_TYPE, String, "NONE", High, "Authentication type of the endpoint: NONE or BASIC (OAUTH2 and THIRD_PARTY are not supported).").validator(Validator::OneOfIgnoreCase(vec!["NONE", "BASIC"])))
        .define(optional(CONNECTION_USER, String, High, "The username to be used with an endpoint requiring basic authentication."))
        .define(optional(CONNECTION_PASSWORD, Password, High, "The password to be used with an endpoint requiring basic authentication."))
        .define(optional(TRUSTSTORE_LOCATION, String, Low, "A PEM (or DER) file of CA certificates to trust (Java keystores are not read)."))
        .define(optional(TRUSTSTORE_PASSWORD, Password, Low, "Accepted for compatibility; a PEM trust store has no password."))
        .define(optional(TRUSTSTORE_TYPE, String, Low, "Accepted for compatibility; PEM or DER files are read."))
        .define(key(HOST_VERIFIER, Boolean, "true", Low, "True if SSL host verification should be enabled."))
        .define(optional(PROXY_HOST, String, Low, "The host of an HTTP proxy."))
        .define(key(PROXY_PORT, Int, "-1", Low, "The port of an HTTP proxy."))
}

/// Aiven's HTTP sink keys.
pub fn aiven_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    ConfigDef::new()
        .define(ConfigKey::new(AIVEN_URL, String).validator(Validator::NonEmptyString).importance(High).doc("The URL to send data to."))
        .define(ConfigKey::new(AIVEN_AUTH_TYPE, String).validator(Validator::OneOf(vec!["none", "static", "oauth2"])).importance(High).doc("The HTTP authorization type: none, static (http.headers.authorization) or oauth2 (not supported)."))
        .define(optional(AIVEN_AUTHORIZATION, Password, Medium, "The static content of Authorization header. Must be set along with 'static' authorization type."))
        .define(optional(AIVEN_CONTENT_TYPE, String, Low, "The value of Content-Type that will be send with each request. Must be non-blank."))
        .define(key(AIVEN_ADDITIONAL_HEADERS, List, "", Low, "Additional headers to forward in the http request in the format header:value separated by a comma, headers are case-insensitive and no duplicate headers are allowed."))
        .define(key(AIVEN_TIMEOUT, Int, "30", Low, "HTTP Response timeout (seconds). Default is 30 seconds.").validator(Validator::at_least(1.0)))
        .define(key(AIVEN_TRUST_ALL, Boolean, "false", Low, "Disable hostname verification and trust all certificates."))
        .define(optional(AIVEN_TRUSTSTORE_LOCATION, String, Low, "A PEM (or DER) file of CA certificates to trust (Java keystores are not read)."))
        .define(optional(AIVEN_TRUSTSTORE_PASSWORD, Password, Low, "Accepted for compatibility; a PEM trust store has no password."))
        .define(key(AIVEN_BATCHING, Boolean, "false", High, "Whether to enable batching multiple records in a single HTTP request."))
        .define(key(BATCH_MAX_SIZE, Int, "500", Medium, "The maximum size of a record batch to be sent in a single HTTP request.").validator(Validator::between(1.0, 1_000_000.0)))
        .define(key(BATCH_PREFIX, String, "", Medium, "Prefix added to record batches. Written once before the first record of a batch."))
        .define(key(BATCH_SUFFIX, String, "\n", Medium, "Suffix added to record batches. Written once after the last record of a batch."))
        .define(key(BATCH_SEPARATOR, String, "\n", Medium, "Separator for records in a batch."))
        .define(key(MAX_RETRIES, Int, "1", Medium, "The maximum number of times to retry on errors when sending a batch before failing the task.").validator(Validator::at_least(0.0)))
        .define(key(RETRY_BACKOFF_MS, Int, "3000", Medium, "The time in milliseconds to wait following an error before a retry attempt is made.").validator(Validator::at_least(0.0)))
}

// Webhook source.
pub const KAFKA_TOPIC: &str = "kafka.topic";
pub const LISTEN_PORT: &str = "http.port";
pub const LISTEN_ADDRESS: &str = "http.bind.address";
pub const LISTEN_PATH: &str = "http.path";
pub const SOURCE_AUTH_TYPE: &str = "http.auth.type";
pub const SOURCE_AUTH_USER: &str = "http.auth.user";
pub const SOURCE_AUTH_PASSWORD: &str = "http.auth.password";
pub const SECRET_HEADER: &str = "http.secret.header";
pub const SECRET: &str = "http.secret";
pub const KEY_HEADER: &str = "http.key.header";
pub const KEY_POINTER: &str = "http.key.pointer";
pub const MAX_BODY_BYTES: &str = "http.max.body.bytes";
pub const RESPONSE_TIMEOUT_MS: &str = "http.response.timeout.ms";

/// The webhook source's keys (castorm's and jcustenborder's names where they fit).
pub fn webhook_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    ConfigDef::new()
        .define(
            ConfigKey::new(KAFKA_TOPIC, String)
                .validator(Validator::NonEmptyString)
                .importance(High)
                .doc("The Kafka topic each request body is written to."),
        )
        .define(
            key(
                LISTEN_PORT,
                Int,
                "8080",
                High,
                "The port the task listens on (one task per port).",
            )
            .validator(Validator::between(0.0, 65535.0)),
        )
        .define(key(
            LISTEN_ADDRESS,
            String,
            "0.0.0.0",
            Medium,
            "The address the task listens on.",
        ))
        .define(key(
            LISTEN_PATH,
            String,
            "/",
            High,
            "The path requests are POSTed to.",
        ))
        .define(
            key(
                SOURCE_AUTH_TYPE,
                String,
                "None",
                Medium,
                "None, or Basic: requests must carry http.auth.user / http.auth.password.",
            )
            .validator(Validator::OneOfIgnoreCase(vec!["None", "Basic"])),
        )
        .define(optional(
            SOURCE_AUTH_USER,
            String,
            Medium,
            "The Basic auth user.",
        ))
        .define(optional(
            SOURCE_AUTH_PASSWORD,
            Password,
            Medium,
            "The Basic auth password.",
        ))
        .define(optional(
            SECRET_HEADER,
            String,
            Medium,
            "A header every request must carry with the value of http.secret.",
        ))
        .define(optional(
            SECRET,
            Password,
            Medium,
            "The shared secret expected in http.secret.header.",
        ))
        .define(optional(
            KEY_HEADER,
            String,
            Medium,
            "The request header whose value becomes the record key.",
        ))
        .define(optional(
            KEY_POINTER,
            String,
            Medium,
            "A JSON pointer (RFC 6901) into the body whose value becomes the record key.",
        ))
        .define(
            key(
                MAX_BODY_BYTES,
                Int,
                "1048576",
                Medium,
                "The largest request body accepted; larger ones get 413.",
            )
            .validator(Validator::between(1.0, 1_073_741_824.0)),
        )
        .define(
            key(
                RESPONSE_TIMEOUT_MS,
                Int,
                "30000",
                Low,
                "How long a request waits for Kafka to acknowledge its record before it gets 504.",
            )
            .validator(Validator::at_least(1.0)),
        )
}

pub fn parse(def: &ConfigDef, config: &RawConfig) -> Result<Config> {
    def.parse(config)
        .map_err(|e| ConnectError::config(e.to_string()))
}

/// HTTP statuses to retry: Confluent's `retry.on.status.codes` (`400-`, `500-599`, `408,429`).
#[derive(Clone, Debug, PartialEq)]
pub struct StatusRanges(Vec<(u16, u16)>);

impl StatusRanges {
    pub fn parse(raw: &str) -> Result<Self> {
        let bad = |part: &str| {
            ConnectError::config(format!(
                "Invalid value {raw} for configuration {RETRY_ON_STATUS}: '{part}' is not a status code or range (like 400-, 500-599 or 429)"
            ))
        };
        let mut ranges = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let code = |s: &str| s.trim().parse::<u16>().map_err(|_| bad(part));
            let range = match part.split_once('-') {
                Some((lo, "")) => (code(lo)?, u16::MAX),
                Some(("", hi)) => (0, code(hi)?),
                Some((lo, hi)) => (code(lo)?, code(hi)?),
                None => {
                    let c = code(part)?;
                    (c, c)
                }
            };
            if range.0 > range.1 {
                return Err(bad(part));
            }
            ranges.push(range);
        }
        Ok(StatusRanges(ranges))
    }

    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }
}

// Polling source (castorm's `com.github.castorm.kafka.connect.http.HttpSourceConnector`).
pub const POLL_URL: &str = "http.request.url";
pub const POLL_METHOD: &str = "http.request.method";
pub const POLL_HEADERS: &str = "http.request.headers";
pub const POLL_PARAMS: &str = "http.request.params";
pub const POLL_BODY: &str = "http.request.body";
pub const OFFSET_INITIAL: &str = "http.offset.initial";
pub const TIMER_INTERVAL: &str = "http.timer.interval.millis";
pub const TIMER_CATCHUP_INTERVAL: &str = "http.timer.catchup.interval.millis";
pub const CLIENT_CONNECT_TIMEOUT: &str = "http.client.connection.timeout.millis";
pub const CLIENT_READ_TIMEOUT: &str = "http.client.read.timeout.millis";
pub const CODES_PROCESS: &str = "http.response.policy.codes.process";
pub const CODES_SKIP: &str = "http.response.policy.codes.skip";
pub const LIST_POINTER: &str = "http.response.list.pointer";
pub const RECORD_POINTER: &str = "http.response.record.pointer";
pub const OFFSET_POINTER: &str = "http.response.record.offset.pointer";
pub const ORDER_DIRECTION: &str = "http.response.list.order.direction";
pub const KEY_PROPERTY: &str = "http.record.schema.key.property.name";
pub const VALUE_PROPERTY: &str = "http.record.schema.value.property.name";

/// The polling source's keys: castorm's names and defaults.
pub fn poll_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    ConfigDef::new()
        .define(ConfigKey::new(KAFKA_TOPIC, String).validator(Validator::NonEmptyString).importance(High).doc("Name of the topic where the record will be sent to."))
        .define(ConfigKey::new(POLL_URL, String).validator(Validator::NonEmptyString).importance(High).doc("Http url to use in the request; ${offset.<name>} is replaced by the offset's property."))
        .define(key(POLL_METHOD, String, "GET", High, "Http method to use in the request.").validator(Validator::OneOfIgnoreCase(vec!["GET", "POST", "PUT", "PATCH"])))
        .define(key(POLL_HEADERS, String, "", Medium, "Http headers to use in the request, ',' separated list of ':' separated pairs (Name: Value, Name2: Value2)."))
        .define(key(POLL_PARAMS, String, "", Medium, "Http query parameters to use in the request, '&' separated list of '=' separated pairs (name=value & name2=value2)."))
        .define(key(POLL_BODY, String, "", Low, "Http body to use in the request."))
        .define(key(OFFSET_INITIAL, String, "", Medium, "Initial offset, comma separated list of pairs (property1=value1, property2=value2)."))
        .define(key(TIMER_INTERVAL, Long, "60000", High, "Interval in between requests when up-to-date.").validator(Validator::at_least(0.0)))
        .define(key(TIMER_CATCHUP_INTERVAL, Long, "30000", Medium, "Interval in between requests when catching up (the last record is older than http.timer.interval.millis).").validator(Validator::at_least(0.0)))
        .define(key(CLIENT_CONNECT_TIMEOUT, Long, "2000", Low, "Timeout for opening a connection.").validator(Validator::at_least(1.0)))
        .define(key(CLIENT_READ_TIMEOUT, Long, "2000", Low, "Timeout for reading a response.").validator(Validator::at_least(1.0)))
        .define(key(SOURCE_AUTH_TYPE, String, "None", Medium, "Type of authentication: None or Basic (http.auth.user, http.auth.password).").validator(Validator::OneOfIgnoreCase(vec!["None", "Basic"])))
        .define(key(SOURCE_AUTH_USER, String, "", Medium, "The Basic auth user."))
        .define(key(SOURCE_AUTH_PASSWORD, Password, "", Medium, "The Basic auth password."))
        .define(key(CODES_PROCESS, String, "200..299", Low, "Comma separated list of code ranges that will result in the parser processing the response."))
        .define(key(CODES_SKIP, String, "300..399", Low, "Comma separated list of code ranges that will result in the parser skipping the response; any other status fails the task."))
        .define(key(LIST_POINTER, String, "/", Medium, "JsonPointer to the property in the response body containing an array of records."))
        .define(key(RECORD_POINTER, String, "/", Low, "JsonPointer to the individual record to be used as kafka record body."))
        .define(key(OFFSET_POINTER, String, "", Medium, "Comma separated list of key=/value pairs: the offset property and the JsonPointer to its value in each record (key and timestamp are special: the record's key, and its timestamp as epoch millis or ISO-8601)."))
        .define(key(ORDER_DIRECTION, String, "IMPLICIT", Low, "Order direction of the results in the response list: ASC, DESC or IMPLICIT (from the records' timestamps).").validator(Validator::OneOfIgnoreCase(vec!["ASC", "DESC", "IMPLICIT"])))
        .define(key(KEY_PROPERTY, String, "key", Low, "Name of the key property in the key-value envelope."))
        .define(key(VALUE_PROPERTY, String, "value", Low, "Name of the value property in the key-value envelope."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges() {
        let r = StatusRanges::parse("400-").unwrap();
        assert!(r.contains(400) && r.contains(503) && !r.contains(399));
        let r = StatusRanges::parse("408, 429,500-599").unwrap();
        assert!(r.contains(408) && r.contains(429) && r.contains(599));
        assert!(!r.contains(400) && !r.contains(600));
        assert!(!StatusRanges::parse("").unwrap().contains(500));
        let e = StatusRanges::parse("5xx").unwrap_err();
        assert!(
            e.to_string().contains(RETRY_ON_STATUS) && e.to_string().contains("5xx"),
            "{e}"
        );
        assert!(StatusRanges::parse("599-500").is_err());
    }

    #[test]
    fn confluent_defaults() {
        let raw: RawConfig = [(API_URL.to_string(), "http://x/".to_string())]
            .into_iter()
            .collect();
        let c = parse(&confluent_def(), &raw).unwrap();
        assert_eq!(c.string(REQUEST_METHOD), Some("POST"));
        assert_eq!(c.int(MAX_RETRIES), Some(10));
        assert_eq!(c.int(RETRY_BACKOFF_MS), Some(3000));
        assert_eq!(c.string(RETRY_ON_STATUS), Some("400-"));
        assert_eq!(c.string(HEADER_SEPARATOR), Some("|"));
        assert_eq!(c.int(BATCH_MAX_SIZE), Some(1));
    }
}
