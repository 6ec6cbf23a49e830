//! Calendar arithmetic for timestamps (UTC only; the server has no time zones).

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

/// The date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Units per second of a precision (`ms` 10^3, `us` 10^6, `ns` 10^9).
pub fn per_second(precision: &str) -> i64 {
    match precision {
        "us" => 1_000_000,
        "ns" => 1_000_000_000,
        _ => 1_000,
    }
}

/// RFC 3339 in UTC with 3, 6 or 9 fraction digits, as taosAdapter's REST API prints.
pub fn rfc3339(ts: i64, precision: &str) -> String {
    let per = per_second(precision);
    let secs = ts.div_euclid(per);
    let frac = ts.rem_euclid(per);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let digits = match per {
        1_000 => 3,
        1_000_000 => 6,
        _ => 9,
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:0digits$}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
    )
}

/// Parses `YYYY-MM-DD[ T]HH:MM:SS[.fraction][Z]` (UTC) into units of `precision`.
pub fn parse_datetime(text: &str, precision: &str) -> Option<i64> {
    let t = text.trim().trim_end_matches('Z');
    let (date, time) = t.split_once([' ', 'T']).unwrap_or((t, "00:00:00"));
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let mo: i64 = dp.next()?.parse().ok()?;
    let d: i64 = dp.next()?.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut tp = hms.split(':');
    let h: i64 = tp.next()?.parse().ok()?;
    let mi: i64 = tp.next()?.parse().ok()?;
    let s: i64 = tp.next().unwrap_or("0").parse().ok()?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    if !frac.chars().all(|c| c.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let mut nanos: i64 = 0;
    for (i, c) in frac.chars().enumerate() {
        nanos += i64::from(c.to_digit(10)?) * 10i64.pow(8 - i as u32);
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    let per = per_second(precision);
    Some(secs * per + nanos / (1_000_000_000 / per))
}

/// Now in units of `precision`.
pub fn now(precision: &str) -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let nanos = d.as_nanos() as i64;
    nanos / (1_000_000_000 / per_second(precision))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(rfc3339(1_538_577_485_000, "ms"), "2018-10-03T14:38:05.000Z");
        assert_eq!(
            parse_datetime("2018-10-03 14:38:05.000", "ms"),
            Some(1_538_577_485_000)
        );
        assert_eq!(
            parse_datetime("2022-03-28T01:56:51.249000000Z", "ns"),
            Some(1_648_432_611_249_000_000)
        );
        assert_eq!(
            rfc3339(1_648_432_611_249_000_000, "ns"),
            "2022-03-28T01:56:51.249000000Z"
        );
    }
}
