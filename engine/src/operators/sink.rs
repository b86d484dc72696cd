//! Writing results: a row of the output schema becomes key and value bytes
//! in the sink's formats.

use crate::catalog::Source;
use crate::error::Result;
use crate::formats::{codec, Codec};
use crate::log::Record;
use crate::operators::{ProcessingError, Row};
use crate::types::Value;

/// Encodes rows laid out as a sink's schema (keys first, then values).
pub struct SinkEncoder {
    topic: String,
    key_codec: Box<dyn Codec>,
    value_codec: Box<dyn Codec>,
    key_idx: Vec<usize>,
    value_idx: Vec<usize>,
    window: Option<crate::catalog::WindowInfo>,
}

impl SinkEncoder {
    pub fn try_new(sink: &Source) -> Result<Self> {
        let keys: Vec<_> = sink.schema.keys().cloned().collect();
        let values: Vec<_> = sink.schema.values().cloned().collect();
        Ok(SinkEncoder {
            topic: sink.topic.clone(),
            key_codec: codec(&sink.key_format, &keys, true)?,
            value_codec: codec(&sink.value_format, &values, false)?,
            window: sink.window,
            key_idx: sink.schema.key_indexes(),
            value_idx: sink.schema.value_indexes(),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The record for a row, or a processing-log entry when it cannot be
    /// serialized.
    pub fn encode(&self, row: &Row) -> std::result::Result<Record, ProcessingError> {
        // Keys and values are contiguous in a sink's rows (keys first), so
        // they are passed to the codecs as slices, without copies.
        let pick = |idx: &[usize]| -> std::borrow::Cow<'_, [Value]> {
            match (idx.first(), idx.last()) {
                (Some(&a), Some(&b)) if b + 1 - a == idx.len() && b < row.values.len() => {
                    std::borrow::Cow::Borrowed(&row.values[a..=b])
                }
                (None, _) => std::borrow::Cow::Borrowed(&[]),
                _ => std::borrow::Cow::Owned(
                    idx.iter()
                        .map(|i| row.values.get(*i).cloned().unwrap_or(Value::Null))
                        .collect(),
                ),
            }
        };
        let keys = pick(&self.key_idx);
        // A single null key is an absent key; a multi-column key is always
        // written, even when every column is null.
        let key = if keys.is_empty() || row.null_key || (keys.len() == 1 && keys[0].is_null()) {
            None
        } else {
            self.key_codec
                .encode(&keys)
                .map_err(|e| self.error("key", e, row))?
        };
        let key = match (key, self.window, row.window) {
            (Some(k), Some(kind), Some(w)) => {
                Some(crate::operators::source::append_window(k, w, kind))
            }
            (k, _, _) => k,
        };
        let value = if row.tombstone {
            None
        } else {
            self.value_codec
                .encode(&pick(&self.value_idx))
                .map_err(|e| self.error("value", e, row))?
        };
        Ok(Record {
            key,
            value,
            timestamp: row.ts,
            headers: row.headers.as_ref().map(|h| h.to_vec()).unwrap_or_default(),
        })
    }

    fn error(&self, target: &'static str, e: crate::error::Error, row: &Row) -> ProcessingError {
        ProcessingError::Serialization {
            topic: self.topic.clone(),
            target,
            message: format!("Error serializing {target} for topic {}: {e}", self.topic),
            row: format!("{:?}", row.values),
        }
    }
}
