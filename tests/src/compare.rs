//! Comparing what the engine produced with what a case expects: JSON
//! equality with numbers compared by value, output records, and rendering of
//! engine values as the REST API's JSON.

use crate::case::{ExpectedRecord, HeaderSpec, WindowSpec};
use base64::Engine as _;
use serde_json::Value as Json;
use sluice_engine::types::Value;

/// An output record as observed, decoded to case-JSON convention.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedRecord {
    /// Decoded key.
    pub key: Json,
    /// Decoded value (null for a tombstone).
    pub value: Json,
    /// Record timestamp, ms.
    pub timestamp: i64,
    /// The window of a windowed key, when the engine reports it.
    pub window: Option<WindowSpec>,
    /// Record headers.
    pub headers: Vec<HeaderSpec>,
}

/// JSON equality where numbers compare by value (`1.0 == 1`) and objects
/// compare as maps (field order ignored). A field missing under its exact
/// name is looked up ignoring case: ksqlDB's JSON reader matches column
/// names that way, so its cases write them in either case.
pub fn json_eq(expected: &Json, actual: &Json) -> bool {
    match (expected, actual) {
        (Json::Number(a), Json::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (a.as_u64(), b.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => match (a.as_f64(), b.as_f64()) {
                    (Some(x), Some(y)) => x == y || (x - y).abs() <= f64::EPSILON * x.abs(),
                    _ => false,
                },
            },
        },
        // ksqlDB's cases write DECIMAL results as strings ("005.4"); the
        // value compares as the number it denotes.
        (Json::String(text), Json::Number(n)) => match (text.trim().parse::<f64>(), n.as_f64()) {
            (Ok(x), Some(y)) => x == y,
            _ => false,
        },
        (Json::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_eq(x, y))
        }
        (Json::Object(a), Json::Object(b)) => {
            a.len() == b.len()
                && a.iter().all(|(k, v)| {
                    b.get(k)
                        .or_else(|| {
                            b.iter()
                                .find(|(bk, _)| bk.eq_ignore_ascii_case(k))
                                .map(|(_, w)| w)
                        })
                        .is_some_and(|w| json_eq(v, w))
                })
        }
        _ => expected == actual,
    }
}

/// Shortens text for a one-line reason.
pub fn clip(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max).collect();
        s.push('…');
        s
    }
}

fn render_window(w: &Option<WindowSpec>) -> String {
    match w {
        Some(w) => format!(" window={}[{},{}]", w.kind, w.start, w.end),
        None => String::new(),
    }
}

fn render_expected(e: &ExpectedRecord) -> String {
    let mut s = format!("key={} value={}", e.key, e.value);
    if let Some(ts) = e.timestamp {
        s.push_str(&format!(" ts={ts}"));
    }
    s.push_str(&render_window(&e.window));
    s
}

fn render_observed(o: &ObservedRecord) -> String {
    format!(
        "key={} value={} ts={}{}",
        o.key,
        o.value,
        o.timestamp,
        render_window(&o.window)
    )
}

/// Why one observed record differs from the expected one, or None when
/// they match.
pub fn record_mismatch(expected: &ExpectedRecord, observed: &ObservedRecord) -> Option<String> {
    let mut diffs = Vec::new();
    if !json_eq(&expected.key, &observed.key) {
        diffs.push("key");
    }
    if !json_eq(&expected.value, &observed.value) {
        diffs.push("value");
    }
    if expected
        .timestamp
        .is_some_and(|ts| ts != observed.timestamp)
    {
        diffs.push("timestamp");
    }
    if let Some(w) = &expected.window {
        match &observed.window {
            Some(o) if o.start == w.start && o.end == w.end => {}
            _ => diffs.push("window"),
        }
    }
    if let Some(h) = &expected.headers {
        if *h != observed.headers {
            diffs.push("headers");
        }
    }
    if diffs.is_empty() {
        None
    } else {
        Some(format!(
            "{} differ: expected {}, got {}",
            diffs.join("+"),
            render_expected(expected),
            render_observed(observed)
        ))
    }
}

