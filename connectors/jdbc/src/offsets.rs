//! Source partitions and offsets exactly as Confluent's JDBC source stores them, so an offsets
//! topic (or file) written by the Java connector resumes here and the other way round.
//!
//! - table mode: `{"protocol":"1","table":"<fqn>"}` (V1; the V0 `{"table":"<name>"}` is read
//!   for upgrades); bulk mode: `{"table":"<name>"}` with a null offset;
//! - query mode: `{"query":"query"}`;
//! - offsets (`TimestampIncrementingOffset.toMap`, a Java `HashMap` of up to 3 entries):
//!   `{"timestamp_nanos":…,"incrementing":…,"timestamp":…}` in that iteration order.

use std::sync::Arc;

use sluice_api::data::Value;
use sluice_api::offset_map;
use sluice_api::record::OffsetMap;

pub const TABLE_NAME_KEY: &str = "table";
pub const QUERY_NAME_KEY: &str = "query";
pub const QUERY_NAME_VALUE: &str = "query";
pub const OFFSET_PROTOCOL_VERSION_KEY: &str = "protocol";
pub const PROTOCOL_VERSION_ONE: &str = "1";
pub const INCREMENTING_FIELD: &str = "incrementing";
pub const TIMESTAMP_FIELD: &str = "timestamp";
pub const TIMESTAMP_NANOS_FIELD: &str = "timestamp_nanos";

/// The V1 partition of a table: `protocol` first, as Java's `HashMap` iterates it.
pub fn table_partition(fqn: &str) -> OffsetMap {
    offset_map![
        (
            OFFSET_PROTOCOL_VERSION_KEY.into(),
            Value::from(PROTOCOL_VERSION_ONE)
        ),
        (TABLE_NAME_KEY.into(), Value::from(fqn)),
    ]
}

/// The V0 partition of a table (read only), also the bulk-mode partition.
pub fn table_partition_v0(table: &str) -> OffsetMap {
    offset_map![(TABLE_NAME_KEY.into(), Value::from(table))]
}

pub fn query_partition() -> OffsetMap {
    offset_map![(QUERY_NAME_KEY.into(), Value::from(QUERY_NAME_VALUE))]
}

/// The position of an incremental querier (`TimestampIncrementingOffset`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offset {
    pub incrementing: Option<i64>,
    /// Microseconds since the epoch (Java keeps millis plus nanos of the second).
    pub timestamp_micros: Option<i64>,
    /// Nanoseconds of the second, when read from a stored offset (keeps sub-micro precision
    /// of Java-written offsets when written back unchanged).
    pub nanos: Option<i64>,
}

impl Offset {
    /// The map Confluent stores: `timestamp_nanos`, `incrementing`, `timestamp` (iteration
    /// order of a 4-bucket Java `HashMap`); absent parts are left out.
    pub fn to_map(&self) -> OffsetMap {
        let mut map = OffsetMap::new();
        let ts = self.timestamp_micros.map(|us| {
            let millis = us.div_euclid(1000);
            let nanos = self
                .nanos
                .unwrap_or_else(|| us.rem_euclid(1_000_000) * 1000);
            (millis, nanos)
        });
        if let Some((_, nanos)) = ts {
            map.push((TIMESTAMP_NANOS_FIELD.into(), Value::Int64(nanos)));
        }
        if let Some(i) = self.incrementing {
            map.push((INCREMENTING_FIELD.into(), Value::Int64(i)));
        }
        if let Some((millis, _)) = ts {
            map.push((TIMESTAMP_FIELD.into(), Value::Int64(millis)));
        }
        map
    }

    /// Reads a stored offset (numbers as any integer width, as Java's `(Long)` casts accept
    /// what JSON gives back).
    pub fn from_map(map: &OffsetMap) -> Offset {
        let get = |k: &str| {
            map.iter()
                .find(|(key, _)| key == k)
                .and_then(|(_, v)| v.as_i64())
        };
        let incrementing = get(INCREMENTING_FIELD);
        let millis = get(TIMESTAMP_FIELD);
        let nanos = get(TIMESTAMP_NANOS_FIELD);
        let timestamp_micros = millis.map(|ms| match nanos {
            // Java: new Timestamp(millis) then setNanos(nanos): the second from millis,
            // the fraction from nanos.
            Some(n) => ms.div_euclid(1000) * 1_000_000 + n / 1000,
            None => ms * 1000,
        });
        Offset {
            incrementing,
            timestamp_micros,
            nanos: if millis.is_some() { nanos } else { None },
        }
    }
}

/// A partition shared by the records of one table.
pub type Partition = Arc<OffsetMap>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The offsets topic's bytes: a schemaless JsonConverter over the map, in map order.
    fn json(map: &OffsetMap) -> String {
        let entries: Vec<String> = map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => format!("\"{s}\""),
                    Value::Int64(i) => i.to_string(),
                    other => panic!("unexpected {other:?}"),
                };
                format!("\"{k}\":{v}")
            })
            .collect();
        format!("{{{}}}", entries.join(","))
    }

    #[test]
    fn partitions_as_confluent_writes_them() {
        assert_eq!(
            json(&table_partition("public.orders")),
            r#"{"protocol":"1","table":"public.orders"}"#
        );
        assert_eq!(
            json(&table_partition("shop.orders")),
            r#"{"protocol":"1","table":"shop.orders"}"#
        );
        assert_eq!(json(&table_partition_v0("orders")), r#"{"table":"orders"}"#);
        assert_eq!(json(&query_partition()), r#"{"query":"query"}"#);
    }

    #[test]
    fn offsets_as_confluent_writes_them() {
        // The reference's published dump: 2026-09-01T01:18:43.729Z, id 3.
        let o = Offset {
            incrementing: Some(3),
            timestamp_micros: Some(1_790_818_723_729_000),
            nanos: None,
        };
        assert_eq!(
            json(&o.to_map()),
            r#"{"timestamp_nanos":729000000,"incrementing":3,"timestamp":1790818723729}"#
        );
        let inc = Offset {
            incrementing: Some(42),
            ..Offset::default()
        };
        assert_eq!(json(&inc.to_map()), r#"{"incrementing":42}"#);
        let ts = Offset {
            timestamp_micros: Some(1_669_701_595_817_123),
            ..Offset::default()
        };
        assert_eq!(
            json(&ts.to_map()),
            r#"{"timestamp_nanos":817123000,"timestamp":1669701595817}"#
        );
    }

    #[test]
    fn reads_java_offsets() {
        let map: OffsetMap = offset_map![
            (TIMESTAMP_NANOS_FIELD.into(), Value::Int64(817_123_456)),
            (INCREMENTING_FIELD.into(), Value::Int32(7)),
            (TIMESTAMP_FIELD.into(), Value::Int64(1_669_701_595_817)),
        ];
        let o = Offset::from_map(&map);
        assert_eq!(o.incrementing, Some(7));
        assert_eq!(o.timestamp_micros, Some(1_669_701_595_817_123));
        // Written back unchanged, byte for byte.
        assert_eq!(
            json(&o.to_map()),
            r#"{"timestamp_nanos":817123456,"incrementing":7,"timestamp":1669701595817}"#
        );
        // `timestamp.initial` seeds only the timestamp.
        let seeded: OffsetMap = offset_map![(TIMESTAMP_FIELD.into(), Value::Int64(1000))];
        assert_eq!(Offset::from_map(&seeded).timestamp_micros, Some(1_000_000));
    }
}
