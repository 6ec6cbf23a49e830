//! A subset of Java's `SimpleDateFormat`, always in UTC, for TimestampRouter and
//! TimestampConverter.
//!
//! Supported letters: `G y M L d D E u a H k K h m s S z Z X`, quoting with `'...'` and `''`.
//! The other letters Java knows (`Y w W F`) are rejected with a config error rather than
//! silently formatted wrong. Dates use the proleptic Gregorian calendar (Java switches to
//! Julian before 1582-10-15). Parsing is lenient about field ranges like Java's default
//! (month 13 rolls into the next year) and ignores trailing text, as `DateFormat.parse` does.

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MILLIS_PER_DAY: i64 = 86_400_000;
const SUPPORTED: &str = "GyMLdDEuaHkKhmsSzZX";
const JAVA_ONLY: &str = "YwWF";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Literal(String),
    Field { letter: char, count: usize },
}

impl Item {
    fn is_numeric(&self) -> bool {
        match self {
            Item::Field { letter, count } => match letter {
                'M' | 'L' => *count <= 2,
                'y' | 'd' | 'D' | 'u' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' => true,
                _ => false,
            },
            Item::Literal(_) => false,
        }
    }
}

/// A compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DateFormat {
    pattern: String,
    items: Vec<Item>,
}

impl DateFormat {
    /// Compiles a pattern; the error says what is wrong with it.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut items: Vec<Item> = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("Unterminated quote".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            literal.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            literal.push(other);
                            i += 1;
                        }
                    }
                }
            } else if c.is_ascii_alphabetic() {
                if JAVA_ONLY.contains(c) {
                    return Err(format!(
                        "Unsupported pattern letter '{c}'; supported letters are {}",
                        SUPPORTED
                            .chars()
                            .map(String::from)
                            .collect::<Vec<_>>()
                            .join(" ")
                    ));
                }
                if !SUPPORTED.contains(c) {
                    return Err(format!("Illegal pattern character '{c}'"));
                }
                let mut count = 1;
                while chars.get(i + count) == Some(&c) {
                    count += 1;
                }
                if !literal.is_empty() {
                    items.push(Item::Literal(std::mem::take(&mut literal)));
                }
                items.push(Item::Field { letter: c, count });
                i += count;
            } else {
                literal.push(c);
                i += 1;
            }
        }
        if !literal.is_empty() {
            items.push(Item::Literal(literal));
        }
        Ok(DateFormat {
            pattern: pattern.to_string(),
            items,
        })
    }

    /// The pattern text (`toPattern()`).
    pub(crate) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats milliseconds since the epoch.
    pub(crate) fn format(&self, millis: i64) -> String {
        let days = millis.div_euclid(MILLIS_PER_DAY);
        let ms_of_day = millis.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let hour = ms_of_day / 3_600_000;
        let minute = ms_of_day / 60_000 % 60;
        let second = ms_of_day / 1000 % 60;
        let milli = ms_of_day % 1000;
        let weekday = (days + 4).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
        let (era_bc, year_of_era) = if year <= 0 {
            (true, 1 - year)
        } else {
            (false, year)
        };
        let mut out = String::new();
        for item in &self.items {
            let (letter, count) = match item {
                Item::Literal(s) => {
                    out.push_str(s);
                    continue;
                }
                Item::Field { letter, count } => (*letter, *count),
            };
            let num = |out: &mut String, v: i64| out.push_str(&format!("{v:0count$}"));
            match letter {
                'G' => out.push_str(if era_bc { "BC" } else { "AD" }),
                'y' => {
                    if count == 2 {
                        out.push_str(&format!("{:02}", year_of_era % 100));
                    } else {
                        num(&mut out, year_of_era);
                    }
                }
                'M' | 'L' => {
                    let name = MONTHS[(month - 1) as usize];
                    match count {
                        c if c >= 4 => out.push_str(name),
                        3 => out.push_str(&name[..3]),
                        _ => num(&mut out, i64::from(month)),
                    }
                }
                'd' => num(&mut out, i64::from(day)),
                'D' => num(&mut out, days - days_from_civil(year, 1, 1) + 1),
                'E' => {
                    let name = DAYS[weekday];
                    out.push_str(if count >= 4 { name } else { &name[..3] });
                }
                'u' => num(&mut out, if weekday == 0 { 7 } else { weekday as i64 }),
                'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                'H' => num(&mut out, hour),
                'k' => num(&mut out, if hour == 0 { 24 } else { hour }),
                'K' => num(&mut out, hour % 12),
                'h' => num(&mut out, if hour % 12 == 0 { 12 } else { hour % 12 }),
                'm' => num(&mut out, minute),
                's' => num(&mut out, second),
                'S' => num(&mut out, milli),
                'z' => out.push_str(if count >= 4 {
                    "Coordinated Universal Time"
                } else {
                    "UTC"
                }),
                'Z' => out.push_str("+0000"),
                'X' => out.push('Z'),
                _ => {}
            }
        }
        out
    }

    /// Parses text to milliseconds since the epoch; `None` when it does not match.
    pub(crate) fn parse(&self, text: &str) -> Option<i64> {
        let chars: Vec<char> = text.chars().collect();
        let mut pos = 0usize;
        let mut f = Fields::default();
        for (idx, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal(lit) => {
                    for c in lit.chars() {
                        if chars.get(pos) != Some(&c) {
                            return None;
                        }
                        pos += 1;
                    }
                }
                Item::Field { letter, count } => {
                    let abutting = self.items.get(idx + 1).is_some_and(Item::is_numeric);
                    if item.is_numeric() {
                        let (v, digits) =
                            parse_number(&chars, &mut pos, abutting.then_some(*count))?;
                        f.set_numeric(*letter, *count, v, digits);
                    } else {
                        f.set_text(*letter, &chars, &mut pos)?;
                    }
                }
            }
        }
        f.to_millis()
    }
}

