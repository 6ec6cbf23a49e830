//! Schemaless parsers: InfluxDB line protocol (TDengine flavour), OpenTSDB telnet and JSON
//! (reference §7).

use crate::store::{Kind, Point, TdError, Val, SML_INVALID_DATA};

fn invalid(what: &str, text: &str) -> TdError {
    TdError::new(SML_INVALID_DATA, format!("{what}:{text}"))
}

/// Nanoseconds per unit of a precision argument as taosAdapter reads it (`""` and anything
/// unknown, `us` included, are "not configured", i.e. nanoseconds for line protocol).
pub fn line_unit_nanos(precision: &str) -> i128 {
    match precision {
        "h" => 3_600_000_000_000,
        "m" => 60_000_000_000,
        "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "u" | "μ" => 1_000,
        _ => 1,
    }
}

/// Splits `s` at unescaped `sep` bytes outside double quotes.
fn split_unescaped(s: &str, sep: u8, quotes: bool) -> Vec<&str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut in_quote = false;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                i += 2;
                continue;
            }
            b'"' if quotes => in_quote = !in_quote,
            c if c == sep && !in_quote => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&s[start.min(s.len())..]);
    out
}

/// Removes backslash escapes of `chars`; a lone backslash stays literal.
fn unescape(s: &str, chars: &[char]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(&n) = it.peek() {
                if chars.contains(&n) {
                    out.push(n);
                    it.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// Parses a field value with TDengine's suffix rules.
pub fn field_value(raw: &str, line: &str) -> Result<(Kind, Val), TdError> {
    let quoted = |prefix: usize| -> Option<String> {
        let inner = raw.get(prefix..)?;
        let inner = inner.strip_prefix('"')?.strip_suffix('"')?;
        Some(unescape(inner, &['"', '\\']))
    };
    if raw.starts_with('"') {
        return quoted(0)
            .map(|s| (Kind::Varchar, Val::Str(s)))
            .ok_or_else(|| invalid("Invalid data format", line));
    }
    for (p, kind) in [
        ("L\"", Kind::Nchar),
        ("l\"", Kind::Nchar),
        ("G\"", Kind::Geometry),
        ("g\"", Kind::Geometry),
        ("B\"", Kind::Varbinary),
        ("b\"", Kind::Varbinary),
    ] {
        if raw.starts_with(p) {
            return quoted(1)
                .map(|s| (kind, Val::Str(s)))
                .ok_or_else(|| invalid("Invalid data format", line));
        }
    }
    match raw {
        "t" | "T" | "true" | "True" | "TRUE" => return Ok((Kind::Bool, Val::Bool(true))),
        "f" | "F" | "false" | "False" | "FALSE" => return Ok((Kind::Bool, Val::Bool(false))),
        _ => {}
    }
    let suffixes: [(&str, Kind); 12] = [
        ("i8", Kind::TinyInt),
        ("u8", Kind::UTinyInt),
        ("i16", Kind::SmallInt),
        ("u16", Kind::USmallInt),
        ("i32", Kind::Int),
        ("u32", Kind::UInt),
        ("i64", Kind::BigInt),
        ("u64", Kind::UBigInt),
        ("f32", Kind::Float),
        ("f64", Kind::Double),
        ("i", Kind::BigInt),
        ("u", Kind::UBigInt),
    ];
    let (num, kind) = suffixes
        .iter()
        .find_map(|(s, k)| raw.strip_suffix(s).map(|n| (n, *k)))
        .unwrap_or((raw, Kind::Double));
    let bad = || invalid("Invalid data format", line);
    let val = match kind {
        Kind::Float => Val::F32(num.parse::<f32>().map_err(|_| bad())?),
        Kind::Double => Val::Float(num.parse::<f64>().map_err(|_| bad())?),
        Kind::TinyInt => Val::Int(i64::from(num.parse::<i8>().map_err(|_| bad())?)),
        Kind::SmallInt => Val::Int(i64::from(num.parse::<i16>().map_err(|_| bad())?)),
        Kind::Int => Val::Int(i64::from(num.parse::<i32>().map_err(|_| bad())?)),
        Kind::BigInt => Val::Int(num.parse::<i64>().map_err(|_| bad())?),
        Kind::UTinyInt => Val::UInt(u64::from(num.parse::<u8>().map_err(|_| bad())?)),
        Kind::USmallInt => Val::UInt(u64::from(num.parse::<u16>().map_err(|_| bad())?)),
        Kind::UInt => Val::UInt(u64::from(num.parse::<u32>().map_err(|_| bad())?)),
        _ => Val::UInt(num.parse::<u64>().map_err(|_| bad())?),
    };
    if let Val::Float(f) = val {
        if !f.is_finite() {
            return Err(bad());
        }
    }
    Ok((kind, val))
}

/// Parses a body of line protocol (one point per non-empty line).
pub fn parse_line(body: &str, precision: &str) -> Result<Vec<Point>, TdError> {
    let unit = line_unit_nanos(precision);
    let mut out = Vec::new();
    for line in body.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let parts = split_unescaped(line, b' ', true);
        let parts: Vec<&str> = parts.into_iter().filter(|p| !p.is_empty()).collect();
        if parts.len() < 2 || parts.len() > 3 {
            return Err(invalid("Invalid data format", line));
        }
        let mut head = split_unescaped(parts[0], b',', false).into_iter();
        let measurement = unescape(head.next().unwrap_or(""), &[',', ' ']);
        if measurement.is_empty() {
            return Err(invalid("Invalid data format", line));
        }
        let mut tags = Vec::new();
        for kv in head {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| invalid("Invalid data format", line))?;
            let v = unescape(v, &[',', '=', ' ']);
            if k.is_empty() || v.is_empty() {
                return Err(invalid("Invalid data format", line));
            }
            tags.push((unescape(k, &[',', '=', ' ']), Kind::Nchar, Val::Str(v)));
        }
        let mut fields = Vec::new();
        for kv in split_unescaped(parts[1], b',', true) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| invalid("Invalid data format", line))?;
            if k.is_empty() {
                return Err(invalid("Invalid data format", line));
            }
            let (kind, val) = field_value(v, line)?;
            fields.push((unescape(k, &[',', '=', ' ']), kind, val));
        }
        let ts_nanos = match parts.get(2) {
            None => None,
            Some(t) => {
                let n: i128 = t.parse().map_err(|_| invalid("invalid timestamp", line))?;
                if n == 0 {
                    None
                } else {
                    Some(n * unit)
                }
            }
        };
        out.push(Point {
            measurement,
            tags,
            fields,
            ts_nanos,
            text: line.to_string(),
            ts_column: "_ts",
        });
    }
    Ok(out)
}

