//! Connectors over HTTP: the connector statements through `/ksql` with
//! ksqlDB's entity shapes, and Kafka Connect's REST API driven with curl.

use super::harness::TestServer;
use serde_json::{json, Value as Json};
use std::time::{Duration, Instant};

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn parse(body: &str) -> Json {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn connector_statements_round_trip_through_ksql_with_ksqldbs_entities() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.txt");
    std::fs::write(&file, "one\ntwo\n").unwrap();
    let create = format!(
        "CREATE SOURCE CONNECTOR `lines` WITH (\"connector.class\"='FileStreamSource', \"file\"='{}', \"topic\"='lines');",
        file.display()
    );
    let answer = server.ksql(&create);
    assert_eq!(
        answer,
        json!([{
            "@type": "connector_info",
            "statementText": create,
            "info": {
                "name": "lines",
                "config": {
                    "connector.class": "FileStreamSource",
                    "file": file.display().to_string(),
                    "name": "lines",
                    "topic": "lines",
                },
                "tasks": [{"connector": "lines", "task": 0}],
                "type": "source",
            },
            "warnings": [],
        }])
    );
    let again = create.replace("CONNECTOR `lines`", "CONNECTOR IF NOT EXISTS `lines`");
    assert_eq!(
        server.ksql(&again),
        json!([{"@type": "warning_entity", "statementText": again,
                "message": "Connector lines already exists", "warnings": []}])
    );
    server.ksql("CREATE STREAM lines_s (line STRING) WITH (kafka_topic='lines', value_format='JSON', wrap_single_value=false);");
    wait_for("RUNNING", || {
        server.ksql("SHOW CONNECTORS;")[0]["connectors"][0]["state"]
            == "RUNNING (1/1 tasks RUNNING)"
    });
    assert_eq!(
        server.ksql("SHOW SOURCE CONNECTORS;"),
        json!([{"@type": "connector_list", "statementText": "SHOW SOURCE CONNECTORS;", "warnings": [],
                "connectors": [{"name": "lines", "type": "source", "className": "FileStreamSource",
                                "state": "RUNNING (1/1 tasks RUNNING)"}]}])
    );
    assert_eq!(
        server.ksql("SHOW SINK CONNECTORS;")[0]["connectors"],
        json!([])
    );
    let d = &server.ksql("DESCRIBE CONNECTOR `lines`;")[0];
    assert_eq!(d["@type"], "connector_description");
    assert_eq!(d["connectorClass"], "FileStreamSource");
    assert_eq!(
        d["status"],
        json!({"name": "lines", "connector": {"state": "RUNNING", "worker_id": "embedded"},
               "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "embedded"}], "type": "source"})
    );
    assert_eq!(d["topics"], json!(["lines"]));
    assert_eq!(d["sources"][0]["name"], "LINES_S");
    assert_eq!(d["sources"][0]["topic"], "lines");
    assert!(d["deliveryGuarantee"]
        .as_str()
        .unwrap()
        .starts_with("exactly-once"));
    assert_eq!(
        server.ksql("DROP CONNECTOR `lines`;"),
        json!([{"@type": "drop_connector", "statementText": "DROP CONNECTOR `lines`;",
                "connectorName": "lines", "warnings": []}])
    );
    assert_eq!(
        server.ksql("DROP CONNECTOR IF EXISTS `lines`;")[0]["message"],
        "Connector 'lines' does not exist."
    );
    let (status, body) = server.post(
        "/ksql",
        &json!({"ksql": "DESCRIBE CONNECTOR nope;", "streamsProperties": {}}).to_string(),
        &[],
    );
    assert_eq!(status, 404, "{body}");
    let err = parse(&body);
    assert_eq!(err["@type"], "statement_error");
    assert_eq!(err["message"], "Connector NOPE not found");
}

#[test]
fn kafka_connects_rest_api_drives_the_built_in_connectors() {
    let server = TestServer::start();
    let put = |path: &str, body: &str| {
        server.curl(
            path,
            &[
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                body,
            ],
        )
    };
    let (status, body) = server.curl("/connector-plugins", &[]);
    assert_eq!(status, 200);
    let plugins = parse(&body);
    assert!(plugins.as_array().unwrap().contains(&json!({
        "class": "io.confluent.kafka.connect.datagen.DatagenConnector", "type": "source", "version": "sluice"
    })));
    // Validation, key by key.
    let (status, body) = put(
        "/connector-plugins/DatagenConnector/config/validate",
        r#"{"connector.class":"DatagenConnector","name":"x","max.interval":"soon"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let v = parse(&body);
    assert_eq!(
        v["name"],
        "io.confluent.kafka.connect.datagen.DatagenConnector"
    );
    assert_eq!(v["error_count"], 3, "{v}");
    let interval = v["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["definition"]["name"] == "max.interval")
        .unwrap();
    assert_eq!(interval["value"]["value"], "soon");
    assert_eq!(
        interval["value"]["errors"][0],
        "Invalid value soon for configuration max.interval: Not a number of type LONG"
    );
    // Create.
    let config = json!({"connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector",
                        "kafka.topic": "users", "quickstart": "users", "max.interval": "0",
                        "iterations": "25"});
    let create = json!({"name": "dg", "config": config}).to_string();
    let (status, body) = server.post(
        "/connectors",
        &create,
        &["-H", "Content-Type: application/json"],
    );
    assert_eq!(status, 201, "{body}");
    let info = parse(&body);
    assert_eq!(info["name"], "dg");
    assert_eq!(info["type"], "source");
    assert_eq!(info["tasks"], json!([{"connector": "dg", "task": 0}]));
    assert_eq!(info["config"]["quickstart"], "users");
    let (status, body) = server.post(
        "/connectors",
        &create,
        &["-H", "Content-Type: application/json"],
    );
    assert_eq!(
        (status, parse(&body)),
        (
            409,
            json!({"error_code": 409, "message": "Connector dg already exists"})
        )
    );
    // It ran: 25 records, visible to SQL too.
    wait_for("25 users", || {
        let d = &server.ksql("DESCRIBE CONNECTOR `dg`;")[0];
        d["recordsMoved"] == 25
    });
    assert_eq!(parse(&server.curl("/connectors", &[]).1), json!(["dg"]));
    let (_, body) = server.curl("/connectors?expand=status", &[]);
    assert_eq!(parse(&body)["dg"]["status"]["tasks"][0]["state"], "RUNNING");
    let (status, body) = server.curl("/connectors/dg/config", &[]);
    assert_eq!(status, 200);
    assert_eq!(parse(&body)["iterations"], "25");
    let (_, body) = server.curl("/connectors/dg/tasks", &[]);
    assert_eq!(parse(&body)[0]["id"], json!({"connector": "dg", "task": 0}));
    let (_, body) = server.curl("/connectors/dg/tasks/0/status", &[]);
    assert_eq!(
        parse(&body),
        json!({"id": 0, "state": "RUNNING", "worker_id": "embedded"})
    );
    // Pause and resume.
    assert_eq!(put("/connectors/dg/pause", "").0, 202);
    wait_for("PAUSED", || {
        parse(&server.curl("/connectors/dg/status", &[]).1)["connector"]["state"] == "PAUSED"
    });
    assert_eq!(put("/connectors/dg/resume", "").0, 202);
    wait_for("RUNNING", || {
        parse(&server.curl("/connectors/dg/status", &[]).1)["connector"]["state"] == "RUNNING"
    });
    assert_eq!(
        server.curl("/connectors/dg/restart", &["-X", "POST"]).0,
        204
    );
    // Reconfigure (200), then create through PUT (201).
    let mut more = config.clone();
    more["iterations"] = json!("40");
    let (status, body) = put("/connectors/dg/config", &more.to_string());
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body)["config"]["iterations"], "40");
    wait_for("40 users in all, the offsets kept", || {
        server.ksql("DESCRIBE CONNECTOR `dg`;")[0]["committedOffset"]
            == r#"{"current.iteration":40}"#
    });
    let (status, _) = put("/connectors/dg2/config", &config.to_string());
    assert_eq!(status, 201);
    // Errors in Connect's shape.
    let (status, body) = put(
        "/connectors/dg3/config",
        r#"{"connector.class":"com.example.Nope"}"#,
    );
    assert_eq!(status, 400);
    assert!(
        parse(&body)["message"]
            .as_str()
            .unwrap()
            .starts_with("Failed to find any class"),
        "{body}"
    );
    assert_eq!(server.curl("/connectors/dg/", &["-X", "DELETE"]).0, 404);
    assert_eq!(server.curl("/connectors/dg", &["-X", "DELETE"]).0, 204);
    let (status, body) = server.curl("/connectors/dg", &[]);
    assert_eq!(
        (status, parse(&body)),
        (
            404,
            json!({"error_code": 404, "message": "Connector dg not found"})
        )
    );
    assert_eq!(parse(&server.curl("/connectors", &[]).1), json!(["dg2"]));
}
