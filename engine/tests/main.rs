//! End-to-end tests of the engine facade: restart durability, bad records,
//! bad statements, push and pull queries.

use sluice_engine::{Engine, EngineConfig, Error, StatementResult};
use std::time::Duration;

fn open(dir: &std::path::Path, background: bool) -> Engine {
    Engine::open(EngineConfig {
        data_dir: Some(dir.to_path_buf()),
        background,
        properties: Default::default(),
    })
    .expect("engine opens")
}

fn memory() -> Engine {
    Engine::open(EngineConfig::default()).expect("engine opens")
}

/// Every record value of a topic, decoded as test-case JSON.
fn topic_values(engine: &Engine, topic: &str) -> Vec<serde_json::Value> {
    let log = engine.log();
    let info = log.describe_topic(topic).unwrap().expect("topic exists");
    let mut out = Vec::new();
    for p in 0..info.partitions {
        for r in log.read(topic, p, 0, usize::MAX).unwrap() {
            out.push(engine.decode_record_for_topic(topic, &r.record).unwrap().1);
        }
    }
    out
}

fn rows(result: StatementResult) -> Vec<Vec<sluice_engine::types::Value>> {
    match result {
        StatementResult::Rows(r) => r.rows,
        other => panic!("expected rows, got {other:?}"),
    }
}

#[test]
fn persistent_query_resumes_after_restart_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = open(dir.path(), false);
        e.execute(
            "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=2);
             CREATE STREAM up AS SELECT id, UCASE(v) AS v FROM s;
             INSERT INTO s (id, v) VALUES (1, 'a');
             INSERT INTO s (id, v) VALUES (2, 'b');",
        )
        .unwrap();
        e.run_until_idle().unwrap();
        assert_eq!(topic_values(&e, "UP").len(), 2);
        // Records arriving while the engine is down must be processed later.
    }
    {
        let e = open(dir.path(), false);
        e.execute("INSERT INTO s (id, v) VALUES (3, 'c');").unwrap();
        e.run_until_idle().unwrap();
        let mut got: Vec<String> = topic_values(&e, "UP")
            .iter()
            .map(|v| v["V"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        assert_eq!(got, vec!["A", "B", "C"]);
    }
    {
        // A third start with nothing new must not reprocess anything.
        let e = open(dir.path(), false);
        e.run_until_idle().unwrap();
        assert_eq!(topic_values(&e, "UP").len(), 3);
    }
}

#[test]
fn background_queries_keep_running_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = open(dir.path(), true);
        e.execute(
            "CREATE STREAM s (id INT KEY, n INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
             CREATE STREAM big AS SELECT id, n FROM s WHERE n > 10;",
        )
        .unwrap();
    }
    let e = open(dir.path(), true);
    e.execute("INSERT INTO s (id, n) VALUES (1, 5); INSERT INTO s (id, n) VALUES (2, 50);")
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = e.log().end_offset("BIG", 0).unwrap();
        if got == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "query did not process input"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(topic_values(&e, "BIG"), vec![serde_json::json!({"N": 50})]);
}

