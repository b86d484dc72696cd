//! Every endpoint over HTTP/1.1 with `curl`, checking ksqlDB's exact
//! response shapes.

use super::harness::{mask_query_id, TestServer};
use serde_json::json;

const EARLIEST: &str = r#""streamsProperties":{"auto.offset.reset":"earliest"}"#;

#[test]
fn info_and_healthcheck_answer_server_state() {
    let server = TestServer::start();
    let (status, body) = server.curl("/info", &[]);
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(info["KsqlServerInfo"]["serverStatus"], "RUNNING");
    assert!(info["KsqlServerInfo"]["version"].is_string());
    let (status, body) = server.curl("/healthcheck", &[]);
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"isHealthy":true,"details":{"metastore":{"isHealthy":true},"kafka":{"isHealthy":true}},"serverState":"READY"}"#
    );
}

#[test]
fn status_lines_carry_reason_phrases() {
    let server = TestServer::start();
    let (_, head) = server.curl("/info", &["-i"]);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let (_, head) = server.curl("/nope", &["-i"]);
    assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
}

#[test]
fn create_stream_answers_current_status() {
    let server = TestServer::start();
    let sql = "CREATE STREAM S (ID STRING KEY, NAME STRING) WITH (kafka_topic='s', value_format='json', partitions=1);";
    let (status, body) = server.post(
        "/ksql",
        &json!({"ksql": sql, "streamsProperties": {}}).to_string(),
        &[],
    );
    assert_eq!(status, 200);
    let expected = json!([{
        "@type": "currentStatus",
        "statementText": sql,
        "commandId": "stream/`S`/create",
        "commandStatus": {"status": "SUCCESS", "message": "Stream created", "queryId": null},
        "commandSequenceNumber": 0,
        "warnings": [],
    }]);
    let got: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    // The sequence number is the command topic's offset; only its type is fixed.
    assert!(got[0]["commandSequenceNumber"].is_i64(), "{body}");
    let mut got = got;
    got[0]["commandSequenceNumber"] = json!(0);
    assert_eq!(got, expected);
}

