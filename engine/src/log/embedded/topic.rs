//! A topic and its partitions: each partition's records (in memory, or in
//! its segments on disk), loading a topic from its directory, and where a
//! topic lives on disk (`meta.json`, directory names, partition
//! directories).

use super::appends::Appends;
use super::clean::{now_ms, Retention};
use super::segments::{Damage, Place, Segments};
use crate::error::{Error, Result};
use crate::log::{Record, StoredRecord, TopicInfo};
use parking_lot::{Mutex, RwLock};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Bytes of a topic name kept as they are in its directory name.
const NAME_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'-');
/// Longest directory name made for a topic.
const MAX_DIR_NAME: usize = 200;

/// One topic: its settings and its partitions.
pub(super) struct Topic {
    pub(super) info: TopicInfo,
    pub(super) partitions: Vec<Partition>,
    /// Appends to this topic: `seq` is the log's `append_seq` after the
    /// latest, so waiting for a topic wakes only for its own appends.
    pub(super) appends: Appends,
    /// How long its records are kept (see `clean`).
    pub(super) retention: Mutex<Retention>,
}

/// One partition: its records behind a lock.
pub(super) struct Partition {
    state: RwLock<PartitionState>,
}

/// What the partition lock protects.
struct PartitionState {
    store: Store,
    /// Why appends are refused for good (the topic is being deleted).
    closed: Option<String>,
    /// A write to the files failed (a full disk): the records appended
    /// before it stay in memory, visible, and are written by the next
    /// attempt; new appends are refused until one succeeds.
    failing: bool,
}

/// Where a partition's records are.
enum Store {
    /// Every record; a record's offset is its index.
    Memory(Vec<Record>),
    Disk(Box<Segments>),
}

/// `meta.json` of a topic.
#[derive(Serialize, Deserialize)]
pub(super) struct TopicMeta {
    pub(super) name: String,
    pub(super) partitions: i32,
    pub(super) replicas: i16,
    pub(super) compact: bool,
    /// Retention settings; Kafka's defaults in a `meta.json` without them.
    #[serde(default)]
    pub(super) retention: Retention,
}

impl Topic {
    /// Loads a topic's partitions from its directory (see
    /// `Segments::load`: only their last segments are read).
    pub(super) fn load(path: &Path, meta: TopicMeta) -> Result<Topic> {
        if meta.partitions < 1 {
            return Err(Error::log(format!(
                "{}: topic '{}' has {} partitions",
                path.display(),
                meta.name,
                meta.partitions
            )));
        }
        let mut partitions = Vec::with_capacity(meta.partitions as usize);
        let mirrored = mirrored(&meta.name);
        for p in 0..meta.partitions {
            let place = Place {
                topic: meta.name.clone(),
                partition: p,
            };
            let segments = Segments::load(
                &partition_dir(path, p),
                &legacy_segment_path(path, p),
                place,
                mirrored,
            )?;
            partitions.push(Partition::on_disk(segments));
        }
        Ok(Topic {
            retention: Mutex::new(meta.retention),
            info: meta.into_info(),
            partitions,
            appends: Appends::default(),
        })
    }

    pub(super) fn partition(&self, p: i32) -> Result<&Partition> {
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

    /// Cleans every partition now (see `clean`).
    pub(super) fn clean(&self) -> Result<()> {
        let retention = *self.retention.lock();
        for p in &self.partitions {
            p.clean(&retention, self.info.compact)?;
        }
        Ok(())
    }
}

impl TopicMeta {
    pub(super) fn into_info(self) -> TopicInfo {
        TopicInfo {
            name: self.name,
            partitions: self.partitions,
            replicas: self.replicas,
            compact: self.compact,
        }
    }
}

impl Partition {
    pub(super) fn in_memory() -> Partition {
        Partition::with(Store::Memory(Vec::new()))
    }

    /// A partition stored in `segments`.
    pub(super) fn on_disk(segments: Segments) -> Partition {
        Partition::with(Store::Disk(Box::new(segments)))
    }

    fn with(store: Store) -> Partition {
        Partition {
            state: RwLock::new(PartitionState {
                store,
                closed: None,
                failing: false,
            }),
        }
    }

