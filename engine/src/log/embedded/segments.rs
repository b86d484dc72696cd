//! A partition on disk: a directory of segment files, each named by the
//! offset of its first record and paired with a sparse offset index; the
//! active (last) segment and its tail of frames not yet written; appending
//! and rolling; reads by positioned reads through the page cache; loading,
//! which scans the last segment only and cuts off its torn tail; and moving
//! a partition of the old one-file layout into its first segment.

use super::format::{
    decode_record, encode_record, frame_at, frame_len, new_file, push_frame, record_offset,
    scan_file, sync_dir, SEGMENT_MAGIC, WRITE_BUFFER,
};
use crate::error::{Error, Result};
use crate::log::{Record, StoredRecord};
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes of segment between two entries of its index.
pub(super) const INDEX_INTERVAL: u64 = 4 * 1024;
/// Bytes of segment read at a time.
const READ_CHUNK: usize = 64 * 1024;
/// An index entry: the `u32` offset relative to the segment's base and the
/// `u32` byte position of that record's frame.
const INDEX_ENTRY: u64 = 8;
/// Where the first frame of a segment starts.
const FIRST_FRAME: u64 = SEGMENT_MAGIC.len() as u64;

/// A partition's segments: the sealed ones (on disk only) and the active
/// one, whose unwritten tail and index are in memory.
pub(super) struct Segments {
    /// The partition's directory.
    dir: PathBuf,
    /// Base offsets of the sealed segments, ascending.
    sealed: Vec<i64>,
    active: Active,
    /// The offset of the next record appended.
    next: i64,
    /// Frames appended but not yet written to the active segment's file.
    tail: Vec<u8>,
    /// The offset of the first record in `tail` (`next` when it is empty).
    tail_first: i64,
    /// Appended to since the last fsync.
    pub(super) dirty: bool,
}

/// The segment appends go to.
struct Active {
    base: i64,
    file: Arc<File>,
    /// Bytes of the file written (the tail goes after them).
    written: u64,
    /// The whole sparse index of this segment.
    index: Vec<(u32, u32)>,
    index_file: File,
    /// Entries of `index` written to `index_file`.
    index_written: usize,
    /// Position of the latest index entry's frame (or of the first frame).
    last_entry: u64,
}

/// A segment file's path: its base offset, zero-padded to 20 digits.
pub(super) fn log_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}

/// A segment's offset index's path.
pub(super) fn index_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}.index"))
}

impl Active {
    /// Starts an empty segment at `base`.
    fn create(dir: &Path, base: i64) -> Result<Active> {
        let file = new_file(&log_path(dir, base), SEGMENT_MAGIC)?;
        let index_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(index_path(dir, base))?;
        Ok(Active {
            base,
            file: Arc::new(file),
            written: FIRST_FRAME,
            index: Vec::new(),
            index_file,
            index_written: 0,
            last_entry: FIRST_FRAME,
        })
    }

    /// Adds an index entry for the frame of `offset` at `pos` when it is
    /// far enough past the latest one.
    fn note(&mut self, offset: i64, pos: u64) {
        if pos - self.last_entry < INDEX_INTERVAL {
            return;
        }
        if let (Ok(rel), Ok(at)) = (u32::try_from(offset - self.base), u32::try_from(pos)) {
            self.index.push((rel, at));
            self.last_entry = pos;
        }
    }

    /// Writes the index entries not yet in the index file.
    fn write_index(&mut self) -> Result<()> {
        let fresh = &self.index[self.index_written..];
        if fresh.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(fresh.len() * INDEX_ENTRY as usize);
        for (rel, pos) in fresh {
            bytes.extend_from_slice(&rel.to_le_bytes());
            bytes.extend_from_slice(&pos.to_le_bytes());
        }
        self.index_file
            .write_all_at(&bytes, self.index_written as u64 * INDEX_ENTRY)?;
        self.index_written = self.index.len();
        Ok(())
    }

