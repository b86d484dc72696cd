//! Consumer-group offsets: the committed offsets in memory and their two
//! append-only copies, `offsets.log` and `offsets.mirror` (commit and
//! deleted-topic frames, each with a sequence number; last one wins).
//!
//! Every frame is appended to both copies. On open each copy is scanned on
//! its own (damage skipped by resynchronizing on the next valid frame, a
//! torn tail ignored), and the frames of both are merged by sequence
//! number: a frame damaged in one copy is taken from the other. A sequence
//! number missing from both copies (between the lowest and the highest
//! found) is a commit lost for good: the offsets it may have held are then
//! refused (`committed` fails) rather than guessed, so no query silently
//! goes back to an older offset and doubles its output. When the copies
//! are in order again they are rewritten, together, with one commit per
//! live offset (also when superseded commits dominate them).
//!
//! A write that fails (a full disk) keeps its frames in memory and is
//! retried at the next commit: commits fail until it succeeds, and no
//! later frame is ever written behind a torn one.

use super::format::{encode_frame, put_str, sync_dir, Cursor, Frame, Window, WRITE_BUFFER};
use super::topic::Topic;
use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// First bytes of an offsets file whose frames have sequence numbers.
const OFFSETS_MAGIC: &[u8; 8] = b"SLUOFS\x00\x02";
/// First bytes of an offsets file of the older format (no sequence
/// numbers, one copy): read once, then rewritten.
const OFFSETS_MAGIC_V1: &[u8; 8] = b"SLUOFS\x00\x01";
/// The two copies, the mirror first: the order they are rewritten in.
const COPIES: [&str; 2] = ["offsets.mirror", "offsets.log"];
/// Offsets-file frames below which the files are never rewritten on open.
const OFFSETS_COMPACT_MIN: usize = 1024;

const OFFSETS_COMMIT: u8 = 0;
const OFFSETS_DELETE_TOPIC: u8 = 1;

/// Committed offsets: group -> topic -> partition -> (next offset, the
/// sequence number of the commit that set it).
type Committed = HashMap<String, HashMap<String, HashMap<i32, (i64, u64)>>>;

/// The consumer groups' committed offsets and their files.
pub(super) struct OffsetStore {
    committed: Committed,
    /// Both copies, appended to alike.
    writers: Vec<CopyWriter>,
    /// The sequence number of the next frame.
    next_seq: u64,
    /// The highest sequence number lost from both copies: offsets last
    /// committed before it may be stale, and are refused.
    lost_upto: Option<u64>,
    scratch: Vec<u8>,
    dirty: bool,
}

/// One copy's file, the bytes written to it, and the frames not yet
/// written (kept when a write fails, and written again from the same
/// position, over whatever part of them reached the file).
struct CopyWriter {
    file: File,
    written: u64,
    pending: Vec<u8>,
}

impl CopyWriter {
    fn write_out(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.file.write_all_at(&self.pending, self.written)?;
            self.written += self.pending.len() as u64;
            self.pending.clear();
        }
        Ok(())
    }
}

/// What the scan of one copy found.
#[derive(Default)]
struct Copy {
    /// Its valid frames: sequence number and payload (after the number).
    frames: Vec<(u64, Vec<u8>)>,
    /// Byte ranges that failed their checks with valid frames after them.
    damaged: Vec<Range<u64>>,
    /// Bad bytes at its end (a torn write).
    torn: Option<Range<u64>>,
    /// In the current format, undamaged, untorn.
    clean: bool,
    len: u64,
}

impl OffsetStore {
    pub(super) fn empty() -> OffsetStore {
        OffsetStore {
            committed: HashMap::new(),
            writers: Vec::new(),
            next_seq: 0,
            lost_upto: None,
            scratch: Vec::new(),
            dirty: false,
        }
    }

