//! ksqlDB's JSON functions: EXTRACTJSONFIELD (a JSONPath subset),
//! IS_JSON_STRING, JSON_ARRAY_CONTAINS, JSON_ARRAY_LENGTH, JSON_CONCAT,
//! JSON_ITEMS, JSON_KEYS, JSON_RECORDS and TO_JSON_STRING.
//!
//! JSON text is read with a small parser of its own that keeps numbers
//! exactly as written (ksqlDB reads floating-point numbers as exact
//! decimals), keeps object keys in order, lets a later duplicate key replace
//! an earlier one, and ignores anything after the first complete value.

use super::args::{any_null, fits, str_of};
use super::{accepts, no_signature, FunctionRegistry, Resolved};
use crate::error::{Error, Result};
use crate::types::datetime_text::{format_date, format_time, format_timestamp};
use crate::types::{SqlType, Value};
use std::fmt::Write as _;

const CATEGORY: &str = "JSON";

/// Registers this family's functions.
pub fn register(reg: &mut FunctionRegistry) {
    reg.add(
        "EXTRACTJSONFIELD",
        CATEGORY,
        "The value at a JSONPath in a JSON string, as a string, or NULL.",
        extract_json_field,
    );
    reg.add(
        "IS_JSON_STRING",
        CATEGORY,
        "True when a string parses as a JSON value.",
        is_json_string,
    );
    reg.add(
        "JSON_ARRAY_CONTAINS",
        CATEGORY,
        "True when a JSON array string holds a value equal to the given one.",
        json_array_contains,
    );
    reg.add(
        "JSON_ARRAY_LENGTH",
        CATEGORY,
        "The length of a JSON array string, or NULL when it is not an array.",
        json_array_length,
    );
    reg.add(
        "JSON_CONCAT",
        CATEGORY,
        "Merges JSON objects, or concatenates JSON values as arrays, like PostgreSQL's ||.",
        json_concat,
    );
    reg.add(
        "JSON_ITEMS",
        CATEGORY,
        "The objects of a JSON array string, each as a JSON string.",
        json_items,
    );
    reg.add(
        "JSON_KEYS",
        CATEGORY,
        "The top-level keys of a JSON object string.",
        json_keys,
    );
    reg.add(
        "JSON_RECORDS",
        CATEGORY,
        "The top-level entries of a JSON object string, values as strings.",
        json_records,
    );
    reg.add(
        "TO_JSON_STRING",
        CATEGORY,
        "Any value written as JSON text.",
        to_json_string,
    );
}

// ---------------------------------------------------------------------------
// JSON documents

/// A parsed JSON value. Numbers keep their source text.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Serializes compactly (no spaces), numbers in canonical plain form.
    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(&canonical_number(n)),
            Json::Str(s) => write_json_str(s, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    fn to_json_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// A string's own text, anything else as JSON text.
    fn to_text(&self) -> String {
        match self {
            Json::Str(s) => s.clone(),
            other => other.to_json_text(),
        }
    }
}

/// Writes `s` as a quoted JSON string.
fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON number as ksqlDB writes it back: integers as they are (minus a
/// negative zero's sign), other numbers as plain decimals without an
/// exponent, keeping trailing zeros.
fn canonical_number(text: &str) -> String {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let is_integer = !body.contains(['.', 'e', 'E']);
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let sign = if neg && !digits.is_empty() { "-" } else { "" };
    if is_integer {
        let d = if digits.is_empty() { "0" } else { digits };
        return format!("{sign}{d}");
    }
    let digits = if digits.is_empty() { "0" } else { digits };
    let scale = frac_part.len() as i64 - exp;
    if scale <= 0 {
        if digits == "0" {
            return "0".to_string();
        }
        return format!("{sign}{digits}{}", "0".repeat((-scale) as usize));
    }
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits.to_string()
    };
    let point = padded.len() - scale;
    format!("{sign}{}.{}", &padded[..point], &padded[point..])
}

/// A recursive-descent JSON reader over a string.
struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

