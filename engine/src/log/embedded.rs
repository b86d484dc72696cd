//! The embedded Log: Kafka-shaped topics kept in memory and, unless the log
//! is in-memory only, in append-only, CRC-checked segment files.
//!
//! Layout of a data directory:
//!
//! ```text
//! dir/topics/<encoded name>/meta.json   the topic: name, partitions, replicas, compact
//! dir/topics/<encoded name>/<p>.log     one segment per partition
//! dir/offsets.log                       consumer-group commits, last one wins
//! dir/trash/                            topics being deleted (emptied on open)
//! ```
//!
//! A topic's directory name is its name percent-encoded (only ASCII letters,
//! digits, `_` and `-` are kept); a name whose encoding would be too long
//! for a file name is cut and suffixed with `~` and a hash. The real name
//! is the one in `meta.json`, which is written last: a topic directory
//! without it is the remains of an interrupted create and is removed.
//!
//! Segment and offsets files start with an 8-byte magic, followed by
//! frames: a little-endian `u32` payload length, a little-endian `u32`
//! CRC32 of the payload, and the payload. A record payload is the `i64`
//! offset, the `i64` timestamp, the key and the value (each an `i32` length,
//! -1 for null, then the bytes), a `u32` header count and, per header, the
//! name (`u32` length, UTF-8) and the value (as the key). An offsets payload
//! is a kind byte: 0 for a commit (group, topic, `i32` partition, `i64`
//! offset) or 1 for a deleted topic (topic), strings being a `u32` length
//! and UTF-8. All integers are little-endian.
//!
//! On open every segment is scanned into memory (reads never touch the
//! disk); a frame that is cut short or fails its CRC ends the file, which is
//! truncated there: that is what a crash in the middle of a write leaves.
//!
//! Appends and commits go through a buffered writer and are not synced one
//! by one: they are written to the file when the buffer fills, when the log
//! is dropped, or on `flush`, which also fsyncs them. One process at a time
//! may open a data directory.

use super::{partition_for_key, Header, Log, Record, StoredRecord, TopicConfig, TopicInfo};
use crate::error::{Error, Result};
use parking_lot::{Condvar, Mutex, RwLock};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// First bytes of a partition segment file.
const SEGMENT_MAGIC: &[u8; 8] = b"SLUSEG\x00\x01";
/// First bytes of the consumer-group offsets file.
const OFFSETS_MAGIC: &[u8; 8] = b"SLUOFS\x00\x01";
/// Length and CRC in front of every frame payload.
const FRAME_HEADER: usize = 8;
/// Size of the write buffer of every segment and of the offsets file.
const WRITE_BUFFER: usize = 64 * 1024;
/// Bytes of a topic name kept as they are in its directory name.
const NAME_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'-');
/// Longest directory name made for a topic.
const MAX_DIR_NAME: usize = 200;
/// Offsets-file frames below which the file is never rewritten on open.
const OFFSETS_COMPACT_MIN: usize = 1024;

const OFFSETS_COMMIT: u8 = 0;
const OFFSETS_DELETE_TOPIC: u8 = 1;

/// The default Log: topics of partitions held in memory and, when opened on
/// a directory, persisted in append-only segment files (see the module
/// documentation for the format). Shared between threads; each partition
/// has its own lock, so work on one does not wait for another.
pub struct EmbeddedLog {
    /// The data directory; None for an in-memory log.
    dir: Option<PathBuf>,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Serializes topic creation and deletion, which do file work outside
    /// the `topics` lock.
    ddl: Mutex<()>,
    offsets: Mutex<OffsetStore>,
    /// Every append: `seq` grows by one for each.
    appends: Appends,
    /// Makes names in `trash/` unique.
    trash_seq: AtomicU64,
}

/// One topic: its settings and its partitions.
struct Topic {
    info: TopicInfo,
    partitions: Vec<Partition>,
    /// Appends to this topic: `seq` is the log's `append_seq` after the
    /// latest, so waiting for a topic wakes only for its own appends.
    appends: Appends,
}

/// A sequence of appends and the threads waiting for it to grow.
#[derive(Default)]
struct Appends {
    seq: AtomicU64,
    /// Threads inside `wait`; appends only notify when non-zero.
    waiters: AtomicUsize,
    wake_lock: Mutex<()>,
    wake: Condvar,
}

impl Appends {
    /// Wakes the threads waiting (after `seq` grew).
    fn notify(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            // Taking the lock orders this with a waiter that has checked the
            // sequence but not yet gone to sleep.
            drop(self.wake_lock.lock());
            self.wake.notify_all();
        }
    }

    /// Blocks until `seq` exceeds `seen`, or `timeout` passes; returns it.
    fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let current = self.seq.load(Ordering::SeqCst);
        if current > seen || timeout.is_zero() {
            return current;
        }
        // None: a timeout too long to represent, so no deadline.
        let deadline = Instant::now().checked_add(timeout);
        let mut guard = self.wake_lock.lock();
        self.waiters.fetch_add(1, Ordering::SeqCst);
        while self.seq.load(Ordering::SeqCst) <= seen {
            match deadline {
                Some(deadline) => {
                    if self.wake.wait_until(&mut guard, deadline).timed_out() {
                        break;
                    }
                }
                None => self.wake.wait(&mut guard),
            }
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        self.seq.load(Ordering::SeqCst)
    }
}

/// One partition: its records behind a lock, plus a handle on its segment
/// file to fsync without holding that lock.
struct Partition {
    state: RwLock<PartitionState>,
    sync_file: Option<File>,
}

/// What the partition lock protects.
struct PartitionState {
    /// Every record; a record's offset is its index.
    records: Vec<Record>,
    /// The segment, None in memory or once closed.
    writer: Option<BufWriter<File>>,
    /// Reused buffer for encoding a frame.
    scratch: Vec<u8>,
    /// Appended to since the last flush.
    dirty: bool,
    /// Why appends are refused (topic deleted, earlier write failed).
    closed: Option<String>,
}

/// Committed offsets: group -> topic -> partition -> next offset.
type Committed = HashMap<String, HashMap<String, HashMap<i32, i64>>>;

