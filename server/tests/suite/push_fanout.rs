//! Push fan-out over raw HTTP/1.1 sockets: clients asking the same push
//! query share one running query (each with its own id), a client that
//! stops reading is disconnected with a message once it falls
//! `SUBSCRIBER_BUFFER` rows behind, and the others still get every row in
//! order.

use super::harness::TestServer;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rows inserted: each about 2 KB, far more than a subscriber's buffer and
/// the sockets' buffers hold (about 10,000 rows), in batches of [`BATCH`]
/// that a reader can always take without overflowing.
const ROWS: usize = 24_000;
const BATCH: usize = 4_000;

/// Opens `SELECT * FROM P EMIT CHANGES;` on `/query-stream` and reads up
/// to its metadata line: (the line reader, the query id).
fn subscribe(server: &TestServer) -> (BufReader<TcpStream>, String) {
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("a timeout");
    let body = json!({"sql": "SELECT * FROM P EMIT CHANGES;", "properties": {}}).to_string();
    write!(
        stream,
        "POST /query-stream HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).expect("read") > 0,
            "no metadata"
        );
        if line.starts_with('{') {
            let meta: Value = serde_json::from_str(&line).expect("metadata");
            let id = meta["queryId"].as_str().expect("an id").to_string();
            return (reader, id);
        }
    }
}

/// The body's lines that are rows (`[`) or a final error (`{`), skipping
/// chunk sizes and blank lines, until the response ends or `rows` rows
/// were read; `progress` counts the rows read.
fn read_rows(
    reader: &mut BufReader<TcpStream>,
    rows: usize,
    progress: &AtomicUsize,
) -> (Vec<i64>, Option<Value>) {
    let (mut seqs, mut last) = (Vec::new(), None);
    let mut line = String::new();
    while seqs.len() < rows {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.starts_with('[') {
            let row: Value = serde_json::from_str(&line).expect("a row");
            seqs.push(row[1].as_i64().expect("SEQ"));
            progress.store(seqs.len(), Ordering::SeqCst);
        } else if line.starts_with('{') {
            last = Some(serde_json::from_str(&line).expect("a JSON message"));
            break;
        } else if line.trim() == "0" {
            break;
        }
    }
    (seqs, last)
}

/// Inserts rows `from..to` into P through `/inserts-stream`.
fn insert_rows(server: &TestServer, from: usize, to: usize) {
    let pad = "x".repeat(2000);
    let mut body = String::from("{\"target\":\"P\"}\n");
    for i in from..to {
        body.push_str(&format!(
            "{{\"ID\":\"k{}\",\"SEQ\":{i},\"PAD\":\"{pad}\"}}\n",
            i % 7
        ));
    }
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    write!(
        stream,
        "POST /inserts-stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("send");
    stream.write_all(body.as_bytes()).expect("send rows");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("acks");
    assert!(
        answer.contains(&format!("{{\"status\":\"ok\",\"seq\":{}}}", to - from - 1)),
        "the last row was not acknowledged"
    );
}

#[test]
fn a_slow_subscriber_is_disconnected_and_the_others_get_every_row() {
    let server = TestServer::start();
    server.ksql(
        "CREATE STREAM P (ID STRING KEY, SEQ BIGINT, PAD STRING) \
         WITH (kafka_topic='p', value_format='json', partitions=1);",
    );
    let (mut slow, slow_id) = subscribe(&server);
    let (mut fast, fast_id) = subscribe(&server);
    assert_ne!(slow_id, fast_id);
    // The same query in the same settings runs once for both.
    assert_eq!(server.fanout.groups(), 1);
    assert_eq!(server.queries.len(), 2);
    let progress = Arc::new(AtomicUsize::new(0));
    let read = progress.clone();
    let reader = std::thread::spawn(move || read_rows(&mut fast, ROWS, &read));
    for from in (0..ROWS).step_by(BATCH) {
        insert_rows(&server, from, from + BATCH);
        // The fast client keeps up: it has read the batch before the next.
        let deadline = Instant::now() + Duration::from_secs(60);
        while progress.load(Ordering::SeqCst) < from + BATCH && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let (fast_seqs, fast_last) = reader.join().expect("the fast reader");
    assert!(fast_last.is_none(), "{fast_last:?}");
    assert_eq!(fast_seqs, (0..ROWS as i64).collect::<Vec<_>>());
    // The slow client now reads what was buffered for it: a prefix of the
    // rows in order, then the message that disconnected it.
    let (slow_seqs, slow_last) = read_rows(&mut slow, ROWS, &AtomicUsize::new(0));
    assert!(slow_seqs.len() < ROWS, "the slow client got every row");
    assert_eq!(slow_seqs, (0..slow_seqs.len() as i64).collect::<Vec<_>>());
    let last = slow_last.expect("a message ends the slow client's response");
    assert_eq!(last["@type"], "generic_error");
    let message = last["message"].as_str().expect("a message");
    assert!(
        message.contains(&format!("{slow_id} disconnected")),
        "{message}"
    );
    // The slow client's query is gone; the fast one's still runs.
    assert_eq!(server.queries.len(), 1);
    let (status, _) = server.post(
        "/close-query",
        &json!({"queryId": fast_id}).to_string(),
        &[],
    );
    assert_eq!(status, 200);
}
