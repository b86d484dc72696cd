//! A partition on disk: a directory of segment files, each named by the
//! offset of its first record and paired with a sparse offset index; the
//! active (last) segment and its tail of frames not yet written; appending
//! and rolling; reads by positioned reads through the page cache, which
//! skip damaged byte ranges (resynchronizing on the next valid frame) or
//! take them from a mirrored partition's second copy; loading, which scans
//! the last segment only, cuts off its torn tail and reports damage before
//! it; and moving a partition of the old one-file layout into its first
//! segment.

use super::format::{
    decode_record, encode_record, frame_at, new_file, open_framed, payload, push_frame,
    record_offset, sync_dir, Frame, Window, COMPACTED_MAGIC, SEGMENT_MAGIC, WRITE_BUFFER,
};
use crate::error::{Error, Result};
use crate::log::{Record, StoredRecord};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes of segment between two entries of its index.
pub(super) const INDEX_INTERVAL: u64 = 4 * 1024;
/// An index entry: the `u32` offset relative to the segment's base and the
/// `u32` byte position of that record's frame.
pub(super) const INDEX_ENTRY: u64 = 8;
/// Where the first frame of a segment starts.
pub(super) const FIRST_FRAME: u64 = SEGMENT_MAGIC.len() as u64;

/// A damaged byte range of a segment, found when the partition was opened
/// (its last segment) or read (any segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The segment file.
    pub segment: PathBuf,
    /// The damaged bytes of the segment file.
    pub bytes: Range<u64>,
    /// The offsets of the records lost with them (gone from the partition:
    /// readers skip them); empty when the mirror copy had them.
    pub lost: Range<i64>,
    /// The records were read from the partition's mirror copy instead.
    pub repaired: bool,
}

/// Where a partition is: for the damage it reports.
#[derive(Clone)]
pub(super) struct Place {
    pub(super) topic: String,
    pub(super) partition: i32,
}

/// A partition's segments: the sealed ones (on disk only) and the active
/// one, whose unwritten tail and index are in memory.
pub(super) struct Segments {
    /// The partition's directory.
    pub(super) dir: PathBuf,
    pub(super) place: Place,
    /// Every segment has a byte-for-byte second copy (`<base>.mirror`).
    pub(super) mirrored: bool,
    /// The damage found so far, each reported once.
    damage: Mutex<Vec<Damage>>,
    /// Base offsets of the sealed segments, ascending.
    pub(super) sealed: Vec<i64>,
    pub(super) active: Active,
    /// The offset of the next record appended.
    next: i64,
    /// The partition's start offset: the base of its first segment (the
    /// records before it were deleted by retention).
    pub(super) start: i64,
    /// The newest record timestamp of sealed segments, by base, as far as
    /// known (filled when rolled, or by the cleaner reading the segment).
    pub(super) newest: BTreeMap<i64, Option<i64>>,
    /// A segment was sealed since the cleaner last ran.
    pub(super) rolled: bool,
    /// Frames appended but not yet written to the active segment's file.
    pub(super) tail: Vec<u8>,
    /// The offset of the first record in `tail` (`next` when it is empty).
    tail_first: i64,
    /// Appended to since the last fsync.
    pub(super) dirty: bool,
}

/// The segment appends go to.
pub(super) struct Active {
    pub(super) base: i64,
    file: Arc<File>,
    /// The second copy of a mirrored partition's segment.
    mirror: Option<Arc<File>>,
    /// Bytes of the file written (the tail goes after them).
    pub(super) written: u64,
    /// The newest timestamp of the records appended by this process (None
    /// when the segment was loaded: then the cleaner reads it).
    newest: Option<i64>,
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

/// The path of a segment's second copy (mirrored partitions only).
pub(super) fn mirror_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}.mirror"))
}

/// A segment's offset index's path.
pub(super) fn index_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}.index"))
}

/// A partition's position before a push (see `Segments::retract`).
pub(super) struct Mark {
    tail: usize,
    next: i64,
    index: usize,
    last_entry: u64,
    newest: Option<i64>,
    dirty: bool,
}

