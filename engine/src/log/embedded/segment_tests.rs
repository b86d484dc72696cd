//! The embedded log's segments through the `Log` trait: rolling, reads that
//! span segments or start inside one (through its index), reads of records
//! not yet written, reopening after rolling, torn tails of the last segment,
//! damaged indexes, and moving the old one-file layout into segments.

use super::format::{frame_at, record_offset};
use super::segments::{index_path, log_path};
use super::*;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;

/// Small segments, so that a few thousand records roll many times.
const SMALL: u64 = 64 * 1024;
/// Records appended by most tests here: ~200 bytes each, ~16 MiB / 64 KiB
/// per segment.
const COUNT: i64 = 3_000;

fn small() -> EmbeddedConfig {
    EmbeddedConfig {
        segment_bytes: SMALL,
        // The records' timestamps are from 1970: kept forever here.
        retention: Retention {
            retention_ms: -1,
            ..Retention::default()
        },
    }
}

fn value(i: i64) -> String {
    format!("{i:06}-{}", "v".repeat(180))
}

fn record(i: i64) -> Record {
    Record {
        key: Some(format!("key-{i}").into_bytes()),
        value: Some(value(i).into_bytes()),
        timestamp: 1_000 + i,
        headers: Vec::new(),
    }
}

fn part_dir(dir: &Path, topic: &str, partition: i32) -> PathBuf {
    partition_dir(&dir.join("topics").join(dir_name(topic)), partition)
}

/// The base offsets of a partition's segment files.
fn bases(dir: &Path) -> Vec<i64> {
    let mut bases: Vec<i64> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".log").map(|b| b.parse().unwrap())
        })
        .collect();
    bases.sort();
    bases
}

/// Checks that `got` are the records `from..from + len`.
fn check(got: &[StoredRecord], from: i64, len: usize) {
    assert_eq!(got.len(), len, "records from {from}");
    for (i, r) in got.iter().enumerate() {
        let offset = from + i as i64;
        assert_eq!(r.offset, offset);
        assert_eq!(r.record, record(offset));
    }
}

/// A log with `COUNT` records in partition 0 of "t" (1 partition).
fn filled(dir: &Path) -> EmbeddedLog {
    let log = EmbeddedLog::open_with(dir, small()).unwrap();
    log.create_topic("t", &TopicConfig::default()).unwrap();
    for i in 0..COUNT {
        assert_eq!(log.append("t", Some(0), record(i)).unwrap(), (0, i));
    }
    log
}

/// Reads the whole partition in batches of `batch`.
fn read_all(log: &EmbeddedLog, batch: usize) -> Vec<StoredRecord> {
    let mut all = Vec::new();
    loop {
        let got = log.read("t", 0, all.len() as i64, batch).unwrap();
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}

#[test]
fn segments_roll_and_reads_span_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = filled(dir.path());
    let pdir = part_dir(dir.path(), "t", 0);
    let found = bases(&pdir);
    assert!(found.len() > 5, "{found:?}");
    assert_eq!(found[0], 0);
    for pair in found.windows(2) {
        let size = fs::metadata(log_path(&pdir, pair[0])).unwrap().len();
        assert!((SMALL..SMALL + 1024).contains(&size), "{size}");
    }
    assert_eq!(log.end_offset("t", 0).unwrap(), COUNT);
    // Batches that end inside segments and cross into the next ones.
    check(&read_all(&log, 97), 0, COUNT as usize);
    check(&log.read("t", 0, 0, usize::MAX).unwrap(), 0, COUNT as usize);
    // Reads starting anywhere: at, just before and just after a segment's
    // base, and inside segments (sought through their indexes).
    let mut starts: Vec<i64> = (0..COUNT).step_by(37).collect();
    for &base in &found[1..] {
        starts.extend([base - 1, base, base + 1]);
    }
    for from in starts {
        let want = 5.min((COUNT - from) as usize);
        check(&log.read("t", 0, from, 5).unwrap(), from, want);
    }
    assert!(log.read("t", 0, COUNT, 10).unwrap().is_empty());
    assert!(log.read("t", 0, COUNT + 100, 10).unwrap().is_empty());
    assert!(log.read("t", 0, 10, 0).unwrap().is_empty());
}

