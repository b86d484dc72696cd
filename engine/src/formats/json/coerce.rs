//! ksqlDB's lenient coercions of JSON text and numbers to column types
//! (numeric strings, integral text, TIME bounds, Java's number text).

use super::error::JErr;
use super::write::map_key_text;
use crate::error::Result;
use crate::types::{Decimal, SqlType, Value};
use base64::Engine as _;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Milliseconds in a day: the upper bound of a TIME value.
const MS_PER_DAY: i64 = 86_400_000;

/// Adds a map entry, replacing the value of an equal key already present
/// (JSON objects may repeat a name; the last one wins).
pub(super) fn insert_unique(
    entries: &mut Vec<(Value, Value)>,
    index: &mut Option<HashMap<String, usize>>,
    key_text: &str,
    k: Value,
    v: Value,
) {
    const INDEX_FROM: usize = 8;
    if let Some(ix) = index {
        if let Some(&i) = ix.get(key_text) {
            entries[i].1 = v;
        } else {
            ix.insert(key_text.to_string(), entries.len());
            entries.push((k, v));
        }
        return;
    }
    if let Some(e) = entries.iter_mut().find(|(ek, _)| ek.sql_eq(&k)) {
        e.1 = v;
        return;
    }
    entries.push((k, v));
    if entries.len() >= INDEX_FROM {
        let mut ix = HashMap::with_capacity(entries.len() * 2);
        for (i, (ek, _)) in entries.iter().enumerate() {
            ix.insert(map_key_text(ek).into_owned(), i);
        }
        *index = Some(ix);
    }
}

pub(super) fn coerce_string_error(ty: &SqlType) -> JErr {
    JErr::coerce(format!("Can't coerce string to type. targetType: {ty}"))
}

/// Converts text (a map key, say) to a primitive SQL type.
pub(super) fn coerce_text(s: &str, ty: &SqlType) -> Result<Value, JErr> {
    let bad = || coerce_string_error(ty);
    Ok(match ty {
        SqlType::String | SqlType::Any => Value::String(s.to_string()),
        SqlType::Int => Value::Int(s.parse().map_err(|_| bad())?),
        SqlType::BigInt => Value::BigInt(s.parse().map_err(|_| bad())?),
        SqlType::Double => Value::Double(parse_java_double(s).ok_or_else(bad)?),
        SqlType::Boolean => match s {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad()),
        },
        SqlType::Decimal(p, sc) => decimal_value(s, *p, *sc).map_err(JErr::coerce)?,
        SqlType::Date => Value::Date(s.parse().map_err(|_| bad())?),
        SqlType::Time => time_value(s.parse().map_err(|_| bad())?).map_err(JErr::coerce)?,
        SqlType::Timestamp => Value::Timestamp(s.parse().map_err(|_| bad())?),
        SqlType::Bytes => Value::Bytes(decode_base64(s).ok_or_else(bad)?),
        _ => return Err(bad()),
    })
}

/// True for a JSON number without fraction or exponent.
pub(super) fn is_integral_text(t: &str) -> bool {
    !t.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
}

/// A JSON number as Java's `longValue()` gives it: fractions truncated
/// toward zero, wider integers wrapped to their low 64 bits.
pub(super) fn number_to_i64(t: &str) -> i64 {
    if is_integral_text(t) {
        let (neg, digits) = match t.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, t),
        };
        let mut acc: i64 = 0;
        for b in digits.bytes() {
            acc = acc
                .wrapping_mul(10)
                .wrapping_add(i64::from(b.wrapping_sub(b'0')));
        }
        if neg {
            acc.wrapping_neg()
        } else {
            acc
        }
    } else {
        match parse_decimal(t) {
            Some(d) => d.trunc_i128() as i64,
            None => t.parse::<f64>().map(|f| f as i64).unwrap_or(0),
        }
    }
}

pub(super) fn time_value(ms: i64) -> Result<Value, String> {
    if (0..=MS_PER_DAY).contains(&ms) {
        Ok(Value::Time(ms))
    } else {
        Err(format!(
            "Time values must use number of milliseconds greater than 0 and less than {MS_PER_DAY}."
        ))
    }
}