    /// Loads both copies in `dir`, merging them, dropping the offsets of
    /// topics not in `topics`, and rewrites them when they differ, hold
    /// damage, or superseded commits dominate them.
    pub(super) fn load(dir: &Path, topics: &BTreeMap<String, Arc<Topic>>) -> Result<OffsetStore> {
        let paths: Vec<PathBuf> = COPIES.iter().map(|name| dir.join(name)).collect();
        let copies = paths
            .iter()
            .map(|path| read_copy(path))
            .collect::<Result<Vec<Copy>>>()?;

        // Merged by sequence number; the frames of `offsets.log` win.
        let mut frames: BTreeMap<u64, &[u8]> = BTreeMap::new();
        for copy in &copies {
            for (seq, payload) in &copy.frames {
                frames.insert(*seq, payload);
            }
        }
        let mut lost: Vec<Range<u64>> = Vec::new();
        let mut prev: Option<u64> = None;
        for &seq in frames.keys() {
            if let Some(p) = prev {
                if seq > p + 1 {
                    lost.push(p + 1..seq);
                }
            }
            prev = Some(seq);
        }
        for (path, copy) in paths.iter().zip(&copies) {
            if let Some(torn) = &copy.torn {
                tracing::warn!(file = %path.display(), bytes = ?torn, "torn write at the end of the offsets file: ignored");
            }
            for bytes in &copy.damaged {
                if lost.is_empty() {
                    tracing::warn!(file = %path.display(), bytes = ?bytes, "damaged offsets file: its commits were taken from the other copy");
                } else {
                    tracing::error!(file = %path.display(), bytes = ?bytes, "DAMAGED OFFSETS FILE: bytes fail their checks");
                }
            }
        }
        let lost_upto = lost.last().map(|r| r.end - 1);
        if lost_upto.is_some() {
            tracing::error!(
                lost_commits = ?lost,
                "DAMAGED OFFSETS: commits are lost from both offsets.log and offsets.mirror; \
                 offsets last committed before them are refused (their queries fail) until committed again"
            );
        }

        let mut committed: Committed = HashMap::new();
        for (&seq, payload) in &frames {
            apply_offsets_frame(&mut committed, seq, payload).ok_or_else(|| {
                Error::log(format!(
                    "{}: undecodable commit {seq}",
                    dir.join(COPIES[1]).display()
                ))
            })?;
        }
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
            next_seq: frames.keys().next_back().map_or(0, |last| last + 1),
            lost_upto,
            ..OffsetStore::empty()
        };
        let differ = copies.iter().any(|c| !c.clean) || copies[0].len != copies[1].len;
        let compact = frames.len() > OFFSETS_COMPACT_MIN && frames.len() > 2 * live;
        if lost_upto.is_none() && (differ || dropped || compact) {
            // Lost commits keep the files as they are: the loss is found
            // again on the next open. A rewrite that fails (a full disk)
            // leaves each copy whole, old or new.
            if let Err(e) = store.rewrite(dir) {
                tracing::warn!(error = %e, "could not rewrite the offsets files; kept as they are");
            }
        }
        for path in &paths {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(path)?;
            let mut written = file.metadata()?.len();
            if written == 0 {
                file.write_all_at(OFFSETS_MAGIC, 0)?;
                written = OFFSETS_MAGIC.len() as u64;
            } else if let Some(torn) = read_copy(path)?.torn {
                // New frames go over a torn tail, not behind it.
                written = torn.start;
            }
            store.writers.push(CopyWriter {
                file,
                written,
                pending: Vec::new(),
            });
        }
        Ok(store)
    }

    /// Replaces both copies with one commit frame per live offset (the
    /// mirror first, each through a temporary file and a rename).
    fn rewrite(&mut self, dir: &Path) -> Result<()> {
        let mut bytes = OFFSETS_MAGIC.to_vec();
        let mut next_seq = self.next_seq;
        for (group, by_topic) in &self.committed {
            for (topic, by_partition) in by_topic {
                for (&partition, (offset, _)) in by_partition {
                    encode_frame(&mut self.scratch, |buf| {
                        buf.extend_from_slice(&next_seq.to_le_bytes());
                        encode_commit(buf, group, topic, partition, *offset)
                    })?;
                    bytes.extend_from_slice(&self.scratch);
                    next_seq += 1;
                }
            }
        }
        let mut replaced = 0;
        let mut outcome: Result<()> = Ok(());
        for name in COPIES {
            let tmp = dir.join(format!("{name}.tmp"));
            let written = File::create(&tmp).and_then(|mut file| {
                file.write_all(&bytes)?;
                file.sync_all()?;
                fs::rename(&tmp, dir.join(name))
            });
            if let Err(e) = written {
                let _ = fs::remove_file(&tmp);
                outcome = Err(e.into());
                break;
            }
            replaced += 1;
        }
        if replaced > 0 {
            // A copy now numbers the live commits from the old `next_seq`
            // on, in the order written above: later frames come after them.
            let mut seq = self.next_seq;
            for by_topic in self.committed.values_mut() {
                for by_partition in by_topic.values_mut() {
                    for (_, s) in by_partition.values_mut() {
                        *s = seq;
                        seq += 1;
                    }
                }
            }
            self.next_seq = next_seq;
        }
        outcome?;
        sync_dir(dir)?;
        Ok(())
    }

    /// The offset `group` committed for `topic`/`partition`, if any; an
    /// error when it may have been lost to damage of both copies.
    pub(super) fn committed(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Option<i64>> {
        let by_topic = self.committed.get(group);
        let found = by_topic
            .and_then(|by_topic| by_topic.get(topic))
            .and_then(|by_partition| by_partition.get(&partition))
            .copied();
        if let Some(lost) = self.lost_upto {
            let stale = match found {
                Some((_, seq)) => seq < lost,
                None => by_topic.is_some(),
            };
            if stale {
                return Err(Error::log(format!(
                    "the committed offset of group '{group}' for {topic}/{partition} may be \
                     among the commits lost to damage of both offsets.log and offsets.mirror; \
                     not resuming from an older offset (that would repeat output)"
                )));
            }
        }
        Ok(found.map(|(offset, _)| offset))
    }

    pub(super) fn commit(
        &mut self,
        group: &str,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<()> {
        let seq = self.write(|buf| encode_commit(buf, group, topic, partition, offset))?;
        self.committed
            .entry(group.to_string())
            .or_default()
            .entry(topic.to_string())
            .or_default()
            .insert(partition, (offset, seq));
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
        })?;
        Ok(())
    }

    /// Appends one frame to both copies (if there are files), returning
    /// its sequence number. It reaches the files at the next `write_out`
    /// (or here, once a buffer's worth waits).
    fn write(&mut self, payload: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<u64> {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.writers.is_empty() {
            return Ok(seq);
        }
        encode_frame(&mut self.scratch, |buf| {
            buf.extend_from_slice(&seq.to_le_bytes());
            payload(buf)
        })?;
        for writer in &mut self.writers {
            writer.pending.extend_from_slice(&self.scratch);
        }
        self.dirty = true;
        if self.writers.iter().any(|w| w.pending.len() >= WRITE_BUFFER) {
            self.write_out()?;
        }
        Ok(seq)
    }

    /// Hands waiting commits to the operating system (no fsync). On a
    /// failure they stay waiting, and are written by a later call.
    pub(super) fn write_out(&mut self) -> Result<()> {
        for writer in &mut self.writers {
            writer.write_out()?;
        }
        Ok(())
    }

    pub(super) fn flush(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.write_out()?;
        for writer in &self.writers {
            writer.file.sync_data()?;
        }
        self.dirty = false;
        Ok(())
    }
}

