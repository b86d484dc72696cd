//! Damage to the embedded log's files: a bad byte in the middle of a
//! sealed or the active segment is reported and skipped, losing only its
//! record, while a bad end of the last segment is a torn write and is cut
//! off; the mirrored command topic and the two offsets files lose nothing
//! to one bad byte; a commit lost from both offsets copies is refused.

use super::segments::{log_path, mirror_path};
use super::*;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;

const SMALL: u64 = 16 * 1024;
const COUNT: i64 = 600;

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

fn record(i: i64) -> Record {
    Record {
        key: Some(format!("key-{i}").into_bytes()),
        value: Some(format!("{i:06}-{}", "v".repeat(180)).into_bytes()),
        timestamp: 1_000 + i,
        headers: Vec::new(),
    }
}

fn part_dir(dir: &Path, topic: &str) -> PathBuf {
    partition_dir(&dir.join("topics").join(dir_name(topic)), 0)
}

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

/// A log with `COUNT` records in partition 0 of `topic`.
fn filled(dir: &Path, topic: &str) {
    let log = EmbeddedLog::open_with(dir, small()).unwrap();
    log.create_topic(topic, &TopicConfig::default()).unwrap();
    for i in 0..COUNT {
        assert_eq!(log.append(topic, Some(0), record(i)).unwrap(), (0, i));
    }
    log.flush().unwrap();
}

/// Flips every bit of the byte at `pos` of `path`.
fn flip(path: &Path, pos: u64) {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, pos).unwrap();
    file.write_all_at(&[byte[0] ^ 0xff], pos).unwrap();
}

fn middle(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len() / 2
}

/// Every record of partition 0, read in batches of 7.
fn read_all(log: &EmbeddedLog, topic: &str) -> Vec<StoredRecord> {
    let mut all: Vec<StoredRecord> = Vec::new();
    let mut from = 0;
    loop {
        let got = log.read(topic, 0, from, 7).unwrap();
        let Some(last) = got.last() else {
            return all;
        };
        from = last.offset + 1;
        all.extend(got);
    }
}

/// Checks that `got` holds every record below `end` but those in `lost`.
fn check_all_but(got: &[StoredRecord], end: i64, lost: &[i64]) {
    let offsets: Vec<i64> = got.iter().map(|r| r.offset).collect();
    let expected: Vec<i64> = (0..end).filter(|o| !lost.contains(o)).collect();
    assert_eq!(offsets, expected);
    for r in got {
        assert_eq!(r.record, record(r.offset));
    }
}

fn lost_offsets(damage: &[Damage]) -> Vec<i64> {
    damage.iter().flat_map(|d| d.lost.clone()).collect()
}

#[test]
fn a_bad_byte_in_a_sealed_segment_loses_one_record_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), "t");
    let pdir = part_dir(dir.path(), "t");
    let found = bases(&pdir);
    assert!(found.len() > 4, "{found:?}");
    let sealed = log_path(&pdir, found[2]);
    flip(&sealed, middle(&sealed));
    let before = fs::read(&sealed).unwrap();

    let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
    assert_eq!(log.end_offset("t", 0).unwrap(), COUNT);
    let got = read_all(&log, "t");
    let damage = log.damage();
    assert_eq!(damage.len(), 1, "{damage:?}");
    let d = &damage[0];
    assert_eq!(
        (d.topic.as_str(), d.partition, &d.segment),
        ("t", 0, &sealed)
    );
    assert!(!d.repaired);
    assert_eq!(d.lost.end - d.lost.start, 1, "{d:?}");
    assert!(d.lost.start > found[2] && d.lost.end < found[3], "{d:?}");
    assert!(d.bytes.contains(&middle(&sealed)), "{d:?}");
    check_all_but(&got, COUNT, &lost_offsets(&damage));

    // A read from the lost offset starts at the next record; a second read
    // reports nothing new; appends go on at the end.
    let lost = d.lost.start;
    assert_eq!(log.read("t", 0, lost, 1).unwrap()[0].offset, lost + 1);
    assert_eq!(log.damage().len(), 1);
    assert_eq!(log.append("t", Some(0), record(COUNT)).unwrap(), (0, COUNT));
    // The damaged file is left as it was.
    assert_eq!(fs::read(&sealed).unwrap(), before);
}

