//! ksqlDB's string functions: case, trimming, substrings, padding, splitting,
//! regular expressions, masking, encodings and the like. Most return NULL
//! when an input is NULL; the exceptions (CONCAT, CONCAT_WS, INSTR, FIELD...)
//! follow ksqlDB's documented behaviour.
//!
//! Lengths and positions count Unicode characters.

use super::args::{any_null, bytes_of, fits, str_of};
use super::encoding::{
    decode_base64_lenient, decode_hex, encode_base64, from_ascii_bytes, to_ascii_bytes, Encoding,
};
use super::{accepts, no_signature, FunctionRegistry, Resolved};
use crate::error::{Error, Result};
use crate::types::{SqlType, Value};
use md5::{Digest, Md5};
use parking_lot::Mutex;
use regex::{Captures, Regex};

const CATEGORY: &str = "STRING";

/// Registers this family's functions.
pub fn register(reg: &mut FunctionRegistry) {
    reg.add(
        "CONCAT",
        CATEGORY,
        "Concatenates strings or bytes; NULL inputs count as empty.",
        |a| concat("CONCAT", a),
    );
    reg.add(
        "CONCAT_WS",
        CATEGORY,
        "Concatenates strings or bytes with a separator between them, skipping NULLs.",
        concat_ws,
    );
    reg.add("UCASE", CATEGORY, "Converts a string to upper case.", |a| {
        unary_string("UCASE", a, |s| s.to_uppercase())
    });
    reg.add("LCASE", CATEGORY, "Converts a string to lower case.", |a| {
        unary_string("LCASE", a, |s| s.to_lowercase())
    });
    reg.add(
        "TRIM",
        CATEGORY,
        "Removes whitespace from both ends of a string.",
        |a| unary_string("TRIM", a, |s| s.trim_matches(is_java_space).to_string()),
    );
    reg.add(
        "LTRIM",
        CATEGORY,
        "Removes whitespace from the start of a string.",
        |a| {
            unary_string("LTRIM", a, |s| {
                s.trim_start_matches(is_java_space).to_string()
            })
        },
    );
    reg.add(
        "RTRIM",
        CATEGORY,
        "Removes whitespace from the end of a string.",
        |a| {
            unary_string("RTRIM", a, |s| {
                s.trim_end_matches(is_java_space).to_string()
            })
        },
    );
    reg.add(
        "INITCAP",
        CATEGORY,
        "Capitalizes the first letter of each whitespace-delimited word and lower-cases the rest.",
        |a| unary_string("INITCAP", a, initcap),
    );
    reg.add(
        "MD5",
        CATEGORY,
        "The MD5 digest of a string's UTF-8 bytes, as lower-case hex.",
        |a| unary_string("MD5", a, |s| hex::encode(Md5::digest(s.as_bytes()))),
    );
    reg.add(
        "LEN",
        CATEGORY,
        "The number of characters in a string or bytes in a BYTES value.",
        |a| len("LEN", a),
    );
    reg.add(
        "LENGTH",
        CATEGORY,
        "The number of characters in a string or bytes in a BYTES value.",
        |a| len("LENGTH", a),
    );
    reg.add(
        "SUBSTRING",
        CATEGORY,
        "The part of a string or bytes from a 1-based position (negative counts from the end), optionally of a given length.",
        substring,
    );
    reg.add(
        "REPLACE",
        CATEGORY,
        "Replaces every occurrence of a substring.",
        replace,
    );
    reg.add(
        "REGEXP_REPLACE",
        CATEGORY,
        "Replaces every match of a regular expression.",
        regexp_replace,
    );
    reg.add(
        "REGEXP_EXTRACT",
        CATEGORY,
        "The first match of a regular expression, or of one of its capturing groups.",
        |a| regexp_extract("REGEXP_EXTRACT", a),
    );
    reg.add(
        "REGEXP_EXTRACT_ALL",
        CATEGORY,
        "Every match of a regular expression, or of one of its capturing groups.",
        |a| regexp_extract("REGEXP_EXTRACT_ALL", a),
    );
    reg.add(
        "REGEXP_SPLIT_TO_ARRAY",
        CATEGORY,
        "Splits a string around the matches of a regular expression.",
        regexp_split_to_array,
    );
    reg.add(
        "SPLIT",
        CATEGORY,
        "Splits a string or bytes around a delimiter.",
        split,
    );
    reg.add(
        "SPLIT_TO_MAP",
        CATEGORY,
        "Splits a string into key-value pairs and builds a map from them.",
        split_to_map,
    );
    reg.add(
        "INSTR",
        CATEGORY,
        "The 1-based position of a substring, optionally from a position and for the n-th occurrence; 0 if absent.",
        instr,
    );
    reg.add(
        "LPAD",
        CATEGORY,
        "Pads a string or bytes on the left to a length, truncating longer inputs.",
        |a| pad("LPAD", a, true),
    );
    reg.add(
        "RPAD",
        CATEGORY,
        "Pads a string or bytes on the right to a length, truncating longer inputs.",
        |a| pad("RPAD", a, false),
    );
    reg.add(
        "MASK",
        CATEGORY,
        "Masks the letters, digits and other characters of a string.",
        |a| mask("MASK", a, MaskRange::All),
    );
    reg.add(
        "MASK_LEFT",
        CATEGORY,
        "Masks the first n characters of a string.",
        |a| mask("MASK_LEFT", a, MaskRange::Left),
    );
    reg.add(
        "MASK_RIGHT",
        CATEGORY,
        "Masks the last n characters of a string.",
        |a| mask("MASK_RIGHT", a, MaskRange::Right),
    );
    reg.add(
        "MASK_KEEP_LEFT",
        CATEGORY,
        "Masks all but the first n characters of a string.",
        |a| mask("MASK_KEEP_LEFT", a, MaskRange::KeepLeft),
    );
    reg.add(
        "MASK_KEEP_RIGHT",
        CATEGORY,
        "Masks all but the last n characters of a string.",
        |a| mask("MASK_KEEP_RIGHT", a, MaskRange::KeepRight),
    );
    reg.add(
        "CHR",
        CATEGORY,
        "The single-character string for a decimal code point or a '\\uXXXX' escape.",
        chr,
    );
    reg.add(
        "ELT",
        CATEGORY,
        "The n-th (1-based) of the following strings, or NULL.",
        elt,
    );
    reg.add(
        "FIELD",
        CATEGORY,
        "The 1-based position of a string among the following strings, or 0.",
        field,
    );
    reg.add(
        "UUID",
        CATEGORY,
        "A random (version 4) UUID, or the UUID held in 16 bytes.",
        uuid,
    );
    reg.add(
        "ENCODE",
        CATEGORY,
        "Re-encodes a string from one of hex, utf8, ascii and base64 to another.",
        encode,
    );
}

