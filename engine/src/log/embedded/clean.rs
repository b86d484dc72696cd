//! The cleaner: retention and compaction of a partition's sealed segments,
//! as Kafka does them. It runs when a segment is sealed (and on
//! [`super::EmbeddedLog::clean`]), under the partition's lock; the active
//! segment is never touched, nor are mirrored (command) topics, which keep
//! everything.
//!
//! Retention (`cleanup.policy=delete`) deletes whole sealed segments from
//! the front of the partition while the newest record timestamp of the
//! oldest is older than `retention.ms`, or while the partition without it
//! still holds `retention.bytes`. The partition's start offset becomes the
//! base of its first remaining segment. A segment's files go index first,
//! the log last, so a crash leaves whole segments only.
//!
//! Compaction (`cleanup.policy=compact`) maps each key to its latest offset
//! in the sealed segments, then rewrites every sealed segment that holds
//! an older record of a key (or a tombstone, the latest of its key, older
//! than `delete.retention.ms`), keeping the other records with their
//! offsets: the segment then skips offsets, and says so by its magic
//! (`format::COMPACTED_MAGIC`). A rewrite goes to `<base>.log.cleaned`
//! (and `<base>.index.cleaned`), fsynced, then the old index is removed and
//! the new files are renamed over the old: a crash leaves the old segment
//! or the new one, and `.cleaned` files are removed on open. Records
//! without a key are kept. The key map is held in memory and the segments
//! are read twice (by the reads of `segments`, damage handling included);
//! there is no dirty-ratio bookkeeping: every clean rereads the sealed
//! segments, which is fine for segments that roll every `segment_bytes`.

use super::format::{encode_record, push_frame, sync_dir, COMPACTED_MAGIC};
use super::segments::{
    index_path, log_path, mirror_path, Reader, Segments, FIRST_FRAME, INDEX_INTERVAL,
};
use crate::error::Result;
use crate::log::StoredRecord;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The embedded log's default `retention.ms`: keep records until a
/// retention is set (-1). Kafka's default is 7 days, but segments are aged
/// by their records' timestamps: with it, records stamped in the past (a
/// replay of history, generated test data) would be deleted at their first
/// segment roll, under queries and internal repartition topics still
/// reading them. A topic given a retention (`set_retention`) is cleaned as
/// Kafka cleans it.
pub const DEFAULT_RETENTION_MS: i64 = -1;
/// Kafka's default `delete.retention.ms`: 24 hours.
pub const DEFAULT_DELETE_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// How long a topic keeps its records (stored in its `meta.json`; see the
/// module documentation of `clean`). Compacted topics use
/// `delete_retention_ms` only; the others `retention_ms` and
/// `retention_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// `retention.ms`: a sealed segment whose newest record is older than
    /// this is deleted; -1 keeps records forever.
    pub retention_ms: i64,
    /// `retention.bytes`: the oldest sealed segments are deleted while a
    /// partition holds more than this without them; -1 for no limit.
    pub retention_bytes: i64,
    /// `delete.retention.ms`: how long compaction keeps a tombstone (the
    /// latest record of its key) after its timestamp.
    pub delete_retention_ms: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            retention_ms: DEFAULT_RETENTION_MS,
            retention_bytes: -1,
            delete_retention_ms: DEFAULT_DELETE_RETENTION_MS,
        }
    }
}