    /// Where to start reading for `offset`: the latest index entry at or
    /// before it.
    fn seek(&self, offset: i64) -> u64 {
        let n = self
            .index
            .partition_point(|&(rel, _)| self.base + i64::from(rel) <= offset);
        match n {
            0 => FIRST_FRAME,
            n => u64::from(self.index[n - 1].1),
        }
    }
}

impl Segments {
    /// A new, empty partition in `dir` (created here).
    pub(super) fn create(dir: &Path) -> Result<Segments> {
        fs::create_dir(dir)?;
        let active = Active::create(dir, 0)?;
        sync_dir(dir)?;
        Ok(Segments::with_active(dir, Vec::new(), active, 0))
    }

    fn with_active(dir: &Path, sealed: Vec<i64>, active: Active, next: i64) -> Segments {
        Segments {
            dir: dir.to_path_buf(),
            sealed,
            active,
            next,
            tail: Vec::new(),
            tail_first: next,
            dirty: false,
        }
    }

    /// Opens the partition in `dir`: lists its segments and scans the last
    /// one only, cutting off a torn or corrupt tail and rebuilding its
    /// index. A partition of the old layout (`<p>.log` beside `dir`) is
    /// first moved into `dir` as its first segment.
    pub(super) fn load(dir: &Path, legacy: &Path) -> Result<Segments> {
        if legacy.exists() {
            migrate(legacy, dir)?;
        }
        let mut bases = list(dir)?;
        let Some(base) = bases.pop() else {
            // Created but never given its first segment.
            fs::create_dir_all(dir)?;
            let active = Active::create(dir, 0)?;
            sync_dir(dir)?;
            return Ok(Segments::with_active(dir, bases, active, 0));
        };
        let path = log_path(dir, base);
        let mut next = base;
        let mut index = Vec::new();
        let mut last_entry = FIRST_FRAME;
        let file = scan_file(&path, SEGMENT_MAGIC, |pos, payload| {
            let offset = record_offset(payload)
                .ok_or_else(|| Error::log(format!("{}: undecodable record", path.display())))?;
            if offset != next {
                return Err(Error::log(format!(
                    "{}: record at offset {offset} where {next} was due",
                    path.display()
                )));
            }
            if pos - last_entry >= INDEX_INTERVAL {
                if let (Ok(rel), Ok(at)) = (u32::try_from(offset - base), u32::try_from(pos)) {
                    index.push((rel, at));
                    last_entry = pos;
                }
            }
            next += 1;
            Ok(())
        })?;
        let written = file.metadata()?.len();
        let index_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(index_path(dir, base))?;
        // The last segment's index may lag its records: it is rebuilt.
        index_file.set_len(0)?;
        let mut active = Active {
            base,
            file: Arc::new(file),
            written,
            index,
            index_file,
            index_written: 0,
            last_entry,
        };
        active.write_index()?;
        Ok(Segments::with_active(dir, bases, active, next))
    }

    /// The offset the next record appended gets.
    pub(super) fn end_offset(&self) -> i64 {
        self.next
    }

    /// Appends a record (to the tail, written once it fills), rolling to a
    /// new segment first when the active one holds `segment_bytes`.
    pub(super) fn append(&mut self, record: &Record, segment_bytes: u64) -> Result<i64> {
        if self.active.written + self.tail.len() as u64 >= segment_bytes
            && self.next > self.active.base
        {
            self.roll()?;
        }
        let offset = self.next;
        let pos = self.active.written + self.tail.len() as u64;
        push_frame(&mut self.tail, |buf| encode_record(buf, offset, record))?;
        self.active.note(offset, pos);
        self.next += 1;
        self.dirty = true;
        if self.tail.len() >= WRITE_BUFFER {
            self.write_out()?;
        }
        Ok(offset)
    }

    /// Writes the tail (and new index entries) to the files, no fsync.
    pub(super) fn write_out(&mut self) -> Result<()> {
        if !self.tail.is_empty() {
            self.active
                .file
                .write_all_at(&self.tail, self.active.written)?;
            self.active.written += self.tail.len() as u64;
            self.tail.clear();
            self.tail_first = self.next;
        }
        self.active.write_index()
    }