// ---------------------------------------------------------------------------
// Helpers of the string functions.

/// The integer in a value already known to be a non-null INT or BIGINT.
pub(crate) fn int_of(v: &Value) -> Result<i64> {
    v.as_i64()
        .ok_or_else(|| Error::eval(format!("expected an integer, got {v:?}")))
}

/// A resolver body for `STRING -> STRING` functions that return NULL for a
/// NULL input.
pub(crate) fn unary_string(
    name: &str,
    args: &[SqlType],
    f: impl Fn(&str) -> String + Send + Sync + 'static,
) -> Result<Resolved> {
    if !fits(&[SqlType::String], args) {
        return Err(no_signature(name, args));
    }
    Ok(Resolved::new(SqlType::String, move |v| match &v[0] {
        Value::Null => Ok(Value::Null),
        s => Ok(Value::String(f(str_of(s)?))),
    }))
}

/// Whether the string-or-bytes overload applies: `Some(true)` for BYTES,
/// `Some(false)` for STRING (also when every argument is an untyped NULL),
/// `None` when the arguments mix the two or are neither.
fn string_or_bytes(args: &[&SqlType]) -> Option<bool> {
    let mut kind = None;
    for t in args {
        let is_bytes = match t {
            SqlType::Null => continue,
            SqlType::String => false,
            SqlType::Bytes => true,
            _ => return None,
        };
        if kind.is_some_and(|k| k != is_bytes) {
            return None;
        }
        kind = Some(is_bytes);
    }
    Some(kind.unwrap_or(false))
}

/// Java's `String.trim` notion of whitespace: every char up to U+0020.
fn is_java_space(c: char) -> bool {
    c <= ' '
}

/// Java regex `\s`: ASCII whitespace including vertical tab.
fn is_regex_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// A compiled regular expression remembered between calls, since patterns
/// are nearly always literals.
#[derive(Default)]
pub(crate) struct RegexCache(Mutex<Option<(String, Regex)>>);

impl RegexCache {
    /// The compiled form of `pattern`; an evaluation error when it is invalid.
    pub(crate) fn get(&self, pattern: &str) -> Result<Regex> {
        let mut slot = self.0.lock();
        if let Some((p, re)) = slot.as_ref() {
            if p == pattern {
                return Ok(re.clone());
            }
        }
        let re = Regex::new(pattern).map_err(|e| {
            Error::eval(format!(
                "Invalid regular expression pattern: {pattern}: {e}"
            ))
        })?;
        *slot = Some((pattern.to_string(), re.clone()));
        Ok(re)
    }
}

// ---------------------------------------------------------------------------
// CONCAT, CONCAT_WS

fn concat(name: &str, args: &[SqlType]) -> Result<Resolved> {
    let refs: Vec<&SqlType> = args.iter().collect();
    match string_or_bytes(&refs) {
        Some(false) => Ok(Resolved::new(SqlType::String, |v| {
            let mut out = String::new();
            for s in v.iter().filter(|x| !x.is_null()) {
                out.push_str(str_of(s)?);
            }
            Ok(Value::String(out))
        })),
        Some(true) => Ok(Resolved::new(SqlType::Bytes, |v| {
            let mut out = Vec::new();
            for b in v.iter().filter(|x| !x.is_null()) {
                out.extend_from_slice(bytes_of(b)?);
            }
            Ok(Value::Bytes(out))
        })),
        None => Err(no_signature(name, args)),
    }
}

fn concat_ws(args: &[SqlType]) -> Result<Resolved> {
    let refs: Vec<&SqlType> = args.iter().collect();
    if args.len() < 2 {
        return Err(Error::plan(
            "Function 'CONCAT_WS' expects at least two input arguments.",
        ));
    }
    match string_or_bytes(&refs) {
        Some(false) => Ok(Resolved::new(SqlType::String, |v| {
            if v[0].is_null() {
                return Ok(Value::Null);
            }
            let sep = str_of(&v[0])?;
            let parts = v[1..]
                .iter()
                .filter(|x| !x.is_null())
                .map(str_of)
                .collect::<Result<Vec<_>>>()?;
            Ok(Value::String(parts.join(sep)))
        })),
        Some(true) => Ok(Resolved::new(SqlType::Bytes, |v| {
            if v[0].is_null() {
                return Ok(Value::Null);
            }
            let sep = bytes_of(&v[0])?;
            let parts = v[1..]
                .iter()
                .filter(|x| !x.is_null())
                .map(bytes_of)
                .collect::<Result<Vec<_>>>()?;
            Ok(Value::Bytes(parts.join(sep)))
        })),
        None => Err(no_signature("CONCAT_WS", args)),
    }
}

// ---------------------------------------------------------------------------
// INITCAP, LEN

