//! A topic and its partitions: the records in memory, each partition's
//! segment writer, loading a topic from its directory, and where a topic
//! lives on disk (`meta.json`, directory names, segment paths).

use super::appends::Appends;
use super::format::{
    decode_record, encode_frame, encode_record, scan_file, SEGMENT_MAGIC, WRITE_BUFFER,
};
use crate::error::{Error, Result};
use crate::log::{Record, TopicInfo};
use parking_lot::RwLock;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
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
}

/// One partition: its records behind a lock, plus a handle on its segment
/// file to fsync without holding that lock.
pub(super) struct Partition {
    pub(super) state: RwLock<PartitionState>,
    sync_file: Option<File>,
}

/// What the partition lock protects.
pub(super) struct PartitionState {
    /// Every record; a record's offset is its index.
    pub(super) records: Vec<Record>,
    /// The segment, None in memory or once closed.
    pub(super) writer: Option<BufWriter<File>>,
    /// Reused buffer for encoding a frame.
    scratch: Vec<u8>,
    /// Appended to since the last flush.
    pub(super) dirty: bool,
    /// Why appends are refused (topic deleted, earlier write failed).
    pub(super) closed: Option<String>,
}

/// `meta.json` of a topic.
#[derive(Serialize, Deserialize)]
pub(super) struct TopicMeta {
    pub(super) name: String,
    pub(super) partitions: i32,
    pub(super) replicas: i16,
    pub(super) compact: bool,
}

impl Topic {
    /// Loads a topic's segments from its directory.
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
    pub(super) fn with_file(records: Vec<Record>, file: File) -> Result<Partition> {
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
    pub(super) fn append(&self, record: Record) -> Result<i64> {
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
    pub(super) fn write_out(&self) -> Result<()> {
        let mut state = self.state.write();
        if let Some(writer) = state.writer.as_mut() {
            if !writer.buffer().is_empty() {
                writer.flush()?;
            }
        }
        Ok(())
    }

    /// Writes out the buffered records and fsyncs the segment.
    pub(super) fn flush(&self) -> Result<()> {
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

pub(super) fn segment_path(topic_dir: &Path, partition: i32) -> PathBuf {
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