/// Parsed calendar fields, Java's defaults for those not given.
#[derive(Default)]
struct Fields {
    year: Option<i64>,
    ambiguous_year: bool,
    bc: bool,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour_of_day: Option<i64>,
    hour12: Option<i64>,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    milli: i64,
    offset_millis: i64,
}

impl Fields {
    fn set_numeric(&mut self, letter: char, count: usize, v: i64, digits: usize) {
        match letter {
            'y' => {
                self.year = Some(v);
                self.ambiguous_year = count <= 2 && digits == 2;
            }
            'M' | 'L' => self.month = Some(v),
            'd' => self.day = Some(v),
            'D' => self.day_of_year = Some(v),
            'H' => self.hour_of_day = Some(v),
            'k' => self.hour_of_day = Some(if v == 24 { 0 } else { v }),
            'K' => self.hour12 = Some(v),
            'h' => self.hour12 = Some(if v == 12 { 0 } else { v }),
            'm' => self.minute = v,
            's' => self.second = v,
            'S' => self.milli = v,
            _ => {}
        }
    }

    fn set_text(&mut self, letter: char, chars: &[char], pos: &mut usize) -> Option<()> {
        match letter {
            'M' | 'L' => {
                let full = match_word(chars, pos, &MONTHS, None);
                let i = full.or_else(|| match_word(chars, pos, &MONTHS, Some(3)))?;
                self.month = Some(i as i64 + 1);
            }
            'E' => {
                match_word(chars, pos, &DAYS, None)
                    .or_else(|| match_word(chars, pos, &DAYS, Some(3)))?;
            }
            'a' => self.pm = Some(match_word(chars, pos, &["AM", "PM"], None)? == 1),
            'G' => self.bc = match_word(chars, pos, &["AD", "BC"], None)? == 1,
            'z' | 'Z' | 'X' => self.offset_millis = parse_zone(chars, pos)?,
            _ => return None,
        }
        Some(())
    }

