//! Checkpoints tie a query's state to its input positions. After each step
//! a task appends, to every state changelog, a checkpoint record holding the
//! input offsets the state now reflects. On restart an operator restores
//! only the changelog prefix up to its last checkpoint and the task resumes
//! from that checkpoint's offsets, so a crash between writing state and
//! committing offsets can neither lose nor double-count input.

use crate::error::{Error, Result};
use crate::log::{Log, Record};
use std::collections::{HashMap, HashSet};

/// The changelog key of checkpoint records (no state key starts with 0).
pub const CHECKPOINT_KEY: &[u8] = b"\x00checkpoint";

/// Input positions: (topic, partition, next offset).
pub type Positions = Vec<(String, i32, i64)>;

/// A checkpoint record for `positions`.
pub fn record(positions: &Positions) -> Record {
    let json: Vec<serde_json::Value> = positions
        .iter()
        .map(|(t, p, o)| serde_json::json!([t, p, o]))
        .collect();
    Record {
        key: Some(CHECKPOINT_KEY.to_vec()),
        value: Some(serde_json::Value::Array(json).to_string().into_bytes()),
        timestamp: 0,
        headers: Vec::new(),
    }
}

fn decode(bytes: &[u8]) -> Result<Positions> {
    let parsed: serde_json::Value = serde_json::from_slice(bytes)?;
    parsed
        .as_array()
        .ok_or_else(|| Error::format("bad checkpoint record"))?
        .iter()
        .map(|e| {
            let t = e.get(0).and_then(|v| v.as_str());
            let p = e.get(1).and_then(|v| v.as_i64());
            let o = e.get(2).and_then(|v| v.as_i64());
            match (t, p, o) {
                (Some(t), Some(p), Some(o)) => Ok((t.to_string(), p as i32, o)),
                _ => Err(Error::format("bad checkpoint entry")),
            }
        })
        .collect()
}

/// A changelog read back for restoring.
pub struct Restored {
    /// The latest value of every key, up to the last checkpoint (all of the
    /// changelog read when it has no checkpoint).
    pub latest: HashMap<Vec<u8>, Option<Vec<u8>>>,
    /// The last checkpoint's positions.
    pub checkpoint: Option<Positions>,
    /// The offset of the last checkpoint record (when reading one
    /// partition).
    pub checkpoint_offset: Option<i64>,
    /// Keys written after the last checkpoint: changes of a step that never
    /// completed, to be overwritten with their restored values.
    pub stale: HashSet<Vec<u8>>,
    /// How many records were read.
    pub records_read: usize,
}

/// Reads a changelog topic: one partition of it (a query split by
/// partition keeps each input partition's state and checkpoints in the
/// same partition of its changelogs), or all of it.
pub fn read(log: &dyn Log, topic: &str, partition: Option<i32>) -> Result<Restored> {
    read_from(log, topic, partition, 0)
}

/// Reads a changelog as [`read`] does, from offset `from` on (a local
/// store holds what came before).
pub fn read_from(
    log: &dyn Log,
    topic: &str,
    partition: Option<i32>,
    from: i64,
) -> Result<Restored> {
    let mut records = Vec::new();
    if let Some(info) = log.describe_topic(topic)? {
        let partitions = match partition {
            Some(p) => p..p + 1,
            None => 0..info.partitions,
        };
        for p in partitions {
            let mut offset = from;
            loop {
                let batch = log.read(topic, p, offset, 10_000)?;
                if batch.is_empty() {
                    break;
                }
                for r in batch {
                    offset = r.offset + 1;
                    records.push((r.offset, r.record));
                }
            }
        }
    }
    let last = records
        .iter()
        .rposition(|(_, r)| r.key.as_deref() == Some(CHECKPOINT_KEY));
    let (upto, checkpoint, checkpoint_offset) = match last {
        Some(i) => (
            i,
            Some(decode(records[i].1.value.as_deref().unwrap_or_default())?),
            Some(records[i].0),
        ),
        None => (records.len(), None, None),
    };
    let mut latest = HashMap::new();
    for (_, r) in &records[..upto] {
        if let Some(k) = &r.key {
            if k.as_slice() != CHECKPOINT_KEY {
                latest.insert(k.clone(), r.value.clone());
            }
        }
    }
    let stale = records[upto..]
        .iter()
        .filter_map(|(_, r)| r.key.clone())
        .filter(|k| k.as_slice() != CHECKPOINT_KEY)
        .collect();
    Ok(Restored {
        latest,
        checkpoint,
        checkpoint_offset,
        stale,
        records_read: records.len(),
    })
}

/// True when the changelog still holds the checkpoint a local store
/// recorded: the checkpoint record at `offset` with these `positions`, or
/// (compaction having removed it) later records. A store whose changelog
/// lacks it (lost, recreated, or cut short by a crash) is rebuilt.
pub fn holds(
    log: &dyn Log,
    topic: &str,
    partition: i32,
    offset: i64,
    positions: &Positions,
) -> Result<bool> {
    if log.describe_topic(topic)?.is_none() || log.end_offset(topic, partition)? <= offset {
        return Ok(false);
    }
    let Some(first) = log.read(topic, partition, offset, 1)?.into_iter().next() else {
        return Ok(false);
    };
    if first.offset != offset {
        return Ok(first.offset > offset);
    }
    if first.record.key.as_deref() != Some(CHECKPOINT_KEY) {
        return Ok(false);
    }
    Ok(decode(first.record.value.as_deref().unwrap_or_default())? == *positions)
}

/// Overwrites the stale keys with their restored values (`value_of` each
/// key, None to delete) and repeats the checkpoint, so later restores see
/// a consistent log. Returns the offset of the repeated checkpoint.
pub fn repair(
    log: &dyn Log,
    topic: &str,
    partition: i32,
    restored: &Restored,
    mut value_of: impl FnMut(&[u8]) -> Result<Option<Vec<u8>>>,
) -> Result<Option<i64>> {
    if restored.stale.is_empty() {
        return Ok(None);
    }
    let mut stale: Vec<&Vec<u8>> = restored.stale.iter().collect();
    stale.sort();
    for key in stale {
        let value = value_of(key)?;
        log.append(
            topic,
            Some(partition),
            Record {
                key: Some(key.clone()),
                value,
                timestamp: 0,
                headers: Vec::new(),
            },
        )?;
    }
    match &restored.checkpoint {
        Some(c) => Ok(Some(log.append(topic, Some(partition), record(c))?.1)),
        None => Ok(None),
    }
}
