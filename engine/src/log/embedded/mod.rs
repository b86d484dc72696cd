//! The embedded Log: Kafka-shaped topics kept in memory only, or in
//! append-only, CRC-checked segment files read through the page cache.
//!
//! Layout of a data directory:
//!
//! ```text
//! dir/topics/<encoded name>/meta.json          the topic: name, partitions, replicas, compact, retention
//! dir/topics/<encoded name>/<p>/<base>.log.cleaned    a compacted segment being written (removed on open)
//! dir/topics/<encoded name>/<p>/<base>.log     a segment of partition <p>
//! dir/topics/<encoded name>/<p>/<base>.index   its sparse offset index
//! dir/topics/<encoded name>/<p>/<base>.mirror  its second copy (command topics only)
//! dir/offsets.log                              consumer-group commits, last one wins
//! dir/offsets.mirror                           their second copy
//! dir/trash/                                   topics being deleted (emptied on open)
//! dir/LOCK                                     held by the process that has it open
//! ```
//!
//! A topic's directory name is its name percent-encoded (only ASCII letters,
//! digits, `_` and `-` are kept); a name whose encoding would be too long
//! for a file name is cut and suffixed with `~` and a hash. The real name
//! is the one in `meta.json`, which is written last: a topic directory
//! without it is the remains of an interrupted create and is removed.
//!
//! A partition is a sequence of segments, each named by the offset of its
//! first record (`<base>`, zero-padded to 20 digits); a segment holds the
//! records from its base up to the next segment's base. Appends go to the
//! last (active) segment, which is sealed once it holds
//! [`EmbeddedConfig::segment_bytes`] (64 MiB by default): it is written out
//! and fsynced with its index, and a new segment starts at the next offset.
//!
//! Segment and offsets files start with an 8-byte magic, followed by
//! frames: a little-endian `u32` payload length, a little-endian `u32`
//! CRC32 of the payload, and the payload. A record payload is the `i64`
//! offset, the `i64` timestamp, the key and the value (each an `i32` length,
//! -1 for null, then the bytes), a `u32` header count and, per header, the
//! name (`u32` length, UTF-8) and the value (as the key). An offsets payload
//! is a `u64` sequence number and a kind byte: 0 for a commit (group,
//! topic, `i32` partition, `i64` offset) or 1 for a deleted topic (topic),
//! strings being a `u32` length and UTF-8. All integers are little-endian.
//! (An offsets file of the older format, magic `SLUOFS\0\1`, has no
//! sequence numbers; it is read once and rewritten.)
//!
//! A segment's index is a flat array of 8-byte entries, each a `u32` offset
//! relative to the segment's base and the `u32` byte position of that
//! record's frame, one entry per 4 KiB of segment. Entries are written as
//! the records they point at are written out; a read binary-searches the
//! index (by positioned reads) for the latest entry at or before its offset
//! and scans forward from there. A missing index, or one that does not
//! match its segment, only makes reads scan the segment from its start.
//! There is no time index yet.
//!
//! Reads use positioned reads (`read_at`) of the segment files, in chunks
//! of 64 KiB: the data lives in the operating system's page cache, not in
//! the process. Records appended but not yet written out sit in the
//! partition's tail buffer (64 KiB, then it is written) and are read from
//! there.
//!
//! On open, each partition's segments are listed and only the last one is
//! scanned: it gives the partition's next offset and its index is rebuilt
//! (it may lag its records). Sealed segments were fsynced when sealed and
//! are not read on open, so opening does not grow with the data kept.
//!
//! Damage. A frame that is cut short, fails its CRC or does not hold the
//! offset due is bad. A bad frame with no valid frame after it at the end
//! of the last segment is a torn write (a crash in the middle of a write):
//! the file is truncated there, with a warning naming the topic, partition
//! and byte range. Any other bad frame (valid frames follow it, or it is
//! in a sealed segment) is damage: the segment is left as it is, and the
//! scan (on open) or read resynchronizes on the next position where a
//! frame's length and CRC check out and its offset continues the sequence
//! (`format::Window::resync`). The records in between are lost: their
//! offsets no longer exist and reads skip them. Each damaged range is
//! reported once, as a `tracing` error with the topic, partition, segment,
//! byte range, the last good offset and the offset reading resumes at, and
//! listed by [`EmbeddedLog::damage`]; damage in the last segment is found
//! on open, in a sealed one by the first read that crosses it. A sparse
//! index entry is used only if it points at the frame of its offset.
//!
//! Command topics (`_confluent-ksql-<service>_command_topic`), whose loss
//! would lose every stream, table and query, are mirrored: each segment
//! has a byte-for-byte second copy, `<base>.mirror`, written at the same
//! positions and fsynced with it. A frame bad in one copy is read from the
//! other (and, in the last segment, the bad copy is repaired on open). A
//! mirror is chosen over a snapshot because the command topic is already
//! a log: the copy needs no format of its own, and the positions being the
//! same, the repair is a lookup at the same place. Committed offsets are
//! kept in two files (see `offsets`): every frame is appended to both
//! with a sequence number, and open merges the valid frames of both by
//! that number, so a frame damaged in one is taken from the other (a file
//! can be rewritten on its own, so positions are not relied on there). A
//! number missing from both is a lost commit: the offsets it may have
//! held are refused by `committed` (the query fails) rather than read as
//! an older position that would repeat the query's output. A partition in the older layout, one `<p>.log` file beside the
//! partition directories, is moved (renamed) into `<p>/` as its first
//! segment on open.
//!
//! Retention and compaction (see `clean`). When a segment is sealed, and
//! on [`EmbeddedLog::clean`], the sealed segments of each partition are
//! cleaned by the topic's [`Retention`] (kept in `meta.json`; Kafka's
//! defaults when absent). A topic that is not compacted loses its oldest
//! sealed segments whose newest record timestamp is older than
//! `retention_ms`, or while the partition without them still holds
//! `retention_bytes`; the partition's start offset becomes the base of
//! its first segment left (on open, the base of its first segment file),
//! and reads below it read from it. A compacted topic keeps each key's
//! latest record in its sealed segments, and a latest tombstone until
//! `delete_retention_ms` past its timestamp: each segment that loses
//! records is rewritten with the ones left at their offsets, under the
//! magic `SLUSEG\0\2`, which tells reads that offsets may skip there; the
//! rewrite goes to `<base>.log.cleaned` and `<base>.index.cleaned`,
//! fsynced, then the old index is removed and both are renamed over the
//! old files, so a crash leaves the old segment or the new one (a
//! `.cleaned` file left over is removed on open). The active segment is
//! never cleaned, nor is a mirrored (command) topic: its mirror copies
//! are never rewritten or deleted. Partitions in memory are not cleaned.
//!
//! Appends and commits are buffered and not synced one by one: they are
//! written to the files when the buffer fills, when a commit or `hand_off`
//! asks for it, when the log is dropped, or on `flush`, which also fsyncs
//! them. One process at a time may open a data directory: opening takes an
//! exclusive lock on `LOCK` (see `lock`), and a second opener fails naming
//! the holder.
//!
//! This file holds [`EmbeddedLog`] and its `Log` implementation; the parts
//! are in `topic` (topics, partitions and their directories), `segments`
//! (a partition's segments, their mirrors and indexes on disk, and damage),
//! `offsets` (consumer-group commits in two copies), `format` (framed
//! files, resynchronizing after damage, and the record payload),
//! `clean` (retention and compaction) and `appends` (waiting for appends).

