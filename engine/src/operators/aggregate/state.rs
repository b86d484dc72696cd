//! The aggregate operator's state as stored: a group (its key, window,
//! accumulators and time), how it is written in the changelog and the
//! local store (the same JSON text), and the keys it is stored under.
//!
//! Store keys: a plain group's key values as a JSON list; a time window's
//! start (8 big-endian bytes, sign bit flipped, so keys sort by start and
//! expiry and EMIT FINAL read a range) followed by that list; a key's
//! sessions, all under the list. Changelog keys stay as they always were:
//! the list, then `@` and the window start for a window.

use crate::error::{Error, Result};
use crate::formats::json::{json_text_to_value, write_json};
use crate::operators::Window;
use crate::state::Codec;
use crate::types::{SqlType, Value};

/// The accumulated state of one group (and window).
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub key: Vec<Value>,
    pub window: Option<Window>,
    pub states: Vec<Value>,
    /// The largest timestamp of the rows folded in.
    pub ts: i64,
    /// Changed in the current batch (its key is in the operator's list of
    /// changes to write to the changelog).
    pub dirty: bool,
    /// Changed since the last drain, its new row held back (record
    /// caching; its key is in the operator's list of held groups).
    pub held: bool,
}

/// Writes values as a JSON array (as `write_json` of an ARRAY would),
/// without building the array.
pub(super) fn write_json_list(out: &mut String, values: &[Value]) {
    out.push('[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json(out, v);
    }
    out.push(']');
}

/// A group as the changelog and the store hold it:
/// `[key values, states, ts, [start, end] or null]`.
pub(super) fn write_group(out: &mut String, g: &Group) {
    out.push('[');
    write_json_list(out, &g.key);
    out.push(',');
    write_json_list(out, &g.states);
    let mut num = itoa::Buffer::new();
    out.push(',');
    out.push_str(num.format(g.ts));
    out.push(',');
    match g.window {
        Some(w) => {
            out.push('[');
            out.push_str(num.format(w.start));
            out.push(',');
            out.push_str(num.format(w.end));
            out.push(']');
        }
        None => out.push_str("null"),
    }
    out.push(']');
}

/// Reads groups back, typed by the operator's keys and accumulators.
#[derive(Clone)]
pub(super) struct GroupCodec {
    pub key_types: Vec<SqlType>,
    pub state_types: Vec<SqlType>,
}

impl GroupCodec {
    fn read_json(&self, parsed: &serde_json::Value) -> Result<Group> {
        let arr = parsed
            .as_array()
            .ok_or_else(|| Error::format("bad changelog record"))?;
        let list = |i: usize| {
            arr.get(i)
                .and_then(|v| v.as_array())
                .cloned()
                .unwrap_or_default()
        };
        let key = list(0)
            .iter()
            .zip(&self.key_types)
            .map(|(j, t)| json_text_to_value(&j.to_string(), t))
            .collect::<Result<Vec<_>>>()?;
        let states = list(1)
            .iter()
            .zip(&self.state_types)
            .map(|(j, t)| json_text_to_value(&j.to_string(), t))
            .collect::<Result<Vec<_>>>()?;
        let ts = arr.get(2).and_then(|v| v.as_i64()).unwrap_or(0);
        let window = arr.get(3).and_then(|v| v.as_array()).map(|w| Window {
            start: w.first().and_then(|x| x.as_i64()).unwrap_or(0),
            end: w.get(1).and_then(|x| x.as_i64()).unwrap_or(0),
        });
        Ok(Group {
            key,
            window,
            states,
            ts,
            dirty: false,
            held: false,
        })
    }
}

impl Codec<Group> for GroupCodec {
    fn encode(&self, g: &Group) -> Vec<u8> {
        let mut out = String::with_capacity(64);
        write_group(&mut out, g);
        out.into_bytes()
    }

    fn decode(&self, bytes: &[u8]) -> Result<Group> {
        self.read_json(&serde_json::from_slice(bytes)?)
    }
}

/// A key's sessions, ordered by start: a JSON list of groups.
#[derive(Clone)]
pub(super) struct SessionCodec(pub GroupCodec);

impl Codec<Vec<Group>> for SessionCodec {
    fn encode(&self, list: &Vec<Group>) -> Vec<u8> {
        let mut out = String::with_capacity(64 * list.len() + 2);
        out.push('[');
        for (i, g) in list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_group(&mut out, g);
        }
        out.push(']');
        out.into_bytes()
    }

    fn decode(&self, bytes: &[u8]) -> Result<Vec<Group>> {
        let parsed: serde_json::Value = serde_json::from_slice(bytes)?;
        parsed
            .as_array()
            .ok_or_else(|| Error::format("bad stored sessions"))?
            .iter()
            .map(|g| self.0.read_json(g))
            .collect()
    }
}

/// A window start as the leading bytes of a store key (in start order).
pub(super) fn start_bytes(start: i64) -> [u8; 8] {
    ((start as u64) ^ (1 << 63)).to_be_bytes()
}

/// The window start a time window's store key begins with.
pub(super) fn key_start(key: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = key.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
}

/// The store key of a group: its key list (JSON), after the window start
/// for a time window.
pub(super) fn store_key(out: &mut Vec<u8>, json: &str, window: Option<Window>) {
    out.clear();
    if let Some(w) = window {
        out.extend_from_slice(&start_bytes(w.start));
    }
    out.extend_from_slice(json.as_bytes());
}

/// The changelog key of the group stored under `key` (`windowed`: a time
/// window's key).
pub(super) fn changelog_key(key: &[u8], windowed: bool) -> Vec<u8> {
    if !windowed || key.len() < 8 {
        return key.to_vec();
    }
    let mut start = [0u8; 8];
    start.copy_from_slice(&key[..8]);
    let start = (u64::from_be_bytes(start) ^ (1 << 63)) as i64;
    let mut out = key[8..].to_vec();
    out.push(b'@');
    out.extend_from_slice(itoa::Buffer::new().format(start).as_bytes());
    out
}

/// Splits a changelog key into the key list and the window start (the
/// number after the last `@`, for a windowed group).
pub(super) fn split_changelog_key(key: &[u8], windowed: bool) -> Result<(&[u8], Option<i64>)> {
    if !windowed {
        return Ok((key, None));
    }
    let at = key
        .iter()
        .rposition(|b| *b == b'@')
        .ok_or_else(|| Error::format("a windowed changelog key without its window"))?;
    let start = std::str::from_utf8(&key[at + 1..])
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| Error::format("a windowed changelog key with a bad window"))?;
    Ok((&key[..at], Some(start)))
}