/// Lower-cases the string, then upper-cases the first character of every
/// run of non-whitespace. Like ksqlDB, whitespace before the first word is
/// dropped and whitespace after each word is kept.
fn initcap(s: &str) -> String {
    let lower = s.to_lowercase();
    let body = lower.trim_start_matches(is_regex_space);
    let mut out = String::with_capacity(body.len());
    let mut at_word_start = true;
    for c in body.chars() {
        if is_regex_space(c) {
            at_word_start = true;
            out.push(c);
        } else if at_word_start {
            at_word_start = false;
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn len(name: &str, args: &[SqlType]) -> Result<Resolved> {
    if args.len() != 1 {
        return Err(no_signature(name, args));
    }
    match string_or_bytes(&[&args[0]]) {
        Some(_) => Ok(Resolved::new(SqlType::Int, |v| {
            Ok(match &v[0] {
                Value::Null => Value::Null,
                Value::Bytes(b) => Value::Int(b.len() as i32),
                s => Value::Int(str_of(s)?.chars().count() as i32),
            })
        })),
        None => Err(no_signature(name, args)),
    }
}

// ---------------------------------------------------------------------------
// SUBSTRING

/// ksqlDB's substring bounds over a sequence of `len` units: positions are
/// 1-based, a negative position counts back from the end, and everything is
/// clamped into range.
fn substring_bounds(len: usize, pos: i64, length: Option<i64>) -> (usize, usize) {
    let n = len as i64;
    let start = if pos < 0 {
        (n + pos).max(0)
    } else {
        (pos - 1).min(n).max(0)
    };
    let end = match length {
        Some(l) => start.saturating_add(l).min(n).max(start),
        None => n,
    };
    (start as usize, end as usize)
}

fn substring(args: &[SqlType]) -> Result<Resolved> {
    if !(2..=3).contains(&args.len()) || !args[1..].iter().all(|t| accepts(&SqlType::Int, t)) {
        return Err(no_signature("SUBSTRING", args));
    }
    let Some(is_bytes) = string_or_bytes(&[&args[0]]) else {
        return Err(no_signature("SUBSTRING", args));
    };
    let ret = if is_bytes {
        SqlType::Bytes
    } else {
        SqlType::String
    };
    Ok(Resolved::new(ret, |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        let pos = int_of(&v[1])?;
        let length = v.get(2).map(int_of).transpose()?;
        Ok(match &v[0] {
            Value::Bytes(b) => {
                let (s, e) = substring_bounds(b.len(), pos, length);
                Value::Bytes(b[s..e].to_vec())
            }
            s => {
                let s = str_of(s)?;
                let count = s.chars().count();
                let (start, end) = substring_bounds(count, pos, length);
                Value::String(s.chars().skip(start).take(end - start).collect())
            }
        })
    }))
}

// ---------------------------------------------------------------------------
// REPLACE and the regular-expression functions

fn replace(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String, SqlType::String, SqlType::String], args) {
        return Err(no_signature("REPLACE", args));
    }
    Ok(Resolved::new(SqlType::String, |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        Ok(Value::String(
            str_of(&v[0])?.replace(str_of(&v[1])?, str_of(&v[2])?),
        ))
    }))
}

/// Appends Java's `Matcher.appendReplacement` expansion of `replacement`:
/// `$n` and `${name}` insert groups, a backslash quotes the next character.
fn expand_java_replacement(caps: &Captures, replacement: &str, out: &mut String) -> Result<()> {
    let group_count = caps.len() - 1;
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(q) => out.push(q),
                None => return Err(Error::eval("character to be escaped is missing")),
            },
            '$' => {
                if chars.peek() == Some(&'{') {
                    chars.next();
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(ch) => name.push(ch),
                            None => {
                                return Err(Error::eval(
                                    "named capturing group is missing trailing '}'",
                                ))
                            }
                        }
                    }
                    // A named group that did not take part adds nothing.
                    if let Some(m) = caps.name(&name) {
                        out.push_str(m.as_str());
                    }
                } else {
                    let mut num = match chars.next().and_then(|d| d.to_digit(10)) {
                        Some(d) => d as usize,
                        None => return Err(Error::eval("Illegal group reference")),
                    };
                    if num > group_count {
                        return Err(Error::eval(format!("No group {num}")));
                    }
                    while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                        let next = num * 10 + d as usize;
                        if next > group_count {
                            break;
                        }
                        num = next;
                        chars.next();
                    }
                    if let Some(m) = caps.get(num) {
                        out.push_str(m.as_str());
                    }
                }
            }
            c => out.push(c),
        }
    }
    Ok(())
}

fn regexp_replace(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String, SqlType::String, SqlType::String], args) {
        return Err(no_signature("REGEXP_REPLACE", args));
    }
    let cache = RegexCache::default();
    Ok(Resolved::new(SqlType::String, move |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        let input = str_of(&v[0])?;
        let re = cache.get(str_of(&v[1])?)?;
        let replacement = str_of(&v[2])?;
        let mut out = String::with_capacity(input.len());
        let mut last = 0;
        for caps in re.captures_iter(input) {
            let Some(m) = caps.get(0) else { continue };
            out.push_str(&input[last..m.start()]);
            expand_java_replacement(&caps, replacement, &mut out)?;
            last = m.end();
        }
        out.push_str(&input[last..]);
        Ok(Value::String(out))
    }))
}

/// REGEXP_EXTRACT(pattern, input [, group]) and REGEXP_EXTRACT_ALL.
fn regexp_extract(name: &str, args: &[SqlType]) -> Result<Resolved> {
    let ok = fits(&[SqlType::String, SqlType::String], args)
        || fits(&[SqlType::String, SqlType::String, SqlType::Int], args);
    if !ok {
        return Err(no_signature(name, args));
    }
    let all = name == "REGEXP_EXTRACT_ALL";
    let ret = if all {
        SqlType::Array(Box::new(SqlType::String))
    } else {
        SqlType::String
    };
    let cache = RegexCache::default();
    Ok(Resolved::new(ret, move |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        let re = cache.get(str_of(&v[0])?)?;
        let input = str_of(&v[1])?;
        let group = match v.get(2) {
            Some(g) => {
                let g = int_of(g)?;
                if g < 0 || g as usize >= re.captures_len() {
                    return Err(Error::eval(format!("No group {g}")));
                }
                g as usize
            }
            None => 0,
        };
        let pick = |c: Captures| match c.get(group) {
            Some(m) => Value::String(m.as_str().to_string()),
            None => Value::Null,
        };
        if all {
            Ok(Value::Array(re.captures_iter(input).map(pick).collect()))
        } else {
            Ok(re.captures(input).map(pick).unwrap_or(Value::Null))
        }
    }))
}

/// Each character of `s` as its own string; an empty string gives `[""]`.
fn split_chars(s: &str) -> Vec<Value> {
    if s.is_empty() {
        return vec![Value::String(String::new())];
    }
    s.chars().map(|c| Value::String(c.to_string())).collect()
}