impl Active {
    /// Starts an empty segment at `base` (and its mirror copy).
    fn create(dir: &Path, base: i64, mirrored: bool) -> Result<Active> {
        let created = Active::create_files(dir, base, mirrored);
        if created.is_err() {
            // Nothing half-made is left for the next open to trip on.
            for path in [
                log_path(dir, base),
                mirror_path(dir, base),
                index_path(dir, base),
            ] {
                let _ = fs::remove_file(path);
            }
        }
        created
    }

    fn create_files(dir: &Path, base: i64, mirrored: bool) -> Result<Active> {
        let file = new_file(&log_path(dir, base), SEGMENT_MAGIC)?;
        let mirror = match mirrored {
            true => Some(Arc::new(new_file(&mirror_path(dir, base), SEGMENT_MAGIC)?)),
            false => None,
        };
        let index_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(index_path(dir, base))?;
        Ok(Active {
            base,
            file: Arc::new(file),
            mirror,
            written: FIRST_FRAME,
            newest: Some(i64::MIN),
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

    /// Where to start reading for `offset`: the position and offset of the
    /// latest index entry at or before it.
    fn seek(&self, offset: i64) -> (u64, i64) {
        let n = self
            .index
            .partition_point(|&(rel, _)| self.base + i64::from(rel) <= offset);
        match n {
            0 => (FIRST_FRAME, self.base),
            n => {
                let (rel, pos) = self.index[n - 1];
                (u64::from(pos), self.base + i64::from(rel))
            }
        }
    }
}

impl Segments {
    /// A new, empty partition in `dir` (created here); `mirrored` keeps a
    /// second copy of every segment.
    pub(super) fn create(dir: &Path, place: Place, mirrored: bool) -> Result<Segments> {
        fs::create_dir(dir)?;
        let active = Active::create(dir, 0, mirrored)?;
        sync_dir(dir)?;
        Ok(Segments::with_active(
            dir,
            place,
            mirrored,
            Vec::new(),
            active,
            0,
        ))
    }

    fn with_active(
        dir: &Path,
        place: Place,
        mirrored: bool,
        sealed: Vec<i64>,
        active: Active,
        next: i64,
    ) -> Segments {
        let start = sealed.first().copied().unwrap_or(active.base);
        Segments {
            dir: dir.to_path_buf(),
            place,
            mirrored,
            damage: Mutex::new(Vec::new()),
            sealed,
            active,
            next,
            start,
            newest: BTreeMap::new(),
            rolled: false,
            tail: Vec::new(),
            tail_first: next,
            dirty: false,
        }
    }

    /// Opens the partition in `dir`: lists its segments and scans the last
    /// one only, rebuilding its index. A bad frame with nothing valid after
    /// it is a torn write and is cut off; one followed by valid frames is
    /// damage: it is reported and skipped, and nothing after it is removed.
    /// A mirrored partition takes a frame damaged in one copy from the
    /// other, and repairs the copy. A partition of the old layout
    /// (`<p>.log` beside `dir`) is first moved into `dir` as its first
    /// segment.
    pub(super) fn load(
        dir: &Path,
        legacy: &Path,
        place: Place,
        mirrored: bool,
    ) -> Result<Segments> {
        if legacy.exists() {
            migrate(legacy, dir)?;
        }
        remove_cleaned(dir)?;
        let mut bases = list(dir)?;
        drop_unfinished_last(dir, &mut bases)?;
        if mirrored {
            for &base in &bases {
                make_mirror(dir, base)?;
            }
        }
        let Some(base) = bases.pop() else {
            // Created but never given its first segment.
            fs::create_dir_all(dir)?;
            let active = Active::create(dir, 0, mirrored)?;
            sync_dir(dir)?;
            return Ok(Segments::with_active(
                dir, place, mirrored, bases, active, 0,
            ));
        };
        let loaded = load_active(dir, base, &place, mirrored)?;
        let index_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(index_path(dir, base))?;
        // The last segment's index may lag its records: it is rebuilt (and
        // written out later if the disk refuses it now).
        index_file.set_len(0)?;
        let mut active = Active {
            base,
            file: Arc::new(loaded.file),
            mirror: loaded.mirror.map(Arc::new),
            written: loaded.written,
            newest: None,
            index: loaded.index,
            index_file,
            index_written: 0,
            last_entry: loaded.last_entry,
        };
        if let Err(e) = active.write_index() {
            tracing::warn!(dir = %dir.display(), error = %e, "could not write a segment index yet");
        }
        let segments = Segments::with_active(dir, place, mirrored, bases, active, loaded.next);
        *segments.damage.lock() = loaded.damage;
        Ok(segments)
    }

    /// The damage found in this partition so far.
    pub(super) fn damage(&self) -> Vec<Damage> {
        self.damage.lock().clone()
    }

    /// Records `damage` and reports it (loudly when records were lost),
    /// once per damaged range.
    fn report(&self, damage: Damage) {
        let mut known = self.damage.lock();
        if known
            .iter()
            .any(|d| d.segment == damage.segment && d.bytes.start == damage.bytes.start)
        {
            return;
        }
        log_damage(&damage);
        known.push(damage);
    }

    /// The offset the next record appended gets.
    pub(super) fn end_offset(&self) -> i64 {
        self.next
    }

    /// Readies the partition for one more record: rolls a full segment and
    /// writes out a full tail (a failure leaves everything appended so far
    /// in place, to be written by a later call).
    pub(super) fn make_room(&mut self, segment_bytes: u64) -> Result<()> {
        if self.active.written + self.tail.len() as u64 >= segment_bytes
            && self.next > self.active.base
        {
            self.roll()?;
        }
        if self.tail.len() >= WRITE_BUFFER {
            self.write_out()?;
        }
        Ok(())
    }

    /// Adds a record to the tail.
    pub(super) fn push(&mut self, record: &Record) -> Result<i64> {
        let offset = self.next;
        let pos = self.active.written + self.tail.len() as u64;
        push_frame(&mut self.tail, |buf| encode_record(buf, offset, record))?;
        self.active.note(offset, pos);
        if let Some(newest) = &mut self.active.newest {
            *newest = (*newest).max(record.timestamp);
        }
        self.next += 1;
        self.dirty = true;
        Ok(offset)
    }

    /// Where the partition stands before a `push`, to `retract` to.
    pub(super) fn mark(&self) -> Mark {
        Mark {
            tail: self.tail.len(),
            next: self.next,
            index: self.active.index.len(),
            last_entry: self.active.last_entry,
            newest: self.active.newest,
            dirty: self.dirty,
        }
    }

    /// Takes back the records pushed since `mark` (none of them written
    /// out: a failed `write_out` leaves the tail as it was).
    pub(super) fn retract(&mut self, mark: Mark) {
        self.tail.truncate(mark.tail);
        self.next = mark.next;
        self.active.index.truncate(mark.index);
        self.active.index_written = self.active.index_written.min(mark.index);
        self.active.last_entry = mark.last_entry;
        self.active.newest = mark.newest;
        self.dirty = mark.dirty;
    }

    /// Writes the tail (and new index entries) to the files, and to the
    /// mirror copy at the same position; no fsync. A failed write keeps
    /// the tail, to be written again from the same position (over any
    /// part of it that reached the file).
    pub(super) fn write_out(&mut self) -> Result<()> {
        if !self.tail.is_empty() {
            self.active
                .file
                .write_all_at(&self.tail, self.active.written)?;
            if let Some(mirror) = &self.active.mirror {
                mirror.write_all_at(&self.tail, self.active.written)?;
            }
            self.active.written += self.tail.len() as u64;
            self.tail.clear();
            self.tail_first = self.next;
        }
        // The active segment's index is rebuilt on open: one that lags is
        // written by a later call (and before the segment is sealed).
        if let Err(e) = self.active.write_index() {
            tracing::debug!(dir = %self.dir.display(), error = %e, "could not write a segment index yet");
        }
        Ok(())
    }

    /// Drops the unwritten tail (the partition's files are going).
    pub(super) fn discard(&mut self) {
        self.tail = Vec::new();
        self.tail_first = self.next;
        self.dirty = false;
    }

    /// Writes out the tail and returns the files to fsync to make every
    /// record appended so far durable (older segments were synced when
    /// they were rolled).
    pub(super) fn write_out_for_sync(&mut self) -> Result<Vec<Arc<File>>> {
        self.write_out()?;
        let mut files = vec![Arc::clone(&self.active.file)];
        files.extend(self.active.mirror.iter().cloned());
        Ok(files)
    }

    /// Seals the active segment (written out and fsynced with its index)
    /// and starts a new one at the next offset.
    fn roll(&mut self) -> Result<()> {
        self.write_out()?;
        self.active.write_index()?;
        self.active.file.sync_data()?;
        if let Some(mirror) = &self.active.mirror {
            mirror.sync_data()?;
        }
        self.active.index_file.sync_data()?;
        let fresh = Active::create(&self.dir, self.next, self.mirrored)?;
        sync_dir(&self.dir)?;
        let old = std::mem::replace(&mut self.active, fresh);
        tracing::debug!(
            dir = %self.dir.display(),
            sealed = old.base,
            next = self.next,
            "rolled a log segment"
        );
        self.sealed.push(old.base);
        if let Some(t) = old.newest {
            // i64::MIN: the segment got no record.
            self.newest.insert(old.base, (t > i64::MIN).then_some(t));
        }
        self.rolled = true;
        Ok(())
    }

    /// Up to `max` records from `offset` on, read from the segment files
    /// and the unwritten tail. Records lost to damage are skipped (the
    /// damage is reported the first time a read meets it).
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
            segments: self,
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
            for (i, &base) in self.sealed.iter().enumerate().skip(first) {
                if reader.full() {
                    break;
                }
                let end = self.sealed.get(i + 1).copied().unwrap_or(self.active.base);
                if reader.want < end {
                    reader.sealed(base, end)?;
                }
            }
        }
        if !reader.full() && reader.want < self.tail_first {
            let (start, first) = self.active.seek(reader.want);
            let file = Source {
                path: log_path(&self.dir, self.active.base),
                file: &self.active.file,
                mirror: self.active.mirror.as_deref(),
                limit: self.active.written,
                end: self.tail_first,
                gaps: false,
            };
            reader.file(&file, start, first)?;
        }
        if !reader.full() {
            let what = || format!("{}: unwritten tail", self.dir.display());
            reader.frames(&self.tail, &what)?;
        }
        Ok(out)
    }
}

/// What `load_active` found in a partition's last segment.
struct Loaded {
    file: File,
    mirror: Option<File>,
    written: u64,
    next: i64,
    index: Vec<(u32, u32)>,
    last_entry: u64,
    damage: Vec<Damage>,
}

/// Scans the last segment (at `base`) of the partition in `dir`: checks
/// every frame (against the mirror copy too), repairs a copy from the
/// other, skips and reports damage, cuts off a torn tail, and builds the
/// segment's index.
fn load_active(dir: &Path, base: i64, place: &Place, mirrored: bool) -> Result<Loaded> {
    let path = log_path(dir, base);
    let (file, magic_ok) = open_framed(&path, SEGMENT_MAGIC)?;
    let mirror = match mirrored {
        true => Some(open_framed(&mirror_path(dir, base), SEGMENT_MAGIC)?),
        false => None,
    };
    match (&mirror, magic_ok) {
        (_, true) => {}
        (Some((_, true)), false) => {
            tracing::warn!(segment = %path.display(), "damaged segment magic: repaired from its mirror copy");
            file.write_all_at(SEGMENT_MAGIC, 0)?;
        }
        _ => {
            return Err(Error::log(format!(
                "{}: not a Sluice log file",
                path.display()
            )))
        }
    }
    if let Some((m, false)) = &mirror {
        m.write_all_at(SEGMENT_MAGIC, 0)?;
    }
    let mirror = mirror.map(|(m, _)| m);
    let len = file.metadata()?.len();
    let mirror_len = match &mirror {
        Some(m) => m.metadata()?.len(),
        None => 0,
    };

    let mut next = base;
    let mut index = Vec::new();
    let mut last_entry = FIRST_FRAME;
    let mut damage = Vec::new();
    // (position, frame bytes, into the primary copy?): repairs of one copy
    // from the other, made once the scan is done.
    let mut repairs: Vec<(u64, Vec<u8>, bool)> = Vec::new();
    let mut pos = FIRST_FRAME;
    {
        let mut primary = Window::new(&file, len);
        let mut second = mirror.as_ref().map(|m| Window::new(m, mirror_len));
        loop {
            let due = next;
            let accept = move |p: &[u8]| record_offset(p) == Some(due);
            let mine = primary.frame(pos, accept)?;
            let other = match second.as_mut() {
                Some(w) => Some(w.frame(pos, accept)?),
                None => None,
            };
            let frame_len = match (mine, other) {
                (Frame::Valid(frame), other) => {
                    let same = match &other {
                        Some(Frame::Valid(copy)) => *copy == frame,
                        Some(_) => false,
                        None => true,
                    };
                    if !same {
                        repairs.push((pos, frame.to_vec(), false));
                    }
                    frame.len() as u64
                }
                (mine, Some(Frame::Valid(frame))) => {
                    if matches!(mine, Frame::Bad) {
                        tracing::warn!(
                            topic = %place.topic, partition = place.partition, segment = %path.display(),
                            bytes = ?(pos..pos + frame.len() as u64),
                            "damaged log frame: repaired from the mirror copy"
                        );
                    }
                    repairs.push((pos, frame.to_vec(), true));
                    frame.len() as u64
                }
                (Frame::End, _) => break,
                (Frame::Bad, _) => {
                    let resumed =
                        primary.resync(pos, move |p| record_offset(p).is_some_and(|o| o >= due))?;
                    let Some(at) = resumed else {
                        tracing::warn!(
                            topic = %place.topic, partition = place.partition, segment = %path.display(),
                            bytes = ?(pos..len), next_offset = next,
                            "torn write at the end of the log: cut off"
                        );
                        break;
                    };
                    let offset = offset_at(&mut primary, at)?;
                    let d = Damage {
                        topic: place.topic.clone(),
                        partition: place.partition,
                        segment: path.clone(),
                        bytes: pos..at,
                        lost: next..offset,
                        repaired: false,
                    };
                    log_damage(&d);
                    damage.push(d);
                    pos = at;
                    next = offset;
                    continue;
                }
            };
            if pos - last_entry >= INDEX_INTERVAL {
                if let (Ok(rel), Ok(at)) = (u32::try_from(next - base), u32::try_from(pos)) {
                    index.push((rel, at));
                    last_entry = pos;
                }
            }
            pos += frame_len;
            next += 1;
        }
    }
    for (at, frame, into_primary) in &repairs {
        match (into_primary, &mirror) {
            (true, _) => file.write_all_at(frame, *at)?,
            (false, Some(m)) => m.write_all_at(frame, *at)?,
            (false, None) => {}
        }
    }
    let mut changed = !repairs.is_empty();
    for copy in std::iter::once(&file).chain(mirror.as_ref()) {
        if copy.metadata()?.len() != pos {
            copy.set_len(pos)?;
            changed = true;
        }
    }
    if changed {
        for copy in std::iter::once(&file).chain(mirror.as_ref()) {
            copy.sync_all()?;
        }
    }
    Ok(Loaded {
        file,
        mirror,
        written: pos,
        next,
        index,
        last_entry,
        damage,
    })
}

/// The offset of the record in the valid frame at `pos`.
fn offset_at(window: &mut Window<'_>, pos: u64) -> Result<i64> {
    match window.frame(pos, |_| true)? {
        Frame::Valid(frame) => record_offset(payload(frame)),
        _ => None,
    }
    .ok_or_else(|| Error::log("a resynchronized frame went away"))
}

/// Reports damage: an error when records were lost, a warning when the
/// mirror copy had them.
fn log_damage(d: &Damage) {
    if d.repaired {
        tracing::warn!(
            topic = %d.topic, partition = d.partition, segment = %d.segment.display(),
            bytes = ?d.bytes,
            "damaged log frame: read from the mirror copy"
        );
    } else {
        tracing::error!(
            topic = %d.topic, partition = d.partition, segment = %d.segment.display(),
            bytes = ?d.bytes, last_good_offset = d.lost.start - 1, resumes_at_offset = d.lost.end,
            lost_records = d.lost.end - d.lost.start,
            "DAMAGED LOG: bytes of a segment fail their checks; the records there are lost and skipped"
        );
    }
}

/// Gives a segment of a mirrored partition its mirror copy if it has none
/// (a partition mirrored since this version).
fn make_mirror(dir: &Path, base: i64) -> Result<()> {
    let mirror = mirror_path(dir, base);
    if mirror.exists() {
        return Ok(());
    }
    let tmp = dir.join(format!("{base:020}.mirror.tmp"));
    fs::copy(log_path(dir, base), &tmp)?;
    File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, &mirror)?;
    sync_dir(dir)?;
    Ok(())
}