#[test]
fn insert_values_answers_an_empty_array_and_lists_describe() {
    let server = TestServer::start();
    server.stream_with_rows();
    let (status, body) = server.post(
        "/ksql",
        r#"{"ksql":"INSERT INTO S (ID, NAME, AMOUNT) VALUES ('k3', 'cy', 30);"}"#,
        &[],
    );
    assert_eq!((status, body.as_str()), (200, "[]"));
    let list = server.ksql("LIST STREAMS; DESCRIBE S;");
    assert_eq!(list[0]["@type"], "streams");
    assert_eq!(list[0]["statementText"], "LIST STREAMS;");
    let s = list[0]["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .find(|s| s["name"] == "S")
        .expect("S listed")
        .clone();
    assert_eq!(
        s,
        json!({"type": "STREAM", "name": "S", "topic": "s", "keyFormat": "KAFKA",
               "valueFormat": "JSON", "isWindowed": false})
    );
    let desc = &list[1];
    assert_eq!(desc["@type"], "sourceDescription");
    assert_eq!(
        desc["sourceDescription"]["fields"][0],
        json!({"name": "ID", "schema": {"type": "STRING", "fields": null, "memberSchema": null}, "type": "KEY"})
    );
    assert_eq!(
        desc["sourceDescription"]["fields"][2],
        json!({"name": "AMOUNT", "schema": {"type": "INTEGER", "fields": null, "memberSchema": null}})
    );
}

#[test]
fn query_v1_pull_answers_one_array() {
    // A pull query over a stream: no key marks, and ksqlDB's final message
    // for a completed scan.
    let server = TestServer::start();
    server.stream_with_rows();
    let (status, body) = server.post(
        "/query",
        r#"{"ksql":"SELECT * FROM S;","streamsProperties":{}}"#,
        &["-H", "Accept: application/vnd.ksql.v1+json"],
    );
    assert_eq!(status, 200);
    assert_eq!(
        mask_query_id(&body),
        "[{\"header\":{\"queryId\":\"ID\",\"schema\":\"`ID` STRING, `NAME` STRING, `AMOUNT` INTEGER\"}},\n\
         {\"row\":{\"columns\":[\"k1\",\"al\",10]}},\n\
         {\"row\":{\"columns\":[\"k2\",\"bob\",20]}},\n\
         {\"finalMessage\":\"Query Completed\"}]"
    );
}

#[test]
fn query_v1_push_with_limit_ends_with_a_final_message() {
    let server = TestServer::start();
    server.stream_with_rows();
    let body = format!(r#"{{"ksql":"SELECT * FROM S EMIT CHANGES LIMIT 2;",{EARLIEST}}}"#);
    // No Accept header: /query answers v1.
    let (status, body) = server.post("/query", &body, &["-H", "Accept:"]);
    assert_eq!(status, 200);
    assert_eq!(
        mask_query_id(&body),
        "[{\"header\":{\"queryId\":\"ID\",\"schema\":\"`ID` STRING, `NAME` STRING, `AMOUNT` INTEGER\"}},\n\
         {\"row\":{\"columns\":[\"k1\",\"al\",10]}},\n\
         {\"row\":{\"columns\":[\"k2\",\"bob\",20]}},\n\
         {\"finalMessage\":\"Limit Reached\"}]"
    );
}

#[test]
fn query_stream_answers_delimited_lines() {
    let server = TestServer::start();
    server.stream_with_rows();
    let (status, body) = server.post(
        "/query-stream",
        r#"{"sql":"SELECT * FROM S EMIT CHANGES LIMIT 2;","properties":{"auto.offset.reset":"earliest"}}"#,
        &["-H", "Accept: application/vnd.ksqlapi.delimited.v1"],
    );
    assert_eq!(status, 200);
    assert_eq!(
        mask_query_id(&body),
        "{\"queryId\":\"ID\",\"columnNames\":[\"ID\",\"NAME\",\"AMOUNT\"],\"columnTypes\":[\"STRING\",\"STRING\",\"INTEGER\"]}\n\
         [\"k1\",\"al\",10]\n\
         [\"k2\",\"bob\",20]\n"
    );
    let (status, body) = server.post(
        "/query-stream",
        r#"{"sql":"SELECT NAME FROM S;"}"#,
        &["-H", "Accept: application/json"],
    );
    assert_eq!(status, 200);
    assert_eq!(
        mask_query_id(&body),
        r#"[{"queryId":"ID","columnNames":["NAME"],"columnTypes":["STRING"]},["al"],["bob"]]"#
    );
}

#[test]
fn close_query_ends_a_push_query() {
    let server = TestServer::start();
    server.stream_with_rows();
    let url = format!("{}/query-stream", server.url);
    let mut child = std::process::Command::new("curl")
        .args(["-s", "-N", "--max-time", "20", "-X", "POST", "--data-binary"])
        .arg(r#"{"sql":"SELECT * FROM S EMIT CHANGES;","properties":{"auto.offset.reset":"earliest"}}"#)
        .arg(&url)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("curl runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let meta: serde_json::Value =
        serde_json::from_str(&lines.next().expect("a header").expect("read")).expect("JSON");
    let id = meta["queryId"].as_str().expect("an id").to_string();
    assert_eq!(
        lines.next().expect("row").expect("read"),
        r#"["k1","al",10]"#
    );
    let (status, body) = server.post("/close-query", &json!({"queryId": id}).to_string(), &[]);
    assert_eq!((status, body.as_str()), (200, ""));
    // The response ends: the remaining lines are the second row at most.
    let rest: Vec<String> = lines.map(|l| l.expect("read")).collect();
    assert!(rest.len() <= 1, "{rest:?}");
    assert!(child.wait().expect("curl ends").success());
    let (status, body) = server.post("/close-query", &json!({"queryId": id}).to_string(), &[]);
    assert_eq!(status, 400);
    let err: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(err["@type"], "generic_error");
    assert_eq!(err["message"], format!("No query with id {id}"));
}

#[test]
fn inserts_stream_over_http1_acks_each_row() {
    let server = TestServer::start();
    server.stream_with_rows();
    let (status, body) = server.post(
        "/inserts-stream",
        "{\"target\":\"S\"}\n{\"ID\":\"k3\",\"NAME\":\"cy\",\"AMOUNT\":30}\n{\"id\":\"k4\",\"name\":\"it's\"}",
        &["--http1.1"],
    );
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "{\"status\":\"ok\",\"seq\":0}\n{\"status\":\"ok\",\"seq\":1}\n"
    );
    let (_, rows) = server.post(
        "/query-stream",
        r#"{"sql":"SELECT * FROM S WHERE ID > 'k2';"}"#,
        &[],
    );
    let rows: Vec<&str> = rows.lines().skip(1).collect();
    assert_eq!(rows, [r#"["k3","cy",30]"#, r#"["k4","it's",null]"#]);
    let (status, body) = server.post(
        "/inserts-stream",
        "{\"target\":\"S\"}\n{\"NOPE\":1}\n",
        &["-H", "Accept: application/json"],
    );
    assert_eq!(status, 200);
    let acks: serde_json::Value = serde_json::from_str(&body).expect("an array");
    assert_eq!(acks[0]["status"], "error");
}

#[test]
fn a_statement_that_does_not_parse_is_a_statement_error() {
    let server = TestServer::start();
    let (status, body) = server.post("/ksql", r#"{"ksql":"CREATE STREAM;"}"#, &[]);
    assert_eq!(status, 400);
    let err: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(err["@type"], "statement_error");
    assert_eq!(err["error_code"], 40001);
    assert_eq!(err["statementText"], "CREATE STREAM;");
    assert_eq!(err["entities"], json!([]));
    let message = err["message"].as_str().expect("a message");
    assert!(message.starts_with("line 1:"), "{message}");
}

#[test]
fn select_on_ksql_is_refused_with_40002() {
    let server = TestServer::start();
    server.stream_with_rows();
    let (status, body) = server.post("/ksql", r#"{"ksql":"SELECT * FROM S;"}"#, &[]);
    assert_eq!(status, 400);
    let err: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(err["error_code"], 40002);
}

#[test]
fn bad_requests_get_the_error_shape() {
    let server = TestServer::start();
    let (status, body) = server.post("/nowhere", "{}", &[]);
    assert_eq!(status, 404);
    let err: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(err["@type"], "generic_error");
    assert_eq!(err["error_code"], 40400);
    let (status, body) = server.post("/ksql", r#"{"ksql": "#, &[]);
    assert_eq!(status, 400);
    let err: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(err["error_code"], 40000);
    let (status, body) = server.curl("/ksql", &[]);
    assert_eq!(status, 405);
    let err: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(err["@type"], "generic_error");
}

#[test]
fn a_client_going_away_ends_its_push_query() {
    let server = TestServer::start();
    server.stream_with_rows();
    let mut child = std::process::Command::new("curl")
        .args([
            "-s",
            "-N",
            "--max-time",
            "20",
            "-X",
            "POST",
            "--data-binary",
        ])
        .arg(r#"{"sql":"SELECT * FROM S EMIT CHANGES;"}"#)
        .arg(format!("{}/query-stream", server.url))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("curl runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    lines.next().expect("a header").expect("read");
    assert_eq!(server.queries.len(), 1, "the query is registered");
    child.kill().expect("curl stops");
    let _ = child.wait();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server.queries.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the query outlived its client"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
