//! EMIT FINAL pinned: a window is emitted once, when stream time reaches
//! its end plus the grace period, with the rows it got by then; a jump in
//! stream time past several windows emits each of them, in window order,
//! while the store retains them (RETENTION, by default size plus grace,
//! counted from the window's start: ksqlDB drops what a jump leaves
//! behind that); with zero grace a window closes at its end.

use sluice_engine::{Engine, EngineConfig};

/// The (key, window start in seconds, count) rows written to `topic`.
fn finals(e: &Engine, topic: &str) -> Vec<(String, i64, i64)> {
    let log = e.log();
    let mut out = Vec::new();
    for r in log.read(topic, 0, 0, usize::MAX).unwrap() {
        let (key, value) = e.decode_record_for_topic(topic, &r.record).unwrap();
        let (start, _, _) = e.record_window_for_topic(topic, &r.record).unwrap();
        let key = key.as_str().unwrap_or_default().to_string();
        out.push((key, start / 1000, value["N"].as_i64().unwrap()));
    }
    out
}

/// An engine with a stream `s` and an EMIT FINAL count over `window`.
fn counting(window: &str) -> Engine {
    let e = Engine::open(EngineConfig::default()).unwrap();
    e.execute(&format!(
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE TABLE f AS SELECT k, COUNT(*) AS n FROM s WINDOW {window} GROUP BY k EMIT FINAL;"
    ))
    .unwrap();
    e
}

/// Inserts one row per (key, second) and runs the query.
fn insert(e: &Engine, rows: &[(&str, i64)]) {
    let mut sql = String::new();
    for (k, s) in rows {
        sql += &format!(
            "INSERT INTO s (ROWTIME, k, v) VALUES ({}, '{k}', 1);\n",
            s * 1000
        );
    }
    e.execute(&sql).unwrap();
    e.run_until_idle().unwrap();
}

#[test]
fn a_jump_in_stream_time_emits_every_closed_window_it_retains_in_order() {
    let e = counting("TUMBLING (SIZE 1 MINUTE, RETENTION 1 HOUR, GRACE PERIOD 10 SECONDS)");
    insert(&e, &[("a", 1), ("a", 2), ("b", 61)]);
    assert_eq!(finals(&e, "F"), vec![], "nothing has closed");
    // 75 s closes [0, 60) (60 + 10 <= 75).
    insert(&e, &[("a", 75)]);
    assert_eq!(finals(&e, "F"), vec![("a".into(), 0, 2)]);
    // 125 s closes nothing new; 400 s jumps past [60, 120) and [120, 180).
    insert(&e, &[("b", 125), ("a", 126)]);
    insert(&e, &[("c", 400)]);
    assert_eq!(
        finals(&e, "F"),
        vec![
            ("a".into(), 0, 2),
            ("a".into(), 60, 1),
            ("b".into(), 60, 1),
            ("a".into(), 120, 1),
            ("b".into(), 120, 1),
        ]
    );
    // A row for a closed window is late: nothing is emitted again.
    insert(&e, &[("a", 3), ("c", 401)]);
    assert_eq!(finals(&e, "F").len(), 5);
}

#[test]
fn without_retention_a_jump_past_size_plus_grace_drops_the_windows_as_ksqldb_does() {
    let e = counting("TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS)");
    // Closed exactly on time: [0, 60) at 70 s is emitted.
    insert(&e, &[("a", 1), ("a", 2), ("a", 70)]);
    assert_eq!(finals(&e, "F"), vec![("a".into(), 0, 2)]);
    // [60, 120) closes at 130 s, but stream time jumps to 400 s: the store
    // kept it for 70 s from its start, so it is gone unemitted.
    insert(&e, &[("a", 400)]);
    assert_eq!(finals(&e, "F"), vec![("a".into(), 0, 2)]);
}

#[test]
fn with_zero_grace_a_window_closes_at_its_end_once() {
    let e = counting("TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS)");
    insert(&e, &[("a", 1), ("b", 5), ("a", 9)]);
    assert_eq!(finals(&e, "F"), vec![]);
    insert(&e, &[("a", 10)]);
    assert_eq!(
        finals(&e, "F"),
        vec![("a".into(), 0, 2), ("b".into(), 0, 1)]
    );
    // Every second from 11 s: each window closes when its end arrives.
    let rows: Vec<(&str, i64)> = (11..=30).map(|s| ("a", s)).collect();
    insert(&e, &rows);
    assert_eq!(
        finals(&e, "F"),
        vec![
            ("a".into(), 0, 2),
            ("b".into(), 0, 1),
            ("a".into(), 10, 10),
            ("a".into(), 20, 10),
        ]
    );
}