fn invalid_json(src: &str) -> Error {
    Error::eval(format!("Invalid JSON format:{src}"))
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn err(&self) -> Error {
        invalid_json(self.src)
    }

    fn expect_word(&mut self, word: &str, value: Json) -> Result<Json> {
        if self.src[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.err())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json> {
        if depth > 1000 {
            return Err(self.err());
        }
        self.skip_ws();
        match self.peek().ok_or_else(|| self.err())? {
            b'n' => self.expect_word("null", Json::Null),
            b't' => self.expect_word("true", Json::Bool(true)),
            b'f' => self.expect_word("false", Json::Bool(false)),
            b'"' => Ok(Json::Str(self.string()?)),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.err()),
                    }
                }
            }
            b'{' => {
                self.pos += 1;
                let mut entries: Vec<(String, Json)> = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Json::Object(entries));
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err());
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return Err(self.err());
                    }
                    self.pos += 1;
                    let val = self.value(depth + 1)?;
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = val,
                        None => entries.push((key, val)),
                    }
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Object(entries));
                        }
                        _ => return Err(self.err()),
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.err()),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Json> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n = self.digits();
        if n == 0 || (n > 1 && self.src.as_bytes()[int_start] == b'0') {
            return Err(self.err());
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        Ok(Json::Number(self.src[start..self.pos].to_string()))
    }

    fn hex4(&mut self) -> Result<u16> {
        let h = self
            .src
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err())?;
        let v = u16::from_str_radix(h, 16).map_err(|_| self.err())?;
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let rest = &self.src[self.pos..];
            let stop = rest
                .find(|c: char| c == '"' || c == '\\' || (c as u32) < 0x20)
                .ok_or_else(|| self.err())?;
            out.push_str(&rest[..stop]);
            self.pos += stop;
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let e = self.peek().ok_or_else(|| self.err())?;
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{08}'),
                        b'f' => out.push('\u{0C}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let mut units = vec![self.hex4()?];
                            if (0xD800..0xDC00).contains(&units[0])
                                && self.src[self.pos..].starts_with("\\u")
                            {
                                self.pos += 2;
                                units.push(self.hex4()?);
                            }
                            out.push_str(&String::from_utf16_lossy(&units));
                        }
                        _ => return Err(self.err()),
                    }
                }
                _ => return Err(self.err()),
            }
        }
    }
}

/// Parses the first JSON value in `src`; `Ok(None)` when there is nothing
/// but whitespace, an error when the text is not JSON. Text after the
/// first value is ignored.
fn parse_json(src: &str) -> Result<Option<Json>> {
    let mut p = Parser { src, pos: 0 };
    p.skip_ws();
    if p.peek().is_none() {
        return Ok(None);
    }
    p.value(0).map(Some)
}

// ---------------------------------------------------------------------------
// EXTRACTJSONFIELD

/// Splits a JSONPath such as `$.a.b[0]` or `$['a']["b"]` into its keys and
/// indexes.
fn json_path_tokens(path: &str) -> Result<Vec<String>> {
    let bad = || Error::eval(format!("Invalid JsonPath: {path}"));
    let chars: Vec<char> = path.trim().chars().collect();
    let mut i = 0;
    if chars.first() == Some(&'$') {
        i = 1;
    }
    let mut tokens = Vec::new();
    let read_name = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && chars[*i] != '.' && chars[*i] != '[' {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    if i == 0 && !chars.is_empty() && chars[0] != '.' && chars[0] != '[' {
        tokens.push(read_name(&mut i));
    }
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let name = read_name(&mut i);
                if name.is_empty() {
                    return Err(bad());
                }
                tokens.push(name);
            }
            '[' => {
                i += 1;
                let quote = chars.get(i).copied().filter(|c| *c == '\'' || *c == '"');
                let token = match quote {
                    Some(q) => {
                        i += 1;
                        let start = i;
                        while i < chars.len() && chars[i] != q {
                            i += 1;
                        }
                        if i >= chars.len() {
                            return Err(bad());
                        }
                        let t: String = chars[start..i].iter().collect();
                        i += 1;
                        t
                    }
                    None => {
                        let start = i;
                        while i < chars.len() && chars[i] != ']' {
                            i += 1;
                        }
                        chars[start..i]
                            .iter()
                            .collect::<String>()
                            .trim()
                            .to_string()
                    }
                };
                if chars.get(i) != Some(&']') {
                    return Err(bad());
                }
                i += 1;
                tokens.push(token);
            }
            _ => return Err(bad()),
        }
    }
    Ok(tokens)
}

