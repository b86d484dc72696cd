//! The streaming endpoints over h2c with prior knowledge (`curl
//! --http2-prior-knowledge`), as the Python and Node clients speak it.

use super::harness::{mask_query_id, TestServer};

#[test]
fn query_stream_over_h2c_prior_knowledge() {
    let server = TestServer::start();
    server.stream_with_rows();
    let (version, status, body) = server.post_version(
        "/query-stream",
        r#"{"sql":"SELECT * FROM S EMIT CHANGES LIMIT 2;","properties":{"auto.offset.reset":"earliest"}}"#,
        &["--http2-prior-knowledge"],
    );
    assert_eq!((version.as_str(), status), ("2", 200));
    assert_eq!(
        mask_query_id(&body),
        "{\"queryId\":\"ID\",\"columnNames\":[\"ID\",\"NAME\",\"AMOUNT\"],\"columnTypes\":[\"STRING\",\"STRING\",\"INTEGER\"]}\n\
         [\"k1\",\"al\",10]\n\
         [\"k2\",\"bob\",20]\n"
    );
}

#[test]
fn inserts_stream_over_h2c_prior_knowledge() {
    let server = TestServer::start();
    server.stream_with_rows();
    let (version, status, body) = server.post_version(
        "/inserts-stream",
        "{\"target\":\"s\"}\n{\"id\":\"k5\",\"amount\":50}\n",
        &["--http2-prior-knowledge"],
    );
    assert_eq!((version.as_str(), status), ("2", 200));
    assert_eq!(body, "{\"status\":\"ok\",\"seq\":0}\n");
}
