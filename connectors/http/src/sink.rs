//! `io.confluent.connect.http.HttpSinkConnector` and `io.aiven.kafka.connect.http.HttpSinkConnector`:
//! one task that sends records to an HTTP endpoint, configured by either's keys.
//!
//! `put` returns only when every request of the batch got an answer, so the runtime commits
//! offsets only for records the endpoint accepted (2xx) or that went through `errors.*`: a
//! response outside 2xx after `max.retries` retries is reported as an errant record with the
//! status and body in its error (the DLQ keeps them in its headers). An endpoint that cannot
//! be reached after the retries fails the task, naming host and port.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use sluice_api::config::{Config, ConfigDef, ConfigValue, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SinkTask, SinkTaskContext,
    TaskFactory,
};
use sluice_api::data::Value;
use sluice_api::record::SinkRecord;
use sluice_api::{async_trait, ConnectError, Result};

use crate::config::{self as keys, StatusRanges};
use crate::json;

pub const CONFLUENT_CLASS: &str = "io.confluent.connect.http.HttpSinkConnector";
pub const CONFLUENT_TASK_CLASS: &str = "io.confluent.connect.http.HttpSinkTask";
pub const AIVEN_CLASS: &str = "io.aiven.kafka.connect.http.HttpSinkConnector";
pub const AIVEN_TASK_CLASS: &str = "io.aiven.kafka.connect.http.HttpSinkTask";

/// Response body bytes kept for an error message at most.
const MAX_ERROR_BODY: usize = 4096;

/// Which original's keys a connector reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Confluent,
    Aiven,
}

impl Flavor {
    pub fn def(self) -> ConfigDef {
        match self {
            Flavor::Confluent => keys::confluent_def(),
            Flavor::Aiven => keys::aiven_def(),
        }
    }
}

pub fn plugins() -> Vec<ConnectorPlugin> {
    vec![
        ConnectorPlugin {
            class: CONFLUENT_CLASS,
            task_class: CONFLUENT_TASK_CLASS,
            kind: ConnectorKind::Sink,
            version: crate::VERSION,
            config_def: keys::confluent_def,
            new_connector: || Box::new(HttpSinkConnector(Flavor::Confluent, RawConfig::new())),
            new_task: TaskFactory::Sink(|| Box::new(HttpSinkTask::new(Flavor::Confluent))),
            shares_thread: false,
        },
        ConnectorPlugin {
            class: AIVEN_CLASS,
            task_class: AIVEN_TASK_CLASS,
            kind: ConnectorKind::Sink,
            version: crate::VERSION,
            config_def: keys::aiven_def,
            new_connector: || Box::new(HttpSinkConnector(Flavor::Aiven, RawConfig::new())),
            new_task: TaskFactory::Sink(|| Box::new(HttpSinkTask::new(Flavor::Aiven))),
            shares_thread: false,
        },
    ]
}

pub struct HttpSinkConnector(Flavor, RawConfig);

#[async_trait]
impl Connector for HttpSinkConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        // Everything a task would refuse, refused here first.
        Settings::new(self.0, config)?;
        self.1 = config.clone();
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>> {
        Ok(vec![self.1.clone(); max_tasks.max(1)])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }

    /// A malformed URL template (or header, or status list) is reported on its key at
    /// `config/validate`, not only when the connector starts.
    fn validate(&self, config: &RawConfig, report: &mut Vec<ConfigValue>) {
        let url_key = match self.0 {
            Flavor::Confluent => keys::API_URL,
            Flavor::Aiven => keys::AIVEN_URL,
        };
        // Keys the definition already found fault with are reported there.
        if report.iter().any(|v| !v.errors.is_empty()) {
            return;
        }
        if let Err(e) = Settings::new(self.0, config) {
            let message = e.message().to_string();
            let key = [
                url_key,
                keys::HEADERS,
                keys::SENSITIVE_HEADERS,
                keys::RETRY_ON_STATUS,
                keys::BATCH_KEY_PATTERN,
                keys::CONNECTION_USER,
                keys::AIVEN_AUTHORIZATION,
                keys::AIVEN_AUTH_TYPE,
                keys::TRUSTSTORE_LOCATION,
                keys::AIVEN_TRUSTSTORE_LOCATION,
                keys::PROXY_HOST,
            ]
            .into_iter()
            .find(|k| message.contains(*k))
            .unwrap_or(url_key);
            match report.iter_mut().find(|v| v.name == key) {
                Some(v) => v.errors.push(message),
                None => report.push(ConfigValue {
                    name: key.to_string(),
                    value: config.get(key).cloned(),
                    errors: vec![message],
                    recommended_values: Vec::new(),
                    visible: true,
                }),
            }
        }
    }
}