fn regexp_split_to_array(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String, SqlType::String], args) {
        return Err(no_signature("REGEXP_SPLIT_TO_ARRAY", args));
    }
    let cache = RegexCache::default();
    Ok(Resolved::new(
        SqlType::Array(Box::new(SqlType::String)),
        move |v| {
            if any_null(v) {
                return Ok(Value::Null);
            }
            let input = str_of(&v[0])?;
            let pattern = str_of(&v[1])?;
            if pattern.is_empty() {
                return Ok(Value::Array(split_chars(input)));
            }
            let re = cache.get(pattern)?;
            let mut parts = Vec::new();
            let mut last = 0;
            for m in re.find_iter(input) {
                // As in Java, a zero-width match at the very start does not
                // produce an empty leading element.
                if m.start() == 0 && m.end() == 0 {
                    continue;
                }
                parts.push(Value::String(input[last..m.start()].to_string()));
                last = m.end();
            }
            parts.push(Value::String(input[last..].to_string()));
            Ok(Value::Array(parts))
        },
    ))
}

// ---------------------------------------------------------------------------
// SPLIT, SPLIT_TO_MAP

/// Splits `data` around every occurrence of a non-empty `delim`, keeping
/// empty pieces.
fn split_bytes<'a>(data: &'a [u8], delim: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delim.len() <= data.len() {
        if &data[i..i + delim.len()] == delim {
            parts.push(&data[start..i]);
            i += delim.len();
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push(&data[start..]);
    parts
}

fn split(args: &[SqlType]) -> Result<Resolved> {
    if args.len() != 2 {
        return Err(no_signature("SPLIT", args));
    }
    let Some(is_bytes) = string_or_bytes(&[&args[0], &args[1]]) else {
        return Err(no_signature("SPLIT", args));
    };
    let elem = if is_bytes {
        SqlType::Bytes
    } else {
        SqlType::String
    };
    Ok(Resolved::new(SqlType::Array(Box::new(elem)), |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        if let (Value::Bytes(data), Value::Bytes(delim)) = (&v[0], &v[1]) {
            if delim.is_empty() {
                if data.is_empty() {
                    return Ok(Value::Array(vec![Value::Bytes(Vec::new())]));
                }
                return Ok(Value::Array(
                    data.iter().map(|b| Value::Bytes(vec![*b])).collect(),
                ));
            }
            return Ok(Value::Array(
                split_bytes(data, delim)
                    .into_iter()
                    .map(|p| Value::Bytes(p.to_vec()))
                    .collect(),
            ));
        }
        let s = str_of(&v[0])?;
        let delim = str_of(&v[1])?;
        if delim.is_empty() {
            return Ok(Value::Array(split_chars(s)));
        }
        Ok(Value::Array(
            s.split(delim)
                .map(|p| Value::String(p.to_string()))
                .collect(),
        ))
    }))
}

fn split_to_map(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String, SqlType::String, SqlType::String], args) {
        return Err(no_signature("SPLIT_TO_MAP", args));
    }
    Ok(Resolved::new(
        SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::String)),
        |v| {
            if any_null(v) {
                return Ok(Value::Null);
            }
            let input = str_of(&v[0])?;
            let entry_delim = str_of(&v[1])?;
            let kv_delim = str_of(&v[2])?;
            if entry_delim.is_empty() || kv_delim.is_empty() || entry_delim == kv_delim {
                return Ok(Value::Null);
            }
            let mut entries: Vec<(Value, Value)> = Vec::new();
            for entry in input.split(entry_delim).filter(|e| !e.is_empty()) {
                let mut kv = entry.split(kv_delim);
                let (Some(k), Some(val)) = (kv.next(), kv.next()) else {
                    continue;
                };
                let val = Value::String(val.to_string());
                match entries.iter_mut().find(|(ek, _)| ek.as_str() == Some(k)) {
                    Some(slot) => slot.1 = val,
                    None => entries.push((Value::String(k.to_string()), val)),
                }
            }
            Ok(Value::Map(entries))
        },
    ))
}

// ---------------------------------------------------------------------------
// INSTR

