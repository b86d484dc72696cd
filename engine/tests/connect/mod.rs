//! Connectors run by the engine: datagen feeding a windowed aggregate,
//! a file followed as it grows across a restart (no line lost or
//! repeated) and written back out by the file sink, pause and resume,
//! and a failing connector that shows FAILED, retries, and leaves the
//! other queries running.

use super::open;

mod jdbc;
use serde_json::Value as Json;
use sluice_engine::results::ConnectorDescription;
use sluice_engine::{Engine, StatementResult};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// Waits up to 20 s for `done`.
pub(super) fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every record value of partition 0 of a topic, as text.
pub(super) fn lines(e: &Engine, topic: &str) -> Vec<String> {
    match e.log().describe_topic(topic).unwrap() {
        None => Vec::new(),
        Some(_) => e
            .log()
            .read(topic, 0, 0, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|r| String::from_utf8(r.record.value.unwrap()).unwrap())
            .collect(),
    }
}

fn describe(e: &Engine, name: &str) -> ConnectorDescription {
    match e
        .execute(&format!("DESCRIBE CONNECTOR {name};"))
        .unwrap()
        .pop()
        .unwrap()
    {
        StatementResult::ConnectorDescription(d) => *d,
        other => panic!("expected a connector description, got {other:?}"),
    }
}

