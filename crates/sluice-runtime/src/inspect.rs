//! Looking at a connector's records without a Kafka client: the *tap* (the last records a
//! connector's tasks produced or were handed, after transforms and converters) and the
//! *transform preview* (a sample record run through a connector's configured chain). Both back
//! Sluice-only REST endpoints used by the web console.
//!
//! The tap costs one relaxed atomic load per batch while nobody looks: a task driver asks its
//! [`TapSlot`] whether it is [`active`](TapSlot::active) and copies records into a bounded ring
//! only then. A reader keeps a tap active by reading it ([`Taps::open`]); it switches itself
//! off [`TAP_IDLE`] after the last read. Secrets in records are the REST layer's business (it
//! masks the connector's secret config values wherever they appear).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use sluice_api::config::RawConfig;
use sluice_api::converter::{Converter, ConverterRole};
use sluice_api::data::{Headers, SchemaRef, Value};
use sluice_api::record::ConnectRecord;
use sluice_api::ConnectError;
use sluice_converters::BuiltinConverter;

use crate::chain::TransformChain;
use crate::convert::Converters;
use crate::plugins::Plugins;

/// Records a tap keeps per connector (the newest ones).
pub const TAP_CAPACITY: usize = 500;
/// Bytes of a key, value or header kept per record; longer ones are cut (and flagged).
pub const TAP_MAX_BYTES: usize = 16 * 1024;
/// A tap nobody read for this long stops copying records.
pub const TAP_IDLE: Duration = Duration::from_secs(60);

/// What a tapped record's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TapForm {
    /// Source records: the bytes the connector's converters made, as sent to Kafka.
    Serialized,
    /// Sink records: the Connect data handed to the task, rendered as schemaless JSON.
    ConnectJson,
}

/// One tapped record.
#[derive(Clone, Debug, PartialEq)]
pub struct TapRecord {
    /// Increases by one per tapped record of the connector on this worker.
    pub seq: u64,
    pub task: u32,
    pub form: TapForm,
    pub topic: String,
    pub partition: Option<i32>,
    /// Sink records only: their Kafka offset.
    pub offset: Option<i64>,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Whether a key, value or header was cut to [`TAP_MAX_BYTES`].
    pub truncated: bool,
    /// Milliseconds since the epoch when the record was tapped.
    pub tapped_at: i64,
}

/// One connector's tap on this worker, shared by its tasks.
#[derive(Debug)]
pub struct TapSlot {
    active: AtomicBool,
    opened: Mutex<Option<Instant>>,
    next_seq: AtomicU64,
    ring: Mutex<VecDeque<TapRecord>>,
}

impl Default for TapSlot {
    fn default() -> Self {
        TapSlot {
            active: AtomicBool::new(false),
            opened: Mutex::new(None),
            next_seq: AtomicU64::new(0),
            ring: Mutex::new(VecDeque::new()),
        }
    }
}

