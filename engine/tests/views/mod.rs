//! Pull queries from materialized views: `Engine::pull_from_view` tells a
//! lookup a view in memory answers (after the view's first query) from
//! anything else, and a view shared by queries follows new records.

use super::memory;
use sluice_engine::StatementResult;

fn rows(e: &sluice_engine::Engine, sql: &str) -> Vec<Vec<sluice_engine::types::Value>> {
    match e.execute(sql).unwrap().pop() {
        Some(StatementResult::Rows(set)) => set.rows,
        other => panic!("{sql}: {other:?}"),
    }
}

#[test]
fn lookups_in_open_views_are_told_apart_and_see_new_records() {
    let e = memory();
    e.execute(
        "CREATE STREAM s (id STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE TABLE t AS SELECT id, LATEST_BY_OFFSET(v) AS v FROM s GROUP BY id;
         INSERT INTO s (id, v) VALUES ('a', 1);",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    let lookup = "SELECT * FROM t WHERE id = 'a';";
    // The view opens with the first pull query.
    assert!(!e.pull_from_view(lookup));
    assert_eq!(rows(&e, lookup).len(), 1);
    assert!(e.pull_from_view(lookup));
    assert!(e.pull_from_view("SELECT * FROM T"));
    for other in [
        "SELECT * FROM t EMIT CHANGES;",
        "SELECT * FROM s;",
        "SELECT * FROM t ORDER BY v;",
        "SELECT * FROM nowhere;",
        "SELECT * FROM t; SELECT * FROM t;",
        "SELEC",
    ] {
        assert!(!e.pull_from_view(other), "{other}");
    }
    // Repeated lookups with nothing new, then a new record and a new key.
    assert_eq!(rows(&e, lookup), rows(&e, lookup));
    e.execute("INSERT INTO s (id, v) VALUES ('a', 2); INSERT INTO s (id, v) VALUES ('b', 3);")
        .unwrap();
    e.run_until_idle().unwrap();
    assert_eq!(
        rows(&e, lookup),
        vec![vec![
            sluice_engine::types::Value::String("a".into()),
            sluice_engine::types::Value::Int(2)
        ]]
    );
    assert_eq!(rows(&e, "SELECT * FROM t;").len(), 2);
}