/// A URL or batch key with `${topic}` and `${key}` in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Template(Vec<Part>);

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    Topic,
    Key,
}

impl Template {
    pub fn parse(key: &str, raw: &str) -> Result<Self> {
        let mut parts = Vec::new();
        let mut rest = raw;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(ConnectError::config(format!(
                    "Invalid value {raw} for configuration {key}: '${{' is not closed by '}}'"
                )));
            };
            parts.push(match &after[..end] {
                "topic" => Part::Topic,
                "key" => Part::Key,
                other => {
                    return Err(ConnectError::config(format!(
                        "Invalid value {raw} for configuration {key}: unknown variable ${{{other}}} (allowed: ${{topic}}, ${{key}})"
                    )))
                }
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template(parts))
    }

    pub fn render(&self, topic: &str, key: &str) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Topic => out.push_str(topic),
                Part::Key => out.push_str(key),
            }
        }
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// The value's string form (Confluent `string`).
    String,
    /// The value as JSON (Confluent `json`).
    Json,
    /// Aiven: strings as they are, structs and maps as JSON, anything else refused.
    Aiven,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nulls {
    Ignore,
    Log,
    Fail,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnError {
    Fail,
    Log,
    Ignore,
}

/// Both originals' configs, normalised.
pub struct Settings {
    url_key: &'static str,
    url: Template,
    method: Method,
    headers: HeaderMap,
    format: Format,
    batch_max: usize,
    batch_key: Option<Template>,
    prefix: String,
    separator: String,
    suffix: String,
    json_array: bool,
    nulls: Nulls,
    on_error: OnError,
    max_retries: u32,
    backoff: Duration,
    exponential: bool,
    retry_on: StatusRanges,
    client: reqwest::Client,
}

/// `Name:Value` pairs separated by `sep` into `headers`; the error names `key` but never
/// the values (they may be secrets).
fn add_headers(headers: &mut HeaderMap, key: &str, raw: &str, sep: &str) -> Result<()> {
    let parts: Vec<&str> = if sep.is_empty() {
        vec![raw]
    } else {
        raw.split(sep).collect()
    };
    for pair in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = pair.split_once(':') else {
            return Err(ConnectError::config(format!(
                "Invalid value for configuration {key}: each header must be Name:Value"
            )));
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            ConnectError::config(format!(
                "Invalid value for configuration {key}: '{}' is not a valid header name",
                name.trim()
            ))
        })?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| {
            ConnectError::config(format!(
                "Invalid value for configuration {key}: the value of header '{name}' has characters a header cannot carry"
            ))
        })?;
        headers.append(name, value);
    }
    Ok(())
}

fn int(c: &Config, k: &str, default: i32) -> i32 {
    c.int(k).unwrap_or(default)
}

fn millis(c: &Config, k: &str, default: i32) -> Duration {
    Duration::from_millis(u64::try_from(int(c, k, default)).unwrap_or(0))
}

/// Reads a PEM (or DER) file of CA certificates.
fn trust(path: &str, key: &str) -> Result<Vec<reqwest::Certificate>> {
    let bytes = std::fs::read(path).map_err(|e| {
        ConnectError::config(format!(
            "Invalid value {path} for configuration {key}: cannot read it: {e}"
        ))
    })?;
    if let Ok(certs) = reqwest::Certificate::from_pem_bundle(&bytes) {
        if !certs.is_empty() {
            return Ok(certs);
        }
    }
    reqwest::Certificate::from_der(&bytes)
        .map(|c| vec![c])
        .map_err(|_| {
            ConnectError::config(format!(
                "Invalid value {path} for configuration {key}: not a PEM or DER certificate file (Java keystores are not read; export the CA as PEM)"
            ))
        })
}

