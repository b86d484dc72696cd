//! The JSON format, following ksqlDB's JSON serde.
//!
//! **Values** are wrapped by default: the record is a JSON object whose fields
//! are the columns. A single key column, or a single value column with
//! `WRAP_SINGLE_VALUE=false`, is *unwrapped*: the record is the bare JSON
//! value of that column.
//!
//! **Decoding** parses the record text directly into typed [`Value`]s (no
//! intermediate tree; numbers keep their exact digits) with ksqlDB's lenient
//! coercions:
//!
//! * object fields are matched to columns (and struct fields) by exact name
//!   first, then by the field name upper-cased — so `{"foo": 1}` feeds column
//!   `FOO`, while a quoted column `` `foo` `` only takes the field `foo`;
//!   missing fields are null, extra fields are ignored;
//! * a JSON `null` record is a null row (like a tombstone);
//! * INT / BIGINT take numbers (fractions truncated, like Java's `intValue`)
//!   and numeric strings; DOUBLE takes numbers and numeric strings; DECIMAL
//!   takes numbers and numeric strings, rounded HALF_UP to the column's scale
//!   and rejected when the integer part is too large;
//! * STRING takes anything: numbers and booleans as their text, objects as
//!   compact JSON text, arrays as `[a, b]`;
//! * BOOLEAN takes only JSON booleans (as ksqlDB does);
//! * BYTES takes base64 strings; DATE (epoch days), TIME (ms of the day) and
//!   TIMESTAMP (epoch ms) take integers or integer strings;
//! * ARRAY, MAP (keys are the object's field names) and STRUCT recurse.
//!
//! Conversion failures are `Error::Format` with ksqlDB's wording, e.g.
//! `Can't convert type. sourceType: TextNode, requiredType: INTEGER, path:
//! $.FOO`. The runtime adds the `Failed to deserialize value from topic: T. `
//! prefix, which the codec cannot know.
//!
//! **Encoding** writes the JSON text directly: objects with the column (or
//! struct field) names in column order, DECIMAL as a number with exactly its
//! scale's digits (`10.50`), DOUBLE as a number (`NaN`/`Infinity` as strings,
//! as Jackson does), BYTES as base64, DATE / TIME / TIMESTAMP as integers,
//! MAP as an object. A null unwrapped value is written as an absent record.

use crate::error::{Error, Result};
use crate::formats::Codec;
use crate::types::{Column, Decimal, SqlType, Value};
use base64::Engine as _;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Above this many columns, top-level field names are looked up in a hash
/// map rather than by a linear scan.
const HASH_LOOKUP_MIN_COLUMNS: usize = 16;

/// Deepest nesting of arrays and objects accepted in a record.
const MAX_DEPTH: usize = 512;

/// Milliseconds in a day: the upper bound of a TIME value.
const MS_PER_DAY: i64 = 86_400_000;

/// Codec for ksqlDB's JSON format (also used for JSON_SR payloads: a leading
/// schema-registry header, magic byte 0 and a 4-byte schema id, is skipped
/// when decoding).
pub struct JsonCodec {
    columns: Vec<Column>,
    unwrap: bool,
    /// Exact column name -> index, when there are many columns.
    by_name: Option<HashMap<String, usize>>,
    /// The column names are distinct and none changes when upper-cased
    /// (unquoted identifiers). Then an ASCII field name feeds at most one
    /// column, the one named like its upper-cased self: exactly when the
    /// field name has no lower-case letter, else as an upper-cased match.
    upper_names: bool,
    /// What precedes each column's value in a wrapped record: `{"NAME":`
    /// for the first, `,"NAME":` for the others.
    prefixes: Vec<String>,
}

impl JsonCodec {
    /// A codec for `columns`. With `unwrap` (only meaningful for exactly one
    /// column) the record is the bare value of that column instead of an
    /// object.
    pub fn new(columns: Vec<Column>, unwrap: bool) -> Self {
        let by_name = (columns.len() > HASH_LOOKUP_MIN_COLUMNS).then(|| {
            let mut map = HashMap::with_capacity(columns.len());
            for (i, c) in columns.iter().enumerate() {
                map.entry(c.name.clone()).or_insert(i);
            }
            map
        });
        let mut seen = std::collections::HashSet::new();
        let upper_names = columns
            .iter()
            .all(|c| !changes_when_upper_cased(&c.name) && seen.insert(c.name.as_str()));
        let prefixes = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut p = String::from(if i == 0 { "{" } else { "," });
                write_json_string(&mut p, &c.name);
                p.push(':');
                p
            })
            .collect();
        JsonCodec {
            unwrap: unwrap && columns.len() == 1,
            upper_names,
            prefixes,
            columns,
            by_name,
        }
    }

    /// [`JsonCodec::lookup`], trying column `hint` first: fields usually
    /// come in column order, so the column after the last one matched is
    /// tried before a search.
    fn lookup_from(&self, key: &str, hint: usize) -> (Option<usize>, Option<usize>) {
        if !self.upper_names || !key.is_ascii() {
            return self.lookup(key);
        }
        // With `upper_names`, `name == key.to_uppercase()` is the same as
        // an ASCII case-insensitive comparison (see the field's docs).
        let matches = |c: &Column| c.name.eq_ignore_ascii_case(key);
        let found = match self.columns.get(hint) {
            Some(c) if matches(c) => Some(hint),
            _ => self.columns.iter().position(matches),
        };
        if key.bytes().any(|b| b.is_ascii_lowercase()) {
            (None, found)
        } else {
            (found, None)
        }
    }

    /// The columns an object field named `key` feeds: (exact match, match of
    /// the upper-cased name).
    fn lookup(&self, key: &str) -> (Option<usize>, Option<usize>) {
        match &self.by_name {
            Some(map) => {
                let exact = map.get(key).copied();
                let upper = if changes_when_upper_cased(key) {
                    map.get(key.to_uppercase().as_str()).copied()
                } else {
                    None
                };
                (exact, upper)
            }
            None => match_field(key, self.columns.iter().map(|c| c.name.as_str())),
        }
    }

    fn decode_wrapped(&self, r: &mut Reader<'_>, capacity: usize) -> Result<Vec<Value>, JErr> {
        match r.peek() {
            Some(b'{') => {}
            Some(_) => {
                let ty = SqlType::Struct(
                    self.columns
                        .iter()
                        .map(|c| (c.name.clone(), c.ty.clone()))
                        .collect(),
                );
                return Err(r.mismatch(&ty).at("$"));
            }
            None => return Err(r.eof()),
        }
        r.pos += 1;
        r.depth += 1;
        let mut fields = FieldSlots::with_capacity(self.columns.len(), capacity);
        let mut first = true;
        let mut hint = 0;
        while let Some(key) = r.obj_next(&mut first)? {
            let (exact, upper) = self.lookup_from(&key, hint);
            if let Some(i) = exact.or(upper) {
                hint = i + 1;
            }
            fields.read(r, exact, upper, |i| {
                (self.columns[i].name.as_str(), &self.columns[i].ty)
            })?;
        }
        r.depth -= 1;
        fields.finish(|i| format!("$.{}", self.columns[i].name))
    }
}

