//! Debezium's source partition and offset for PostgreSQL.
//!
//! Partition `{"server": <topic.prefix>}`. Offset (`PostgresOffsetContext.getOffset`): `ts_usec`,
//! `txId`, `lsn`, `xmin`, the snapshot keys while a snapshot runs (`snapshot`,
//! `last_snapshot_record`, `snapshot_completed`), `lsn_proc`, `lsn_commit`, `messageType`,
//! `lsn_events_processed` — each only when known. Debezium builds the offset in a
//! `java.util.HashMap`, so the JSON it stores lists the keys in that map's iteration order;
//! [`PgOffset::to_map`] writes them in the same order so the stored bytes are identical.

use std::sync::Arc;

use sluice_api::data::Value;
use sluice_api::record::{OffsetKey, OffsetMap};

pub const SERVER_KEY: &str = "server";
pub const TS_USEC_KEY: &str = "ts_usec";
pub const TXID_KEY: &str = "txId";
pub const LSN_KEY: &str = "lsn";
pub const XMIN_KEY: &str = "xmin";
pub const SNAPSHOT_KEY: &str = "snapshot";
pub const LAST_SNAPSHOT_RECORD_KEY: &str = "last_snapshot_record";
pub const SNAPSHOT_COMPLETED_KEY: &str = "snapshot_completed";
pub const LSN_PROC_KEY: &str = "lsn_proc";
pub const LSN_COMMIT_KEY: &str = "lsn_commit";
pub const MESSAGE_TYPE_KEY: &str = "messageType";
pub const LSN_EVENTS_PROCESSED_KEY: &str = "lsn_events_processed";

/// The source partition: `{"server": <topic.prefix>}`.
pub fn partition(topic_prefix: &str) -> Arc<OffsetMap> {
    Arc::new(sluice_api::offset_map![(
        SERVER_KEY.into(),
        Value::String(topic_prefix.to_string())
    )])
}

/// A Debezium PostgreSQL offset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PgOffset {
    /// Commit time of the transaction, µs since the epoch.
    pub ts_usec: Option<i64>,
    pub tx_id: Option<i64>,
    /// LSN of the last emitted event (during a snapshot: the slot's consistent point).
    pub lsn: Option<i64>,
    pub xmin: Option<i64>,
    /// `INITIAL` while a snapshot runs (Debezium ≤3.0 wrote `true`).
    pub snapshot: Option<String>,
    pub last_snapshot_record: Option<bool>,
    pub snapshot_completed: Option<bool>,
    /// The last completely processed LSN.
    pub lsn_proc: Option<i64>,
    /// The commit LSN of the transaction of the last event.
    pub lsn_commit: Option<i64>,
    /// `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, ... of the last event.
    pub message_type: Option<&'static str>,
    pub lsn_events_processed: Option<i64>,
}

impl PgOffset {
    /// The offset map, keys in `java.util.HashMap` iteration order.
    pub fn to_map(&self) -> OffsetMap {
        // Values in put order (`ALL_KEYS`); absent keys are not put.
        let snapshot = self.snapshot.is_some();
        let mut values: [Option<Value>; ALL_KEYS.len()] = [
            self.ts_usec.map(Value::Int64),
            self.tx_id.map(Value::Int64),
            self.lsn.map(Value::Int64),
            self.xmin.map(Value::Int64),
            self.snapshot.clone().map(Value::String),
            snapshot.then(|| Value::Boolean(self.last_snapshot_record.unwrap_or(false))),
            snapshot.then(|| Value::Boolean(self.snapshot_completed.unwrap_or(false))),
            self.lsn_proc.map(Value::Int64),
            self.lsn_commit.map(Value::Int64),
            self.message_type.map(|m| Value::String(m.to_string())),
            self.lsn_events_processed
                .filter(|n| *n > 0)
                .map(Value::Int64),
        ];
        let mut map = OffsetMap::with_capacity(values.iter().filter(|v| v.is_some()).count());
        for &i in all_keys_order() {
            if let Some(v) = values.get_mut(i).and_then(Option::take) {
                map.push((OffsetKey::Borrowed(ALL_KEYS[i]), v));
            }
        }
        map
    }

