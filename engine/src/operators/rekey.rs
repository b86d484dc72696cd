//! Re-keying rows through an internal topic: the new key's expressions and
//! how the key is serialized, for repartition stages and n-way join cuts.

use super::internal_row::encode_row;
use super::Row;
use crate::error::Result;
use crate::expr::Compiled;
use crate::formats::{codec, Codec, FormatKind, FormatSpec};
use crate::log::Record;
use crate::types::{Column, ColumnKind, Value};

/// A new key for rows sent through an internal topic, and how it is
/// serialized.
pub struct Rekey {
    key: Vec<Compiled>,
    codec: Box<dyn Codec>,
}

impl Rekey {
    /// The key's columns serialized in `format`, or as JSON where the format
    /// cannot hold them (a join with both sides re-keyed, a GROUP BY of
    /// several columns in KAFKA).
    pub fn new(key: Vec<Compiled>, format: &FormatSpec) -> Result<Rekey> {
        let columns: Vec<Column> = key
            .iter()
            .enumerate()
            .map(|(i, k)| Column::new(format!("K{i}"), k.ty.clone(), ColumnKind::Key))
            .collect();
        let codec = codec(format, &columns, true)
            .or_else(|_| codec(&FormatSpec::new(FormatKind::Json), &columns, true))?;
        Ok(Rekey { key, codec })
    }

    /// The new key as SQL, for plans.
    pub fn describe(&self) -> String {
        super::describe::list(&self.key)
    }

    /// The internal record carrying `row` (which came from source record
    /// `origin`), keyed by its new key. A key that cannot be computed or
    /// serialized, or is all null, is written as no key (the consuming
    /// step evaluates it again and reports it).
    pub fn record(&self, row: &Row, origin: (i32, i64)) -> Record {
        let key: Option<Vec<Value>> = self.key.iter().map(|k| k.eval(&row.values).ok()).collect();
        let key = match key {
            Some(k) if !k.iter().all(Value::is_null) => self.codec.encode(&k).ok().flatten(),
            _ => None,
        };
        Record {
            key,
            value: Some(encode_row(row, origin)),
            timestamp: row.ts,
            headers: row
                .headers
                .as_ref()
                .map(|h| h.as_ref().clone())
                .unwrap_or_default(),
        }
    }
}