#[test]
fn index_entries_point_at_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = filled(dir.path());
    log.flush().unwrap();
    let pdir = part_dir(dir.path(), "t", 0);
    let mut entries = 0;
    for base in bases(&pdir) {
        let segment = fs::read(log_path(&pdir, base)).unwrap();
        let index = fs::read(index_path(&pdir, base)).unwrap();
        assert_eq!(index.len() % 8, 0);
        for entry in index.chunks(8) {
            let rel = u32::from_le_bytes(entry[..4].try_into().unwrap());
            let pos = u32::from_le_bytes(entry[4..].try_into().unwrap()) as usize;
            let (payload, _) = frame_at(&segment[pos..], &String::new).unwrap().unwrap();
            assert_eq!(record_offset(payload), Some(base + i64::from(rel)));
            entries += 1;
        }
    }
    // About one entry per 4 KiB of records.
    assert!(entries > 100, "{entries} index entries");
}

#[test]
fn records_not_yet_written_are_read_from_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    log.create_topic("t", &TopicConfig::default()).unwrap();
    for i in 0..3 {
        log.append("t", None, record(i)).unwrap();
    }
    // Still buffered: the segment holds its magic only.
    let seg = segments::log_path(&part_dir(dir.path(), "t", 0), 0);
    assert_eq!(fs::metadata(&seg).unwrap().len(), 8);
    check(&log.read("t", 0, 0, 10).unwrap(), 0, 3);
    check(&log.read("t", 0, 1, 10).unwrap(), 1, 2);
    log.hand_off("t").unwrap();
    assert!(fs::metadata(&seg).unwrap().len() > 8);
    log.append("t", None, record(3)).unwrap();
    // Half from the file, half from the tail.
    check(&log.read("t", 0, 1, 10).unwrap(), 1, 3);
}

#[test]
fn a_reopened_log_continues_after_its_last_segment() {
    let dir = tempfile::tempdir().unwrap();
    let pdir = part_dir(dir.path(), "t", 0);
    let before = {
        let log = filled(dir.path());
        log.commit("g", "t", 0, 1_234).unwrap();
        bases(&pdir)
        // Dropped without flush.
    };
    {
        let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
        assert_eq!(bases(&pdir), before);
        assert_eq!(log.end_offset("t", 0).unwrap(), COUNT);
        assert_eq!(log.committed("g", "t", 0).unwrap(), Some(1_234));
        check(&read_all(&log, 250), 0, COUNT as usize);
        for i in COUNT..2 * COUNT {
            assert_eq!(log.append("t", None, record(i)).unwrap(), (0, i));
        }
        log.flush().unwrap();
    }
    let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
    assert!(bases(&pdir).len() > before.len());
    assert_eq!(log.end_offset("t", 0).unwrap(), 2 * COUNT);
    check(&read_all(&log, 1_000), 0, 2 * COUNT as usize);
    // A reader left far behind.
    check(&log.read("t", 0, 7, 3).unwrap(), 7, 3);
}

#[test]
fn a_torn_tail_of_the_last_segment_is_cut_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let pdir = part_dir(dir.path(), "t", 0);
    drop(filled(dir.path()));
    let found = bases(&pdir);
    let last = log_path(&pdir, *found.last().unwrap());
    let len = fs::metadata(&last).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    {
        let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
        assert_eq!(log.end_offset("t", 0).unwrap(), COUNT - 1);
        check(&read_all(&log, 500), 0, COUNT as usize - 1);
        assert_eq!(
            log.append("t", None, record(COUNT - 1)).unwrap(),
            (0, COUNT - 1)
        );
    }
    // A segment rolled just before a crash: only its magic, or less.
    let next = log_path(&pdir, COUNT);
    fs::write(&next, b"SLU").unwrap();
    let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
    assert_eq!(log.end_offset("t", 0).unwrap(), COUNT);
    check(&read_all(&log, 500), 0, COUNT as usize);
    assert_eq!(log.append("t", None, record(COUNT)).unwrap(), (0, COUNT));
    check(&log.read("t", 0, COUNT - 2, 10).unwrap(), COUNT - 2, 3);
}

