//! The engine facade's API: sessions and their properties, typed results
//! (command statuses, descriptions with runtime statistics), query health
//! (ERROR with its reason) and error codes.

use super::{memory, topic_values};
use sluice_engine::{Engine, EngineConfig, StatementResult};
use std::time::Duration;

/// Sessions: each has its own properties, used by every statement it runs
/// (as ksqlDB scopes `streamsProperties` per request), and a persistent
/// query keeps the ones in force when it was created.
#[test]
fn each_session_runs_queries_with_its_own_properties() {
    let e = memory();
    e.execute(
        "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         INSERT INTO s (id, v) VALUES (1, 'a');",
    )
    .unwrap();
    let early = e.session();
    let late = e.session();
    early
        .execute("SET 'auto.offset.reset' = 'earliest';")
        .unwrap();
    assert_eq!(
        early
            .properties()
            .get("auto.offset.reset")
            .map(String::as_str),
        Some("earliest")
    );
    assert_eq!(late.properties().get("auto.offset.reset"), None);
    early
        .execute("CREATE STREAM from_start AS SELECT * FROM s;")
        .unwrap();
    late.execute("CREATE STREAM from_now AS SELECT * FROM s;")
        .unwrap();
    e.execute("INSERT INTO s (id, v) VALUES (2, 'b');").unwrap();
    e.run_until_idle().unwrap();
    let values = |topic| {
        topic_values(&e, topic)
            .into_iter()
            .map(|v| v["V"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(values("FROM_START"), ["a", "b"]);
    assert_eq!(values("FROM_NOW"), ["b"]);

    // Push queries read from where their own session says.
    let push = |session: &sluice_engine::Session| {
        let mut results = session.execute("SELECT v FROM s EMIT CHANGES;").unwrap();
        match results.pop() {
            Some(StatementResult::Push(q)) => q,
            other => panic!("expected a push query, got {other:?}"),
        }
    };
    let (mut from_start, mut from_now) = (push(&early), push(&late));
    let rows = from_start
        .next_rows(Duration::from_secs(2))
        .unwrap()
        .unwrap();
    assert_eq!(rows.len(), 2, "the earliest session reads what is there");
    let rows = from_now
        .next_rows(Duration::from_millis(200))
        .unwrap()
        .unwrap();
    assert!(rows.is_empty(), "the latest session waits for new rows");

    // Variables are per session too.
    early.execute("DEFINE tbl = 's';").unwrap();
    assert!(late.execute("SELECT * FROM ${tbl};").is_err());
    let vars = early.variables();
    let defined = vars.iter().find(|(k, _)| k.eq_ignore_ascii_case("tbl"));
    assert_eq!(defined.map(|(_, v)| v.as_str()), Some("s"));
    assert!(late.variables().is_empty());
}

/// A persistent query whose work keeps failing shows ERROR with its reason
/// (and keeps retrying); it shows RUNNING again once its work succeeds.
#[test]
fn a_failing_query_shows_error_with_its_reason() {
    let e = Engine::open(EngineConfig {
        background: true,
        ..Default::default()
    })
    .unwrap();
    e.execute(
        "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE STREAM up AS SELECT id, UCASE(v) AS v FROM s;",
    )
    .unwrap();
    // The sink's topic disappears under the running query.
    e.log().delete_topic("UP").unwrap();
    e.execute("INSERT INTO s (id, v) VALUES (1, 'a');").unwrap();
    let status = || match e.execute("SHOW QUERIES;").unwrap().pop() {
        Some(StatementResult::Queries(q)) => (q[0].state.clone(), q[0].error.clone()),
        other => panic!("expected queries, got {other:?}"),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while status().0 != "ERROR" && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (state, error) = status();
    assert_eq!(state, "ERROR");
    assert!(
        error.as_deref().is_some_and(|m| m.contains("UP")),
        "the reason names the missing topic: {error:?}"
    );
    match e.execute("EXPLAIN CSAS_UP_0;").unwrap().pop() {
        Some(StatementResult::QueryDescription(d)) => {
            assert_eq!(d.state.as_deref(), Some("ERROR"));
            let failure = d.error.expect("the failure");
            assert!(failure.message.contains("UP"), "{failure:?}");
            assert!(failure.attempts >= 1, "{failure:?}");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
            assert!(
                (now - 60_000..=now).contains(&failure.at_ms),
                "when it last failed: {failure:?}"
            );
        }
        other => panic!("expected a query description, got {other:?}"),
    }
    // Once the topic is back, the query catches up and runs again.
    e.log()
        .create_topic(
            "UP",
            &sluice_engine::log::TopicConfig {
                partitions: 1,
                replicas: 1,
                compact: false,
            },
        )
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while status().0 != "RUNNING" && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status(), ("RUNNING".to_string(), None));
    // The row that failed was retried, not lost.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while topic_values(&e, "UP").is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(topic_values(&e, "UP"), [serde_json::json!({"V": "A"})]);
}

/// Errors carry ksqlDB's REST error codes: a statement that cannot run is
/// 40001 (a parse error names its line and column), a missing stream,
/// table, query or topic 40400.
#[test]
fn errors_carry_ksqldb_codes() {
    use sluice_engine::error::codes;
    let e = memory();
    let err = e.execute("SELECT * FROM\n  WHERE x;").unwrap_err();
    assert_eq!(err.code(), codes::BAD_STATEMENT);
    assert!(err.to_string().starts_with("line 2:"), "{err}");
    for missing in [
        "DESCRIBE nowhere;",
        "DROP STREAM nowhere;",
        "TERMINATE CSAS_NOWHERE_0;",
        "EXPLAIN CSAS_NOWHERE_0;",
        "PRINT 'nowhere';",
        "DROP TYPE nowhere;",
    ] {
        let err = e.execute(missing).unwrap_err();
        assert_eq!(err.code(), codes::NOT_FOUND, "{missing}: {err}");
    }
    e.execute("CREATE STREAM s (v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);")
        .unwrap();
    let err = e
        .execute("CREATE STREAM s (v INT) WITH (kafka_topic='s', value_format='JSON');")
        .unwrap_err();
    assert_eq!(err.code(), codes::BAD_STATEMENT, "{err}");
}

/// DESCRIBE and EXPLAIN report what the queries did: records consumed from
/// a source, produced to a sink, and records skipped as unreadable.
#[test]
fn descriptions_carry_runtime_statistics() {
    let e = memory();
    e.execute(
        "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE STREAM up AS SELECT id, UCASE(v) AS v FROM s;
         INSERT INTO s (id, v) VALUES (1, 'a');
         INSERT INTO s (id, v) VALUES (2, 'b');",
    )
    .unwrap();
    e.log()
        .append(
            "s",
            Some(0),
            sluice_engine::log::Record {
                key: None,
                value: Some(b"{not json".to_vec()),
                timestamp: 1,
                headers: Vec::new(),
            },
        )
        .unwrap();
    e.run_until_idle().unwrap();
    let describe = |name: &str| match e
        .execute(&format!("DESCRIBE {name} EXTENDED;"))
        .unwrap()
        .pop()
    {
        Some(StatementResult::SourceDescription(d)) => d,
        other => panic!("expected a description, got {other:?}"),
    };
    let source = describe("s");
    assert_eq!(source.statistics.messages_consumed, 3);
    assert_eq!(source.statistics.processing_errors, 1);
    assert_eq!(source.read_queries.len(), 1);
    let sink = describe("up");
    assert_eq!(sink.statistics.messages_produced, 2);
    assert_eq!(sink.write_queries[0].id, "CSAS_UP_0");
    match e.execute("EXPLAIN CSAS_UP_0;").unwrap().pop() {
        Some(StatementResult::QueryDescription(d)) => {
            assert_eq!(d.statistics.messages_consumed, 3);
            assert_eq!(d.statistics.messages_produced, 2);
            assert_eq!(d.statistics.processing_errors, 1);
            assert_eq!(d.sources, ["S"]);
            assert_eq!(d.sinks, ["UP"]);
        }
        other => panic!("expected a query description, got {other:?}"),
    }
}

/// Statements that change the catalog answer ksqlDB's command status: its
/// command id, the statement as recorded, and its sequence number.
#[test]
fn catalog_statements_answer_a_command_status() {
    let e = memory();
    let status = |sql: &str| match e.execute(sql).unwrap().pop() {
        Some(StatementResult::Status(s)) => s,
        other => panic!("{sql}: expected a command status, got {other:?}"),
    };
    let created = status(
        "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    );
    assert_eq!(created.command_id, "stream/`S`/create");
    assert_eq!(created.message, "Stream created");
    assert_eq!(created.status, "SUCCESS");
    assert!(created.statement.starts_with("CREATE STREAM s"));
    let csas = status("CREATE STREAM up AS SELECT * FROM s;");
    assert_eq!(csas.command_id, "stream/`UP`/create");
    assert_eq!(csas.query_id.as_deref(), Some("CSAS_UP_0"));
    assert!(csas.sequence_number > created.sequence_number);
    let terminated = status("TERMINATE CSAS_UP_0;");
    assert_eq!(terminated.command_id, "terminate/CSAS_UP_0/execute");
    let dropped = status("DROP STREAM up;");
    assert_eq!(dropped.command_id, "stream/UP/drop");
    assert_eq!(dropped.message, "Source UP (topic: UP) was dropped.");
    // Session statements change no catalog: a message, no command.
    assert!(matches!(
        e.execute("SET 'auto.offset.reset' = 'earliest';")
            .unwrap()
            .pop(),
        Some(StatementResult::Message(_))
    ));
}

/// DROP ... DELETE TOPIC refuses while other streams or tables use the
/// topic, naming them as ksqlDB does, and drops nothing.
#[test]
fn drop_delete_topic_refuses_while_other_sources_use_the_topic() {
    let e = memory();
    e.execute(
        "CREATE STREAM a (id INT KEY, v STRING) WITH (kafka_topic='t', value_format='JSON', partitions=1);
         CREATE STREAM b (id INT KEY, v STRING) WITH (kafka_topic='t', value_format='JSON');
         CREATE TABLE c (id INT PRIMARY KEY, v STRING) WITH (kafka_topic='t', value_format='JSON');
         CREATE STREAM d AS SELECT * FROM a;
         TERMINATE CSAS_D_0;",
    )
    .unwrap();
    let err = e.execute("DROP STREAM d DELETE TOPIC;");
    assert!(err.is_ok(), "{err:?}");
    let err = e.execute("DROP STREAM a DELETE TOPIC;").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Refusing to delete topic. Found other data sources (B, C) using topic t"
    );
    assert!(e.describe_source("A").is_some(), "A was dropped");
    assert!(e.log().describe_topic("t").unwrap().is_some());
    // Without DELETE TOPIC the drop goes ahead; the last user may delete it.
    e.execute("DROP STREAM a; DROP TABLE c;").unwrap();
    e.execute("DROP STREAM b DELETE TOPIC;").unwrap();
    assert!(e.log().describe_topic("t").unwrap().is_none());
}
