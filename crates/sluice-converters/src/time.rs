//! Calendar arithmetic for the logical types, in UTC and the proleptic Gregorian calendar.
//!
//! Java formats `java.util.Date` in the JVM's default time zone; Connect workers are expected
//! to run in UTC, and the ISO-8601 forms Kafka writes end in a literal `Z`, so UTC is used
//! throughout. Dates before the Gregorian cutover (1582) are therefore printed proleptically,
//! where Java's `GregorianCalendar` would switch to the Julian calendar.

use std::fmt::Write as _;

use sluice_api::data::logical::MILLIS_PER_DAY;

/// Days since 1970-01-01 of a (year, month 1..=12, day 1..=31) civil date.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since the epoch of a lenient (year, month, day): months and days out of range roll
/// over as `SimpleDateFormat`'s lenient calendar does (month 13 is January of the next year,
/// day 0 the last day of the previous month).
pub(crate) fn lenient_days(year: i64, month: i64, day: i64) -> i64 {
    let months = year * 12 + (month - 1);
    let y = months.div_euclid(12);
    let m = months.rem_euclid(12) + 1;
    days_from_civil(y, m, 1) + day - 1
}

fn push_year(out: &mut String, year: i64) {
    if (0..10_000).contains(&year) {
        let _ = write!(out, "{year:04}");
    } else {
        let _ = write!(out, "{year}");
    }
}

/// `yyyy-MM-dd` of an epoch-millisecond instant.
pub(crate) fn push_date(out: &mut String, millis: i64) {
    let (y, m, d) = civil_from_days(millis.div_euclid(MILLIS_PER_DAY));
    push_year(out, y);
    let _ = write!(out, "-{m:02}-{d:02}");
}

/// `HH:mm:ss.SSS'Z'` of an epoch-millisecond instant.
pub(crate) fn push_time(out: &mut String, millis: i64) {
    let ms = millis.rem_euclid(MILLIS_PER_DAY);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    );
}

/// `java.util.Date.toString()` in UTC: `EEE MMM dd HH:mm:ss zzz yyyy`.
pub(crate) fn java_date_to_string(millis: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let ms = millis.rem_euclid(MILLIS_PER_DAY);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let month = MONTHS[(m - 1).clamp(0, 11) as usize];
    format!(
        "{weekday} {month} {d:02} {:02}:{:02}:{:02} UTC {y}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-719_468, -1, 0, 1, 19_675, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(19_675), (2023, 11, 14));
        assert_eq!(lenient_days(2023, 13, 1), days_from_civil(2024, 1, 1));
        assert_eq!(lenient_days(2024, 3, 0), days_from_civil(2024, 2, 29));
    }

    #[test]
    fn java_date_string() {
        assert_eq!(java_date_to_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(
            java_date_to_string(1_700_000_000_000),
            "Tue Nov 14 22:13:20 UTC 2023"
        );
    }
}
