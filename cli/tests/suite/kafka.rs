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
    run_python(CONSUMER, &[topic, &count.to_string()])
}

/// Runs a Python script with confluent-kafka on the path, the broker's
/// address as its first argument and `args` after it; returns the JSON it
/// prints.
fn run_python(script: &str, args: &[&str]) -> serde_json::Value {
    let path = std::env::var("SLUICE_TEST_PYTHONPATH").expect(
        "SLUICE_TEST_PYTHONPATH names no confluent-kafka install: run scripts/test.sh, which installs it",
    );
    let out = Command::new("python3")
        .args(["-c", script, &kafka_bootstrap()])
        .args(args)
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
    let (mut headless, log) = headless_with(&target, "orders", &queries);
    // The headless process has created the streams once the catalog shows
    // them to another process of the same service.
    wait_for(
        "the headless process creating BIG",
        Duration::from_secs(60),
        || {
            let out = sluice_on(&target.args(), &["-e", "SHOW STREAMS;"]);
            if out.stdout.contains("BIG") {
                return None;
            }
            let exited = headless.0.try_wait().ok().flatten();
            Some(format!(
                "exited: {exited:?}\n{}\n{}\n--- headless stderr:\n{}",
                out.stdout,
                out.stderr,
                std::fs::read_to_string(&log).unwrap_or_default()
            ))
        },
    );
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

/// A headless process whose stderr goes to a file.
fn headless(target: &Target, name: &str) -> (Headless, std::path::PathBuf) {
    let queries = target.scratch().join("none.sql");
    std::fs::write(
        &queries,
        "-- the service's queries come from its command topic\n",
    )
    .unwrap();
    headless_with(target, name, &queries)
}

/// A headless process running `queries`, its stderr going to a file.
fn headless_with(
    target: &Target,
    name: &str,
    queries: &std::path::Path,
) -> (Headless, std::path::PathBuf) {
    let log = target.scratch().join(format!("{name}.log"));
    let mut args = target.args();
    args.extend(["--queries-file".into(), queries.display().to_string()]);
    let child = Command::new(SLUICE)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("starting headless sluice");
    (Headless(child), log)
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> Option<String>) {
    let deadline = Instant::now() + timeout;
    loop {
        let state = done();
        match state {
            None => return,
            Some(s) if Instant::now() >= deadline => panic!("{what}: not within {timeout:?}: {s}"),
            Some(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// Per-key counts, read with a pull query.
fn counts(target: &Target) -> std::collections::BTreeMap<String, i64> {
    pulled(target, "SELECT k, n FROM counts;")
}

/// Rows of a two-column pull query: name -> count.
fn pulled(target: &Target, sql: &str) -> std::collections::BTreeMap<String, i64> {
    let out = sluice_on(&target.args(), &["-e", sql]);
    super::common::tables(&out.stdout)
        .first()
        .map(|t| {
            t.rows
                .iter()
                .map(|r| (r[0].clone(), r[1].parse().unwrap_or(-1)))
                .collect()
        })
        .unwrap_or_default()
}

fn insert_batch(target: &Target, from: usize, to: usize) {
    let sql: String = (from..to)
        .map(|i| format!("INSERT INTO s (k, v) VALUES ('k{}', {i});\n", i % 6))
        .collect();
    let out = sluice_on(&target.args(), &["-e", &sql]);
    assert!(out.success, "inserts failed: {}", out.stderr);
}

#[test]
fn two_processes_share_queries_by_partition_and_one_takes_over_when_the_other_dies() {
    let target = Target::kafka();
    let p = target.topic_prefix();
    let setup = format!(
        "SET 'auto.offset.reset'='earliest';
SET 'ksql.output.topic.name.prefix'='{p}';
CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='{p}s', value_format='JSON', partitions=2);
CREATE STREAM copy AS SELECT * FROM s;
CREATE TABLE counts AS SELECT k, COUNT(*) AS n FROM s GROUP BY k;
CREATE TABLE buckets AS SELECT v % 4 AS bucket, COUNT(*) AS n FROM s GROUP BY v % 4;"
    );
    // The processes start first: the statements reach them through the
    // command topic while they run.
    let (a, a_log) = headless(&target, "a");
    let (_b, b_log) = headless(&target, "b");
    let read = |path: &std::path::Path| std::fs::read_to_string(path).unwrap_or_default();
    wait_for("both processes running", Duration::from_secs(60), || {
        let (la, lb) = (read(&a_log), read(&b_log));
        let up = |l: &str| l.contains("running headless");
        (!(up(&la) && up(&lb))).then(|| format!("a:\n{la}\nb:\n{lb}"))
    });
    let out = sluice_on(&target.args(), &["-e", &setup]);
    assert!(out.success, "setup failed: {}", out.stderr);
    // The stateless query is split: each process reads one partition.
    wait_for(
        "the copy query split over both processes",
        Duration::from_secs(60),
        || {
            let (la, lb) = (read(&a_log), read(&b_log));
            let split = |l: &str| {
                l.lines()
                    .rev()
                    .find(|x| x.contains("query CSAS_COPY_0 reads partitions"))
                    .is_some_and(|x| x.matches(&format!("{p}s/")).count() == 1)
            };
            (!(split(&la) && split(&lb))).then(|| format!("a:\n{la}\nb:\n{lb}"))
        },
    );
    insert_batch(&target, 0, 60);
    let expect = |n: usize| -> std::collections::BTreeMap<String, i64> {
        let mut m = std::collections::BTreeMap::new();
        for i in 0..n {
            *m.entry(format!("k{}", i % 6)).or_insert(0) += 1;
        }
        m
    };
    // Grouped by something else than the key, rows are re-keyed through an
    // internal topic first, and that query is split by partition too.
    let buckets = |target: &Target| pulled(target, "SELECT bucket, n FROM buckets;");
    let expect_buckets = |n: usize| -> std::collections::BTreeMap<String, i64> {
        let mut m = std::collections::BTreeMap::new();
        for i in 0..n {
            *m.entry((i % 4).to_string()).or_insert(0) += 1;
        }
        m
    };
    wait_for("counts of the first 60", Duration::from_secs(60), || {
        let (now, b) = (counts(&target), buckets(&target));
        (now != expect(60) || b != expect_buckets(60)).then(|| format!("{now:?} {b:?}"))
    });
    // The stateful query (grouped by the input's key) is split too: each
    // process runs one partition's copy, its state in that partition of
    // the changelog.
    let counts_split = |l: &str| {
        l.lines()
            .rev()
            .find(|x| x.contains("query CTAS_COUNTS_1 runs partitions"))
            .map(|x| x.to_string())
    };
    let (la, lb) = (read(&a_log), read(&b_log));
    let one = |l: &str| {
        counts_split(l).is_some_and(|x| x.contains("[0]") || x.contains("[1]"))
            && l.contains("query CTAS_BUCKETS_2 runs partitions [")
    };
    assert!(
        one(&la) && one(&lb),
        "counts not split:\na:\n{la}\nb:\n{lb}"
    );
    // Kill one process; the other takes its partition over, restoring that
    // partition's state from the changelog, and resumes from the committed
    // offsets.
    let mut a = a;
    a.0.kill().expect("SIGKILL");
    let _ = a.0.wait();
    let survivor_log = b_log.clone();
    insert_batch(&target, 60, 120);
    wait_for("counts after the takeover", Duration::from_secs(90), || {
        let (now, b) = (counts(&target), buckets(&target));
        (now != expect(120) || b != expect_buckets(120))
            .then(|| format!("{now:?} {b:?}\n{}", read(&survivor_log)))
    });
    assert!(
        counts_split(&read(&survivor_log)).is_some_and(|x| x.contains("[0, 1]")),
        "{}",
        read(&survivor_log)
    );
    // TERMINATE reaches the running process too: the counts stop moving
    // while the copy goes on.
    let out = sluice_on(&target.args(), &["-e", "TERMINATE CTAS_COUNTS_1;"]);
    assert!(out.success, "terminate failed: {}", out.stderr);
    wait_for(
        "the survivor applying TERMINATE",
        Duration::from_secs(30),
        || {
            let l = read(&survivor_log);
            (!l.contains("another process of the service: TERMINATE CTAS_COUNTS_1;")).then_some(l)
        },
    );
    insert_batch(&target, 120, 150);
    // At least once (the default guarantee), as in ksqlDB: what the killed
    // process wrote after its last offset commit (offsets commit every
    // `commit.interval.ms`) is processed again by the survivor, so the
    // copy holds every row, some perhaps twice, and nothing else.
    // (Exactly once never repeats: the exactly-once tests.)
    wait_for("the copy of all 150 rows", Duration::from_secs(60), || {
        let out = sluice_on(
            &target.args(),
            &[
                "-e",
                "SET 'auto.offset.reset'='earliest'; SELECT * FROM copy;",
            ],
        );
        let rows = super::common::tables(&out.stdout)
            .first()
            .map_or_else(Vec::new, |t| t.rows.clone());
        let distinct: std::collections::BTreeSet<&Vec<String>> = rows.iter().collect();
        (distinct.len() != 150).then(|| {
            format!(
                "{} rows, {} distinct: {}",
                rows.len(),
                distinct.len(),
                out.stderr
            )
        })
    });
    assert_eq!(counts(&target), expect(120), "counts after TERMINATE");
}

/// Every record value of a topic's `partitions` partitions, read as a
/// `read_committed` consumer (the default) until `count` arrived or none
/// came for a few seconds, printed as a JSON list of strings.
const COMMITTED_VALUES: &str = r#"
import json, sys, time
from confluent_kafka import Consumer, TopicPartition
servers, topic, partitions, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = Consumer({"bootstrap.servers": servers, "group.id": "python-values",
              "enable.auto.commit": False, "isolation.level": "read_committed"})
c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
out, quiet = [], time.time() + 5
while len(out) < count and time.time() < quiet:
    m = c.poll(0.2)
    if m is None or m.error():
        continue
    out.append(m.value().decode() if m.value() is not None else None)
    quiet = time.time() + 5
c.close()
print(json.dumps(out))
"#;

fn committed_values(topic: &str, partitions: usize, count: usize) -> Vec<String> {
    let values = run_python(
        COMMITTED_VALUES,
        &[topic, &partitions.to_string(), &count.to_string()],
    );
    serde_json::from_value(values).expect("a list of strings")
}

fn signal(process: &Headless, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &process.0.id().to_string()])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill {sig} failed");
}

/// Every `V` of the rows a topic holds (as a read_committed consumer sees
/// them), with how often each was written.
fn copies(topic: &str, partitions: usize, count: usize) -> std::collections::BTreeMap<i64, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for v in committed_values(topic, partitions, count) {
        let row: serde_json::Value = serde_json::from_str(&v).expect("JSON value");
        *seen.entry(row["V"].as_i64().expect("V")).or_insert(0) += 1;
    }
    seen
}

/// With exactly_once_v2, a query whose owner is frozen (SIGSTOP) while
/// another process takes it over, and then thawed (so two processes
/// believe they run it for a while, and the group may hand it back),
/// writes every result once: a writer that lost the query is fenced by
/// the new owner's transactional writer, and a process the query comes
/// back to starts over from the committed state.
#[test]
fn exactly_once_v2_survives_a_frozen_owner_without_loss_or_duplicates() {
    let target = Target::kafka();
    let p = target.topic_prefix().to_string();
    let setup = format!(
        "SET 'auto.offset.reset'='earliest';
SET 'ksql.output.topic.name.prefix'='{p}';
SET 'processing.guarantee'='exactly_once_v2';
CREATE TABLE t (k STRING PRIMARY KEY, x INT) WITH (kafka_topic='{p}t', value_format='JSON', partitions=2);
CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='{p}s', value_format='JSON', partitions=2);
CREATE STREAM j AS SELECT s.k, s.v, t.x FROM s JOIN t ON s.k = t.k;
{}",
        (0..7)
            .map(|i| format!("INSERT INTO t (k, x) VALUES ('k{i}', {i});\n"))
            .collect::<String>()
    );
    let out = sluice_on(&target.args(), &["-e", &setup]);
    assert!(out.success, "setup failed: {}", out.stderr);
    let insert = |from: usize, to: usize| {
        let sql: String = (from..to)
            .map(|i| format!("INSERT INTO s (k, v) VALUES ('k{}', {i});\n", i % 7))
            .collect();
        let out = sluice_on(&target.args(), &["-e", &sql]);
        assert!(out.success, "inserts failed: {}", out.stderr);
    };
    let read = |path: &std::path::Path| std::fs::read_to_string(path).unwrap_or_default();
    let topic = format!("{p}J");
    // (The join is split by partition: one process alone runs both.)
    let runs_join = |l: &str| {
        l.lines()
            .rev()
            .find(|x| x.contains("query CSAS_J_0 runs partitions"))
            .is_some_and(|x| x.contains("[0, 1]"))
    };
    let (a, a_log) = headless(&target, "a");
    wait_for("a running the join", Duration::from_secs(60), || {
        (!runs_join(&read(&a_log))).then(|| read(&a_log))
    });
    insert(0, 100);
    wait_for("the first 100 joined", Duration::from_secs(90), || {
        let n = copies(&topic, 2, 100).len();
        (n < 100).then(|| format!("{n} rows\n{}", read(&a_log)))
    });
    // Freeze a; b takes the query over once a's session has expired.
    signal(&a, "-STOP");
    let (b, b_log) = headless(&target, "b");
    wait_for("b taking the join over", Duration::from_secs(60), || {
        (!runs_join(&read(&b_log))).then(|| read(&b_log))
    });
    insert(100, 200);
    wait_for("200 joined", Duration::from_secs(60), || {
        let n = copies(&topic, 2, 200).len();
        (n < 200).then(|| format!("{n} rows"))
    });
    // Thawed, a still believes it runs the query, at positions before the
    // last 100 rows: whatever it writes for them must never be committed.
    signal(&a, "-CONT");
    insert(200, 300);
    wait_for("300 joined", Duration::from_secs(60), || {
        let n = copies(&topic, 2, 300).len();
        (n < 300).then(|| format!("{n} rows\na:\n{}\nb:\n{}", read(&a_log), read(&b_log)))
    });
    std::thread::sleep(Duration::from_secs(3));
    let seen = copies(&topic, 2, usize::MAX);
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "rows written more than once: {twice:?}\na:\n{}\nb:\n{}",
        read(&a_log),
        read(&b_log)
    );
    assert_eq!(seen.len(), 300, "every row joined");
    drop((a, b));
}