mod appends;
mod clean;
mod format;
mod lock;
mod offsets;
mod segments;
mod topic;

use super::{partition_for_key, Log, Record, StoredRecord, TopicConfig, TopicInfo};
use crate::error::{Error, Result};
use appends::Appends;
pub use clean::{Retention, DEFAULT_DELETE_RETENTION_MS, DEFAULT_RETENTION_MS};
use format::sync_dir;
pub use lock::advertise;
use lock::DirLock;
use offsets::OffsetStore;
use parking_lot::{Mutex, RwLock};
pub use segments::Damage;
use segments::{Place, Segments};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use topic::{dir_name, mirrored, partition_dir, Partition, Topic, TopicMeta};

/// Bytes a partition's active segment holds before a new one is started.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Settings of an [`EmbeddedLog`] stored in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedConfig {
    /// A partition's active segment is sealed, and a new one started, once
    /// it holds this many bytes (a segment holds at least one record).
    pub segment_bytes: u64,
    /// The retention settings of topics created from now on (by default
    /// records are kept until a retention is set, with no size limit, and
    /// tombstones of compacted topics are kept 24 hours).
    pub retention: Retention,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        EmbeddedConfig {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            retention: Retention::default(),
        }
    }
}

/// The default Log: topics of partitions held in memory or, when opened on
/// a directory, in append-only segment files read back from disk (see the
/// module documentation for the format). Shared between threads; each partition
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
    config: EmbeddedConfig,
    /// The data directory's lock, held while the log is open (None in
    /// memory). Declared last: dropped after the buffered writes are out.
    _lock: Option<DirLock>,
}

