//! Materialized views for pull queries: a table's current rows, kept by
//! reading its topic (a CTAS result's topic, or a source table's) and
//! caught up incrementally before each query (at once when nothing was
//! appended). Rows are kept by key, so a key lookup is a range scan over
//! the key's prefix (all of its windows); a scan returns them as ksqlDB's
//! state stores do, partition by partition in the order of their
//! serialized keys (which rows a LIMIT keeps depends on it).

use crate::catalog::Source;
use crate::error::Result;
use crate::log::Log;
use crate::operators::materialize::key_bytes;
use crate::operators::Row;
use crate::operators::SourceDecoder;
use crate::runtime::reader::SourceReader;
use crate::types::Value;
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// The current rows of one table. Shared by every pull query over it:
/// catching up takes the reading lock (one thread reads the topic) and
/// holds the rows' write lock only while applying a decoded batch;
/// lookups hold the read lock only while copying their rows.
pub struct TableView {
    topic: String,
    reading: Mutex<Reading>,
    key_positions: Vec<usize>,
    rows: RwLock<BTreeMap<Vec<u8>, Stored>>,
    /// The topic's append sequence when the view last caught up
    /// ([`NEVER`] before the first time).
    seen: AtomicU64,
}

/// A row with where a scan puts it: its partition and its record's key
/// as serialized in the topic.
struct Stored {
    order: (i32, Vec<u8>),
    row: Row,
}

/// Where the view reads its topic.
struct Reading {
    decoder: SourceDecoder,
    reader: SourceReader,
}

const NEVER: u64 = u64::MAX;

impl TableView {
    pub fn open(log: &dyn Log, source: &Source) -> Result<TableView> {
        Ok(TableView {
            topic: source.topic.clone(),
            reading: Mutex::new(Reading {
                decoder: SourceDecoder::try_new(source)?,
                reader: SourceReader::open(log, &source.topic, None, true)?,
            }),
            key_positions: source.schema.key_indexes(),
            rows: RwLock::new(BTreeMap::new()),
            seen: AtomicU64::new(NEVER),
        })
    }

    /// Applies every record appended since the last call. Where the Log
    /// announces appends, a view nothing was appended to since returns at
    /// once, without locks.
    pub fn catch_up(&self, log: &dyn Log) -> Result<()> {
        let announced = log.announces_appends();
        // Read before reading the topic: appends after it are read now or
        // next time.
        let seq = log.topic_append_seq(&self.topic);
        if announced && self.seen.load(Ordering::Acquire) == seq {
            return Ok(());
        }
        let mut reading = self.reading.lock();
        loop {
            let records = reading.reader.read(log)?;
            if records.is_empty() {
                break;
            }
            let mut changes = Vec::with_capacity(records.len());
            for r in &records {
                // Unreadable records were reported by the query that wrote
                // (or reads) them; the view skips them.
                let Ok(row) = reading.decoder.decode(r) else {
                    continue;
                };
                if row.null_key {
                    continue;
                }
                let mut id = key_bytes(&self.key_positions, &row.values);
                if let Some(w) = row.window {
                    id.extend_from_slice(&w.start.to_be_bytes());
                }
                let order = (r.partition, r.record.key.clone().unwrap_or_default());
                changes.push((id, (!row.tombstone).then_some(Stored { order, row })));
            }
            let mut rows = self.rows.write();
            for (id, row) in changes {
                match row {
                    Some(row) => rows.insert(id, row),
                    None => rows.remove(&id),
                };
            }
        }
        if announced {
            self.seen.store(seq, Ordering::Release);
        }
        Ok(())
    }

    /// All rows, partition by partition, each in the order of the
    /// serialized keys.
    pub fn scan(&self) -> Vec<Row> {
        let rows = self.rows.read();
        let mut stored: Vec<&Stored> = rows.values().collect();
        stored.sort_by(|a, b| a.order.cmp(&b.order));
        stored.into_iter().map(|s| s.row.clone()).collect()
    }

    /// The rows of one key (every window of it, for a windowed table).
    pub fn lookup(&self, key: &Value) -> Vec<Row> {
        let prefix = key_bytes(&[0], std::slice::from_ref(key));
        self.rows
            .read()
            .range(prefix.clone()..)
            .take_while(|(id, _)| id.starts_with(&prefix))
            .map(|(_, s)| s.row.clone())
            .collect()
    }
}