fn extract_json_field(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String, SqlType::String], args) {
        return Err(no_signature("EXTRACTJSONFIELD", args));
    }
    Ok(Resolved::new(SqlType::String, |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        let tokens = json_path_tokens(str_of(&v[1])?)?;
        let input = str_of(&v[0])?;
        let Some(doc) = parse_json(input)? else {
            return Ok(Value::Null);
        };
        let mut node = &doc;
        for token in &tokens {
            let next = match node {
                Json::Array(items) => match token.parse::<i32>() {
                    Ok(i) if i >= 0 => items.get(i as usize),
                    Ok(_) => None,
                    Err(_) => return Ok(Value::Null),
                },
                Json::Object(entries) => entries.iter().find(|(k, _)| k == token).map(|(_, v)| v),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return Ok(Value::Null),
            }
        }
        Ok(Value::String(node.to_text()))
    }))
}

// ---------------------------------------------------------------------------
// IS_JSON_STRING, JSON_ARRAY_CONTAINS, JSON_ARRAY_LENGTH

fn is_json_string(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String], args) {
        return Err(no_signature("IS_JSON_STRING", args));
    }
    Ok(Resolved::new(SqlType::Boolean, |v| {
        Ok(Value::Bool(
            v[0].as_str()
                .is_some_and(|s| matches!(parse_json(s), Ok(Some(_)))),
        ))
    }))
}

/// Whether a top-level JSON array element equals a SQL value of a matching
/// kind: integers with INT/BIGINT, other numbers with DOUBLE, strings,
/// booleans, and null with NULL.
fn json_element_matches(elem: &Json, val: &Value) -> bool {
    match (elem, val) {
        (Json::Null, Value::Null) => true,
        (Json::Bool(a), Value::Bool(b)) => a == b,
        (Json::Str(a), Value::String(b)) => a == b,
        (Json::Number(n), Value::Int(i)) if !n.contains(['.', 'e', 'E']) => {
            n.parse::<i32>().is_ok_and(|x| x == *i)
        }
        (Json::Number(n), Value::BigInt(i)) if !n.contains(['.', 'e', 'E']) => {
            n.parse::<i64>().is_ok_and(|x| x == *i)
        }
        (Json::Number(n), Value::Double(d)) if n.contains(['.', 'e', 'E']) => {
            n.parse::<f64>().is_ok_and(|x| x == *d)
        }
        _ => false,
    }
}

fn json_array_contains(args: &[SqlType]) -> Result<Resolved> {
    if args.len() != 2 || !accepts(&SqlType::String, &args[0]) {
        return Err(no_signature("JSON_ARRAY_CONTAINS", args));
    }
    Ok(Resolved::new(SqlType::Boolean, |v| {
        let Some(text) = v[0].as_str() else {
            return Ok(Value::Bool(false));
        };
        let found = match parse_json(text) {
            Ok(Some(Json::Array(items))) => items.iter().any(|e| json_element_matches(e, &v[1])),
            _ => false,
        };
        Ok(Value::Bool(found))
    }))
}

fn json_array_length(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String], args) {
        return Err(no_signature("JSON_ARRAY_LENGTH", args));
    }
    Ok(Resolved::new(SqlType::Int, |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        Ok(match parse_json(str_of(&v[0])?)? {
            Some(Json::Array(items)) => Value::Int(items.len() as i32),
            _ => Value::Null,
        })
    }))
}

// ---------------------------------------------------------------------------
// JSON_CONCAT, JSON_ITEMS, JSON_KEYS, JSON_RECORDS

