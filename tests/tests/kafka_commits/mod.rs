//! Commits on Kafka follow `commit.interval.ms`: a running query hands its
//! results to the broker as it computes them but commits its input offsets
//! only on the interval (or when it stops), and a restarted process resumes
//! from the committed offsets without losing or repeating input.
//! Needs the broker `scripts/test.sh` starts (`SLUICE_TEST_BOOTSTRAP`).

use sluice_engine::log::{KafkaConfig, KafkaLog, Log, Record};
use sluice_engine::{Engine, EngineConfig};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Long enough that no commit falls due while the test runs.
const NEVER_MS: &str = "3600000";
/// How long results may take to show (a bound for a broken run, not a
/// speed requirement).
const PATIENCE: Duration = Duration::from_secs(60);

fn bootstrap() -> String {
    std::env::var("SLUICE_TEST_BOOTSTRAP").expect(
        "SLUICE_TEST_BOOTSTRAP names no Kafka broker: run scripts/test.sh, which starts one",
    )
}

/// An engine on the broker, running its queries in the background, under
/// `prefix` and one service id (so a second engine is the same service
/// restarted).
fn engine(prefix: &str, state: &std::path::Path) -> Engine {
    let mut kafka = KafkaConfig::new(&bootstrap());
    kafka.topic_prefix = prefix.to_string();
    let mut properties = BTreeMap::new();
    for (k, v) in [
        ("auto.offset.reset", "earliest"),
        ("ksql.service.id", "commits_"),
        ("commit.interval.ms", NEVER_MS),
    ] {
        properties.insert(k.to_string(), v.to_string());
    }
    properties.insert(
        "ksql.streams.state.dir".to_string(),
        state.display().to_string(),
    );
    Engine::open(EngineConfig {
        background: true,
        properties,
        kafka: Some(kafka),
        ..Default::default()
    })
    .expect("an engine on the test broker")
}

fn produce(log: &dyn Log, from: i64, to: i64) {
    for i in from..to {
        let record = Record {
            key: Some(format!("k{}", i % 7).into_bytes()),
            value: Some(format!("{{\"V\":{i}}}").into_bytes()),
            timestamp: 1_000 + i,
            headers: Vec::new(),
        };
        log.append("s", None, record).expect("append");
    }
    log.flush().expect("flush");
}

/// The V values in the output topic, once it holds `count` records.
fn output(log: &dyn Log, count: usize) -> Vec<i64> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let records = match log.describe_topic("T").expect("describe T") {
            Some(_) => log.read("T", 0, 0, usize::MAX).expect("read T"),
            None => Vec::new(),
        };
        if records.len() >= count {
            return records
                .iter()
                .map(|r| {
                    let value: serde_json::Value =
                        serde_json::from_slice(r.record.value.as_deref().expect("a value"))
                            .expect("JSON");
                    value["W"].as_i64().expect("W") / 2
                })
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "the output holds {} of {count} records",
            records.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn offsets_commit_on_the_interval_and_a_restart_resumes_from_them() {
    let prefix = format!(
        "commits{}x{}-",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis()
    );
    let state = tempfile::tempdir().expect("state dir");
    let first = engine(&prefix, state.path());
    first
        .execute(
            "CREATE STREAM s (k STRING KEY, v BIGINT) \
               WITH (kafka_topic='s', value_format='JSON', partitions=1); \
             CREATE STREAM t AS SELECT k, v * 2 AS w FROM s;",
        )
        .expect("create the query");
    let log = first.log();
    produce(log.as_ref(), 0, 1_000);
    let query = first.describe_source("T").expect("T exists").write_queries[0]
        .id
        .clone();
    let group = format!("_confluent-ksql-commits_query_{query}");

    // Every result reached the broker, yet nothing is committed: the
    // interval has not passed.
    let first_results = output(log.as_ref(), 1_000);
    assert_eq!(first_results.len(), 1_000);
    // (A query that starts may record its starting offset, 0.)
    assert_eq!(
        log.committed(&group, "s", 0)
            .expect("committed")
            .unwrap_or(0),
        0,
        "offsets of processed input were committed before the commit interval"
    );

    // Stopping commits what was processed.
    drop(log);
    drop(first);
    let second = engine(&prefix, state.path());
    let log = second.log();
    assert_eq!(
        log.committed(&group, "s", 0).expect("committed"),
        Some(1_000),
        "stopping did not commit the offsets processed"
    );

    // The restarted service goes on from there: the new input once, the
    // old input not again (a restart from the start would put 1,000
    // repeated results in the topic first).
    produce(log.as_ref(), 1_000, 1_500);
    output(log.as_ref(), 1_500);
    drop(log);
    drop(second);
    let mut kafka = KafkaConfig::new(&bootstrap());
    kafka.topic_prefix = prefix.clone();
    let reader = KafkaLog::connect(kafka).expect("a client of the test broker");
    let mut values = output(&reader, 1_500);
    values.sort_unstable();
    assert_eq!(
        values,
        (0..1_500).collect::<Vec<i64>>(),
        "the output after a restart lost or repeated input"
    );
}