impl Settings {
    pub fn new(flavor: Flavor, raw: &RawConfig) -> Result<Self> {
        let c = keys::parse(&flavor.def(), raw)?;
        let mut headers = HeaderMap::new();
        let mut builder = reqwest::Client::builder();
        let s = |k: &str| c.string(k).unwrap_or_default().to_string();
        let settings = match flavor {
            Flavor::Confluent => {
                let sep = s(keys::HEADER_SEPARATOR);
                add_headers(&mut headers, keys::HEADERS, &s(keys::HEADERS), &sep)?;
                add_headers(
                    &mut headers,
                    keys::SENSITIVE_HEADERS,
                    &s(keys::SENSITIVE_HEADERS),
                    &sep,
                )?;
                if s(keys::AUTH_TYPE).eq_ignore_ascii_case("BASIC") {
                    let user = s(keys::CONNECTION_USER);
                    if user.is_empty() {
                        return Err(ConnectError::config(format!(
                            "Missing {}: {}=BASIC needs a user",
                            keys::CONNECTION_USER,
                            keys::AUTH_TYPE
                        )));
                    }
                    let token = base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        format!("{user}:{}", s(keys::CONNECTION_PASSWORD)),
                    );
                    let mut v = HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
                        ConnectError::config(format!(
                            "Invalid value for configuration {}: not usable in a header",
                            keys::CONNECTION_USER
                        ))
                    })?;
                    v.set_sensitive(true);
                    headers.insert(AUTHORIZATION, v);
                }
                let format = if s(keys::BODY_FORMAT).eq_ignore_ascii_case("json") {
                    Format::Json
                } else {
                    Format::String
                };
                if format == Format::Json && !headers.contains_key(CONTENT_TYPE) {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                builder = builder
                    .connect_timeout(millis(&c, keys::CONNECT_TIMEOUT_MS, 30_000))
                    .timeout(millis(&c, keys::REQUEST_TIMEOUT_MS, 30_000));
                if let Some(path) = c.string(keys::TRUSTSTORE_LOCATION) {
                    for cert in trust(path, keys::TRUSTSTORE_LOCATION)? {
                        builder = builder.add_root_certificate(cert);
                    }
                }
                if c.boolean(keys::HOST_VERIFIER) == Some(false) {
                    builder = builder.danger_accept_invalid_hostnames(true);
                }
                if let Some(host) = c.string(keys::PROXY_HOST).filter(|h| !h.is_empty()) {
                    let port = int(&c, keys::PROXY_PORT, -1);
                    let url = format!("http://{host}:{}", if port > 0 { port } else { 80 });
                    let proxy = reqwest::Proxy::all(&url).map_err(|e| {
                        ConnectError::config(format!(
                            "Invalid value {host} for configuration {}: {e}",
                            keys::PROXY_HOST
                        ))
                    })?;
                    builder = builder.proxy(proxy);
                }
                let method = s(keys::REQUEST_METHOD).to_ascii_uppercase();
                Settings {
                    url_key: keys::API_URL,
                    url: Template::parse(keys::API_URL, &s(keys::API_URL))?,
                    method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::POST),
                    headers,
                    format,
                    batch_max: usize::try_from(int(&c, keys::BATCH_MAX_SIZE, 1)).unwrap_or(1),
                    batch_key: Some(Template::parse(
                        keys::BATCH_KEY_PATTERN,
                        &s(keys::BATCH_KEY_PATTERN),
                    )?),
                    prefix: s(keys::BATCH_PREFIX),
                    separator: s(keys::BATCH_SEPARATOR),
                    suffix: s(keys::BATCH_SUFFIX),
                    json_array: c.boolean(keys::BATCH_JSON_AS_ARRAY).unwrap_or(false),
                    nulls: match s(keys::NULL_VALUES).to_ascii_lowercase().as_str() {
                        "log" => Nulls::Log,
                        "fail" => Nulls::Fail,
                        "delete" => Nulls::Delete,
                        _ => Nulls::Ignore,
                    },
                    on_error: match s(keys::ON_ERROR).to_ascii_lowercase().as_str() {
                        "log" => OnError::Log,
                        "ignore" => OnError::Ignore,
                        _ => OnError::Fail,
                    },
                    max_retries: u32::try_from(int(&c, keys::MAX_RETRIES, 10)).unwrap_or(0),
                    backoff: millis(&c, keys::RETRY_BACKOFF_MS, 3000),
                    exponential: !s(keys::RETRY_BACKOFF_POLICY)
                        .eq_ignore_ascii_case("CONSTANT_VALUE"),
                    retry_on: StatusRanges::parse(&s(keys::RETRY_ON_STATUS))?,
                    client: reqwest::Client::new(),
                }
            }
            Flavor::Aiven => {
                match c.string(keys::AIVEN_AUTH_TYPE).unwrap_or("none") {
                    "static" => {
                        let auth = s(keys::AIVEN_AUTHORIZATION);
                        if auth.trim().is_empty() {
                            return Err(ConnectError::config(format!(
                                "{} must be set if {}=static",
                                keys::AIVEN_AUTHORIZATION,
                                keys::AIVEN_AUTH_TYPE
                            )));
                        }
                        let mut v = HeaderValue::from_str(&auth).map_err(|_| {
                            ConnectError::config(format!(
                                "Invalid value for configuration {}: not usable in a header",
                                keys::AIVEN_AUTHORIZATION
                            ))
                        })?;
                        v.set_sensitive(true);
                        headers.insert(AUTHORIZATION, v);
                    }
                    "oauth2" => {
                        return Err(ConnectError::config(format!(
                            "Invalid value oauth2 for configuration {}: OAuth2 is not supported by Sluice yet (use static with a token)",
                            keys::AIVEN_AUTH_TYPE
                        )))
                    }
                    _ => {}
                }
                if let Some(ct) = c.string(keys::AIVEN_CONTENT_TYPE) {
                    let v = HeaderValue::from_str(ct).map_err(|_| {
                        ConnectError::config(format!(
                            "Invalid value {ct} for configuration {}",
                            keys::AIVEN_CONTENT_TYPE
                        ))
                    })?;
                    headers.insert(CONTENT_TYPE, v);
                }
                for h in c.list(keys::AIVEN_ADDITIONAL_HEADERS) {
                    add_headers(&mut headers, keys::AIVEN_ADDITIONAL_HEADERS, &h, "")?;
                }
                builder = builder.timeout(Duration::from_secs(
                    u64::try_from(int(&c, keys::AIVEN_TIMEOUT, 30)).unwrap_or(30),
                ));
                if c.boolean(keys::AIVEN_TRUST_ALL) == Some(true) {
                    builder = builder
                        .danger_accept_invalid_certs(true)
                        .danger_accept_invalid_hostnames(true);
                }
                if let Some(path) = c.string(keys::AIVEN_TRUSTSTORE_LOCATION) {
                    for cert in trust(path, keys::AIVEN_TRUSTSTORE_LOCATION)? {
                        builder = builder.add_root_certificate(cert);
                    }
                }
                // Aiven does not follow redirects: a 3xx counts as success.
                builder = builder.redirect(reqwest::redirect::Policy::none());
                let batching = c.boolean(keys::AIVEN_BATCHING).unwrap_or(false);
                // Separators are whitespace more often than not: taken as written, untrimmed.
                let verbatim = |k: &str, default: &str| {
                    raw.get(k).cloned().unwrap_or_else(|| default.to_string())
                };
                let unescape = |v: String| {
                    v.replace("\\n", "\n")
                        .replace("\\t", "\t")
                        .replace("\\r", "\r")
                };
                Settings {
                    url_key: keys::AIVEN_URL,
                    url: Template(vec![Part::Text(s(keys::AIVEN_URL))]),
                    method: Method::POST,
                    headers,
                    format: Format::Aiven,
                    batch_max: if batching {
                        usize::try_from(int(&c, keys::BATCH_MAX_SIZE, 500)).unwrap_or(500)
                    } else {
                        1
                    },
                    batch_key: None,
                    prefix: if batching {
                        unescape(verbatim(keys::BATCH_PREFIX, ""))
                    } else {
                        String::new()
                    },
                    separator: unescape(verbatim(keys::BATCH_SEPARATOR, "\n")),
                    suffix: if batching {
                        unescape(verbatim(keys::BATCH_SUFFIX, "\n"))
                    } else {
                        String::new()
                    },
                    json_array: false,
                    nulls: Nulls::Fail,
                    on_error: OnError::Fail,
                    max_retries: u32::try_from(int(&c, keys::MAX_RETRIES, 1)).unwrap_or(0),
                    backoff: millis(&c, keys::RETRY_BACKOFF_MS, 3000),
                    exponential: false,
                    retry_on: StatusRanges::parse("400-")?,
                    client: reqwest::Client::new(),
                }
            }
        };
        // Check that the URL is one, with sample values for the variables.
        let sample = settings.url.render("topic", "key");
        let url = reqwest::Url::parse(&sample).map_err(|e| {
            ConnectError::config(format!(
                "Invalid value {} for configuration {}: not a URL ({e})",
                c.string(settings.url_key).unwrap_or_default(),
                settings.url_key
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConnectError::config(format!(
                "Invalid value {url} for configuration {}: the scheme must be http or https",
                settings.url_key
            )));
        }
        let client = builder.build().map_err(|e| {
            ConnectError::config(format!(
                "Cannot build the HTTP client from this config: {e}"
            ))
        })?;
        Ok(Settings { client, ..settings })
    }

    /// How long to wait before retry `attempt` (1-based).
    fn backoff(&self, attempt: u32) -> Duration {
        if !self.exponential {
            return self.backoff;
        }
        let max = self
            .backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(10));
        let max = max.min(Duration::from_secs(60).max(self.backoff));
        // Jitter between half and all of it (no RNG needed: the clock's nanoseconds).
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let half = max / 2;
        half + half.mul_f64(f64::from(nanos % 1000) / 1000.0)
    }

    /// One record's body part.
    fn render(&self, record: &SinkRecord) -> Result<String> {
        let r = &record.record;
        match self.format {
            Format::String => Ok(match &r.value {
                Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            Format::Json => Ok(json::to_json(&r.value).to_string()),
            Format::Aiven => match &r.value {
                Value::String(s) => Ok(s.clone()),
                v @ (Value::Struct(_) | Value::Map(_)) => Ok(json::to_json(v).to_string()),
                Value::Null => Err(ConnectError::data("Record value must not be null")),
                other => Err(ConnectError::data(format!(
                    "Record value schema type must be STRING, STRUCT or MAP, {} is not supported",
                    other.java_class_name()
                ))),
            },
        }
    }

    fn body(&self, parts: &[String]) -> String {
        if self.format == Format::Json && self.json_array {
            return format!("[{}]", parts.join(","));
        }
        let mut out = self.prefix.clone();
        out.push_str(&parts.join(&self.separator));
        out.push_str(&self.suffix);
        out
    }
}

/// How a request ended after its retries.
enum Sent {
    Accepted,
    /// The endpoint answered outside 2xx: the status and (the start of) the body.
    Refused(u16, String),
}

fn key_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.to_string(),
    }
}