    /// Drops the unwritten tail (the partition's files are going).
    pub(super) fn discard(&mut self) {
        self.tail = Vec::new();
        self.tail_first = self.next;
        self.dirty = false;
    }

    /// Writes out the tail and returns the file to fsync to make every
    /// record appended so far durable (older segments were synced when
    /// they were rolled).
    pub(super) fn write_out_for_sync(&mut self) -> Result<Arc<File>> {
        self.write_out()?;
        Ok(Arc::clone(&self.active.file))
    }

    /// Seals the active segment (written out and fsynced with its index)
    /// and starts a new one at the next offset.
    fn roll(&mut self) -> Result<()> {
        self.write_out()?;
        self.active.file.sync_data()?;
        self.active.index_file.sync_data()?;
        let fresh = Active::create(&self.dir, self.next)?;
        sync_dir(&self.dir)?;
        let old = std::mem::replace(&mut self.active, fresh);
        tracing::debug!(
            dir = %self.dir.display(),
            sealed = old.base,
            next = self.next,
            "rolled a log segment"
        );
        self.sealed.push(old.base);
        Ok(())
    }

    /// Up to `max` records from `offset` on, read from the segment files
    /// and the unwritten tail.
    pub(super) fn read(
        &self,
        partition: i32,
        offset: i64,
        max: usize,
    ) -> Result<Vec<StoredRecord>> {
        let mut out = Vec::new();
        if offset >= self.next || max == 0 {
            return Ok(out);
        }
        let mut reader = Reader {
            partition,
            want: offset,
            max,
            out: &mut out,
        };
        // The sealed segment holding `offset`, and every later one.
        let first = self
            .sealed
            .partition_point(|&b| b <= offset)
            .saturating_sub(1);
        if offset < self.active.base {
            for &base in &self.sealed[first..] {
                if reader.full() {
                    break;
                }
                reader.sealed(&self.dir, base)?;
            }
        }
        if !reader.full() && reader.want < self.tail_first {
            let what = || log_path(&self.dir, self.active.base).display().to_string();
            let start = self.active.seek(reader.want);
            reader.file(&self.active.file, start, self.active.written, &what)?;
        }
        if !reader.full() {
            let what = || format!("{}: unwritten tail", self.dir.display());
            reader.frames(&self.tail, &what)?;
        }
        Ok(out)
    }
}

/// A read in progress: the records found so far and the offset due next.
struct Reader<'a> {
    partition: i32,
    want: i64,
    max: usize,
    out: &'a mut Vec<StoredRecord>,
}

