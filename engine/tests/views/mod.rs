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

/// The rows a session's cached lookup answers, or None when it was not
/// cached (nothing ran).
fn cached(s: &sluice_engine::Session, sql: &str) -> Option<Vec<Vec<sluice_engine::types::Value>>> {
    match s.pull_if_cached(sql)? {
        Ok(StatementResult::Rows(set)) => Some(set.rows),
        other => panic!("{sql}: {other:?}"),
    }
}

/// Key lookups are planned once per shape (the text without its key) and
/// session properties: a lookup of another key is answered from the plan,
/// with that key's rows, and any statement that changes the catalog
/// forgets the plans.
#[test]
fn key_lookups_are_planned_once_per_shape_until_the_catalog_changes() {
    use sluice_engine::types::Value;
    let e = memory();
    e.execute(
        "CREATE STREAM s (id STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE TABLE t AS SELECT id, LATEST_BY_OFFSET(v) AS v FROM s GROUP BY id;
         INSERT INTO s (id, v) VALUES ('a', 1);
         INSERT INTO s (id, v) VALUES ('b', 2);",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    let session = e.session();
    assert_eq!(
        cached(&session, "SELECT id, v FROM t WHERE id = 'a';"),
        None
    );
    let first = session
        .execute("SELECT id, v FROM t WHERE id = 'a';")
        .unwrap();
    assert!(
        matches!(&first[..], [StatementResult::Rows(set)] if set.rows == [[Value::String("a".into()), Value::Int(1)]])
    );
    // Another key, same shape: answered from the plan, with its own row.
    assert_eq!(
        cached(&session, "SELECT id, v FROM t WHERE id = 'b';"),
        Some(vec![vec![Value::String("b".into()), Value::Int(2)]])
    );
    assert_eq!(
        cached(&session, "SELECT id, v FROM t WHERE id = 'zz'"),
        Some(vec![])
    );
    // New records are seen.
    e.execute("INSERT INTO s (id, v) VALUES ('b', 5);").unwrap();
    e.run_until_idle().unwrap();
    assert_eq!(
        cached(&session, "SELECT id, v FROM t WHERE id = 'b';"),
        Some(vec![vec![Value::String("b".into()), Value::Int(5)]])
    );
    // Other shapes, other properties and other conditions are not cached.
    for other in [
        "SELECT v FROM t WHERE id = 'a';",
        "SELECT id, v FROM t WHERE id = 'a' AND v = 1;",
        "SELECT id, v FROM t WHERE v = 1;",
    ] {
        assert_eq!(cached(&session, other), None, "{other}");
    }
    let other_session = e.session();
    other_session.set_property("auto.offset.reset", "earliest");
    assert_eq!(
        cached(&other_session, "SELECT id, v FROM t WHERE id = 'a';"),
        None
    );
    // A condition on a value column is not a key lookup, and keeps being
    // answered the long way (it must not be cached as one).
    let by_value = session.execute("SELECT id, v FROM t WHERE v = 5;").unwrap();
    assert!(
        matches!(&by_value[..], [StatementResult::Rows(set)] if set.rows == [[Value::String("b".into()), Value::Int(5)]])
    );
    assert_eq!(cached(&session, "SELECT id, v FROM t WHERE v = 1;"), None);

    // Any catalog change forgets the plans; a table of the same name with
    // other columns is planned afresh.
    e.execute("CREATE STREAM unrelated (x INT) WITH (kafka_topic='u', value_format='JSON', partitions=1);")
        .unwrap();
    assert_eq!(
        cached(&session, "SELECT id, v FROM t WHERE id = 'a';"),
        None
    );
    let again = session
        .execute("SELECT id, v FROM t WHERE id = 'a';")
        .unwrap();
    assert!(matches!(&again[..], [StatementResult::Rows(set)] if set.rows.len() == 1));
    assert!(cached(&session, "SELECT id, v FROM t WHERE id = 'a';").is_some());
    e.set_property("auto.offset.reset", "earliest");
    e.execute(
        "DROP TABLE t;
         CREATE TABLE t AS SELECT id, LATEST_BY_OFFSET(v) * 10 AS v FROM s GROUP BY id;",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    assert_eq!(
        cached(&session, "SELECT id, v FROM t WHERE id = 'b';"),
        None
    );
    let rebuilt = session
        .execute("SELECT id, v FROM t WHERE id = 'b';")
        .unwrap();
    assert!(
        matches!(&rebuilt[..], [StatementResult::Rows(set)] if set.rows == [[Value::String("b".into()), Value::Int(50)]]),
        "{rebuilt:?}"
    );
}