pub struct HttpSinkTask {
    flavor: Flavor,
    settings: Option<Settings>,
    context: Option<Arc<dyn SinkTaskContext>>,
}

impl HttpSinkTask {
    pub fn new(flavor: Flavor) -> Self {
        HttpSinkTask {
            flavor,
            settings: None,
            context: None,
        }
    }
}

impl Settings {
    /// Sends one request, retrying refused statuses in `retry.on.status.codes` and transport
    /// errors. `Err` only for an endpoint that could not be reached at all.
    async fn send(&self, method: &Method, url: &str, body: String) -> Result<Sent> {
        let mut attempt = 0;
        loop {
            let outcome = self
                .client
                .request(method.clone(), url)
                .headers(self.headers.clone())
                .body(body.clone())
                .send()
                .await;
            let retry = match outcome {
                Ok(resp) => {
                    let status = resp.status();
                    let accepted = match self.format {
                        Format::Aiven => status.as_u16() < 400,
                        _ => status.is_success(),
                    };
                    if accepted {
                        return Ok(Sent::Accepted);
                    }
                    let code = status.as_u16();
                    let mut text = resp.text().await.unwrap_or_default();
                    if text.len() > MAX_ERROR_BODY {
                        let mut end = MAX_ERROR_BODY;
                        while !text.is_char_boundary(end) {
                            end -= 1;
                        }
                        text.truncate(end);
                    }
                    if !self.retry_on.contains(code) || attempt >= self.max_retries {
                        return Ok(Sent::Refused(code, text));
                    }
                    format!("HTTP {code}")
                }
                Err(e) => {
                    if attempt >= self.max_retries {
                        let where_ = reqwest::Url::parse(url)
                            .ok()
                            .map(|u| {
                                format!(
                                    "{}:{}",
                                    u.host_str().unwrap_or_default(),
                                    u.port_or_known_default().unwrap_or(0)
                                )
                            })
                            .unwrap_or_default();
                        return Err(ConnectError::fatal(format!(
                            "Could not reach the HTTP endpoint at {where_} ({}) after {} attempts: {e}",
                            self.url_key,
                            attempt + 1
                        )));
                    }
                    e.to_string()
                }
            };
            attempt += 1;
            let wait = self.backoff(attempt);
            tracing::warn!(url, attempt, reason = %retry, retry_in_ms = wait.as_millis() as u64, "HTTP request failed; retrying.");
            tokio::time::sleep(wait).await;
        }
    }
}

