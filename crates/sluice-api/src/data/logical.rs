//! The logical types Decimal, Date, Time and Timestamp (`org.apache.kafka.connect.data.*`).

use super::schema::{Schema, SchemaBuilder, SchemaRef};
use crate::error::{ConnectError, Result};

pub const DECIMAL_NAME: &str = "org.apache.kafka.connect.data.Decimal";
pub const DECIMAL_SCALE: &str = "scale";
pub const DATE_NAME: &str = "org.apache.kafka.connect.data.Date";
pub const TIME_NAME: &str = "org.apache.kafka.connect.data.Time";
pub const TIMESTAMP_NAME: &str = "org.apache.kafka.connect.data.Timestamp";

/// Milliseconds in a day.
pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// `Decimal.builder(scale)`: BYTES, version 1, parameter `scale`.
pub fn decimal_builder(scale: i32) -> SchemaBuilder {
    SchemaBuilder::bytes()
        .name(DECIMAL_NAME)
        .version(1)
        .parameter(DECIMAL_SCALE, scale.to_string())
}
/// `Decimal.schema(scale)`.
pub fn decimal(scale: i32) -> SchemaRef {
    decimal_builder(scale).build()
}
/// `Date.builder()`: INT32 days since the epoch.
pub fn date_builder() -> SchemaBuilder {
    SchemaBuilder::int32().name(DATE_NAME).version(1)
}
/// `Time.builder()`: INT32 milliseconds since midnight.
pub fn time_builder() -> SchemaBuilder {
    SchemaBuilder::int32().name(TIME_NAME).version(1)
}
/// `Timestamp.builder()`: INT64 milliseconds since the epoch.
pub fn timestamp_builder() -> SchemaBuilder {
    SchemaBuilder::int64().name(TIMESTAMP_NAME).version(1)
}

/// The scale of a Decimal schema.
pub fn decimal_scale(schema: &Schema) -> Result<i32> {
    let raw = schema
        .parameter(DECIMAL_SCALE)
        .ok_or_else(|| ConnectError::data("Invalid Decimal schema: scale parameter not found."))?;
    raw.parse::<i32>().map_err(|_| {
        ConnectError::data(format!(
            "Invalid scale parameter found in Decimal schema: {raw}"
        ))
    })
}

/// A decimal as an unscaled big-endian two's-complement integer and a scale: the value of a
/// Java `BigDecimal` in the form `Decimal.fromLogical` writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    /// Big-endian two's-complement bytes (`BigInteger.toByteArray()`), at least one byte.
    pub unscaled: Vec<u8>,
    pub scale: i32,
}

impl Decimal {
    /// From the bytes stored in a Decimal-schema value.
    pub fn from_bytes(bytes: &[u8], scale: i32) -> Self {
        let unscaled = if bytes.is_empty() {
            vec![0]
        } else {
            bytes.to_vec()
        };
        Decimal { unscaled, scale }
    }

    /// From an i128 unscaled value.
    pub fn from_i128(unscaled: i128, scale: i32) -> Self {
        Decimal {
            unscaled: minimal_twos_complement(unscaled),
            scale,
        }
    }

    /// Parses a plain decimal string such as `-12.340` or `1E+3` (Java's `new BigDecimal(s)`).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (mantissa, exp) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (neg, digits) = match mantissa.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let all: String = format!("{int_part}{frac_part}");
        let mut magnitude = BigUint::from_decimal(&all)?;
        if neg {
            magnitude.negative = true;
        }
        let scale = i32::try_from(frac_part.len()).ok()?.checked_sub(exp)?;
        Some(Decimal {
            unscaled: magnitude.to_twos_complement(),
            scale,
        })
    }

    /// Whether the unscaled value is negative.
    pub fn is_negative(&self) -> bool {
        self.unscaled.first().is_some_and(|b| b & 0x80 != 0)
    }

    /// The unscaled value as a decimal digit string with sign.
    pub fn unscaled_string(&self) -> String {
        let big = BigUint::from_twos_complement(&self.unscaled);
        let mut s = big.to_decimal();
        if big.negative && s != "0" {
            s.insert(0, '-');
        }
        s
    }

    /// Java's `BigDecimal.toString()`: plain when the scale is >= 0 and the adjusted exponent
    /// is >= -6, otherwise scientific notation (`1.23E+5`).
    pub fn to_java_string(&self) -> String {
        let unscaled = self.unscaled_string();
        let (neg, digits) = match unscaled.strip_prefix('-') {
            Some(d) => (true, d.to_string()),
            None => (false, unscaled),
        };
        let scale = i64::from(self.scale);
        let adjusted = -scale + (digits.len() as i64 - 1);
        let mut out = String::new();
        if neg {
            out.push('-');
        }
        if scale >= 0 && adjusted >= -6 {
            let len = digits.len() as i64;
            if scale == 0 {
                out.push_str(&digits);
            } else if len > scale {
                let point = (len - scale) as usize;
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            } else {
                out.push_str("0.");
                for _ in 0..(scale - len) {
                    out.push('0');
                }
                out.push_str(&digits);
            }
        } else {
            out.push_str(&digits[..1]);
            if digits.len() > 1 {
                out.push('.');
                out.push_str(&digits[1..]);
            }
            out.push('E');
            if adjusted >= 0 {
                out.push('+');
            }
            out.push_str(&adjusted.to_string());
        }
        out
    }

    /// The value as f64 (lossy).
    pub fn to_f64(&self) -> f64 {
        self.to_java_string().parse().unwrap_or(f64::NAN)
    }
}

