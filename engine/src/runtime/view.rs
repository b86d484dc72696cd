//! Materialized views for pull queries: a table's current rows, kept by
//! reading its topic (a CTAS result's topic, or a source table's) and
//! caught up incrementally before each query. Rows are ordered by key, so a
//! key lookup is a range scan over the key's prefix (all of its windows).

use crate::catalog::Source;
use crate::error::Result;
use crate::log::Log;
use crate::operators::materialize::key_bytes;
use crate::operators::Row;
use crate::operators::SourceDecoder;
use crate::runtime::reader::SourceReader;
use crate::types::Value;
use std::collections::BTreeMap;

/// The current rows of one table.
pub struct TableView {
    decoder: SourceDecoder,
    reader: SourceReader,
    key_positions: Vec<usize>,
    rows: BTreeMap<Vec<u8>, Row>,
}

impl TableView {
    pub fn open(log: &dyn Log, source: &Source) -> Result<TableView> {
        Ok(TableView {
            decoder: SourceDecoder::try_new(source)?,
            reader: SourceReader::open(log, &source.topic, None, true)?,
            key_positions: source.schema.key_indexes(),
            rows: BTreeMap::new(),
        })
    }

    /// Applies every record appended since the last call.
    pub fn catch_up(&mut self, log: &dyn Log) -> Result<()> {
        loop {
            let records = self.reader.read(log)?;
            if records.is_empty() {
                return Ok(());
            }
            for r in &records {
                // Unreadable records were reported by the query that wrote
                // (or reads) them; the view skips them.
                let Ok(row) = self.decoder.decode(r) else {
                    continue;
                };
                if row.null_key {
                    continue;
                }
                let mut id = key_bytes(&self.key_positions, &row.values);
                if let Some(w) = row.window {
                    id.extend_from_slice(&w.start.to_be_bytes());
                }
                if row.tombstone {
                    self.rows.remove(&id);
                } else {
                    self.rows.insert(id, row);
                }
            }
        }
    }

    /// All rows, in key order.
    pub fn scan(&self) -> Vec<Row> {
        self.rows.values().cloned().collect()
    }

    /// The rows of one key (every window of it, for a windowed table).
    pub fn lookup(&self, key: &Value) -> Vec<Row> {
        let prefix = key_bytes(&[0], std::slice::from_ref(key));
        self.rows
            .range(prefix.clone()..)
            .take_while(|(id, _)| id.starts_with(&prefix))
            .map(|(_, r)| r.clone())
            .collect()
    }
}