#[async_trait]
impl SinkTask for HttpSinkTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> Result<()> {
        self.settings = Some(Settings::new(self.flavor, context.configs())?);
        self.context = Some(context);
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        let (Some(s), Some(context)) = (self.settings.as_ref(), self.context.as_ref()) else {
            return Err(ConnectError::illegal_state(
                "HTTP sink task used before start",
            ));
        };
        // Batches by URL and batch key, in the order they first appear.
        let mut order: Vec<(String, Vec<(usize, String)>)> = Vec::new();
        let mut index: HashMap<(String, String), usize> = HashMap::new();
        for (i, rec) in records.iter().enumerate() {
            let r = &rec.record;
            let key = key_string(&r.key);
            let url = s.url.render(&r.topic, &key);
            if r.value.is_null() && s.format != Format::Aiven {
                match s.nulls {
                    Nulls::Ignore => continue,
                    Nulls::Log => {
                        tracing::warn!(topic = %r.topic, offset = rec.kafka_offset, "Skipping a record with a null value ({}=log).", keys::NULL_VALUES);
                        continue;
                    }
                    Nulls::Fail => {
                        context.report_errant(
                            rec,
                            ConnectError::data(format!(
                                "Record value is null ({}=fail)",
                                keys::NULL_VALUES
                            )),
                        );
                        continue;
                    }
                    Nulls::Delete => {
                        match s.send(&Method::DELETE, &url, String::new()).await? {
                            Sent::Accepted => {}
                            Sent::Refused(code, body) => {
                                self.refused(rec, &Method::DELETE, &url, code, &body)
                            }
                        }
                        continue;
                    }
                }
            }
            let part = match s.render(rec) {
                Ok(p) => p,
                Err(e) => {
                    context.report_errant(rec, e);
                    continue;
                }
            };
            let batch_key = s
                .batch_key
                .as_ref()
                .map(|t| t.render(&r.topic, &key))
                .unwrap_or_default();
            let slot = *index.entry((url.clone(), batch_key)).or_insert_with(|| {
                order.push((url, Vec::new()));
                order.len() - 1
            });
            if let Some((_, parts)) = order.get_mut(slot) {
                parts.push((i, part));
            }
        }
        for (url, parts) in order {
            for chunk in parts.chunks(s.batch_max.max(1)) {
                let texts: Vec<String> = chunk.iter().map(|(_, p)| p.clone()).collect();
                match s.send(&s.method, &url, s.body(&texts)).await? {
                    Sent::Accepted => {}
                    Sent::Refused(code, body) => {
                        for (i, _) in chunk {
                            if let Some(rec) = records.get(*i) {
                                self.refused(rec, &s.method, &url, code, &body);
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl HttpSinkTask {
    /// A record the endpoint refused: to `errors.*` (and the DLQ) with status and body, or
    /// logged or ignored as `behavior.on.error` says.
    fn refused(&self, rec: &SinkRecord, method: &Method, url: &str, code: u16, body: &str) {
        let (Some(s), Some(context)) = (self.settings.as_ref(), self.context.as_ref()) else {
            return;
        };
        let message = format!(
            "HTTP {method} {url} answered {code} after {} retries; response body: {body}",
            s.max_retries
        );
        match s.on_error {
            OnError::Fail => context.report_errant(rec, ConnectError::data(message)),
            OnError::Log => {
                tracing::error!(topic = %rec.record.topic, offset = rec.kafka_offset, "{message}")
            }
            OnError::Ignore => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn templates() {
        let t = Template::parse("http.api.url", "http://h/${topic}/x/${key}").unwrap();
        assert_eq!(t.render("t", "k"), "http://h/t/x/k");
        let e = Template::parse("http.api.url", "http://h/${partition}").unwrap_err();
        assert!(
            e.to_string().contains("http.api.url") && e.to_string().contains("${partition}"),
            "{e}"
        );
        assert!(Template::parse("http.api.url", "http://h/${topic").is_err());
    }

    #[test]
    fn confluent_config() {
        let s = Settings::new(
            Flavor::Confluent,
            &raw(&[
                (keys::API_URL, "http://127.0.0.1:1/${topic}"),
                (keys::HEADERS, "X-A:1|X-B: two"),
                (keys::AUTH_TYPE, "BASIC"),
                (keys::CONNECTION_USER, "u"),
                (keys::CONNECTION_PASSWORD, "p"),
                (keys::BODY_FORMAT, "json"),
                (keys::BATCH_JSON_AS_ARRAY, "true"),
            ]),
        )
        .unwrap();
        assert_eq!(s.headers.get("x-b").unwrap(), "two");
        assert_eq!(s.headers.get(AUTHORIZATION).unwrap(), "Basic dTpw");
        assert_eq!(s.headers.get(CONTENT_TYPE).unwrap(), "application/json");
        assert_eq!(s.body(&["1".into(), "{}".into()]), "[1,{}]");
        let e = Settings::new(Flavor::Confluent, &raw(&[(keys::API_URL, "not a url")]))
            .err()
            .unwrap();
        assert!(e.to_string().contains(keys::API_URL), "{e}");
        let e = Settings::new(
            Flavor::Confluent,
            &raw(&[(keys::API_URL, "http://h/"), (keys::HEADERS, "NoColon")]),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("headers"), "{e}");
    }

    #[test]
    fn aiven_config_and_bodies() {
        let s = Settings::new(
            Flavor::Aiven,
            &raw(&[
                (keys::AIVEN_URL, "http://127.0.0.1:1/"),
                (keys::AIVEN_AUTH_TYPE, "static"),
                (keys::AIVEN_AUTHORIZATION, "Bearer t"),
                (keys::AIVEN_BATCHING, "true"),
            ]),
        )
        .unwrap();
        assert_eq!(s.headers.get(AUTHORIZATION).unwrap(), "Bearer t");
        assert_eq!(s.batch_max, 500);
        assert_eq!(s.body(&["a".into(), "b".into()]), "a\nb\n");
        let mut rec = SinkRecord::default();
        rec.record.value = Value::Int32(1);
        assert!(s.render(&rec).is_err());
        rec.record.value = Value::from("x");
        assert_eq!(s.render(&rec).unwrap(), "x");
        let e = Settings::new(
            Flavor::Aiven,
            &raw(&[
                (keys::AIVEN_URL, "http://h/"),
                (keys::AIVEN_AUTH_TYPE, "static"),
            ]),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains(keys::AIVEN_AUTHORIZATION), "{e}");
    }

    #[test]
    fn exponential_backoff_grows_and_stays_bounded() {
        let s = Settings::new(
            Flavor::Confluent,
            &raw(&[
                (keys::API_URL, "http://h/"),
                (keys::RETRY_BACKOFF_MS, "100"),
            ]),
        )
        .unwrap();
        let b1 = s.backoff(1);
        let b4 = s.backoff(4);
        assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
        assert!(b4 >= Duration::from_millis(400) && b4 <= Duration::from_millis(800));
        assert!(s.backoff(40) <= Duration::from_secs(60));
    }
}