/// The consumer groups' committed offsets and their file.
struct OffsetStore {
    committed: Committed,
    writer: Option<BufWriter<File>>,
    sync_file: Option<File>,
    scratch: Vec<u8>,
    dirty: bool,
    /// Why commits are refused (an earlier write failed).
    broken: Option<String>,
}

/// `meta.json` of a topic.
#[derive(Serialize, Deserialize)]
struct TopicMeta {
    name: String,
    partitions: i32,
    replicas: i16,
    compact: bool,
}

impl EmbeddedLog {
    /// Opens (creating it if needed) a log stored in `dir`, loading every
    /// topic, record and committed offset kept there. A torn or corrupt
    /// tail of a file is cut off; other damage is an error.
    pub fn open(dir: impl AsRef<Path>) -> Result<EmbeddedLog> {
        let dir = dir.as_ref().to_path_buf();
        let topics_dir = dir.join("topics");
        fs::create_dir_all(&topics_dir)?;
        let trash = dir.join("trash");
        if trash.exists() {
            fs::remove_dir_all(&trash)?;
        }

        let mut topics = BTreeMap::new();
        for entry in fs::read_dir(&topics_dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let path = entry.path();
            let meta_path = path.join("meta.json");
            if !meta_path.exists() {
                // A create that did not finish.
                fs::remove_dir_all(&path)?;
                continue;
            }
            let meta: TopicMeta = serde_json::from_slice(&fs::read(&meta_path)?)?;
            let topic = Topic::load(&path, meta)?;
            topics.insert(topic.info.name.clone(), Arc::new(topic));
        }

        let offsets = OffsetStore::load(&dir, &topics)?;
        Ok(EmbeddedLog {
            dir: Some(dir),
            topics: RwLock::new(topics),
            ddl: Mutex::new(()),
            offsets: Mutex::new(offsets),
            appends: Appends::default(),
            trash_seq: AtomicU64::new(0),
        })
    }

    /// A log that lives in memory only and is gone when dropped.
    pub fn in_memory() -> EmbeddedLog {
        EmbeddedLog {
            dir: None,
            topics: RwLock::new(BTreeMap::new()),
            ddl: Mutex::new(()),
            offsets: Mutex::new(OffsetStore::empty()),
            appends: Appends::default(),
            trash_seq: AtomicU64::new(0),
        }
    }

    /// The data directory, None for an in-memory log.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.topics
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| missing_topic(name))
    }

    /// Counts an append to `topic` and wakes the threads waiting for one
    /// there or anywhere.
    fn bump(&self, topic: &Topic) {
        let seq = self.appends.seq.fetch_add(1, Ordering::SeqCst) + 1;
        topic.appends.seq.fetch_max(seq, Ordering::SeqCst);
        topic.appends.notify();
        self.appends.notify();
    }

    fn create_on_disk(&self, dir: &Path, name: &str, config: &TopicConfig) -> Result<Topic> {
        let topics_dir = dir.join("topics");
        let path = topics_dir.join(dir_name(name));
        if path.exists() {
            return Err(Error::log(format!(
                "cannot create topic '{name}': directory {} is in use",
                path.display()
            )));
        }
        fs::create_dir(&path)?;
        let mut partitions = Vec::with_capacity(config.partitions as usize);
        for p in 0..config.partitions {
            let file = new_file(&segment_path(&path, p), SEGMENT_MAGIC)?;
            partitions.push(Partition::with_file(Vec::new(), file)?);
        }
        let meta = TopicMeta {
            name: name.to_string(),
            partitions: config.partitions,
            replicas: config.replicas,
            compact: config.compact,
        };
        let tmp = path.join("meta.json.tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(&meta)?)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, path.join("meta.json"))?;
        sync_dir(&path)?;
        sync_dir(&topics_dir)?;
        Ok(Topic {
            info: meta.into_info(),
            partitions,
            appends: Appends::default(),
        })
    }

    fn delete_on_disk(&self, dir: &Path, name: &str) -> Result<()> {
        let topics_dir = dir.join("topics");
        let enc = dir_name(name);
        let trash = dir.join("trash");
        fs::create_dir_all(&trash)?;
        let doomed = trash.join(format!(
            "{enc}.{}",
            self.trash_seq.fetch_add(1, Ordering::Relaxed)
        ));
        fs::rename(topics_dir.join(&enc), &doomed)?;
        sync_dir(&topics_dir)?;
        fs::remove_dir_all(&doomed)?;
        Ok(())
    }
}

impl fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedLog")
            .field("dir", &self.dir)
            .field("topics", &self.topics.read().len())
            .field("append_seq", &self.appends.seq.load(Ordering::SeqCst))
            .finish()
    }
}

impl Log for EmbeddedLog {
    fn create_topic(&self, name: &str, config: &TopicConfig) -> Result<()> {
        if name.is_empty() {
            return Err(Error::log("a topic name cannot be empty"));
        }
        if config.partitions < 1 {
            return Err(Error::log(format!(
                "topic '{name}' needs at least one partition, not {}",
                config.partitions
            )));
        }
        let _ddl = self.ddl.lock();
        if self.topics.read().contains_key(name) {
            return Err(Error::log(format!("topic '{name}' already exists")));
        }
        let topic = match &self.dir {
            Some(dir) => self.create_on_disk(dir, name, config)?,
            None => Topic {
                info: TopicInfo {
                    name: name.to_string(),
                    partitions: config.partitions,
                    replicas: config.replicas,
                    compact: config.compact,
                },
                partitions: (0..config.partitions)
                    .map(|_| Partition::in_memory())
                    .collect(),
                appends: Appends::default(),
            },
        };
        self.topics
            .write()
            .insert(name.to_string(), Arc::new(topic));
        Ok(())
    }

    fn describe_topic(&self, name: &str) -> Result<Option<TopicInfo>> {
        Ok(self.topics.read().get(name).map(|t| t.info.clone()))
    }