fn cut(bytes: Option<&[u8]>, truncated: &mut bool) -> Option<Vec<u8>> {
    bytes.map(|b| {
        if b.len() > TAP_MAX_BYTES {
            *truncated = true;
            b[..TAP_MAX_BYTES].to_vec()
        } else {
            b.to_vec()
        }
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A record as a task driver offers it to the tap.
pub struct TapInput<'a> {
    pub task: u32,
    pub form: TapForm,
    pub topic: &'a str,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub timestamp: Option<i64>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(String, Option<Vec<u8>>)],
}

impl TapSlot {
    /// Whether records should be offered (the drivers' cheap check).
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Copies a record into the ring; switches the tap off once nobody read it for
    /// [`TAP_IDLE`].
    pub fn offer(&self, rec: TapInput<'_>) {
        let idle = self
            .opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none_or(|t| t.elapsed() > TAP_IDLE);
        if idle {
            self.active.store(false, Ordering::Relaxed);
            return;
        }
        let mut truncated = false;
        let record = TapRecord {
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
            task: rec.task,
            form: rec.form,
            topic: rec.topic.to_string(),
            partition: rec.partition,
            offset: rec.offset,
            timestamp: rec.timestamp,
            key: cut(rec.key, &mut truncated),
            value: cut(rec.value, &mut truncated),
            headers: rec
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), cut(v.as_deref(), &mut truncated)))
                .collect(),
            truncated,
            tapped_at: now_ms(),
        };
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        if ring.len() >= TAP_CAPACITY {
            ring.pop_front();
        }
        ring.push_back(record);
    }

    /// Offers a sink record: its Connect data rendered as schemaless JSON.
    pub fn offer_connect(&self, task: u32, record: &ConnectRecord, offset: i64) {
        let json = |schema: Option<&SchemaRef>, value: &Value| render_json(schema, value);
        let headers: Vec<(String, Option<Vec<u8>>)> = record
            .headers
            .iter()
            .map(|h| (h.key.clone(), render_json(h.schema.as_ref(), &h.value)))
            .collect();
        let key = json(record.key_schema.as_ref(), &record.key);
        let value = json(record.value_schema.as_ref(), &record.value);
        self.offer(TapInput {
            task,
            form: TapForm::ConnectJson,
            topic: &record.topic,
            partition: record.kafka_partition,
            offset: Some(offset),
            timestamp: record.timestamp,
            key: key.as_deref(),
            value: value.as_deref(),
            headers: &headers,
        });
    }
}

/// Connect data as schemaless JSON bytes (`None` for a null); a value the JSON converter
/// cannot write shows as its debug form rather than failing the task.
fn render_json(schema: Option<&SchemaRef>, value: &Value) -> Option<Vec<u8>> {
    if value.is_null() {
        return None;
    }
    match schemaless_json(ConverterRole::Value) {
        Ok(c) => match c.from_connect("", &mut Headers::new(), schema, value) {
            Ok(b) => b,
            Err(_) => Some(format!("{value:?}").into_bytes()),
        },
        Err(_) => Some(format!("{value:?}").into_bytes()),
    }
}

fn schemaless_json(role: ConverterRole) -> Result<BuiltinConverter, ConnectError> {
    let mut cfg = RawConfig::new();
    cfg.insert("schemas.enable".into(), "false".into());
    sluice_converters::new_converter(sluice_converters::json::CLASS, &cfg, role)
}

/// The taps of everything this worker runs, by connector.
#[derive(Clone, Debug, Default)]
pub struct Taps {
    slots: Arc<RwLock<BTreeMap<String, Arc<TapSlot>>>>,
}

impl Taps {
    /// The slot a task driver of `connector` offers its records to.
    pub fn slot(&self, connector: &str) -> Arc<TapSlot> {
        if let Some(s) = self
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(connector)
        {
            return s.clone();
        }
        self.slots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(connector.to_string())
            .or_default()
            .clone()
    }

    /// Activates `connector`'s tap for [`TAP_IDLE`] more and returns its records with a
    /// sequence number of at least `after` (all when `None`), the newest `limit` of them.
    pub fn open(&self, connector: &str, after: Option<u64>, limit: usize) -> Vec<TapRecord> {
        let slot = self.slot(connector);
        *slot.opened.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        slot.active.store(true, Ordering::Relaxed);
        let ring = slot.ring.lock().unwrap_or_else(|p| p.into_inner());
        let matching: Vec<&TapRecord> = ring
            .iter()
            .filter(|r| after.is_none_or(|a| r.seq >= a))
            .collect();
        let skip = matching.len().saturating_sub(limit);
        matching.into_iter().skip(skip).cloned().collect()
    }

    /// Forgets a deleted connector's tap.
    pub fn remove(&self, connector: &str) {
        self.slots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(connector);
    }
}

/// A sample record for [`preview`]: key and value as JSON, read by a schemaless JSON converter
/// (so objects become maps, as a connector without schemas would produce them).
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, String)>,
    pub timestamp: Option<i64>,
}

/// What a connector's transform chain made of a [`Sample`].
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    /// `None` when a transform dropped the record or failed.
    pub record: Option<PreviewRecord>,
    /// Why the chain failed (naming the transform), as the task would report it.
    pub error: Option<String>,
}