impl Codec for JsonCodec {
    fn encode(&self, values: &[Value]) -> Result<Option<Vec<u8>>> {
        if values.len() != self.columns.len() {
            return Err(Error::format(format!(
                "Column count mismatch on serialization. expected: {}, got: {}",
                self.columns.len(),
                values.len()
            )));
        }
        if self.columns.is_empty() {
            return Ok(None);
        }
        if self.unwrap && values[0].is_null() {
            return Ok(None);
        }
        // The text is built in a reused per-thread buffer and copied out at
        // its exact size: one allocation per record instead of a growing
        // string (the record is kept by the log, so slack would stay too).
        thread_local! {
            static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        let write = |out: &mut String| {
            if self.unwrap {
                write_json(out, &values[0]);
            } else {
                for (prefix, v) in self.prefixes.iter().zip(values) {
                    out.push_str(prefix);
                    write_json(out, v);
                }
                out.push('}');
            }
        };
        let bytes = SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut out) => {
                out.clear();
                write(&mut out);
                let bytes = out.as_bytes().to_vec();
                if out.capacity() > 1 << 20 {
                    // Do not keep a huge buffer after one huge record.
                    *out = String::new();
                }
                bytes
            }
            Err(_) => {
                let mut out = String::with_capacity(64);
                write(&mut out);
                out.into_bytes()
            }
        });
        Ok(Some(bytes))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<Option<Vec<Value>>> {
        self.decode_with_capacity(bytes, 0)
    }

    fn decode_with_capacity(
        &self,
        bytes: Option<&[u8]>,
        capacity: usize,
    ) -> Result<Option<Vec<Value>>> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        if self.columns.is_empty() {
            return Ok(Some(Vec::new()));
        }
        // JSON_SR framing: magic byte 0 and a 4-byte schema id. Valid JSON
        // never starts with a NUL byte.
        let bytes = match bytes {
            [0, _, _, _, _, rest @ ..] => rest,
            _ => bytes,
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|e| Error::format(format!("Invalid UTF-8 in JSON record: {e}")))?;
        let mut r = Reader::new(text);
        let result = match r.peek() {
            None => Err(JErr::Syntax(
                "No content to map due to end-of-input".to_string(),
            )),
            Some(b'n') => r.literal("null").map(|_| None),
            Some(_) if self.unwrap => {
                r.typed(&self.columns[0].ty)
                    .map_err(|e| e.at("$"))
                    .map(|v| {
                        if v.is_null() {
                            None
                        } else {
                            let mut out = Vec::with_capacity(capacity.max(1));
                            out.push(v);
                            Some(out)
                        }
                    })
            }
            Some(_) => self.decode_wrapped(&mut r, capacity).map(Some),
        };
        result.map_err(JErr::into_error)
    }
}

/// Converts a JSON value to a SQL value of type `ty`, with exactly the
/// coercions the JSON format applies when reading records (see the module
/// docs). JSON `null` gives `Value::Null`.
pub fn json_to_value(j: &serde_json::Value, ty: &SqlType) -> Result<Value> {
    let text = serde_json::to_string(j)?;
    let mut r = Reader::new(&text);
    r.typed(ty).map_err(|e| e.at("$").into_error())
}

/// Parses JSON text into a SQL value of type `ty`, keeping numbers' exact
/// digits (unlike going through `serde_json::Value`). Same coercions as
/// [`json_to_value`].
pub fn json_text_to_value(text: &str, ty: &SqlType) -> Result<Value> {
    let mut r = Reader::new(text);
    r.typed(ty).map_err(|e| e.at("$").into_error())
}

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
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
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

fn non_finite_name(d: f64) -> &'static str {
    if d.is_nan() {
        "NaN"
    } else if d > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

fn map_key_text(k: &Value) -> Cow<'_, str> {
    match k {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_string()),
    }
}

/// True when upper-casing `key` gives a different string.
fn changes_when_upper_cased(key: &str) -> bool {
    if key.is_ascii() {
        key.bytes().any(|b| b.is_ascii_lowercase())
    } else {
        key.chars().any(|c| {
            let mut up = c.to_uppercase();
            !(up.next() == Some(c) && up.next().is_none())
        })
    }
}

/// ksqlDB's field matching: the field whose name equals `key`, and the field
/// whose name equals `key` upper-cased (when that differs from `key`).
fn match_field<'n>(
    key: &str,
    names: impl Iterator<Item = &'n str> + Clone,
) -> (Option<usize>, Option<usize>) {
    let exact = names.clone().position(|n| n == key);
    if !changes_when_upper_cased(key) {
        return (exact, None);
    }
    let upper = if key.is_ascii() {
        names.clone().position(|n| {
            n.len() == key.len()
                && n.bytes()
                    .zip(key.bytes())
                    .all(|(a, b)| a == b.to_ascii_uppercase())
        })
    } else {
        let up = key.to_uppercase();
        names.clone().position(|n| n == up)
    };
    (exact, upper)
}

/// A decoding failure before it becomes an [`Error`]: malformed JSON, or a
/// value that does not convert, with the path to it.
#[derive(Debug)]
enum JErr {
    Syntax(String),
    Coerce { msg: String, path: String },
}

impl JErr {
    fn coerce(msg: impl Into<String>) -> JErr {
        JErr::Coerce {
            msg: msg.into(),
            path: String::new(),
        }
    }

    /// Prefixes the path of a conversion failure with `part`.
    fn at(self, part: &str) -> JErr {
        match self {
            JErr::Coerce { msg, path } => JErr::Coerce {
                msg,
                path: format!("{part}{path}"),
            },
            other => other,
        }
    }

    fn into_error(self) -> Error {
        match self {
            JErr::Syntax(m) => Error::format(format!("Invalid JSON: {m}")),
            JErr::Coerce { msg, path } if path.is_empty() => Error::format(msg),
            JErr::Coerce { msg, path } => Error::format(format!("{msg}, path: {path}")),
        }
    }
}

/// Fields of an object being read into a fixed list of columns or struct
/// fields, applying ksqlDB's precedence: an exactly named field wins over
/// one matched by upper-casing; among equals, the last one wins.
struct FieldSlots {
    values: Vec<Value>,
    ranks: Ranks,
    /// Conversion failures still standing: (field index, error).
    errors: Vec<(usize, JErr)>,
}