#[test]
fn damaged_or_missing_indexes_only_slow_reads_down() {
    let dir = tempfile::tempdir().unwrap();
    let pdir = part_dir(dir.path(), "t", 0);
    drop(filled(dir.path()));
    let found = bases(&pdir);
    // Entries pointing into the middle of frames, and no index at all.
    let bad = index_path(&pdir, found[1]);
    let len = fs::metadata(&bad).unwrap().len();
    let file = OpenOptions::new().write(true).open(&bad).unwrap();
    for i in 0..len / 8 {
        file.write_all_at(&((i * 1000 + 3) as u32).to_le_bytes(), i * 8 + 4)
            .unwrap();
    }
    fs::remove_file(index_path(&pdir, found[2])).unwrap();
    let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
    for from in (found[1]..found[3]).step_by(11) {
        check(&log.read("t", 0, from, 4).unwrap(), from, 4);
    }
}

#[test]
fn the_old_one_file_layout_becomes_the_first_segment() {
    let dir = tempfile::tempdir().unwrap();
    let topic_dir = dir.path().join("topics").join(dir_name("t"));
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic("t", &config_of(2)).unwrap();
        for i in 0..10 {
            log.append("t", Some((i % 2) as i32), record(i)).unwrap();
        }
    }
    // What an older Sluice left: `<p>.log`, the same frames, no directory.
    for p in 0..2 {
        let pdir = partition_dir(&topic_dir, p);
        fs::rename(log_path(&pdir, 0), topic_dir.join(format!("{p}.log"))).unwrap();
        fs::remove_dir_all(&pdir).unwrap();
    }
    {
        let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
        for p in 0..2 {
            assert!(!topic_dir.join(format!("{p}.log")).exists());
            let got = log.read("t", p, 0, 100).unwrap();
            let offsets: Vec<i64> = got.iter().map(|r| r.offset).collect();
            assert_eq!(offsets, [0, 1, 2, 3, 4]);
        }
        assert_eq!(log.append("t", Some(0), record(10)).unwrap(), (0, 5));
    }
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(log.end_offset("t", 0).unwrap(), 6);
    assert_eq!(log.end_offset("t", 1).unwrap(), 5);
}

#[test]
fn many_partitions_roll_independently() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
        log.create_topic("t", &config_of(3)).unwrap();
        for i in 0..COUNT {
            log.append("t", Some((i % 3) as i32), record(i)).unwrap();
        }
    }
    let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
    for p in 0..3 {
        assert_eq!(log.end_offset("t", p).unwrap(), COUNT / 3);
        assert!(bases(&part_dir(dir.path(), "t", p)).len() > 1);
        let got = log.read("t", p, 0, usize::MAX).unwrap();
        assert_eq!(got.len(), (COUNT / 3) as usize);
        for (j, r) in got.iter().enumerate() {
            assert_eq!(r.offset, j as i64);
            assert_eq!(r.record, record(3 * j as i64 + i64::from(p)));
        }
    }
}

fn config_of(partitions: i32) -> TopicConfig {
    TopicConfig {
        partitions,
        ..TopicConfig::default()
    }
}

#[test]
fn a_segment_whose_creation_was_cut_short_is_removed_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let pdir = part_dir(dir.path(), "t", 0);
    let before = {
        let log = filled(dir.path());
        log.flush().unwrap();
        bases(&pdir)
    };
    // A roll that created the next segment's file but could not write its
    // first bytes (a crash, a full disk).
    let next = COUNT + 10;
    fs::File::create(log_path(&pdir, next)).unwrap();
    fs::File::create(index_path(&pdir, next)).unwrap();

    let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
    assert_eq!(bases(&pdir), before);
    assert!(!index_path(&pdir, next).exists());
    assert_eq!(log.end_offset("t", 0).unwrap(), COUNT);
    check(&read_all(&log, 500), 0, COUNT as usize);
    assert_eq!(log.append("t", None, record(COUNT)).unwrap(), (0, COUNT));
}

#[test]
fn a_record_appended_and_written_at_once_is_readable_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = filled(dir.path());
        assert_eq!(
            log.append_written("t", None, record(COUNT)).unwrap(),
            (0, COUNT)
        );
        // Not flushed, not dropped in order: the file has it already.
        std::mem::forget(log);
    }
    // The forgotten log's lock is still held by this process's open file;
    // the lock file is taken over as after a crash.
    let _ = fs::remove_file(dir.path().join("LOCK"));
    let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
    assert_eq!(log.end_offset("t", 0).unwrap(), COUNT + 1);
    check(&read_all(&log, 700), 0, COUNT as usize + 1);
}