/// A segment file being read.
struct Source<'a> {
    path: PathBuf,
    file: &'a File,
    mirror: Option<&'a File>,
    /// Bytes of the file to read.
    limit: u64,
    /// The offset after the segment's last record.
    end: i64,
    /// The segment was compacted: its offsets ascend but may skip.
    gaps: bool,
}

/// A read in progress: the records found so far and the offset due next.
pub(super) struct Reader<'a> {
    pub(super) segments: &'a Segments,
    pub(super) partition: i32,
    pub(super) want: i64,
    pub(super) max: usize,
    pub(super) out: &'a mut Vec<StoredRecord>,
}

impl Reader<'_> {
    fn full(&self) -> bool {
        self.out.len() >= self.max
    }

    /// Reads from the sealed segment at `base` (records up to `end`),
    /// seeking with its index when an entry checks out.
    pub(super) fn sealed(&mut self, base: i64, end: i64) -> Result<()> {
        let dir = &self.segments.dir;
        let path = log_path(dir, base);
        let file = File::open(&path)?;
        let limit = file.metadata()?.len();
        let mut magic = [0u8; 8];
        let gaps = file.read_exact_at(&mut magic, 0).is_ok() && &magic == COMPACTED_MAGIC;
        let mirror = match self.segments.mirrored {
            true => match File::open(mirror_path(dir, base)) {
                Ok(m) => Some(m),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e.into()),
            },
            false => None,
        };
        let (start, first) = match lookup(&index_path(dir, base), base, self.want) {
            Ok(Some((offset, pos))) => {
                // An entry is used only if it points at its record's frame.
                let mut window = Window::new(&file, limit);
                match window.frame(pos, |p| record_offset(p) == Some(offset))? {
                    Frame::Valid(_) => (pos, offset),
                    _ => {
                        tracing::warn!(segment = %path.display(), "offset index entry does not match its segment");
                        (FIRST_FRAME, base)
                    }
                }
            }
            Ok(None) => (FIRST_FRAME, base),
            Err(e) => {
                tracing::warn!(segment = %path.display(), error = %e, "unreadable offset index");
                (FIRST_FRAME, base)
            }
        };
        let source = Source {
            path,
            file: &file,
            mirror: mirror.as_ref(),
            limit,
            end,
            gaps,
        };
        self.file(&source, start, first)
    }

    /// Reads the frames of `source` from `pos`, where the frame of offset
    /// `expect` starts. A frame that fails its checks is taken from the
    /// mirror copy if that has it; otherwise the damage is reported and
    /// reading resumes at the next valid frame of a later offset.
    fn file(&mut self, source: &Source<'_>, mut pos: u64, mut expect: i64) -> Result<()> {
        let mut primary = Window::new(source.file, source.limit);
        let mut second = match source.mirror {
            Some(m) => Some(Window::new(m, m.metadata()?.len().min(source.limit))),
            None => None,
        };
        let end = source.end;
        let gaps = source.gaps;
        while pos < source.limit && expect < end && !self.full() {
            let due = expect;
            let accept = move |p: &[u8]| {
                record_offset(p).is_some_and(|o| o == due || (gaps && o > due && o < end))
            };
            if let Frame::Valid(frame) = primary.frame(pos, accept)? {
                let got = record_offset(payload(frame)).unwrap_or(due);
                self.take(payload(frame), &|| source.path.display().to_string())?;
                pos += frame.len() as u64;
                expect = got + 1;
                continue;
            }
            if let Some(w) = second.as_mut() {
                if let Frame::Valid(frame) = w.frame(pos, accept)? {
                    let len = frame.len() as u64;
                    self.take(payload(frame), &|| source.path.display().to_string())?;
                    self.report(source, pos..pos + len, due..due, true);
                    pos += len;
                    expect += 1;
                    continue;
                }
            }
            let resumed = primary.resync(pos, move |p| {
                record_offset(p).is_some_and(|o| o >= due && o < end)
            })?;
            let (at, offset) = match resumed {
                Some(at) => (at, offset_at(&mut primary, at)?),
                None => (source.limit, end),
            };
            self.report(source, pos..at, due..offset, false);
            pos = at;
            expect = offset;
        }
        Ok(())
    }

    fn report(&self, source: &Source<'_>, bytes: Range<u64>, lost: Range<i64>, repaired: bool) {
        self.segments.report(Damage {
            topic: self.segments.place.topic.clone(),
            partition: self.segments.place.partition,
            segment: source.path.clone(),
            bytes,
            lost,
            repaired,
        });
    }

    /// Takes the record of `payload` if it is at or past the offset due
    /// (offsets lost to damage are skipped).
    fn take(&mut self, payload: &[u8], what: &dyn Fn() -> String) -> Result<()> {
        let (offset, record) = decode_record(payload)
            .ok_or_else(|| Error::log(format!("{}: undecodable record", what())))?;
        if offset >= self.want {
            self.out.push(StoredRecord {
                partition: self.partition,
                offset,
                record,
            });
            self.want = offset + 1;
        }
        Ok(())
    }

    /// Takes the records of the whole frames of `bytes` (the unwritten
    /// tail, which is in memory and cannot be damaged).
    fn frames(&mut self, bytes: &[u8], what: &dyn Fn() -> String) -> Result<()> {
        let mut used = 0;
        while !self.full() {
            let Some((payload, len)) = frame_at(&bytes[used..], what)? else {
                break;
            };
            self.take(payload, what)?;
            used += len;
        }
        Ok(())
    }
}