#[test]
fn malformed_record_is_skipped_logged_and_query_keeps_running() {
    let e = memory();
    e.execute(
        "CREATE STREAM s (id INT KEY, n INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE STREAM out AS SELECT id, n * 2 AS n2 FROM s;",
    )
    .unwrap();
    let log = e.log();
    let append = |value: &[u8]| {
        log.append(
            "s",
            Some(0),
            sluice_engine::log::Record {
                key: Some(1i32.to_be_bytes().to_vec()),
                value: Some(value.to_vec()),
                timestamp: 1,
                headers: vec![],
            },
        )
        .unwrap();
    };
    append(br#"{"N": 1}"#);
    append(br#"{"N": "not a number"#); // truncated JSON
    append(br#"{"N": 3}"#);
    e.run_until_idle().unwrap();
    assert_eq!(
        topic_values(&e, "OUT"),
        vec![serde_json::json!({"N2": 2}), serde_json::json!({"N2": 6})]
    );
    // The bad record is in the processing log, queryable as a stream.
    let logged = rows(
        e.execute(
            "SELECT MESSAGE->DESERIALIZATIONERROR->ERRORMESSAGE AS M FROM KSQL_PROCESSING_LOG;",
        )
        .unwrap()
        .pop()
        .unwrap(),
    );
    assert_eq!(logged.len(), 1);
    let msg = logged[0][0].to_string();
    assert!(
        msg.contains("Failed to deserialize value from topic: s"),
        "{msg}"
    );
}

#[test]
fn malformed_statement_names_line_and_column() {
    let e = memory();
    let err = e
        .execute("CREATE STREAM s (id INT KEY) WITH (kafka_topic='s', value_format='JSON', partitions=1);\nSELECT id FROM s WHERE id = = 1;")
        .unwrap_err();
    match &err {
        Error::Parse { pos, .. } => {
            assert_eq!(pos.line, 2);
            assert_eq!(pos.col, 29);
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert!(err.to_string().starts_with("line 2:29"), "{err}");
    // The statement before the bad one took effect; nothing else was lost.
    assert!(e.describe_source("S").is_some());
}

#[test]
fn push_query_streams_new_rows_and_stops_at_limit() {
    let e = memory();
    e.execute(
        "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    )
    .unwrap();
    let mut q = match e
        .execute("SELECT id, v FROM s WHERE v <> 'skip' EMIT CHANGES LIMIT 2;")
        .unwrap()
        .pop()
        .unwrap()
    {
        StatementResult::Push(q) => q,
        other => panic!("expected a push query, got {other:?}"),
    };
    assert_eq!(q.columns().len(), 2);
    e.execute("INSERT INTO s VALUES (1, 'a'); INSERT INTO s VALUES (2, 'skip'); INSERT INTO s VALUES (3, 'c');")
        .unwrap();
    let mut got = Vec::new();
    while let Some(batch) = q.next_rows(Duration::from_millis(500)).unwrap() {
        got.extend(batch);
    }
    assert_eq!(got.len(), 2);
    assert_eq!(got[1][1].to_string(), "c");
}

#[test]
fn variables_are_substituted() {
    let e = memory();
    e.execute(
        "DEFINE topic = 'vt';
         CREATE STREAM s (id INT KEY) WITH (kafka_topic='${topic}', value_format='JSON', partitions=1);",
    )
    .unwrap();
    assert_eq!(e.describe_source("S").unwrap().topic, "vt");
}

#[test]
fn table_state_survives_restart_for_joins_and_table_aggregations() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = open(dir.path(), false);
        e.execute(
            "SET 'auto.offset.reset' = 'earliest';
             CREATE TABLE users (id STRING PRIMARY KEY, region STRING) WITH (kafka_topic='users', value_format='JSON', partitions=1);
             CREATE STREAM views (user_id STRING KEY, page STRING) WITH (kafka_topic='views', value_format='JSON', partitions=1);
             CREATE STREAM enriched AS SELECT v.user_id, v.page, u.region FROM views v LEFT JOIN users u ON v.user_id = u.id;
             CREATE TABLE per_region AS SELECT region, COUNT(*) AS n FROM users GROUP BY region;
             INSERT INTO users (id, region) VALUES ('u1', 'eu');
             INSERT INTO users (id, region) VALUES ('u2', 'eu');",
        )
        .unwrap();
        e.run_until_idle().unwrap();
    }
    let e = open(dir.path(), false);
    // The join still knows u1's region, and moving u2 retracts it from 'eu'.
    e.execute(
        "INSERT INTO views (user_id, page) VALUES ('u1', '/home');
         INSERT INTO users (id, region) VALUES ('u2', 'us');",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    assert_eq!(
        topic_values(&e, "ENRICHED"),
        vec![serde_json::json!({"PAGE": "/home", "REGION": "eu"})]
    );
    let counts = rows(
        e.execute("SELECT region, n FROM per_region;")
            .unwrap()
            .pop()
            .unwrap(),
    );
    let mut got: Vec<(String, String)> = counts
        .iter()
        .map(|r| (r[0].to_string(), r[1].to_string()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("eu".to_string(), "1".to_string()),
            ("us".to_string(), "1".to_string())
        ]
    );
}
