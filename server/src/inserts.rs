//! `/inserts-stream`: a target line (`{"target":"S"}`) then one JSON object
//! per line, acknowledged with `{"status":"ok","seq":N}` (one per line, or
//! one JSON array with `Accept: application/json`). Served over HTTP/1.1
//! and HTTP/2 alike. The target is resolved once; rows are read as they
//! arrive and inserted in batches (up to [`BATCH`] rows, or fewer when the
//! body stalls), each batch appended and handed off before its rows are
//! acknowledged, in order. The first row that fails is acknowledged as an
//! error and ends the request.

use crate::error::{codes, ApiError};
use crate::query::accept;
use crate::AppState;
use axum::body::{Body, BodyDataStream, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use futures_util::{FutureExt, StreamExt};
use serde_json::{json, Value as Json};
use sluice_engine::RowInserter;
use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The most rows inserted (and acknowledged) together.
pub const BATCH: usize = 512;

/// POST `/inserts-stream`.
pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let as_array = accept(&headers).is_some_and(|a| a.contains("application/json"));
    let mut lines = Lines::new(body.into_data_stream());
    let target = match lines.next().await {
        Some(Ok(line)) => line,
        Some(Err(e)) => return e.into_response(),
        None => {
            return ApiError::generic(codes::BAD_REQUEST, "the request body is empty")
                .into_response()
        }
    };
    let target = match crate::request::json_object(&target) {
        Ok(map) => match map.get("target").and_then(Json::as_str) {
            Some(t) => t.to_string(),
            None => {
                return ApiError::generic(
                    codes::BAD_REQUEST,
                    "the first line must name the target: {\"target\":\"S\"}",
                )
                .into_response()
            }
        },
        Err(e) => return e.into_response(),
    };
    let inserter = match state.engine.row_inserter(&target) {
        Ok(i) => Arc::new(i),
        Err(e) => return ApiError::generic(e.code(), e.to_string()).into_response(),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(insert_rows(lines, inserter, as_array, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let content_type = if as_array {
        "application/json"
    } else {
        crate::query::DELIMITED
    };
    (
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response()
}

/// The acknowledgements of a request, written as one chunk per batch.
struct Acks {
    as_array: bool,
    first: bool,
    buf: Vec<u8>,
}

impl Acks {
    fn separator(&mut self) {
        if self.as_array {
            self.buf.push(if self.first { b'[' } else { b',' });
        }
        self.first = false;
    }

    fn end_line(&mut self) {
        if !self.as_array {
            self.buf.push(b'\n');
        }
    }

    fn ok(&mut self, seq: u64) {
        self.separator();
        // Writing to a Vec cannot fail.
        let _ = write!(self.buf, "{{\"status\":\"ok\",\"seq\":{seq}}}");
        self.end_line();
    }

    fn error(&mut self, seq: u64, code: u64, message: &str) {
        self.separator();
        let ack = json!({"status": "error", "seq": seq, "error_code": code, "message": message});
        let _ = write!(self.buf, "{ack}");
        self.end_line();
    }

    fn take(&mut self) -> Option<Bytes> {
        (!self.buf.is_empty()).then(|| Bytes::from(std::mem::take(&mut self.buf)))
    }
}

/// Inserts the row lines in batches and acknowledges them; stops at the
/// first failure (acknowledged as an error) or when the client goes away.
async fn insert_rows(
    mut lines: Lines,
    inserter: Arc<RowInserter>,
    as_array: bool,
    tx: mpsc::Sender<Bytes>,
) {
    let mut acks = Acks {
        as_array,
        first: true,
        buf: Vec::new(),
    };
    let mut seq: u64 = 0;
    let mut failed = false;
    while !failed {
        // At least one row, then as many as have arrived, up to a batch.
        let mut batch: Vec<Vec<u8>> = Vec::new();
        let mut unreadable = None;
        match lines.next().await {
            None => break,
            Some(Ok(line)) => batch.push(line),
            Some(Err(e)) => unreadable = Some(e),
        }
        while unreadable.is_none() && batch.len() < BATCH {
            match lines.next_ready() {
                Some(Ok(line)) => batch.push(line),
                Some(Err(e)) => unreadable = Some(e),
                None => break,
            }
        }
        let sent = batch.len();
        let (appended, error) = if batch.is_empty() {
            (0, None)
        } else {
            let inserter = inserter.clone();
            match tokio::task::spawn_blocking(move || inserter.insert_batch(&batch)).await {
                Ok(outcome) => (
                    outcome.appended,
                    outcome.error.map(|e| (u64::from(e.code()), e.to_string())),
                ),
                Err(e) => (0, Some((u64::from(codes::SERVER_ERROR), e.to_string()))),
            }
        };
        for _ in 0..appended {
            acks.ok(seq);
            seq += 1;
        }
        let error = error.or_else(|| {
            // A line that could not be read comes after the batch's rows.
            debug_assert!(appended == sent);
            unreadable.map(|e| {
                (
                    e.code(),
                    e.body["message"].as_str().unwrap_or("").to_string(),
                )
            })
        });
        if let Some((code, message)) = error {
            tracing::debug!(target = inserter.target(), seq, "insert failed: {message}");
            acks.error(seq, code, &message);
            failed = true;
        }
        if let Some(chunk) = acks.take() {
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
    }
    if as_array {
        let end = if acks.first { "[]" } else { "]" };
        let _ = tx.send(Bytes::from(end)).await;
    }
}

/// A request body cut into lines as its frames arrive (the last line may
/// lack its newline; blank lines are skipped; lines are trimmed).
struct Lines {
    stream: BodyDataStream,
    buf: Vec<u8>,
    /// Where the unread part of `buf` starts.
    at: usize,
    done: bool,
    /// A failure to read the body, reported as the next line.
    failed: Option<ApiError>,
}

impl Lines {
    fn new(stream: BodyDataStream) -> Self {
        Lines {
            stream,
            buf: Vec::new(),
            at: 0,
            done: false,
            failed: None,
        }
    }

    /// The next line, waiting for the body as needed.
    async fn next(&mut self) -> Option<Result<Vec<u8>, ApiError>> {
        loop {
            if let Some(line) = self.buffered() {
                return Some(line);
            }
            if self.done {
                return None;
            }
            let frame = self.stream.next().await;
            self.take(frame);
        }
    }

    /// The next line if it has arrived already; None when the body would
    /// have to be waited for (or has ended).
    fn next_ready(&mut self) -> Option<Result<Vec<u8>, ApiError>> {
        loop {
            if let Some(line) = self.buffered() {
                return Some(line);
            }
            if self.done {
                return None;
            }
            let frame = self.stream.next().now_or_never()?;
            self.take(frame);
        }
    }

    /// Adds a frame of the body (None: its end).
    fn take(&mut self, frame: Option<Result<Bytes, axum::Error>>) {
        match frame {
            Some(Ok(bytes)) => {
                if self.at > 0 {
                    self.buf.drain(..self.at);
                    self.at = 0;
                }
                self.buf.extend_from_slice(&bytes);
            }
            Some(Err(e)) => {
                self.done = true;
                self.buf.clear();
                self.at = 0;
                self.failed = Some(ApiError::generic(
                    codes::BAD_REQUEST,
                    format!("reading the request body: {e}"),
                ));
            }
            None => self.done = true,
        }
    }

    /// A complete line from the buffer (or the rest of it at the end of
    /// the body), skipping blank ones.
    fn buffered(&mut self) -> Option<Result<Vec<u8>, ApiError>> {
        if let Some(e) = self.failed.take() {
            return Some(Err(e));
        }
        loop {
            let rest = &self.buf[self.at..];
            let (line, used) = match rest.iter().position(|&b| b == b'\n') {
                Some(n) => (&rest[..n], n + 1),
                None if self.done && !rest.is_empty() => (rest, rest.len()),
                None => return None,
            };
            let line = text(line);
            self.at += used;
            match line {
                Ok([]) => continue,
                Ok(l) => return Some(Ok(l.to_vec())),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// A line's bytes without surrounding white space, if they are UTF-8.
fn text(bytes: &[u8]) -> Result<&[u8], ApiError> {
    std::str::from_utf8(bytes)
        .map(|s| s.trim().as_bytes())
        .map_err(|_| ApiError::generic(codes::BAD_REQUEST, "the request body is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(frames: Vec<&'static [u8]>) -> Lines {
        let frames: Vec<Result<Bytes, std::io::Error>> = frames
            .into_iter()
            .map(|f| Ok(Bytes::from_static(f)))
            .collect();
        Lines::new(Body::from_stream(futures_util::stream::iter(frames)).into_data_stream())
    }

    #[tokio::test]
    async fn lines_are_cut_across_frames() {
        let mut lines = lines_of(vec![b"{\"a\":1}\n{\"b\"", b":2}\n\n  \n", b" {\"c\":3} "]);
        let mut got = Vec::new();
        while let Some(line) = lines.next().await {
            got.push(String::from_utf8(line.unwrap()).unwrap());
        }
        assert_eq!(got, [r#"{"a":1}"#, r#"{"b":2}"#, r#"{"c":3}"#]);
    }

    #[tokio::test]
    async fn ready_lines_are_taken_without_waiting() {
        let mut lines = lines_of(vec![b"1\n2\n", b"3\n"]);
        assert_eq!(lines.next().await.unwrap().unwrap(), b"1");
        assert_eq!(lines.next_ready().unwrap().unwrap(), b"2");
        assert_eq!(lines.next_ready().unwrap().unwrap(), b"3");
        assert!(lines.next_ready().is_none());
        let mut bad = lines_of(vec![b"\xff\n"]);
        assert!(bad.next().await.unwrap().is_err());
    }

    #[test]
    fn acks_are_lines_or_one_array() {
        let mut lines = Acks {
            as_array: false,
            first: true,
            buf: Vec::new(),
        };
        lines.ok(0);
        lines.error(1, 40000, "no");
        assert_eq!(
            lines.take().unwrap(),
            "{\"status\":\"ok\",\"seq\":0}\n{\"status\":\"error\",\"seq\":1,\"error_code\":40000,\"message\":\"no\"}\n"
        );
        let mut array = Acks {
            as_array: true,
            first: true,
            buf: Vec::new(),
        };
        array.ok(0);
        array.ok(1);
        assert_eq!(
            array.take().unwrap(),
            "[{\"status\":\"ok\",\"seq\":0},{\"status\":\"ok\",\"seq\":1}"
        );
        assert!(array.take().is_none());
    }
}