fn append(path: &std::path::Path, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

#[test]
fn datagen_feeds_a_windowed_aggregate_whose_counts_match_what_was_generated() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path(), true);
    e.execute(
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM pageviews (userid STRING KEY, viewtime BIGINT, pageid STRING)
           WITH (kafka_topic='pageviews', value_format='JSON', partitions=2);
         CREATE TABLE views_per_user AS SELECT userid, COUNT(*) AS n FROM pageviews
           WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY userid EMIT CHANGES;
         CREATE SOURCE CONNECTOR dg WITH (
           \"connector.class\" = 'io.confluent.kafka.connect.datagen.DatagenConnector',
           \"kafka.topic\" = 'pageviews', \"quickstart\" = 'pageviews',
           \"schema.keyfield\" = 'userid', \"max.interval\" = 0,
           \"iterations\" = 500, \"random.seed\" = 42);",
    )
    .unwrap();
    let count = |e: &Engine| -> u64 {
        (0..2)
            .map(|p| e.log().end_offset("pageviews", p).unwrap() as u64)
            .sum()
    };
    wait_for("500 generated records", || count(&e) == 500);
    // What was generated, counted by user from the topic itself.
    let mut generated: BTreeMap<String, i64> = BTreeMap::new();
    for p in 0..2 {
        for r in e.log().read("pageviews", p, 0, usize::MAX).unwrap() {
            let v: Json = serde_json::from_slice(r.record.value.as_ref().unwrap()).unwrap();
            let user = v["userid"].as_str().unwrap().to_string();
            assert_eq!(r.record.key.as_deref(), Some(user.as_bytes()));
            assert!(v["pageid"].as_str().unwrap().starts_with("Page_"));
            *generated.entry(user).or_default() += 1;
        }
    }
    assert!(generated.len() > 1, "several users: {generated:?}");
    let counted = || -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        let rows = match e
            .execute("SELECT userid, n FROM views_per_user;")
            .unwrap()
            .pop()
            .unwrap()
        {
            StatementResult::Rows(r) => r.rows,
            other => panic!("{other:?}"),
        };
        for r in rows {
            let n: i64 = r[1].to_string().parse().unwrap();
            *out.entry(r[0].to_string()).or_default() += n;
        }
        out
    };
    wait_for("the aggregate to catch up", || counted() == generated);
    // The connector stops at its iterations and says how it delivers.
    wait_for("the last commit", || describe(&e, "dg").records == 500);
    let d = describe(&e, "dg");
    assert_eq!(d.status.tasks[0].1.state, "RUNNING");
    assert_eq!(d.records, 500);
    assert!(d.delivery.starts_with("exactly-once"), "{}", d.delivery);
    assert_eq!(d.topics, vec!["pageviews"]);
    assert_eq!(d.sources.len(), 1, "the stream over its topic");
    assert_eq!(d.offset.as_deref(), Some(r#"{"current.iteration":500}"#));
}

#[test]
fn a_file_is_followed_across_a_restart_with_no_line_lost_or_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let input = files.path().join("in.txt");
    let output = files.path().join("out.txt");
    append(&input, "l0\nl1\nl2\n");
    let create = format!(
        "CREATE SOURCE CONNECTOR fs WITH (\"connector.class\"='FileStreamSource', \"file\"='{}',
           \"topic\"='lines', \"value.converter\"='org.apache.kafka.connect.storage.StringConverter');
         CREATE SINK CONNECTOR out WITH (\"connector.class\"='org.apache.kafka.connect.file.FileStreamSinkConnector',
           \"file\"='{}', \"topics\"='lines',
           \"value.converter\"='org.apache.kafka.connect.storage.StringConverter');",
        input.display(),
        output.display()
    );
    let expected = |n: usize| (0..n).map(|i| format!("l{i}")).collect::<Vec<_>>();
    {
        let e = open(dir.path(), true);
        e.execute(&create).unwrap();
        wait_for("3 lines", || lines(&e, "lines") == expected(3));
        // The file grows while the connector follows it; a partial line
        // waits for its newline.
        append(&input, "l3\nl4\nl");
        wait_for("5 lines", || lines(&e, "lines") == expected(5));
        append(&input, "5\n");
        wait_for("6 lines", || lines(&e, "lines") == expected(6));
        let names: Vec<String> = match e.execute("SHOW CONNECTORS;").unwrap().pop().unwrap() {
            StatementResult::Connectors(list) => list.into_iter().map(|c| c.name).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(names, vec!["FS", "OUT"]);
    }
    // Lines written while the process is down come in after the restart.
    append(&input, "l6\nl7\n");
    let e = open(dir.path(), true);
    wait_for("8 lines", || lines(&e, "lines") == expected(8));
    append(&input, "l8\n");
    wait_for("9 lines", || lines(&e, "lines") == expected(9));
    // The sink wrote every line once, across the restart too.
    wait_for("the sink's file", || {
        std::fs::read_to_string(&output).unwrap_or_default() == expected(9).join("\n") + "\n"
    });
    wait_for("the offset", || {
        describe(&e, "fs").offset.as_deref()
            == Some(format!(r#"{{"filename":"{}","position":27}}"#, input.display()).as_str())
    });
    // Dropped connectors stop; their offsets stay.
    e.execute("DROP CONNECTOR fs;").unwrap();
    assert!(e.execute("DESCRIBE CONNECTOR fs;").is_err());
    append(&input, "l9\n");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lines(&e, "lines"), expected(9));
    e.execute(create.split(';').next().unwrap()).unwrap();
    wait_for("10 lines", || lines(&e, "lines") == expected(10));
}

#[test]
fn a_paused_connector_moves_nothing_until_resumed_and_stays_paused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let input = files.path().join("in.txt");
    append(&input, "a\n");
    {
        let e = open(dir.path(), true);
        e.execute(&format!(
            "CREATE SOURCE CONNECTOR IF NOT EXISTS fs WITH (\"connector.class\"='FileStreamSource',
               \"file\"='{}', \"topic\"='t');",
            input.display()
        ))
        .unwrap();
        // JSON without schemas by default: each line a JSON string.
        wait_for("a", || lines(&e, "t") == vec!["\"a\""]);
        e.execute("PAUSE CONNECTOR fs;").unwrap();
        wait_for("PAUSED", || {
            describe(&e, "fs").status.connector.state == "PAUSED"
        });
    }
    append(&input, "b\n");
    let e = open(dir.path(), true);
    assert_eq!(describe(&e, "fs").status.connector.state, "PAUSED");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lines(&e, "t"), vec!["\"a\""]);
    e.execute("RESUME CONNECTOR fs;").unwrap();
    wait_for("b", || lines(&e, "t") == vec!["\"a\"", "\"b\""]);
    // CREATE ... IF NOT EXISTS of one that exists warns; without, fails.
    let again = "CREATE SOURCE CONNECTOR IF NOT EXISTS fs WITH (\"connector.class\"='FileStreamSource', \"file\"='x', \"topic\"='t');";
    assert!(matches!(
        e.execute(again).unwrap().pop().unwrap(),
        StatementResult::Warning(m) if m == "Connector FS already exists"
    ));
    let err = e.execute(&again.replace("IF NOT EXISTS ", "")).unwrap_err();
    assert_eq!(err.to_string(), "Connector FS already exists");
}

#[test]
fn a_failing_connector_shows_failed_retries_and_leaves_other_queries_running() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let missing = files.path().join("later.txt");
    let e = open(dir.path(), true);
    e.execute(&format!(
        "CREATE SOURCE CONNECTOR broken WITH (\"connector.class\"='FileStreamSource', \"file\"='{}', \"topic\"='x');
         CREATE STREAM s (id INT KEY, n INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE STREAM doubled AS SELECT id, n * 2 AS n FROM s;",
        missing.display()
    ))
    .unwrap();
    wait_for("FAILED", || {
        describe(&e, "broken").status.tasks[0].1.state == "FAILED"
    });
    let d = describe(&e, "broken");
    let trace = d.status.tasks[0].1.trace.clone().unwrap();
    assert!(trace.contains("later.txt"), "{trace}");
    let summary = match e.execute("SHOW SOURCE CONNECTORS;").unwrap().pop().unwrap() {
        StatementResult::Connectors(list) => list,
        other => panic!("{other:?}"),
    };
    assert_eq!(summary[0].state, "WARNING (0/1 tasks RUNNING)");
    // Other queries run meanwhile.
    e.execute("INSERT INTO s (id, n) VALUES (1, 21);").unwrap();
    wait_for("the query's output", || {
        e.log().end_offset("DOUBLED", 0).unwrap() == 1
    });
    // It retries: once the file exists, it runs.
    append(&missing, "hello\n");
    wait_for("the retry", || lines(&e, "x") == vec!["\"hello\""]);
    assert_eq!(describe(&e, "broken").status.tasks[0].1.state, "RUNNING");
    // Bad configurations are refused up front, with Connect's messages.
    let err = e
        .execute("CREATE SOURCE CONNECTOR bad WITH (\"connector.class\"='FileStreamSource');")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("Validation error:") && err.contains("\"file\""),
        "{err}"
    );
    let err = e
        .execute("CREATE SINK CONNECTOR bad WITH (\"connector.class\"='FileStreamSource', \"file\"='f', \"topic\"='t');")
        .unwrap_err()
        .to_string();
    assert!(err.contains("CREATE SOURCE CONNECTOR"), "{err}");
    let err = e
        .execute("CREATE SOURCE CONNECTOR bad WITH (\"connector.class\"='com.example.Jdbc');")
        .unwrap_err()
        .to_string();
    assert!(err.contains("Failed to find any class"), "{err}");
}

