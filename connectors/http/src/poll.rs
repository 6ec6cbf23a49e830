//! The polling source: the keys of castorm's `com.github.castorm.kafka.connect.http.HttpSourceConnector`
//! (0.8). The task requests `http.request.url` every `http.timer.interval.millis`, takes the
//! records at `http.response.list.pointer` of the JSON reply, and keeps an offset built from
//! each record (`http.response.record.offset.pointer`, e.g. `key=/id, timestamp=/updatedAt`).
//!
//! The offset does two things, as in castorm: `${offset.<name>}` in the URL, parameters,
//! headers and body asks the endpoint only for what is newer, and records at or before the
//! offset (an earlier timestamp, or the same one up to the last seen record) are dropped. The
//! runtime commits the offset of each record once Kafka has it, and a restarted task starts
//! from the committed one: nothing is read twice but what Kafka had not acknowledged.
//!
//! Records as castorm's `SchemedKvSourceRecordMapper` writes them: key struct
//! `com.github.castorm.kafka.connect.http.Key {key}`, value struct
//! `com.github.castorm.kafka.connect.http.Value {value: the record's JSON, key, timestamp}`,
//! timestamp = the record's, partition `{}`, offset = the offset's properties as strings
//! (`timestamp` as an ISO-8601 instant).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;
use sluice_api::config::{Config, ConfigDef, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SourceTask, SourceTaskContext,
    TaskFactory,
};
use sluice_api::data::{schemas, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::record::{OffsetMap, SourceRecord, Topic};
use sluice_api::{async_trait, ConnectError, Result};

use crate::config as keys;

pub const CLASS: &str = "com.github.castorm.kafka.connect.http.HttpSourceConnector";
pub const TASK_CLASS: &str = "com.github.castorm.kafka.connect.http.HttpSourceTask";
pub const KEY_SCHEMA: &str = "com.github.castorm.kafka.connect.http.Key";
pub const VALUE_SCHEMA: &str = "com.github.castorm.kafka.connect.http.Value";
/// The offset properties with a meaning of their own.
pub const KEY: &str = "key";
pub const TIMESTAMP: &str = "timestamp";

/// Attempts of a request that does not reach the endpoint, before the task fails.
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

pub fn config_def() -> ConfigDef {
    keys::poll_def()
}

pub fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: CLASS,
        task_class: TASK_CLASS,
        kind: ConnectorKind::Source,
        version: crate::VERSION,
        config_def,
        new_connector: || Box::new(HttpSourceConnector::default()),
        new_task: TaskFactory::Source(|| Box::new(HttpSourceTask::default())),
        shares_thread: false,
    }
}

#[derive(Default)]
pub struct HttpSourceConnector {
    props: RawConfig,
}

#[async_trait]
impl Connector for HttpSourceConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        let c = keys::parse(&config_def(), config)?;
        Settings::from_config(&c)?;
        self.props = config.clone();
        Ok(())
    }

    /// One task: castorm hands every task the same endpoint, so more would only duplicate.
    async fn task_configs(&mut self, _max_tasks: usize) -> Result<Vec<RawConfig>> {
        Ok(vec![self.props.clone()])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// castorm's `Offset`: string properties in the order they were set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Offset(Vec<(String, String)>);

impl Offset {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, name: &str, value: String) {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    fn timestamp(&self) -> Option<i64> {
        self.get(TIMESTAMP).and_then(parse_timestamp)
    }

    /// `http.offset.initial`: `property1=value1, property2=value2`.
    pub fn parse_initial(raw: &str) -> Result<Offset> {
        let mut o = Offset::default();
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(ConnectError::config(format!(
                    "Invalid value {raw} for configuration {}: '{pair}' is not a property=value pair",
                    keys::OFFSET_INITIAL
                )));
            };
            o.set(k.trim(), v.trim().to_string());
        }
        Ok(o)
    }

    fn to_map(&self) -> OffsetMap {
        self.0
            .iter()
            .map(|(k, v)| (k.clone().into(), Value::String(v.clone())))
            .collect()
    }

    fn from_map(map: &OffsetMap) -> Offset {
        Offset(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.to_string(), v)
                })
                .collect(),
        )
    }
}

