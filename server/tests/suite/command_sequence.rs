//! `commandSequenceNumber`: a statement's status carries the command-topic
//! offset of the command it recorded, and a request naming one waits until
//! that command has been applied before it runs (ksqlDB's 503 with 50301
//! past the server's `ksql.server.command.response.timeout.ms`).

use super::harness::TestServer;
use serde_json::{json, Value};

fn sequence_of(answer: &Value) -> i64 {
    answer[0]["commandSequenceNumber"]
        .as_i64()
        .unwrap_or_else(|| panic!("a commandSequenceNumber in {answer}"))
}

#[test]
fn a_request_naming_a_command_waits_until_it_was_applied() {
    let properties = [(
        "ksql.server.command.response.timeout.ms".to_string(),
        "300".to_string(),
    )]
    .into_iter()
    .collect();
    let server = std::sync::Arc::new(TestServer::start_configured(properties, None, None));
    // Session one records two commands: their numbers are their offsets in
    // the command topic, one after the other.
    let first = sequence_of(&server.ksql(
        "CREATE STREAM A (ID STRING KEY, V INT) WITH (kafka_topic='a', value_format='json', partitions=1);",
    ));
    let second = sequence_of(&server.ksql("CREATE STREAM B AS SELECT * FROM A;"));
    assert_eq!(second, first + 1);
    assert!(first >= 0);

    // Session two names the second command: it has been applied, so its
    // statements run at once and see stream B.
    let body = json!({"ksql": "DESCRIBE B;", "commandSequenceNumber": second}).to_string();
    let (status, text) = server.post("/ksql", &body, &[]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"name\":\"B\""), "{text}");
    let body = json!({"ksql": "SELECT * FROM B;", "commandSequenceNumber": second}).to_string();
    let (status, text) = server.post("/query", &body, &[]);
    assert_eq!(status, 200, "{text}");

    // A command not recorded yet: after the timeout, ksqlDB's 503.
    let ahead = second + 1;
    for (path, sql) in [("/ksql", "SHOW STREAMS;"), ("/query", "SELECT * FROM B;")] {
        let body = json!({"ksql": sql, "commandSequenceNumber": ahead}).to_string();
        let (status, text) = server.post(path, &body, &[]);
        assert_eq!(status, 503, "{path}: {text}");
        let error: Value = serde_json::from_str(&text).expect("a JSON error");
        assert_eq!(error["@type"], "generic_error");
        assert_eq!(error["error_code"], 50301);
        assert_eq!(
            error["message"],
            format!(
                "Timed out while waiting for a previous command to execute. command sequence number: {ahead}"
            )
        );
    }

    // Session two waits for the next command while session one records it:
    // the request runs once it has been applied, and sees its stream.
    let waiting = {
        let server = server.clone();
        std::thread::spawn(move || {
            let body = json!({
                "ksql": "DESCRIBE C;",
                "commandSequenceNumber": ahead,
                "streamsProperties": {},
            })
            .to_string();
            // The server's timeout is short: a 503 is asked again. Run
            // before C is recorded, the request would fail (no C), so
            // what it answers shows it waited for the command.
            loop {
                let (status, text) = server.post("/ksql", &body, &[]);
                if status != 503 {
                    return (status, text);
                }
            }
        })
    };
    let third = sequence_of(&server.ksql("CREATE STREAM C AS SELECT * FROM A;"));
    assert_eq!(third, ahead);
    let (status, text) = waiting.join().expect("the waiting session");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"name\":\"C\""), "{text}");

    // Not a number: 400.
    let body = json!({"ksql": "SHOW STREAMS;", "commandSequenceNumber": "x"}).to_string();
    let (status, _) = server.post("/ksql", &body, &[]);
    assert_eq!(status, 400);
}

/// Two servers of one service on Kafka: a request to the second naming the
/// command the first recorded runs once the second has applied it (read
/// from the command topic), so it sees the new stream at once.
#[test]
fn a_server_waits_for_a_command_another_server_of_the_service_recorded() {
    let bootstrap = std::env::var("SLUICE_TEST_BOOTSTRAP").expect(
        "SLUICE_TEST_BOOTSTRAP names no Kafka broker: run scripts/test.sh, which starts one",
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let service = format!("cmdseq_{nanos}_");
    let properties: std::collections::BTreeMap<String, String> = [
        ("bootstrap.servers".to_string(), bootstrap),
        ("ksql.service.id".to_string(), service),
    ]
    .into_iter()
    .collect();
    let first = TestServer::start_configured(properties.clone(), None, None);
    let second = TestServer::start_configured(properties, None, None);
    let name = format!("SEQ_{nanos}");
    let recorded = sequence_of(&first.ksql(&format!(
        "CREATE STREAM {name} (ID STRING KEY, V INT) WITH (kafka_topic='{}', value_format='json', partitions=1);",
        name.to_lowercase()
    )));
    let body =
        json!({"ksql": format!("DESCRIBE {name};"), "commandSequenceNumber": recorded}).to_string();
    let (status, text) = second.post("/ksql", &body, &[]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(&format!("\"name\":\"{name}\"")), "{text}");
}