    fn to_millis(&self) -> Option<i64> {
        let mut year = self.year.unwrap_or(1970);
        if self.ambiguous_year {
            // Java resolves two-digit years into the century starting 80 years ago.
            let start = current_year() - 80;
            year += start / 100 * 100;
            if year < start {
                year += 100;
            }
        }
        if self.bc {
            year = 1 - year;
        }
        let days = match (self.day_of_year, self.month, self.day) {
            (Some(doy), None, None) => days_from_civil(year, 1, 1).checked_add(doy - 1)?,
            _ => {
                let months = year
                    .checked_mul(12)?
                    .checked_add(self.month.unwrap_or(1) - 1)?;
                let (y, m) = (months.div_euclid(12), months.rem_euclid(12) + 1);
                days_from_civil(y, m as u32, 1).checked_add(self.day.unwrap_or(1) - 1)?
            }
        };
        let hour = match (self.hour_of_day, self.hour12) {
            (Some(h), _) => h,
            (None, Some(h)) => h + if self.pm == Some(true) { 12 } else { 0 },
            (None, None) => {
                if self.pm == Some(true) {
                    12
                } else {
                    0
                }
            }
        };
        let ms = hour
            .checked_mul(3_600_000)?
            .checked_add(self.minute.checked_mul(60_000)?)?
            .checked_add(self.second.checked_mul(1000)?)?
            .checked_add(self.milli)?;
        days.checked_mul(MILLIS_PER_DAY)?
            .checked_add(ms)?
            .checked_sub(self.offset_millis)
    }
}

fn parse_number(chars: &[char], pos: &mut usize, width: Option<usize>) -> Option<(i64, usize)> {
    let start = *pos;
    let negative = width.is_none() && chars.get(start) == Some(&'-');
    let mut i = if negative { start + 1 } else { start };
    let digits_start = i;
    let limit = width.map_or(usize::MAX, |w| digits_start + w);
    while i < chars.len() && i < limit && chars[i].is_ascii_digit() {
        i += 1;
    }
    let digits = i - digits_start;
    if digits == 0 || digits > 18 {
        return None;
    }
    let s: String = chars[digits_start..i].iter().collect();
    let v: i64 = s.parse().ok()?;
    *pos = i;
    Some((if negative { -v } else { v }, digits))
}

/// Case-insensitive match of one of `words` (optionally only their first `prefix` chars);
/// the index of the longest match.
fn match_word(
    chars: &[char],
    pos: &mut usize,
    words: &[&str],
    prefix: Option<usize>,
) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, w) in words.iter().enumerate() {
        let w: Vec<char> = match prefix {
            Some(n) => w.chars().take(n).collect(),
            None => w.chars().collect(),
        };
        let end = *pos + w.len();
        if end <= chars.len()
            && chars[*pos..end]
                .iter()
                .zip(&w)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
            && best.is_none_or(|(_, len)| w.len() > len)
        {
            best = Some((i, w.len()));
        }
    }
    let (i, len) = best?;
    *pos += len;
    Some(i)
}

/// `UTC`, `GMT`, `Z`, optionally followed by (or just) `+hh`, `+hhmm`, `+hh:mm`.
fn parse_zone(chars: &[char], pos: &mut usize) -> Option<i64> {
    let rest: String = chars[*pos..].iter().collect();
    let mut consumed = 0;
    for name in ["UTC", "GMT"] {
        if rest.starts_with(name) {
            consumed = 3;
            break;
        }
    }
    if consumed == 0 && rest.starts_with('Z') {
        *pos += 1;
        return Some(0);
    }
    let after = &rest[consumed..];
    let sign = match after.chars().next() {
        Some('+') => 1,
        Some('-') => -1,
        _ if consumed > 0 => {
            *pos += consumed;
            return Some(0);
        }
        _ => return None,
    };
    let body: Vec<char> = after.chars().skip(1).collect();
    let digit = |i: usize| body.get(i).and_then(|c| c.to_digit(10)).map(i64::from);
    let hh = digit(0)? * 10 + digit(1)?;
    let (mm, len) = if body.get(2) == Some(&':') {
        (digit(3)? * 10 + digit(4)?, 5)
    } else if let (Some(a), Some(b)) = (digit(2), digit(3)) {
        (a * 10 + b, 4)
    } else {
        (0, 2)
    };
    *pos += consumed + 1 + len;
    Some(sign * (hh * 3_600_000 + mm * 60_000))
}

