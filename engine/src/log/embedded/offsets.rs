//! Consumer-group offsets: the committed offsets in memory and their
//! append-only file (commit and deleted-topic frames, last one wins),
//! compacted on open when superseded commits dominate it.

use super::format::{encode_frame, new_file, put_str, scan_file, sync_dir, Cursor, WRITE_BUFFER};
use super::topic::Topic;
use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

/// First bytes of the consumer-group offsets file.
const OFFSETS_MAGIC: &[u8; 8] = b"SLUOFS\x00\x01";
/// Offsets-file frames below which the file is never rewritten on open.
const OFFSETS_COMPACT_MIN: usize = 1024;

const OFFSETS_COMMIT: u8 = 0;
const OFFSETS_DELETE_TOPIC: u8 = 1;

/// Committed offsets: group -> topic -> partition -> next offset.
type Committed = HashMap<String, HashMap<String, HashMap<i32, i64>>>;

/// The consumer groups' committed offsets and their file.
pub(super) struct OffsetStore {
    pub(super) committed: Committed,
    writer: Option<BufWriter<File>>,
    sync_file: Option<File>,
    scratch: Vec<u8>,
    dirty: bool,
    /// Why commits are refused (an earlier write failed).
    broken: Option<String>,
}

impl OffsetStore {
    pub(super) fn empty() -> OffsetStore {
        OffsetStore {
            committed: HashMap::new(),
            writer: None,
            sync_file: None,
            scratch: Vec::new(),
            dirty: false,
            broken: None,
        }
    }

    /// Loads `dir/offsets.log`, dropping the offsets of topics not in
    /// `topics`, and rewrites it when that, or superseded commits, make it
    /// worth it.
    pub(super) fn load(dir: &Path, topics: &BTreeMap<String, Arc<Topic>>) -> Result<OffsetStore> {
        let path = dir.join("offsets.log");
        let mut committed: Committed = HashMap::new();
        let mut frames = 0usize;
        let file = scan_file(&path, OFFSETS_MAGIC, |_, payload| {
            frames += 1;
            apply_offsets_frame(&mut committed, payload)
                .ok_or_else(|| Error::log(format!("{}: undecodable frame", path.display())))
        })?;

        let mut dropped = false;
        for by_topic in committed.values_mut() {
            let before = by_topic.len();
            by_topic.retain(|topic, _| topics.contains_key(topic));
            dropped |= by_topic.len() != before;
        }
        committed.retain(|_, by_topic| !by_topic.is_empty());
        let live: usize = committed
            .values()
            .flat_map(|by_topic| by_topic.values())
            .map(HashMap::len)
            .sum();

        let mut store = OffsetStore {
            committed,
            ..OffsetStore::empty()
        };
        let file = if dropped || (frames > OFFSETS_COMPACT_MIN && frames > 2 * live) {
            drop(file);
            store.rewrite(dir)?
        } else {
            file
        };
        store.sync_file = Some(file.try_clone()?);
        store.writer = Some(BufWriter::with_capacity(WRITE_BUFFER, file));
        Ok(store)
    }

    /// Replaces `offsets.log` with one commit frame per live offset,
    /// returning the new file positioned at its end.
    fn rewrite(&mut self, dir: &Path) -> Result<File> {
        let tmp = dir.join("offsets.log.tmp");
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, new_file(&tmp, OFFSETS_MAGIC)?);
        for (group, by_topic) in &self.committed {
            for (topic, by_partition) in by_topic {
                for (&partition, &offset) in by_partition {
                    encode_frame(&mut self.scratch, |buf| {
                        encode_commit(buf, group, topic, partition, offset)
                    })?;
                    out.write_all(&self.scratch)?;
                }
            }
        }
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        let path = dir.join("offsets.log");
        fs::rename(&tmp, &path)?;
        sync_dir(dir)?;
        let mut file = OpenOptions::new().read(true).write(true).open(&path)?;
        file.seek(SeekFrom::End(0))?;
        Ok(file)
    }

    pub(super) fn commit(
        &mut self,
        group: &str,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<()> {
        self.write(|buf| encode_commit(buf, group, topic, partition, offset))?;
        self.committed
            .entry(group.to_string())
            .or_default()
            .entry(topic.to_string())
            .or_default()
            .insert(partition, offset);
        Ok(())
    }

    pub(super) fn delete_topic(&mut self, topic: &str) -> Result<()> {
        let known = self.committed.values().any(|t| t.contains_key(topic));
        if !known {
            return Ok(());
        }
        for by_topic in self.committed.values_mut() {
            by_topic.remove(topic);
        }
        self.committed.retain(|_, by_topic| !by_topic.is_empty());
        self.write(|buf| {
            buf.push(OFFSETS_DELETE_TOPIC);
            put_str(buf, topic)
        })
    }

    /// Appends one frame to the offsets file, if there is one.
    fn write(&mut self, payload: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
        if let Some(why) = &self.broken {
            return Err(Error::log(format!("cannot commit offsets: {why}")));
        }
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        encode_frame(&mut self.scratch, payload)?;
        if let Err(e) = writer.write_all(&self.scratch) {
            self.broken = Some(format!("an earlier write failed: {e}"));
            self.writer = None;
            return Err(e.into());
        }
        self.dirty = true;
        Ok(())
    }

    /// Hands buffered commits to the operating system (no fsync).
    pub(super) fn write_out(&mut self) -> Result<()> {
        if let Some(writer) = self.writer.as_mut() {
            writer.flush()?;
        }
        Ok(())
    }

    pub(super) fn flush(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        if let Some(writer) = self.writer.as_mut() {
            writer.flush()?;
        }
        if let Some(file) = &self.sync_file {
            file.sync_data()?;
        }
        self.dirty = false;
        Ok(())
    }
}

fn encode_commit(
    buf: &mut Vec<u8>,
    group: &str,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<()> {
    buf.push(OFFSETS_COMMIT);
    put_str(buf, group)?;
    put_str(buf, topic)?;
    buf.extend_from_slice(&partition.to_le_bytes());
    buf.extend_from_slice(&offset.to_le_bytes());
    Ok(())
}

/// Applies one offsets-file frame; None if it does not decode.
fn apply_offsets_frame(committed: &mut Committed, payload: &[u8]) -> Option<()> {
    let mut c = Cursor { rest: payload };
    match c.u8()? {
        OFFSETS_COMMIT => {
            let group = c.string()?;
            let topic = c.string()?;
            let partition = c.i32()?;
            let offset = c.i64()?;
            c.done().then_some(())?;
            committed
                .entry(group)
                .or_default()
                .entry(topic)
                .or_default()
                .insert(partition, offset);
        }
        OFFSETS_DELETE_TOPIC => {
            let topic = c.string()?;
            c.done().then_some(())?;
            for by_topic in committed.values_mut() {
                by_topic.remove(&topic);
            }
            committed.retain(|_, by_topic| !by_topic.is_empty());
        }
        _ => return None,
    }
    Some(())
}