/// The offset and position of the entry the index at `path` gives for
/// `offset` in the segment at `base` (a binary search by positioned
/// reads); None before its first entry or without an index.
fn lookup(path: &Path, base: i64, offset: i64) -> Result<Option<(i64, u64)>> {
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
        n => Ok(Some(entry(n - 1)?)),
    }
}

/// Removes a last segment whose creation was cut short (shorter than its
/// magic bytes: a roll interrupted by a crash or a full disk), so the one
/// before it is the active segment again.
fn drop_unfinished_last(dir: &Path, bases: &mut Vec<i64>) -> Result<()> {
    let [.., _, last] = bases[..] else {
        return Ok(());
    };
    let len = fs::metadata(log_path(dir, last))?.len();
    if len >= SEGMENT_MAGIC.len() as u64 {
        return Ok(());
    }
    for path in [
        log_path(dir, last),
        mirror_path(dir, last),
        index_path(dir, last),
    ] {
        if let Err(e) = fs::remove_file(&path) {
            if e.kind() != ErrorKind::NotFound {
                return Err(e.into());
            }
        }
    }
    tracing::warn!(dir = %dir.display(), segment = last, "removed a segment whose creation was cut short");
    bases.pop();
    Ok(())
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

/// Removes what an interrupted compaction left in `dir`: the `.cleaned`
/// files it was writing (the segment they were to replace is whole).
fn remove_cleaned(dir: &Path) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(".cleaned"))
        {
            tracing::warn!(file = %entry.path().display(), "removed the remains of an interrupted compaction");
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
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