/// The rank of every slot: 0 unset, 1 set from an upper-cased match, 2 set
/// from an exact match. Up to 64 slots as two bit sets (no allocation).
enum Ranks {
    Bits { upper: u64, exact: u64 },
    Bytes(Vec<u8>),
}

impl Ranks {
    fn new(n: usize) -> Self {
        if n <= 64 {
            Ranks::Bits { upper: 0, exact: 0 }
        } else {
            Ranks::Bytes(vec![0; n])
        }
    }

    fn get(&self, i: usize) -> u8 {
        match self {
            Ranks::Bits { upper, exact } => {
                if exact >> i & 1 == 1 {
                    2
                } else {
                    (upper >> i & 1) as u8
                }
            }
            Ranks::Bytes(r) => r[i],
        }
    }

    fn set(&mut self, i: usize, rank: u8) {
        match self {
            Ranks::Bits { upper, exact } => {
                let bit = 1u64 << i;
                *exact &= !bit;
                *upper &= !bit;
                match rank {
                    2 => *exact |= bit,
                    1 => *upper |= bit,
                    _ => {}
                }
            }
            Ranks::Bytes(r) => r[i] = rank,
        }
    }
}

impl FieldSlots {
    fn new(n: usize) -> Self {
        FieldSlots::with_capacity(n, n)
    }

    /// Slots for `n` fields, whose value list has room for `capacity`
    /// values (the caller may add more after them).
    fn with_capacity(n: usize, capacity: usize) -> Self {
        let mut values = Vec::with_capacity(capacity.max(n));
        values.extend(std::iter::repeat_with(|| Value::Null).take(n));
        FieldSlots {
            values,
            ranks: Ranks::new(n),
            errors: Vec::new(),
        }
    }

    /// Reads the value at the reader's position into the matched slots, or
    /// skips it when nothing matches. `field(i)` gives slot i's name and
    /// type.
    fn read<'t>(
        &mut self,
        r: &mut Reader<'_>,
        exact: Option<usize>,
        upper: Option<usize>,
        field: impl Fn(usize) -> (&'t str, &'t SqlType),
    ) -> Result<(), JErr> {
        let start = r.pos;
        let depth = r.depth;
        let mut consumed = false;
        for (slot, rank) in [(exact, 2u8), (upper, 1u8)] {
            let Some(i) = slot else { continue };
            if self.ranks.get(i) > rank {
                continue;
            }
            r.pos = start;
            match r.typed(field(i).1) {
                Ok(v) => {
                    self.values[i] = v;
                    self.ranks.set(i, rank);
                    if !self.errors.is_empty() {
                        self.errors.retain(|(j, _)| *j != i);
                    }
                    consumed = true;
                }
                Err(e @ JErr::Syntax(_)) => return Err(e),
                Err(e) => {
                    self.errors.retain(|(j, _)| *j != i);
                    self.errors.push((i, e));
                    self.ranks.set(i, rank);
                    // Leave the reader after the value whatever happened.
                    r.pos = start;
                    r.depth = depth;
                    r.skip()?;
                    consumed = true;
                }
            }
        }
        if !consumed {
            r.pos = start;
            r.skip()?;
        }
        Ok(())
    }

    /// The values in field order, or the failure of the first failing field
    /// with its path (`path(i)` names field i).
    fn finish(mut self, path: impl Fn(usize) -> String) -> Result<Vec<Value>, JErr> {
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|(i, _)| *i);
            let (i, e) = self.errors.swap_remove(0);
            return Err(e.at(&path(i)));
        }
        Ok(self.values)
    }
}

/// A streaming JSON reader over record text that converts as it parses.
struct Reader<'a> {
    s: &'a str,
    pos: usize,
    depth: usize,
}

/// The simple-name of the Jackson node class for a JSON token, as ksqlDB
/// error messages show it.
fn node_name_for_number(text: &str) -> &'static str {
    if !is_integral_text(text) {
        "DecimalNode"
    } else if text.parse::<i32>().is_ok() {
        "IntNode"
    } else if text.parse::<i64>().is_ok() {
        "LongNode"
    } else {
        "BigIntegerNode"
    }
}

impl<'a> Reader<'a> {
    fn new(s: &'a str) -> Self {
        Reader {
            s,
            pos: 0,
            depth: 0,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    /// Skips whitespace and returns the next byte without consuming it.
    fn peek(&mut self) -> Option<u8> {
        let b = self.bytes();
        while let Some(&c) = b.get(self.pos) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                return Some(c);
            }
        }
        None
    }

    fn eof(&self) -> JErr {
        JErr::Syntax("Unexpected end-of-input".to_string())
    }

    fn unexpected(&self, expecting: &str) -> JErr {
        match self.s.get(self.pos..).and_then(|rest| rest.chars().next()) {
            Some(c) => JErr::Syntax(format!(
                "Unexpected character ('{c}' (code {})): expected {expecting}",
                c as u32
            )),
            None => self.eof(),
        }
    }