/// Milliseconds since the epoch now.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Segments {
    /// Applies `retention` (or compaction, when `compact`) to the sealed
    /// segments, as of `now` (milliseconds since the epoch).
    pub(super) fn clean(&mut self, retention: &Retention, compact: bool, now: i64) -> Result<()> {
        self.rolled = false;
        if self.mirrored || self.sealed.is_empty() {
            return Ok(());
        }
        match compact {
            true => self.compact(retention, now),
            false => self.retain(retention, now),
        }
    }

    /// The records of the `i`th sealed segment.
    fn segment_records(&self, i: usize) -> Result<Vec<StoredRecord>> {
        let base = self.sealed[i];
        let end = self.sealed.get(i + 1).copied().unwrap_or(self.active.base);
        let mut out = Vec::new();
        let mut reader = Reader {
            segments: self,
            partition: self.place.partition,
            want: base,
            max: usize::MAX,
            out: &mut out,
        };
        reader.sealed(base, end)?;
        Ok(out)
    }

    /// The newest record timestamp of the `i`th sealed segment (None when
    /// it holds no record), read once and remembered.
    fn newest_of(&mut self, i: usize) -> Result<Option<i64>> {
        let base = self.sealed[i];
        if let Some(&newest) = self.newest.get(&base) {
            return Ok(newest);
        }
        let newest = self
            .segment_records(i)?
            .iter()
            .map(|r| r.record.timestamp)
            .max();
        self.newest.insert(base, newest);
        Ok(newest)
    }

    /// Deletes the oldest sealed segments past `retention.ms` or
    /// `retention.bytes`.
    fn retain(&mut self, retention: &Retention, now: i64) -> Result<()> {
        let mut sizes = Vec::with_capacity(self.sealed.len());
        for &base in &self.sealed {
            sizes.push(fs::metadata(log_path(&self.dir, base))?.len());
        }
        let mut size: u64 =
            sizes.iter().sum::<u64>() + self.active.written + self.tail.len() as u64;
        let mut doomed = 0;
        while doomed < self.sealed.len() {
            let bytes = sizes[doomed];
            let by_bytes =
                u64::try_from(retention.retention_bytes).is_ok_and(|limit| size - bytes >= limit);
            let by_time = retention.retention_ms >= 0
                && match self.newest_of(doomed)? {
                    Some(newest) => newest < now.saturating_sub(retention.retention_ms),
                    None => true,
                };
            if !by_bytes && !by_time {
                break;
            }
            size -= bytes;
            doomed += 1;
        }
        if doomed == 0 {
            return Ok(());
        }
        let gone: Vec<i64> = self.sealed.drain(..doomed).collect();
        for &base in &gone {
            remove_if_there(&index_path(&self.dir, base))?;
            remove_if_there(&mirror_path(&self.dir, base))?;
            remove_if_there(&log_path(&self.dir, base))?;
            self.newest.remove(&base);
        }
        sync_dir(&self.dir)?;
        let old_start = self.start;
        self.start = self.sealed.first().copied().unwrap_or(self.active.base);
        tracing::info!(
            topic = %self.place.topic, partition = self.place.partition,
            segments = gone.len(), from = old_start, start_offset = self.start,
            "retention deleted old log segments"
        );
        Ok(())
    }

    /// Rewrites the sealed segments keeping each key's latest record.
    fn compact(&mut self, retention: &Retention, now: i64) -> Result<()> {
        let mut latest: HashMap<Vec<u8>, i64> = HashMap::new();
        for i in 0..self.sealed.len() {
            for r in self.segment_records(i)? {
                if let Some(key) = r.record.key {
                    latest.insert(key, r.offset);
                }
            }
        }
        let horizon = now.saturating_sub(retention.delete_retention_ms);
        let mut removed = 0usize;
        for i in 0..self.sealed.len() {
            let records = self.segment_records(i)?;
            let before = records.len();
            let kept: Vec<StoredRecord> = records
                .into_iter()
                .filter(|r| match &r.record.key {
                    None => true,
                    Some(key) => {
                        latest.get(key) == Some(&r.offset)
                            && !(r.record.value.is_none() && r.record.timestamp < horizon)
                    }
                })
                .collect();
            if kept.len() == before {
                continue;
            }
            removed += before - kept.len();
            let base = self.sealed[i];
            rewrite(&self.dir, base, &kept)?;
            let newest = kept.iter().map(|r| r.record.timestamp).max();
            self.newest.insert(base, newest);
        }
        if removed > 0 {
            tracing::info!(
                topic = %self.place.topic, partition = self.place.partition,
                removed, "compacted log segments"
            );
        }
        Ok(())
    }
}

/// Replaces the segment at `base` in `dir` with one holding `records`
/// (offsets kept), atomically (see the module documentation).
fn rewrite(dir: &Path, base: i64, records: &[StoredRecord]) -> Result<()> {
    let mut bytes = COMPACTED_MAGIC.to_vec();
    let mut index = Vec::new();
    let mut last_entry = FIRST_FRAME;
    for r in records {
        let pos = bytes.len() as u64;
        if pos - last_entry >= INDEX_INTERVAL {
            if let (Ok(rel), Ok(at)) = (u32::try_from(r.offset - base), u32::try_from(pos)) {
                index.extend_from_slice(&rel.to_le_bytes());
                index.extend_from_slice(&at.to_le_bytes());
                last_entry = pos;
            }
        }
        push_frame(&mut bytes, |buf| encode_record(buf, r.offset, &r.record))?;
    }
    let log = log_path(dir, base);
    let idx = index_path(dir, base);
    let log_tmp = cleaned_path(&log);
    let idx_tmp = cleaned_path(&idx);
    write_synced(&log_tmp, &bytes)?;
    write_synced(&idx_tmp, &index)?;
    // Without an index a segment is scanned: the old index goes first.
    remove_if_there(&idx)?;
    fs::rename(&log_tmp, &log)?;
    fs::rename(&idx_tmp, &idx)?;
    sync_dir(dir)?;
    Ok(())
}

/// Where the rewrite of `path` is written before it replaces it.
pub(super) fn cleaned_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".cleaned");
    name.into()
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

fn remove_if_there(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}