    fn list_topics(&self) -> Result<Vec<TopicInfo>> {
        Ok(self
            .topics
            .read()
            .values()
            .map(|t| t.info.clone())
            .collect())
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let _ddl = self.ddl.lock();
        let topic = self
            .topics
            .write()
            .remove(name)
            .ok_or_else(|| missing_topic(name))?;
        for partition in &topic.partitions {
            let mut state = partition.state.write();
            state.closed = Some(format!("topic '{name}' was deleted"));
            if let Some(writer) = state.writer.take() {
                // The file is about to go: drop what is buffered unwritten.
                let _ = writer.into_parts();
            }
            state.records = Vec::new();
            state.dirty = false;
        }
        if let Some(dir) = &self.dir {
            self.delete_on_disk(dir, name)?;
        }
        // After the files: offsets of a topic missing on open are dropped.
        self.offsets.lock().delete_topic(name)
    }

    fn append(&self, topic: &str, partition: Option<i32>, record: Record) -> Result<(i32, i64)> {
        // The topic is used under the map's read lock rather than through a
        // clone of its Arc (two atomic operations fewer per record). Lock
        // order is topics, then partition, as in `commit`.
        let topics = self.topics.read();
        let t = topics.get(topic).ok_or_else(|| missing_topic(topic))?;
        let p = match partition {
            Some(p) => p,
            None => match &record.key {
                Some(key) => partition_for_key(key, t.info.partitions),
                None => 0,
            },
        };
        let offset = t.partition(p)?.append(record)?;
        self.bump(t);
        drop(topics);
        Ok((p, offset))
    }

    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max: usize,
    ) -> Result<Vec<StoredRecord>> {
        if offset < 0 {
            return Err(Error::log(format!(
                "cannot read {topic}/{partition} from negative offset {offset}"
            )));
        }
        let topics = self.topics.read();
        let t = topics.get(topic).ok_or_else(|| missing_topic(topic))?;
        let state = t.partition(partition)?.state.read();
        let len = state.records.len();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(len);
        let end = start.saturating_add(max).min(len);
        Ok(state.records[start..end]
            .iter()
            .zip(start..)
            .map(|(record, i)| StoredRecord {
                partition,
                offset: i as i64,
                record: record.clone(),
            })
            .collect())
    }

    fn end_offset(&self, topic: &str, partition: i32) -> Result<i64> {
        let t = self.topic(topic)?;
        let len = t.partition(partition)?.state.read().records.len();
        Ok(len as i64)
    }

    fn commit(&self, group: &str, topic: &str, partition: i32, offset: i64) -> Result<()> {
        // Held while committing, so a concurrent delete clears this commit.
        let topics = self.topics.read();
        topics
            .get(topic)
            .ok_or_else(|| missing_topic(topic))?
            .partition(partition)?;
        // Everything appended so far reaches the operating system before
        // the commit does: a process killed after this commit has lost no
        // record the commit depends on (fsync, for power loss, is `flush`).
        for t in topics.values() {
            for p in &t.partitions {
                p.write_out()?;
            }
        }
        let mut offsets = self.offsets.lock();
        offsets.commit(group, topic, partition, offset)?;
        offsets.write_out()
    }

    fn committed(&self, group: &str, topic: &str, partition: i32) -> Result<Option<i64>> {
        Ok(self
            .offsets
            .lock()
            .committed
            .get(group)
            .and_then(|topics| topics.get(topic))
            .and_then(|partitions| partitions.get(&partition))
            .copied())
    }

    fn append_seq(&self) -> u64 {
        self.appends.seq.load(Ordering::SeqCst)
    }

    fn wait_for_append(&self, seen: u64, timeout: Duration) -> u64 {
        self.appends.wait(seen, timeout)
    }

    fn announces_appends(&self) -> bool {
        true
    }

    fn topic_append_seq(&self, topic: &str) -> u64 {
        match self.topics.read().get(topic) {
            Some(t) => t.appends.seq.load(Ordering::SeqCst),
            None => self.append_seq(),
        }
    }

    fn wait_for_topic_append(&self, topic: &str, seen: u64, timeout: Duration) -> u64 {
        match self.topic(topic) {
            Ok(t) => t.appends.wait(seen, timeout),
            // No such topic (yet): any append may be its first.
            Err(_) => self.appends.wait(seen, timeout),
        }
    }

    fn hand_off(&self, topic: &str) -> Result<()> {
        let t = self.topic(topic)?;
        for p in &t.partitions {
            p.write_out()?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        let topics: Vec<Arc<Topic>> = self.topics.read().values().cloned().collect();
        for topic in topics {
            for partition in &topic.partitions {
                partition.flush()?;
            }
        }
        self.offsets.lock().flush()
    }
}

impl Topic {
    /// Loads a topic's segments from its directory.
    fn load(path: &Path, meta: TopicMeta) -> Result<Topic> {
        if meta.partitions < 1 {
            return Err(Error::log(format!(
                "{}: topic '{}' has {} partitions",
                path.display(),
                meta.name,
                meta.partitions
            )));
        }
        let mut partitions = Vec::with_capacity(meta.partitions as usize);
        for p in 0..meta.partitions {
            let seg = segment_path(path, p);
            let mut records = Vec::new();
            let file = scan_file(&seg, SEGMENT_MAGIC, |payload| {
                let (offset, record) = decode_record(payload)
                    .ok_or_else(|| Error::log(format!("{}: undecodable record", seg.display())))?;
                if offset != records.len() as i64 {
                    return Err(Error::log(format!(
                        "{}: record at offset {offset} where {} was due",
                        seg.display(),
                        records.len()
                    )));
                }
                records.push(record);
                Ok(())
            })?;
            partitions.push(Partition::with_file(records, file)?);
        }
        Ok(Topic {
            info: meta.into_info(),
            partitions,
            appends: Appends::default(),
        })
    }

    fn partition(&self, p: i32) -> Result<&Partition> {
        usize::try_from(p)
            .ok()
            .and_then(|i| self.partitions.get(i))
            .ok_or_else(|| {
                Error::log(format!(
                    "topic '{}' has no partition {p} (it has {})",
                    self.info.name, self.info.partitions
                ))
            })
    }
}

impl TopicMeta {
    fn into_info(self) -> TopicInfo {
        TopicInfo {
            name: self.name,
            partitions: self.partitions,
            replicas: self.replicas,
            compact: self.compact,
        }
    }
}

