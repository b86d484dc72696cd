//! Writing values as JSON text: records, nested values, escaped strings,
//! non-finite doubles and map keys as Jackson writes them.

use crate::types::Value;
use base64::Engine as _;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Renders a SQL value as the JSON the format writes: DECIMAL as a number
/// (through `f64`; [`write_json`] keeps every digit), BYTES as base64,
/// DATE / TIME / TIMESTAMP as integers, MAP and STRUCT as objects,
/// non-finite doubles as the strings `NaN`, `Infinity`, `-Infinity`.
pub fn value_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::BigInt(i) => J::from(*i),
        Value::Double(d) => match serde_json::Number::from_f64(*d) {
            Some(n) => J::Number(n),
            None => J::String(non_finite_name(*d).to_string()),
        },
        Value::Decimal(d) => {
            if d.scale == 0 {
                if let Ok(i) = i64::try_from(d.unscaled) {
                    return J::from(i);
                }
            }
            serde_json::Number::from_f64(d.to_f64())
                .map(J::Number)
                .unwrap_or(J::Null)
        }
        Value::String(s) => J::String(s.clone()),
        Value::Bytes(b) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Date(d) => J::from(*d),
        Value::Time(t) => J::from(*t),
        Value::Timestamp(t) => J::from(*t),
        Value::Array(items) => J::Array(items.iter().map(value_to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (map_key_text(k).into_owned(), value_to_json(v)))
                .collect(),
        ),
        Value::Struct(fields) => J::Object(
            fields
                .iter()
                .map(|(n, v)| (n.clone(), value_to_json(v)))
                .collect(),
        ),
    }
}

/// Appends the JSON text of `v` to `out`, as the format writes it (see
/// [`value_to_json`]), keeping DECIMAL digits exactly (`10.50`).
pub fn write_json(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Value::BigInt(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Value::Double(d) => {
            if d.is_finite() {
                // Debug keeps a fractional part or uses an exponent: always a
                // valid JSON number that reads back as the same double.
                let _ = write!(out, "{d:?}");
            } else {
                write_json_string(out, non_finite_name(*d));
            }
        }
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Value::String(s) => write_json_string(out, s),
        Value::Bytes(b) => {
            out.push('"');
            base64::engine::general_purpose::STANDARD.encode_string(b, out);
            out.push('"');
        }
        Value::Date(d) => out.push_str(itoa::Buffer::new().format(*d)),
        Value::Time(t) | Value::Timestamp(t) => out.push_str(itoa::Buffer::new().format(*t)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, &map_key_text(k));
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
        Value::Struct(fields) => {
            out.push('{');
            for (i, (n, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, n);
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
    }
}

/// Appends `s` as a quoted JSON string, escaping as Jackson does: quotes,
/// backslashes and control characters.
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while let Some(at) = next_escape(bytes, i) {
        let b = bytes[at];
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            _ => "",
        };
        out.push_str(&s[start..at]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04X}", b);
        } else {
            out.push_str(esc);
        }
        start = at + 1;
        i = at + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// The position of the first byte at or after `from` that a JSON string
/// must escape (`"`, `\`, or below 0x20). Eight bytes are tested at a time.
pub(super) fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    let mut i = from;
    while i + 8 <= bytes.len() {
        let w = u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        // A byte of `x` is zero exactly when the high bit of its lane in
        // `(x - ONES) & !x & HIGH` is set (no false positives below the
        // first real match, which is all that is needed to find it).
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
        let quote = zero(w ^ (ONES * b'"' as u64));
        let backslash = zero(w ^ (ONES * b'\\' as u64));
        // Bytes below 0x20: (b - 0x20) borrows into the high bit, for
        // bytes whose own high bit is clear.
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        if quote | backslash | control != 0 {
            if let Some(p) = bytes[i..i + 8].iter().position(|&b| needs(b)) {
                return Some(i + p);
            }
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| needs(b)).map(|p| i + p)
}

pub(super) fn non_finite_name(d: f64) -> &'static str {
    if d.is_nan() {
        "NaN"
    } else if d > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

pub(super) fn map_key_text(k: &Value) -> Cow<'_, str> {
    match k {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_string()),
    }
}