fn current_year() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    civil_from_days(secs.div_euclid(86_400)).0
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day number since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

#[cfg(test)]
mod tests {
    use super::*;

    // 2017-01-03T06:30:01.864Z, a Tuesday.
    const TS: i64 = 1_483_425_001_864;

    #[test]
    fn formats() {
        let cases = [
            ("yyyyMMdd", "20170103"),
            ("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "2017-01-03T06:30:01.864Z"),
            ("yy-M-d H:m:s.S", "17-1-3 6:30:1.864"),
            ("EEE, d MMM yyyy hh:mm a z", "Tue, 3 Jan 2017 06:30 AM UTC"),
            ("EEEE MMMM D G", "Tuesday January 3 AD"),
            ("'o''clock' '' kk KK u Z X", "o'clock ' 06 06 2 +0000 Z"),
            (
                "yyyy.MM.dd G 'at' HH:mm:ss z",
                "2017.01.03 AD at 06:30:01 UTC",
            ),
        ];
        for (p, want) in cases {
            assert_eq!(DateFormat::new(p).unwrap().format(TS), want, "{p}");
        }
        assert_eq!(
            DateFormat::new("yyyy-MM-dd HH:mm:ss.SSS")
                .unwrap()
                .format(-1),
            "1969-12-31 23:59:59.999"
        );
    }

    #[test]
    fn parses() {
        let cases: [(&str, &str, i64); 8] = [
            ("yyyyMMdd", "20170103", 1_483_401_600_000),
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
                "2017-01-03T06:30:01.864Z",
                TS,
            ),
            ("yyyy-MM-dd HH:mm:ss.SSS", "2017-01-03 06:30:01.864", TS),
            (
                "yyyy-MM-dd HH:mm:ss.SSSXXX",
                "2017-01-03 07:30:01.864+01:00",
                TS,
            ),
            (
                "dd MMM yyyy hh:mm:ss.SSS a",
                "03 jan 2017 06:30:01.864 AM",
                TS,
            ),
            ("yyyy-MM-dd", "2017-13-01", 1_514_764_800_000), // lenient: 2018-01-01
            ("HH:mm:ss.SSS", "06:30:01.864", 23_401_864),
            ("yyyy-MM-dd", "2017-01-03 trailing", 1_483_401_600_000),
        ];
        for (p, text, want) in cases {
            assert_eq!(
                DateFormat::new(p).unwrap().parse(text),
                Some(want),
                "{p} {text}"
            );
        }
        assert_eq!(
            DateFormat::new("yyyy-MM-dd").unwrap().parse("not a date"),
            None
        );
        assert_eq!(DateFormat::new("yyyyMMdd").unwrap().parse("2017"), None);
    }

    #[test]
    fn rejects_bad_patterns() {
        assert_eq!(
            DateFormat::new("yyyy-bb").unwrap_err(),
            "Illegal pattern character 'b'"
        );
        assert_eq!(DateFormat::new("'abc").unwrap_err(), "Unterminated quote");
        assert!(DateFormat::new("YYYY-ww")
            .unwrap_err()
            .starts_with("Unsupported pattern letter 'Y'"));
    }

    #[test]
    fn civil_round_trip() {
        for d in [-800_000, -1, 0, 1, 17_169, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(civil_from_days(17_169), (2017, 1, 3));
    }
}
