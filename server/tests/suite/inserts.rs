//! `/inserts-stream` in batches: the rows before a failing one are
//! inserted and acknowledged in order, the failing row is acknowledged
//! with ksqlDB's error shape and its seq, and nothing after it is inserted.

use super::harness::TestServer;
use serde_json::Value;

#[test]
fn a_failing_row_in_a_batch_is_acknowledged_with_its_seq_and_ends_the_request() {
    let server = TestServer::start();
    server.stream_with_rows();
    let body = concat!(
        "{\"target\":\"s\"}\n",
        "{\"ID\":\"k3\",\"NAME\":\"cy\",\"AMOUNT\":30}\n",
        "{\"id\":\"k4\",\"amount\":40}\n",
        "{\"ID\":\"k5\",\"AMOUNT\":\"many\"}\n",
        "{\"ID\":\"k6\",\"AMOUNT\":60}\n",
    );
    let (status, text) = server.post("/inserts-stream", body, &["--http1.1"]);
    assert_eq!(status, 200);
    let acks: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON ack"))
        .collect();
    assert_eq!(acks.len(), 3, "{text}");
    assert_eq!(acks[0], serde_json::json!({"status": "ok", "seq": 0}));
    assert_eq!(acks[1], serde_json::json!({"status": "ok", "seq": 1}));
    assert_eq!(acks[2]["status"], "error");
    assert_eq!(acks[2]["seq"], 2);
    assert_eq!(acks[2]["error_code"], 40001);
    let message = acks[2]["message"].as_str().expect("a message");
    assert!(message.contains("AMOUNT"), "{message}");
    let (_, rows) = server.post(
        "/query-stream",
        r#"{"sql":"SELECT * FROM S WHERE ID > 'k2';"}"#,
        &[],
    );
    let rows: Vec<&str> = rows.lines().skip(1).collect();
    assert_eq!(rows, [r#"["k3","cy",30]"#, r#"["k4",null,40]"#]);

    // An unknown target is refused before any row.
    let (status, text) = server.post("/inserts-stream", "{\"target\":\"NOPE\"}\n{}", &[]);
    assert_eq!(status, 404, "{text}");
}