impl Partition {
    fn in_memory() -> Partition {
        Partition {
            state: RwLock::new(PartitionState {
                records: Vec::new(),
                writer: None,
                scratch: Vec::new(),
                dirty: false,
                closed: None,
            }),
            sync_file: None,
        }
    }

    /// A partition holding `records`, appending to `file` (positioned at
    /// its end).
    fn with_file(records: Vec<Record>, file: File) -> Result<Partition> {
        let sync_file = file.try_clone()?;
        Ok(Partition {
            state: RwLock::new(PartitionState {
                records,
                writer: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
                scratch: Vec::new(),
                dirty: false,
                closed: None,
            }),
            sync_file: Some(sync_file),
        })
    }

    /// Appends a record, returning its offset.
    fn append(&self, record: Record) -> Result<i64> {
        let mut guard = self.state.write();
        let state = &mut *guard;
        if let Some(why) = &state.closed {
            return Err(Error::log(format!("cannot append: {why}")));
        }
        let offset = state.records.len() as i64;
        if let Some(writer) = state.writer.as_mut() {
            encode_frame(&mut state.scratch, |buf| {
                encode_record(buf, offset, &record)
            })?;
            if let Err(e) = writer.write_all(&state.scratch) {
                // Part of the frame may be in the file: later frames would
                // sit behind a torn one, so no more appends here.
                state.closed = Some(format!("an earlier write failed: {e}"));
                state.writer = None;
                return Err(e.into());
            }
            state.dirty = true;
        }
        state.records.push(record);
        Ok(offset)
    }

    /// Hands buffered records to the operating system (no fsync).
    fn write_out(&self) -> Result<()> {
        let mut state = self.state.write();
        if let Some(writer) = state.writer.as_mut() {
            if !writer.buffer().is_empty() {
                writer.flush()?;
            }
        }
        Ok(())
    }

    /// Writes out the buffered records and fsyncs the segment.
    fn flush(&self) -> Result<()> {
        {
            let mut state = self.state.write();
            if !state.dirty {
                return Ok(());
            }
            if let Some(writer) = state.writer.as_mut() {
                writer.flush()?;
            }
            state.dirty = false;
        }
        if let Some(file) = &self.sync_file {
            if let Err(e) = file.sync_data() {
                self.state.write().dirty = true;
                return Err(e.into());
            }
        }
        Ok(())
    }
}

