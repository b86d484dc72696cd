//! Retention and compaction of the embedded log: old sealed segments
//! deleted by time and by size (never the active one), reads and
//! `earliest` readers starting at the new start offset, compacted
//! segments keeping each key's latest record with offset gaps, tombstones
//! dropped after `delete.retention.ms`, reopening after compaction, and
//! the remains of an interrupted compaction removed on open.

use super::clean::cleaned_path;
use super::segments::log_path;
use super::*;

const SEGMENT: u64 = 4 * 1024;

fn now() -> i64 {
    clean::now_ms()
}

fn config(retention: Retention) -> EmbeddedConfig {
    EmbeddedConfig {
        segment_bytes: SEGMENT,
        retention,
    }
}

/// Kafka's retention: 7 days.
fn seven_days() -> Retention {
    Retention {
        retention_ms: 7 * 24 * 60 * 60 * 1000,
        ..Retention::default()
    }
}

fn keep_forever() -> Retention {
    Retention {
        retention_ms: -1,
        ..Retention::default()
    }
}

fn rec(key: &str, value: Option<&str>, timestamp: i64) -> Record {
    Record {
        key: Some(key.as_bytes().to_vec()),
        value: value.map(|v| format!("{v}-{}", "x".repeat(100)).into_bytes()),
        timestamp,
        headers: Vec::new(),
    }
}

fn part_dir(dir: &Path, topic: &str) -> PathBuf {
    partition_dir(&dir.join("topics").join(dir_name(topic)), 0)
}

fn segment_bases(dir: &Path, topic: &str) -> Vec<i64> {
    let mut bases: Vec<i64> = fs::read_dir(part_dir(dir, topic))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".log").map(|s| s.parse().unwrap())
        })
        .collect();
    bases.sort_unstable();
    bases
}

fn all(log: &EmbeddedLog, topic: &str, from: i64) -> Vec<StoredRecord> {
    log.read(topic, 0, from, usize::MAX).unwrap()
}

fn stream(compact: bool) -> TopicConfig {
    TopicConfig {
        compact,
        ..TopicConfig::default()
    }
}

#[test]
fn retention_by_time_deletes_only_old_sealed_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open_with(tmp.path(), config(seven_days())).unwrap();
    log.create_topic("t", &stream(false)).unwrap();
    // 200 records from 1970, then 200 from now.
    for i in 0..200 {
        log.append("t", None, rec(&format!("k{i}"), Some("old"), 1_000 + i))
            .unwrap();
    }
    let first_new = log.end_offset("t", 0).unwrap();
    for i in 0..200 {
        log.append("t", None, rec(&format!("k{i}"), Some("new"), now()))
            .unwrap();
    }
    log.clean().unwrap();
    let start = log.start_offset("t", 0).unwrap();
    assert!(start > 0, "old segments were deleted");
    assert!(start <= first_new, "no new record was deleted: {start}");
    let bases = segment_bases(tmp.path(), "t");
    assert_eq!(bases[0], start);
    // Every segment left but the one straddling old and new is new.
    let got = all(&log, "t", 0);
    assert_eq!(got[0].offset, start, "a read below the start reads from it");
    assert_eq!(got.len() as i64, 400 - start);
    assert!(got.windows(2).all(|w| w[1].offset == w[0].offset + 1));
    assert_eq!(got.last().unwrap().offset, 399);
    // It survives reopening.
    drop(log);
    let log = EmbeddedLog::open_with(tmp.path(), config(seven_days())).unwrap();
    assert_eq!(log.start_offset("t", 0).unwrap(), start);
    assert_eq!(all(&log, "t", 0).len() as i64, 400 - start);
}

#[test]
fn retention_never_deletes_the_active_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open_with(tmp.path(), config(seven_days())).unwrap();
    log.create_topic("t", &stream(false)).unwrap();
    for i in 0..100 {
        log.append("t", None, rec("k", Some("old"), i)).unwrap();
    }
    log.clean().unwrap();
    let end = log.end_offset("t", 0).unwrap();
    let bases = segment_bases(tmp.path(), "t");
    assert_eq!(bases.len(), 1, "only the active segment is left");
    assert_eq!(log.start_offset("t", 0).unwrap(), bases[0]);
    assert_eq!(all(&log, "t", 0).len() as i64, end - bases[0]);
    assert!(end > bases[0], "the active segment keeps its old records");
}