/// Scans one copy: its valid frames, and the damage and torn tail skipped.
/// A missing copy is empty (and not clean).
fn read_copy(path: &Path) -> Result<Copy> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Copy::default()),
        Err(e) => return Err(e.into()),
    };
    let len = file.metadata()?.len();
    let mut copy = Copy {
        len,
        ..Copy::default()
    };
    let mut head = [0u8; 8];
    if len < head.len() as u64 {
        copy.torn = Some(0..len);
        return Ok(copy);
    }
    file.read_exact_at(&mut head, 0)?;
    let sequenced = &head != OFFSETS_MAGIC_V1;
    if sequenced && &head != OFFSETS_MAGIC {
        copy.damaged.push(0..8);
    }
    let mut window = Window::new(&file, len);
    let mut pos = head.len() as u64;
    // The sequence number of the latest frame; in the older format, frames
    // are numbered in order.
    let mut last: Option<u64> = None;
    loop {
        let after = last;
        let accept = move |p: &[u8]| match sequenced {
            true => seq_of(p).is_some_and(|seq| after.is_none_or(|a| seq > a)),
            false => p.first().is_some_and(|&kind| kind <= OFFSETS_DELETE_TOPIC),
        };
        match window.frame(pos, accept)? {
            Frame::Valid(frame) => {
                let payload = super::format::payload(frame);
                let (seq, rest) = match sequenced {
                    true => (seq_of(payload).unwrap_or(0), &payload[8..]),
                    false => (last.map_or(0, |a| a + 1), payload),
                };
                copy.frames.push((seq, rest.to_vec()));
                last = Some(seq);
                pos += frame.len() as u64;
            }
            Frame::End => break,
            Frame::Bad => match window.resync(pos, accept)? {
                Some(at) => {
                    copy.damaged.push(pos..at);
                    pos = at;
                }
                None => {
                    copy.torn = Some(pos..len);
                    break;
                }
            },
        }
    }
    copy.clean = sequenced && copy.damaged.is_empty() && copy.torn.is_none();
    Ok(copy)
}

/// The sequence number at the front of a payload.
fn seq_of(payload: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(payload.get(..8)?.try_into().ok()?))
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

/// Applies one offsets frame (numbered `seq`); None if it does not decode.
fn apply_offsets_frame(committed: &mut Committed, seq: u64, payload: &[u8]) -> Option<()> {
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
                .insert(partition, (offset, seq));
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