#[test]
fn a_bad_byte_in_the_active_segment_is_reported_on_open_and_nothing_after_it_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), "t");
    let pdir = part_dir(dir.path(), "t");
    let active = log_path(&pdir, *bases(&pdir).last().unwrap());
    let len = fs::metadata(&active).unwrap().len();
    // A length byte of a frame header: the frame's extent is wrong.
    flip(&active, 8 + 2);
    {
        let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
        let damage = log.damage();
        assert_eq!(damage.len(), 1, "reported on open: {damage:?}");
        assert_eq!(damage[0].lost.end - damage[0].lost.start, 1);
        assert_eq!(fs::metadata(&active).unwrap().len(), len);
        assert_eq!(log.end_offset("t", 0).unwrap(), COUNT);
        check_all_but(&read_all(&log, "t"), COUNT, &lost_offsets(&damage));
        assert_eq!(log.append("t", Some(0), record(COUNT)).unwrap(), (0, COUNT));
        log.flush().unwrap();
    }
    // And in the middle of a record.
    flip(&active, middle(&active));
    let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
    let damage = log.damage();
    assert_eq!(damage.len(), 2, "{damage:?}");
    assert_eq!(log.end_offset("t", 0).unwrap(), COUNT + 1);
    check_all_but(&read_all(&log, "t"), COUNT + 1, &lost_offsets(&damage));
    assert_eq!(
        log.append("t", Some(0), record(COUNT + 1)).unwrap(),
        (0, COUNT + 1)
    );
}

#[test]
fn a_bad_last_frame_is_a_torn_write_and_is_cut_without_a_damage_report() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), "t");
    let pdir = part_dir(dir.path(), "t");
    let active = log_path(&pdir, *bases(&pdir).last().unwrap());
    let len = fs::metadata(&active).unwrap().len();
    flip(&active, len - 5);
    let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
    assert!(log.damage().is_empty());
    assert!(fs::metadata(&active).unwrap().len() < len);
    assert_eq!(log.end_offset("t", 0).unwrap(), COUNT - 1);
    assert_eq!(
        log.append("t", Some(0), record(COUNT - 1)).unwrap(),
        (0, COUNT - 1)
    );
    check_all_but(&read_all(&log, "t"), COUNT, &[]);
}

#[test]
fn the_command_topic_is_mirrored_and_loses_nothing_to_a_bad_byte() {
    let topic = "_confluent-ksql-svc_command_topic".to_string();
    assert!(EmbeddedLog::mirrors(&topic));
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), &topic);
    let pdir = part_dir(dir.path(), &topic);
    let found = bases(&pdir);
    let sealed = log_path(&pdir, found[1]);
    let active = log_path(&pdir, *found.last().unwrap());
    assert!(mirror_path(&pdir, found[1]).exists());
    // Its very start (the magic and first frame) and the middle of a
    // sealed segment; the last frame of the active one in the mirror.
    flip(&active, 3);
    flip(&active, 12);
    flip(&sealed, middle(&sealed));
    let mirror = mirror_path(&pdir, *found.last().unwrap());
    let mlen = fs::metadata(&mirror).unwrap().len();
    flip(&mirror, mlen - 5);
    {
        let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
        assert_eq!(log.end_offset(&topic, 0).unwrap(), COUNT);
        check_all_but(&read_all(&log, &topic), COUNT, &[]);
        let damage = log.damage();
        assert!(
            damage.iter().all(|d| d.repaired && d.lost.is_empty()),
            "{damage:?}"
        );
        assert_eq!(damage.len(), 1, "{damage:?}");
        assert_eq!(
            log.append(&topic, Some(0), record(COUNT)).unwrap(),
            (0, COUNT)
        );
    }
    // The active segment's copies were repaired on open.
    assert_eq!(fs::read(&active).unwrap(), fs::read(&mirror).unwrap());
    let log = EmbeddedLog::open_with(dir.path(), small()).unwrap();
    check_all_but(&read_all(&log, &topic), COUNT + 1, &[]);
}