impl Reader<'_> {
    fn full(&self) -> bool {
        self.out.len() >= self.max
    }

    /// Reads from the sealed segment at `base`, seeking with its index.
    fn sealed(&mut self, dir: &Path, base: i64) -> Result<()> {
        let path = log_path(dir, base);
        let file = File::open(&path)?;
        let len = file.metadata()?.len();
        let start = match lookup(&index_path(dir, base), base, self.want) {
            Ok(Some(pos)) if pos < len => pos,
            Ok(_) => FIRST_FRAME,
            Err(e) => {
                tracing::warn!(segment = %path.display(), error = %e, "unreadable offset index");
                FIRST_FRAME
            }
        };
        let what = || path.display().to_string();
        let (had, want) = (self.out.len(), self.want);
        match self.file(&file, start, len, &what) {
            Err(e) if start != FIRST_FRAME => {
                // A stale or damaged index: read the segment from its start.
                tracing::warn!(segment = %path.display(), error = %e, "offset index entry does not match its segment");
                self.out.truncate(had);
                self.want = want;
                self.file(&file, FIRST_FRAME, len, &what)
            }
            done => done,
        }
    }

    /// Reads the frames of `file` from `pos` up to `limit`, a chunk at a
    /// time.
    fn file(
        &mut self,
        file: &File,
        mut pos: u64,
        limit: u64,
        what: &dyn Fn() -> String,
    ) -> Result<()> {
        let mut buf = Vec::new();
        while pos < limit && !self.full() {
            let chunk = usize::try_from(limit - pos)
                .unwrap_or(usize::MAX)
                .min(READ_CHUNK);
            buf.resize(chunk, 0);
            file.read_exact_at(&mut buf, pos)?;
            let mut used = self.frames(&buf, what)?;
            if used == 0 {
                // One frame longer than a chunk: read it whole.
                let len = frame_len(&buf)
                    .filter(|&n| pos + n as u64 <= limit)
                    .ok_or_else(|| Error::log(format!("{}: a frame is cut short", what())))?;
                buf.resize(len, 0);
                file.read_exact_at(&mut buf, pos)?;
                used = self.frames(&buf, what)?;
                if used == 0 {
                    return Err(Error::log(format!("{}: unreadable frame", what())));
                }
            }
            pos += used as u64;
        }
        Ok(())
    }

    /// Takes the records of the whole frames at the start of `bytes`;
    /// returns the bytes used.
    fn frames(&mut self, bytes: &[u8], what: &dyn Fn() -> String) -> Result<usize> {
        let mut used = 0;
        while !self.full() {
            let Some((payload, len)) = frame_at(&bytes[used..], what)? else {
                break;
            };
            let offset = record_offset(payload)
                .ok_or_else(|| Error::log(format!("{}: undecodable record", what())))?;
            if offset > self.want {
                return Err(Error::log(format!(
                    "{}: record at offset {offset} where {} was due",
                    what(),
                    self.want
                )));
            }
            if offset == self.want {
                let (_, record) = decode_record(payload)
                    .ok_or_else(|| Error::log(format!("{}: undecodable record", what())))?;
                self.out.push(StoredRecord {
                    partition: self.partition,
                    offset,
                    record,
                });
                self.want += 1;
            }
            used += len;
        }
        Ok(used)
    }
}

/// The position the index at `path` gives for `offset` in the segment at
/// `base` (a binary search by positioned reads); None before its first
/// entry or without an index.
fn lookup(path: &Path, base: i64, offset: i64) -> Result<Option<u64>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let entries = file.metadata()?.len() / INDEX_ENTRY;
    let entry = |i: u64| -> Result<(i64, u64)> {
        let mut bytes = [0u8; INDEX_ENTRY as usize];
        file.read_exact_at(&mut bytes, i * INDEX_ENTRY)?;
        let rel = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let pos = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        Ok((base + i64::from(rel), u64::from(pos)))
    };
    // The number of entries at or before `offset`.
    let (mut lo, mut hi) = (0, entries);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if entry(mid)?.0 <= offset {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    match lo {
        0 => Ok(None),
        n => Ok(Some(entry(n - 1)?.1)),
    }
}

/// The base offsets of the segments in `dir`, ascending (none when `dir`
/// does not exist).
fn list(dir: &Path) -> Result<Vec<i64>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut bases = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".log")) else {
            continue;
        };
        match stem.parse::<i64>() {
            Ok(base) if base >= 0 => bases.push(base),
            _ => {
                return Err(Error::log(format!(
                    "{}: {stem}.log is not a segment name",
                    dir.display()
                )))
            }
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Moves the one segment file of a partition in the old layout (`legacy`,
/// `<p>.log`) into the partition's directory as its first segment.
fn migrate(legacy: &Path, dir: &Path) -> Result<()> {
    fs::create_dir_all(dir)?;
    let first = log_path(dir, 0);
    if first.exists() {
        return Err(Error::log(format!(
            "{} and {} both hold the partition",
            legacy.display(),
            first.display()
        )));
    }
    fs::rename(legacy, &first)?;
    sync_dir(dir)?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    tracing::info!(from = %legacy.display(), to = %first.display(), "moved a partition to the segmented layout");
    Ok(())
}