/// Seconds (10 digits) or milliseconds (13 digits) to nanoseconds; other lengths are invalid.
fn opentsdb_ts(digits: &str, text: &str) -> Result<Option<i128>, TdError> {
    if digits == "0" {
        return Ok(None);
    }
    let n: i128 = digits
        .parse()
        .map_err(|_| invalid("invalid timestamp", text))?;
    match digits.len() {
        10 => Ok(Some(n * 1_000_000_000)),
        13 => Ok(Some(n * 1_000_000)),
        _ => Err(invalid("invalid timestamp", text)),
    }
}

/// Parses OpenTSDB telnet lines: `<metric> <timestamp> <value> <tagk>=<tagv> ...`.
pub fn parse_telnet(body: &str) -> Result<Vec<Point>, TdError> {
    let mut out = Vec::new();
    for line in body.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() < 3 {
            return Err(invalid("Invalid data format", line));
        }
        let ts_nanos = opentsdb_ts(parts[1], line)?;
        let (kind, val) = field_value(parts[2], line)?;
        let mut tags = Vec::new();
        for kv in &parts[3..] {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| invalid("Invalid data format", line))?;
            tags.push((k.to_string(), Kind::Nchar, Val::Str(v.to_string())));
        }
        out.push(Point {
            measurement: parts[0].to_string(),
            tags,
            fields: vec![("_value".into(), kind, val)],
            ts_nanos,
            text: line.to_string(),
            ts_column: "_ts",
        });
    }
    Ok(out)
}