#[test]
fn retention_by_bytes_keeps_the_partition_under_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let limit = 3 * SEGMENT as i64;
    let retention = Retention {
        retention_ms: -1,
        retention_bytes: limit,
        ..Retention::default()
    };
    let log = EmbeddedLog::open_with(tmp.path(), config(keep_forever())).unwrap();
    log.create_topic("t", &stream(false)).unwrap();
    log.set_retention("t", retention).unwrap();
    for i in 0..1_000 {
        log.append("t", None, rec(&format!("k{i}"), Some("v"), now()))
            .unwrap();
    }
    log.hand_off("t").unwrap();
    let bases = segment_bases(tmp.path(), "t");
    let dir = part_dir(tmp.path(), "t");
    let sizes: Vec<u64> = bases[..bases.len() - 1]
        .iter()
        .map(|&b| fs::metadata(log_path(&dir, b)).unwrap().len())
        .collect();
    // As in Kafka: the oldest segment goes while the partition without it
    // still holds the limit.
    let sealed: u64 = sizes.iter().sum();
    assert!(sealed - sizes[0] < limit as u64, "{sizes:?}");
    let start = log.start_offset("t", 0).unwrap();
    assert_eq!(start, bases[0]);
    assert!(start > 0);
    assert_eq!(log.end_offset("t", 0).unwrap(), 1_000);
    let got = all(&log, "t", 0);
    assert_eq!(got[0].offset, start);
    assert_eq!(got.len() as i64, 1_000 - start);
    // The setting is kept in meta.json.
    drop(log);
    let log = EmbeddedLog::open(tmp.path()).unwrap();
    assert_eq!(log.retention("t").unwrap(), retention);
}

#[test]
fn command_topics_are_never_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open_with(tmp.path(), config(seven_days())).unwrap();
    let name = "_confluent-ksql-x_command_topic";
    log.create_topic(name, &stream(false)).unwrap();
    for i in 0..200 {
        log.append(name, None, rec("k", Some("old"), i)).unwrap();
    }
    log.clean().unwrap();
    assert_eq!(log.start_offset(name, 0).unwrap(), 0);
    assert_eq!(all(&log, name, 0).len(), 200);
}

/// Appends 10 rounds of keys k0..k9 (recent timestamps), then enough of
/// another key to seal them all; returns each key's latest offset.
fn fill_compacted(log: &EmbeddedLog) -> BTreeMap<String, i64> {
    log.create_topic("c", &stream(true)).unwrap();
    let mut latest = BTreeMap::new();
    for round in 0..10 {
        for k in 0..10 {
            let key = format!("k{k}");
            let (_, o) = log
                .append("c", None, rec(&key, Some(&format!("{key}-{round}")), now()))
                .unwrap();
            latest.insert(key, o);
        }
    }
    latest
}

fn seal(log: &EmbeddedLog, topic: &str) {
    for _ in 0..60 {
        log.append(topic, None, rec("filler", Some("f"), now()))
            .unwrap();
    }
}