    fn literal(&mut self, lit: &str) -> Result<(), JErr> {
        if self
            .s
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(lit))
        {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(self.unexpected(
                "a JSON value ('true', 'false', 'null', a number, a string, an array or an object)",
            ))
        }
    }

    fn enter(&mut self) -> Result<(), JErr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(JErr::Syntax(format!(
                "Nesting deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    /// The Jackson node name of the value at the current position.
    fn node_name(&mut self) -> &'static str {
        match self.peek() {
            Some(b'{') => "ObjectNode",
            Some(b'[') => "ArrayNode",
            Some(b'"') => "TextNode",
            Some(b't' | b'f') => "BooleanNode",
            Some(b'n') => "NullNode",
            Some(b'-' | b'0'..=b'9') => {
                let save = self.pos;
                let name = match self.number() {
                    Ok(t) => node_name_for_number(t),
                    Err(_) => "MissingNode",
                };
                self.pos = save;
                name
            }
            _ => "MissingNode",
        }
    }

    fn mismatch(&mut self, ty: &SqlType) -> JErr {
        JErr::coerce(format!(
            "Can't convert type. sourceType: {}, requiredType: {ty}",
            self.node_name()
        ))
    }

    /// Reads a plain integer of at most 18 digits (no fraction, exponent or
    /// leading zero) at the current position in one pass; None, reading
    /// nothing, for anything else (which [`Reader::number`] then handles).
    fn small_integer(&mut self) -> Option<i64> {
        let b = self.bytes();
        let neg = b.get(self.pos) == Some(&b'-');
        let start = self.pos + usize::from(neg);
        let mut p = start;
        let mut acc: i64 = 0;
        while let Some(&c) = b.get(p) {
            if !c.is_ascii_digit() {
                break;
            }
            if p - start == 18 {
                return None;
            }
            acc = acc * 10 + i64::from(c - b'0');
            p += 1;
        }
        let digits = p - start;
        if digits == 0
            || (digits > 1 && b[start] == b'0')
            || matches!(b.get(p), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        self.pos = p;
        Some(if neg { -acc } else { acc })
    }

    /// Reads a JSON number at the current position, returning its text.
    fn number(&mut self) -> Result<&'a str, JErr> {
        let b = self.bytes();
        let start = self.pos;
        let mut p = self.pos;
        if b.get(p) == Some(&b'-') {
            p += 1;
        }
        match b.get(p) {
            Some(b'0') => p += 1,
            Some(b'1'..=b'9') => {
                while b.get(p).is_some_and(u8::is_ascii_digit) {
                    p += 1;
                }
            }
            _ => {
                self.pos = p;
                return Err(self.unexpected("a digit"));
            }
        }
        if b.get(p) == Some(&b'.') {
            p += 1;
            if !b.get(p).is_some_and(u8::is_ascii_digit) {
                self.pos = p;
                return Err(self.unexpected("a digit after the decimal point"));
            }
            while b.get(p).is_some_and(u8::is_ascii_digit) {
                p += 1;
            }
        }
        if matches!(b.get(p), Some(b'e' | b'E')) {
            p += 1;
            if matches!(b.get(p), Some(b'+' | b'-')) {
                p += 1;
            }
            if !b.get(p).is_some_and(u8::is_ascii_digit) {
                self.pos = p;
                return Err(self.unexpected("a digit in the exponent"));
            }
            while b.get(p).is_some_and(u8::is_ascii_digit) {
                p += 1;
            }
        }
        self.pos = p;
        Ok(&self.s[start..p])
    }

    /// Reads a JSON string at the current position (which must be `"`).
    fn string(&mut self) -> Result<Cow<'a, str>, JErr> {
        let b = self.bytes();
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes. The first quote, backslash or control
        // character decides.
        let p = next_escape(b, start).unwrap_or(b.len());
        match b.get(p) {
            None => return Err(self.eof()),
            Some(b'"') => {
                self.pos = p + 1;
                return Ok(Cow::Borrowed(&self.s[start..p]));
            }
            Some(b'\\') => {}
            Some(_) => {
                self.pos = p;
                return Err(self.unexpected("no unescaped control character in a string"));
            }
        }
        let mut p = p;
        let mut out = String::with_capacity(p - start + 16);
        out.push_str(&self.s[start..p]);
        loop {
            match b.get(p) {
                None => return Err(self.eof()),
                Some(b'"') => {
                    self.pos = p + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    p += 1;
                    let c = match b.get(p) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let hi = self.hex4(p + 1)?;
                            p += 4;
                            if (0xD800..0xDC00).contains(&hi)
                                && b.get(p + 1) == Some(&b'\\')
                                && b.get(p + 2) == Some(&b'u')
                            {
                                let lo = self.hex4(p + 3)?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    p += 6;
                                    let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                    char::from_u32(cp).unwrap_or('\u{FFFD}')
                                } else {
                                    '\u{FFFD}'
                                }
                            } else {
                                char::from_u32(hi).unwrap_or('\u{FFFD}')
                            }
                        }
                        _ => {
                            self.pos = p;
                            return Err(self.unexpected("a valid escape sequence"));
                        }
                    };
                    out.push(c);
                    p += 1;
                }
                Some(&c) if c < 0x20 => {
                    self.pos = p;
                    return Err(self.unexpected("no unescaped control character in a string"));
                }
                Some(_) => {
                    // Copy the run up to the next quote or backslash.
                    let run_start = p;
                    while b
                        .get(p)
                        .is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20)
                    {
                        p += 1;
                    }
                    out.push_str(&self.s[run_start..p]);
                }
            }
        }
    }

    fn hex4(&mut self, at: usize) -> Result<u32, JErr> {
        let digits = self.s.get(at..at + 4).unwrap_or("");
        if digits.len() == 4 && digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(digits, 16).map_err(|_| self.eof())
        } else {
            self.pos = at;
            Err(self.unexpected("4 hex digits in a \\u escape"))
        }
    }

    /// Moves to the next field of an object whose `{` was consumed: returns
    /// its name (with the `:` consumed), or None after the closing `}`.
    fn obj_next(&mut self, first: &mut bool) -> Result<Option<Cow<'a, str>>, JErr> {
        let c = self.peek();
        if *first {
            *first = false;
            if c == Some(b'}') {
                self.pos += 1;
                return Ok(None);
            }
        } else {
            match c {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(None);
                }
                _ => return Err(self.unexpected("',' or '}'")),
            }
        }
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("a double-quoted field name"));
        }
        let key = self.string()?;
        if self.peek() != Some(b':') {
            return Err(self.unexpected("':'"));
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// Moves to the next element of an array whose `[` was consumed: true
    /// when there is one, false after the closing `]`.
    fn arr_next(&mut self, first: &mut bool) -> Result<bool, JErr> {
        let c = self.peek();
        if *first {
            *first = false;
            if c == Some(b']') {
                self.pos += 1;
                return Ok(false);
            }
            return Ok(true);
        }
        match c {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b']') => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(self.unexpected("',' or ']'")),
        }
    }

    /// Skips one JSON value, checking its syntax.
    fn skip(&mut self) -> Result<(), JErr> {
        match self.peek() {
            None => Err(self.eof()),
            Some(b'{') => {
                self.pos += 1;
                self.enter()?;
                let mut first = true;
                while self.obj_next(&mut first)?.is_some() {
                    self.skip()?;
                }
                self.depth -= 1;
                Ok(())
            }
            Some(b'[') => {
                self.pos += 1;
                self.enter()?;
                let mut first = true;
                while self.arr_next(&mut first)? {
                    self.skip()?;
                }
                self.depth -= 1;
                Ok(())
            }
            Some(b'"') => self.string().map(|_| ()),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            Some(_) => Err(self.unexpected("a JSON value")),
        }
    }

    /// Reads one value as SQL type `ty`.
    fn typed(&mut self, ty: &SqlType) -> Result<Value, JErr> {
        let c = match self.peek() {
            Some(c) => c,
            None => return Err(self.eof()),
        };
        if c == b'n' {
            self.literal("null")?;
            return Ok(Value::Null);
        }
        match ty {
            SqlType::Boolean => match c {
                b't' => self.literal("true").map(|_| Value::Bool(true)),
                b'f' => self.literal("false").map(|_| Value::Bool(false)),
                _ => Err(self.mismatch(ty)),
            },
            SqlType::Int => self.integral(ty, |v| Ok(Value::Int(v as i32))),
            SqlType::BigInt => self.integral(ty, |v| Ok(Value::BigInt(v))),
            SqlType::Date => self.integral(ty, |v| Ok(Value::Date(v as i32))),
            SqlType::Time => self.integral(ty, time_value),
            SqlType::Timestamp => self.integral(ty, |v| Ok(Value::Timestamp(v))),
            SqlType::Double => match c {
                b'-' | b'0'..=b'9' => {
                    let t = self.number()?;
                    Ok(Value::Double(t.parse::<f64>().unwrap_or(f64::NAN)))
                }
                b'"' => {
                    let s = self.string()?;
                    parse_java_double(&s)
                        .map(Value::Double)
                        .ok_or_else(|| coerce_string_error(ty))
                }
                _ => Err(self.mismatch(ty)),
            },
            SqlType::Decimal(p, s) => match c {
                b'-' | b'0'..=b'9' => {
                    let t = self.number()?;
                    decimal_value(t, *p, *s).map_err(JErr::coerce)
                }
                b'"' => {
                    let text = self.string()?;
                    if parse_decimal(&text).is_none() {
                        return Err(JErr::coerce(format!(
                            "Can't coerce string to type. targetType: {ty}"
                        )));
                    }
                    decimal_value(&text, *p, *s).map_err(JErr::coerce)
                }
                _ => Err(self.mismatch(ty)),
            },
            SqlType::String => self.coerced_string().map(Value::String),
            SqlType::Bytes => match c {
                b'"' => {
                    let s = self.string()?;
                    decode_base64(&s).map(Value::Bytes).ok_or_else(|| {
                        JErr::coerce(format!("Value is not a valid Base64 encoded string: {s}"))
                    })
                }
                _ => Err(self.mismatch(ty)),
            },
            SqlType::Array(elem) => {
                if c != b'[' {
                    return Err(self.mismatch(ty));
                }
                self.pos += 1;
                self.enter()?;
                let mut items = Vec::new();
                let mut first = true;
                while self.arr_next(&mut first)? {
                    let idx = items.len();
                    let v = self.typed(elem).map_err(|e| e.at(&format!("[{idx}]")))?;
                    items.push(v);
                }
                self.depth -= 1;
                Ok(Value::Array(items))
            }
            SqlType::Map(kt, vt) => {
                if c != b'{' {
                    return Err(self.mismatch(ty));
                }
                self.pos += 1;
                self.enter()?;
                let mut entries: Vec<(Value, Value)> = Vec::new();
                let mut index: Option<HashMap<String, usize>> = None;
                let mut first = true;
                while let Some(key) = self.obj_next(&mut first)? {
                    let k = coerce_text(&key, kt).map_err(|e| e.at(&format!(".{key}.key")))?;
                    let v = self.typed(vt).map_err(|e| e.at(&format!(".{key}.value")))?;
                    insert_unique(&mut entries, &mut index, &key, k, v);
                }
                self.depth -= 1;
                Ok(Value::Map(entries))
            }
            SqlType::Struct(fields) => {
                if c != b'{' {
                    return Err(self.mismatch(ty));
                }
                self.pos += 1;
                self.enter()?;
                let mut slots = FieldSlots::new(fields.len());
                let mut first = true;
                while let Some(key) = self.obj_next(&mut first)? {
                    let (exact, upper) = match_field(&key, fields.iter().map(|(n, _)| n.as_str()));
                    slots.read(self, exact, upper, |i| (fields[i].0.as_str(), &fields[i].1))?;
                }
                self.depth -= 1;
                let values = slots.finish(|i| format!(".{}", fields[i].0))?;
                Ok(Value::Struct(
                    fields.iter().map(|(n, _)| n.clone()).zip(values).collect(),
                ))
            }
            SqlType::Any | SqlType::Custom(_) => self.natural(),
            SqlType::Null => self.skip().map(|_| Value::Null),
        }
    }

    /// Reads an integral-typed value: a JSON number (as Java's `longValue`
    /// gives it) or a string holding a plain integer of the type's width,
    /// then builds the value with `conv`.
    fn integral(
        &mut self,
        ty: &SqlType,
        conv: impl Fn(i64) -> Result<Value, String>,
    ) -> Result<Value, JErr> {
        let v = match self.peek() {
            Some(b'-' | b'0'..=b'9') => match self.small_integer() {
                Some(v) => v,
                None => number_to_i64(self.number()?),
            },
            Some(b'"') => {
                let s = self.string()?;
                let parsed = match ty {
                    SqlType::Int | SqlType::Date => s.parse::<i32>().map(i64::from),
                    _ => s.parse::<i64>(),
                };
                parsed.map_err(|_| coerce_string_error(ty))?
            }
            _ => return Err(self.mismatch(ty)),
        };
        conv(v).map_err(JErr::coerce)
    }

    /// Reads any value as a STRING, as ksqlDB does: text as is, numbers and
    /// booleans as their text, objects as compact JSON, arrays as `[a, b]`.
    fn coerced_string(&mut self) -> Result<String, JErr> {
        match self.peek() {
            None => Err(self.eof()),
            Some(b'"') => self.string().map(Cow::into_owned),
            Some(b't') => self.literal("true").map(|_| "true".to_string()),
            Some(b'f') => self.literal("false").map(|_| "false".to_string()),
            Some(b'n') => self.literal("null").map(|_| "null".to_string()),
            Some(b'-' | b'0'..=b'9') => {
                let t = self.number()?;
                Ok(java_number_text(t).into_owned())
            }
            Some(b'{') => {
                let mut out = String::new();
                self.copy_json(&mut out)?;
                Ok(out)
            }
            Some(b'[') => {
                self.pos += 1;
                self.enter()?;
                let mut out = String::from("[");
                let mut first = true;
                let mut n = 0usize;
                while self.arr_next(&mut first)? {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&self.coerced_string()?);
                    n += 1;
                }
                self.depth -= 1;
                out.push(']');
                Ok(out)
            }
            Some(_) => Err(self.unexpected("a JSON value")),
        }
    }

    /// Re-writes one JSON value compactly into `out`, as Jackson would print
    /// it (numbers in Java's BigDecimal / integer text).
    fn copy_json(&mut self, out: &mut String) -> Result<(), JErr> {
        match self.peek() {
            None => Err(self.eof()),
            Some(b'{') => {
                self.pos += 1;
                self.enter()?;
                out.push('{');
                let mut first = true;
                let mut n = 0usize;
                while let Some(key) = self.obj_next(&mut first)? {
                    if n > 0 {
                        out.push(',');
                    }
                    write_json_string(out, &key);
                    out.push(':');
                    self.copy_json(out)?;
                    n += 1;
                }
                self.depth -= 1;
                out.push('}');
                Ok(())
            }
            Some(b'[') => {
                self.pos += 1;
                self.enter()?;
                out.push('[');
                let mut first = true;
                let mut n = 0usize;
                while self.arr_next(&mut first)? {
                    if n > 0 {
                        out.push(',');
                    }
                    self.copy_json(out)?;
                    n += 1;
                }
                self.depth -= 1;
                out.push(']');
                Ok(())
            }
            Some(b'"') => {
                let s = self.string()?;
                write_json_string(out, &s);
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => {
                let t = self.number()?;
                out.push_str(&java_number_text(t));
                Ok(())
            }
            Some(b't') => self.literal("true").map(|_| out.push_str("true")),
            Some(b'f') => self.literal("false").map(|_| out.push_str("false")),
            Some(b'n') => self.literal("null").map(|_| out.push_str("null")),
            Some(_) => Err(self.unexpected("a JSON value")),
        }
    }

    /// Reads a value with no declared type: integers as BIGINT (DOUBLE when
    /// too large), other numbers as DOUBLE, objects as MAP<STRING, ...>.
    fn natural(&mut self) -> Result<Value, JErr> {
        match self.peek() {
            None => Err(self.eof()),
            Some(b'"') => self.string().map(|s| Value::String(s.into_owned())),
            Some(b't') => self.literal("true").map(|_| Value::Bool(true)),
            Some(b'f') => self.literal("false").map(|_| Value::Bool(false)),
            Some(b'n') => self.literal("null").map(|_| Value::Null),
            Some(b'-' | b'0'..=b'9') => {
                let t = self.number()?;
                Ok(match t.parse::<i64>() {
                    Ok(i) if is_integral_text(t) => Value::BigInt(i),
                    _ => Value::Double(t.parse::<f64>().unwrap_or(f64::NAN)),
                })
            }
            Some(b'[') => self.typed(&SqlType::Array(Box::new(SqlType::Any))),
            Some(b'{') => self.typed(&SqlType::Map(
                Box::new(SqlType::String),
                Box::new(SqlType::Any),
            )),
            Some(_) => Err(self.unexpected("a JSON value")),
        }
    }
}

