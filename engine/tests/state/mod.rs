//! Local state stores end to end: aggregations (plain, tumbling and
//! session windows, EMIT FINAL) over a data directory whose stores cache
//! fewer entries than there are groups give, across restarts, a deleted
//! state directory and a step that crashed before its checkpoint, exactly
//! what one uninterrupted run in memory gives.

mod emit_final;

use super::topic_values;
use sluice_engine::log::{Log as _, Record};
use sluice_engine::{Engine, EngineConfig};
use std::collections::BTreeMap;
use std::path::Path;

const SCHEMA: &str = "SET 'auto.offset.reset' = 'earliest';
     CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
     CREATE TABLE totals AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM s GROUP BY k;
     CREATE TABLE tumbling AS SELECT k, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 30 SECONDS) GROUP BY k;
     CREATE TABLE sessions AS SELECT k, SUM(v) AS total FROM s WINDOW SESSION (3 SECONDS, GRACE PERIOD 20 SECONDS) GROUP BY k;
     CREATE TABLE finals AS SELECT k, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 5 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k EMIT FINAL;
     CREATE TABLE hopping AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM s WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 4 SECONDS, GRACE PERIOD 30 SECONDS) GROUP BY k;
     CREATE TABLE hop_finals AS SELECT k, COUNT(*) AS n FROM s WINDOW HOPPING (SIZE 6 SECONDS, ADVANCE BY 3 SECONDS, RETENTION 20 SECONDS, GRACE PERIOD 1 SECONDS) GROUP BY k EMIT FINAL;";

const SINKS: &[&str] = &[
    "TOTALS",
    "TUMBLING",
    "SESSIONS",
    "FINALS",
    "HOPPING",
    "HOP_FINALS",
];

/// Batches of inserts, each run in one go.
const BATCHES: usize = 4;

/// The inserts of batch `b`: 40 keys, times moving forward with some
/// disorder, so windows open, close, merge and expire.
fn batch(b: usize) -> String {
    let mut sql = String::new();
    for i in 0..120usize {
        let n = b * 120 + i;
        let key = (n * 7) % 40;
        let ts = 1_000 * (n as i64 / 3) - 700 * ((n % 5) as i64);
        sql.push_str(&format!(
            "INSERT INTO s (ROWTIME, k, v) VALUES ({}, 'k{key}', {});\n",
            ts.max(0),
            n % 11
        ));
    }
    sql
}

fn open(dir: Option<&Path>, cache: usize) -> Engine {
    let mut properties = BTreeMap::new();
    properties.insert(
        "ksql.sluice.state.cache.max.entries".to_string(),
        cache.to_string(),
    );
    Engine::open(EngineConfig {
        data_dir: dir.map(Path::to_path_buf),
        properties,
        ..Default::default()
    })
    .expect("engine opens")
}

fn outputs(e: &Engine) -> Vec<Vec<serde_json::Value>> {
    SINKS.iter().map(|t| topic_values(e, t)).collect()
}

/// Every sink's records after one uninterrupted run in memory.
fn uninterrupted() -> Vec<Vec<serde_json::Value>> {
    let e = open(None, 100_000);
    e.execute(SCHEMA).unwrap();
    for b in 0..BATCHES {
        e.execute(&batch(b)).unwrap();
        e.run_until_idle().unwrap();
    }
    outputs(&e)
}

/// Runs the batches over a data directory with a cache of 5 entries,
/// restarting before each batch; `between` runs on the closed directory
/// before every restart.
fn restarted(dir: &Path, between: impl Fn(&Path)) -> Vec<Vec<serde_json::Value>> {
    {
        let e = open(Some(dir), 5);
        e.execute(SCHEMA).unwrap();
    }
    for b in 0..BATCHES {
        between(dir);
        let e = open(Some(dir), 5);
        e.execute(&batch(b)).unwrap();
        e.run_until_idle().unwrap();
    }
    between(dir);
    let e = open(Some(dir), 5);
    e.run_until_idle().unwrap();
    outputs(&e)
}

/// The store directories under `<dir>/state/<query>/`.
fn stores(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(queries) = std::fs::read_dir(dir.join("state")) else {
        return out;
    };
    for q in queries {
        for s in std::fs::read_dir(q.unwrap().path()).unwrap() {
            out.push(s.unwrap().path());
        }
    }
    out.sort();
    out
}

fn assert_same(got: &[Vec<serde_json::Value>], expected: &[Vec<serde_json::Value>]) {
    for (sink, (got, expected)) in SINKS.iter().zip(got.iter().zip(expected)) {
        assert_eq!(got, expected, "{sink}");
    }
}

#[test]
fn aggregations_restarted_on_small_caches_equal_an_uninterrupted_run() {
    let expected = uninterrupted();
    assert!(expected.iter().all(|v| !v.is_empty()));
    let dir = tempfile::tempdir().unwrap();
    let got = restarted(dir.path(), |_| {});
    // One store per aggregation, each in `<query>/<changelog>-<partition>`.
    let stores = stores(dir.path());
    assert_eq!(stores.len(), SINKS.len(), "{stores:?}");
    assert!(stores.iter().all(|s| s
        .file_name()
        .unwrap()
        .to_string_lossy()
        .ends_with("-changelog-0")));
    assert_same(&got, &expected);
}

#[test]
fn a_deleted_state_directory_is_rebuilt_with_the_same_results() {
    let expected = uninterrupted();
    let dir = tempfile::tempdir().unwrap();
    let got = restarted(dir.path(), |d| {
        let _ = std::fs::remove_dir_all(d.join("state"));
    });
    assert_same(&got, &expected);
}

/// Appends to every changelog in `dir` a change of its last group that no
/// checkpoint follows (an absurd count), as a step that wrote its changes
/// and crashed before its checkpoint leaves it.
fn crash_mid_step(dir: &Path) {
    let log = sluice_engine::log::EmbeddedLog::open(dir).unwrap();
    for topic in log.list_topics().unwrap() {
        if !topic.name.ends_with("-changelog") {
            continue;
        }
        let records = log.read(&topic.name, 0, 0, usize::MAX).unwrap();
        let Some(last) = records.into_iter().rev().find(|r| {
            r.record.value.is_some() && r.record.key.as_deref() != Some(b"\x00checkpoint")
        }) else {
            continue;
        };
        let mut value: serde_json::Value =
            serde_json::from_slice(last.record.value.as_deref().unwrap()).unwrap();
        value[1][0] = serde_json::json!(1_000_000);
        log.append(
            &topic.name,
            Some(0),
            Record {
                key: last.record.key.clone(),
                value: Some(value.to_string().into_bytes()),
                timestamp: last.record.timestamp,
                headers: Vec::new(),
            },
        )
        .unwrap();
    }
    log.flush().unwrap();
}

#[test]
fn a_step_that_crashed_before_its_checkpoint_leaves_no_trace() {
    let expected = uninterrupted();
    let dir = tempfile::tempdir().unwrap();
    let got = restarted(dir.path(), crash_mid_step);
    assert_same(&got, &expected);
}