/// A text with `${offset.<name>}` (or castorm's older `${<name>}`) references.
#[derive(Clone, Debug, PartialEq)]
struct Template {
    key: &'static str,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    Offset(String),
}

impl Template {
    fn parse(key: &'static str, raw: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let mut rest = raw;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(ConnectError::config(format!(
                    "Invalid value {raw} for configuration {key}: '${{' without a closing '}}'"
                )));
            };
            let inner = after[..end].trim();
            let name = inner.strip_prefix("offset.").unwrap_or(inner);
            let plain = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !plain {
                return Err(ConnectError::config(format!(
                    "Invalid value {raw} for configuration {key}: '${{{inner}}}' is not supported; only ${{offset.<property>}} references are (FreeMarker expressions and built-ins are not)"
                )));
            }
            parts.push(Part::Offset(name.to_string()));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { key, parts })
    }

    fn render(&self, offset: &Offset) -> Result<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Offset(name) => match offset.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        return Err(ConnectError::config(format!(
                            "Configuration {} refers to the offset property '{name}', which the offset does not have yet; give it a first value in {}",
                            self.key,
                            keys::OFFSET_INITIAL
                        )))
                    }
                },
            }
        }
        Ok(out)
    }
}

/// `200..299, 207` style status ranges.
fn parse_codes(key: &str, raw: &str) -> Result<Vec<(u16, u16)>> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            ConnectError::config(format!(
                "Invalid value {raw} for configuration {key}: '{part}' is not a status code or range like 200..299"
            ))
        };
        let code = |s: &str| s.trim().parse::<u16>().map_err(|_| bad());
        out.push(match part.split_once("..") {
            Some((lo, hi)) => (code(lo)?, code(hi)?),
            None => {
                let c = code(part)?;
                (c, c)
            }
        });
    }
    Ok(out)
}

fn within(codes: &[(u16, u16)], status: u16) -> bool {
    codes.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status))
}

/// `name: value` pairs separated by `,` (headers) or `name=value` by `&` (parameters).
fn pairs(
    key: &'static str,
    raw: &str,
    separator: char,
    assign: char,
) -> Result<Vec<(String, Template)>> {
    let mut out = Vec::new();
    for pair in raw
        .split(separator)
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let Some((k, v)) = pair.split_once(assign) else {
            return Err(ConnectError::config(format!(
                "Invalid value {raw} for configuration {key}: '{pair}' has no '{assign}'"
            )));
        };
        out.push((k.trim().to_string(), Template::parse(key, v.trim())?));
    }
    Ok(out)
}

/// A JSON pointer where `/` (castorm's default) means the document itself.
fn at<'a>(doc: &'a Json, pointer: &str) -> Option<&'a Json> {
    if pointer.is_empty() || pointer == "/" {
        Some(doc)
    } else {
        doc.pointer(pointer)
    }
}

fn check_pointer(key: &str, pointer: &str) -> Result<()> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(ConnectError::config(format!(
            "Invalid value {pointer} for configuration {key}: a JSON pointer starts with '/'"
        )))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Order {
    Asc,
    Desc,
    Implicit,
}

/// Everything a task needs, checked before anything runs.
#[derive(Clone, Debug)]
struct Settings {
    topic: String,
    method: reqwest::Method,
    url: Template,
    headers: Vec<(String, Template)>,
    params: Vec<(String, Template)>,
    body: Template,
    initial: Offset,
    interval: Duration,
    catchup: Duration,
    connect_timeout: Duration,
    read_timeout: Duration,
    basic: Option<(String, String)>,
    process: Vec<(u16, u16)>,
    skip: Vec<(u16, u16)>,
    list_pointer: String,
    record_pointer: String,
    offset_pointers: Vec<(String, String)>,
    order: Order,
    key_property: String,
    value_property: String,
}