/// Adds a map entry, replacing the value of an equal key already present
/// (JSON objects may repeat a name; the last one wins).
fn insert_unique(
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

fn coerce_string_error(ty: &SqlType) -> JErr {
    JErr::coerce(format!("Can't coerce string to type. targetType: {ty}"))
}

/// Converts text (a map key, say) to a primitive SQL type.
fn coerce_text(s: &str, ty: &SqlType) -> Result<Value, JErr> {
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
fn is_integral_text(t: &str) -> bool {
    !t.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
}

/// A JSON number as Java's `longValue()` gives it: fractions truncated
/// toward zero, wider integers wrapped to their low 64 bits.
fn number_to_i64(t: &str) -> i64 {
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

fn time_value(ms: i64) -> Result<Value, String> {
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
fn java_number_text(t: &str) -> Cow<'_, str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ColumnKind;
    use serde_json::json;

    fn col(name: &str, ty: SqlType) -> Column {
        Column::new(name, ty, ColumnKind::Value)
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(Decimal::parse(s).unwrap())
    }

    #[test]
    fn string_escapes_at_every_position() {
        // The escape scan looks at eight bytes at a time: put each special
        // character at every offset around those boundaries.
        let naive = |s: &str| {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        };
        for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', 'é', ' '] {
            for len in 0..20 {
                for at in 0..=len {
                    let mut s: String = "abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
                    s.insert(at, special);
                    let mut out = String::new();
                    write_json_string(&mut out, &s);
                    assert_eq!(out, naive(&s), "{s:?}");
                    // And it reads back.
                    let back = json_text_to_value(&out, &SqlType::String).unwrap();
                    assert_eq!(back, Value::String(s.clone()));
                }
            }
        }
    }

    #[test]
    fn integers_read_in_one_pass_match_the_general_path() {
        for text in [
            "0",
            "-0",
            "7",
            "-7",
            "123456789012345678",
            "-123456789012345678",
            "1234567890123456789",
            "9223372036854775807",
            "-9223372036854775808",
            "99999999999999999999",
            "1.5",
            "-2.9",
            "1e3",
            "10E2",
            "0.0",
        ] {
            let v = json_text_to_value(text, &SqlType::BigInt).unwrap();
            assert_eq!(v, Value::BigInt(number_to_i64(text)), "{text}");
        }
        for bad in ["-", "1.", "1e"] {
            assert!(json_text_to_value(bad, &SqlType::BigInt).is_err(), "{bad}");
        }
        // A leading zero ends the number (what follows is left unread).
        let mut r = Reader::new("01");
        assert_eq!(r.typed(&SqlType::BigInt).unwrap(), Value::BigInt(0));
        assert_eq!(r.pos, 1);
    }

    #[test]
    fn hinted_field_lookup_matches_the_plain_one() {
        let cols = |names: &[&str]| -> Vec<Column> {
            names.iter().map(|n| col(n, SqlType::Int)).collect()
        };
        for names in [
            &["A", "BB", "C_1", "DATE_TIME"][..],
            &["A", "a", "Bb"][..],
            &["X", "X"][..],
        ] {
            let codec = JsonCodec::new(cols(names), false);
            for key in [
                "a",
                "A",
                "bb",
                "BB",
                "Bb",
                "c_1",
                "C_1",
                "date_time",
                "x",
                "X",
                "zz",
                "é",
            ] {
                for hint in 0..=names.len() {
                    assert_eq!(
                        codec.lookup_from(key, hint),
                        codec.lookup(key),
                        "{names:?} {key} {hint}"
                    );
                }
            }
        }
    }

    fn decode(c: &JsonCodec, s: &str) -> Result<Option<Vec<Value>>> {
        c.decode(Some(s.as_bytes()))
    }

    fn encode(c: &JsonCodec, v: Vec<Value>) -> String {
        String::from_utf8(c.encode(&v).unwrap().unwrap()).unwrap()
    }

    fn one(ty: SqlType, text: &str) -> Result<Value> {
        json_text_to_value(text, &ty)
    }

    #[test]
    fn wrapped_round_trip_and_case_insensitive_names() {
        let c = JsonCodec::new(
            vec![
                col("ID", SqlType::BigInt),
                col("NAME", SqlType::String),
                col("PRICE", SqlType::Decimal(4, 2)),
            ],
            false,
        );
        let row = decode(
            &c,
            r#"{"id": 1, "Name": "x", "extra": [1, {"a": 2}], "price": 10.5}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            row,
            vec![Value::BigInt(1), Value::String("x".into()), dec("10.50")]
        );
        assert_eq!(encode(&c, row), r#"{"ID":1,"NAME":"x","PRICE":10.50}"#);
        // Missing fields are null; `{}` is a row of nulls.
        let row = decode(&c, "{}").unwrap().unwrap();
        assert!(row.iter().all(Value::is_null));
        assert_eq!(encode(&c, row), r#"{"ID":null,"NAME":null,"PRICE":null}"#);
    }

    #[test]
    fn quoted_columns_match_exactly_and_exact_beats_upper() {
        let c = JsonCodec::new(
            vec![col("with.dot", SqlType::String), col("V", SqlType::Int)],
            false,
        );
        let row = decode(
            &c,
            r#"{"WITH.DOT": "no", "with.dot": "yes", "v": 1, "V": 2, "v": 3}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(row, vec![Value::String("yes".into()), Value::Int(2)]);
        let row = decode(&c, r#"{"With.Dot": "no"}"#).unwrap().unwrap();
        assert_eq!(row[0], Value::Null);
    }

    #[test]
    fn many_columns_use_the_hashed_lookup() {
        let cols: Vec<Column> = (0..40)
            .map(|i| col(&format!("C{i}"), SqlType::Int))
            .collect();
        let c = JsonCodec::new(cols, false);
        let row = decode(&c, r#"{"c7": 7, "C39": 39, "C7": 70}"#)
            .unwrap()
            .unwrap();
        assert_eq!(row[7], Value::Int(70));
        assert_eq!(row[39], Value::Int(39));
        assert_eq!(row[0], Value::Null);
    }

    #[test]
    fn null_and_absent_records() {
        let c = JsonCodec::new(vec![col("A", SqlType::Int)], false);
        assert_eq!(c.decode(None).unwrap(), None);
        assert_eq!(decode(&c, " null ").unwrap(), None);
        let u = JsonCodec::new(vec![col("A", SqlType::Int)], true);
        assert_eq!(decode(&u, "null").unwrap(), None);
        assert_eq!(u.encode(&[Value::Null]).unwrap(), None);
        assert!(decode(&c, "").is_err());
        let none = JsonCodec::new(vec![], false);
        assert_eq!(none.encode(&[]).unwrap(), None);
        assert_eq!(decode(&none, "whatever").unwrap(), Some(vec![]));
    }

    #[test]
    fn unwrapped_values() {
        let u = JsonCodec::new(
            vec![col("V", SqlType::Array(Box::new(SqlType::String)))],
            true,
        );
        let row = decode(&u, r#"["a", 1, null, true]"#).unwrap().unwrap();
        assert_eq!(
            row,
            vec![Value::Array(vec![
                Value::String("a".into()),
                Value::String("1".into()),
                Value::Null,
                Value::String("true".into()),
            ])]
        );
        assert_eq!(encode(&u, row), r#"["a","1",null,"true"]"#);
        let s = JsonCodec::new(
            vec![col(
                "K",
                SqlType::Struct(vec![("F".into(), SqlType::Double)]),
            )],
            true,
        );
        let row = decode(&s, r#"{"f": 45.67}"#).unwrap().unwrap();
        assert_eq!(encode(&s, row), r#"{"F":45.67}"#);
        // An unwrapped primitive does not accept an object.
        let p = JsonCodec::new(vec![col("FOO", SqlType::Int)], true);
        let err = decode(&p, r#"{"FOO": 1}"#).unwrap_err().to_string();
        assert_eq!(
            err,
            "Can't convert type. sourceType: ObjectNode, requiredType: INTEGER, path: $"
        );
    }

    #[test]
    fn lenient_numbers() {
        assert_eq!(one(SqlType::Int, "1.9").unwrap(), Value::Int(1));
        assert_eq!(one(SqlType::Int, "-1.9").unwrap(), Value::Int(-1));
        assert_eq!(one(SqlType::Int, "\"42\"").unwrap(), Value::Int(42));
        assert_eq!(one(SqlType::Int, "4294967297").unwrap(), Value::Int(1));
        assert_eq!(one(SqlType::BigInt, "1e3").unwrap(), Value::BigInt(1000));
        assert_eq!(one(SqlType::BigInt, "\"-7\"").unwrap(), Value::BigInt(-7));
        assert_eq!(one(SqlType::Double, "1").unwrap(), Value::Double(1.0));
        assert_eq!(
            one(SqlType::Double, "\" 2.5 \"").unwrap(),
            Value::Double(2.5)
        );
        assert_eq!(one(SqlType::Date, "-10").unwrap(), Value::Date(-10));
        assert_eq!(one(SqlType::Time, "10").unwrap(), Value::Time(10));
        assert!(one(SqlType::Time, "-1").is_err());
        assert_eq!(
            one(SqlType::Timestamp, "\"1000\"").unwrap(),
            Value::Timestamp(1000)
        );
    }

    #[test]
    fn decimals_keep_exact_digits() {
        let ty = SqlType::Decimal(21, 19);
        assert_eq!(
            one(ty.clone(), "10.1234512345123451234").unwrap(),
            dec("10.1234512345123451234")
        );
        assert_eq!(
            one(SqlType::Decimal(4, 2), "\"1.005\"").unwrap(),
            dec("1.01")
        );
        assert_eq!(one(SqlType::Decimal(4, 2), "-1.005").unwrap(), dec("-1.01"));
        assert_eq!(one(SqlType::Decimal(6, 4), "1E1").unwrap(), dec("10.0000"));
        assert_eq!(one(SqlType::Decimal(6, 4), "0e999").unwrap(), dec("0.0000"));
        let err = one(SqlType::Decimal(4, 2), "123.4")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("Numeric field overflow"), "{err}");
        assert!(one(SqlType::Decimal(4, 2), "1e99999").is_err());
        assert!(one(SqlType::Decimal(4, 2), "\"abc\"").is_err());
        let mut out = String::new();
        write_json(&mut out, &dec("-0.050"));
        assert_eq!(out, "-0.050");
    }

    #[test]
    fn strings_from_anything() {
        assert_eq!(
            one(SqlType::String, "10").unwrap(),
            Value::String("10".into())
        );
        assert_eq!(
            one(SqlType::String, "1.50").unwrap(),
            Value::String("1.50".into())
        );
        assert_eq!(
            one(SqlType::String, "1e3").unwrap(),
            Value::String("1E+3".into())
        );
        assert_eq!(
            one(SqlType::String, "0.0000001").unwrap(),
            Value::String("1E-7".into())
        );
        assert_eq!(
            one(SqlType::String, "false").unwrap(),
            Value::String("false".into())
        );
        assert_eq!(
            one(SqlType::String, r#"{ "a" : [1, "x\n"], "b": {} }"#).unwrap(),
            Value::String(r#"{"a":[1,"x\n"],"b":{}}"#.into())
        );
        assert_eq!(
            one(SqlType::String, r#"[1, [2, "a"], null, {"k":1.0}]"#).unwrap(),
            Value::String(r#"[1, [2, a], null, {"k":1.0}]"#.into())
        );
        assert_eq!(
            one(SqlType::String, r#""\u00e9\ud83d\ude00\"""#).unwrap(),
            Value::String("é😀\"".into())
        );
    }

    #[test]
    fn conversion_errors_name_the_source_and_path() {
        let c = JsonCodec::new(
            vec![
                col("A", SqlType::Int),
                col(
                    "S",
                    SqlType::Struct(vec![("L".into(), SqlType::Array(Box::new(SqlType::Int)))]),
                ),
            ],
            false,
        );
        let err = decode(&c, r#"{"A": "abc"}"#).unwrap_err().to_string();
        assert_eq!(
            err,
            "Can't coerce string to type. targetType: INTEGER, path: $.A"
        );
        let err = decode(&c, r#"{"A": 1, "S": {"l": [1, true]}}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "Can't convert type. sourceType: BooleanNode, requiredType: INTEGER, path: $.S.L[1]"
        );
        let err = decode(&c, "[1]").unwrap_err().to_string();
        assert!(err.starts_with("Can't convert type. sourceType: ArrayNode, requiredType: STRUCT<"));
        assert!(one(SqlType::Boolean, "\"true\"").is_err());
        assert!(one(SqlType::Bytes, "\"!!\"").is_err());
        // A bad field is ignored when a better-matching field follows.
        let row = decode(&c, r#"{"a": "x", "A": 5}"#).unwrap().unwrap();
        assert_eq!(row[0], Value::Int(5));
    }

    #[test]
    fn syntax_errors() {
        let c = JsonCodec::new(vec![col("A", SqlType::Int)], false);
        for bad in [
            r#"{"A": 1,}"#,
            r#"{"A": 01}"#,
            r#"{"A" 1}"#,
            r#"{"A": [1}"#,
            "{\"A\": \"\u{1}\"}",
            "{",
        ] {
            let err = decode(&c, bad).unwrap_err().to_string();
            assert!(err.starts_with("Invalid JSON"), "{bad}: {err}");
        }
        // Unknown fields are still checked.
        assert!(decode(&c, r#"{"B": tru}"#).is_err());
        let deep = "[".repeat(MAX_DEPTH + 10);
        let u = JsonCodec::new(vec![col("A", SqlType::String)], true);
        assert!(decode(&u, &deep).is_err());
    }

    #[test]
    fn maps_structs_and_bytes() {
        let ty = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int));
        let v = one(ty.clone(), r#"{"a": 1, "b": null, "a": 3}"#).unwrap();
        assert_eq!(
            v,
            Value::Map(vec![
                (Value::String("a".into()), Value::Int(3)),
                (Value::String("b".into()), Value::Null),
            ])
        );
        let big: String = format!(
            "{{{}}}",
            (0..20)
                .map(|i| format!("\"k{}\": {i}", i % 10))
                .collect::<Vec<_>>()
                .join(",")
        );
        match one(ty, &big).unwrap() {
            Value::Map(e) => assert_eq!(e.len(), 10),
            other => panic!("{other:?}"),
        }
        let st = SqlType::Struct(vec![
            ("X".into(), SqlType::Bytes),
            ("y".into(), SqlType::Boolean),
        ]);
        let v = one(st, r#"{"x": "AQI=", "y": true, "Y": false}"#).unwrap();
        assert_eq!(
            v,
            Value::Struct(vec![
                ("X".into(), Value::Bytes(vec![1, 2])),
                ("y".into(), Value::Bool(true)),
            ])
        );
        let mut out = String::new();
        write_json(&mut out, &v);
        assert_eq!(out, r#"{"X":"AQI=","y":true}"#);
    }

    #[test]
    fn doubles_and_special_values() {
        let mut out = String::new();
        for v in [1.0, 1e21, 0.1, -2.5e-8, f64::NAN, f64::NEG_INFINITY] {
            out.clear();
            write_json(&mut out, &Value::Double(v));
            let back = one(SqlType::Double, &out).unwrap();
            match back {
                Value::Double(b) => assert!(b == v || (b.is_nan() && v.is_nan()), "{out}"),
                other => panic!("{other:?}"),
            }
        }
        out.clear();
        write_json(&mut out, &Value::Double(1.0));
        assert_eq!(out, "1.0");
    }

    #[test]
    fn json_value_helpers_round_trip() {
        let ty = SqlType::Struct(vec![
            ("A".into(), SqlType::Array(Box::new(SqlType::Decimal(4, 2)))),
            (
                "M".into(),
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double)),
            ),
            ("B".into(), SqlType::Bytes),
            ("T".into(), SqlType::Timestamp),
            ("S".into(), SqlType::String),
        ]);
        let j =
            json!({"a": [10.5, "1.25", null], "m": {"x": 1.5}, "b": "AQ==", "t": 5, "s": "q\""});
        let v = json_to_value(&j, &ty).unwrap();
        assert_eq!(
            value_to_json(&v),
            json!({"A": [10.5, 1.25, null], "M": {"x": 1.5}, "B": "AQ==", "T": 5, "S": "q\""})
        );
        assert_eq!(
            json_to_value(&json!(null), &SqlType::Int).unwrap(),
            Value::Null
        );
        assert_eq!(value_to_json(&dec("12")), json!(12));
        assert_eq!(value_to_json(&Value::Double(f64::NAN)), json!("NaN"));
        let any = json_to_value(&json!({"k": [1, 2.5, "s"]}), &SqlType::Any).unwrap();
        assert_eq!(value_to_json(&any), json!({"k": [1, 2.5, "s"]}));
    }

    #[test]
    fn json_sr_header_is_skipped() {
        let c = JsonCodec::new(vec![col("A", SqlType::Int)], false);
        let mut bytes = vec![0u8, 0, 0, 0, 7];
        bytes.extend_from_slice(br#"{"A": 3}"#);
        assert_eq!(c.decode(Some(&bytes)).unwrap(), Some(vec![Value::Int(3)]));
    }

    #[test]
    fn string_escaping() {
        let mut out = String::new();
        write_json_string(&mut out, "a\"b\\c\n\u{1}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001é\"");
        assert_eq!(
            one(SqlType::String, &out).unwrap(),
            Value::String("a\"b\\c\n\u{1}é".into())
        );
    }
}