/// Parses a decimal literal as Java's `new BigDecimal(String)` accepts it
/// (sign, digits, optional point, optional exponent; no spaces), guarding
/// against exponents too large for 38 digits.
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    if text.is_empty() || text.trim() != text {
        return None;
    }
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i64>().ok()?),
        None => (text, 0),
    };
    let digits = mantissa.trim_start_matches(['+', '-']);
    if mantissa.len() - digits.len() > 1 {
        return None;
    }
    let frac_len = digits.find('.').map_or(0, |i| digits.len() - i - 1) as i64;
    let all_zero = digits.bytes().all(|b| b == b'0' || b == b'.');
    if all_zero && digits.bytes().any(|b| b == b'0') {
        return Some(Decimal::new(0, (frac_len - exp).clamp(0, 38) as u8));
    }
    let scale = frac_len - exp;
    if !(-38..=1000).contains(&scale) || exp.abs() > 1000 {
        return None;
    }
    Decimal::parse(text)
}

/// A DECIMAL(p, s) value from decimal text, rounded HALF_UP to the scale,
/// or ksqlDB's overflow message.
pub(crate) fn decimal_value(text: &str, precision: u8, scale: u8) -> Result<Value, String> {
    let overflow = || {
        format!(
            "Numeric field overflow: A field with precision {precision} and scale {scale} \
             must round to an absolute value less than 10^{}. Got {text}",
            precision.saturating_sub(scale)
        )
    };
    // A well-formed literal only fails to parse when out of range.
    let d = parse_decimal(text).ok_or_else(overflow)?;
    d.fit(precision.min(38), scale.min(38))
        .map(Value::Decimal)
        .ok_or_else(overflow)
}

/// Parses a double as Java's `Double.parseDouble` does: surrounding
/// whitespace ignored, `NaN` / `Infinity` spelled Java's way, an optional
/// trailing `d` / `f` type suffix.
pub(crate) fn parse_java_double(text: &str) -> Option<f64> {
    let t = text.trim_matches(|c: char| c <= ' ');
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    match body {
        "NaN" => return Some(f64::NAN),
        "Infinity" => return Some(sign * f64::INFINITY),
        _ => {}
    }
    let body = body.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(body);
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        || !body.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    body.parse::<f64>().ok().map(|v| sign * v)
}

/// Decodes base64 (standard alphabet, padding optional, as Java's decoder).
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(s).ok()
}

/// The text Jackson gives a JSON number: integers in canonical form, other
/// numbers as Java's `BigDecimal.toString()` (exact digits, exponent form
/// for very large or small magnitudes: `1E+3`, `1E-7`).
pub(super) fn java_number_text(t: &str) -> Cow<'_, str> {
    if is_integral_text(t) {
        return if t == "-0" {
            Cow::Borrowed("0")
        } else {
            Cow::Borrowed(t)
        };
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (t, 0),
    };
    let (neg, m) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let (int_part, frac_part) = m.split_once('.').unwrap_or((m, ""));
    let mut digits: String = int_part.chars().chain(frac_part.chars()).collect();
    let trimmed = digits.trim_start_matches('0').len();
    digits.drain(..digits.len() - trimmed);
    if digits.is_empty() {
        digits.push('0');
    }
    let scale = frac_part.len() as i64 - exp;
    let n = digits.len() as i64;
    let adjusted = n - 1 - scale;
    let mut out = String::with_capacity(digits.len() + 8);
    if neg && digits != "0" {
        out.push('-');
    }
    if scale >= 0 && adjusted >= -6 {
        if scale == 0 {
            out.push_str(&digits);
        } else if n > scale {
            let cut = (n - scale) as usize;
            out.push_str(&digits[..cut]);
            out.push('.');
            out.push_str(&digits[cut..]);
        } else {
            out.push_str("0.");
            for _ in 0..(scale - n) {
                out.push('0');
            }
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('E');
        if adjusted >= 0 {
            out.push('+');
        }
        let _ = write!(out, "{adjusted}");
    }
    Cow::Owned(out)
}
