//! Reading JSON record text straight into typed values: the streaming
//! reader, field matching (exact name, then upper-cased) and its errors.

use super::coerce::*;
use super::error::JErr;
use super::write::{next_escape, write_json_string};
use crate::error::Result;
use crate::types::{SqlType, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// Deepest nesting of arrays and objects accepted in a record.
pub(super) const MAX_DEPTH: usize = 512;

/// True when upper-casing `key` gives a different string.
pub(super) fn changes_when_upper_cased(key: &str) -> bool {
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
pub(super) fn match_field<'n>(
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

/// Fields of an object being read into a fixed list of columns or struct
/// fields, applying ksqlDB's precedence: an exactly named field wins over
/// one matched by upper-casing; among equals, the last one wins.
pub(super) struct FieldSlots {
    values: Vec<Value>,
    ranks: Ranks,
    /// Conversion failures still standing: (field index, error).
    errors: Vec<(usize, JErr)>,
}

/// The rank of every slot: 0 unset, 1 set from an upper-cased match, 2 set
/// from an exact match. Up to 64 slots as two bit sets (no allocation).
pub(super) enum Ranks {
    Bits { upper: u64, exact: u64 },
    Bytes(Vec<u8>),
}

impl Ranks {
    pub(super) fn new(n: usize) -> Self {
        if n <= 64 {
            Ranks::Bits { upper: 0, exact: 0 }
        } else {
            Ranks::Bytes(vec![0; n])
        }
    }

    pub(super) fn get(&self, i: usize) -> u8 {
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

    pub(super) fn set(&mut self, i: usize, rank: u8) {
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
    pub(super) fn new(n: usize) -> Self {
        FieldSlots::with_capacity(n, n)
    }

    /// Slots for `n` fields, whose value list has room for `capacity`
    /// values (the caller may add more after them).
    pub(super) fn with_capacity(n: usize, capacity: usize) -> Self {
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
    pub(super) fn read<'t>(
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
    pub(super) fn finish(mut self, path: impl Fn(usize) -> String) -> Result<Vec<Value>, JErr> {
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|(i, _)| *i);
            let (i, e) = self.errors.swap_remove(0);
            return Err(e.at(&path(i)));
        }
        Ok(self.values)
    }
}

/// A streaming JSON reader over record text that converts as it parses.
pub(super) struct Reader<'a> {
    pub(super) s: &'a str,
    pub(super) pos: usize,
    pub(super) depth: usize,
}

/// The simple-name of the Jackson node class for a JSON token, as ksqlDB
/// error messages show it.
pub(super) fn node_name_for_number(text: &str) -> &'static str {
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
    pub(super) fn new(s: &'a str) -> Self {
        Reader {
            s,
            pos: 0,
            depth: 0,
        }
    }

    pub(super) fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    /// Skips whitespace and returns the next byte without consuming it.
    pub(super) fn peek(&mut self) -> Option<u8> {
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

    pub(super) fn eof(&self) -> JErr {
        JErr::Syntax("Unexpected end-of-input".to_string())
    }

    pub(super) fn unexpected(&self, expecting: &str) -> JErr {
        match self.s.get(self.pos..).and_then(|rest| rest.chars().next()) {
            Some(c) => JErr::Syntax(format!(
                "Unexpected character ('{c}' (code {})): expected {expecting}",
                c as u32
            )),
            None => self.eof(),
        }
    }

    pub(super) fn literal(&mut self, lit: &str) -> Result<(), JErr> {
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

    pub(super) fn enter(&mut self) -> Result<(), JErr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(JErr::Syntax(format!(
                "Nesting deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    /// The Jackson node name of the value at the current position.
    pub(super) fn node_name(&mut self) -> &'static str {
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

    pub(super) fn mismatch(&mut self, ty: &SqlType) -> JErr {
        JErr::coerce(format!(
            "Can't convert type. sourceType: {}, requiredType: {ty}",
            self.node_name()
        ))
    }

    /// Reads a plain integer of at most 18 digits (no fraction, exponent or
    /// leading zero) at the current position in one pass; None, reading
    /// nothing, for anything else (which [`Reader::number`] then handles).
    pub(super) fn small_integer(&mut self) -> Option<i64> {
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
    pub(super) fn number(&mut self) -> Result<&'a str, JErr> {
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
    pub(super) fn string(&mut self) -> Result<Cow<'a, str>, JErr> {
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

    pub(super) fn hex4(&mut self, at: usize) -> Result<u32, JErr> {
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
    pub(super) fn obj_next(&mut self, first: &mut bool) -> Result<Option<Cow<'a, str>>, JErr> {
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
    pub(super) fn arr_next(&mut self, first: &mut bool) -> Result<bool, JErr> {
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
    pub(super) fn skip(&mut self) -> Result<(), JErr> {
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
    pub(super) fn typed(&mut self, ty: &SqlType) -> Result<Value, JErr> {
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
    pub(super) fn integral(
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
    pub(super) fn coerced_string(&mut self) -> Result<String, JErr> {
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
    pub(super) fn copy_json(&mut self, out: &mut String) -> Result<(), JErr> {
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
    pub(super) fn natural(&mut self) -> Result<Value, JErr> {
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