/// The index of the `occurrence`-th (1-based) match of `needle` in `hay`,
/// counting overlapping matches, like commons-lang's `ordinalIndexOf`.
fn ordinal_index_of(hay: &[char], needle: &[char], occurrence: i64) -> Option<usize> {
    if occurrence <= 0 {
        return None;
    }
    if needle.is_empty() {
        return Some(0);
    }
    let mut found = 0;
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if hay[i..i + needle.len()] == *needle {
            found += 1;
            if found == occurrence {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// ksqlDB's INSTR: the 1-based position of the `occurrence`-th `sub` in `s`,
/// searching from `position` (from the end, backwards, when negative); 0
/// when not found.
fn instr_impl(s: &str, sub: &str, position: i64, occurrence: i64) -> i64 {
    let mut hay: Vec<char> = s.chars().collect();
    let mut needle: Vec<char> = sub.chars().collect();
    let n = hay.len() as i64;
    if position.abs() > n {
        return 0;
    }
    let reversed = position < 0;
    let position = position.abs();
    if reversed {
        hay.reverse();
        needle.reverse();
    }
    // commons-lang substring(str, position - 1): a negative start counts from
    // the end.
    let mut from = position - 1;
    if from < 0 {
        from += n;
    }
    let from = from.clamp(0, n) as usize;
    match ordinal_index_of(&hay[from..], &needle, occurrence) {
        None => 0,
        Some(i) if reversed => n - position - i as i64,
        Some(i) => i as i64 + position,
    }
}

fn instr(args: &[SqlType]) -> Result<Resolved> {
    let ok = (2..=4).contains(&args.len())
        && accepts(&SqlType::String, &args[0])
        && accepts(&SqlType::String, &args[1])
        && args[2..].iter().all(|t| accepts(&SqlType::Int, t));
    if !ok {
        return Err(no_signature("INSTR", args));
    }
    Ok(Resolved::new(SqlType::Int, |v| {
        if any_null(&v[2..]) {
            return Ok(Value::Null);
        }
        if any_null(&v[..2]) {
            return Ok(Value::Int(0));
        }
        let position = v.get(2).map(int_of).transpose()?.unwrap_or(1);
        let occurrence = v.get(3).map(int_of).transpose()?.unwrap_or(1);
        let r = instr_impl(str_of(&v[0])?, str_of(&v[1])?, position, occurrence);
        Ok(Value::Int(r as i32))
    }))
}

// ---------------------------------------------------------------------------
// LPAD, RPAD

fn pad(name: &str, args: &[SqlType], left: bool) -> Result<Resolved> {
    if args.len() != 3 || !accepts(&SqlType::Int, &args[1]) {
        return Err(no_signature(name, args));
    }
    let Some(is_bytes) = string_or_bytes(&[&args[0], &args[2]]) else {
        return Err(no_signature(name, args));
    };
    let ret = if is_bytes {
        SqlType::Bytes
    } else {
        SqlType::String
    };
    Ok(Resolved::new(ret, move |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        let target = int_of(&v[1])?;
        if target < 0 {
            return Ok(Value::Null);
        }
        let target = target as usize;
        match (&v[0], &v[2]) {
            (Value::Bytes(input), Value::Bytes(padding)) => {
                if padding.is_empty() {
                    return Ok(Value::Null);
                }
                Ok(Value::Bytes(pad_seq(input, padding, target, left)))
            }
            (s, p) => {
                let input: Vec<char> = str_of(s)?.chars().collect();
                let padding: Vec<char> = str_of(p)?.chars().collect();
                if padding.is_empty() {
                    return Ok(Value::Null);
                }
                Ok(Value::String(
                    pad_seq(&input, &padding, target, left)
                        .into_iter()
                        .collect(),
                ))
            }
        }
    }))
}

/// Pads `input` to `target` units with repetitions of a non-empty `padding`,
/// on the left or the right, truncating an input that is longer.
fn pad_seq<T: Copy>(input: &[T], padding: &[T], target: usize, left: bool) -> Vec<T> {
    let fill = target.saturating_sub(input.len());
    let filler = padding.iter().copied().cycle().take(fill);
    let mut out: Vec<T> = if left {
        filler.chain(input.iter().copied()).collect()
    } else {
        input.iter().copied().chain(filler).collect()
    };
    out.truncate(target);
    out
}

// ---------------------------------------------------------------------------
// MASK family

/// Which characters a MASK variant masks.
#[derive(Clone, Copy)]
enum MaskRange {
    All,
    Left,
    Right,
    KeepLeft,
    KeepRight,
}

/// The replacement characters for upper-case, lower-case, digit and other
/// characters; `None` leaves that class unmasked.
struct Masker([Option<char>; 4]);

impl Masker {
    fn from_args(args: &[Value]) -> Result<Masker> {
        let mut masks = [Some('X'), Some('x'), Some('n'), Some('-')];
        if args.is_empty() {
            return Ok(Masker(masks));
        }
        for (slot, arg) in masks.iter_mut().zip(args) {
            *slot = match arg {
                Value::Null => None,
                v => {
                    let s = str_of(v)?;
                    let mut cs = s.chars();
                    match (cs.next(), cs.next()) {
                        (Some(c), None) => Some(c),
                        _ => {
                            return Err(Error::eval(format!(
                            "Invalid mask character. Must be only single character, but was '{s}'"
                        )))
                        }
                    }
                }
            };
        }
        Ok(Masker(masks))
    }

    fn mask(&self, c: char) -> char {
        let class = if c.is_uppercase() {
            0
        } else if c.is_lowercase() {
            1
        } else if c.is_numeric() {
            2
        } else {
            3
        };
        self.0[class].unwrap_or(c)
    }
}

fn mask(name: &'static str, args: &[SqlType], range: MaskRange) -> Result<Resolved> {
    let fixed = if matches!(range, MaskRange::All) {
        1
    } else {
        2
    };
    let ok = (args.len() == fixed || args.len() == fixed + 4)
        && accepts(&SqlType::String, &args[0])
        && (fixed == 1 || accepts(&SqlType::Int, &args[1]))
        && args[fixed..].iter().all(|t| accepts(&SqlType::String, t));
    if !ok {
        return Err(no_signature(name, args));
    }
    Ok(Resolved::new(SqlType::String, move |v| {
        if any_null(&v[..fixed]) {
            return Ok(Value::Null);
        }
        let masker = Masker::from_args(&v[fixed..])?;
        let chars: Vec<char> = str_of(&v[0])?.chars().collect();
        let n = chars.len();
        let k = if fixed == 2 {
            let k = int_of(&v[1])?;
            if k < 0 {
                return Err(Error::eval(format!(
                    "function {name} requires a non-negative number of characters to mask or skip"
                )));
            }
            (k as usize).min(n)
        } else {
            n
        };
        let masked = |i: usize| match range {
            MaskRange::All => true,
            MaskRange::Left => i < k,
            MaskRange::Right => i >= n - k,
            MaskRange::KeepLeft => i >= k,
            MaskRange::KeepRight => i < n - k,
        };
        Ok(Value::String(
            chars
                .iter()
                .enumerate()
                .map(|(i, c)| if masked(i) { masker.mask(*c) } else { *c })
                .collect(),
        ))
    }))
}

// ---------------------------------------------------------------------------
// CHR, ELT, FIELD, UUID

/// Undoes Java string escapes (`\uXXXX`, `\n`, octal...), joining UTF-16
/// surrogate pairs. None when an escape is malformed.
fn unescape_java(s: &str) -> Option<String> {
    let mut units: Vec<u16> = Vec::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buf));
            continue;
        }
        let Some(e) = chars.next() else {
            units.push('\\' as u16);
            break;
        };
        let unit = match e {
            'u' => {
                while chars.peek() == Some(&'u') {
                    chars.next();
                }
                let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                if hex.len() != 4 {
                    return None;
                }
                u16::from_str_radix(&hex, 16).ok()?
            }
            'n' => '\n' as u16,
            't' => '\t' as u16,
            'r' => '\r' as u16,
            'b' => 0x08,
            'f' => 0x0C,
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                let max_digits = if e <= '3' { 2 } else { 1 };
                for _ in 0..max_digits {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                v as u16
            }
            other => {
                let mut buf = [0u16; 2];
                units.extend_from_slice(other.encode_utf16(&mut buf));
                continue;
            }
        };
        units.push(unit);
    }
    Some(String::from_utf16_lossy(&units))
}

