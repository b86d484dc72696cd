//! A push query over a table on `/query`: a deleted key's row carries
//! `"tombstone":true` (its key set, its values null), as ksqlDB writes it;
//! `/query-stream` sends the row alone.

use super::harness::{mask_query_id, TestServer};

#[test]
fn a_push_query_over_a_table_marks_deleted_keys_as_tombstones() {
    let server = TestServer::start();
    server.ksql(
        "CREATE STREAM INPUT (K INT KEY, VAL INT) WITH (kafka_topic='input', value_format='json', partitions=1);",
    );
    // Without caching, every change reaches the table's topic.
    let (status, body) = server.post(
        "/ksql",
        r#"{"ksql":"CREATE TABLE POSITIVE AS SELECT K, SUM(VAL) AS TOTAL FROM INPUT GROUP BY K HAVING SUM(VAL) > 0;","streamsProperties":{"cache.max.bytes.buffering":"0"}}"#,
        &[],
    );
    assert_eq!(status, 200, "{body}");
    server.ksql(
        "INSERT INTO INPUT (K, VAL) VALUES (11, 10);\
         INSERT INTO INPUT (K, VAL) VALUES (11, -20);\
         INSERT INTO INPUT (K, VAL) VALUES (11, 21);",
    );
    let (status, body) = server.post(
        "/query",
        r#"{"ksql":"SELECT * FROM POSITIVE EMIT CHANGES LIMIT 3;","streamsProperties":{"auto.offset.reset":"earliest"}}"#,
        &["-H", "Accept: application/vnd.ksql.v1+json"],
    );
    assert_eq!(status, 200, "{body}");
    let masked = mask_query_id(&body);
    let rows: Vec<&str> = masked.lines().skip(1).collect();
    assert_eq!(
        rows,
        [
            r#"{"row":{"columns":[11,10]}},"#,
            r#"{"row":{"columns":[11,null],"tombstone":true}},"#,
            r#"{"row":{"columns":[11,11]}},"#,
            r#"{"finalMessage":"Limit Reached"}]"#,
        ],
        "{body}"
    );
    let (status, body) = server.post(
        "/query-stream",
        r#"{"sql":"SELECT * FROM POSITIVE EMIT CHANGES LIMIT 3;","properties":{"auto.offset.reset":"earliest"}}"#,
        &[],
    );
    assert_eq!(status, 200, "{body}");
    let rows: Vec<&str> = body.lines().skip(1).collect();
    assert_eq!(rows, ["[11,10]", "[11,null]", "[11,11]"], "{body}");
}
