//! `/ws/query` with a real WebSocket client (tokio-tungstenite): the
//! columns, then one message per row, then `{"error":"done"}` and a normal
//! close; push queries deliver rows inserted after they start and stop
//! when the client leaves; bad requests are refused with `{"error": ...}`
//! and close code 1003.

use super::harness::TestServer;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// `%XX` for every byte but unreserved ones.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn connect(server: &TestServer, query: &str) -> Socket {
    let url = format!("ws://{}/ws/query{query}", server.addr);
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let (socket, response) = tokio_tungstenite::client_async(url, tcp)
        .await
        .expect("the upgrade");
    assert_eq!(response.status(), 101);
    socket
}

fn request(sql: &str) -> String {
    let request = json!({"ksql": sql, "streamsProperties": {"auto.offset.reset": "earliest"}});
    format!("?request={}", encode(&request.to_string()))
}

/// Every text message until the server closes: (messages, close code).
async fn read_all(socket: &mut Socket) -> (Vec<String>, Option<CloseCode>) {
    let mut texts = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a message in time");
        match next {
            Some(Ok(Message::Text(t))) => texts.push(t.to_string()),
            Some(Ok(Message::Close(frame))) => return (texts, frame.map(|f| f.code)),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return (texts, None),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn a_pull_query_sends_columns_rows_and_done() {
    let server = TestServer::start();
    server.stream_with_rows();
    runtime().block_on(async {
        let mut socket = connect(&server, &request("SELECT * FROM S;")).await;
        let (texts, code) = read_all(&mut socket).await;
        assert_eq!(
            texts,
            [
                r#"[{"name":"ID","schema":{"type":"STRING","fields":null,"memberSchema":null},"type":"KEY"},{"name":"NAME","schema":{"type":"STRING","fields":null,"memberSchema":null}},{"name":"AMOUNT","schema":{"type":"INTEGER","fields":null,"memberSchema":null}}]"#,
                r#"{"row":{"columns":["k1","al",10]}}"#,
                r#"{"row":{"columns":["k2","bob",20]}}"#,
                r#"{"error":"done"}"#,
            ]
        );
        assert_eq!(code, Some(CloseCode::Normal));
    });
}

#[test]
fn a_push_query_streams_new_rows_until_its_limit() {
    let server = TestServer::start();
    server.stream_with_rows();
    runtime().block_on(async {
        let sql = "SELECT ID, AMOUNT FROM S WHERE AMOUNT > 15 EMIT CHANGES LIMIT 2;";
        let mut socket = connect(&server, &request(sql)).await;
        let columns = match socket.next().await {
            Some(Ok(Message::Text(t))) => t.to_string(),
            other => panic!("expected the columns, got {other:?}"),
        };
        let columns: Value = serde_json::from_str(&columns).expect("JSON");
        assert_eq!(columns[1]["name"], "AMOUNT");
        server.ksql("INSERT INTO S (ID, NAME, AMOUNT) VALUES ('k3', 'cy', 30);");
        let (texts, code) = read_all(&mut socket).await;
        // From the earliest record: k2 (20) and then k3 (30); k1 is filtered.
        assert_eq!(
            texts,
            [
                r#"{"row":{"columns":["k2",20]}}"#,
                r#"{"row":{"columns":["k3",30]}}"#,
                r#"{"error":"done"}"#,
            ]
        );
        assert_eq!(code, Some(CloseCode::Normal));
    });
}

#[test]
fn a_client_leaving_ends_its_push_query() {
    let server = TestServer::start();
    server.stream_with_rows();
    runtime().block_on(async {
        let sql = "SELECT * FROM S EMIT CHANGES;";
        let url = format!("?request={}", encode(&json!({"ksql": sql}).to_string()));
        let mut socket = connect(&server, &url).await;
        assert!(matches!(socket.next().await, Some(Ok(Message::Text(_)))));
        assert_eq!(server.queries.len(), 1);
        server.ksql("INSERT INTO S (ID, NAME, AMOUNT) VALUES ('k9', 'zed', 90);");
        match socket.next().await {
            Some(Ok(Message::Text(t))) => {
                assert_eq!(t.as_str(), r#"{"row":{"columns":["k9","zed",90]}}"#)
            }
            other => panic!("expected a row, got {other:?}"),
        }
        socket.close(None).await.expect("close");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.queries.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(server.queries.len(), 0);
    });
}

#[test]
fn bad_requests_are_refused_with_an_error_message() {
    let server = TestServer::start();
    server.stream_with_rows();
    runtime().block_on(async {
        for (query, text) in [
            ("", "missing request parameter"),
            ("?request=%7Bnope", "Error parsing request"),
            (&request("SELECT * FROM NOWHERE;")[..], "NOWHERE"),
        ] {
            let mut socket = connect(&server, query).await;
            let (texts, code) = read_all(&mut socket).await;
            assert_eq!(texts.len(), 1, "{query}: {texts:?}");
            let error: Value = serde_json::from_str(&texts[0]).expect("JSON");
            let message = error["error"].as_str().expect("an error");
            assert!(message.contains(text), "{query}: {message}");
            assert_eq!(code, Some(CloseCode::Unsupported), "{query}");
        }
    });
}