fn chr(args: &[SqlType]) -> Result<Resolved> {
    if fits(&[SqlType::Int], args) {
        return Ok(Resolved::new(SqlType::String, |v| {
            Ok(match &v[0] {
                Value::Null => Value::Null,
                n => u32::try_from(int_of(n)?)
                    .ok()
                    .and_then(char::from_u32)
                    .map(|c| Value::String(c.to_string()))
                    .unwrap_or(Value::Null),
            })
        }));
    }
    if fits(&[SqlType::String], args) {
        return Ok(Resolved::new(SqlType::String, |v| {
            Ok(match &v[0] {
                Value::Null => Value::Null,
                s => {
                    let s = str_of(s)?;
                    if s.chars().count() < 6 || !s.starts_with("\\u") {
                        Value::Null
                    } else {
                        unescape_java(s).map(Value::String).unwrap_or(Value::Null)
                    }
                }
            })
        }));
    }
    Err(no_signature("CHR", args))
}

fn elt(args: &[SqlType]) -> Result<Resolved> {
    let ok = !args.is_empty()
        && accepts(&SqlType::Int, &args[0])
        && args[1..].iter().all(|t| accepts(&SqlType::String, t));
    if !ok {
        return Err(no_signature("ELT", args));
    }
    Ok(Resolved::new(SqlType::String, |v| {
        if v[0].is_null() {
            return Ok(Value::Null);
        }
        let n = int_of(&v[0])?;
        if n < 1 || n as usize >= v.len() {
            return Ok(Value::Null);
        }
        Ok(v[n as usize].clone())
    }))
}

fn field(args: &[SqlType]) -> Result<Resolved> {
    if args.is_empty() || !args.iter().all(|t| accepts(&SqlType::String, t)) {
        return Err(no_signature("FIELD", args));
    }
    Ok(Resolved::new(SqlType::Int, |v| {
        let Some(target) = v[0].as_str() else {
            return Ok(Value::Int(0));
        };
        let pos = v[1..]
            .iter()
            .position(|x| x.as_str() == Some(target))
            .map_or(0, |i| i + 1);
        Ok(Value::Int(pos as i32))
    }))
}

/// 64 pseudo-random bits: SipHash, under the process's random keys, of a
/// counter and the clock.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    h.write_u128(nanos);
    h.finish()
}

/// 16 bytes in the canonical `8-4-4-4-12` hexadecimal UUID form.
fn format_uuid(b: &[u8; 16]) -> String {
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn uuid(args: &[SqlType]) -> Result<Resolved> {
    if args.is_empty() {
        return Ok(Resolved::new(SqlType::String, |_| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&random_u64().to_be_bytes());
            b[8..].copy_from_slice(&random_u64().to_be_bytes());
            b[6] = (b[6] & 0x0F) | 0x40; // version 4
            b[8] = (b[8] & 0x3F) | 0x80; // IETF variant
            Ok(Value::String(format_uuid(&b)))
        }));
    }
    if fits(&[SqlType::Bytes], args) {
        return Ok(Resolved::new(SqlType::String, |v| {
            Ok(match &v[0] {
                Value::Bytes(b) => match <[u8; 16]>::try_from(b.as_slice()) {
                    Ok(arr) => Value::String(format_uuid(&arr)),
                    Err(_) => Value::Null,
                },
                _ => Value::Null,
            })
        }));
    }
    Err(no_signature("UUID", args))
}

// ---------------------------------------------------------------------------
// ENCODE

/// Strips a `0x` prefix (left-padding an odd number of digits with a zero)
/// or an `X'...'` wrapper from a hex string.
fn hex_strip(s: &str) -> String {
    if let Some(rest) = s.strip_prefix("0x") {
        if s.len() % 2 == 1 {
            return format!("0{rest}");
        }
        return rest.to_string();
    }
    let wrapped = (s.starts_with("x'") || s.starts_with("X'")) && s.len() >= 3 && s.ends_with('\'');
    if wrapped {
        return s[2..s.len() - 1].to_string();
    }
    s.to_string()
}

/// Re-encodes `input` from one encoding to another, as ksqlDB's ENCODE does.
fn encode_impl(input: &str, from: &str, to: &str) -> Result<String> {
    let unsupported =
        || Error::eval("Supported input and output encodings are: hex, utf8, ascii and base64");
    let from = Encoding::parse(from).ok_or_else(unsupported)?;
    let to = Encoding::parse(to).ok_or_else(unsupported)?;
    if from == to {
        return Err(unsupported());
    }
    let raw = match from {
        Encoding::Hex => decode_hex(&hex_strip(input))?,
        Encoding::Utf8 => input.as_bytes().to_vec(),
        Encoding::Ascii => to_ascii_bytes(input),
        Encoding::Base64 => decode_base64_lenient(input),
    };
    Ok(match to {
        Encoding::Hex => hex::encode(&raw),
        Encoding::Utf8 => String::from_utf8_lossy(&raw).into_owned(),
        Encoding::Ascii => from_ascii_bytes(&raw),
        Encoding::Base64 => encode_base64(&raw),
    })
}

