//! The data directory through the engine: damage to the command topic and
//! the offsets, and queries over topics that retention has cleaned.

mod disk_full;

use super::{open, topic_values};
use sluice_engine::log::Log as _;
use sluice_engine::{Engine, EngineConfig, StatementResult};

/// Flips every bit of the byte at `pos` of `path`.
fn flip_byte(path: &std::path::Path, pos: u64) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, pos).unwrap();
    file.write_all_at(&[byte[0] ^ 0xff], pos).unwrap();
}

#[test]
fn a_bad_byte_in_the_command_topic_or_the_offsets_loses_no_source_query_or_position() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = open(dir.path(), false);
        e.execute(
            "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);
             CREATE TABLE t (id INT PRIMARY KEY, n INT) WITH (kafka_topic='t', value_format='JSON', partitions=1);
             SET 'auto.offset.reset'='earliest';
             CREATE STREAM up AS SELECT id, UCASE(v) AS v FROM s;
             INSERT INTO s (id, v) VALUES (1, 'a');
             INSERT INTO s (id, v) VALUES (2, 'b');",
        )
        .unwrap();
        e.run_until_idle().unwrap();
        assert_eq!(topic_values(&e, "UP").len(), 2);
    }
    // One bad byte in the middle of the command topic's segment, and one
    // in every commit of the offsets file (a query commits the same
    // position more than once: damaging only the newest would leave an
    // equal one before it).
    let topics = dir.path().join("topics");
    let command = std::fs::read_dir(&topics)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_command_topic"))
        .expect("a command topic");
    let segment = command.join("0").join(format!("{:020}.log", 0));
    let len = std::fs::metadata(&segment).unwrap().len();
    flip_byte(&segment, len / 2);
    let offsets = dir.path().join("offsets.log");
    let bytes = std::fs::read(&offsets).unwrap();
    let mut pos = 8;
    while pos + 8 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        flip_byte(&offsets, (pos + 8 + size - 1) as u64);
        pos += 8 + size;
    }

    let e = open(dir.path(), false);
    for name in ["s", "t", "up"] {
        match e.execute(&format!("DESCRIBE {name};")).unwrap().pop() {
            Some(StatementResult::SourceDescription(_)) => {}
            other => panic!("{name} is gone: {other:?}"),
        }
    }
    match e.execute("SHOW QUERIES;").unwrap().pop() {
        Some(StatementResult::Queries(q)) => assert_eq!(q.len(), 1, "{q:?}"),
        other => panic!("{other:?}"),
    }
    e.execute("INSERT INTO s (id, v) VALUES (3, 'c');").unwrap();
    e.run_until_idle().unwrap();
    let mut got: Vec<String> = topic_values(&e, "UP")
        .iter()
        .map(|v| v["V"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, vec!["A", "B", "C"], "no record processed twice");
}

/// Retention: once old segments of a source topic are deleted, an
/// `earliest` reader starts at the partition's new start offset and a
/// persistent query over the topic reads every record kept.
#[test]
fn a_persistent_query_reads_a_cleaned_topic_from_its_start_offset() {
    use sluice_engine::log::{EmbeddedConfig, EmbeddedLog, Record, Retention, TopicConfig};
    use sluice_engine::runtime::reader::SourceReader;
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(
        EmbeddedLog::open_with(
            dir.path(),
            EmbeddedConfig {
                segment_bytes: 4 * 1024,
                // Kafka's 7 days.
                retention: Retention {
                    retention_ms: 7 * 24 * 60 * 60 * 1000,
                    ..Retention::default()
                },
            },
        )
        .unwrap(),
    );
    log.create_topic("s", &TopicConfig::default()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for (i, (v, ts)) in std::iter::repeat_n(("old", 1_000), 100)
        .chain(std::iter::repeat_n(("new", now), 100))
        .enumerate()
    {
        let record = Record {
            key: Some((i as i32).to_be_bytes().to_vec()),
            value: Some(format!(r#"{{"V": "{v}", "PAD": "{}"}}"#, "p".repeat(40)).into_bytes()),
            timestamp: ts,
            headers: vec![],
        };
        log.append("s", None, record).unwrap();
    }
    log.clean().unwrap();
    let start = log.start_offset("s", 0).unwrap();
    assert!(start > 0 && start <= 100, "{start}");
    let reader = SourceReader::open(&*log, "s", None, true).unwrap();
    assert_eq!(reader.positions, vec![(0, start)]);

    let e = Engine::with_log(
        EngineConfig {
            background: false,
            ..EngineConfig::default()
        },
        log.clone(),
    )
    .unwrap();
    e.execute(
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON');
         CREATE STREAM out AS SELECT id, v FROM s EMIT CHANGES;",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    let values = topic_values(&e, "OUT");
    let new = values
        .iter()
        .filter(|v| v.to_string().contains("new"))
        .count();
    assert_eq!(new, 100, "{values:?}");
    assert!(values.len() as i64 <= 200 - start);
}