#[test]
fn the_offsets_files_lose_no_commit_to_a_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic("t", &TopicConfig::default()).unwrap();
        for i in 0..20 {
            log.commit("a", "t", 0, i).unwrap();
            log.commit("b", "t", 0, 100 + i).unwrap();
        }
        log.flush().unwrap();
    }
    let primary = dir.path().join("offsets.log");
    let mirror = dir.path().join("offsets.mirror");
    let len = fs::metadata(&primary).unwrap().len();
    assert_eq!(fs::read(&primary).unwrap(), fs::read(&mirror).unwrap());
    // The last commit of "b" in one copy, a middle one of "a" in the other.
    flip(&primary, len - 3);
    flip(&mirror, len / 2);
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert_eq!(log.committed("a", "t", 0).unwrap(), Some(19));
        assert_eq!(log.committed("b", "t", 0).unwrap(), Some(119));
        log.commit("a", "t", 0, 20).unwrap();
    }
    // Rewritten on open: both copies are whole again.
    assert_eq!(fs::read(&primary).unwrap(), fs::read(&mirror).unwrap());
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(log.committed("a", "t", 0).unwrap(), Some(20));
    assert_eq!(log.committed("b", "t", 0).unwrap(), Some(119));
}

#[test]
fn a_commit_lost_from_both_offsets_copies_is_refused_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic("t", &TopicConfig::default()).unwrap();
        log.commit("a", "t", 0, 5).unwrap();
        log.commit("a", "t", 0, 6).unwrap();
        log.commit("b", "t", 0, 7).unwrap();
        log.flush().unwrap();
    }
    // The second commit of "a", in both copies.
    let primary = dir.path().join("offsets.log");
    let frames = fs::read(&primary).unwrap();
    let first = 8 + 8 + u32::from_le_bytes(frames[8..12].try_into().unwrap()) as u64;
    for name in ["offsets.log", "offsets.mirror"] {
        flip(&dir.path().join(name), first + 20);
    }
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert!(matches!(log.committed("a", "t", 0), Err(Error::Log(_))));
    assert_eq!(log.committed("b", "t", 0).unwrap(), Some(7));
    assert_eq!(log.committed("new", "t", 0).unwrap(), None);
    // A new commit settles it.
    log.commit("a", "t", 0, 9).unwrap();
    assert_eq!(log.committed("a", "t", 0).unwrap(), Some(9));
}

#[test]
fn an_offsets_file_of_the_older_format_is_read_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic("t", &TopicConfig::default()).unwrap();
    }
    // Two commits of group "g" in the older format: no sequence numbers.
    let mut bytes = b"SLUOFS\x00\x01".to_vec();
    for offset in [3i64, 4] {
        let mut frame = Vec::new();
        super::format::push_frame(&mut frame, |buf| {
            buf.push(0);
            super::format::put_str(buf, "g")?;
            super::format::put_str(buf, "t")?;
            buf.extend_from_slice(&0i32.to_le_bytes());
            buf.extend_from_slice(&offset.to_le_bytes());
            Ok(())
        })
        .unwrap();
        bytes.extend(frame);
    }
    fs::write(dir.path().join("offsets.log"), bytes).unwrap();
    fs::remove_file(dir.path().join("offsets.mirror")).unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(log.committed("g", "t", 0).unwrap(), Some(4));
    assert!(dir.path().join("offsets.mirror").exists());
    drop(log);
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(log.committed("g", "t", 0).unwrap(), Some(4));
}