fn json_concat(args: &[SqlType]) -> Result<Resolved> {
    if args.is_empty() || !args.iter().all(|t| accepts(&SqlType::String, t)) {
        return Err(no_signature("JSON_CONCAT", args));
    }
    Ok(Resolved::new(SqlType::String, |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        let mut docs = Vec::with_capacity(v.len());
        for s in v {
            match parse_json(str_of(s)?)? {
                Some(doc) => docs.push(doc),
                None => return Ok(Value::Null),
            }
        }
        let all_objects = docs.iter().all(|d| matches!(d, Json::Object(_)));
        let mut docs = docs.into_iter();
        let Some(mut acc) = docs.next() else {
            return Ok(Value::Null);
        };
        for doc in docs {
            acc = if all_objects {
                let (Json::Object(mut into), Json::Object(from)) = (acc, doc) else {
                    return Err(Error::eval("JSON_CONCAT: expected objects"));
                };
                for (k, val) in from {
                    match into.iter_mut().find(|(ek, _)| *ek == k) {
                        Some(slot) => slot.1 = val,
                        None => into.push((k, val)),
                    }
                }
                Json::Object(into)
            } else {
                let mut items = match acc {
                    Json::Array(items) => items,
                    other => vec![other],
                };
                match doc {
                    Json::Array(more) => items.extend(more),
                    other => items.push(other),
                }
                Json::Array(items)
            };
        }
        Ok(Value::String(acc.to_json_text()))
    }))
}

fn json_items(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String], args) {
        return Err(no_signature("JSON_ITEMS", args));
    }
    Ok(Resolved::new(
        SqlType::Array(Box::new(SqlType::String)),
        |v| {
            if any_null(v) {
                return Ok(Value::Null);
            }
            let text = str_of(&v[0])?;
            let Some(Json::Array(items)) = parse_json(text)? else {
                return Err(Error::eval(format!("Not a JSON array: {text}")));
            };
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if !matches!(item, Json::Object(_)) {
                    return Ok(Value::Null);
                }
                out.push(Value::String(item.to_json_text()));
            }
            Ok(Value::Array(out))
        },
    ))
}

/// The entries of a JSON object string; `None` when the string is empty or
/// holds another kind of value.
fn object_entries(v: &Value) -> Result<Option<Vec<(String, Json)>>> {
    Ok(match parse_json(str_of(v)?)? {
        Some(Json::Object(entries)) => Some(entries),
        _ => None,
    })
}

fn json_keys(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String], args) {
        return Err(no_signature("JSON_KEYS", args));
    }
    Ok(Resolved::new(
        SqlType::Array(Box::new(SqlType::String)),
        |v| {
            if any_null(v) {
                return Ok(Value::Null);
            }
            Ok(match object_entries(&v[0])? {
                Some(entries) => {
                    Value::Array(entries.into_iter().map(|(k, _)| Value::String(k)).collect())
                }
                None => Value::Null,
            })
        },
    ))
}

fn json_records(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String], args) {
        return Err(no_signature("JSON_RECORDS", args));
    }
    Ok(Resolved::new(
        SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::String)),
        |v| {
            if any_null(v) {
                return Ok(Value::Null);
            }
            Ok(match object_entries(&v[0])? {
                Some(entries) => Value::Map(
                    entries
                        .into_iter()
                        .map(|(k, val)| (Value::String(k), Value::String(val.to_text())))
                        .collect(),
                ),
                None => Value::Null,
            })
        },
    ))
}

// ---------------------------------------------------------------------------
// TO_JSON_STRING

/// Writes a SQL value as JSON the way ksqlDB's TO_JSON_STRING does: struct
/// fields and map entries as object members sorted by name, BYTES as
/// base64, DATE / TIME / TIMESTAMP as their ISO-8601 text, decimals as
/// plain numbers, non-finite doubles as strings.
pub fn write_value_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Double(d) if d.is_finite() => {
            let _ = write!(out, "{v}");
        }
        Value::Double(_) => write_json_str(&v.to_string(), out),
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Value::String(s) => write_json_str(s, out),
        Value::Bytes(b) => write_json_str(&super::encoding::encode_base64(b), out),
        Value::Date(d) => write_json_str(&format_date(*d), out),
        Value::Time(t) => write_json_str(&format_time(*t), out),
        Value::Timestamp(t) => write_json_str(&format_timestamp(*t), out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value_json(item, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let mut sorted: Vec<(String, &Value)> =
                entries.iter().map(|(k, v)| (k.to_string(), v)).collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            write_members(&sorted, out);
        }
        Value::Struct(fields) => {
            let mut sorted: Vec<(String, &Value)> =
                fields.iter().map(|(k, v)| (k.clone(), v)).collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            write_members(&sorted, out);
        }
    }
}