fn minimal_twos_complement(v: i128) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < bytes.len() - 1 {
        let b = bytes[start];
        let next = bytes[start + 1];
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// A tiny arbitrary-precision magnitude with a sign, enough for decimal text conversion.
struct BigUint {
    /// Little-endian base-2^32 limbs.
    limbs: Vec<u32>,
    negative: bool,
}

impl BigUint {
    fn from_decimal(digits: &str) -> Option<Self> {
        let mut limbs: Vec<u32> = vec![0];
        for b in digits.bytes() {
            let d = u64::from(b.checked_sub(b'0')?);
            let mut carry = d;
            for limb in limbs.iter_mut() {
                let v = u64::from(*limb) * 10 + carry;
                *limb = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                limbs.push(carry as u32);
            }
        }
        Some(BigUint {
            limbs,
            negative: false,
        })
    }

    fn is_zero(&self) -> bool {
        self.limbs.iter().all(|l| *l == 0)
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut limbs = self.limbs.clone();
        let mut out = Vec::new();
        while limbs.iter().any(|l| *l != 0) {
            let mut rem: u64 = 0;
            for limb in limbs.iter_mut().rev() {
                let cur = (rem << 32) | u64::from(*limb);
                *limb = (cur / 10) as u32;
                rem = cur % 10;
            }
            out.push(b'0' + rem as u8);
        }
        out.reverse();
        String::from_utf8(out).unwrap_or_default()
    }

    /// Magnitude bytes big-endian, then two's complement with a sign byte as needed.
    fn to_twos_complement(&self) -> Vec<u8> {
        let mut be: Vec<u8> = self
            .limbs
            .iter()
            .rev()
            .flat_map(|l| l.to_be_bytes())
            .collect();
        while be.len() > 1 && be[0] == 0 {
            be.remove(0);
        }
        if !self.negative || self.is_zero() {
            if be[0] & 0x80 != 0 {
                be.insert(0, 0);
            }
            return be;
        }
        // Negate: invert and add one, then make sure the sign bit is set.
        if be[0] & 0x80 != 0 {
            be.insert(0, 0);
        }
        for b in be.iter_mut() {
            *b = !*b;
        }
        for b in be.iter_mut().rev() {
            let (v, overflow) = b.overflowing_add(1);
            *b = v;
            if !overflow {
                break;
            }
        }
        while be.len() > 1 && be[0] == 0xff && be[1] & 0x80 != 0 {
            be.remove(0);
        }
        be
    }

    fn from_twos_complement(bytes: &[u8]) -> Self {
        let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
        let mut mag = bytes.to_vec();
        if negative {
            for b in mag.iter_mut() {
                *b = !*b;
            }
            for b in mag.iter_mut().rev() {
                let (v, overflow) = b.overflowing_add(1);
                *b = v;
                if !overflow {
                    break;
                }
            }
        }
        let mut limbs = Vec::new();
        for chunk in mag.rchunks(4) {
            let mut buf = [0u8; 4];
            buf[4 - chunk.len()..].copy_from_slice(chunk);
            limbs.push(u32::from_be_bytes(buf));
        }
        if limbs.is_empty() {
            limbs.push(0);
        }
        BigUint { limbs, negative }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_bytes_match_java() {
        // new BigDecimal("12.34").unscaledValue().toByteArray() == {0x04, 0xD2}
        let d = Decimal::parse("12.34").unwrap();
        assert_eq!(d.unscaled, vec![0x04, 0xD2]);
        assert_eq!(d.scale, 2);
        // -1 -> {0xFF}; 128 -> {0x00, 0x80}; -129 -> {0xFF, 0x7F}
        assert_eq!(Decimal::parse("-1").unwrap().unscaled, vec![0xFF]);
        assert_eq!(Decimal::parse("128").unwrap().unscaled, vec![0x00, 0x80]);
        assert_eq!(Decimal::parse("-129").unwrap().unscaled, vec![0xFF, 0x7F]);
        assert_eq!(Decimal::from_i128(-129, 0).unscaled, vec![0xFF, 0x7F]);
        assert_eq!(Decimal::from_i128(0, 0).unscaled, vec![0x00]);
    }

    #[test]
    fn decimal_strings_match_java() {
        for (text, java) in [
            ("12.34", "12.34"),
            ("-0.001", "-0.001"),
            ("1E+3", "1E+3"),
            ("0.00000001", "1E-8"),
            (
                "123456789012345678901234567890.5",
                "123456789012345678901234567890.5",
            ),
            (
                "-123456789012345678901234567890",
                "-123456789012345678901234567890",
            ),
        ] {
            assert_eq!(
                Decimal::parse(text).unwrap().to_java_string(),
                java,
                "{text}"
            );
        }
        assert!(Decimal::parse("1.2.3").is_none());
        assert!(Decimal::parse("abc").is_none());
    }
}
