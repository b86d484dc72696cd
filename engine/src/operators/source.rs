//! Reading records: the key and value bytes of a source's records become a
//! row of the source's columns followed by the pseudo-columns ROWTIME,
//! ROWPARTITION and ROWOFFSET, stamped with the record's event time.

use crate::catalog::{Source, TimestampSpec, WindowInfo};
use crate::error::{Error, Result};
use crate::formats::{codec, Codec};
use crate::log::StoredRecord;
use crate::operators::{ProcessingError, Row, Window};
use crate::types::{ColumnKind, SqlType, Value};

/// The pseudo-columns appended after a source's own columns.
pub const PSEUDO_COLUMNS: [(&str, SqlType); 3] = [
    ("ROWTIME", SqlType::BigInt),
    ("ROWPARTITION", SqlType::Int),
    ("ROWOFFSET", SqlType::BigInt),
];

/// Where each source column's value comes from.
#[derive(Clone)]
enum Slot {
    Key(usize),
    Value(usize),
    Headers,
    Header(String),
}

/// Decodes a source's records into rows.
pub struct SourceDecoder {
    topic: String,
    key_codec: Box<dyn Codec>,
    value_codec: Box<dyn Codec>,
    slots: Vec<Slot>,
    /// Row index of the TIMESTAMP column and its format, if any.
    timestamp: Option<(usize, Option<String>)>,
    /// Windowed keys carry their window after the key bytes.
    window: Option<WindowInfo>,
    /// When the columns are the key columns in order and then the value
    /// columns in order (no headers): how many keys. The row is then built
    /// in the decoded values' list, without moving values one by one.
    keys_then_values: Option<usize>,
}

/// Splits a windowed key into the key bytes and the window, as Kafka
/// Streams writes them: time windows append the start (8 bytes, big
/// endian), sessions the end and then the start.
pub fn split_windowed_key(bytes: &[u8], window: WindowInfo) -> Option<(&[u8], Window)> {
    let read = |b: &[u8]| i64::from_be_bytes(b.try_into().expect("8 bytes"));
    match window {
        WindowInfo::Session => {
            let n = bytes.len().checked_sub(16)?;
            let end = read(&bytes[n..n + 8]);
            let start = read(&bytes[n + 8..]);
            Some((&bytes[..n], Window { start, end }))
        }
        other => {
            let n = bytes.len().checked_sub(8)?;
            let start = read(&bytes[n..]);
            let size = other.size().unwrap_or(0);
            Some((
                &bytes[..n],
                Window {
                    start,
                    end: start + size,
                },
            ))
        }
    }
}

/// Appends a window to key bytes (the inverse of [`split_windowed_key`]).
pub fn append_window(mut key: Vec<u8>, window: Window, kind: WindowInfo) -> Vec<u8> {
    if kind == WindowInfo::Session {
        key.extend_from_slice(&window.end.to_be_bytes());
    }
    key.extend_from_slice(&window.start.to_be_bytes());
    key
}

impl SourceDecoder {
    pub fn try_new(source: &Source) -> Result<Self> {
        let keys: Vec<_> = source.schema.keys().cloned().collect();
        let values: Vec<_> = source.schema.values().cloned().collect();
        let key_codec = codec(&source.key_format, &keys, true)?;
        let value_codec = codec(&source.value_format, &values, false)?;
        let (mut k, mut v) = (0, 0);
        let slots: Vec<Slot> = source
            .schema
            .columns
            .iter()
            .map(|c| match &c.kind {
                ColumnKind::Key => {
                    k += 1;
                    Slot::Key(k - 1)
                }
                ColumnKind::Value => {
                    v += 1;
                    Slot::Value(v - 1)
                }
                ColumnKind::Header(None) => Slot::Headers,
                ColumnKind::Header(Some(h)) => Slot::Header(h.clone()),
            })
            .collect();
        let timestamp = match &source.timestamp {
            Some(TimestampSpec { column, format }) => {
                let (i, _) = source.schema.find(column).ok_or_else(|| {
                    Error::plan(format!(
                        "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{column}'"
                    ))
                })?;
                Some((i, format.clone()))
            }
            None => None,
        };
        let keys_then_values = {
            let n_keys = slots.iter().filter(|s| matches!(s, Slot::Key(_))).count();
            let in_order = slots.iter().enumerate().all(|(i, s)| match s {
                Slot::Key(k) => *k == i,
                Slot::Value(v) => i >= n_keys && *v == i - n_keys,
                _ => false,
            });
            in_order.then_some(n_keys)
        };
        Ok(SourceDecoder {
            keys_then_values,
            topic: source.topic.clone(),
            key_codec,
            value_codec,
            slots,
            timestamp,
            window: source.window,
        })
    }