#[test]
fn datagen_with_the_avro_converter_registers_its_schema_and_sql_infers_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path(), true);
    let create = |name: &str, topic: &str, converter: &str| {
        format!(
            "CREATE SOURCE CONNECTOR {name} WITH (\"connector.class\"='DatagenConnector',
               \"kafka.topic\"='{topic}', \"quickstart\"='users', \"max.interval\"=0,
               \"iterations\"=20, \"random.seed\"=9, \"value.converter\"='{converter}',
               \"value.converter.schemas.enable\"='false');"
        )
    };
    e.execute(&create(
        "av",
        "users_avro",
        "io.confluent.connect.avro.AvroConverter",
    ))
    .unwrap();
    e.execute(&create("js", "users_json", "JsonConverter"))
        .unwrap();
    let end = |t: &str| e.log().end_offset(t, 0).unwrap();
    wait_for("both topics", || {
        end("users_avro") == 20 && end("users_json") == 20
    });
    // The value schema is in the registry under the topic's subject, so
    // the stream's columns are inferred from it.
    let registry = e.schema_registry().unwrap();
    assert_eq!(
        registry.versions("users_avro-value", false).unwrap(),
        vec![1]
    );
    e.execute(
        "SET 'auto.offset.reset'='earliest';
         CREATE STREAM users_avro WITH (kafka_topic='users_avro', value_format='AVRO');
         CREATE STREAM users_json (registertime BIGINT, userid STRING, regionid STRING, gender STRING)
           WITH (kafka_topic='users_json', value_format='JSON');",
    )
    .unwrap();
    let columns: Vec<String> = e
        .describe_source("USERS_AVRO")
        .unwrap()
        .schema
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.ty))
        .collect();
    assert_eq!(
        columns,
        [
            "REGISTERTIME BIGINT",
            "USERID STRING",
            "REGIONID STRING",
            "GENDER STRING"
        ]
    );
    // The same seed made the same users, whatever the converter.
    let rows = |sql: &str| -> Vec<String> {
        match e.execute(sql).unwrap().pop().unwrap() {
            StatementResult::Rows(r) => r
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    };
    let avro = rows("SELECT registertime, userid, regionid, gender FROM users_avro;");
    assert_eq!(avro.len(), 20);
    assert_eq!(
        avro,
        rows("SELECT registertime, userid, regionid, gender FROM users_json;")
    );
}