    /// Reads a stored offset (written by Debezium or by Sluice). Numbers of any width, and
    /// booleans as `true` or `"true"`, are accepted as Debezium's loader accepts them.
    pub fn from_map(map: &OffsetMap) -> PgOffset {
        let get = |k: &str| map.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        let long = |k: &str| get(k).and_then(as_long);
        let boolean = |k: &str| get(k).and_then(as_bool);
        let snapshot = get(SNAPSHOT_KEY).and_then(|v| match v {
            Value::Boolean(true) => Some("INITIAL".to_string()),
            Value::Boolean(false) => None,
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some("INITIAL".to_string()),
            Value::String(s) if s.eq_ignore_ascii_case("false") => None,
            Value::String(s) => Some(s.clone()),
            _ => None,
        });
        PgOffset {
            ts_usec: long(TS_USEC_KEY),
            tx_id: long(TXID_KEY),
            lsn: long(LSN_KEY),
            xmin: long(XMIN_KEY),
            snapshot,
            last_snapshot_record: boolean(LAST_SNAPSHOT_RECORD_KEY),
            snapshot_completed: boolean(SNAPSHOT_COMPLETED_KEY),
            lsn_proc: long(LSN_PROC_KEY),
            lsn_commit: long(LSN_COMMIT_KEY),
            message_type: get(MESSAGE_TYPE_KEY)
                .and_then(Value::as_str)
                .and_then(message_type_name),
            lsn_events_processed: long(LSN_EVENTS_PROCESSED_KEY),
        }
    }

    /// Whether this offset was written in the middle of a snapshot that did not finish.
    pub fn snapshot_incomplete(&self) -> bool {
        self.snapshot.is_some()
            && self.last_snapshot_record != Some(true)
            && self.snapshot_completed != Some(true)
    }

    /// The LSN to confirm to the slot once this offset is committed (Debezium's
    /// `commitOffset`: `lsn_commit`, else `lsn_proc`); none for snapshot offsets.
    pub fn flush_lsn(&self) -> Option<u64> {
        self.lsn_commit
            .or(self.lsn_proc)
            .and_then(|l| u64::try_from(l).ok())
    }
}

fn as_long(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        other => other.as_i64(),
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Boolean(b) => Some(*b),
        Value::String(s) => Some(s.eq_ignore_ascii_case("true")),
        _ => None,
    }
}

/// The `messageType` names Debezium stores (`ReplicationMessage.Operation`).
fn message_type_name(s: &str) -> Option<&'static str> {
    Some(match s {
        "INSERT" => "INSERT",
        "UPDATE" => "UPDATE",
        "DELETE" => "DELETE",
        "BEGIN" => "BEGIN",
        "COMMIT" => "COMMIT",
        "RELATION" => "RELATION",
        "TRUNCATE" => "TRUNCATE",
        "TYPE" => "TYPE",
        "ORIGIN" => "ORIGIN",
        "NOOP" => "NOOP",
        "MESSAGE" => "MESSAGE",
        _ => return None,
    })
}

/// Every offset key, in the order Debezium puts them into its `HashMap`.
const ALL_KEYS: [&str; 11] = [
    TS_USEC_KEY,
    TXID_KEY,
    LSN_KEY,
    XMIN_KEY,
    SNAPSHOT_KEY,
    LAST_SNAPSHOT_RECORD_KEY,
    SNAPSHOT_COMPLETED_KEY,
    LSN_PROC_KEY,
    LSN_COMMIT_KEY,
    MESSAGE_TYPE_KEY,
    LSN_EVENTS_PROCESSED_KEY,
];

/// The `HashMap` iteration order of [`ALL_KEYS`], computed once. An offset has at most 11
/// keys, so the map never grows past its 16 buckets and the order of any subset put in the
/// same order is this order with the absent keys left out.
fn all_keys_order() -> &'static [usize] {
    static ORDER: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    ORDER.get_or_init(|| java_hash_map_order(&ALL_KEYS))
}

