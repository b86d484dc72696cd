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
//!
//! This file holds [`JsonCodec`]; the parts are `read` (the streaming reader
//! and field matching), `coerce` (the lenient conversions), `write` (JSON
//! text out) and `error` (decoding failures with their path).

use crate::error::{Error, Result};
use crate::formats::Codec;
use crate::types::{Column, SqlType, Value};
use std::collections::HashMap;

mod coerce;
mod error;
mod read;
#[cfg(test)]
mod tests;
mod write;

pub(crate) use coerce::{decimal_value, decode_base64, parse_decimal, parse_java_double};
use error::JErr;
use read::*;
pub use write::{value_to_json, write_json, write_json_string};

/// Above this many columns, top-level field names are looked up in a hash
/// map rather than by a linear scan.
const HASH_LOOKUP_MIN_COLUMNS: usize = 16;

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