    /// Decodes one record. A record that cannot be read becomes a
    /// processing-log entry instead of a row.
    pub fn decode(&self, rec: &StoredRecord) -> std::result::Result<Row, ProcessingError> {
        let r = &rec.record;
        let deser_error = |target: &'static str, e: Error, bytes: &Option<Vec<u8>>| {
            ProcessingError::Deserialization {
                topic: self.topic.clone(),
                target,
                message: format!(
                    "Failed to deserialize {target} from topic: {}. {}",
                    self.topic,
                    strip_kind(&e)
                ),
                record: bytes.clone(),
            }
        };
        let mut window = None;
        let mut key_bytes = r.key.as_deref();
        if let (Some(kind), Some(bytes)) = (self.window, key_bytes) {
            match split_windowed_key(bytes, kind) {
                Some((k, w)) => {
                    key_bytes = Some(k);
                    window = Some(w);
                }
                None => {
                    return Err(deser_error(
                        "key",
                        Error::format("windowed key is too short to hold its window"),
                        &r.key,
                    ))
                }
            }
        }
        let keys = match self.key_codec.decode(key_bytes) {
            Ok(k) => k,
            Err(e) => return Err(deser_error("key", e, &r.key)),
        };
        // Room for the pseudo-columns (and the window bounds).
        let capacity = self.slots.len() + 3 + if self.window.is_some() { 2 } else { 0 };
        let values = match self
            .value_codec
            .decode_with_capacity(r.value.as_deref(), capacity)
        {
            Ok(v) => v,
            Err(e) => return Err(deser_error("value", e, &r.value)),
        };
        let tombstone = values.is_none();
        // Decoded values move into the row (each slot is read once).
        let (mut keys, mut values) = (keys, values);
        let mut row;
        if let Some(n_keys) = self.keys_then_values {
            // A missing column is NULL; extra decoded values are dropped.
            row = values
                .take()
                .unwrap_or_else(|| Vec::with_capacity(capacity));
            row.resize(self.slots.len() - n_keys, Value::Null);
            if n_keys > 0 {
                let mut keys = keys.take().unwrap_or_default();
                keys.resize(n_keys, Value::Null);
                row.splice(0..0, keys);
            }
        } else {
            row = Vec::with_capacity(capacity);
        }
        for slot in self.slots.iter().skip(row.len()) {
            row.push(match slot {
                Slot::Key(i) => keys
                    .as_mut()
                    .and_then(|k| k.get_mut(*i).map(std::mem::take))
                    .unwrap_or(Value::Null),
                Slot::Value(i) => values
                    .as_mut()
                    .and_then(|v| v.get_mut(*i).map(std::mem::take))
                    .unwrap_or(Value::Null),
                Slot::Headers => Value::Array(
                    r.headers
                        .iter()
                        .map(|h| {
                            Value::Struct(vec![
                                ("KEY".to_string(), Value::String(h.key.clone())),
                                (
                                    "VALUE".to_string(),
                                    h.value.clone().map(Value::Bytes).unwrap_or(Value::Null),
                                ),
                            ])
                        })
                        .collect(),
                ),
                Slot::Header(name) => r
                    .headers
                    .iter()
                    .rev()
                    .find(|h| &h.key == name)
                    .and_then(|h| h.value.clone())
                    .map(Value::Bytes)
                    .unwrap_or(Value::Null),
            });
        }
        row.push(Value::BigInt(r.timestamp));
        row.push(Value::Int(rec.partition));
        row.push(Value::BigInt(rec.offset));
        if self.window.is_some() {
            let w = window.unwrap_or_default();
            row.push(Value::BigInt(w.start));
            row.push(Value::BigInt(w.end));
        }
        let ts = match &self.timestamp {
            None => r.timestamp,
            Some((i, format)) => match extract_timestamp(&row[*i], format.as_deref()) {
                Ok(ts) => ts,
                Err(e) => {
                    return Err(ProcessingError::Processing {
                        message: format!("Failed to extract timestamp: {e}"),
                        row: format!("{:?}", row),
                    })
                }
            },
        };
        if ts < 0 {
            return Err(ProcessingError::Processing {
                message: format!("Skipping record with negative timestamp {ts}"),
                row: format!("{:?}", row),
            });
        }
        Ok(Row {
            values: row,
            ts,
            tombstone,
            null_key: r.key.is_none(),
            headers: if r.headers.is_empty() {
                None
            } else {
                Some(std::sync::Arc::new(r.headers.clone()))
            },
            window,
            old: None,
        })
    }
}

fn strip_kind(e: &Error) -> String {
    match e {
        Error::Format(m) | Error::Eval(m) | Error::Plan(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Event time from a TIMESTAMP column value.
pub fn extract_timestamp(v: &Value, format: Option<&str>) -> Result<i64> {
    match (v, format) {
        (Value::BigInt(t) | Value::Timestamp(t), _) => Ok(*t),
        (Value::Int(t), _) => Ok(*t as i64),
        (Value::String(s), Some(f)) => crate::functions::datetime::parse_with_pattern(s, f, None),
        (Value::String(s), None) => s
            .parse::<i64>()
            .map_err(|_| Error::eval(format!("Cannot parse timestamp '{s}'"))),
        (Value::Null, _) => Err(Error::eval("Timestamp column is null")),
        (other, _) => Err(Error::eval(format!("Cannot use {other} as a timestamp"))),
    }
}
