//! Batched JSON inserts (`Engine::row_inserter`, behind `/inserts-stream`):
//! the records equal what `INSERT INTO ... VALUES` writes for the same
//! values, a failing row stops its batch after the rows before it are
//! appended, and unknown or read-only targets are refused.

use super::{memory, topic_values};
use sluice_engine::Engine;

const DDL: &str = "CREATE STREAM s (id STRING KEY, n INT, big BIGINT, d DOUBLE, \
     dec DECIMAL(6,2), txt STRING, tags ARRAY<INT>, m MAP<STRING, DOUBLE>, \
     st STRUCT<a INT, b STRING>, ts BIGINT) \
     WITH (kafka_topic='s', value_format='JSON', partitions=2, timestamp='ts');";

/// A record's key, value and timestamp.
type Rec = (Option<Vec<u8>>, Option<Vec<u8>>, i64);

/// Every record of a topic, partition by partition.
fn records(e: &Engine, topic: &str) -> Vec<Rec> {
    let log = e.log();
    let mut out = Vec::new();
    for p in 0..2 {
        for r in log.read(topic, p, 0, usize::MAX).unwrap() {
            out.push((r.record.key, r.record.value, r.record.timestamp));
        }
    }
    out
}

#[test]
fn json_rows_are_written_as_insert_values_writes_them() {
    let by_sql = memory();
    by_sql.execute(DDL).unwrap();
    by_sql
        .execute(
            "INSERT INTO s (id, n, big, d, dec, txt, tags, m, st, ts) VALUES \
               ('k1', 1, 3000000000, 2, 1.5, 'it''s', ARRAY[1, 2], MAP('x' := 1.25), \
                STRUCT(a := 7, b := 'bee'), 1000);
             INSERT INTO s (id, txt, d, dec, ts) VALUES ('k2', '12', 1.5e3, -3, 2000);
             INSERT INTO s (id) VALUES ('k3');",
        )
        .unwrap();
    let by_json = memory();
    by_json.execute(DDL).unwrap();
    let inserter = by_json.row_inserter("s").unwrap();
    assert_eq!(inserter.target(), "S");
    let rows = [
        r#"{"ID":"k1","n":1,"BIG":3000000000,"D":2,"DEC":1.5,"TXT":"it's","TAGS":[1,2],"M":{"x":1.25},"ST":{"a":7,"B":"bee"},"TS":1000}"#,
        r#"{"id":"k2","txt":12,"d":1.5e3,"dec":-3,"ts":2000}"#,
        r#"{"ID":"k3"}"#,
    ];
    let outcome = inserter.insert_batch(&rows);
    assert_eq!(outcome.appended, 3);
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let (sql, json) = (records(&by_sql, "s"), records(&by_json, "s"));
    assert_eq!(sql.len(), 3);
    // Keys, values and the TIMESTAMP column's time match; the third row's
    // time is the wall clock in both.
    let strip = |r: &[Rec]| {
        r.iter()
            .map(|(k, v, t)| (k.clone(), v.clone(), if *t > 10_000 { 0 } else { *t }))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&sql), strip(&json));
    let values = topic_values(&by_json, "s");
    assert!(values.iter().any(|v| v["TXT"] == "12" && v["D"] == 1500.0));
}

#[test]
fn a_failing_row_stops_its_batch_after_the_rows_before_it() {
    let e = memory();
    e.execute(DDL).unwrap();
    let inserter = e.row_inserter("S").unwrap();
    let rows = [
        r#"{"ID":"a","N":1}"#,
        r#"{"ID":"b","N":2}"#,
        r#"{"ID":"c","N":"three"}"#,
        r#"{"ID":"d","N":4}"#,
    ];
    let outcome = inserter.insert_batch(&rows);
    assert_eq!(outcome.appended, 2);
    let err = outcome.error.expect("the third row fails");
    assert_eq!(err.code(), 40001);
    assert!(err.to_string().contains("field N"), "{err}");
    let ids: Vec<_> = records(&e, "s")
        .into_iter()
        .map(|(k, _, _)| String::from_utf8(k.unwrap()).unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ["a", "b"]);

    for (row, code, text) in [
        ("[1]", 40000, "each row must be a JSON object"),
        ("{\"ID\":", 40000, "malformed JSON row"),
        (r#"{"NOPE":1}"#, 40000, "S has no column NOPE"),
        (r#"{"TAGS":{"a":1}}"#, 40000, "is not a value of type"),
        (
            r#"{"TAGS":5}"#,
            40001,
            "Expected type ARRAY<INTEGER> for field TAGS",
        ),
    ] {
        let outcome = inserter.insert_batch(&[row]);
        assert_eq!(outcome.appended, 0, "{row}");
        let err = outcome.error.expect("refused");
        assert_eq!(err.code(), code, "{row}: {err}");
        assert!(err.to_string().contains(text), "{row}: {err}");
    }
}

#[test]
fn unknown_and_read_only_targets_are_refused() {
    let e = memory();
    e.execute(
        "CREATE SOURCE STREAM ro (id STRING KEY, n INT) \
         WITH (kafka_topic='ro', value_format='JSON', partitions=1);",
    )
    .unwrap();
    let err = e.row_inserter("nowhere").err().expect("unknown");
    assert_eq!(err.code(), 40400);
    let inserter = e.row_inserter("ro").unwrap();
    let outcome = inserter.insert_batch(&[r#"{"ID":"a","N":1}"#]);
    assert_eq!(outcome.appended, 0);
    let err = outcome.error.expect("read-only");
    assert!(err.to_string().contains("read-only stream RO"), "{err}");
    assert!(e.log().read("ro", 0, 0, 10).unwrap().is_empty());
}

#[test]
fn insert_values_without_rowtime_are_separate_moments_in_order() {
    let e = memory();
    e.execute(
        "CREATE TABLE users (id STRING PRIMARY KEY, name STRING) \
           WITH (kafka_topic='users', value_format='JSON', partitions=1);
         CREATE STREAM views (uid STRING KEY, page STRING) \
           WITH (kafka_topic='views', value_format='JSON', partitions=1);",
    )
    .unwrap();
    // One script, many inserts well inside a millisecond of each other.
    let mut script = String::new();
    for i in 0..20 {
        script.push_str(&format!(
            "INSERT INTO users (id, name) VALUES ('u{i}', 'n{i}');\n"
        ));
    }
    script.push_str("INSERT INTO views (uid, page) VALUES ('u1', '/a');\n");
    script.push_str("INSERT INTO views (uid, page, ROWTIME) VALUES ('u2', '/b', 5);\n");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    e.execute(&script).unwrap();
    let log = e.log();
    let users: Vec<i64> = log
        .read("users", 0, 0, usize::MAX)
        .unwrap()
        .iter()
        .map(|r| r.record.timestamp)
        .collect();
    assert_eq!(users.len(), 20);
    assert!(users[0] >= before, "{users:?} before {before}");
    assert!(users.windows(2).all(|w| w[0] < w[1]), "{users:?}");
    let views: Vec<i64> = log
        .read("views", 0, 0, usize::MAX)
        .unwrap()
        .iter()
        .map(|r| r.record.timestamp)
        .collect();
    // The pageview comes after every user; a ROWTIME given is kept.
    assert!(views[0] > users[19], "{views:?} {users:?}");
    assert_eq!(views[1], 5);
}