impl OffsetStore {
    fn empty() -> OffsetStore {
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
    fn load(dir: &Path, topics: &BTreeMap<String, Arc<Topic>>) -> Result<OffsetStore> {
        let path = dir.join("offsets.log");
        let mut committed: Committed = HashMap::new();
        let mut frames = 0usize;
        let file = scan_file(&path, OFFSETS_MAGIC, |payload| {
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

    fn commit(&mut self, group: &str, topic: &str, partition: i32, offset: i64) -> Result<()> {
        self.write(|buf| encode_commit(buf, group, topic, partition, offset))?;
        self.committed
            .entry(group.to_string())
            .or_default()
            .entry(topic.to_string())
            .or_default()
            .insert(partition, offset);
        Ok(())
    }

    fn delete_topic(&mut self, topic: &str) -> Result<()> {
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
    fn write_out(&mut self) -> Result<()> {
        if let Some(writer) = self.writer.as_mut() {
            writer.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
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

fn missing_topic(name: &str) -> Error {
    Error::log(format!("topic '{name}' does not exist"))
}

/// The directory name of a topic (see the module documentation).
fn dir_name(name: &str) -> String {
    let enc = utf8_percent_encode(name, NAME_ESCAPES).to_string();
    if enc.len() <= MAX_DIR_NAME {
        return enc;
    }
    // The encoding is ASCII, so any byte index is a char boundary; `~` is
    // always escaped, so it cannot clash with a short name.
    format!(
        "{}~{:016x}",
        &enc[..MAX_DIR_NAME - 17],
        fnv1a(name.as_bytes())
    )
}

/// 64-bit FNV-1a: a stable hash for file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn segment_path(topic_dir: &Path, partition: i32) -> PathBuf {
    topic_dir.join(format!("{partition}.log"))
}

/// Makes a directory's entries (new, renamed, removed files) durable.
fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(path)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates a file holding only `magic`, positioned at its end.
fn new_file(path: &Path, magic: &[u8; 8]) -> Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.write_all(magic)?;
    Ok(file)
}

/// Opens (or creates) a framed file, hands every valid frame's payload to
/// `on_frame` in order, cuts off a torn or corrupt tail, and returns the
/// file positioned at its end for appending.
fn scan_file(
    path: &Path,
    magic: &[u8; 8],
    mut on_frame: impl FnMut(&[u8]) -> Result<()>,
) -> Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let len = file.metadata()?.len();
    if len < magic.len() as u64 {
        // New, or torn while being created.
        file.set_len(0)?;
        file.write_all(magic)?;
        return Ok(file);
    }
    let good = {
        let mut reader = BufReader::with_capacity(WRITE_BUFFER, &file);
        let mut head = [0u8; 8];
        reader.read_exact(&mut head)?;
        if &head != magic {
            return Err(Error::log(format!(
                "{}: not a Sluice log file",
                path.display()
            )));
        }
        let mut pos = magic.len() as u64;
        let mut payload = Vec::new();
        loop {
            if len - pos < FRAME_HEADER as u64 {
                break;
            }
            let mut header = [0u8; FRAME_HEADER];
            reader.read_exact(&mut header)?;
            let size = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            if u64::from(size) > len - pos - FRAME_HEADER as u64 {
                break;
            }
            payload.resize(size as usize, 0);
            reader.read_exact(&mut payload)?;
            if crc32fast::hash(&payload) != crc {
                break;
            }
            on_frame(&payload)?;
            pos += FRAME_HEADER as u64 + u64::from(size);
        }
        pos
    };
    if good < len {
        file.set_len(good)?;
        file.sync_all()?;
    }
    file.seek(SeekFrom::Start(good))?;
    Ok(file)
}

/// Fills `buf` with one frame: header, then the payload `fill` writes.
fn encode_frame(buf: &mut Vec<u8>, fill: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
    buf.clear();
    buf.extend_from_slice(&[0; FRAME_HEADER]);
    fill(buf)?;
    let size = u32::try_from(buf.len() - FRAME_HEADER)
        .map_err(|_| Error::log(format!("a record of {} bytes is too large", buf.len())))?;
    let crc = crc32fast::hash(&buf[FRAME_HEADER..]);
    buf[0..4].copy_from_slice(&size.to_le_bytes());
    buf[4..8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

fn encode_record(buf: &mut Vec<u8>, offset: i64, record: &Record) -> Result<()> {
    buf.extend_from_slice(&offset.to_le_bytes());
    buf.extend_from_slice(&record.timestamp.to_le_bytes());
    put_opt_bytes(buf, record.key.as_deref())?;
    put_opt_bytes(buf, record.value.as_deref())?;
    put_len(buf, record.headers.len())?;
    for header in &record.headers {
        put_str(buf, &header.key)?;
        put_opt_bytes(buf, header.value.as_deref())?;
    }
    Ok(())
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

fn put_len(buf: &mut Vec<u8>, len: usize) -> Result<()> {
    let len = u32::try_from(len).map_err(|_| Error::log("a record field is too large"))?;
    buf.extend_from_slice(&len.to_le_bytes());
    Ok(())
}

fn put_str(buf: &mut Vec<u8>, s: &str) -> Result<()> {
    put_len(buf, s.len())?;
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_opt_bytes(buf: &mut Vec<u8>, bytes: Option<&[u8]>) -> Result<()> {
    match bytes {
        None => buf.extend_from_slice(&(-1i32).to_le_bytes()),
        Some(bytes) => {
            let len = i32::try_from(bytes.len())
                .map_err(|_| Error::log("a record field is too large"))?;
            buf.extend_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(bytes);
        }
    }
    Ok(())
}

/// Reads a payload front to back; every getter is None past the end.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.array()?))
    }

    fn string(&mut self) -> Option<String> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }

    fn opt_bytes(&mut self) -> Option<Option<Vec<u8>>> {
        match self.i32()? {
            -1 => Some(None),
            len => Some(Some(self.take(usize::try_from(len).ok()?)?.to_vec())),
        }
    }

    fn done(&self) -> bool {
        self.rest.is_empty()
    }
}

fn decode_record(payload: &[u8]) -> Option<(i64, Record)> {
    let mut c = Cursor { rest: payload };
    let offset = c.i64()?;
    let timestamp = c.i64()?;
    let key = c.opt_bytes()?;
    let value = c.opt_bytes()?;
    let count = c.u32()? as usize;
    // Each header takes at least 8 bytes: no huge allocation from a bad count.
    let mut headers = Vec::with_capacity(count.min(c.rest.len() / 8));
    for _ in 0..count {
        headers.push(Header {
            key: c.string()?,
            value: c.opt_bytes()?,
        });
    }
    c.done().then_some((
        offset,
        Record {
            key,
            value,
            timestamp,
            headers,
        },
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::thread;

    fn rec(key: Option<&str>, value: Option<&str>, timestamp: i64) -> Record {
        Record {
            key: key.map(|k| k.as_bytes().to_vec()),
            value: value.map(|v| v.as_bytes().to_vec()),
            timestamp,
            headers: Vec::new(),
        }
    }

    fn config(partitions: i32) -> TopicConfig {
        TopicConfig {
            partitions,
            ..TopicConfig::default()
        }
    }

    fn values(log: &EmbeddedLog, topic: &str, partition: i32) -> Vec<Option<String>> {
        log.read(topic, partition, 0, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|r| r.record.value.map(|v| String::from_utf8(v).unwrap()))
            .collect()
    }

    fn segment(dir: &Path, topic: &str, partition: i32) -> PathBuf {
        segment_path(&dir.join("topics").join(dir_name(topic)), partition)
    }

    /// Runs a test body against an in-memory log and a file-backed one.
    fn both(body: impl Fn(&EmbeddedLog)) {
        body(&EmbeddedLog::in_memory());
        let dir = tempfile::tempdir().unwrap();
        body(&EmbeddedLog::open(dir.path()).unwrap());
    }

    #[test]
    fn round_trip_with_headers_and_tombstones() {
        both(|log| {
            log.create_topic("t", &config(1)).unwrap();
            let with_headers = Record {
                key: Some(b"k1".to_vec()),
                value: Some(vec![0, 1, 2, 255]),
                timestamp: 1_700_000_000_000,
                headers: vec![
                    Header {
                        key: "trace".into(),
                        value: Some(b"abc".to_vec()),
                    },
                    Header {
                        key: "empty".into(),
                        value: None,
                    },
                    Header {
                        key: "zero".into(),
                        value: Some(Vec::new()),
                    },
                ],
            };
            let tombstone = rec(Some("k1"), None, -5);
            let unkeyed = rec(None, Some(""), 0);
            assert_eq!(log.append("t", None, with_headers.clone()).unwrap(), (0, 0));
            assert_eq!(log.append("t", None, tombstone.clone()).unwrap(), (0, 1));
            assert_eq!(log.append("t", Some(0), unkeyed.clone()).unwrap(), (0, 2));
            assert_eq!(log.end_offset("t", 0).unwrap(), 3);

            let all = log.read("t", 0, 0, 100).unwrap();
            let expected = [with_headers, tombstone, unkeyed];
            assert_eq!(all.len(), 3);
            for (i, (got, want)) in all.iter().zip(&expected).enumerate() {
                assert_eq!(got.partition, 0);
                assert_eq!(got.offset, i as i64);
                assert_eq!(&got.record, want);
            }
            let middle = log.read("t", 0, 1, 1).unwrap();
            assert_eq!(middle.len(), 1);
            assert_eq!(middle[0].offset, 1);
            assert_eq!(middle[0].record.value, None);
            assert!(log.read("t", 0, 3, 10).unwrap().is_empty());
            assert!(log.read("t", 0, 1_000, 10).unwrap().is_empty());
            assert!(log.read("t", 0, 0, 0).unwrap().is_empty());
            assert!(matches!(log.read("t", 0, -1, 10), Err(Error::Log(_))));
        });
    }

    #[test]
    fn keyed_records_go_to_the_kafka_partition() {
        both(|log| {
            log.create_topic("p", &config(4)).unwrap();
            let mut per_partition = [0i64; 4];
            for i in 0..40 {
                let key = format!("key-{i}");
                let (p, offset) = log
                    .append("p", None, rec(Some(&key), Some("v"), i))
                    .unwrap();
                assert_eq!(p, partition_for_key(key.as_bytes(), 4));
                assert_eq!(offset, per_partition[p as usize]);
                per_partition[p as usize] += 1;
            }
            assert!(
                per_partition.iter().filter(|&&n| n > 0).count() > 1,
                "40 keys should spread over more than one partition"
            );
            for (p, n) in per_partition.iter().enumerate() {
                assert_eq!(log.end_offset("p", p as i32).unwrap(), *n);
            }
            let before = log.end_offset("p", 0).unwrap();
            assert_eq!(
                log.append("p", None, rec(None, Some("u"), 0)).unwrap(),
                (0, before)
            );
            assert_eq!(
                log.append("p", Some(3), rec(Some("x"), None, 0)).unwrap().0,
                3
            );

            assert!(matches!(
                log.append("p", Some(4), rec(None, None, 0)),
                Err(Error::Log(_))
            ));
            assert!(matches!(
                log.append("p", Some(-1), rec(None, None, 0)),
                Err(Error::Log(_))
            ));
            assert!(matches!(
                log.append("nope", None, rec(None, None, 0)),
                Err(Error::Log(_))
            ));
            assert!(matches!(log.read("p", 7, 0, 1), Err(Error::Log(_))));
            assert!(matches!(log.read("nope", 0, 0, 1), Err(Error::Log(_))));
            assert!(matches!(log.end_offset("nope", 0), Err(Error::Log(_))));
        });
    }

    #[test]
    fn topics_are_created_listed_described_and_deleted() {
        both(|log| {
            let compacted = TopicConfig {
                partitions: 3,
                replicas: 2,
                compact: true,
            };
            log.create_topic("b.topic", &compacted).unwrap();
            log.create_topic("a_topic", &config(1)).unwrap();
            log.create_topic("c-topic", &config(2)).unwrap();
            assert!(matches!(
                log.create_topic("a_topic", &config(1)),
                Err(Error::Log(_))
            ));
            assert!(matches!(
                log.create_topic("", &config(1)),
                Err(Error::Log(_))
            ));
            assert!(matches!(
                log.create_topic("z", &config(0)),
                Err(Error::Log(_))
            ));

            let names: Vec<String> = log
                .list_topics()
                .unwrap()
                .into_iter()
                .map(|t| t.name)
                .collect();
            assert_eq!(names, ["a_topic", "b.topic", "c-topic"]);
            assert_eq!(
                log.describe_topic("b.topic").unwrap(),
                Some(TopicInfo {
                    name: "b.topic".into(),
                    partitions: 3,
                    replicas: 2,
                    compact: true,
                })
            );
            assert_eq!(log.describe_topic("missing").unwrap(), None);

            log.append("a_topic", None, rec(None, Some("old"), 0))
                .unwrap();
            log.delete_topic("a_topic").unwrap();
            assert!(matches!(log.delete_topic("a_topic"), Err(Error::Log(_))));
            assert_eq!(log.describe_topic("a_topic").unwrap(), None);
            assert!(matches!(
                log.append("a_topic", None, rec(None, None, 0)),
                Err(Error::Log(_))
            ));

            // A new topic of the same name starts empty.
            log.create_topic("a_topic", &config(1)).unwrap();
            assert_eq!(log.end_offset("a_topic", 0).unwrap(), 0);
            assert_eq!(
                log.append("a_topic", None, rec(None, Some("new"), 0))
                    .unwrap(),
                (0, 0)
            );
            assert_eq!(values(log, "a_topic", 0), [Some("new".to_string())]);
        });
    }

    #[test]
    fn delete_topic_removes_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic("gone", &config(2)).unwrap();
        log.append("gone", Some(1), rec(None, Some("v"), 0))
            .unwrap();
        log.flush().unwrap();
        let topic_dir = dir.path().join("topics").join(dir_name("gone"));
        assert!(topic_dir.join("meta.json").exists());
        assert!(segment(dir.path(), "gone", 1).exists());

        log.delete_topic("gone").unwrap();
        assert!(!topic_dir.exists());
        assert_eq!(fs::read_dir(dir.path().join("trash")).unwrap().count(), 0);
        drop(log);
        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert!(log.list_topics().unwrap().is_empty());
    }

    #[test]
    fn committed_offsets() {
        both(|log| {
            log.create_topic("t", &config(2)).unwrap();
            assert_eq!(log.committed("g", "t", 0).unwrap(), None);
            log.commit("g", "t", 0, 5).unwrap();
            log.commit("g", "t", 1, 7).unwrap();
            log.commit("other", "t", 0, 1).unwrap();
            log.commit("g", "t", 0, 9).unwrap();
            assert_eq!(log.committed("g", "t", 0).unwrap(), Some(9));
            assert_eq!(log.committed("g", "t", 1).unwrap(), Some(7));
            assert_eq!(log.committed("other", "t", 0).unwrap(), Some(1));
            assert_eq!(log.committed("other", "t", 1).unwrap(), None);
            assert_eq!(log.committed("nobody", "t", 0).unwrap(), None);
            assert!(matches!(
                log.commit("g", "missing", 0, 1),
                Err(Error::Log(_))
            ));
            assert!(matches!(log.commit("g", "t", 2, 1), Err(Error::Log(_))));

            // Deleting the topic forgets its offsets, also for a new topic
            // of the same name.
            log.delete_topic("t").unwrap();
            log.create_topic("t", &config(2)).unwrap();
            assert_eq!(log.committed("g", "t", 0).unwrap(), None);
            assert_eq!(log.committed("other", "t", 0).unwrap(), None);
        });
    }

    #[test]
    fn everything_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let long_name = "x.".repeat(150);
        let names = [
            "plain",
            "with.dots-and_under",
            "..",
            "a/b\\c d%e",
            "ünïcødé",
            &long_name,
        ];
        {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            for (i, name) in names.iter().enumerate() {
                log.create_topic(
                    name,
                    &TopicConfig {
                        partitions: 2,
                        replicas: 3,
                        compact: i % 2 == 0,
                    },
                )
                .unwrap();
                for j in 0..10 {
                    let value = format!("{name}-{j}");
                    log.append(name, Some(j % 2), rec(Some("k"), Some(&value), j as i64))
                        .unwrap();
                }
                log.commit("group", name, 1, 4).unwrap();
            }
            log.append("plain", Some(0), rec(Some("k"), None, 99))
                .unwrap();
            log.commit("group", "plain", 0, 6).unwrap();
            log.commit("group", "plain", 0, 2).unwrap();
            // Dropped without flush: buffered data is written on drop.
        }
        for round in 0..2 {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            let mut expected: Vec<&str> = names.to_vec();
            expected.sort();
            let listed: Vec<String> = log
                .list_topics()
                .unwrap()
                .into_iter()
                .map(|t| t.name)
                .collect();
            assert_eq!(listed, expected);
            for (i, name) in names.iter().enumerate() {
                let info = log.describe_topic(name).unwrap().unwrap();
                assert_eq!(
                    (info.partitions, info.replicas, info.compact),
                    (2, 3, i % 2 == 0)
                );
                let odd: Vec<Option<String>> = (0..5)
                    .map(|j| Some(format!("{name}-{}", 2 * j + 1)))
                    .collect();
                assert_eq!(values(&log, name, 1), odd);
                assert_eq!(log.committed("group", name, 1).unwrap(), Some(4));
            }
            let plain = log.read("plain", 0, 0, 100).unwrap();
            assert_eq!(plain.len(), 6);
            assert_eq!(plain[5].record, rec(Some("k"), None, 99));
            assert_eq!(log.committed("group", "plain", 0).unwrap(), Some(2));
            if round == 0 {
                // Appends continue where the log left off.
                assert_eq!(
                    log.append("plain", Some(0), rec(None, Some("more"), 1))
                        .unwrap(),
                    (0, 6)
                );
                log.flush().unwrap();
                log.delete_topic("plain").unwrap();
                let same = TopicConfig {
                    partitions: 2,
                    replicas: 3,
                    compact: true,
                };
                log.create_topic("plain", &same).unwrap();
                // Refilled as before, so round 1 checks the same content.
                for j in 0..10 {
                    let value = format!("plain-{j}");
                    log.append("plain", Some(j % 2), rec(Some("k"), Some(&value), 0))
                        .unwrap();
                }
                log.append("plain", Some(0), rec(Some("k"), None, 99))
                    .unwrap();
                log.commit("group", "plain", 0, 2).unwrap();
                log.commit("group", "plain", 1, 4).unwrap();
                log.flush().unwrap();
            }
        }
    }

    #[test]
    fn torn_tail_is_cut_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            log.create_topic("t", &config(1)).unwrap();
            for i in 0..5 {
                log.append("t", None, rec(Some("k"), Some(&format!("v{i}")), i))
                    .unwrap();
            }
            log.flush().unwrap();
        }
        let seg = segment(dir.path(), "t", 0);
        let good_len = fs::metadata(&seg).unwrap().len();
        {
            let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
            f.write_all(&[0x13, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3])
                .unwrap();
        }
        {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            assert_eq!(fs::metadata(&seg).unwrap().len(), good_len);
            assert_eq!(log.end_offset("t", 0).unwrap(), 5);
            let expected: Vec<Option<String>> = (0..5).map(|i| Some(format!("v{i}"))).collect();
            assert_eq!(values(&log, "t", 0), expected);
            assert_eq!(
                log.append("t", None, rec(None, Some("v5"), 5)).unwrap(),
                (0, 5)
            );
            log.flush().unwrap();
        }

        // A frame cut in the middle (a crash during the write) is dropped.
        let len = fs::metadata(&seg).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            assert_eq!(log.end_offset("t", 0).unwrap(), 5);
            assert_eq!(
                log.append("t", None, rec(None, Some("v5b"), 5)).unwrap(),
                (0, 5)
            );
        }

        // A last frame whose bytes changed fails its CRC and is dropped too.
        let mut bytes = fs::read(&seg).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&seg, &bytes).unwrap();
        {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            assert_eq!(log.end_offset("t", 0).unwrap(), 5);
            log.append("t", None, rec(None, Some("v5c"), 5)).unwrap();
            log.append("t", None, rec(None, Some("v6"), 6)).unwrap();
        }
        let log = EmbeddedLog::open(dir.path()).unwrap();
        let vals = values(&log, "t", 0);
        assert_eq!(vals.len(), 7);
        assert_eq!(vals[4], Some("v4".to_string()));
        assert_eq!(vals[5], Some("v5c".to_string()));
        assert_eq!(vals[6], Some("v6".to_string()));
    }

    #[test]
    fn a_file_that_is_not_a_segment_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            log.create_topic("t", &config(1)).unwrap();
        }
        fs::write(segment(dir.path(), "t", 0), b"this is not a segment").unwrap();
        assert!(matches!(EmbeddedLog::open(dir.path()), Err(Error::Log(_))));
    }

