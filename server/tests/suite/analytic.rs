//! Analytic SELECTs (DataFusion, installed as the binaries install it)
//! over `/query` and `/query-stream`: the same shapes as a pull query's,
//! and ksqlDB's error entity when one is wrong.

use super::harness::{mask_query_id, TestServer};

/// Stream `S` (k1 al 10, k2 bob 20) and one more row for `al`.
fn server() -> TestServer {
    let server = TestServer::start();
    server.stream_with_rows();
    server.ksql("INSERT INTO S (ID, NAME, AMOUNT) VALUES ('k3', 'al', 5);");
    server
}

#[test]
fn query_v1_answers_an_analytic_select_as_a_pull_query() {
    let server = server();
    let (status, body) = server.post(
        "/query",
        r#"{"ksql":"SELECT name, SUM(amount) AS total, COUNT(*) AS n FROM s GROUP BY name ORDER BY total DESC;","streamsProperties":{}}"#,
        &["-H", "Accept: application/vnd.ksql.v1+json"],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        mask_query_id(&body),
        "[{\"header\":{\"queryId\":\"ID\",\"schema\":\"`NAME` STRING, `TOTAL` BIGINT, `N` BIGINT\"}},\n\
         {\"row\":{\"columns\":[\"bob\",20,1]}},\n\
         {\"row\":{\"columns\":[\"al\",15,2]}}]"
    );
}

#[test]
fn query_stream_answers_a_cte_with_a_window_function() {
    let server = server();
    let (status, body) = server.post(
        "/query-stream",
        r#"{"sql":"WITH ranked AS (SELECT name, amount, RANK() OVER (PARTITION BY name ORDER BY amount DESC) AS r FROM s) SELECT name, amount FROM ranked WHERE r = 1 ORDER BY name;"}"#,
        &["-H", "Accept: application/json"],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        mask_query_id(&body),
        r#"[{"queryId":"ID","columnNames":["NAME","AMOUNT"],"columnTypes":["STRING","INTEGER"]},["al",10],["bob",20]]"#
    );
}

#[test]
fn an_unknown_column_is_a_statement_error() {
    let server = server();
    let (status, body) = server.post(
        "/query",
        r#"{"ksql":"SELECT nope FROM s ORDER BY name;","streamsProperties":{}}"#,
        &[],
    );
    assert_eq!(status, 400, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).expect("a JSON error");
    assert_eq!(error["@type"], "statement_error", "{body}");
    assert_eq!(error["error_code"], 40001, "{body}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("NOPE")),
        "{body}"
    );
}