/// A transformed record: its data as schemaless JSON, and the bytes the connector's own
/// converters make of it (source connectors send those to Kafka).
#[derive(Clone, Debug, PartialEq)]
pub struct PreviewRecord {
    pub topic: String,
    pub partition: Option<i32>,
    pub timestamp: Option<i64>,
    pub key_json: Option<Vec<u8>>,
    pub value_json: Option<Vec<u8>>,
    pub key_schema: Option<String>,
    pub value_schema: Option<String>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub key_bytes: Option<Vec<u8>>,
    pub value_bytes: Option<Vec<u8>>,
    /// Why the connector's converters could not serialize the result, if they could not.
    pub convert_error: Option<String>,
}

/// Runs `sample` through the transforms and predicates of `connector_config` (built exactly as
/// a task builds them), then through its converters. Nothing is sent anywhere.
pub fn preview(
    plugins: &Plugins,
    worker_config: &RawConfig,
    connector_config: &RawConfig,
    sample: Sample,
) -> Result<Preview, ConnectError> {
    let chain = TransformChain::new(plugins, connector_config)?;
    let reader_key = schemaless_json(ConverterRole::Key)?;
    let reader_value = schemaless_json(ConverterRole::Value)?;
    let no_headers = Headers::new();
    let key = reader_key
        .to_connect(&sample.topic, &no_headers, sample.key.as_deref())
        .map_err(|e| ConnectError::data(format!("The sample key is not JSON: {e}")))?;
    let value = reader_value
        .to_connect(&sample.topic, &no_headers, sample.value.as_deref())
        .map_err(|e| ConnectError::data(format!("The sample value is not JSON: {e}")))?;
    let mut headers = Headers::new();
    for (k, v) in sample.headers {
        headers.add(k, None, Value::String(v));
    }
    let record = ConnectRecord {
        topic: sample.topic.into(),
        kafka_partition: sample.partition,
        key_schema: key.schema,
        key: key.value,
        value_schema: value.schema,
        value: value.value,
        timestamp: sample.timestamp,
        headers,
        kafka_offset: None,
    };
    let out = match chain.apply(record) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Ok(Preview {
                record: None,
                error: None,
            })
        }
        Err(e) => {
            return Ok(Preview {
                record: None,
                error: Some(format!(
                    "Transform {} ({}) failed: {}",
                    e.alias, e.class, e.error
                )),
            })
        }
    };
    let mut converted_headers = out.headers.clone();
    let (key_bytes, value_bytes, convert_error) =
        match Converters::new(connector_config, worker_config) {
            Ok(c) => {
                let k = c.key.from_connect(
                    &out.topic,
                    &mut converted_headers,
                    out.key_schema.as_ref(),
                    &out.key,
                );
                let v = c.value.from_connect(
                    &out.topic,
                    &mut converted_headers,
                    out.value_schema.as_ref(),
                    &out.value,
                );
                match (k, v) {
                    (Ok(k), Ok(v)) => (k, v, None),
                    (Err(e), _) | (_, Err(e)) => (None, None, Some(e.to_string())),
                }
            }
            Err(e) => (None, None, Some(e.to_string())),
        };
    let headers = out
        .headers
        .iter()
        .map(|h| (h.key.clone(), render_json(h.schema.as_ref(), &h.value)))
        .collect();
    let schema_name = |s: Option<&SchemaRef>| {
        s.map(|s| match &s.name {
            Some(n) => format!("{:?} {n}", s.schema_type),
            None => format!("{:?}", s.schema_type),
        })
    };
    Ok(Preview {
        record: Some(PreviewRecord {
            topic: out.topic.to_string(),
            partition: out.kafka_partition,
            timestamp: out.timestamp,
            key_json: render_json(out.key_schema.as_ref(), &out.key),
            value_json: render_json(out.value_schema.as_ref(), &out.value),
            key_schema: schema_name(out.key_schema.as_ref()),
            value_schema: schema_name(out.value_schema.as_ref()),
            headers,
            key_bytes,
            value_bytes,
            convert_error,
        }),
        error: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input(value: &[u8]) -> TapInput<'_> {
        TapInput {
            task: 0,
            form: TapForm::Serialized,
            topic: "t",
            partition: None,
            offset: None,
            timestamp: None,
            key: None,
            value: Some(value),
            headers: &[],
        }
    }

    #[test]
    fn a_tap_copies_nothing_until_opened_and_keeps_the_newest() {
        let taps = Taps::default();
        let slot = taps.slot("c");
        assert!(!slot.active());
        slot.offer(input(b"ignored"));
        assert!(taps.open("c", None, 10).is_empty());
        assert!(slot.active());
        for i in 0..(TAP_CAPACITY + 5) {
            slot.offer(input(format!("{i}").as_bytes()));
        }
        let all = taps.open("c", None, usize::MAX);
        assert_eq!(all.len(), TAP_CAPACITY);
        assert_eq!(all[0].value.as_deref(), Some(b"5".as_slice()));
        let last = taps.open("c", None, 2);
        assert_eq!(last.len(), 2);
        assert_eq!(
            last[1].value.as_deref(),
            Some(format!("{}", TAP_CAPACITY + 4).as_bytes())
        );
        let after = taps.open("c", Some(last[1].seq), 10);
        assert_eq!(after.len(), 1);
    }

    #[test]
    fn long_values_are_cut_and_flagged() {
        let taps = Taps::default();
        taps.open("c", None, 1);
        let big = vec![b'x'; TAP_MAX_BYTES + 1];
        taps.slot("c").offer(input(&big));
        let r = taps.open("c", None, 1);
        assert!(r[0].truncated);
        assert_eq!(r[0].value.as_ref().map(Vec::len), Some(TAP_MAX_BYTES));
    }

    #[test]
    fn an_idle_tap_switches_itself_off() {
        let taps = Taps::default();
        let slot = taps.slot("c");
        taps.open("c", None, 1);
        *slot.opened.lock().unwrap() = Some(Instant::now() - TAP_IDLE - Duration::from_secs(1));
        slot.offer(input(b"late"));
        assert!(!slot.active());
        assert!(slot.ring.lock().unwrap().is_empty());
    }

    fn config(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn preview_applies_the_configured_chain_and_converters() {
        let plugins = Plugins::builtin();
        let worker = config(&[
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.schemas.enable", "false"),
        ]);
        let connector = config(&[
            ("transforms", "ins,route"),
            (
                "transforms.ins.type",
                "org.apache.kafka.connect.transforms.InsertField$Value",
            ),
            ("transforms.ins.static.field", "origin"),
            ("transforms.ins.static.value", "sluice"),
            (
                "transforms.route.type",
                "org.apache.kafka.connect.transforms.RegexRouter",
            ),
            ("transforms.route.regex", "(.*)"),
            ("transforms.route.replacement", "$1-out"),
        ]);
        let sample = Sample {
            topic: "orders".into(),
            key: Some(b"\"k1\"".to_vec()),
            value: Some(br#"{"id":1}"#.to_vec()),
            ..Sample::default()
        };
        let p = preview(&plugins, &worker, &connector, sample).unwrap();
        let r = p.record.unwrap();
        assert_eq!(r.topic, "orders-out");
        let v: serde_json::Value = serde_json::from_slice(&r.value_json.unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({"id": 1, "origin": "sluice"}));
        assert_eq!(r.key_bytes.as_deref(), Some(b"k1".as_slice()));
        assert!(r.convert_error.is_none(), "{:?}", r.convert_error);
    }

    #[test]
    fn preview_names_the_failing_transform() {
        let plugins = Plugins::builtin();
        let worker = config(&[
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
        ]);
        let connector = config(&[
            ("transforms", "x"),
            (
                "transforms.x.type",
                "org.apache.kafka.connect.transforms.ExtractField$Value",
            ),
            ("transforms.x.field", "id"),
        ]);
        let sample = Sample {
            topic: "t".into(),
            value: Some(b"42".to_vec()),
            ..Sample::default()
        };
        let p = preview(&plugins, &worker, &connector, sample).unwrap();
        assert!(p.record.is_none());
        let e = p.error.unwrap();
        assert!(e.contains("Transform x"), "{e}");
    }
}