    #[test]
    fn an_interrupted_create_is_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        let half = dir.path().join("topics").join("half");
        fs::create_dir_all(&half).unwrap();
        fs::write(half.join("0.log"), SEGMENT_MAGIC).unwrap();
        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert!(log.list_topics().unwrap().is_empty());
        assert!(!half.exists());
        log.create_topic("half", &config(1)).unwrap();
        assert_eq!(log.end_offset("half", 0).unwrap(), 0);
    }

    #[test]
    fn superseded_commits_are_compacted_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            log.create_topic("t", &config(1)).unwrap();
            for i in 0..3_000 {
                log.commit("g", "t", 0, i).unwrap();
            }
        }
        let path = dir.path().join("offsets.log");
        let before = fs::metadata(&path).unwrap().len();
        let log = EmbeddedLog::open(dir.path()).unwrap();
        let after = fs::metadata(&path).unwrap().len();
        assert!(after < before / 100, "{after} bytes left of {before}");
        assert_eq!(log.committed("g", "t", 0).unwrap(), Some(2_999));
        log.commit("g", "t", 0, 3_000).unwrap();
        drop(log);
        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert_eq!(log.committed("g", "t", 0).unwrap(), Some(3_000));
    }

    #[test]
    fn wait_for_append_wakes_on_append_from_another_thread() {
        let log = Arc::new(EmbeddedLog::in_memory());
        log.create_topic("t", &config(1)).unwrap();
        let seen = log.append_seq();
        let writer = {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                log.append("t", None, rec(None, Some("v"), 0)).unwrap();
            })
        };
        let start = Instant::now();
        let now = log.wait_for_append(seen, Duration::from_secs(30));
        assert!(now > seen);
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(log.end_offset("t", 0).unwrap(), 1);
        writer.join().unwrap();

        // With nothing appended, the wait ends at the timeout.
        let start = Instant::now();
        assert_eq!(log.wait_for_append(now, Duration::from_millis(30)), now);
        assert!(start.elapsed() >= Duration::from_millis(30));
        // Already past `seen`: no wait at all.
        assert_eq!(log.wait_for_append(now - 1, Duration::from_secs(30)), now);
    }

    #[test]
    fn waiting_for_a_topic_wakes_for_its_appends_only() {
        let log = Arc::new(EmbeddedLog::in_memory());
        log.create_topic("t", &config(1)).unwrap();
        log.create_topic("other", &config(1)).unwrap();
        let seen = log.topic_append_seq("t");
        log.append("other", None, rec(None, Some("x"), 0)).unwrap();
        assert_eq!(log.topic_append_seq("t"), seen);
        assert!(log.append_seq() > seen);
        // Appends elsewhere do not end the wait.
        let start = Instant::now();
        assert_eq!(
            log.wait_for_topic_append("t", seen, Duration::from_millis(30)),
            seen
        );
        assert!(start.elapsed() >= Duration::from_millis(30));
        let writer = {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(30));
                log.append("other", None, rec(None, Some("y"), 0)).unwrap();
                thread::sleep(Duration::from_millis(30));
                log.append("t", None, rec(None, Some("v"), 0)).unwrap();
            })
        };
        let now = log.wait_for_topic_append("t", seen, Duration::from_secs(30));
        assert_eq!(log.end_offset("t", 0).unwrap(), 1);
        // In the terms of `append_seq`: the log's count after the append.
        assert_eq!(now, log.append_seq());
        assert_eq!(log.topic_append_seq("t"), now);
        writer.join().unwrap();
        // A missing topic: the log's sequence.
        assert_eq!(log.topic_append_seq("nope"), log.append_seq());
    }

    #[test]
    fn concurrent_appends_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(EmbeddedLog::open(dir.path()).unwrap());
        log.create_topic("shared", &config(1)).unwrap();
        log.create_topic("spread", &config(4)).unwrap();
        let threads = 4;
        let per_thread = 500;
        let barrier = Arc::new(Barrier::new(threads + 1));
        let mut handles = Vec::new();
        for t in 0..threads {
            let log = Arc::clone(&log);
            let barrier = Arc::clone(&barrier);
            handles.push(thread::spawn(move || {
                barrier.wait();
                let mut offsets = Vec::new();
                for i in 0..per_thread {
                    let value = format!("{t}:{i}");
                    let (_, offset) = log
                        .append("shared", None, rec(None, Some(&value), 0))
                        .unwrap();
                    offsets.push(offset);
                    log.append("spread", Some(t as i32), rec(None, Some(&value), 0))
                        .unwrap();
                }
                offsets
            }));
        }
        // A reader waits for data while the writers run.
        let reader = {
            let log = Arc::clone(&log);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                let mut next = 0;
                let mut seen = 0;
                while next < (threads * per_thread) as i64 {
                    let batch = log.read("shared", 0, next, 64).unwrap();
                    for r in &batch {
                        assert_eq!(r.offset, next);
                        next += 1;
                    }
                    if batch.is_empty() {
                        seen = log.wait_for_append(seen, Duration::from_millis(100));
                    }
                }
                next
            })
        };
        let mut all: Vec<i64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(reader.join().unwrap(), (threads * per_thread) as i64);
        all.sort();
        let expected: Vec<i64> = (0..(threads * per_thread) as i64).collect();
        assert_eq!(all, expected);
        assert_eq!(log.append_seq(), (2 * threads * per_thread) as u64);
        for t in 0..threads {
            let vals = values(&log, "spread", t as i32);
            let want: Vec<Option<String>> =
                (0..per_thread).map(|i| Some(format!("{t}:{i}"))).collect();
            assert_eq!(vals, want, "per-partition order is append order");
        }
        drop(log);
        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert_eq!(
            log.end_offset("shared", 0).unwrap(),
            (threads * per_thread) as i64
        );
    }

    #[test]
    fn in_memory_leaves_no_files() {
        let log = EmbeddedLog::in_memory();
        assert!(log.dir().is_none());
        log.create_topic("t", &config(2)).unwrap();
        log.append("t", Some(1), rec(Some("k"), Some("v"), 1))
            .unwrap();
        log.commit("g", "t", 1, 1).unwrap();
        log.flush().unwrap();
        assert_eq!(values(&log, "t", 1), [Some("v".to_string())]);
        assert_eq!(log.committed("g", "t", 1).unwrap(), Some(1));
    }

    #[test]
    fn long_and_odd_names_get_distinct_safe_directory_names() {
        let long_a = "a".repeat(300);
        let long_b = format!("{}b", "a".repeat(299));
        for name in [".", "..", "a/b", "x.y", long_a.as_str(), long_b.as_str()] {
            let enc = dir_name(name);
            assert!(enc.len() <= MAX_DIR_NAME, "{enc}");
            assert!(
                enc.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-%~".contains(&b)),
                "{enc}"
            );
        }
        assert_ne!(dir_name(&long_a), dir_name(&long_b));
        assert_eq!(dir_name("my_topic-1"), "my_topic-1");
    }
}