#[test]
fn compaction_keeps_each_keys_latest_record_with_offset_gaps() {
    let tmp = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open_with(tmp.path(), config(seven_days())).unwrap();
    let latest = fill_compacted(&log);
    seal(&log, "c");
    log.clean().unwrap();
    let check = |log: &EmbeddedLog| {
        let got = all(log, "c", 0);
        let ks: Vec<_> = got
            .iter()
            .filter(|r| r.record.key.as_deref() != Some(b"filler".as_slice()))
            .collect();
        assert_eq!(ks.len(), 10, "one record per key");
        for r in &ks {
            let key = String::from_utf8(r.record.key.clone().unwrap()).unwrap();
            assert_eq!(r.offset, latest[&key]);
            let value = String::from_utf8(r.record.value.clone().unwrap()).unwrap();
            assert!(value.starts_with(&format!("{key}-9-")), "{value}");
        }
        assert!(got.windows(2).all(|w| w[1].offset > w[0].offset));
        assert!(got.windows(2).any(|w| w[1].offset > w[0].offset + 1));
        // Offsets are kept: a read from a compacted-away offset gets the
        // next record kept.
        let from = log.read("c", 0, 5, 1).unwrap();
        assert_eq!(from[0].offset, latest["k0"]);
        assert_eq!(log.start_offset("c", 0).unwrap(), 0);
        assert_eq!(log.end_offset("c", 0).unwrap(), 160);
    };
    check(&log);
    assert!(log.damage().is_empty(), "{:?}", log.damage());
    // Compacting again changes nothing; reopening reads the same.
    log.clean().unwrap();
    check(&log);
    drop(log);
    let log = EmbeddedLog::open(tmp.path()).unwrap();
    check(&log);
    assert!(log.damage().is_empty(), "{:?}", log.damage());
}

#[test]
fn compaction_drops_tombstones_after_delete_retention() {
    let tmp = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open_with(tmp.path(), config(seven_days())).unwrap();
    log.create_topic("c", &stream(true)).unwrap();
    for k in ["old", "new", "kept"] {
        log.append("c", None, rec(k, Some("v"), now())).unwrap();
    }
    // A tombstone from long ago, one from now.
    log.append("c", None, rec("old", None, 1_000)).unwrap();
    log.append("c", None, rec("new", None, now())).unwrap();
    seal(&log, "c");
    log.clean().unwrap();
    let keys: Vec<(String, bool)> = all(&log, "c", 0)
        .into_iter()
        .filter(|r| r.record.key.as_deref() != Some(b"filler".as_slice()))
        .map(|r| {
            (
                String::from_utf8(r.record.key.unwrap()).unwrap(),
                r.record.value.is_some(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![("kept".to_string(), true), ("new".to_string(), false)]
    );
}

#[test]
fn an_interrupted_compaction_leaves_the_old_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open_with(tmp.path(), config(seven_days())).unwrap();
    fill_compacted(&log);
    seal(&log, "c");
    log.flush().unwrap();
    let before = all(&log, "c", 0);
    drop(log);
    // A crash while the rewrite of the first segment was being written.
    let dir = part_dir(tmp.path(), "c");
    let half = cleaned_path(&log_path(&dir, 0));
    fs::write(&half, b"SLUSEG\x00\x02\x10\x00").unwrap();
    let log = EmbeddedLog::open(tmp.path()).unwrap();
    assert!(!half.exists(), "the half-written rewrite was removed");
    assert_eq!(all(&log, "c", 0), before);
    // The segments were compacted as they were sealed: cleaning again
    // changes nothing.
    assert!(before.len() < 160);
    log.clean().unwrap();
    assert_eq!(all(&log, "c", 0), before);
}

#[test]
fn reads_seek_into_compacted_segments_through_their_index() {
    let tmp = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open_with(
        tmp.path(),
        EmbeddedConfig {
            segment_bytes: 64 * 1024,
            retention: Retention::default(),
        },
    )
    .unwrap();
    log.create_topic("c", &stream(true)).unwrap();
    // Unique keys, but every 7th record updates the one key "dup".
    for i in 0..2_000 {
        let key = if i % 7 == 0 {
            "dup".to_string()
        } else {
            format!("k{i}")
        };
        log.append("c", None, rec(&key, Some(&format!("v{i}")), now()))
            .unwrap();
    }
    log.flush().unwrap();
    let kept = all(&log, "c", 0);
    assert!(kept.len() < 2_000, "compacted as segments were sealed");
    let dir = part_dir(tmp.path(), "c");
    let index = fs::metadata(super::segments::index_path(&dir, 0)).unwrap();
    assert!(index.len() > 0, "the compacted segment has index entries");
    for offset in 0..2_000 {
        let got = log.read("c", 0, offset, 1).unwrap();
        let want = kept.iter().find(|r| r.offset >= offset).unwrap();
        assert_eq!(&got[0], want, "reading from {offset}");
    }
    assert!(log.damage().is_empty(), "{:?}", log.damage());
}
