//! Reading a topic's partitions from per-partition positions, and where a
//! persistent query's writes go (the log, or its open transaction).

use crate::error::Result;
use crate::log::{Log, Record, StoredRecord, TxnWriter};

/// How many records a task reads from one partition per step.
pub const BATCH: usize = 500;

/// Where a persistent query's writes go.
pub enum Out<'a> {
    /// Straight to the log.
    Log(&'a dyn Log),
    /// Into the query's open transaction (exactly-once processing).
    Txn(&'a mut dyn TxnWriter),
}

impl Out<'_> {
    pub fn append(&mut self, topic: &str, partition: Option<i32>, record: Record) -> Result<()> {
        match self {
            Out::Log(log) => log.append(topic, partition, record).map(|_| ()),
            Out::Txn(txn) => txn.append(topic, partition, record),
        }
    }
}

/// Reads a topic's partitions from per-partition positions.
pub struct SourceReader {
    pub topic: String,
    /// (partition, next offset to read)
    pub positions: Vec<(i32, i64)>,
}

impl SourceReader {
    /// Positions every partition at the committed offset of `group`, or at
    /// the start (`earliest`) or end (`latest`) of each partition.
    pub fn open(log: &dyn Log, topic: &str, group: Option<&str>, earliest: bool) -> Result<Self> {
        let info = log
            .describe_topic(topic)?
            .ok_or_else(|| crate::Error::log(format!("Topic {topic} does not exist")))?;
        let mut positions = Vec::new();
        for p in 0..info.partitions {
            let committed = match group {
                Some(g) => log.committed(g, topic, p)?,
                None => None,
            };
            let start = match committed {
                Some(o) => o,
                None if earliest => log.start_offset(topic, p)?,
                None => log.end_offset(topic, p)?,
            };
            positions.push((p, start));
        }
        Ok(SourceReader {
            topic: topic.to_string(),
            positions,
        })
    }

    /// The next records, in partition order, and advances past them.
    pub fn read(&mut self, log: &dyn Log) -> Result<Vec<StoredRecord>> {
        let mut out = Vec::new();
        for (p, pos) in self.positions.iter_mut() {
            let batch = log.read(&self.topic, *p, *pos, BATCH)?;
            if let Some(last) = batch.last() {
                *pos = last.offset + 1;
            }
            out.extend(batch);
        }
        Ok(out)
    }
}