impl EmbeddedLog {
    /// Opens (creating it if needed) a log stored in `dir`, loading every
    /// topic and committed offset kept there and the last segment of each
    /// partition. A torn tail of a file is cut off; damage before it is
    /// reported and skipped (see the module documentation). Fails, touching nothing, when another process (or
    /// another open log) holds `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<EmbeddedLog> {
        let dir = dir.as_ref().to_path_buf();
        let lock = DirLock::acquire(&dir)?;
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
            config: EmbeddedConfig::default(),
            _lock: Some(lock),
        })
    }

    /// Opens a log stored in `dir` as [`EmbeddedLog::open`] does, with
    /// `config` for the segments it writes.
    pub fn open_with(dir: impl AsRef<Path>, config: EmbeddedConfig) -> Result<EmbeddedLog> {
        let mut log = EmbeddedLog::open(dir)?;
        log.config = config;
        Ok(log)
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
            config: EmbeddedConfig::default(),
            _lock: None,
        }
    }

    /// The damage found so far in the segments of every topic: ranges of
    /// bytes that failed their checks, found on open (in the last segment
    /// of each partition) or by reads, each with the records lost to it.
    pub fn damage(&self) -> Vec<Damage> {
        let topics = self.topics.read();
        topics
            .values()
            .flat_map(|t| t.partitions.iter().flat_map(Partition::damage))
            .collect()
    }

    /// Whether this log keeps the topic `name` twice (each segment with a
    /// byte-for-byte mirror copy): command topics, whose loss would lose
    /// the catalog.
    pub fn mirrors(name: &str) -> bool {
        mirrored(name)
    }

    /// The retention settings of topic `name`.
    pub fn retention(&self, name: &str) -> Result<Retention> {
        Ok(*self.topic(name)?.retention.lock())
    }

    /// Changes the retention settings of topic `name` (kept in its
    /// `meta.json`); they apply from the next clean. Mirrored (command)
    /// topics are never cleaned, whatever their settings.
    pub fn set_retention(&self, name: &str, retention: Retention) -> Result<()> {
        let _ddl = self.ddl.lock();
        let topic = self.topic(name)?;
        if let Some(dir) = &self.dir {
            let meta = TopicMeta {
                name: topic.info.name.clone(),
                partitions: topic.info.partitions,
                replicas: topic.info.replicas,
                compact: topic.info.compact,
                retention,
            };
            write_meta(&dir.join("topics").join(dir_name(name)), &meta)?;
        }
        *topic.retention.lock() = retention;
        Ok(())
    }

    /// Applies retention (or compaction, for compacted topics) to the
    /// sealed segments of every topic now; it also happens whenever a
    /// segment is sealed. The active segment is never cleaned.
    pub fn clean(&self) -> Result<()> {
        let topics: Vec<Arc<Topic>> = self.topics.read().values().cloned().collect();
        for topic in topics {
            topic.clean()?;
        }
        Ok(())
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
        let created = self.fill_topic_dir(&topics_dir, &path, name, config);
        if created.is_err() {
            // As an open would (a topic directory without `meta.json` is an
            // interrupted create): the name is free again.
            if let Err(e) = fs::remove_dir_all(&path) {
                tracing::warn!(dir = %path.display(), error = %e, "could not remove a topic directory left by a failed create");
            }
        }
        created
    }

    /// Creates the partitions and then `meta.json` of a new topic in `path`.
    fn fill_topic_dir(
        &self,
        topics_dir: &Path,
        path: &Path,
        name: &str,
        config: &TopicConfig,
    ) -> Result<Topic> {
        let mut partitions = Vec::with_capacity(config.partitions as usize);
        for p in 0..config.partitions {
            let place = Place {
                topic: name.to_string(),
                partition: p,
            };
            let segments = Segments::create(&partition_dir(path, p), place, mirrored(name))?;
            partitions.push(Partition::on_disk(segments));
        }
        let meta = TopicMeta {
            name: name.to_string(),
            partitions: config.partitions,
            replicas: config.replicas,
            compact: config.compact,
            retention: self.config.retention,
        };
        write_meta(path, &meta)?;
        sync_dir(topics_dir)?;
        Ok(Topic {
            retention: Mutex::new(meta.retention),
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
                retention: Mutex::new(self.config.retention),
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
            // The files are about to go: drop what is buffered unwritten.
            partition.close(format!("topic '{name}' was deleted"));
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
        let p = route(t, partition, &record);
        let offset = t
            .partition(p)?
            .append(record, self.config.segment_bytes, t)
            .map_err(|(e, _)| e)?;
        self.bump(t);
        drop(topics);
        Ok((p, offset))
    }

    fn append_or_return(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: Record,
    ) -> std::result::Result<(i32, i64), (Error, Record)> {
        let topics = self.topics.read();
        let Some(t) = topics.get(topic) else {
            return Err((missing_topic(topic), record));
        };
        let p = route(t, partition, &record);
        let part = match t.partition(p) {
            Ok(part) => part,
            Err(e) => return Err((e, record)),
        };
        let offset = part.append(record, self.config.segment_bytes, t)?;
        self.bump(t);
        drop(topics);
        Ok((p, offset))
    }

    fn append_written(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: Record,
    ) -> Result<(i32, i64)> {
        let topics = self.topics.read();
        let t = topics.get(topic).ok_or_else(|| missing_topic(topic))?;
        let p = route(t, partition, &record);
        let offset = t
            .partition(p)?
            .append_written(record, self.config.segment_bytes, t)?;
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
        t.partition(partition)?.read(partition, offset, max)
    }

    fn end_offset(&self, topic: &str, partition: i32) -> Result<i64> {
        let t = self.topic(topic)?;
        Ok(t.partition(partition)?.end_offset())
    }

    fn start_offset(&self, topic: &str, partition: i32) -> Result<i64> {
        let t = self.topic(topic)?;
        Ok(t.partition(partition)?.start_offset())
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
        self.offsets.lock().committed(group, topic, partition)
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

/// Writes a topic's `meta.json` in `path` atomically (a temporary file,
/// fsynced, renamed over it).
fn write_meta(path: &Path, meta: &TopicMeta) -> Result<()> {
    let tmp = path.join("meta.json.tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(meta)?)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path.join("meta.json"))?;
    sync_dir(path)?;
    Ok(())
}

/// The partition a record goes to: the one asked for, else its key's, else
/// partition 0.
fn route(topic: &Topic, partition: Option<i32>, record: &Record) -> i32 {
    match (partition, &record.key) {
        (Some(p), _) => p,
        (None, Some(key)) => partition_for_key(key, topic.info.partitions),
        (None, None) => 0,
    }
}

fn missing_topic(name: &str) -> Error {
    Error::log(format!("topic '{name}' does not exist"))
}

#[cfg(test)]
mod clean_tests;
#[cfg(test)]
mod damage_tests;
#[cfg(test)]
mod segment_tests;
#[cfg(test)]
mod tests;