    /// Appends a record, returning its offset; on disk, the active segment
    /// is rolled once it holds `segment_bytes`. An error means the record
    /// was not appended: it comes back with the error.
    pub(super) fn append(
        &self,
        record: Record,
        segment_bytes: u64,
        topic: &Topic,
    ) -> std::result::Result<i64, (Error, Record)> {
        self.append_as(record, segment_bytes, topic, false)
    }

    /// Appends a record and writes it to the file (with everything before
    /// it) before returning; on an error the record is not in the log,
    /// and no reader saw it.
    pub(super) fn append_written(
        &self,
        record: Record,
        segment_bytes: u64,
        topic: &Topic,
    ) -> Result<i64> {
        self.append_as(record, segment_bytes, topic, true)
            .map_err(|(e, _)| e)
    }

    fn append_as(
        &self,
        record: Record,
        segment_bytes: u64,
        topic: &Topic,
        written: bool,
    ) -> std::result::Result<i64, (Error, Record)> {
        let mut guard = self.state.write();
        let state = &mut *guard;
        let segments = match state.writable(topic) {
            Ok(Some(segments)) => segments,
            Ok(None) => {
                let Store::Memory(records) = &mut state.store else {
                    unreachable!("writable gives segments on disk")
                };
                records.push(record);
                return Ok(records.len() as i64 - 1);
            }
            Err(e) => return Err((e, record)),
        };
        let appended = segments.make_room(segment_bytes).and_then(|()| {
            let mark = segments.mark();
            let offset = segments.push(&record)?;
            if written {
                if let Err(e) = segments.write_out() {
                    segments.retract(mark);
                    return Err(e);
                }
            }
            Ok(offset)
        });
        state.settle(appended, topic).map_err(|e| (e, record))
    }

    /// Up to `max` records from `offset` on.
    pub(super) fn read(
        &self,
        partition: i32,
        offset: i64,
        max: usize,
    ) -> Result<Vec<StoredRecord>> {
        let state = self.state.read();
        match &state.store {
            Store::Memory(records) => {
                let len = records.len();
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(len);
                let end = start.saturating_add(max).min(len);
                Ok(records[start..end]
                    .iter()
                    .zip(start..)
                    .map(|(record, i)| StoredRecord {
                        partition,
                        offset: i as i64,
                        record: record.clone(),
                    })
                    .collect())
            }
            Store::Disk(segments) => segments.read(partition, offset, max),
        }
    }

    /// Applies retention or compaction to the sealed segments now.
    pub(super) fn clean(&self, retention: &Retention, compact: bool) -> Result<()> {
        let mut state = self.state.write();
        if state.closed.is_some() {
            return Ok(());
        }
        match &mut state.store {
            Store::Memory(_) => Ok(()),
            Store::Disk(segments) => segments.clean(retention, compact, now_ms()),
        }
    }

    /// The first offset kept (0 in memory, where nothing is deleted).
    pub(super) fn start_offset(&self) -> i64 {
        match &self.state.read().store {
            Store::Memory(_) => 0,
            Store::Disk(segments) => segments.start,
        }
    }

    /// The damage found in this partition's segments so far.
    pub(super) fn damage(&self) -> Vec<Damage> {
        match &self.state.read().store {
            Store::Memory(_) => Vec::new(),
            Store::Disk(segments) => segments.damage(),
        }
    }

    /// The offset of the next record appended.
    pub(super) fn end_offset(&self) -> i64 {
        match &self.state.read().store {
            Store::Memory(records) => records.len() as i64,
            Store::Disk(segments) => segments.end_offset(),
        }
    }

    /// Refuses appends from now on, dropping what is not yet written (the
    /// topic is being deleted).
    pub(super) fn close(&self, why: String) {
        let mut state = self.state.write();
        state.closed = Some(why);
        match &mut state.store {
            Store::Memory(records) => *records = Vec::new(),
            Store::Disk(segments) => segments.discard(),
        }
    }

    /// Hands buffered records to the operating system (no fsync).
    pub(super) fn write_out(&self) -> Result<()> {
        let mut guard = self.state.write();
        let state = &mut *guard;
        if state.closed.is_some() {
            return Ok(());
        }
        match &mut state.store {
            Store::Memory(_) => Ok(()),
            Store::Disk(segments) => {
                let written = segments.write_out();
                state.failing = written.is_err();
                written.map_err(|e| write_failed(e, &segments.place))
            }
        }
    }

