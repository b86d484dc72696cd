//! `sluice` on a real Kafka broker (the one `scripts/test.sh` starts): its
//! output read by a Kafka client outside Sluice (Python's confluent-kafka),
//! and clear failures for an unreachable broker, a missing topic and a
//! partition count that does not match.

use super::common::{kafka_bootstrap, sluice_on, Target, SLUICE};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Reads `count` records of a topic's partition 0 with confluent-kafka and
/// prints them as JSON: key and value as hex, timestamp, headers.
const CONSUMER: &str = r#"
import json, sys, time
from confluent_kafka import Consumer, TopicPartition
servers, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({"bootstrap.servers": servers, "group.id": "python-check",
              "enable.auto.commit": False})
c.assign([TopicPartition(topic, 0, 0)])
out, deadline = [], time.time() + 30
while len(out) < count and time.time() < deadline:
    m = c.poll(0.5)
    if m is None or m.error():
        continue
    out.append({
        "key": m.key().hex() if m.key() is not None else None,
        "value": m.value().hex() if m.value() is not None else None,
        "timestamp": m.timestamp()[1],
        "headers": [[k, v.hex() if v is not None else None] for k, v in (m.headers() or [])],
    })
c.close()
print(json.dumps(out))
"#;

fn python_records(topic: &str, count: usize) -> serde_json::Value {
    let path = std::env::var("SLUICE_TEST_PYTHONPATH").expect(
        "SLUICE_TEST_PYTHONPATH names no confluent-kafka install: run scripts/test.sh, which installs it",
    );
    let out = Command::new("python3")
        .args([
            "-c",
            CONSUMER,
            &kafka_bootstrap(),
            topic,
            &count.to_string(),
        ])
        .env("PYTHONPATH", path)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "the Python consumer failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the consumer prints JSON")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A headless `sluice` process; killed when dropped.
struct Headless(std::process::Child);

impl Drop for Headless {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_python_kafka_consumer_reads_what_sluice_writes() {
    let target = Target::kafka();
    let p = target.topic_prefix().to_string();
    let queries = target.scratch().join("queries.sql");
    std::fs::write(
        &queries,
        format!(
            "SET 'auto.offset.reset'='earliest';
CREATE STREAM orders (id INT KEY, item STRING, qty INT)
  WITH (kafka_topic='{p}orders', value_format='JSON', partitions=1);
CREATE STREAM big WITH (kafka_topic='{p}big', key_format='KAFKA', value_format='DELIMITED')
  AS SELECT id, UCASE(item) AS item, qty * 10 AS qty FROM orders WHERE qty > 1;
"
        ),
    )
    .unwrap();
    let mut args = target.args();
    args.extend(["--queries-file".into(), queries.display().to_string()]);
    let headless = Headless(
        Command::new(SLUICE)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting headless sluice"),
    );
    // The headless process has created the streams once the catalog shows
    // them to another process of the same service.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = sluice_on(&target.args(), &["-e", "SHOW STREAMS;"]);
        if out.stdout.contains("BIG") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the headless process never created BIG:\n{}\n{}",
            out.stdout,
            out.stderr
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = sluice_on(
        &target.args(),
        &[
            "-e",
            "INSERT INTO orders (id, item, qty, ROWTIME) VALUES (7, 'tea', 3, 1700000000123);
             INSERT INTO orders (id, item, qty, ROWTIME) VALUES (8, 'cup', 1, 1700000000200);
             INSERT INTO orders (id, item, qty, ROWTIME) VALUES (-2, 'pot', 2, 1700000000300);",
        ],
    );
    assert!(out.success, "inserts failed: {}", out.stderr);

    let records = python_records(&format!("{p}big"), 2);
    drop(headless);
    let expected = serde_json::json!([
        {"key": hex(&7i32.to_be_bytes()), "value": hex(b"TEA,30"), "timestamp": 1700000000123i64, "headers": []},
        {"key": hex(&(-2i32).to_be_bytes()), "value": hex(b"POT,20"), "timestamp": 1700000000300i64, "headers": []},
    ]);
    assert_eq!(records, expected);
}

#[test]
fn an_unreachable_broker_fails_fast_with_a_clear_message() {
    let start = Instant::now();
    let out = sluice_on(
        &["--bootstrap-servers".into(), "127.0.0.1:1".into()],
        &["-e", "SHOW STREAMS;"],
    );
    assert!(!out.success);
    assert!(
        out.stderr.contains("cannot reach Kafka at 127.0.0.1:1"),
        "unclear error: {}",
        out.stderr
    );
    assert!(
        start.elapsed() < Duration::from_secs(25),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn a_missing_topic_and_a_partition_mismatch_are_explained() {
    let target = Target::kafka();
    let p = target.topic_prefix();
    let out = sluice_on(
        &target.args(),
        &[
            "-e",
            &format!("CREATE STREAM s (v INT) WITH (kafka_topic='{p}nope', value_format='JSON');"),
        ],
    );
    assert!(!out.success);
    assert!(
        out.stderr
            .contains(&format!("Topic '{p}nope' does not exist")),
        "{}",
        out.stderr
    );
    let out = sluice_on(
        &target.args(),
        &["-e", &format!(
            "CREATE STREAM a (v INT) WITH (kafka_topic='{p}two', value_format='JSON', partitions=2);
             CREATE STREAM b (v INT) WITH (kafka_topic='{p}two', value_format='JSON', partitions=3);"
        )],
    );
    assert!(!out.success);
    assert!(
        out.stderr.contains(&format!(
            "A Kafka topic with the name '{p}two' already exists, with different partition/replica configuration than required. KSQL expects 3 partitions (topic has 2)"
        )),
        "{}",
        out.stderr
    );
}