/// Compares the records of one topic, in order. Returns why they differ.
pub fn compare_topic(
    topic: &str,
    expected: &[&ExpectedRecord],
    observed: &[ObservedRecord],
) -> Option<String> {
    for (i, (e, o)) in expected.iter().zip(observed).enumerate() {
        if let Some(why) = record_mismatch(e, o) {
            return Some(format!("{topic} record #{}: {why}", i + 1));
        }
    }
    if expected.len() != observed.len() {
        let n = expected.len().min(observed.len());
        let detail = if observed.len() > n {
            format!("first extra: {}", render_observed(&observed[n]))
        } else {
            format!("first missing: {}", render_expected(expected[n]))
        };
        return Some(format!(
            "{topic}: expected {} records, got {} ({detail})",
            expected.len(),
            observed.len()
        ));
    }
    None
}

/// An engine value as the REST API's JSON renders it: numbers as numbers,
/// BYTES as base64, dates and times as text, maps and structs as objects.
pub fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::BigInt(i) => Json::from(*i),
        Value::Double(d) => serde_json::Number::from_f64(*d)
            .map(Json::Number)
            .unwrap_or_else(|| Json::String(v.to_string())),
        Value::Decimal(_) => {
            let text = v.to_string();
            serde_json::from_str::<Json>(&text)
                .ok()
                .filter(Json::is_number)
                .unwrap_or(Json::String(text))
        }
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => Json::String(v.to_string()),
        Value::Array(items) => Json::Array(items.iter().map(value_to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (key, value_to_json(v))
                })
                .collect(),
        ),
        Value::Struct(fields) => Json::Object(
            fields
                .iter()
                .map(|(n, v)| (n.clone(), value_to_json(v)))
                .collect(),
        ),
    }
}

/// Compares rows of a query result. Pull queries (`ordered == false`)
/// compare as multisets, since the order a table is scanned in is the
/// store's business; push queries compare in order.
pub fn compare_rows(expected: &[Vec<Json>], actual: &[Vec<Json>], ordered: bool) -> Option<String> {
    let row_eq = |e: &Vec<Json>, a: &Vec<Json>| {
        e.len() == a.len() && e.iter().zip(a).all(|(x, y)| json_eq(x, y))
    };
    let render = |r: &Vec<Json>| Json::Array(r.clone()).to_string();
    if ordered {
        for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
            if !row_eq(e, a) {
                return Some(format!(
                    "row #{}: expected {}, got {}",
                    i + 1,
                    render(e),
                    render(a)
                ));
            }
        }
    } else {
        let mut unmatched: Vec<&Vec<Json>> = actual.iter().collect();
        for e in expected {
            match unmatched.iter().position(|a| row_eq(e, a)) {
                Some(i) => {
                    unmatched.remove(i);
                }
                None => {
                    let got = actual.iter().map(render).collect::<Vec<_>>().join(", ");
                    return Some(format!("missing row {}; got [{got}]", render(e)));
                }
            }
        }
    }
    if expected.len() != actual.len() {
        let got = actual.iter().map(render).collect::<Vec<_>>().join(", ");
        return Some(format!(
            "expected {} rows, got {}: [{got}]",
            expected.len(),
            actual.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(
            &json!({"A": 1, "B": [2.5]}),
            &json!({"B": [2.5], "A": 1.0})
        ));
        // DECIMAL results are written as strings in the cases.
        assert!(json_eq(&json!("1.50"), &json!(1.5)));
        assert!(!json_eq(&json!("x"), &json!(1)));
        assert!(!json_eq(&json!(1), &json!("1")));
        assert!(!json_eq(&json!({"A": 1}), &json!({"A": 1, "B": null})));
    }

    #[test]
    fn unordered_rows_match_as_multisets() {
        let e = vec![vec![json!(1)], vec![json!(2)]];
        let a = vec![vec![json!(2)], vec![json!(1)]];
        assert!(compare_rows(&e, &a, false).is_none());
        assert!(compare_rows(&e, &a, true).is_some());
    }

    #[test]
    fn values_render_as_rest_json() {
        let v = Value::Struct(vec![
            ("A".into(), Value::Int(1)),
            ("B".into(), Value::Array(vec![Value::String("x".into())])),
        ]);
        assert_eq!(value_to_json(&v), json!({"A": 1, "B": ["x"]}));
    }
}