fn encode(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String, SqlType::String, SqlType::String], args) {
        return Err(no_signature("ENCODE", args));
    }
    Ok(Resolved::new(SqlType::String, |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        encode_impl(str_of(&v[0])?, str_of(&v[1])?, str_of(&v[2])?).map(Value::String)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Value {
        let types: Vec<SqlType> = args.iter().map(Value::natural_type).collect();
        let f = FunctionRegistry::global()
            .resolve(name, &types)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        (f.eval)(&args).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    fn b(v: &[u8]) -> Value {
        Value::Bytes(v.to_vec())
    }

    fn i(v: i32) -> Value {
        Value::Int(v)
    }

    fn strs(items: &[&str]) -> Value {
        Value::Array(items.iter().map(|x| s(x)).collect())
    }

    #[test]
    fn case_and_trim() {
        assert_eq!(call("UCASE", vec![s("MiXeD")]), s("MIXED"));
        assert_eq!(call("lcase", vec![s("MiXeD")]), s("mixed"));
        assert_eq!(
            call("TRIM", vec![s(" \t with white space \t")]),
            s("with white space")
        );
        assert_eq!(call("LTRIM", vec![s("  a ")]), s("a "));
        assert_eq!(call("RTRIM", vec![s("  a ")]), s("  a"));
        assert_eq!(call("UCASE", vec![Value::Null]), Value::Null);
    }

    #[test]
    fn concat_variants() {
        assert_eq!(call("CONCAT", vec![s("a"), Value::Null, s("b")]), s("ab"));
        assert_eq!(
            call("CONCAT", vec![b(b"ye"), Value::Null, b(b"s")]),
            b(b"yes")
        );
        assert_eq!(
            call("CONCAT_WS", vec![s("SEP"), s("foo"), Value::Null, s("baz")]),
            s("fooSEPbaz")
        );
        assert_eq!(
            call("CONCAT_WS", vec![Value::Null, s("a"), s("b")]),
            Value::Null
        );
        assert_eq!(
            call("CONCAT_WS", vec![b(b"a"), b(b"b"), b(b""), b(b"no")]),
            b(b"baano")
        );
        assert!(FunctionRegistry::global()
            .resolve("CONCAT", &[SqlType::String, SqlType::Bytes])
            .is_err());
    }

    #[test]
    fn substring_semantics() {
        assert_eq!(
            call("SUBSTRING", vec![s("some_string"), i(6), i(3)]),
            s("str")
        );
        assert_eq!(call("SUBSTRING", vec![s("short"), i(6), i(3)]), s(""));
        assert_eq!(
            call("SUBSTRING", vec![s("some string"), i(0), i(2)]),
            s("so")
        );
        assert_eq!(call("SUBSTRING", vec![s("s"), i(2), i(5)]), s(""));
        assert_eq!(call("SUBSTRING", vec![s("stream"), i(-3)]), s("eam"));
        assert_eq!(call("SUBSTRING", vec![s("stream"), i(-10), i(2)]), s("st"));
        assert_eq!(call("SUBSTRING", vec![s("héllo"), i(2), i(2)]), s("él"));
        assert_eq!(call("SUBSTRING", vec![b(b"another"), i(6)]), b(b"er"));
        assert_eq!(call("SUBSTRING", vec![s("abc"), Value::Null]), Value::Null);
    }

    #[test]
    fn split_and_regex_split() {
        assert_eq!(
            call("SPLIT", vec![s("..a.."), s(".")]),
            strs(&["", "", "a", "", ""])
        );
        assert_eq!(call("SPLIT", vec![s("abc"), s("")]), strs(&["a", "b", "c"]));
        assert_eq!(call("SPLIT", vec![s(""), s("")]), strs(&[""]));
        assert_eq!(
            call("SPLIT", vec![b(b".abc."), b(b".")]),
            Value::Array(vec![b(b""), b(b"abc"), b(b"")])
        );
        assert_eq!(
            call("REGEXP_SPLIT_TO_ARRAY", vec![s("aabcda"), s("(ab|cd)")]),
            strs(&["a", "", "a"])
        );
        assert_eq!(
            call("REGEXP_SPLIT_TO_ARRAY", vec![s("zxy"), s("(ab|cd)")]),
            strs(&["zxy"])
        );
    }

    #[test]
    fn split_to_map_rules() {
        let m = call(
            "SPLIT_TO_MAP",
            vec![s("apple:green//banana:yellow/apple:red/"), s("/"), s(":")],
        );
        assert_eq!(
            m,
            Value::Map(vec![(s("apple"), s("red")), (s("banana"), s("yellow"))])
        );
        let m = call(
            "SPLIT_TO_MAP",
            vec![s("apple:green/banana:yellow"), s("&&"), s(":")],
        );
        assert_eq!(m, Value::Map(vec![(s("apple"), s("green/banana"))]));
        assert_eq!(
            call("SPLIT_TO_MAP", vec![s("a:b"), s(""), s(":")]),
            Value::Null
        );
    }

    #[test]
    fn instr_positions() {
        let corp = || s("CORPORATE FLOOR");
        assert_eq!(call("INSTR", vec![corp(), s("OR")]), i(2));
        assert_eq!(call("INSTR", vec![corp(), s("OR"), i(3)]), i(5));
        assert_eq!(call("INSTR", vec![corp(), s("OR"), i(3), i(2)]), i(14));
        assert_eq!(call("INSTR", vec![corp(), s("OR"), i(-3)]), i(5));
        assert_eq!(call("INSTR", vec![corp(), s("OR"), i(-3), i(2)]), i(2));
        assert_eq!(call("INSTR", vec![corp(), s("MISSING")]), i(0));
        assert_eq!(call("INSTR", vec![s("short"), s("or"), i(4)]), i(0));
        assert_eq!(call("INSTR", vec![s("short"), s("or"), i(-4), i(2)]), i(0));
        assert_eq!(call("INSTR", vec![Value::Null, s("or")]), i(0));
    }

    #[test]
    fn initcap_words() {
        assert_eq!(
            call("INITCAP", vec![s("the   Quick br0wn fOx")]),
            s("The   Quick Br0wn Fox")
        );
        assert_eq!(call("INITCAP", vec![s("some_string")]), s("Some_string"));
        assert_eq!(call("INITCAP", vec![s("  lead")]), s("Lead"));
    }

    #[test]
    fn padding() {
        assert_eq!(call("LPAD", vec![s("foo"), i(7), s("Bar")]), s("BarBfoo"));
        assert_eq!(call("LPAD", vec![s("foo"), i(2), s("Bar")]), s("fo"));
        assert_eq!(call("RPAD", vec![s("foo"), i(7), s("Bar")]), s("fooBarB"));
        assert_eq!(call("RPAD", vec![s(""), i(7), s("Bar")]), s("BarBarB"));
        assert_eq!(call("LPAD", vec![s("foo"), i(-1), s("Bar")]), Value::Null);
        assert_eq!(call("LPAD", vec![s("foo"), i(7), s("")]), Value::Null);
        assert_eq!(
            call("LPAD", vec![b(b"yes"), i(8), b(b"no")]),
            b(b"nononyes")
        );
        assert_eq!(call("RPAD", vec![b(b"yes"), i(2), b(b"no")]), b(b"ye"));
    }

    #[test]
    fn masks() {
        assert_eq!(call("MASK", vec![s("My Test $123")]), s("Xx-Xxxx--nnn"));
        assert_eq!(
            call(
                "MASK",
                vec![s("My Test $123"), s("*"), Value::Null, s("1"), Value::Null]
            ),
            s("*y *est $111")
        );
        assert_eq!(
            call("MASK_KEEP_LEFT", vec![s("My Test $123"), i(4)]),
            s("My Txxx--nnn")
        );
        assert_eq!(
            call("MASK_KEEP_RIGHT", vec![s("My Test $123"), i(4)]),
            s("Xx-Xxxx-$123")
        );
        assert_eq!(
            call("MASK_LEFT", vec![s("My Test $123"), i(4)]),
            s("Xx-Xest $123")
        );
        assert_eq!(
            call("MASK_RIGHT", vec![s("My Test $123"), i(4)]),
            s("My Test -nnn")
        );
        assert_eq!(call("MASK_RIGHT", vec![s("ab"), i(10)]), s("xx"));
    }

    #[test]
    fn regex_functions() {
        assert_eq!(
            call("REGEXP_EXTRACT", vec![s("test."), s("some_test_string")]),
            s("test_")
        );
        assert_eq!(
            call("REGEXP_EXTRACT", vec![s("test."), s("nothing")]),
            Value::Null
        );
        assert_eq!(
            call(
                "REGEXP_EXTRACT",
                vec![s("(.*) (.*)"), s("andy coates"), i(2)]
            ),
            s("coates")
        );
        assert_eq!(
            call(
                "REGEXP_EXTRACT_ALL",
                vec![s("test."), s("some_test_string_testabab")]
            ),
            strs(&["test_", "testa"])
        );
        assert_eq!(
            call(
                "REGEXP_EXTRACT_ALL",
                vec![s("(\\w+) (\\w+)"), s("hello there nice day"), i(2)]
            ),
            strs(&["there", "day"])
        );
        assert_eq!(
            call("REGEXP_REPLACE", vec![s("foo bar"), s("(o+)"), s("[$1]")]),
            s("f[oo] bar")
        );
        assert_eq!(
            call("REGEXP_REPLACE", vec![s("a.b"), s("\\."), s("\\$")]),
            s("a$b")
        );
        assert_eq!(
            call("REPLACE", vec![s("anaconda"), s("a"), s("o")]),
            s("onocondo")
        );
        assert_eq!(
            call("REPLACE", vec![s("anaconda"), Value::Null, s("o")]),
            Value::Null
        );
    }

    #[test]
    fn chr_elt_field() {
        assert_eq!(call("CHR", vec![i(75)]), s("K"));
        assert_eq!(call("CHR", vec![i(99000)]), s("\u{182B8}"));
        assert_eq!(call("CHR", vec![i(-1)]), Value::Null);
        assert_eq!(call("CHR", vec![s("\\u597d")]), s("好"));
        assert_eq!(call("CHR", vec![s("\\ud820\\udeb8")]), s("\u{182B8}"));
        assert_eq!(call("CHR", vec![s("004b")]), Value::Null);
        assert_eq!(
            call("FIELD", vec![s("hello"), s("world"), s("hello")]),
            i(2)
        );
        assert_eq!(call("FIELD", vec![Value::Null, s("a")]), i(0));
        assert_eq!(call("ELT", vec![i(2), s("a"), s("b")]), s("b"));
        assert_eq!(call("ELT", vec![i(0), s("a"), s("b")]), Value::Null);
    }

    #[test]
    fn len_md5_uuid() {
        assert_eq!(call("LEN", vec![s("héllo")]), i(5));
        assert_eq!(call("LEN", vec![b(b"abc")]), i(3));
        assert_eq!(
            call("MD5", vec![s("")]),
            s("d41d8cd98f00b204e9800998ecf8427e")
        );
        let Value::String(u) = call("UUID", vec![]) else {
            panic!()
        };
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(call("UUID", vec![]), call("UUID", vec![]));
        assert_eq!(
            call("UUID", vec![b(&[0x12; 16])]),
            s("12121212-1212-1212-1212-121212121212")
        );
    }

    #[test]
    fn encode_conversions() {
        let enc = |x: &str, a: &str, b: &str| {
            let f = FunctionRegistry::global()
                .resolve(
                    "ENCODE",
                    &[SqlType::String, SqlType::String, SqlType::String],
                )
                .unwrap();
            (f.eval)(&[s(x), s(a), s(b)])
        };
        assert_eq!(
            enc("4578616d706C6521", "hex", "utf8").unwrap(),
            s("Example!")
        );
        assert_eq!(
            enc("X'4578616d706C6521'", "hex", "base64").unwrap(),
            s("RXhhbXBsZSE=")
        );
        assert_eq!(
            enc("0x578616d706C6521", "hex", "ascii").unwrap(),
            s("\u{5}xample!")
        );
        assert_eq!(enc("0x", "hex", "ascii").unwrap(), s(""));
        assert!(enc("578616d706C6521", "hex", "ascii").is_err());
        assert!(enc("0x0x", "hex", "ascii").is_err());
        assert_eq!(enc("c39c", "hex", "ascii").unwrap(), s("\u{FFFD}\u{FFFD}"));
        assert_eq!(enc("Ελλάδα", "ascii", "hex").unwrap(), s("3f3f3f3f3f3f"));
        assert_eq!(
            enc("zpXOu867zqzOtM6x", "base64", "utf8").unwrap(),
            s("Ελλάδα")
        );
        assert!(enc("abc", "base64", "null").is_err());
    }
}