fn write_members(members: &[(String, &Value)], out: &mut String) {
    out.push('{');
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(k, out);
        out.push(':');
        write_value_json(v, out);
    }
    out.push('}');
}

fn to_json_string(args: &[SqlType]) -> Result<Resolved> {
    if args.len() != 1 {
        return Err(no_signature("TO_JSON_STRING", args));
    }
    Ok(Resolved::new(SqlType::String, |v| {
        let mut out = String::new();
        write_value_json(&v[0], &mut out);
        Ok(Value::String(out))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Decimal;

    fn call(name: &str, args: Vec<Value>) -> Result<Value> {
        let types: Vec<SqlType> = args.iter().map(Value::natural_type).collect();
        let f = FunctionRegistry::global().resolve(name, &types)?;
        (f.eval)(&args)
    }

    fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    fn extract(json: &str, path: &str) -> Value {
        call("EXTRACTJSONFIELD", vec![s(json), s(path)]).unwrap()
    }

    #[test]
    fn extract_json_field_paths() {
        let doc = r#"{"name": "cdd", "version": "2", "@type": "VAL", "log": {"cloud": "gcp", "n": [1, {"x": true}]}}}"#;
        assert_eq!(extract(doc, "$.name"), s("cdd"));
        assert_eq!(extract(doc, "$.@type"), s("VAL"));
        assert_eq!(extract(doc, "$.log.cloud"), s("gcp"));
        assert_eq!(extract(doc, "$['log']['n'][1]"), s(r#"{"x":true}"#));
        assert_eq!(extract(doc, "$.log.n[1].x"), s("true"));
        assert_eq!(extract(doc, "$.log.missing"), Value::Null);
        assert_eq!(extract(doc, "$.name.deeper"), Value::Null);
        let arr = r#"{"array": [1.23450, 2, 3]}"#;
        assert_eq!(extract(arr, "$.array[-1]"), Value::Null);
        assert_eq!(extract(arr, "$.array[0]"), s("1.23450"));
        assert_eq!(extract(arr, "$.array[1]"), s("2"));
        assert_eq!(extract(arr, "$.array[7]"), Value::Null);
        assert!(call("EXTRACTJSONFIELD", vec![s("{oops"), s("$.a")]).is_err());
    }

    #[test]
    fn numbers_are_kept_exact() {
        assert_eq!(canonical_number("1.23450"), "1.23450");
        assert_eq!(canonical_number("1e5"), "100000");
        assert_eq!(canonical_number("1.5E-3"), "0.0015");
        assert_eq!(canonical_number("-0"), "0");
        assert_eq!(canonical_number("-12.50e1"), "-125.0");
        assert_eq!(
            canonical_number("12345678901234567890123"),
            "12345678901234567890123"
        );
    }

    #[test]
    fn predicates_and_lengths() {
        let is = |x: &str| call("IS_JSON_STRING", vec![s(x)]).unwrap();
        assert_eq!(is("[1, 2, 3]"), Value::Bool(true));
        assert_eq!(is("\"abc\""), Value::Bool(true));
        assert_eq!(is("null"), Value::Bool(true));
        assert_eq!(is(""), Value::Bool(false));
        assert_eq!(is("abc"), Value::Bool(false));
        assert_eq!(
            call("IS_JSON_STRING", vec![Value::Null]).unwrap(),
            Value::Bool(false)
        );

        let len = |x: &str| call("JSON_ARRAY_LENGTH", vec![s(x)]);
        assert_eq!(len("[1, [1, [2]], 3]").unwrap(), Value::Int(3));
        assert_eq!(len("{}").unwrap(), Value::Null);
        assert_eq!(len("").unwrap(), Value::Null);
        assert!(len("abc").is_err());

        let contains = |x: &str, v: Value| call("JSON_ARRAY_CONTAINS", vec![s(x), v]).unwrap();
        assert_eq!(contains("[1, 2, 3]", Value::Int(3)), Value::Bool(true));
        assert_eq!(contains("[1, 2, 3]", Value::BigInt(4)), Value::Bool(false));
        assert_eq!(
            contains("[1.5, \"a\"]", Value::Double(1.5)),
            Value::Bool(true)
        );
        assert_eq!(
            contains("[1, \"a\"]", Value::Double(1.0)),
            Value::Bool(false)
        );
        assert_eq!(contains("[[3], \"a\"]", s("a")), Value::Bool(true));
        assert_eq!(contains("[[3], null]", Value::Null), Value::Bool(true));
        assert_eq!(contains("{\"a\": 3}", Value::Int(3)), Value::Bool(false));
    }

    #[test]
    fn concat_merges_like_postgres() {
        let cat = |xs: &[&str]| call("JSON_CONCAT", xs.iter().map(|x| s(x)).collect()).unwrap();
        assert_eq!(cat(&["{\"a\": 1}", "{\"b\": 2}"]), s(r#"{"a":1,"b":2}"#));
        assert_eq!(
            cat(&["{\"a\": {\"5\": 6}}", "{\"a\": {\"3\": 4}}"]),
            s(r#"{"a":{"3":4}}"#)
        );
        assert_eq!(
            cat(&["[1, [2]]", "[[[3]], [[[4]]]]"]),
            s("[1,[2],[[3]],[[[4]]]]")
        );
        assert_eq!(cat(&["null", "null"]), s("[null,null]"));
        assert_eq!(cat(&["[1, 2]", "{\"a\": 1}", "4"]), s(r#"[1,2,{"a":1},4]"#));
        assert_eq!(cat(&["1", ""]), Value::Null);
        assert!(call("JSON_CONCAT", vec![s("abc"), s("[1]")]).is_err());
    }

    #[test]
    fn keys_records_items() {
        let obj = r#"{"a": "abc", "b": { "c": "a" }, "d": 1}"#;
        assert_eq!(
            call("JSON_KEYS", vec![s(obj)]).unwrap(),
            Value::Array(vec![s("a"), s("b"), s("d")])
        );
        assert_eq!(call("JSON_KEYS", vec![s("[]")]).unwrap(), Value::Null);
        assert_eq!(call("JSON_KEYS", vec![s("")]).unwrap(), Value::Null);
        assert_eq!(
            call("JSON_RECORDS", vec![s(obj)]).unwrap(),
            Value::Map(vec![
                (s("a"), s("abc")),
                (s("b"), s(r#"{"c":"a"}"#)),
                (s("d"), s("1")),
            ])
        );
        assert_eq!(
            call("JSON_ITEMS", vec![s(r#"[{"type": "A"}, {"t": [1, 2]}]"#)]).unwrap(),
            Value::Array(vec![s(r#"{"type":"A"}"#), s(r#"{"t":[1,2]}"#)])
        );
        assert_eq!(call("JSON_ITEMS", vec![s("[1]")]).unwrap(), Value::Null);
    }

    #[test]
    fn to_json_string_values() {
        let j = |v: Value| call("TO_JSON_STRING", vec![v]).unwrap();
        assert_eq!(j(Value::Int(1)), s("1"));
        assert_eq!(j(Value::Null), s("null"));
        assert_eq!(j(Value::Double(123.456)), s("123.456"));
        assert_eq!(j(Value::Double(f64::NAN)), s("\"NaN\""));
        assert_eq!(j(Value::Decimal(Decimal::new(123456, 3))), s("123.456"));
        assert_eq!(j(Value::Bytes(vec![b'!'])), s("\"IQ==\""));
        assert_eq!(j(Value::Time(60_220_000)), s("\"16:43:40\""));
        assert_eq!(j(Value::Date(1000)), s("\"1972-09-27\""));
        assert_eq!(
            j(Value::Timestamp(60_220_000_000)),
            s("\"1971-11-28T23:46:40.000\"")
        );
        assert_eq!(j(s("a\"b")), s(r#""a\"b""#));
        assert_eq!(
            j(Value::Struct(vec![
                ("NAME".into(), s("Alice")),
                ("ID".into(), Value::Int(1)),
                ("X".into(), Value::Null),
            ])),
            s(r#"{"ID":1,"NAME":"Alice","X":null}"#)
        );
        assert_eq!(
            j(Value::Map(vec![(
                s("id"),
                Value::Array(vec![Value::Int(1), Value::Int(2)])
            )])),
            s(r#"{"id":[1,2]}"#)
        );
    }
}