/// Java's `String.hashCode` (over UTF-16 code units, wrapping).
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The iteration order of a `java.util.HashMap` (default capacity 16, load factor 0.75) that
/// had `keys` put in this order: indexes into `keys`.
pub fn java_hash_map_order(keys: &[&str]) -> Vec<usize> {
    let mut capacity: usize = 16;
    while keys.len() > capacity * 3 / 4 {
        capacity *= 2;
    }
    let mut indexed: Vec<(usize, usize)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let h = java_string_hash(k);
            let spread = h ^ ((h as u32) >> 16) as i32;
            ((spread as u32 as usize) & (capacity - 1), i)
        })
        .collect();
    // A stable sort by bucket keeps insertion order inside a bucket, as Java's chains do
    // (resizes split chains without reordering them).
    indexed.sort_by_key(|(bucket, _)| *bucket);
    indexed.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(map: &OffsetMap) -> String {
        let parts: Vec<String> = map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::Int64(n) => n.to_string(),
                    Value::Boolean(b) => b.to_string(),
                    Value::String(s) => format!("\"{s}\""),
                    other => format!("{other:?}"),
                };
                format!("\"{k}\":{v}")
            })
            .collect();
        format!("{{{}}}", parts.join(","))
    }

    #[test]
    fn streaming_offset_matches_a_debezium_dump() {
        // A value Debezium 3.x stored (reference §3.7).
        let o = PgOffset {
            ts_usec: Some(1767208115470483),
            tx_id: Some(1007),
            lsn: Some(37051152),
            lsn_proc: Some(37051152),
            lsn_commit: Some(36989040),
            message_type: Some("INSERT"),
            ..PgOffset::default()
        };
        assert_eq!(
            json(&o.to_map()),
            r#"{"lsn_proc":37051152,"messageType":"INSERT","lsn_commit":36989040,"lsn":37051152,"txId":1007,"ts_usec":1767208115470483}"#
        );
        assert_eq!(PgOffset::from_map(&o.to_map()), o);
        assert_eq!(o.flush_lsn(), Some(36989040));
    }

    #[test]
    fn snapshot_offset_keys_and_loader() {
        let o = PgOffset {
            ts_usec: Some(1),
            tx_id: Some(750),
            lsn: Some(100),
            snapshot: Some("INITIAL".into()),
            last_snapshot_record: Some(false),
            snapshot_completed: Some(false),
            ..PgOffset::default()
        };
        let map = o.to_map();
        let mut keys: Vec<&str> = map.iter().map(|(k, _)| k.as_ref()).collect();
        let got = keys.clone();
        keys.sort_unstable();
        assert_eq!(
            keys,
            vec![
                "last_snapshot_record",
                "lsn",
                "snapshot",
                "snapshot_completed",
                "ts_usec",
                "txId"
            ]
        );
        // Java HashMap order of these six keys (buckets computed from String.hashCode).
        assert_eq!(
            got,
            vec![
                "last_snapshot_record",
                "lsn",
                "txId",
                "ts_usec",
                "snapshot",
                "snapshot_completed"
            ]
        );
        assert!(PgOffset::from_map(&map).snapshot_incomplete());
        assert_eq!(o.flush_lsn(), None);
        // Debezium ≤3.0 wrote a boolean snapshot flag, and strings for booleans are accepted.
        let old: OffsetMap = sluice_api::offset_map![
            ("snapshot".into(), Value::Boolean(true)),
            ("last_snapshot_record".into(), Value::String("true".into())),
            ("lsn".into(), Value::Int32(5)),
        ];
        let parsed = PgOffset::from_map(&old);
        assert_eq!(parsed.snapshot.as_deref(), Some("INITIAL"));
        assert!(!parsed.snapshot_incomplete());
        assert_eq!(parsed.lsn, Some(5));
    }

    #[test]
    fn the_order_of_every_key_subset_is_the_full_order_filtered() {
        let full: Vec<&str> = all_keys_order().iter().map(|&i| ALL_KEYS[i]).collect();
        for mask in 0u32..(1 << ALL_KEYS.len()) {
            let subset: Vec<&str> = (0..ALL_KEYS.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| ALL_KEYS[i])
                .collect();
            let java: Vec<&str> = java_hash_map_order(&subset)
                .into_iter()
                .map(|i| subset[i])
                .collect();
            let filtered: Vec<&str> = full
                .iter()
                .copied()
                .filter(|k| subset.contains(k))
                .collect();
            assert_eq!(java, filtered, "keys {subset:?}");
        }
    }

    #[test]
    fn partition_is_the_server_name() {
        assert_eq!(json(&partition("dbserver1")), r#"{"server":"dbserver1"}"#);
    }
}