    /// Writes out the buffered records and fsyncs the segment (and its
    /// mirror copy).
    pub(super) fn flush(&self) -> Result<()> {
        let (files, place) = {
            let mut guard = self.state.write();
            let state = &mut *guard;
            if state.closed.is_some() {
                return Ok(());
            }
            let Store::Disk(segments) = &mut state.store else {
                return Ok(());
            };
            if !segments.dirty {
                return Ok(());
            }
            match segments.write_out_for_sync() {
                Ok(files) => {
                    segments.dirty = false;
                    state.failing = false;
                    (files, segments.place.clone())
                }
                Err(e) => {
                    state.failing = true;
                    return Err(write_failed(e, &segments.place));
                }
            }
        };
        // Without the lock: appends go on while the disk works.
        if let Err(e) = files.iter().try_for_each(|file| file.sync_data()) {
            if let Store::Disk(segments) = &mut self.state.write().store {
                segments.dirty = true;
            }
            return Err(write_failed(e.into(), &place));
        }
        Ok(())
    }
}

impl PartitionState {
    /// The segments to append to (None in memory), after writing out what
    /// an earlier failed write left; an error when appends are refused.
    fn writable(&mut self, topic: &Topic) -> Result<Option<&mut Segments>> {
        if let Some(why) = &self.closed {
            return Err(Error::log(format!("cannot append: {why}")));
        }
        let Store::Disk(segments) = &mut self.store else {
            return Ok(None);
        };
        if self.failing {
            segments
                .write_out()
                .map_err(|e| write_failed(e, &segments.place))?;
            self.failing = false;
            tracing::info!(topic = %topic.info.name, partition = segments.place.partition, "writes to the log succeed again");
        }
        Ok(Some(segments))
    }

    /// Finishes an append: runs the cleaner after a roll, or notes a
    /// failed write.
    fn settle(&mut self, appended: Result<i64>, topic: &Topic) -> Result<i64> {
        let Store::Disk(segments) = &mut self.store else {
            return appended;
        };
        match appended {
            Ok(offset) => {
                if segments.rolled {
                    let retention = *topic.retention.lock();
                    if let Err(e) = segments.clean(&retention, topic.info.compact, now_ms()) {
                        tracing::warn!(topic = %topic.info.name, error = %e, "could not clean the log");
                    }
                }
                Ok(offset)
            }
            Err(e) => {
                if matches!(e, Error::Io(_)) {
                    self.failing = true;
                }
                Err(write_failed(e, &segments.place))
            }
        }
    }
}

/// A failed write, naming the partition (and saying what becomes of its
/// records).
fn write_failed(e: Error, place: &Place) -> Error {
    match e {
        Error::Io(io) => Error::log(format!(
            "cannot write to topic '{}' partition {}: {io} (what was appended before is kept \
             and written once the disk takes it again)",
            place.topic, place.partition
        )),
        other => other,
    }
}

impl Drop for PartitionState {
    /// Writes out what is buffered: a log dropped without `flush` loses
    /// nothing to a later crash of the process.
    fn drop(&mut self) {
        if self.closed.is_some() {
            return;
        }
        if let Store::Disk(segments) = &mut self.store {
            if let Err(e) = segments.write_out() {
                tracing::warn!(error = %e, "could not write out a partition's last records");
            }
        }
    }
}

/// The directory name of a topic (see the `embedded` module
/// documentation).
pub(super) fn dir_name(name: &str) -> String {
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

/// Whether a topic's segments are mirrored (kept twice, byte for byte):
/// command topics (`_confluent-ksql-<service>_command_topic`, named by the
/// metastore), which hold the whole catalog.
pub(super) fn mirrored(name: &str) -> bool {
    name.starts_with("_confluent-ksql-") && name.ends_with("_command_topic")
}

/// The directory of a partition's segments.
pub(super) fn partition_dir(topic_dir: &Path, partition: i32) -> PathBuf {
    topic_dir.join(partition.to_string())
}

/// A partition's one segment file in the old layout (moved into the
/// partition directory on open).
pub(super) fn legacy_segment_path(topic_dir: &Path, partition: i32) -> PathBuf {
    topic_dir.join(format!("{partition}.log"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
