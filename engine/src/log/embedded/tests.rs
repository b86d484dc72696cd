//! The embedded log's tests, through the `Log` trait: records and their
//! partitions, topic creation and deletion, committed offsets, reopening,
//! torn and corrupt files, waiting for appends, concurrency. Segments,
//! their rolling and indexes are in `segment_tests`.

use super::format::SEGMENT_MAGIC;
use super::*;
use crate::log::Header;
use std::fs::OpenOptions;
use std::sync::Barrier;
use std::thread;
use std::time::Instant;

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

/// The directory of a partition.
fn part_dir(dir: &Path, topic: &str, partition: i32) -> PathBuf {
    partition_dir(&dir.join("topics").join(dir_name(topic)), partition)
}

/// The first segment of a partition.
fn segment(dir: &Path, topic: &str, partition: i32) -> PathBuf {
    segments::log_path(&part_dir(dir, topic, partition), 0)
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
        let want: Vec<Option<String>> = (0..per_thread).map(|i| Some(format!("{t}:{i}"))).collect();
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
fn a_data_directory_is_opened_by_one_log_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = EmbeddedLog::open(dir.path()).unwrap();
    first.create_topic("t", &config(1)).unwrap();
    first.append("t", None, rec(None, Some("v"), 1)).unwrap();
    let err = EmbeddedLog::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("is in use by another process"), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "names the holder: {err}"
    );
    assert!(err.contains("stop it, or connect to it instead"), "{err}");
    // A server holding it says where it serves.
    advertise(dir.path(), "http://localhost:8088").unwrap();
    let err = EmbeddedLog::open(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("connect to it instead: sluice http://localhost:8088"),
        "{err}"
    );
    // The holder is untouched.
    assert_eq!(values(&first, "t", 0), [Some("v".to_string())]);
    first.append("t", None, rec(None, Some("w"), 2)).unwrap();
    drop(first);
    // Closing releases it.
    let again = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(
        values(&again, "t", 0),
        [Some("v".to_string()), Some("w".to_string())]
    );
}