fn json_val(v: &serde_json::Value, text: &str) -> Result<(Kind, Val), TdError> {
    Ok(match v {
        serde_json::Value::Number(n) => (
            Kind::Double,
            Val::Float(n.as_f64().ok_or_else(|| invalid("invalid value", text))?),
        ),
        serde_json::Value::String(s) => (Kind::Nchar, Val::Str(s.clone())),
        serde_json::Value::Bool(b) => (Kind::Bool, Val::Bool(*b)),
        serde_json::Value::Object(o) => match o.get("value") {
            Some(inner) => json_val(inner, text)?,
            None => return Err(invalid("invalid value", text)),
        },
        _ => return Err(invalid("invalid value", text)),
    })
}

fn json_point(o: &serde_json::Value) -> Result<Point, TdError> {
    let text = o.to_string();
    let metric = o
        .get("metric")
        .and_then(|m| m.as_str())
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid("invalid metric", &text))?;
    let ts = match o.get("timestamp") {
        Some(serde_json::Value::Number(n)) => opentsdb_ts(&n.to_string(), &text)?,
        Some(serde_json::Value::Object(t)) => match t.get("value") {
            Some(serde_json::Value::Number(n)) => opentsdb_ts(&n.to_string(), &text)?,
            _ => return Err(invalid("invalid timestamp", &text)),
        },
        _ => return Err(invalid("invalid timestamp", &text)),
    };
    let (kind, val) = json_val(
        o.get("value")
            .ok_or_else(|| invalid("invalid value", &text))?,
        &text,
    )?;
    let mut tags = Vec::new();
    if let Some(serde_json::Value::Object(t)) = o.get("tags") {
        for (k, v) in t {
            let (kind, val) = json_val(v, &text)?;
            tags.push((k.clone(), kind, val));
        }
    } else {
        return Err(invalid("invalid tags", &text));
    }
    Ok(Point {
        measurement: metric.to_string(),
        tags,
        fields: vec![("_value".into(), kind, val)],
        ts_nanos: ts,
        text,
        ts_column: "_ts",
    })
}

/// Parses OpenTSDB JSON: one or more documents (arrays of points or single points).
pub fn parse_json(body: &str) -> Result<Vec<Point>, TdError> {
    let mut out = Vec::new();
    for doc in serde_json::Deserializer::from_str(body).into_iter::<serde_json::Value>() {
        let doc = doc.map_err(|e| invalid("invalid json", &e.to_string()))?;
        match &doc {
            serde_json::Value::Array(items) => {
                for i in items {
                    out.push(json_point(i)?);
                }
            }
            serde_json::Value::Object(_) => out.push(json_point(&doc)?),
            _ => return Err(invalid("invalid json", &doc.to_string())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_fields_and_tags() {
        let p = parse_line(
            "meters,location=California.LosAngeles,groupid=2 current=11.8,voltage=221i32,name=\"a b\",n=L\"x\",ok=t 1648432611249",
            "ms",
        )
        .unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].measurement, "meters");
        assert_eq!(p[0].tags.len(), 2);
        assert_eq!(
            p[0].fields[0],
            ("current".into(), Kind::Double, Val::Float(11.8))
        );
        assert_eq!(p[0].fields[1], ("voltage".into(), Kind::Int, Val::Int(221)));
        assert_eq!(
            p[0].fields[2],
            ("name".into(), Kind::Varchar, Val::Str("a b".into()))
        );
        assert_eq!(p[0].fields[3].1, Kind::Nchar);
        assert_eq!(p[0].fields[4].2, Val::Bool(true));
        assert_eq!(p[0].ts_nanos, Some(1_648_432_611_249_000_000));
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(parse_line("meters", "").is_err());
        assert!(parse_line("meters current=abc 1", "").is_err());
        assert!(parse_telnet("m 1648432611249000 1 a=b").is_err());
    }
}
