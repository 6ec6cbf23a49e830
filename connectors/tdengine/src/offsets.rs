//! Source partitions and offsets as the Java source task stores them (`SourceConstants`,
//! `TimeStampOffset`): partition `{"table": <name>}`, offset
//! `{"timestamp_millisecond": <epoch ms>, "timestamp_nanosecond": <ns of the second>}` or `{}`.
//!
//! Internally a timestamp is nanoseconds since the epoch (i64 reaches year 2262, as TDengine's
//! nanosecond databases do).

use sluice_api::data::Value;
use sluice_api::offset_map;
use sluice_api::record::OffsetMap;

pub const TABLE_NAME_KEY: &str = "table";
pub const TIMESTAMP_MILLISECOND: &str = "timestamp_millisecond";
pub const TIMESTAMP_NANOSECOND: &str = "timestamp_nanosecond";

/// The partition of a table.
pub fn partition(table: &str) -> OffsetMap {
    offset_map![(TABLE_NAME_KEY.into(), Value::from(table))]
}

/// `TimeStampOffset.toMap()`: `{}` for no timestamp; else `java.sql.Timestamp`'s `getTime()`
/// (epoch ms, millisecond part included) and `getNanos()` (the fraction of the second in ns).
/// Entry order is Java's `HashMap` order for these two keys.
pub fn to_map(ts_nanos: Option<i64>) -> OffsetMap {
    match ts_nanos {
        None => OffsetMap::new(),
        Some(n) => {
            let millis = n.div_euclid(1_000_000);
            let nanos = n.rem_euclid(1_000_000_000);
            offset_map![
                (TIMESTAMP_MILLISECOND.into(), Value::Int64(millis)),
                (TIMESTAMP_NANOSECOND.into(), Value::Int64(nanos)),
            ]
        }
    }
}

/// A number stored as Integer, Long or String (Java reads `String.valueOf(v)` and parses).
fn number(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        other => other.as_i64(),
    }
}

/// `TimeStampOffset.fromMap`: `Timestamp(ms)` then `setNanos(ns)`, i.e. the whole seconds of
/// `timestamp_millisecond` plus `timestamp_nanosecond`. None for an empty or unreadable map.
pub fn from_map(map: &OffsetMap) -> Option<i64> {
    let get = |k: &str| map.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    let millis = number(get(TIMESTAMP_MILLISECOND)?)?;
    let seconds = millis.div_euclid(1000);
    match get(TIMESTAMP_NANOSECOND).and_then(number) {
        Some(nanos) if (0..1_000_000_000).contains(&nanos) => {
            seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
        }
        _ => millis.checked_mul(1_000_000),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days in a month of a year.
pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Parses taosAdapter's RFC 3339 timestamps (`2018-10-03T14:38:05.000Z`, or with an offset
/// `+08:00`) into epoch nanoseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = s.get(19..)?;
    let mut nanos = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let f: i64 = frac.get(..digits)?.parse().ok()?;
        nanos = f * 10i64.pow(9 - digits as u32);
        rest = frac.get(digits..)?;
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let oh: i64 = o.get(1..3)?.parse().ok()?;
            let om: i64 = o.get(4..6)?.parse().ok()?;
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset_secs;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offset Java stores for the tutorial's last row (16.800 in a UTC+8 client): the
    /// bytes of the offsets-topic value under JsonConverter without schemas.
    #[test]
    fn golden_offset_matches_java() {
        let ts = 1_538_548_696_800 * 1_000_000;
        let map = to_map(Some(ts));
        let json = serde_json::to_string(&serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(v.as_i64().unwrap())))
                .collect(),
        ))
        .unwrap();
        assert_eq!(
            json,
            r#"{"timestamp_millisecond":1538548696800,"timestamp_nanosecond":800000000}"#
        );
        assert_eq!(from_map(&map), Some(ts));
        assert!(to_map(None).is_empty());
        assert_eq!(from_map(&OffsetMap::new()), None);
    }

    #[test]
    fn nanosecond_databases_keep_the_fraction() {
        let ts = 1_648_432_611_123_456_789;
        let map = to_map(Some(ts));
        assert_eq!(map[0].1, Value::Int64(1_648_432_611_123));
        assert_eq!(map[1].1, Value::Int64(123_456_789));
        assert_eq!(from_map(&map), Some(ts));
        // Integer, Long or String values all read back (Java parses `String.valueOf`).
        let strings = offset_map![
            (TIMESTAMP_MILLISECOND.into(), Value::from("1648432611123")),
            (TIMESTAMP_NANOSECOND.into(), Value::Int32(123_456_789)),
        ];
        assert_eq!(from_map(&strings), Some(ts));
    }

    #[test]
    fn rfc3339() {
        assert_eq!(
            parse_rfc3339("2018-10-03T14:38:05.000Z"),
            Some(1_538_577_485_000_000_000)
        );
        assert_eq!(
            parse_rfc3339("2018-10-03T14:38:05.500+08:00"),
            Some(1_538_548_685_500_000_000)
        );
        assert_eq!(
            parse_rfc3339("2022-03-28T01:56:51.249000001Z"),
            Some(1_648_432_611_249_000_001)
        );
        assert_eq!(parse_rfc3339("nope"), None);
    }
}