impl Settings {
    fn from_config(c: &Config) -> Result<Settings> {
        let s = |k: &str| c.string(k).unwrap_or_default().to_string();
        let ms = |k: &str| Duration::from_millis(c.long(k).unwrap_or(0).max(0) as u64);
        let method = s(keys::POLL_METHOD).to_ascii_uppercase();
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| {
            ConnectError::config(format!(
                "Invalid value {method} for configuration {}",
                keys::POLL_METHOD
            ))
        })?;
        let url = s(keys::POLL_URL);
        let url_template = Template::parse(keys::POLL_URL, &url)?;
        // The URL without its references must parse, so a typo fails at start.
        let probe = url_template
            .parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_str(),
                Part::Offset(_) => "0",
            })
            .collect::<String>();
        if reqwest::Url::parse(&probe).is_err() {
            return Err(ConnectError::config(format!(
                "Invalid value {url} for configuration {}: not an http(s) URL",
                keys::POLL_URL
            )));
        }
        let mut offset_pointers = Vec::new();
        for pair in s(keys::OFFSET_POINTER)
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let Some((k, p)) = pair.split_once('=') else {
                return Err(ConnectError::config(format!(
                    "Invalid value {} for configuration {}: '{pair}' is not a property=/pointer pair",
                    s(keys::OFFSET_POINTER),
                    keys::OFFSET_POINTER
                )));
            };
            check_pointer(keys::OFFSET_POINTER, p.trim())?;
            offset_pointers.push((k.trim().to_string(), p.trim().to_string()));
        }
        let list_pointer = s(keys::LIST_POINTER);
        check_pointer(keys::LIST_POINTER, &list_pointer)?;
        let record_pointer = s(keys::RECORD_POINTER);
        check_pointer(keys::RECORD_POINTER, &record_pointer)?;
        let basic = if s(keys::SOURCE_AUTH_TYPE).eq_ignore_ascii_case("basic") {
            Some((s(keys::SOURCE_AUTH_USER), s(keys::SOURCE_AUTH_PASSWORD)))
        } else {
            None
        };
        let order = match s(keys::ORDER_DIRECTION).to_ascii_uppercase().as_str() {
            "ASC" => Order::Asc,
            "DESC" => Order::Desc,
            _ => Order::Implicit,
        };
        let initial = Offset::parse_initial(&s(keys::OFFSET_INITIAL))?;
        if let Some(t) = initial.get(TIMESTAMP) {
            if parse_timestamp(t).is_none() {
                return Err(ConnectError::config(format!(
                    "Invalid value {t} for the timestamp of configuration {}: epoch milliseconds or an ISO-8601 instant (2020-01-01T00:00:00Z)",
                    keys::OFFSET_INITIAL
                )));
            }
        }
        Ok(Settings {
            topic: s(keys::KAFKA_TOPIC),
            method,
            url: url_template,
            headers: pairs(keys::POLL_HEADERS, &s(keys::POLL_HEADERS), ',', ':')?,
            params: pairs(keys::POLL_PARAMS, &s(keys::POLL_PARAMS), '&', '=')?,
            body: Template::parse(keys::POLL_BODY, &s(keys::POLL_BODY))?,
            initial,
            interval: ms(keys::TIMER_INTERVAL),
            catchup: ms(keys::TIMER_CATCHUP_INTERVAL),
            connect_timeout: ms(keys::CLIENT_CONNECT_TIMEOUT),
            read_timeout: ms(keys::CLIENT_READ_TIMEOUT),
            basic,
            process: parse_codes(keys::CODES_PROCESS, &s(keys::CODES_PROCESS))?,
            skip: parse_codes(keys::CODES_SKIP, &s(keys::CODES_SKIP))?,
            list_pointer,
            record_pointer,
            offset_pointers,
            order,
            key_property: s(keys::KEY_PROPERTY),
            value_property: s(keys::VALUE_PROPERTY),
        })
    }

    /// castorm's `AdaptableIntervalTimer`: the catch-up interval while the offset's timestamp
    /// is older than the normal interval.
    fn next_interval(&self, offset: &Offset) -> Duration {
        match offset.timestamp() {
            Some(ts) if now_millis().saturating_sub(ts) > self.interval.as_millis() as i64 => {
                self.catchup
            }
            _ => self.interval,
        }
    }

    /// The records of a reply: each one's offset (the previous offset's properties with the
    /// record's), and its JSON text.
    fn records(&self, body: &str, previous: &Offset) -> Result<Vec<(Offset, String)>> {
        let doc: Json = serde_json::from_str(body).map_err(|e| {
            ConnectError::data(format!("The reply to {} is not JSON: {e}", keys::POLL_URL))
        })?;
        let items: Vec<&Json> = match at(&doc, &self.list_pointer) {
            Some(Json::Array(a)) => a.iter().collect(),
            Some(one) => vec![one],
            None => Vec::new(),
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let mut offset = previous.clone();
            for (name, pointer) in &self.offset_pointers {
                let text = match at(item, pointer) {
                    None | Some(Json::Null) => continue,
                    Some(Json::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                let text = if name == TIMESTAMP {
                    let ms = parse_timestamp(&text).ok_or_else(|| {
                        ConnectError::data(format!(
                            "The timestamp '{text}' at {pointer} ({}) is neither epoch milliseconds nor an ISO-8601 instant",
                            keys::OFFSET_POINTER
                        ))
                    })?;
                    format_instant(ms)
                } else {
                    text
                };
                offset.set(name, text);
            }
            let value = at(item, &self.record_pointer).unwrap_or(item).to_string();
            out.push((offset, value));
        }
        Ok(out)
    }
}

/// castorm's `OrderDirectionSourceRecordSorter` then `OffsetRecordFilterFactory`: oldest
/// first; keeps records newer than `offset`'s timestamp, and of the rest those after the
/// record whose offset is `offset` (the last one seen).
fn unseen(
    order: Order,
    mut records: Vec<(Offset, String)>,
    offset: &Offset,
) -> Vec<(Offset, String)> {
    let reverse = match order {
        Order::Asc => false,
        Order::Desc => true,
        Order::Implicit => matches!(
            (records.first().and_then(|r| r.0.timestamp()), records.last().and_then(|r| r.0.timestamp())),
            (Some(first), Some(last)) if first > last
        ),
    };
    if reverse {
        records.reverse();
    }
    let since = offset.timestamp();
    let mut last_seen_reached = false;
    records
        .into_iter()
        .filter(|(o, _)| {
            let newer = match (o.timestamp(), since) {
                (Some(ts), Some(since)) => ts > since,
                (None, _) | (_, None) => true,
            };
            let after_last_seen = last_seen_reached;
            if !last_seen_reached && o == offset {
                last_seen_reached = true;
            }
            newer || after_last_seen
        })
        .collect()
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Epoch milliseconds, or an ISO-8601 instant (`2020-01-01T00:00:00Z`,
/// `2020-01-01T00:00:00.123+02:00`): castorm's default `EpochMillisOrDelegateTimestampParser`.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let (date, rest) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    // The zone: Z, or +hh:mm / -hh:mm / +hhmm at the end.
    let (time, zone_secs) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else {
        let i = rest.rfind(['+', '-'])?;
        let (t, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let digits: String = z[1..].chars().filter(char::is_ascii_digit).collect();
        if digits.len() != 4 && digits.len() != 2 {
            return None;
        }
        let h: i64 = digits.get(0..2)?.parse().ok()?;
        let m: i64 = digits.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
        (t, sign * (h * 3600 + m * 60))
    };
    let (hms, fraction) = match time.split_once('.') {
        Some((hms, f)) => (hms, f),
        None => (time, ""),
    };
    let mut t = hms.splitn(3, ':');
    let h: i64 = t.next()?.parse().ok()?;
    let mi: i64 = t.next()?.parse().ok()?;
    let sec: i64 = t.next().map_or(Some(0), |s| s.parse().ok())?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut millis = 0;
    if !fraction.is_empty() {
        if !fraction.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let three: String = fraction.chars().chain("000".chars()).take(3).collect();
        millis = three.parse::<i64>().ok()?;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec - zone_secs) * 1000) + millis)
}

/// Java's `Instant.toString()` for `ms`: `2020-01-01T00:00:00Z`, `…:00.120Z`.
pub fn format_instant(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        s / 3600,
        s % 3600 / 60,
        s % 60
    );
    if millis == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{millis:03}Z")
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[derive(Default)]
pub struct HttpSourceTask {
    settings: Option<Settings>,
    client: Option<reqwest::Client>,
    offset: Offset,
    partition: Arc<OffsetMap>,
    topic: Option<Topic>,
    next_at: Option<tokio::time::Instant>,
    schemas: Option<(SchemaRef, SchemaRef)>,
}

impl HttpSourceTask {
    /// One request with the current offset; transport failures are tried again
    /// `ATTEMPTS` times with a doubling pause, then fail naming host and port.
    async fn fetch(&self, s: &Settings, client: &reqwest::Client) -> Result<(u16, String, String)> {
        let url = s.url.render(&self.offset)?;
        let mut attempt = 0;
        let mut backoff = FIRST_BACKOFF;
        loop {
            attempt += 1;
            let mut req = client.request(s.method.clone(), &url);
            let mut query = Vec::with_capacity(s.params.len());
            for (k, v) in &s.params {
                query.push((k.as_str(), v.render(&self.offset)?));
            }
            if !query.is_empty() {
                req = req.query(&query);
            }
            for (k, v) in &s.headers {
                req = req.header(k.as_str(), v.render(&self.offset)?);
            }
            if let Some((user, password)) = &s.basic {
                req = req.basic_auth(user, Some(password));
            }
            let body = s.body.render(&self.offset)?;
            if !body.is_empty() {
                req = req.body(body);
            }
            let sent = async {
                let r = req.send().await?;
                let status = r.status().as_u16();
                let text = r.text().await?;
                Ok::<_, reqwest::Error>((status, text))
            }
            .await;
            match sent {
                Ok((status, text)) => return Ok((status, url, text)),
                Err(e) if attempt < ATTEMPTS => {
                    tracing::warn!(url = %url, attempt, error = %e, "HTTP source request failed; trying again.");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(s.interval.max(FIRST_BACKOFF));
                }
                Err(e) => {
                    let (host, port) = reqwest::Url::parse(&url)
                        .map(|u| {
                            (
                                u.host_str().unwrap_or_default().to_string(),
                                u.port_or_known_default().unwrap_or(0),
                            )
                        })
                        .unwrap_or_default();
                    return Err(ConnectError::retriable(format!(
                        "Could not reach {host}:{port} ({}={url}) after {ATTEMPTS} attempts: {e}",
                        keys::POLL_URL
                    )));
                }
            }
        }
    }

    fn to_record(&self, s: &Settings, offset: Offset, json: String) -> Result<SourceRecord> {
        let (Some((key_schema, value_schema)), Some(topic)) = (&self.schemas, &self.topic) else {
            return Err(ConnectError::illegal_state(
                "HTTP source task used before start",
            ));
        };
        let key = offset.get(KEY).map(str::to_string);
        let ts = offset.timestamp();
        let mut k = Struct::new(key_schema.clone());
        k.put(
            &s.key_property,
            key.clone().map_or(Value::Null, Value::String),
        )?;
        let mut v = Struct::new(value_schema.clone());
        v.put(&s.value_property, Value::String(json))?;
        if s.value_property != KEY {
            v.put(KEY, key.map_or(Value::Null, Value::String))?;
        }
        if s.value_property != TIMESTAMP {
            v.put(TIMESTAMP, ts.map_or(Value::Null, Value::Int64))?;
        }
        let mut rec = SourceRecord::new(
            self.partition.clone(),
            offset.to_map(),
            topic.clone(),
            Some(value_schema.clone()),
            Value::Struct(v),
        );
        rec.record.key_schema = Some(key_schema.clone());
        rec.record.key = Value::Struct(k);
        rec.record.timestamp = Some(ts.unwrap_or_else(now_millis));
        Ok(rec)
    }
}

#[async_trait]
impl SourceTask for HttpSourceTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let c = keys::parse(&config_def(), &context.configs)?;
        let s = Settings::from_config(&c)?;
        let key_schema = SchemaBuilder::structure()
            .name(KEY_SCHEMA)
            .field(&s.key_property, schemas::optional_string())?
            .build();
        let mut value = SchemaBuilder::structure()
            .name(VALUE_SCHEMA)
            .field(&s.value_property, schemas::string())?;
        for (name, schema) in [
            (KEY, schemas::optional_string()),
            (TIMESTAMP, schemas::optional_int64()),
        ] {
            if name != s.value_property {
                value = value.field(name, schema)?;
            }
        }
        self.schemas = Some((key_schema, value.build()));
        let client = reqwest::Client::builder()
            .connect_timeout(s.connect_timeout)
            .read_timeout(s.read_timeout)
            .build()
            .map_err(|e| ConnectError::config(format!("Cannot build the HTTP client: {e}")))?;
        self.partition = Arc::new(OffsetMap::new());
        self.offset = match context.offsets.offset(&self.partition) {
            Some(stored) => Offset::from_map(&stored),
            None => s.initial.clone(),
        };
        tracing::info!(url = %keys::POLL_URL, offset = ?self.offset, "HTTP source starts polling.");
        self.topic = Some(s.topic.as_str().into());
        self.client = Some(client);
        self.settings = Some(s);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let (Some(s), Some(client)) = (self.settings.clone(), self.client.clone()) else {
            return Err(ConnectError::illegal_state(
                "HTTP source task polled before start",
            ));
        };
        // Cancel safe: nothing changes before the reply is in.
        if let Some(at) = self.next_at {
            tokio::time::sleep_until(at).await;
        }
        let (status, url, body) = self.fetch(&s, &client).await?;
        let mut out = Vec::new();
        if within(&s.process, status) {
            let records = s.records(&body, &self.offset)?;
            for (offset, json) in unseen(s.order, records, &self.offset) {
                self.offset = offset.clone();
                out.push(self.to_record(&s, offset, json)?);
            }
        } else if !within(&s.skip, status) {
            let excerpt: String = body.chars().take(4096).collect();
            return Err(ConnectError::retriable(format!(
                "{} {url} ({}) was answered {status}, which is neither in {} nor in {}: {excerpt}",
                s.method,
                keys::POLL_URL,
                keys::CODES_PROCESS,
                keys::CODES_SKIP
            )));
        }
        self.next_at = Some(tokio::time::Instant::now() + s.next_interval(&self.offset));
        Ok(out)
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &[(&str, &str)]) -> Settings {
        let mut raw = RawConfig::new();
        raw.insert(keys::KAFKA_TOPIC.into(), "t".into());
        raw.insert(keys::POLL_URL.into(), "http://h/items".into());
        for (k, v) in extra {
            raw.insert(k.to_string(), v.to_string());
        }
        Settings::from_config(&keys::parse(&config_def(), &raw).unwrap()).unwrap()
    }

    fn offset(pairs: &[(&str, &str)]) -> Offset {
        Offset(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_are_castorms() {
        let s = settings(&[]);
        assert_eq!(s.interval, Duration::from_millis(60_000));
        assert_eq!(s.catchup, Duration::from_millis(30_000));
        assert_eq!(s.method, reqwest::Method::GET);
        assert_eq!(s.process, [(200, 299)]);
        assert_eq!(s.skip, [(300, 399)]);
        assert_eq!(s.order, Order::Implicit);
    }

    #[test]
    fn templates_take_offset_properties() {
        let t = Template::parse(
            keys::POLL_URL,
            "http://h/x?since=${offset.timestamp}&k=${key}",
        )
        .unwrap();
        let o = offset(&[("timestamp", "2020-01-01T00:00:00Z"), ("key", "7")]);
        assert_eq!(
            t.render(&o).unwrap(),
            "http://h/x?since=2020-01-01T00:00:00Z&k=7"
        );
        let missing = t.render(&Offset::default()).unwrap_err().to_string();
        assert!(missing.contains("http.offset.initial"), "{missing}");
        let e = Template::parse(keys::POLL_PARAMS, "a=${offset.timestamp?long}").unwrap_err();
        assert!(e.to_string().contains(keys::POLL_PARAMS), "{e}");
    }

    #[test]
    fn headers_params_and_initial_offset_parse_like_castorm() {
        let s = settings(&[
            (keys::POLL_HEADERS, "Accept: application/json, X-Token: abc"),
            (keys::POLL_PARAMS, "a=1 & since=${offset.timestamp}"),
            (
                keys::OFFSET_INITIAL,
                "timestamp=2020-01-01T00:00:00Z, page=1",
            ),
        ]);
        assert_eq!(s.headers.len(), 2);
        assert_eq!(s.headers[1].0, "X-Token");
        assert_eq!(s.params[1].0, "since");
        assert_eq!(s.initial.get("page"), Some("1"));
        let bad = Offset::parse_initial("nope").unwrap_err().to_string();
        assert!(bad.contains(keys::OFFSET_INITIAL), "{bad}");
    }

    #[test]
    fn timestamps_parse_and_print_like_java_instants() {
        for (text, ms) in [
            ("0", 0),
            ("1577836800000", 1_577_836_800_000),
            ("2020-01-01T00:00:00Z", 1_577_836_800_000),
            ("2020-01-01T00:00:00.5Z", 1_577_836_800_500),
            ("2020-01-01T02:00:00+02:00", 1_577_836_800_000),
            ("2019-12-31T23:00:00-0100", 1_577_836_800_000),
        ] {
            assert_eq!(parse_timestamp(text), Some(ms), "{text}");
        }
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(format_instant(1_577_836_800_000), "2020-01-01T00:00:00Z");
        assert_eq!(
            format_instant(1_577_836_800_120),
            "2020-01-01T00:00:00.120Z"
        );
    }

    #[test]
    fn records_newer_than_the_offset_or_after_the_last_seen_pass() {
        let s = settings(&[
            (keys::LIST_POINTER, "/items"),
            (keys::OFFSET_POINTER, "key=/id, timestamp=/at"),
        ]);
        let body = r#"{"items":[{"id":"3","at":2000},{"id":"2","at":1000},{"id":"1","at":1000}]}"#;
        let last = offset(&[("key", "1"), ("timestamp", &format_instant(1000))]);
        let records = s.records(body, &last).unwrap();
        // Newest first: IMPLICIT turns it around; "1" was seen, "2" has its timestamp and
        // comes after it, "3" is newer.
        let kept: Vec<_> = unseen(s.order, records, &last)
            .into_iter()
            .map(|(o, _)| o.get("key").unwrap().to_string())
            .collect();
        assert_eq!(kept, ["2", "3"]);
        let everything = s.records(body, &Offset::default()).unwrap();
        assert_eq!(unseen(s.order, everything, &Offset::default()).len(), 3);
    }

    #[test]
    fn records_follow_castorms_envelope() {
        let s = settings(&[(keys::OFFSET_POINTER, "key=/id, timestamp=/at")]);
        let mut t = HttpSourceTask::default();
        let key = SchemaBuilder::structure()
            .name(KEY_SCHEMA)
            .field("key", schemas::optional_string())
            .unwrap()
            .build();
        let value = SchemaBuilder::structure()
            .name(VALUE_SCHEMA)
            .field("value", schemas::string())
            .unwrap()
            .field("key", schemas::optional_string())
            .unwrap()
            .field("timestamp", schemas::optional_int64())
            .unwrap()
            .build();
        t.schemas = Some((key, value));
        t.topic = Some("t".into());
        let (o, json) = s
            .records(
                r#"[{"id":"a","at":"2020-01-01T00:00:00Z"}]"#,
                &Offset::default(),
            )
            .unwrap()
            .remove(0);
        let r = t.to_record(&s, o, json).unwrap();
        assert_eq!(r.record.timestamp, Some(1_577_836_800_000));
        assert_eq!(
            r.source_offset
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
            [
                ("key".to_string(), "a".to_string()),
                ("timestamp".to_string(), "2020-01-01T00:00:00Z".to_string())
            ]
        );
        let Value::Struct(v) = &r.record.value else {
            panic!("a struct")
        };
        assert_eq!(v.schema().name.as_deref(), Some(VALUE_SCHEMA));
    }
}
